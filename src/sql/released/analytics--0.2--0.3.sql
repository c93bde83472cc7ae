-- analytics 0.2 -> 0.3: faster answers from the rollups

-- @@ ccv of one media @@
-- is this media id a live stream in every refreshed hour? one index lookup
CREATE INDEX rollup_week_value_idx ON @extschema@.rollup_week (project_id, dim, value);

CREATE OR REPLACE FUNCTION @extschema@._ccv_from_rollups(project text, media text, unique_viewers boolean,
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
  -- video, or is not rolled up yet, reads raw events); every refreshed hour
  -- is in a week row, so the week rows answer that with an index lookup
  IF media IS NOT NULL AND ms < me AND NOT coalesce((
       SELECT bool_and(r.media_type = 'live-stream') FROM @extschema@.rollup_week r
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

-- @@ the ends of a period @@
-- A partial hour at an end of the period that is more than half inside it is
-- read as its hour rows minus the raw events of the rest of the hour
-- (event_stats_negate): at most 30 minutes of raw events per end instead of
-- up to an hour. Every statistic is a count or a sum, so the difference is
-- the same (counts exactly; sums up to rounding, as any other order of
-- addition).
CREATE FUNCTION @extschema@.event_stats_negate(stats double precision[])
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'analytics_event_stats_negate'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.event_stats_negate(double precision[]) IS
    'an event statistics array with every element negated (merged, it takes those events out again)';

-- the condition of _rollup_types on any statistics expression: on the rows
-- ("r.stats") and, after the subtraction, on a group's merged statistics
CREATE FUNCTION @extschema@._rollup_types(s @extschema@._metric_spec, stats text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE s.sm_metric
  WHEN 'play' THEN stats || '[2] > 0'
  WHEN 'play-rate' THEN format('(%1$s[1] > 0 OR %1$s[2] > 0)', stats)
  WHEN 'start' THEN stats || '[3] > 0'
  WHEN 'end' THEN stats || '[4] > 0'
  WHEN 'impression' THEN stats || '[1] > 0'
  WHEN 'impression-time' THEN stats || '[1] > 0'
  WHEN 'watch-time' THEN CASE WHEN s.sm_aggregation = 'average' THEN format('(%1$s[8] > 0 OR %1$s[2] > 0)', stats)
                              ELSE stats || '[8] > 0' END
  WHEN 'view' THEN format('%s[%s] > 0', stats, CASE s.threshold WHEN 3 THEN 11 WHEN 5 THEN 12 WHEN 10 THEN 13 ELSE 14 END)
END
$$;
CREATE OR REPLACE FUNCTION @extschema@._rollup_types(s @extschema@._metric_spec)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT @extschema@._rollup_types(s, 'r.stats')
$$;

ALTER TYPE @extschema@._rollup_plan
    ADD ATTRIBUTE neg_from timestamptz[],   -- raw events in [neg_from[i], neg_to[i]) taken out again
    ADD ATTRIBUTE neg_to   timestamptz[];

CREATE OR REPLACE FUNCTION @extschema@._rollup_plan(pf timestamptz, pt timestamptz, tier text, fine boolean DEFAULT false)
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
  -- a partial hour at an end that is more than half inside the period: its
  -- hour rows minus the raw events of the rest of the hour (fewer raw rows)
  p.neg_from := '{}'; p.neg_to := '{}';
  IF NOT fine AND pf < hs AND hs - pf > interval '30 minutes' AND NOT (hs - interval '1 hour' = ANY (p.pending)) THEN
    hs := hs - interval '1 hour';
    p.neg_from := p.neg_from || hs; p.neg_to := p.neg_to || pf;
  END IF;
  IF NOT fine AND he < pt AND pt - he > interval '30 minutes' AND NOT (he = ANY (p.pending)) THEN
    p.neg_from := p.neg_from || pt; p.neg_to := p.neg_to || (he + interval '1 hour');
    he := he + interval '1 hour';
  END IF;
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

CREATE OR REPLACE FUNCTION @extschema@._stats_rows(s @extschema@._metric_spec, f @extschema@._filter_set, projects text[],
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
  IF cardinality(p.neg_from) > 0 THEN
    q := q || ' UNION ALL SELECT ' || CASE WHEN by_bucket THEN '@extschema@.time_bucket($17, e.emitted_at, $18)' ELSE 'NULL::timestamptz' END
         || ', ' || coalesce(raw_dim, 'NULL::text') || ', @extschema@.event_stats_negate(@extschema@.event_stats(e.event_type, e.value))'
         || ' FROM @extschema@.events e WHERE ' || @extschema@._ranges_sql('e.emitted_at', 33, 34, cardinality(p.neg_from))
         || ' AND ' || s.types || @extschema@._where(f, projects) || ' GROUP BY 1, 2';
  END IF;
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
  -- rollup rows are few: a parallel plan would only add its start-up and
  -- the exchange of partial states
  IF rp.raw_from IS NOT NULL THEN
    saved := current_setting('max_parallel_workers_per_gather');
    PERFORM set_config('max_parallel_workers_per_gather', '0', true);
  END IF;
  EXECUTE q INTO result
    USING pf, pt, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
          f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
          s.sm_metric, s.sm_aggregation, s.view_duration, NULL::text, NULL::text, NULL::double precision,
          rp.raw_from, rp.raw_to, rp.hour_from, rp.hour_to, rp.day_from, rp.day_to, rp.pending, rp.pending_days,
          rp.week_from, rp.week_to, rp.pending_weeks, rp.fine_from, rp.fine_to, rp.neg_from, rp.neg_to;
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
         || @extschema@._stats_rows(s, f, projects, dim, dimx, false, rp) || ') x GROUP BY 1 HAVING '
         || @extschema@._rollup_types(s, '(@extschema@.event_stats_merge(x.stats))');
  ELSE
    q := 'SELECT coalesce(' || dimx || ', ''unknown'') AS dimension_value, '
         || @extschema@._value_expr(s, uv, '$1', '$2') || ' AS metric_value FROM @extschema@.events e WHERE '
         || @extschema@._rows_expr(s, uv, '$1', '$2') || w || ' GROUP BY 1';
  END IF;
  -- rollup rows are few: a parallel plan would only add its start-up and
  -- the exchange of partial states
  IF rp.raw_from IS NOT NULL THEN
    saved := current_setting('max_parallel_workers_per_gather');
    PERFORM set_config('max_parallel_workers_per_gather', '0', true);
  END IF;
  RETURN QUERY EXECUTE 'SELECT dimension_value, metric_value FROM (' || q || ') r ORDER BY ' || ord
    USING pf, pt, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
          f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
          s.sm_metric, s.sm_aggregation, s.view_duration, NULL::text, NULL::text, NULL::double precision,
          rp.raw_from, rp.raw_to, rp.hour_from, rp.hour_to, rp.day_from, rp.day_to, rp.pending, rp.pending_days,
          rp.week_from, rp.week_to, rp.pending_weeks, rp.fine_from, rp.fine_to, rp.neg_from, rp.neg_to;
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
  -- rollup rows are few: a parallel plan would only add its start-up and
  -- the exchange of partial states
  IF rp.raw_from IS NOT NULL THEN
    saved := current_setting('max_parallel_workers_per_gather');
    PERFORM set_config('max_parallel_workers_per_gather', '0', true);
  END IF;
  RETURN QUERY EXECUTE 'SELECT bucket_start, metric_value FROM (' || q || ') r ORDER BY ' || ord
    USING p.from_out, p.to_out, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
          f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
          s.sm_metric, s.sm_aggregation, s.view_duration, bucket, tz, s.empty_value,
          rp.raw_from, rp.raw_to, rp.hour_from, rp.hour_to, rp.day_from, rp.day_to, rp.pending, rp.pending_days,
          rp.week_from, rp.week_to, rp.pending_weeks, rp.fine_from, rp.fine_to, rp.neg_from, rp.neg_to;
  IF saved IS NOT NULL THEN
    PERFORM set_config('max_parallel_workers_per_gather', saved, true);
  END IF;
END $$;
