-- analytics: retention and maintenance (README: Retention and maintenance)
--
-- The public entry points set_retention() and run_maintenance() check that
-- the caller is an administrator (C: analytics_admin_call) and call the
-- SECURITY DEFINER workers _set_retention() and _run_maintenance(); then the
-- DDL event triggers of analytics.events.

CREATE OR REPLACE FUNCTION @extschema@.retention()
RETURNS interval
AS 'MODULE_PATHNAME', 'analytics_retention'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.retention() IS 'how long events are kept (default 30 days)';
CREATE OR REPLACE FUNCTION @extschema@._set_retention(retention interval)
RETURNS interval
AS 'MODULE_PATHNAME', 'analytics_set_retention'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@._set_retention(interval) IS 'sets the retention window (any interval >= 1 day); the next maintenance drops what falls out of it';
REVOKE ALL ON FUNCTION @extschema@._set_retention(interval) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.set_retention(retention interval)
RETURNS interval
AS 'MODULE_PATHNAME', 'analytics_admin_call'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.set_retention(interval) IS
    'sets the retention window (any interval >= 1 day); the next maintenance drops what falls out of it. Administrators only';

-- administrative functions are not for everybody

CREATE OR REPLACE FUNCTION @extschema@.partitions(
    OUT partition regclass, OUT from_ts timestamptz, OUT to_ts timestamptz, OUT is_default boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'analytics_partitions'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.partitions() IS
    'the partitions of analytics.events with their bounds, read from relpartbound';

CREATE OR REPLACE FUNCTION @extschema@._run_maintenance()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'analytics_run_maintenance'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@._run_maintenance() IS 'creates partitions ahead, moves rows out of the default partition, archives plays and drops expired partitions; returns a report';
REVOKE ALL ON FUNCTION @extschema@._run_maintenance() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.run_maintenance()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'analytics_admin_call'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.run_maintenance() IS
    'creates partitions ahead, moves rows out of the default partition, archives plays and drops expired partitions; returns a report. Administrators only';


CREATE OR REPLACE FUNCTION @extschema@._mark_partition(rel regclass)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE pg_catalog.format(
    'INSERT INTO @extschema@.rollup_pending (project_id, hour)'
    ' SELECT DISTINCT e.project_id, pg_catalog.date_bin(@extschema@._block_size(''hour''), e.emitted_at,'
    ' @extschema@._block_origin(''hour'')) FROM %s e', rel);
END $$;

REVOKE ALL ON FUNCTION @extschema@._mark_partition(regclass) FROM PUBLIC;

-- The DDL trigger of analytics.events, over the whole partition tree: a leaf partition must use analytics_heap (the rollups), a member is
-- a table or a partitioned table (no foreign table: no row-level security,
-- no change tracking); every member is secured (above); the rows of a leaf
-- that came or went without a write make their hours pending.
-- In a session with row_security = off (pg_dump's scripts and pg_restore
-- set it: a restore brings each partition's own policies after attaching
-- it), the policies are left to the restore: row-level security is enabled
-- at once, so until then tenants get no row of the partition.
CREATE OR REPLACE FUNCTION @extschema@._events_ddl()
RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  p record;
  policies boolean;
  fresh boolean;
BEGIN
  -- the DDL of securing a partition fires this trigger again; on a Citus
  -- worker, tables come from the coordinator (shells and shards: secured and
  -- marked there; README "Scaling out")
  IF pg_catalog.current_setting('analytics_internal.securing', true) = 'on'
     OR @extschema@._citus_node() = 'worker' THEN
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger_ddl_commands() c
                  WHERE c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                    AND c.objid IN (SELECT t.relid FROM pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t)) THEN
    RETURN;
  END IF;
  policies := pg_catalog.current_setting('row_security') OPERATOR(pg_catalog.<>) 'off';
  PERFORM pg_catalog.set_config('analytics_internal.securing', 'on', true);
  FOR p IN SELECT t.relid::regclass AS rel, t.isleaf, r.relkind, a.amname
             FROM pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t
             JOIN pg_catalog.pg_class r ON r.oid = t.relid
             LEFT JOIN pg_catalog.pg_am a ON a.oid = r.relam
            WHERE t.level > 0
            ORDER BY t.level, t.relid LOOP
    IF p.relkind NOT IN ('r', 'p') THEN
      RAISE EXCEPTION 'partition % of analytics.events must be a table', p.rel
        USING ERRCODE = 'wrong_object_type',
              DETAIL = 'A foreign table can have no row-level security and does not note the hours written for the rollups.',
              HINT = 'Create a table with USING analytics_heap (or a partitioned table whose partitions use it).';
    END IF;
    IF p.relkind = 'r' AND p.amname IS DISTINCT FROM 'analytics_heap' THEN
      RAISE EXCEPTION 'partition % of analytics.events must use the table access method analytics_heap', p.rel
        USING ERRCODE = 'wrong_object_type',
              DETAIL = 'analytics_heap notes which hours each write touches, so that the rollups stay exact.',
              HINT = 'Create it with USING analytics_heap, or run ALTER TABLE ... SET ACCESS METHOD analytics_heap before attaching it.';
    END IF;
    -- a new member (a leaf the rollups do not know yet, a partitioned
    -- table never given the policies): everything, its privileges made its
    -- parent's; a member secured before: owner, row-level security and
    -- policies put back if changed (its privileges are the administrators')
    fresh := CASE WHEN p.isleaf THEN p.rel NOT IN (SELECT k.relid FROM @extschema@.rollup_partitions k)
                  ELSE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy y
                                    WHERE y.polrelid = p.rel AND y.polname = 'tenant_rows') END;
    IF NOT @extschema@._partition_secured(p.rel, policies, fresh) THEN
      PERFORM @extschema@._secure_partition(p.rel, policies, fresh);
    END IF;
    -- a new leaf: attached (rows came) or created
    IF p.isleaf AND p.rel NOT IN (SELECT k.relid FROM @extschema@.rollup_partitions k) THEN
      PERFORM @extschema@._mark_partition(p.rel);
      INSERT INTO @extschema@.rollup_partitions VALUES (p.rel);
    END IF;
  END LOOP;
  PERFORM pg_catalog.set_config('analytics_internal.securing', '', true);
  -- leaves gone: detached (rows went) or dropped
  FOR p IN SELECT k.relid FROM @extschema@.rollup_partitions k
            WHERE k.relid NOT IN (SELECT t.relid FROM pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t
                                   WHERE t.isleaf) LOOP
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_class r WHERE r.oid = p.relid) THEN
      PERFORM @extschema@._mark_partition(p.relid::regclass);
    END IF;
    DELETE FROM @extschema@.rollup_partitions k WHERE k.relid = p.relid;
  END LOOP;
END $$;

REVOKE ALL ON FUNCTION @extschema@._events_ddl() FROM PUBLIC;
CREATE EVENT TRIGGER analytics_events_ddl ON ddl_command_end
  WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'CREATE FOREIGN TABLE')
  EXECUTE FUNCTION @extschema@._events_ddl();

-- A partition of analytics.events without a BRIN index on emitted_at gets
-- one (CREATE TABLE ... PARTITION OF, ATTACH PARTITION, a sub-partition),
-- except in a restore: the dump creates the index itself, after attaching.
CREATE OR REPLACE FUNCTION @extschema@._events_brin()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p regclass;
BEGIN
  IF @extschema@._restoring() OR pg_catalog.to_regclass('@extschema@.events') IS NULL
     OR @extschema@._citus_node() = 'worker' THEN
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
