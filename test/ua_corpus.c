/*
 * ua_corpus.c - runs the uap-core test corpora through src/useragent.c.
 *
 * Build and run (from the repository root):
 *   gcc -std=c99 -O2 -Wall -Wextra -Werror -Isrc -o /tmp/ua_corpus \
 *       test/ua_corpus.c src/useragent.c -lpcre2-8
 *   /tmp/ua_corpus [-v] [regexes.yaml [uap-core-dir]]
 *
 * Defaults: regexes from $UAP_REGEXES or /usr/share/uap-core/regexes.yaml,
 * corpora from /usr/share/uap-core (Debian package uap-core).  The corpus
 * files are the ones the uap-core reference test (tests/test.js) uses:
 *   browser: tests/test_ua.yaml, test_resources/firefox_user_agent_strings,
 *            pgts_browser_list, opera_mini_user_agent_strings,
 *            podcasting_user_agent_strings (.yaml)
 *   OS:      tests/test_os.yaml, test_resources/additional_os_tests.yaml
 *   device:  tests/test_device.yaml
 * A missing file is reported and skipped.
 *
 * For every case it compares ua_parse_raw()'s family with the corpus family
 * (and, for browser and OS, the folded values: ua_fold_browser/ua_fold_os of
 * both; for devices also brand and model).  A corpus value longer than
 * UA_FIELD_LEN - 1 bytes is compared on its first UA_FIELD_LEN - 1 bytes
 * (the width of the ua_raw fields); those cases are counted apart.
 * Then it times ua_parse() (no cache) over every distinct agent of the
 * corpora, and prints the device types it gives.
 *
 * -v prints every mismatch (default: the first 10 of each kind).
 * Exit status: 1 when the raw or the folded browser share is under 99%,
 * 2 on a setup error (regexes cannot be loaded, no browser corpus), else 0.
 */
#define _POSIX_C_SOURCE 200809L

#include "useragent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct tcase
{
    char *ua;
    char *family;
    char *brand;
    char *model;
} tcase;

typedef struct tset
{
    tcase  *c;
    size_t  n;
    size_t  cap;
} tset;

static int verbose;

static void *
xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);

    if (q == NULL)
    {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return q;
}

static char *
xstrndup(const char *s, size_t n)
{
    char *p = xrealloc(NULL, n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/*
 * A YAML scalar on one line: 'single' ('' = quote), "double" (\\ \" \/
 * escapes), plain (up to " #"), or empty (NULL).
 */
static char *
scalar(const char *p)
{
    char *out, *o;

    while (*p == ' ')
        p++;
    if (*p == '\'' || *p == '"')
    {
        char q = *p++;

        out = o = xrealloc(NULL, strlen(p) + 1);
        for (; *p != '\0'; p++)
        {
            if (*p == q)
            {
                if (q == '\'' && p[1] == '\'')
                {
                    *o++ = '\'';
                    p++;
                    continue;
                }
                break;
            }
            if (q == '"' && *p == '\\' && p[1] != '\0')
                p++;
            *o++ = *p;
        }
        *o = '\0';
        return out;
    }
    {
        size_t n = strcspn(p, "\r\n");
        const char *hash = strstr(p, " #");

        if (hash != NULL && (size_t) (hash - p) < n)
            n = (size_t) (hash - p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        return n ? xstrndup(p, n) : NULL;
    }
}

/* Read "- user_agent_string:" cases with their family/brand/model. */
static int
read_cases(const char *path, tset *set)
{
    FILE *f = fopen(path, "r");
    char line[16384];
    tcase *cur = NULL;
    size_t before = set->n;

    if (f == NULL)
    {
        printf("  (missing: %s)\n", path);
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL)
    {
        char *p = line;
        int dash = 0;

        while (*p == ' ')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\0')
            continue;
        if (p[0] == '-' && p[1] == ' ')
        {
            dash = 1;
            p += 2;
            while (*p == ' ')
                p++;
        }
        if (strncmp(p, "user_agent_string:", 18) == 0)
        {
            if (set->n == set->cap)
            {
                set->cap = set->cap ? set->cap * 2 : 1024;
                set->c = xrealloc(set->c, set->cap * sizeof(tcase));
            }
            cur = &set->c[set->n++];
            memset(cur, 0, sizeof(*cur));
            cur->ua = scalar(p + 18);
            if (cur->ua == NULL)
                cur->ua = xstrndup("", 0);
        }
        else if (dash)
            cur = NULL;
        else if (cur != NULL && strncmp(p, "family:", 7) == 0 && !cur->family)
            cur->family = scalar(p + 7);
        else if (cur != NULL && strncmp(p, "brand:", 6) == 0 && !cur->brand)
            cur->brand = scalar(p + 6);
        else if (cur != NULL && strncmp(p, "model:", 6) == 0 && !cur->model)
            cur->model = scalar(p + 6);
    }
    fclose(f);
    printf("  %-52s %6zu cases\n", path, set->n - before);
    return 0;
}

/* Corpus value compared as it fits a ua_raw field. */
static const char *
fit(const char *s, char *buf, int *cut)
{
    size_t n;

    if (s == NULL)
        s = "";
    n = strlen(s);
    *cut = n > UA_FIELD_LEN - 1;
    if (!*cut)
        return s;
    memcpy(buf, s, UA_FIELD_LEN - 1);
    buf[UA_FIELD_LEN - 1] = '\0';
    return buf;
}

typedef struct tally
{
    const char *name;
    long total;
    long ok;
    long cut;
    long shown;
} tally;

static void
count(tally *t, int ok, int cut, const char *ua, const char *got,
      const char *want)
{
    t->total++;
    if (ok)
        t->ok++;
    if (cut)
        t->cut++;
    if (!ok && (verbose || t->shown < 10))
    {
        t->shown++;
        printf("    %s mismatch: got \"%s\" want \"%s\"  ua: %.200s\n",
               t->name, got, want ? want : "(null)", ua);
    }
}

static double
share(const tally *t)
{
    return t->total ? 100.0 * (double) t->ok / (double) t->total : 0.0;
}

static void
report(const tally *t)
{
    printf("  %-22s %6ld / %6ld = %7.3f%%", t->name, t->ok, t->total,
           share(t));
    if (t->cut)
        printf("  (%ld expected values longer than %d bytes compared truncated)",
               t->cut, UA_FIELD_LEN - 1);
    printf("\n");
}

static double
now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void
free_set(tset *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
    {
        free(s->c[i].ua);
        free(s->c[i].family);
        free(s->c[i].brand);
        free(s->c[i].model);
    }
    free(s->c);
}

int
main(int argc, char **argv)
{
    static const char *const browser_files[] = {
        "tests/test_ua.yaml",
        "test_resources/firefox_user_agent_strings.yaml",
        "test_resources/pgts_browser_list.yaml",
        "test_resources/opera_mini_user_agent_strings.yaml",
        "test_resources/podcasting_user_agent_strings.yaml", NULL
    };
    static const char *const os_files[] = {
        "tests/test_os.yaml", "test_resources/additional_os_tests.yaml", NULL
    };
    static const char *const device_files[] = {"tests/test_device.yaml", NULL};
    const char *regexes = getenv("UAP_REGEXES");
    const char *dir = "/usr/share/uap-core";
    char err[512], path[4096], b1[UA_FIELD_LEN], b2[UA_FIELD_LEN], tb[UA_FIELD_LEN];
    tset bs = {0}, os = {0}, ds = {0};
    tally braw = {"browser raw", 0, 0, 0, 0}, bfold = {"browser folded", 0, 0, 0, 0};
    tally oraw = {"os raw", 0, 0, 0, 0}, ofold = {"os folded", 0, 0, 0, 0};
    tally draw = {"device family raw", 0, 0, 0, 0};
    tally dfull = {"device fam+brand+model", 0, 0, 0, 0};
    static const char *const dtypes[] = {
        "computer", "phone", "tablet", "tv", "console", "wearable", "unknown"
    };
    long dtcount[7] = {0};
    const char **uas;
    size_t nuas = 0, nuniq, i, k;
    ua_db *db;
    ua_raw raw;
    double t0, t1;
    size_t n_ua, n_os, n_dev, n_jit, n_pf;
    int argi = 1, rc = 0, reps;

    if (argi < argc && strcmp(argv[argi], "-v") == 0)
    {
        verbose = 1;
        argi++;
    }
    if (argi < argc)
        regexes = argv[argi++];
    if (argi < argc)
        dir = argv[argi++];
    if (regexes == NULL || regexes[0] == '\0')
        regexes = "/usr/share/uap-core/regexes.yaml";

    t0 = now_sec();
    db = ua_db_load(regexes, err, sizeof(err));
    t1 = now_sec();
    if (db == NULL)
    {
        fprintf(stderr, "ua_corpus: %s\n", err);
        return 2;
    }
    ua_db_stats(db, &n_ua, &n_os, &n_dev, &n_jit, &n_pf);
    printf("regexes: %s: %zu browser, %zu os, %zu device rules (%zu JIT-compiled, %zu prefiltered), loaded in %.3f s\n",
           regexes, n_ua, n_os, n_dev, n_jit, n_pf, t1 - t0);

    printf("corpora:\n");
    for (i = 0; browser_files[i]; i++)
    {
        snprintf(path, sizeof(path), "%s/%s", dir, browser_files[i]);
        read_cases(path, &bs);
    }
    for (i = 0; os_files[i]; i++)
    {
        snprintf(path, sizeof(path), "%s/%s", dir, os_files[i]);
        read_cases(path, &os);
    }
    for (i = 0; device_files[i]; i++)
    {
        snprintf(path, sizeof(path), "%s/%s", dir, device_files[i]);
        read_cases(path, &ds);
    }
    if (bs.n == 0)
    {
        fprintf(stderr, "ua_corpus: no browser corpus under %s\n", dir);
        ua_db_free(db);
        return 2;
    }

    printf("mismatches:\n");
    for (i = 0; i < bs.n; i++)
    {
        const tcase *c = &bs.c[i];
        const char *want = c->family ? c->family : "Other";
        int cut;
        const char *w = fit(want, tb, &cut);
        const char *gf, *wf;

        ua_parse_raw(db, c->ua, strlen(c->ua), &raw);
        count(&braw, strcmp(raw.browser_family, w) == 0, cut, c->ua,
              raw.browser_family, want);
        gf = ua_fold_browser(raw.browser_family, b1, sizeof(b1));
        wf = ua_fold_browser(want, b2, sizeof(b2));
        count(&bfold, strcmp(gf, wf) == 0, 0, c->ua, gf, wf);
    }
    for (i = 0; i < os.n; i++)
    {
        const tcase *c = &os.c[i];
        const char *want = c->family ? c->family : "Other";
        int cut;
        const char *w = fit(want, tb, &cut);
        const char *gf, *wf;

        ua_parse_raw(db, c->ua, strlen(c->ua), &raw);
        count(&oraw, strcmp(raw.os_family, w) == 0, cut, c->ua,
              raw.os_family, want);
        gf = ua_fold_os(raw.os_family, b1, sizeof(b1));
        wf = ua_fold_os(want, b2, sizeof(b2));
        count(&ofold, strcmp(gf, wf) == 0, 0, c->ua, gf, wf);
    }
    for (i = 0; i < ds.n; i++)
    {
        const tcase *c = &ds.c[i];
        const char *want = c->family ? c->family : "Other";
        char bb[UA_FIELD_LEN], mb[UA_FIELD_LEN];
        int cut, cut2, cut3, okfam, okall;
        const char *w = fit(want, tb, &cut);
        const char *wb = fit(c->brand, bb, &cut2);
        const char *wm = fit(c->model, mb, &cut3);

        ua_parse_raw(db, c->ua, strlen(c->ua), &raw);
        okfam = strcmp(raw.device_family, w) == 0;
        okall = okfam && strcmp(raw.device_brand, wb) == 0 &&
                strcmp(raw.device_model, wm) == 0;
        count(&draw, okfam, cut, c->ua, raw.device_family, want);
        count(&dfull, okall, cut || cut2 || cut3, c->ua, raw.device_model,
              c->model);
    }

    printf("match shares:\n");
    report(&braw);
    report(&bfold);
    report(&oraw);
    report(&ofold);
    report(&draw);
    report(&dfull);

    /* throughput of ua_parse() over the distinct agents, no cache */
    uas = xrealloc(NULL, (bs.n + os.n + ds.n + 1) * sizeof(*uas));
    for (i = 0; i < bs.n; i++)
        uas[nuas++] = bs.c[i].ua;
    for (i = 0; i < os.n; i++)
        uas[nuas++] = os.c[i].ua;
    for (i = 0; i < ds.n; i++)
        uas[nuas++] = ds.c[i].ua;
    qsort(uas, nuas, sizeof(*uas), cmp_str);
    for (i = 0, nuniq = 0; i < nuas; i++)
        if (nuniq == 0 || strcmp(uas[i], uas[nuniq - 1]) != 0)
            uas[nuniq++] = uas[i];
    reps = 0;
    t0 = now_sec();
    do
    {
        for (i = 0; i < nuniq; i++)
        {
            ua_result r;
            char buf[UA_PARSE_BUFLEN];

            ua_parse(db, uas[i], strlen(uas[i]), &r, buf, sizeof(buf));
            if (reps == 0)
                for (k = 0; k < 7; k++)
                    if (strcmp(r.device_type, dtypes[k]) == 0)
                        dtcount[k]++;
        }
        reps++;
        t1 = now_sec();
    } while (t1 - t0 < 1.0);
    printf("throughput: ua_parse() on %zu distinct corpus agents x %d: %.0f agents/s (%.1f us/agent, uncached, single thread)\n",
           nuniq, reps, (double) nuniq * reps / (t1 - t0),
           1e6 * (t1 - t0) / ((double) nuniq * reps));
    printf("device types of the distinct agents:");
    for (k = 0; k < 7; k++)
        printf(" %s %ld", dtypes[k], dtcount[k]);
    printf("\n");

    if (share(&braw) < 99.0 || share(&bfold) < 99.0)
    {
        printf("FAIL: browser share under 99%%\n");
        rc = 1;
    }
    else
        printf("OK: browser raw %.3f%%, folded %.3f%% (>= 99%%)\n",
               share(&braw), share(&bfold));
    free(uas);
    free_set(&bs);
    free_set(&os);
    free_set(&ds);
    ua_db_free(db);
    return rc;
}
