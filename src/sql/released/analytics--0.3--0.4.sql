-- analytics 0.3 -> 0.4: 28-day rollups; a period read as signed pieces

\echo Use "ALTER EXTENSION analytics UPDATE TO '0.4'" to load this file. \quit

-- @@ 28-day blocks @@
-- event_stats per 28 days from Monday 2000-01-03, project and dimension value:
-- the sum of the block's rollup_week rows, rebuilt with them
CREATE TABLE @extschema@.rollup_w4 (LIKE @extschema@.rollup_hour INCLUDING ALL);
COMMENT ON TABLE @extschema@.rollup_w4 IS
    'event_stats per 28 days (from Monday 2000-01-03 00:00 UTC), project and dimension value (sum of the block''s rollup_week rows)';
SELECT @extschema@._secure_table('@extschema@.rollup_w4');
-- whoever reads rollup_week (tenants of grant_project) reads rollup_w4
DO $$
DECLARE
  g record;
BEGIN
  FOR g IN SELECT DISTINCT a.grantee
             FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
            WHERE c.oid = '@extschema@.rollup_week'::regclass AND a.privilege_type = 'SELECT'
              AND a.grantee OPERATOR(pg_catalog.<>) c.relowner LOOP
    EXECUTE pg_catalog.format('GRANT SELECT ON @extschema@.rollup_w4 TO %s',
                              CASE WHEN g.grantee = 0 THEN 'PUBLIC'
                                   ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END);
  END LOOP;
END $$;
INSERT INTO @extschema@.rollup_w4 (project_id, dim, bucket, value, media_type, stats)
SELECT r.project_id, r.dim, pg_catalog.date_bin('28 days', r.bucket, '2000-01-03 00:00+00'), r.value, r.media_type,
       @extschema@.event_stats_merge(r.stats)
  FROM @extschema@.rollup_week r
 GROUP BY 1, 2, 3, 4, 5;

CREATE OR REPLACE FUNCTION @extschema@._rollup_refresh(max_hours integer DEFAULT 168)
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

CREATE OR REPLACE FUNCTION @extschema@._rollup_forget(lo timestamptz, hi timestamptz)
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
-- and a 28-day block partly dropped: the sum of its remaining weeks
DELETE FROM @extschema@.rollup_w4 r WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket > lo - interval '28 days' AND r.bucket < hi;
INSERT INTO @extschema@.rollup_w4 (project_id, dim, bucket, value, media_type, stats)
SELECT r.project_id, r.dim, pg_catalog.date_bin('28 days', r.bucket, '2000-01-03 00:00+00'), r.value, r.media_type,
       @extschema@.event_stats_merge(r.stats)
  FROM @extschema@.rollup_week r
 WHERE r.dim = ANY ('{0,1,2,3,4,5,6,7,8}') AND r.bucket > lo - interval '56 days' AND r.bucket < hi + interval '28 days'
   AND pg_catalog.date_bin('28 days', r.bucket, '2000-01-03 00:00+00') > lo - interval '28 days'
   AND pg_catalog.date_bin('28 days', r.bucket, '2000-01-03 00:00+00') < hi
 GROUP BY 1, 2, 3, 4, 5;
DELETE FROM @extschema@.rollup_pending p WHERE p.hour >= lo AND p.hour < hi;
DELETE FROM @extschema@.rollup_ccv c WHERE c.minute >= lo AND c.minute < hi;
DELETE FROM @extschema@.rollup_watch_max w WHERE w.hour >= lo AND w.hour < hi;
$$;

-- @@ a period as signed pieces @@
-- which rollup rows and raw events make up a period: per level, the ranges
-- read as they are and the ranges taken out again (blocks that stick out
-- of the period, minus their parts outside it); built by _rollup_cover (C,
-- src/cover.c), passed to the queries as $20..$43 in this order
CREATE TYPE @extschema@._cover AS (
    raw_from timestamptz[], raw_to timestamptz[], raw_neg_from timestamptz[], raw_neg_to timestamptz[],
    fine_from timestamptz[], fine_to timestamptz[], fine_neg_from timestamptz[], fine_neg_to timestamptz[],
    hour_from timestamptz[], hour_to timestamptz[], hour_neg_from timestamptz[], hour_neg_to timestamptz[],
    day_from timestamptz[], day_to timestamptz[], day_neg_from timestamptz[], day_neg_to timestamptz[],
    week_from timestamptz[], week_to timestamptz[], week_neg_from timestamptz[], week_neg_to timestamptz[],
    w4_from timestamptz[], w4_to timestamptz[], w4_neg_from timestamptz[], w4_neg_to timestamptz[]
);

CREATE FUNCTION @extschema@._rollup_cover(pf timestamptz, pt timestamptz, max_level text, fine boolean, dim smallint,
                                          pending timestamptz[], data_lo timestamptz, data_hi timestamptz)
RETURNS @extschema@._cover
AS 'MODULE_PATHNAME', 'analytics_rollup_cover'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._rollup_cover(timestamptz, timestamptz, text, boolean, smallint, timestamptz[], timestamptz, timestamptz) IS
    'the pieces of [pf, pt) with blocks up to max_level (hour, day, week, w4); pending hours are read raw; outside [data_lo, data_hi) nothing is read';

-- the cover of [pf, pt) for the rollups as they are now: the pending hours
-- of every block that may be read, and where refreshed rows exist (of the
-- project, when the question is about one)
CREATE FUNCTION @extschema@._plan_cover(pf timestamptz, pt timestamptz, max_level text, fine boolean, dim smallint,
                                        projects text[])
RETURNS @extschema@._cover
LANGUAGE plpgsql STABLE AS $$
DECLARE
  lo timestamptz;
  hi timestamptz;
BEGIN
  IF cardinality(projects) = 1 THEN
    SELECT min(r.bucket), max(r.bucket) INTO lo, hi FROM @extschema@.rollup_hour r
     WHERE r.project_id = projects[1] AND r.dim = 0;
  ELSE
    SELECT min(r.bucket), max(r.bucket) INTO lo, hi FROM @extschema@.rollup_hour r WHERE r.dim = 0;
  END IF;
  RETURN @extschema@._rollup_cover(pf, pt, max_level, fine, dim,
                                   @extschema@._pending_hours(pf - interval '28 days', pt + interval '28 days'),
                                   lo, hi + interval '1 hour');
END $$;

-- the planner settings of a query over rollup pieces; returns the settings
-- as they were, and given them back, restores them. The rows are few: a
-- parallel plan would only add its start-up and the exchange of partial
-- states; and each piece is a small part of its table (one dimension, a few
-- buckets), read through the index even when the table is small enough for
-- the planner to prefer reading all of it.
CREATE FUNCTION @extschema@._rollup_settings(restore text[] DEFAULT NULL)
RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
  saved constant text[] := ARRAY[pg_catalog.current_setting('max_parallel_workers_per_gather'),
                                 pg_catalog.current_setting('enable_seqscan')];
BEGIN
  PERFORM pg_catalog.set_config('max_parallel_workers_per_gather', coalesce(restore[1], '0'), true);
  PERFORM pg_catalog.set_config('enable_seqscan', coalesce(restore[2], 'off'), true);
  RETURN saved;
END $$;

-- the rows (t, v, stats) a stats metric merges: for each level, the rows of
-- the ranges read as they are, and of the ranges taken out with every
-- statistic negated. t: the bucket of a rollup row, or time_bucket($17,
-- emitted_at, $18) of raw rows when by_bucket (timeseries); v: the dimension
-- value (raw_dim: its expression over events "e", NULL for none).
CREATE FUNCTION @extschema@._stats_rows(s @extschema@._metric_spec, f @extschema@._filter_set, projects text[],
                                        dim smallint, raw_dim text, by_bucket boolean, c @extschema@._cover)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  rw text := @extschema@._rollup_where(f, projects, dim) || ' AND ' || @extschema@._rollup_types(s);
  raw_select text := 'SELECT ' || CASE WHEN by_bucket THEN '@extschema@.time_bucket($17, e.emitted_at, $18)' ELSE 'NULL::timestamptz' END
                     || ' AS t, ' || coalesce(raw_dim, 'NULL::text') || ' AS v, ';
  raw_where text := ' AND ' || s.types || @extschema@._where(f, projects) || ' GROUP BY 1, 2';
  tables constant text[] := ARRAY['rollup_5min', 'rollup_hour', 'rollup_day', 'rollup_week', 'rollup_w4'];
  n integer[] := ARRAY[cardinality(c.fine_from), cardinality(c.fine_neg_from), cardinality(c.hour_from), cardinality(c.hour_neg_from),
                       cardinality(c.day_from), cardinality(c.day_neg_from), cardinality(c.week_from), cardinality(c.week_neg_from),
                       cardinality(c.w4_from), cardinality(c.w4_neg_from)];
  parts text[] := '{}';
  i integer;
BEGIN
  IF cardinality(c.raw_from) > 0 THEN
    parts := parts || (raw_select || '@extschema@.event_stats(e.event_type, e.value) AS stats FROM @extschema@.events e WHERE '
                       || @extschema@._ranges_sql('e.emitted_at', 20, 21, cardinality(c.raw_from)) || raw_where);
  END IF;
  IF cardinality(c.raw_neg_from) > 0 THEN
    parts := parts || (raw_select || '@extschema@.event_stats_negate(@extschema@.event_stats(e.event_type, e.value)) AS stats'
                       || ' FROM @extschema@.events e WHERE '
                       || @extschema@._ranges_sql('e.emitted_at', 22, 23, cardinality(c.raw_neg_from)) || raw_where);
  END IF;
  -- levels 5min .. w4: parameters $24 + 4 * (i - 1): from, to, taken out from, to
  FOR i IN 1..5 LOOP
    IF n[2 * i - 1] > 0 THEN
      parts := parts || ('SELECT r.bucket AS t, r.value AS v, r.stats AS stats FROM @extschema@.' || tables[i]
                         || ' r WHERE r.dim = ' || dim || ' AND '
                         || @extschema@._ranges_sql('r.bucket', 20 + 4 * i, 21 + 4 * i, n[2 * i - 1]) || rw);
    END IF;
    IF n[2 * i] > 0 THEN
      parts := parts || ('SELECT r.bucket AS t, r.value AS v, @extschema@.event_stats_negate(r.stats) AS stats FROM @extschema@.'
                         || tables[i] || ' r WHERE r.dim = ' || dim || ' AND '
                         || @extschema@._ranges_sql('r.bucket', 22 + 4 * i, 23 + 4 * i, n[2 * i]) || rw);
    END IF;
  END LOOP;
  IF cardinality(parts) = 0 THEN
    RETURN 'SELECT NULL::timestamptz AS t, NULL::text AS v, NULL::double precision[] AS stats WHERE false';
  END IF;
  RETURN pg_catalog.array_to_string(parts, ' UNION ALL ');
END $$;

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
  rp @extschema@._cover;
  saved text[];
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
      rp := @extschema@._plan_cover(pf, pt, 'w4', dim = 0, dim, projects);
      q := 'SELECT @extschema@.stats_metric(@extschema@.event_stats_merge(x.stats), $14, $15, $16) FROM ('
           || @extschema@._stats_rows(s, f, projects, dim, NULL, false, rp) || ') x';
    ELSE
      q := 'SELECT ' || @extschema@._value_expr(s, uv, '$1', '$2') || ' FROM @extschema@.events e WHERE '
           || @extschema@._rows_expr(s, uv, '$1', '$2') || w;
    END IF;
  END IF;
  IF rp.raw_from IS NOT NULL THEN
    saved := @extschema@._rollup_settings();
  END IF;
  EXECUTE q INTO result
    USING pf, pt, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
          f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
          s.sm_metric, s.sm_aggregation, s.view_duration, NULL::text, NULL::text, NULL::double precision,
          rp.raw_from, rp.raw_to, rp.raw_neg_from, rp.raw_neg_to, rp.fine_from, rp.fine_to, rp.fine_neg_from, rp.fine_neg_to,
          rp.hour_from, rp.hour_to, rp.hour_neg_from, rp.hour_neg_to, rp.day_from, rp.day_to, rp.day_neg_from, rp.day_neg_to,
          rp.week_from, rp.week_to, rp.week_neg_from, rp.week_neg_to, rp.w4_from, rp.w4_to, rp.w4_neg_from, rp.w4_neg_to;
  IF saved IS NOT NULL THEN
    PERFORM @extschema@._rollup_settings(saved);
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
  rp @extschema@._cover;
  saved text[];
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
    rp := @extschema@._plan_cover(pf, pt, 'w4', false, dim, projects);
    q := 'SELECT coalesce(x.v, ''unknown'') AS dimension_value,'
         ' @extschema@.stats_metric(@extschema@.event_stats_merge(x.stats), $14, $15, $16) AS metric_value FROM ('
         || @extschema@._stats_rows(s, f, projects, dim, dimx, false, rp) || ') x GROUP BY 1 HAVING '
         || @extschema@._rollup_types(s, '(@extschema@.event_stats_merge(x.stats))');
  ELSE
    q := 'SELECT coalesce(' || dimx || ', ''unknown'') AS dimension_value, '
         || @extschema@._value_expr(s, uv, '$1', '$2') || ' AS metric_value FROM @extschema@.events e WHERE '
         || @extschema@._rows_expr(s, uv, '$1', '$2') || w || ' GROUP BY 1';
  END IF;
  IF rp.raw_from IS NOT NULL THEN
    saved := @extschema@._rollup_settings();
  END IF;
  RETURN QUERY EXECUTE 'SELECT dimension_value, metric_value FROM (' || q || ') r ORDER BY ' || ord
    USING pf, pt, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
          f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
          s.sm_metric, s.sm_aggregation, s.view_duration, NULL::text, NULL::text, NULL::double precision,
          rp.raw_from, rp.raw_to, rp.raw_neg_from, rp.raw_neg_to, rp.fine_from, rp.fine_to, rp.fine_neg_from, rp.fine_neg_to,
          rp.hour_from, rp.hour_to, rp.hour_neg_from, rp.hour_neg_to, rp.day_from, rp.day_to, rp.day_neg_from, rp.day_neg_to,
          rp.week_from, rp.week_to, rp.week_neg_from, rp.week_neg_to, rp.w4_from, rp.w4_to, rp.w4_neg_from, rp.w4_neg_to;
  IF saved IS NOT NULL THEN
    PERFORM @extschema@._rollup_settings(saved);
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
  rp @extschema@._cover;
  saved text[];
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
    IF dim IS NOT NULL AND bucket <> 'minute' AND tz = 'UTC' THEN
      -- UTC hours, days, weeks (from Monday) and months (from a day)
      tier := CASE bucket WHEN 'hour' THEN 'hour' WHEN 'week' THEN 'week' ELSE 'day' END;
    ELSIF dim IS NOT NULL AND bucket <> 'minute' THEN
      SELECT CASE WHEN NOT bool_and(pg_catalog.date_bin('1 hour', b.t, '2000-01-01 00:00+00') = b.t) THEN NULL
                  WHEN bucket = 'hour' OR NOT bool_and(pg_catalog.date_bin('1 day', b.t, '2000-01-01 00:00+00') = b.t) THEN 'hour'
                  WHEN bool_and(pg_catalog.date_bin('7 days', b.t, '2000-01-03 00:00+00') = b.t) THEN 'week'
                  ELSE 'day' END INTO tier
        FROM @extschema@.time_buckets(bucket, p.from_out, p.to_out, tz) x,
             LATERAL (VALUES (x.bucket_start), (x.bucket_end)) b(t);
    END IF;
    IF tier IS NOT NULL THEN
      rp := @extschema@._plan_cover(p.from_out, p.to_out, tier, dim = 0, dim, projects);
      q := 'SELECT b.bucket_start, coalesce(v.metric_value, $19) AS metric_value'
           ' FROM @extschema@.time_buckets($17, $1, $2, $18) b LEFT JOIN ('
           'SELECT @extschema@.time_bucket($17, x.t, $18) AS bucket_start,'
           ' @extschema@.stats_metric(@extschema@.event_stats_merge(x.stats), $14, $15, $16) AS metric_value FROM ('
           || @extschema@._stats_rows(s, f, projects, dim, NULL, true, rp) || ') x GROUP BY 1 HAVING '
           || @extschema@._rollup_types(s, '(@extschema@.event_stats_merge(x.stats))')
           || ') v USING (bucket_start)';
    ELSE
    q := 'SELECT b.bucket_start, coalesce(v.metric_value, $19) AS metric_value'
         ' FROM @extschema@.time_buckets($17, $1, $2, $18) b LEFT JOIN ('
         'SELECT @extschema@.time_bucket($17, e.emitted_at, $18) AS bucket_start, '
         || @extschema@._value_expr(s, uv, '$1', '$2') || ' AS metric_value FROM @extschema@.events e WHERE '
         || @extschema@._rows_expr(s, uv, '$1', '$2') || w || ' GROUP BY 1) v USING (bucket_start)';
    END IF;
  END IF;
  IF rp.raw_from IS NOT NULL THEN
    saved := @extschema@._rollup_settings();
  END IF;
  RETURN QUERY EXECUTE 'SELECT bucket_start, metric_value FROM (' || q || ') r ORDER BY ' || ord
    USING p.from_out, p.to_out, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
          f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
          s.sm_metric, s.sm_aggregation, s.view_duration, bucket, tz, s.empty_value,
          rp.raw_from, rp.raw_to, rp.raw_neg_from, rp.raw_neg_to, rp.fine_from, rp.fine_to, rp.fine_neg_from, rp.fine_neg_to,
          rp.hour_from, rp.hour_to, rp.hour_neg_from, rp.hour_neg_to, rp.day_from, rp.day_to, rp.day_neg_from, rp.day_neg_to,
          rp.week_from, rp.week_to, rp.week_neg_from, rp.week_neg_to, rp.w4_from, rp.w4_to, rp.w4_neg_from, rp.w4_neg_to;
  IF saved IS NOT NULL THEN
    PERFORM @extschema@._rollup_settings(saved);
  END IF;
END $$;

-- the plan of 0.3 and its query text
DROP FUNCTION @extschema@._stats_rows(@extschema@._metric_spec, @extschema@._filter_set, text[], smallint, text, boolean,
                                      @extschema@._rollup_plan);
DROP FUNCTION @extschema@._rollup_plan(timestamptz, timestamptz, text, boolean);
DROP TYPE @extschema@._rollup_plan;
