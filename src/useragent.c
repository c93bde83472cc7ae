/*
 * useragent.c - user-agent parser on the uap-core regex database; see
 * useragent.h for the API and the evaluation semantics.
 *
 * Plain C99 + libc + PCRE2 (8-bit).  No global or static mutable state: the
 * only statics are the constant folding tables below.  No locale-dependent
 * functions (ASCII case handling is done by hand).
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "useragent.h"

#include <pcre2.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* small helpers                                                        */
/* ------------------------------------------------------------------ */

static int
is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

static unsigned char
to_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char) (c - 'A' + 'a') : c;
}

#if defined(__GNUC__) || defined(__clang__)
#define UA_PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define UA_PRINTF_LIKE(f, a)
#endif

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    UA_PRINTF_LIKE(3, 4);

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static char *
dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p != NULL)
    {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Length of the agent that is matched: up to the first NUL, at most
 * UA_MAX_INPUT bytes. */
static size_t
effective_len(const char *ua, size_t len)
{
    const char *nul;

    if (ua == NULL)
        return 0;
    if (len > UA_MAX_INPUT)
        len = UA_MAX_INPUT;
    nul = memchr(ua, '\0', len);
    return nul != NULL ? (size_t) (nul - ua) : len;
}

/*
 * Length of the valid UTF-8 sequence at s[0..n), or 0 if s[0] does not start
 * one (overlong forms, surrogates and code points > U+10FFFF are invalid).
 */
static size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need, i;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 4;
    else
        return 0;
    if (n < need)
        return 0;
    for (i = 1; i < need; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (c == 0xE0 && s[1] < 0xA0)
        return 0;               /* overlong */
    if (c == 0xED && s[1] >= 0xA0)
        return 0;               /* surrogate */
    if (c == 0xF0 && s[1] < 0x90)
        return 0;               /* overlong */
    if (c == 0xF4 && s[1] >= 0x90)
        return 0;               /* > U+10FFFF */
    return need;
}

/*
 * Copy src[0..n) into dst (capacity cap >= 1) as valid UTF-8: invalid bytes
 * and NULs become '?', the copy stops before a character that does not fit.
 * Optionally lower-cases ASCII letters.  Always NUL-terminates.
 */
static void
copy_utf8(char *dst, size_t cap, const char *src, size_t n, int lower)
{
    const unsigned char *s = (const unsigned char *) src;
    size_t i = 0, o = 0;

    while (i < n)
    {
        size_t k = s[i] == 0 ? 0 : utf8_seq_len(s + i, n - i);

        if (k == 0)
        {
            if (o + 1 >= cap)
                break;
            dst[o++] = '?';
            i++;
            continue;
        }
        if (o + k >= cap)
            break;
        if (k == 1 && lower)
            dst[o++] = (char) to_lower(s[i]);
        else
            memcpy(dst + o, s + i, k);
        o += (k == 1 && lower) ? 0 : k;
        i += k;
    }
    dst[o] = '\0';
}

/* Trim ASCII white space: *s, *n describe the trimmed span. */
static void
trim_span(const char **s, size_t *n)
{
    while (*n > 0 && is_space((unsigned char) (*s)[0]))
    {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_space((unsigned char) (*s)[*n - 1]))
        (*n)--;
}

/* ------------------------------------------------------------------ */
/* the database                                                         */
/* ------------------------------------------------------------------ */

enum
{
    LIST_UA = 0,
    LIST_OS,
    LIST_DEVICE,
    NLISTS
};

static const char *const list_names[NLISTS] = {
    "user_agent_parsers", "os_parsers", "device_parsers"
};

/* replacement slots of a rule */
enum
{
    R_FAMILY = 0,       /* family_replacement / os_replacement /
                         * device_replacement */
    R_BRAND,            /* brand_replacement (device list only) */
    R_MODEL,            /* model_replacement (device list only) */
    NREPL
};

typedef struct ua_rule
{
    pcre2_code *code;
    int         jit;            /* JIT-compiled: use pcre2_jit_match() */
    char       *repl[NREPL];    /* NULL when the entry has none */
    uint32_t   *pf;             /* literal prefilter program, NULL = none */
} ua_rule;

typedef struct ua_list
{
    ua_rule *rules;
    size_t   n;
    size_t   cap;
} ua_list;

struct ua_db
{
    ua_list              lists[NLISTS];
    pcre2_match_context *mctx;
    uint32_t             max_pairs;     /* largest ovector needed */
};

void
ua_db_free(ua_db *db)
{
    int l;
    size_t i;
    int r;

    if (db == NULL)
        return;
    for (l = 0; l < NLISTS; l++)
    {
        for (i = 0; i < db->lists[l].n; i++)
        {
            pcre2_code_free(db->lists[l].rules[i].code);
            free(db->lists[l].rules[i].pf);
            for (r = 0; r < NREPL; r++)
                free(db->lists[l].rules[i].repl[r]);
        }
        free(db->lists[l].rules);
    }
    pcre2_match_context_free(db->mctx);
    free(db);
}

void
ua_db_stats(const ua_db *db, size_t *n_ua, size_t *n_os, size_t *n_device,
            size_t *n_jit, size_t *n_prefiltered)
{
    size_t nj = 0, np = 0, i;
    int l;

    for (l = 0; db != NULL && l < NLISTS; l++)
        for (i = 0; i < db->lists[l].n; i++)
        {
            nj += db->lists[l].rules[i].jit ? 1 : 0;
            np += db->lists[l].rules[i].pf != NULL ? 1 : 0;
        }
    if (n_ua)
        *n_ua = db ? db->lists[LIST_UA].n : 0;
    if (n_os)
        *n_os = db ? db->lists[LIST_OS].n : 0;
    if (n_device)
        *n_device = db ? db->lists[LIST_DEVICE].n : 0;
    if (n_jit)
        *n_jit = nj;
    if (n_prefiltered)
        *n_prefiltered = np;
}

/* ------------------------------------------------------------------ */
/* literal prefilter                                                    */
/* ------------------------------------------------------------------ */

/*
 * Most rules cannot match a given agent, and running ~1160 regexes per agent
 * dominates the cost.  At load time every regex is analysed for literal
 * strings that any match must contain, by a conservative parse of the
 * pattern (a construct the analyser does not know disables the prefilter
 * for that regex).  The result is an AND of clauses, each an OR of literals
 * of at least PF_MIN_LIT bytes, ASCII-lower-cased.  At match time the
 * lower-cased trigrams and bigrams of the agent are hashed into two bitmaps;
 * a rule with a clause none of whose literals has all its trigrams (a
 * two-byte literal: its bigram) in the bitmaps cannot match, and its regex
 * is not run.  This is only a necessary condition, so
 * the results are the same with or without the prefilter; building with
 * -DUA_VERIFY_PREFILTER checks it at run time (every skipped regex is run
 * anyway, and abort() if it matches).
 */

#define PF_BITS 13                      /* trigram bitmap: 2^13 bits (1 kB) */
#define PF_WORDS ((1u << PF_BITS) / 64)
#define PF_BI_BITS 12                   /* bigram bitmap: 2^12 bits */
#define PF_BI_WORDS ((1u << PF_BI_BITS) / 64)
#define PF_BIGRAM 0x80000000u           /* program word flag: a bigram */
#define PF_MIN_LIT 2
#define PF_MAX_LITS 1024                /* literals in one clause */
#define PF_MAX_TRI 32                   /* trigrams kept per literal */
#define PF_MAX_CLAUSES 8
#define PF_MAX_DEPTH 32
#define PF_MAX_RUN 128

typedef struct pf_lits                  /* OR of literals */
{
    char  **s;
    size_t  n;
    size_t  cap;
} pf_lits;

typedef struct pf_and                   /* AND of clauses */
{
    pf_lits *c;
    size_t   n;
    size_t   cap;
} pf_and;

typedef struct pf_parser
{
    const char *p;
    size_t      pos;
    int         bail;   /* unknown construct or out of memory */
    int         depth;
} pf_parser;

static void
pf_lits_free(pf_lits *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->s[i]);
    free(l->s);
    memset(l, 0, sizeof(*l));
}

static void
pf_and_free(pf_and *a)
{
    size_t i;

    for (i = 0; i < a->n; i++)
        pf_lits_free(&a->c[i]);
    free(a->c);
    memset(a, 0, sizeof(*a));
}

/* Append a literal (takes ownership of s). */
static int
pf_lits_push(pf_lits *l, char *s)
{
    if (l->n == l->cap)
    {
        size_t nc = l->cap ? l->cap * 2 : 4;
        char **ns = realloc(l->s, nc * sizeof(*ns));

        if (ns == NULL)
        {
            free(s);
            return -1;
        }
        l->s = ns;
        l->cap = nc;
    }
    l->s[l->n++] = s;
    return 0;
}

/* Append a clause (takes ownership of its contents). */
static int
pf_and_push(pf_and *a, pf_lits *l)
{
    if (a->n == a->cap)
    {
        size_t nc = a->cap ? a->cap * 2 : 4;
        pf_lits *ns = realloc(a->c, nc * sizeof(*ns));

        if (ns == NULL)
        {
            pf_lits_free(l);
            return -1;
        }
        a->c = ns;
        a->cap = nc;
    }
    a->c[a->n++] = *l;
    memset(l, 0, sizeof(*l));
    return 0;
}

/* Index of the most selective clause (longest shortest literal, then the
 * fewest literals), or -1 when there is none. */
static long
pf_best(const pf_and *a)
{
    long best = -1;
    size_t bmin = 0, bn = 0, i, j;

    for (i = 0; i < a->n; i++)
    {
        size_t mn = (size_t) -1;

        for (j = 0; j < a->c[i].n; j++)
            if (strlen(a->c[i].s[j]) < mn)
                mn = strlen(a->c[i].s[j]);
        if (a->c[i].n == 0)
            continue;
        if (best < 0 || mn > bmin || (mn == bmin && a->c[i].n < bn))
        {
            best = (long) i;
            bmin = mn;
            bn = a->c[i].n;
        }
    }
    return best;
}

static void pf_alt(pf_parser *pp, pf_and *out);

/* End the current literal run: a run of >= PF_MIN_LIT bytes is a clause. */
static void
pf_flush(pf_parser *pp, pf_and *out, char *run, size_t *rl)
{
    if (*rl >= PF_MIN_LIT && !pp->bail)
    {
        pf_lits l;
        char *s = dup_n(run, *rl);

        memset(&l, 0, sizeof(l));
        if (s == NULL || pf_lits_push(&l, s) < 0 || pf_and_push(out, &l) < 0)
            pp->bail = 1;
    }
    *rl = 0;
}

/* One branch: a sequence of atoms up to '|', ')' or the end. */
static void
pf_seq(pf_parser *pp, pf_and *out)
{
    const char *p = pp->p;
    char run[PF_MAX_RUN];
    size_t rl = 0;

    enum { A_LIT, A_OTHER, A_ZERO, A_GROUP } kind;

    while (!pp->bail)
    {
        char c = p[pp->pos];
        char lit = 0;
        unsigned long min = 1;
        int quant = 0;
        pf_and grp;

        memset(&grp, 0, sizeof(grp));
        if (c == '\0' || c == '|' || c == ')')
            break;
        switch (c)
        {
            case '(':
                pp->pos++;
                if (p[pp->pos] == '?')
                {
                    if (p[pp->pos + 1] != ':')
                    {
                        pp->bail = 1;   /* lookaround, flags, named... */
                        return;
                    }
                    pp->pos += 2;
                }
                else if (p[pp->pos] == '*')
                {
                    pp->bail = 1;       /* verbs */
                    return;
                }
                if (++pp->depth > PF_MAX_DEPTH)
                {
                    pp->bail = 1;
                    return;
                }
                pf_alt(pp, &grp);
                pp->depth--;
                if (pp->bail || p[pp->pos] != ')')
                {
                    pf_and_free(&grp);
                    pp->bail = 1;
                    return;
                }
                pp->pos++;
                kind = A_GROUP;
                break;
            case '[':
                pp->pos++;
                if (p[pp->pos] == '^')
                    pp->pos++;
                if (p[pp->pos] == ']')
                    pp->pos++;
                for (;;)
                {
                    char d = p[pp->pos];

                    if (d == '\0')
                    {
                        pp->bail = 1;
                        return;
                    }
                    if (d == ']')
                        break;
                    if (d == '\\')
                    {
                        if (p[pp->pos + 1] == '\0' ||
                            strchr("QExpPcogkNu", p[pp->pos + 1]) != NULL)
                        {
                            pp->bail = 1;
                            return;
                        }
                        pp->pos += 2;
                        continue;
                    }
                    if (d == '[' && p[pp->pos + 1] == ':')
                    {
                        const char *end = strstr(p + pp->pos + 2, ":]");

                        if (end == NULL)
                        {
                            pp->bail = 1;
                            return;
                        }
                        pp->pos = (size_t) (end - p) + 2;
                        continue;
                    }
                    pp->pos++;
                }
                pp->pos++;
                kind = A_OTHER;
                break;
            case '.':
                pp->pos++;
                kind = A_OTHER;
                break;
            case '^':
            case '$':
                pp->pos++;
                kind = A_ZERO;
                break;
            case '\\':
            {
                char e = p[pp->pos + 1];

                if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') ||
                    (e >= '0' && e <= '9'))
                {
                    if (e == 'N' && p[pp->pos + 2] == '{')
                    {
                        pp->bail = 1;
                        return;
                    }
                    if (strchr("dDwWsShHvVNRXtnrfea", e) != NULL)
                        kind = A_OTHER;
                    else if (strchr("bBAzZG", e) != NULL)
                        kind = A_ZERO;
                    else
                    {
                        pp->bail = 1;   /* \Q \x \p \g \k \1 \0 ... */
                        return;
                    }
                }
                else if (e == '\0')
                {
                    pp->bail = 1;
                    return;
                }
                else
                {
                    kind = A_LIT;
                    lit = e;
                }
                pp->pos += 2;
                break;
            }
            case '*':
            case '+':
            case '?':
            case '{':
                pp->bail = 1;
                return;
            default:
                kind = A_LIT;
                lit = c;
                pp->pos++;
                break;
        }

        /* quantifier */
        c = p[pp->pos];
        if (c == '?' || c == '*')
        {
            min = 0;
            quant = 1;
            pp->pos++;
        }
        else if (c == '+')
        {
            quant = 1;
            pp->pos++;
        }
        else if (c == '{')
        {
            size_t q = pp->pos + 1;
            unsigned long lo = 0;
            int digits = 0;

            while (p[q] >= '0' && p[q] <= '9' && digits < 6)
            {
                lo = lo * 10 + (unsigned long) (p[q] - '0');
                q++;
                digits++;
            }
            if (digits == 0)
            {
                pp->bail = 1;
                pf_and_free(&grp);
                return;
            }
            if (p[q] == ',')
            {
                q++;
                while (p[q] >= '0' && p[q] <= '9')
                    q++;
            }
            if (p[q] != '}')
            {
                pp->bail = 1;
                pf_and_free(&grp);
                return;
            }
            pp->pos = q + 1;
            min = lo;
            quant = 1;
        }
        if (quant && (p[pp->pos] == '?' || p[pp->pos] == '+'))
            pp->pos++;          /* lazy / possessive */
        if (quant && (p[pp->pos] == '*' || p[pp->pos] == '+' ||
                      p[pp->pos] == '?' || p[pp->pos] == '{'))
        {
            pp->bail = 1;
            pf_and_free(&grp);
            return;
        }

        switch (kind)
        {
            case A_LIT:
                if (quant && min == 0)
                {
                    pf_flush(pp, out, run, &rl);
                    break;
                }
                if (rl == PF_MAX_RUN)
                    pf_flush(pp, out, run, &rl);
                run[rl++] = (char) to_lower((unsigned char) lit);
                if (quant)
                    pf_flush(pp, out, run, &rl);
                break;
            case A_ZERO:
                if (quant)
                {
                    pp->bail = 1;
                    return;
                }
                pf_flush(pp, out, run, &rl);
                break;
            case A_OTHER:
                pf_flush(pp, out, run, &rl);
                break;
            case A_GROUP:
            {
                size_t i;

                pf_flush(pp, out, run, &rl);
                if (min >= 1)
                    for (i = 0; i < grp.n && !pp->bail; i++)
                        if (pf_and_push(out, &grp.c[i]) < 0)
                            pp->bail = 1;
                pf_and_free(&grp);
                break;
            }
        }
    }
    pf_flush(pp, out, run, &rl);
}

/* Move the best clause of br into the OR-set u; 0 when br has none. */
static int
pf_merge_best(pf_parser *pp, pf_lits *u, pf_and *br)
{
    long b = pf_best(br);
    size_t j;

    if (b < 0 || u->n + br->c[b].n > PF_MAX_LITS)
        return 0;
    for (j = 0; j < br->c[b].n; j++)
    {
        if (pf_lits_push(u, br->c[b].s[j]) < 0)
        {
            br->c[b].s[j] = NULL;
            pp->bail = 1;
            return 0;
        }
        br->c[b].s[j] = NULL;
    }
    return 1;
}

/* Alternatives up to ')' or the end: one branch gives its clauses; several
 * give one clause, the OR of the best clause of each (none if a branch has
 * none). */
static void
pf_alt(pf_parser *pp, pf_and *out)
{
    pf_and br;
    pf_lits u;
    int ok;

    memset(&br, 0, sizeof(br));
    memset(&u, 0, sizeof(u));
    pf_seq(pp, &br);
    if (pp->bail || pp->p[pp->pos] != '|')
    {
        size_t i;

        for (i = 0; i < br.n && !pp->bail; i++)
            if (pf_and_push(out, &br.c[i]) < 0)
                pp->bail = 1;
        pf_and_free(&br);
        return;
    }
    ok = pf_merge_best(pp, &u, &br);
    pf_and_free(&br);
    while (!pp->bail && pp->p[pp->pos] == '|')
    {
        pp->pos++;
        pf_seq(pp, &br);
        if (ok && !pp->bail)
            ok = pf_merge_best(pp, &u, &br);
        pf_and_free(&br);
    }
    if (ok && !pp->bail && u.n > 0)
    {
        if (pf_and_push(out, &u) < 0)
            pp->bail = 1;
    }
    pf_lits_free(&u);
}

static uint32_t
pf_hash(unsigned char a, unsigned char b, unsigned char c)
{
    uint32_t t = ((uint32_t) a << 16) | ((uint32_t) b << 8) | c;

    return (t * 2654435761u) >> (32 - PF_BITS);
}

static uint32_t
pf_hash2(unsigned char a, unsigned char b)
{
    uint32_t t = ((uint32_t) a << 8) | b;

    return (t * 2246822519u) >> (32 - PF_BI_BITS);
}

/* The agent's n-gram bitmaps. */
typedef struct pf_grams
{
    uint64_t tri[PF_WORDS];
    uint64_t bi[PF_BI_WORDS];
} pf_grams;

/*
 * Build the prefilter program of a pattern, or NULL (no usable literal,
 * unknown syntax or out of memory: the regex is then always run).
 * Program: nclauses, then per clause: nlits, clause length (words after
 * this header), then per literal: ntri, the trigram hashes (a two-byte
 * literal: ntri = 1 and its bigram hash | PF_BIGRAM).
 */
static uint32_t *
pf_build(const char *pattern)
{
    pf_parser pp;
    pf_and top;
    size_t words = 1, i, j, k, nclauses;
    uint32_t *prog, *w;

    memset(&pp, 0, sizeof(pp));
    memset(&top, 0, sizeof(top));
    pp.p = pattern;
    pf_alt(&pp, &top);
    if (pp.bail || pattern[pp.pos] != '\0' || top.n == 0)
    {
        pf_and_free(&top);
        return NULL;
    }
    /* cheapest clauses first (fewest literals), keep PF_MAX_CLAUSES */
    for (i = 1; i < top.n; i++)
        for (j = i; j > 0 && top.c[j].n < top.c[j - 1].n; j--)
        {
            pf_lits t = top.c[j];

            top.c[j] = top.c[j - 1];
            top.c[j - 1] = t;
        }
    nclauses = top.n < PF_MAX_CLAUSES ? top.n : PF_MAX_CLAUSES;
    for (i = 0; i < nclauses; i++)
    {
        words += 2;
        for (j = 0; j < top.c[i].n; j++)
        {
            size_t nt = strlen(top.c[i].s[j]) - 2;

            words += 1 + (nt == 0 ? 1 : nt < PF_MAX_TRI ? nt : PF_MAX_TRI);
        }
    }
    prog = malloc(words * sizeof(*prog));
    if (prog == NULL)
    {
        pf_and_free(&top);
        return NULL;
    }
    w = prog;
    *w++ = (uint32_t) nclauses;
    for (i = 0; i < nclauses; i++)
    {
        uint32_t *len_at;

        *w++ = (uint32_t) top.c[i].n;
        len_at = w++;
        for (j = 0; j < top.c[i].n; j++)
        {
            const unsigned char *s = (const unsigned char *) top.c[i].s[j];
            size_t nt = strlen(top.c[i].s[j]) - 2;

            if (nt == 0)
            {
                *w++ = 1;
                *w++ = PF_BIGRAM | pf_hash2(s[0], s[1]);
                continue;
            }
            if (nt > PF_MAX_TRI)
                nt = PF_MAX_TRI;
            *w++ = (uint32_t) nt;
            for (k = 0; k < nt; k++)
                *w++ = pf_hash(s[k], s[k + 1], s[k + 2]);
        }
        *len_at = (uint32_t) (w - len_at - 1);
    }
    pf_and_free(&top);
    return prog;
}

/* Lower-cased trigrams and bigrams of the subject into the bitmaps. */
static void
pf_bitmap(const char *s, size_t n, pf_grams *g)
{
    size_t i;

    memset(g, 0, sizeof(*g));
    for (i = 0; i + 1 < n; i++)
    {
        unsigned char a = to_lower((unsigned char) s[i]);
        unsigned char b = to_lower((unsigned char) s[i + 1]);
        uint32_t h = pf_hash2(a, b);

        g->bi[h >> 6] |= (uint64_t) 1 << (h & 63);
        if (i + 2 < n)
        {
            h = pf_hash(a, b, to_lower((unsigned char) s[i + 2]));
            g->tri[h >> 6] |= (uint64_t) 1 << (h & 63);
        }
    }
}

/* 0 when the prefilter proves the rule cannot match. */
static int
pf_pass(const uint32_t *w, const pf_grams *g)
{
    uint32_t nclauses, c, l, t;

    if (w == NULL)
        return 1;
    nclauses = *w++;
    for (c = 0; c < nclauses; c++)
    {
        uint32_t nlits = *w++;
        uint32_t len = *w++;
        const uint32_t *end = w + len;
        int found = 0;

        for (l = 0; l < nlits && !found; l++)
        {
            uint32_t nt = *w++;

            for (t = 0; t < nt; t++)
            {
                uint32_t h = w[t];

                if (h & PF_BIGRAM)
                {
                    h &= ~PF_BIGRAM;
                    if (!(g->bi[h >> 6] & ((uint64_t) 1 << (h & 63))))
                        break;
                }
                else if (!(g->tri[h >> 6] & ((uint64_t) 1 << (h & 63))))
                    break;
            }
            found = t == nt;
            w += nt;
        }
        if (!found)
            return 0;
        w = end;
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* the regexes.yaml reader                                              */
/* ------------------------------------------------------------------ */

/* One entry being read: the values we keep (malloc'ed, NULL = absent). */
typedef struct yentry
{
    int    active;      /* an entry has been started */
    int    list;        /* list index, or -1 for a skipped top-level key */
    long   line;        /* line of its "- " */
    char  *regex;
    char  *flag;
    char  *repl[NREPL];
} yentry;

static void
yentry_clear(yentry *e)
{
    int r;

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
    size_t i, o = 0;
    char *buf;

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
                int hi, lo;

                if (++i >= n)
                    break;
                switch (p[i])
                {
                    case '\\': buf[o++] = '\\'; break;
                    case '"':  buf[o++] = '"'; break;
                    case '/':  buf[o++] = '/'; break;
                    case 'n':  buf[o++] = '\n'; break;
                    case 't':  buf[o++] = '\t'; break;
                    case 'r':  buf[o++] = '\r'; break;
                    case 'x':
                        if (i + 2 >= n)
                            goto bad;
                        hi = p[i + 1];
                        lo = p[i + 2];
                        hi = (hi >= '0' && hi <= '9') ? hi - '0' :
                             (to_lower((unsigned char) hi) >= 'a' &&
                              to_lower((unsigned char) hi) <= 'f') ?
                             to_lower((unsigned char) hi) - 'a' + 10 : -1;
                        lo = (lo >= '0' && lo <= '9') ? lo - '0' :
                             (to_lower((unsigned char) lo) >= 'a' &&
                              to_lower((unsigned char) lo) <= 'f') ?
                             to_lower((unsigned char) lo) - 'a' + 10 : -1;
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

static int
add_rule(ua_db *db, yentry *e, char *err, size_t errlen)
{
    ua_list *L = &db->lists[e->list];
    ua_rule *rule;
    int errcode;
    PCRE2_SIZE erroff;
    uint32_t opts = PCRE2_NEVER_UTF | PCRE2_NEVER_UCP;
    uint32_t ncap = 0;
    int r;

    if (e->regex == NULL)
    {
        set_err(err, errlen, "regexes file line %ld: %s entry without regex",
                e->line, list_names[e->list]);
        return -1;
    }
    if (e->flag != NULL)
    {
        if (strcmp(e->flag, "i") != 0)
        {
            set_err(err, errlen, "regexes file line %ld: unknown regex_flag '%s'",
                    e->line, e->flag);
            return -1;
        }
        opts |= PCRE2_CASELESS;
    }
    if (L->n == L->cap)
    {
        size_t ncap2 = L->cap ? L->cap * 2 : 256;
        ua_rule *nr = realloc(L->rules, ncap2 * sizeof(*nr));

        if (nr == NULL)
        {
            set_err(err, errlen, "out of memory");
            return -1;
        }
        L->rules = nr;
        L->cap = ncap2;
    }
    rule = &L->rules[L->n];
    memset(rule, 0, sizeof(*rule));
    rule->code = pcre2_compile((PCRE2_SPTR) e->regex, PCRE2_ZERO_TERMINATED,
                               opts, &errcode, &erroff, NULL);
    if (rule->code == NULL)
    {
        PCRE2_UCHAR msg[160];

        pcre2_get_error_message(errcode, msg, sizeof(msg));
        set_err(err, errlen,
                "regexes file line %ld: %s #%zu: regex does not compile at offset %zu: %s",
                e->line, list_names[e->list], L->n + 1, (size_t) erroff,
                (const char *) msg);
        return -1;
    }
    /* JIT when available; fall back silently to the interpreter.
     * -DUA_NO_JIT: never JIT (for valgrind, which cannot see through JIT
     * code: it reports its reads of the JIT stack as uninitialised). */
#ifdef UA_NO_JIT
    rule->jit = 0;
#else
    rule->jit = pcre2_jit_compile(rule->code, PCRE2_JIT_COMPLETE) == 0;
#endif
    rule->pf = pf_build(e->regex);     /* NULL is fine: always run */
    pcre2_pattern_info(rule->code, PCRE2_INFO_CAPTURECOUNT, &ncap);
    if (ncap + 1 > db->max_pairs)
        db->max_pairs = ncap + 1;
    for (r = 0; r < NREPL; r++)
    {
        rule->repl[r] = e->repl[r];
        e->repl[r] = NULL;
    }
    L->n++;
    return 0;
}

/* Finish the entry being read (compile it into its list). */
static int
flush_entry(ua_db *db, yentry *e, char *err, size_t errlen)
{
    int rc = 0;

    if (e->active && e->list >= 0)
        rc = add_rule(db, e, err, errlen);
    yentry_clear(e);
    return rc;
}

/* Store the value of "key: value" into the entry. */
static int
entry_set(yentry *e, const char *key, size_t keylen, const char *val,
          size_t vallen, long lineno, char *err, size_t errlen)
{
    char **slot = NULL;
    char *v;
    int rc;

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
    FILE *f;
    char *buf = NULL;
    size_t cap = 0, n = 0;

    f = fopen(path, "rb");
    if (f == NULL)
    {
        set_err(err, errlen, "cannot open regexes file \"%s\"", path);
        return NULL;
    }
    for (;;)
    {
        size_t got;

        if (cap - n < 65536)
        {
            char *nb;

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
    ua_db *db;
    char *text;
    size_t textlen, pos = 0;
    long lineno = 0;
    int cur_list = -1;
    int seen_top = 0;
    yentry e;
    int l;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (regexes_yaml_path == NULL)
    {
        set_err(err, errlen, "no regexes file given");
        return NULL;
    }
    memset(&e, 0, sizeof(e));
    db = calloc(1, sizeof(*db));
    if (db == NULL)
    {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    db->mctx = pcre2_match_context_create(NULL);
    if (db->mctx == NULL)
    {
        set_err(err, errlen, "out of memory");
        goto fail_db;
    }
    pcre2_set_match_limit(db->mctx, UA_MATCH_LIMIT);
    pcre2_set_depth_limit(db->mctx, UA_DEPTH_LIMIT);

    text = read_file(regexes_yaml_path, &textlen, err, errlen);
    if (text == NULL)
        goto fail_db;
    if (textlen >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;                /* UTF-8 byte order mark */

    while (pos < textlen)
    {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', textlen - pos);
        size_t n = nl ? (size_t) (nl - line) : textlen - pos;
        size_t ind = 0, k;
        const char *p;
        size_t rest;

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
            size_t after;

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
                if ((size_t) (colon - p) == strlen(list_names[l]) &&
                    memcmp(p, list_names[l], (size_t) (colon - p)) == 0)
                    cur_list = l;
            if (cur_list >= 0 && db->lists[cur_list].n > 0)
            {
                set_err(err, errlen, "regexes file line %ld: list %s appears twice",
                        lineno, list_names[cur_list]);
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
            char c = p[k];

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
            size_t vl = rest - k - 1;

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
                    list_names[l]);
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

/* ------------------------------------------------------------------ */
/* matching                                                             */
/* ------------------------------------------------------------------ */

/* Span of capture group g, or NULL (group absent or unset). */
static const char *
group(const char *subj, const PCRE2_SIZE *ov, int rc, int g, size_t *n)
{
    if (g < 1 || g >= rc || ov[2 * g] == PCRE2_UNSET)
    {
        *n = 0;
        return NULL;
    }
    *n = ov[2 * g + 1] - ov[2 * g];
    return subj + ov[2 * g];
}

/*
 * Expand a replacement template into tmp (capacity cap, truncated).
 * only_1: browser-family semantics (only "$1" is substituted); otherwise
 * "$0".."$9" are.  Returns the length written (tmp is not terminated).
 */
static size_t
expand(const char *tmpl, const char *subj, const PCRE2_SIZE *ov, int rc,
       int only_1, char *tmp, size_t cap)
{
    size_t o = 0;
    const char *t;

    for (t = tmpl; *t != '\0'; t++)
    {
        if (t[0] == '$' && t[1] >= '0' && t[1] <= '9' &&
            (!only_1 || t[1] == '1'))
        {
            size_t gn;
            const char *gs = group(subj, ov, rc, t[1] - '0', &gn);

            if (gs != NULL)
            {
                if (gn > cap - o)
                    gn = cap - o;
                memcpy(tmp + o, gs, gn);
                o += gn;
            }
            t++;
            continue;
        }
        if (o < cap)
            tmp[o++] = *t;
    }
    return o;
}

/*
 * Evaluate replacement slot r of a matched rule into dst.  dflt_group: the
 * template used when the entry has none ("$1" as group 1, or 0 for "none").
 * Returns 1 when the value is non-empty, else 0 (dst = "").
 */
static int
fill(char *dst, const ua_rule *rule, int r, int dflt_group, int only_1,
     int trim, const char *subj, const PCRE2_SIZE *ov, int rc)
{
    char tmp[512];
    const char *s = tmp;
    size_t n;

    if (rule->repl[r] != NULL)
        n = expand(rule->repl[r], subj, ov, rc, only_1, tmp, sizeof(tmp));
    else if (dflt_group > 0)
    {
        s = group(subj, ov, rc, dflt_group, &n);
        if (s == NULL)
            n = 0;
    }
    else
        n = 0;
    if (trim)
        trim_span(&s, &n);
    if (n == 0)
    {
        dst[0] = '\0';
        return 0;
    }
    copy_utf8(dst, UA_FIELD_LEN, s, n, 0);
    return dst[0] != '\0';
}

/* Run one rule; > 0 on a match (the pcre2 return code), else <= 0. */
static int
run_rule(const ua_db *db, const ua_rule *rule, const char *subj, size_t n,
         pcre2_match_data *md)
{
    int rc;

    if (rule->jit)
        rc = pcre2_jit_match(rule->code, (PCRE2_SPTR) subj, n, 0, 0, md,
                             db->mctx);
    else
        rc = pcre2_match(rule->code, (PCRE2_SPTR) subj, n, 0, 0, md,
                         db->mctx);
    if (rc == 0)                /* ovector too small: cannot happen, it is */
        rc = (int) pcre2_get_ovector_count(md);     /* sized for all rules */
    return rc;
}

#ifdef UA_VERIFY_PREFILTER
/* Check the prefilter: no rule it rejects may match (abort() if one does). */
static void
pf_verify(const ua_db *db, const char *subj, size_t n, const pf_grams *g)
{
    pcre2_match_data *md = pcre2_match_data_create(db->max_pairs, NULL);
    int l;
    size_t i;

    if (md == NULL)
        return;
    for (l = 0; l < NLISTS; l++)
        for (i = 0; i < db->lists[l].n; i++)
            if (!pf_pass(db->lists[l].rules[i].pf, g) &&
                run_rule(db, &db->lists[l].rules[i], subj, n, md) > 0)
            {
                fprintf(stderr, "useragent: prefilter rejected a matching regex (%s #%zu)\n",
                        list_names[l], i + 1);
                abort();
            }
    pcre2_match_data_free(md);
}
#endif

/* First rule of list l that matches subj[0..n); -1 when none. */
static long
first_match(const ua_db *db, int l, const char *subj, size_t n,
            const pf_grams *g, pcre2_match_data *md, int *rcp)
{
    const ua_list *L = &db->lists[l];
    size_t i;

    for (i = 0; i < L->n; i++)
    {
        const ua_rule *rule = &L->rules[i];
        int rc;

        if (!pf_pass(rule->pf, g))
            continue;
        rc = run_rule(db, rule, subj, n, md);
        if (rc > 0)
        {
            *rcp = rc;
            return (long) i;
        }
        /* PCRE2_ERROR_NOMATCH, or a limit / error: no match */
    }
    return -1;
}

static void
raw_other(ua_raw *out)
{
    strcpy(out->browser_family, "Other");
    strcpy(out->os_family, "Other");
    strcpy(out->device_family, "Other");
    out->device_brand[0] = '\0';
    out->device_model[0] = '\0';
}

int
ua_parse_raw(const ua_db *db, const char *ua, size_t len, ua_raw *out)
{
    pcre2_match_data *md;
    const PCRE2_SIZE *ov;
    pf_grams g;
    size_t n;
    long i;
    int rc;

    if (out == NULL)
        return -1;
    raw_other(out);
    if (db == NULL || (ua == NULL && len > 0))
        return -1;
    n = effective_len(ua, len);
    if (ua == NULL)
        ua = "";
    md = pcre2_match_data_create(db->max_pairs, NULL);
    if (md == NULL)
        return -1;
    ov = pcre2_get_ovector_pointer(md);
    pf_bitmap(ua, n, &g);
#ifdef UA_VERIFY_PREFILTER
    pf_verify(db, ua, n, &g);
#endif

    /* browser: family_replacement with "$1" only, untrimmed */
    i = first_match(db, LIST_UA, ua, n, &g, md, &rc);
    if (i >= 0 &&
        !fill(out->browser_family, &db->lists[LIST_UA].rules[i], R_FAMILY, 1,
              1, 0, ua, ov, rc))
        strcpy(out->browser_family, "Other");

    /* OS: os_replacement with $0..$9, trimmed */
    i = first_match(db, LIST_OS, ua, n, &g, md, &rc);
    if (i >= 0 &&
        !fill(out->os_family, &db->lists[LIST_OS].rules[i], R_FAMILY, 1, 0, 1,
              ua, ov, rc))
        strcpy(out->os_family, "Other");

    /* device: family (default $1), brand (default none), model (default $1) */
    i = first_match(db, LIST_DEVICE, ua, n, &g, md, &rc);
    if (i >= 0)
    {
        const ua_rule *rule = &db->lists[LIST_DEVICE].rules[i];

        if (!fill(out->device_family, rule, R_FAMILY, 1, 0, 1, ua, ov, rc))
            strcpy(out->device_family, "Other");
        fill(out->device_brand, rule, R_BRAND, 0, 0, 1, ua, ov, rc);
        fill(out->device_model, rule, R_MODEL, 1, 0, 1, ua, ov, rc);
    }
    pcre2_match_data_free(md);
    return 0;
}

/* ------------------------------------------------------------------ */
/* FOLDING TABLE                                                        */
/* ------------------------------------------------------------------ */

/*
 * Raw ua-parser family -> data-model value (README).  The first row that matches
 * wins (rows are tried in order): FOLD_EXACT compares the whole family,
 * FOLD_PREFIX its beginning (case-sensitive, as ua-parser spells them).
 * A family that no row matches is lower-cased (ASCII letters only) and
 * trimmed: "Yandex Browser" -> "yandex browser", "UC Browser" ->
 * "uc browser", "Googlebot" -> "googlebot".  "Other" and "" -> "unknown".
 *
 * Browser:
 *   Chrome, Chrome Mobile, Chrome Mobile iOS, Chrome Mobile WebView,
 *   Chrome Frame, Chromium                          -> chrome
 *   HeadlessChrome                                  -> headless chrome
 *   Firefox* (Firefox Mobile, Firefox iOS, Firefox Beta, Firefox Alpha,
 *   "Firefox (Minefield)", ...), Fennec             -> firefox
 *   Safari, Mobile Safari, Mobile Safari UI/WKWebView (iOS in-app web
 *   views and the native AppleCoreMedia player), MobileSafari -> safari
 *   Edge, Edge Mobile                               -> edge
 *   Opera* (Opera Mini, Opera Mobile, Opera Tablet, Opera Coast,
 *   Opera Neon, ...)                                -> opera
 *   Samsung Internet                                -> samsung internet
 *   IE, IE Mobile, IE Large Screen                  -> internet explorer
 *   Android (the pre-Chrome AOSP browser)           -> android browser
 *   Other                                           -> unknown
 *
 * Operating system:
 *   Windows Phone, Windows Mobile                   -> windows phone
 *   Windows CE                                      -> windows ce
 *   Windows* (every other Windows: ua-parser >= 0.16 reports "Windows",
 *   older versions "Windows 10", "Windows XP", "Windows RT 8.1", ...)
 *                                                   -> windows
 *   Mac OS X                                        -> mac osx
 *   Mac OS (classic, PowerPC)                       -> mac os
 *   iOS                                             -> ios
 *   ATV OS X, tvOS (Apple TV)                       -> tvos
 *   WatchOS                                         -> watchos
 *   Android                                         -> android
 *   Chrome OS                                       -> chrome os
 *   Linux, Ubuntu, Kubuntu, Lubuntu, Xubuntu, Debian, Fedora, Red Hat,
 *   CentOS, SUSE, openSUSE, Slackware, Gentoo, Mandriva, Mageia,
 *   Linux Mint, Arch Linux, PCLinuxOS, Puppy, BackTrack -> linux
 *   Web0S, webOS                                    -> webos
 *   Symbian* (Symbian OS, Symbian^3, Symbian^3 Anna/Belle) -> symbian
 *   Other                                           -> unknown
 *   (others lower-cased: "tizen", "blackberry os", "kaios", "freebsd",
 *   "chromecast", "roku", ...)
 */
typedef enum
{
    FOLD_EXACT,
    FOLD_PREFIX
} fold_kind;

typedef struct fold_row
{
    fold_kind   kind;
    const char *raw;
    const char *folded;
} fold_row;

static const fold_row browser_fold[] = {
    {FOLD_EXACT, "Other", "unknown"},
    {FOLD_EXACT, "Chrome", "chrome"},
    {FOLD_EXACT, "Chrome Mobile", "chrome"},
    {FOLD_EXACT, "Chrome Mobile iOS", "chrome"},
    {FOLD_EXACT, "Chrome Mobile WebView", "chrome"},
    {FOLD_EXACT, "Chrome Frame", "chrome"},
    {FOLD_EXACT, "Chromium", "chrome"},
    {FOLD_EXACT, "HeadlessChrome", "headless chrome"},
    {FOLD_PREFIX, "Firefox", "firefox"},
    {FOLD_EXACT, "Fennec", "firefox"},
    {FOLD_EXACT, "Safari", "safari"},
    {FOLD_EXACT, "Mobile Safari", "safari"},
    {FOLD_EXACT, "Mobile Safari UI/WKWebView", "safari"},
    {FOLD_EXACT, "MobileSafari", "safari"},
    {FOLD_EXACT, "Edge", "edge"},
    {FOLD_EXACT, "Edge Mobile", "edge"},
    {FOLD_PREFIX, "Opera", "opera"},
    {FOLD_EXACT, "Samsung Internet", "samsung internet"},
    {FOLD_EXACT, "IE", "internet explorer"},
    {FOLD_EXACT, "IE Mobile", "internet explorer"},
    {FOLD_EXACT, "IE Large Screen", "internet explorer"},
    {FOLD_EXACT, "Android", "android browser"},
};

static const fold_row os_fold[] = {
    {FOLD_EXACT, "Other", "unknown"},
    {FOLD_EXACT, "Windows Phone", "windows phone"},
    {FOLD_EXACT, "Windows Mobile", "windows phone"},
    {FOLD_EXACT, "Windows CE", "windows ce"},
    {FOLD_PREFIX, "Windows", "windows"},
    {FOLD_EXACT, "Mac OS X", "mac osx"},
    {FOLD_EXACT, "Mac OS", "mac os"},
    {FOLD_EXACT, "iOS", "ios"},
    {FOLD_EXACT, "ATV OS X", "tvos"},
    {FOLD_EXACT, "tvOS", "tvos"},
    {FOLD_EXACT, "WatchOS", "watchos"},
    {FOLD_EXACT, "Android", "android"},
    {FOLD_EXACT, "Chrome OS", "chrome os"},
    {FOLD_EXACT, "Linux", "linux"},
    {FOLD_EXACT, "Ubuntu", "linux"},
    {FOLD_EXACT, "Kubuntu", "linux"},
    {FOLD_EXACT, "Lubuntu", "linux"},
    {FOLD_EXACT, "Xubuntu", "linux"},
    {FOLD_EXACT, "Debian", "linux"},
    {FOLD_EXACT, "Fedora", "linux"},
    {FOLD_EXACT, "Red Hat", "linux"},
    {FOLD_EXACT, "CentOS", "linux"},
    {FOLD_EXACT, "SUSE", "linux"},
    {FOLD_EXACT, "openSUSE", "linux"},
    {FOLD_EXACT, "Slackware", "linux"},
    {FOLD_EXACT, "Gentoo", "linux"},
    {FOLD_EXACT, "Mandriva", "linux"},
    {FOLD_EXACT, "Mageia", "linux"},
    {FOLD_EXACT, "Linux Mint", "linux"},
    {FOLD_EXACT, "Arch Linux", "linux"},
    {FOLD_EXACT, "PCLinuxOS", "linux"},
    {FOLD_EXACT, "Puppy", "linux"},
    {FOLD_EXACT, "BackTrack", "linux"},
    {FOLD_EXACT, "Web0S", "webos"},
    {FOLD_EXACT, "webOS", "webos"},
    {FOLD_PREFIX, "Symbian", "symbian"},
};

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

static const char *
fold_family(const fold_row *rows, size_t nrows, const char *family,
            char *buf, size_t buflen)
{
    const char *s;
    size_t n, i;

    if (family == NULL)
        return "unknown";
    s = family;
    n = strlen(family);
    trim_span(&s, &n);
    if (n == 0)
        return "unknown";
    for (i = 0; i < nrows; i++)
    {
        size_t rl = strlen(rows[i].raw);

        if (rows[i].kind == FOLD_EXACT ? (rl == n && memcmp(s, rows[i].raw, n) == 0)
                                       : (rl <= n && memcmp(s, rows[i].raw, rl) == 0))
            return rows[i].folded;
    }
    if (buf == NULL || buflen < 2)
        return "unknown";
    copy_utf8(buf, buflen, s, n, 1);
    return buf[0] != '\0' ? buf : "unknown";
}

const char *
ua_fold_browser(const char *family, char *buf, size_t buflen)
{
    return fold_family(browser_fold, NROWS(browser_fold), family, buf, buflen);
}

const char *
ua_fold_os(const char *family, char *buf, size_t buflen)
{
    return fold_family(os_fold, NROWS(os_fold), family, buf, buflen);
}

/* ------------------------------------------------------------------ */
/* DEVICE TYPE RULES                                                    */
/* ------------------------------------------------------------------ */

/*
 * From the raw ua-parser result (device family/brand/model, OS and browser
 * family) and the agent itself (same NUL / UA_MAX_INPUT handling as the
 * matching).  The first rule that applies wins.  "UA has X" means the agent
 * contains X, case-sensitively.
 *
 *  1 unknown   the agent is empty or only white space; ua-parser device
 *              family "Spider" (its bot list: Googlebot, bingbot, ...); a
 *              browser family containing "bot", "spider" or "crawler" in any
 *              case (YandexBot, FacebookBot, ...)
 *  2 wearable  device family or model containing "Watch" (Apple Watch,
 *              Pixel Watch, Galaxy Watch); OS WatchOS; UA has "watchOS",
 *              "Wear OS", "WearOS" or "SmartWatch"; UA has "Tizen" and a
 *              Samsung watch model "SM-R"
 *  3 console   UA has "PlayStation", "PLAYSTATION", "Playstation", "Xbox",
 *              "XBOX" or "Nintendo"; device brand Nintendo; device family
 *              starting with "PlayStation" or "Nintendo"
 *  4 tv        UA has, in any case, "smart-tv", "smarttv", "smart tv",
 *              "hbbtv", "netcast", "web0s", "appletv", "apple tv",
 *              "android tv", "androidtv", "googletv", "google tv",
 *              "crkey", "chromecast", "philipstv", "nettv" (also InettvBrowser,
 *              TSBNetTV), "tizen tv", "tv safari", "opera tv"; UA has "Roku",
 *              "tvOS", "BRAVIA", "VIDAA", "MiTV", "MIBOX", "TiVo" or an
 *              Amazon Fire TV model (" AFT" or ";AFT" followed by an
 *              upper-case letter: AFTMM, AFTKA, ...); OS ATV OS X, tvOS,
 *              Chromecast,
 *              Roku, GoogleTV, WebTV, FireHbbTV, Web0S; device family
 *              AppleTV, Inettv, HbbTV, Roku; device brand Generic_Inettv
 *  5 tablet    device family or model starting with "iPad", or UA has
 *              "iPad"; device family "Generic Tablet" or brand
 *              Generic_Android_Tablet; device family starting with "Kindle"
 *              (Kindle Fire / e-readers); UA has "PlayBook"; OS BlackBerry
 *              Tablet OS; UA has "Tablet" and the OS is not Windows (old
 *              desktop IE says "Tablet PC"); OS Android, a browser agent
 *              (UA has "Mozilla/" or "Opera/") without "Mobi" or "Opera Mini"
 *              (Chrome and Samsung Internet on tablets omit "Mobile"); OS
 *              Android, an app agent (Dalvik, okhttp, players:
 *              no "Mozilla/") whose device family or model contains "Tab" or
 *              "Pad"
 *  6 phone     device family or model starting with "iPhone" or "iPod", or
 *              UA has "iPhone" or "iPod"; device brand Generic with model
 *              Smartphone or Feature Phone; OS Android (every Android agent
 *              rule 5 did not take); OS iOS (not an iPad); OS Windows Phone,
 *              Windows Mobile, Windows CE, BlackBerry OS, KaiOS, Firefox OS,
 *              Sailfish, Bada, MeeGo, Maemo, Tizen, webOS, BREW, Brew MP,
 *              Nokia Series 40, Nokia Series 30 Plus, or starting with
 *              "Symbian"; UA has "Mobi" or "Opera Mini"
 *  7 computer  folded OS windows, mac osx, mac os, linux, chrome os,
 *              freebsd, openbsd, netbsd, bsd, solaris; device family "Mac"
 *  8 unknown   anything else (curl, python-requests, unidentified apps,
 *              garbage)
 *
 * Known limits: iPadOS in "desktop mode" says Macintosh (computer); Android
 * TV devices whose agent names no TV token look like phones or tablets;
 * Android app agents without a tablet-looking model are phones.
 */

/* Does s[0..n) contain lit (case-sensitive)? */
static int
has_lit(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    const char *p = s, *end = s + n;

    if (m == 0)
        return 1;
    while ((size_t) (end - p) >= m)
    {
        p = memchr(p, lit[0], (size_t) (end - p) - m + 1);
        if (p == NULL)
            return 0;
        if (memcmp(p, lit, m) == 0)
            return 1;
        p++;
    }
    return 0;
}

static int
has_any(const char *s, size_t n, const char *const *lits)
{
    for (; *lits != NULL; lits++)
        if (has_lit(s, n, *lits))
            return 1;
    return 0;
}

static int
str_in(const char *s, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

static int
starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int
contains(const char *s, const char *lit)
{
    return strstr(s, lit) != NULL;
}

/* Amazon Fire TV model in the agent: " AFT" or ";AFT" + upper-case letter. */
static int
has_fire_tv(const char *s, size_t n)
{
    size_t i;

    for (i = 1; i + 4 <= n; i++)
        if (s[i] == 'A' && s[i + 1] == 'F' && s[i + 2] == 'T' &&
            (s[i - 1] == ' ' || s[i - 1] == ';') &&
            s[i + 3] >= 'A' && s[i + 3] <= 'Z')
            return 1;
    return 0;
}

static const char *const tv_tokens_ci[] = {   /* lower case: any case */
    "smart-tv", "smarttv", "smart tv", "hbbtv", "netcast", "web0s",
    "appletv", "apple tv", "android tv", "androidtv", "googletv",
    "google tv", "crkey", "chromecast", "philipstv", "nettv", "tizen tv",
    "tv safari", "opera tv", NULL
};
static const char *const tv_tokens[] = {        /* case-sensitive */
    "Roku", "tvOS", "BRAVIA", "VIDAA", "MiTV", "MIBOX", "TiVo", NULL
};
static const char *const tv_os[] = {
    "ATV OS X", "tvOS", "Chromecast", "Roku", "GoogleTV", "WebTV",
    "FireHbbTV", "Web0S", NULL
};
static const char *const tv_device[] = {
    "AppleTV", "Inettv", "HbbTV", "Roku", NULL
};
static const char *const console_tokens[] = {
    "PlayStation", "PLAYSTATION", "Playstation", "Xbox", "XBOX", "Nintendo",
    NULL
};
static const char *const wearable_tokens[] = {
    "watchOS", "Wear OS", "WearOS", "SmartWatch", NULL
};
static const char *const phone_os[] = {
    "iOS", "Windows Phone", "Windows Mobile", "Windows CE", "BlackBerry OS",
    "KaiOS", "Firefox OS", "Sailfish", "Bada", "MeeGo", "Maemo", "Tizen",
    "webOS", "BREW", "Brew MP", "Nokia Series 40", "Nokia Series 30 Plus",
    NULL
};
static const char *const computer_os[] = {
    "windows", "mac osx", "mac os", "linux", "chrome os", "freebsd",
    "openbsd", "netbsd", "bsd", "solaris", NULL
};
static const char *const bot_words_ci[] = {"bot", "spider", "crawler", NULL};

const char *
ua_device_type(const ua_raw *raw, const char *ua, size_t len)
{
    size_t n = effective_len(ua, len);
    const char *s = ua;
    const char *fam, *brand, *model, *os;
    char osbuf[UA_FIELD_LEN];
    char lower[UA_MAX_INPUT];   /* the agent, ASCII-lower-cased */
    char fam_lower[UA_FIELD_LEN];
    const char *osf;
    int android, browser_agent, mobi;
    size_t i;

    if (raw == NULL)
        return "unknown";
    if (s == NULL)
        s = "";
    trim_span(&s, &n);
    fam = raw->device_family;
    brand = raw->device_brand;
    model = raw->device_model;
    os = raw->os_family;
    for (i = 0; i < n; i++)
        lower[i] = (char) to_lower((unsigned char) s[i]);
    for (i = 0; raw->browser_family[i] != '\0' && i + 1 < sizeof(fam_lower); i++)
        fam_lower[i] = (char) to_lower((unsigned char) raw->browser_family[i]);
    fam_lower[i] = '\0';

    /* 1 bots and empty agents */
    if (n == 0 || strcmp(fam, "Spider") == 0 ||
        has_any(fam_lower, strlen(fam_lower), bot_words_ci))
        return "unknown";

    /* 2 wearables */
    if (contains(fam, "Watch") || contains(model, "Watch") ||
        strcmp(os, "WatchOS") == 0 || has_any(s, n, wearable_tokens) ||
        (has_lit(s, n, "Tizen") && has_lit(s, n, "SM-R")))
        return "wearable";

    /* 3 consoles */
    if (has_any(s, n, console_tokens) || strcmp(brand, "Nintendo") == 0 ||
        starts(fam, "PlayStation") || starts(fam, "Nintendo"))
        return "console";

    /* 4 TVs and TV boxes */
    if (has_any(lower, n, tv_tokens_ci) || has_any(s, n, tv_tokens) ||
        has_fire_tv(s, n) ||
        str_in(os, tv_os) || str_in(fam, tv_device) ||
        strcmp(brand, "Generic_Inettv") == 0)
        return "tv";

    /* 5 tablets */
    android = strcmp(os, "Android") == 0;
    browser_agent = has_lit(s, n, "Mozilla/") || has_lit(s, n, "Opera/");
    mobi = has_lit(s, n, "Mobi") || has_lit(s, n, "Opera Mini");
    if (starts(fam, "iPad") || starts(model, "iPad") ||
        has_lit(s, n, "iPad") ||
        strcmp(fam, "Generic Tablet") == 0 ||
        strcmp(brand, "Generic_Android_Tablet") == 0 ||
        starts(fam, "Kindle") || has_lit(s, n, "PlayBook") ||
        strcmp(os, "BlackBerry Tablet OS") == 0 ||
        (has_lit(s, n, "Tablet") && !starts(os, "Windows")) ||
        (android && browser_agent && !mobi) ||
        (android && !browser_agent &&
         (contains(fam, "Tab") || contains(fam, "Pad") ||
          contains(model, "Tab") || contains(model, "Pad"))))
        return "tablet";

    /* 6 phones */
    if (starts(fam, "iPhone") || starts(fam, "iPod") ||
        starts(model, "iPhone") || starts(model, "iPod") ||
        has_lit(s, n, "iPhone") || has_lit(s, n, "iPod") ||
        (strcmp(brand, "Generic") == 0 &&
         (strcmp(model, "Smartphone") == 0 ||
          strcmp(model, "Feature Phone") == 0)) ||
        android || str_in(os, phone_os) || starts(os, "Symbian") || mobi)
        return "phone";

    /* 7 computers */
    osf = ua_fold_os(os, osbuf, sizeof(osbuf));
    if (str_in(osf, computer_os) || strcmp(fam, "Mac") == 0)
        return "computer";

    /* 8 */
    return "unknown";
}

int
ua_fold(const ua_raw *raw, const char *ua, size_t len, ua_result *out,
        char *buf, size_t buflen)
{
    if (out == NULL)
        return -1;
    out->device_type = "unknown";
    out->operating_system = "unknown";
    out->browser = "unknown";
    if (raw == NULL || (ua == NULL && len > 0) || buf == NULL ||
        buflen < UA_PARSE_BUFLEN)
        return -1;
    out->browser = ua_fold_browser(raw->browser_family, buf, UA_FIELD_LEN);
    out->operating_system = ua_fold_os(raw->os_family, buf + UA_FIELD_LEN,
                                       UA_FIELD_LEN);
    out->device_type = ua_device_type(raw, ua, len);
    return 0;
}

int
ua_parse(const ua_db *db, const char *ua, size_t len, ua_result *out,
         char *buf, size_t buflen)
{
    ua_raw raw;

    if (out == NULL)
        return -1;
    out->device_type = "unknown";
    out->operating_system = "unknown";
    out->browser = "unknown";
    if (buf == NULL || buflen < UA_PARSE_BUFLEN)
        return -1;
    if (ua_parse_raw(db, ua, len, &raw) != 0)
        return -1;
    return ua_fold(&raw, ua, len, out, buf, buflen);
}
