-- analytics 0.5 -> 0.6: what changes between the two releases, besides the
-- definitions of functions and aggregates (DDL and data migrations only).
-- The build (src/sql/assemble.pl) makes analytics--0.5--0.6.sql of this
-- file, with every function and aggregate of 0.6 inserted at the line
-- "@@ definitions @@" below and src/sql/pin.sql appended. The result must
-- equal a fresh 0.6 install (test/upgrade.sh).

-- ---- before the definitions: what they need ----

-- the role analytics_admin (tenancy.sql): the policy admin_rows names it
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) 'analytics_admin') THEN
    CREATE ROLE analytics_admin NOLOGIN;
  END IF;
END $$;

-- new table (schema.sql): events an earlier version stored with emitted_at
-- outside the accepted range, set aside below
-- @@ tables of schema.sql: events_out_of_range @@

-- new tables (schema.sql): the cubes (the cube, the referrer cube, the device cube) and the
-- distinct viewer ids; every hour with events is marked pending after the
-- definitions, so the next refresh builds them
-- @@ tables of schema.sql: rollup_cube_hour, rollup_cube_day, rollup_cube_week, rollup_cube_w4 @@
-- @@ tables of schema.sql: rollup_refcube_hour, rollup_refcube_day, rollup_refcube_week, rollup_refcube_w4 @@
-- @@ tables of schema.sql: rollup_devcube_hour, rollup_devcube_day, rollup_devcube_week, rollup_devcube_w4 @@
-- @@ tables of schema.sql: rollup_viewers_hour, rollup_viewers_day @@

-- the transaction ids of a mark (schema.sql): marks of 0.5 have none, so
-- their hours are aggregated again whole
ALTER TABLE @extschema@.rollup_pending ADD COLUMN xids xid8[], ADD COLUMN relid oid, ADD COLUMN relnode oid, ADD COLUMN from_block bigint;
COMMENT ON COLUMN @extschema@.rollup_pending.xids IS
    'the transaction ids the rows were inserted under (the refresh adds just those rows to the hour''s rollup rows); NULL: rows were also updated or deleted, or marked otherwise (the hour is aggregated again whole)';
COMMENT ON COLUMN @extschema@.rollup_pending.relid IS
    'the partition the rows went to (with its relfilenode: blocks of a rewritten partition are not trusted) and the first of its blocks they went to (the refresh of the rows added reads no earlier block); NULL: unknown, or several partitions';
COMMENT ON TABLE @extschema@.rollup_pending IS
    'hours of analytics.events written since the rollups were last refreshed (one row per writing transaction, project and hour)';

-- the initial privileges of the relations and the schema as they are
-- before the update's grants (restored at the end: see there)
CREATE TABLE @extschema@._update_init_privs AS
SELECT o.classoid, o.objoid, ip.objsubid, ip.initprivs
  FROM (SELECT 'pg_catalog.pg_class'::pg_catalog.regclass AS classoid, c.oid AS objoid
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace = '@extschema@'::regnamespace
            OR c.oid IN (SELECT t.relid FROM pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t)
        UNION ALL
        SELECT 'pg_catalog.pg_namespace'::pg_catalog.regclass, '@extschema@'::regnamespace::oid) o
  LEFT JOIN pg_catalog.pg_init_privs ip
    ON ip.classoid = o.classoid AND ip.objoid = o.objoid AND ip.privtype = 'e';

-- the BRIN index on emitted_at belongs to each partition, not to the parent
-- (a partitioned index made every ATTACH PARTITION of a restore build the
-- partition's index, and the dump's own CREATE INDEX then failed): the
-- partitioned index goes, each partition gets a plain BRIN index with the
-- same method and options
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

-- now dumped by pg_dump: the state of playbacks in progress, the viewer id key
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ping_sessions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.secrets', '');

-- the query text builders of metric, breakdown and timeseries: the query
-- layer is C now (src/query.c, src/catalog.h), and so is the type of the
-- validated filters
DROP FUNCTION @extschema@._stats_rows(@extschema@._metric_spec, @extschema@._filter_set, text[], smallint, text,
                                      boolean, @extschema@._cover);
DROP FUNCTION @extschema@._merged_metric(@extschema@._metric_spec);
DROP FUNCTION @extschema@._merged_having(@extschema@._metric_spec);
DROP FUNCTION @extschema@._negated(text, integer);
DROP FUNCTION @extschema@._rollup_types(@extschema@._metric_spec);
DROP FUNCTION @extschema@._rollup_types(@extschema@._metric_spec, text);
DROP FUNCTION @extschema@._count_element(@extschema@._metric_spec);
DROP FUNCTION @extschema@._rollup_where(@extschema@._filter_set, text[], smallint);
DROP FUNCTION @extschema@._rollup_dim(@extschema@._metric_spec, @extschema@._filter_set, text);
DROP FUNCTION @extschema@._where(@extschema@._filter_set, text[]);
DROP FUNCTION @extschema@._value_expr(@extschema@._metric_spec, boolean, text, text);
DROP FUNCTION @extschema@._rows_expr(@extschema@._metric_spec, boolean, text, text);
DROP FUNCTION @extschema@._filters(jsonb, boolean);
DROP FUNCTION @extschema@._filter_strings(text, jsonb, boolean);
DROP FUNCTION @extschema@._projects(text);
DROP FUNCTION @extschema@._period(timestamptz, timestamptz, boolean);
DROP TYPE @extschema@._filter_set;
-- the PL/pgSQL error helper and the catalogue's answer for SQL (and its
-- type): nothing calls them since the query layer and the JSON API are C
-- (src/query.c and src/rest.c ask src/catalog.h)
DROP FUNCTION @extschema@._invalid(text, text, text, text);
DROP FUNCTION @extschema@._spec(text, text, text, boolean, text);
DROP TYPE @extschema@._metric_spec;

-- the helpers of the JSON API: api_request, api_metrics, api_buckets and
-- api_timeseries are C now (src/rest.c)
DROP FUNCTION @extschema@._api_buckets(text, text, timestamptz, timestamptz, jsonb, text, text, integer, integer,
                                       boolean, text, text, text, text, text[]);
DROP FUNCTION @extschema@._api_timeseries(text, timestamptz, timestamptz, text, jsonb, text, text, integer, integer,
                                          boolean, text, text, text, text, text, text[]);
DROP FUNCTION @extschema@._paginate(jsonb, integer, integer, text, text[]);
DROP FUNCTION @extschema@._rest_timestamp(text, text);
DROP FUNCTION @extschema@._rest_integer(text, text);
DROP FUNCTION @extschema@._json_number(double precision, boolean);
DROP FUNCTION @extschema@._timeframe(timestamptz, timestamptz, text);
DROP FUNCTION @extschema@._problem(integer, text, text);

-- concurrent viewers from the per-minute rows: C now (src/ccvrollup.c)
DROP FUNCTION @extschema@._ccv_from_rollups(text, text, boolean, timestamptz, timestamptz);
DROP FUNCTION @extschema@._merge_ranges(timestamptz[], timestamptz[]);

-- new type (types.sql): the answer of project_request
CREATE TYPE @extschema@.api_answer AS (status integer, body jsonb);

-- new index (schema.sql): the rows of one value (one media) of a 28-day block
CREATE INDEX rollup_w4_value_idx ON @extschema@.rollup_w4 (project_id, dim, value, bucket);

-- @@ definitions @@

-- ---- after the definitions: what needs them ----

-- the DDL trigger of analytics.events also refuses CREATE FOREIGN TABLE
DROP EVENT TRIGGER analytics_events_ddl;
CREATE EVENT TRIGGER analytics_events_ddl ON ddl_command_end
  WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'CREATE FOREIGN TABLE')
  EXECUTE FUNCTION @extschema@._events_ddl();
-- a BRIN index for partitions made by hand
CREATE EVENT TRIGGER analytics_events_brin ON ddl_command_end
  WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
  EXECUTE FUNCTION @extschema@._events_brin();
-- a restored viewer id key replaces the one CREATE EXTENSION made
CREATE TRIGGER secrets_replace BEFORE INSERT ON @extschema@.secrets
    FOR EACH ROW EXECUTE FUNCTION @extschema@._secrets_replace();

-- every table secured with the 0.5 CASE policy gets the two policies of
-- _secure_table (events, every partition, media, play_totals,
-- ping_sessions, the rollups), and so does the new table
DO $$
DECLARE
  r regclass;
BEGIN
  FOR r IN SELECT DISTINCT p.polrelid::regclass FROM pg_catalog.pg_policy p
            WHERE p.polname = 'tenant_rows'
              AND (p.polrelid IN (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relnamespace = '@extschema@'::regnamespace)
                   OR p.polrelid IN (SELECT t.relid FROM pg_catalog.pg_partition_tree('@extschema@.events'::regclass) t))
            ORDER BY 1 LOOP
    PERFORM @extschema@._secure_table(r);
  END LOOP;
END $$;
SELECT @extschema@._secure_table('@extschema@.events_out_of_range');
SELECT @extschema@._secure_table(r) FROM unnest(ARRAY['@extschema@.rollup_cube_hour', '@extschema@.rollup_cube_day',
                                                       '@extschema@.rollup_cube_week', '@extschema@.rollup_cube_w4',
                                                       '@extschema@.rollup_refcube_hour', '@extschema@.rollup_refcube_day',
                                                       '@extschema@.rollup_refcube_week', '@extschema@.rollup_refcube_w4',
                                                       '@extschema@.rollup_devcube_hour', '@extschema@.rollup_devcube_day',
                                                       '@extschema@.rollup_devcube_week', '@extschema@.rollup_devcube_w4',
                                                       '@extschema@.rollup_viewers_hour', '@extschema@.rollup_viewers_day']::regclass[]) r;

-- the country rule, checked by a C function instead of a regular
-- expression (same rule: two ASCII capital letters; schema.sql). The rows
-- stored comply already; re-adding the constraint checks them once.
ALTER TABLE @extschema@.events DROP CONSTRAINT events_country_check,
    ADD CONSTRAINT events_country_check CHECK (@extschema@._check_country(country));

-- the states of playbacks are rewritten by every ping: room on each page
-- for the new version, so that the update stays HOT (schema.sql)
ALTER TABLE @extschema@.ping_sessions SET (fillfactor = 50);

-- the range of emitted_at: the CHECK constraint, NOT VALID (adding it does
-- not scan the partitions under the lock); the rows that violate it are
-- moved out just below, so every stored row complies (VALIDATE CONSTRAINT
-- at leisure only sets the flag; README: Retention and maintenance)
ALTER TABLE @extschema@.events ADD CONSTRAINT events_emitted_at_range
    CHECK (@extschema@._check_emitted_at(emitted_at)) NOT VALID;

DO $$
DECLARE
  lo constant timestamptz := '1970-01-01 00:00:00+00';
  hi constant timestamptz := '10000-01-01 00:00:00+00';
  n bigint;
  p record;
  stale boolean;
BEGIN
  WITH gone AS (
    DELETE FROM @extschema@.events e WHERE NOT (e.emitted_at >= lo AND e.emitted_at < hi) RETURNING e.*)
  INSERT INTO @extschema@.events_out_of_range SELECT g.*, pg_catalog.now() FROM gone g;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n > 0 THEN
    RAISE NOTICE 'analytics: % events with emitted_at outside [%, %) moved to analytics.events_out_of_range', n, lo, hi;
  END IF;
  -- partitions wholly outside the range (made for such rows) are empty now
  FOR p IN SELECT x.partition FROM @extschema@.partitions() x
            WHERE NOT x.is_default AND (x.to_ts <= lo OR x.from_ts >= hi) LOOP
    RAISE NOTICE 'analytics: dropping partition % (outside the accepted range of emitted_at)', p.partition;
    EXECUTE pg_catalog.format('DROP TABLE %s', p.partition);
  END LOOP;
  -- and their derived data; a week or 28-day block across an end of the
  -- range is rebuilt from its days inside it by the next refresh
  stale := EXISTS (SELECT 1 FROM @extschema@.rollup_week r WHERE r.bucket < lo OR r.bucket + interval '7 days' > hi)
        OR EXISTS (SELECT 1 FROM @extschema@.rollup_w4 r WHERE r.bucket < lo OR r.bucket + interval '28 days' > hi);
  DELETE FROM @extschema@.rollup_hour r WHERE NOT (r.bucket >= lo AND r.bucket < hi);
  DELETE FROM @extschema@.rollup_day r WHERE NOT (r.bucket >= lo AND r.bucket < hi);
  DELETE FROM @extschema@.rollup_5min r WHERE NOT (r.bucket >= lo AND r.bucket < hi);
  DELETE FROM @extschema@.rollup_week r WHERE r.bucket + interval '7 days' <= lo OR r.bucket >= hi;
  DELETE FROM @extschema@.rollup_w4 r WHERE r.bucket + interval '28 days' <= lo OR r.bucket >= hi;
  DELETE FROM @extschema@.rollup_ccv c WHERE NOT (c.minute >= lo AND c.minute < hi);
  DELETE FROM @extschema@.rollup_watch_max w WHERE NOT (w.hour >= lo AND w.hour < hi);
  DELETE FROM @extschema@.rollup_pending r WHERE NOT (r.hour >= lo AND r.hour < hi);
  IF stale THEN
    INSERT INTO @extschema@.rollup_pending (project_id, hour)
    VALUES ('default', lo), ('default', hi - interval '1 hour');
  END IF;
  -- a new installation (no events yet): the constraint is valid at once
  IF NOT EXISTS (SELECT 1 FROM @extschema@.events) THEN
    ALTER TABLE @extschema@.events VALIDATE CONSTRAINT events_emitted_at_range;
  END IF;
END $$;

-- the cubes are empty: every hour with events is marked pending, so that
-- queries read those hours raw until the next refresh builds the cubes (and
-- rebuilds the one-dimension rollups of the same hours, unchanged)
INSERT INTO @extschema@.rollup_pending (project_id, hour)
SELECT DISTINCT e.project_id, pg_catalog.date_bin(@extschema@._block_size('hour'), e.emitted_at, @extschema@._block_origin('hour'))
  FROM @extschema@.events e;

-- No maintenance on a half-restored database (restore.sql): a restoring
-- session holds the advisory lock (6385249, 9) from CREATE EXTENSION on
DO $$
BEGIN
  IF @extschema@._restoring() THEN
    PERFORM pg_catalog.pg_advisory_lock(6385249, 9);
  END IF;
END $$;

-- Tenants granted a project before the update get on the new table what
-- grant_project gives them on a fresh install (_tenant_privileges).
DO $$
DECLARE
  g regrole;
BEGIN
  FOR g IN SELECT DISTINCT p.role FROM @extschema@.project_grants p ORDER BY 1 LOOP
    PERFORM @extschema@._tenant_privileges(g, true);
  END LOOP;
END $$;

-- The initial privileges. PostgreSQL records every GRANT and REVOKE an
-- extension's script runs (CREATE EXTENSION and ALTER EXTENSION UPDATE
-- alike) as the initial privileges of the object (pg_init_privs, privtype
-- 'e'), and pg_dump dumps only how an object's privileges differ from them.
-- This update grants the tenants' privileges again (above, and
-- _secure_table copies the parent's privileges to every partition): left
-- recorded, they would read as the extension's own privileges, pg_dump would
-- leave the tenants' grants out and a restore would lose them, where a
-- fresh install (whose script runs before any tenant exists) records only
-- what the script itself grants. So the relations and the schema that
-- existed before the update get back the initial privileges they had then
-- (none for the partitions maintenance made, which are not members of the
-- extension, nor for events_out_of_range, which the script grants nothing).
DELETE FROM pg_catalog.pg_init_privs ip
 USING (SELECT DISTINCT u.classoid, u.objoid FROM @extschema@._update_init_privs u) o
 WHERE ip.classoid = o.classoid AND ip.objoid = o.objoid AND ip.privtype = 'e';
INSERT INTO pg_catalog.pg_init_privs (objoid, classoid, objsubid, privtype, initprivs)
SELECT u.objoid, u.classoid, u.objsubid, 'e', u.initprivs FROM @extschema@._update_init_privs u
 WHERE u.initprivs IS NOT NULL AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = u.objoid
                                            UNION ALL SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.oid = u.objoid);
DROP TABLE @extschema@._update_init_privs;
