--
-- api_json: the JSON API (api_metrics, api_buckets, api_timeseries) and the
-- REST entry point api_request (200 answers; the 400s are in api_errors) on
-- the dataset of api_data. Values are the ones worked out in api_metric,
-- api_breakdown and api_timeseries; NULL there is 0 here. Timestamps in
-- bodies contain dates: they are compared with values computed from D0, or
-- printed as offsets from D0.
--
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';

--
-- api_metrics: every valid pair, day 0, project tA (values as in api_metric):
--   play/count 9, play/rate 0.818181818, play/total 1037, start 7, end 2, impression 11,
--   impression-time average 400 / sum 4400, watch-time average 33.777777778 / sum 304,
--   view 6, ccv peak 3, ccv average 0.003611111 (ccv live: in api_metric).
-- Counts (play count/total, start, end, impression, view, ccv peak) are JSON integers.
-- context = {metric, aggregation, timeframe {from: D0, to: D0 + 1 day}} in +00:00.
SELECT t.m, t.a, jsonb_typeof(b->'data') AS type, api_num((b->>'data')::float8) AS data,
       CASE WHEN t.is_count THEN (b->>'data') ~ '^[0-9]+$' END AS integer_text,
       b#>>'{context,metric}' = t.m AND b#>>'{context,aggregation}' = t.a AS context_ok,
       b#>'{context,timeframe}' = jsonb_build_object('from', api_iso(api_d0('0')), 'to', api_iso(api_d0('1 day'))) AS timeframe_ok,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(b) k) AS keys
  FROM (VALUES ('play', 'count', true), ('play', 'rate', false), ('play', 'total', true), ('start', 'count', true),
               ('end', 'count', true), ('impression', 'count', true), ('impression-time', 'average', false),
               ('impression-time', 'sum', false), ('watch-time', 'average', false), ('watch-time', 'sum', false),
               ('view', 'count', true), ('ccv', 'peak', true), ('ccv', 'average', false)) t(m, a, is_count),
       LATERAL analytics.api_metrics(t.m, t.a, api_d0('0'), api_d0('1 day'), project_id => 'tA') b;
-- options: view unique 4, view 10s 5, view 30s unique 3, ccv peak unique 2, filter country FR plays 4
SELECT b->'data' AS data FROM analytics.api_metrics('view', 'count', api_d0('0'), api_d0('1 day'), unique_viewers => true, project_id => 'tA') b
UNION ALL
SELECT b->'data' FROM analytics.api_metrics('view', 'count', api_d0('0'), api_d0('1 day'), view_duration => '10s', project_id => 'tA') b
UNION ALL
SELECT b->'data' FROM analytics.api_metrics('view', 'count', api_d0('0'), api_d0('1 day'), unique_viewers => true, view_duration => '30s', project_id => 'tA') b
UNION ALL
SELECT b->'data' FROM analytics.api_metrics('ccv', 'peak', api_d0('0'), api_d0('1 day'), unique_viewers => true, project_id => 'tA') b
UNION ALL
SELECT b->'data' FROM analytics.api_metrics('play', 'count', api_d0('0'), api_d0('1 day'), '{"country": "FR"}', project_id => 'tA') b;

-- An empty period ([03:00, 04:00)): every value 0 in JSON, the NULL averages and rate included
SELECT t.m, t.a, b->'data' AS data
  FROM (VALUES ('play', 'count'), ('play', 'rate'), ('impression-time', 'average'), ('impression-time', 'sum'),
               ('watch-time', 'average'), ('watch-time', 'sum'), ('view', 'count'), ('ccv', 'peak'), ('ccv', 'average')) t(m, a),
       LATERAL analytics.api_metrics(t.m, t.a, api_d0('03:00'), api_d0('04:00'), project_id => 'tA') b;
-- The default period: to = now (seconds), from = to - 1 day; no tA play in it: 0
SELECT b->'data' AS data,
       b#>>'{context,timeframe,to}' = api_iso(now()) AS to_is_now,
       b#>>'{context,timeframe,from}' = api_iso(now() - interval '1 day') AS from_is_to_minus_1_day
  FROM analytics.api_metrics('play', 'count', project_id => 'tA') b;

--
-- api_buckets: play by country, day 0, tA: FR 4, US 2, DE 1, JP 1, unknown 1
SELECT jsonb_pretty(b->'data') AS data,
       b#>>'{context,metric}' AS metric, b#>>'{context,breakdown}' AS breakdown,
       b#>'{context,timeframe}' = jsonb_build_object('from', api_iso(api_d0('0')), 'to', api_iso(api_d0('1 day'))) AS timeframe_ok,
       (b#>'{pagination}') - 'links' AS pagination
  FROM analytics.api_buckets('play', 'country', api_d0('0'), api_d0('1 day'), project_id => 'tA') b;
-- Pages of 2 of these 5 items: pagesTotal = ceil(5/2) = 3.
--   page 1: FR 4, US 2;  links self(1) first(1) next(2) last(3)
--   page 2: DE 1, JP 1;  links self(2) first(1) previous(1) next(3) last(3)
--   page 3: unknown 1;   links self(3) first(1) previous(2) last(3)
--   page 4 (past the end): no data, 0 items; links self(4) first(1) previous(3) last(3)
-- Link URIs: /data/buckets/play/country?...&currentPage=N&pageSize=2
SELECT p AS page, b#>'{pagination,currentPage}' AS current_page, b#>'{pagination,currentPageItems}' AS items,
       b#>'{pagination,pageSize}' AS page_size, b#>'{pagination,pagesTotal}' AS pages_total,
       b#>'{pagination,itemsTotal}' AS items_total,
       (SELECT string_agg(d->>'dimensionValue' || '=' || (d->>'metricValue'), ' ' ORDER BY n)
          FROM jsonb_array_elements(b->'data') WITH ORDINALITY x(d, n)) AS data,
       jsonb_typeof(b->'data') AS data_type,
       (SELECT string_agg(format('%s(%s)', l->>'rel', substring(l->>'uri' FROM '[?&]currentPage=(\d+)')), ' ' ORDER BY n)
          FROM jsonb_array_elements(b#>'{pagination,links}') WITH ORDINALITY x(l, n)) AS links,
       (SELECT bool_and(l->>'uri' LIKE '/data/buckets/play/country?%' AND l->>'uri' ~ '[?&]pageSize=2($|&)')
          FROM jsonb_array_elements(b#>'{pagination,links}') l) AS uris_ok
  FROM generate_series(1, 4) p,
       LATERAL analytics.api_buckets('play', 'country', api_d0('0'), api_d0('1 day'), current_page => p, page_size => 2,
                                     project_id => 'tA') b;
-- one page of 100: 5 items, links self first last;  an empty period: data [], itemsTotal 0, pagesTotal 1
SELECT (b#>'{pagination}') - 'links' AS pagination, jsonb_array_length(b->'data') AS n,
       (SELECT string_agg(format('%s(%s)', l->>'rel', substring(l->>'uri' FROM '[?&]currentPage=(\d+)')), ' ' ORDER BY n)
          FROM jsonb_array_elements(b#>'{pagination,links}') WITH ORDINALITY x(l, n)) AS links
  FROM analytics.api_buckets('play', 'country', api_d0('0'), api_d0('1 day'), page_size => 100, project_id => 'tA') b
UNION ALL
SELECT (b#>'{pagination}') - 'links', jsonb_array_length(b->'data'),
       (SELECT string_agg(format('%s(%s)', l->>'rel', substring(l->>'uri' FROM '[?&]currentPage=(\d+)')), ' ' ORDER BY n)
          FROM jsonb_array_elements(b#>'{pagination,links}') WITH ORDINALITY x(l, n))
  FROM analytics.api_buckets('play', 'country', api_d0('03:00'), api_d0('04:00'), project_id => 'tA') b;
-- NULL metric values are 0 in JSON, in the SQL order: tB play-rate by media-id: m1 1, m9 0 (NULL)
SELECT b->'data' AS data
  FROM analytics.api_buckets('play-rate', 'media-id', api_d0('0'), api_d0('1 day'), project_id => 'tB') b;
-- play-total by media-id: counts, integers: m1 1003, m3 22, m5 7, m2 4, m4 1
SELECT b->'data' AS data FROM analytics.api_buckets('play-total', 'media-id', project_id => 'tA') b;
-- an aggregation, and sort by dimension: impression-time sum by media-id asc: m1 750, m2 2250, m3 1100, m4 300
SELECT b->'data' AS data
  FROM analytics.api_buckets('impression-time', 'media-id', api_d0('0'), api_d0('1 day'), sort_by => 'dimensionValue',
                             sort_order => 'asc', aggregation => 'sum', project_id => 'tA') b;

--
-- api_timeseries: play, hours 9-11 of day 0, tA: 0, 6, 0; emittedAt in +00:00
SELECT (d->>'emittedAt')::timestamptz - api_d0('0') AS bucket, d->'metricValue' AS value,
       d->>'emittedAt' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$' AS format_ok
  FROM analytics.api_timeseries('play', api_d0('09:00'), api_d0('12:00'), 'hour', project_id => 'tA') b,
       jsonb_array_elements(b->'data') d;
SELECT b#>>'{context,metric}' AS metric, b#>>'{context,interval}' AS "interval",
       b#>'{context,timeframe}' = jsonb_build_object('from', api_iso(api_d0('09:00')), 'to', api_iso(api_d0('12:00'))) AS timeframe_ok,
       (b#>'{pagination}') - 'links' AS pagination
  FROM analytics.api_timeseries('play', api_d0('09:00'), api_d0('12:00'), 'hour', project_id => 'tA') b;
-- empty buckets of averages and rates are 0: impression-time average 0, 464.285714286, 150; play-rate 0, 0.857142857, 0
SELECT t.m, string_agg(api_num((d->>'metricValue')::float8), ' ' ORDER BY n) AS "values"
  FROM (VALUES (1, 'impression-time'), (2, 'play-rate')) t(i, m),
       LATERAL analytics.api_timeseries(t.m, api_d0('09:00'), api_d0('12:00'), 'hour', project_id => 'tA') b,
       LATERAL jsonb_array_elements(b->'data') WITH ORDINALITY x(d, n)
 GROUP BY t.i, t.m ORDER BY t.i;
-- default interval in the context: hour for day 0, day for 2 days + 1 hour
SELECT (SELECT b#>>'{context,interval}' FROM analytics.api_timeseries('play', api_d0('0'), api_d0('1 day'), project_id => 'tA') b) AS one_day,
       (SELECT b#>>'{context,interval}' FROM analytics.api_timeseries('play', api_d0('0'), api_d0('2 days 01:00'), project_id => 'tA') b) AS more_than_2_days;
-- Asia/Kolkata: hours of [10:00, 12:00) UTC start at 15:00, 16:00, 17:00 local (+05:30) on D0's date:
--   6, 0, 0; the timeframe in +05:30 too: from 15:30, to 17:30
SELECT left(d->>'emittedAt', 10) = to_char(api_d0('0'), 'YYYY-MM-DD') AS date_ok, substr(d->>'emittedAt', 11) AS local_time,
       d->'metricValue' AS value
  FROM analytics.api_timeseries('play', api_d0('10:00'), api_d0('12:00'), 'hour', time_zone => 'Asia/Kolkata', project_id => 'tA') b,
       jsonb_array_elements(b->'data') d;
SELECT b#>>'{context,timeframe,from}' = to_char(api_d0('15:30'), 'YYYY-MM-DD"T"HH24:MI:SS"+05:30"') AS from_ok,
       b#>>'{context,timeframe,to}' = to_char(api_d0('17:30'), 'YYYY-MM-DD"T"HH24:MI:SS"+05:30"') AS to_ok
  FROM analytics.api_timeseries('play', api_d0('10:00'), api_d0('12:00'), 'hour', time_zone => 'Asia/Kolkata', project_id => 'tA') b;
-- pages of 10 of the 24 hours of day 0: page 3 = hours 20-23: 0, 0, 1 (S10), 1 (S11); pagesTotal 3
SELECT (d->>'emittedAt')::timestamptz - api_d0('0') AS bucket, d->'metricValue' AS value
  FROM analytics.api_timeseries('play', api_d0('0'), api_d0('1 day'), 'hour', current_page => 3, page_size => 10, project_id => 'tA') b,
       jsonb_array_elements(b->'data') d;
SELECT (b#>'{pagination}') - 'links' AS pagination,
       (SELECT string_agg(format('%s(%s)', l->>'rel', substring(l->>'uri' FROM '[?&]currentPage=(\d+)')), ' ' ORDER BY n)
          FROM jsonb_array_elements(b#>'{pagination,links}') WITH ORDINALITY x(l, n)) AS links,
       (SELECT bool_and(l->>'uri' LIKE '/data/timeseries/play?%') FROM jsonb_array_elements(b#>'{pagination,links}') l) AS uris_ok
  FROM analytics.api_timeseries('play', api_d0('0'), api_d0('1 day'), 'hour', current_page => 3, page_size => 10, project_id => 'tA') b;
-- sortOrder desc: 11h 0, 10h 6, 9h 0
SELECT (d->>'emittedAt')::timestamptz - api_d0('0') AS bucket, d->'metricValue' AS value
  FROM analytics.api_timeseries('play', api_d0('09:00'), api_d0('12:00'), 'hour', sort_order => 'desc', project_id => 'tA') b,
       jsonb_array_elements(b->'data') d;

--
-- api_request: the REST calls.
-- metrics, day 0: 200, play count 9, the timeframe of the request
SELECT r.status, r.body->'data' AS data,
       r.body#>'{context,timeframe}' = jsonb_build_object('from', api_iso(api_d0('0')), 'to', api_iso(api_d0('1 day'))) AS timeframe_ok,
       r.body#>>'{context,metric}' AS metric, r.body#>>'{context,aggregation}' AS aggregation
  FROM analytics.api_request(format('/data/metrics/play/count?from=%s&to=%s', api_z('0'), api_z('1 day')), 'tA') r;
-- filterBy forms (day 0, play count):
--   filterBy[country]=FR                                  4
--   filterBy[country][]=FR&filterBy[country][]=US         6 (FR 4 + US 2)
--   filterBy[country][0]=FR&filterBy[country][1]=US       6
--   percent-encoded brackets, country FR                  4
--   JSON object {"country":["FR"]}, percent-encoded       4
--   filterBy[operatingSystem]=mac+osx ('+' is a space)    1 (S11)
--   filterBy[operatingSystem]=mac%20osx                   1
--   filterBy[referrer]= (empty: no referrer)              3 (S2 S6 S10)
--   filterBy[referrer]=https%3A%2F%2Fa.example%2F         3 (S1 S3 S11)
--   filterBy[tag]=sport                                   4 (m1 m3)
--   filterBy[country]=FR&filterBy[deviceType]=phone       2 (S2 S10)
--   filterBy[mediaType]=live-stream                       2
--   filterBy[mediaId][]=m1&filterBy[mediaId][]=m4         3 (S1 S2 S11)
SELECT q, r.status, r.body->'data' AS data
  FROM (VALUES ('filterBy[country]=FR'), ('filterBy[country][]=FR&filterBy[country][]=US'),
               ('filterBy[country][0]=FR&filterBy[country][1]=US'), ('filterBy%5Bcountry%5D%5B%5D=FR'),
               ('filterBy=%7B%22country%22%3A%5B%22FR%22%5D%7D'), ('filterBy[operatingSystem]=mac+osx'),
               ('filterBy[operatingSystem]=mac%20osx'), ('filterBy[referrer]='),
               ('filterBy[referrer]=https%3A%2F%2Fa.example%2F'), ('filterBy[tag]=sport'),
               ('filterBy[country]=FR&filterBy[deviceType]=phone'), ('filterBy[mediaType]=live-stream'),
               ('filterBy[mediaId][]=m1&filterBy[mediaId][]=m4')) t(q),
       LATERAL analytics.api_request(format('/data/metrics/play/count?from=%s&to=%s&%s', api_z('0'), api_z('1 day'), q), 'tA') r;
-- dates: with an offset (D0 + 02:00 at +02:00 = D0), fractional seconds, a negative offset
-- (D0 + 1 day - 05:00 at -05:00 = D0 + 1 day): the same day 0, 9 plays, timeframe printed in UTC
SELECT r.status, r.body->'data' AS data,
       r.body#>'{context,timeframe}' = jsonb_build_object('from', api_iso(api_d0('0')), 'to', api_iso(api_d0('1 day'))) AS timeframe_ok
  FROM analytics.api_request(format('/data/metrics/play/count?from=%s%%2B02:00&to=%s.000Z',
                                    to_char(api_d0('02:00'), 'YYYY-MM-DD"T"HH24:MI:SS'), left(api_z('1 day'), 19)), 'tA') r
UNION ALL
SELECT r.status, r.body->'data',
       r.body#>'{context,timeframe}' = jsonb_build_object('from', api_iso(api_d0('0')), 'to', api_iso(api_d0('1 day')))
  FROM analytics.api_request(format('/data/metrics/play/count?from=%s.5Z&to=%s-05:00',
                                    left(api_z('0'), 19), to_char(api_d0('19:00'), 'YYYY-MM-DD"T"HH24:MI:SS')), 'tA') r;
-- options: unique=true (view 4), viewDuration=10s (5), both with 30s (3), ccv peak unique (2),
-- ccv average (0.003611111), play total (1037), play total of m1 (1003)
SELECT q, r.status, api_num((r.body->>'data')::float8) AS data
  FROM (VALUES ('view/count?unique=true'), ('view/count?viewDuration=10s'), ('view/count?unique=true&viewDuration=30s'),
               ('ccv/peak?unique=true'), ('ccv/average?'), ('play/total?'), ('play/total?filterBy[mediaId]=m1')) t(q),
       LATERAL analytics.api_request(format('/data/metrics/%s%sfrom=%s&to=%s', q, CASE WHEN q LIKE '%?' THEN '' ELSE '&' END,
                                            api_z('0'), api_z('1 day')), 'tA') r;
-- project: argument tB -> 2; no argument + setting tA -> 9; setting tA + argument tB -> 0
SELECT r.status, r.body->'data' AS tb
  FROM analytics.api_request(format('/data/metrics/play/count?from=%s&to=%s', api_z('0'), api_z('1 day')), 'tB') r;
SET analytics.project_id = 'tA';
SELECT r.status, r.body->'data' AS setting_ta
  FROM analytics.api_request(format('/data/metrics/play/count?from=%s&to=%s', api_z('0'), api_z('1 day'))) r;
SELECT r.status, r.body->'data' AS setting_ta_argument_tb
  FROM analytics.api_request(format('/data/metrics/play/count?from=%s&to=%s', api_z('0'), api_z('1 day')), 'tB') r;
RESET analytics.project_id;

-- buckets: sortBy=dimensionValue&sortOrder=asc: DE 1, FR 4, JP 1, US 2, unknown 1
SELECT r.status, r.body->'data' AS data
  FROM analytics.api_request(format('/data/buckets/play/country?from=%s&to=%s&sortBy=dimensionValue&sortOrder=asc',
                                    api_z('0'), api_z('1 day')), 'tA') r;
-- aggregation=sum: impression-time by media-id: m2 2250, m3 1100, m1 750, m4 300
SELECT r.status, r.body->'data' AS data
  FROM analytics.api_request(format('/data/buckets/impression-time/media-id?from=%s&to=%s&aggregation=sum',
                                    api_z('0'), api_z('1 day')), 'tA') r;
-- unique=true&viewDuration=5s by country: FR 2, DE 1, JP 1, unknown 0
SELECT r.status, r.body->'data' AS data
  FROM analytics.api_request(format('/data/buckets/view/country?from=%s&to=%s&unique=true&viewDuration=5s',
                                    api_z('0'), api_z('1 day')), 'tA') r;
-- play-total by media-id (no period): m1 1003, m3 22, m5 7, m2 4, m4 1
SELECT r.status, r.body->'data' AS data FROM analytics.api_request('/data/buckets/play-total/media-id', 'tA') r;
-- Pagination links reproduce the request's parameters (keys and values percent-encoded,
-- brackets as %5B %5D), with currentPage and pageSize at the end. The referrer filter
-- '', a, b keeps every play: FR 4, US 2 | DE 1, JP 1 | unknown 1.
-- page 2 of 3: self(2) first(1) previous(1) next(3) last(3); decoded self link =
--   /data/buckets/play/country?from=F&to=T&filterBy[referrer][]=&filterBy[referrer][]=https://a.example/
--   &filterBy[referrer][]=https://b.example/&sortBy=metricValue&sortOrder=desc&currentPage=2&pageSize=2
CREATE TEMP TABLE api_page AS
SELECT r.status, r.body
  FROM analytics.api_request(format('/data/buckets/play/country?from=%s&to=%s&filterBy[referrer][]=&filterBy%%5Breferrer%%5D%%5B%%5D=https%%3A%%2F%%2Fa.example%%2F'
                                    '&filterBy[referrer][]=https://b.example/&sortBy=metricValue&sortOrder=desc&currentPage=2&pageSize=2',
                                    api_z('0'), api_z('1 day')), 'tA') r;
SELECT status, body->'data' AS data, (body#>'{pagination}') - 'links' AS pagination FROM api_page;
SELECT l->>'rel' AS rel,
       api_urldecode(l->>'uri') = format('/data/buckets/play/country?from=%s&to=%s&filterBy[referrer][]=&filterBy[referrer][]=https://a.example/'
                                         '&filterBy[referrer][]=https://b.example/&sortBy=metricValue&sortOrder=desc&currentPage=%s&pageSize=2',
                                         api_z('0'), api_z('1 day'), p) AS decoded_ok,
       strpos(l->>'uri', '%5B') > 0 AND strpos(l->>'uri', '%5D') > 0 AND l->>'uri' !~ '[][ ]' AS encoded_ok,
       p AS expected_page
  FROM api_page, jsonb_array_elements(body#>'{pagination,links}') WITH ORDINALITY x(l, n),
       LATERAL (SELECT CASE l->>'rel' WHEN 'self' THEN 2 WHEN 'first' THEN 1 WHEN 'previous' THEN 1 WHEN 'next' THEN 3
                                      WHEN 'last' THEN 3 END AS p) e
 ORDER BY n;
-- following the next link gives page 3: unknown 1, previous(2), no next
SELECT r.status, r.body->'data' AS data,
       (SELECT string_agg(format('%s(%s)', l->>'rel', substring(l->>'uri' FROM '[?&]currentPage=(\d+)')), ' ' ORDER BY n)
          FROM jsonb_array_elements(r.body#>'{pagination,links}') WITH ORDINALITY x(l, n)) AS links
  FROM api_page, jsonb_array_elements(body#>'{pagination,links}') l,
       LATERAL analytics.api_request(l->>'uri', 'tA') r
 WHERE l->>'rel' = 'next';
-- past the end (currentPage=9): 200, empty data, 0 items
SELECT r.status, r.body->'data' AS data, r.body#>'{pagination,currentPageItems}' AS items, r.body#>'{pagination,pagesTotal}' AS pages
  FROM analytics.api_request(format('/data/buckets/play/country?from=%s&to=%s&currentPage=9&pageSize=2', api_z('0'), api_z('1 day')), 'tA') r;
-- no paging parameters: currentPage 1, pageSize 25 appended to the links: first link decoded =
--   /data/buckets/play/country?from=F&to=T&currentPage=1&pageSize=25
SELECT r.status, (r.body#>'{pagination}') - 'links' AS pagination,
       api_urldecode(r.body#>>'{pagination,links,0,uri}')
         = format('/data/buckets/play/country?from=%s&to=%s&currentPage=1&pageSize=25', api_z('0'), api_z('1 day')) AS self_ok
  FROM analytics.api_request(format('/data/buckets/play/country?from=%s&to=%s', api_z('0'), api_z('1 day')), 'tA') r;

-- timeseries: interval=hour&timeZone=Asia/Kolkata over [10:00, 12:00) UTC: 15:00, 16:00, 17:00 +05:30: 6, 0, 0
SELECT r.status, substr(d->>'emittedAt', 11) AS local_time, d->'metricValue' AS value
  FROM analytics.api_request(format('/data/timeseries/play?from=%s&to=%s&interval=hour&timeZone=Asia/Kolkata',
                                    api_z('10:00'), api_z('12:00')), 'tA') r,
       jsonb_array_elements(r.body->'data') d;
-- interval=minute, [10:00, 10:03): 2, 3, 0; default interval (day 0) -> context interval hour, 24 items
SELECT r.status, (d->>'emittedAt')::timestamptz - api_d0('0') AS bucket, d->'metricValue' AS value
  FROM analytics.api_request(format('/data/timeseries/play?from=%s&to=%s&interval=minute', api_z('10:00'), api_z('10:03')), 'tA') r,
       jsonb_array_elements(r.body->'data') d;
SELECT r.status, r.body#>>'{context,interval}' AS "interval", r.body#>'{pagination,itemsTotal}' AS items
  FROM analytics.api_request(format('/data/timeseries/play?from=%s&to=%s', api_z('0'), api_z('1 day')), 'tA') r;
-- timeseries with a filter and ccv: ccv-peak per minute of [10:00, 10:05) for country FR:
--   10:00 1 (S1), 10:01 2 (S1 S3 from 10:01:40), 10:02 2 (S2 S3), 10:03 0, 10:04 0
SELECT r.status, string_agg(d->>'metricValue', ' ' ORDER BY n) AS "values"
  FROM analytics.api_request(format('/data/timeseries/ccv-peak?from=%s&to=%s&interval=minute&filterBy[country]=FR',
                                    api_z('10:00'), api_z('10:05')), 'tA') r,
       jsonb_array_elements(r.body->'data') WITH ORDINALITY x(d, n)
 GROUP BY r.status;
