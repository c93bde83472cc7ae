-- analytics: pin, the last file of the install script, and appended to every
-- upgrade script after the definitions (src/sql/assemble.pl)

-- No function of the extension resolves a name through its caller's
-- search_path (README: Tenancy, "search_path: nothing resolves through the
-- caller's path"). A role that can create objects in a schema on another
-- role's search_path (public on clusters created before PostgreSQL 15, a
-- tenant's own schema) could otherwise plant public.array_agg(text), a
-- "="(text, text) or a type named text, and run its code as the next
-- administrator who calls analytics.metric or api_request. The rule, for
-- every function of the extension, including those replaced or added by the
-- files before (this step runs last and looks at the catalog, not at a
-- list):
--   * PL/pgSQL functions (event trigger and trigger functions included) and
--     C functions that run SQL (SPI, or a call of another function that does)
--     get SET search_path = pg_catalog, pg_temp: pg_catalog first, pg_temp
--     last and explicit (else it would be searched first for tables), and
--     nothing else: the bodies name the extension's own objects with their
--     schema already (they are written to run under any path), and
--     messages keep naming them analytics.x (regclass and regprocedure
--     leave out the schemas on the path). Every statement they run,
--     EXECUTE'd text, kept plans of _kept_query and SPI statements included,
--     is parsed with that path. The SECURITY DEFINER parts and the
--     maintenance worker had that path already.
--   * SQL-language functions get an SQL-standard body (BEGIN ATOMIC):
--     parsed once, here, with the path of the extension script (pg_catalog
--     first); the stored body names every function, operator and type by
--     its oid. They stay inlinable (a SET clause would stop inlining and
--     make every call plan its body again).
--   * C functions that run no SQL at all (aggregate support functions,
--     parsers, time buckets, the row-level security and table AM helpers:
--     per-row paths) get nothing: there is nothing to resolve, and a SET
--     clause costs a GUC save and restore per call (5-7 us measured). They
--     are listed below, with the one per-row trigger that runs only
--     schema-qualified SQL; a C function missing from the list is pinned.
-- The regression test search_path checks the catalog against this rule and
-- calls every public function with a hostile schema first on the path.
-- CREATE OR REPLACE drops a function's SET clause: the build appends this
-- file to every upgrade script, after the definitions.
DO $pin$
DECLARE
  -- C functions that run no SQL (their symbol in the library)
  no_sql constant text[] := ARRAY[
    'analytics_event_stats_transfn', 'analytics_event_stats_merge_transfn', 'analytics_event_stats_combine',
    'analytics_event_stats_serialize', 'analytics_event_stats_deserialize', 'analytics_event_stats_final',
    'analytics_event_stats_negate', 'analytics_stats_metric',                          -- stats.c
    'analytics_ccv_transfn_uuid', 'analytics_ccv_transfn_bigint', 'analytics_ccv_combine',
    'analytics_ccv_serialize', 'analytics_ccv_deserialize', 'analytics_ccv_final',     -- ccv.c
    'analytics_time_bucket', 'analytics_time_buckets', 'analytics_to_iso8601',
    'analytics_default_interval',                                                      -- timebucket.c
    'analytics_route', 'analytics_link',                                               -- api.c (REST parsing)
    'analytics_parse_user_agent', 'analytics_continent_of', 'analytics_geoip_country_sql', -- parsers, GeoIP file
    'analytics_rollup_cover', 'analytics_ranges_sql', 'analytics_cover_raw_minutes',   -- plan.c (text, no SQL run)
    'analytics_catalog_dims', 'analytics_catalog_dim', 'analytics_catalog_block_size',
    'analytics_catalog_block_origin',                                                  -- catalogsql.c (rollup facts)
    'analytics_heap_handler', 'analytics_rollup_own_pending',                          -- rollup.c (table AM)
    -- policies (catalog scans; on a Citus node, one catalogue query whose
    -- every name and operator is qualified, src/citus.c)
    'analytics_my_projects', 'analytics_my_scope', 'analytics_my_project', 'analytics_is_admin',
    'analytics_grants_changed',                                                        -- trigger: bumps a counter
    -- the one exception: the INSTEAD OF row trigger of analytics.events_import
    -- runs SQL (the batch INSERT, every 4096 rows) but is called per row, and
    -- a SET clause there costs a third more per row (50,000 rows: 450 ms
    -- without, 620 ms with). Its statement names everything with its schema
    -- (INSERT INTO analytics.events ... FROM pg_catalog.unnest($1): no
    -- operator, no cast, no unqualified name) and must stay so; the
    -- statement-level trigger _import_flush is pinned.
    'analytics_import_row',
    -- per row and run no SQL: the emitted_at range and country checks (the CHECK
    -- constraints call them for every row) and the ccv series aggregate
    'analytics_check_emitted_at', 'analytics_check_country', 'analytics_ccv_series_transfn_uuid',
    'analytics_ccv_series_transfn_bigint', 'analytics_ccv_series_final',
    'analytics_viewers_transfn', 'analytics_viewers_count_final', 'analytics_viewers_union_final', -- viewers.c
    'analytics_value_sums_transfn', 'analytics_value_sums_combine', 'analytics_value_sums_final' -- valuesums.c
  ];
  ext oid := (SELECT e.oid FROM pg_catalog.pg_extension e
               WHERE e.extnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
                 AND e.extname OPERATOR(pg_catalog.~~) 'analytics%');
  f record;
  def text;
  head text;
  tail text;
BEGIN
  FOR f IN
    SELECT p.oid, p.oid::pg_catalog.regprocedure AS sig, l.lanname, p.prosrc
      FROM pg_catalog.pg_depend d
      JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) d.objid
      JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) p.prolang
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
       AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
       AND d.refobjid OPERATOR(pg_catalog.=) ext AND d.deptype OPERATOR(pg_catalog.=) 'e'
       AND p.prokind OPERATOR(pg_catalog.<>) 'a'                 -- aggregates: their support functions count
       AND p.prosqlbody IS NULL                                  -- SQL-standard bodies are resolved already
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proconfig) c
                        WHERE c OPERATOR(pg_catalog.~~) 'search\_path=%')
     ORDER BY p.oid
  LOOP
    IF f.lanname OPERATOR(pg_catalog.=) 'sql' THEN
      -- the same definition with the body as BEGIN ATOMIC ... END
      def := pg_catalog.pg_get_functiondef(f.oid);
      head := pg_catalog.substr(def, 1, pg_catalog.strpos(def, E'\nAS $function$'));
      tail := pg_catalog.substr(def, pg_catalog.length(head) OPERATOR(pg_catalog.+) 1);
      IF pg_catalog.strpos(def, E'\nAS $function$') OPERATOR(pg_catalog.=) 0
         OR tail OPERATOR(pg_catalog.<>) pg_catalog.concat('AS $function$', f.prosrc, E'$function$\n') THEN
        RAISE EXCEPTION 'cannot give % an SQL-standard body: unexpected definition', f.sig;
      END IF;
      EXECUTE pg_catalog.concat(head, E'BEGIN ATOMIC\n', f.prosrc, E'\n;\nEND');
    ELSIF f.lanname OPERATOR(pg_catalog.=) 'internal'
       OR (f.lanname OPERATOR(pg_catalog.=) 'c' AND f.prosrc OPERATOR(pg_catalog.=) ANY (no_sql)) THEN
      NULL;
    ELSE
      EXECUTE pg_catalog.format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp', f.sig);
    END IF;
  END LOOP;
END
$pin$;

