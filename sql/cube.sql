-- The cube (README: "Derived data: rollups"): questions with two filters,
-- or a filter on one dimension and a breakdown by another, read
-- rollup_cube_* once the hours are refreshed. Known counts on a hand-built
-- dataset; the cube rows really read (a row changed by hand changes the
-- answer, raw events do not); tenants see only their project's cube rows.
SET TimeZone = 'UTC';
SET analytics.maintenance_in_worker = off;
CREATE TEMP TABLE cb_anchor AS SELECT date_trunc('day', now()) - interval '3 days' AS a;
GRANT SELECT ON cb_anchor TO PUBLIC;

-- plays of project cb1 on day a + 1 (hours 2 and 5): FR phone 3, FR computer
-- 2, FR tv 1 (browser cb-chrome), DE phone 5 (cb-firefox); cb2: FR phone 7. Impressions
-- of cb1 FR phone: 2 of 100 s and 300 s.
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, media_type, continent, country,
                              device_type, operating_system, browser)
SELECT p, (SELECT a FROM cb_anchor) + interval '1 day' + h * interval '1 hour' + n * interval '1 minute',
       ty::analytics.event_type, v, 'm1', mt::analytics.media_type, cont::analytics.continent, c,
       dev::analytics.device_type, 'android', br
  FROM (VALUES ('cb1', 'play', NULL, 'video', 'EU', 'FR', 'phone', 'cb-chrome', 2, 3),
               ('cb1', 'play', NULL, 'live-stream', 'EU', 'FR', 'computer', 'cb-chrome', 5, 2),
               ('cb1', 'play', NULL, 'video', 'EU', 'FR', 'tv', 'cb-chrome', 5, 1),
               ('cb1', 'play', NULL, 'video', 'EU', 'DE', 'phone', 'cb-firefox', 2, 5),
               ('cb1', 'impression', 100, 'video', 'EU', 'FR', 'phone', 'cb-chrome', 2, 1),
               ('cb1', 'impression', 300, 'video', 'EU', 'FR', 'phone', 'cb-chrome', 5, 1),
               ('cb2', 'play', NULL, 'video', 'EU', 'FR', 'phone', 'cb-chrome', 2, 7)) d(p, ty, v, mt, cont, c, dev, br, h, k),
       generate_series(1, k) n;
SELECT (r->>'rollup_hours_refreshed')::int >= 2 AS refreshed FROM analytics.run_maintenance() r;
SELECT project_id, count(*) AS cube_hour_rows, sum(stats[2]) AS plays
  FROM analytics.rollup_cube_hour WHERE project_id LIKE 'cb%' GROUP BY 1 ORDER BY 1;
SELECT project_id, count(*) AS cube_day_rows FROM analytics.rollup_cube_day WHERE project_id LIKE 'cb%' GROUP BY 1 ORDER BY 1;
-- the device cube (no continent, country): the cube's sums, fewer rows
SELECT h.project_id, h.n AS devcube_hour_rows, h.plays, d.n AS devcube_day_rows, d.plays AS day_plays
  FROM (SELECT project_id, count(*) AS n, sum(stats[2]) AS plays FROM analytics.rollup_devcube_hour WHERE project_id LIKE 'cb%' GROUP BY 1) h
  JOIN (SELECT project_id, count(*) AS n, sum(stats[2]) AS plays FROM analytics.rollup_devcube_day WHERE project_id LIKE 'cb%' GROUP BY 1) d USING (project_id)
 ORDER BY 1;

-- the questions, over the three days (whole days: cube day rows)
CREATE FUNCTION pg_temp.answers() RETURNS TABLE (question text, answer text) LANGUAGE plpgsql AS $$
DECLARE
  f timestamptz := (SELECT a FROM cb_anchor);
  t timestamptz := (SELECT a FROM cb_anchor) + interval '3 days';
BEGIN
  question := 'plays by device type, country FR (cb1)';
  SELECT string_agg(dimension_value || '=' || metric_value, ' ') INTO answer
    FROM analytics.breakdown('play', 'device-type', f, t, '{"country": "FR"}', project_id => 'cb1');
  RETURN NEXT;
  question := 'plays by device type, country FR, browser cb-chrome (all projects)';
  SELECT string_agg(dimension_value || '=' || metric_value, ' ') INTO answer
    FROM analytics.breakdown('play', 'device-type', f, t, '{"country": "FR", "browser": "cb-chrome"}');
  RETURN NEXT;
  question := 'plays by country, device type phone, browser cb-chrome (cb1)';
  SELECT string_agg(dimension_value || '=' || metric_value, ' ') INTO answer
    FROM analytics.breakdown('play', 'country', f, t, '{"deviceType": "phone", "browser": "cb-chrome"}', project_id => 'cb1');
  RETURN NEXT;
  question := 'plays by media type, continent EU, device type phone or tv (cb1)';
  SELECT string_agg(dimension_value || '=' || metric_value, ' ') INTO answer
    FROM analytics.breakdown('play', 'media-type', f, t, '{"continent": "EU", "deviceType": ["phone", "tv"]}', project_id => 'cb1');
  RETURN NEXT;
  question := 'play count, country FR, device type phone (cb1)';
  answer := analytics.metric('play', 'count', f, t, '{"country": "FR", "deviceType": "phone"}', project_id => 'cb1');
  RETURN NEXT;
  question := 'impression time average, country FR, browser cb-chrome (cb1)';
  answer := analytics.metric('impression-time', 'average', f, t, '{"country": "FR", "browser": "cb-chrome"}', project_id => 'cb1');
  RETURN NEXT;
  question := 'plays per hour, country FR, media type video (cb1)';
  SELECT string_agg('a+' || (extract(epoch FROM emitted_at - f) / 3600)::int || 'h=' || metric_value, ' ' ORDER BY emitted_at) INTO answer
    FROM analytics.timeseries('play', f, t, 'hour', '{"country": "FR", "mediaType": "video"}', project_id => 'cb1')
   WHERE metric_value > 0;
  RETURN NEXT;
  question := 'plays per day, country FR, device type phone (cb1)';
  SELECT string_agg(metric_value::text, ' ' ORDER BY emitted_at) INTO answer
    FROM analytics.timeseries('play', f, t, 'day', '{"country": "FR", "deviceType": "phone"}', project_id => 'cb1');
  RETURN NEXT;
  question := 'plays per day, device type phone, browser cb-chrome (cb1, device cube)';
  SELECT string_agg(metric_value::text, ' ' ORDER BY emitted_at) INTO answer
    FROM analytics.timeseries('play', f, t, 'day', '{"deviceType": "phone", "browser": "cb-chrome"}', project_id => 'cb1');
  RETURN NEXT;
  question := 'plays by browser, device type phone (cb1, device cube)';
  SELECT string_agg(dimension_value || '=' || metric_value, ' ') INTO answer
    FROM analytics.breakdown('play', 'browser', f, t, '{"deviceType": "phone"}', project_id => 'cb1');
  RETURN NEXT;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.answers() TO PUBLIC;
SELECT * FROM pg_temp.answers();

-- the cube is read: a play added by hand to every cube level of cb1's FR
-- phone rows (each instant of the period is read once, whatever the blocks)
-- shows with the rollups on, not off; taken out again
CREATE FUNCTION pg_temp.nudge(d double precision) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['rollup_cube_hour', 'rollup_cube_day', 'rollup_cube_week', 'rollup_cube_w4'] LOOP
    EXECUTE format('UPDATE analytics.%I SET stats[2] = stats[2] + $1 WHERE project_id = ''cb1'' AND country = ''FR'''
                   ' AND device_type = ''phone'' AND stats[2] > 0', t) USING d;
  END LOOP;
END $$;
SELECT pg_temp.nudge(100);
SELECT question, answer FROM pg_temp.answers() WHERE question LIKE '%FR%phone%' OR question LIKE '%device type, country FR (cb1)';
SET analytics.use_rollups = off;
SELECT question, answer FROM pg_temp.answers() WHERE question LIKE '%FR%phone%' OR question LIKE '%device type, country FR (cb1)';
RESET analytics.use_rollups;
SELECT pg_temp.nudge(-100);
-- and so is the device cube, for questions on its dimensions only: a play
-- added to every level of cb1's phone rows shows there, not in the cube's
CREATE FUNCTION pg_temp.nudge_devcube(d double precision) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['rollup_devcube_hour', 'rollup_devcube_day', 'rollup_devcube_week', 'rollup_devcube_w4'] LOOP
    EXECUTE format('UPDATE analytics.%I SET stats[2] = stats[2] + $1 WHERE project_id = ''cb1'''
                   ' AND device_type = ''phone'' AND stats[2] > 0', t) USING d;
  END LOOP;
END $$;
SELECT pg_temp.nudge_devcube(100);
SELECT question, answer FROM pg_temp.answers() WHERE question LIKE '%phone%';
SELECT pg_temp.nudge_devcube(-100);

-- a pending hour is read raw: a late play, before any refresh, counts at once
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id, continent, country, device_type, operating_system, browser)
SELECT 'cb1', a + interval '1 day 2 hours 30 minutes', 'play', 'm1', 'EU', 'FR', 'phone', 'android', 'cb-chrome' FROM cb_anchor;
SELECT analytics.metric('play', 'count', a, a + interval '3 days', '{"country": "FR", "deviceType": "phone"}', project_id => 'cb1') AS with_late_play
  FROM cb_anchor;
SELECT (r->>'rollup_hours_refreshed')::int >= 1 AS refreshed FROM analytics.run_maintenance() r;
SELECT analytics.metric('play', 'count', a, a + interval '3 days', '{"country": "FR", "deviceType": "phone"}', project_id => 'cb1') AS refreshed_late_play
  FROM cb_anchor;
DELETE FROM analytics.events WHERE project_id = 'cb1' AND emitted_at = (SELECT a + interval '1 day 2 hours 30 minutes' FROM cb_anchor);
SELECT (r->>'rollup_hours_refreshed')::int >= 1 AS refreshed FROM analytics.run_maintenance() r;

-- the cover of the cube (dim 9: the cube's weights): whole days in day rows
SELECT cardinality(c.day_from) > 0 AS day_rows, cardinality(c.raw_from) = 0 AS no_raw
  FROM cb_anchor, analytics._plan_cover(a, a + interval '3 days', 'day', false, 9::smallint, ARRAY['cb1']) c;
-- and of the device cube (dim 11)
SELECT cardinality(c.day_from) > 0 AS day_rows, cardinality(c.raw_from) = 0 AS no_raw
  FROM cb_anchor, analytics._plan_cover(a, a + interval '3 days', 'day', false, 11::smallint, ARRAY['cb1']) c;

-- a tenant: its project's cube rows only, the same answers as the owner
CREATE ROLE regress_cube_t;
SELECT analytics.grant_project('regress_cube_t', 'cb1') AS granted;
SET ROLE regress_cube_t;
SELECT string_agg(DISTINCT project_id, ',') AS projects_seen, count(*) > 0 AS rows_seen FROM analytics.rollup_cube_hour;
SELECT count(*) AS other_project_rows
  FROM (SELECT project_id FROM analytics.rollup_cube_hour UNION ALL SELECT project_id FROM analytics.rollup_cube_day
        UNION ALL SELECT project_id FROM analytics.rollup_cube_week UNION ALL SELECT project_id FROM analytics.rollup_cube_w4
        UNION ALL SELECT project_id FROM analytics.rollup_devcube_hour UNION ALL SELECT project_id FROM analytics.rollup_devcube_day
        UNION ALL SELECT project_id FROM analytics.rollup_devcube_week UNION ALL SELECT project_id FROM analytics.rollup_devcube_w4) x
 WHERE project_id <> 'cb1';
SELECT * FROM pg_temp.answers();
SELECT count(*) AS other_project_buckets
  FROM cb_anchor, analytics.breakdown('play', 'device-type', a, a + interval '3 days', '{"country": "FR"}', project_id => 'cb2');
RESET ROLE;
SELECT analytics.revoke_project('regress_cube_t', 'cb1') AS revoked;
DROP ROLE regress_cube_t;
DELETE FROM analytics.events WHERE project_id IN ('cb1', 'cb2');
SELECT (r->>'rollup_hours_refreshed')::int >= 1 AS refreshed FROM analytics.run_maintenance() r;
SELECT count(*) AS cube_rows_left FROM analytics.rollup_cube_hour WHERE project_id LIKE 'cb%';
SELECT count(*) AS devcube_rows_left
  FROM (SELECT project_id FROM analytics.rollup_devcube_hour UNION ALL SELECT project_id FROM analytics.rollup_devcube_day
        UNION ALL SELECT project_id FROM analytics.rollup_devcube_week UNION ALL SELECT project_id FROM analytics.rollup_devcube_w4) x
 WHERE project_id LIKE 'cb%';
