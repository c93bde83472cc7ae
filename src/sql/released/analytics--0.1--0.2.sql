-- analytics 0.1 -> 0.2
-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION analytics UPDATE TO '0.2'" to load this file. \quit

-- 0.1 has landed: everything new in the schema goes here (CREATE EXTENSION
-- runs analytics--0.1.sql, then this script).

-- @@ rollups @@ (issue 6: derived data; src/rollup.c)
--
-- Derived data: per UTC hour and per UTC day, per project and per value of
-- one dimension, the event_stats array of the events (see event_stats:
-- counts per event type, view thresholds, sums). dim: 0 none, 1 media
-- (value = media_id, media_type set), 2 media-type, 3 continent, 4 country,
-- 5 device-type, 6 operating-system, 7 browser, 8 referrer; value NULL when
-- the event's value is NULL ("unknown" in breakdowns).
--
-- Exactness: every partition of analytics.events uses the table access
-- method analytics_heap (the heap, plus a note of the (project, hour) each
-- inserted/updated/deleted row belongs to), and each writing transaction
-- adds those hours to analytics.rollup_pending when it commits. Queries read
-- rollup rows only for hours without a pending mark and raw events for the
-- rest (src/rollup.c explains why this is exact and immediate).
-- analytics._rollup_refresh(), run by maintenance, consumes the marks.
--
CREATE FUNCTION @extschema@._heap_handler(internal)
RETURNS table_am_handler
AS 'MODULE_PATHNAME', 'analytics_heap_handler'
LANGUAGE C STRICT;
COMMENT ON FUNCTION @extschema@._heap_handler(internal) IS
    'table access method handler of analytics_heap: the heap, noting which hours each write touches';

CREATE ACCESS METHOD analytics_heap TYPE TABLE HANDLER @extschema@._heap_handler;
COMMENT ON ACCESS METHOD analytics_heap IS
    'heap storage for analytics.events partitions that marks the hours it writes in analytics.rollup_pending';

CREATE TABLE @extschema@.rollup_pending (
    project_id text NOT NULL,
    hour       timestamptz NOT NULL
);
COMMENT ON TABLE @extschema@.rollup_pending IS
    'hours of analytics.events written since the rollups were last refreshed (one row per writing transaction and hour)';

CREATE TABLE @extschema@.rollup_hour (
    project_id text NOT NULL,
    dim        smallint NOT NULL,
    bucket     timestamptz NOT NULL,
    value      text,
    media_type @extschema@.media_type,
    stats      double precision[] NOT NULL
);
CREATE INDEX rollup_hour_idx ON @extschema@.rollup_hour (project_id, dim, bucket);
-- all projects, and the refresh's deletes (dim = ANY (all dims))
CREATE INDEX rollup_hour_dim_idx ON @extschema@.rollup_hour (dim, bucket);
COMMENT ON TABLE @extschema@.rollup_hour IS
    'event_stats per UTC hour, project and dimension value (derived from analytics.events by maintenance)';

CREATE TABLE @extschema@.rollup_day (LIKE @extschema@.rollup_hour INCLUDING ALL);
COMMENT ON TABLE @extschema@.rollup_day IS
    'event_stats per UTC day, project and dimension value (sum of the day''s rollup_hour rows)';
CREATE TABLE @extschema@.rollup_week (LIKE @extschema@.rollup_hour INCLUDING ALL);
-- per 5 minutes, dimension 0 (whole project) only: the partial hours at the
-- ends of a period then cost a partial 5 minutes of raw events
CREATE TABLE @extschema@.rollup_5min (LIKE @extschema@.rollup_hour INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE INDEX rollup_5min_idx ON @extschema@.rollup_5min (project_id, dim, bucket);
CREATE INDEX rollup_5min_bucket_idx ON @extschema@.rollup_5min USING brin (bucket);
COMMENT ON TABLE @extschema@.rollup_5min IS
    'event_stats per 5 minutes and project (dim 0 only), for the ends of periods';
COMMENT ON TABLE @extschema@.rollup_week IS
    'event_stats per week (Monday 00:00 UTC), project and dimension value (sum of the week''s rollup_day rows)';

-- concurrent viewers per minute: for each project (media_id NULL) and each
-- (project, live stream), the peak number of distinct sessions / viewers watching
-- at one instant of the minute and the integral of that number over the
-- minute (watcher-seconds), as analytics.ccv computes them over the minute.
-- Peaks and integrals over whole minutes combine exactly (max and sum).
-- Videos have no rows of their own (they would be most of the rows, for a
-- metric that matters for live streams): ccv of one video reads raw events.
CREATE TABLE @extschema@.rollup_ccv (
    project_id    text NOT NULL,
    media_id      text,
    minute        timestamptz NOT NULL,
    peak_sessions integer NOT NULL,
    secs_sessions double precision NOT NULL,
    peak_viewers  integer NOT NULL,
    secs_viewers  double precision NOT NULL
);
CREATE INDEX rollup_ccv_idx ON @extschema@.rollup_ccv (project_id, media_id, minute);
-- written hour by hour, in time order: a BRIN index finds an hour's rows
CREATE INDEX rollup_ccv_minute_idx ON @extschema@.rollup_ccv USING brin (minute);
COMMENT ON TABLE @extschema@.rollup_ccv IS
    'concurrent viewers per minute, per project and per media (derived from watch events by maintenance)';

-- the longest watch event emitted in each hour, per project: how far past a
-- period the raw part of a ccv query must look (at most an hour)
CREATE TABLE @extschema@.rollup_watch_max (
    project_id text NOT NULL,
    hour       timestamptz NOT NULL,
    max_value  double precision NOT NULL,
    PRIMARY KEY (project_id, hour)
);

-- derived data is rebuilt, not dumped: pg_dump skips these rows
-- (the pending marks of restored events are added by the restore itself)

-- the events of a period are found through a BRIN index (tiny, cheap to
-- maintain): the raw parts of a query (the period's edges, pending hours)
-- read only the blocks of those hours
CREATE INDEX events_emitted_at_brin ON @extschema@.events USING brin (emitted_at)
    WITH (pages_per_range = 16, autosummarize = on);

-- existing partitions move to analytics_heap; their hours are marked pending,
-- so the first maintenance run builds the rollups
DO $$
DECLARE
  p regclass;
BEGIN
  FOR p IN SELECT i.inhrelid::regclass FROM pg_catalog.pg_inherits i
            WHERE i.inhparent = '@extschema@.events'::regclass LOOP
    EXECUTE pg_catalog.format('ALTER TABLE %s SET ACCESS METHOD analytics_heap', p);
  END LOOP;
END $$;
INSERT INTO @extschema@.rollup_pending (project_id, hour)
SELECT DISTINCT e.project_id, pg_catalog.date_bin('1 hour', e.emitted_at, '2000-01-01 00:00+00')
  FROM @extschema@.events e;

-- Partitions made by hand (CREATE TABLE ... PARTITION OF, ATTACH, DETACH)
-- must keep the rollups exact too: a partition of analytics.events must use
-- analytics_heap (else its writes would go unnoticed), and the rows of an
-- attached or detached partition came or went without a write, so their
-- hours become pending. rollup_partitions lists the partitions known so far.
CREATE TABLE @extschema@.rollup_partitions (relid oid PRIMARY KEY);
INSERT INTO @extschema@.rollup_partitions
SELECT i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent = '@extschema@.events'::regclass;

CREATE FUNCTION @extschema@._mark_partition(rel regclass)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE pg_catalog.format(
    'INSERT INTO @extschema@.rollup_pending (project_id, hour)'
    ' SELECT DISTINCT e.project_id, pg_catalog.date_bin(''1 hour'', e.emitted_at, ''2000-01-01 00:00+00'') FROM %s e', rel);
END $$;
REVOKE ALL ON FUNCTION @extschema@._mark_partition(regclass) FROM PUBLIC;

CREATE FUNCTION @extschema@._events_ddl()
RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  p record;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger_ddl_commands() c
                  WHERE c.object_type = 'table' AND c.schema_name = '@extschema@') THEN
    RETURN;
  END IF;
  -- new partitions: attached (rows came) or created
  FOR p IN SELECT i.inhrelid::regclass AS rel, a.amname
             FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class r ON r.oid = i.inhrelid
             LEFT JOIN pg_catalog.pg_am a ON a.oid = r.relam
            WHERE i.inhparent = '@extschema@.events'::regclass
              AND i.inhrelid NOT IN (SELECT k.relid FROM @extschema@.rollup_partitions k) LOOP
    IF p.amname IS DISTINCT FROM 'analytics_heap' THEN
      RAISE EXCEPTION 'partition % of analytics.events must use the table access method analytics_heap', p.rel
        USING ERRCODE = 'wrong_object_type',
              DETAIL = 'analytics_heap notes which hours each write touches, so that the rollups stay exact.',
              HINT = 'Create it with USING analytics_heap, or run ALTER TABLE ... SET ACCESS METHOD analytics_heap before attaching it.';
    END IF;
    PERFORM @extschema@._mark_partition(p.rel);
    INSERT INTO @extschema@.rollup_partitions VALUES (p.rel);
  END LOOP;
  -- partitions gone: detached (rows went) or dropped
  FOR p IN SELECT k.relid FROM @extschema@.rollup_partitions k
            WHERE k.relid NOT IN (SELECT i.inhrelid FROM pg_catalog.pg_inherits i
                                   WHERE i.inhparent = '@extschema@.events'::regclass) LOOP
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_class r WHERE r.oid = p.relid) THEN
      PERFORM @extschema@._mark_partition(p.relid::regclass);
    END IF;
    DELETE FROM @extschema@.rollup_partitions k WHERE k.relid = p.relid;
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION @extschema@._events_ddl() FROM PUBLIC;
CREATE EVENT TRIGGER analytics_events_ddl ON ddl_command_end
  WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
  EXECUTE FUNCTION @extschema@._events_ddl();

-- the hours of this transaction not yet in rollup_pending (written at commit)
CREATE FUNCTION @extschema@._rollup_own_pending()
RETURNS timestamptz[]
AS 'MODULE_PATHNAME', 'analytics_rollup_own_pending'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

-- re-aggregate the (at most max_hours) oldest pending hours; returns how
-- many hours it refreshed. Marks committed after it started stay pending.
CREATE FUNCTION @extschema@._rollup_refresh(max_hours integer DEFAULT 168)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  hrs timestamptz[];
  d timestamptz;
BEGIN
  -- one refresh at a time (maintenance also holds its own lock)
  PERFORM pg_catalog.pg_advisory_xact_lock(6385249, 3);
  SELECT pg_catalog.array_agg(h ORDER BY h) INTO hrs
    FROM (SELECT DISTINCT p.hour AS h FROM @extschema@.rollup_pending p ORDER BY 1 LIMIT max_hours) x;
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
COMMENT ON FUNCTION @extschema@._rollup_refresh(integer) IS
    're-aggregate the oldest pending hours of analytics.events into the rollups (run by maintenance)';
REVOKE ALL ON FUNCTION @extschema@._rollup_refresh(integer) FROM PUBLIC;

-- forget the derived data of [lo, hi) (a dropped partition)
CREATE FUNCTION @extschema@._rollup_forget(lo timestamptz, hi timestamptz)
RETURNS void
LANGUAGE sql AS $$
DELETE FROM @extschema@.rollup_hour r WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket >= lo AND r.bucket < hi;
DELETE FROM @extschema@.rollup_day r WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket >= lo AND r.bucket < hi;
DELETE FROM @extschema@.rollup_5min r WHERE r.bucket >= lo AND r.bucket < hi;
-- a week partly dropped keeps only its remaining days
DELETE FROM @extschema@.rollup_week r WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket > lo - interval '7 days' AND r.bucket < hi;
INSERT INTO @extschema@.rollup_week (project_id, dim, bucket, value, media_type, stats)
SELECT r.project_id, r.dim, pg_catalog.date_bin('7 days', r.bucket, '2000-01-03 00:00+00'), r.value, r.media_type,
       @extschema@.event_stats_merge(r.stats)
  FROM @extschema@.rollup_day r
 WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket > lo - interval '14 days' AND r.bucket < hi + interval '7 days'
   AND pg_catalog.date_bin('7 days', r.bucket, '2000-01-03 00:00+00') > lo - interval '7 days'
   AND pg_catalog.date_bin('7 days', r.bucket, '2000-01-03 00:00+00') < hi
 GROUP BY 1, 2, 3, 4, 5;
DELETE FROM @extschema@.rollup_pending p WHERE p.hour >= lo AND p.hour < hi;
DELETE FROM @extschema@.rollup_ccv c WHERE c.minute >= lo AND c.minute < hi;
DELETE FROM @extschema@.rollup_watch_max w WHERE w.hour >= lo AND w.hour < hi;
$$;
REVOKE ALL ON FUNCTION @extschema@._rollup_forget(timestamptz, timestamptz) FROM PUBLIC;


--
-- Query planning over rollups. A stats metric over [from, to) is computed
-- from pieces: rollup_day rows for whole UTC days, rollup_hour rows for the
-- other whole hours, and raw events for the partial hours at both ends and
-- for hours with pending marks (written since the last refresh). Pieces are
-- merged with event_stats_merge, so the answer is the same as over raw events
-- (regression test rollup_equivalence). SET analytics.use_rollups = off
-- reads raw events only.
--
-- the rollup dimension that can answer a breakdown with these filters, or NULL
CREATE FUNCTION @extschema@._rollup_dim(s @extschema@._metric_spec, f @extschema@._filter_set, breakdown text)
RETURNS smallint
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  media_keys boolean := f.media_ids IS NOT NULL OR f.tag IS NOT NULL;
  other_dim smallint;
  n_other integer := 0;
BEGIN
  IF s.kind IS DISTINCT FROM 'stats' THEN
    RETURN NULL;
  END IF;
  IF f.continents IS NOT NULL THEN n_other := n_other + 1; other_dim := 3; END IF;
  IF f.countries IS NOT NULL THEN n_other := n_other + 1; other_dim := 4; END IF;
  IF f.device_types IS NOT NULL THEN n_other := n_other + 1; other_dim := 5; END IF;
  IF f.operating_systems IS NOT NULL THEN n_other := n_other + 1; other_dim := 6; END IF;
  IF f.browsers IS NOT NULL THEN n_other := n_other + 1; other_dim := 7; END IF;
  IF f.referrers IS NOT NULL THEN n_other := n_other + 1; other_dim := 8; END IF;
  IF breakdown IS NULL THEN
    IF n_other = 0 AND NOT media_keys AND f.media_type IS NULL THEN RETURN 0; END IF;
    IF n_other = 0 AND media_keys THEN RETURN 1; END IF;
    IF n_other = 0 THEN RETURN 2; END IF;
    IF n_other = 1 AND NOT media_keys AND f.media_type IS NULL THEN RETURN other_dim; END IF;
    RETURN NULL;
  ELSIF breakdown = 'media-id' THEN
    RETURN CASE WHEN n_other = 0 THEN 1 END;
  ELSIF breakdown = 'media-type' THEN
    RETURN CASE WHEN n_other = 0 AND NOT media_keys THEN 2 END;
  END IF;
  other_dim := CASE breakdown WHEN 'continent' THEN 3 WHEN 'country' THEN 4 WHEN 'device-type' THEN 5
                              WHEN 'operating-system' THEN 6 WHEN 'browser' THEN 7 WHEN 'referrer' THEN 8 END;
  IF media_keys OR f.media_type IS NOT NULL OR n_other > 1
     OR (n_other = 1 AND other_dim <> CASE WHEN f.continents IS NOT NULL THEN 3 WHEN f.countries IS NOT NULL THEN 4
                                          WHEN f.device_types IS NOT NULL THEN 5 WHEN f.operating_systems IS NOT NULL THEN 6
                                          WHEN f.browsers IS NOT NULL THEN 7 ELSE 8 END) THEN
    RETURN NULL;
  END IF;
  RETURN other_dim;
END $$;

-- the filters as predicates on rollup rows "r" of dimension dim
CREATE FUNCTION @extschema@._rollup_where(f @extschema@._filter_set, projects text[], dim smallint)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT concat(
  CASE WHEN projects IS NOT NULL THEN ' AND r.project_id = $3[1]' END,
  CASE WHEN f.media_ids IS NOT NULL THEN ' AND r.value = ANY($4)' END,
  CASE WHEN f.media_type IS NOT NULL THEN CASE WHEN dim = 1 THEN ' AND r.media_type = $5::@extschema@.media_type'
                                               ELSE ' AND r.value = $5' END END,
  CASE WHEN f.continents IS NOT NULL THEN ' AND r.value = ANY($6)' END,
  CASE WHEN f.countries IS NOT NULL THEN ' AND r.value = ANY($7)' END,
  CASE WHEN f.device_types IS NOT NULL THEN ' AND r.value = ANY($8)' END,
  CASE WHEN f.operating_systems IS NOT NULL THEN ' AND r.value = ANY($9)' END,
  CASE WHEN f.browsers IS NOT NULL THEN ' AND r.value = ANY($10)' END,
  CASE WHEN f.referrers IS NOT NULL THEN ' AND r.value = ANY($11)' END,
  CASE WHEN f.tag IS NOT NULL THEN
    ' AND EXISTS (SELECT 1 FROM @extschema@.media m WHERE m.project_id = r.project_id'
    ' AND m.media_id = r.value AND m.tags @> ARRAY[$12])' END)
$$;

-- rollup rows that hold at least one event the metric counts (the rows a
-- raw query would group: a breakdown lists the same dimension values)
CREATE FUNCTION @extschema@._rollup_types(s @extschema@._metric_spec)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE s.sm_metric
  WHEN 'play' THEN 'r.stats[2] > 0'
  WHEN 'play-rate' THEN '(r.stats[1] > 0 OR r.stats[2] > 0)'
  WHEN 'start' THEN 'r.stats[3] > 0'
  WHEN 'end' THEN 'r.stats[4] > 0'
  WHEN 'impression' THEN 'r.stats[1] > 0'
  WHEN 'impression-time' THEN 'r.stats[1] > 0'
  WHEN 'watch-time' THEN CASE WHEN s.sm_aggregation = 'average' THEN '(r.stats[8] > 0 OR r.stats[2] > 0)'
                              ELSE 'r.stats[8] > 0' END
  WHEN 'view' THEN format('r.stats[%s] > 0', CASE s.threshold WHEN 3 THEN 11 WHEN 5 THEN 12 WHEN 10 THEN 13 ELSE 14 END)
END
$$;

-- the hours in [lo, hi] that rollup rows do not cover yet: marked pending
-- (committed), or written by this transaction (marked at its commit)
CREATE FUNCTION @extschema@._pending_hours(lo timestamptz, hi timestamptz)
RETURNS timestamptz[]
LANGUAGE sql STABLE AS $$
SELECT coalesce(pg_catalog.array_agg(DISTINCT h ORDER BY h), '{}')
  FROM (SELECT x.hour AS h FROM @extschema@.rollup_pending x WHERE x.hour >= lo AND x.hour <= hi
        UNION ALL
        SELECT h FROM unnest(@extschema@._rollup_own_pending()) h WHERE h >= lo AND h <= hi) y
$$;

-- how to cut [pf, pt) into rollup and raw pieces
CREATE TYPE @extschema@._rollup_plan AS (
    raw_from   timestamptz[],   -- raw events in [raw_from[i], raw_to[i])
    raw_to     timestamptz[],
    hour_from  timestamptz[],   -- rollup_hour rows with bucket in [hour_from[i], hour_to[i])
    hour_to    timestamptz[],
    day_from   timestamptz[],   -- rollup_day rows with bucket in [day_from[i], day_to[i])
    day_to     timestamptz[],
    pending    timestamptz[],   -- hours read raw (never from rollup rows)
    pending_days timestamptz[], -- days containing a pending hour (read hourly)
    week_from  timestamptz,     -- rollup_week rows with bucket in [week_from, week_to)
    week_to    timestamptz,
    pending_weeks timestamptz[], -- weeks containing a pending hour (read daily)
    fine_from  timestamptz[],   -- rollup_5min rows with bucket in [fine_from[i], fine_to[i])
    fine_to    timestamptz[]
);

-- merge [from[i], to[i]) ranges sorted by from
CREATE FUNCTION @extschema@._merge_ranges(INOUT lo timestamptz[], INOUT hi timestamptz[])
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  a timestamptz; b timestamptz; ca timestamptz; cb timestamptz;
  olo timestamptz[] := '{}'; ohi timestamptz[] := '{}';
BEGIN
  FOR a, b IN SELECT x, y FROM unnest(lo, hi) AS t(x, y) WHERE x < y ORDER BY x LOOP
    IF ca IS NULL THEN ca := a; cb := b;
    ELSIF a <= cb THEN cb := greatest(cb, b);
    ELSE olo := olo || ca; ohi := ohi || cb; ca := a; cb := b;
    END IF;
  END LOOP;
  IF ca IS NOT NULL THEN olo := olo || ca; ohi := ohi || cb; END IF;
  lo := olo; hi := ohi;
END $$;

CREATE FUNCTION @extschema@._rollup_plan(pf timestamptz, pt timestamptz, tier text, fine boolean DEFAULT false)
RETURNS @extschema@._rollup_plan
LANGUAGE plpgsql STABLE AS $$
DECLARE
  o constant timestamptz := '2000-01-01 00:00+00';
  monday constant timestamptz := '2000-01-03 00:00+00';
  p @extschema@._rollup_plan;
  hs timestamptz := pg_catalog.date_bin('1 hour', pf, o);
  he timestamptz := pg_catalog.date_bin('1 hour', pt, o);
  ds timestamptz;
  de timestamptz;
  ws timestamptz;
  we timestamptz;
  rlo timestamptz[] := '{}';
  rhi timestamptz[] := '{}';
  hlo timestamptz[] := '{}';
  hhi timestamptz[] := '{}';
  dlo timestamptz[] := '{}';
  dhi timestamptz[] := '{}';
  d timestamptz;
BEGIN
  p.pending_days := '{}';
  p.pending_weeks := '{}';
  IF hs < pf THEN hs := hs + interval '1 hour'; END IF;
  IF hs >= he THEN
    p.raw_from := ARRAY[pf]; p.raw_to := ARRAY[pt];
    RETURN p;
  END IF;
  p.pending := @extschema@._pending_hours(hs - interval '1 hour', he);
  -- the partial hours at both ends: raw events, or with fine, 5-minute rows
  -- for their whole 5 minutes (unless the hour is pending) and raw events
  -- for the partial 5 minutes
  p.fine_from := '{}'; p.fine_to := '{}';
  IF pf < hs THEN
    d := pg_catalog.date_bin('5 minutes', pf, o);
    IF d < pf THEN d := d + interval '5 minutes'; END IF;
    IF fine AND d < hs AND NOT (hs - interval '1 hour' = ANY (p.pending)) THEN
      rlo := rlo || pf; rhi := rhi || d;
      p.fine_from := p.fine_from || d; p.fine_to := p.fine_to || hs;
    ELSE
      rlo := rlo || pf; rhi := rhi || hs;
    END IF;
  END IF;
  IF he < pt THEN
    d := pg_catalog.date_bin('5 minutes', pt, o);
    IF fine AND he < d AND NOT (he = ANY (p.pending)) THEN
      p.fine_from := p.fine_from || he; p.fine_to := p.fine_to || d;
      rlo := rlo || d; rhi := rhi || pt;
    ELSE
      rlo := rlo || he; rhi := rhi || pt;
    END IF;
  END IF;
  p.pending := ARRAY(SELECT h FROM unnest(p.pending) h WHERE h >= hs AND h < he);
  SELECT rlo || coalesce(pg_catalog.array_agg(h), '{}'), rhi || coalesce(pg_catalog.array_agg(h + interval '1 hour'), '{}')
    INTO rlo, rhi FROM unnest(p.pending) h;
  SELECT * INTO p.raw_from, p.raw_to FROM @extschema@._merge_ranges(rlo, rhi);

  IF tier IN ('day', 'week') THEN
    ds := pg_catalog.date_bin('1 day', hs, o);
    IF ds < hs THEN ds := ds + interval '24 hours'; END IF;
    de := pg_catalog.date_bin('1 day', he, o);
  END IF;
  IF tier IN ('day', 'week') AND ds < de THEN
    p.pending_days := ARRAY(SELECT DISTINCT pg_catalog.date_bin('1 day', h, o) FROM unnest(p.pending) h
                             WHERE h >= ds AND h < de ORDER BY 1);
    hlo := ARRAY[hs, de]; hhi := ARRAY[ds, he];
    FOREACH d IN ARRAY p.pending_days LOOP
      hlo := hlo || d; hhi := hhi || (d + interval '24 hours');
    END LOOP;
    IF tier = 'week' THEN
      ws := pg_catalog.date_bin('7 days', ds, monday);
      IF ws < ds THEN ws := ws + interval '7 days'; END IF;
      we := pg_catalog.date_bin('7 days', de, monday);
    END IF;
    IF tier = 'week' AND ws < we THEN
      p.week_from := ws; p.week_to := we;
      p.pending_weeks := ARRAY(SELECT DISTINCT pg_catalog.date_bin('7 days', x.pd, monday) FROM unnest(p.pending_days) x(pd)
                                WHERE x.pd >= ws AND x.pd < we ORDER BY 1);
      dlo := ARRAY[ds, we]; dhi := ARRAY[ws, de];
      FOREACH d IN ARRAY p.pending_weeks LOOP
        dlo := dlo || d; dhi := dhi || (d + interval '7 days');
      END LOOP;
    ELSE
      dlo := ARRAY[ds]; dhi := ARRAY[de];
    END IF;
    SELECT * INTO p.day_from, p.day_to FROM @extschema@._merge_ranges(dlo, dhi);
  ELSE
    hlo := ARRAY[hs]; hhi := ARRAY[he];
  END IF;
  SELECT * INTO p.hour_from, p.hour_to FROM @extschema@._merge_ranges(hlo, hhi);
  RETURN p;
END $$;

-- "(col >= $lo[1] AND col < $hi[1]) OR ..." for n ranges
CREATE FUNCTION @extschema@._ranges_sql(col text, lo_param integer, hi_param integer, n integer)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN coalesce(n, 0) = 0 THEN 'false' ELSE
  '(' || (SELECT string_agg(format('(%1$s >= $%2$s[%4$s] AND %1$s < $%3$s[%4$s])', col, lo_param, hi_param, i), ' OR ')
            FROM generate_series(1, n) i) || ')' END
$$;

-- the rows (t, v, stats) a stats metric merges: rollup pieces and raw pieces.
-- t: hour/day start of a rollup row, or time_bucket($17, emitted_at, $18) of
-- raw rows when by_bucket (timeseries); v: the dimension value (raw_dim: its
-- expression over events "e", NULL for none). Parameters $20..$32: the plan.
CREATE FUNCTION @extschema@._stats_rows(s @extschema@._metric_spec, f @extschema@._filter_set, projects text[],
                                        dim smallint, raw_dim text, by_bucket boolean, p @extschema@._rollup_plan)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  rw text := @extschema@._rollup_where(f, projects, dim) || ' AND ' || @extschema@._rollup_types(s);
  q text;
BEGIN
  q := 'SELECT ' || CASE WHEN by_bucket THEN '@extschema@.time_bucket($17, e.emitted_at, $18)' ELSE 'NULL::timestamptz' END
       || ' AS t, ' || coalesce(raw_dim, 'NULL::text') || ' AS v, @extschema@.event_stats(e.event_type, e.value) AS stats'
       || ' FROM @extschema@.events e WHERE ' || @extschema@._ranges_sql('e.emitted_at', 20, 21, cardinality(p.raw_from))
       || ' AND ' || s.types || @extschema@._where(f, projects) || ' GROUP BY 1, 2';
  IF cardinality(p.hour_from) > 0 THEN
    q := q || ' UNION ALL SELECT r.bucket, r.value, r.stats FROM @extschema@.rollup_hour r WHERE r.dim = ' || dim
         || ' AND ' || @extschema@._ranges_sql('r.bucket', 22, 23, cardinality(p.hour_from))
         || ' AND r.bucket <> ALL ($26)' || rw;
  END IF;
  IF cardinality(p.day_from) > 0 THEN
    q := q || ' UNION ALL SELECT r.bucket, r.value, r.stats FROM @extschema@.rollup_day r WHERE r.dim = ' || dim
         || ' AND ' || @extschema@._ranges_sql('r.bucket', 24, 25, cardinality(p.day_from))
         || ' AND r.bucket <> ALL ($27)' || rw;
  END IF;
  IF p.week_from IS NOT NULL THEN
    q := q || ' UNION ALL SELECT r.bucket, r.value, r.stats FROM @extschema@.rollup_week r WHERE r.dim = ' || dim
         || ' AND r.bucket >= $28 AND r.bucket < $29 AND r.bucket <> ALL ($30)' || rw;
  END IF;
  IF cardinality(p.fine_from) > 0 THEN
    q := q || ' UNION ALL SELECT r.bucket, r.value, r.stats FROM @extschema@.rollup_5min r WHERE r.dim = ' || dim
         || ' AND ' || @extschema@._ranges_sql('r.bucket', 31, 32, cardinality(p.fine_from)) || rw;
  END IF;
  RETURN q;
END $$;

-- ccv peak / average of one project (and one media, or all) over [pf, pt)
-- from the per-minute rows, with raw events for the partial minutes at both
-- ends and for the minutes of stale hours (h is stale when h or h + 1 hour
-- has a pending mark). Returns {peak, average}.
CREATE FUNCTION @extschema@._ccv_from_rollups(project text, media text, unique_viewers boolean,
                                              pf timestamptz, pt timestamptz)
RETURNS double precision[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
  o constant timestamptz := '2000-01-01 00:00+00';
  ms timestamptz := pg_catalog.date_bin('1 minute', pf, o);
  me timestamptz := pg_catalog.date_bin('1 minute', pt, o);
  pend timestamptz[];
  stale timestamptz[];
  lo timestamptz[] := '{}';
  hi timestamptz[] := '{}';
  peak double precision := 0;
  secs double precision := 0;
  pk double precision;
  sc double precision;
  look interval;
  r double precision[];
  i integer;
  q constant text := 'SELECT @extschema@.ccv(' ||
    CASE WHEN unique_viewers THEN 'CASE WHEN e.viewer_id IS NULL THEN e.emitted_at ELSE e.emitted_at - e.value * interval ''1 second'' END'
         ELSE 'e.emitted_at - e.value * interval ''1 second''' END ||
    ', e.emitted_at, ' || CASE WHEN unique_viewers THEN 'e.viewer_id' ELSE 'e.session_id' END || ', $1, $2)'
    ' FROM @extschema@.events e WHERE e.event_type = ''watch'' AND e.value > 0 AND e.emitted_at > $1'
    ' AND e.emitted_at < $2 + $3 AND e.emitted_at - e.value * interval ''1 second'' < $2 AND e.project_id = $4' ||
    CASE WHEN media IS NOT NULL THEN ' AND e.media_id = $5' ELSE '' END;
BEGIN
  IF ms < pf THEN ms := ms + interval '1 minute'; END IF;
  IF ms >= me THEN
    ms := pt; me := pt;             -- no whole minute: all raw
  END IF;
  pend := @extschema@._pending_hours(pg_catalog.date_bin('1 hour', pf, o), pt + interval '1 hour');
  stale := ARRAY(SELECT DISTINCT x FROM unnest(pend) h, LATERAL (VALUES (h), (h - interval '1 hour')) v(x));
  -- one media: only live streams have rows (a media id that was ever a
  -- video, or is not rolled up yet, reads raw events)
  IF media IS NOT NULL AND ms < me AND NOT coalesce((
       SELECT bool_and(r.media_type = 'live-stream') FROM @extschema@.rollup_day r
        WHERE r.project_id = project AND r.dim = 1 AND r.value = media), false) THEN
    ms := pt; me := pt;
  END IF;
  IF ms < me AND media IS NULL THEN
    SELECT max(CASE WHEN unique_viewers THEN c.peak_viewers ELSE c.peak_sessions END),
           sum(CASE WHEN unique_viewers THEN c.secs_viewers ELSE c.secs_sessions END) INTO pk, sc
      FROM @extschema@.rollup_ccv c
     WHERE c.project_id = project AND c.media_id IS NULL AND c.minute >= ms AND c.minute < me
       AND pg_catalog.date_bin('1 hour', c.minute, o) <> ALL (stale);
  ELSIF ms < me THEN
    SELECT max(CASE WHEN unique_viewers THEN c.peak_viewers ELSE c.peak_sessions END),
           sum(CASE WHEN unique_viewers THEN c.secs_viewers ELSE c.secs_sessions END) INTO pk, sc
      FROM @extschema@.rollup_ccv c
     WHERE c.project_id = project AND c.media_id = media AND c.minute >= ms AND c.minute < me
       AND pg_catalog.date_bin('1 hour', c.minute, o) <> ALL (stale);
  END IF;
  IF ms < me THEN
    peak := greatest(peak, coalesce(pk, 0));
    secs := secs + coalesce(sc, 0);
  END IF;
  -- raw pieces
  IF pf < ms THEN lo := lo || pf; hi := hi || ms; END IF;
  IF me < pt THEN lo := lo || me; hi := hi || pt; END IF;
  SELECT lo || coalesce(pg_catalog.array_agg(greatest(h, ms)), '{}'), hi || coalesce(pg_catalog.array_agg(least(h + interval '1 hour', me)), '{}')
    INTO lo, hi FROM unnest(stale) h WHERE h + interval '1 hour' > ms AND h < me;
  SELECT * INTO lo, hi FROM @extschema@._merge_ranges(lo, hi);
  FOR i IN 1 .. coalesce(cardinality(lo), 0) LOOP
    -- how far past the piece a watch event covering it can be emitted
    IF EXISTS (SELECT 1 FROM unnest(pend) h WHERE h >= pg_catalog.date_bin('1 hour', lo[i], o) AND h <= hi[i] + interval '1 hour') THEN
      look := interval '1 hour';
    ELSE
      SELECT coalesce(max(w.max_value), 0) * interval '1 second' + interval '1 microsecond' INTO look
        FROM @extschema@.rollup_watch_max w
       WHERE w.project_id = project AND w.hour >= pg_catalog.date_bin('1 hour', lo[i], o) AND w.hour <= hi[i] + interval '1 hour';
    END IF;
    EXECUTE q INTO r USING lo[i], hi[i], look, project, media;
    peak := greatest(peak, coalesce(r[1], 0));
    secs := secs + coalesce(r[2], 0) * extract(epoch FROM hi[i] - lo[i]);
  END LOOP;
  RETURN ARRAY[peak, secs / extract(epoch FROM pt - pf)];
END $$;

-- the query functions of 0.1, reading rollups where they can
CREATE OR REPLACE FUNCTION @extschema@.metric(metric text, aggregation text,
                                   from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                   filter_by jsonb DEFAULT NULL,
                                   unique_viewers boolean DEFAULT false, view_duration text DEFAULT NULL,
                                   project_id text DEFAULT NULL)
RETURNS double precision
LANGUAGE plpgsql STABLE AS $$
DECLARE
  s @extschema@._metric_spec := @extschema@._spec('metrics', metric, aggregation, unique_viewers, view_duration);
  uv boolean := coalesce(unique_viewers, false);
  projects text[] := @extschema@._projects(project_id);
  f @extschema@._filter_set := @extschema@._filters(filter_by, s.kind = 'total');
  w text := @extschema@._where(f, projects);
  p record;
  pf timestamptz;
  pt timestamptz;
  q text;
  result double precision;
  dim smallint := CASE WHEN coalesce(current_setting('analytics.use_rollups', true), 'on') = 'on' THEN @extschema@._rollup_dim(s, f, NULL) END;
  rp @extschema@._rollup_plan;
  saved text;
BEGIN
  IF s.kind = 'total' THEN
    q := 'SELECT ((SELECT coalesce(sum(e.plays), 0) FROM @extschema@.play_totals e WHERE true' || w || ')'
         ' + (SELECT count(*) FROM @extschema@.events e WHERE e.event_type = ''play''' || w || '))::double precision';
  ELSE
    IF s.kind = 'ccv_live' THEN
      pt := now(); pf := pt - interval '20 seconds';
    ELSE
      p := @extschema@._period(from_ts, to_ts, true);
      pf := p.from_out; pt := p.to_out;
    END IF;
    IF s.kind IN ('ccv_peak', 'ccv_average') AND projects[1] IS NOT NULL
       AND coalesce(current_setting('analytics.use_rollups', true), 'on') = 'on'
       AND (f.media_ids IS NULL OR cardinality(f.media_ids) = 1)
       AND f.media_type IS NULL AND f.continents IS NULL AND f.countries IS NULL AND f.device_types IS NULL
       AND f.operating_systems IS NULL AND f.browsers IS NULL AND f.referrers IS NULL AND f.tag IS NULL THEN
      -- one project, one media or all: the per-minute rows
      RETURN (@extschema@._ccv_from_rollups(projects[1], f.media_ids[1], uv, pf, pt))[CASE WHEN s.kind = 'ccv_peak' THEN 1 ELSE 2 END];
    ELSIF dim IS NOT NULL THEN
      rp := @extschema@._rollup_plan(pf, pt, 'week', dim = 0);
      q := 'SELECT @extschema@.stats_metric(@extschema@.event_stats_merge(x.stats), $14, $15, $16) FROM ('
           || @extschema@._stats_rows(s, f, projects, dim, NULL, false, rp) || ') x';
    ELSE
      q := 'SELECT ' || @extschema@._value_expr(s, uv, '$1', '$2') || ' FROM @extschema@.events e WHERE '
           || @extschema@._rows_expr(s, uv, '$1', '$2') || w;
    END IF;
  END IF;
  -- one project's rollup rows are few: a parallel plan would only add its start-up
  IF rp.hour_from IS NOT NULL AND projects IS NOT NULL THEN
    saved := current_setting('max_parallel_workers_per_gather');
    PERFORM set_config('max_parallel_workers_per_gather', '0', true);
  END IF;
  EXECUTE q INTO result
    USING pf, pt, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
          f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
          s.sm_metric, s.sm_aggregation, s.view_duration, NULL::text, NULL::text, NULL::double precision,
          rp.raw_from, rp.raw_to, rp.hour_from, rp.hour_to, rp.day_from, rp.day_to, rp.pending, rp.pending_days,
          rp.week_from, rp.week_to, rp.pending_weeks, rp.fine_from, rp.fine_to;
  IF saved IS NOT NULL THEN
    PERFORM set_config('max_parallel_workers_per_gather', saved, true);
  END IF;
  IF s.kind LIKE 'ccv%' THEN
    result := coalesce(result, 0);
  END IF;
  RETURN result;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.breakdown(metric text, breakdown text,
                                      from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                      filter_by jsonb DEFAULT NULL,
                                      sort_by text DEFAULT 'metricValue', sort_order text DEFAULT 'desc',
                                      aggregation text DEFAULT NULL,
                                      unique_viewers boolean DEFAULT false, view_duration text DEFAULT NULL,
                                      project_id text DEFAULT NULL)
RETURNS TABLE (dimension_value text, metric_value double precision)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  s @extschema@._metric_spec := @extschema@._spec('breakdown', metric, aggregation, unique_viewers, view_duration);
  uv boolean := coalesce(unique_viewers, false);
  projects text[] := @extschema@._projects(project_id);
  f @extschema@._filter_set;
  w text;
  p record;
  pf timestamptz;
  pt timestamptz;
  dimx text;
  ord text;
  q text;
  dim smallint;
  rp @extschema@._rollup_plan;
  saved text;
BEGIN
  dimx := CASE breakdown
    WHEN 'media-id' THEN 'e.media_id'
    WHEN 'media-type' THEN 'e.media_type::text'
    WHEN 'continent' THEN 'e.continent::text'
    WHEN 'country' THEN 'e.country'
    WHEN 'device-type' THEN 'e.device_type::text'
    WHEN 'operating-system' THEN 'e.operating_system'
    WHEN 'browser' THEN 'e.browser'
    WHEN 'referrer' THEN 'e.referrer'
  END;
  IF dimx IS NULL THEN
    PERFORM @extschema@._invalid('breakdown', format('invalid breakdown: "%s"', coalesce(breakdown, 'NULL')),
      'Valid breakdowns are: media-id, media-type, continent, country, device-type, operating-system, browser, referrer.');
  END IF;
  IF s.kind = 'total' AND breakdown <> 'media-id' THEN
    PERFORM @extschema@._invalid('breakdown', format('invalid breakdown "%s" for metric "play-total"', breakdown),
                                 'play-total is broken down by media-id only.');
  END IF;
  IF sort_by IS NULL OR sort_by NOT IN ('metricValue', 'dimensionValue') THEN
    PERFORM @extschema@._invalid('sortBy', format('invalid sort_by: "%s"', coalesce(sort_by, 'NULL')),
                                 'Valid sort keys are: metricValue, dimensionValue.');
  END IF;
  IF sort_order IS NULL OR sort_order NOT IN ('asc', 'desc') THEN
    PERFORM @extschema@._invalid('sortOrder', format('invalid sort_order: "%s"', coalesce(sort_order, 'NULL')),
                                 'Valid sort orders are: asc, desc.');
  END IF;
  f := @extschema@._filters(filter_by, s.kind = 'total');
  w := @extschema@._where(f, projects);
  IF s.kind <> 'total' THEN
    p := @extschema@._period(from_ts, to_ts, true);
    pf := p.from_out; pt := p.to_out;
  END IF;
  IF coalesce(current_setting('analytics.use_rollups', true), 'on') = 'on' THEN
    dim := @extschema@._rollup_dim(s, f, breakdown);
  END IF;

  ord := CASE WHEN sort_by = 'metricValue' AND sort_order = 'desc' THEN 'metric_value DESC NULLS LAST, dimension_value COLLATE "C"'
              WHEN sort_by = 'metricValue' THEN 'metric_value ASC NULLS FIRST, dimension_value COLLATE "C"'
              WHEN sort_order = 'desc' THEN 'dimension_value COLLATE "C" DESC'
              ELSE 'dimension_value COLLATE "C"' END;

  IF s.kind = 'total' THEN
    q := 'SELECT s.media_id AS dimension_value, sum(s.n)::double precision AS metric_value FROM ('
         'SELECT e.media_id, e.plays AS n FROM @extschema@.play_totals e WHERE true' || w ||
         ' UNION ALL SELECT e.media_id, count(*) FROM @extschema@.events e WHERE e.event_type = ''play''' || w ||
         ' GROUP BY 1) s GROUP BY 1';
  ELSIF dim IS NOT NULL THEN
    rp := @extschema@._rollup_plan(pf, pt, 'week');
    q := 'SELECT coalesce(x.v, ''unknown'') AS dimension_value,'
         ' @extschema@.stats_metric(@extschema@.event_stats_merge(x.stats), $14, $15, $16) AS metric_value FROM ('
         || @extschema@._stats_rows(s, f, projects, dim, dimx, false, rp) || ') x GROUP BY 1';
  ELSE
    q := 'SELECT coalesce(' || dimx || ', ''unknown'') AS dimension_value, '
         || @extschema@._value_expr(s, uv, '$1', '$2') || ' AS metric_value FROM @extschema@.events e WHERE '
         || @extschema@._rows_expr(s, uv, '$1', '$2') || w || ' GROUP BY 1';
  END IF;
  IF rp.hour_from IS NOT NULL AND projects IS NOT NULL THEN
    saved := current_setting('max_parallel_workers_per_gather');
    PERFORM set_config('max_parallel_workers_per_gather', '0', true);
  END IF;
  RETURN QUERY EXECUTE 'SELECT dimension_value, metric_value FROM (' || q || ') r ORDER BY ' || ord
    USING pf, pt, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
          f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
          s.sm_metric, s.sm_aggregation, s.view_duration, NULL::text, NULL::text, NULL::double precision,
          rp.raw_from, rp.raw_to, rp.hour_from, rp.hour_to, rp.day_from, rp.day_to, rp.pending, rp.pending_days,
          rp.week_from, rp.week_to, rp.pending_weeks, rp.fine_from, rp.fine_to;
  IF saved IS NOT NULL THEN
    PERFORM set_config('max_parallel_workers_per_gather', saved, true);
  END IF;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.timeseries(metric text,
                                       from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                       "interval" text DEFAULT NULL, filter_by jsonb DEFAULT NULL,
                                       sort_by text DEFAULT 'emittedAt', sort_order text DEFAULT 'asc',
                                       time_zone text DEFAULT 'UTC',
                                       aggregation text DEFAULT NULL,
                                       unique_viewers boolean DEFAULT false, view_duration text DEFAULT NULL,
                                       project_id text DEFAULT NULL)
RETURNS TABLE (emitted_at timestamptz, metric_value double precision)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  s @extschema@._metric_spec := @extschema@._spec('timeseries', metric, aggregation, unique_viewers, view_duration);
  uv boolean := coalesce(unique_viewers, false);
  projects text[] := @extschema@._projects(project_id);
  f @extschema@._filter_set;
  w text;
  p record;
  bucket text;
  tz text := coalesce(time_zone, 'UTC');
  ord text;
  q text;
  dim smallint;
  tier text;
  rp @extschema@._rollup_plan;
  saved text;
BEGIN
  IF sort_by IS NULL OR sort_by NOT IN ('emittedAt', 'metricValue') THEN
    PERFORM @extschema@._invalid('sortBy', format('invalid sort_by: "%s"', coalesce(sort_by, 'NULL')),
                                 'Valid sort keys are: emittedAt, metricValue.');
  END IF;
  IF sort_order IS NULL OR sort_order NOT IN ('asc', 'desc') THEN
    PERFORM @extschema@._invalid('sortOrder', format('invalid sort_order: "%s"', coalesce(sort_order, 'NULL')),
                                 'Valid sort orders are: asc, desc.');
  END IF;
  f := @extschema@._filters(filter_by);
  w := @extschema@._where(f, projects);
  p := @extschema@._period(from_ts, to_ts, true);
  bucket := coalesce("interval", @extschema@.default_interval(p.from_out, p.to_out));

  ord := CASE WHEN sort_by = 'emittedAt' AND sort_order = 'desc' THEN 'bucket_start DESC'
              WHEN sort_by = 'emittedAt' THEN 'bucket_start'
              WHEN sort_order = 'desc' THEN 'metric_value DESC NULLS LAST, bucket_start'
              ELSE 'metric_value ASC NULLS FIRST, bucket_start' END;

  IF s.kind LIKE 'ccv%' THEN
    -- every watch interval counts in each bucket it overlaps
    q := 'SELECT b.bucket_start, coalesce(' || @extschema@._value_expr(s, uv, 'b.pfrom', 'b.pto') || ', 0) AS metric_value'
         ' FROM (SELECT bucket_start, greatest(bucket_start, $1) AS pfrom, least(bucket_end, $2) AS pto'
         '       FROM @extschema@.time_buckets($17, $1, $2, $18)) b'
         ' LEFT JOIN @extschema@.events e ON ' || @extschema@._rows_expr(s, uv, 'b.pfrom', 'b.pto') || w ||
         ' GROUP BY b.bucket_start';
  ELSE
    IF coalesce(current_setting('analytics.use_rollups', true), 'on') = 'on' THEN
      dim := @extschema@._rollup_dim(s, f, NULL);
    END IF;
    -- rollup rows fall into one bucket each only when every bucket boundary
    -- is a whole UTC hour (day rows: a whole UTC day; week rows: a Monday)
    IF dim IS NOT NULL AND bucket <> 'minute' THEN
      SELECT CASE WHEN NOT bool_and(pg_catalog.date_bin('1 hour', b.t, '2000-01-01 00:00+00') = b.t) THEN NULL
                  WHEN bucket = 'hour' OR NOT bool_and(pg_catalog.date_bin('1 day', b.t, '2000-01-01 00:00+00') = b.t) THEN 'hour'
                  WHEN bool_and(pg_catalog.date_bin('7 days', b.t, '2000-01-03 00:00+00') = b.t) THEN 'week'
                  ELSE 'day' END INTO tier
        FROM @extschema@.time_buckets(bucket, p.from_out, p.to_out, tz) x,
             LATERAL (VALUES (x.bucket_start), (x.bucket_end)) b(t);
    END IF;
    IF tier IS NOT NULL THEN
      rp := @extschema@._rollup_plan(p.from_out, p.to_out, tier, dim = 0);
      q := 'SELECT b.bucket_start, coalesce(v.metric_value, $19) AS metric_value'
           ' FROM @extschema@.time_buckets($17, $1, $2, $18) b LEFT JOIN ('
           'SELECT @extschema@.time_bucket($17, x.t, $18) AS bucket_start,'
           ' @extschema@.stats_metric(@extschema@.event_stats_merge(x.stats), $14, $15, $16) AS metric_value FROM ('
           || @extschema@._stats_rows(s, f, projects, dim, NULL, true, rp) || ') x GROUP BY 1) v USING (bucket_start)';
    ELSE
    q := 'SELECT b.bucket_start, coalesce(v.metric_value, $19) AS metric_value'
         ' FROM @extschema@.time_buckets($17, $1, $2, $18) b LEFT JOIN ('
         'SELECT @extschema@.time_bucket($17, e.emitted_at, $18) AS bucket_start, '
         || @extschema@._value_expr(s, uv, '$1', '$2') || ' AS metric_value FROM @extschema@.events e WHERE '
         || @extschema@._rows_expr(s, uv, '$1', '$2') || w || ' GROUP BY 1) v USING (bucket_start)';
    END IF;
  END IF;
  IF rp.hour_from IS NOT NULL AND projects IS NOT NULL THEN
    saved := current_setting('max_parallel_workers_per_gather');
    PERFORM set_config('max_parallel_workers_per_gather', '0', true);
  END IF;
  RETURN QUERY EXECUTE 'SELECT bucket_start, metric_value FROM (' || q || ') r ORDER BY ' || ord
    USING p.from_out, p.to_out, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
          f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
          s.sm_metric, s.sm_aggregation, s.view_duration, bucket, tz, s.empty_value,
          rp.raw_from, rp.raw_to, rp.hour_from, rp.hour_to, rp.day_from, rp.day_to, rp.pending, rp.pending_days,
          rp.week_from, rp.week_to, rp.pending_weeks, rp.fine_from, rp.fine_to;
  IF saved IS NOT NULL THEN
    PERFORM set_config('max_parallel_workers_per_gather', saved, true);
  END IF;
END $$;

-- @@ tenancy @@ (issue 7: grants, row-level security, SECURITY DEFINER)
--
-- Tenants (README: Tenancy): a role reads and writes the rows of the projects granted
-- to it (or to a role whose privileges it has) with grant_project; members
-- of the role analytics_admin (created by the DBA, if at all), members of
-- the tables' owner and superusers see everything. src/tenancy.c explains
-- the functions in C.
--
CREATE TABLE @extschema@.project_grants (
    role        regrole NOT NULL,
    project_id  text NOT NULL CONSTRAINT project_grants_project_id_check CHECK (project_id OPERATOR(pg_catalog.<>) ''),
    granted_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT project_grants_pkey PRIMARY KEY (role, project_id)
);
COMMENT ON TABLE @extschema@.project_grants IS
    'the projects each role may read and write (analytics.grant_project / revoke_project)';
-- dumped by name (regrole), so a restore into another cluster maps the same roles
SELECT pg_catalog.pg_extension_config_dump('@extschema@.project_grants', '');

-- the projects of the current role: NULL for all (administrators), narrowed
-- by the setting analytics.project_id; cached per statement
CREATE FUNCTION @extschema@._my_projects()
RETURNS text[]
AS 'MODULE_PATHNAME', 'analytics_my_projects'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._my_projects() IS
    'the projects the current role may read and write, narrowed by analytics.project_id; NULL: every project (administrators)';

-- the same as 0 (every project), 1 (one: _my_project()) or 2 (another
-- number: _my_projects()), for a cheap policy
CREATE FUNCTION @extschema@._my_scope()
RETURNS integer
AS 'MODULE_PATHNAME', 'analytics_my_scope'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._my_scope() IS
    'how many projects the current role may use: 0 every project, 1 one (analytics._my_project()), 2 another number (analytics._my_projects())';

CREATE FUNCTION @extschema@._my_project()
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_my_project'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._my_project() IS
    'the one project the current role may use, NULL when it may use another number of projects';

CREATE FUNCTION @extschema@._is_admin()
RETURNS boolean
AS 'MODULE_PATHNAME', 'analytics_is_admin'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._is_admin() IS
    'true for superusers, members of the owner of analytics.events and members of the role analytics_admin';

CREATE FUNCTION @extschema@._grants_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'analytics_grants_changed'
LANGUAGE C;
REVOKE ALL ON FUNCTION @extschema@._grants_changed() FROM PUBLIC;
CREATE TRIGGER project_grants_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.project_grants
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._grants_changed();

-- a role sees its own grant rows; administrators see all
ALTER TABLE @extschema@.project_grants ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_grants ON @extschema@.project_grants FOR SELECT
    USING (pg_catalog.pg_has_role(role, 'USAGE') OR (SELECT @extschema@._is_admin()));
GRANT SELECT ON @extschema@.project_grants TO PUBLIC;

--
-- Row-level security of a table with a project_id column, and, for a
-- partition, its parent's privileges. Run here for every such table and by
-- maintenance for each partition it creates. One policy for all commands:
-- rows of the projects of the current role, computed once per query (the
-- subqueries are initplans); per row, one comparison with one text for a
-- role with one project (the usual tenant), "= ANY (array)" otherwise.
--
CREATE FUNCTION @extschema@._secure_table(rel regclass, parent regclass DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  g record;
  pred constant text := 'CASE (SELECT @extschema@._my_scope())'
                        ' WHEN 0 THEN true'
                        ' WHEN 1 THEN project_id OPERATOR(pg_catalog.=) (SELECT @extschema@._my_project())'
                        ' ELSE project_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT @extschema@._my_projects()) AS pg_catalog.text[]))'
                        ' END';
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = rel AND a.attname = 'project_id' AND NOT a.attisdropped) THEN
    RETURN;
  END IF;
  EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', rel);
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = rel AND p.polname = 'tenant_rows') THEN
    EXECUTE pg_catalog.format('CREATE POLICY tenant_rows ON %s USING (%s) WITH CHECK (%s)', rel, pred, pred);
  END IF;
  -- a partition (or a table about to be attached, parent given): the
  -- privileges of its parent (tenants read a partition through its own
  -- policy, never around it)
  IF parent IS NULL THEN
    SELECT i.inhparent::regclass INTO parent FROM pg_catalog.pg_inherits i WHERE i.inhrelid = rel;
  END IF;
  IF parent IS NOT NULL THEN
    FOR g IN SELECT a.grantee, a.privilege_type
               FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
              WHERE c.oid = parent AND a.grantee OPERATOR(pg_catalog.<>) c.relowner LOOP
      EXECUTE pg_catalog.format('GRANT %s ON %s TO %s', g.privilege_type, rel,
                                CASE WHEN g.grantee = 0 THEN 'PUBLIC'
                                     ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END);
    END LOOP;
  END IF;
END $$;
REVOKE ALL ON FUNCTION @extschema@._secure_table(regclass, regclass) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@._secure_table(regclass, regclass) IS
    'enables the tenant row-level security policy on a table with a project_id column; a partition (of parent) also gets its parent''s privileges';

-- COPY for tenants: PostgreSQL refuses COPY FROM into a table with
-- row-level security to the roles it applies to. COPY (or INSERT) into this
-- view instead: its triggers insert the rows into analytics.events in
-- batches, with the caller's rights (privileges, row-level security).
CREATE VIEW @extschema@.events_import WITH (security_invoker = true) AS
SELECT e.project_id, e.emitted_at, e.event_type, e.value, e.media_id, e.media_type, e.session_id, e.viewer_id,
       e.referrer, e.continent, e.country, e.device_type, e.operating_system, e.browser
  FROM @extschema@.events e WHERE false;
COMMENT ON VIEW @extschema@.events_import IS
    'COPY or INSERT events here (same columns and defaults as analytics.events): they go into analytics.events with the caller''s rights, row-level security included';
ALTER VIEW @extschema@.events_import ALTER COLUMN project_id SET DEFAULT 'default';
ALTER VIEW @extschema@.events_import ALTER COLUMN media_type SET DEFAULT 'video';
ALTER VIEW @extschema@.events_import ALTER COLUMN referrer SET DEFAULT '';
ALTER VIEW @extschema@.events_import ALTER COLUMN device_type SET DEFAULT 'unknown';
ALTER VIEW @extschema@.events_import ALTER COLUMN operating_system SET DEFAULT 'unknown';
ALTER VIEW @extschema@.events_import ALTER COLUMN browser SET DEFAULT 'unknown';

CREATE FUNCTION @extschema@._import_row()
RETURNS trigger
AS 'MODULE_PATHNAME', 'analytics_import_row'
LANGUAGE C;
CREATE FUNCTION @extschema@._import_flush()
RETURNS trigger
AS 'MODULE_PATHNAME', 'analytics_import_flush'
LANGUAGE C;
CREATE TRIGGER import_row INSTEAD OF INSERT ON @extschema@.events_import
    FOR EACH ROW EXECUTE FUNCTION @extschema@._import_row();
CREATE TRIGGER import_flush AFTER INSERT ON @extschema@.events_import
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._import_flush();

-- every table holding event-derived data (events, its partitions, media,
-- play_totals, ping_sessions, the rollups), and views run as their caller
DO $$
DECLARE
  r regclass;
BEGIN
  FOR r IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
            WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind IN ('r', 'p')
              AND c.oid <> '@extschema@.project_grants'::regclass
              AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                           WHERE a.attrelid = c.oid AND a.attname = 'project_id' AND NOT a.attisdropped)
            ORDER BY c.oid LOOP
    PERFORM @extschema@._secure_table(r);
  END LOOP;
  FOR r IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
            WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind = 'v' LOOP
    EXECUTE pg_catalog.format('ALTER VIEW %s SET (security_invoker = true)', r);
  END LOOP;
END $$;

--
-- the table privileges grant_project gives (and revoke_project takes back
-- with a role's last project): schema usage; SELECT on every table with a
-- project_id column and on the views; INSERT on events and its partitions
-- (INSERT, ingest_ping) and on the view events_import (COPY); INSERT,
-- UPDATE, DELETE on media (the
-- catalogue). Nothing on ping_sessions (ingest_ping's definer part), secrets,
-- project_grants (beyond PUBLIC's own-rows SELECT); settings is readable by
-- PUBLIC, written by set_retention only.
--
CREATE FUNCTION @extschema@._tenant_privileges(role regrole, do_grant boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
  verb constant text := CASE WHEN do_grant THEN 'GRANT' ELSE 'REVOKE' END;
  prep constant text := CASE WHEN do_grant THEN 'TO' ELSE 'FROM' END;
  who constant text := pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(role));
BEGIN
  EXECUTE pg_catalog.format('%s USAGE ON SCHEMA @extschema@ %s %s', verb, prep, who);
  FOR r IN SELECT c.oid::regclass AS rel,
                  CASE WHEN c.oid = '@extschema@.media'::regclass THEN 'SELECT, INSERT, UPDATE, DELETE'
                       WHEN c.oid = '@extschema@.events_import'::regclass THEN 'SELECT, INSERT'
                       WHEN c.oid IN (SELECT t.relid FROM pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t)
                         THEN 'SELECT, INSERT'
                       ELSE 'SELECT' END AS privs
             FROM pg_catalog.pg_class c
            WHERE c.relnamespace = '@extschema@'::regnamespace
              AND ((c.relkind IN ('r', 'p')
                    AND c.oid NOT IN ('@extschema@.project_grants'::regclass, '@extschema@.ping_sessions'::regclass)
                    AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                                 WHERE a.attrelid = c.oid AND a.attname = 'project_id' AND NOT a.attisdropped))
                   OR c.relkind = 'v')
            ORDER BY c.oid LOOP
    EXECUTE pg_catalog.format('%s %s ON %s %s %s', verb, r.privs, r.rel, prep, who);
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION @extschema@._tenant_privileges(regrole, boolean) FROM PUBLIC;

CREATE FUNCTION @extschema@._grant_project(role name, project_id text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  rid regrole;
  added boolean;
BEGIN
  IF role IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'role must not be NULL',
                          COLUMN = 'role';
  END IF;
  IF project_id IS NULL OR project_id = '' THEN
    RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'project_id must not be NULL or empty',
                          COLUMN = 'project_id';
  END IF;
  SELECT r.oid::regrole INTO rid FROM pg_catalog.pg_roles r WHERE r.rolname = role;
  IF rid IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'undefined_object', MESSAGE = pg_catalog.format('role "%s" does not exist', role),
                          COLUMN = 'role';
  END IF;
  -- grants of dropped roles name nobody: forget them
  DELETE FROM @extschema@.project_grants g
   WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid = g.role);
  INSERT INTO @extschema@.project_grants AS g (role, project_id) VALUES (rid, _grant_project.project_id)
    ON CONFLICT DO NOTHING;
  added := FOUND;
  PERFORM @extschema@._tenant_privileges(rid, true);
  RETURN added;
END $$;
REVOKE ALL ON FUNCTION @extschema@._grant_project(name, text) FROM PUBLIC;

CREATE FUNCTION @extschema@._revoke_project(role name, project_id text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  rid regrole;
  removed boolean;
BEGIN
  IF role IS NULL OR project_id IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'role and project_id must not be NULL',
                          COLUMN = CASE WHEN role IS NULL THEN 'role' ELSE 'project_id' END;
  END IF;
  SELECT r.oid::regrole INTO rid FROM pg_catalog.pg_roles r WHERE r.rolname = role;
  IF rid IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'undefined_object', MESSAGE = pg_catalog.format('role "%s" does not exist', role),
                          COLUMN = 'role';
  END IF;
  DELETE FROM @extschema@.project_grants g
   WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid = g.role);
  DELETE FROM @extschema@.project_grants g WHERE g.role = rid AND g.project_id = _revoke_project.project_id;
  removed := FOUND;
  -- its last project: take back the table privileges
  IF NOT EXISTS (SELECT 1 FROM @extschema@.project_grants g WHERE g.role = rid) THEN
    PERFORM @extschema@._tenant_privileges(rid, false);
  END IF;
  RETURN removed;
END $$;
REVOKE ALL ON FUNCTION @extschema@._revoke_project(name, text) FROM PUBLIC;

-- the public administrative functions: a gate in C (analytics_admin_call)
-- that refuses non-administrators with 42501 and then calls the SECURITY
-- DEFINER function of the same name with a leading underscore
CREATE FUNCTION @extschema@.grant_project(role name, project_id text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'analytics_admin_call'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.grant_project(name, text) IS
    'lets a role (and its members) query and ingest the rows of a project: row access, schema usage, table privileges; false when it had it already. Administrators only';

CREATE FUNCTION @extschema@.revoke_project(role name, project_id text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'analytics_admin_call'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.revoke_project(name, text) IS
    'takes a project back from a role (with its last project, its table privileges); false when it did not have it. Administrators only';

-- set_retention and run_maintenance become such gates too; the old
-- functions become their SECURITY DEFINER parts, executable by nobody but
-- the owner (EXECUTE a DBA granted on 0.1's functions is taken back: it
-- would now bypass the gate)
ALTER FUNCTION @extschema@.set_retention(interval) RENAME TO _set_retention;
ALTER FUNCTION @extschema@._set_retention(interval) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.run_maintenance() RENAME TO _run_maintenance;
ALTER FUNCTION @extschema@._run_maintenance() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
DO $$
DECLARE
  g record;
BEGIN
  FOR g IN SELECT p.oid::regprocedure AS fn, a.grantee
             FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
            WHERE p.oid IN ('@extschema@._set_retention(interval)'::regprocedure,
                            '@extschema@._run_maintenance()'::regprocedure)
              AND a.grantee OPERATOR(pg_catalog.<>) p.proowner LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM %s', g.fn,
                              CASE WHEN g.grantee = 0 THEN 'PUBLIC'
                                   ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END);
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION @extschema@._set_retention(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._run_maintenance() FROM PUBLIC;
CREATE FUNCTION @extschema@.set_retention(retention interval)
RETURNS interval
AS 'MODULE_PATHNAME', 'analytics_admin_call'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.set_retention(interval) IS
    'sets the retention window (any interval >= 1 day); the next maintenance drops what falls out of it. Administrators only';

CREATE FUNCTION @extschema@.run_maintenance()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'analytics_admin_call'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.run_maintenance() IS
    'creates partitions ahead, moves rows out of the default partition, archives plays and drops expired partitions; returns a report. Administrators only';

-- the session state of ingest_ping, as the owner (called by ingest_ping only)
CREATE FUNCTION @extschema@._ping_state_lock(project_id text, session_id uuid, loaded_at timestamptz,
                                             media_id text, media_type text)
RETURNS bytea
AS 'MODULE_PATHNAME', 'analytics_ping_state_lock'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION @extschema@._ping_state_lock(text, uuid, timestamptz, text, text) FROM PUBLIC;

CREATE FUNCTION @extschema@._ping_state_store(project_id text, session_id uuid, loaded_at timestamptz, state bytea)
RETURNS void
AS 'MODULE_PATHNAME', 'analytics_ping_state_store'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION @extschema@._ping_state_store(text, uuid, timestamptz, bytea) FROM PUBLIC;
