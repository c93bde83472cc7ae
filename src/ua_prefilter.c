/*
 * ua_prefilter.c - the literal prefilter of the user-agent parser's regexes
 * (see ua_internal.h; the parser's API is useragent.h).
 *
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
 *
 * Plain C99 + libc, no PostgreSQL.
 */
#include "ua_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PF_MIN_LIT 2
#define PF_MAX_LITS 1024        /* literals in one clause */
#define PF_MAX_TRI 32           /* trigrams kept per literal */
#define PF_MAX_CLAUSES 8
#define PF_MAX_DEPTH 32
#define PF_MAX_RUN 128

typedef struct pf_lits          /* OR of literals */
{
    char      **s;
    size_t      n;
    size_t      cap;
} pf_lits;

typedef struct pf_and           /* AND of clauses */
{
    pf_lits    *c;
    size_t      n;
    size_t      cap;
} pf_and;

typedef struct pf_parser
{
    const char *p;
    size_t      pos;
    int         bail;           /* unknown construct or out of memory */
    int         depth;
} pf_parser;

static void
pf_lits_free(pf_lits *l)
{
    size_t      i;

    for (i = 0; i < l->n; i++)
        free(l->s[i]);
    free(l->s);
    memset(l, 0, sizeof(*l));
}

static void
pf_and_free(pf_and *a)
{
    size_t      i;

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
        size_t      nc = l->cap ? l->cap * 2 : 4;
        char      **ns = realloc(l->s, nc * sizeof(*ns));

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
        size_t      nc = a->cap ? a->cap * 2 : 4;
        pf_lits    *ns = realloc(a->c, nc * sizeof(*ns));

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
    long        best = -1;
    size_t      bmin = 0,
                bn = 0,
                i,
                j;

    for (i = 0; i < a->n; i++)
    {
        size_t      mn = (size_t) -1;

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
        pf_lits     l;
        char       *s = dup_n(run, *rl);

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
    char        run[PF_MAX_RUN];
    size_t      rl = 0;

    enum
    {
        A_LIT, A_OTHER, A_ZERO, A_GROUP
    }           kind;

    while (!pp->bail)
    {
        char        c = p[pp->pos];
        char        lit = 0;
        unsigned long min = 1;
        int         quant = 0;
        pf_and      grp;

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
                    pp->bail = 1;   /* verbs */
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
                    char        d = p[pp->pos];

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
                    char        e = p[pp->pos + 1];

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
            size_t      q = pp->pos + 1;
            unsigned long lo = 0;
            int         digits = 0;

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
                    size_t      i;

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
    long        b = pf_best(br);
    size_t      j;

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
    pf_and      br;
    pf_lits     u;
    int         ok;

    memset(&br, 0, sizeof(br));
    memset(&u, 0, sizeof(u));
    pf_seq(pp, &br);
    if (pp->bail || pp->p[pp->pos] != '|')
    {
        size_t      i;

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
    uint32_t    t = ((uint32_t) a << 16) | ((uint32_t) b << 8) | c;

    return (t * 2654435761u) >> (32 - PF_BITS);
}

static uint32_t
pf_hash2(unsigned char a, unsigned char b)
{
    uint32_t    t = ((uint32_t) a << 8) | b;

    return (t * 2246822519u) >> (32 - PF_BI_BITS);
}

/*
 * Build the prefilter program of a pattern, or NULL (no usable literal,
 * unknown syntax or out of memory: the regex is then always run).
 * Program: nclauses, then per clause: nlits, clause length (words after
 * this header), then per literal: ntri, the trigram hashes (a two-byte
 * literal: ntri = 1 and its bigram hash | PF_BIGRAM).
 */
uint32_t *
ua_pf_build(const char *pattern)
{
    pf_parser   pp;
    pf_and      top;
    size_t      words = 1,
                i,
                j,
                k,
                nclauses;
    uint32_t   *prog,
               *w;

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
            pf_lits     t = top.c[j];

            top.c[j] = top.c[j - 1];
            top.c[j - 1] = t;
        }
    nclauses = top.n < PF_MAX_CLAUSES ? top.n : PF_MAX_CLAUSES;
    for (i = 0; i < nclauses; i++)
    {
        words += 2;
        for (j = 0; j < top.c[i].n; j++)
        {
            size_t      nt = strlen(top.c[i].s[j]) - 2;

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
        uint32_t   *len_at;

        *w++ = (uint32_t) top.c[i].n;
        len_at = w++;
        for (j = 0; j < top.c[i].n; j++)
        {
            const unsigned char *s = (const unsigned char *) top.c[i].s[j];
            size_t      nt = strlen(top.c[i].s[j]) - 2;

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
void
ua_pf_bitmap(const char *s, size_t n, pf_grams *g)
{
    size_t      i;

    memset(g, 0, sizeof(*g));
    for (i = 0; i + 1 < n; i++)
    {
        unsigned char a = to_lower((unsigned char) s[i]);
        unsigned char b = to_lower((unsigned char) s[i + 1]);
        uint32_t    h = pf_hash2(a, b);

        g->bi[h >> 6] |= (uint64_t) 1 << (h & 63);
        if (i + 2 < n)
        {
            h = pf_hash(a, b, to_lower((unsigned char) s[i + 2]));
            g->tri[h >> 6] |= (uint64_t) 1 << (h & 63);
        }
    }
}
