-- Hostile input (docs/api.md, errors): hundreds of malformed URIs through api_request and
-- malformed pings through ingest_ping: random bytes (seeded, so every run
-- feeds the same inputs), invalid UTF-8 attempts, huge numbers, deep
-- nesting, megabyte strings. api_request must answer every one with a 4xx
-- body and never raise; ingest_ping must end each one with a 22xxx or 54xxx
-- error and store nothing; the backend must survive. The expected output
-- shows counts per outcome class, not every call.
SET TimeZone = 'UTC';
SELECT setseed(0.7);

-- random text: printable ASCII, URI punctuation and random code points
-- (chr() refuses surrogates, so the text is always valid UTF-8: invalid
-- UTF-8 can only arrive percent-encoded, or be refused at the door)
CREATE FUNCTION pg_temp.rnd_text(n int) RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT string_agg(CASE WHEN r < 0.55 THEN chr(32 + (random() * 94)::int)
                         WHEN r < 0.75 THEN substr('%[]{}&=?/#+"\:,0123456789abcdefABCDEF', 1 + (random() * 37)::int, 1)
                         WHEN r < 0.85 THEN '%' || lpad(to_hex((random() * 255)::int), 2, '0')
                         WHEN r < 0.95 THEN chr(128 + (random() * 1900)::int)
                         ELSE chr(CASE WHEN c BETWEEN 55296 AND 57343 THEN 65533 ELSE c END) END, '')
    FROM (SELECT random() AS r, 1 + (random() * 1114110)::int AS c FROM generate_series(1, n)) x $$;

CREATE TEMP TABLE hostile_uri (id serial, uri text);
-- 1. random strings, some under the API's paths
INSERT INTO hostile_uri (uri)
SELECT CASE g % 4 WHEN 0 THEN pg_temp.rnd_text(1 + (random() * 60)::int)
                  WHEN 1 THEN '/data/' || pg_temp.rnd_text(1 + (random() * 60)::int)
                  WHEN 2 THEN '/data/metrics/play/count?x' || pg_temp.rnd_text(1 + (random() * 80)::int)
                  ELSE '/data/buckets/play/country?filterBy' || pg_temp.rnd_text(1 + (random() * 80)::int) END
  FROM generate_series(1, 300) g;
-- 2. random values of the parameters that take a closed set or a format
INSERT INTO hostile_uri (uri)
SELECT (ARRAY['/data/metrics/play/count', '/data/buckets/play/browser', '/data/timeseries/view'])[1 + g % 3] || '?'
       || (ARRAY['from', 'to', 'filterBy[country]', 'filterBy[continent][]', 'filterBy', 'sortBy', 'sortOrder',
                 'currentPage', 'pageSize', 'interval', 'timeZone', 'unique', 'viewDuration', 'aggregation',
                 'filterBy[mediaType]', 'filterBy[deviceType][0]'])[1 + (random() * 15)::int]
       || '=' || pg_temp.rnd_text(1 + (random() * 40)::int)
  FROM generate_series(1, 200) g;
-- 3. invalid UTF-8, percent-encoded: lone continuation bytes, overlong forms,
-- surrogates, truncated sequences, out-of-range code points, NUL
INSERT INTO hostile_uri (uri)
SELECT p || e
  FROM unnest(ARRAY['/data/metrics/play/count?filterBy[country]=', '/data/buckets/play/', '/data/timeseries/',
                    '/data/metrics/play/count?sortBy=', '/data/buckets/play/country?filterBy[', '/data/metrics/',
                    '/data/timeseries/play?timeZone=', '/data/metrics/play/count?filterBy=']) p,
       unnest(ARRAY['%FF', '%80', '%C0%AF', '%C3%28', '%E0%80%AF', '%ED%A0%80', '%ED%BF%BF', '%F4%90%80%80',
                    '%F8%88%80%80%80', '%E2%82', '%00', '%C3', '%FE%FF', 'ok%', '%G1', '%%']) e;
-- 4. huge numbers
INSERT INTO hostile_uri (uri) VALUES
  ('/data/buckets/play/country?pageSize=1e400'),
  ('/data/buckets/play/country?currentPage=99999999999999999999999999999999'),
  ('/data/buckets/play/country?currentPage=2147483648&pageSize=100'),
  ('/data/timeseries/play?pageSize=-1'),
  ('/data/metrics/play/count?from=99999-01-01T00:00:00Z'),
  ('/data/metrics/play/count?from=2024-05-28T11:15:07.1234567890123456789Z'),
  ('/data/metrics/play/count?to=2024-05-28T99:99:99%2B99:99'),
  ('/data/metrics/play/count?filterBy={"mediaId":1e400}'),
  ('/data/metrics/play/count?filterBy={"mediaId":[' || repeat('1e400,', 999) || '1]}'),
  ('/data/timeseries/play?interval=minute&from=2000-01-01T00:00:00Z'),
  ('/data/metrics/view/count?viewDuration=1e400s');
-- 5. deep nesting: 10000 nested arrays / objects / brackets
INSERT INTO hostile_uri (uri) VALUES
  ('/data/metrics/play/count?filterBy=' || repeat('[', 10000) || repeat(']', 10000)),
  ('/data/metrics/play/count?filterBy=' || repeat('{"a":', 10000) || '1' || repeat('}', 10000)),
  ('/data/metrics/play/count?filterBy=' || repeat('%5B', 10000) || repeat('%5D', 10000)),
  ('/data/buckets/play/country?filterBy' || repeat('[a]', 10000) || '=x'),
  ('/data/buckets/play/country?filterBy[country]' || repeat('[]', 10000) || '=FR'),
  ('/data/metrics/play/count?filterBy={"country":' || repeat('[', 10000) || '"FR"' || repeat(']', 10000) || '}');
-- 6. megabyte strings
INSERT INTO hostile_uri (uri) VALUES
  (repeat('a', 1048576)),
  ('/data/' || repeat('a', 1048576)),
  ('/data/metrics/play/count?filterBy[mediaId]=' || repeat('x', 1048576)),
  ('/data/metrics/play/count?' || repeat('a=b&', 262144)),
  ('/data/buckets/play/media-id?filterBy[mediaId][]=' || repeat('%41', 349525)),
  ('/data/metrics/play/count?filterBy={"mediaId":"' || repeat('\u00e9', 174762) || '"}');
SELECT count(*) AS uris FROM hostile_uri;

-- every call: status class, or the SQLSTATE if it raised (it must not)
CREATE TEMP TABLE hostile_uri_outcome AS SELECT id, NULL::text AS outcome, NULL::text AS problem FROM hostile_uri;
DO $$
DECLARE
  u record;
  st int;
  b jsonb;
BEGIN
  FOR u IN SELECT id, uri FROM hostile_uri ORDER BY id LOOP
    BEGIN
      SELECT status, body INTO st, b FROM analytics.api_request(u.uri);
      UPDATE hostile_uri_outcome SET outcome = st::text,
             problem = CASE WHEN st >= 400 AND (b->>'status')::int = st AND b ? 'type' AND b ? 'title'
                             AND (st = 404 OR (b ? 'detail' AND b ? 'name')) THEN 'problem body'
                            ELSE 'NOT A PROBLEM BODY: ' || left(b::text, 200) END
       WHERE id = u.id;
    EXCEPTION WHEN OTHERS THEN
      UPDATE hostile_uri_outcome SET outcome = 'raised ' || SQLSTATE, problem = left(SQLERRM, 200) WHERE id = u.id;
    END;
  END LOOP;
END $$;
SELECT outcome, problem, count(*) FROM hostile_uri_outcome GROUP BY 1, 2 ORDER BY 1, 2;

-- invalid UTF-8 never gets in as text at all
CREATE FUNCTION pg_temp.sqlstate_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE stmt;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;
SELECT pg_temp.sqlstate_of($$SELECT analytics.api_request(convert_from('\x2f646174612fc328'::bytea, 'UTF8'))$$) AS invalid_utf8_uri,
       pg_temp.sqlstate_of($$SELECT analytics.ingest_ping(convert_from('\x7b2261223a22ff227d'::bytea, 'UTF8')::jsonb)$$) AS invalid_utf8_ping;

-- pings: a well-formed skeleton with one field broken, random JSON-ish text
-- (cast to jsonb inside the call: a parse error counts as 22), huge
-- numbers, deep nesting, megabyte strings; each ends in an error
CREATE TEMP TABLE hostile_ping (id serial, payload text, user_agent text, country text, project text);
CREATE FUNCTION pg_temp.ok_ping(sess jsonb, events jsonb) RETURNS text LANGUAGE sql AS $$
  SELECT jsonb_build_object('emitted_at', '2026-01-01T00:00:10Z',
                            'session', jsonb_build_object('loaded_at', '2026-01-01T00:00:00Z', 'video_id', 'v1') || sess,
                            'events', events)::text $$;
-- 1. random text, and random text inside JSON strings and values
INSERT INTO hostile_ping (payload)
SELECT CASE g % 3 WHEN 0 THEN pg_temp.rnd_text(1 + (random() * 100)::int)
                  WHEN 1 THEN '{"emitted_at":' || pg_temp.rnd_text(1 + (random() * 40)::int) || ',"session":{}}'
                  ELSE pg_temp.ok_ping(jsonb_build_object('session_id', pg_temp.rnd_text(1 + (random() * 40)::int)), '[]') END
  FROM generate_series(1, 150) g;
-- 2. one broken field at a time
INSERT INTO hostile_ping (payload) VALUES
  ('null'), ('[]'), ('"ping"'), ('42'), ('{}'), ('{"emitted_at": "2026-01-01T00:00:10Z"}'),
  (pg_temp.ok_ping('{"loaded_at": null}', '[]')),
  (pg_temp.ok_ping('{"loaded_at": "yesterday"}', '[]')),
  (pg_temp.ok_ping('{"loaded_at": "2026-02-30T00:00:00Z"}', '[]')),
  (pg_temp.ok_ping('{"loaded_at": "99999-01-01T00:00:00Z"}', '[]')),
  (pg_temp.ok_ping('{"video_id": 1e400}', '[]')),
  (pg_temp.ok_ping('{"video_id": ""}', '[]')),
  (pg_temp.ok_ping('{"live_stream_id": "l1"}', '[]')),
  (pg_temp.ok_ping('{"metadata": {"k": "v"}}', '[]')),
  (pg_temp.ok_ping('{"session_id": "6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e0"}', '[]')),
  (pg_temp.ok_ping('{"session_id": "6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e0g"}', '[]')),
  (pg_temp.ok_ping('{}', '{"type": "play"}')),
  (pg_temp.ok_ping('{}', '[1]')),
  (pg_temp.ok_ping('{}', '[{"type": "play"}]')),
  (pg_temp.ok_ping('{}', '[{"emitted_at": "2026-01-01T00:00:01Z", "type": "clap"}]')),
  (pg_temp.ok_ping('{}', '[{"emitted_at": "2026-01-01T00:00:01Z", "type": "play", "at": "12"}]')),
  (pg_temp.ok_ping('{}', '[{"emitted_at": "2026-01-01T00:00:01Z", "type": "play", "at": 1e400}]')),
  (pg_temp.ok_ping('{}', '[{"emitted_at": "2026-01-01T00:00:01Z", "type": "play", "at": -1e400}]')),
  (pg_temp.ok_ping('{}', '[{"emitted_at": "2026-01-01T00:00:01Z", "type": "seek.forward", "from": 1e308, "to": -1e308}]')),
  (pg_temp.ok_ping('{}', (SELECT jsonb_agg(jsonb_build_object('emitted_at', '2026-01-01T00:00:01Z', 'type', 'pause'))
                           FROM generate_series(1, 1001))));
-- (a country that is not an ISO code is an unknown country, never an error:
-- sql/ping_bounds.sql)
INSERT INTO hostile_ping (payload, user_agent, country, project) VALUES
  (pg_temp.ok_ping('{}', '[{"emitted_at": "2026-01-01T00:00:01Z", "type": "ready"}]'), NULL, NULL, ''),
  -- a megabyte user agent with a broken ping
  ('{}', repeat('Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) ', 19000), NULL, NULL);
-- 3. huge numbers, deep nesting, megabyte strings
INSERT INTO hostile_ping (payload) VALUES
  ('{"emitted_at": 1e400, "session": {}}'),
  ('{"emitted_at": "2026-01-01T00:00:10Z", "session": ' || repeat('[', 10000) || repeat(']', 10000) || '}'),
  ('{"emitted_at": "2026-01-01T00:00:10Z", "events": ' || repeat('[', 10000) || repeat(']', 10000) || '}'),
  ('{"a":' || repeat('{"a":', 10000) || '1' || repeat('}', 10001)),
  (repeat('[', 100000) || repeat(']', 100000)),
  (pg_temp.ok_ping(jsonb_build_object('referrer', repeat('r', 1048576)), '[]')),
  ('{"emitted_at": "' || repeat('9', 1048576) || '"}'),
  (pg_temp.ok_ping(jsonb_build_object('video_id', repeat('v', 70000)), '[]'));
SELECT count(*) AS pings FROM hostile_ping;

CREATE TEMP TABLE hostile_ping_outcome (id int, outcome text);
DO $$
DECLARE
  p record;
  r jsonb;
BEGIN
  FOR p IN SELECT * FROM hostile_ping ORDER BY id LOOP
    BEGIN
      r := analytics.ingest_ping(p.payload::jsonb, p.user_agent, p.country, inet '192.0.2.1', coalesce(p.project, 'hostile_t8'));
      INSERT INTO hostile_ping_outcome VALUES (p.id, 'stored: ' || (r - 'session')::text);
    EXCEPTION WHEN OTHERS THEN
      INSERT INTO hostile_ping_outcome VALUES (p.id, 'SQLSTATE class ' || left(SQLSTATE, 2));
    END;
  END LOOP;
END $$;
SELECT outcome, count(*) FROM hostile_ping_outcome GROUP BY 1 ORDER BY 1;

-- nothing of it was stored, and the backend is alive and well
SELECT (SELECT count(*) FROM analytics.events WHERE project_id = 'hostile_t8') AS events_stored,
       (SELECT count(*) FROM analytics.ping_sessions WHERE project_id = 'hostile_t8') AS sessions_stored;
SELECT status, body->'context'->>'metric' AS metric FROM analytics.api_request('/data/metrics/play/count');
SELECT 'backend alive' AS still_here;
