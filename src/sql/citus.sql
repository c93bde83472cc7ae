-- analytics: scaling out on Citus (README: "Scaling out")
--
-- analytics.distribute() turns the installation on a Citus coordinator into
-- the distributed layout: every table with a project_id column
-- hash-distributed on project_id and co-located with analytics.events (a
-- project's events, rollups, pending marks, playbacks and play totals on one
-- worker), the small global tables as reference tables (a copy on every
-- node). src/citus.c tells C code where the rows of a table are on a node.
--

CREATE OR REPLACE FUNCTION @extschema@._citus_node()
RETURNS text
AS 'MODULE_PATHNAME', 'analytics_citus_node'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@._citus_node() IS
    'none (no Citus in this database), coordinator or worker';

CREATE OR REPLACE FUNCTION @extschema@._distributed()
RETURNS boolean
AS 'MODULE_PATHNAME', 'analytics_distributed'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@._distributed() IS
    'true once analytics.distribute() made analytics.events a Citus table';

-- Policies take their distributed form (no subquery: Citus refuses them in
-- policies of distributed tables) once the layout is distributed, or while
-- distribute() converts it.
CREATE OR REPLACE FUNCTION @extschema@._distributed_policies()
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT pg_catalog.current_setting('analytics_internal.distributing', true) OPERATOR(pg_catalog.=) 'on'
      OR @extschema@._distributed()
$$;

REVOKE ALL ON FUNCTION @extschema@._distributed_policies() FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.distribute(shard_count integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  node constant text := @extschema@._citus_node();
  reference constant text[] := ARRAY['settings', 'secrets', 'project_grants'];
  made_reference text[] := '{}';
  made_distributed text[] := '{}';
  delegated constant text[] := ARRAY['@extschema@.project_request(text, text)'];
  made_delegated text[] := '{}';
  t text;
  r record;
  nshards integer := shard_count;
BEGIN
  IF NOT @extschema@._is_admin() THEN
    RAISE EXCEPTION 'permission denied for function distribute'
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only administrators (members of the owner of analytics.events or of analytics_admin) distribute the tables.';
  END IF;
  IF node = 'none' THEN
    RAISE EXCEPTION 'citus is not installed in this database'
      USING ERRCODE = 'feature_not_supported',
            DETAIL = 'analytics.distribute() distributes the tables of the extension with Citus.',
            HINT = 'Install Citus on every node (test/citus_build.sh builds it), add citus first in shared_preload_libraries, run CREATE EXTENSION citus and add the workers (citus_add_node); then call analytics.distribute() on the coordinator.';
  END IF;
  IF node = 'worker' THEN
    RAISE EXCEPTION 'analytics.distribute() runs on the Citus coordinator'
      USING ERRCODE = 'feature_not_supported',
            HINT = 'Connect to the coordinator and call it there.';
  END IF;

  -- the tenant policies in their distributed form (no subquery) on every
  -- table with a project_id column, partitions included
  PERFORM pg_catalog.set_config('analytics_internal.distributing', 'on', true);
  FOR r IN SELECT c.oid::regclass AS rel
             FROM pg_catalog.pg_class c
            WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind IN ('r', 'p')
              AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                           WHERE a.attrelid = c.oid AND a.attname = 'project_id' AND NOT a.attisdropped)
              AND c.oid <> '@extschema@.project_grants'::regclass
              AND NOT @extschema@._has_tenant_policies(c.oid)
            ORDER BY c.oid LOOP
    PERFORM pg_catalog.set_config('analytics_internal.securing', 'on', true);
    PERFORM @extschema@._secure_table(r.rel);
    PERFORM pg_catalog.set_config('analytics_internal.securing', '', true);
  END LOOP;
  DROP POLICY IF EXISTS own_grants ON @extschema@.project_grants;
  CREATE POLICY own_grants ON @extschema@.project_grants FOR SELECT
      USING (pg_catalog.pg_has_role(role, 'USAGE') OR @extschema@._is_admin());

  -- the triggers of the reference tables run where their rows are written:
  -- project_grants' (it resets the policies' cache of the writing session);
  -- not secrets_replace, which lets a restored secret replace the one
  -- CREATE EXTENSION made (a distributed cluster is restored Citus's way,
  -- README "Scaling out") and would query the table from its shards
  PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = '@extschema@.secrets'::regclass) THEN
    ALTER TABLE @extschema@.secrets DISABLE TRIGGER secrets_replace;
  END IF;
  FOREACH t IN ARRAY reference LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p
                    WHERE p.logicalrelid = pg_catalog.format('@extschema@.%I', t)::regclass) THEN
      PERFORM pg_catalog.create_reference_table(pg_catalog.format('@extschema@.%I', t)::regclass);
      made_reference := made_reference || t;
    END IF;
  END LOOP;

  -- how many shards: a question over every project runs once per shard
  -- (a Citus task each, a round trip to a worker), one about a project
  -- once. NULL: 1 per worker (at least 2, at most citus.shard_count): with
  -- two workers, questions over every project took 1.4-1.7 times as long
  -- with 8 shards as with 4 and 2-5 times with Citus's default 32, and
  -- their workers spent a fifth to a third less CPU with 2 than with 4
  -- (README "Scaling out")
  IF nshards IS NULL THEN
    SELECT LEAST(pg_catalog.current_setting('citus.shard_count')::integer,
                 GREATEST(2, pg_catalog.count(*)::integer))
      INTO nshards
      FROM pg_catalog.pg_dist_node n WHERE n.noderole = 'primary' AND n.groupid <> 0 AND n.isactive;
  ELSIF nshards < 1 OR nshards > 64000 THEN
    RAISE EXCEPTION 'shard_count must be between 1 and 64000'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  -- analytics.events first, then every other table with a project_id
  -- column (its partitions follow it), co-located with it
  FOR r IN SELECT c.relname::text AS name
             FROM pg_catalog.pg_class c
            WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind IN ('r', 'p')
              AND NOT c.relispartition
              AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                           WHERE a.attrelid = c.oid AND a.attname = 'project_id' AND NOT a.attisdropped)
              AND c.relname <> ALL (reference)
            ORDER BY c.relname <> 'events', c.relname LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p
                    WHERE p.logicalrelid = pg_catalog.format('@extschema@.%I', r.name)::regclass) THEN
      IF r.name = 'events' THEN
        PERFORM pg_catalog.create_distributed_table('@extschema@.events'::regclass, 'project_id',
                                                    shard_count => nshards);
      ELSE
        PERFORM pg_catalog.create_distributed_table(pg_catalog.format('@extschema@.%I', r.name)::regclass, 'project_id',
                                                    colocate_with => '@extschema@.events');
      END IF;
      made_distributed := made_distributed || r.name;
    END IF;
  END LOOP;

  -- the entry points of one-project questions: a call SELECT f(project,
  -- ...) from a client runs whole on the worker that holds the project
  -- (Citus's function call delegation). Only functions whose project can
  -- never be NULL (STRICT, returning neither a set nor a record: the
  -- planner folds a call with a NULL argument to NULL before Citus looks at
  -- it): Citus's planner crashes on a NULL distribution argument.
  FOREACH t IN ARRAY delegated LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_object o
                    WHERE o.classid = 'pg_catalog.pg_proc'::regclass AND o.objid = t::regprocedure
                      AND o.distribution_argument_index IS NOT NULL) THEN
      PERFORM pg_catalog.create_distributed_function(t::regprocedure, 'project_id',
                                                     colocate_with => '@extschema@.events');
      made_delegated := made_delegated || t;
    END IF;
  END LOOP;
  PERFORM pg_catalog.set_config('analytics_internal.distributing', '', true);
  RETURN pg_catalog.jsonb_build_object('reference_tables', made_reference, 'distributed_tables', made_distributed,
                                       'distributed_functions', made_delegated);
END $$;

COMMENT ON FUNCTION @extschema@.distribute(integer) IS
    'on a Citus coordinator: distributes the extension''s tables on project_id (shard_count shards, NULL: 1 per worker, at least 2, at most citus.shard_count), co-located with analytics.events, makes settings, secrets and project_grants reference tables and project_request a function run on the worker of its project; administrators only; harmless when run again';
