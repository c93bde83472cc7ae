-- test/upgrade.sh: the catalogue of the extension, one line per fact, in a
-- stable order: every member with its definition, the relations of the
-- schema (partitions included) with their columns, constraints, indexes,
-- triggers, policies, privileges and comments, the event triggers, the
-- initial privileges (pg_init_privs) and what pg_dump dumps (extconfig).
\pset format unaligned
\pset tuples_only on
SET search_path = pg_catalog;
SET TimeZone = 'UTC';
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'analytics'),
     members AS (
       SELECT d.classid, d.objid, d.objsubid FROM pg_depend d, ext
        WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e')
SELECT 'member ' || pg_describe_object(classid, objid, objsubid) FROM members
UNION ALL
SELECT 'function ' || p.oid::regprocedure || E'\n' || pg_get_functiondef(p.oid)
       || E'\n  acl ' || coalesce(p.proacl::text, '-') || E'\n  comment ' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
  FROM pg_proc p WHERE p.pronamespace = 'analytics'::regnamespace AND p.prokind <> 'a'
UNION ALL
SELECT 'aggregate ' || p.oid::regprocedure || ' ' || a.aggtransfn || ' ' || a.aggfinalfn || ' ' || a.aggcombinefn
       || ' ' || a.aggserialfn || ' ' || a.aggdeserialfn || ' ' || a.aggtranstype::regtype || ' ' || coalesce(a.agginitval, '-')
       || ' ' || coalesce(p.proacl::text, '-') || ' ' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
  FROM pg_proc p JOIN pg_aggregate a ON a.aggfnoid = p.oid WHERE p.pronamespace = 'analytics'::regnamespace
UNION ALL
SELECT 'type ' || t.typname || ' ' || t.typtype::text || ' '
       || coalesce((SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '')
       || coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                      FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '')
       || ' ' || coalesce(obj_description(t.oid, 'pg_type'), '-')
  FROM pg_type t WHERE t.typnamespace = 'analytics'::regnamespace AND t.typtype IN ('e', 'c')
   AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
UNION ALL
SELECT 'relation ' || c.relname || ' ' || c.relkind::text || ' am=' || coalesce(am.amname, '-') || ' opts=' || coalesce(c.reloptions::text, '-')
       || ' rls=' || c.relrowsecurity || ' force=' || c.relforcerowsecurity || ' acl=' || coalesce(c.relacl::text, '-')
       || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '-')
       || coalesce(' bound=' || pg_get_expr(c.relpartbound, c.oid), '')
       || coalesce(' partkey=' || pg_get_partkeydef(c.oid), '')
       || CASE WHEN c.relkind = 'v' THEN E'\n' || pg_get_viewdef(c.oid) ELSE '' END
  FROM pg_class c LEFT JOIN pg_am am ON am.oid = c.relam
 WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind NOT IN ('i', 'I', 'c', 'S')
UNION ALL
SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '') || ' acl=' || coalesce(a.attacl::text, '-')
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
 WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind IN ('r', 'p', 'v')
UNION ALL
SELECT 'constraint ' || c.conrelid::regclass || ' ' || c.conname || ' ' || pg_get_constraintdef(c.oid)
  FROM pg_constraint c WHERE c.connamespace = 'analytics'::regnamespace AND c.conrelid <> 0
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE c.relnamespace = 'analytics'::regnamespace
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'analytics'::regnamespace AND NOT t.tgisinternal
UNION ALL
SELECT 'policy ' || p.polrelid::regclass || ' ' || p.polname || ' ' || p.polcmd::text || ' ' || p.polpermissive
       || ' to ' || (SELECT string_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r) END, ',' ORDER BY 1) FROM unnest(p.polroles) r)
       || ' using ' || coalesce(pg_get_expr(p.polqual, p.polrelid), '-') || ' check ' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '-')
  FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace = 'analytics'::regnamespace
UNION ALL
SELECT 'event trigger ' || e.evtname || ' ' || e.evtevent || ' ' || e.evtfoid::regproc || ' ' || coalesce(e.evttags::text, '-') || ' ' || e.evtenabled::text
  FROM pg_event_trigger e WHERE e.evtname LIKE 'analytics%'
UNION ALL
SELECT 'access method ' || a.amname || ' ' || a.amtype::text || ' ' || a.amhandler || ' ' || coalesce(obj_description(a.oid, 'pg_am'), '-')
  FROM pg_am a WHERE a.amname LIKE 'analytics%'
UNION ALL
SELECT 'schema ' || n.nspname || ' acl=' || coalesce(n.nspacl::text, '-') FROM pg_namespace n WHERE n.nspname = 'analytics'
UNION ALL
SELECT 'init privs ' || pg_describe_object(i.classoid, i.objoid, i.objsubid) || ' ' || i.privtype::text || ' ' || i.initprivs::text
  FROM pg_init_privs i
 WHERE (i.classoid = 'pg_class'::regclass AND i.objoid IN (SELECT oid FROM pg_class WHERE relnamespace = 'analytics'::regnamespace))
    OR (i.classoid = 'pg_proc'::regclass AND i.objoid IN (SELECT oid FROM pg_proc WHERE pronamespace = 'analytics'::regnamespace))
    OR (i.classoid = 'pg_namespace'::regclass AND i.objoid = 'analytics'::regnamespace)
UNION ALL
SELECT 'extension ' || e.extname || ' ' || e.extversion || ' ' || e.extrelocatable
       || ' config ' || coalesce((SELECT string_agg(x::regclass::text || '=' || coalesce(w, ''), ', ' ORDER BY x::regclass::text)
                                   FROM unnest(e.extconfig, e.extcondition) u(x, w)), '-')
  FROM pg_extension e WHERE e.extname = 'analytics'
UNION ALL
SELECT 'role ' || r.rolname || ' ' || r.rolcanlogin FROM pg_roles r WHERE r.rolname = 'analytics_admin'
ORDER BY 1;
