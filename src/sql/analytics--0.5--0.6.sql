-- analytics 0.5 -> 0.6: hardening against hostile tenants, anonymous players
-- and routine operations (see the README: Tenancy, Ingesting, Retention and
-- maintenance, Operations).

\echo Use "ALTER EXTENSION analytics UPDATE TO '0.6'" to load this file. \quit

-- Each section below belongs to one concern; keep additions inside it.

-- @@ tenancy: every partition secured, policies the planner can index @@



-- @@ maintenance: the accepted range of emitted_at, fault isolation, short drops @@



-- @@ ingest: events_import, bounded pings, tolerant headers @@



-- @@ concurrent viewers in one sweep; a bound on one call's work @@



-- @@ dump and restore @@
--
-- pg_dump and pg_restore of a database with the extension (README:
-- "Backup and restore"). A restore runs CREATE EXTENSION, which creates the
-- extension's own tables empty, then the dump's own objects and rows.
--
-- 1. The BRIN index on emitted_at belongs to each partition, not to the
--    parent. A partitioned index on analytics.events (a table of the
--    extension, created by CREATE EXTENSION before the dump's partitions)
--    made every ATTACH PARTITION of a restore build the partition's index,
--    and the dump's own CREATE INDEX of it then failed ("relation ... already
--    exists"). Maintenance gives each partition it creates its index before
--    attaching it; the event trigger below gives one to partitions made by
--    hand; events_default has its own (created here, so by CREATE EXTENSION).
--    An existing install: the partitioned index goes, each partition gets a
--    plain BRIN index with the same name, method and options.
DROP INDEX IF EXISTS @extschema@.events_emitted_at_brin;
DO $$
DECLARE
  p regclass;
BEGIN
  FOR p IN SELECT t.relid FROM pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t
            WHERE t.isleaf ORDER BY 1 LOOP
    EXECUTE pg_catalog.format('CREATE INDEX ON %s USING brin (emitted_at) WITH (pages_per_range = 16, autosummarize = on)', p);
  END LOOP;
END $$;

-- Whether this session is restoring a dump: pg_dump's scripts and
-- pg_restore run with row_security = off (so that no row of a table with
-- row-level security is skipped silently); applications do not.
CREATE FUNCTION @extschema@._restoring()
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_catalog.current_setting('row_security') OPERATOR(pg_catalog.=) 'off' $$;
COMMENT ON FUNCTION @extschema@._restoring() IS
    'true in a session that restores a dump (row_security = off, as pg_dump''s scripts and pg_restore set it): DDL triggers then leave to the dump what it restores itself';

-- A partition of analytics.events without a BRIN index on emitted_at gets
-- one (CREATE TABLE ... PARTITION OF, ATTACH PARTITION, a sub-partition),
-- except in a restore: the dump creates the index itself, after attaching.
CREATE FUNCTION @extschema@._events_brin()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p regclass;
BEGIN
  IF @extschema@._restoring() OR pg_catalog.to_regclass('@extschema@.events') IS NULL THEN
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger_ddl_commands() c,
                               pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t
                  WHERE c.classid = 'pg_catalog.pg_class'::regclass AND c.objid = t.relid) THEN
    RETURN;
  END IF;
  FOR p IN SELECT t.relid FROM pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t
            WHERE t.isleaf
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index x
                                JOIN pg_catalog.pg_class ic ON ic.oid = x.indexrelid
                                JOIN pg_catalog.pg_am a ON a.oid = ic.relam
                                JOIN pg_catalog.pg_attribute att ON att.attrelid = x.indrelid AND att.attnum = x.indkey[0]
                               WHERE x.indrelid = t.relid AND a.amname = 'brin' AND att.attname = 'emitted_at')
            ORDER BY 1 LOOP
    EXECUTE pg_catalog.format('CREATE INDEX ON %s USING brin (emitted_at) WITH (pages_per_range = 16, autosummarize = on)', p);
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION @extschema@._events_brin() FROM PUBLIC;
CREATE EVENT TRIGGER analytics_events_brin ON ddl_command_end
  WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
  EXECUTE FUNCTION @extschema@._events_brin();

-- 2. What pg_dump dumps of the extension's tables. Dumped (user data, or
--    state that cannot be rebuilt): events_default, media, play_totals,
--    settings, project_grants (since 0.1/0.2), and now ping_sessions (the
--    state of playbacks in progress) and secrets (the viewer id key: without
--    it a viewer pinged before and after a restore counts twice). Rebuilt,
--    not dumped: the rollups and rollup_pending (every restored row marks its
--    hour pending, and maintenance re-aggregates it), rollup_partitions (the
--    event trigger lists each partition as the restore attaches it).
--    No sequences: every table of the extension has a natural key.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ping_sessions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.secrets', '');

-- CREATE EXTENSION generates a viewer id key; the restored row must win over
-- it, not fail on the primary key: a row inserted under an existing name
-- replaces it.
CREATE FUNCTION @extschema@._secrets_replace()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  DELETE FROM @extschema@.secrets s WHERE s.name OPERATOR(pg_catalog.=) NEW.name;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION @extschema@._secrets_replace() FROM PUBLIC;
CREATE TRIGGER secrets_replace BEFORE INSERT ON @extschema@.secrets
    FOR EACH ROW EXECUTE FUNCTION @extschema@._secrets_replace();

-- 3. No maintenance on a half-restored database. A plain-format restore
--    commits statement by statement: between CREATE EXTENSION and the last
--    row, maintenance would create partitions the dump is about to create,
--    or drop and archive partitions under the default retention before the
--    dump's setting arrives. A restoring session (see _restoring) holds the
--    session-level advisory lock (6385249, 9) from CREATE EXTENSION until it
--    disconnects; maintenance skips the database while another session
--    holds it (src/maintenance.c). run_maintenance() in the session itself
--    releases it.
DO $$
BEGIN
  IF @extschema@._restoring() THEN
    PERFORM pg_catalog.pg_advisory_lock(6385249, 9);
  END IF;
END $$;



-- @@ search_path: every function of the extension pinned (keep this section last) @@

