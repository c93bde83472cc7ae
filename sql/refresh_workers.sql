-- The refresh shared between background workers (README: "Derived data:
-- rollups", analytics.refresh_workers): the days of a batch of several
-- days are refreshed by the workers, which commit every unit
-- (_rollup_refresh_parallel returns true only then), and their rows are
-- those of the backend refreshing alone (workers 0: it returns false).
SET TimeZone = 'UTC';
SET analytics.maintenance_in_worker = off;
CREATE TEMP TABLE rw_anchor AS SELECT date_trunc('day', now()) - interval '4 days' AS a;
-- project rw1, three days of 24 hours, 4 of each per hour: plays (FR),
-- impressions of 100 s (DE), watch events of 30 s (FR) of three media
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, continent, country, device_type, viewer_id)
SELECT 'rw1', a + d * interval '1 day' + h * interval '1 hour' + m * interval '7 minutes', ty::analytics.event_type, v,
       'm' || (h % 3), 'EU', c, 'phone', h * 10 + m
  FROM rw_anchor, generate_series(0, 2) d, generate_series(0, 23) h, generate_series(0, 3) m,
       (VALUES ('play', NULL::float8, 'FR'), ('impression', 100, 'DE'), ('watch', 30, 'FR')) x(ty, v, c);
SELECT (r->>'rollup_hours_refreshed')::int >= 72 AS refreshed FROM analytics.run_maintenance() r;

-- rw1's rows of the hour-level tables and of the days (sums: compared to
-- 1e-9, as two refreshes may add floats in another order)
CREATE FUNCTION pg_temp.rw_rows() RETURNS TABLE (t text, k text, stats text) LANGUAGE sql AS $$
  SELECT 'hour', r.dim || ' ' || r.bucket || ' ' || coalesce(r.value, ''), r.stats::text FROM analytics.rollup_hour r WHERE r.project_id = 'rw1'
  UNION ALL SELECT '5min', r.dim || ' ' || r.bucket || ' ' || coalesce(r.value, ''), r.stats::text FROM analytics.rollup_5min r WHERE r.project_id = 'rw1'
  UNION ALL SELECT 'cube hour', r.bucket || ' ' || r.country || ' ' || r.device_type, r.stats::text FROM analytics.rollup_cube_hour r WHERE r.project_id = 'rw1'
  UNION ALL SELECT 'ccv', r.minute || ' ' || coalesce(r.media_id, ''), r.peak_sessions || ' ' || r.peak_viewers FROM analytics.rollup_ccv r WHERE r.project_id = 'rw1'
  UNION ALL SELECT 'day', r.dim || ' ' || r.bucket || ' ' || coalesce(r.value, ''),
                   (SELECT string_agg(round(x::numeric, 9)::text, ',') FROM unnest(r.stats) x) FROM analytics.rollup_day r WHERE r.project_id = 'rw1'
  UNION ALL SELECT 'cube day', r.bucket || ' ' || r.country || ' ' || r.device_type,
                   (SELECT string_agg(round(x::numeric, 9)::text, ',') FROM unnest(r.stats) x) FROM analytics.rollup_cube_day r WHERE r.project_id = 'rw1'
$$;
CREATE TEMP TABLE rw_before AS SELECT * FROM pg_temp.rw_rows();
SELECT t, count(*) AS rows FROM rw_before GROUP BY t ORDER BY t;
-- the plays per day and media (dimension 1), known: 8 hours x 4 each
SELECT r.bucket - a AS day, r.stats[2] AS plays FROM analytics.rollup_day r, rw_anchor
 WHERE r.project_id = 'rw1' AND r.dim = 1 AND r.stats[2] > 0 ORDER BY 1;

-- rows changed by hand (one hour row, one day row): each refresh below
-- must write them again
CREATE FUNCTION pg_temp.rw_tamper() RETURNS bigint LANGUAGE sql AS $$
  UPDATE analytics.rollup_hour r SET stats[2] = r.stats[2] + 1000 FROM rw_anchor
   WHERE r.project_id = 'rw1' AND r.bucket = a + interval '1 day 5 hours';
  UPDATE analytics.rollup_day r SET stats[2] = r.stats[2] + 1000 FROM rw_anchor
   WHERE r.project_id = 'rw1' AND r.bucket = a + interval '2 days';
  SELECT count(*) FROM ((TABLE rw_before EXCEPT ALL SELECT * FROM pg_temp.rw_rows())
                        UNION ALL (SELECT * FROM pg_temp.rw_rows() EXCEPT ALL TABLE rw_before)) x;
$$;

-- the three days again, shared between two workers
SET analytics.refresh_workers = 2;
SELECT pg_temp.rw_tamper() > 0 AS tampered;
CREATE TEMP TABLE rw_hours AS
SELECT array_agg(a + h * interval '1 hour' ORDER BY h) AS hrs, ARRAY[a, a + interval '1 day', a + interval '2 days'] AS days
  FROM rw_anchor, generate_series(0, 71) h GROUP BY a;
SELECT analytics._rollup_refresh_parallel(hrs, 'day', days, true) AS workers_committed_every_unit FROM rw_hours;
SELECT count(*) AS differing_rows FROM ((TABLE rw_before EXCEPT ALL SELECT * FROM pg_temp.rw_rows())
                                       UNION ALL (SELECT * FROM pg_temp.rw_rows() EXCEPT ALL TABLE rw_before)) x;
-- and by the backend alone
SET analytics.refresh_workers = 0;
SELECT pg_temp.rw_tamper() > 0 AS tampered;
SELECT analytics._rollup_refresh_parallel(hrs, 'day', days, true) AS workers_committed_every_unit FROM rw_hours;
SELECT count(*) AS differing_rows FROM ((TABLE rw_before EXCEPT ALL SELECT * FROM pg_temp.rw_rows())
                                       UNION ALL (SELECT * FROM pg_temp.rw_rows() EXCEPT ALL TABLE rw_before)) x;
RESET analytics.refresh_workers;
DELETE FROM analytics.events WHERE project_id = 'rw1';
SELECT (r->>'rollup_hours_refreshed')::int >= 72 AS refreshed FROM analytics.run_maintenance() r;
SELECT count(*) AS rw1_rollup_rows_left FROM pg_temp.rw_rows();
