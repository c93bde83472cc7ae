-- analytics 0.5 -> 0.6: hardening against hostile tenants, anonymous players
-- and routine operations (see the README: Tenancy, Ingesting, Retention and
-- maintenance, Operations).

\echo Use "ALTER EXTENSION analytics UPDATE TO '0.6'" to load this file. \quit

-- Each section below belongs to one concern; keep additions inside it.

-- @@ tenancy: every partition secured, policies the planner can index @@



-- @@ maintenance: the accepted range of emitted_at, fault isolation, short drops @@

-- The accepted range of emitted_at (README: Data model): from 1970-01-01
-- 00:00:00+00 (inclusive) to 10000-01-01 00:00:00+00 (exclusive). A row
-- outside it is refused with SQLSTATE 22008 naming the value and the range,
-- by a CHECK constraint of analytics.events (inherited by every partition,
-- the default one included) that calls a C function: every write path
-- (INSERT, COPY, UPDATE, events_import, ingest_ping) goes through it, and
-- COPY's error context names the line of the row.
-- (No SET search_path on it: it resolves no name, and a SET clause would
-- make every row COPY writes save and restore a setting.)
CREATE FUNCTION @extschema@._check_emitted_at(emitted_at timestamptz)
RETURNS boolean
AS 'MODULE_PATHNAME', 'analytics_check_emitted_at'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._check_emitted_at(timestamptz) IS
    'true, or an error (22008) when emitted_at lies outside [1970-01-01 00:00:00+00, 10000-01-01 00:00:00+00), the accepted range of analytics.events';

-- Rows an earlier version stored outside the range (they stopped every
-- maintenance run) are set aside here, with their plays, not lost: only
-- administrators and the rows' own tenants (row-level security) read them.
CREATE TABLE @extschema@.events_out_of_range (
    LIKE @extschema@.events INCLUDING DEFAULTS,
    set_aside_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE @extschema@.events_out_of_range IS
    'events stored by analytics < 0.6 with emitted_at outside the accepted range, set aside by the upgrade to 0.6';
SELECT @extschema@._secure_table('@extschema@.events_out_of_range');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.events_out_of_range', '');

-- NOT VALID: adding it does not scan the partitions under the lock; the
-- rows that violate it are moved out just below, so every stored row
-- complies (VALIDATE CONSTRAINT at leisure only sets the flag).
ALTER TABLE @extschema@.events ADD CONSTRAINT events_emitted_at_range
    CHECK (@extschema@._check_emitted_at(emitted_at)) NOT VALID;

DO $$
DECLARE
  lo constant timestamptz := '1970-01-01 00:00:00+00';
  hi constant timestamptz := '10000-01-01 00:00:00+00';
  n bigint;
  p record;
  stale boolean;
BEGIN
  WITH gone AS (
    DELETE FROM @extschema@.events e WHERE NOT (e.emitted_at >= lo AND e.emitted_at < hi) RETURNING e.*)
  INSERT INTO @extschema@.events_out_of_range SELECT g.*, pg_catalog.now() FROM gone g;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n > 0 THEN
    RAISE NOTICE 'analytics: % events with emitted_at outside [%, %) moved to analytics.events_out_of_range', n, lo, hi;
  END IF;
  -- partitions wholly outside the range (made for such rows) are empty now
  FOR p IN SELECT x.partition FROM @extschema@.partitions() x
            WHERE NOT x.is_default AND (x.to_ts <= lo OR x.from_ts >= hi) LOOP
    RAISE NOTICE 'analytics: dropping partition % (outside the accepted range of emitted_at)', p.partition;
    EXECUTE pg_catalog.format('DROP TABLE %s', p.partition);
  END LOOP;
  -- and their derived data; a week or 28-day block across an end of the
  -- range is rebuilt from its days inside it by the next refresh
  stale := EXISTS (SELECT 1 FROM @extschema@.rollup_week r WHERE r.bucket < lo OR r.bucket + interval '7 days' > hi)
        OR EXISTS (SELECT 1 FROM @extschema@.rollup_w4 r WHERE r.bucket < lo OR r.bucket + interval '28 days' > hi);
  DELETE FROM @extschema@.rollup_hour r WHERE NOT (r.bucket >= lo AND r.bucket < hi);
  DELETE FROM @extschema@.rollup_day r WHERE NOT (r.bucket >= lo AND r.bucket < hi);
  DELETE FROM @extschema@.rollup_5min r WHERE NOT (r.bucket >= lo AND r.bucket < hi);
  DELETE FROM @extschema@.rollup_week r WHERE r.bucket + interval '7 days' <= lo OR r.bucket >= hi;
  DELETE FROM @extschema@.rollup_w4 r WHERE r.bucket + interval '28 days' <= lo OR r.bucket >= hi;
  DELETE FROM @extschema@.rollup_ccv c WHERE NOT (c.minute >= lo AND c.minute < hi);
  DELETE FROM @extschema@.rollup_watch_max w WHERE NOT (w.hour >= lo AND w.hour < hi);
  DELETE FROM @extschema@.rollup_pending r WHERE NOT (r.hour >= lo AND r.hour < hi);
  IF stale THEN
    INSERT INTO @extschema@.rollup_pending (project_id, hour)
    VALUES ('default', lo), ('default', hi - interval '1 hour');
  END IF;
  -- a new installation (no events yet): the constraint is valid at once
  IF NOT EXISTS (SELECT 1 FROM @extschema@.events) THEN
    ALTER TABLE @extschema@.events VALIDATE CONSTRAINT events_emitted_at_range;
  END IF;
END $$;

-- The rollup refresh of given hours (those still pending), the unit that
-- maintenance retries on its own when a batch fails (README: Retention and
-- maintenance): one hour whose refresh fails never holds the others.
CREATE FUNCTION @extschema@._rollup_refresh_hours(hrs timestamptz[])
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d timestamptz;
BEGIN
  -- one refresh at a time (maintenance also holds its own lock)
  PERFORM pg_catalog.pg_advisory_xact_lock(6385249, 3);
  SELECT pg_catalog.array_agg(x.h ORDER BY x.h) INTO hrs
    FROM (SELECT DISTINCT p.hour AS h FROM @extschema@.rollup_pending p WHERE p.hour = ANY (hrs)) x;
  IF hrs IS NULL THEN
    RETURN 0;
  END IF;
  -- consume the marks first: under READ COMMITTED each statement below sees
  -- at least every row whose mark this statement deleted
  DELETE FROM @extschema@.rollup_pending p WHERE p.hour = ANY (hrs);
  DELETE FROM @extschema@.rollup_hour r WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket = ANY (hrs);
  FOR d IN SELECT DISTINCT pg_catalog.date_bin('1 day', h, '2000-01-01 00:00+00') FROM unnest(hrs) h ORDER BY 1 LOOP
    -- one pass over the hours' events: every dimension per hour, and the
    -- whole project per 5 minutes
    DELETE FROM @extschema@.rollup_5min r
     WHERE r.bucket >= d AND r.bucket < d + interval '24 hours'
       AND pg_catalog.date_bin('1 hour', r.bucket, '2000-01-01 00:00+00') = ANY (hrs);
    WITH g AS (
      SELECT e.project_id,
             GROUPING(e.m5) = 0 AS fine,
             CASE WHEN GROUPING(e.media_id) = 0 THEN 1 WHEN GROUPING(e.media_type) = 0 THEN 2
                  WHEN GROUPING(e.continent) = 0 THEN 3 WHEN GROUPING(e.country) = 0 THEN 4
                  WHEN GROUPING(e.device_type) = 0 THEN 5 WHEN GROUPING(e.operating_system) = 0 THEN 6
                  WHEN GROUPING(e.browser) = 0 THEN 7 WHEN GROUPING(e.referrer) = 0 THEN 8 ELSE 0 END AS dim,
             CASE WHEN GROUPING(e.m5) = 0 THEN e.m5 ELSE e.h END AS bucket,
             CASE WHEN GROUPING(e.media_id) = 0 THEN e.media_id WHEN GROUPING(e.media_type) = 0 THEN e.media_type::text
                  WHEN GROUPING(e.continent) = 0 THEN e.continent::text WHEN GROUPING(e.country) = 0 THEN e.country
                  WHEN GROUPING(e.device_type) = 0 THEN e.device_type::text
                  WHEN GROUPING(e.operating_system) = 0 THEN e.operating_system
                  WHEN GROUPING(e.browser) = 0 THEN e.browser WHEN GROUPING(e.referrer) = 0 THEN e.referrer END AS value,
             CASE WHEN GROUPING(e.media_id) = 0 THEN e.media_type END AS media_type,
             @extschema@.event_stats(e.event_type, e.value) AS stats
        FROM (SELECT x.*, pg_catalog.date_bin('1 hour', x.emitted_at, '2000-01-01 00:00+00') AS h,
                     pg_catalog.date_bin('5 minutes', x.emitted_at, '2000-01-01 00:00+00') AS m5
                FROM @extschema@.events x
               WHERE x.emitted_at >= d AND x.emitted_at < d + interval '24 hours'
                 AND pg_catalog.date_bin('1 hour', x.emitted_at, '2000-01-01 00:00+00') = ANY (hrs)) e
       GROUP BY GROUPING SETS (
         (e.project_id, e.m5),
         (e.project_id, e.h),
         (e.project_id, e.h, e.media_id, e.media_type),
         (e.project_id, e.h, e.media_type),
         (e.project_id, e.h, e.continent),
         (e.project_id, e.h, e.country),
         (e.project_id, e.h, e.device_type),
         (e.project_id, e.h, e.operating_system),
         (e.project_id, e.h, e.browser),
         (e.project_id, e.h, e.referrer))),
    fine AS (
      INSERT INTO @extschema@.rollup_5min (project_id, dim, bucket, value, media_type, stats)
      SELECT g.project_id, 0, g.bucket, NULL, NULL, g.stats FROM g WHERE g.fine)
    INSERT INTO @extschema@.rollup_hour (project_id, dim, bucket, value, media_type, stats)
    SELECT g.project_id, g.dim, g.bucket, g.value, g.media_type, g.stats FROM g WHERE NOT g.fine;
    DELETE FROM @extschema@.rollup_day r WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket = d;
    INSERT INTO @extschema@.rollup_day (project_id, dim, bucket, value, media_type, stats)
    SELECT r.project_id, r.dim, d, r.value, r.media_type, @extschema@.event_stats_merge(r.stats)
      FROM @extschema@.rollup_hour r
     WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket >= d AND r.bucket < d + interval '24 hours'
     GROUP BY r.project_id, r.dim, r.value, r.media_type;
  END LOOP;
  -- the weeks of those days
  FOR d IN SELECT DISTINCT pg_catalog.date_bin('7 days', h, '2000-01-03 00:00+00') FROM unnest(hrs) h ORDER BY 1 LOOP
    DELETE FROM @extschema@.rollup_week r WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket = d;
    INSERT INTO @extschema@.rollup_week (project_id, dim, bucket, value, media_type, stats)
    SELECT r.project_id, r.dim, d, r.value, r.media_type, @extschema@.event_stats_merge(r.stats)
      FROM @extschema@.rollup_day r
     WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket >= d AND r.bucket < d + interval '7 days'
     GROUP BY r.project_id, r.dim, r.value, r.media_type;
  END LOOP;
  -- the 28-day blocks of those weeks. A block that still holds a pending
  -- hour is never read (queries read its weeks, days and hours instead): it
  -- is rebuilt with the refresh of its last pending hour, not once per batch
  -- (rewriting it each time would leave dead rows for every query to skip).
  -- Weeks are always rebuilt: the ccv of one media relies on every
  -- refreshed hour being in a week row.
  FOR d IN SELECT DISTINCT pg_catalog.date_bin('28 days', h, '2000-01-03 00:00+00') FROM unnest(hrs) h ORDER BY 1 LOOP
    CONTINUE WHEN EXISTS (SELECT 1 FROM @extschema@.rollup_pending p WHERE p.hour >= d AND p.hour < d + interval '28 days');
    DELETE FROM @extschema@.rollup_w4 r WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket = d;
    INSERT INTO @extschema@.rollup_w4 (project_id, dim, bucket, value, media_type, stats)
    SELECT r.project_id, r.dim, d, r.value, r.media_type, @extschema@.event_stats_merge(r.stats)
      FROM @extschema@.rollup_week r
     WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket >= d AND r.bucket < d + interval '28 days'
     GROUP BY r.project_id, r.dim, r.value, r.media_type;
  END LOOP;

  -- concurrent viewers: a watch event emitted in hour h covers minutes of h
  -- and of h - 1 hour, so both hours' minutes are recomputed
  DELETE FROM @extschema@.rollup_watch_max w WHERE w.hour = ANY (hrs);
  INSERT INTO @extschema@.rollup_watch_max (project_id, hour, max_value)
  SELECT e.project_id, pg_catalog.date_bin('1 hour', e.emitted_at, '2000-01-01 00:00+00'), max(e.value)
    FROM @extschema@.events e, unnest(hrs) h
   WHERE e.event_type = 'watch' AND e.value > 0 AND e.emitted_at >= h AND e.emitted_at < h + interval '1 hour'
   GROUP BY 1, 2;
  FOR d IN SELECT DISTINCT x FROM unnest(hrs) h, LATERAL (VALUES (h), (h - interval '1 hour')) v(x) ORDER BY 1 LOOP
    DELETE FROM @extschema@.rollup_ccv c WHERE c.minute >= d AND c.minute < d + interval '1 hour';
    INSERT INTO @extschema@.rollup_ccv (project_id, media_id, minute, peak_sessions, secs_sessions, peak_viewers, secs_viewers)
    SELECT g.project_id, g.live_id, g.m, (g.cs)[1]::integer, (g.cs)[2] * 60, (g.cv)[1]::integer, (g.cv)[2] * 60
      FROM (SELECT x.project_id, x.live_id, m.m, GROUPING(x.live_id) AS whole_project,
                   @extschema@.ccv(x.s, x.e, x.session_id, m.m, m.m + interval '1 minute') AS cs,
                   @extschema@.ccv(CASE WHEN x.viewer_id IS NULL THEN x.e ELSE x.s END, x.e, x.viewer_id,
                                   m.m, m.m + interval '1 minute') AS cv
              FROM (SELECT e.project_id, e.session_id, e.viewer_id,
                           CASE WHEN e.media_type = 'live-stream' THEN e.media_id END AS live_id,
                           e.emitted_at - e.value * interval '1 second' AS s, e.emitted_at AS e
                      FROM @extschema@.events e
                     WHERE e.event_type = 'watch' AND e.value > 0 AND e.emitted_at > d
                       AND e.emitted_at < d + interval '2 hours'
                       AND e.emitted_at - e.value * interval '1 second' < d + interval '1 hour') x,
                   LATERAL pg_catalog.generate_series(
                     pg_catalog.date_bin('1 minute', greatest(x.s, d), '2000-01-01 00:00+00'),
                     least(x.e, d + interval '1 hour') - interval '1 microsecond', interval '1 minute') m(m)
             GROUP BY GROUPING SETS ((x.project_id, m.m), (x.project_id, x.live_id, m.m))) g
     WHERE g.whole_project = 1 OR g.live_id IS NOT NULL;
  END LOOP;
  RETURN pg_catalog.array_length(hrs, 1);
END $$;
REVOKE ALL ON FUNCTION @extschema@._rollup_refresh_hours(timestamptz[]) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._rollup_refresh_hours(timestamptz[]) IS
    're-aggregates the given hours that are pending into the rollups and consumes their marks; returns how many';

-- the oldest pending hours, at most max_hours, in one transaction
CREATE OR REPLACE FUNCTION @extschema@._rollup_refresh(max_hours integer DEFAULT 168)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  hrs timestamptz[];
BEGIN
  PERFORM pg_catalog.pg_advisory_xact_lock(6385249, 3);
  SELECT pg_catalog.array_agg(x.h ORDER BY x.h) INTO hrs
    FROM (SELECT DISTINCT p.hour AS h FROM @extschema@.rollup_pending p ORDER BY 1 LIMIT max_hours) x;
  IF hrs IS NULL THEN
    RETURN 0;
  END IF;
  RETURN @extschema@._rollup_refresh_hours(hrs);
END $$;




-- @@ ingest: events_import, bounded pings, tolerant headers @@



-- @@ concurrent viewers in one sweep; a bound on one call's work @@



-- @@ dump and restore @@



-- @@ search_path: every function of the extension pinned (keep this section last) @@

