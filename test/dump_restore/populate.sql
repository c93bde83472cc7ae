-- The source database of test/dump_restore.sh: events over several days of
-- two projects (one day past the retention window at first, archived into
-- play_totals), a day older than the default retention, rollups built by
-- maintenance and hours written after it (pending), a stray row left in the
-- default partition, a hand-made partition, media, two tenant roles, a
-- ping session with a client IP. psql variables: t0 (today 00:00 UTC),
-- a (ping anchor), ua, ip, acme, globex (role names).
SET TimeZone = 'UTC';
SET client_min_messages = warning;
CREATE EXTENSION analytics;
SELECT analytics.set_retention('50 days') IS NOT NULL AS retention_set;
\i test/dump_restore/ping.sql

-- deterministic events: whole-number values, so sums do not depend on order
CREATE FUNCTION pg_temp.load(day_offset int, n int, salt int) RETURNS void LANGUAGE sql AS $$
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, media_type, session_id,
                              viewer_id, referrer, continent, country, device_type, operating_system, browser)
SELECT CASE WHEN i % 3 = 0 THEN 'globex' ELSE 'acme' END,
       (SELECT t0 FROM dr_anchor) + day_offset * interval '1 day' + ((i * 211 + salt) % 86400) * interval '1 second',
       (ARRAY['impression', 'play', 'start', 'watch', 'view', 'end', 'pause', 'watch'])[1 + i % 8]::analytics.event_type,
       CASE i % 8 WHEN 0 THEN 200 + (i % 7) * 100 WHEN 3 THEN 1 + i % 30 WHEN 7 THEN 1 + i % 50
                  WHEN 4 THEN (ARRAY[3, 5, 10, 30])[1 + (i / 8) % 4] END,
       'm' || (i % 4),
       CASE WHEN i % 4 = 3 THEN 'live-stream' ELSE 'video' END::analytics.media_type,
       md5('s' || day_offset || '-' || salt || '-' || (i / 8))::uuid,
       CASE WHEN i % 5 <> 0 THEN 1000 * (day_offset + 100) + i / 16 END,
       (ARRAY['', 'https://news.example/', 'https://blog.example/post'])[1 + i % 3],
       (ARRAY['EU', 'NA', 'EU', 'AS', NULL])[1 + i % 5]::analytics.continent,
       (ARRAY['FR', 'US', 'DE', 'JP', NULL])[1 + i % 5],
       (ARRAY['computer', 'phone', 'tablet'])[1 + i % 3]::analytics.device_type,
       (ARRAY['linux', 'ios', 'android', 'windows'])[1 + i % 4],
       (ARRAY['firefox', 'safari', 'chrome'])[1 + i % 3]
  FROM generate_series(0, n - 1) i $$;


SELECT pg_temp.load(d, 400, 0) FROM unnest(ARRAY[-45, -35, -2, -1, 0]) d;
-- strays of those days are placed in day partitions (the days ahead created)
SELECT analytics.run_maintenance() AS r1 \gset
-- a partition made by hand (gets its own BRIN index)
CREATE TABLE analytics.events_hand PARTITION OF analytics.events
  FOR VALUES FROM (:'t0'::timestamptz + interval '10 days') TO (:'t0'::timestamptz + interval '11 days') USING analytics_heap;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT 'acme', :'t0'::timestamptz + interval '10 days 1 hour', 'play', 'm1' FROM generate_series(1, 3);

-- retention 40 days: the day 45 days old is dropped, its plays archived;
-- plays 42 days old, arriving now, are discarded into play_totals too
SELECT analytics.set_retention('40 days') IS NOT NULL AS retention_set;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id, media_type)
SELECT 'acme', :'t0'::timestamptz - interval '42 days' + i * interval '1 minute', 'play', 'm' || (i % 2), 'video'
  FROM generate_series(1, 10) i;
SELECT analytics.run_maintenance() AS r2 \gset

-- the catalogue
INSERT INTO analytics.media (project_id, media_id, media_type, title, tags) VALUES
  ('acme', 'm0', 'video', 'Zero', '{sports,news}'),
  ('acme', 'm1', 'video', 'One', '{sports}'),
  ('globex', 'm2', 'video', 'Two', '{music}');

-- two tenants: one project, two projects
SELECT analytics.grant_project(:'acme', 'acme'), analytics.grant_project(:'globex', 'globex'),
       analytics.grant_project(:'globex', 'acme');

-- a playback in progress: ready, play at 0, pause at 6 s (watch 6, views 3 and 5)
SELECT pg_temp.ping('6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e01', 8.5,
                    jsonb_build_array(pg_temp.ev('ready', 1, 0), pg_temp.ev('play', 2, 0), pg_temp.ev('pause', 8, 6))) AS ping1 \gset

-- written after the last maintenance: these hours are pending at the dump
SELECT pg_temp.load(-1, 120, 7);
-- a stray: no partition 30 days ahead, it waits in the default partition
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
VALUES ('globex', :'t0'::timestamptz + interval '30 days 2 hours', 'play', 'm2');

-- what the comparison relies on, checked
CREATE TEMP TABLE dr_runs AS SELECT :'r1'::jsonb AS r1, :'r2'::jsonb AS r2, :'ping1'::jsonb AS ping1;
DO $$
DECLARE
  r1 jsonb := (SELECT r1 FROM dr_runs);
  r2 jsonb := (SELECT r2 FROM dr_runs);
  p1 jsonb := (SELECT ping1 FROM dr_runs);
BEGIN
  ASSERT r1->'deferred' = '[]' AND (r1->>'rows_moved')::int = 2000, 'first maintenance: ' || r1;
  ASSERT r2->'deferred' = '[]' AND jsonb_array_length(r2->'partitions_dropped') = 1
     AND (r2->>'rows_discarded')::int = 10 AND (r2->>'plays_archived')::int = 10 + 50, 'second maintenance: ' || r2;
  ASSERT (p1->>'events')::int > 0, 'ping: ' || p1;
  ASSERT (SELECT count(*) FROM analytics.events_default) = 1, 'one stray';
  ASSERT EXISTS (SELECT 1 FROM analytics.rollup_pending), 'pending hours';
  ASSERT EXISTS (SELECT 1 FROM analytics.rollup_hour), 'rollups';
  ASSERT (SELECT count(*) FROM analytics.play_totals) > 0, 'play totals';
  ASSERT (SELECT count(*) FROM analytics.ping_sessions) = 1, 'a ping session';
  ASSERT EXISTS (SELECT 1 FROM analytics.events WHERE viewer_id IS NOT NULL AND country = 'FR' AND referrer = 'https://blog.example/post'), 'viewer id';
  ASSERT EXISTS (SELECT 1 FROM analytics.events WHERE emitted_at < now() - interval '31 days'), 'a day older than the default retention';
END $$;
