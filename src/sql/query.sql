-- analytics: the SQL query API, metric, breakdown, timeseries and their helpers

--
-- Query API (README: "Querying: the SQL API"): metric, breakdown, timeseries
--
-- All run with the caller's rights and are C (src/query.c): they validate
-- their arguments against the catalogue (src/catalog.h: metric names and
-- their aggregations, the statistics layout, dimensions, block bounds),
-- build their statement from a typed description of the question out of
-- fixed fragments, with every value a bound parameter ($n), and run it
-- through the kept statements of src/keptquery.c. Invalid arguments raise
-- SQLSTATE 22023 whose COLUMN_NAME field carries the REST name of the
-- parameter (from, metric, filterBy.country, ...). docs/api.md lists them.
--
CREATE OR REPLACE FUNCTION @extschema@.metric(metric text, aggregation text,
                                   from_ts timestamptz DEFAULT NULL, to_ts timestamptz DEFAULT NULL,
                                   filter_by jsonb DEFAULT NULL,
                                   unique_viewers boolean DEFAULT false, view_duration text DEFAULT NULL,
                                   project_id text DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'analytics_metric'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;

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
AS 'MODULE_PATHNAME', 'analytics_breakdown'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;

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
AS 'MODULE_PATHNAME', 'analytics_timeseries'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.timeseries(text, timestamptz, timestamptz, text, jsonb, text, text, text, text, boolean, text, text) IS
    'one metric per time bucket of the period [from_ts, to_ts), empty buckets included';

-- the condition on the ranges of a level of the cover (in C: it runs up to
-- twelve times per question)
CREATE OR REPLACE FUNCTION @extschema@._ranges_sql(col text, lo_param integer, hi_param integer, n integer)
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_ranges_sql'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

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
