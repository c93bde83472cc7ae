-- Enrichment: user-agent dimensions (uap-core regexes, folded), continents,
-- viewer ids (keyed hash of user agent + IP + UTC day) and their use by ingest_ping.
SELECT label, (analytics.parse_user_agent(ua)).*
  FROM (VALUES
  ('windows chrome', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'),
  ('windows edge', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51'),
  ('windows firefox', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0'),
  ('macos safari', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15'),
  ('linux firefox', 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0'),
  ('chromebook', 'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'),
  ('iphone safari', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1'),
  ('iphone chrome', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1'),
  ('ipad', 'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1'),
  ('android phone chrome', 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36'),
  ('android phone samsung', 'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36'),
  ('android tablet', 'Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'),
  ('samsung tizen tv', 'Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.5) AppleWebKit/537.36 (KHTML, like Gecko) 85.0.4183.93/6.5 TV Safari/537.36'),
  ('lg webos tv', 'Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.88 Safari/537.36 WebAppManager'),
  ('playstation 5', 'Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15'),
  ('xbox', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox Series X) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/48.0.2564.82 Safari/537.36 Edge/20.02'),
  ('nintendo switch', 'Mozilla/5.0 (Nintendo Switch; WifiWebAuthApplet) AppleWebKit/606.4 (KHTML, like Gecko) NF/6.0.1.15.4 NintendoBrowser/5.1.0.20393'),
  ('apple watch', 'server-bag [Watch OS,10.4,21T216,Watch6,1]'),
  ('googlebot', 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'),
  ('bingbot', 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)'),
  ('curl', 'curl/8.5.0'),
  ('empty', ''),
  ('garbage', '%%%% ;;; ((( '),
  ('non-ascii', convert_from('\x4d6f7a696c6c61'::bytea, 'UTF8') || E'\u00e9\u00ff'),
  ('100 kB', repeat('Mozilla/5.0 (Windows NT 10.0) ', 3300))
) v(label, ua);
SELECT analytics.parse_user_agent(NULL) IS NULL AS null_in_null_out;

-- repeated agents come from the cache and give the same answer
SELECT count(DISTINCT p) AS distinct_answers
  FROM (SELECT analytics.parse_user_agent('Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36') AS p
          FROM generate_series(1, 1000)) s;

-- continents
SELECT c, analytics.continent_of(c) FROM (VALUES ('FR'), ('us'), ('BR'), ('JP'), ('NG'), ('AU'), ('AQ'), ('XK'), ('ZZ'), ('FRA'), ('')) v(c);

-- the viewer id secret is not readable by PUBLIC
CREATE ROLE analytics_regress_reader;
GRANT USAGE ON SCHEMA analytics TO analytics_regress_reader;
SET ROLE analytics_regress_reader;
SELECT count(*) FROM analytics.secrets;
RESET ROLE;
REVOKE USAGE ON SCHEMA analytics FROM analytics_regress_reader;
DROP ROLE analytics_regress_reader;
SELECT name, length(value) AS bytes FROM analytics.secrets;

-- ingest_ping fills device type, OS, browser and the viewer id
CREATE FUNCTION pg_temp.hb(sid text, ua text, ip inet) RETURNS jsonb LANGUAGE sql AS $$
  SELECT analytics.ingest_ping(jsonb_build_object(
    'emitted_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'session', jsonb_build_object('loaded_at', to_char((now() - interval '10 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                  'video_id', 've', 'session_id', sid),
    'events', jsonb_build_array(jsonb_build_object('emitted_at', to_char((now() - interval '5 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                                   'type', 'ready'))),
    user_agent => ua, client_ip => ip, project_id => 'enrich_t') $$;
SELECT pg_temp.hb('aaaaaaaa-0000-4000-8000-000000000001', 'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1', '192.0.2.10') - 'session';
SELECT pg_temp.hb('aaaaaaaa-0000-4000-8000-000000000002', 'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1', '192.0.2.10') - 'session';
SELECT pg_temp.hb('aaaaaaaa-0000-4000-8000-000000000003', 'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1', '2001:db8::1') - 'session';
SELECT pg_temp.hb('aaaaaaaa-0000-4000-8000-000000000004', 'curl/8.5.0', '192.0.2.10') - 'session';
SELECT pg_temp.hb('aaaaaaaa-0000-4000-8000-000000000005', NULL, NULL) - 'session';
SELECT session_id, device_type, operating_system, browser, viewer_id IS NOT NULL AS has_viewer, viewer_id > 0 AS positive
  FROM analytics.events WHERE project_id = 'enrich_t' ORDER BY session_id;
-- same agent and address on the same day: the same viewer; another address or agent: another one
SELECT count(DISTINCT viewer_id) AS viewers, count(*) FILTER (WHERE viewer_id IS NULL) AS without_ip
  FROM analytics.events WHERE project_id = 'enrich_t';
SELECT (SELECT viewer_id FROM analytics.events WHERE session_id = 'aaaaaaaa-0000-4000-8000-000000000001')
     = (SELECT viewer_id FROM analytics.events WHERE session_id = 'aaaaaaaa-0000-4000-8000-000000000002') AS same_viewer;
