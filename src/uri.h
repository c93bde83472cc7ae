/*
 * uri.h - URI router for analytics.api_request(uri)
 *
 * Plain C99, libc only (no PostgreSQL dependency), so that it can be unit
 * tested and fuzzed on its own.  It does SYNTAX and ROUTING only: it splits
 * the path and the query string of a REST call, percent-decodes them, checks
 * which query parameters each endpoint accepts, and turns the `filterBy`
 * deepObject forms into one JSON object text.  It does not validate values
 * (metric / aggregation / breakdown names, dates, numbers, filter keys):
 * the PostgreSQL wrapper does that after a 200 from api_route_parse().
 *
 * Guarantees: never crashes, never reads outside [uri, uri + len), no global
 * or static mutable state (thread-safe), no recursion, linear time in the
 * input length (filterBy[key][n] inserts are bounded by 100 per key).
 * All memory comes from malloc() and is released by api_route_free().
 * A malloc() failure gives status 400 with err_name "uri" (never a crash).
 *
 * See the README (Querying: the JSON API) and the comments below for the exact rules.
 */
#ifndef ANALYTICS_URI_H
#define ANALYTICS_URI_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest URI accepted by api_route_parse(), in bytes (fragment included).
 * A longer one is a 400 with err_name "uri". */
#define API_URI_MAX_LEN 16384

/* Highest index accepted in filterBy[key][n] (0..API_FILTER_MAX_INDEX). */
#define API_FILTER_MAX_INDEX 99

/* Which of the three REST endpoints a path names. */
typedef enum
{
    API_NOT_FOUND = 0,  /* not one of the endpoints (status 404) or not parsed */
    API_METRICS,        /* /data/metrics/{metric}/{aggregation} */
    API_BUCKETS,        /* /data/buckets/{metric}/{breakdown} */
    API_TIMESERIES      /* /data/timeseries/{metric} */
} api_endpoint;

/* One query parameter, percent-decoded ('+' already turned into a space).
 * Both strings are NUL-terminated, valid UTF-8, without NUL bytes. */
typedef struct api_param
{
    char *key;      /* e.g. "from", "filterBy[country][]" */
    char *value;    /* "" for "key=" and for a bare "key" */
} api_param;

/*
 * The outcome of api_route_parse().
 *
 * Every string is NUL-terminated, valid UTF-8 without NUL bytes, owned by the
 * route (each one is its own malloc() block) and released by
 * api_route_free(); do not free() them individually.
 *
 * When status != 200, every pointer field is NULL and nparams is 0; only
 * endpoint, status, err_name and err_detail are meaningful.
 */
typedef struct api_route
{
    api_endpoint endpoint;  /* API_NOT_FOUND on 404; on 400, the endpoint when
                             * the path was routable, else API_NOT_FOUND */

    /* Normalized decoded path "/data/<endpoint>/<metric>[/<second>]": no
     * trailing slash, no scheme/authority, no query/fragment.  Meant to be
     * passed to api_build_link(), which re-encodes each segment. */
    char *path;
    char *metric;       /* decoded {metric} segment (all endpoints) */
    char *aggregation;  /* metrics: the {aggregation} segment;
                         * buckets/timeseries: the `aggregation` query param
                         * (NULL when absent) */
    char *breakdown;    /* buckets: the {breakdown} segment; else NULL */

    /* Scalar query parameters (REST name in comments), decoded; NULL when
     * absent, "" when given empty ("from=" or a bare "from"). */
    char *from;          /* from */
    char *to;            /* to */
    char *interval;      /* interval      (timeseries only) */
    char *sort_by;       /* sortBy        (buckets, timeseries) */
    char *sort_order;    /* sortOrder     (buckets, timeseries) */
    char *current_page;  /* currentPage   (buckets, timeseries) */
    char *page_size;     /* pageSize      (buckets, timeseries) */
    char *unique;        /* unique */
    char *view_duration; /* viewDuration */
    char *time_zone;     /* timeZone      (timeseries only) */

    /* filterBy as the text of a JSON object, NULL when no filterBy was given.
     * Bracket forms are built here, compact, keys in first-seen order:
     *   filterBy[k]=v            -> "k":"v"  (given twice -> "k":["v","w"])
     *   filterBy[k][]=v          -> "k":["v", ...]   (request order)
     *   filterBy[k][n]=v         -> "k":[...]        (ordered by n, gaps removed)
     * e.g. {"country":["FR","DE"],"mediaType":"video"}.
     * The JSON form filterBy={...} is passed through unchanged (only checked
     * to be non-empty and to start with '{' after JSON whitespace); the
     * caller must parse it.
     * Brackets may be raw or percent-encoded (%5B %5D), identically.  400
     * "filterBy.<key>" (or "filterBy" when there is no key): JSON form mixed
     * with bracket forms or given twice, [k]= mixed with [k][]/[k][n] for one
     * key, [k][] mixed with [k][n], duplicate or out-of-range (0..99) index,
     * deeper nesting ([a][b], [a][b][c]), empty key ([]), unbalanced or
     * stray brackets, a bad JSON-form value, a badly encoded value.  Filter
     * key names are not checked here. */
    char *filter_json;

    /* Every accepted query parameter except currentPage and pageSize, in
     * request order, decoded: the scalar ones above (including `aggregation`)
     * and each filterBy piece as given (key "filterBy[country][]", value
     * "FR"; or key "filterBy", value the JSON text).  Feed them to
     * api_build_link() to rebuild the request with another page. */
    size_t nparams;
    api_param *params;

    /* outcome */
    int status;            /* 200 routable, 400 bad request, 404 unknown path */
    char err_name[128];    /* 400 only (else ""): the offending parameter:
                            *  "uri"  whole URI (too long, NUL byte, malformed
                            *         or non-UTF-8 parameter name, empty
                            *         parameter name, out of memory);
                            *  "metric" / "aggregation" / "breakdown"  a path
                            *         segment with bad percent-encoding;
                            *  "<key>" a scalar or unknown parameter, as
                            *         decoded (camelCase REST name);
                            *  "filterBy" / "filterBy.<key>"  filter errors.
                            * Valid UTF-8, possibly with control characters
                            * (JSON-escape it); truncated at a character
                            * boundary to 127 bytes. */
    char err_detail[256];  /* 400 only (else ""): one English sentence */
} api_route;

/*
 * Parse and route `uri` (len bytes, need not be NUL-terminated; embedded NUL
 * bytes are rejected).  Accepts "/data/...?query", or a full URL
 * "scheme://authority/data/...?query"; a "#fragment" is ignored.
 *
 * Order of checks: length and NUL bytes (400 "uri"), then the path (404),
 * then the query parameters in request order (the first error wins).
 *
 * Path: exactly /data/metrics/{metric}/{aggregation},
 * /data/buckets/{metric}/{breakdown} or /data/timeseries/{metric}, one
 * trailing '/' tolerated; every segment is percent-decoded ('+' stays '+'),
 * the literal ones compared case-sensitively after decoding.  Anything else
 * is a 404, including an empty segment and a segment that decodes to
 * contain '/' (%2F: it would make the decoded path ambiguous).  Bad
 * percent-encoding / invalid UTF-8 / %00 in a variable segment is a 400
 * naming "metric", "aggregation" or "breakdown".  The segment values are
 * not checked against the metric lists: that is the caller's job.
 *
 * Query: split on '&' (empty pieces ignored), key/value on the first '='
 * (a bare key has value ""), '+' is a space, %XX decoded; see err_name for
 * the 400 cases.  Parameter names are case-sensitive REST camelCase.
 *
 * Initializes *out completely (whatever it held before is overwritten, not
 * freed: call api_route_free() first when reusing one).  Returns out->status.
 * Always call api_route_free(out) afterwards (harmless on error results).
 * uri may be NULL only when len == 0.  out == NULL returns 400.
 */
int api_route_parse(const char *uri, size_t len, api_route *out);

/* Same as api_route_parse() with another length limit instead of
 * API_URI_MAX_LEN (for tests and fuzzing of very large inputs). */
int api_route_parse_limit(const char *uri, size_t len, size_t max_len,
                          api_route *out);

/* Free everything api_route_parse() allocated and reset the pointer fields
 * to NULL / nparams to 0 (so a second call is harmless).  NULL is a no-op. */
void api_route_free(api_route *r);

/* Percent-encode one URI component: RFC 3986 unreserved characters
 * (A-Z a-z 0-9 - . _ ~) are kept, every other byte becomes %XX (upper-case
 * hex; a space becomes %20).  Returns a malloc()'d string, or NULL when s is
 * NULL or on malloc failure. */
char *uri_encode_component(const char *s);

/*
 * Build a pagination link: the path with each '/'-separated segment
 * percent-encoded as by uri_encode_component() (the '/' kept), then
 * "?" + every param as key=value (both encoded, brackets as %5B/%5D, in the
 * given order, joined by '&') + "currentPage=N&pageSize=M".
 * e.g. /data/buckets/play/country?filterBy%5Bcountry%5D%5B%5D=FR&currentPage=2&pageSize=10
 * Returns a malloc()'d string, or NULL when path is NULL, when params is
 * NULL while nparams > 0, or on malloc failure.  For the paginated endpoints
 * (buckets, timeseries) parsing the result gives back the same route and
 * params, with currentPage/pageSize replaced.  (The metrics endpoint has no
 * pagination and rejects currentPage/pageSize.)  The link is relative: no
 * scheme or authority even when the request was a full URL.
 */
char *api_build_link(const char *path, const api_param *params, size_t nparams,
                     long current_page, long page_size);

#ifdef __cplusplus
}
#endif

#endif /* ANALYTICS_URI_H */
