-- The incremental refresh (README: "Sustained ingest"): an hour that only
-- gained rows since its last refresh gets just those rows added to its
-- rollup rows; an hour whose rows were updated or deleted, or that this
-- transaction's refresh read with its own rows, is aggregated again whole.
-- A hand edit of a rollup row tells the two apart: an incremental refresh
-- keeps it (it adds to the rows as they are), a whole one replaces it.
SET TimeZone = 'UTC';
SET analytics.maintenance_in_worker = off;
CREATE TEMP TABLE ri_h AS SELECT date_trunc('hour', now()) - interval '3 days' AS h;
SELECT r->'deferred' AS deferred FROM analytics.run_maintenance() r;

-- plays of project ri in hour h: 3, refreshed
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id, country, viewer_id)
SELECT 'ri', h + interval '10 minutes' + k * interval '1 minute', 'play', 'm1', 'FR', k FROM ri_h, generate_series(1, 3) k;
SELECT project_id, xids IS NOT NULL AS has_ids, cardinality(xids) AS ids FROM analytics.rollup_pending WHERE project_id = 'ri';
SELECT analytics._rollup_refresh_hours(ARRAY[h]) AS refreshed FROM ri_h;

-- the plays of hour h, from the rollups and from the events
CREATE FUNCTION pg_temp.plays() RETURNS TABLE (rollups double precision, raw double precision, refcube double precision)
LANGUAGE sql AS $$
  SELECT (SELECT analytics.metric('play', 'count', h, h + interval '1 hour', project_id => 'ri') FROM ri_h),
         (SELECT count(*)::float8 FROM analytics.events, ri_h WHERE project_id = 'ri' AND event_type = 'play'
             AND emitted_at >= h AND emitted_at < h + interval '1 hour'),
         (SELECT sum(r.stats[2]) FROM analytics.rollup_refcube_hour r, ri_h WHERE r.project_id = 'ri' AND r.bucket = h)
$$;
SELECT * FROM pg_temp.plays();

-- the hand edit: 100 plays more in the hour's rows per 5 minutes; 1000
-- more in the day's row of the project, 10000 in the week's (the new rows'
-- sums are added to the day and the week too, not summed again from their
-- hours and days)
UPDATE analytics.rollup_5min r SET stats[2] = stats[2] + 100 FROM ri_h
 WHERE r.project_id = 'ri' AND r.dim = 0 AND r.bucket = h + interval '10 minutes';
CREATE FUNCTION pg_temp.day_week() RETURNS TABLE (day_plays double precision, week_plays double precision)
LANGUAGE sql AS $$
  SELECT (SELECT r.stats[2] FROM analytics.rollup_day r, ri_h
           WHERE r.project_id = 'ri' AND r.dim = 0 AND r.bucket = date_bin(analytics._block_size('day'), h, analytics._block_origin('day'))),
         (SELECT r.stats[2] FROM analytics.rollup_week r, ri_h
           WHERE r.project_id = 'ri' AND r.dim = 0 AND r.bucket = date_bin(analytics._block_size('week'), h, analytics._block_origin('week')))
$$;
UPDATE analytics.rollup_day r SET stats[2] = stats[2] + 1000 FROM ri_h
 WHERE r.project_id = 'ri' AND r.dim = 0 AND r.bucket = date_bin(analytics._block_size('day'), h, analytics._block_origin('day'));
UPDATE analytics.rollup_week r SET stats[2] = stats[2] + 10000 FROM ri_h
 WHERE r.project_id = 'ri' AND r.dim = 0 AND r.bucket = date_bin(analytics._block_size('week'), h, analytics._block_origin('week'));
SELECT * FROM pg_temp.day_week();

-- two plays in one transaction; one in a subtransaction kept, one in a
-- subtransaction rolled back: three marks' worth of ids, one hour
BEGIN;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id, country, viewer_id)
SELECT 'ri', h + interval '20 minutes', 'play', 'm2', 'DE', 7 FROM ri_h;
SAVEPOINT a;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id, country, viewer_id)
SELECT 'ri', h + interval '21 minutes', 'play', 'm2', 'DE', 8 FROM ri_h;
RELEASE SAVEPOINT a;
SAVEPOINT b;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id, country, viewer_id)
SELECT 'ri', h + interval '22 minutes', 'play', 'm3', 'JP', 9 FROM ri_h;
ROLLBACK TO SAVEPOINT b;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id, country, viewer_id)
SELECT 'ri', h + interval '23 minutes', 'play', 'm1', 'FR', 1 FROM ri_h;
COMMIT;
SELECT cardinality(xids) AS ids FROM analytics.rollup_pending WHERE project_id = 'ri';
SELECT analytics._rollup_refresh_hours(ARRAY[h]) AS refreshed FROM ri_h;
-- 6 plays (3 + 3 new, the rolled-back one not), the edit kept: added to
SELECT * FROM pg_temp.plays();
SELECT r.stats[2] AS plays_10_to_15 FROM analytics.rollup_5min r, ri_h
 WHERE r.project_id = 'ri' AND r.dim = 0 AND r.bucket = h + interval '10 minutes';
-- the other rows of the hour are the sums of the rows added to
SELECT r.value AS media, r.stats[2] AS plays FROM analytics.rollup_hour r, ri_h
 WHERE r.project_id = 'ri' AND r.bucket = h AND r.dim = analytics._dim('media-id') ORDER BY 1;
SELECT r.country, r.stats[2] AS plays FROM analytics.rollup_cube_hour r, ri_h
 WHERE r.project_id = 'ri' AND r.bucket = h ORDER BY 1;
-- the day's and the week's rows added to: 3 plays more, the edits kept
SELECT * FROM pg_temp.day_week();

-- the day's cube rows (many: the referrer cube's grow with the events) are
-- summed again only once the day holds no pending hour (until then the
-- questions read its hours): a play in hour h while another hour o of the
-- same day is pending leaves a hand edit of the day's cube row in place,
-- the refresh of o (the day's last pending hour) sums it again
CREATE TEMP TABLE ri_o AS SELECT h, date_bin('1 day', h, '2000-01-01') + CASE WHEN h = date_bin('1 day', h, '2000-01-01') THEN interval '1 hour' ELSE interval '0' END AS o FROM ri_h;
CREATE FUNCTION pg_temp.fr_day() RETURNS double precision LANGUAGE sql AS $$
  SELECT r.stats[2] FROM analytics.rollup_cube_day r, ri_h
   WHERE r.project_id = 'ri' AND r.bucket = date_bin('1 day', h, '2000-01-01') AND r.country = 'FR'
$$;
UPDATE analytics.rollup_cube_day r SET stats[2] = stats[2] + 1000 FROM ri_h
 WHERE r.project_id = 'ri' AND r.bucket = date_bin('1 day', h, '2000-01-01') AND r.country = 'FR';
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id, country) SELECT 'ri', h + interval '45 minutes', 'play', 'm1', 'FR' FROM ri_o;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id, country) SELECT 'rk', o + interval '5 minutes', 'play', 'm1', 'FR' FROM ri_o;
SELECT analytics._rollup_refresh_hours(ARRAY[h]) AS refreshed FROM ri_h;
SELECT pg_temp.fr_day() AS fr_plays_day, (SELECT day_plays FROM pg_temp.day_week()) AS day_plays;
SELECT analytics._rollup_refresh_hours(ARRAY[o]) AS refreshed FROM ri_o;
SELECT pg_temp.fr_day() AS fr_plays_day, (SELECT count(*) FROM analytics.events e, ri_h WHERE e.project_id = 'ri' AND e.country = 'FR'
   AND e.event_type = 'play' AND e.emitted_at >= date_bin('1 day', h, '2000-01-01') AND e.emitted_at < date_bin('1 day', h, '2000-01-01') + interval '1 day') AS raw;
DELETE FROM analytics.events e USING ri_o WHERE e.project_id = 'ri' AND e.emitted_at = h + interval '45 minutes';
DELETE FROM analytics.events e USING ri_o WHERE e.project_id = 'rk';
SELECT analytics._rollup_refresh_hours(ARRAY[h, o]) AS refreshed FROM ri_o;

-- unique viewers: the ids of the new view events join the hour's
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, viewer_id)
SELECT 'ri', h + interval '30 minutes', 'view', 5, 'm1', v FROM ri_h, unnest(ARRAY[1, 2]) v;
SELECT analytics._rollup_refresh_hours(ARRAY[h]) AS refreshed FROM ri_h;
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, viewer_id)
SELECT 'ri', h + interval '31 minutes', 'view', 5, 'm1', v FROM ri_h, unnest(ARRAY[2, 3]) v;
SELECT analytics._rollup_refresh_hours(ARRAY[h]) AS refreshed FROM ri_h;
SELECT r.viewers_5s FROM analytics.rollup_viewers_hour r, ri_h WHERE r.project_id = 'ri' AND r.bucket = h;
SELECT analytics.metric('view', 'count', h, h + interval '1 hour', unique_viewers => true, view_duration => '5s',
                        project_id => 'ri') AS unique_viewers FROM ri_h;

-- the longest watch event of the hour: the larger of the old and the new
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id)
SELECT 'ri', h + interval '40 minutes', 'watch', 20, 'm1' FROM ri_h;
SELECT analytics._rollup_refresh_hours(ARRAY[h]) AS refreshed FROM ri_h;
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id)
SELECT 'ri', h + interval '41 minutes', 'watch', 12, 'm1' FROM ri_h;
SELECT analytics._rollup_refresh_hours(ARRAY[h]) AS refreshed FROM ri_h;
SELECT w.max_value FROM analytics.rollup_watch_max w, ri_h WHERE w.project_id = 'ri' AND w.hour = h;

-- concurrent viewers: the minutes from the first one a new watch event
-- covers are recomputed, the earlier ones kept (a hand edit of an earlier
-- minute stays); the answers equal those from the events
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, media_type, session_id, viewer_id)
SELECT 'ri', h + interval '44 minutes' + k * interval '10 seconds', 'watch', 10, 'live1', 'live-stream',
       md5(s::text)::uuid, s FROM ri_h, generate_series(1, 6) k, generate_series(1, 3) s;
SELECT analytics._rollup_refresh_hours(ARRAY[h]) AS refreshed FROM ri_h;
UPDATE analytics.rollup_ccv c SET peak_sessions = peak_sessions + 50 FROM ri_h
 WHERE c.project_id = 'ri' AND c.media_id IS NULL AND c.minute = h + interval '44 minutes';
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, media_type, session_id, viewer_id)
SELECT 'ri', h + interval '45 minutes' + k * interval '10 seconds', 'watch', 10, 'live1', 'live-stream',
       md5(s::text)::uuid, s FROM ri_h, generate_series(1, 6) k, generate_series(3, 5) s;
SELECT analytics._rollup_refresh_hours(ARRAY[h]) AS refreshed FROM ri_h;
SELECT c.minute - h AS minute, c.media_id, c.peak_sessions, c.peak_viewers FROM analytics.rollup_ccv c, ri_h
 WHERE c.project_id = 'ri' AND c.minute >= h + interval '43 minutes' AND c.minute < h + interval '47 minutes'
 ORDER BY 1, 2;
UPDATE analytics.rollup_ccv c SET peak_sessions = peak_sessions - 50 FROM ri_h
 WHERE c.project_id = 'ri' AND c.media_id IS NULL AND c.minute = h + interval '44 minutes';
SELECT analytics.metric('ccv', 'peak', h, h + interval '1 hour', project_id => 'ri') AS peak,
       analytics.metric('ccv', 'peak', h, h + interval '1 hour', filter_by => '{"mediaId": "live1"}', project_id => 'ri') AS peak_live1
  FROM ri_h;
SET analytics.use_rollups = off;
SELECT analytics.metric('ccv', 'peak', h, h + interval '1 hour', project_id => 'ri') AS peak,
       analytics.metric('ccv', 'peak', h, h + interval '1 hour', filter_by => '{"mediaId": "live1"}', project_id => 'ri') AS peak_live1
  FROM ri_h;
RESET analytics.use_rollups;

-- a delete: the mark has no ids, the hour is aggregated again whole (the
-- edit is gone)
DELETE FROM analytics.events e USING ri_h WHERE e.project_id = 'ri' AND e.emitted_at = h + interval '23 minutes';
SELECT xids FROM analytics.rollup_pending WHERE project_id = 'ri';
SELECT analytics._rollup_refresh_hours(ARRAY[h]) AS refreshed FROM ri_h;
SELECT * FROM pg_temp.plays();
SELECT r.stats[2] AS plays_10_to_15 FROM analytics.rollup_5min r, ri_h
 WHERE r.project_id = 'ri' AND r.dim = 0 AND r.bucket = h + interval '10 minutes';
-- the day and the week summed again (the edits gone)
SELECT * FROM pg_temp.day_week();

-- a refresh in the transaction that wrote rows to the hour, read whole (a
-- pending delete), counts this transaction's rows: their marks are then
-- written without ids, and the next refresh does not add them again
UPDATE analytics.rollup_5min r SET stats[2] = stats[2] + 100 FROM ri_h
 WHERE r.project_id = 'ri' AND r.dim = 0 AND r.bucket = h + interval '10 minutes';
DELETE FROM analytics.events e USING ri_h WHERE e.project_id = 'ri' AND e.emitted_at = h + interval '21 minutes';
BEGIN;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT 'ri', h + interval '50 minutes', 'play', 'm1' FROM ri_h;
SELECT analytics._rollup_refresh_hours(ARRAY[h]) AS refreshed FROM ri_h;
COMMIT;
SELECT xids FROM analytics.rollup_pending WHERE project_id = 'ri';
SELECT analytics._rollup_refresh_hours(ARRAY[h]) AS refreshed FROM ri_h;
SELECT * FROM pg_temp.plays();

-- a row of a mark's transaction that VACUUM FREEZE froze before the refresh
-- could be an older row whose transaction id was reused: the hour is read
-- whole (the edit is gone) and the answer stays exact
UPDATE analytics.rollup_5min r SET stats[2] = stats[2] + 100 FROM ri_h
 WHERE r.project_id = 'ri' AND r.dim = 0 AND r.bucket = h + interval '10 minutes';
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT 'ri', h + interval '55 minutes', 'play', 'm1' FROM ri_h;
SELECT format('VACUUM (FREEZE) %s', e.tableoid::regclass) AS vac FROM analytics.events e, ri_h
 WHERE e.project_id = 'ri' AND e.emitted_at = h + interval '55 minutes' \gset
:vac;
SELECT analytics._rollup_refresh_hours(ARRAY[h]) AS refreshed FROM ri_h;
SELECT * FROM pg_temp.plays();
SELECT r.stats[2] AS plays_10_to_15 FROM analytics.rollup_5min r, ri_h
 WHERE r.project_id = 'ri' AND r.dim = 0 AND r.bucket = h + interval '10 minutes';

-- maintenance refreshes the hour the same way
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT 'ri', h + interval '56 minutes', 'play', 'm1' FROM ri_h;
SELECT (r->>'rollup_hours_refreshed')::int >= 1 AS refreshed FROM analytics.run_maintenance() r;
SELECT * FROM pg_temp.plays();
SELECT count(*) AS pending FROM analytics.rollup_pending WHERE project_id = 'ri';

-- two days in one refresh: background workers refresh them, reading with
-- the snapshot the marks were consumed with (the hour h is added to, the
-- edit kept; the other day's hour is new)
UPDATE analytics.rollup_5min r SET stats[2] = stats[2] + 100 FROM ri_h
 WHERE r.project_id = 'ri' AND r.dim = 0 AND r.bucket = h + interval '10 minutes';
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT 'ri', x, 'play', 'm1' FROM ri_h, LATERAL (VALUES (h + interval '57 minutes'), (h - interval '1 day')) v(x);
SET analytics.refresh_workers = 2;
SELECT analytics._rollup_refresh_hours(ARRAY[h, h - interval '1 day']) AS refreshed FROM ri_h;
RESET analytics.refresh_workers;
SELECT * FROM pg_temp.plays();
SELECT r.stats[2] AS plays_10_to_15 FROM analytics.rollup_5min r, ri_h
 WHERE r.project_id = 'ri' AND r.dim = 0 AND r.bucket = h + interval '10 minutes';
SELECT analytics.metric('play', 'count', h - interval '1 day', h - interval '1 day' + interval '1 hour', project_id => 'ri') AS plays_day_before
  FROM ri_h;

-- the refresh of rows added reads no block before the first one they went
-- to (project rj: 2,000 plays in each of two hours of one day, then 5 new
-- in one of them); a partition rewritten since (VACUUM FULL after the
-- other hour's rows were deleted moves the new rows to earlier blocks) is
-- read whole: the answer stays exact
-- (a day ahead, in its own empty partition: rows are appended in order)
CREATE TEMP TABLE rj_h AS SELECT date_trunc('day', now()) + interval '2 days 2 hours' AS h2, date_trunc('day', now()) + interval '2 days 3 hours' AS h3;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id, referrer)
SELECT 'rj', h3 + k * interval '1 second', 'play', 'm1', repeat('x', 200) FROM rj_h, generate_series(1, 2000) k;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id, referrer)
SELECT 'rj', h2 + k * interval '1 second', 'play', 'm1', repeat('x', 200) FROM rj_h, generate_series(1, 2000) k;
SELECT analytics._rollup_refresh_hours(ARRAY[h2, h3]) AS refreshed FROM rj_h;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT 'rj', h2 + interval '30 minutes' + k * interval '1 second', 'play', 'm2' FROM rj_h, generate_series(1, 5) k;
SELECT from_block > 50 AS after_the_old_rows FROM analytics.rollup_pending WHERE project_id = 'rj';
SELECT analytics._rollup_refresh_hours(ARRAY[h2]) AS refreshed FROM rj_h;
SELECT analytics.metric('play', 'count', h2, h2 + interval '1 hour', project_id => 'rj') AS plays FROM rj_h;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT 'rj', h2 + interval '40 minutes' + k * interval '1 second', 'play', 'm3' FROM rj_h, generate_series(1, 5) k;
DELETE FROM analytics.events e USING rj_h WHERE e.project_id = 'rj' AND e.emitted_at >= h3 AND e.emitted_at < h3 + interval '1 hour';
SELECT format('VACUUM (FULL) %s', e.tableoid::regclass) AS vac FROM analytics.events e, rj_h
 WHERE e.project_id = 'rj' AND e.emitted_at = h2 + interval '40 minutes' + interval '1 second' \gset
:vac;
SELECT analytics._rollup_refresh_hours(ARRAY[h2]) AS refreshed FROM rj_h;
SELECT analytics.metric('play', 'count', h2, h2 + interval '1 hour', project_id => 'rj') AS plays,
       analytics.metric('play', 'count', h2, h2 + interval '1 hour', filter_by => '{"mediaId": "m3"}', project_id => 'rj') AS m3
  FROM rj_h;
SELECT analytics._rollup_refresh_hours(ARRAY[h3]) AS refreshed FROM rj_h;
SELECT analytics.metric('play', 'count', h3, h3 + interval '1 hour', project_id => 'rj') AS plays_h3 FROM rj_h;

-- a refresh in a transaction that wrote before it consumed the marks: the
-- workers cannot read with its snapshot, they read with their own and
-- aggregate whole hours (the edit is gone), and the answer stays exact
UPDATE analytics.rollup_5min r SET stats[2] = stats[2] + 100 FROM ri_h
 WHERE r.project_id = 'ri' AND r.dim = 0 AND r.bucket = h + interval '10 minutes';
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT 'ri', x, 'play', 'm1' FROM ri_h, LATERAL (VALUES (h + interval '58 minutes'), (h - interval '1 day' + interval '1 minute')) v(x);
BEGIN;
INSERT INTO analytics.media (project_id, media_id, media_type, title) VALUES ('ri', 'm9', 'video', 'nine');
SET LOCAL analytics.refresh_workers = 2;
SELECT analytics._rollup_refresh_hours(ARRAY[h, h - interval '1 day']) AS refreshed FROM ri_h;
COMMIT;
SELECT * FROM pg_temp.plays();
SELECT r.stats[2] AS plays_10_to_15 FROM analytics.rollup_5min r, ri_h
 WHERE r.project_id = 'ri' AND r.dim = 0 AND r.bucket = h + interval '10 minutes';
SELECT analytics.metric('play', 'count', h - interval '1 day', h - interval '1 day' + interval '1 hour', project_id => 'ri') AS plays_day_before
  FROM ri_h;

-- the edge of ingest: a new hour right after an hour that is refreshed and
-- still being written (a pending mark) has only the rows of its marks, and
-- is added to like the hour before it (the day's row is not summed again
-- from its hours: a hand edit of it is kept); a new hour after an hour
-- that is not being written any more (a load of later hours) is read whole
-- and its day summed again (the edit gone)
CREATE TEMP TABLE re_h AS SELECT date_trunc('day', now()) + interval '2 days 5 hours' AS e1;
CREATE FUNCTION pg_temp.re_day() RETURNS TABLE (day_plays double precision, raw bigint)
LANGUAGE sql AS $$
  SELECT (SELECT r.stats[2] FROM analytics.rollup_day r, re_h
           WHERE r.project_id = 're' AND r.dim = 0 AND r.bucket = date_bin(analytics._block_size('day'), e1, analytics._block_origin('day'))),
         (SELECT count(*) FROM analytics.events e, re_h WHERE e.project_id = 're' AND e.event_type = 'play'
             AND e.emitted_at >= date_trunc('day', e1) AND e.emitted_at < date_trunc('day', e1) + interval '1 day')
$$;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT 're', e1 + k * interval '1 minute', 'play', 'm1' FROM re_h, generate_series(1, 2) k;
SELECT analytics._rollup_refresh_hours(ARRAY[e1]) AS refreshed FROM re_h;
UPDATE analytics.rollup_day r SET stats[2] = stats[2] + 1000 FROM re_h
 WHERE r.project_id = 're' AND r.dim = 0 AND r.bucket = date_bin(analytics._block_size('day'), e1, analytics._block_origin('day'));
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT 're', x, 'play', 'm1' FROM re_h, LATERAL (VALUES (e1 + interval '59 minutes'), (e1 + interval '61 minutes'),
                                                        (e1 + interval '62 minutes'), (e1 + interval '63 minutes')) v(x);
SELECT (SELECT count(*) FROM analytics.rollup_5min r, re_h WHERE r.project_id = 're' AND r.dim = 0
         AND r.bucket >= e1 + interval '1 hour' AND r.bucket < e1 + interval '2 hours') AS rows_of_new_hour
  FROM re_h;
-- (the hours a refresh adds to, under the snapshot it consumes the marks with)
BEGIN;
SELECT analytics._rollup_consume(ARRAY[e1, e1 + interval '1 hour'], NULL) IS NOT NULL AS consumed FROM re_h;
SELECT x - e1 AS added FROM re_h, unnest(analytics._rollup_delta_hours(ARRAY[e1, e1 + interval '1 hour'], NULL)) x;
ROLLBACK;
SELECT analytics._rollup_refresh_hours(ARRAY[e1, e1 + interval '1 hour']) AS refreshed FROM re_h;
SELECT * FROM pg_temp.re_day();
SELECT analytics.metric('play', 'count', e1 + interval '1 hour', e1 + interval '2 hours', project_id => 're') AS plays_new_hour,
       (SELECT r.stats[2] FROM analytics.rollup_hour r WHERE r.project_id = 're' AND r.dim = analytics._dim('media-id')
           AND r.bucket = e1 + interval '1 hour' AND r.value = 'm1') AS m1_new_hour,
       (SELECT sum(r.stats[2]) FROM analytics.rollup_cube_hour r WHERE r.project_id = 're' AND r.bucket = e1 + interval '1 hour') AS cube_new_hour
  FROM re_h;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT 're', e1 + interval '2 hours 5 minutes', 'play', 'm2' FROM re_h;
SELECT analytics._rollup_refresh_hours(ARRAY[e1 + interval '2 hours']) AS refreshed FROM re_h;
SELECT * FROM pg_temp.re_day();
-- a new hour after an hour whose rows were deleted (a rewrite mark) is
-- read whole too, as are the hours of a load next to it
DELETE FROM analytics.events e USING re_h WHERE e.project_id = 're' AND e.emitted_at = e1 + interval '2 hours 5 minutes';
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT 're', e1 + interval '3 hours 5 minutes', 'play', 'm2' FROM re_h;
BEGIN;
SELECT analytics._rollup_consume(ARRAY[e1 + interval '2 hours', e1 + interval '3 hours'], NULL) IS NOT NULL AS consumed FROM re_h;
SELECT analytics._rollup_delta_hours(ARRAY[e1 + interval '2 hours', e1 + interval '3 hours'], NULL) AS added FROM re_h;
ROLLBACK;
SELECT analytics._rollup_refresh_hours(ARRAY[e1 + interval '2 hours', e1 + interval '3 hours']) AS refreshed FROM re_h;
SELECT * FROM pg_temp.re_day();

-- a transaction that wrote two hours, one of them refreshed alone: the
-- next refresh of both adds that transaction's rows to the other hour only
-- (each hour's new rows are those of its own marks' transactions)
CREATE TEMP TABLE rx_h AS SELECT date_trunc('day', now()) + interval '2 days 10 hours' AS x1;
CREATE FUNCTION pg_temp.rx() RETURNS TABLE (x1_rollups double precision, x1_raw bigint, x2_rollups double precision, x2_raw bigint)
LANGUAGE sql AS $$
  SELECT (SELECT analytics.metric('play', 'count', x1, x1 + interval '1 hour', project_id => 'rx') FROM rx_h),
         (SELECT count(*) FROM analytics.events e, rx_h WHERE e.project_id = 'rx' AND e.emitted_at >= x1 AND e.emitted_at < x1 + interval '1 hour'),
         (SELECT analytics.metric('play', 'count', x1 + interval '1 hour', x1 + interval '2 hours', project_id => 'rx') FROM rx_h),
         (SELECT count(*) FROM analytics.events e, rx_h WHERE e.project_id = 'rx' AND e.emitted_at >= x1 + interval '1 hour' AND e.emitted_at < x1 + interval '2 hours')
$$;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT 'rx', x, 'play', 'm1' FROM rx_h, LATERAL (VALUES (x1 + interval '1 minute'), (x1 + interval '61 minutes')) v(x);
SELECT analytics._rollup_refresh_hours(ARRAY[x1, x1 + interval '1 hour']) AS refreshed FROM rx_h;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT 'rx', x, 'play', 'm1' FROM rx_h, LATERAL (VALUES (x1 + interval '2 minutes'), (x1 + interval '3 minutes'),
       (x1 + interval '62 minutes'), (x1 + interval '63 minutes'), (x1 + interval '64 minutes')) v(x);
SELECT analytics._rollup_refresh_hours(ARRAY[x1]) AS refreshed FROM rx_h;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT 'rx', x1 + k * interval '1 minute' + interval '10 minutes', 'play', 'm1' FROM rx_h, generate_series(1, 4) k;
SELECT analytics._rollup_refresh_hours(ARRAY[x1, x1 + interval '1 hour']) AS refreshed FROM rx_h;
SELECT * FROM pg_temp.rx();
