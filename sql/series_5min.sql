-- Series whose bucket bounds are whole 5 minutes but not whole hours (days
-- in Asia/Kolkata, UTC+05:30; Asia/Kathmandu, UTC+05:45) of a whole project
-- read the 5-minute rollup rows for each bucket's partial hours and the hour
-- (day, week) rows for its whole hours (README: "Derived data: rollups").
-- Known counts on a hand-built dataset; both kinds of rows really read (a
-- row changed by hand changes the answer, raw events do not); a filtered
-- series in such a zone reads raw events.
SET TimeZone = 'UTC';
SET analytics.maintenance_in_worker = off;
CREATE TEMP TABLE s5_anchor AS SELECT date_trunc('day', now()) - interval '4 days' AS a;

-- project s5: plays at a + 18:20, 18:40 (either side of the Kolkata day bound
-- 18:30 UTC), a + 18:10 and a + 18:16 (either side of the Kathmandu bound
-- 18:15 UTC), a + 1 day 02:00 (3 plays), a + 2 days 18:29:59 (1)
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id, media_type, country)
SELECT 's5', (SELECT a FROM s5_anchor) + t, 'play', 'm1', 'video', 'FR'
  FROM (VALUES (interval '18:20'), (interval '18:40'), (interval '18:10'), (interval '18:16'),
               (interval '1 day 02:00'), (interval '1 day 02:00'), (interval '1 day 02:00'),
               (interval '2 days 18:29:59')) v(t);
SELECT analytics.run_maintenance() IS NOT NULL AS ran;
SELECT count(*) AS pending_hours FROM analytics.rollup_pending WHERE project_id = 's5';

CREATE FUNCTION pg_temp.series(tz text, filter jsonb DEFAULT NULL) RETURNS text LANGUAGE sql AS $$
  -- local day (days after day a) = plays
  SELECT string_agg(((emitted_at AT TIME ZONE tz)::date - (SELECT a FROM s5_anchor)::date) || '=' || metric_value, ' '
                    ORDER BY emitted_at)
    FROM analytics.timeseries('play', (SELECT a FROM s5_anchor) - interval '1 day', (SELECT a FROM s5_anchor) + interval '4 days',
                              'day', filter, time_zone => tz, project_id => 's5')
   WHERE metric_value > 0
$$;
-- Kolkata: day a (until 18:30 UTC) holds 18:10, 18:16, 18:20 (0=3); day a+1
-- holds 18:40 and the 3 of a + 1 day 02:00 (1=4); a + 2 days 18:29:59 is the
-- last second of local day a+2 (2=1). Kathmandu (days end at 18:15 UTC):
-- 18:10 (0=1), then 18:16, 18:20, 18:40, 3 x 02:00 (1=6), then 3=1.
SELECT pg_temp.series('Asia/Kolkata') AS kolkata, pg_temp.series('Asia/Kathmandu') AS kathmandu;
SET analytics.use_rollups = off;
SELECT pg_temp.series('Asia/Kolkata') AS kolkata_raw, pg_temp.series('Asia/Kathmandu') AS kathmandu_raw;
RESET analytics.use_rollups;

-- the derived rows are read: a bucket's partial hours from the 5-minute
-- rows (100 plays added by hand to the 5 minutes of a + 18:40, after the
-- Kolkata bound 18:30 and the Kathmandu bound 18:15), its whole hours from
-- the hour rows (1000 added to the hour of a + 1 day 02:00); neither read
-- without the rollups
UPDATE analytics.rollup_5min SET stats[2] = stats[2] + 100
 WHERE project_id = 's5' AND dim = 0 AND bucket = (SELECT a FROM s5_anchor) + interval '18:40';
UPDATE analytics.rollup_hour SET stats[2] = stats[2] + 1000
 WHERE project_id = 's5' AND dim = 0 AND bucket = (SELECT a FROM s5_anchor) + interval '1 day 02:00';
SELECT pg_temp.series('Asia/Kolkata') AS kolkata_from_rollups, pg_temp.series('Asia/Kathmandu') AS kathmandu_from_rollups;
SET analytics.use_rollups = off;
SELECT pg_temp.series('Asia/Kolkata') AS kolkata_raw;
RESET analytics.use_rollups;
-- a filtered series has no 5-minute rows (whole projects only): raw events
SELECT pg_temp.series('Asia/Kolkata', '{"country": "FR"}') AS kolkata_filtered;

-- a late play in a refreshed hour counts at once (its hour pending, read
-- raw: the 1000 added to its hour row no longer count, the 100 still do)
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id, media_type)
VALUES ('s5', (SELECT a FROM s5_anchor) + interval '1 day 02:01', 'play', 'm1', 'video');
SELECT pg_temp.series('Asia/Kolkata') AS kolkata_late;
