-- analytics: the SQL query API, metric, breakdown, timeseries and their helpers

--
-- Query API (README: "Querying: the SQL API"): metric, breakdown, timeseries
--
-- All run with the caller's rights. User-supplied names (metrics,
-- aggregations, dimensions, sort keys, filter keys) are mapped to fixed SQL
-- fragments; every value is a bound parameter ($n of EXECUTE ... USING),
-- with this fixed numbering in every query:
--   $1 from  $2 to  $3 projects text[]  $4 media ids  $5 media type
--   $6 continents  $7 countries  $8 device types  $9 operating systems
--   $10 browsers  $11 referrers  $12 tag  $13 view threshold
--   $14 metric  $15 aggregation  $16 view duration  $17 bucket  $18 time zone
-- Invalid arguments raise SQLSTATE 22023 whose COLUMN_NAME field carries
-- the REST name of the parameter (from, metric, filterBy.country, ...).
--
-- raise an invalid-parameter error
CREATE OR REPLACE FUNCTION @extschema@._invalid(rest_name text, message text, hint text, detail text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  IF detail IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = message, HINT = hint, COLUMN = rest_name;
  ELSE
    RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = message, HINT = hint, DETAIL = detail,
                          COLUMN = rest_name;
  END IF;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._spec(context text, metric text, aggregation text,
                                  unique_viewers boolean, view_duration text)
RETURNS @extschema@._metric_spec
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  s @extschema@._metric_spec;
  m text := metric;
  a text := aggregation;
  metrics_pairs constant text := 'play: count, rate, total; start: count; end: count; impression: count; '
                                 'impression-time: average, sum; watch-time: average, sum; view: count; '
                                 'ccv: peak, average, live';
  series_metrics constant text := 'play, play-rate, start, end, impression, impression-time, watch-time, '
                                  'view, ccv-peak, ccv-average';
BEGIN
  IF m IS NULL THEN
    PERFORM @extschema@._invalid('metric', 'metric must not be NULL',
      CASE WHEN context = 'metrics' THEN 'Valid metric/aggregation pairs are: ' || metrics_pairs || '.'
           ELSE 'Valid metrics are: ' || series_metrics || CASE WHEN context = 'breakdown' THEN ', play-total' ELSE '' END || '.' END);
  END IF;

  IF context = 'metrics' THEN
    IF m NOT IN ('play', 'start', 'end', 'impression', 'impression-time', 'watch-time', 'view', 'ccv') THEN
      PERFORM @extschema@._invalid('metric', format('invalid metric: "%s"', m),
                                   'Valid metric/aggregation pairs are: ' || metrics_pairs || '.');
    END IF;
    IF a IS NULL OR NOT (
         (m = 'play' AND a IN ('count', 'rate', 'total'))
      OR (m IN ('start', 'end', 'impression', 'view') AND a = 'count')
      OR (m IN ('impression-time', 'watch-time') AND a IN ('average', 'sum'))
      OR (m = 'ccv' AND a IN ('peak', 'average', 'live'))) THEN
      PERFORM @extschema@._invalid('aggregation',
        format('invalid aggregation "%s" for metric "%s"', coalesce(a, 'NULL'), m),
        'Valid metric/aggregation pairs are: ' || metrics_pairs || '.');
    END IF;
    IF m = 'play' AND a = 'total' THEN m := 'play-total'; a := NULL;
    ELSIF m = 'play' AND a = 'rate' THEN m := 'play-rate'; a := NULL;
    ELSIF m = 'ccv' THEN m := 'ccv-' || a; a := NULL;
    ELSIF a = 'count' THEN a := NULL;
    END IF;
  ELSE
    IF m NOT IN ('play', 'play-rate', 'start', 'end', 'impression', 'impression-time', 'watch-time',
                 'view', 'ccv-peak', 'ccv-average')
       AND NOT (context = 'breakdown' AND m = 'play-total') THEN
      PERFORM @extschema@._invalid('metric', format('invalid metric: "%s"', m),
        'Valid metrics are: ' || series_metrics || CASE WHEN context = 'breakdown' THEN ', play-total' ELSE '' END || '.');
    END IF;
    IF a IS NOT NULL AND NOT (m IN ('impression-time', 'watch-time') AND a IN ('average', 'sum')) THEN
      PERFORM @extschema@._invalid('aggregation', format('invalid aggregation "%s" for metric "%s"', a, m),
        'Only impression-time and watch-time take an aggregation: average or sum (defaults: impression-time average, watch-time sum).');
    END IF;
    IF m = 'impression-time' THEN a := coalesce(a, 'average');
    ELSIF m = 'watch-time' THEN a := coalesce(a, 'sum');
    END IF;
  END IF;

  -- options that apply to some metrics only
  IF coalesce(unique_viewers, false) AND m NOT IN ('view', 'ccv-peak', 'ccv-average', 'ccv-live') THEN
    PERFORM @extschema@._invalid('unique', format('unique_viewers does not apply to metric "%s"', metric),
                                 'unique_viewers applies to the view and ccv metrics only.');
  END IF;
  IF view_duration IS NOT NULL AND m <> 'view' THEN
    PERFORM @extschema@._invalid('viewDuration', format('view_duration does not apply to metric "%s"', metric),
                                 'view_duration applies to the view metric only.');
  END IF;

  s.sm_metric := m;
  s.sm_aggregation := a;
  s.is_count := false;
  s.empty_value := 0;
  CASE m
    WHEN 'play' THEN s.kind := 'stats'; s.types := $q$e.event_type = 'play'$q$; s.is_count := true;
    WHEN 'play-rate' THEN s.kind := 'stats'; s.types := $q$e.event_type IN ('play', 'impression')$q$; s.empty_value := NULL;
    WHEN 'start' THEN s.kind := 'stats'; s.types := $q$e.event_type = 'start'$q$; s.is_count := true;
    WHEN 'end' THEN s.kind := 'stats'; s.types := $q$e.event_type = 'end'$q$; s.is_count := true;
    WHEN 'impression' THEN s.kind := 'stats'; s.types := $q$e.event_type = 'impression'$q$; s.is_count := true;
    WHEN 'impression-time' THEN
      s.kind := 'stats'; s.types := $q$e.event_type = 'impression'$q$;
      IF a = 'average' THEN s.empty_value := NULL; END IF;
    WHEN 'watch-time' THEN
      s.kind := 'stats';
      IF a = 'average' THEN s.types := $q$e.event_type IN ('watch', 'play')$q$; s.empty_value := NULL;
      ELSE s.types := $q$e.event_type = 'watch'$q$; END IF;
    WHEN 'view' THEN
      s.view_duration := coalesce(view_duration, '5s');
      IF s.view_duration NOT IN ('3s', '5s', '10s', '30s') THEN
        PERFORM @extschema@._invalid('viewDuration', format('invalid view_duration: "%s"', view_duration),
                                     'Valid view durations are: 3s, 5s, 10s, 30s (default 5s).');
      END IF;
      s.threshold := rtrim(s.view_duration, 's')::double precision;
      s.kind := CASE WHEN unique_viewers THEN 'view_unique' ELSE 'stats' END;
      s.types := $q$e.event_type = 'view' AND e.value = $13$q$;
      s.is_count := true;
    WHEN 'play-total' THEN s.kind := 'total'; s.is_count := true;
    WHEN 'ccv-peak' THEN s.kind := 'ccv_peak'; s.is_count := true;
    WHEN 'ccv-average' THEN s.kind := 'ccv_average';
    WHEN 'ccv-live' THEN s.kind := 'ccv_live'; s.is_count := true;
  END CASE;
  RETURN s;
END $$;

-- a filter value: a string, or a non-empty array of strings
CREATE OR REPLACE FUNCTION @extschema@._filter_strings(key text, v jsonb, allow_array boolean)
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  r text[];
BEGIN
  IF jsonb_typeof(v) = 'string' THEN
    RETURN ARRAY[v #>> '{}'];
  ELSIF allow_array AND jsonb_typeof(v) = 'array' THEN
    IF jsonb_array_length(v) = 0 THEN
      PERFORM @extschema@._invalid('filterBy.' || key, format('invalid filter %s: empty array', key),
                                   'Give a string or a non-empty array of strings.');
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(v) x WHERE jsonb_typeof(x) <> 'string') THEN
      PERFORM @extschema@._invalid('filterBy.' || key, format('invalid filter %s: %s', key, left(v::text, 200)),
                                   'Every element must be a string.');
    END IF;
    SELECT array_agg(x) INTO r FROM jsonb_array_elements_text(v) x;
    RETURN r;
  END IF;
  PERFORM @extschema@._invalid('filterBy.' || key, format('invalid filter %s: %s', key, left(v::text, 200)),
    CASE WHEN allow_array THEN 'Give a string or a non-empty array of strings.' ELSE 'Give a string.' END);
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._filters(filter_by jsonb, media_only boolean DEFAULT false)
RETURNS @extschema@._filter_set
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  f @extschema@._filter_set;
  k text;
  v jsonb;
  vals text[];
  bad text;
  keys constant text := 'mediaId, mediaType, continent, country, deviceType, operatingSystem, browser, referrer, tag';
BEGIN
  IF filter_by IS NULL OR filter_by = 'null'::jsonb THEN
    RETURN f;
  END IF;
  IF jsonb_typeof(filter_by) <> 'object' THEN
    PERFORM @extschema@._invalid('filterBy', format('filter_by must be a JSON object, not %s', jsonb_typeof(filter_by)),
                                 'Valid filter keys are: ' || keys || '.');
  END IF;
  FOR k, v IN SELECT * FROM jsonb_each(filter_by) LOOP
    IF k NOT IN ('mediaId', 'mediaType', 'continent', 'country', 'deviceType', 'operatingSystem',
                 'browser', 'referrer', 'tag') THEN
      PERFORM @extschema@._invalid('filterBy.' || k, format('invalid filter key: "%s"', k),
                                   'Valid filter keys are: ' || keys || '.');
    END IF;
    IF media_only AND k NOT IN ('mediaId', 'mediaType') THEN
      PERFORM @extschema@._invalid('filterBy.' || k, format('filter key "%s" does not apply to play totals', k),
                                   'Play totals accept only the mediaId and mediaType filters.');
    END IF;
    vals := @extschema@._filter_strings(k, v, k NOT IN ('mediaType', 'tag'));
    CASE k
      WHEN 'mediaId' THEN f.media_ids := vals;
      WHEN 'mediaType' THEN
        IF vals[1] NOT IN ('video', 'live-stream') THEN
          PERFORM @extschema@._invalid('filterBy.mediaType', format('invalid filter mediaType: "%s"', vals[1]),
                                       'Valid media types are: video, live-stream.');
        END IF;
        f.media_type := vals[1];
      WHEN 'continent' THEN
        SELECT x INTO bad FROM unnest(vals) x WHERE x NOT IN ('AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA') LIMIT 1;
        IF FOUND THEN
          PERFORM @extschema@._invalid('filterBy.continent', format('invalid filter continent: "%s"', bad),
                                       'Valid continents are: AF, AN, AS, EU, NA, OC, SA.');
        END IF;
        f.continents := vals;
      WHEN 'country' THEN
        SELECT x INTO bad FROM unnest(vals) x WHERE x !~ '^[A-Z][A-Z]$' LIMIT 1;
        IF FOUND THEN
          PERFORM @extschema@._invalid('filterBy.country', format('invalid filter country: "%s"', bad),
                                       'Give ISO 3166-1 alpha-2 country codes in upper case, such as FR or US.');
        END IF;
        f.countries := vals;
      WHEN 'deviceType' THEN
        SELECT x INTO bad FROM unnest(vals) x
         WHERE x NOT IN ('computer', 'phone', 'tablet', 'tv', 'console', 'wearable', 'unknown') LIMIT 1;
        IF FOUND THEN
          PERFORM @extschema@._invalid('filterBy.deviceType', format('invalid filter deviceType: "%s"', bad),
                                       'Valid device types are: computer, phone, tablet, tv, console, wearable, unknown.');
        END IF;
        f.device_types := vals;
      WHEN 'operatingSystem' THEN f.operating_systems := vals;
      WHEN 'browser' THEN f.browsers := vals;
      WHEN 'referrer' THEN f.referrers := vals;
      WHEN 'tag' THEN f.tag := vals[1];
    END CASE;
  END LOOP;
  RETURN f;
END $$;

-- the fixed predicate fragments for the filters that are present
CREATE OR REPLACE FUNCTION @extschema@._where(f @extschema@._filter_set, projects text[])
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT concat(
  CASE WHEN projects IS NOT NULL THEN ' AND e.project_id = $3[1]' END,
  CASE WHEN f.media_ids IS NOT NULL THEN ' AND e.media_id = ANY($4)' END,
  CASE WHEN f.media_type IS NOT NULL THEN ' AND e.media_type = $5::@extschema@.media_type' END,
  CASE WHEN f.continents IS NOT NULL THEN ' AND e.continent = ANY($6::@extschema@.continent[])' END,
  CASE WHEN f.countries IS NOT NULL THEN ' AND e.country = ANY($7)' END,
  CASE WHEN f.device_types IS NOT NULL THEN ' AND e.device_type = ANY($8::@extschema@.device_type[])' END,
  CASE WHEN f.operating_systems IS NOT NULL THEN ' AND e.operating_system = ANY($9)' END,
  CASE WHEN f.browsers IS NOT NULL THEN ' AND e.browser = ANY($10)' END,
  CASE WHEN f.referrers IS NOT NULL THEN ' AND e.referrer = ANY($11)' END,
  CASE WHEN f.tag IS NOT NULL THEN
    ' AND EXISTS (SELECT 1 FROM @extschema@.media m WHERE m.project_id = e.project_id'
    ' AND m.media_id = e.media_id AND m.tags @> ARRAY[$12])' END)
$$;

-- the projects a query reads: its project_id argument, narrowed by the
-- analytics.project_id setting (both must match when both are set). NULL:
-- all projects; else a one-element array ({NULL} when the two differ, which
-- matches nothing), compared as e.project_id = $3[1] so that an index on
-- project_id can serve it.
CREATE OR REPLACE FUNCTION @extschema@._projects(project_id text)
RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT CASE WHEN p IS NULL AND s IS NULL THEN NULL
            WHEN p IS NULL THEN ARRAY[s]
            WHEN s IS NULL OR s = p THEN ARRAY[p]
            ELSE ARRAY[NULL::text] END
  FROM (SELECT project_id AS p, nullif(current_setting('analytics.project_id', true), '') AS s) x
$$;

-- the period [from, to) with its defaults, checked against the retention
CREATE OR REPLACE FUNCTION @extschema@._period(from_ts timestamptz, to_ts timestamptz, check_retention boolean,
                                    OUT from_out timestamptz, OUT to_out timestamptz)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  ret interval;
BEGIN
  to_out := coalesce(to_ts, now());
  from_out := coalesce(from_ts, to_out - interval '1 day');
  IF from_out >= to_out THEN
    PERFORM @extschema@._invalid('from', format('from_ts must be before to_ts: "%s" is not before "%s"', from_out, to_out),
                                 'Give a period [from_ts, to_ts) with from_ts < to_ts.');
  END IF;
  IF check_retention THEN
    ret := @extschema@.retention();
    IF from_out < now() - ret THEN
      PERFORM @extschema@._invalid('from', format('from_ts is older than the retention window: "%s"', from_out),
                                   format('Events are kept for %s: from_ts must not be before %s.', ret, now() - ret));
    END IF;
  END IF;
END $$;

-- the aggregate expression computing one metric over the rows "e"
CREATE OR REPLACE FUNCTION @extschema@._value_expr(s @extschema@._metric_spec, unique_viewers boolean, pfrom text, pto text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE s.kind
  WHEN 'stats' THEN '@extschema@.stats_metric(@extschema@.event_stats(e.event_type, e.value), $14, $15, $16)'
  WHEN 'view_unique' THEN 'count(DISTINCT e.viewer_id)::double precision'
  -- with unique_viewers, an interval without a viewer id is passed with zero
  -- length: it counts nobody, but its dimension value still shows (as 0)
  ELSE format('(@extschema@.ccv(%s, e.emitted_at, %s, %s, %s))[%s]',
              CASE WHEN unique_viewers
                   THEN 'CASE WHEN e.viewer_id IS NULL THEN e.emitted_at ELSE e.emitted_at - e.value * interval ''1 second'' END'
                   ELSE 'e.emitted_at - e.value * interval ''1 second''' END,
              CASE WHEN unique_viewers THEN 'e.viewer_id' ELSE 'e.session_id' END, pfrom, pto,
              CASE WHEN s.kind = 'ccv_average' THEN 2 ELSE 1 END)
END
$$;

-- the row predicate of a metric over the period [pfrom, pto)
CREATE OR REPLACE FUNCTION @extschema@._rows_expr(s @extschema@._metric_spec, unique_viewers boolean, pfrom text, pto text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN s.kind LIKE 'ccv%' THEN
         -- watch intervals [emitted_at - value, emitted_at) that overlap the
         -- period; a watch event covers at most an hour (events_watch_value_check)
         format('e.event_type = ''watch'' AND e.value > 0 AND e.emitted_at > %1$s AND e.emitted_at < %2$s + interval ''1 hour'''
                ' AND e.emitted_at - e.value * interval ''1 second'' < %2$s', pfrom, pto)
       ELSE format('e.emitted_at >= %s AND e.emitted_at < %s AND ', pfrom, pto) || s.types
       END
$$;

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

COMMENT ON FUNCTION @extschema@.metric(text, text, timestamptz, timestamptz, jsonb, boolean, text, text) IS
    'one metric over the period [from_ts, to_ts) (default: the last 24 hours)';

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

COMMENT ON FUNCTION @extschema@.breakdown(text, text, timestamptz, timestamptz, jsonb, text, text, text, boolean, text, text) IS
    'one metric per value of a dimension over the period [from_ts, to_ts)';

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

COMMENT ON FUNCTION @extschema@.timeseries(text, timestamptz, timestamptz, text, jsonb, text, text, text, text, boolean, text, text) IS
    'one metric per time bucket of the period [from_ts, to_ts), empty buckets included';

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
CREATE OR REPLACE FUNCTION @extschema@._rollup_dim(s @extschema@._metric_spec, f @extschema@._filter_set, breakdown text)
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
CREATE OR REPLACE FUNCTION @extschema@._rollup_where(f @extschema@._filter_set, projects text[], dim smallint)
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
CREATE OR REPLACE FUNCTION @extschema@._rollup_types(s @extschema@._metric_spec)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT @extschema@._rollup_types(s, 'r.stats')
$$;

-- the condition on the ranges of a level of the cover (in C: it runs up to
-- twelve times per question)
CREATE OR REPLACE FUNCTION @extschema@._ranges_sql(col text, lo_param integer, hi_param integer, n integer)
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_ranges_sql'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- the condition of _rollup_types on any statistics expression: on the rows
-- ("r.stats") and, after the subtraction, on a group's merged statistics
CREATE OR REPLACE FUNCTION @extschema@._rollup_types(s @extschema@._metric_spec, stats text)
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

-- the rows (t, v, stats) of a stats metric over the cover c; for a count
-- metric, stats is its element of the statistics (negated in the ranges
-- taken out)
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
CREATE OR REPLACE FUNCTION @extschema@._kept_query(q text, generic boolean, VARIADIC args "any")
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'analytics_kept_query'
LANGUAGE C STABLE
SET max_parallel_workers_per_gather = 0 SET enable_seqscan = off;

COMMENT ON FUNCTION @extschema@._kept_query(text, boolean, "any") IS
    'runs the query text with the given parameters as a statement kept per text; generic: one plan made once (src/keptquery.c)';

-- a count metric (plays, starts, ends, impressions, views of a duration) is
-- one element of the statistics, and so is the condition on its groups
-- (that element > 0): the rows of a count give that element only, and the
-- query sums it, instead of merging and finishing arrays of 17 numbers (plays
-- by media over all projects, ~18,000 rows into ~10,000 groups: about half
-- the time). Counts are integers below 2^53: the sums are exact in any order.
-- NULL: the metric needs the merged statistics.
CREATE OR REPLACE FUNCTION @extschema@._count_element(s @extschema@._metric_spec)
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
CREATE OR REPLACE FUNCTION @extschema@._merged_metric(s @extschema@._metric_spec)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN @extschema@._count_element(s) IS NULL
            THEN '@extschema@.stats_metric(@extschema@.event_stats_merge(x.stats), $14, $15, $16)'
            ELSE 'coalesce(sum(x.stats), 0)' END
$$;
CREATE OR REPLACE FUNCTION @extschema@._merged_having(s @extschema@._metric_spec)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN @extschema@._count_element(s) IS NULL
            THEN @extschema@._rollup_types(s, '(@extschema@.event_stats_merge(x.stats))')
            ELSE 'sum(x.stats) > 0' END
$$;

-- the statistics expression stats negated: every element, or the one count
CREATE OR REPLACE FUNCTION @extschema@._negated(stats text, k integer)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN k IS NULL THEN '@extschema@.event_stats_negate(' || stats || ')' ELSE '-' || stats END
$$;

-- the ccv_series call over the rows "e" (the intervals of _value_expr)
CREATE OR REPLACE FUNCTION @extschema@._ccv_series_expr(unique_viewers boolean, bounds text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT format('@extschema@._ccv_series(%s, e.emitted_at, %s, %s)',
              CASE WHEN unique_viewers
                   THEN 'CASE WHEN e.viewer_id IS NULL THEN e.emitted_at ELSE e.emitted_at - e.value * interval ''1 second'' END'
                   ELSE 'e.emitted_at - e.value * interval ''1 second''' END,
              CASE WHEN unique_viewers THEN 'e.viewer_id' ELSE 'e.session_id' END, bounds)
$$;

-- The bound on one call's work: analytics.max_call_time (README, Settings).
CREATE OR REPLACE FUNCTION @extschema@._call_begin()
RETURNS boolean LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'analytics_call_begin';

COMMENT ON FUNCTION @extschema@._call_begin() IS
    'arms the analytics.max_call_time timer of a query function call (true: this call armed it)';
CREATE OR REPLACE FUNCTION @extschema@._call_end(owner boolean, fname text)
RETURNS void LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'analytics_call_end';

COMMENT ON FUNCTION @extschema@._call_end(boolean, text) IS
    'disarms the analytics.max_call_time timer armed by _call_begin';
CREATE OR REPLACE FUNCTION @extschema@._call_timed_out(fname text)
RETURNS void LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'analytics_call_timed_out';

COMMENT ON FUNCTION @extschema@._call_timed_out(text) IS
    'raises SQLSTATE 53400 when a caught query_canceled came from the analytics.max_call_time timer';
