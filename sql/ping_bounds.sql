-- ping_bounds: what one ping may claim (README "Player pings", "What a ping
-- can claim"): long playbacks stored in watch events of at most 1 h, credits
-- bounded by the client clock and by 24 h per ping, the impression value
-- clamped, and arguments from HTTP headers (country, user agent, client IP)
-- that never cost a ping.  Every expected value is worked out by hand in
-- the comments.
SET TimeZone = 'UTC';
SET analytics.maintenance_in_worker = off;
CREATE TEMP TABLE pb_anchor AS SELECT date_trunc('hour', now()) - interval '3 hours' AS a;
-- a client timestamp, A + s seconds
CREATE FUNCTION pg_temp.t(s double precision) RETURNS text LANGUAGE sql AS $$
  SELECT to_char((a + s * interval '1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') FROM pb_anchor $$;
-- one ping of video vb: session sid, loaded at A + l (or the given text), emitted at A + e
CREATE FUNCTION pg_temp.ping(sid text, l text, e double precision, events jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT analytics.ingest_ping(
           jsonb_build_object('emitted_at', pg_temp.t(e),
                              'session', jsonb_build_object('loaded_at', l, 'video_id', 'vb', 'session_id', sid),
                              'events', events),
           project_id => 'bounds_t') - 'session' $$;
CREATE FUNCTION pg_temp.ev(type text, s double precision, at double precision DEFAULT NULL) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_strip_nulls(jsonb_build_object('emitted_at', pg_temp.t(s), 'type', type, 'at', at)) $$;
-- the events of a session, times relative to A
CREATE FUNCTION pg_temp.events_of(sid uuid) RETURNS TABLE (at_s numeric, event_type text, value double precision)
LANGUAGE sql AS $$
  SELECT extract(epoch FROM e.emitted_at - p.a), e.event_type::text, e.value
    FROM analytics.events e, pb_anchor p
   WHERE e.project_id = 'bounds_t' AND e.session_id = sid
   ORDER BY e.emitted_at, e.event_type, e.value $$;
-- the watch events of a session: count, sum, largest, and whether their
-- intervals [emitted_at - value, emitted_at] overlap
CREATE FUNCTION pg_temp.watch_summary(sid uuid)
RETURNS TABLE (watches bigint, watched double precision, largest double precision, overlapping bigint)
LANGUAGE sql AS $$
  SELECT count(*), sum(value), max(value), count(*) FILTER (WHERE emitted_at - value * interval '1 second' < prev_end)
    FROM (SELECT value, emitted_at, lag(emitted_at) OVER (ORDER BY emitted_at) AS prev_end
            FROM analytics.events
           WHERE project_id = 'bounds_t' AND session_id = sid AND event_type = 'watch') w $$;

-- 1. A 2-hour video played without heartbeats: play at +1 at 0, end at
--    +7199 at 7198.  The end credits 7198 s (progress 7198, wall time 7198):
--    one full hour ending at +7199 and the rest, 3598 s, ending at +3599
--    (intervals [1, 3599] and [3599, 7199]); views 3, 5, 10, 30 with the first piece.
SELECT pg_temp.ping('bbbbbbbb-0000-4000-8000-000000000001', pg_temp.t(0), 1,
                    jsonb_build_array(pg_temp.ev('ready', 0.5, 0), pg_temp.ev('play', 1, 0)));
SELECT pg_temp.ping('bbbbbbbb-0000-4000-8000-000000000001', pg_temp.t(0), 7200,
                    jsonb_build_array(pg_temp.ev('end', 7199, 7198)));
--    the client's retry: replayed, nothing stored twice, no error
SELECT pg_temp.ping('bbbbbbbb-0000-4000-8000-000000000001', pg_temp.t(0), 7200,
                    jsonb_build_array(pg_temp.ev('end', 7199, 7198)));
SELECT * FROM pg_temp.events_of('bbbbbbbb-0000-4000-8000-000000000001');
SELECT * FROM pg_temp.watch_summary('bbbbbbbb-0000-4000-8000-000000000001');

-- 2. Never more than the client time since the last credit: play at +10 at
--    0, pause at +11 at 3001: 1 s (not 3001); resume at +20 at 3001, a
--    heartbeat at +30 credits 10, pause at +31 at 3100: 1 s (not 89).  Total 12.
SELECT pg_temp.ping('bbbbbbbb-0000-4000-8000-000000000002', pg_temp.t(0), 11.5,
                    jsonb_build_array(pg_temp.ev('play', 10, 0), pg_temp.ev('pause', 11, 3001)));
SELECT pg_temp.ping('bbbbbbbb-0000-4000-8000-000000000002', pg_temp.t(0), 20.5,
                    jsonb_build_array(pg_temp.ev('resume', 20, 3001)));
SELECT pg_temp.ping('bbbbbbbb-0000-4000-8000-000000000002', pg_temp.t(0), 30, '[]');
SELECT pg_temp.ping('bbbbbbbb-0000-4000-8000-000000000002', pg_temp.t(0), 31.5,
                    jsonb_build_array(pg_temp.ev('pause', 31, 3100)));
SELECT * FROM pg_temp.watch_summary('bbbbbbbb-0000-4000-8000-000000000002');
--    playback rate 2: 120 s of content over 60 s: 60 s
SELECT pg_temp.ping('bbbbbbbb-0000-4000-8000-000000000003', pg_temp.t(0), 100,
                    jsonb_build_array(pg_temp.ev('play', 40, 0), pg_temp.ev('pause', 100, 120)));
SELECT * FROM pg_temp.watch_summary('bbbbbbbb-0000-4000-8000-000000000003');

-- 3. One ping credits at most 24 h: play at -100000 at 0, pause at 0 at
--    100000 (27.8 h of wall time): 86400 s, 24 watch events of 3600 s ending
--    at -82800, -79200, ..., 0.
SELECT pg_temp.ping('bbbbbbbb-0000-4000-8000-000000000004', pg_temp.t(-100000), -100000,
                    jsonb_build_array(pg_temp.ev('play', -100000, 0)));
SELECT pg_temp.ping('bbbbbbbb-0000-4000-8000-000000000004', pg_temp.t(-100000), 0.5,
                    jsonb_build_array(pg_temp.ev('pause', 0, 100000)));
SELECT * FROM pg_temp.watch_summary('bbbbbbbb-0000-4000-8000-000000000004');
SELECT min(at_s) AS first_end, max(at_s) AS last_end, count(DISTINCT value) AS values
  FROM pg_temp.events_of('bbbbbbbb-0000-4000-8000-000000000004') WHERE event_type = 'watch';

-- 4. The impression value is clamped to [0, 60000] ms: loaded_at 0001-01-01
--    and ready at +1: 60000 (not 6.4e13); loaded_at in year 9999: 0; an
--    honest one: 250.
SELECT pg_temp.ping('bbbbbbbb-0000-4000-8000-000000000005', '0001-01-01T00:00:00Z', 1.5,
                    jsonb_build_array(pg_temp.ev('ready', 1, 0)));
SELECT pg_temp.ping('bbbbbbbb-0000-4000-8000-000000000006', '9999-12-31T00:00:00Z', 2.5,
                    jsonb_build_array(pg_temp.ev('ready', 2, 0)));
SELECT pg_temp.ping('bbbbbbbb-0000-4000-8000-000000000007', pg_temp.t(3), 3.5,
                    jsonb_build_array(pg_temp.ev('ready', 3.25, 0)));
SELECT session_id, value FROM analytics.events
 WHERE project_id = 'bounds_t' AND event_type = 'impression' ORDER BY session_id;
--    through the API over [A, A + 1 h): impressions 500 (1), 60000, 0, 250:
--    average (500 + 60000 + 0 + 250) / 4 = 15187.5; watch-time: 3598 (1,
--    ending at +3599) + 12 (2) + 60 (3) + 3600 (4, the piece ending at 0) = 7270
SELECT m, a, analytics.metric(m, a, a0, a0 + interval '1 hour', project_id => 'bounds_t') AS value
  FROM (SELECT a AS a0 FROM pb_anchor) x,
       (VALUES ('impression', 'count'), ('impression-time', 'average'), ('watch-time', 'sum')) v(m, a);

-- 5. Positions are refused, not clamped, when negative, not finite or above 1e10 s
CREATE FUNCTION pg_temp.try(payload jsonb, user_agent text DEFAULT NULL, country text DEFAULT NULL,
                            client_ip inet DEFAULT NULL, project_id text DEFAULT 'bounds_t')
RETURNS text LANGUAGE plpgsql AS $$
DECLARE c text; h text; r jsonb;
BEGIN
  r := analytics.ingest_ping(payload, user_agent, country, client_ip, project_id);
  RETURN 'ok ' || (r - 'session')::text;
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS c = COLUMN_NAME, h = PG_EXCEPTION_HINT;
  RETURN SQLSTATE || ' ' || c || ': ' || SQLERRM || CASE WHEN h <> '' THEN ' (with a payload hint)' ELSE '' END;
END $$;
SELECT q, pg_temp.try(jsonb_build_object('emitted_at', pg_temp.t(5), 'session', jsonb_build_object('loaded_at', pg_temp.t(4), 'video_id', 'vb'),
                                         'events', jsonb_build_array(jsonb_build_object('emitted_at', pg_temp.t(5), 'type', 'pause', 'at', p))))
  FROM (VALUES ('at 1e11', 1e11), ('at -1', -1), ('at 1e10', 1e10)) v(q, p);

-- 6. Header arguments never cost a ping.  Each ping below is a new playback
--    with one ready event (1 event stored); a country that is not an ISO
--    3166-1 alpha-2 code (CDN codes XX, T1, EU, A1, A2, O1, AP, empty,
--    garbage) is unknown: NULL country and continent.
CREATE TEMP TABLE header_cases (n int, label text, country text, user_agent text, client_ip inet);
INSERT INTO header_cases VALUES
  (1, 'XX', 'XX', NULL, NULL), (2, 'T1 (Tor)', 'T1', NULL, NULL), (3, 'EU', 'EU', NULL, NULL),
  (4, 'A1', 'A1', NULL, NULL), (5, 'A2', 'A2', NULL, NULL), (6, 'O1', 'O1', NULL, NULL),
  (7, 'AP', 'AP', NULL, NULL), (8, 'empty', '', NULL, NULL), (9, 'Atlantis', 'Atlantis', NULL, NULL),
  (10, 'ZZ', 'ZZ', NULL, NULL), (11, 'control chars', E'\x01\x02', NULL, NULL),
  (12, '100 kB', repeat('x', 100000), NULL, NULL), (13, 'lower case fr', 'fr', NULL, NULL),
  (14, 'spaces around de', ' de ', NULL, NULL), (15, 'UK (not ISO)', 'UK', NULL, NULL),
  (16, '1 MB user agent', NULL, repeat('Mozilla/5.0 ', 87382), '192.0.2.7'),
  (17, 'control-char user agent', NULL, E'\x01\x02\x7f\t\r\n', '192.0.2.7'),
  (18, 'empty user agent', NULL, '', '192.0.2.7'),
  (19, 'IP 0.0.0.0', NULL, 'curl/8.0', '0.0.0.0'), (20, 'IP ::', NULL, 'curl/8.0', '::'),
  (21, 'IP with a netmask', NULL, 'curl/8.0', '10.0.0.0/8'), (22, 'IPv4-mapped', NULL, 'curl/8.0', '::ffff:0.0.0.0');
CREATE FUNCTION pg_temp.header_ping(n int, h header_cases) RETURNS text LANGUAGE sql AS $$
  SELECT pg_temp.try(jsonb_build_object('emitted_at', pg_temp.t(4010 + n),
                                        'session', jsonb_build_object('loaded_at', pg_temp.t(4009 + n), 'video_id', 'vh',
                                                                      'session_id', format('cccccccc-0000-4000-8000-%s', lpad(n::text, 12, '0'))),
                                        'events', jsonb_build_array(jsonb_build_object('emitted_at', pg_temp.t(4009.5 + n), 'type', 'ready'))),
                     h.user_agent, h.country, h.client_ip) $$;
SELECT h.n, h.label, pg_temp.header_ping(h.n, h) AS reply FROM header_cases h ORDER BY n;
SELECT h.n, h.label, e.country, e.continent, e.device_type, e.viewer_id IS NOT NULL AS has_viewer
  FROM header_cases h
  JOIN analytics.events e ON e.project_id = 'bounds_t'
                         AND e.session_id = format('cccccccc-0000-4000-8000-%s', lpad(h.n::text, 12, '0'))::uuid
 ORDER BY h.n;

-- with a GeoIP database (192.0.2.0/24 is FR in the test database, see
-- sql/geoip.sql), an unknown country is the IP's country; a valid one is kept
\getenv abs_srcdir PG_ABS_SRCDIR
SELECT format('/tmp/analytics_geoip_bounds_%s_%s.mmdb', pg_backend_pid(), substr(md5(random()::text), 1, 8)) AS db \gset
SELECT format('perl %s %s', quote_literal(:'abs_srcdir' || '/test/geoip/make_test_mmdb.pl'), quote_literal(:'db')) AS make_db,
       format('rm -f %s', quote_literal(:'db')) AS cleanup \gset
CREATE TEMP TABLE pb_program_output (line text);
COPY pb_program_output FROM PROGRAM :'make_db';
SET analytics.geoip_database = :'db';
INSERT INTO header_cases VALUES
  (31, 'T1 with a French IP', 'T1', 'curl/8.0', '192.0.2.7'),
  (32, 'garbage with a French IP', 'not a country', 'curl/8.0', '192.0.2.7'),
  (33, 'US with a French IP', 'us', 'curl/8.0', '192.0.2.7'),
  (34, 'XX with an unknown IP', 'XX', 'curl/8.0', '10.1.2.3');
SELECT h.n, h.label, pg_temp.header_ping(h.n, h) AS reply FROM header_cases h WHERE n > 30 ORDER BY n;
SELECT h.n, h.label, e.country, e.continent
  FROM header_cases h
  JOIN analytics.events e ON e.project_id = 'bounds_t'
                         AND e.session_id = format('cccccccc-0000-4000-8000-%s', lpad(h.n::text, 12, '0'))::uuid
 WHERE h.n > 30 ORDER BY h.n;
RESET analytics.geoip_database;
COPY pb_program_output FROM PROGRAM :'cleanup';

-- 7. Errors that remain name the argument, and only a payload error carries
--    the hint about the ping's JSON format
SELECT q, pg_temp.try(p, project_id => pid) FROM (VALUES
  ('empty project_id', jsonb_build_object('emitted_at', pg_temp.t(50), 'session', jsonb_build_object('loaded_at', pg_temp.t(49), 'video_id', 'vb')), ''),
  ('payload without a session', jsonb_build_object('emitted_at', pg_temp.t(50)), 'bounds_t'),
  ('NULL payload', NULL, 'bounds_t')) v(q, p, pid);
