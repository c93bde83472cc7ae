/*
 * test_uri.c - unit tests for src/uri.c (the api_request URI router).
 *
 * Build and run (from the repository root):
 *   gcc -std=c99 -O1 -g -Wall -Wextra -Werror \
 *       -fsanitize=address,undefined -fno-omit-frame-pointer \
 *       -Isrc -o /tmp/test_uri test/unit/test_uri.c src/uri.c && /tmp/test_uri
 *
 * Add -DURI_FAULT_INJECTION (to both files, i.e. the same command) to also
 * run the out-of-memory sweep: every allocation made while parsing a set of
 * URIs is made to fail in turn, and each run must give 200 or a clean 400
 * "uri" without leaks.
 *
 * Prints exactly one line "uri: N passed, M failed"; exit status 1 if M > 0.
 */
#define _POSIX_C_SOURCE 200809L

#include "uri.h"
#include "unit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long ncases;     /* URIs parsed by the tests (reported on stderr) */

static int
parse_n(const char *uri, size_t len, api_route *r)
{
    ncases++;
    return api_route_parse(uri, len, r);
}

static int
parse(const char *uri, api_route *r)
{
    return parse_n(uri, strlen(uri), r);
}

/* print context when checks failed inside a helper */
static void
context(long failed_before, int line, const char *uri)
{
    if (unit_failed > failed_before)
        fprintf(stderr, "    (case at test_uri.c:%d, uri \"%.200s\")\n",
                line, uri);
}

static int
all_pointers_null(const api_route *r)
{
    return r->path == NULL && r->metric == NULL && r->aggregation == NULL &&
           r->breakdown == NULL && r->from == NULL && r->to == NULL &&
           r->interval == NULL && r->sort_by == NULL &&
           r->sort_order == NULL && r->current_page == NULL &&
           r->page_size == NULL && r->unique == NULL &&
           r->view_duration == NULL && r->time_zone == NULL &&
           r->filter_json == NULL && r->params == NULL && r->nparams == 0;
}

/* status 400 (name, optional detail) or 404 */
static void
expect_err(int line, const char *uri, size_t len, int status,
           const char *name, const char *detail)
{
    long        before = unit_failed;
    api_route   r;
    int         rc = parse_n(uri, len, &r);

    CHECK_INT(rc, status);
    CHECK_INT(r.status, status);
    CHECK_STR(r.err_name, name);
    if (detail != NULL)
        CHECK_STR(r.err_detail, detail);
    else if (status == 400)
        CHECK(r.err_detail[0] != '\0');
    if (status == 404)
    {
        CHECK_INT(r.endpoint, API_NOT_FOUND);
        CHECK_STR(r.err_detail, "");
    }
    CHECK(all_pointers_null(&r));
    api_route_free(&r);
    context(before, line, uri);
}

#define EXPECT_400(uri, name) \
    expect_err(__LINE__, (uri), strlen(uri), 400, (name), NULL)
#define EXPECT_400D(uri, name, detail) \
    expect_err(__LINE__, (uri), strlen(uri), 400, (name), (detail))
#define EXPECT_404(uri) expect_err(__LINE__, (uri), strlen(uri), 404, "", NULL)

/* /data/buckets/play/country?<query> must give 200 and this filter_json */
static void
expect_filter(int line, const char *query, const char *json)
{
    long        before = unit_failed;
    char        uri[4096];
    api_route   r;

    snprintf(uri, sizeof uri, "/data/buckets/play/country?%s", query);
    CHECK_INT(parse(uri, &r), 200);
    CHECK_STR(r.filter_json, json);
    CHECK_STR(r.err_name, "");
    api_route_free(&r);
    context(before, line, uri);
}

#define EXPECT_FILTER(query, json) expect_filter(__LINE__, (query), (json))

/* /data/buckets/play/country?<query> must give 400 with this name */
static void
expect_filter_err(int line, const char *query, const char *name)
{
    char    uri[4096];

    snprintf(uri, sizeof uri, "/data/buckets/play/country?%s", query);
    expect_err(line, uri, strlen(uri), 400, name, NULL);
}

#define EXPECT_FILTER_ERR(query, name) \
    expect_filter_err(__LINE__, (query), (name))

static void
check_param(int line, const api_route *r, size_t i, const char *key,
            const char *value)
{
    long    before = unit_failed;

    CHECK(i < r->nparams);
    if (i < r->nparams)
    {
        CHECK_STR(r->params[i].key, key);
        CHECK_STR(r->params[i].value, value);
    }
    context(before, line, r->path ? r->path : "(null)");
}

#define CHECK_PARAM(r, i, k, v) check_param(__LINE__, (r), (i), (k), (v))

/* ------------------------------------------------------------------ */

static void
test_endpoints(void)
{
    api_route   r;
    const char *u;

    /* metrics, no query */
    CHECK_INT(parse("/data/metrics/play/count", &r), 200);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.endpoint, API_METRICS);
    CHECK_STR(r.path, "/data/metrics/play/count");
    CHECK_STR(r.metric, "play");
    CHECK_STR(r.aggregation, "count");
    CHECK_STR(r.breakdown, NULL);
    CHECK_STR(r.from, NULL);
    CHECK_STR(r.to, NULL);
    CHECK_STR(r.interval, NULL);
    CHECK_STR(r.sort_by, NULL);
    CHECK_STR(r.sort_order, NULL);
    CHECK_STR(r.current_page, NULL);
    CHECK_STR(r.page_size, NULL);
    CHECK_STR(r.unique, NULL);
    CHECK_STR(r.view_duration, NULL);
    CHECK_STR(r.time_zone, NULL);
    CHECK_STR(r.filter_json, NULL);
    CHECK_INT(r.nparams, 0);
    CHECK_STR(r.err_name, "");
    CHECK_STR(r.err_detail, "");
    api_route_free(&r);

    /* metrics with every parameter it accepts */
    u = "/data/metrics/view/count?from=2024-05-01T00:00:00Z&to=2024-05-02T00:00:00.123%2B02:00"
        "&filterBy[mediaId]=vi1&unique=true&viewDuration=10s";
    CHECK_INT(parse(u, &r), 200);
    CHECK_INT(r.endpoint, API_METRICS);
    CHECK_STR(r.metric, "view");
    CHECK_STR(r.aggregation, "count");
    CHECK_STR(r.from, "2024-05-01T00:00:00Z");
    CHECK_STR(r.to, "2024-05-02T00:00:00.123+02:00");
    CHECK_STR(r.unique, "true");
    CHECK_STR(r.view_duration, "10s");
    CHECK_STR(r.filter_json, "{\"mediaId\":\"vi1\"}");
    CHECK_INT(r.nparams, 5);
    CHECK_PARAM(&r, 0, "from", "2024-05-01T00:00:00Z");
    CHECK_PARAM(&r, 1, "to", "2024-05-02T00:00:00.123+02:00");
    CHECK_PARAM(&r, 2, "filterBy[mediaId]", "vi1");
    CHECK_PARAM(&r, 3, "unique", "true");
    CHECK_PARAM(&r, 4, "viewDuration", "10s");
    api_route_free(&r);

    /* buckets: the example of docs/api.md ("api_request: the REST router") */
    u = "/data/buckets/play/country?from=2024-05-01T00:00:00%2B02:00&filterBy[country][]=FR"
        "&filterBy[mediaType]=video&sortBy=metricValue&sortOrder=desc&currentPage=2&pageSize=10";
    CHECK_INT(parse(u, &r), 200);
    CHECK_INT(r.endpoint, API_BUCKETS);
    CHECK_STR(r.path, "/data/buckets/play/country");
    CHECK_STR(r.metric, "play");
    CHECK_STR(r.breakdown, "country");
    CHECK_STR(r.aggregation, NULL);
    CHECK_STR(r.from, "2024-05-01T00:00:00+02:00");
    CHECK_STR(r.to, NULL);
    CHECK_STR(r.sort_by, "metricValue");
    CHECK_STR(r.sort_order, "desc");
    CHECK_STR(r.current_page, "2");
    CHECK_STR(r.page_size, "10");
    CHECK_STR(r.filter_json, "{\"country\":[\"FR\"],\"mediaType\":\"video\"}");
    CHECK_INT(r.nparams, 5);
    CHECK_PARAM(&r, 0, "from", "2024-05-01T00:00:00+02:00");
    CHECK_PARAM(&r, 1, "filterBy[country][]", "FR");
    CHECK_PARAM(&r, 2, "filterBy[mediaType]", "video");
    CHECK_PARAM(&r, 3, "sortBy", "metricValue");
    CHECK_PARAM(&r, 4, "sortOrder", "desc");
    api_route_free(&r);

    /* buckets with aggregation, unique, viewDuration */
    u = "/data/buckets/watch-time/media-id?aggregation=average&unique=false&viewDuration=3s&to=x";
    CHECK_INT(parse(u, &r), 200);
    CHECK_INT(r.endpoint, API_BUCKETS);
    CHECK_STR(r.metric, "watch-time");
    CHECK_STR(r.breakdown, "media-id");
    CHECK_STR(r.aggregation, "average");
    CHECK_STR(r.unique, "false");
    CHECK_STR(r.view_duration, "3s");
    CHECK_STR(r.to, "x");
    CHECK_INT(r.nparams, 4);
    CHECK_PARAM(&r, 0, "aggregation", "average");
    CHECK_PARAM(&r, 3, "to", "x");
    api_route_free(&r);

    /* timeseries with everything */
    u = "/data/timeseries/impression-time?from=a&to=b&interval=hour&filterBy[country]=FR"
        "&sortBy=emittedAt&sortOrder=asc&currentPage=1&pageSize=100&unique=true"
        "&viewDuration=5s&aggregation=sum&timeZone=Europe%2FParis";
    CHECK_INT(parse(u, &r), 200);
    CHECK_INT(r.endpoint, API_TIMESERIES);
    CHECK_STR(r.path, "/data/timeseries/impression-time");
    CHECK_STR(r.metric, "impression-time");
    CHECK_STR(r.breakdown, NULL);
    CHECK_STR(r.aggregation, "sum");
    CHECK_STR(r.from, "a");
    CHECK_STR(r.to, "b");
    CHECK_STR(r.interval, "hour");
    CHECK_STR(r.sort_by, "emittedAt");
    CHECK_STR(r.sort_order, "asc");
    CHECK_STR(r.current_page, "1");
    CHECK_STR(r.page_size, "100");
    CHECK_STR(r.unique, "true");
    CHECK_STR(r.view_duration, "5s");
    CHECK_STR(r.time_zone, "Europe/Paris");
    CHECK_STR(r.filter_json, "{\"country\":\"FR\"}");
    CHECK_INT(r.nparams, 10);   /* 12 pieces minus currentPage, pageSize */
    CHECK_PARAM(&r, 0, "from", "a");
    CHECK_PARAM(&r, 2, "interval", "hour");
    CHECK_PARAM(&r, 3, "filterBy[country]", "FR");
    CHECK_PARAM(&r, 6, "unique", "true");
    CHECK_PARAM(&r, 9, "timeZone", "Europe/Paris");
    api_route_free(&r);

    /* metric/aggregation values are NOT validated here */
    CHECK_INT(parse("/data/metrics/nonsense/whatever", &r), 200);
    CHECK_STR(r.metric, "nonsense");
    CHECK_STR(r.aggregation, "whatever");
    api_route_free(&r);
    CHECK_INT(parse("/data/buckets/x/y", &r), 200);
    api_route_free(&r);
}

static void
test_paths(void)
{
    api_route   r;

    EXPECT_404("");
    EXPECT_404("/");
    EXPECT_404("//");
    EXPECT_404("/data");
    EXPECT_404("/data/");
    EXPECT_404("/data/metrics");
    EXPECT_404("/data/metrics/");
    EXPECT_404("/data/metrics/play");
    EXPECT_404("/data/metrics/play/");
    EXPECT_404("/data/metrics/play/count/extra");
    EXPECT_404("/data/metrics/play/count/extra/more/and/more");
    EXPECT_404("/other");
    EXPECT_404("/other/metrics/play/count");
    EXPECT_404("/data/timeseries");
    EXPECT_404("/data/timeseries/");
    EXPECT_404("/data/timeseries/play/extra");
    EXPECT_404("/data/buckets/play");
    EXPECT_404("/data/unknown/play/count");
    EXPECT_404("/DATA/metrics/play/count");
    EXPECT_404("/data/Metrics/play/count");
    EXPECT_404("data/metrics/play/count");
    EXPECT_404("/data//metrics/play/count");
    EXPECT_404("/data/metrics//count");
    EXPECT_404("/data/metrics/play//");
    EXPECT_404("//data/metrics/play/count");
    EXPECT_404("/data/metrics/play/count//");
    EXPECT_404("/data/timeseries/play//");
    EXPECT_404("/data/%zz/play");
    EXPECT_404("/data/metrics%2Fplay/count");
    EXPECT_404("?from=a");
    EXPECT_404("#/data/metrics/play/count");
    EXPECT_404("localhost/data/metrics/play/count");
    /* the path is checked before the query */
    EXPECT_404("/other?%zz&bogus=1");
    EXPECT_404("/data/metrics/play?from=a");

    /* one trailing slash tolerated */
    CHECK_INT(parse("/data/timeseries/play/", &r), 200);
    CHECK_STR(r.path, "/data/timeseries/play");
    CHECK_STR(r.metric, "play");
    api_route_free(&r);
    CHECK_INT(parse("/data/metrics/play/count/?from=x", &r), 200);
    CHECK_STR(r.path, "/data/metrics/play/count");
    CHECK_STR(r.aggregation, "count");
    CHECK_STR(r.from, "x");
    api_route_free(&r);

    /* percent-encoded segments are decoded (literal ones too) */
    CHECK_INT(parse("/data/%6Detrics/impression%2Dtime/average", &r), 200);
    CHECK_INT(r.endpoint, API_METRICS);
    CHECK_STR(r.metric, "impression-time");
    CHECK_STR(r.path, "/data/metrics/impression-time/average");
    api_route_free(&r);
    CHECK_INT(parse("/%64ata/buckets/play/operating%2dsystem", &r), 200);
    CHECK_STR(r.breakdown, "operating-system");
    api_route_free(&r);
    /* an encoded slash in a segment is a 404 (ambiguous decoded path) */
    EXPECT_404("/data/metrics/a%2Fb/count");
    EXPECT_404("/data/metrics/play/a%2fb");
    EXPECT_404("/data/buckets/play/%2F");
    EXPECT_404("/data/timeseries/%2F");
    /* '+' is not a space in a path */
    CHECK_INT(parse("/data/metrics/a+b/c%20d", &r), 200);
    CHECK_STR(r.metric, "a+b");
    CHECK_STR(r.aggregation, "c d");
    api_route_free(&r);
    CHECK_INT(parse("/data/timeseries/%C3%A9t%C3%A9", &r), 200);
    CHECK_STR(r.metric, "\xC3\xA9t\xC3\xA9");
    api_route_free(&r);

    /* bad encoding in a variable segment: 400 naming the segment */
    EXPECT_400("/data/metrics/%zz/count", "metric");
    EXPECT_400("/data/metrics/play/%4", "aggregation");
    EXPECT_400("/data/buckets/play/%C3%28", "breakdown");
    EXPECT_400("/data/buckets/%00/country", "metric");
    EXPECT_400("/data/timeseries/%", "metric");
    EXPECT_400("/data/timeseries/\xff", "metric");
    /* endpoint is kept on such a 400 */
    CHECK_INT(parse("/data/buckets/play/%zz", &r), 400);
    CHECK_INT(r.endpoint, API_BUCKETS);
    api_route_free(&r);
}

static void
test_full_url(void)
{
    api_route   r;

    CHECK_INT(parse("http://localhost:8080/data/metrics/play/count?from=x", &r), 200);
    CHECK_INT(r.endpoint, API_METRICS);
    CHECK_STR(r.path, "/data/metrics/play/count");
    CHECK_STR(r.from, "x");
    api_route_free(&r);

    CHECK_INT(parse("https://ws.example.org/data/timeseries/play", &r), 200);
    CHECK_INT(r.endpoint, API_TIMESERIES);
    api_route_free(&r);

    CHECK_INT(parse("HTTPS://user:pw@[::1]:443/data/buckets/play/browser/?sortOrder=asc#frag", &r), 200);
    CHECK_INT(r.endpoint, API_BUCKETS);
    CHECK_STR(r.breakdown, "browser");
    CHECK_STR(r.sort_order, "asc");
    api_route_free(&r);

    CHECK_INT(parse("svc+v1.x-y://h/data/metrics/end/count", &r), 200);
    api_route_free(&r);

    EXPECT_404("http://host");
    EXPECT_404("http://host/");
    EXPECT_404("http://host?from=a");
    EXPECT_404("http://host#/data/metrics/play/count");
    EXPECT_404("http://host/other/data/metrics/play/count");
    EXPECT_404("http:/data/metrics/play/count");
    EXPECT_404("1http://h/data/metrics/play/count");
    EXPECT_404("http://");

    /* fragment ignored, wherever it is */
    CHECK_INT(parse("/data/metrics/play/count#x?from=1", &r), 200);
    CHECK_STR(r.from, NULL);
    api_route_free(&r);
    CHECK_INT(parse("/data/metrics/play/count?from=a#b&to=c", &r), 200);
    CHECK_STR(r.from, "a");
    CHECK_STR(r.to, NULL);
    api_route_free(&r);
    CHECK_INT(parse("/data/metrics/play/count?from=a#%zz&bogus", &r), 200);
    api_route_free(&r);
    CHECK_INT(parse("/data/metrics/play/count#", &r), 200);
    api_route_free(&r);
}

static void
test_filter_forms(void)
{
    api_route   r;

    /* filterBy[key]=v */
    EXPECT_FILTER("filterBy[country]=FR", "{\"country\":\"FR\"}");
    EXPECT_FILTER("filterBy%5Bcountry%5D=FR", "{\"country\":\"FR\"}");
    EXPECT_FILTER("filterBy%5bcountry%5d=FR", "{\"country\":\"FR\"}");
    EXPECT_FILTER("filterBy%5Bcountry]=FR", "{\"country\":\"FR\"}");
    EXPECT_FILTER("%66ilterBy[country]=FR", "{\"country\":\"FR\"}");
    /* given twice: an array of both */
    EXPECT_FILTER("filterBy[country]=FR&filterBy[country]=DE",
                  "{\"country\":[\"FR\",\"DE\"]}");
    EXPECT_FILTER("filterBy[country]=FR&filterBy%5Bcountry%5D=DE&filterBy[country]=IT",
                  "{\"country\":[\"FR\",\"DE\",\"IT\"]}");

    /* filterBy[key][]=v */
    EXPECT_FILTER("filterBy[country][]=FR", "{\"country\":[\"FR\"]}");
    EXPECT_FILTER("filterBy[country][]=FR&filterBy[country][]=DE",
                  "{\"country\":[\"FR\",\"DE\"]}");
    EXPECT_FILTER("filterBy%5Bcountry%5D%5B%5D=FR&filterBy%5Bcountry%5D%5B%5D=DE",
                  "{\"country\":[\"FR\",\"DE\"]}");
    EXPECT_FILTER("filterBy%5Bcountry%5D[]=FR&filterBy[country]%5B%5D=DE",
                  "{\"country\":[\"FR\",\"DE\"]}");

    /* filterBy[key][n]=v: ordered by n, gaps compacted */
    EXPECT_FILTER("filterBy[country][0]=FR", "{\"country\":[\"FR\"]}");
    EXPECT_FILTER("filterBy[country][1]=DE&filterBy[country][0]=FR",
                  "{\"country\":[\"FR\",\"DE\"]}");
    EXPECT_FILTER("filterBy[c][5]=c&filterBy[c][2]=b&filterBy[c][99]=d&filterBy[c][0]=a",
                  "{\"c\":[\"a\",\"b\",\"c\",\"d\"]}");
    EXPECT_FILTER("filterBy%5Bc%5D%5B1%5D=y&filterBy%5Bc%5D%5B0%5D=x",
                  "{\"c\":[\"x\",\"y\"]}");
    EXPECT_FILTER("filterBy[c][07]=b&filterBy[c][3]=a", "{\"c\":[\"a\",\"b\"]}");
    EXPECT_FILTER("filterBy[c][63]=b&filterBy[c][64]=c&filterBy[c][62]=a",
                  "{\"c\":[\"a\",\"b\",\"c\"]}");

    /* several keys, first-seen order */
    EXPECT_FILTER("filterBy[b]=1&filterBy[a][]=2&filterBy[b]=3&filterBy[c][0]=4",
                  "{\"b\":[\"1\",\"3\"],\"a\":[\"2\"],\"c\":[\"4\"]}");
    EXPECT_FILTER("filterBy[mediaType]=video&filterBy[country][]=FR&filterBy[country][]=DE",
                  "{\"mediaType\":\"video\",\"country\":[\"FR\",\"DE\"]}");

    /* '+' is a space, %2B a plus, %20 a space */
    EXPECT_FILTER("filterBy[operatingSystem]=mac+osx", "{\"operatingSystem\":\"mac osx\"}");
    EXPECT_FILTER("filterBy[operatingSystem]=mac%20osx", "{\"operatingSystem\":\"mac osx\"}");
    EXPECT_FILTER("filterBy[referrer]=a%2Bb", "{\"referrer\":\"a+b\"}");
    EXPECT_FILTER("filterBy[device+type]=tv", "{\"device type\":\"tv\"}");

    /* empty values */
    EXPECT_FILTER("filterBy[referrer]=", "{\"referrer\":\"\"}");
    EXPECT_FILTER("filterBy[referrer]", "{\"referrer\":\"\"}");
    EXPECT_FILTER("filterBy[referrer][]=&filterBy[referrer][]=x",
                  "{\"referrer\":[\"\",\"x\"]}");

    /* JSON escaping of built values and keys */
    EXPECT_FILTER("filterBy[referrer]=a%22b%5Cc%0Ad%01e%1F%7F%C3%A9%E2%80%A8/",
                  "{\"referrer\":\"a\\\"b\\\\c\\u000ad\\u0001e\\u001f\x7f\xC3\xA9\xE2\x80\xA8/\"}");
    EXPECT_FILTER("filterBy[a%22b%5C]=1", "{\"a\\\"b\\\\\":\"1\"}");
    EXPECT_FILTER("filterBy[tag]=%F0%9F%98%80", "{\"tag\":\"\xF0\x9F\x98\x80\"}");
    /* '=' in a value, '?' in a value */
    EXPECT_FILTER("filterBy[referrer]=https://x.org/?a=b", "{\"referrer\":\"https://x.org/?a=b\"}");
    EXPECT_FILTER("filterBy[referrer]=https%3A%2F%2Fx.org%2F%3Fa%3Db%26c%3Dd",
                  "{\"referrer\":\"https://x.org/?a=b&c=d\"}");

    /* JSON form: passed through unchanged */
    EXPECT_FILTER("filterBy={\"country\":[\"FR\"]}", "{\"country\":[\"FR\"]}");
    EXPECT_FILTER("filterBy=%7B%22country%22%3A%5B%22FR%22%5D%7D", "{\"country\":[\"FR\"]}");
    EXPECT_FILTER("filterBy=%7B%22a%22:%22b+c%22%7D", "{\"a\":\"b c\"}");
    EXPECT_FILTER("filterBy=+%0A%09%0D{}", " \n\t\r{}");
    EXPECT_FILTER("filterBy={not json, the caller parses it", "{not json, the caller parses it");
    EXPECT_FILTER("%66ilterBy={}", "{}");

    /* the params list keeps each filter piece as given */
    CHECK_INT(parse("/data/buckets/play/country?filterBy%5Bcountry%5D%5B%5D=FR&from=a"
                    "&filterBy[c][1]=y&filterBy[c][0]=x&currentPage=3", &r), 200);
    CHECK_INT(r.nparams, 4);
    CHECK_PARAM(&r, 0, "filterBy[country][]", "FR");
    CHECK_PARAM(&r, 1, "from", "a");
    CHECK_PARAM(&r, 2, "filterBy[c][1]", "y");
    CHECK_PARAM(&r, 3, "filterBy[c][0]", "x");
    CHECK_STR(r.filter_json, "{\"country\":[\"FR\"],\"c\":[\"x\",\"y\"]}");
    api_route_free(&r);

    CHECK_INT(parse("/data/metrics/play/count?filterBy=%7B%7D&to=b", &r), 200);
    CHECK_INT(r.nparams, 2);
    CHECK_PARAM(&r, 0, "filterBy", "{}");
    CHECK_STR(r.filter_json, "{}");
    api_route_free(&r);

    /* filterBy is accepted on every endpoint */
    CHECK_INT(parse("/data/timeseries/play?filterBy[country]=FR", &r), 200);
    CHECK_STR(r.filter_json, "{\"country\":\"FR\"}");
    api_route_free(&r);
}

static void
test_filter_errors(void)
{
    /* JSON form */
    EXPECT_FILTER_ERR("filterBy=", "filterBy");
    EXPECT_FILTER_ERR("filterBy", "filterBy");
    EXPECT_FILTER_ERR("filterBy=+++", "filterBy");
    EXPECT_FILTER_ERR("filterBy=[\"FR\"]", "filterBy");
    EXPECT_FILTER_ERR("filterBy=FR", "filterBy");
    EXPECT_FILTER_ERR("filterBy=null", "filterBy");
    EXPECT_FILTER_ERR("filterBy={}&filterBy={}", "filterBy");
    EXPECT_FILTER_ERR("filterBy=%", "filterBy");
    EXPECT_FILTER_ERR("filterBy=%7B%C3%28", "filterBy");
    EXPECT_FILTER_ERR("filterBy=%7B%00", "filterBy");
    EXPECT_400D("/data/metrics/play/count?filterBy={}&filterBy={}", "filterBy",
                "This field was given more than once.");

    /* JSON form mixed with bracket forms */
    EXPECT_FILTER_ERR("filterBy={}&filterBy[country]=FR", "filterBy.country");
    EXPECT_FILTER_ERR("filterBy={}&filterBy[country][]=FR", "filterBy.country");
    EXPECT_FILTER_ERR("filterBy[country]=FR&filterBy={}", "filterBy");
    EXPECT_FILTER_ERR("filterBy[country][0]=FR&filterBy=%7B%7D", "filterBy");

    /* one key in two forms */
    EXPECT_FILTER_ERR("filterBy[country]=FR&filterBy[country][]=DE", "filterBy.country");
    EXPECT_FILTER_ERR("filterBy[country][]=FR&filterBy[country]=DE", "filterBy.country");
    EXPECT_FILTER_ERR("filterBy[country]=FR&filterBy[country][0]=DE", "filterBy.country");
    EXPECT_FILTER_ERR("filterBy[country][0]=FR&filterBy[country]=DE", "filterBy.country");
    EXPECT_FILTER_ERR("filterBy[country][]=FR&filterBy[country][1]=DE", "filterBy.country");
    EXPECT_FILTER_ERR("filterBy[country][1]=FR&filterBy%5Bcountry%5D%5B%5D=DE", "filterBy.country");
    /* different keys in different forms are fine */
    EXPECT_FILTER("filterBy[a]=1&filterBy[b][]=2&filterBy[c][0]=3",
                  "{\"a\":\"1\",\"b\":[\"2\"],\"c\":[\"3\"]}");

    /* indices */
    EXPECT_FILTER_ERR("filterBy[country][0]=FR&filterBy[country][0]=DE", "filterBy.country");
    EXPECT_FILTER_ERR("filterBy[country][3]=FR&filterBy[country][03]=DE", "filterBy.country");
    EXPECT_FILTER_ERR("filterBy[country][100]=FR", "filterBy.country");
    EXPECT_FILTER_ERR("filterBy[country][000]=FR", "filterBy.country");
    EXPECT_FILTER_ERR("filterBy[country][99999999999999999999999]=FR", "filterBy.country");
    EXPECT_FILTER_ERR("filterBy[country][-1]=FR", "filterBy.country");
    EXPECT_FILTER_ERR("filterBy[country][+1]=FR", "filterBy.country");
    EXPECT_FILTER_ERR("filterBy[country][1x]=FR", "filterBy.country");
    EXPECT_400D("/data/buckets/play/country?filterBy[c][4]=a&filterBy[c][4]=b", "filterBy.c",
                "The array index 4 was given more than once.");

    /* nesting */
    EXPECT_FILTER_ERR("filterBy[a][b][c]=1", "filterBy.a");
    EXPECT_FILTER_ERR("filterBy[a][b]=1", "filterBy.a");
    EXPECT_FILTER_ERR("filterBy[a][x]=1", "filterBy.a");
    EXPECT_FILTER_ERR("filterBy[a][0][1]=1", "filterBy.a");
    EXPECT_FILTER_ERR("filterBy[a][][]=1", "filterBy.a");
    EXPECT_FILTER_ERR("filterBy%5Ba%5D%5Bb%5D%5Bc%5D=1", "filterBy.a");

    /* empty key */
    EXPECT_FILTER_ERR("filterBy[]=v", "filterBy");
    EXPECT_FILTER_ERR("filterBy[][]=v", "filterBy");
    EXPECT_FILTER_ERR("filterBy%5B%5D=v", "filterBy");
    EXPECT_FILTER_ERR("filterBy[][0]=v", "filterBy");

    /* unbalanced or stray brackets */
    EXPECT_FILTER_ERR("filterBy[a=1", "filterBy.a");
    EXPECT_FILTER_ERR("filterBy[=1", "filterBy");
    EXPECT_FILTER_ERR("filterBy[", "filterBy");
    EXPECT_FILTER_ERR("filterBy[[a]]=1", "filterBy");
    EXPECT_FILTER_ERR("filterBy[a]]=1", "filterBy.a");
    EXPECT_FILTER_ERR("filterBy[a][=1", "filterBy.a");
    EXPECT_FILTER_ERR("filterBy[a][0=1", "filterBy.a");
    EXPECT_FILTER_ERR("filterBy[a][0]]=1", "filterBy.a");
    EXPECT_FILTER_ERR("filterBy[a[b]]=1", "filterBy.a");
    EXPECT_FILTER_ERR("filterBy[a][[0]]=1", "filterBy.a");
    EXPECT_FILTER_ERR("filterBy[a]x=1", "filterBy.a");
    EXPECT_FILTER_ERR("filterBy[a]x]=1", "filterBy.a");
    EXPECT_FILTER_ERR("filterBy[a][0]x=1", "filterBy.a");
    EXPECT_FILTER_ERR("filterBy%5Ba=1", "filterBy.a");

    /* bad values name the filter key */
    EXPECT_FILTER_ERR("filterBy[country][]=%zz", "filterBy.country");
    EXPECT_FILTER_ERR("filterBy[country]=%C3%28", "filterBy.country");
    EXPECT_FILTER_ERR("filterBy[country][0]=a%00", "filterBy.country");
    EXPECT_FILTER_ERR("filterBy[country]=%", "filterBy.country");

    /* not filterBy at all */
    EXPECT_400D("/data/buckets/play/country?filterByX=1", "filterByX",
                "This field was not expected.");
    EXPECT_FILTER_ERR("filterby[country]=FR", "filterby[country]");
    EXPECT_FILTER_ERR("filterBy.country=FR", "filterBy.country");
    EXPECT_FILTER_ERR("filter[country]=FR", "filter[country]");
    EXPECT_FILTER_ERR("filterBy]=1", "filterBy]");
}

static void
test_query_syntax(void)
{
    api_route   r;

    /* empty pieces ignored */
    CHECK_INT(parse("/data/metrics/play/count?&&from=a&&&to=b&", &r), 200);
    CHECK_STR(r.from, "a");
    CHECK_STR(r.to, "b");
    CHECK_INT(r.nparams, 2);
    api_route_free(&r);
    CHECK_INT(parse("/data/metrics/play/count?", &r), 200);
    CHECK_INT(r.nparams, 0);
    api_route_free(&r);
    CHECK_INT(parse("/data/metrics/play/count?&", &r), 200);
    api_route_free(&r);
    CHECK_INT(parse("/data/metrics/play/count?&&&&&&&&&&&&&&&&&&&&&", &r), 200);
    api_route_free(&r);

    /* empty values */
    CHECK_INT(parse("/data/metrics/play/count?from=&to&unique=", &r), 200);
    CHECK_STR(r.from, "");
    CHECK_STR(r.to, "");
    CHECK_STR(r.unique, "");
    CHECK_STR(r.view_duration, NULL);
    CHECK_INT(r.nparams, 3);
    CHECK_PARAM(&r, 1, "to", "");
    api_route_free(&r);

    /* key/value split on the first '='; '?' inside the query is data */
    CHECK_INT(parse("/data/metrics/play/count?from=a=b&to=?x?", &r), 200);
    CHECK_STR(r.from, "a=b");
    CHECK_STR(r.to, "?x?");
    api_route_free(&r);

    /* decoding, '+' and %2B */
    CHECK_INT(parse("/data/metrics/play/count?from=2024-05-01T00:00:00%2B02:00"
                    "&to=2024-05-01T00:00:00+02:00", &r), 200);
    CHECK_STR(r.from, "2024-05-01T00:00:00+02:00");
    CHECK_STR(r.to, "2024-05-01T00:00:00 02:00");
    api_route_free(&r);
    CHECK_INT(parse("/data/metrics/play/count?%66rom=%61&t%6F=%C3%A9%e2%82%ac", &r), 200);
    CHECK_STR(r.from, "a");
    CHECK_STR(r.to, "\xC3\xA9\xE2\x82\xAC");
    CHECK_PARAM(&r, 0, "from", "a");
    api_route_free(&r);
    /* raw (unencoded) valid UTF-8 is accepted */
    CHECK_INT(parse("/data/timeseries/play?timeZone=\xC3\xA9", &r), 200);
    CHECK_STR(r.time_zone, "\xC3\xA9");
    api_route_free(&r);

    /* malformed percent-encoding in a value: 400 naming the key */
    EXPECT_400D("/data/metrics/play/count?from=%", "from",
                "The value has malformed percent-encoding ('%' must be "
                "followed by two hexadecimal digits).");
    EXPECT_400("/data/metrics/play/count?from=%4", "from");
    EXPECT_400("/data/metrics/play/count?from=%G1", "from");
    EXPECT_400("/data/metrics/play/count?from=%1G", "from");
    EXPECT_400("/data/metrics/play/count?from=abc%", "from");
    EXPECT_400("/data/metrics/play/count?from=abc%4&to=x", "from");
    EXPECT_400("/data/metrics/play/count?to=%zz", "to");
    EXPECT_400("/data/timeseries/play?timeZone=%%41", "timeZone");
    EXPECT_400("/data/buckets/play/country?currentPage=%", "currentPage");
    /* decoded name of the key is used */
    EXPECT_400("/data/metrics/play/count?%66rom=%", "from");
    /* malformed key: "uri" */
    EXPECT_400D("/data/metrics/play/count?%zz=1", "uri",
                "A query parameter name has malformed percent-encoding "
                "('%' must be followed by two hexadecimal digits).");
    EXPECT_400("/data/metrics/play/count?fr%om=1", "uri");
    EXPECT_400("/data/metrics/play/count?%", "uri");
    EXPECT_400("/data/metrics/play/count?from%=a", "uri");
    EXPECT_400("/data/metrics/play/count?%4=a", "uri");

    /* invalid UTF-8 / NUL after decoding */
    EXPECT_400D("/data/metrics/play/count?from=%C3%28", "from",
                "The value is not valid UTF-8.");
    EXPECT_400D("/data/metrics/play/count?from=%00", "from",
                "The value contains a NUL byte (%00).");
    EXPECT_400("/data/metrics/play/count?from=a%00b", "from");
    EXPECT_400("/data/metrics/play/count?from=%C0%AF", "from");          /* overlong */
    EXPECT_400("/data/metrics/play/count?from=%E0%80%AF", "from");       /* overlong */
    EXPECT_400("/data/metrics/play/count?from=%ED%A0%80", "from");       /* surrogate */
    EXPECT_400("/data/metrics/play/count?from=%F4%90%80%80", "from");    /* > U+10FFFF */
    EXPECT_400("/data/metrics/play/count?from=%F8%88%80%80%80", "from");
    EXPECT_400("/data/metrics/play/count?from=%C3", "from");             /* truncated */
    EXPECT_400("/data/metrics/play/count?from=%E2%82", "from");
    EXPECT_400("/data/metrics/play/count?from=%80", "from");
    EXPECT_400("/data/metrics/play/count?from=\xff", "from");
    EXPECT_400("/data/metrics/play/count?unique=\xC3\x28", "unique");
    EXPECT_400D("/data/metrics/play/count?%C3%28=1", "uri",
                "A query parameter name is not valid UTF-8.");
    EXPECT_400D("/data/metrics/play/count?%00=1", "uri",
                "A query parameter name contains a NUL byte (%00).");
    EXPECT_400("/data/metrics/play/count?\xff=1", "uri");
    /* good 4-byte and boundary sequences pass */
    CHECK_INT(parse("/data/metrics/play/count?from=%F0%9F%98%80%F4%8F%BF%BF%EF%BF%BF%C2%80%7F", &r), 200);
    api_route_free(&r);

    /* empty key */
    EXPECT_400D("/data/metrics/play/count?=x", "uri",
                "A query parameter has an empty name.");
    EXPECT_400("/data/metrics/play/count?=", "uri");
    EXPECT_400("/data/metrics/play/count?from=a&=", "uri");

    /* repeated scalar keys */
    EXPECT_400D("/data/metrics/play/count?from=a&from=b", "from",
                "This field was given more than once.");
    EXPECT_400("/data/metrics/play/count?from=&from=", "from");
    EXPECT_400("/data/metrics/play/count?from=a&%66rom=a", "from");
    EXPECT_400("/data/metrics/play/count?unique&unique", "unique");
    EXPECT_400("/data/buckets/play/country?currentPage=1&currentPage=2", "currentPage");
    EXPECT_400("/data/buckets/play/country?pageSize=1&pageSize=1", "pageSize");
    EXPECT_400("/data/buckets/play/country?aggregation=sum&aggregation=sum", "aggregation");
    EXPECT_400("/data/timeseries/play?timeZone=UTC&to=x&timeZone=UTC", "timeZone");

    /* the first error in request order wins */
    EXPECT_400("/data/metrics/play/count?bogus=1&from=%zz", "bogus");
    EXPECT_400("/data/metrics/play/count?from=%zz&bogus=1", "from");
}

static void
test_unknown_keys(void)
{
    static const char *const not_on_metrics[] = {
        "interval", "sortBy", "sortOrder", "currentPage", "pageSize",
        "aggregation", "timeZone", "foo", "From", "sort_by", "view_duration",
        "unique_viewers", "metric", "project_id", "filter_by", " from",
        "from ", "page"
    };
    static const char *const not_on_buckets[] = {
        "interval", "timeZone", "foo", "breakdown", "time_zone"
    };
    static const char *const not_on_timeseries[] = {
        "foo", "breakdown", "metric", "currentpage", "filter"
    };
    static const char *const on_timeseries[] = {
        "from", "to", "interval", "sortBy", "sortOrder", "currentPage",
        "pageSize", "unique", "viewDuration", "aggregation", "timeZone"
    };
    static const char *const on_buckets[] = {
        "from", "to", "sortBy", "sortOrder", "currentPage", "pageSize",
        "unique", "viewDuration", "aggregation"
    };
    static const char *const on_metrics[] = {
        "from", "to", "unique", "viewDuration"
    };
    char        uri[256];
    size_t      i;
    api_route   r;

    for (i = 0; i < sizeof not_on_metrics / sizeof not_on_metrics[0]; i++)
    {
        char    enc[128];
        size_t  j,
                k = 0;

        /* encode spaces as '+' */
        for (j = 0; not_on_metrics[i][j] && k < sizeof enc - 1; j++)
            enc[k++] = not_on_metrics[i][j] == ' ' ? '+' : not_on_metrics[i][j];
        enc[k] = '\0';
        snprintf(uri, sizeof uri, "/data/metrics/play/count?from=a&%s=x", enc);
        EXPECT_400D(uri, not_on_metrics[i], "This field was not expected.");
    }
    for (i = 0; i < sizeof not_on_buckets / sizeof not_on_buckets[0]; i++)
    {
        snprintf(uri, sizeof uri, "/data/buckets/play/country?%s=x", not_on_buckets[i]);
        EXPECT_400D(uri, not_on_buckets[i], "This field was not expected.");
    }
    for (i = 0; i < sizeof not_on_timeseries / sizeof not_on_timeseries[0]; i++)
    {
        snprintf(uri, sizeof uri, "/data/timeseries/play?%s", not_on_timeseries[i]);
        EXPECT_400D(uri, not_on_timeseries[i], "This field was not expected.");
    }
    for (i = 0; i < sizeof on_timeseries / sizeof on_timeseries[0]; i++)
    {
        snprintf(uri, sizeof uri, "/data/timeseries/play?%s=v", on_timeseries[i]);
        CHECK_INT(parse(uri, &r), 200);
        api_route_free(&r);
    }
    for (i = 0; i < sizeof on_buckets / sizeof on_buckets[0]; i++)
    {
        snprintf(uri, sizeof uri, "/data/buckets/play/country?%s=v", on_buckets[i]);
        CHECK_INT(parse(uri, &r), 200);
        api_route_free(&r);
    }
    for (i = 0; i < sizeof on_metrics / sizeof on_metrics[0]; i++)
    {
        snprintf(uri, sizeof uri, "/data/metrics/play/count?%s=v", on_metrics[i]);
        CHECK_INT(parse(uri, &r), 200);
        api_route_free(&r);
    }

    /* control characters survive in the name (the caller JSON-escapes) */
    EXPECT_400("/data/metrics/play/count?a%0Ab=1", "a\nb");
    EXPECT_400("/data/metrics/play/count?%C3%A9t%C3%A9", "\xC3\xA9t\xC3\xA9");

    /* a very long unknown key: name truncated to 127 bytes at a UTF-8 boundary */
    {
        static char big[4096];
        size_t      n;

        n = (size_t) snprintf(big, sizeof big, "/data/metrics/play/count?");
        memset(big + n, 'k', 126);
        n += 126;
        memcpy(big + n, "%C3%A9%C3%A9=1", 15);      /* 2-byte char straddles 127 */
        CHECK_INT(parse(big, &r), 400);
        CHECK_INT(strlen(r.err_name), 126);
        CHECK(r.err_name[0] == 'k' && r.err_name[125] == 'k');
        api_route_free(&r);

        n = (size_t) snprintf(big, sizeof big, "/data/metrics/play/count?filterBy[");
        memset(big + n, 'k', 300);
        n += 300;
        memcpy(big + n, "][x]=1", 7);
        CHECK_INT(parse(big, &r), 400);
        CHECK_INT(strlen(r.err_name), 127);
        CHECK(strncmp(r.err_name, "filterBy.kkk", 12) == 0);
        api_route_free(&r);
    }
}

static void
test_limits(void)
{
    static char buf[20000];
    static const char prefix[] = "/data/metrics/play/count?from=";
    size_t      plen = sizeof prefix - 1;
    api_route   r;

    /* exactly 16384 bytes: accepted */
    memcpy(buf, prefix, plen);
    memset(buf + plen, 'a', API_URI_MAX_LEN - plen);
    buf[API_URI_MAX_LEN] = '\0';
    CHECK_INT(strlen(buf), 16384);
    CHECK_INT(parse(buf, &r), 200);
    CHECK_INT(strlen(r.from), 16384 - plen);
    api_route_free(&r);

    /* 16385 bytes: 400 uri */
    memset(buf + plen, 'a', API_URI_MAX_LEN + 1 - plen);
    buf[API_URI_MAX_LEN + 1] = '\0';
    expect_err(__LINE__, buf, API_URI_MAX_LEN + 1, 400, "uri",
               "The URI is longer than 16384 bytes.");
    /* the fragment counts too */
    memset(buf + plen, 'a', API_URI_MAX_LEN - plen);
    buf[API_URI_MAX_LEN - 10] = '#';
    CHECK_INT(parse_n(buf, API_URI_MAX_LEN, &r), 200);
    CHECK_INT(strlen(r.from), API_URI_MAX_LEN - 10 - plen);
    api_route_free(&r);
    expect_err(__LINE__, buf, API_URI_MAX_LEN + 1, 400, "uri", NULL);
    /* len is honoured: bytes after len are never read */
    CHECK_INT(parse_n("/data/metrics/play/countXXXX", 24, &r), 200);
    CHECK_STR(r.aggregation, "count");
    api_route_free(&r);
    CHECK_INT(parse_n("/data/metrics/play/count?from=%41", 32, &r), 400);
    CHECK_STR(r.err_name, "from");
    api_route_free(&r);

    /* embedded NUL bytes */
    expect_err(__LINE__, "/data/metrics/play/count\0", 25, 400, "uri",
               "The URI contains a NUL byte.");
    expect_err(__LINE__, "/data/metrics/play/count?from=a\0b", 33, 400, "uri", NULL);
    expect_err(__LINE__, "\0/data/metrics/play/count", 25, 400, "uri", NULL);
    expect_err(__LINE__, "/data/metrics/play/count#\0", 26, 400, "uri", NULL);
    expect_err(__LINE__, "/other\0", 7, 400, "uri", NULL);

    /* NULL and empty arguments */
    CHECK_INT(api_route_parse(NULL, 0, &r), 404);
    api_route_free(&r);
    CHECK_INT(api_route_parse(NULL, 5, &r), 400);
    CHECK_STR(r.err_name, "uri");
    api_route_free(&r);
    CHECK_INT(api_route_parse("/data/metrics/play/count", 24, NULL), 400);
    CHECK_INT(api_route_parse("/data/metrics/play/count", 0, &r), 404);
    api_route_free(&r);
    ncases += 4;

    /* api_route_free is idempotent and accepts NULL / zeroed routes */
    api_route_free(NULL);
    memset(&r, 0, sizeof r);
    api_route_free(&r);
    CHECK_INT(parse("/data/metrics/play/count?from=a&filterBy[x]=1", &r), 200);
    api_route_free(&r);
    CHECK(all_pointers_null(&r));
    api_route_free(&r);
    CHECK(all_pointers_null(&r));
}

static double
now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* append printf output to a growing buffer */
static void
app(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t  n = strlen(s);

    if (*len + n + 1 > *cap)
    {
        while (*len + n + 1 > *cap)
            *cap = *cap ? *cap * 2 : 1024;
        *buf = realloc(*buf, *cap);
        if (*buf == NULL)
            abort();
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

static void
test_many_params(void)
{
    char       *buf = NULL;
    size_t      len = 0,
                cap = 0;
    char        piece[64];
    api_route   r;
    double      t0,
                t;
    int         i;

    /* 10,000 distinct filter keys (needs more than 16384 bytes) */
    app(&buf, &len, &cap, "/data/buckets/play/country?from=a");
    for (i = 0; i < 10000; i++)
    {
        snprintf(piece, sizeof piece, "&filterBy%%5Bk%d%%5D%%5B%%5D=v%d", i, i);
        app(&buf, &len, &cap, piece);
    }
    /* through api_route_parse it is simply too long */
    CHECK_INT(parse_n(buf, len, &r), 400);
    CHECK_STR(r.err_name, "uri");
    api_route_free(&r);

    t0 = now_sec();
    ncases++;
    CHECK_INT(api_route_parse_limit(buf, len, len, &r), 200);
    t = now_sec() - t0;
    CHECK_INT(r.nparams, 10001);
    CHECK_PARAM(&r, 10000, "filterBy[k9999][]", "v9999");
    CHECK(r.filter_json != NULL &&
          strncmp(r.filter_json, "{\"k0\":[\"v0\"],\"k1\":[\"v1\"],", 25) == 0);
    CHECK(r.filter_json != NULL &&
          strstr(r.filter_json, ",\"k9999\":[\"v9999\"]}") != NULL);
    CHECK(t < 1.0);
    if (t >= 1.0)
        fprintf(stderr, "10,000 distinct keys took %.3f s\n", t);
    api_route_free(&r);

    /* 10,000 values of one key */
    len = 0;
    app(&buf, &len, &cap, "/data/timeseries/play?");
    for (i = 0; i < 10000; i++)
    {
        snprintf(piece, sizeof piece, "filterBy[country][]=%d&", i);
        app(&buf, &len, &cap, piece);
    }
    t0 = now_sec();
    ncases++;
    CHECK_INT(api_route_parse_limit(buf, len, len, &r), 200);
    t = now_sec() - t0;
    CHECK_INT(r.nparams, 10000);
    CHECK(r.filter_json != NULL && strstr(r.filter_json, "\"9998\",\"9999\"]}") != NULL);
    CHECK(t < 1.0);
    api_route_free(&r);

    /* 10,000 repeated scalar filter pieces, and a duplicate at the very end */
    len = 0;
    app(&buf, &len, &cap, "/data/buckets/play/country?");
    for (i = 0; i < 10000; i++)
        app(&buf, &len, &cap, "filterBy[a]=x&");
    app(&buf, &len, &cap, "from=1&from=2");
    ncases++;
    CHECK_INT(api_route_parse_limit(buf, len, len, &r), 400);
    CHECK_STR(r.err_name, "from");
    api_route_free(&r);

    /* within 16384 bytes: as many pieces as fit, all of them keys */
    len = 0;
    app(&buf, &len, &cap, "/data/buckets/play/country?");
    for (i = 0; len + 16 <= API_URI_MAX_LEN; i++)
    {
        snprintf(piece, sizeof piece, "filterBy[%x]&", i);
        if (len + strlen(piece) > API_URI_MAX_LEN)
            break;
        app(&buf, &len, &cap, piece);
    }
    t0 = now_sec();
    CHECK_INT(parse_n(buf, len, &r), 200);
    t = now_sec() - t0;
    CHECK_INT(r.nparams, (size_t) i);
    CHECK(t < 1.0);
    api_route_free(&r);

    /* 16384 bytes of '&' and of "&=": fast, 200 and 400 */
    len = 0;
    app(&buf, &len, &cap, "/data/metrics/play/count?");
    while (len < API_URI_MAX_LEN)
        app(&buf, &len, &cap, "&");
    CHECK_INT(parse_n(buf, len, &r), 200);
    api_route_free(&r);

    free(buf);
}

static int
same_params(const api_route *a, const api_route *b)
{
    size_t  i;

    if (a->nparams != b->nparams)
        return 0;
    for (i = 0; i < a->nparams; i++)
        if (strcmp(a->params[i].key, b->params[i].key) != 0 ||
            strcmp(a->params[i].value, b->params[i].value) != 0)
            return 0;
    return 1;
}

static int
same_str(const char *a, const char *b)
{
    return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

static int
same_route(const api_route *a, const api_route *b)
{
    return a->endpoint == b->endpoint && same_str(a->path, b->path) &&
           same_str(a->metric, b->metric) &&
           same_str(a->aggregation, b->aggregation) &&
           same_str(a->breakdown, b->breakdown) &&
           same_str(a->from, b->from) && same_str(a->to, b->to) &&
           same_str(a->interval, b->interval) &&
           same_str(a->sort_by, b->sort_by) &&
           same_str(a->sort_order, b->sort_order) &&
           same_str(a->unique, b->unique) &&
           same_str(a->view_duration, b->view_duration) &&
           same_str(a->time_zone, b->time_zone) &&
           same_str(a->filter_json, b->filter_json) && same_params(a, b);
}

/*
 * parse uri, rebuild a link for page 3 / size 50, parse again: same request.
 * Only for the paginated endpoints (buckets, timeseries): a link always
 * carries currentPage/pageSize, which the metrics endpoint rejects.
 */
static void
round_trip(int line, const char *uri)
{
    long        before = unit_failed;
    api_route   a,
                b;
    char       *link;

    CHECK_INT(parse(uri, &a), 200);
    link = api_build_link(a.path, a.params, a.nparams, 3, 50);
    CHECK(link != NULL);
    if (link != NULL)
    {
        size_t  i;

        /* the link uses only unreserved characters, '/', '?', '&', '=', '%' */
        for (i = 0; link[i]; i++)
        {
            unsigned char c = (unsigned char) link[i];

            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  (c >= '0' && c <= '9') || strchr("-._~/?&=%", c) != NULL))
                break;
        }
        CHECK(link[i] == '\0');
        CHECK_INT(parse(link, &b), 200);
        CHECK(same_route(&a, &b));
        CHECK_STR(b.current_page, "3");
        CHECK_STR(b.page_size, "50");
        api_route_free(&b);
    }
    if (unit_failed > before)
        fprintf(stderr, "    link: %.300s\n", link ? link : "NULL");
    free(link);
    api_route_free(&a);
    context(before, line, uri);
}

#define ROUND_TRIP(uri) round_trip(__LINE__, (uri))

static void
test_links(void)
{
    char       *s;
    api_param   p[3];

    /* uri_encode_component */
    s = uri_encode_component("a b&c=d/e?f#g+h%i[j]k\"l\\m~n-o.p_q\xC3\xA9\x01\x7f");
    CHECK_STR(s, "a%20b%26c%3Dd%2Fe%3Ff%23g%2Bh%25i%5Bj%5Dk%22l%5Cm~n-o.p_q%C3%A9%01%7F");
    free(s);
    s = uri_encode_component("");
    CHECK_STR(s, "");
    free(s);
    s = uri_encode_component("AZaz09-._~");
    CHECK_STR(s, "AZaz09-._~");
    free(s);
    CHECK(uri_encode_component(NULL) == NULL);

    /* api_build_link */
    p[0].key = "from";
    p[0].value = "2024-05-01T00:00:00+02:00";
    p[1].key = "filterBy[country][]";
    p[1].value = "FR";
    p[2].key = "sortOrder";
    p[2].value = "";
    s = api_build_link("/data/buckets/play/country", p, 3, 2, 10);
    CHECK_STR(s, "/data/buckets/play/country?from=2024-05-01T00%3A00%3A00%2B02%3A00"
                 "&filterBy%5Bcountry%5D%5B%5D=FR&sortOrder=&currentPage=2&pageSize=10");
    free(s);
    s = api_build_link("/data/timeseries/play", NULL, 0, 1, 25);
    CHECK_STR(s, "/data/timeseries/play?currentPage=1&pageSize=25");
    free(s);
    s = api_build_link("/data/metrics/a b/c%d", p, 0, -1, 0);
    CHECK_STR(s, "/data/metrics/a%20b/c%25d?currentPage=-1&pageSize=0");
    free(s);
    CHECK(api_build_link(NULL, p, 1, 1, 1) == NULL);
    CHECK(api_build_link("/x", NULL, 1, 1, 1) == NULL);

    /* round trips */
    ROUND_TRIP("/data/buckets/play/country?from=2024-05-01T00:00:00%2B02:00&filterBy[country][]=FR"
               "&filterBy[mediaType]=video&sortBy=metricValue&sortOrder=desc&currentPage=2&pageSize=10");
    ROUND_TRIP("/data/buckets/play/media-id");
    ROUND_TRIP("/data/buckets/view/country?unique=true&viewDuration=10s&filterBy=%7B%22a%22%3A%5B1%5D%7D");
    ROUND_TRIP("http://h:1/data/timeseries/watch-time/?interval=day&timeZone=America/New_York"
               "&filterBy%5Breferrer%5D%5B1%5D=https%3A%2F%2Fa.b%2F%3Fx%3D1%26y%3D2%23z"
               "&filterBy%5Breferrer%5D%5B0%5D=&filterBy[operatingSystem]=mac+osx"
               "&filterBy[operatingSystem]=a%2Bb&aggregation=sum&pageSize=7#frag");
    ROUND_TRIP("/data/buckets/%C3%A9/x%20y%3F?from=%E2%82%AC&to=&unique&filterBy[t%22x%5C]=%5B%5D");
    ROUND_TRIP("/data/buckets/play/referrer?filterBy[a]=1&filterBy[b][]=2&filterBy[c][5]=3"
               "&filterBy[c][2]=4&sortBy=dimensionValue&currentPage=9");
    ROUND_TRIP("/data/timeseries/play?filterBy=+%7B%22x%22:%22%5C%22%22%7D");
}

/* ------------------------------------------------------------------ */
/* mini fuzz: random token soup, checking the invariants                */
/* ------------------------------------------------------------------ */

static uint32_t
rnd(uint64_t *state)
{
    /* 31-bit LCG without wrap-around (clean under -fsanitize=integer) */
    *state = (*state * UINT64_C(1103515245) + UINT64_C(12345)) & UINT64_C(0x7FFFFFFF);
    return (uint32_t) (*state >> 8);
}

static void
test_random(void)
{
    static const char *const prefixes[] = {
        "/data/metrics/play/count", "/data/buckets/play/country",
        "/data/timeseries/play", "http://h/data/buckets/a/b/", "/data/metrics/",
        "/x", "", "/data/timeseries/%C3", "/data/buckets/%41/%",
    };
    static const char *const tokens[] = {
        "?", "&", "=", "#", "%", "%4", "%41", "%5B", "%5D", "%5b", "[", "]",
        "filterBy", "filterBy[", "[]", "[0]", "[1]", "[99]", "[100]", "from",
        "to", "interval", "sortBy", "currentPage", "pageSize", "aggregation",
        "timeZone", "unique", "viewDuration", "x", "FR", "+", "%2B", "%00",
        "%C3", "%A9", "\xC3", "\xA9", "{", "}", "\"", "\\", "%22", "%5C", " ",
        "/", "%0A", "\x01", "country", "a", "filterBy[a]", "filterBy[a][]",
        "filterBy[a][0]", "filterBy={}",
    };
    const size_t ntok = sizeof tokens / sizeof tokens[0];
    uint64_t    state = 42;
    char        buf[512];
    int         iter;
    long        ok = 0,
                bad = 0,
                nf = 0;
    int         invariants_ok = 1;

    for (iter = 0; iter < 20000; iter++)
    {
        size_t      len;
        int         ntoks = (int) (rnd(&state) % 24);
        int         j;
        api_route   r;
        int         st;

        len = (size_t) snprintf(buf, sizeof buf, "%s",
                                prefixes[rnd(&state) % (sizeof prefixes / sizeof prefixes[0])]);
        if (rnd(&state) % 4 != 0 && len < sizeof buf - 1)
            buf[len++] = '?';
        for (j = 0; j < ntoks; j++)
        {
            const char *t = tokens[rnd(&state) % ntok];
            size_t      tl = strlen(t);

            if (len + tl >= sizeof buf)
                break;
            memcpy(buf + len, t, tl);
            len += tl;
        }
        buf[len] = '\0';
        st = api_route_parse(buf, len, &r);
        if (st == 200)
        {
            char       *link;
            api_route   b;

            ok++;
            if (r.path == NULL || r.metric == NULL || r.err_name[0] != '\0' ||
                r.endpoint == API_NOT_FOUND || (r.nparams > 0 && r.params == NULL))
                invariants_ok = 0;
            /* the round trip must hold for anything accepted (paginated) */
            link = api_build_link(r.path, r.params, r.nparams, 1, 25);
            memset(&b, 0, sizeof b);
            if (link == NULL ||
                (r.endpoint != API_METRICS &&
                 (api_route_parse(link, strlen(link), &b) != 200 ||
                  !same_route(&r, &b))))
            {
                invariants_ok = 0;
                fprintf(stderr, "round trip failed: %s -> %s\n", buf, link ? link : "NULL");
            }
            api_route_free(&b);
            free(link);
        }
        else if (st == 400)
        {
            bad++;
            if (r.err_name[0] == '\0' || r.err_detail[0] == '\0' ||
                !all_pointers_null(&r))
                invariants_ok = 0;
        }
        else if (st == 404)
        {
            nf++;
            if (r.err_name[0] != '\0' || !all_pointers_null(&r) ||
                r.endpoint != API_NOT_FOUND)
                invariants_ok = 0;
        }
        else
            invariants_ok = 0;
        if (r.status != st)
            invariants_ok = 0;
        api_route_free(&r);
        ncases++;
    }
    CHECK(invariants_ok);
    /* the generator reaches every outcome */
    CHECK(ok > 100);
    CHECK(bad > 100);
    CHECK(nf > 100);
}

/* ------------------------------------------------------------------ */
/* out-of-memory sweep (build with -DURI_FAULT_INJECTION)               */
/* ------------------------------------------------------------------ */

#ifdef URI_FAULT_INJECTION
static long fi_countdown = -1;  /* fail when it reaches 0; -1 = never */
static long fi_failed;

void *
uri_fi_malloc(size_t n)
{
    if (fi_countdown >= 0 && fi_countdown-- == 0)
    {
        fi_failed++;
        return NULL;
    }
    return malloc(n);
}

void *
uri_fi_realloc(void *p, size_t n)
{
    if (fi_countdown >= 0 && fi_countdown-- == 0)
    {
        fi_failed++;
        return NULL;
    }
    return realloc(p, n);
}

static void
test_oom(void)
{
    static const char *const uris[] = {
        "/data/buckets/play/country?from=2024-05-01T00:00:00%2B02:00&filterBy[country][]=FR"
        "&filterBy[mediaType]=video&sortBy=metricValue&sortOrder=desc&currentPage=2&pageSize=10",
        "/data/timeseries/play?filterBy[a][3]=x&filterBy[a][1]=y&filterBy[b]=1&filterBy[b]=2"
        "&filterBy[c]=1&filterBy[d]=1&filterBy[e]=1&filterBy[f]=1&filterBy[g]=1&filterBy[h]=1"
        "&filterBy[i]=1&filterBy[j]=1&filterBy[k]=1&filterBy[l]=1&filterBy[m]=1&filterBy[n]=1"
        "&from=a&to=b&interval=c&sortBy=d&sortOrder=e&unique=f&viewDuration=g&aggregation=h"
        "&timeZone=i&filterBy[o][]=1&filterBy[o][]=2&filterBy[o][]=3&filterBy[o][]=4&filterBy[o][]=5",
        "/data/metrics/play/count?filterBy=%7B%7D&from=x",
        "/data/metrics/play/count?from=%zz",
        "/data/metrics/%C3%A9/count",
    };
    size_t      u;
    int         all_ok = 1;

    for (u = 0; u < sizeof uris / sizeof uris[0]; u++)
    {
        long    n;

        for (n = 0;; n++)
        {
            api_route   r;
            int         st;
            char       *link = NULL;

            fi_failed = 0;
            fi_countdown = n;
            st = api_route_parse(uris[u], strlen(uris[u]), &r);
            if (st == 200)
                link = api_build_link(r.path, r.params, r.nparams, 1, 2);
            fi_countdown = -1;
            ncases++;
            if (fi_failed == 0)
            {
                /* allocation n was never reached: sweep done */
                if (link == NULL && st == 200)
                    all_ok = 0;
                free(link);
                api_route_free(&r);
                break;
            }
            if (st == 400 && strcmp(r.err_name, "uri") != 0 &&
                strcmp(r.err_name, "from") != 0)   /* uris[3] fails on its own */
                all_ok = 0;
            if (st != 200 && st != 400)
                all_ok = 0;
            if (st != 200 && !all_pointers_null(&r))
                all_ok = 0;
            free(link);
            api_route_free(&r);
        }
    }
    /* encode/link return NULL on failure */
    {
        api_param   p = {"k", "v"};

        fi_countdown = 0;
        CHECK(uri_encode_component("abc") == NULL);
        fi_countdown = 0;
        CHECK(api_build_link("/p", &p, 1, 1, 1) == NULL);
        fi_countdown = -1;
    }
    CHECK(all_ok);
}
#endif

int
main(void)
{
    test_endpoints();
    test_paths();
    test_full_url();
    test_filter_forms();
    test_filter_errors();
    test_query_syntax();
    test_unknown_keys();
    test_limits();
    test_many_params();
    test_links();
    test_random();
#ifdef URI_FAULT_INJECTION
    test_oom();
#endif
    if (getenv("URI_TEST_VERBOSE") != NULL)
        fprintf(stderr, "(%ld URIs parsed)\n", ncases);
    return UNIT_REPORT("uri");
}
