-- The referrer cube (README: "Derived data: rollups"): questions that
-- combine the referrer with the cube's dimensions (a breakdown by referrer
-- with a filter, a referrer filter with another breakdown or filter) read
-- rollup_refcube_* once the hours are refreshed. Known counts on a
-- hand-built dataset; the referrer cube rows really read (a row changed by
-- hand changes the answer, raw events do not); pending hours read raw;
-- tenants see only their project's rows.
SET TimeZone = 'UTC';
SET analytics.maintenance_in_worker = off;
CREATE TEMP TABLE rc_anchor AS SELECT date_trunc('day', now()) - interval '3 days' AS a;
GRANT SELECT ON rc_anchor TO PUBLIC;

-- day a + 1 of project rc1, plays: referrer A FR phone 3 (hour 2), A DE
-- computer 2 (hour 5), B FR phone 4 (hour 5), no referrer ('') FR phone 1
-- (hour 2); watch events: A FR phone 10 s and 20 s (hour 2), B FR computer
-- 30 s (hour 5). Project rc2: A FR phone 6 plays.
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, media_type, referrer, continent, country,
                              device_type, operating_system, browser)
SELECT p, (SELECT a FROM rc_anchor) + interval '1 day' + h * interval '1 hour' + n * interval '1 minute',
       ty::analytics.event_type, v, 'm1', 'video', ref, 'EU', c, dev::analytics.device_type, 'android', 'chrome'
  FROM (VALUES ('rc1', 'play', NULL, 'https://rc-a.example/', 'FR', 'phone', 2, 3),
               ('rc1', 'play', NULL, 'https://rc-a.example/', 'DE', 'computer', 5, 2),
               ('rc1', 'play', NULL, 'https://rc-b.example/', 'FR', 'phone', 5, 4),
               ('rc1', 'play', NULL, '', 'FR', 'phone', 2, 1),
               ('rc1', 'watch', 10, 'https://rc-a.example/', 'FR', 'phone', 2, 1),
               ('rc1', 'watch', 20, 'https://rc-a.example/', 'FR', 'phone', 2, 1),
               ('rc1', 'watch', 30, 'https://rc-b.example/', 'FR', 'computer', 5, 1),
               ('rc2', 'play', NULL, 'https://rc-a.example/', 'FR', 'phone', 2, 6)) d(p, ty, v, ref, c, dev, h, k),
       generate_series(1, k) n;
SELECT (r->>'rollup_hours_refreshed')::int >= 2 AS refreshed FROM analytics.run_maintenance() r;
SELECT project_id, count(*) AS refcube_hour_rows, sum(stats[2]) AS plays
  FROM analytics.rollup_refcube_hour WHERE project_id LIKE 'rc%' GROUP BY 1 ORDER BY 1;
-- the cube and the referrer hour rows are its sums
SELECT project_id, sum(stats[2]) AS cube_plays FROM analytics.rollup_cube_hour WHERE project_id LIKE 'rc%' GROUP BY 1 ORDER BY 1;
SELECT value AS referrer, stats[2] AS plays FROM analytics.rollup_hour
 WHERE project_id = 'rc1' AND dim = 8 AND stats[2] > 0 ORDER BY bucket, value;

CREATE FUNCTION pg_temp.answers() RETURNS TABLE (question text, answer text) LANGUAGE plpgsql AS $$
DECLARE
  f timestamptz := (SELECT a FROM rc_anchor);
  t timestamptz := (SELECT a FROM rc_anchor) + interval '3 days';
BEGIN
  question := 'plays by referrer, device type phone (rc1)';
  SELECT string_agg(quote_literal(dimension_value) || '=' || metric_value, ' ') INTO answer
    FROM analytics.breakdown('play', 'referrer', f, t, '{"deviceType": "phone"}', project_id => 'rc1');
  RETURN NEXT;
  question := 'plays by country, referrer A (rc1)';
  SELECT string_agg(dimension_value || '=' || metric_value, ' ') INTO answer
    FROM analytics.breakdown('play', 'country', f, t, '{"referrer": "https://rc-a.example/"}', project_id => 'rc1');
  RETURN NEXT;
  question := 'watch time by referrer, country FR (rc1)';
  SELECT string_agg(dimension_value || '=' || metric_value, ' ') INTO answer
    FROM analytics.breakdown('watch-time', 'referrer', f, t, '{"country": "FR"}', aggregation => 'sum', project_id => 'rc1');
  RETURN NEXT;
  question := 'play count, referrer B, device type phone (rc1)';
  answer := analytics.metric('play', 'count', f, t, '{"referrer": "https://rc-b.example/", "deviceType": "phone"}', project_id => 'rc1');
  RETURN NEXT;
  question := 'plays per day, referrer A, country FR (rc1)';
  SELECT string_agg(metric_value::text, ' ' ORDER BY emitted_at) INTO answer
    FROM analytics.timeseries('play', f, t, 'day', '{"referrer": "https://rc-a.example/", "country": "FR"}', project_id => 'rc1');
  RETURN NEXT;
  question := 'plays by country, referrer A, device type phone (all projects)';
  SELECT string_agg(dimension_value || '=' || metric_value, ' ') INTO answer
    FROM analytics.breakdown('play', 'country', f, t, '{"referrer": "https://rc-a.example/", "deviceType": "phone"}');
  RETURN NEXT;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.answers() TO PUBLIC;
SELECT * FROM pg_temp.answers();
SET analytics.use_rollups = off;
SELECT * FROM pg_temp.answers();
RESET analytics.use_rollups;

-- the cover reads referrer cube rows (dim 10), whole days in day rows
SELECT cardinality(c.day_from) > 0 AS day_rows, cardinality(c.raw_from) = 0 AS no_raw
  FROM rc_anchor, analytics._plan_cover(a, a + interval '3 days', 'day', false, 10::smallint, ARRAY['rc1']) c;

-- the referrer cube is read: 100 plays added by hand to every level of
-- rc1's referrer A rows in FR show with the rollups on, not off
CREATE FUNCTION pg_temp.nudge(d double precision) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['rollup_refcube_hour', 'rollup_refcube_day', 'rollup_refcube_week', 'rollup_refcube_w4'] LOOP
    EXECUTE format('UPDATE analytics.%I SET stats[2] = stats[2] + $1 WHERE project_id = ''rc1'' AND country = ''FR'''
                   ' AND referrer = ''https://rc-a.example/'' AND stats[2] > 0', t) USING d;
  END LOOP;
END $$;
SELECT pg_temp.nudge(100);
SELECT question, answer FROM pg_temp.answers() WHERE question LIKE '%referrer A%' OR question LIKE 'plays by referrer, device%';
SET analytics.use_rollups = off;
SELECT question, answer FROM pg_temp.answers() WHERE question LIKE '%referrer A%' OR question LIKE 'plays by referrer, device%';
RESET analytics.use_rollups;
SELECT pg_temp.nudge(-100);

-- a pending hour is read raw: a late play, before any refresh, counts at once
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id, referrer, continent, country, device_type, operating_system, browser)
SELECT 'rc1', a + interval '1 day 5 hours 30 minutes', 'play', 'm1', 'https://rc-b.example/', 'EU', 'FR', 'phone', 'android', 'chrome' FROM rc_anchor;
SELECT analytics.metric('play', 'count', a, a + interval '3 days', '{"referrer": "https://rc-b.example/", "deviceType": "phone"}', project_id => 'rc1') AS with_late_play
  FROM rc_anchor;
SELECT (r->>'rollup_hours_refreshed')::int >= 1 AS refreshed FROM analytics.run_maintenance() r;
SELECT analytics.metric('play', 'count', a, a + interval '3 days', '{"referrer": "https://rc-b.example/", "deviceType": "phone"}', project_id => 'rc1') AS refreshed_late_play
  FROM rc_anchor;

-- a tenant: its project's referrer cube rows only, the same answers
CREATE ROLE regress_refcube_t;
SELECT analytics.grant_project('regress_refcube_t', 'rc1') AS granted;
SET ROLE regress_refcube_t;
SELECT count(*) AS other_project_rows
  FROM (SELECT project_id FROM analytics.rollup_refcube_hour UNION ALL SELECT project_id FROM analytics.rollup_refcube_day
        UNION ALL SELECT project_id FROM analytics.rollup_refcube_week UNION ALL SELECT project_id FROM analytics.rollup_refcube_w4) x
 WHERE project_id <> 'rc1';
SELECT question, answer FROM pg_temp.answers() WHERE question NOT LIKE '%all projects%';
RESET ROLE;
SELECT analytics.revoke_project('regress_refcube_t', 'rc1') AS revoked;
DROP ROLE regress_refcube_t;
DELETE FROM analytics.events WHERE project_id IN ('rc1', 'rc2');
SELECT (r->>'rollup_hours_refreshed')::int >= 1 AS refreshed FROM analytics.run_maintenance() r;
SELECT count(*) AS refcube_rows_left FROM analytics.rollup_refcube_hour WHERE project_id LIKE 'rc%';
