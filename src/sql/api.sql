-- analytics: the JSON API, api_* and the REST router

--
-- JSON API (README: "Querying: the JSON API"): bodies an API server returns as they are
--

-- counts as JSON integers; NULL (empty denominator) as 0
CREATE OR REPLACE FUNCTION @extschema@._json_number(v double precision, is_count boolean)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN v IS NULL OR v = 'NaN'::double precision THEN '0'::jsonb
            WHEN is_count THEN to_jsonb(round(v)::bigint)
            ELSE to_jsonb(v) END
$$;

CREATE OR REPLACE FUNCTION @extschema@._timeframe(from_ts timestamptz, to_ts timestamptz, time_zone text DEFAULT 'UTC')
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT jsonb_build_object('from', @extschema@.to_iso8601(from_ts, time_zone),
                          'to', @extschema@.to_iso8601(to_ts, time_zone))
$$;

-- one page of items, and the pagination object with its links
CREATE OR REPLACE FUNCTION @extschema@._paginate(items jsonb, current_page integer, page_size integer,
                                      link_path text, link_params text[])
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  page integer := coalesce(current_page, 1);
  size integer := coalesce(page_size, 25);
  total integer := jsonb_array_length(items);
  pages integer;
  data jsonb;
  links jsonb;
BEGIN
  IF page < 1 THEN
    PERFORM @extschema@._invalid('currentPage', format('invalid current_page: %s', page),
                                 'current_page starts at 1.');
  END IF;
  IF size < 1 OR size > 100 THEN
    PERFORM @extschema@._invalid('pageSize', format('invalid page_size: %s', size),
                                 'page_size is between 1 and 100 (default 25).');
  END IF;
  pages := greatest(1, ceil(total::numeric / size)::integer);
  SELECT coalesce(jsonb_agg(x ORDER BY i), '[]'::jsonb) INTO data
    FROM jsonb_array_elements(items) WITH ORDINALITY AS t(x, i)
   WHERE i > (page::bigint - 1) * size AND i <= page::bigint * size;
  links := jsonb_build_array(
             jsonb_build_object('rel', 'self', 'uri', @extschema@._link(link_path, link_params, page, size)),
             jsonb_build_object('rel', 'first', 'uri', @extschema@._link(link_path, link_params, 1, size)));
  IF page > 1 THEN
    links := links || jsonb_build_object('rel', 'previous', 'uri', @extschema@._link(link_path, link_params, page - 1, size));
  END IF;
  IF page < pages THEN
    links := links || jsonb_build_object('rel', 'next', 'uri', @extschema@._link(link_path, link_params, page + 1, size));
  END IF;
  links := links || jsonb_build_object('rel', 'last', 'uri', @extschema@._link(link_path, link_params, pages, size));
  RETURN jsonb_build_object(
    'data', data,
    'pagination', jsonb_build_object('currentPage', page, 'currentPageItems', jsonb_array_length(data),
                                     'pageSize', size, 'pagesTotal', pages, 'itemsTotal', total,
                                     'links', links));
END $$;

CREATE OR REPLACE FUNCTION @extschema@._route(uri text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'analytics_route'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION @extschema@._link(path text, params text[], current_page bigint, page_size bigint)
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_link'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION @extschema@.api_metrics(metric text, aggregation text,
                                        from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                        filter_by jsonb DEFAULT NULL,
                                        unique_viewers boolean DEFAULT false, view_duration text DEFAULT NULL,
                                        project_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  s @extschema@._metric_spec := @extschema@._spec('metrics', metric, aggregation, unique_viewers, view_duration);
  v double precision;
  pt timestamptz := coalesce(to_ts, now());
  pf timestamptz := coalesce(from_ts, pt - interval '1 day');
BEGIN
  v := @extschema@.metric(metric, aggregation, from_ts, to_ts, filter_by, unique_viewers, view_duration, project_id);
  IF s.kind = 'ccv_live' THEN
    pt := now(); pf := pt - interval '20 seconds';
  END IF;
  RETURN jsonb_build_object(
    'context', jsonb_build_object('metric', metric, 'aggregation', aggregation,
                                  'timeframe', @extschema@._timeframe(pf, pt)),
    'data', @extschema@._json_number(v, s.is_count));
END $$;

COMMENT ON FUNCTION @extschema@.api_metrics(text, text, timestamptz, timestamptz, jsonb, boolean, text, text) IS
    'the body of GET /data/metrics/{metric}/{aggregation}';

CREATE OR REPLACE FUNCTION @extschema@._api_buckets(metric text, breakdown text, from_ts timestamptz, to_ts timestamptz,
                                         filter_by jsonb, sort_by text, sort_order text,
                                         current_page integer, page_size integer,
                                         unique_viewers boolean, view_duration text, project_id text,
                                         aggregation text, link_path text, link_params text[])
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  s @extschema@._metric_spec := @extschema@._spec('breakdown', metric, aggregation, unique_viewers, view_duration);
  pt timestamptz := coalesce(to_ts, now());
  pf timestamptz := coalesce(from_ts, pt - interval '1 day');
  items jsonb;
  page jsonb;
BEGIN
  -- validate paging before doing the work
  PERFORM @extschema@._paginate('[]'::jsonb, current_page, page_size, link_path, link_params);
  SELECT coalesce(jsonb_agg(jsonb_build_object('metricValue', @extschema@._json_number(b.metric_value, s.is_count),
                                               'dimensionValue', b.dimension_value) ORDER BY b.ord), '[]'::jsonb)
    INTO items
    FROM (SELECT r.*, row_number() OVER () AS ord
            FROM @extschema@.breakdown(metric, breakdown, from_ts, to_ts, filter_by, sort_by, sort_order,
                                       aggregation, unique_viewers, view_duration, project_id) r) b;
  page := @extschema@._paginate(items, current_page, page_size, link_path, link_params);
  RETURN jsonb_build_object(
    'context', jsonb_build_object('metric', metric, 'breakdown', breakdown,
                                  'timeframe', @extschema@._timeframe(pf, pt)),
    'data', page->'data',
    'pagination', page->'pagination');
END $$;

CREATE OR REPLACE FUNCTION @extschema@.api_buckets(metric text, breakdown text,
                                        from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                        filter_by jsonb DEFAULT NULL,
                                        sort_by text DEFAULT 'metricValue', sort_order text DEFAULT 'desc',
                                        current_page integer DEFAULT 1, page_size integer DEFAULT 25,
                                        unique_viewers boolean DEFAULT false, view_duration text DEFAULT NULL,
                                        project_id text DEFAULT NULL, aggregation text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
SELECT @extschema@._api_buckets(metric, breakdown, from_ts, to_ts, filter_by, sort_by, sort_order,
                                current_page, page_size, unique_viewers, view_duration, project_id, aggregation,
                                '/data/buckets/' || coalesce(metric, '') || '/' || coalesce(breakdown, ''),
                                ARRAY[]::text[]
                                || CASE WHEN from_ts IS NOT NULL THEN ARRAY['from', @extschema@.to_iso8601(from_ts, 'UTC')] END
                                || CASE WHEN to_ts IS NOT NULL THEN ARRAY['to', @extschema@.to_iso8601(to_ts, 'UTC')] END
                                || CASE WHEN filter_by IS NOT NULL THEN ARRAY['filterBy', filter_by::text] END
                                || CASE WHEN sort_by IS NOT NULL THEN ARRAY['sortBy', sort_by] END
                                || CASE WHEN sort_order IS NOT NULL THEN ARRAY['sortOrder', sort_order] END
                                || CASE WHEN unique_viewers THEN ARRAY['unique', 'true'] END
                                || CASE WHEN view_duration IS NOT NULL THEN ARRAY['viewDuration', view_duration] END
                                || CASE WHEN aggregation IS NOT NULL THEN ARRAY['aggregation', aggregation] END)
$$;

COMMENT ON FUNCTION @extschema@.api_buckets(text, text, timestamptz, timestamptz, jsonb, text, text, integer, integer, boolean, text, text, text) IS
    'the body of GET /data/buckets/{metric}/{breakdown}';

CREATE OR REPLACE FUNCTION @extschema@._api_timeseries(metric text, from_ts timestamptz, to_ts timestamptz, "interval" text,
                                            filter_by jsonb, sort_by text, sort_order text,
                                            current_page integer, page_size integer,
                                            unique_viewers boolean, view_duration text, project_id text,
                                            aggregation text, time_zone text, link_path text, link_params text[])
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  s @extschema@._metric_spec := @extschema@._spec('timeseries', metric, aggregation, unique_viewers, view_duration);
  tz text := coalesce(time_zone, 'UTC');
  pt timestamptz := coalesce(to_ts, now());
  pf timestamptz := coalesce(from_ts, pt - interval '1 day');
  items jsonb;
  page jsonb;
BEGIN
  PERFORM @extschema@._paginate('[]'::jsonb, current_page, page_size, link_path, link_params);
  SELECT coalesce(jsonb_agg(jsonb_build_object('emittedAt', @extschema@.to_iso8601(t.emitted_at, tz),
                                               'metricValue', @extschema@._json_number(t.metric_value, s.is_count))
                            ORDER BY t.ord), '[]'::jsonb)
    INTO items
    FROM (SELECT r.*, row_number() OVER () AS ord
            FROM @extschema@.timeseries(metric, from_ts, to_ts, "interval", filter_by, sort_by, sort_order, tz,
                                        aggregation, unique_viewers, view_duration, project_id) r) t;
  page := @extschema@._paginate(items, current_page, page_size, link_path, link_params);
  RETURN jsonb_build_object(
    'context', jsonb_build_object('metric', metric,
                                  'interval', coalesce("interval", @extschema@.default_interval(pf, pt)),
                                  'timeframe', @extschema@._timeframe(pf, pt, tz)),
    'data', page->'data',
    'pagination', page->'pagination');
END $$;

CREATE OR REPLACE FUNCTION @extschema@.api_timeseries(metric text,
                                           from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                           "interval" text DEFAULT NULL, filter_by jsonb DEFAULT NULL,
                                           sort_by text DEFAULT 'emittedAt', sort_order text DEFAULT 'asc',
                                           current_page integer DEFAULT 1, page_size integer DEFAULT 25,
                                           unique_viewers boolean DEFAULT false, view_duration text DEFAULT NULL,
                                           project_id text DEFAULT NULL, aggregation text DEFAULT NULL,
                                           time_zone text DEFAULT 'UTC')
RETURNS jsonb
LANGUAGE sql STABLE AS $$
SELECT @extschema@._api_timeseries(metric, from_ts, to_ts, "interval", filter_by, sort_by, sort_order,
                                   current_page, page_size, unique_viewers, view_duration, project_id,
                                   aggregation, time_zone,
                                   '/data/timeseries/' || coalesce(metric, ''),
                                   ARRAY[]::text[]
                                   || CASE WHEN from_ts IS NOT NULL THEN ARRAY['from', @extschema@.to_iso8601(from_ts, coalesce(time_zone, 'UTC'))] END
                                   || CASE WHEN to_ts IS NOT NULL THEN ARRAY['to', @extschema@.to_iso8601(to_ts, coalesce(time_zone, 'UTC'))] END
                                   || CASE WHEN "interval" IS NOT NULL THEN ARRAY['interval', "interval"] END
                                   || CASE WHEN filter_by IS NOT NULL THEN ARRAY['filterBy', filter_by::text] END
                                   || CASE WHEN sort_by IS NOT NULL THEN ARRAY['sortBy', sort_by] END
                                   || CASE WHEN sort_order IS NOT NULL THEN ARRAY['sortOrder', sort_order] END
                                   || CASE WHEN unique_viewers THEN ARRAY['unique', 'true'] END
                                   || CASE WHEN view_duration IS NOT NULL THEN ARRAY['viewDuration', view_duration] END
                                   || CASE WHEN aggregation IS NOT NULL THEN ARRAY['aggregation', aggregation] END
                                   || CASE WHEN time_zone IS NOT NULL AND time_zone <> 'UTC' THEN ARRAY['timeZone', time_zone] END)
$$;

COMMENT ON FUNCTION @extschema@.api_timeseries(text, timestamptz, timestamptz, text, jsonb, text, text, integer, integer, boolean, text, text, text, text) IS
    'the body of GET /data/timeseries/{metric}';

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

-- a REST timestamp: YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM|-HH:MM)
CREATE OR REPLACE FUNCTION @extschema@._rest_timestamp(name text, v text)
RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  s text := v;
BEGIN
  IF s IS NULL THEN
    RETURN NULL;
  END IF;
  -- an unencoded '+' of the offset arrives as a space
  s := regexp_replace(s, ' (\d\d:?\d\d)$', '+\1');
  IF s !~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:?\d\d)$' THEN
    PERFORM @extschema@._invalid(name, format('invalid %s: "%s"', name, left(v, 100)),
      'Give an ISO 8601 date-time with seconds and a time zone, such as 2024-05-28T11:15:07Z or 2024-05-28T13:15:07+02:00.');
  END IF;
  BEGIN
    RETURN s::timestamptz;
  EXCEPTION WHEN data_exception THEN
    PERFORM @extschema@._invalid(name, format('invalid %s: "%s"', name, left(v, 100)),
      'Give an ISO 8601 date-time with seconds and a time zone, such as 2024-05-28T11:15:07Z or 2024-05-28T13:15:07+02:00.');
  END;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._rest_integer(name text, v text)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  IF v IS NULL THEN
    RETURN NULL;
  END IF;
  IF v !~ '^\d{1,9}$' THEN
    PERFORM @extschema@._invalid(name, format('invalid %s: "%s"', name, left(v, 100)),
      CASE name WHEN 'pageSize' THEN 'pageSize is an integer between 1 and 100.' ELSE 'currentPage is an integer, 1 or more.' END);
  END IF;
  RETURN v::integer;
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
