-- analytics: event statistics, the aggregates every event metric reads (src/stats.c)

--
-- Metric aggregates (src/stats.c, src/ccv.c)
--
-- analytics.event_stats(event_type, value): everything the event metrics
-- need, in one pass, as a float8[17]:
--   [1..10]  counts of impression, play, start, end, resume, pause, seek,
--            watch, view, error
--   [11..14] view events whose value is 3, 5, 10, 30
--   [15]     sum of impression values   [16] number of non-NULL impression values
--   [17]     sum of watch values
-- 17 zeros for no rows. analytics.event_stats_merge sums such arrays;
-- analytics.stats_metric turns one into a metric.
CREATE OR REPLACE FUNCTION @extschema@.event_stats_transfn(internal, @extschema@.event_type, double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'analytics_event_stats_transfn'
LANGUAGE C STABLE PARALLEL SAFE;
  -- maps enum values by label, read from pg_enum
COMMENT ON FUNCTION @extschema@.event_stats_transfn(internal, @extschema@.event_type, double precision) IS
    'transition function of analytics.event_stats';

CREATE OR REPLACE FUNCTION @extschema@.event_stats_merge_transfn(internal, double precision[])
RETURNS internal
AS 'MODULE_PATHNAME', 'analytics_event_stats_merge_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.event_stats_merge_transfn(internal, double precision[]) IS
    'transition function of analytics.event_stats_merge';

CREATE OR REPLACE FUNCTION @extschema@.event_stats_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'analytics_event_stats_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.event_stats_combine(internal, internal) IS
    'combine function of analytics.event_stats and analytics.event_stats_merge';

CREATE OR REPLACE FUNCTION @extschema@.event_stats_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'analytics_event_stats_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.event_stats_serialize(internal) IS
    'serialization function of analytics.event_stats and analytics.event_stats_merge';

CREATE OR REPLACE FUNCTION @extschema@.event_stats_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'analytics_event_stats_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.event_stats_deserialize(bytea, internal) IS
    'deserialization function of analytics.event_stats and analytics.event_stats_merge';

CREATE OR REPLACE FUNCTION @extschema@.event_stats_final(internal)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'analytics_event_stats_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.event_stats_final(internal) IS
    'final function of analytics.event_stats and analytics.event_stats_merge';

CREATE OR REPLACE AGGREGATE @extschema@.event_stats(event_type @extschema@.event_type, value double precision) (
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

CREATE OR REPLACE AGGREGATE @extschema@.event_stats_merge(stats double precision[]) (
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

CREATE OR REPLACE FUNCTION @extschema@.stats_metric(stats double precision[], metric text,
                                         aggregation text DEFAULT NULL,
                                         view_duration text DEFAULT NULL)
RETURNS double precision
AS 'MODULE_PATHNAME', 'analytics_stats_metric'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.stats_metric(double precision[], text, text, text) IS
    'one metric (play, play-rate, start, end, impression, impression-time, watch-time, view) from an event statistics array; NULL for an empty denominator';

-- A partial hour at an end of the period that is more than half inside it is
-- read as its hour rows minus the raw events of the rest of the hour
-- (event_stats_negate): at most 30 minutes of raw events per end instead of
-- up to an hour. Every statistic is a count or a sum, so the difference is
-- the same (counts exactly; sums up to rounding, as any other order of
-- addition).
CREATE OR REPLACE FUNCTION @extschema@.event_stats_negate(stats double precision[])
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'analytics_event_stats_negate'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.event_stats_negate(double precision[]) IS
    'an event statistics array with every element negated (merged, it takes those events out again)';

-- Unique viewers: sets of viewer ids (src/viewers.c; README "Derived data:
-- rollups"). _viewers_count counts the distinct ids of bigint[] rows (NULL
-- elements left out; 0 for no rows), _viewers_union returns them sorted
-- (NULL when every array is NULL).
CREATE OR REPLACE FUNCTION @extschema@._viewers_transfn(internal, bigint[])
RETURNS internal
AS 'MODULE_PATHNAME', 'analytics_viewers_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@._viewers_transfn(internal, bigint[]) IS
    'transition function of analytics._viewers_count and analytics._viewers_union';

CREATE OR REPLACE FUNCTION @extschema@._viewers_count_final(internal)
RETURNS bigint
AS 'MODULE_PATHNAME', 'analytics_viewers_count_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@._viewers_count_final(internal) IS
    'final function of analytics._viewers_count';

CREATE OR REPLACE FUNCTION @extschema@._viewers_union_final(internal)
RETURNS bigint[]
AS 'MODULE_PATHNAME', 'analytics_viewers_union_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@._viewers_union_final(internal) IS
    'final function of analytics._viewers_union';

CREATE OR REPLACE AGGREGATE @extschema@._viewers_count(viewers bigint[]) (
    SFUNC = @extschema@._viewers_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@._viewers_count_final,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE @extschema@._viewers_count(bigint[]) IS
    'how many distinct non-NULL ids the bigint[] rows hold together (exact; 0 for no rows)';

CREATE OR REPLACE AGGREGATE @extschema@._viewers_union(viewers bigint[]) (
    SFUNC = @extschema@._viewers_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@._viewers_union_final,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE @extschema@._viewers_union(bigint[]) IS
    'the distinct non-NULL ids of the bigint[] rows, ascending; NULL when every array is NULL';

-- Sums per dimension value in one value (src/valuesums.c; README "Scaling
-- out (Citus)"): a breakdown of a count over every project on Citus, where
-- each project's groups are summed into one value on its shard, those of a
-- shard merged there (the aggregate _value_sums_merge has a real transition
-- type and a combine function: Citus pushes it down) and the coordinator
-- merges one value per shard instead of a row per group and shard. While
-- aggregating, the state is an expanded object (a hash table), flattened
-- once when it leaves the aggregate, into text (each value behind its
-- length, each sum after it). Rows with a NULL value or n are skipped; NULL
-- for no rows.
CREATE OR REPLACE FUNCTION @extschema@._value_sums_transfn(text, text, double precision)
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_value_sums_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@._value_sums_transfn(text, text, double precision) IS
    'transition function of analytics._value_sums';

CREATE OR REPLACE FUNCTION @extschema@._value_sums_combine(text, text)
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_value_sums_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@._value_sums_combine(text, text) IS
    'combine function of analytics._value_sums and analytics._value_sums_merge, transition function of the latter';

CREATE OR REPLACE FUNCTION @extschema@._value_sums_final(text)
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_value_sums_final'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@._value_sums_final(text) IS
    'final function of analytics._value_sums and analytics._value_sums_merge';

CREATE OR REPLACE AGGREGATE @extschema@._value_sums(value text, n double precision) (
    SFUNC = @extschema@._value_sums_transfn,
    STYPE = text,
    FINALFUNC = @extschema@._value_sums_final,
    COMBINEFUNC = @extschema@._value_sums_combine,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE @extschema@._value_sums(text, double precision) IS
    'the sum of n per value, every group in one value (read by the query functions)';

CREATE OR REPLACE AGGREGATE @extschema@._value_sums_merge(sums text) (
    SFUNC = @extschema@._value_sums_combine,
    STYPE = text,
    FINALFUNC = @extschema@._value_sums_final,
    COMBINEFUNC = @extschema@._value_sums_combine,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE @extschema@._value_sums_merge(text) IS
    'merges results of analytics._value_sums (the sums of each value added)';
