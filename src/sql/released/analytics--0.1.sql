/* analytics--0.1.sql: the schema of the analytics extension (version 0.1) */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION analytics" to load this file. \quit

--
-- Closed sets. Stored as enums (4 bytes, ordered by declaration); read and
-- written as text. An unknown value is rejected by the enum input function:
--   invalid input value for enum analytics.event_type: "foo"
--
CREATE TYPE @extschema@.event_type AS ENUM
    ('impression', 'play', 'start', 'end', 'resume', 'pause', 'seek', 'watch', 'view', 'error');
CREATE TYPE @extschema@.media_type AS ENUM ('video', 'live-stream');
CREATE TYPE @extschema@.device_type AS ENUM
    ('computer', 'phone', 'tablet', 'tv', 'console', 'wearable', 'unknown');
CREATE TYPE @extschema@.continent AS ENUM ('AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA');

--
-- analytics.events: normalized player events, one partition per UTC day
-- (analytics.events_pYYYYMMDD), created and dropped by run_maintenance().
-- Rows that find no partition land in analytics.events_default, from which
-- maintenance moves them into their day partition (or, when already older
-- than the retention window, archives their plays and deletes them).
--
CREATE TABLE @extschema@.events (
    project_id       text NOT NULL DEFAULT 'default',
    emitted_at       timestamptz NOT NULL,
    event_type       @extschema@.event_type NOT NULL,
    value            double precision,
    media_id         text NOT NULL,
    media_type       @extschema@.media_type NOT NULL DEFAULT 'video',
    session_id       uuid,
    viewer_id        bigint,
    referrer         text NOT NULL DEFAULT '',
    continent        @extschema@.continent,
    country          text,
    device_type      @extschema@.device_type NOT NULL DEFAULT 'unknown',
    operating_system text NOT NULL DEFAULT 'unknown',
    browser          text NOT NULL DEFAULT 'unknown',
    CONSTRAINT events_emitted_at_check CHECK (pg_catalog.isfinite(emitted_at)),
    CONSTRAINT events_value_check CHECK (value >= 0 AND value < 'Infinity'::double precision),
    -- a watch event covers at most one hour: concurrent-viewer queries rely on it
    -- to bound how far past a period they look; split longer stretches
    CONSTRAINT events_watch_value_check CHECK (event_type OPERATOR(pg_catalog.<>) 'watch' OR value <= 3600),
    CONSTRAINT events_country_check CHECK (country OPERATOR(pg_catalog.~) '^[A-Z][A-Z]$'),
    CONSTRAINT events_project_id_check CHECK (project_id OPERATOR(pg_catalog.<>) '')
) PARTITION BY RANGE (emitted_at);

COMMENT ON TABLE @extschema@.events IS
    'normalized player events, range-partitioned by UTC day on emitted_at (see analytics.partitions())';

CREATE TABLE @extschema@.events_default PARTITION OF @extschema@.events DEFAULT;
COMMENT ON TABLE @extschema@.events_default IS
    'events that found no day partition; run_maintenance() moves them out';

--
-- analytics.media: optional catalogue, used by the tag filter
--
CREATE TABLE @extschema@.media (
    project_id  text NOT NULL DEFAULT 'default',
    media_id    text NOT NULL,
    media_type  @extschema@.media_type NOT NULL DEFAULT 'video',
    title       text,
    tags        text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (project_id, media_id)
);
CREATE INDEX media_tags_idx ON @extschema@.media USING gin (tags);

--
-- analytics.play_totals: plays archived from dropped partitions, so that
-- lifetime play totals survive retention (README: Retention and maintenance)
--
CREATE TABLE @extschema@.play_totals (
    project_id  text NOT NULL,
    media_id    text NOT NULL,
    media_type  @extschema@.media_type NOT NULL,
    plays       bigint NOT NULL CHECK (plays >= 0),
    updated_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (project_id, media_id, media_type)
);

--
-- analytics.settings: per-database settings, at most one row. No row means
-- the defaults; set_retention() upserts.
--
CREATE TABLE @extschema@.settings (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    retention  interval NOT NULL DEFAULT '30 days'
);

-- the retention is not a secret: query functions check periods against it
GRANT SELECT ON @extschema@.settings TO PUBLIC;

-- user data of these tables is dumped by pg_dump
SELECT pg_catalog.pg_extension_config_dump('@extschema@.events_default', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.media', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.play_totals', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.settings', '');

--
-- Lifecycle functions (C)
--
CREATE FUNCTION @extschema@.retention()
RETURNS interval
AS 'MODULE_PATHNAME', 'analytics_retention'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.retention() IS 'how long events are kept (default 30 days)';

CREATE FUNCTION @extschema@.set_retention(retention interval)
RETURNS interval
AS 'MODULE_PATHNAME', 'analytics_set_retention'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.set_retention(interval) IS
    'sets the retention window (any interval >= 1 day); the next maintenance drops what falls out of it';

CREATE FUNCTION @extschema@.partitions(
    OUT partition regclass, OUT from_ts timestamptz, OUT to_ts timestamptz, OUT is_default boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'analytics_partitions'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.partitions() IS
    'the partitions of analytics.events with their bounds, read from relpartbound';

CREATE FUNCTION @extschema@.run_maintenance()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'analytics_run_maintenance'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.run_maintenance() IS
    'creates partitions ahead, moves rows out of the default partition, archives plays and drops expired partitions; returns a report';

-- administrative functions are not for everybody
REVOKE ALL ON FUNCTION @extschema@.set_retention(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.run_maintenance() FROM PUBLIC;

--
-- analytics.ping_sessions: the ingest state of each playback = (session id,
-- session.loaded_at), kept between the pings of a player; maintenance forgets
-- playbacks idle for longer than analytics.session_idle_timeout
--
CREATE TABLE @extschema@.ping_sessions (
    project_id  text NOT NULL,
    session_id  uuid NOT NULL,
    loaded_at   timestamptz NOT NULL,
    media_id    text NOT NULL,
    media_type  @extschema@.media_type NOT NULL,
    state       bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (project_id, session_id, loaded_at)
);
CREATE INDEX ping_sessions_updated_at_idx ON @extschema@.ping_sessions (updated_at);

--
-- Ingest (src/ingest.c, src/ping.c, src/continent.c)
--
CREATE FUNCTION @extschema@.ingest_ping(payload jsonb, user_agent text DEFAULT NULL,
                                        country text DEFAULT NULL, client_ip inet DEFAULT NULL,
                                        project_id text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'analytics_ingest_ping'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.ingest_ping(jsonb, text, text, inet, text) IS
    'normalizes one player ping (@api.video/player-analytics 1.x format) into analytics.events; returns {"session": id, ...}';

CREATE FUNCTION @extschema@.continent_of(country text)
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_continent_of'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.continent_of(text) IS
    'GeoNames continent code (AF AN AS EU NA OC SA) of an ISO 3166-1 alpha-2 country code, NULL when unknown';

--
-- analytics.secrets: per-installation secrets, readable by the extension's
-- owner only (the viewer id key: SipHash-2-4 of user agent + IP + UTC day)
--
CREATE TABLE @extschema@.secrets (
    name   text PRIMARY KEY,
    value  bytea NOT NULL
);
REVOKE ALL ON @extschema@.secrets FROM PUBLIC;
INSERT INTO @extschema@.secrets (name, value)
SELECT 'viewer_id', substring(pg_catalog.sha256(pg_catalog.uuid_send(pg_catalog.gen_random_uuid())
                                                || pg_catalog.uuid_send(pg_catalog.gen_random_uuid())) FROM 1 FOR 16);

CREATE FUNCTION @extschema@.parse_user_agent(user_agent text,
    OUT device_type text, OUT operating_system text, OUT browser text)
RETURNS record
AS 'MODULE_PATHNAME', 'analytics_parse_user_agent'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.parse_user_agent(text) IS
    'device type, operating system and browser families of a user agent (ua-parser regexes of uap-core), cached per backend';
-- GeoIP (src/geoip.c)
--
CREATE FUNCTION @extschema@.geoip_country(ip inet)
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_geoip_country_sql'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.geoip_country(inet) IS
    'ISO 3166-1 alpha-2 country code of an IP address from the MaxMind DB file named by analytics.geoip_database (country, else registered_country); NULL when unknown or when no database is configured';

--
-- Metric aggregates (src/stats.c, src/ccv.c)
--
-- @@ stats @@
-- analytics.event_stats(event_type, value): everything the event metrics
-- need, in one pass, as a float8[17]:
--   [1..10]  counts of impression, play, start, end, resume, pause, seek,
--            watch, view, error
--   [11..14] view events whose value is 3, 5, 10, 30
--   [15]     sum of impression values   [16] number of non-NULL impression values
--   [17]     sum of watch values
-- 17 zeros for no rows. analytics.event_stats_merge sums such arrays;
-- analytics.stats_metric turns one into a metric.
CREATE FUNCTION @extschema@.event_stats_transfn(internal, @extschema@.event_type, double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'analytics_event_stats_transfn'
LANGUAGE C STABLE PARALLEL SAFE;  -- maps enum values by label, read from pg_enum
COMMENT ON FUNCTION @extschema@.event_stats_transfn(internal, @extschema@.event_type, double precision) IS
    'transition function of analytics.event_stats';

CREATE FUNCTION @extschema@.event_stats_merge_transfn(internal, double precision[])
RETURNS internal
AS 'MODULE_PATHNAME', 'analytics_event_stats_merge_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.event_stats_merge_transfn(internal, double precision[]) IS
    'transition function of analytics.event_stats_merge';

CREATE FUNCTION @extschema@.event_stats_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'analytics_event_stats_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.event_stats_combine(internal, internal) IS
    'combine function of analytics.event_stats and analytics.event_stats_merge';

CREATE FUNCTION @extschema@.event_stats_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'analytics_event_stats_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.event_stats_serialize(internal) IS
    'serialization function of analytics.event_stats and analytics.event_stats_merge';

CREATE FUNCTION @extschema@.event_stats_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'analytics_event_stats_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.event_stats_deserialize(bytea, internal) IS
    'deserialization function of analytics.event_stats and analytics.event_stats_merge';

CREATE FUNCTION @extschema@.event_stats_final(internal)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'analytics_event_stats_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.event_stats_final(internal) IS
    'final function of analytics.event_stats and analytics.event_stats_merge';

CREATE AGGREGATE @extschema@.event_stats(event_type @extschema@.event_type, value double precision) (
    SFUNC = @extschema@.event_stats_transfn,
    STYPE = internal,
    SSPACE = 136,
    FINALFUNC = @extschema@.event_stats_final,
    COMBINEFUNC = @extschema@.event_stats_combine,
    SERIALFUNC = @extschema@.event_stats_serialize,
    DESERIALFUNC = @extschema@.event_stats_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.event_stats(@extschema@.event_type, double precision) IS
    'event statistics in one pass, float8[17]: counts of impression, play, start, end, resume, pause, seek, watch, view, error; views with value 3, 5, 10, 30; sum and count of impression values; sum of watch values';

CREATE AGGREGATE @extschema@.event_stats_merge(stats double precision[]) (
    SFUNC = @extschema@.event_stats_merge_transfn,
    STYPE = internal,
    SSPACE = 136,
    FINALFUNC = @extschema@.event_stats_final,
    COMBINEFUNC = @extschema@.event_stats_combine,
    SERIALFUNC = @extschema@.event_stats_serialize,
    DESERIALFUNC = @extschema@.event_stats_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.event_stats_merge(double precision[]) IS
    'sums event statistics arrays (float8[17], as returned by analytics.event_stats) element-wise';

CREATE FUNCTION @extschema@.stats_metric(stats double precision[], metric text,
                                         aggregation text DEFAULT NULL,
                                         view_duration text DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'analytics_stats_metric'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.stats_metric(double precision[], text, text, text) IS
    'one metric (play, play-rate, start, end, impression, impression-time, watch-time, view) from an event statistics array; NULL for an empty denominator';

-- analytics.ccv(started_at, ended_at, watcher, period_from, period_to):
-- {peak, average} concurrent distinct watchers over [period_from, period_to)
CREATE FUNCTION @extschema@.ccv_transfn(internal, timestamptz, timestamptz, uuid, timestamptz, timestamptz)
RETURNS internal
AS 'MODULE_PATHNAME', 'analytics_ccv_transfn_uuid'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ccv_transfn(internal, timestamptz, timestamptz, uuid, timestamptz, timestamptz) IS
    'transition function of analytics.ccv (uuid watchers)';

CREATE FUNCTION @extschema@.ccv_transfn(internal, timestamptz, timestamptz, bigint, timestamptz, timestamptz)
RETURNS internal
AS 'MODULE_PATHNAME', 'analytics_ccv_transfn_bigint'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ccv_transfn(internal, timestamptz, timestamptz, bigint, timestamptz, timestamptz) IS
    'transition function of analytics.ccv (bigint watchers)';

CREATE FUNCTION @extschema@.ccv_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'analytics_ccv_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ccv_combine(internal, internal) IS
    'combine function of analytics.ccv';

CREATE FUNCTION @extschema@.ccv_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'analytics_ccv_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ccv_serialize(internal) IS
    'serialization function of analytics.ccv';

CREATE FUNCTION @extschema@.ccv_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'analytics_ccv_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ccv_deserialize(bytea, internal) IS
    'deserialization function of analytics.ccv';

CREATE FUNCTION @extschema@.ccv_final(internal)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'analytics_ccv_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ccv_final(internal) IS
    'final function of analytics.ccv: {peak, average}';

CREATE AGGREGATE @extschema@.ccv(started_at timestamptz, ended_at timestamptz, watcher uuid,
                                 period_from timestamptz, period_to timestamptz) (
    SFUNC = @extschema@.ccv_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@.ccv_final,
    COMBINEFUNC = @extschema@.ccv_combine,
    SERIALFUNC = @extschema@.ccv_serialize,
    DESERIALFUNC = @extschema@.ccv_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.ccv(timestamptz, timestamptz, uuid, timestamptz, timestamptz) IS
    'concurrent viewers {peak, average} of watch intervals [started_at, ended_at) per distinct session, clipped to [period_from, period_to)';

CREATE AGGREGATE @extschema@.ccv(started_at timestamptz, ended_at timestamptz, watcher bigint,
                                 period_from timestamptz, period_to timestamptz) (
    SFUNC = @extschema@.ccv_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@.ccv_final,
    COMBINEFUNC = @extschema@.ccv_combine,
    SERIALFUNC = @extschema@.ccv_serialize,
    DESERIALFUNC = @extschema@.ccv_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.ccv(timestamptz, timestamptz, bigint, timestamptz, timestamptz) IS
    'concurrent viewers {peak, average} of watch intervals [started_at, ended_at) per distinct viewer, clipped to [period_from, period_to)';

--
-- Time buckets (src/timebucket.c)
--
-- @@ timebucket @@
CREATE FUNCTION @extschema@.time_bucket(bucket text, ts timestamptz, time_zone text DEFAULT 'UTC')
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'analytics_time_bucket'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.time_bucket(text, timestamptz, text) IS
    'start of the minute, hour, day, week (ISO, Monday) or month bucket containing ts, aligned on the wall clock of time_zone (IANA name)';

CREATE FUNCTION @extschema@.time_buckets(bucket text, from_ts timestamptz, to_ts timestamptz,
                                         time_zone text DEFAULT 'UTC')
RETURNS TABLE (bucket_start timestamptz, bucket_end timestamptz)
AS 'MODULE_PATHNAME', 'analytics_time_buckets'
LANGUAGE C STABLE STRICT PARALLEL SAFE
ROWS 100;
COMMENT ON FUNCTION @extschema@.time_buckets(text, timestamptz, timestamptz, text) IS
    'every bucket intersecting [from_ts, to_ts) in order, the first one containing from_ts; at most 10000';

CREATE FUNCTION @extschema@.to_iso8601(ts timestamptz, time_zone text DEFAULT 'UTC')
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_to_iso8601'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.to_iso8601(timestamptz, text) IS
    'ts as YYYY-MM-DDTHH:MM:SS+HH:MM with the offset of time_zone at that instant (fractional seconds dropped)';

CREATE FUNCTION @extschema@.default_interval(from_ts timestamptz, to_ts timestamptz)
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_default_interval'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.default_interval(timestamptz, timestamptz) IS
    'default timeseries interval: hour when to_ts - from_ts <= 2 days, else day';

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
-- @@ query @@

-- raise an invalid-parameter error
CREATE FUNCTION @extschema@._invalid(rest_name text, message text, hint text, detail text DEFAULT NULL)
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

-- what a (context, metric, aggregation) asks for; context: metrics, breakdown, timeseries
CREATE TYPE @extschema@._metric_spec AS (
    kind          text,     -- stats, view_unique, total, ccv_peak, ccv_average, ccv_live
    types         text,     -- fixed SQL predicate on e.event_type
    sm_metric     text,     -- arguments of stats_metric()
    sm_aggregation text,
    view_duration text,
    threshold     double precision,
    is_count      boolean,  -- JSON prints an integer
    empty_value   double precision  -- value of an empty timeseries bucket
);

CREATE FUNCTION @extschema@._spec(context text, metric text, aggregation text,
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

-- the validated filters
CREATE TYPE @extschema@._filter_set AS (
    media_ids          text[],
    media_type         text,
    continents         text[],
    countries          text[],
    device_types       text[],
    operating_systems  text[],
    browsers           text[],
    referrers          text[],
    tag                text
);

-- a filter value: a string, or a non-empty array of strings
CREATE FUNCTION @extschema@._filter_strings(key text, v jsonb, allow_array boolean)
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

CREATE FUNCTION @extschema@._filters(filter_by jsonb, media_only boolean DEFAULT false)
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
CREATE FUNCTION @extschema@._where(f @extschema@._filter_set, projects text[])
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
CREATE FUNCTION @extschema@._projects(project_id text)
RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT CASE WHEN p IS NULL AND s IS NULL THEN NULL
            WHEN p IS NULL THEN ARRAY[s]
            WHEN s IS NULL OR s = p THEN ARRAY[p]
            ELSE ARRAY[NULL::text] END
  FROM (SELECT project_id AS p, nullif(current_setting('analytics.project_id', true), '') AS s) x
$$;

-- the period [from, to) with its defaults, checked against the retention
CREATE FUNCTION @extschema@._period(from_ts timestamptz, to_ts timestamptz, check_retention boolean,
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
CREATE FUNCTION @extschema@._value_expr(s @extschema@._metric_spec, unique_viewers boolean, pfrom text, pto text)
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
CREATE FUNCTION @extschema@._rows_expr(s @extschema@._metric_spec, unique_viewers boolean, pfrom text, pto text)
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

--
-- analytics.metric: one value over a period
--
CREATE FUNCTION @extschema@.metric(metric text, aggregation text,
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
    q := 'SELECT ' || @extschema@._value_expr(s, uv, '$1', '$2') || ' FROM @extschema@.events e WHERE '
         || @extschema@._rows_expr(s, uv, '$1', '$2') || w;
  END IF;
  EXECUTE q INTO result
    USING pf, pt, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
          f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
          s.sm_metric, s.sm_aggregation, s.view_duration, NULL::text, NULL::text;
  IF s.kind LIKE 'ccv%' THEN
    result := coalesce(result, 0);
  END IF;
  RETURN result;
END $$;
COMMENT ON FUNCTION @extschema@.metric(text, text, timestamptz, timestamptz, jsonb, boolean, text, text) IS
    'one metric over the period [from_ts, to_ts) (default: the last 24 hours)';

--
-- analytics.breakdown: one metric per value of a dimension
--
CREATE FUNCTION @extschema@.breakdown(metric text, breakdown text,
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
  dim text;
  ord text;
  q text;
BEGIN
  dim := CASE breakdown
    WHEN 'media-id' THEN 'e.media_id'
    WHEN 'media-type' THEN 'e.media_type::text'
    WHEN 'continent' THEN 'e.continent::text'
    WHEN 'country' THEN 'e.country'
    WHEN 'device-type' THEN 'e.device_type::text'
    WHEN 'operating-system' THEN 'e.operating_system'
    WHEN 'browser' THEN 'e.browser'
    WHEN 'referrer' THEN 'e.referrer'
  END;
  IF dim IS NULL THEN
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

  ord := CASE WHEN sort_by = 'metricValue' AND sort_order = 'desc' THEN 'metric_value DESC NULLS LAST, dimension_value COLLATE "C"'
              WHEN sort_by = 'metricValue' THEN 'metric_value ASC NULLS FIRST, dimension_value COLLATE "C"'
              WHEN sort_order = 'desc' THEN 'dimension_value COLLATE "C" DESC'
              ELSE 'dimension_value COLLATE "C"' END;

  IF s.kind = 'total' THEN
    q := 'SELECT s.media_id AS dimension_value, sum(s.n)::double precision AS metric_value FROM ('
         'SELECT e.media_id, e.plays AS n FROM @extschema@.play_totals e WHERE true' || w ||
         ' UNION ALL SELECT e.media_id, count(*) FROM @extschema@.events e WHERE e.event_type = ''play''' || w ||
         ' GROUP BY 1) s GROUP BY 1';
  ELSE
    q := 'SELECT coalesce(' || dim || ', ''unknown'') AS dimension_value, '
         || @extschema@._value_expr(s, uv, '$1', '$2') || ' AS metric_value FROM @extschema@.events e WHERE '
         || @extschema@._rows_expr(s, uv, '$1', '$2') || w || ' GROUP BY 1';
  END IF;
  RETURN QUERY EXECUTE 'SELECT dimension_value, metric_value FROM (' || q || ') r ORDER BY ' || ord
    USING pf, pt, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
          f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
          s.sm_metric, s.sm_aggregation, s.view_duration, NULL::text, NULL::text;
END $$;
COMMENT ON FUNCTION @extschema@.breakdown(text, text, timestamptz, timestamptz, jsonb, text, text, text, boolean, text, text) IS
    'one metric per value of a dimension over the period [from_ts, to_ts)';

--
-- analytics.timeseries: one metric per time bucket, every bucket present
--
CREATE FUNCTION @extschema@.timeseries(metric text,
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
    q := 'SELECT b.bucket_start, coalesce(v.metric_value, $19) AS metric_value'
         ' FROM @extschema@.time_buckets($17, $1, $2, $18) b LEFT JOIN ('
         'SELECT @extschema@.time_bucket($17, e.emitted_at, $18) AS bucket_start, '
         || @extschema@._value_expr(s, uv, '$1', '$2') || ' AS metric_value FROM @extschema@.events e WHERE '
         || @extschema@._rows_expr(s, uv, '$1', '$2') || w || ' GROUP BY 1) v USING (bucket_start)';
  END IF;
  RETURN QUERY EXECUTE 'SELECT bucket_start, metric_value FROM (' || q || ') r ORDER BY ' || ord
    USING p.from_out, p.to_out, projects, f.media_ids, f.media_type, f.continents, f.countries, f.device_types,
          f.operating_systems, f.browsers, f.referrers, f.tag, s.threshold,
          s.sm_metric, s.sm_aggregation, s.view_duration, bucket, tz, s.empty_value;
END $$;
COMMENT ON FUNCTION @extschema@.timeseries(text, timestamptz, timestamptz, text, jsonb, text, text, text, text, boolean, text, text) IS
    'one metric per time bucket of the period [from_ts, to_ts), empty buckets included';

--
-- JSON API (README: "Querying: the JSON API"): bodies an API server returns as they are
--

-- counts as JSON integers; NULL (empty denominator) as 0
CREATE FUNCTION @extschema@._json_number(v double precision, is_count boolean)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN v IS NULL OR v = 'NaN'::double precision THEN '0'::jsonb
            WHEN is_count THEN to_jsonb(round(v)::bigint)
            ELSE to_jsonb(v) END
$$;

CREATE FUNCTION @extschema@._timeframe(from_ts timestamptz, to_ts timestamptz, time_zone text DEFAULT 'UTC')
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT jsonb_build_object('from', @extschema@.to_iso8601(from_ts, time_zone),
                          'to', @extschema@.to_iso8601(to_ts, time_zone))
$$;

-- one page of items, and the pagination object with its links
CREATE FUNCTION @extschema@._paginate(items jsonb, current_page integer, page_size integer,
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

CREATE FUNCTION @extschema@._route(uri text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'analytics_route'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@._link(path text, params text[], current_page bigint, page_size bigint)
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_link'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.api_metrics(metric text, aggregation text,
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

CREATE FUNCTION @extschema@._api_buckets(metric text, breakdown text, from_ts timestamptz, to_ts timestamptz,
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

CREATE FUNCTION @extschema@.api_buckets(metric text, breakdown text,
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

CREATE FUNCTION @extschema@._api_timeseries(metric text, from_ts timestamptz, to_ts timestamptz, "interval" text,
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

CREATE FUNCTION @extschema@.api_timeseries(metric text,
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

-- RFC 7807 problem bodies
CREATE FUNCTION @extschema@._problem(status integer, name text DEFAULT NULL, detail text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN status = 404 THEN
         jsonb_build_object('type', 'about:blank', 'title', 'Not Found', 'status', 404)
       ELSE
         jsonb_build_object('type', 'about:blank', 'title', 'Bad Request', 'status', status,
                            'detail', coalesce(detail, 'The request is invalid.'), 'name', coalesce(name, 'uri'))
       END
$$;

-- a REST timestamp: YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM|-HH:MM)
CREATE FUNCTION @extschema@._rest_timestamp(name text, v text)
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

CREATE FUNCTION @extschema@._rest_integer(name text, v text)
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

--
-- analytics.api_request: the REST API in one call; never raises for client input
--
CREATE FUNCTION @extschema@.api_request(uri text, project_id text DEFAULT NULL,
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
    status := 200;
  EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
    GET STACKED DIAGNOSTICS err_name = COLUMN_NAME, err_message = MESSAGE_TEXT, err_hint = PG_EXCEPTION_HINT;
    status := 400;
    body := @extschema@._problem(400, nullif(err_name, ''),
                                 err_message || CASE WHEN coalesce(err_hint, '') <> '' THEN '. ' || err_hint ELSE '' END);
  END;
END $$;
COMMENT ON FUNCTION @extschema@.api_request(text, text) IS
    'answers a REST call (path and query string): status 200 with the body, 400 or 404 with an RFC 7807 problem';
