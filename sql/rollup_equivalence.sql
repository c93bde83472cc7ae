-- Rollups answer exactly what raw events answer: every API shape, computed
-- with analytics.use_rollups on and off, on randomized data with late events
-- (written into hours already rolled up), events written in the querying
-- transaction itself, replayed pings, and a retention drop.
-- Counts must be identical; sums and averages equal up to float rounding
-- (relative 1e-9: the rollups add the same values in another order).
SET TimeZone = 'UTC';
SET analytics.maintenance_in_worker = off;
CREATE TEMP TABLE rq_anchor AS SELECT date_trunc('hour', now()) - interval '15 days' AS a;
SELECT setseed(0.42);

-- 50,000 random events over the last 15 days (a whole Monday-to-Monday week and more), 3 projects (rq1..rq3)
CREATE FUNCTION pg_temp.random_events(n integer, lo timestamptz, hi timestamptz) RETURNS void LANGUAGE sql AS $$
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, media_type, session_id, viewer_id,
                              referrer, continent, country, device_type, operating_system, browser)
SELECT 'rq' || (1 + (r1 * 3)::int % 3), lo + r2 * (hi - lo), t,
       CASE t WHEN 'impression' THEN round((r3 * 2000)::numeric, 0)::float8
              WHEN 'watch' THEN round((r3 * 30)::numeric, 1)::float8
              WHEN 'view' THEN (ARRAY[3, 5, 10, 30])[1 + (r3 * 4)::int % 4] END,
       'm' || (r4 * 12)::int, CASE WHEN r4 < 0.2 THEN 'live-stream' ELSE 'video' END::analytics.media_type,
       md5(((r5 * 400)::int)::text)::uuid, CASE WHEN r5 < 0.9 THEN (r5 * 300)::int END,
       (ARRAY['', 'https://a.example/', 'https://b.example/x'])[1 + (r6 * 3)::int % 3],
       c.continent::analytics.continent, c.country,
       (ARRAY['computer', 'phone', 'tablet', 'tv', 'unknown'])[1 + (r7 * 5)::int % 5]::analytics.device_type,
       (ARRAY['windows', 'ios', 'android', 'linux'])[1 + (r7 * 17)::int % 4],
       (ARRAY['chrome', 'firefox', 'safari', 'unknown'])[1 + (r6 * 13)::int % 4]
  FROM (SELECT random() r1, random() r2, random() r3, random() r4, random() r5, random() r6, random() r7, random() r8,
               (ARRAY['impression', 'play', 'start', 'end', 'watch', 'view', 'pause', 'resume', 'seek', 'error',
                      'impression', 'play', 'watch', 'watch'])[1 + (random() * 14)::int % 14]::analytics.event_type t
          FROM generate_series(1, n)) x,
       LATERAL (SELECT (ARRAY['EU', 'EU', 'NA', 'AS', NULL])[1 + (x.r8 * 5)::int % 5] AS continent,
                       (ARRAY['FR', 'DE', 'US', 'JP', NULL])[1 + (x.r8 * 5)::int % 5] AS country) c
$$;
SELECT pg_temp.random_events(50000, a, now()) FROM rq_anchor;
INSERT INTO analytics.media (project_id, media_id, media_type, title, tags)
VALUES ('rq1', 'm3', 'video', 'three', '{news}'), ('rq1', 'm7', 'video', 'seven', '{news,sport}'),
       ('rq2', 'm3', 'video', 'three', '{news}');

-- build the rollups
SELECT (r->>'rollup_hours_refreshed')::int > 200 AS refreshed, r->'deferred' AS deferred
  FROM analytics.run_maintenance() r;
SELECT count(*) AS pending_after_refresh FROM analytics.rollup_pending WHERE project_id LIKE 'rq%';

-- every API shape, both ways; a table of what differs
CREATE FUNCTION pg_temp.compare(label text, q text) RETURNS TABLE (shape text, answers bigint, differ bigint)
LANGUAGE plpgsql AS $$
DECLARE
  a jsonb; b jsonb;
BEGIN
  PERFORM set_config('analytics.use_rollups', 'on', false);
  EXECUTE 'SELECT coalesce(jsonb_agg(to_jsonb(x)), ''[]'') FROM (' || q || ') x' INTO a;
  PERFORM set_config('analytics.use_rollups', 'off', false);
  EXECUTE 'SELECT coalesce(jsonb_agg(to_jsonb(x)), ''[]'') FROM (' || q || ') x' INTO b;
  PERFORM set_config('analytics.use_rollups', 'on', false);
  shape := label;
  answers := jsonb_array_length(b);
  -- rows in the same places; two rows whose values are equal but for the
  -- last digits (sums in another order) may come in either order
  SELECT count(*) INTO differ
    FROM jsonb_array_elements(a) WITH ORDINALITY ea(x, i)
    FULL JOIN jsonb_array_elements(b) WITH ORDINALITY eb(y, j) ON i = j
   WHERE (x IS NULL OR y IS NULL OR x - 'v' - 'metric_value' - 'metric' <> y - 'v' - 'metric_value' - 'metric'
          OR NOT pg_temp.close(coalesce(x->'metric_value', x->'metric'), coalesce(y->'metric_value', y->'metric')))
     AND NOT (x IS NOT NULL AND y IS NOT NULL
              AND pg_temp.close(coalesce(x->'metric_value', x->'metric'), coalesce(y->'metric_value', y->'metric'))
              AND EXISTS (SELECT FROM jsonb_array_elements(b) z
                           WHERE z - 'v' - 'metric_value' - 'metric' = x - 'v' - 'metric_value' - 'metric'
                             AND pg_temp.close(coalesce(z->'metric_value', z->'metric'), coalesce(x->'metric_value', x->'metric')))
              AND EXISTS (SELECT FROM jsonb_array_elements(a) z
                           WHERE z - 'v' - 'metric_value' - 'metric' = y - 'v' - 'metric_value' - 'metric'
                             AND pg_temp.close(coalesce(z->'metric_value', z->'metric'), coalesce(y->'metric_value', y->'metric'))));
  RETURN NEXT;
END $$;
CREATE FUNCTION pg_temp.close(x jsonb, y jsonb) RETURNS boolean LANGUAGE sql AS $$
  SELECT CASE WHEN jsonb_typeof(x) = 'number' AND jsonb_typeof(y) = 'number'
              THEN abs(x::text::float8 - y::text::float8) <= 1e-9 * greatest(abs(x::text::float8), abs(y::text::float8), 1)
              ELSE x IS NOT DISTINCT FROM y END $$;

CREATE TEMP TABLE shapes (label text, q text);
-- periods: aligned days, unaligned edges, a late-only hour
CREATE TEMP TABLE periods AS
SELECT * FROM (VALUES
  ('whole days', (SELECT a + interval '1 day' FROM rq_anchor), (SELECT a + interval '3 days' FROM rq_anchor)),
  ('over a week', (SELECT date_trunc('day', a) + interval '1 day 2 hours' FROM rq_anchor), (SELECT date_trunc('day', a) + interval '9 days 5 hours 7 minutes' FROM rq_anchor)),
  ('unaligned', (SELECT a + interval '7 hours 13 minutes 5.25 seconds' FROM rq_anchor), now() - interval '17 minutes'),
  ('up to now', (SELECT a + interval '1 second' FROM rq_anchor), now()),
  ('inside an hour', (SELECT a + interval '30 hours 5 minutes' FROM rq_anchor), (SELECT a + interval '30 hours 50 minutes' FROM rq_anchor)),
  ('whole hours', (SELECT a + interval '2 hours' FROM rq_anchor), (SELECT a + interval '20 hours' FROM rq_anchor)),
  -- a short partial hour at the start (raw) and a long one at the end (its
  -- hour rows minus the rest of the hour)
  ('long end', (SELECT a + interval '50 minutes 1.5 seconds' FROM rq_anchor), (SELECT a + interval '2 days 10 hours 45 minutes 30 seconds' FROM rq_anchor))
) p(period, pf, pt);
CREATE TEMP TABLE filters AS
SELECT * FROM (VALUES (NULL::jsonb), ('{"country": ["FR", "US"]}'), ('{"mediaId": ["m3", "m5"]}'), ('{"mediaId": "m1"}'),
  ('{"mediaType": "live-stream"}'), ('{"tag": "news"}'), ('{"continent": "EU"}'), ('{"deviceType": ["phone", "tv"]}'),
  ('{"operatingSystem": "ios"}'), ('{"browser": ["chrome", "unknown"]}'), ('{"referrer": ""}'),
  ('{"mediaType": "video", "mediaId": ["m3", "m4"]}'), ('{"country": "FR", "browser": "chrome"}')) f(filter);
CREATE TEMP TABLE metrics AS
SELECT * FROM (VALUES ('play', 'count'), ('play', 'rate'), ('start', 'count'), ('end', 'count'), ('impression', 'count'),
  ('impression-time', 'average'), ('impression-time', 'sum'), ('watch-time', 'average'), ('watch-time', 'sum'),
  ('view', 'count')) m(metric, aggregation);

-- every shape over every period (a project chosen per shape: rq1, rq2 or all)
CREATE FUNCTION pg_temp.make_shapes() RETURNS bigint LANGUAGE sql AS $make$
DELETE FROM shapes;
INSERT INTO shapes
SELECT 'metric', format('SELECT analytics.metric(%L, %L, %L, %L, %L, project_id => %L) AS metric',
                        metric, aggregation, pf, pt, filter, project)
  FROM metrics, periods, filters,
       LATERAL (SELECT (ARRAY['rq1', NULL, 'rq2'])[1 + abs(hashtext(metric || aggregation || coalesce(filter::text, '') || period)) % 3] AS project) pr
 WHERE abs(hashtext(period || metric || aggregation || coalesce(filter::text, ''))) % 5 < 2;
INSERT INTO shapes
SELECT 'metric view 10s', format('SELECT analytics.metric(''view'', ''count'', %L, %L, %L, view_duration => ''10s'', project_id => ''rq3'') AS metric', pf, pt, filter)
  FROM periods, filters;
INSERT INTO shapes
SELECT 'breakdown', format('SELECT * FROM analytics.breakdown(%L, %L, %L, %L, %L, aggregation => %L, project_id => %L)',
                           m.metric, d, pf, pt, filter, CASE WHEN m.metric LIKE '%-time' THEN aggregation END, project)
  FROM (VALUES ('play', 'count'), ('play-rate', NULL), ('watch-time', 'average'), ('impression-time', 'sum'), ('view', NULL)) m(metric, aggregation),
       (VALUES ('media-id'), ('media-type'), ('continent'), ('country'), ('device-type'), ('operating-system'), ('browser'), ('referrer')) b(d),
       periods, filters,
       LATERAL (SELECT (ARRAY['rq1', NULL, 'rq2'])[1 + abs(hashtext(m.metric || d || coalesce(filter::text, '') || period)) % 3] AS project) pr
 WHERE abs(hashtext(period || m.metric || d || coalesce(filter::text, ''))) % 5 < 2 AND ( filter IS NULL OR filter::text LIKE '%' || CASE d WHEN 'media-id' THEN 'media' WHEN 'media-type' THEN 'mediaType'
                                                      WHEN 'device-type' THEN 'deviceType' WHEN 'operating-system' THEN 'operatingSystem' ELSE d END || '%'
    OR filter::text LIKE '%country%');
INSERT INTO shapes
SELECT 'timeseries', format('SELECT * FROM analytics.timeseries(%L, %L, %L, %L, %L, time_zone => %L, project_id => ''rq2'')',
                            metric, pf, pt, i, filter, tz)
  FROM (VALUES ('play'), ('watch-time'), ('play-rate'), ('impression-time')) m(metric),
       (VALUES ('hour'), ('day'), ('week'), ('minute')) iv(i),
       (VALUES ('UTC'), ('Europe/Paris'), ('Asia/Kolkata')) z(tz),
       periods, (VALUES (NULL::jsonb), ('{"country": "DE"}')) f(filter)
 WHERE (i <> 'minute' OR period LIKE 'inside%') AND (tz = 'UTC' OR metric = 'play');
-- the cube: two filters, a filter on one dimension with a breakdown by
-- another, all projects with a filter, series with filters
INSERT INTO shapes
SELECT 'cube breakdown', format('SELECT * FROM analytics.breakdown(%L, %L, %L, %L, %L, aggregation => %L, project_id => %L)',
                                m.metric, d, pf, pt, filter, CASE WHEN m.metric LIKE '%-time' THEN aggregation END, project)
  FROM (VALUES ('play', 'count'), ('play-rate', NULL), ('watch-time', 'average'), ('impression-time', 'sum'), ('view', NULL)) m(metric, aggregation),
       (VALUES ('media-type'), ('continent'), ('country'), ('device-type'), ('operating-system'), ('browser')) b(d),
       periods,
       (VALUES ('{"country": "FR"}'::jsonb), ('{"deviceType": ["phone", "tv"], "browser": "chrome"}'), ('{"mediaType": "live-stream"}'),
               ('{"continent": ["EU", "NA"], "operatingSystem": ["ios", "linux"]}')) f(filter),
       LATERAL (SELECT (ARRAY['rq1', NULL, 'rq2'])[1 + abs(hashtext(m.metric || d || filter::text || period)) % 3] AS project) pr
 WHERE abs(hashtext(period || m.metric || d || filter::text)) % 4 = 0;
INSERT INTO shapes
SELECT 'cube metric', format('SELECT analytics.metric(%L, %L, %L, %L, %L, project_id => %L) AS metric',
                             metric, aggregation, pf, pt, filter, project)
  FROM metrics, periods,
       (VALUES ('{"country": ["FR", "US"], "deviceType": "phone"}'::jsonb), ('{"mediaType": "video", "browser": "firefox"}'),
               ('{"continent": "EU", "deviceType": ["computer", "tv"], "operatingSystem": "windows"}')) f(filter),
       LATERAL (SELECT (ARRAY['rq1', NULL, 'rq2'])[1 + abs(hashtext(metric || aggregation || filter::text || period)) % 3] AS project) pr
 WHERE abs(hashtext(period || metric || aggregation || filter::text)) % 3 = 0;
INSERT INTO shapes
SELECT 'cube timeseries', format('SELECT * FROM analytics.timeseries(%L, %L, %L, %L, %L, time_zone => %L, project_id => %L)',
                                 metric, pf, pt, i, filter, tz, project)
  FROM (VALUES ('play'), ('watch-time'), ('impression-time')) m(metric),
       (VALUES ('hour'), ('day'), ('week')) iv(i),
       (VALUES ('UTC'), ('Europe/Paris'), ('Asia/Kolkata')) z(tz),
       periods,
       (VALUES ('{"country": "FR", "browser": ["chrome", "safari"]}'::jsonb), ('{"mediaType": "live-stream", "continent": "EU"}')) f(filter),
       LATERAL (SELECT (ARRAY['rq1', NULL, 'rq3'])[1 + abs(hashtext(metric || i || tz || filter::text || period)) % 3] AS project) pr
 WHERE (tz = 'UTC' OR metric = 'play') AND abs(hashtext(period || metric || i || tz || filter::text)) % 3 = 0;
-- the device cube: filters and breakdowns among media type, device type,
-- operating system and browser only (series here; the cube's breakdowns
-- and metrics above with such filters read it too)
INSERT INTO shapes
SELECT 'devcube timeseries', format('SELECT * FROM analytics.timeseries(%L, %L, %L, %L, %L, time_zone => %L, project_id => %L)',
                                    metric, pf, pt, i, filter, tz, project)
  FROM (VALUES ('play'), ('watch-time'), ('impression-time')) m(metric),
       (VALUES ('hour'), ('day'), ('week')) iv(i),
       (VALUES ('UTC'), ('Asia/Kolkata')) z(tz),
       periods,
       (VALUES ('{"browser": "chrome", "deviceType": "phone"}'::jsonb), ('{"mediaType": "video", "operatingSystem": ["ios", "linux"]}')) f(filter),
       LATERAL (SELECT (ARRAY['rq1', NULL, 'rq3'])[1 + abs(hashtext(metric || i || tz || filter::text || period || 'd')) % 3] AS project) pr
 WHERE (tz = 'UTC' OR metric = 'play') AND abs(hashtext(period || metric || i || tz || filter::text || 'd')) % 3 = 0;
-- the referrer cube: the referrer with cube dimensions (a breakdown by
-- referrer with filters, a referrer filter with another breakdown or more
-- filters, all projects, series)
INSERT INTO shapes
SELECT 'refcube breakdown', format('SELECT * FROM analytics.breakdown(%L, %L, %L, %L, %L, aggregation => %L, project_id => %L)',
                                   m.metric, d, pf, pt, filter, CASE WHEN m.metric LIKE '%-time' THEN aggregation END, project)
  FROM (VALUES ('play', 'count'), ('play-rate', NULL), ('watch-time', 'sum'), ('impression-time', 'average')) m(metric, aggregation),
       (VALUES ('referrer'), ('country'), ('device-type')) b(d),
       periods,
       (VALUES ('{"deviceType": "phone"}'::jsonb), ('{"referrer": "https://a.example/"}'),
               ('{"referrer": ["", "https://b.example/x"], "country": ["FR", "US"]}'), ('{"continent": "EU", "browser": "chrome"}')) f(filter),
       LATERAL (SELECT (ARRAY['rq1', NULL, 'rq2'])[1 + abs(hashtext(m.metric || d || filter::text || period)) % 3] AS project) pr
 WHERE abs(hashtext(period || m.metric || d || filter::text)) % 3 = 0;
INSERT INTO shapes
SELECT 'refcube metric and series', q
  FROM periods,
       LATERAL (VALUES (format('SELECT analytics.metric(''watch-time'', ''sum'', %L, %L, ''{"referrer": "https://a.example/", "deviceType": ["phone", "tv"]}'', project_id => ''rq3'') AS metric', pf, pt)),
                       (format('SELECT * FROM analytics.timeseries(''play'', %L, %L, ''day'', ''{"referrer": "https://b.example/x", "country": "FR"}'', project_id => ''rq1'')', pf, pt))) v(q);
-- unique viewers: the distinct viewer ids of days, hours and raw events
-- (filters and breakdowns of the cube's dimensions; media ids raw), every
-- view duration
INSERT INTO shapes
SELECT 'unique views', format('SELECT analytics.metric(''view'', ''count'', %L, %L, %L, unique_viewers => true, view_duration => %L, project_id => %L) AS metric',
                              pf, pt, filter, vd, project)
  FROM periods, filters, (VALUES ('3s'), ('5s'), ('10s'), ('30s')) v(vd),
       LATERAL (SELECT (ARRAY['rq1', NULL, 'rq2'])[1 + abs(hashtext(vd || coalesce(filter::text, '') || period)) % 3] AS project) pr
 WHERE abs(hashtext(period || vd || coalesce(filter::text, ''))) % 4 = 0;
INSERT INTO shapes
SELECT 'unique views breakdown', format('SELECT * FROM analytics.breakdown(''view'', %L, %L, %L, %L, unique_viewers => true, view_duration => %L, project_id => %L)',
                                        d, pf, pt, filter, vd, project)
  FROM (VALUES ('media-type'), ('continent'), ('country'), ('device-type'), ('operating-system'), ('browser'), ('media-id')) b(d),
       periods,
       (VALUES (NULL::jsonb), ('{"country": "FR"}'), ('{"deviceType": ["phone", "tv"], "browser": "chrome"}'), ('{"mediaId": "m1"}')) f(filter),
       (VALUES ('5s'), ('30s')) v(vd),
       LATERAL (SELECT (ARRAY['rq1', NULL, 'rq3'])[1 + abs(hashtext(d || vd || coalesce(filter::text, '') || period)) % 3] AS project) pr
 WHERE abs(hashtext(period || d || vd || coalesce(filter::text, ''))) % 3 = 0;
INSERT INTO shapes
SELECT 'unique views timeseries', format('SELECT * FROM analytics.timeseries(''view'', %L, %L, %L, %L, time_zone => %L, unique_viewers => true, project_id => %L)',
                                         pf, pt, i, filter, tz, project)
  FROM (VALUES ('hour'), ('day'), ('week'), ('month')) iv(i),
       (VALUES ('UTC'), ('Europe/Paris'), ('Asia/Kolkata')) z(tz),
       periods,
       (VALUES (NULL::jsonb), ('{"country": "FR", "deviceType": "phone"}'), ('{"referrer": ""}')) f(filter),
       LATERAL (SELECT (ARRAY['rq1', NULL, 'rq2'])[1 + abs(hashtext(i || tz || coalesce(filter::text, '') || period)) % 3] AS project) pr
 WHERE abs(hashtext(period || i || tz || coalesce(filter::text, ''))) % 3 = 0;
INSERT INTO shapes
SELECT 'ccv', format('SELECT analytics.metric(''ccv'', %L, %L, %L, %L, unique_viewers => %L, project_id => %L) AS metric',
                     agg, pf, pt, filter, uv, CASE WHEN filter IS NULL THEN 'rq2' ELSE 'rq1' END)
  FROM (VALUES ('peak'), ('average')) a(agg), periods, (VALUES (false), (true)) u(uv),
       (VALUES (NULL::jsonb), ('{"mediaId": "m1"}'), ('{"mediaId": ["m2"]}')) f(filter);
INSERT INTO shapes
SELECT 'ccv and unique views', q FROM (VALUES
  ($$SELECT analytics.metric('ccv', 'peak', now() - interval '1 day', now(), project_id => 'rq1') AS metric$$),
  ($$SELECT analytics.metric('view', 'count', now() - interval '2 days', now(), unique_viewers => true, project_id => 'rq1') AS metric$$),
  ($$SELECT * FROM analytics.breakdown('play-total', 'media-id', project_id => 'rq1')$$)) v(q);
INSERT INTO shapes
SELECT 'api', q FROM (VALUES
  ($$SELECT analytics.api_metrics('play', 'count', now() - interval '3 days', now(), project_id => 'rq1') AS metric$$),
  ($$SELECT analytics.api_buckets('play', 'country', now() - interval '3 days', now(), page_size => 3, current_page => 2, project_id => 'rq1') AS metric$$),
  ($$SELECT analytics.api_timeseries('play', now() - interval '2 days', now(), project_id => 'rq1') AS metric$$),
  ($$SELECT (analytics.api_request('/data/buckets/play/media-id?from=' || replace(to_char(now() - interval '2 days', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ':', '%3A'), 'rq2')).body AS metric$$)) v(q)
 WHERE EXISTS (SELECT 1 FROM periods WHERE period = 'up to now');
SELECT count(*) FROM shapes;
$make$;
SELECT pg_temp.make_shapes() AS shapes;

CREATE TEMP TABLE results (step text, shape text, answers bigint, differ bigint);
-- per shape: how many queries, whether most returned rows, how many answers differ
CREATE FUNCTION pg_temp.run_all(step text) RETURNS TABLE (shape text, queries bigint, mostly_answered boolean, differ bigint)
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO results SELECT step, c.shape, c.answers, c.differ FROM shapes s, pg_temp.compare(s.label, s.q) c;
  RETURN QUERY SELECT r.shape, count(*), count(*) FILTER (WHERE r.answers > 0) > count(*) / 2, sum(r.differ)::bigint
                 FROM results r WHERE r.step = run_all.step GROUP BY 1 ORDER BY 1;
END $$;

-- 1. freshly refreshed rollups
SELECT * FROM pg_temp.run_all('refreshed');
-- the answers above read whole blocks that stick out of the period: up to
-- now, media ids of all projects are weeks or 28-day blocks, minus the raw
-- second before the period (the events start on its hour)
SELECT cardinality(c.week_from) + cardinality(c.w4_from) > 0 AS whole_blocks, cardinality(c.raw_neg_from) > 0 AS raw_taken_out
  FROM periods p, analytics._plan_cover(p.pf, p.pt, 'w4', false, 1::smallint, NULL) c WHERE p.period = 'up to now';

-- 2. late events: 3,000 more, spread over the whole (rolled-up) window, and
-- an update and a delete of old rows; nothing refreshed since
SELECT pg_temp.random_events(3000, a, now()) FROM rq_anchor;
UPDATE analytics.events SET country = 'JP' WHERE project_id = 'rq1' AND emitted_at < (SELECT a + interval '6 hours' FROM rq_anchor) AND country = 'FR';
DELETE FROM analytics.events WHERE project_id = 'rq2' AND event_type = 'play'
   AND emitted_at >= (SELECT a + interval '2 days' FROM rq_anchor) AND emitted_at < (SELECT a + interval '2 days 3 hours' FROM rq_anchor);
SELECT count(DISTINCT hour) > 90 AS many_hours_pending FROM analytics.rollup_pending WHERE project_id LIKE 'rq%';
SELECT * FROM pg_temp.run_all('late');

-- 3. written in this very transaction (marks not committed yet)
BEGIN;
SELECT pg_temp.random_events(500, a + interval '1 day', a + interval '2 days') FROM rq_anchor;
SELECT cardinality(analytics._rollup_own_pending()) > 10 AS own_pending;
SELECT * FROM pg_temp.run_all('own transaction');
COMMIT;

-- 4. replayed pings: a ping and its replay, into an hour already rolled up
SELECT analytics.ingest_ping(jsonb_build_object(
         'emitted_at', to_char((a + interval '1 day 10 minutes') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
         'session', jsonb_build_object('loaded_at', to_char((a + interval '1 day') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                       'video_id', 'm3', 'session_id', '0c7e0e42-0000-4000-8000-00000000000' || i % 2),
         'events', jsonb_build_array(jsonb_build_object('emitted_at', to_char((a + interval '1 day 5 minutes') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                                        'type', 'play', 'at', 0))),
         country => 'FR', project_id => 'rq1')->>'replayed' AS replayed
  FROM rq_anchor, generate_series(0, 3) i;
-- refresh, then compare again
SELECT (r->>'rollup_hours_refreshed')::int > 90 AS refreshed FROM analytics.run_maintenance() r;
SELECT * FROM pg_temp.run_all('refreshed again');

-- 4b. a partition detached by hand (its rows leave every answer), then attached again
CREATE TEMP TABLE detached AS
SELECT partition FROM analytics.partitions(), rq_anchor WHERE from_ts = date_trunc('day', a) + interval '2 days';
SELECT format('ALTER TABLE analytics.events DETACH PARTITION %s', partition) AS detach,
       format('ALTER TABLE analytics.events ATTACH PARTITION %s FOR VALUES FROM (%L) TO (%L)', partition,
              (SELECT date_trunc('day', a) + interval '2 days' FROM rq_anchor),
              (SELECT date_trunc('day', a) + interval '3 days' FROM rq_anchor)) AS attach
  FROM detached \gset
:detach;
SELECT * FROM pg_temp.run_all('detached');
:attach;
SELECT * FROM pg_temp.run_all('attached again');

-- 5. retention: drop the two oldest days; their rollup rows go with them
CREATE TEMP TABLE old_retention AS SELECT analytics.retention() AS r;
SELECT analytics.set_retention('2 days');
SELECT jsonb_array_length(r->'partitions_dropped') >= 2 AS dropped FROM analytics.run_maintenance() r;
SELECT count(*) AS rollup_rows_before_cutoff
  FROM analytics.rollup_hour WHERE bucket < date_trunc('day', now() - interval '2 days');
SELECT count(*) AS cube_rows_before_cutoff
  FROM analytics.rollup_cube_hour WHERE bucket < date_trunc('day', now() - interval '2 days');
SELECT count(*) AS devcube_rows_before_cutoff
  FROM (SELECT bucket FROM analytics.rollup_devcube_hour UNION ALL SELECT bucket FROM analytics.rollup_devcube_day) d
 WHERE bucket < date_trunc('day', now() - interval '2 days');
SELECT count(*) AS viewer_rows_before_cutoff
  FROM (SELECT bucket FROM analytics.rollup_viewers_hour UNION ALL SELECT bucket FROM analytics.rollup_viewers_day) v
 WHERE bucket < date_trunc('day', now() - interval '2 days');
DELETE FROM periods;
INSERT INTO periods VALUES ('retained', date_trunc('hour', now() - interval '2 days') + interval '1 hour', now()),
                           ('retained, unaligned', now() - interval '1 day 23 hours 3 minutes', now() - interval '1 hour 1 second');
SELECT pg_temp.make_shapes() AS shapes;
SELECT * FROM pg_temp.run_all('after retention');
SELECT analytics.set_retention(r) FROM old_retention;

-- the rollup path was really taken
SELECT sum(seq_scan + coalesce(idx_scan, 0)) > 1000 AS rollups_read
  FROM pg_stat_user_tables WHERE relname IN ('rollup_hour', 'rollup_day');
-- week rows were used by queries (more scans than the refreshes' own)
SELECT sum(seq_scan + coalesce(idx_scan, 0)) > 500 AS weeks_read
  FROM pg_stat_user_tables WHERE relname = 'rollup_week';
-- and so was the cube's (two filters, a filter and another breakdown)
SELECT sum(seq_scan + coalesce(idx_scan, 0)) > 500 AS cube_read
  FROM pg_stat_user_tables WHERE relname LIKE 'rollup_cube_%';
-- and the device cube's (filters among its four dimensions)
SELECT sum(seq_scan + coalesce(idx_scan, 0)) > 200 AS devcube_read
  FROM pg_stat_user_tables WHERE relname LIKE 'rollup_devcube_%';
-- and the viewer ids (unique viewers with the cube's filters)
SELECT sum(seq_scan + coalesce(idx_scan, 0)) > 200 AS viewers_read
  FROM pg_stat_user_tables WHERE relname LIKE 'rollup_viewers_%';
SELECT sum(differ) AS total_differences, sum(answers) > 20000 AS many_answers FROM results;
