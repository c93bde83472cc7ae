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
-- lifetime play totals survive retention (SPEC 3.3)
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
