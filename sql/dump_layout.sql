-- What a dump and restore relies on (README "Backup and restore"; the round
-- trip itself is test/dump_restore.sh): each partition of analytics.events
-- has its own BRIN index on emitted_at and the parent has none (a
-- partitioned index of the extension made ATTACH PARTITION in a restore
-- build the index the dump creates next); the extension's tables holding
-- state are dumped; a restored viewer id key replaces the generated one; a
-- restoring session keeps maintenance away. Runs in a database of its own,
-- upgraded from 0.5, so that the migration of existing installs is checked.
CREATE DATABASE analytics_dump_layout;
\c analytics_dump_layout
SET TimeZone = 'UTC';
SET client_min_messages = warning;
SET analytics.maintenance_in_worker = off;
CREATE EXTENSION analytics VERSION '0.5';
SELECT analytics.run_maintenance()->'deferred' AS deferred;
CREATE TABLE analytics.events_hand PARTITION OF analytics.events
  FOR VALUES FROM ('2001-01-01 00:00+00') TO ('2001-01-02 00:00+00') USING analytics_heap;
-- the upgrade: the parent's partitioned index goes, each partition gets its own
ALTER EXTENSION analytics UPDATE TO '0.6';
-- each leaf partition's BRIN indexes on emitted_at (and nothing on the parent)
CREATE FUNCTION pg_temp.brin_layout() RETURNS TABLE (leaves bigint, with_one_brin bigint, parent_indexes bigint)
LANGUAGE sql AS $$
  SELECT count(*), count(*) FILTER (WHERE n = 1),
         (SELECT count(*) FROM pg_index WHERE indrelid = 'analytics.events'::regclass)
    FROM (SELECT t.relid, (SELECT count(*) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                            JOIN pg_am a ON a.oid = i.relam
                           WHERE x.indrelid = t.relid AND a.amname = 'brin'
                             AND pg_get_indexdef(i.oid) LIKE '%USING brin (emitted_at) WITH (pages_per_range=''16'', autosummarize=''on'')') AS n
            FROM pg_partition_tree('analytics.events') t WHERE t.isleaf) s $$;
SELECT * FROM pg_temp.brin_layout();
-- new partitions: by maintenance, by hand, attached
INSERT INTO analytics.events (emitted_at, event_type, media_id) VALUES (now() + interval '20 days', 'play', 'm');
SELECT (analytics.run_maintenance()->>'rows_moved')::int AS moved;
CREATE TABLE analytics.events_hand2 PARTITION OF analytics.events
  FOR VALUES FROM ('2001-01-02 00:00+00') TO ('2001-01-03 00:00+00') USING analytics_heap;
CREATE TABLE analytics.events_att (LIKE analytics.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS) USING analytics_heap;
ALTER TABLE analytics.events ATTACH PARTITION analytics.events_att
  FOR VALUES FROM ('2001-01-03 00:00+00') TO ('2001-01-04 00:00+00');
SELECT * FROM pg_temp.brin_layout();
-- an index of one's own is kept as it is (no second one)
CREATE TABLE analytics.events_own (LIKE analytics.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS) USING analytics_heap;
CREATE INDEX events_own_brin ON analytics.events_own USING brin (emitted_at) WITH (pages_per_range = 16, autosummarize = on);
ALTER TABLE analytics.events ATTACH PARTITION analytics.events_own
  FOR VALUES FROM ('2001-01-06 00:00+00') TO ('2001-01-07 00:00+00');
SELECT count(*) AS own_indexes FROM pg_index WHERE indrelid = 'analytics.events_own'::regclass;
-- in a restoring session (row_security = off, as in pg_dump's scripts) the
-- dump creates the index itself, after attaching: the trigger leaves it
SET row_security = off;
CREATE TABLE analytics.events_restored PARTITION OF analytics.events
  FOR VALUES FROM ('2001-01-07 00:00+00') TO ('2001-01-08 00:00+00') USING analytics_heap;
SELECT count(*) AS restored_indexes FROM pg_index WHERE indrelid = 'analytics.events_restored'::regclass;
RESET row_security;
DROP TABLE analytics.events_restored;

-- the tables pg_dump dumps (data only, filter '': all rows); the others are
-- derived (rollups, pending marks) or rebuilt by the restore (rollup_partitions)
SELECT unnest(extconfig)::regclass AS dumped, unnest(extcondition) AS filter
  FROM pg_extension WHERE extname = 'analytics' ORDER BY 1::text;
SELECT count(*) AS extension_sequences
  FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'analytics') AND c.relkind = 'S';

-- a restored viewer id key replaces the one CREATE EXTENSION generated
SELECT md5(value) AS old_key FROM analytics.secrets \gset
INSERT INTO analytics.secrets (name, value) VALUES ('viewer_id', '\x000102030405060708090a0b0c0d0e0f');
SELECT count(*), md5(value) <> :'old_key' AS replaced FROM analytics.secrets GROUP BY 2;

-- a session restoring a dump holds the restore lock from CREATE EXTENSION
-- until it disconnects: maintenance from other sessions skips the database
\c contrib_regression
DROP DATABASE analytics_dump_layout;
CREATE DATABASE analytics_dump_layout;
\c analytics_dump_layout
SET row_security = off;
CREATE EXTENSION analytics;
RESET row_security;
SELECT count(*) AS restore_lock FROM pg_locks
 WHERE locktype = 'advisory' AND classid = 6385249 AND objid = 9 AND pid = pg_backend_pid() AND granted;
-- (another session's maintenance skips the database: test/dump_restore.sh)
SET analytics.maintenance_in_worker = off;
-- run_maintenance() in the restoring session itself: it is not restoring
-- after all; the lock goes and maintenance runs
SELECT r ? 'skipped' AS skipped, jsonb_array_length(r->'partitions_created') AS created FROM analytics.run_maintenance() r;
SELECT count(*) AS restore_lock FROM pg_locks
 WHERE locktype = 'advisory' AND classid = 6385249 AND objid = 9 AND granted;
\c contrib_regression
DROP DATABASE analytics_dump_layout;
