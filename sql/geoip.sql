-- analytics.geoip_country(inet) and the setting analytics.geoip_database.
-- The test writes its MaxMind DB files itself, with
-- test/geoip/make_test_mmdb.pl (Perl, MaxMind::DB::Writer), run by the
-- server through COPY FROM PROGRAM (superuser): 192.0.2.0/24 FR (BE in the
-- "changed" variant), 198.51.100.0/24 US, 203.0.113.0/24 registered_country
-- DE only, 2001:db8::/32 JP.
-- The files that are read successfully get a name unique to this run (not
-- shown in the output), so that concurrent runs on one machine don't mix.
\getenv abs_srcdir PG_ABS_SRCDIR
SELECT format('/tmp/analytics_geoip_test_%s_%s', pg_backend_pid(), substr(md5(random()::text), 1, 8)) AS base \gset
SELECT :'base' || '.mmdb' AS db, :'base' || '.mmdb.new' AS db_new \gset
SELECT format('perl %s %s', quote_literal(:'abs_srcdir' || '/test/geoip/make_test_mmdb.pl'), quote_literal(:'db')) AS make_db,
       format('perl %s %s changed && mv -f %s %s', quote_literal(:'abs_srcdir' || '/test/geoip/make_test_mmdb.pl'),
              quote_literal(:'db_new'), quote_literal(:'db_new'), quote_literal(:'db')) AS update_db,
       format('rm -f %s %s /tmp/analytics_geoip_test_not_mmdb.mmdb /tmp/analytics_geoip_test_not_mmdb.mmdb.new /tmp/analytics_geoip_test_unreadable.mmdb',
              quote_literal(:'db'), quote_literal(:'db_new')) AS cleanup \gset
CREATE TEMP TABLE geoip_program_output (line text);
CREATE TEMP TABLE geoip_ips (ip inet, note text);
INSERT INTO geoip_ips VALUES
  ('192.0.2.1', 'IPv4 FR'), ('192.0.2.255/24', 'IPv4 FR, masklen ignored'),
  ('198.51.100.77', 'IPv4 US'), ('203.0.113.5', 'IPv4 registered_country only'),
  ('2001:db8::1', 'IPv6 JP'), ('2001:db8:ffff::/48', 'IPv6 JP, masklen ignored'),
  ('10.0.0.1', 'IPv4 not in the database'), ('2001:db9::1', 'IPv6 not in the database'),
  ('::ffff:192.0.2.1', 'IPv4-mapped IPv6'), ('::ffff:198.51.100.1', 'IPv4-mapped IPv6'),
  ('::192.0.2.1', 'IPv4-compatible IPv6 (the IPv4 subtree)'), (NULL, 'NULL');

-- the setting is empty by default: NULL, whatever the address
SELECT analytics.geoip_country('192.0.2.1'), analytics.geoip_country('2001:db8::1');
SHOW analytics.geoip_database;

COPY geoip_program_output FROM PROGRAM :'make_db';
SET analytics.geoip_database = :'db';
SELECT note, ip, analytics.geoip_country(ip) FROM geoip_ips;
-- STRICT: NULL in, NULL out
SELECT analytics.geoip_country(NULL) IS NULL AS is_null;
-- the function is STABLE (the file can change), and parallel safe
SELECT provolatile, proisstrict, proparallel FROM pg_proc WHERE oid = 'analytics.geoip_country(inet)'::regprocedure;

-- a new version of the file, written elsewhere and renamed over it, is read
-- within a second (the file is checked with stat() at most once a second)
COPY geoip_program_output FROM PROGRAM :'update_db';
SELECT pg_sleep(1.1);
SELECT analytics.geoip_country('192.0.2.1') AS changed, analytics.geoip_country('198.51.100.77') AS same;

-- a missing file: one WARNING, then NULL without a WARNING
SET analytics.geoip_database = '/tmp/analytics_geoip_test_missing.mmdb';
SELECT analytics.geoip_country('192.0.2.1');
SELECT analytics.geoip_country('198.51.100.77');
SELECT pg_sleep(1.1);
SELECT analytics.geoip_country('198.51.100.77');
-- back to the good file: at once, no WARNING
SET analytics.geoip_database = :'db';
SELECT analytics.geoip_country('192.0.2.1');

-- ingest_ping takes the country from the client IP when none is given (192.0.2.0/24
-- is BE in the updated file), keeps a given one, and stores no IP
CREATE FUNCTION pg_temp.geo_ping(sid text, country text, ip inet) RETURNS jsonb LANGUAGE sql AS $$
  SELECT analytics.ingest_ping(jsonb_build_object(
    'emitted_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'session', jsonb_build_object('loaded_at', to_char((now() - interval '10 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                  'video_id', 'vg', 'session_id', sid),
    'events', jsonb_build_array(jsonb_build_object('emitted_at', to_char((now() - interval '5 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                                   'type', 'ready'))),
    country => country, client_ip => ip, project_id => 'geo_t') - 'session' $$;
SELECT pg_temp.geo_ping('bbbbbbbb-0000-4000-8000-000000000001', NULL, '192.0.2.7');
SELECT pg_temp.geo_ping('bbbbbbbb-0000-4000-8000-000000000002', 'us', '192.0.2.7');
SELECT pg_temp.geo_ping('bbbbbbbb-0000-4000-8000-000000000003', NULL, '2001:db8::5');
SELECT pg_temp.geo_ping('bbbbbbbb-0000-4000-8000-000000000004', NULL, '203.0.113.9');
SELECT pg_temp.geo_ping('bbbbbbbb-0000-4000-8000-000000000005', NULL, '10.1.2.3');
SELECT session_id, country, continent FROM analytics.events WHERE project_id = 'geo_t' ORDER BY session_id;
-- the setting is a path; empty again: NULL
RESET analytics.geoip_database;
SELECT analytics.geoip_country('192.0.2.1');

-- a file that is not a MaxMind DB: one WARNING, NULL
COPY geoip_program_output FROM PROGRAM 'echo not a MaxMind DB > /tmp/analytics_geoip_test_not_mmdb.mmdb';
SET analytics.geoip_database = '/tmp/analytics_geoip_test_not_mmdb.mmdb';
SELECT analytics.geoip_country('192.0.2.1');
SELECT analytics.geoip_country('2001:db8::1');
-- ... and one more WARNING when it changes (to another invalid file)
COPY geoip_program_output FROM PROGRAM 'echo still not a MaxMind DB > /tmp/analytics_geoip_test_not_mmdb.mmdb.new && mv -f /tmp/analytics_geoip_test_not_mmdb.mmdb.new /tmp/analytics_geoip_test_not_mmdb.mmdb';
SELECT pg_sleep(1.1);
SELECT analytics.geoip_country('192.0.2.1');
SELECT analytics.geoip_country('192.0.2.1');
-- an unreadable file: one WARNING, NULL
COPY geoip_program_output FROM PROGRAM 'touch /tmp/analytics_geoip_test_unreadable.mmdb && chmod 000 /tmp/analytics_geoip_test_unreadable.mmdb';
SET analytics.geoip_database = '/tmp/analytics_geoip_test_unreadable.mmdb';
SELECT analytics.geoip_country('192.0.2.1');
SELECT analytics.geoip_country('192.0.2.1');

-- superuser only: it names a file the server reads
RESET analytics.geoip_database;
CREATE ROLE analytics_geoip_test_user;
SET ROLE analytics_geoip_test_user;
SET analytics.geoip_database = '/etc/passwd';
SHOW analytics.geoip_database;
RESET ROLE;
DROP ROLE analytics_geoip_test_user;

-- none of the files is left behind
COPY geoip_program_output FROM PROGRAM :'cleanup';
SELECT count(*) AS program_output_lines FROM geoip_program_output;
