-- With the library in shared_preload_libraries, the launcher runs
-- maintenance by itself in the databases of analytics.maintenance_databases
-- (make test starts the cluster with analytics.maintenance_interval = 1s).
SELECT count(*) AS launchers FROM pg_stat_activity WHERE backend_type = 'analytics launcher';

CREATE DATABASE analytics_worker_test;
\c analytics_worker_test
SET TimeZone = 'UTC';
CREATE EXTENSION analytics;
CREATE TABLE analytics.events_old PARTITION OF analytics.events
  FOR VALUES FROM (date_trunc('day', now() - interval '40 days')) TO (date_trunc('day', now() - interval '39 days')) USING analytics_heap;
INSERT INTO analytics.events (emitted_at, event_type, media_id)
SELECT date_trunc('day', now() - interval '40 days') + interval '1 hour', 'play', 'vi1' FROM generate_series(1, 5);

-- a database that does not exist comes first: its run fails, the next runs
ALTER SYSTEM SET analytics.maintenance_databases = 'analytics_no_such_db, analytics_worker_test';
SELECT pg_reload_conf();

-- wait (at most 60 s) for the worker to drop the expired partition
DO $$
DECLARE i int := 0;
BEGIN
  WHILE EXISTS (SELECT 1 FROM pg_class WHERE relname = 'events_old') AND i < 600 LOOP
    PERFORM pg_sleep(0.1);
    i := i + 1;
  END LOOP;
END $$;
SELECT to_regclass('analytics.events_old') IS NULL AS dropped_by_worker;
SELECT media_id, plays FROM analytics.play_totals;
-- and it created the partitions ahead
DO $$
DECLARE i int := 0;
BEGIN
  WHILE (SELECT count(*) FROM analytics.partitions() WHERE NOT is_default) < 8 AND i < 600 LOOP
    PERFORM pg_sleep(0.1);
    i := i + 1;
  END LOOP;
END $$;
SELECT count(*) >= 8 AS created_ahead FROM analytics.partitions() WHERE NOT is_default;

ALTER SYSTEM RESET analytics.maintenance_databases;
SELECT pg_reload_conf();

-- SIGTERM stops the launcher promptly; the postmaster restarts it
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'analytics launcher';
DO $$
DECLARE i int := 0;
BEGIN
  WHILE EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'analytics launcher') AND i < 50 LOOP
    PERFORM pg_sleep(0.1);
    i := i + 1;
  END LOOP;
END $$;
SELECT count(*) AS launchers_after_sigterm FROM pg_stat_activity WHERE backend_type = 'analytics launcher';
DO $$
DECLARE i int := 0;
BEGIN
  WHILE NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'analytics launcher') AND i < 300 LOOP
    PERFORM pg_sleep(0.1);
    i := i + 1;
  END LOOP;
END $$;
SELECT count(*) AS launchers_restarted FROM pg_stat_activity WHERE backend_type = 'analytics launcher';

\c contrib_regression
DROP DATABASE analytics_worker_test WITH (FORCE);
