-- analytics 0.4 -> 0.5: kept plans of the rollup queries; the refreshed
-- events of one project bounded to 5 minutes

\echo Use "ALTER EXTENSION analytics UPDATE TO '0.5'" to load this file. \quit

-- @@ kept plans @@
-- runs q with the parameters $1.. (given one by one) as a statement kept per
-- query text, and returns its rows: with generic, through one plan made once
-- (one project: a few rows per piece, planning cost more than running); else
-- planned for each run's parameters (all projects: thousands of rows, where a
-- plan for the actual ranges pays off). The planner settings are those
-- of a query over rollup pieces: no parallel workers (for thousands of rows
-- at most they would only add their start-up and the exchange of partial
-- states), and index scans, because each piece is a
-- small part of its table (one dimension, a few buckets), read through the
-- index even when the table is small enough for a plan that reads all of it.
-- It runs the text as the caller, who could run the same text directly.
CREATE FUNCTION @extschema@._kept_query(q text, generic boolean, VARIADIC args "any")
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'analytics_kept_query'
LANGUAGE C STABLE
SET max_parallel_workers_per_gather = 0 SET enable_seqscan = off;
COMMENT ON FUNCTION @extschema@._kept_query(text, boolean, "any") IS
    'runs the query text with the given parameters as a statement kept per text; generic: one plan made once (src/keptquery.c)';

-- the settings are now those of _kept_query
DROP FUNCTION @extschema@._rollup_settings(text[]);

-- the cover of [pf, pt) for the rollups as they are now: the pending hours
-- of every block that may be read, and where refreshed rows exist: for one
-- project, to the 5 minutes (its rollup_5min rows: one per 5 minutes with
-- events); else to the hour
CREATE OR REPLACE FUNCTION @extschema@._plan_cover(pf timestamptz, pt timestamptz, max_level text, fine boolean, dim smallint,
                                                   projects text[])
RETURNS @extschema@._cover
LANGUAGE plpgsql STABLE AS $$
DECLARE
  lo timestamptz;
  hi timestamptz;
BEGIN
  IF cardinality(projects) = 1 THEN
    SELECT min(r.bucket), max(r.bucket) + interval '5 minutes' INTO lo, hi FROM @extschema@.rollup_5min r
     WHERE r.project_id = projects[1] AND r.dim = 0;
  ELSE
    SELECT min(r.bucket), max(r.bucket) + interval '1 hour' INTO lo, hi FROM @extschema@.rollup_hour r WHERE r.dim = 0;
  END IF;
  RETURN @extschema@._rollup_cover(pf, pt, max_level, fine, dim,
                                   @extschema@._pending_hours(pf - interval '28 days', pt + interval '28 days'),
                                   lo, hi);
END $$;

-- the condition on the ranges of a level of the cover, in C (it was an SQL
-- function run up to twelve times per question)
CREATE OR REPLACE FUNCTION @extschema@._ranges_sql(col text, lo_param integer, hi_param integer, n integer)
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_ranges_sql'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- the minutes of raw events a cover reads: a question about one project
-- reads the rows of its pieces through one kept plan when they are few
-- minutes (the ends of a period); with more (a pending hour, an hour's end
-- without 5-minute rows) the plan made for the run's values is faster: the
-- generic plan evaluates the parameters' array elements for each raw row
CREATE FUNCTION @extschema@._cover_raw_minutes(c @extschema@._cover)
RETURNS double precision
AS 'MODULE_PATHNAME', 'analytics_cover_raw_minutes'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- @@ counts merged as one number @@
-- a count metric (plays, starts, ends, impressions, views of a duration) is
-- one element of the statistics, and so is the condition on its groups
-- (that element > 0): the rows of a count give that element only, and the
-- query sums it, instead of merging and finishing arrays of 17 numbers (plays
-- by media over all projects, ~18,000 rows into ~10,000 groups: about half
-- the time). Counts are integers below 2^53: the sums are exact in any order.
-- NULL: the metric needs the merged statistics.
CREATE FUNCTION @extschema@._count_element(s @extschema@._metric_spec)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN s.kind = 'stats' AND s.sm_aggregation IS NULL THEN
  CASE s.sm_metric
    WHEN 'impression' THEN 1
    WHEN 'play' THEN 2
    WHEN 'start' THEN 3
    WHEN 'end' THEN 4
    WHEN 'view' THEN CASE s.threshold WHEN 3 THEN 11 WHEN 5 THEN 12 WHEN 10 THEN 13 ELSE 14 END
  END
END
$$;

-- the metric of the rows x(t, v, stats) of _stats_rows, and the condition
-- on a group of them (the groups with events the metric counts)
CREATE FUNCTION @extschema@._merged_metric(s @extschema@._metric_spec)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN @extschema@._count_element(s) IS NULL
            THEN '@extschema@.stats_metric(@extschema@.event_stats_merge(x.stats), $14, $15, $16)'
            ELSE 'coalesce(sum(x.stats), 0)' END
$$;
CREATE FUNCTION @extschema@._merged_having(s @extschema@._metric_spec)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN @extschema@._count_element(s) IS NULL
            THEN @extschema@._rollup_types(s, '(@extschema@.event_stats_merge(x.stats))')
            ELSE 'sum(x.stats) > 0' END
$$;

-- the rows (t, v, stats) of a stats metric, as in 0.4; for a count metric,
-- stats is its element of the statistics (negated in the ranges taken out)
-- the statistics expression stats negated: every element, or the one count
CREATE FUNCTION @extschema@._negated(stats text, k integer)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN k IS NULL THEN '@extschema@.event_stats_negate(' || stats || ')' ELSE '-' || stats END
$$;

CREATE OR REPLACE FUNCTION @extschema@._stats_rows(s @extschema@._metric_spec, f @extschema@._filter_set, projects text[],
                                        dim smallint, raw_dim text, by_bucket boolean, c @extschema@._cover)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  k constant integer := @extschema@._count_element(s);
  rw text := @extschema@._rollup_where(f, projects, dim) || ' AND ' || @extschema@._rollup_types(s);
  raw_select text := 'SELECT ' || CASE WHEN by_bucket THEN '@extschema@.time_bucket($17, e.emitted_at, $18)' ELSE 'NULL::timestamptz' END
                     || ' AS t, ' || coalesce(raw_dim, 'NULL::text') || ' AS v, ';
  raw_stats constant text := CASE WHEN k IS NULL THEN '@extschema@.event_stats(e.event_type, e.value)'
                                  ELSE '(@extschema@.event_stats(e.event_type, e.value))[' || k || ']' END;
  row_stats constant text := CASE WHEN k IS NULL THEN 'r.stats' ELSE 'r.stats[' || k || ']' END;
  raw_where text := ' AND ' || s.types || @extschema@._where(f, projects) || ' GROUP BY 1, 2';
  tables constant text[] := ARRAY['rollup_5min', 'rollup_hour', 'rollup_day', 'rollup_week', 'rollup_w4'];
  n integer[] := ARRAY[cardinality(c.fine_from), cardinality(c.fine_neg_from), cardinality(c.hour_from), cardinality(c.hour_neg_from),
                       cardinality(c.day_from), cardinality(c.day_neg_from), cardinality(c.week_from), cardinality(c.week_neg_from),
                       cardinality(c.w4_from), cardinality(c.w4_neg_from)];
  parts text[] := '{}';
  i integer;
BEGIN
  IF cardinality(c.raw_from) > 0 THEN
    parts := parts || (raw_select || raw_stats || ' AS stats FROM @extschema@.events e WHERE '
                       || @extschema@._ranges_sql('e.emitted_at', 20, 21, cardinality(c.raw_from)) || raw_where);
  END IF;
  IF cardinality(c.raw_neg_from) > 0 THEN
    parts := parts || (raw_select || @extschema@._negated(raw_stats, k) || ' AS stats FROM @extschema@.events e WHERE '
                       || @extschema@._ranges_sql('e.emitted_at', 22, 23, cardinality(c.raw_neg_from)) || raw_where);
  END IF;
  -- levels 5min .. w4: parameters $24 + 4 * (i - 1): from, to, taken out from, to
  FOR i IN 1..5 LOOP
    IF n[2 * i - 1] > 0 THEN
      parts := parts || ('SELECT r.bucket AS t, r.value AS v, ' || row_stats || ' AS stats FROM @extschema@.' || tables[i]
                         || ' r WHERE r.dim = ' || dim || ' AND '
                         || @extschema@._ranges_sql('r.bucket', 20 + 4 * i, 21 + 4 * i, n[2 * i - 1]) || rw);
    END IF;
    IF n[2 * i] > 0 THEN
      parts := parts || ('SELECT r.bucket AS t, r.value AS v, ' || @extschema@._negated(row_stats, k) || ' AS stats FROM @extschema@.'
                         || tables[i] || ' r WHERE r.dim = ' || dim || ' AND '
                         || @extschema@._ranges_sql('r.bucket', 22 + 4 * i, 23 + 4 * i, n[2 * i]) || rw);
    END IF;
  END LOOP;
  IF cardinality(parts) = 0 THEN
    RETURN 'SELECT NULL::timestamptz AS t, NULL::text AS v, NULL::double precision' || CASE WHEN k IS NULL THEN '[]' ELSE '' END
           || ' AS stats WHERE false';
  END IF;
  RETURN pg_catalog.array_to_string(parts, ' UNION ALL ');
END $$;

-- @@ the API: the rollup query through _kept_query @@
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
      q := 'SELECT ' || @extschema@._merged_metric(s) || ' FROM ('
           || @extschema@._stats_rows(s, f, projects, dim, NULL, false, rp) || ') x';
    ELSE
      q := 'SELECT ' || @extschema@._value_expr(s, uv, '$1', '$2') || ' FROM @extschema@.events e WHERE '
           || @extschema@._rows_expr(s, uv, '$1', '$2') || w;
    END IF;
  END IF;
  IF rp.raw_from IS NOT NULL THEN
    -- the rollup query: a kept plan per query text
    SELECT x.v INTO result
      FROM @extschema@._kept_query(q, projects IS NOT NULL AND @extschema@._cover_raw_minutes(rp) <= 10, pf, pt, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
             f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
             s.sm_metric, s.sm_aggregation, s.view_duration, NULL::text, NULL::text, NULL::double precision,
             rp.raw_from, rp.raw_to, rp.raw_neg_from, rp.raw_neg_to, rp.fine_from, rp.fine_to, rp.fine_neg_from, rp.fine_neg_to,
             rp.hour_from, rp.hour_to, rp.hour_neg_from, rp.hour_neg_to, rp.day_from, rp.day_to, rp.day_neg_from, rp.day_neg_to,
             rp.week_from, rp.week_to, rp.week_neg_from, rp.week_neg_to, rp.w4_from, rp.w4_to, rp.w4_neg_from, rp.w4_neg_to)
           x(v double precision);
  ELSE
    EXECUTE q INTO result
      USING pf, pt, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
            f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
            s.sm_metric, s.sm_aggregation, s.view_duration, NULL::text, NULL::text, NULL::double precision;
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
         ' ' || @extschema@._merged_metric(s) || ' AS metric_value FROM ('
         || @extschema@._stats_rows(s, f, projects, dim, dimx, false, rp) || ') x GROUP BY 1 HAVING '
         || @extschema@._merged_having(s);
  ELSE
    q := 'SELECT coalesce(' || dimx || ', ''unknown'') AS dimension_value, '
         || @extschema@._value_expr(s, uv, '$1', '$2') || ' AS metric_value FROM @extschema@.events e WHERE '
         || @extschema@._rows_expr(s, uv, '$1', '$2') || w || ' GROUP BY 1';
  END IF;
  IF rp.raw_from IS NOT NULL THEN
    -- the rollup query: a kept plan per query text
    RETURN QUERY SELECT x.dimension_value, x.metric_value
      FROM @extschema@._kept_query('SELECT dimension_value, metric_value FROM (' || q || ') r ORDER BY ' || ord, projects IS NOT NULL AND @extschema@._cover_raw_minutes(rp) <= 10,
             pf, pt, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
             f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
             s.sm_metric, s.sm_aggregation, s.view_duration, NULL::text, NULL::text, NULL::double precision,
             rp.raw_from, rp.raw_to, rp.raw_neg_from, rp.raw_neg_to, rp.fine_from, rp.fine_to, rp.fine_neg_from, rp.fine_neg_to,
             rp.hour_from, rp.hour_to, rp.hour_neg_from, rp.hour_neg_to, rp.day_from, rp.day_to, rp.day_neg_from, rp.day_neg_to,
             rp.week_from, rp.week_to, rp.week_neg_from, rp.week_neg_to, rp.w4_from, rp.w4_to, rp.w4_neg_from, rp.w4_neg_to)
           x(dimension_value text, metric_value double precision);
  ELSE
    RETURN QUERY EXECUTE 'SELECT dimension_value, metric_value FROM (' || q || ') r ORDER BY ' || ord
      USING pf, pt, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
            f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
            s.sm_metric, s.sm_aggregation, s.view_duration, NULL::text, NULL::text, NULL::double precision;
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
           ' ' || @extschema@._merged_metric(s) || ' AS metric_value FROM ('
           || @extschema@._stats_rows(s, f, projects, dim, NULL, true, rp) || ') x GROUP BY 1 HAVING '
           || @extschema@._merged_having(s)
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
    -- the rollup query: a kept plan per query text
    RETURN QUERY SELECT x.bucket_start, x.metric_value
      FROM @extschema@._kept_query('SELECT bucket_start, metric_value FROM (' || q || ') r ORDER BY ' || ord, projects IS NOT NULL AND @extschema@._cover_raw_minutes(rp) <= 10,
             p.from_out, p.to_out, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
             f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
             s.sm_metric, s.sm_aggregation, s.view_duration, bucket, tz, s.empty_value,
             rp.raw_from, rp.raw_to, rp.raw_neg_from, rp.raw_neg_to, rp.fine_from, rp.fine_to, rp.fine_neg_from, rp.fine_neg_to,
             rp.hour_from, rp.hour_to, rp.hour_neg_from, rp.hour_neg_to, rp.day_from, rp.day_to, rp.day_neg_from, rp.day_neg_to,
             rp.week_from, rp.week_to, rp.week_neg_from, rp.week_neg_to, rp.w4_from, rp.w4_to, rp.w4_neg_from, rp.w4_neg_to)
           x(bucket_start timestamptz, metric_value double precision);
  ELSE
    RETURN QUERY EXECUTE 'SELECT bucket_start, metric_value FROM (' || q || ') r ORDER BY ' || ord
      USING p.from_out, p.to_out, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
            f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
            s.sm_metric, s.sm_aggregation, s.view_duration, bucket, tz, s.empty_value;
  END IF;
END $$;
