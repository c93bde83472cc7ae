/*
 * uri.c - URI router for analytics.api_request(uri); see uri.h.
 *
 * Plain C99 + libc.  No global mutable state, no recursion, no locale
 * dependent functions (ASCII classification is done by hand).
 */
#include "uri.h"
#include "parseutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Allocation hooks.  Building with -DURI_FAULT_INJECTION routes every
 * allocation through functions the test program provides, so that it can
 * make the N-th allocation fail (see test/unit/test_uri.c).
 */
#ifdef URI_FAULT_INJECTION
void       *uri_fi_malloc(size_t n);
void       *uri_fi_realloc(void *p, size_t n);
#define U_MALLOC(n) uri_fi_malloc(n)
#define U_REALLOC(p, n) uri_fi_realloc((p), (n))
#else
#define U_MALLOC(n) malloc(n)
#define U_REALLOC(p, n) realloc((p), (n))
#endif
#define U_FREE(p) free(p)

/* ------------------------------------------------------------------ */
/* small helpers                                                        */
/* ------------------------------------------------------------------ */

static int
is_unreserved(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' ||
        c == '~';
}

static char *
dup_mem(const char *s, size_t n)
{
    char       *p = U_MALLOC(n + 1);

    if (p == NULL)
        return NULL;
    if (n > 0)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Strict UTF-8 check: no overlong forms, no surrogates, <= U+10FFFF. */
static int
utf8_valid(const unsigned char *s, size_t n)
{
    size_t      i = 0;

    while (i < n)
    {
        size_t      k = utf8_seq_len(s + i, n - i);

        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* growable string buffer (always NUL-terminated once allocated)        */
/* ------------------------------------------------------------------ */

typedef struct sbuf
{
    char       *buf;
    size_t      len;
    size_t      cap;
    int         oom;
} sbuf;

static int
sb_reserve(sbuf *b, size_t extra)
{
    size_t      need;
    size_t      ncap;
    char       *p;

    if (b->oom)
        return 0;
    if (extra > SIZE_MAX - 1 - b->len)
    {
        b->oom = 1;
        return 0;
    }
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 1;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
    {
        if (ncap > SIZE_MAX / 2)
        {
            ncap = need;
            break;
        }
        ncap *= 2;
    }
    p = U_REALLOC(b->buf, ncap);
    if (p == NULL)
    {
        b->oom = 1;
        return 0;
    }
    b->buf = p;
    b->cap = ncap;
    return 1;
}

static void
sb_putn(sbuf *b, const char *s, size_t n)
{
    if (!sb_reserve(b, n))
        return;
    if (n > 0)
        memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void
sb_puts(sbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static void
sb_putc(sbuf *b, char c)
{
    sb_putn(b, &c, 1);
}

/* Percent-encode s[0..n); keep '/' when keep_slash. */
static void
sb_put_encoded(sbuf *b, const char *s, size_t n, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t      i;

    for (i = 0; i < n; i++)
    {
        unsigned char c = (unsigned char) s[i];

        if (is_unreserved(c) || (keep_slash && c == '/'))
            sb_putc(b, (char) c);
        else
        {
            char        e[3];

            e[0] = '%';
            e[1] = hex[c >> 4];
            e[2] = hex[c & 15];
            sb_putn(b, e, 3);
        }
        if (b->oom)
            return;
    }
}

/* Append s[0..n) as a JSON string literal (s is valid UTF-8). */
static void
sb_put_json_string(sbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t      i;
    size_t      run = 0;        /* start of the current run of plain bytes */

    sb_putc(b, '"');
    for (i = 0; i < n; i++)
    {
        unsigned char c = (unsigned char) s[i];

        if (c == '"' || c == '\\' || c < 0x20)
        {
            sb_putn(b, s + run, i - run);
            run = i + 1;
            if (c == '"')
                sb_putn(b, "\\\"", 2);
            else if (c == '\\')
                sb_putn(b, "\\\\", 2);
            else
            {
                char        e[6];

                e[0] = '\\';
                e[1] = 'u';
                e[2] = '0';
                e[3] = '0';
                e[4] = hex[c >> 4];
                e[5] = hex[c & 15];
                sb_putn(b, e, 6);
            }
        }
    }
    sb_putn(b, s + run, n - run);
    sb_putc(b, '"');
}

/* Return the malloc'd NUL-terminated text, or NULL on OOM. */
static char *
sb_finish(sbuf *b)
{
    if (!b->oom && b->buf == NULL)
        sb_reserve(b, 0);
    if (b->oom)
    {
        U_FREE(b->buf);
        b->buf = NULL;
        return NULL;
    }
    b->buf[b->len] = '\0';
    return b->buf;
}

/* ------------------------------------------------------------------ */
/* percent-decoding                                                     */
/* ------------------------------------------------------------------ */

enum
{
    DEC_OK = 0,
    DEC_MALFORMED,              /* '%' not followed by two hex digits */
    DEC_NUL,                    /* decoded to a NUL byte */
    DEC_UTF8,                   /* decoded bytes are not valid UTF-8 */
    DEC_NOMEM
};

/*
 * Decode s[0..n) into a new malloc'd string (*out, length *outlen).
 * plus_space: '+' becomes ' ' (query strings), else '+' is kept (paths).
 */
static int
pct_decode(const char *s, size_t n, int plus_space, char **out, size_t *outlen)
{
    char       *d;
    size_t      i;
    size_t      j = 0;

    *out = NULL;
    *outlen = 0;
    d = U_MALLOC(n + 1);
    if (d == NULL)
        return DEC_NOMEM;
    for (i = 0; i < n; i++)
    {
        unsigned char c = (unsigned char) s[i];

        if (c == '%')
        {
            int         h1,
                        h2;

            if (n - i < 3)
            {
                U_FREE(d);
                return DEC_MALFORMED;
            }
            h1 = hexval((unsigned char) s[i + 1]);
            h2 = hexval((unsigned char) s[i + 2]);
            if (h1 < 0 || h2 < 0)
            {
                U_FREE(d);
                return DEC_MALFORMED;
            }
            d[j++] = (char) (h1 * 16 + h2);
            i += 2;
        }
        else if (c == '+' && plus_space)
            d[j++] = ' ';
        else
            d[j++] = (char) c;
    }
    d[j] = '\0';
    if (j > 0 && memchr(d, '\0', j) != NULL)
    {
        U_FREE(d);
        return DEC_NUL;
    }
    if (!utf8_valid((const unsigned char *) d, j))
    {
        U_FREE(d);
        return DEC_UTF8;
    }
    *out = d;
    *outlen = j;
    return DEC_OK;
}

/* Does the percent-encoded s[0..n) decode (without '+' rule) to lit? */
static int
pct_equals(const char *s, size_t n, const char *lit)
{
    size_t      i = 0;
    size_t      k = 0;
    size_t      litlen = strlen(lit);

    while (i < n)
    {
        int         c = (unsigned char) s[i];

        if (c == '%')
        {
            int         h1,
                        h2;

            if (n - i < 3)
                return 0;
            h1 = hexval((unsigned char) s[i + 1]);
            h2 = hexval((unsigned char) s[i + 2]);
            if (h1 < 0 || h2 < 0)
                return 0;
            c = h1 * 16 + h2;
            i += 3;
        }
        else
            i++;
        if (k >= litlen || (unsigned char) lit[k] != c)
            return 0;
        k++;
    }
    return k == litlen;
}

/* ------------------------------------------------------------------ */
/* errors                                                               */
/* ------------------------------------------------------------------ */

/* Copy at most dstsize-1 bytes of name, cut at a UTF-8 character boundary. */
static void
copy_name(char *dst, size_t dstsize, const char *name, size_t n)
{
    if (n > dstsize - 1)
    {
        n = dstsize - 1;
        while (n > 0 && ((unsigned char) name[n] & 0xC0) == 0x80)
            n--;
    }
    if (n > 0)
        memcpy(dst, name, n);
    dst[n] = '\0';
}

static int
fail_n(api_route *r, const char *name, size_t namelen, const char *detail)
{
    r->status = 400;
    copy_name(r->err_name, sizeof r->err_name, name, namelen);
    copy_name(r->err_detail, sizeof r->err_detail, detail, strlen(detail));
    return -1;
}

static int
fail(api_route *r, const char *name, const char *detail)
{
    return fail_n(r, name, strlen(name), detail);
}

static int
fail_oom(api_route *r)
{
    return fail(r, "uri", "Out of memory while parsing the URI.");
}

/* 400 naming "filterBy.<key>", or "filterBy" when keylen == 0. */
static int
fail_filter(api_route *r, const char *key, size_t keylen, const char *detail)
{
    char        name[sizeof r->err_name];
    size_t      n = 0;

    memcpy(name, "filterBy", 8);
    n = 8;
    if (keylen > 0)
    {
        name[n++] = '.';
        copy_name(name + n, sizeof name - n, key, keylen);
        n += strlen(name + n);
    }
    return fail_n(r, name, n, detail);
}

static const char *
value_error_detail(int rc)
{
    switch (rc)
    {
        case DEC_MALFORMED:
            return "The value has malformed percent-encoding ('%' must be "
                "followed by two hexadecimal digits).";
        case DEC_NUL:
            return "The value contains a NUL byte (%00).";
        default:
            return "The value is not valid UTF-8.";
    }
}

/* ------------------------------------------------------------------ */
/* filterBy state                                                       */
/* ------------------------------------------------------------------ */

enum
{
    FM_SCALAR = 1,              /* filterBy[k]=v (repeated: becomes an array) */
    FM_APPEND,                  /* filterBy[k][]=v */
    FM_INDEX                    /* filterBy[k][n]=v */
};

typedef struct fval
{
    const char *v;              /* borrowed from route->params */
    int         idx;            /* FM_INDEX only */
} fval;

typedef struct fkey
{
    const char *name;           /* borrowed from route->params (not
                                 * NUL-terminated) */
    size_t      len;
    int         mode;
    size_t      n;
    size_t      cap;
    fval       *vals;
    uint64_t    used[2];        /* FM_INDEX: indices already given */
} fkey;

typedef struct fstate
{
    fkey       *keys;           /* in first-seen order */
    size_t      nkeys;
    size_t      capkeys;
    size_t     *slots;          /* open addressing: key index + 1, 0 = empty */
    size_t      nslots;         /* 0 or a power of two */
    const char *json;           /* JSON form value, borrowed */
    size_t      jsonlen;
} fstate;

/* FNV-1a, 32 bits, computed without any integer wrap-around (so that
 * -fsanitize=integer stays quiet): h < 2^32 and the prime < 2^25. */
static size_t
hash_bytes(const char *s, size_t n)
{
    uint64_t    h = UINT64_C(2166136261);
    size_t      i;

    for (i = 0; i < n; i++)
    {
        h ^= (unsigned char) s[i];
        h = (h * UINT64_C(16777619)) & UINT64_C(0xFFFFFFFF);
    }
    return (size_t) h;
}

/* Index of key name[0..n) or SIZE_MAX. */
static size_t
fstate_lookup(const fstate *f, const char *name, size_t n)
{
    size_t      mask;
    size_t      h;

    if (f->nslots == 0)
        return SIZE_MAX;
    mask = f->nslots - 1;
    h = hash_bytes(name, n) & mask;
    for (;;)
    {
        size_t      s = f->slots[h];
        const fkey *k;

        if (s == 0)
            return SIZE_MAX;
        k = &f->keys[s - 1];
        if (k->len == n && memcmp(k->name, name, n) == 0)
            return s - 1;
        h = (h + 1) & mask;
    }
}

static void
fstate_place(fstate *f, size_t idx)
{
    size_t      mask = f->nslots - 1;
    size_t      h = hash_bytes(f->keys[idx].name, f->keys[idx].len) & mask;

    while (f->slots[h] != 0)
        h = (h + 1) & mask;
    f->slots[h] = idx + 1;
}

/* Add a new key (not present); returns its index or SIZE_MAX on OOM. */
static size_t
fstate_add_key(fstate *f, const char *name, size_t n, int mode)
{
    fkey       *k;

    if (f->nkeys == f->capkeys)
    {
        size_t      ncap = f->capkeys ? f->capkeys * 2 : 8;
        fkey       *p;

        if (ncap > SIZE_MAX / sizeof(fkey))
            return SIZE_MAX;
        p = U_REALLOC(f->keys, ncap * sizeof(fkey));
        if (p == NULL)
            return SIZE_MAX;
        f->keys = p;
        f->capkeys = ncap;
    }
    if ((f->nkeys + 1) * 2 > f->nslots)
    {
        size_t      nslots = f->nslots ? f->nslots * 2 : 16;
        size_t     *s;
        size_t      i;

        if (nslots > SIZE_MAX / sizeof(size_t))
            return SIZE_MAX;
        s = U_MALLOC(nslots * sizeof(size_t));
        if (s == NULL)
            return SIZE_MAX;
        memset(s, 0, nslots * sizeof(size_t));
        U_FREE(f->slots);
        f->slots = s;
        f->nslots = nslots;
        for (i = 0; i < f->nkeys; i++)
            fstate_place(f, i);
    }
    k = &f->keys[f->nkeys];
    memset(k, 0, sizeof *k);
    k->name = name;
    k->len = n;
    k->mode = mode;
    f->nkeys++;
    fstate_place(f, f->nkeys - 1);
    return f->nkeys - 1;
}

/* Append (or, for FM_INDEX, insert in index order) a value; 0 on OOM. */
static int
fkey_add_value(fkey *k, const char *v, int idx)
{
    size_t      pos;

    if (k->n == k->cap)
    {
        size_t      ncap = k->cap ? k->cap * 2 : 4;
        fval       *p;

        if (ncap > SIZE_MAX / sizeof(fval))
            return 0;
        p = U_REALLOC(k->vals, ncap * sizeof(fval));
        if (p == NULL)
            return 0;
        k->vals = p;
        k->cap = ncap;
    }
    pos = k->n;
    if (k->mode == FM_INDEX)
    {
        /* at most API_FILTER_MAX_INDEX + 1 values: bounded work */
        while (pos > 0 && k->vals[pos - 1].idx > idx)
            pos--;
        if (pos < k->n)
            memmove(&k->vals[pos + 1], &k->vals[pos],
                    (k->n - pos) * sizeof(fval));
        k->used[idx / 64] |= UINT64_C(1) << (idx % 64);
    }
    k->vals[pos].v = v;
    k->vals[pos].idx = idx;
    k->n++;
    return 1;
}

static void
fstate_free(fstate *f)
{
    size_t      i;

    for (i = 0; i < f->nkeys; i++)
        U_FREE(f->keys[i].vals);
    U_FREE(f->keys);
    U_FREE(f->slots);
    memset(f, 0, sizeof *f);
}

/* Build route->filter_json; 0 on OOM. */
static int
fstate_build_json(const fstate *f, api_route *r)
{
    sbuf        b;
    size_t      i,
                j;

    if (f->json != NULL)
    {
        r->filter_json = dup_mem(f->json, f->jsonlen);
        return r->filter_json != NULL;
    }
    if (f->nkeys == 0)
        return 1;
    memset(&b, 0, sizeof b);
    sb_putc(&b, '{');
    for (i = 0; i < f->nkeys; i++)
    {
        const fkey *k = &f->keys[i];

        if (i > 0)
            sb_putc(&b, ',');
        sb_put_json_string(&b, k->name, k->len);
        sb_putc(&b, ':');
        if (k->mode == FM_SCALAR && k->n == 1)
            sb_put_json_string(&b, k->vals[0].v, strlen(k->vals[0].v));
        else
        {
            sb_putc(&b, '[');
            for (j = 0; j < k->n; j++)
            {
                if (j > 0)
                    sb_putc(&b, ',');
                sb_put_json_string(&b, k->vals[j].v, strlen(k->vals[j].v));
            }
            sb_putc(&b, ']');
        }
        if (b.oom)
            break;
    }
    sb_putc(&b, '}');
    r->filter_json = sb_finish(&b);
    return r->filter_json != NULL;
}

/* ------------------------------------------------------------------ */
/* scalar parameters                                                    */
/* ------------------------------------------------------------------ */

enum
{
    S_FROM, S_TO, S_INTERVAL, S_SORT_BY, S_SORT_ORDER, S_CURRENT_PAGE,
    S_PAGE_SIZE, S_UNIQUE, S_VIEW_DURATION, S_TIME_ZONE, S_AGGREGATION
};

#define EP_M (1u << API_METRICS)
#define EP_B (1u << API_BUCKETS)
#define EP_T (1u << API_TIMESERIES)

typedef struct scalar_def
{
    const char *name;           /* REST name */
    int         id;
    unsigned    endpoints;      /* EP_* mask */
    int         in_params;      /* kept in route->params (not paging) */
} scalar_def;

static const scalar_def scalar_defs[] = {
    {"from", S_FROM, EP_M | EP_B | EP_T, 1},
    {"to", S_TO, EP_M | EP_B | EP_T, 1},
    {"interval", S_INTERVAL, EP_T, 1},
    {"sortBy", S_SORT_BY, EP_B | EP_T, 1},
    {"sortOrder", S_SORT_ORDER, EP_B | EP_T, 1},
    {"currentPage", S_CURRENT_PAGE, EP_B | EP_T, 0},
    {"pageSize", S_PAGE_SIZE, EP_B | EP_T, 0},
    {"unique", S_UNIQUE, EP_M | EP_B | EP_T, 1},
    {"viewDuration", S_VIEW_DURATION, EP_M | EP_B | EP_T, 1},
    {"timeZone", S_TIME_ZONE, EP_T, 1},
    {"aggregation", S_AGGREGATION, EP_B | EP_T, 1},
};

static char **
scalar_slot(api_route *r, int id)
{
    switch (id)
    {
        case S_FROM:
            return &r->from;
        case S_TO:
            return &r->to;
        case S_INTERVAL:
            return &r->interval;
        case S_SORT_BY:
            return &r->sort_by;
        case S_SORT_ORDER:
            return &r->sort_order;
        case S_CURRENT_PAGE:
            return &r->current_page;
        case S_PAGE_SIZE:
            return &r->page_size;
        case S_UNIQUE:
            return &r->unique;
        case S_VIEW_DURATION:
            return &r->view_duration;
        case S_TIME_ZONE:
            return &r->time_zone;
        default:
            return &r->aggregation;
    }
}

/* ------------------------------------------------------------------ */
/* parser                                                               */
/* ------------------------------------------------------------------ */

typedef struct pctx
{
    api_route  *r;
    size_t      capparams;
    fstate      f;
} pctx;

/* Take ownership of key and value (freed here on failure); 0 on OOM. */
static int
push_param(pctx *c, char *key, char *value)
{
    api_route  *r = c->r;

    if (r->nparams == c->capparams)
    {
        size_t      ncap = c->capparams ? c->capparams * 2 : 16;
        api_param  *p;

        if (ncap > SIZE_MAX / sizeof(api_param))
            p = NULL;
        else
            p = U_REALLOC(r->params, ncap * sizeof(api_param));
        if (p == NULL)
        {
            U_FREE(key);
            U_FREE(value);
            return 0;
        }
        r->params = p;
        c->capparams = ncap;
    }
    r->params[r->nparams].key = key;
    r->params[r->nparams].value = value;
    r->nparams++;
    return 1;
}

static int
handle_scalar(pctx *c, const scalar_def *def, char *key, size_t keylen,
              const char *vs, size_t vl)
{
    api_route  *r = c->r;
    char       *val;
    size_t      vlen;
    char      **slot;
    int         rc;

    rc = pct_decode(vs, vl, 1, &val, &vlen);
    if (rc != DEC_OK)
    {
        if (rc == DEC_NOMEM)
            fail_oom(r);
        else
            fail_n(r, key, keylen, value_error_detail(rc));
        U_FREE(key);
        return -1;
    }
    slot = scalar_slot(r, def->id);
    if (*slot != NULL)
    {
        fail_n(r, key, keylen, "This field was given more than once.");
        U_FREE(key);
        U_FREE(val);
        return -1;
    }
    if (def->in_params)
    {
        char       *copy = dup_mem(val, vlen);

        if (copy == NULL)
        {
            U_FREE(key);
            U_FREE(val);
            return fail_oom(r);
        }
        if (!push_param(c, key, val))
        {
            U_FREE(copy);
            return fail_oom(r);
        }
        *slot = copy;
    }
    else
    {
        U_FREE(key);
        *slot = val;
    }
    return 0;
}

static const char msg_nested[] =
"Nested filterBy keys are not supported: use filterBy[key]=value, "
"filterBy[key][]=value or filterBy[key][n]=value.";
static const char msg_unbalanced[] =
"Unbalanced or misplaced brackets in filterBy.";

/*
 * key[0..keylen) starts with "filterBy" and is either exactly "filterBy"
 * or continues with '['.  Takes ownership of key.
 */
static int
handle_filter(pctx *c, char *key, size_t keylen, const char *vs, size_t vl)
{
    api_route  *r = c->r;
    fstate     *f = &c->f;
    const char *name = NULL;
    size_t      namelen = 0;
    int         mode = 0;
    int         idx = 0;
    char       *val;
    size_t      vlen;
    size_t      ki;
    int         rc;

    if (keylen > 8)
    {
        /* filterBy[name] [ [] | [n] ] */
        size_t      p = 9;
        size_t      q;

        while (p < keylen && key[p] != ']' && key[p] != '[')
            p++;
        name = key + 9;
        namelen = p - 9;
        if (p == keylen || key[p] == '[')
            goto unbalanced;
        if (namelen == 0)
        {
            fail_filter(r, NULL, 0,
                        "filterBy[] needs a key name, e.g. "
                        "filterBy[country]=FR.");
            goto err_key;
        }
        p++;
        if (p == keylen)
            mode = FM_SCALAR;
        else if (key[p] != '[')
        {
            if (memchr(key + p, '[', keylen - p) != NULL ||
                memchr(key + p, ']', keylen - p) != NULL)
                goto unbalanced;
            fail_filter(r, name, namelen,
                        "Unexpected characters after filterBy[key].");
            goto err_key;
        }
        else
        {
            q = p + 1;
            while (q < keylen && key[q] != ']' && key[q] != '[')
                q++;
            if (q == keylen || key[q] == '[')
                goto unbalanced;
            if (q + 1 != keylen)
            {
                if (key[q + 1] == '[')
                    fail_filter(r, name, namelen, msg_nested);
                else if (memchr(key + q + 1, ']', keylen - q - 1) != NULL)
                    goto unbalanced;
                else
                    fail_filter(r, name, namelen,
                                "Unexpected characters after filterBy[key][].");
                goto err_key;
            }
            if (q == p + 1)
                mode = FM_APPEND;
            else
            {
                size_t      d;

                for (d = p + 1; d < q; d++)
                    if (!is_digit((unsigned char) key[d]))
                        break;
                if (d < q)
                {
                    fail_filter(r, name, namelen, msg_nested);
                    goto err_key;
                }
                if (q - (p + 1) > 2)
                {
                    fail_filter(r, name, namelen,
                                "The array index in filterBy[key][n] must be "
                                "between 0 and 99.");
                    goto err_key;
                }
                idx = 0;
                for (d = p + 1; d < q; d++)
                    idx = idx * 10 + (key[d] - '0');
                mode = FM_INDEX;
            }
        }
    }

    /* value */
    rc = pct_decode(vs, vl, 1, &val, &vlen);
    if (rc != DEC_OK)
    {
        if (rc == DEC_NOMEM)
            fail_oom(r);
        else
            fail_filter(r, name, namelen, value_error_detail(rc));
        goto err_key;
    }

    if (mode == 0)
    {
        /* JSON form */
        size_t      i = 0;

        if (f->json != NULL)
        {
            fail_filter(r, NULL, 0, "This field was given more than once.");
            goto err_val;
        }
        if (f->nkeys > 0)
        {
            fail_filter(r, NULL, 0,
                        "The JSON form of filterBy cannot be combined with "
                        "the filterBy[key] forms.");
            goto err_val;
        }
        while (i < vlen && (val[i] == ' ' || val[i] == '\t' ||
                            val[i] == '\n' || val[i] == '\r'))
            i++;
        if (i == vlen || val[i] != '{')
        {
            fail_filter(r, NULL, 0,
                        "filterBy must be a JSON object, or use "
                        "filterBy[key]=value.");
            goto err_val;
        }
        if (!push_param(c, key, val))
            return fail_oom(r);
        f->json = val;
        f->jsonlen = vlen;
        return 0;
    }

    if (f->json != NULL)
    {
        fail_filter(r, name, namelen,
                    "The JSON form of filterBy cannot be combined with the "
                    "filterBy[key] forms.");
        goto err_val;
    }
    ki = fstate_lookup(f, name, namelen);
    if (ki != SIZE_MAX)
    {
        fkey       *k = &f->keys[ki];

        if (k->mode != mode)
        {
            if (k->mode == FM_SCALAR || mode == FM_SCALAR)
                fail_filter(r, name, namelen,
                            "filterBy[key]=value cannot be combined with "
                            "filterBy[key][]=value or filterBy[key][n]=value "
                            "for the same key.");
            else
                fail_filter(r, name, namelen,
                            "filterBy[key][]=value and filterBy[key][n]=value "
                            "cannot be combined for the same key.");
            goto err_val;
        }
        if (mode == FM_INDEX &&
            (k->used[idx / 64] & (UINT64_C(1) << (idx % 64))) != 0)
        {
            char        msg[96];

            snprintf(msg, sizeof msg,
                     "The array index %d was given more than once.", idx);
            fail_filter(r, name, namelen, msg);
            goto err_val;
        }
    }

    /* accepted: key and val now belong to route->params */
    if (!push_param(c, key, val))
        return fail_oom(r);
    if (ki == SIZE_MAX)
    {
        ki = fstate_add_key(f, name, namelen, mode);
        if (ki == SIZE_MAX)
            return fail_oom(r);
    }
    if (!fkey_add_value(&f->keys[ki], val, idx))
        return fail_oom(r);
    return 0;

unbalanced:
    fail_filter(r, name, namelen, msg_unbalanced);
    goto err_key;
err_val:
    U_FREE(val);
err_key:
    U_FREE(key);
    return -1;
}

/* One non-empty "key[=value]" piece of the query string. */
static int
handle_piece(pctx *c, const char *s, size_t n)
{
    api_route  *r = c->r;
    const char *eq = memchr(s, '=', n);
    size_t      kl = eq ? (size_t) (eq - s) : n;
    const char *vs = eq ? eq + 1 : s + n;
    size_t      vl = eq ? n - kl - 1 : 0;
    char       *key;
    size_t      keylen;
    size_t      i;
    int         rc;

    rc = pct_decode(s, kl, 1, &key, &keylen);
    switch (rc)
    {
        case DEC_OK:
            break;
        case DEC_NOMEM:
            return fail_oom(r);
        case DEC_MALFORMED:
            return fail(r, "uri",
                        "A query parameter name has malformed "
                        "percent-encoding ('%' must be followed by two "
                        "hexadecimal digits).");
        case DEC_NUL:
            return fail(r, "uri",
                        "A query parameter name contains a NUL byte (%00).");
        default:
            return fail(r, "uri",
                        "A query parameter name is not valid UTF-8.");
    }
    if (keylen == 0)
    {
        U_FREE(key);
        return fail(r, "uri", "A query parameter has an empty name.");
    }

    for (i = 0; i < sizeof scalar_defs / sizeof scalar_defs[0]; i++)
    {
        const scalar_def *def = &scalar_defs[i];

        if ((def->endpoints & (1u << r->endpoint)) != 0 &&
            strcmp(key, def->name) == 0)
            return handle_scalar(c, def, key, keylen, vs, vl);
    }
    if (keylen >= 8 && memcmp(key, "filterBy", 8) == 0 &&
        (keylen == 8 || key[8] == '['))
        return handle_filter(c, key, keylen, vs, vl);

    fail_n(r, key, keylen, "This field was not expected.");
    U_FREE(key);
    return -1;
}

static int
parse_query(pctx *c, const char *q, size_t n)
{
    size_t      i = 0;

    while (i < n)
    {
        const char *amp = memchr(q + i, '&', n - i);
        size_t      end = amp ? (size_t) (amp - q) : n;

        if (end > i && handle_piece(c, q + i, end - i) != 0)
            return -1;
        i = end + 1;
    }
    return 0;
}

/* Skip "scheme://authority" at the start of u[0..n); returns its length. */
static size_t
skip_scheme_authority(const char *u, size_t n)
{
    size_t      i;

    if (n == 0 || !is_alpha((unsigned char) u[0]))
        return 0;
    i = 1;
    while (i < n && (is_alpha((unsigned char) u[i]) ||
                     is_digit((unsigned char) u[i]) ||
                     u[i] == '+' || u[i] == '-' || u[i] == '.'))
        i++;
    if (n - i < 3 || memcmp(u + i, "://", 3) != 0)
        return 0;
    i += 3;
    while (i < n && u[i] != '/' && u[i] != '?')
        i++;
    return i;
}

static int
route_path(api_route *r, const char *p, size_t n)
{
    static const char *const epnames[] = {NULL, "metrics", "buckets",
    "timeseries"};
    const char *seg[5];
    size_t      seglen[5];
    size_t      nseg = 0;
    size_t      start = 1;
    size_t      i;
    int         ep;
    size_t      want;
    char       *second = NULL;
    size_t      len;
    int         rc;
    sbuf        b;

    if (n == 0 || p[0] != '/')
        goto not_found;
    if (n > 1 && p[n - 1] == '/')
        n--;                    /* one trailing slash tolerated */
    for (i = 1; i <= n; i++)
    {
        if (i == n || p[i] == '/')
        {
            if (nseg == 5)
                goto not_found;
            seg[nseg] = p + start;
            seglen[nseg] = i - start;
            if (seglen[nseg] == 0)
                goto not_found;
            nseg++;
            start = i + 1;
        }
    }
    if (nseg < 3 || !pct_equals(seg[0], seglen[0], "data"))
        goto not_found;
    for (ep = API_METRICS; ep <= API_TIMESERIES; ep++)
        if (pct_equals(seg[1], seglen[1], epnames[ep]))
            break;
    if (ep > API_TIMESERIES)
        goto not_found;
    want = (ep == API_TIMESERIES) ? 3 : 4;
    if (nseg != want)
        goto not_found;

    r->endpoint = (api_endpoint) ep;
    rc = pct_decode(seg[2], seglen[2], 0, &r->metric, &len);
    if (rc != DEC_OK)
    {
        if (rc == DEC_NOMEM)
            return fail_oom(r);
        return fail(r, "metric", value_error_detail(rc));
    }
    /* an encoded '/' (%2F) would make the decoded path ambiguous */
    if (strchr(r->metric, '/') != NULL)
        goto not_found;
    if (want == 4)
    {
        const char *what = (ep == API_METRICS) ? "aggregation" : "breakdown";

        rc = pct_decode(seg[3], seglen[3], 0, &second, &len);
        if (rc != DEC_OK)
        {
            if (rc == DEC_NOMEM)
                return fail_oom(r);
            return fail(r, what, value_error_detail(rc));
        }
        if (strchr(second, '/') != NULL)
        {
            U_FREE(second);
            goto not_found;
        }
        if (ep == API_METRICS)
            r->aggregation = second;
        else
            r->breakdown = second;
    }

    memset(&b, 0, sizeof b);
    sb_puts(&b, "/data/");
    sb_puts(&b, epnames[ep]);
    sb_putc(&b, '/');
    sb_puts(&b, r->metric);
    if (second != NULL)
    {
        sb_putc(&b, '/');
        sb_puts(&b, second);
    }
    r->path = sb_finish(&b);
    if (r->path == NULL)
        return fail_oom(r);
    return 0;

not_found:
    r->status = 404;
    r->endpoint = API_NOT_FOUND;
    return -1;
}

int
api_route_parse_limit(const char *uri, size_t len, size_t max_len,
                      api_route *out)
{
    pctx        c;
    const char *hash;
    const char *qm;
    size_t      end;
    size_t      ps;
    size_t      pe;

    if (out == NULL)
        return 400;
    memset(out, 0, sizeof *out);
    out->status = 200;
    memset(&c, 0, sizeof c);
    c.r = out;

    if (uri == NULL)
    {
        if (len != 0)
        {
            fail(out, "uri", "The URI is missing.");
            goto done;
        }
        uri = "";
    }
    if (len > max_len)
    {
        char        msg[96];

        snprintf(msg, sizeof msg, "The URI is longer than %lu bytes.",
                 (unsigned long) max_len);
        fail(out, "uri", msg);
        goto done;
    }
    if (len > 0 && memchr(uri, '\0', len) != NULL)
    {
        fail(out, "uri", "The URI contains a NUL byte.");
        goto done;
    }

    hash = len > 0 ? memchr(uri, '#', len) : NULL;
    end = hash ? (size_t) (hash - uri) : len;
    ps = skip_scheme_authority(uri, end);
    qm = end > ps ? memchr(uri + ps, '?', end - ps) : NULL;
    pe = qm ? (size_t) (qm - uri) : end;

    if (route_path(out, uri + ps, pe - ps) != 0)
        goto done;
    if (qm != NULL && parse_query(&c, uri + pe + 1, end - pe - 1) != 0)
        goto done;
    if (!fstate_build_json(&c.f, out))
        fail_oom(out);

done:
    fstate_free(&c.f);
    if (out->status != 200)
        api_route_free(out);
    return out->status;
}

int
api_route_parse(const char *uri, size_t len, api_route *out)
{
    return api_route_parse_limit(uri, len, API_URI_MAX_LEN, out);
}

void
api_route_free(api_route *r)
{
    size_t      i;

    if (r == NULL)
        return;
    for (i = 0; i < r->nparams; i++)
    {
        U_FREE(r->params[i].key);
        U_FREE(r->params[i].value);
    }
    U_FREE(r->params);
    r->params = NULL;
    r->nparams = 0;
#define FREE_FIELD(f) do { U_FREE(r->f); r->f = NULL; } while (0)
    FREE_FIELD(path);
    FREE_FIELD(metric);
    FREE_FIELD(aggregation);
    FREE_FIELD(breakdown);
    FREE_FIELD(from);
    FREE_FIELD(to);
    FREE_FIELD(interval);
    FREE_FIELD(sort_by);
    FREE_FIELD(sort_order);
    FREE_FIELD(current_page);
    FREE_FIELD(page_size);
    FREE_FIELD(unique);
    FREE_FIELD(view_duration);
    FREE_FIELD(time_zone);
    FREE_FIELD(filter_json);
#undef FREE_FIELD
}

/* ------------------------------------------------------------------ */
/* encoding and links                                                   */
/* ------------------------------------------------------------------ */

char *
uri_encode_component(const char *s)
{
    sbuf        b;
    size_t      n;

    if (s == NULL)
        return NULL;
    n = strlen(s);
    memset(&b, 0, sizeof b);
    /* exact size: one pass to count keeps the allocation tight */
    {
        size_t      i,
                    out = 0;

        for (i = 0; i < n; i++)
        {
            size_t      w = is_unreserved((unsigned char) s[i]) ? 1 : 3;

            if (out > SIZE_MAX - 1 - w)
                return NULL;
            out += w;
        }
        if (!sb_reserve(&b, out))
            return NULL;
    }
    sb_put_encoded(&b, s, n, 0);
    return sb_finish(&b);
}

char *
api_build_link(const char *path, const api_param *params, size_t nparams,
               long current_page, long page_size)
{
    sbuf        b;
    size_t      i;
    char        num[64];

    if (path == NULL || (params == NULL && nparams > 0))
        return NULL;
    memset(&b, 0, sizeof b);
    sb_put_encoded(&b, path, strlen(path), 1);
    sb_putc(&b, '?');
    for (i = 0; i < nparams && !b.oom; i++)
    {
        const char *k = params[i].key ? params[i].key : "";
        const char *v = params[i].value ? params[i].value : "";

        sb_put_encoded(&b, k, strlen(k), 0);
        sb_putc(&b, '=');
        sb_put_encoded(&b, v, strlen(v), 0);
        sb_putc(&b, '&');
    }
    snprintf(num, sizeof num, "currentPage=%ld&pageSize=%ld",
             current_page, page_size);
    sb_puts(&b, num);
    return sb_finish(&b);
}
