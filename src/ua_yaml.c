/*
 * ua_yaml.c - the reader of uap-core's regexes.yaml for the user-agent
 * parser: ua_db_load() (see useragent.h).  It reads the subset of YAML that
 * file uses (top-level lists of "- key: value" entries, plain and quoted
 * scalars, comments) and hands every entry to ua_db_add_rule()
 * (useragent.c), which compiles it.
 *
 * Plain C99 + libc, no PostgreSQL.
 */
#include "ua_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One entry being read: the values we keep (malloc'ed, NULL = absent). */
typedef struct yentry
{
    int         active;         /* an entry has been started */
    int         list;           /* list index, or -1 for a skipped top-level
                                 * key */
    long        line;           /* line of its "- " */
    char       *regex;
    char       *flag;
    char       *repl[NREPL];
} yentry;

static void
yentry_clear(yentry *e)
{
    int         r;

    free(e->regex);
    free(e->flag);
    for (r = 0; r < NREPL; r++)
        free(e->repl[r]);
    memset(e, 0, sizeof(*e));
}

/*
 * Parse the YAML scalar at p[0..n) (after "key:" and its spaces).  Sets
 * *out to a malloc'ed string, or NULL for an empty plain value.
 * Returns 0, -1 for a syntax error, -2 for out of memory.
 */
static int
yaml_scalar(const char *p, size_t n, char **out)
{
    size_t      i,
                o = 0;
    char       *buf;

    *out = NULL;
    if (n == 0)
        return 0;
    if (p[0] != '\'' && p[0] != '"')
    {
        /* plain scalar: up to a " #" comment, trimmed */
        for (i = 0; i < n; i++)
            if (p[i] == '#' && i > 0 && is_space((unsigned char) p[i - 1]))
                break;
        n = i;
        trim_span(&p, &n);
        if (n == 0)
            return 0;
        *out = dup_n(p, n);
        return *out ? 0 : -2;
    }
    buf = malloc(n);
    if (buf == NULL)
        return -2;
    if (p[0] == '\'')
    {
        for (i = 1; i < n; i++)
        {
            if (p[i] == '\'')
            {
                if (i + 1 < n && p[i + 1] == '\'')
                {
                    buf[o++] = '\'';
                    i++;
                    continue;
                }
                break;
            }
            buf[o++] = p[i];
        }
    }
    else
    {
        for (i = 1; i < n; i++)
        {
            if (p[i] == '"')
                break;
            if (p[i] == '\\')
            {
                int         hi,
                            lo;

                if (++i >= n)
                    break;
                switch (p[i])
                {
                    case '\\':
                        buf[o++] = '\\';
                        break;
                    case '"':
                        buf[o++] = '"';
                        break;
                    case '/':
                        buf[o++] = '/';
                        break;
                    case 'n':
                        buf[o++] = '\n';
                        break;
                    case 't':
                        buf[o++] = '\t';
                        break;
                    case 'r':
                        buf[o++] = '\r';
                        break;
                    case 'x':
                        if (i + 2 >= n)
                            goto bad;
                        hi = hexval((unsigned char) p[i + 1]);
                        lo = hexval((unsigned char) p[i + 2]);
                        if (hi < 0 || lo < 0)
                            goto bad;
                        buf[o++] = (char) (hi * 16 + lo);
                        i += 2;
                        break;
                    default:
                        goto bad;
                }
                continue;
            }
            buf[o++] = p[i];
        }
    }
    if (i >= n)
        goto bad;               /* no closing quote on this line */
    /* after the closing quote: only blanks or a comment */
    for (i++; i < n; i++)
    {
        if (p[i] == '#')
            break;
        if (!is_space((unsigned char) p[i]))
            goto bad;
    }
    buf[o] = '\0';
    if (memchr(buf, '\0', o) != NULL)
        goto bad;               /* a \0 escape: not usable as a C string */
    *out = buf;
    return 0;
bad:
    free(buf);
    return -1;
}


/* Finish the entry being read (compile it into its list). */
static int
flush_entry(ua_db *db, yentry *e, char *err, size_t errlen)
{
    int         rc = 0;

    if (e->active && e->list >= 0)
        rc = ua_db_add_rule(db, e->list, e->regex, e->flag, e->repl, e->line,
                            err, errlen);
    yentry_clear(e);
    return rc;
}

/* Store the value of "key: value" into the entry. */
static int
entry_set(yentry *e, const char *key, size_t keylen, const char *val,
          size_t vallen, long lineno, char *err, size_t errlen)
{
    char      **slot = NULL;
    char       *v;
    int         rc;

#define KEY_IS(s) (keylen == sizeof(s) - 1 && memcmp(key, s, keylen) == 0)
    if (KEY_IS("regex"))
        slot = &e->regex;
    else if (KEY_IS("regex_flag"))
        slot = &e->flag;
    else if (e->list == LIST_UA && KEY_IS("family_replacement"))
        slot = &e->repl[R_FAMILY];
    else if (e->list == LIST_OS && KEY_IS("os_replacement"))
        slot = &e->repl[R_FAMILY];
    else if (e->list == LIST_DEVICE && KEY_IS("device_replacement"))
        slot = &e->repl[R_FAMILY];
    else if (e->list == LIST_DEVICE && KEY_IS("brand_replacement"))
        slot = &e->repl[R_BRAND];
    else if (e->list == LIST_DEVICE && KEY_IS("model_replacement"))
        slot = &e->repl[R_MODEL];
#undef KEY_IS

    rc = yaml_scalar(val, vallen, &v);
    if (rc == -2)
    {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    if (rc < 0)
    {
        set_err(err, errlen,
                "regexes file line %ld: unsupported or malformed value for '%.*s'",
                lineno, (int) keylen, key);
        return -1;
    }
    if (slot == NULL)
    {
        free(v);                /* versions and unknown keys: ignored */
        return 0;
    }
    if (*slot != NULL)
    {
        free(v);
        set_err(err, errlen, "regexes file line %ld: duplicate key '%.*s'",
                lineno, (int) keylen, key);
        return -1;
    }
    *slot = v;
    return 0;
}

static char *
read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE       *f;
    char       *buf = NULL;
    size_t      cap = 0,
                n = 0;

    f = fopen(path, "rb");
    if (f == NULL)
    {
        set_err(err, errlen, "cannot open regexes file \"%s\"", path);
        return NULL;
    }
    for (;;)
    {
        size_t      got;

        if (cap - n < 65536)
        {
            char       *nb;

            if (cap > ((size_t) 64 << 20))
            {
                set_err(err, errlen, "regexes file \"%s\" is too large", path);
                goto fail;
            }
            cap = cap ? cap * 2 : 262144;
            nb = realloc(buf, cap + 1);
            if (nb == NULL)
            {
                set_err(err, errlen, "out of memory");
                goto fail;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
    {
        set_err(err, errlen, "cannot read regexes file \"%s\"", path);
        goto fail;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

ua_db *
ua_db_load(const char *regexes_yaml_path, char *err, size_t errlen)
{
    ua_db      *db;
    char       *text;
    size_t      textlen,
                pos = 0;
    long        lineno = 0;
    int         cur_list = -1;
    int         seen_top = 0;
    yentry      e;
    int         l;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (regexes_yaml_path == NULL)
    {
        set_err(err, errlen, "no regexes file given");
        return NULL;
    }
    memset(&e, 0, sizeof(e));
    db = ua_db_new(err, errlen);
    if (db == NULL)
        return NULL;

    text = read_file(regexes_yaml_path, &textlen, err, errlen);

    if (text == NULL)
        goto fail_db;
    if (textlen >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;                /* UTF-8 byte order mark */

    while (pos < textlen)
    {
        const char *line = text +pos;
        const char *nl = memchr(line, '\n', textlen - pos);
        size_t      n = nl ? (size_t) (nl - line) : textlen - pos;
        size_t      ind = 0,
                    k;
        const char *p;
        size_t      rest;

        pos += n + (nl ? 1 : 0);
        lineno++;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (memchr(line, '\0', n) != NULL)
        {
            set_err(err, errlen, "regexes file line %ld: NUL byte", lineno);
            goto fail;
        }
        while (ind < n && line[ind] == ' ')
            ind++;
        if (ind == n || line[ind] == '#')
            continue;           /* blank or comment */
        if (line[ind] == '\t')
        {
            set_err(err, errlen, "regexes file line %ld: tab in indentation", lineno);
            goto fail;
        }
        p = line + ind;
        rest = n - ind;

        if (ind == 0)
        {
            /* a top-level key: "name:" (anything after it must be empty) */
            const char *colon = memchr(p, ':', rest);
            size_t      after;

            if (colon == NULL || colon == p)
            {
                set_err(err, errlen, "regexes file line %ld: expected a top-level key", lineno);
                goto fail;
            }
            after = rest - (size_t) (colon - p) - 1;
            {
                const char *a = colon + 1;

                trim_span(&a, &after);
                if (after > 0 && a[0] != '#')
                {
                    set_err(err, errlen, "regexes file line %ld: unsupported top-level value", lineno);
                    goto fail;
                }
            }
            if (flush_entry(db, &e, err, errlen) < 0)
                goto fail;
            cur_list = -1;
            seen_top = 1;
            for (l = 0; l < NLISTS; l++)
                if ((size_t) (colon - p) == strlen(ua_list_names[l]) &&
                    memcmp(p, ua_list_names[l], (size_t) (colon - p)) == 0)
                    cur_list = l;
            if (cur_list >= 0 && db->lists[cur_list].n > 0)
            {
                set_err(err, errlen, "regexes file line %ld: list %s appears twice",
                        lineno, ua_list_names[cur_list]);
                goto fail;
            }
            continue;
        }
        if (!seen_top)
        {
            set_err(err, errlen, "regexes file line %ld: indented line before any top-level key", lineno);
            goto fail;
        }
        if (rest >= 1 && p[0] == '-' && (rest == 1 || p[1] == ' '))
        {
            /* "- key: value": a new entry */
            if (flush_entry(db, &e, err, errlen) < 0)
                goto fail;
            e.active = 1;
            e.list = cur_list;
            e.line = lineno;
            p++;
            rest--;
            while (rest > 0 && p[0] == ' ')
            {
                p++;
                rest--;
            }
            if (rest == 0 || p[0] == '#')
                continue;       /* "-" alone: keys follow */
        }
        else if (!e.active)
        {
            if (cur_list < 0)
                continue;       /* content of a skipped top-level key */
            set_err(err, errlen, "regexes file line %ld: expected '- ' to start an entry", lineno);
            goto fail;
        }
        /* "key: value" */
        for (k = 0; k < rest; k++)
        {
            char        c = p[k];

            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '_'))
                break;
        }
        if (k == 0 || k >= rest || p[k] != ':' ||
            (k + 1 < rest && p[k + 1] != ' '))
        {
            if (e.list < 0)
                continue;       /* skipped list: be lenient */
            set_err(err, errlen, "regexes file line %ld: expected 'key: value'", lineno);
            goto fail;
        }
        {
            const char *v = p + k + 1;
            size_t      vl = rest - k - 1;

            while (vl > 0 && v[0] == ' ')
            {
                v++;
                vl--;
            }
            if (e.list < 0)
                continue;
            if (entry_set(&e, p, k, v, vl, lineno, err, errlen) < 0)
                goto fail;
        }
    }
    if (flush_entry(db, &e, err, errlen) < 0)
        goto fail;
    free(text);
    for (l = 0; l < NLISTS; l++)
    {
        if (db->lists[l].n == 0)
        {
            set_err(err, errlen, "regexes file \"%s\": no %s", regexes_yaml_path,
                    ua_list_names[l]);
            ua_db_free(db);
            return NULL;
        }
    }
    return db;

fail:
    yentry_clear(&e);
    free(text);
fail_db:
    ua_db_free(db);
    return NULL;
}
