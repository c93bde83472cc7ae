--
-- search_path: no function of the extension resolves a name through the
-- caller's search_path (README: Tenancy, "search_path: nothing resolves
-- through the caller's path").
--
-- A tenant who may create objects in a schema that an administrator has on
-- the search_path (public before PostgreSQL 15, or its own schema) plants
-- same-named functions, aggregates, operators and types of exact argument
-- types there: they beat pg_catalog's polymorphic ones, and with pg_catalog
-- listed explicitly after that schema, also the exact ones. Every public
-- function is called twice, with a clean search_path and with
--   sp_hostile, pg_catalog, analytics, public
-- and the answers must be equal, equal to the values worked out by hand,
-- and no hostile object may have run (each records its call in a sequence,
-- which no rollback undoes, and in a table).
--
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET analytics.maintenance_in_worker = off;

CREATE ROLE regress_sp_tenant;
CREATE ROLE regress_sp_granted;
CREATE SCHEMA sp_hostile AUTHORIZATION regress_sp_tenant;
CREATE SCHEMA sp_test;
GRANT USAGE ON SCHEMA sp_test TO regress_sp_tenant;

-- ---------------------------------------------------------------------
-- The data, in projects sp_a and sp_b, on the UTC day D two days ago.
--   S1 sp_a m1 FR/EU computer chrome  viewer 11:
--        10:00:00 impression(200) 10:00:01 play 10:00:02 start 10:00:25 view(5)
--        10:01:02 watch(60) -> watching [10:00:02, 10:01:02)   10:01:02 end
--   S2 sp_a m1 US/NA phone safari    viewer 12:
--        10:30:00 impression(400) 10:30:05 play 10:30:06 start
--        10:30:30 watch(24) -> watching [10:30:06, 10:30:30)
--   S3 sp_a m2 FR/EU computer firefox viewer 11:  11:10:00 impression(300) 11:10:02 play
--   S4 sp_a m2 DE/EU tv chrome         viewer 13:  12:00:00 impression(100)
--   T1 sp_b m1 FR/EU computer chrome   viewer 21:  10:00:00 impression(900) 10:00:01 play
-- ---------------------------------------------------------------------
CREATE TABLE sp_test.anchor AS SELECT date_trunc('day', now()) - interval '2 days' AS d;
-- a ping of a playback loaded 30 s ago: ready after 1 s (impression 1000 ms), play after 2 s
CREATE FUNCTION pg_temp.iso(s integer) RETURNS text LANGUAGE sql AS $$
  SELECT to_char((now() - s * interval '1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;
ALTER TABLE sp_test.anchor ADD COLUMN ping jsonb;
UPDATE sp_test.anchor SET ping = jsonb_build_object('emitted_at', pg_temp.iso(10),
  'session', jsonb_build_object('loaded_at', pg_temp.iso(30), 'video_id', 'v1'),
  'events', jsonb_build_array(jsonb_build_object('type', 'ready', 'emitted_at', pg_temp.iso(29)),
                              jsonb_build_object('type', 'play', 'emitted_at', pg_temp.iso(28), 'at', 0)));
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, session_id, viewer_id,
                              continent, country, device_type, operating_system, browser)
SELECT p, (SELECT d FROM sp_test.anchor) + t::interval, e::analytics.event_type, v, m, s::uuid, vi,
       c::analytics.continent, co, dt::analytics.device_type, os, b
  FROM (VALUES
   ('sp_a', '10:00:00', 'impression', 200, 'm1', '00000000-0000-4000-8000-000000000001', 11, 'EU', 'FR', 'computer', 'windows', 'chrome'),
   ('sp_a', '10:00:01', 'play',       NULL, 'm1', '00000000-0000-4000-8000-000000000001', 11, 'EU', 'FR', 'computer', 'windows', 'chrome'),
   ('sp_a', '10:00:02', 'start',      NULL, 'm1', '00000000-0000-4000-8000-000000000001', 11, 'EU', 'FR', 'computer', 'windows', 'chrome'),
   ('sp_a', '10:00:25', 'view',       5,    'm1', '00000000-0000-4000-8000-000000000001', 11, 'EU', 'FR', 'computer', 'windows', 'chrome'),
   ('sp_a', '10:01:02', 'watch',      60,   'm1', '00000000-0000-4000-8000-000000000001', 11, 'EU', 'FR', 'computer', 'windows', 'chrome'),
   ('sp_a', '10:01:02', 'end',        NULL, 'm1', '00000000-0000-4000-8000-000000000001', 11, 'EU', 'FR', 'computer', 'windows', 'chrome'),
   ('sp_a', '10:30:00', 'impression', 400, 'm1', '00000000-0000-4000-8000-000000000002', 12, 'NA', 'US', 'phone', 'ios', 'safari'),
   ('sp_a', '10:30:05', 'play',       NULL, 'm1', '00000000-0000-4000-8000-000000000002', 12, 'NA', 'US', 'phone', 'ios', 'safari'),
   ('sp_a', '10:30:06', 'start',      NULL, 'm1', '00000000-0000-4000-8000-000000000002', 12, 'NA', 'US', 'phone', 'ios', 'safari'),
   ('sp_a', '10:30:30', 'watch',      24,   'm1', '00000000-0000-4000-8000-000000000002', 12, 'NA', 'US', 'phone', 'ios', 'safari'),
   ('sp_a', '11:10:00', 'impression', 300, 'm2', '00000000-0000-4000-8000-000000000003', 11, 'EU', 'FR', 'computer', 'windows', 'firefox'),
   ('sp_a', '11:10:02', 'play',       NULL, 'm2', '00000000-0000-4000-8000-000000000003', 11, 'EU', 'FR', 'computer', 'windows', 'firefox'),
   ('sp_a', '12:00:00', 'impression', 100, 'm2', '00000000-0000-4000-8000-000000000004', 13, 'EU', 'DE', 'tv', 'linux', 'chrome'),
   ('sp_b', '10:00:00', 'impression', 900, 'm1', '00000000-0000-4000-8000-000000000011', 21, 'EU', 'FR', 'computer', 'windows', 'chrome'),
   ('sp_b', '10:00:01', 'play',       NULL, 'm1', '00000000-0000-4000-8000-000000000011', 21, 'EU', 'FR', 'computer', 'windows', 'chrome')
  ) x(p, t, e, v, m, s, vi, c, co, dt, os, b);
-- the rollups hold the day (the answers come from rollups and raw events alike)
SELECT jsonb_typeof(analytics.run_maintenance()) AS maintenance;
SELECT analytics.grant_project('regress_sp_tenant', 'sp_a') AS granted;

-- ---------------------------------------------------------------------
-- The hostile schema, built by the tenant: for every built-in the
-- extension's SQL calls, and every operator between the types it uses, an
-- object of exact argument types that counts its call and then does what
-- the built-in does (so that a hijacked answer would still look right).
-- ---------------------------------------------------------------------
SET ROLE regress_sp_tenant;
SET search_path = pg_catalog;
CREATE SEQUENCE sp_hostile.hits;
CREATE TABLE sp_hostile.calls (what text);
CREATE FUNCTION sp_hostile.hit(what text) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  PERFORM pg_catalog.nextval('sp_hostile.hits');
  INSERT INTO sp_hostile.calls VALUES (what);
  RETURN true;
END $$;
GRANT USAGE ON SCHEMA sp_hostile TO PUBLIC;
GRANT ALL ON SEQUENCE sp_hostile.hits TO PUBLIC;
GRANT ALL ON TABLE sp_hostile.calls TO PUBLIC;

DO $hostile$
DECLARE
  -- built-ins named in the extension's SQL (a grep of src/sql and src/*.c)
  fnames constant text[] := ARRAY['abs', 'array_length', 'array_to_string', 'cardinality', 'ceil', 'concat',
    'current_setting', 'date', 'date_bin', 'date_trunc', 'decode', 'floor', 'format', 'gen_random_uuid',
    'generate_series', 'isfinite', 'jsonb_array_elements', 'jsonb_array_elements_text', 'jsonb_array_length',
    'jsonb_build_array', 'jsonb_build_object', 'jsonb_each', 'jsonb_typeof', 'left', 'length', 'lower', 'upper',
    'make_interval', 'now', 'pg_advisory_xact_lock', 'pg_has_role', 'position', 'quote_ident', 'regexp_replace',
    'round', 'rtrim', 'set_config', 'sha256', 'sign', 'substring', 'substr', 'to_jsonb', 'to_regprocedure',
    'unnest', 'uuid_send', 'strpos', 'replace', 'split_part', 'btrim', 'trim', 'to_char', 'timezone',
    'array_append', 'array_cat', 'array_position', 'jsonb_strip_nulls', 'to_timestamp', 'extract', 'date_part',
    'greatest', 'least', 'nullif', 'coalesce', 'int8', 'float8', 'text', 'numeric', 'timestamptz', 'jsonb_object_keys',
    'clock_timestamp', 'statement_timestamp', 'transaction_timestamp', 'array_remove', 'string_to_array'];
  -- the types whose operators and functions are planted
  types constant regtype[] := ARRAY['text', 'name', 'smallint', 'integer', 'bigint', 'double precision', 'numeric',
    'boolean', 'timestamptz', 'interval', 'jsonb', 'uuid', 'bytea', 'date', 'oid', '"char"', 'inet', 'text[]',
    'bigint[]', 'integer[]', 'smallint[]', 'timestamptz[]', 'double precision[]', 'jsonb[]', 'regclass', 'regrole',
    'analytics.event_type', 'analytics.media_type', 'analytics.continent', 'analytics.device_type',
    'analytics.event_type[]', 'analytics.continent[]', 'analytics.device_type[]']::regtype[];
  opnames constant text[] := ARRAY['=', '<>', '<', '<=', '>', '>=', '||', '@>', '<@', '&&', '+', '-', '*', '/', '%',
    '->', '->>', '#>', '#>>', '?', '?|', '?&', '~~', '!~~', '~~*', '~', '!~', '~*', '^'];
  r record;
  a regtype;
  b regtype;
  n int := 0;
  args text;
  call text;
BEGIN
  -- functions of concrete argument types
  FOR r IN SELECT p.oid, p.proname, p.proretset, p.pronargs, p.proargtypes::regtype[] AS argt,
                  pg_catalog.pg_get_function_result(p.oid) AS res
             FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.prokind = 'f'
              AND p.proname = ANY (fnames) AND p.provariadic = 0
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proargtypes::oid[]) t(o)
                               JOIN pg_catalog.pg_type ty ON ty.oid = t.o WHERE ty.typtype = 'p')
              AND (SELECT ty.typtype FROM pg_catalog.pg_type ty WHERE ty.oid = p.prorettype) <> 'p'
              AND (p.pronargs = 0 OR p.proargtypes::regtype[] <@ types)
  LOOP
    SELECT pg_catalog.string_agg(pg_catalog.format('%s', t), ', ' ORDER BY i),
           pg_catalog.string_agg(pg_catalog.format('$%s', i), ', ' ORDER BY i)
      INTO args, call FROM pg_catalog.unnest(r.argt) WITH ORDINALITY u(t, i);
    IF r.proretset THEN
      EXECUTE pg_catalog.format('CREATE FUNCTION sp_hostile.%I(%s) RETURNS %s LANGUAGE sql BEGIN ATOMIC '
                                'SELECT * FROM pg_catalog.%I(%s) WHERE sp_hostile.hit(%L); END',
                                r.proname, args, r.res, r.proname, call, r.oid::regprocedure);
    ELSE
      EXECUTE pg_catalog.format('CREATE FUNCTION sp_hostile.%I(%s) RETURNS %s LANGUAGE sql '
                                'RETURN CASE WHEN sp_hostile.hit(%L) THEN pg_catalog.%I(%s) END',
                                r.proname, coalesce(args, ''), r.res, r.oid::regprocedure, r.proname, coalesce(call, ''));
    END IF;
    n := n + 1;
  END LOOP;
  -- exact-type versions of polymorphic and variadic built-ins
  FOREACH a IN ARRAY ARRAY['text', 'bigint', 'integer', 'double precision', 'timestamptz', 'jsonb', 'smallint',
                           'analytics.event_type', 'analytics.continent', 'analytics.device_type']::regtype[] LOOP
    EXECUTE pg_catalog.format('CREATE FUNCTION sp_hostile.unnest(%s[]) RETURNS SETOF %s LANGUAGE sql BEGIN ATOMIC '
                              'SELECT x FROM pg_catalog.unnest($1) x WHERE sp_hostile.hit(''unnest(%s[])''); END', a, a, a);
    EXECUTE pg_catalog.format('CREATE FUNCTION sp_hostile.array_length(%s[], integer) RETURNS integer LANGUAGE sql '
                              'RETURN CASE WHEN sp_hostile.hit(''array_length'') THEN pg_catalog.array_length($1, $2) END', a);
    EXECUTE pg_catalog.format('CREATE FUNCTION sp_hostile.cardinality(%s[]) RETURNS integer LANGUAGE sql '
                              'RETURN CASE WHEN sp_hostile.hit(''cardinality'') THEN pg_catalog.cardinality($1) END', a);
    EXECUTE pg_catalog.format('CREATE FUNCTION sp_hostile.to_jsonb(%s) RETURNS jsonb LANGUAGE sql '
                              'RETURN CASE WHEN sp_hostile.hit(''to_jsonb'') THEN pg_catalog.to_jsonb($1) END', a);
    EXECUTE pg_catalog.format('CREATE FUNCTION sp_hostile.array_append(%s[], %s) RETURNS %s[] LANGUAGE sql '
                              'RETURN CASE WHEN sp_hostile.hit(''array_append'') THEN pg_catalog.array_append($1, $2) END', a, a, a);
    -- aggregates: array_agg, and operators between arrays and elements
    EXECUTE pg_catalog.format('CREATE FUNCTION sp_hostile.aa_sf(%s[], %s) RETURNS %s[] LANGUAGE sql '
                              'RETURN CASE WHEN sp_hostile.hit(''array_agg(%s)'') THEN pg_catalog.array_append($1, $2) END', a, a, a, a);
    EXECUTE pg_catalog.format('CREATE AGGREGATE sp_hostile.array_agg(%s) (sfunc = sp_hostile.aa_sf, stype = %s[])', a, a);
    EXECUTE pg_catalog.format('CREATE FUNCTION sp_hostile.arr_eq(%s[], %s[]) RETURNS boolean LANGUAGE sql '
                              'RETURN CASE WHEN sp_hostile.hit(''=(%s[])'') THEN pg_catalog.array_eq($1, $2) END', a, a, a);
    EXECUTE pg_catalog.format('CREATE OPERATOR sp_hostile.= (leftarg = %s[], rightarg = %s[], function = sp_hostile.arr_eq)', a, a);
    EXECUTE pg_catalog.format('CREATE FUNCTION sp_hostile.arr_contains(%s[], %s[]) RETURNS boolean LANGUAGE sql '
                              'RETURN CASE WHEN sp_hostile.hit(''@>(%s[])'') THEN pg_catalog.arraycontains($1, $2) END', a, a, a);
    EXECUTE pg_catalog.format('CREATE OPERATOR sp_hostile.@> (leftarg = %s[], rightarg = %s[], function = sp_hostile.arr_contains)', a, a);
    EXECUTE pg_catalog.format('CREATE FUNCTION sp_hostile.arr_overlap(%s[], %s[]) RETURNS boolean LANGUAGE sql '
                              'RETURN CASE WHEN sp_hostile.hit(''&&(%s[])'') THEN pg_catalog.arrayoverlap($1, $2) END', a, a, a);
    EXECUTE pg_catalog.format('CREATE OPERATOR sp_hostile.&& (leftarg = %s[], rightarg = %s[], function = sp_hostile.arr_overlap)', a, a);
    EXECUTE pg_catalog.format('CREATE FUNCTION sp_hostile.arr_cat(%s[], %s[]) RETURNS %s[] LANGUAGE sql '
                              'RETURN CASE WHEN sp_hostile.hit(''||(%s[])'') THEN pg_catalog.array_cat($1, $2) END', a, a, a, a);
    EXECUTE pg_catalog.format('CREATE OPERATOR sp_hostile.|| (leftarg = %s[], rightarg = %s[], function = sp_hostile.arr_cat)', a, a);
    EXECUTE pg_catalog.format('CREATE FUNCTION sp_hostile.arr_app(%s[], %s) RETURNS %s[] LANGUAGE sql '
                              'RETURN CASE WHEN sp_hostile.hit(''||(%s[], %s)'') THEN pg_catalog.array_append($1, $2) END', a, a, a, a, a);
    EXECUTE pg_catalog.format('CREATE OPERATOR sp_hostile.|| (leftarg = %s[], rightarg = %s, function = sp_hostile.arr_app)', a, a);
  END LOOP;
  -- enums: every comparison
  FOREACH a IN ARRAY ARRAY['analytics.event_type', 'analytics.media_type', 'analytics.continent',
                           'analytics.device_type']::regtype[] LOOP
    FOR r IN SELECT * FROM (VALUES ('=', 'enum_eq'), ('<>', 'enum_ne'), ('<', 'enum_lt'), ('<=', 'enum_le'),
                                   ('>', 'enum_gt'), ('>=', 'enum_ge')) o(op, fn) LOOP
      EXECUTE pg_catalog.format('CREATE FUNCTION sp_hostile.%I(%s, %s) RETURNS boolean LANGUAGE sql '
                                'RETURN CASE WHEN sp_hostile.hit(''%s(%s)'') THEN pg_catalog.%I($1, $2) END',
                                'h_' || r.fn, a, a, r.op, a, r.fn);
      EXECUTE pg_catalog.format('CREATE OPERATOR sp_hostile.%s (leftarg = %s, rightarg = %s, function = sp_hostile.%I)',
                                r.op, a, a, 'h_' || r.fn);
    END LOOP;
  END LOOP;
  -- variadic built-ins, at the arities the extension uses them
  FOR r IN SELECT * FROM (VALUES ('concat', 2), ('concat', 3), ('concat', 4), ('concat', 5), ('concat', 6),
                                 ('format', 2), ('format', 3), ('format', 4), ('format', 5),
                                 ('jsonb_build_object', 2), ('jsonb_build_object', 4), ('jsonb_build_object', 6),
                                 ('jsonb_build_array', 1), ('jsonb_build_array', 2)) v(fn, k) LOOP
    SELECT pg_catalog.string_agg('text', ', '), pg_catalog.string_agg('$' || i, ', ')
      INTO args, call FROM pg_catalog.generate_series(1, r.k) i;
    EXECUTE pg_catalog.format('CREATE FUNCTION sp_hostile.%I(%s) RETURNS %s LANGUAGE sql '
                              'RETURN CASE WHEN sp_hostile.hit(''%s/%s'') THEN pg_catalog.%I(%s) END',
                              r.fn, args, CASE WHEN r.fn LIKE 'jsonb%' THEN 'jsonb' ELSE 'text' END,
                              r.fn, r.k, r.fn, call);
  END LOOP;
  CREATE FUNCTION sp_hostile.jsonb_build_object(text, jsonb) RETURNS jsonb LANGUAGE sql
    RETURN CASE WHEN sp_hostile.hit('jsonb_build_object(text, jsonb)') THEN pg_catalog.jsonb_build_object($1, $2) END;
  CREATE FUNCTION sp_hostile.jsonb_build_object(text, text, text, jsonb) RETURNS jsonb LANGUAGE sql
    RETURN CASE WHEN sp_hostile.hit('jsonb_build_object(text, text, text, jsonb)') THEN pg_catalog.jsonb_build_object($1, $2, $3, $4) END;
  -- aggregates of exact types
  CREATE FUNCTION sp_hostile.sum_sf(double precision, double precision) RETURNS double precision LANGUAGE sql
    RETURN CASE WHEN sp_hostile.hit('sum(double precision)') THEN coalesce($1 + $2, $1, $2) END;
  CREATE AGGREGATE sp_hostile.sum(double precision) (sfunc = sp_hostile.sum_sf, stype = double precision);
  CREATE FUNCTION sp_hostile.sumi_sf(numeric, bigint) RETURNS numeric LANGUAGE sql
    RETURN CASE WHEN sp_hostile.hit('sum(bigint)') THEN coalesce($1 + $2, $1, $2) END;
  CREATE AGGREGATE sp_hostile.sum(bigint) (sfunc = sp_hostile.sumi_sf, stype = numeric);
  CREATE FUNCTION sp_hostile.count_sf(bigint) RETURNS bigint LANGUAGE sql
    RETURN CASE WHEN sp_hostile.hit('count(*)') THEN $1 + 1 END;
  CREATE AGGREGATE sp_hostile.count(*) (sfunc = sp_hostile.count_sf, stype = bigint, initcond = '0');
  CREATE FUNCTION sp_hostile.max_sf(timestamptz, timestamptz) RETURNS timestamptz LANGUAGE sql
    RETURN CASE WHEN sp_hostile.hit('max(timestamptz)') THEN greatest($1, $2) END;
  CREATE AGGREGATE sp_hostile.max(timestamptz) (sfunc = sp_hostile.max_sf, stype = timestamptz);
  CREATE FUNCTION sp_hostile.min_sf(timestamptz, timestamptz) RETURNS timestamptz LANGUAGE sql
    RETURN CASE WHEN sp_hostile.hit('min(timestamptz)') THEN least($1, $2) END;
  CREATE AGGREGATE sp_hostile.min(timestamptz) (sfunc = sp_hostile.min_sf, stype = timestamptz);
  CREATE FUNCTION sp_hostile.string_agg_sf(text, text, text) RETURNS text LANGUAGE sql
    RETURN CASE WHEN sp_hostile.hit('string_agg(text, text)') THEN
                CASE WHEN $2 IS NULL THEN $1 WHEN $1 IS NULL THEN $2 ELSE $1 || $3 || $2 END END;
  CREATE AGGREGATE sp_hostile.string_agg(text, text) (sfunc = sp_hostile.string_agg_sf, stype = text);
  CREATE FUNCTION sp_hostile.jsonb_agg_sf(jsonb[], jsonb) RETURNS jsonb[] LANGUAGE sql
    RETURN CASE WHEN sp_hostile.hit('jsonb_agg(jsonb)') THEN pg_catalog.array_append($1, $2) END;
  CREATE FUNCTION sp_hostile.jsonb_agg_ff(jsonb[]) RETURNS jsonb LANGUAGE sql RETURN pg_catalog.to_jsonb($1);
  CREATE AGGREGATE sp_hostile.jsonb_agg(jsonb) (sfunc = sp_hostile.jsonb_agg_sf, stype = jsonb[], finalfunc = sp_hostile.jsonb_agg_ff);
  CREATE FUNCTION sp_hostile.bool_and_sf(boolean, boolean) RETURNS boolean LANGUAGE sql
    RETURN CASE WHEN sp_hostile.hit('bool_and(boolean)') THEN coalesce($1 AND $2, $1, $2) END;
  CREATE AGGREGATE sp_hostile.bool_and(boolean) (sfunc = sp_hostile.bool_and_sf, stype = boolean);
  -- operators of concrete types
  FOR r IN SELECT o.oprname, o.oprleft::regtype AS l, o.oprright::regtype AS rt, o.oprcode::regproc AS code,
                  o.oprresult::regtype AS res, o.oid
             FROM pg_catalog.pg_operator o
            WHERE o.oprnamespace = 'pg_catalog'::regnamespace AND o.oprkind = 'b'
              AND o.oprname = ANY (opnames) AND o.oprleft::regtype = ANY (types) AND o.oprright::regtype = ANY (types)
              AND (SELECT ty.typtype FROM pg_catalog.pg_type ty WHERE ty.oid = o.oprresult) <> 'p'
              AND (SELECT f.provariadic FROM pg_catalog.pg_proc f WHERE f.oid = o.oprcode) = 0
  LOOP
    n := n + 1;
    EXECUTE pg_catalog.format('CREATE FUNCTION sp_hostile.%I(%s, %s) RETURNS %s LANGUAGE sql '
                              'RETURN CASE WHEN sp_hostile.hit(%L) THEN %s($1, $2) END',
                              'op_' || n, r.l, r.rt, r.res, r.oid::regoperator, r.code);
    EXECUTE pg_catalog.format('CREATE OPERATOR sp_hostile.%s (leftarg = %s, rightarg = %s, function = sp_hostile.%I)',
                              r.oprname, r.l, r.rt, 'op_' || n);
  END LOOP;
  -- types named like the built-in ones (the grammar qualifies integer, bigint,
  -- boolean, interval ...; text, jsonb, timestamptz, uuid, int8 ... it does not)
  FOREACH a IN ARRAY ARRAY['text', 'jsonb', 'timestamptz', 'uuid', 'bytea', 'date', 'int8', 'int4', 'int2',
                           'float8', 'bool', 'name', 'inet', 'regclass', 'oid']::regtype[] LOOP
    EXECUTE pg_catalog.format('CREATE DOMAIN sp_hostile.%I AS %s CHECK (sp_hostile.hit(%L))',
                              (SELECT ty.typname FROM pg_catalog.pg_type ty WHERE ty.oid = a), a, 'type ' || a::text);
  END LOOP;
END
$hostile$;
RESET search_path;
RESET ROLE;
-- hundreds of them
SELECT count(*) > 500 AS planted_functions FROM pg_proc WHERE pronamespace = 'sp_hostile'::regnamespace;
SELECT count(*) > 300 AS planted_operators FROM pg_operator WHERE oprnamespace = 'sp_hostile'::regnamespace;
SELECT count(*) AS planted_types FROM pg_type WHERE typnamespace = 'sp_hostile'::regnamespace AND typtype = 'd';
-- they work: the same query, clean and hostile
SET search_path = sp_hostile, pg_catalog, analytics, public;
SELECT array_agg(x) AS hijacked_array_agg FROM unnest(ARRAY['a', 'b']) x;
RESET search_path;
SELECT last_value > 0 AS hostile_objects_work FROM sp_hostile.hits;
ALTER SEQUENCE sp_hostile.hits RESTART;
TRUNCATE sp_hostile.calls;

-- ---------------------------------------------------------------------
-- The calls. {K} is replaced by c (clean run) or h (hostile run): the calls
-- that write use their own project or role per run.
-- ---------------------------------------------------------------------
CREATE TABLE sp_test.calls (id int PRIMARY KEY, who text NOT NULL DEFAULT 'admin', dml boolean NOT NULL DEFAULT false, q text);
CREATE TABLE sp_test.answers (run text, id int, answer text, PRIMARY KEY (run, id));
GRANT SELECT ON sp_test.calls TO regress_sp_tenant;
GRANT SELECT, INSERT ON sp_test.answers TO regress_sp_tenant;
GRANT SELECT ON sp_test.anchor TO regress_sp_tenant;
INSERT INTO sp_test.calls (id, who, dml, q) VALUES
 -- the SQL API
 (1,  'admin', false, $q$SELECT analytics.metric('play', 'count', (SELECT d OPERATOR(pg_catalog.+) interval '10 hours' FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '13 hours' FROM sp_test.anchor), project_id => 'sp_a')$q$),
 (2,  'admin', false, $q$SELECT analytics.metric('play', 'count', (SELECT d FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '1 day' FROM sp_test.anchor), project_id => 'sp_a')$q$),
 (3,  'admin', false, $q$SELECT analytics.metric('play', 'rate', (SELECT d FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '1 day' FROM sp_test.anchor), project_id => 'sp_a')$q$),
 (4,  'admin', false, $q$SELECT analytics.metric('impression-time', 'average', (SELECT d FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '1 day' FROM sp_test.anchor), project_id => 'sp_a')$q$),
 (5,  'admin', false, $q$SELECT analytics.metric('watch-time', 'sum', (SELECT d FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '1 day' FROM sp_test.anchor), '{"country": ["FR", "US"], "deviceType": "computer"}', project_id => 'sp_a')$q$),
 (6,  'admin', false, $q$SELECT analytics.metric('view', 'count', (SELECT d FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '1 day' FROM sp_test.anchor), unique_viewers => true, view_duration => '5s', project_id => 'sp_a')$q$),
 (7,  'admin', false, $q$SELECT analytics.metric('ccv', 'peak', (SELECT d FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '1 day' FROM sp_test.anchor), project_id => 'sp_a')$q$),
 (8,  'admin', false, $q$SELECT pg_catalog.round(analytics.metric('ccv', 'average', (SELECT d FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '1 day' FROM sp_test.anchor), project_id => 'sp_a')::numeric, 9)$q$),
 (9,  'admin', false, $q$SELECT analytics.metric('play', 'total', filter_by => '{"mediaId": ["m1", "m2"]}', project_id => 'sp_a')$q$),
 (10, 'admin', false, $q$SELECT * FROM analytics.breakdown('play', 'country', (SELECT d FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '1 day' FROM sp_test.anchor), project_id => 'sp_a')$q$),
 (11, 'admin', false, $q$SELECT * FROM analytics.breakdown('impression-time', 'media-id', (SELECT d FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '1 day' FROM sp_test.anchor), '{"continent": "EU"}', 'dimensionValue', 'asc', 'sum', project_id => 'sp_a')$q$),
 (12, 'admin', false, $q$SELECT * FROM analytics.timeseries('play', (SELECT d OPERATOR(pg_catalog.+) interval '10 hours' FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '13 hours' FROM sp_test.anchor), 'hour', project_id => 'sp_a')$q$),
 (13, 'admin', false, $q$SELECT * FROM analytics.timeseries('watch-time', (SELECT d FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '2 days' FROM sp_test.anchor), 'day', time_zone => 'Asia/Tokyo', project_id => 'sp_a')$q$),
 (14, 'admin', false, $q$SELECT pg_catalog.count(*) FROM analytics.timeseries('ccv-peak', (SELECT d OPERATOR(pg_catalog.+) interval '10 hours' FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '11 hours' FROM sp_test.anchor), 'minute', project_id => 'sp_a') t WHERE t.metric_value OPERATOR(pg_catalog.>) 0$q$),
 -- the JSON API
 (20, 'admin', false, $q$SELECT analytics.api_metrics('play', 'count', (SELECT d FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '1 day' FROM sp_test.anchor), project_id => 'sp_a')$q$),
 (21, 'admin', false, $q$SELECT analytics.api_buckets('play', 'country', (SELECT d FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '1 day' FROM sp_test.anchor), page_size => 1, project_id => 'sp_a')$q$),
 (22, 'admin', false, $q$SELECT analytics.api_timeseries('play', (SELECT d OPERATOR(pg_catalog.+) interval '10 hours' FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '12 hours' FROM sp_test.anchor), 'hour', page_size => 1, current_page => 2, project_id => 'sp_a')$q$),
 (23, 'admin', false, $q$SELECT * FROM analytics.api_request(pg_catalog.concat('/data/buckets/play/media-id?from=', (SELECT analytics.to_iso8601(d, 'UTC') FROM sp_test.anchor), '&to=', (SELECT analytics.to_iso8601(d OPERATOR(pg_catalog.+) interval '1 day', 'UTC') FROM sp_test.anchor), '&filterBy[country][]=FR&filterBy[country][]=US&sortBy=dimensionValue&sortOrder=asc'), 'sp_a')$q$),
 (24, 'admin', false, $q$SELECT * FROM analytics.api_request(pg_catalog.concat('/data/timeseries/impression?interval=hour&timeZone=Asia/Tokyo&pageSize=2&from=', (SELECT analytics.to_iso8601(d OPERATOR(pg_catalog.+) interval '10 hours', 'UTC') FROM sp_test.anchor), '&to=', (SELECT analytics.to_iso8601(d OPERATOR(pg_catalog.+) interval '13 hours', 'UTC') FROM sp_test.anchor)), 'sp_a')$q$),
 (25, 'admin', false, $q$SELECT * FROM analytics.api_request('/data/metrics/play/sum', 'sp_a')$q$),
 (26, 'admin', false, $q$SELECT * FROM analytics.api_request('/data/nothing', 'sp_a')$q$),
 (27, 'admin', false, $q$SELECT * FROM analytics.api_request('/data/buckets/play/country?pageSize=0', 'sp_a')$q$),
 -- a tenant, with the same path, through row-level security
 (30, 'tenant', false, $q$SELECT analytics.metric('play', 'count', (SELECT d FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '1 day' FROM sp_test.anchor))$q$),
 (31, 'tenant', false, $q$SELECT * FROM analytics.breakdown('impression', 'browser', (SELECT d FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '1 day' FROM sp_test.anchor))$q$),
 (32, 'tenant', false, $q$SELECT * FROM analytics.api_request(pg_catalog.concat('/data/metrics/impression/count?from=', (SELECT analytics.to_iso8601(d, 'UTC') FROM sp_test.anchor), '&to=', (SELECT analytics.to_iso8601(d OPERATOR(pg_catalog.+) interval '1 day', 'UTC') FROM sp_test.anchor)))$q$),
 (33, 'tenant', false, $q$SELECT analytics._my_projects()$q$),
 -- ingest, import, administration
 (40, 'admin', false, $q$SELECT pg_catalog.jsonb_set(analytics.ingest_ping((SELECT ping FROM sp_test.anchor), 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36', 'FR', '192.0.2.7', 'sp_ping_{K}'), '{session}', 'null')$q$),
 (41, 'admin', true,  $q$INSERT INTO analytics.events_import (project_id, emitted_at, event_type, media_id) SELECT 'sp_imp_{K}', d OPERATOR(pg_catalog.+) interval '10 hours', 'play', 'm1' FROM sp_test.anchor, pg_catalog.generate_series(1, 4100)$q$),
 (42, 'tenant', true, $q$INSERT INTO analytics.events_import (project_id, emitted_at, event_type, media_id) SELECT 'sp_a', d OPERATOR(pg_catalog.+) interval '1 day 20 hours', 'impression', 'm9' FROM sp_test.anchor$q$),
 (43, 'admin', false, $q$SELECT analytics.grant_project('regress_sp_granted', 'sp_g_{K}')$q$),
 (44, 'admin', false, $q$SELECT analytics.revoke_project('regress_sp_granted', 'sp_g_{K}')$q$),
 (45, 'admin', false, $q$SELECT analytics.grant_project('regress_sp_granted', 'sp_g2_{K}')$q$),
 (46, 'admin', false, $q$SELECT analytics.set_retention('30 days')$q$),
 (47, 'admin', false, $q$SELECT analytics.retention()$q$),
 (48, 'admin', false, $q$SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 1 FROM analytics.partitions()$q$),
 (49, 'admin', false, $q$SELECT pg_catalog.jsonb_typeof(analytics.run_maintenance())$q$),
 (50, 'admin', true,  $q$CREATE TABLE sp_test.ddl_{K} (x integer)$q$),
 -- the scalar functions
 (60, 'admin', false, $q$SELECT analytics.parse_user_agent('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1')$q$),
 (61, 'admin', false, $q$SELECT analytics.continent_of('FR')$q$),
 (62, 'admin', false, $q$SELECT analytics.geoip_country('192.0.2.1')$q$),
 (63, 'admin', false, $q$SELECT analytics.time_bucket('day', (SELECT d OPERATOR(pg_catalog.+) interval '23 hours' FROM sp_test.anchor), 'Asia/Tokyo') OPERATOR(pg_catalog.-) (SELECT d FROM sp_test.anchor)$q$),
 (64, 'admin', false, $q$SELECT pg_catalog.count(*) FROM analytics.time_buckets('hour', (SELECT d FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '1 day' FROM sp_test.anchor), 'UTC')$q$),
 (65, 'admin', false, $q$SELECT analytics.to_iso8601('2030-01-01 12:00:00+00', 'Asia/Tokyo')$q$),
 (66, 'admin', false, $q$SELECT analytics.default_interval('2030-01-01', '2030-01-10')$q$),
 (67, 'admin', false, $q$SELECT analytics.stats_metric(analytics.event_stats(e.event_type, e.value), 'play', 'count', NULL) FROM analytics.events e WHERE e.project_id OPERATOR(pg_catalog.=) 'sp_a'$q$),
 (68, 'admin', false, $q$SELECT analytics.ccv(e.emitted_at OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => e.value), e.emitted_at, e.session_id, (SELECT d FROM sp_test.anchor), (SELECT d OPERATOR(pg_catalog.+) interval '1 day' FROM sp_test.anchor)) FROM analytics.events e WHERE e.project_id OPERATOR(pg_catalog.=) 'sp_a' AND e.event_type OPERATOR(pg_catalog.=) 'watch'$q$);

-- the driver: runs each call of one role with the given search_path, and
-- keeps the answer (or the error) as text
CREATE FUNCTION sp_test.run(run text, who text, path text) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  c record;
  sql text;
  answer text;
  n integer := 0;
BEGIN
  FOR c IN SELECT * FROM sp_test.calls WHERE calls.who = run.who ORDER BY id LOOP
    sql := replace(c.q, '{K}', left(run, 1));
    IF NOT c.dml THEN
      sql := 'SELECT pg_catalog.textin(pg_catalog.array_out(pg_catalog.array_agg(x))) FROM (' || sql || ') x';
    END IF;
    BEGIN
      PERFORM pg_catalog.set_config('search_path', path, true);
      IF c.dml THEN
        EXECUTE sql;
        answer := 'done';
      ELSE
        EXECUTE sql INTO answer;
      END IF;
      PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    EXCEPTION WHEN OTHERS THEN
      answer := 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
    END;
    INSERT INTO sp_test.answers VALUES (run, c.id, answer);
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;

SELECT sp_test.run('clean', 'admin', '"$user", public') AS admin_calls;
SET ROLE regress_sp_tenant;
SELECT sp_test.run('clean', 'tenant', '"$user", public') AS tenant_calls;
RESET ROLE;
-- nothing hostile ran with the clean path (the hostile schema is not on it)
SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS hostile_calls FROM sp_hostile.hits;

-- the same calls with the hostile schema first, pg_catalog after it
SELECT sp_test.run('hostile', 'admin', 'sp_hostile, pg_catalog, analytics, public') AS admin_calls;
SET ROLE regress_sp_tenant;
SELECT sp_test.run('hostile', 'tenant', 'sp_hostile, pg_catalog, analytics, public') AS tenant_calls;
RESET ROLE;

-- no hostile object ran: not one call (the sequence), and which (the table)
SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS hostile_calls FROM sp_hostile.hits;
SELECT what, count(*) AS calls FROM sp_hostile.calls GROUP BY what ORDER BY what;
-- every answer is the same with either path
SELECT c.id, c.answer AS clean, h.answer AS hostile
  FROM sp_test.answers c FULL JOIN sp_test.answers h ON h.id = c.id AND h.run = 'hostile'
 WHERE c.run = 'clean' AND c.answer IS DISTINCT FROM h.answer
 ORDER BY 1;

-- and the answers are the ones worked out by hand (sp_a, day D):
--   1  plays 10:00-13:00: S1 S2 S3                                     = 3
--   2  plays of the day                                                = 3
--   3  play rate: 3 plays / 4 impressions                              = 0.75
--   4  impression-time average (200 + 400 + 300 + 100) / 4             = 250
--   5  watch-time sum, FR or US and computer: S1 60 (S2 is a phone)    = 60
--   6  unique viewers with a 5 s view: viewer 11 (S1)                  = 1
--   7  ccv peak: [10:00:02, 10:01:02) and [10:30:06, 10:30:30) apart   = 1
--   8  ccv average (60 + 24) s / 86400 s                               = 0.000972222
--   9  play total, m1 m2, no archived totals: S1 S2 S3                 = 3
--  10  plays by country: FR 2 (S1 S3), US 1 (S2)
--  11  impression-time sum by media in EU, by name: m1 200, m2 300 + 100 = 400
--  12  plays by hour: 10:00 2, 11:00 1, 12:00 0
--  13  watch-time by Tokyo day: the one from D-1 15:00 UTC holds all 84 s, the next ones 0
--  14  minutes of 10:00-11:00 with a viewer: 10:00 10:01 (S1), 10:30 (S2) = 3
--  20-27 the JSON bodies of the same (21: page 1 of 2 by one; 22: 11:00's bucket,
--      page 2 of 2); 25 a 400 naming aggregation, 26 a 404, 27 a 400 naming pageSize
--  30-33 the tenant sees sp_a only: 3 plays, impressions by browser chrome 2
--      firefox 1 safari 1, 4 impressions, and its project list {sp_a}
--  40 the ping: 2 events stored (impression, play), none dropped
--  41 4100 rows through events_import: one batch of 4096 sent by the row
--     trigger, the rest by the statement trigger
-- (dates shown as D-1, D, D+1)
SELECT id, replace(replace(replace(answer, to_char(d - interval '1 day', 'YYYY-MM-DD'), 'D-1'),
                           to_char(d, 'YYYY-MM-DD'), 'D'), to_char(d + interval '1 day', 'YYYY-MM-DD'), 'D+1') AS answer
  FROM sp_test.answers, sp_test.anchor WHERE run = 'clean' ORDER BY id;

-- what the writes stored is the same with either path
SELECT project_id, event_type, count(*), sum(value)
  FROM analytics.events WHERE project_id IN ('sp_ping_c', 'sp_ping_h', 'sp_imp_c', 'sp_imp_h')
 GROUP BY 1, 2 ORDER BY 1, 2;
SELECT role::text, project_id FROM analytics.project_grants WHERE role = 'regress_sp_granted'::regrole ORDER BY 2;
SELECT count(*) AS tenant_imported FROM analytics.events WHERE project_id = 'sp_a' AND media_id = 'm9';
SELECT count(*) AS ddl_tables FROM pg_class WHERE relname IN ('ddl_c', 'ddl_h') AND relnamespace = 'sp_test'::regnamespace;

-- ---------------------------------------------------------------------
-- The catalog: every function of the extension pins its search_path, or has
-- an SQL-standard body (names resolved when it was created), or is a C
-- function that runs no SQL (the list of the last section of
-- src/sql/analytics--0.5--0.6.sql, with the per-row import trigger whose
-- SQL names everything with its schema). A function added without any of
-- these shows up here.
-- ---------------------------------------------------------------------
CREATE TEMP TABLE sp_no_sql (sym text);
INSERT INTO sp_no_sql VALUES
  ('analytics_event_stats_transfn'), ('analytics_event_stats_merge_transfn'), ('analytics_event_stats_combine'),
  ('analytics_event_stats_serialize'), ('analytics_event_stats_deserialize'), ('analytics_event_stats_final'),
  ('analytics_event_stats_negate'), ('analytics_stats_metric'),
  ('analytics_ccv_transfn_uuid'), ('analytics_ccv_transfn_bigint'), ('analytics_ccv_combine'),
  ('analytics_ccv_serialize'), ('analytics_ccv_deserialize'), ('analytics_ccv_final'),
  ('analytics_time_bucket'), ('analytics_time_buckets'), ('analytics_to_iso8601'), ('analytics_default_interval'),
  ('analytics_route'), ('analytics_link'),
  ('analytics_parse_user_agent'), ('analytics_continent_of'), ('analytics_geoip_country_sql'),
  ('analytics_rollup_cover'), ('analytics_ranges_sql'), ('analytics_cover_raw_minutes'),
  ('analytics_catalog_dims'), ('analytics_catalog_dim'), ('analytics_catalog_block_size'),
  ('analytics_catalog_block_origin'),
  ('analytics_heap_handler'), ('analytics_rollup_own_pending'),
  ('analytics_my_projects'), ('analytics_my_scope'), ('analytics_my_project'), ('analytics_is_admin'),
  ('analytics_grants_changed'),
  -- per row, and runs only schema-qualified SQL (see the script)
  ('analytics_import_row'),
  -- per row, run no SQL
  ('analytics_check_emitted_at'), ('analytics_check_country'), ('analytics_ccv_series_transfn_uuid'),
  ('analytics_ccv_series_transfn_bigint'), ('analytics_ccv_series_final'),
  ('analytics_viewers_transfn'), ('analytics_viewers_count_final'), ('analytics_viewers_union_final'),
  ('analytics_value_sums_transfn'), ('analytics_value_sums_combine'), ('analytics_value_sums_final');
CREATE TEMP VIEW sp_functions AS
SELECT p.oid::regprocedure AS fn, l.lanname, p.prokind, p.prosrc, p.prosqlbody IS NOT NULL AS standard_body,
       (SELECT c FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%') AS path
  FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid JOIN pg_language l ON l.oid = p.prolang
 WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extnamespace = 'analytics'::regnamespace);
SELECT count(*) > 80 AS functions_checked,
       count(*) FILTER (WHERE path IS NOT NULL) AS pinned,
       count(*) FILTER (WHERE standard_body) AS standard_body,
       count(*) FILTER (WHERE lanname = 'c' AND prosrc IN (SELECT sym FROM sp_no_sql)) AS c_without_sql,
       count(*) FILTER (WHERE prokind = 'a') AS aggregates
  FROM sp_functions;
-- none left: not pinned, not SQL-standard, not a listed C function, not an aggregate
SELECT fn, lanname FROM sp_functions
 WHERE path IS NULL AND NOT standard_body AND prokind <> 'a'
   AND NOT (lanname = 'c' AND prosrc IN (SELECT sym FROM sp_no_sql))
 ORDER BY 1::text;
-- every pinned path is pg_catalog first, pg_temp last, and nothing a tenant may write
SELECT DISTINCT path FROM sp_functions WHERE path IS NOT NULL ORDER BY 1;
-- no string-bodied SQL function (its names would resolve when it runs)
SELECT fn FROM sp_functions WHERE lanname = 'sql' AND NOT standard_body;
-- the listed C functions carry no SET clause (per-row paths) and all exist
SELECT count(*) AS listed_c_functions, count(*) FILTER (WHERE path IS NOT NULL) AS with_set_clause
  FROM sp_functions WHERE lanname = 'c' AND prosrc IN (SELECT sym FROM sp_no_sql);
SELECT sym AS listed_but_missing FROM sp_no_sql WHERE sym NOT IN (SELECT prosrc FROM sp_functions);
-- the extension's schema is its owner's alone
SELECT has_schema_privilege('regress_sp_tenant', 'analytics', 'CREATE') AS tenant_may_create_in_analytics;

-- clean up
SET client_min_messages = warning;
DROP SCHEMA sp_hostile CASCADE;
DROP SCHEMA sp_test CASCADE;
RESET client_min_messages;
SELECT analytics.revoke_project('regress_sp_tenant', 'sp_a') AS revoked;
SELECT analytics.revoke_project('regress_sp_granted', 'sp_g2_c') AND analytics.revoke_project('regress_sp_granted', 'sp_g2_h') AS revoked;
DELETE FROM analytics.events WHERE project_id IN ('sp_a', 'sp_b', 'sp_ping_c', 'sp_ping_h', 'sp_imp_c', 'sp_imp_h');
DELETE FROM analytics.ping_sessions WHERE project_id IN ('sp_ping_c', 'sp_ping_h');
DROP ROLE regress_sp_tenant;
DROP ROLE regress_sp_granted;
