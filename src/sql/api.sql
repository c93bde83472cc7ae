-- analytics: the JSON API, api_* and the REST router

--
-- JSON API (README: "Querying: the JSON API"; docs/api.md): bodies an API
-- server returns as they are. api_request routes the URI (src/uri.c), checks
-- the values and calls metric, breakdown and timeseries through kept plans
-- that name them with the extension's schema; the bodies and the RFC 7807
-- problems are built as jsonb in C (src/rest.c). The request runs in a
-- subtransaction: SQLSTATE class 22 or 54 becomes a 400 problem, 53400 (the
-- analytics.max_call_time bound) a 503. They run SQL, so they carry their
-- SET search_path clause (pin.sql).
--

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
AS 'MODULE_PATHNAME', 'analytics_api_metrics'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.api_metrics(text, text, timestamptz, timestamptz, jsonb, boolean, text, text) IS
    'the body of GET /data/metrics/{metric}/{aggregation}';

CREATE OR REPLACE FUNCTION @extschema@.api_buckets(metric text, breakdown text,
                                        from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                        filter_by jsonb DEFAULT NULL,
                                        sort_by text DEFAULT 'metricValue', sort_order text DEFAULT 'desc',
                                        current_page integer DEFAULT 1, page_size integer DEFAULT 25,
                                        unique_viewers boolean DEFAULT false, view_duration text DEFAULT NULL,
                                        project_id text DEFAULT NULL, aggregation text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'analytics_api_buckets'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.api_buckets(text, text, timestamptz, timestamptz, jsonb, text, text, integer, integer, boolean, text, text, text) IS
    'the body of GET /data/buckets/{metric}/{breakdown}';

CREATE OR REPLACE FUNCTION @extschema@.api_timeseries(metric text,
                                           from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                           "interval" text DEFAULT NULL, filter_by jsonb DEFAULT NULL,
                                           sort_by text DEFAULT 'emittedAt', sort_order text DEFAULT 'asc',
                                           current_page integer DEFAULT 1, page_size integer DEFAULT 25,
                                           unique_viewers boolean DEFAULT false, view_duration text DEFAULT NULL,
                                           project_id text DEFAULT NULL, aggregation text DEFAULT NULL,
                                           time_zone text DEFAULT 'UTC')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'analytics_api_timeseries'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.api_timeseries(text, timestamptz, timestamptz, text, jsonb, text, text, integer, integer, boolean, text, text, text, text) IS
    'the body of GET /data/timeseries/{metric}';

CREATE OR REPLACE FUNCTION @extschema@.api_request(uri text, project_id text DEFAULT NULL,
                                        OUT status integer, OUT body jsonb)
AS 'MODULE_PATHNAME', 'analytics_api_request'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.api_request(text, text) IS
    'answers a REST call (path and query string): status 200 with the body, 400 or 404 with an RFC 7807 problem, 503 when analytics.max_call_time stopped it';

-- api_request for one project, the project first and never NULL (STRICT):
-- on Citus, analytics.distribute() makes it a distributed function whose
-- calls run whole on the worker that holds the project (README "Scaling out
-- (Citus)"); a NULL project would crash Citus's planner on the coordinator,
-- STRICT makes the planner fold such a call to NULL first
CREATE OR REPLACE FUNCTION @extschema@.project_request(project_id text, uri text)
RETURNS @extschema@.api_answer
AS 'MODULE_PATHNAME', 'analytics_project_request'
LANGUAGE C STABLE STRICT
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.project_request(text, text) IS
    'api_request(uri, project_id) for one project (never NULL); on Citus the call runs on the worker that holds the project';

