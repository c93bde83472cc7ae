/*
 * fuzz_uri.c - libFuzzer target for src/uri.c (the api_request URI router).
 *
 * Build and run (outside the repository; test/fuzz/run.sh does this):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -fno-sanitize-recover=undefined -Isrc \
 *       -o /tmp/fuzz_uri test/fuzz/fuzz_uri.c src/uri.c
 *   cp -R test/fuzz/corpus/uri /tmp/uri_corpus && \
 *       /tmp/fuzz_uri -dict=test/fuzz/uri.dict -max_total_time=60 /tmp/uri_corpus
 * Without libFuzzer (replays files given as arguments):
 *   gcc -std=c99 -g -DFUZZ_STANDALONE -fsanitize=address,undefined -Isrc \
 *       -o /tmp/fuzz_uri_sa test/fuzz/fuzz_uri.c src/uri.c
 *
 * The whole input is one URI.  Checked (a violation prints the invariant
 * and abort()s; no PostgreSQL headers, uri.c is plain C):
 *  - api_route_parse() returns out->status, which is 200, 400 or 404;
 *    parsing twice gives the same route (deterministic).
 *  - not 200: every pointer NULL, nparams 0; 400: err_name and err_detail
 *    non-empty, 404: both empty; err_name NUL-terminated, <= 127 bytes,
 *    valid UTF-8.  An input with a NUL byte is a 400 "uri".
 *  - 200: err_name/err_detail empty; endpoint set; path is exactly
 *    "/data/<endpoint>/<metric>[/<aggregation|breakdown>]"; segments
 *    non-empty without '/'; the per-endpoint fields are NULL where the
 *    endpoint does not take them; every string valid UTF-8; params never
 *    contain currentPage/pageSize, a scalar key appears at most once and its
 *    value equals the route field, every non-NULL scalar field has its
 *    param; filterBy params <=> filter_json, which starts with '{' (after
 *    JSON white space) and, for bracket forms, ends with '}'.
 *  - round trip: link = api_build_link(path, params, nparams, cp, ps);
 *    buckets/timeseries: parsing link (no length limit) gives 200 and the
 *    same endpoint, path, segments, scalars, filter_json and params, with
 *    currentPage/pageSize = cp/ps; rebuilding the link from that route gives
 *    the same bytes (fixpoint).  metrics: parsing link is a 400 naming
 *    "currentPage"; link without the paging suffix gives the same route.
 *  - api_route_parse_limit() with small limits (0, 1, 16, 48, size - 1,
 *    size): a 400 "uri" exactly when size > limit, else the same route as
 *    api_route_parse().
 *  - "#fragment" appended (when the input has no '#'), and
 *    "https://host" prepended (when the input starts with '/'), give the
 *    same route (compared without length limit).
 */
#include "uri.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int         LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *cur_data;
static size_t cur_size;

static void
fail(const char *what)
{
    size_t      i;

    fprintf(stderr, "fuzz_uri invariant violated: %s\ninput (%lu bytes): \"",
            what, (unsigned long) cur_size);
    for (i = 0; i < cur_size && i < 2048; i++)
    {
        unsigned char c = cur_data[i];

        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fprintf(stderr, "\"\n");
    abort();
}

static int
utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *) s;

    while (*p)
    {
        unsigned    c = *p;
        size_t      need,
                    i;
        unsigned    cp;

        if (c < 0x80)
        {
            p++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            need = 1, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 2, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 3, cp = c & 0x07;
        else
            return 0;
        for (i = 1; i <= need; i++)
        {
            if ((p[i] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        p += need + 1;
    }
    return 1;
}

static int
streq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* the scalar fields, in a fixed order, with their REST names */
#define NSCALAR 11
static const char *const scalar_names[NSCALAR] = {
    "from", "to", "interval", "sortBy", "sortOrder", "currentPage",
    "pageSize", "unique", "viewDuration", "timeZone", "aggregation"
};

static void
scalars(const api_route *r, const char *v[NSCALAR])
{
    v[0] = r->from;
    v[1] = r->to;
    v[2] = r->interval;
    v[3] = r->sort_by;
    v[4] = r->sort_order;
    v[5] = r->current_page;
    v[6] = r->page_size;
    v[7] = r->unique;
    v[8] = r->view_duration;
    v[9] = r->time_zone;
    v[10] = r->aggregation;
}

/* same route; paging fields compared only when with_paging */
static int
route_equal(const api_route *a, const api_route *b, int with_paging)
{
    const char *va[NSCALAR],
               *vb[NSCALAR];
    size_t      i;

    if (a->status != b->status || a->endpoint != b->endpoint ||
        strcmp(a->err_name, b->err_name) != 0 ||
        strcmp(a->err_detail, b->err_detail) != 0)
        return 0;
    if (!streq(a->path, b->path) || !streq(a->metric, b->metric) ||
        !streq(a->breakdown, b->breakdown) ||
        !streq(a->filter_json, b->filter_json))
        return 0;
    scalars(a, va);
    scalars(b, vb);
    for (i = 0; i < NSCALAR; i++)
    {
        if (!with_paging && (i == 5 || i == 6))
            continue;
        if (!streq(va[i], vb[i]))
            return 0;
    }
    if (a->nparams != b->nparams)
        return 0;
    for (i = 0; i < a->nparams; i++)
        if (!streq(a->params[i].key, b->params[i].key) ||
            !streq(a->params[i].value, b->params[i].value))
            return 0;
    return 1;
}

static int
has_pointers(const api_route *r)
{
    const char *v[NSCALAR];
    size_t      i;

    scalars(r, v);
    for (i = 0; i < NSCALAR; i++)
        if (v[i] != NULL)
            return 1;
    return r->path || r->metric || r->breakdown || r->filter_json ||
        r->params || r->nparams;
}

static void
check_route(const api_route *r, int rc)
{
    static const char *const ep[] = {NULL, "metrics", "buckets", "timeseries"};
    const char *v[NSCALAR];
    size_t      i,
                j;
    int         has_filter = 0,
                has_json_form = 0;

    if (rc != r->status)
        fail("return value != status");
    if (rc != 200 && rc != 400 && rc != 404)
        fail("status not 200/400/404");
    if (memchr(r->err_name, '\0', sizeof r->err_name) == NULL ||
        memchr(r->err_detail, '\0', sizeof r->err_detail) == NULL)
        fail("err_name/err_detail not NUL-terminated");
    if (strlen(r->err_name) > 127 || !utf8_ok(r->err_name) ||
        !utf8_ok(r->err_detail))
        fail("err_name/err_detail too long or not UTF-8");
    if (rc != 200)
    {
        if (has_pointers(r))
            fail("error result with non-NULL fields");
        if (rc == 400 && (r->err_name[0] == '\0' || r->err_detail[0] == '\0'))
            fail("400 without err_name/err_detail");
        if (rc == 404 && (r->err_name[0] != '\0' || r->err_detail[0] != '\0' ||
                          r->endpoint != API_NOT_FOUND))
            fail("404 with err_name/err_detail or an endpoint");
        return;
    }

    /* 200 */
    if (r->err_name[0] != '\0' || r->err_detail[0] != '\0')
        fail("200 with err_name/err_detail");
    if (r->endpoint < API_METRICS || r->endpoint > API_TIMESERIES)
        fail("200 without endpoint");
    if (r->path == NULL || r->metric == NULL || r->metric[0] == '\0' ||
        strchr(r->metric, '/') != NULL)
        fail("path/metric missing, empty or with '/'");
    scalars(r, v);
    for (i = 0; i < NSCALAR; i++)
        if (v[i] != NULL && !utf8_ok(v[i]))
            fail("scalar not UTF-8");
    if (!utf8_ok(r->path) || !utf8_ok(r->metric) ||
        (r->breakdown && !utf8_ok(r->breakdown)) ||
        (r->filter_json && !utf8_ok(r->filter_json)))
        fail("string not UTF-8");
    {
        const char *second = NULL;
        size_t      need;
        char       *want;

        if (r->endpoint == API_METRICS)
        {
            if (r->aggregation == NULL || r->breakdown != NULL ||
                r->interval || r->time_zone || r->sort_by || r->sort_order ||
                r->current_page || r->page_size)
                fail("metrics: wrong fields set");
            second = r->aggregation;
        }
        else if (r->endpoint == API_BUCKETS)
        {
            if (r->breakdown == NULL || r->interval || r->time_zone)
                fail("buckets: wrong fields set");
            second = r->breakdown;
        }
        else if (r->breakdown != NULL)
            fail("timeseries: breakdown set");
        if (second && (second[0] == '\0' || strchr(second, '/') != NULL))
            fail("second segment empty or with '/'");
        need = strlen(ep[r->endpoint]) + strlen(r->metric) +
            (second ? strlen(second) : 0) + 16;
        want = malloc(need);
        if (want == NULL)
            abort();
        snprintf(want, need, "/data/%s/%s%s%s", ep[r->endpoint], r->metric,
                 second ? "/" : "", second ? second : "");
        if (strcmp(want, r->path) != 0)
            fail("path is not /data/<endpoint>/<metric>[/<second>]");
        free(want);
    }
    if (r->nparams > 0 && r->params == NULL)
        fail("nparams > 0 with params NULL");
    for (i = 0; i < r->nparams; i++)
    {
        const char *k = r->params[i].key,
                   *val = r->params[i].value;
        int         known = 0;

        if (k == NULL || val == NULL || k[0] == '\0' || !utf8_ok(k) ||
            !utf8_ok(val))
            fail("param key/value NULL, empty key or not UTF-8");
        if (strcmp(k, "currentPage") == 0 || strcmp(k, "pageSize") == 0)
            fail("paging parameter in params");
        if (strncmp(k, "filterBy", 8) == 0 && (k[8] == '\0' || k[8] == '['))
        {
            has_filter = 1;
            if (k[8] == '\0')
                has_json_form = 1;
            continue;
        }
        for (j = 0; j < NSCALAR; j++)
            if (strcmp(k, scalar_names[j]) == 0)
            {
                known = 1;
                if (!streq(v[j], val))
                    fail("param value != route field");
            }
        if (!known)
            fail("unknown key in params");
        for (j = 0; j < i; j++)
            if (strcmp(r->params[j].key, k) == 0)
                fail("scalar param given twice in params");
    }
    for (j = 0; j < NSCALAR; j++)
    {
        if (v[j] == NULL || j == 5 || j == 6 ||
            (j == 10 && r->endpoint == API_METRICS))
            continue;
        for (i = 0; i < r->nparams; i++)
            if (strcmp(r->params[i].key, scalar_names[j]) == 0)
                break;
        if (i == r->nparams)
            fail("scalar field without its param");
    }
    if (has_filter != (r->filter_json != NULL))
        fail("filterBy params <=> filter_json");
    if (r->filter_json)
    {
        const char *p = r->filter_json;
        size_t      n = strlen(p);

        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (*p != '{')
            fail("filter_json does not start with '{'");
        if (!has_json_form && (n < 2 || r->filter_json[0] != '{' ||
                               r->filter_json[n - 1] != '}'))
            fail("bracket filter_json not {...}");
    }
}

static void
round_trip(const api_route *r, size_t size)
{
    long        cp = 1 + (long) (size % 5),
                ps = (size % 3 == 0) ? 1000000 : 10 + (long) (size % 90);
    char       *link = api_build_link(r->path, r->params, r->nparams, cp, ps);
    api_route   r2;
    int         rc;

    if (link == NULL)
        fail("api_build_link returned NULL");
    if (!utf8_ok(link))
        fail("link not UTF-8");
    {
        const unsigned char *p;

        /* only unreserved characters, %XX, '/', '?', '=', '&' */
        for (p = (const unsigned char *) link; *p; p++)
            if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
                  *p == '_' || *p == '~' || *p == '%' || *p == '/' ||
                  *p == '?' || *p == '=' || *p == '&'))
                fail("link has a character that should be encoded");
    }
    rc = api_route_parse_limit(link, strlen(link), (size_t) -1, &r2);
    check_route(&r2, rc);
    if (r->endpoint == API_METRICS)
    {
        char       *cut;

        if (rc != 400 || strcmp(r2.err_name, "currentPage") != 0)
            fail("metrics link with currentPage not a 400 \"currentPage\"");
        api_route_free(&r2);
        cut = strstr(link, "currentPage=");
        if (cut == NULL)
            fail("link without currentPage=");
        *cut = '\0';
        rc = api_route_parse_limit(link, strlen(link), (size_t) -1, &r2);
        check_route(&r2, rc);
        if (!route_equal(r, &r2, 1))
            fail("metrics round trip: parse(build_link(route)) != route");
        api_route_free(&r2);
    }
    else
    {
        char        num[32];
        char       *link2;

        if (rc != 200)
            fail("round trip: link not a 200");
        if (!route_equal(r, &r2, 0))
            fail("round trip: parse(build_link(route)) != route");
        snprintf(num, sizeof num, "%ld", cp);
        if (!streq(r2.current_page, num))
            fail("round trip: currentPage");
        snprintf(num, sizeof num, "%ld", ps);
        if (!streq(r2.page_size, num))
            fail("round trip: pageSize");
        link2 = api_build_link(r2.path, r2.params, r2.nparams, cp, ps);
        if (link2 == NULL || strcmp(link, link2) != 0)
            fail("round trip: build_link(parse(link)) != link");
        free(link2);
        api_route_free(&r2);
    }
    free(link);
}

/* parse prefix + data + suffix without length limit, compare to ref */
static void
check_variant(const api_route *ref, const char *prefix, const uint8_t *data,
              size_t size, const char *suffix, const char *what)
{
    size_t      pl = strlen(prefix),
                sl = strlen(suffix);
    char       *buf = malloc(pl + size + sl + 1);
    api_route   r;
    int         rc;

    if (buf == NULL)
        abort();
    memcpy(buf, prefix, pl);
    if (size)
        memcpy(buf + pl, data, size);
    memcpy(buf + pl + size, suffix, sl);
    rc = api_route_parse_limit(buf, pl + size + sl, (size_t) -1, &r);
    check_route(&r, rc);
    /* the "too long" message names the limit: compare only when not one */
    if (!route_equal(ref, &r, 1))
        fail(what);
    api_route_free(&r);
    free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *uri = (const char *) data;
    api_route   r,
                r2,
                ref;
    int         rc;
    size_t      limits[6];
    size_t      i;

    cur_data = data;
    cur_size = size;

    rc = api_route_parse(size ? uri : NULL, size, &r);
    check_route(&r, rc);
    if (size > 0 && memchr(data, '\0', size) != NULL &&
        (rc != 400 || strcmp(r.err_name, "uri") != 0))
        fail("NUL byte not a 400 \"uri\"");
    if (size > API_URI_MAX_LEN && (rc != 400 || strcmp(r.err_name, "uri") != 0))
        fail("too long not a 400 \"uri\"");

    /* deterministic */
    rc = api_route_parse(size ? uri : NULL, size, &r2);
    if (!route_equal(&r, &r2, 1))
        fail("two parses differ");
    api_route_free(&r2);
    api_route_free(&r2);        /* harmless twice */

    if (rc == 200)
        round_trip(&r, size);

    /* small length limits */
    limits[0] = 0;
    limits[1] = 1;
    limits[2] = 16;
    limits[3] = 48;
    limits[4] = size ? size - 1 : 0;
    limits[5] = size;
    for (i = 0; i < 6; i++)
    {
        rc = api_route_parse_limit(size ? uri : NULL, size, limits[i], &r2);
        check_route(&r2, rc);
        if (size > limits[i])
        {
            if (rc != 400 || strcmp(r2.err_name, "uri") != 0)
                fail("over the limit but not a 400 \"uri\"");
        }
        else if (size <= API_URI_MAX_LEN && !route_equal(&r, &r2, 1))
            fail("within the limit but differs from api_route_parse");
        api_route_free(&r2);
    }

    /* fragment and scheme://authority do not change the route */
    rc = api_route_parse_limit(size ? uri : NULL, size, (size_t) -1, &ref);
    check_route(&ref, rc);
    if (size == 0 || memchr(data, '#', size) == NULL)
        check_variant(&ref, "", data, size, "#frag?x=1&y", "a #fragment changed the route");
    if (size > 0 && data[0] == '/')
        check_variant(&ref, "https://user@example.com:8443", data, size, "",
                      "a scheme://authority prefix changed the route");
    api_route_free(&ref);

    api_route_free(&r);
    return 0;
}

#ifdef FUZZ_STANDALONE
int
main(int argc, char **argv)
{
    int         i;

    for (i = 1; i < argc; i++)
    {
        FILE       *f = fopen(argv[i], "rb");
        static uint8_t data[1 << 20];
        size_t      len;

        if (f == NULL)
        {
            perror(argv[i]);
            return 1;
        }
        len = fread(data, 1, sizeof data, f);
        fclose(f);
        LLVMFuzzerTestOneInput(data, len);
    }
    printf("fuzz_uri: %d inputs ok\n", argc - 1);
    return 0;
}
#endif
