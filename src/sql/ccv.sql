-- analytics: concurrent viewers, the aggregates ccv and _ccv_series (src/ccv.c)

-- analytics.ccv(started_at, ended_at, watcher, period_from, period_to):
-- {peak, average} concurrent distinct watchers over [period_from, period_to)
CREATE OR REPLACE FUNCTION @extschema@.ccv_transfn(internal, timestamptz, timestamptz, uuid, timestamptz, timestamptz)
RETURNS internal
AS 'MODULE_PATHNAME', 'analytics_ccv_transfn_uuid'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ccv_transfn(internal, timestamptz, timestamptz, uuid, timestamptz, timestamptz) IS
    'transition function of analytics.ccv (uuid watchers)';

CREATE OR REPLACE FUNCTION @extschema@.ccv_transfn(internal, timestamptz, timestamptz, bigint, timestamptz, timestamptz)
RETURNS internal
AS 'MODULE_PATHNAME', 'analytics_ccv_transfn_bigint'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ccv_transfn(internal, timestamptz, timestamptz, bigint, timestamptz, timestamptz) IS
    'transition function of analytics.ccv (bigint watchers)';

CREATE OR REPLACE FUNCTION @extschema@.ccv_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'analytics_ccv_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ccv_combine(internal, internal) IS
    'combine function of analytics.ccv';

CREATE OR REPLACE FUNCTION @extschema@.ccv_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'analytics_ccv_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ccv_serialize(internal) IS
    'serialization function of analytics.ccv';

CREATE OR REPLACE FUNCTION @extschema@.ccv_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'analytics_ccv_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ccv_deserialize(bytea, internal) IS
    'deserialization function of analytics.ccv';

CREATE OR REPLACE FUNCTION @extschema@.ccv_final(internal)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'analytics_ccv_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ccv_final(internal) IS
    'final function of analytics.ccv: {peak, average}';

CREATE OR REPLACE AGGREGATE @extschema@.ccv(started_at timestamptz, ended_at timestamptz, watcher uuid,
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

CREATE OR REPLACE AGGREGATE @extschema@.ccv(started_at timestamptz, ended_at timestamptz, watcher bigint,
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

-- A watch event is the interval [emitted_at - value s, emitted_at) of its
-- session (of its viewer with unique viewers). analytics._ccv_series(started,
-- ended, watcher, bounds) gives {peak, average} of every cell
-- [bounds[i], bounds[i+1]) from one sort and one sweep (src/ccv.c): a
-- timeseries costs events * log(events) + buckets, not events * buckets.
CREATE OR REPLACE FUNCTION @extschema@._ccv_series_transfn(internal, timestamptz, timestamptz, uuid, timestamptz[])
RETURNS internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'analytics_ccv_series_transfn_uuid';

COMMENT ON FUNCTION @extschema@._ccv_series_transfn(internal, timestamptz, timestamptz, uuid, timestamptz[]) IS
    'transition function of analytics._ccv_series (uuid watchers)';
CREATE OR REPLACE FUNCTION @extschema@._ccv_series_transfn(internal, timestamptz, timestamptz, bigint, timestamptz[])
RETURNS internal LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'analytics_ccv_series_transfn_bigint';

COMMENT ON FUNCTION @extschema@._ccv_series_transfn(internal, timestamptz, timestamptz, bigint, timestamptz[]) IS
    'transition function of analytics._ccv_series (bigint watchers)';
CREATE OR REPLACE FUNCTION @extschema@._ccv_series_final(internal)
RETURNS double precision[] LANGUAGE c PARALLEL SAFE
AS 'MODULE_PATHNAME', 'analytics_ccv_series_final';

COMMENT ON FUNCTION @extschema@._ccv_series_final(internal) IS
    'final function of analytics._ccv_series: {peak, average} of each cell';
CREATE OR REPLACE AGGREGATE @extschema@._ccv_series(started_at timestamptz, ended_at timestamptz, watcher uuid, bounds timestamptz[]) (
    SFUNC = @extschema@._ccv_series_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@._ccv_series_final,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE @extschema@._ccv_series(timestamptz, timestamptz, uuid, timestamptz[]) IS
    'concurrent viewers of each cell [bounds[i], bounds[i+1]): {peak_1, average_1, peak_2, ...} in one sweep';
CREATE OR REPLACE AGGREGATE @extschema@._ccv_series(started_at timestamptz, ended_at timestamptz, watcher bigint, bounds timestamptz[]) (
    SFUNC = @extschema@._ccv_series_transfn,
    STYPE = internal,
    FINALFUNC = @extschema@._ccv_series_final,
    PARALLEL = SAFE
);

COMMENT ON AGGREGATE @extschema@._ccv_series(timestamptz, timestamptz, bigint, timestamptz[]) IS
    'concurrent viewers of each cell [bounds[i], bounds[i+1]): {peak_1, average_1, peak_2, ...} in one sweep';
