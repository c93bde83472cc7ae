-- analytics 0.5 -> 0.6: hardening against hostile tenants, anonymous players
-- and routine operations (see the README: Tenancy, Ingesting, Retention and
-- maintenance, Operations).

\echo Use "ALTER EXTENSION analytics UPDATE TO '0.6'" to load this file. \quit

-- Each section below belongs to one concern; keep additions inside it.

-- @@ tenancy: every partition secured, policies the planner can index @@



-- @@ maintenance: the accepted range of emitted_at, fault isolation, short drops @@



-- @@ ingest: events_import, bounded pings, tolerant headers @@



-- @@ concurrent viewers in one sweep; a bound on one call's work @@

-- A watch event is the interval [emitted_at - value s, emitted_at) of its
-- session (of its viewer with unique viewers). analytics._ccv_series(started,
-- ended, watcher, bounds) gives {peak, average} of every cell
-- [bounds[i], bounds[i+1]) from one sort and one sweep (src/ccv.c): a
-- timeseries costs events * log(events) + buckets, not events * buckets.
CREATE FUNCTION @extschema@._ccv_series_transfn(internal, timestamptz, timestamptz, uuid, timestamptz[])
RETURNS internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'analytics_ccv_series_transfn_uuid';
COMMENT ON FUNCTION @extschema@._ccv_series_transfn(internal, timestamptz, timestamptz, uuid, timestamptz[]) IS
    'transition function of analytics._ccv_series (uuid watchers)';
CREATE FUNCTION @extschema@._ccv_series_transfn(internal, timestamptz, timestamptz, bigint, timestamptz[])
RETURNS internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'analytics_ccv_series_transfn_bigint';
COMMENT ON FUNCTION @extschema@._ccv_series_transfn(internal, timestamptz, timestamptz, bigint, timestamptz[]) IS
    'transition function of analytics._ccv_series (bigint watchers)';
CREATE FUNCTION @extschema@._ccv_series_final(internal)
RETURNS double precision[] LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'analytics_ccv_series_final';
COMMENT ON FUNCTION @extschema@._ccv_series_final(internal) IS
    'final function of analytics._ccv_series: {peak, average} of each cell';
CREATE AGGREGATE @extschema@._ccv_series(started_at timestamptz, ended_at timestamptz, watcher uuid, bounds timestamptz[]) (
    SFUNC = @extschema@._ccv_series_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@._ccv_series_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@._ccv_series(timestamptz, timestamptz, uuid, timestamptz[]) IS
    'concurrent viewers of each cell [bounds[i], bounds[i+1]): {peak_1, average_1, peak_2, ...} in one sweep';
CREATE AGGREGATE @extschema@._ccv_series(started_at timestamptz, ended_at timestamptz, watcher bigint, bounds timestamptz[]) (
    SFUNC = @extschema@._ccv_series_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@._ccv_series_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@._ccv_series(timestamptz, timestamptz, bigint, timestamptz[]) IS
    'concurrent viewers of each cell [bounds[i], bounds[i+1]): {peak_1, average_1, peak_2, ...} in one sweep';

-- the ccv_series call over the rows "e" (the intervals of _value_expr)
CREATE FUNCTION @extschema@._ccv_series_expr(unique_viewers boolean, bounds text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT format('@extschema@._ccv_series(%s, e.emitted_at, %s, %s)',
              CASE WHEN unique_viewers
                   THEN 'CASE WHEN e.viewer_id IS NULL THEN e.emitted_at ELSE e.emitted_at - e.value * interval ''1 second'' END'
                   ELSE 'e.emitted_at - e.value * interval ''1 second''' END,
              CASE WHEN unique_viewers THEN 'e.viewer_id' ELSE 'e.session_id' END, bounds)
$$;

-- The bound on one call's work: analytics.max_call_time (README, Settings).
CREATE FUNCTION @extschema@._call_begin()
RETURNS boolean LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'analytics_call_begin';
COMMENT ON FUNCTION @extschema@._call_begin() IS
    'arms the analytics.max_call_time timer of a query function call (true: this call armed it)';
CREATE FUNCTION @extschema@._call_end(owner boolean, fname text)
RETURNS void LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'analytics_call_end';
COMMENT ON FUNCTION @extschema@._call_end(boolean, text) IS
    'disarms the analytics.max_call_time timer armed by _call_begin';
CREATE FUNCTION @extschema@._call_timed_out(fname text)
RETURNS void LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'analytics_call_timed_out';
COMMENT ON FUNCTION @extschema@._call_timed_out(text) IS
    'raises SQLSTATE 53400 when a caught query_canceled came from the analytics.max_call_time timer';

-- problem bodies: 503 when a call was stopped by analytics.max_call_time
CREATE OR REPLACE FUNCTION @extschema@._problem(status integer, name text DEFAULT NULL, detail text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN status = 404 THEN
         jsonb_build_object('type', 'about:blank', 'title', 'Not Found', 'status', 404)
       WHEN status = 503 THEN
         jsonb_build_object('type', 'about:blank', 'title', 'Service Unavailable', 'status', 503,
                            'detail', coalesce(detail, 'The request took too long.'))
       ELSE
         jsonb_build_object('type', 'about:blank', 'title', 'Bad Request', 'status', status,
                            'detail', coalesce(detail, 'The request is invalid.'), 'name', coalesce(name, 'uri'))
       END
$$;

-- ccv series of one project (all media, or one live stream) from the
-- per-minute rows of rollup_ccv, as _ccv_from_rollups does for one period:
-- every whole minute of a refreshed hour comes from its row (peak: max,
-- watcher-seconds: sum), the rest (partial minutes at the ends, hours whose
-- watch events changed, a media id that is not a live stream) from raw
-- events with one _ccv_series sweep per raw piece, cut at the bucket bounds.
-- NULL when a bucket bound inside the period is not a whole UTC minute (an
-- old zone offset with seconds): the caller then sweeps raw events.
CREATE FUNCTION @extschema@._ccv_series_from_rollups(project text, media text, unique_viewers boolean,
                                                     pf timestamptz, pt timestamptz, bucket text, tz text)
RETURNS TABLE (bucket_start timestamptz, peak double precision, average double precision)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  o constant timestamptz := '2000-01-01 00:00+00';
  ms timestamptz := pg_catalog.date_bin('1 minute', pf, o);
  me timestamptz := pg_catalog.date_bin('1 minute', pt, o);
  bs timestamptz[];               -- bucket starts, and the bounds of the buckets clipped to the period
  bf timestamptz[];
  bt timestamptz[];
  pend timestamptz[];
  stale timestamptz[];
  lo timestamptz[] := '{}';
  hi timestamptz[] := '{}';
  cb timestamptz[] := '{}';       -- raw contributions: bucket start, peak, watcher-seconds
  cp double precision[] := '{}';
  cs double precision[] := '{}';
  rb timestamptz[];               -- rollup rows per bucket: bucket start, peak, watcher-seconds
  rp double precision[];
  rs double precision[];
  bounds timestamptz[];
  look interval;
  r double precision[];
  i integer;
  q constant text := 'SELECT @extschema@._ccv_series(' ||
    CASE WHEN unique_viewers THEN 'CASE WHEN e.viewer_id IS NULL THEN e.emitted_at ELSE e.emitted_at - e.value * interval ''1 second'' END'
         ELSE 'e.emitted_at - e.value * interval ''1 second''' END ||
    ', e.emitted_at, ' || CASE WHEN unique_viewers THEN 'e.viewer_id' ELSE 'e.session_id' END || ', $6)'
    ' FROM @extschema@.events e WHERE e.event_type = ''watch'' AND e.value > 0 AND e.emitted_at > $1'
    ' AND e.emitted_at < $2 + $3 AND e.emitted_at - e.value * interval ''1 second'' < $2 AND e.project_id = $4' ||
    CASE WHEN media IS NOT NULL THEN ' AND e.media_id = $5' ELSE '' END;
BEGIN
  SELECT pg_catalog.array_agg(x.bucket_start ORDER BY x.bucket_start),
         pg_catalog.array_agg(greatest(x.bucket_start, pf) ORDER BY x.bucket_start),
         pg_catalog.array_agg(least(x.bucket_end, pt) ORDER BY x.bucket_start)
    INTO bs, bf, bt
    FROM @extschema@.time_buckets(bucket, pf, pt, tz) x;
  IF EXISTS (SELECT 1 FROM unnest(bf) b WHERE b > pf AND pg_catalog.date_bin('1 minute', b, o) <> b) THEN
    RETURN;
  END IF;
  IF ms < pf THEN ms := ms + interval '1 minute'; END IF;
  IF ms >= me THEN
    ms := pt; me := pt;             -- no whole minute: all raw
  END IF;
  pend := @extschema@._pending_hours(pg_catalog.date_bin('1 hour', pf, o), pt + interval '1 hour');
  stale := ARRAY(SELECT DISTINCT x FROM unnest(pend) h, LATERAL (VALUES (h), (h - interval '1 hour')) v(x));
  -- one media: only live streams have rows (see _ccv_from_rollups)
  IF media IS NOT NULL AND ms < me AND NOT coalesce((
       SELECT bool_and(w.media_type = 'live-stream') FROM @extschema@.rollup_week w
        WHERE w.project_id = project AND w.dim = 1 AND w.value = media), false) THEN
    ms := pt; me := pt;
  END IF;
  -- raw pieces
  IF pf < ms THEN lo := lo || pf; hi := hi || ms; END IF;
  IF me < pt THEN lo := lo || me; hi := hi || pt; END IF;
  SELECT lo || coalesce(pg_catalog.array_agg(greatest(h, ms)), '{}'), hi || coalesce(pg_catalog.array_agg(least(h + interval '1 hour', me)), '{}')
    INTO lo, hi FROM unnest(stale) h WHERE h + interval '1 hour' > ms AND h < me;
  SELECT * INTO lo, hi FROM @extschema@._merge_ranges(lo, hi);
  FOR i IN 1 .. coalesce(cardinality(lo), 0) LOOP
    IF EXISTS (SELECT 1 FROM unnest(pend) h WHERE h >= pg_catalog.date_bin('1 hour', lo[i], o) AND h <= hi[i] + interval '1 hour') THEN
      look := interval '1 hour';
    ELSE
      SELECT coalesce(max(w.max_value), 0) * interval '1 second' + interval '1 microsecond' INTO look
        FROM @extschema@.rollup_watch_max w
       WHERE w.project_id = project AND w.hour >= pg_catalog.date_bin('1 hour', lo[i], o) AND w.hour <= hi[i] + interval '1 hour';
    END IF;
    -- the piece cut at the bucket bounds inside it: each cell lies in one bucket
    bounds := lo[i] || ARRAY(SELECT b FROM unnest(bf) b WHERE b > lo[i] AND b < hi[i] ORDER BY b) || hi[i];
    EXECUTE q INTO r USING lo[i], hi[i], look, project, media, bounds;
    IF r IS NOT NULL THEN
      SELECT cb || pg_catalog.array_agg(@extschema@.time_bucket(bucket, bounds[c], tz) ORDER BY c),
             cp || pg_catalog.array_agg(r[2 * c - 1] ORDER BY c),
             cs || pg_catalog.array_agg(r[2 * c] * extract(epoch FROM bounds[c + 1] - bounds[c])::double precision ORDER BY c)
        INTO cb, cp, cs
        FROM generate_series(1, cardinality(bounds) - 1) c;
    END IF;
  END LOOP;
  -- whole minutes of refreshed hours, per bucket
  IF ms < me THEN
    SELECT pg_catalog.array_agg(x.b), pg_catalog.array_agg(x.pk), pg_catalog.array_agg(x.sc) INTO rb, rp, rs
      FROM (SELECT @extschema@.time_bucket(bucket, c.minute, tz) AS b,
                   max(CASE WHEN unique_viewers THEN c.peak_viewers ELSE c.peak_sessions END)::double precision AS pk,
                   sum(CASE WHEN unique_viewers THEN c.secs_viewers ELSE c.secs_sessions END) AS sc
              FROM @extschema@.rollup_ccv c
             WHERE c.project_id = project AND c.media_id IS NULL AND media IS NULL
               AND c.minute >= ms AND c.minute < me
               AND pg_catalog.date_bin('1 hour', c.minute, o) <> ALL (stale)
             GROUP BY 1
            UNION ALL
            SELECT @extschema@.time_bucket(bucket, c.minute, tz),
                   max(CASE WHEN unique_viewers THEN c.peak_viewers ELSE c.peak_sessions END)::double precision,
                   sum(CASE WHEN unique_viewers THEN c.secs_viewers ELSE c.secs_sessions END)
              FROM @extschema@.rollup_ccv c
             WHERE c.project_id = project AND c.media_id = media
               AND c.minute >= ms AND c.minute < me
               AND pg_catalog.date_bin('1 hour', c.minute, o) <> ALL (stale)
             GROUP BY 1) x;
  END IF;
  RETURN QUERY
  SELECT u.s, greatest(coalesce(ro.pk, 0), coalesce(ra.pk, 0)),
         (coalesce(ro.sc, 0) + coalesce(ra.sc, 0)) / extract(epoch FROM u.t - u.f)::double precision
    FROM unnest(bs, bf, bt) u(s, f, t)
    LEFT JOIN (SELECT x.b, max(x.p) AS pk, sum(x.s) AS sc FROM unnest(cb, cp, cs) x(b, p, s) GROUP BY x.b) ra ON ra.b = u.s
    LEFT JOIN unnest(rb, rp, rs) ro(b, pk, sc) ON ro.b = u.s;
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
  owner boolean;
BEGIN
  -- the bound on one call's work (analytics.max_call_time, src/callbound.c)
  BEGIN
    owner := @extschema@._call_begin();
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
        result := (@extschema@._ccv_from_rollups(projects[1], f.media_ids[1], uv, pf, pt))[CASE WHEN s.kind = 'ccv_peak' THEN 1 ELSE 2 END];
      PERFORM @extschema@._call_end(owner, 'analytics.metric()');
      RETURN result;
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
    PERFORM @extschema@._call_end(owner, 'analytics.metric()');
    RETURN result;
  EXCEPTION WHEN query_canceled THEN
    PERFORM @extschema@._call_timed_out('analytics.metric()');
    RAISE;
  END;
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
  owner boolean;
BEGIN
  -- the bound on one call's work (analytics.max_call_time, src/callbound.c)
  BEGIN
    owner := @extschema@._call_begin();
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
    PERFORM @extschema@._call_end(owner, 'analytics.breakdown()');
  EXCEPTION WHEN query_canceled THEN
    PERFORM @extschema@._call_timed_out('analytics.breakdown()');
    RAISE;
  END;
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
  owner boolean;
BEGIN
  -- the bound on one call's work (analytics.max_call_time, src/callbound.c)
  BEGIN
    owner := @extschema@._call_begin();
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

    IF s.kind LIKE 'ccv%' AND projects[1] IS NOT NULL
       AND coalesce(current_setting('analytics.use_rollups', true), 'on') = 'on'
       AND (f.media_ids IS NULL OR cardinality(f.media_ids) = 1)
       AND f.media_type IS NULL AND f.continents IS NULL AND f.countries IS NULL AND f.device_types IS NULL
       AND f.operating_systems IS NULL AND f.browsers IS NULL AND f.referrers IS NULL AND f.tag IS NULL
       AND NOT EXISTS (SELECT 1 FROM @extschema@.time_buckets(bucket, p.from_out, p.to_out, tz) x
                        WHERE x.bucket_start > p.from_out
                          AND pg_catalog.date_bin('1 minute', x.bucket_start, '2000-01-01 00:00+00') <> x.bucket_start) THEN
      -- one project, one media or all, buckets of whole minutes: the per-minute rows
      q := 'SELECT r.bucket_start, r.' || CASE WHEN s.kind = 'ccv_average' THEN 'average' ELSE 'peak' END || ' AS metric_value'
           ' FROM @extschema@._ccv_series_from_rollups($3[1], $4[1], ' || CASE WHEN uv THEN 'true' ELSE 'false' END
           || ', $1, $2, $17, $18) r';
    ELSIF s.kind LIKE 'ccv%' THEN
      -- one sort and one sweep of the watch intervals of the whole period,
      -- crossing the bucket bounds as it goes (_ccv_series, src/ccv.c): each
      -- bucket, clipped to the period, gets what ccv over it gives
      q := 'WITH b AS MATERIALIZED (SELECT x.bucket_start, greatest(x.bucket_start, $1) AS pfrom,'
           ' pg_catalog.row_number() OVER (ORDER BY x.bucket_start) AS n'
           ' FROM @extschema@.time_buckets($17, $1, $2, $18) x)'
           ' SELECT b.bucket_start, coalesce(r.v[b.n * 2 - ' || CASE WHEN s.kind = 'ccv_average' THEN '0' ELSE '1' END
           || '], 0) AS metric_value FROM b, (SELECT ' || @extschema@._ccv_series_expr(uv,
                '(SELECT pg_catalog.array_append(pg_catalog.array_agg(b.pfrom ORDER BY b.n), $2) FROM b)')
           || ' AS v FROM @extschema@.events e WHERE ' || @extschema@._rows_expr(s, uv, '$1', '$2') || w || ') r';
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
    PERFORM @extschema@._call_end(owner, 'analytics.timeseries()');
  EXCEPTION WHEN query_canceled THEN
    PERFORM @extschema@._call_timed_out('analytics.timeseries()');
    RAISE;
  END;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.api_request(uri text, project_id text DEFAULT NULL,
                                        OUT status integer, OUT body jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  r jsonb;
  metric text;
  filter jsonb;
  uniq boolean := false;
  link_params text[];
  err_name text;
  err_message text;
  err_hint text;
  owner boolean;
BEGIN
  r := @extschema@._route(coalesce(uri, ''));
  status := (r->>'status')::integer;
  IF status = 404 THEN
    body := @extschema@._problem(404);
    RETURN;
  ELSIF status <> 200 THEN
    body := @extschema@._problem(400, r->>'name', r->>'detail');
    RETURN;
  END IF;

  metric := r->>'metric';
  SELECT coalesce(array_agg(x ORDER BY i), ARRAY[]::text[]) INTO link_params
    FROM jsonb_array_elements(r->'params') WITH ORDINALITY AS p(pair, n),
         LATERAL (VALUES (2 * n - 1, pair->>0), (2 * n, pair->>1)) AS kv(i, x);

  BEGIN
    -- the bound on one call's work covers the whole request (src/callbound.c)
    owner := @extschema@._call_begin();
    BEGIN
      IF r->>'filterBy' IS NOT NULL THEN
        BEGIN
          filter := (r->>'filterBy')::jsonb;
        EXCEPTION WHEN data_exception THEN
          PERFORM @extschema@._invalid('filterBy', 'invalid filterBy: not a JSON object',
                                       'Use filterBy[key]=value, filterBy[key][]=value or a JSON object.');
        END;
      END IF;
      IF r->>'unique' IS NOT NULL THEN
        IF r->>'unique' NOT IN ('true', 'false') THEN
          PERFORM @extschema@._invalid('unique', format('invalid unique: "%s"', left(r->>'unique', 100)),
                                       'unique is true or false.');
        END IF;
        IF metric NOT IN ('view', 'ccv', 'ccv-peak', 'ccv-average') THEN
          PERFORM @extschema@._invalid('unique', format('unique does not apply to metric "%s"', metric),
                                       'unique applies to the view and ccv metrics only.');
        END IF;
        uniq := (r->>'unique') = 'true';
      END IF;

      CASE r->>'endpoint'
        WHEN 'metrics' THEN
          body := @extschema@.api_metrics(metric, r->>'aggregation',
                    @extschema@._rest_timestamp('from', r->>'from'), @extschema@._rest_timestamp('to', r->>'to'),
                    filter, uniq, r->>'viewDuration', project_id);
        WHEN 'buckets' THEN
          body := @extschema@._api_buckets(metric, r->>'breakdown',
                    @extschema@._rest_timestamp('from', r->>'from'), @extschema@._rest_timestamp('to', r->>'to'),
                    filter, coalesce(r->>'sortBy', 'metricValue'), coalesce(r->>'sortOrder', 'desc'),
                    coalesce(@extschema@._rest_integer('currentPage', r->>'currentPage'), 1),
                    coalesce(@extschema@._rest_integer('pageSize', r->>'pageSize'), 25),
                    uniq, r->>'viewDuration', project_id, r->>'aggregation', r->>'path', link_params);
        ELSE
          body := @extschema@._api_timeseries(metric,
                    @extschema@._rest_timestamp('from', r->>'from'), @extschema@._rest_timestamp('to', r->>'to'),
                    r->>'interval', filter, coalesce(r->>'sortBy', 'emittedAt'), coalesce(r->>'sortOrder', 'asc'),
                    coalesce(@extschema@._rest_integer('currentPage', r->>'currentPage'), 1),
                    coalesce(@extschema@._rest_integer('pageSize', r->>'pageSize'), 25),
                    uniq, r->>'viewDuration', project_id, r->>'aggregation',
                    coalesce(r->>'timeZone', 'UTC'), r->>'path', link_params);
      END CASE;
    EXCEPTION WHEN query_canceled THEN
      PERFORM @extschema@._call_timed_out('analytics.api_request()');
      RAISE;
    END;
    PERFORM @extschema@._call_end(owner, 'analytics.api_request()');
    status := 200;
  EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
    GET STACKED DIAGNOSTICS err_name = COLUMN_NAME, err_message = MESSAGE_TEXT, err_hint = PG_EXCEPTION_HINT;
    status := 400;
    body := @extschema@._problem(400, nullif(err_name, ''),
                                 err_message || CASE WHEN coalesce(err_hint, '') <> '' THEN '. ' || err_hint ELSE '' END);
  WHEN configuration_limit_exceeded THEN
    -- analytics.max_call_time (or another configured limit) stopped the call
    GET STACKED DIAGNOSTICS err_message = MESSAGE_TEXT, err_hint = PG_EXCEPTION_HINT;
    status := 503;
    body := @extschema@._problem(503, NULL,
                                 err_message || CASE WHEN coalesce(err_hint, '') <> '' THEN '. ' || err_hint ELSE '' END);
  END;
END $$;
COMMENT ON FUNCTION @extschema@.api_request(text, text) IS
    'answers a REST call (path and query string): status 200 with the body, 400 or 404 with an RFC 7807 problem, 503 when analytics.max_call_time stopped it';



-- @@ dump and restore @@



-- @@ search_path: every function of the extension pinned (keep this section last) @@

