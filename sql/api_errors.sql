--
-- api_errors: invalid arguments of the query API. In SQL: SQLSTATE 22023,
-- the REST parameter name in COLUMN_NAME, a message naming the parameter
-- and the value, a HINT listing the allowed values. Through api_request:
-- status 400 with an RFC 7807 body whose "name" is that parameter; 404 for
-- paths that are not an endpoint; never an exception.
-- api_err(query) prints SQLSTATE COLUMN_NAME: message (timestamps masked).
--
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';

--
-- analytics.metric
SELECT label, api_err(q) AS error
  FROM (VALUES
  ('unknown metric',                $$SELECT analytics.metric('plays', 'count', project_id => 'tA')$$),
  ('NULL metric',                   $$SELECT analytics.metric(NULL, 'count', project_id => 'tA')$$),
  ('play-rate is not a metrics-endpoint metric', $$SELECT analytics.metric('play-rate', 'count', project_id => 'tA')$$),
  ('play/sum',                      $$SELECT analytics.metric('play', 'sum', project_id => 'tA')$$),
  ('start/sum',                     $$SELECT analytics.metric('start', 'sum', project_id => 'tA')$$),
  ('ccv/count',                     $$SELECT analytics.metric('ccv', 'count', project_id => 'tA')$$),
  ('impression-time/count',         $$SELECT analytics.metric('impression-time', 'count', project_id => 'tA')$$),
  ('view/average',                  $$SELECT analytics.metric('view', 'average', project_id => 'tA')$$),
  ('end/total',                     $$SELECT analytics.metric('end', 'total', project_id => 'tA')$$),
  ('play/NULL',                     $$SELECT analytics.metric('play', NULL, project_id => 'tA')$$),
  ('unique on play',                $$SELECT analytics.metric('play', 'count', unique_viewers => true, project_id => 'tA')$$),
  ('unique on watch-time',          $$SELECT analytics.metric('watch-time', 'sum', unique_viewers => true, project_id => 'tA')$$),
  ('viewDuration on play',          $$SELECT analytics.metric('play', 'count', view_duration => '10s', project_id => 'tA')$$),
  ('viewDuration on ccv',           $$SELECT analytics.metric('ccv', 'peak', view_duration => '5s', project_id => 'tA')$$),
  ('viewDuration 7s',               $$SELECT analytics.metric('view', 'count', view_duration => '7s', project_id => 'tA')$$),
  ('viewDuration 5 (no unit)',      $$SELECT analytics.metric('view', 'count', view_duration => '5', project_id => 'tA')$$),
  ('from after to',                 $$SELECT analytics.metric('play', 'count', api_d0('1 day'), api_d0('0'), project_id => 'tA')$$),
  ('from = to',                     $$SELECT analytics.metric('play', 'count', api_d0('0'), api_d0('0'), project_id => 'tA')$$),
  ('from older than retention',     $$SELECT analytics.metric('play', 'count', now() - interval '31 days', now(), project_id => 'tA')$$),
  ('from 1 s older than retention', $$SELECT analytics.metric('play', 'count', now() - interval '30 days 1 second', now(), project_id => 'tA')$$),
  ('to only, to - 1 day too old',   $$SELECT analytics.metric('play', 'count', to_ts => now() - interval '29 days 12 hours', project_id => 'tA')$$),
  ('filter: unknown key',           $$SELECT analytics.metric('play', 'count', filter_by => '{"countryCode": "FR"}', project_id => 'tA')$$),
  ('filter: number for country',    $$SELECT analytics.metric('play', 'count', filter_by => '{"country": 33}', project_id => 'tA')$$),
  ('filter: number in an array',    $$SELECT analytics.metric('play', 'count', filter_by => '{"country": ["FR", 3]}', project_id => 'tA')$$),
  ('filter: number for mediaId',    $$SELECT analytics.metric('play', 'count', filter_by => '{"mediaId": 5}', project_id => 'tA')$$),
  ('filter: array for tag',         $$SELECT analytics.metric('play', 'count', filter_by => '{"tag": ["sport"]}', project_id => 'tA')$$),
  ('filter: mediaType audio',       $$SELECT analytics.metric('play', 'count', filter_by => '{"mediaType": "audio"}', project_id => 'tA')$$),
  ('filter: continent XX',          $$SELECT analytics.metric('play', 'count', filter_by => '{"continent": "XX"}', project_id => 'tA')$$),
  ('filter: continent eu',          $$SELECT analytics.metric('play', 'count', filter_by => '{"continent": ["eu"]}', project_id => 'tA')$$),
  ('filter: country fr',            $$SELECT analytics.metric('play', 'count', filter_by => '{"country": "fr"}', project_id => 'tA')$$),
  ('filter: country FRA',           $$SELECT analytics.metric('play', 'count', filter_by => '{"country": "FRA"}', project_id => 'tA')$$),
  ('filter: deviceType fridge',     $$SELECT analytics.metric('play', 'count', filter_by => '{"deviceType": "fridge"}', project_id => 'tA')$$),
  ('filter: fridge in an array',    $$SELECT analytics.metric('play', 'count', filter_by => '{"deviceType": ["phone", "fridge"]}', project_id => 'tA')$$),
  ('filter: not an object (array)', $$SELECT analytics.metric('play', 'count', filter_by => '["FR"]', project_id => 'tA')$$),
  ('filter: not an object (string)', $$SELECT analytics.metric('play', 'count', filter_by => '"FR"', project_id => 'tA')$$),
  ('play total: country filter',    $$SELECT analytics.metric('play', 'total', filter_by => '{"country": "FR"}', project_id => 'tA')$$),
  ('play total: tag filter',        $$SELECT analytics.metric('play', 'total', filter_by => '{"tag": "sport"}', project_id => 'tA')$$)
  ) t(label, q);

-- the hints list the allowed values
SELECT label, (SELECT bool_and(strpos(h, v) > 0) FROM unnest(allowed) v) AS hint_lists_allowed
  FROM (VALUES
  ('metric', api_hint($$SELECT analytics.metric('plays', 'count')$$),
   ARRAY['play', 'start', 'end', 'impression', 'impression-time', 'watch-time', 'view', 'ccv']),
  ('aggregation', api_hint($$SELECT analytics.metric('ccv', 'sum')$$), ARRAY['peak', 'average', 'live']),
  ('viewDuration', api_hint($$SELECT analytics.metric('view', 'count', view_duration => '7s')$$), ARRAY['3s', '5s', '10s', '30s']),
  ('breakdown', api_hint($$SELECT * FROM analytics.breakdown('play', 'city')$$),
   ARRAY['media-id', 'media-type', 'continent', 'country', 'device-type', 'operating-system', 'browser', 'referrer']),
  ('interval', api_hint($$SELECT * FROM analytics.timeseries('play', "interval" => 'second')$$),
   ARRAY['minute', 'hour', 'day', 'week', 'month']),
  ('sortBy', api_hint($$SELECT * FROM analytics.breakdown('play', 'country', sort_by => 'country')$$),
   ARRAY['metricValue', 'dimensionValue']),
  ('sortOrder', api_hint($$SELECT * FROM analytics.breakdown('play', 'country', sort_order => 'up')$$), ARRAY['asc', 'desc']),
  ('filterBy.deviceType', api_hint($$SELECT analytics.metric('play', 'count', filter_by => '{"deviceType": "fridge"}')$$),
   ARRAY['computer', 'phone', 'tablet', 'tv', 'console', 'wearable', 'unknown']),
  ('filterBy.mediaType', api_hint($$SELECT analytics.metric('play', 'count', filter_by => '{"mediaType": "audio"}')$$),
   ARRAY['video', 'live-stream']),
  ('filterBy.continent', api_hint($$SELECT analytics.metric('play', 'count', filter_by => '{"continent": "XX"}')$$),
   ARRAY['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA']),
  ('filterBy (unknown key)', api_hint($$SELECT analytics.metric('play', 'count', filter_by => '{"countryCode": "FR"}')$$),
   ARRAY['mediaId', 'mediaType', 'continent', 'country', 'deviceType', 'operatingSystem', 'browser', 'referrer', 'tag'])
  ) t(label, h, allowed);

--
-- analytics.breakdown
SELECT label, api_err(q) AS error
  FROM (VALUES
  ('unknown breakdown',             $$SELECT * FROM analytics.breakdown('play', 'city', project_id => 'tA')$$),
  ('NULL breakdown',                $$SELECT * FROM analytics.breakdown('play', NULL, project_id => 'tA')$$),
  ('metric ccv (needs ccv-peak/ccv-average)', $$SELECT * FROM analytics.breakdown('ccv', 'country', project_id => 'tA')$$),
  ('metric ccv-live',               $$SELECT * FROM analytics.breakdown('ccv-live', 'country', project_id => 'tA')$$),
  ('unknown metric',                $$SELECT * FROM analytics.breakdown('plays', 'country', project_id => 'tA')$$),
  ('play-total by country',         $$SELECT * FROM analytics.breakdown('play-total', 'country', project_id => 'tA')$$),
  ('aggregation on play',           $$SELECT * FROM analytics.breakdown('play', 'country', aggregation => 'sum', project_id => 'tA')$$),
  ('impression-time/count',         $$SELECT * FROM analytics.breakdown('impression-time', 'country', aggregation => 'count', project_id => 'tA')$$),
  ('sortBy country',                $$SELECT * FROM analytics.breakdown('play', 'country', sort_by => 'country', project_id => 'tA')$$),
  ('sortBy emittedAt',              $$SELECT * FROM analytics.breakdown('play', 'country', sort_by => 'emittedAt', project_id => 'tA')$$),
  ('sortOrder up',                  $$SELECT * FROM analytics.breakdown('play', 'country', sort_order => 'up', project_id => 'tA')$$),
  ('unique on start',               $$SELECT * FROM analytics.breakdown('start', 'country', unique_viewers => true, project_id => 'tA')$$),
  ('viewDuration on ccv-peak',      $$SELECT * FROM analytics.breakdown('ccv-peak', 'country', view_duration => '5s', project_id => 'tA')$$),
  ('from after to',                 $$SELECT * FROM analytics.breakdown('play', 'country', api_d0('1 day'), api_d0('0'), project_id => 'tA')$$),
  ('from older than retention',     $$SELECT * FROM analytics.breakdown('play', 'country', now() - interval '31 days', now(), project_id => 'tA')$$),
  ('play-total: browser filter',    $$SELECT * FROM analytics.breakdown('play-total', 'media-id', filter_by => '{"browser": "chrome"}', project_id => 'tA')$$),
  ('filter: unknown key',           $$SELECT * FROM analytics.breakdown('play', 'country', filter_by => '{"nope": 1}', project_id => 'tA')$$)
  ) t(label, q);
-- play-total ignores the period, even an invalid one: no error, 5 rows
SELECT count(*) AS rows FROM analytics.breakdown('play-total', 'media-id', api_d0('1 day'), api_d0('0'), project_id => 'tA');

--
-- analytics.timeseries
SELECT label, api_err(q) AS error
  FROM (VALUES
  ('interval second',               $$SELECT * FROM analytics.timeseries('play', "interval" => 'second', project_id => 'tA')$$),
  ('interval hours',                $$SELECT * FROM analytics.timeseries('play', "interval" => 'hours', project_id => 'tA')$$),
  ('unknown time zone',             $$SELECT * FROM analytics.timeseries('play', time_zone => 'Mars/Olympus', project_id => 'tA')$$),
  ('metric play-total',             $$SELECT * FROM analytics.timeseries('play-total', project_id => 'tA')$$),
  ('metric ccv-live',               $$SELECT * FROM analytics.timeseries('ccv-live', project_id => 'tA')$$),
  ('sortBy metric',                 $$SELECT * FROM analytics.timeseries('play', sort_by => 'metric', project_id => 'tA')$$),
  ('sortOrder sideways',            $$SELECT * FROM analytics.timeseries('play', sort_order => 'sideways', project_id => 'tA')$$),
  ('aggregation on start',          $$SELECT * FROM analytics.timeseries('start', aggregation => 'sum', project_id => 'tA')$$),
  ('unique on play',                $$SELECT * FROM analytics.timeseries('play', unique_viewers => true, project_id => 'tA')$$),
  ('from after to',                 $$SELECT * FROM analytics.timeseries('play', api_d0('1 day'), api_d0('0'), project_id => 'tA')$$),
  ('from older than retention',     $$SELECT * FROM analytics.timeseries('play', now() - interval '31 days', now(), 'day', project_id => 'tA')$$),
  ('filter: country fr',            $$SELECT * FROM analytics.timeseries('play', filter_by => '{"country": "fr"}', project_id => 'tA')$$)
  ) t(label, q);

--
-- paging of the JSON functions: pageSize 1-100, currentPage >= 1 (a page past the end is no error)
SELECT label, api_err(q) AS error
  FROM (VALUES
  ('currentPage 0',    $$SELECT analytics.api_buckets('play', 'country', current_page => 0, project_id => 'tA')$$),
  ('currentPage -1',   $$SELECT analytics.api_buckets('play', 'country', current_page => -1, project_id => 'tA')$$),
  ('pageSize 0',       $$SELECT analytics.api_buckets('play', 'country', page_size => 0, project_id => 'tA')$$),
  ('pageSize 101',     $$SELECT analytics.api_buckets('play', 'country', page_size => 101, project_id => 'tA')$$),
  ('timeseries pageSize 101', $$SELECT analytics.api_timeseries('play', page_size => 101, project_id => 'tA')$$),
  ('timeseries currentPage 0', $$SELECT analytics.api_timeseries('play', current_page => 0, project_id => 'tA')$$),
  ('pageSize 100',     $$SELECT analytics.api_buckets('play', 'country', page_size => 100, project_id => 'tA')$$),
  ('currentPage 1000', $$SELECT analytics.api_buckets('play', 'country', current_page => 1000, project_id => 'tA')$$),
  ('api_metrics: bad pair', $$SELECT analytics.api_metrics('start', 'sum', project_id => 'tA')$$)
  ) t(label, q);

--
-- api_request: 400 with the parameter's name, never an exception.
-- F = D0, T = D0 + 1 day (valid) where a period is needed.
SELECT label, r.status, r.body->>'name' AS name, r.body->>'title' AS title, r.body->'status' AS body_status,
       r.body->>'type' AS type, coalesce(r.body->>'detail', '') <> '' AS has_detail
  FROM (VALUES
  ('metric plays',              '/data/metrics/plays/count'),
  ('metric play-rate',          '/data/metrics/play-rate/count'),
  ('play/sum',                  '/data/metrics/play/sum'),
  ('start/sum',                 '/data/metrics/start/sum'),
  ('unique on play',            '/data/metrics/play/count?unique=true'),
  ('unique=maybe',              '/data/metrics/view/count?unique=maybe'),
  ('viewDuration on play',      '/data/metrics/play/count?viewDuration=10s'),
  ('viewDuration 7s',           '/data/metrics/view/count?viewDuration=7s'),
  ('from after to',             format('/data/metrics/play/count?from=%s&to=%s', api_z('1 day'), api_z('0'))),
  ('from older than retention', format('/data/metrics/play/count?from=%s', to_char((now() - interval '31 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))),
  ('from=yesterday',            '/data/metrics/play/count?from=yesterday'),
  ('from month 13',             '/data/metrics/play/count?from=2024-13-45T00:00:00Z'),
  ('from without offset',       format('/data/metrics/play/count?from=%s', left(api_z('0'), 19))),
  ('to=garbage',                '/data/metrics/play/count?to=garbage'),
  ('filterBy unknown key',      '/data/metrics/play/count?filterBy[countryCode]=FR'),
  ('filterBy country fr',       '/data/metrics/play/count?filterBy[country]=fr'),
  ('filterBy mediaType audio',  '/data/metrics/play/count?filterBy[mediaType]=audio'),
  ('filterBy continent XX',     '/data/metrics/play/count?filterBy[continent]=XX'),
  ('filterBy deviceType fridge', '/data/metrics/play/count?filterBy[deviceType][]=fridge'),
  ('filterBy JSON number',      '/data/metrics/play/count?filterBy=%7B%22country%22%3A3%7D'),
  ('filterBy bad JSON',         '/data/metrics/play/count?filterBy=%7Bbad'),
  ('play total, country filter', '/data/metrics/play/total?filterBy[country]=FR'),
  ('breakdown city',            '/data/buckets/play/city'),
  ('play-total by country',     '/data/buckets/play-total/country'),
  ('buckets metric ccv',        '/data/buckets/ccv/country'),
  ('sortBy country',            '/data/buckets/play/country?sortBy=country'),
  ('sortOrder up',              '/data/buckets/play/country?sortOrder=up'),
  ('currentPage 0',             '/data/buckets/play/country?currentPage=0'),
  ('currentPage abc',           '/data/buckets/play/country?currentPage=abc'),
  ('pageSize 101',              '/data/buckets/play/country?pageSize=101'),
  ('pageSize 0',                '/data/buckets/play/country?pageSize=0'),
  ('aggregation on play',       '/data/buckets/play/country?aggregation=sum'),
  ('interval second',           '/data/timeseries/play?interval=second'),
  ('timeZone Mars/Olympus',     '/data/timeseries/play?timeZone=Mars/Olympus'),
  ('timeseries play-total',     '/data/timeseries/play-total'),
  ('timeseries sortOrder',      '/data/timeseries/play?sortOrder=sideways'),
  ('unknown parameter foo',     '/data/metrics/play/count?foo=1')
  ) t(label, uri),
  LATERAL analytics.api_request(t.uri, 'tA') r;
-- the detail of a 400 carries the message (timestamps masked)
SELECT r.status, r.body->>'name' AS name, api_mask(r.body->>'detail') AS detail
  FROM analytics.api_request('/data/metrics/play/count?filterBy[deviceType]=fridge', 'tA') r;
SELECT r.status, r.body->>'name' AS name, api_mask(r.body->>'detail') AS detail
  FROM analytics.api_request('/data/metrics/play/count?foo=1', 'tA') r;
-- malformed URIs: 400 (which name is the implementation's choice: only the status is checked)
SELECT label, r.status, r.body->>'title' AS title, r.body ? 'name' AS has_name
  FROM (VALUES
  ('bad percent-encoding',      '/data/metrics/play/count?from=%ZZ'),
  ('truncated percent-encoding', '/data/metrics/play/count?filterBy[country]=F%4'),
  ('unclosed bracket',          '/data/metrics/play/count?filterBy%5Bcountry=FR'),
  ('invalid UTF-8 value',       '/data/metrics/play/count?filterBy[country]=%FF'),
  ('huge value',                '/data/metrics/play/count?from=' || repeat('9', 100000)),
  ('too many buckets',          format('/data/timeseries/play?from=%s&to=%s&interval=minute', api_z('0'),
                                       to_char((api_d0('0') + interval '10000 minutes 1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))
  ) t(label, uri),
  LATERAL analytics.api_request(t.uri, 'tA') r;
-- 404: not one of the three endpoints; the body is exactly type, title, status
SELECT quote_nullable(uri) AS uri, r.status, r.body
  FROM (VALUES ('/data/metric/play/count'), ('/data/metrics/play'), ('/data/metrics/play/count/extra'),
               ('/data/buckets/play'), ('/data/timeseries'), ('/data/timeseries/play/extra'), ('/'), (''),
               ('/other?from=x'), (NULL)) t(uri),
       LATERAL analytics.api_request(t.uri, 'tA') r;

--
-- cleanup: the helpers and the anchor of api_data (this is the last api_* test)
DROP FUNCTION api_d0(interval), api_iso(timestamptz), api_z(interval), api_mask(text), api_num(double precision),
              api_err(text), api_hint(text), api_urldecode(text);
DROP TABLE api_anchor;
