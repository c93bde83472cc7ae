-- analytics: time buckets in IANA time zones (src/timebucket.c)

--
-- Time buckets (src/timebucket.c)
--
CREATE OR REPLACE FUNCTION @extschema@.time_bucket(bucket text, ts timestamptz, time_zone text DEFAULT 'UTC')
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'analytics_time_bucket'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.time_bucket(text, timestamptz, text) IS
    'start of the minute, hour, day, week (ISO, Monday) or month bucket containing ts, aligned on the wall clock of time_zone (IANA name)';

CREATE OR REPLACE FUNCTION @extschema@.time_buckets(bucket text, from_ts timestamptz, to_ts timestamptz,
                                         time_zone text DEFAULT 'UTC')
RETURNS TABLE (bucket_start timestamptz, bucket_end timestamptz)
AS 'MODULE_PATHNAME', 'analytics_time_buckets'
LANGUAGE C STABLE STRICT PARALLEL SAFE
ROWS 100;

COMMENT ON FUNCTION @extschema@.time_buckets(text, timestamptz, timestamptz, text) IS
    'every bucket intersecting [from_ts, to_ts) in order, the first one containing from_ts; at most 10000';

CREATE OR REPLACE FUNCTION @extschema@.to_iso8601(ts timestamptz, time_zone text DEFAULT 'UTC')
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_to_iso8601'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.to_iso8601(timestamptz, text) IS
    'ts as YYYY-MM-DDTHH:MM:SS+HH:MM with the offset of time_zone at that instant (fractional seconds dropped)';

CREATE OR REPLACE FUNCTION @extschema@.default_interval(from_ts timestamptz, to_ts timestamptz)
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_default_interval'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.default_interval(timestamptz, timestamptz) IS
    'default timeseries interval: hour when to_ts - from_ts <= 2 days, else day';
