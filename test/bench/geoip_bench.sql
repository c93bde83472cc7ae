-- test/bench/geoip_bench.sql: analytics.geoip_country lookups per second in
-- one backend, over 1M random addresses (80% IPv4, 20% IPv6 in 2400::/6).
--   psql -X -d DB -v db=/path/to/file.mmdb -f test/bench/geoip_bench.sql
-- Needs the extension and a superuser (sets analytics.geoip_database); a
-- database about the size of GeoLite2-Country:
--   perl test/geoip/make_test_mmdb.pl /tmp/large.mmdb large
-- Read the \timing lines: each query runs 3 times; the first query is the
-- baseline (same scan, no lookup).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
SET analytics.geoip_database = :'db';
SELECT setseed(0.42);
CREATE TEMP TABLE geoip_bench_ips AS
SELECT CASE WHEN random() < 0.8
            THEN ((floor(random() * 4294967296)::bigint - 2147483648)::int4::bit(32)::bigint
                  + '0.0.0.0'::inet)
            ELSE (format('%s:%s:%s:%s::1', to_hex(9216 + floor(random() * 3072)::int),
                         to_hex(floor(random() * 65536)::int), to_hex(floor(random() * 65536)::int),
                         to_hex(floor(random() * 65536)::int)))::inet END AS ip
  FROM generate_series(1, 1000000);
SELECT analytics.geoip_country('192.0.2.1');	-- opens the file
\timing on
SELECT count(ip) FROM geoip_bench_ips;
SELECT count(ip) FROM geoip_bench_ips;
SELECT count(ip) FROM geoip_bench_ips;
SELECT count(analytics.geoip_country(ip)) AS found FROM geoip_bench_ips;
SELECT count(analytics.geoip_country(ip)) AS found FROM geoip_bench_ips;
SELECT count(analytics.geoip_country(ip)) AS found FROM geoip_bench_ips;
-- a PL/pgSQL loop, one call per iteration
SET client_min_messages = notice;
DO $$
DECLARE
  r record; c text; n int := 0;
BEGIN
  FOR r IN SELECT ip FROM geoip_bench_ips LOOP
    c := analytics.geoip_country(r.ip);
    IF c IS NOT NULL THEN n := n + 1; END IF;
  END LOOP;
  RAISE NOTICE 'found %', n;
END $$;
\timing off
DROP TABLE geoip_bench_ips;
