/*
 * ua_internal.h - internals shared by the files of the user-agent parser;
 * not part of its API (that is useragent.h):
 *
 *   useragent.c     the rule database, matching, folding, device types
 *   ua_yaml.c       the regexes.yaml reader (ua_db_load)
 *   ua_prefilter.c  the literal prefilter of the regexes
 *
 * Plain C99 + libc + PCRE2 (8-bit), no PostgreSQL.
 */
#ifndef UA_INTERNAL_H
#define UA_INTERNAL_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif

#include "useragent.h"
#include "parseutil.h"

#include <pcre2.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* "user_agent_parsers", "os_parsers", "device_parsers" */
extern const char *const ua_list_names[NLISTS];

/* replacement slots of a rule */
enum
{
    R_FAMILY = 0,               /* family_replacement / os_replacement /
                                 * device_replacement */
    R_BRAND,                    /* brand_replacement (device list only) */
    R_MODEL,                    /* model_replacement (device list only) */
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
    ua_rule    *rules;
    size_t      n;
    size_t      cap;
} ua_list;

struct ua_db
{
    ua_list     lists[NLISTS];
    pcre2_match_context *mctx;
    uint32_t    max_pairs;      /* largest ovector needed */
};

/* An empty database with its match context (useragent.c); NULL and err set
 * when out of memory. */
extern ua_db *ua_db_new(char *err, size_t errlen);

/*
 * Compile one regexes.yaml entry into list `list` of db (useragent.c).
 * regex: the pattern; flag: NULL or the regex_flag value ("i"); repl: the
 * NREPL replacement strings (malloc'ed or NULL), taken over by the rule on
 * success (set to NULL); line: its line in the file, for messages.
 * Returns 0, or -1 with err set.
 */
extern int  ua_db_add_rule(ua_db *db, int list, const char *regex,
                           const char *flag, char **repl, long line,
                           char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* the literal prefilter (ua_prefilter.c)                               */
/* ------------------------------------------------------------------ */

#define PF_BITS 13              /* trigram bitmap: 2^13 bits (1 kB) */
#define PF_WORDS ((1u << PF_BITS) / 64)
#define PF_BI_BITS 12           /* bigram bitmap: 2^12 bits */
#define PF_BI_WORDS ((1u << PF_BI_BITS) / 64)
#define PF_BIGRAM 0x80000000u   /* program word flag: a bigram */

/* The agent's n-gram bitmaps. */
typedef struct pf_grams
{
    uint64_t    tri[PF_WORDS];
    uint64_t    bi[PF_BI_WORDS];
} pf_grams;

/* The prefilter program of a pattern (malloc'ed), or NULL: always run it. */
extern uint32_t *ua_pf_build(const char *pattern);

/* Lower-cased trigrams and bigrams of the subject into the bitmaps. */
extern void ua_pf_bitmap(const char *s, size_t n, pf_grams *g);

/*
 * 0 when the prefilter program w proves the rule cannot match (NULL: no
 * program, always 1).  Inline: it runs for every rule on every agent.
 */
static inline int
ua_pf_pass(const uint32_t *w, const pf_grams *g)
{
    uint32_t    nclauses,
                c,
                l,
                t;

    if (w == NULL)
        return 1;
    nclauses = *w++;
    for (c = 0; c < nclauses; c++)
    {
        uint32_t    nlits = *w++;
        uint32_t    len = *w++;
        const uint32_t *end = w + len;
        int         found = 0;

        for (l = 0; l < nlits && !found; l++)
        {
            uint32_t    nt = *w++;

            for (t = 0; t < nt; t++)
            {
                uint32_t    h = w[t];

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
/* small helpers                                                        */
/* ------------------------------------------------------------------ */

static inline char *
dup_n(const char *s, size_t n)
{
    char       *p = malloc(n + 1);

    if (p != NULL)
    {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Length of the agent that is matched: up to the first NUL, at most
 * UA_MAX_INPUT bytes. */
static inline size_t
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
 * Copy src[0..n) into dst (capacity cap >= 1) as valid UTF-8: invalid bytes
 * and NULs become '?', the copy stops before a character that does not fit.
 * Optionally lower-cases ASCII letters.  Always NUL-terminates.
 */
static inline void
copy_utf8(char *dst, size_t cap, const char *src, size_t n, int lower)
{
    const unsigned char *s = (const unsigned char *) src;
    size_t      i = 0,
                o = 0;

    while (i < n)
    {
        size_t      k = s[i] == 0 ? 0 : utf8_seq_len(s + i, n - i);

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
static inline void
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

#endif                          /* UA_INTERNAL_H */
