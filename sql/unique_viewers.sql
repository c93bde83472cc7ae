-- Unique viewers from derived data (README: "Derived data: rollups"):
-- metric('view', 'count', unique_viewers => true) and breakdowns with
-- cube dimensions read the distinct viewer ids of rollup_viewers_hour /
-- _day for refreshed hours and days, raw events for the rest, and count
-- the union. Known counts on a hand-built dataset: a viewer on two days and
-- in two countries, NULL viewer ids (left out, but their group shows with
-- 0), a period whose ends cut hours, a late event read raw while pending,
-- a derived row changed by hand changing the answer (it is read), a
-- tenant seeing its project only.
SET TimeZone = 'UTC';
SET analytics.maintenance_in_worker = off;
CREATE TEMP TABLE uv_anchor AS SELECT date_trunc('day', now()) - interval '3 days' AS a;
GRANT SELECT ON uv_anchor TO PUBLIC;

-- view events (value: the view duration) of uv1 and uv2, at a + day d,
-- hour h, minute m; viewer NULL: no id
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, viewer_id, media_id, media_type, continent,
                              country, device_type, operating_system, browser)
SELECT p, (SELECT a FROM uv_anchor) + d * interval '1 day' + h * interval '1 hour' + m * interval '1 minute',
       'view', v, viewer, 'm1', 'video', cont::analytics.continent, c, dev::analytics.device_type, 'android', 'uv-browser'
  FROM (VALUES ('uv1', 1, 2, 10, 5, 1, 'EU', 'FR', 'phone'),
               ('uv1', 1, 2, 20, 5, 3, 'EU', 'DE', 'phone'),
               ('uv1', 1, 2, 15, 5, NULL, 'EU', 'FR', 'phone'),
               ('uv1', 1, 2, 40, 5, 2, 'EU', 'FR', 'phone'),
               ('uv1', 1, 2, 45, 5, NULL, 'EU', 'FR', 'phone'),
               ('uv1', 1, 2, 50, 5, 1, 'EU', 'FR', 'phone'),
               ('uv1', 1, 5, 10, 5, 1, 'EU', 'DE', 'computer'),
               ('uv1', 1, 5, 20, 5, 4, 'EU', 'FR', 'computer'),
               ('uv1', 1, 5, 30, 10, 5, 'EU', 'FR', 'phone'),
               ('uv1', 2, 1, 10, 5, 2, 'EU', 'FR', 'phone'),
               ('uv1', 2, 1, 20, 5, 6, 'EU', 'ES', 'tv'),
               ('uv1', 2, 1, 30, 5, NULL, 'EU', 'IT', 'phone'),
               ('uv1', 2, 23, 50, 5, 7, 'EU', 'FR', 'phone'),
               ('uv2', 1, 2, 10, 5, 1, 'EU', 'FR', 'phone'),
               ('uv2', 1, 3, 10, 5, 8, 'EU', 'FR', 'phone')) x(p, d, h, m, v, viewer, cont, c, dev);
-- a play with a viewer id counts for no view
INSERT INTO analytics.events (project_id, emitted_at, event_type, viewer_id, media_id, country)
SELECT 'uv1', a + interval '1 day 2 hours', 'play', 99, 'm1', 'FR' FROM uv_anchor;
SELECT (r->>'rollup_hours_refreshed')::int >= 5 AS refreshed FROM analytics.run_maintenance() r;
SELECT project_id, bucket - (SELECT a FROM uv_anchor) AS at, country, device_type, viewers_3s, viewers_5s, viewers_10s, viewers_30s
  FROM analytics.rollup_viewers_hour WHERE project_id LIKE 'uv%' ORDER BY 1, 2, 3, 4;
SELECT project_id, bucket - (SELECT a FROM uv_anchor) AS at, country, device_type, viewers_3s, viewers_5s, viewers_10s, viewers_30s
  FROM analytics.rollup_viewers_day WHERE project_id LIKE 'uv%' ORDER BY 1, 2, 3, 4;

-- the questions: the three days (day rows), and a period from a + 1 day
-- 02:30 to a + 2 days 23:30 (hours and raw events at both ends)
CREATE FUNCTION pg_temp.answers(f timestamptz, t timestamptz) RETURNS TABLE (question text, answer text) LANGUAGE plpgsql AS $$
BEGIN
  question := 'unique viewers (uv1)';
  answer := analytics.metric('view', 'count', f, t, unique_viewers => true, project_id => 'uv1');
  RETURN NEXT;
  question := 'unique viewers by country (uv1)';
  SELECT string_agg(dimension_value || '=' || metric_value, ' ') INTO answer
    FROM analytics.breakdown('view', 'country', f, t, unique_viewers => true, project_id => 'uv1');
  RETURN NEXT;
  question := 'unique viewers, FR phone (uv1)';
  answer := analytics.metric('view', 'count', f, t, '{"country": "FR", "deviceType": "phone"}', unique_viewers => true, project_id => 'uv1');
  RETURN NEXT;
  question := 'unique viewers by device type, FR (uv1)';
  SELECT string_agg(dimension_value || '=' || metric_value, ' ') INTO answer
    FROM analytics.breakdown('view', 'device-type', f, t, '{"country": "FR"}', unique_viewers => true, project_id => 'uv1');
  RETURN NEXT;
  question := 'unique viewers, IT: NULL ids only (uv1)';
  SELECT string_agg(dimension_value || '=' || metric_value, ' ') INTO answer
    FROM analytics.breakdown('view', 'country', f, t, '{"country": "IT"}', unique_viewers => true, project_id => 'uv1');
  answer := answer || ' / ' || analytics.metric('view', 'count', f, t, '{"country": "IT"}', unique_viewers => true, project_id => 'uv1');
  RETURN NEXT;
  question := 'unique viewers, 10 s views (uv1)';
  answer := analytics.metric('view', 'count', f, t, unique_viewers => true, view_duration => '10s', project_id => 'uv1');
  RETURN NEXT;
  question := 'unique viewers, browser uv-browser, all projects';
  answer := analytics.metric('view', 'count', f, t, '{"browser": "uv-browser"}', unique_viewers => true);
  RETURN NEXT;
  question := 'unique viewers by media type, browser uv-browser, all projects';
  SELECT string_agg(dimension_value || '=' || metric_value, ' ') INTO answer
    FROM analytics.breakdown('view', 'media-type', f, t, '{"browser": "uv-browser"}', unique_viewers => true);
  RETURN NEXT;
  question := 'unique viewers by media id (raw events)';
  SELECT string_agg(dimension_value || '=' || metric_value, ' ') INTO answer
    FROM analytics.breakdown('view', 'media-id', f, t, unique_viewers => true, project_id => 'uv1');
  RETURN NEXT;
  question := 'unique viewers per day (uv1)';
  SELECT string_agg(metric_value::text, ' ' ORDER BY emitted_at) INTO answer
    FROM analytics.timeseries('view', f, t, 'day', unique_viewers => true, project_id => 'uv1');
  RETURN NEXT;
  question := 'unique viewers per hour with views, FR (uv1)';
  SELECT string_agg('f+' || (extract(epoch FROM emitted_at - f) / 3600)::int || 'h=' || metric_value, ' ' ORDER BY emitted_at) INTO answer
    FROM analytics.timeseries('view', f, t, 'hour', '{"country": "FR"}', unique_viewers => true, project_id => 'uv1')
   WHERE metric_value > 0;
  RETURN NEXT;
  question := 'unique viewers per day in Europe/Paris (uv1)';
  SELECT string_agg(metric_value::text, ' ' ORDER BY emitted_at) INTO answer
    FROM analytics.timeseries('view', f, t, 'day', time_zone => 'Europe/Paris', unique_viewers => true, project_id => 'uv1');
  RETURN NEXT;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.answers(timestamptz, timestamptz) TO PUBLIC;
CREATE TEMP TABLE uv_raw (question text, answer text);
CREATE FUNCTION pg_temp.both(f timestamptz, t timestamptz) RETURNS TABLE (question text, answer text, same_raw boolean)
LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE uv_raw;
  SET LOCAL analytics.use_rollups = off;
  INSERT INTO uv_raw SELECT * FROM pg_temp.answers(f, t);
  SET LOCAL analytics.use_rollups = on;
  RETURN QUERY SELECT a.question, a.answer, a.answer IS NOT DISTINCT FROM r.answer
                 FROM pg_temp.answers(f, t) a JOIN uv_raw r USING (question);
END $$;
SELECT b.* FROM uv_anchor, pg_temp.both(a, a + interval '3 days') b;
SELECT b.* FROM uv_anchor, pg_temp.both(a + interval '1 day 2 hours 30 minutes', a + interval '2 days 23 hours 30 minutes') b;

-- the derived rows are read: an id added by hand to uv1's ES rows (hour
-- and day) shows with the rollups on, not off; taken out again
UPDATE analytics.rollup_viewers_hour SET viewers_5s = viewers_5s || 1000::bigint WHERE project_id = 'uv1' AND country = 'ES';
UPDATE analytics.rollup_viewers_day SET viewers_5s = viewers_5s || 1000::bigint WHERE project_id = 'uv1' AND country = 'ES';
SELECT b.* FROM uv_anchor, pg_temp.both(a, a + interval '3 days') b WHERE question LIKE 'unique viewers%(uv1)';
SELECT b.* FROM uv_anchor, pg_temp.both(a + interval '1 day 2 hours 30 minutes', a + interval '2 days 23 hours 30 minutes') b
 WHERE question = 'unique viewers by country (uv1)';
UPDATE analytics.rollup_viewers_hour SET viewers_5s = viewers_5s[1:cardinality(viewers_5s) - 1] WHERE project_id = 'uv1' AND country = 'ES';
UPDATE analytics.rollup_viewers_day SET viewers_5s = viewers_5s[1:cardinality(viewers_5s) - 1] WHERE project_id = 'uv1' AND country = 'ES';

-- late events, read raw while their hours are pending: a new viewer 9 in
-- an hour without events (a + 1 day 03:00), viewer 3 again in FR (hour 2,
-- refreshed: its rows are not read while it is pending)
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, viewer_id, media_id, continent, country,
                              device_type, operating_system, browser)
SELECT 'uv1', a + x.at, 'view', 5, x.viewer, 'm1', 'EU', 'FR', 'phone', 'android', 'uv-browser'
  FROM uv_anchor, (VALUES (interval '1 day 3 hours 5 minutes', 9), (interval '1 day 2 hours 55 minutes', 3)) x(at, viewer);
SELECT b.* FROM uv_anchor, pg_temp.both(a, a + interval '3 days') b
 WHERE question IN ('unique viewers (uv1)', 'unique viewers by country (uv1)');
SELECT (r->>'rollup_hours_refreshed')::int >= 2 AS refreshed FROM analytics.run_maintenance() r;
SELECT b.* FROM uv_anchor, pg_temp.both(a, a + interval '3 days') b
 WHERE question IN ('unique viewers (uv1)', 'unique viewers by country (uv1)');
-- deleted again: the hours' and days' rows follow
DELETE FROM analytics.events WHERE project_id = 'uv1' AND viewer_id IN (9, 3) AND country = 'FR';
SELECT (r->>'rollup_hours_refreshed')::int >= 2 AS refreshed FROM analytics.run_maintenance() r;
SELECT b.* FROM uv_anchor, pg_temp.both(a, a + interval '3 days') b
 WHERE question IN ('unique viewers (uv1)', 'unique viewers by country (uv1)');

-- a tenant: its project's viewer rows only, the owner's answers
CREATE ROLE regress_uv_t;
SELECT analytics.grant_project('regress_uv_t', 'uv1') AS granted;
SET ROLE regress_uv_t;
SELECT string_agg(DISTINCT project_id, ',') AS projects_seen
  FROM (SELECT project_id FROM analytics.rollup_viewers_hour UNION ALL SELECT project_id FROM analytics.rollup_viewers_day) x;
SELECT x.* FROM uv_anchor, pg_temp.answers(a, a + interval '3 days') x;
RESET ROLE;
SELECT analytics.revoke_project('regress_uv_t', 'uv1') AS revoked;
DROP ROLE regress_uv_t;

-- the aggregates themselves
SELECT analytics._viewers_count(x) AS n, analytics._viewers_union(x) AS ids
  FROM (VALUES ('{3,1,NULL}'::bigint[]), ('{}'), (NULL), ('{0,-5,3}')) v(x);
SELECT analytics._viewers_count(x) AS none, analytics._viewers_union(x) IS NULL AS no_ids FROM (SELECT '{}'::bigint[] WHERE false) v(x);
SELECT analytics._viewers_count(x) AS none, analytics._viewers_union(x) IS NULL AS no_ids FROM (VALUES (NULL::bigint[]), (NULL)) v(x);
SELECT analytics._viewers_union(x) AS empty FROM (VALUES (NULL::bigint[]), ('{}'), (NULL)) v(x);
SELECT analytics._viewers_count(ARRAY[g]) = 100000 AS many, cardinality(analytics._viewers_union(ARRAY[g, g])) = 100000 AS many_union
  FROM generate_series(1::bigint, 100000) g;

DELETE FROM analytics.events WHERE project_id IN ('uv1', 'uv2');
SELECT (r->>'rollup_hours_refreshed')::int >= 1 AS refreshed FROM analytics.run_maintenance() r;
SELECT count(*) AS viewer_rows_left
  FROM (SELECT 1 FROM analytics.rollup_viewers_hour WHERE project_id LIKE 'uv%'
        UNION ALL SELECT 1 FROM analytics.rollup_viewers_day WHERE project_id LIKE 'uv%') x;
