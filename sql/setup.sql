-- The extension installs into schema analytics with its tables, and with
-- only the default partition until maintenance runs.
CREATE EXTENSION analytics;
SELECT extname, extversion, extnamespace::regnamespace FROM pg_extension WHERE extname = 'analytics';
SELECT c.relname, c.relkind
  FROM pg_class c WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind IN ('r', 'p')
 ORDER BY 1;
SELECT partition, from_ts, to_ts, is_default FROM analytics.partitions();
SELECT analytics.retention();
-- settings are typed, the prefix is reserved
SHOW analytics.premake_days;
SHOW analytics.maintenance_interval;
SHOW analytics.maintenance_lock_timeout;
SET analytics.no_such_setting = 1;
