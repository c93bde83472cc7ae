-- analytics: dump and restore (README: "Backup and restore")
--
-- A restore runs CREATE EXTENSION, which creates the extension's own tables
-- empty, then the dump's own objects and rows. What pg_dump dumps of the
-- extension's tables: schema.sql (pg_extension_config_dump). The BRIN index
-- on emitted_at belongs to each partition, not to the parent (a partitioned
-- index made every ATTACH PARTITION of a restore build the partition's
-- index, and the dump's own CREATE INDEX of it then failed): schema.sql
-- gives events_default its own, maintenance one to each partition it
-- creates, the event trigger _events_brin (maintenance.sql) one to each
-- partition made by hand.

-- Whether this session is restoring a dump: pg_dump's scripts and
-- pg_restore run with row_security = off (so that no row of a table with
-- row-level security is skipped silently); applications do not.
CREATE OR REPLACE FUNCTION @extschema@._restoring()
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_catalog.current_setting('row_security') OPERATOR(pg_catalog.=) 'off' $$;

COMMENT ON FUNCTION @extschema@._restoring() IS
    'true in a session that restores a dump (row_security = off, as pg_dump''s scripts and pg_restore set it): DDL triggers then leave to the dump what it restores itself';

-- CREATE EXTENSION generates a viewer id key; the restored row must win over
-- it, not fail on the primary key: a row inserted under an existing name
-- replaces it.
CREATE OR REPLACE FUNCTION @extschema@._secrets_replace()
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

-- No maintenance on a half-restored database. A plain-format restore
-- commits statement by statement: between CREATE EXTENSION and the last
-- row, maintenance would create partitions the dump is about to create, or
-- drop and archive partitions under the default retention before the dump's
-- setting arrives. A restoring session (see _restoring) holds the
-- session-level advisory lock (6385249, 9) from CREATE EXTENSION until it
-- disconnects; maintenance skips the database while another session holds
-- it (src/maintenance.c). run_maintenance() in the session itself releases
-- it.
DO $$
BEGIN
  IF @extschema@._restoring() THEN
    PERFORM pg_catalog.pg_advisory_lock(6385249, 9);
  END IF;
END $$;
