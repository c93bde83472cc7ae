-- ingest_pings: a batch of pings in one call (README: Ingesting). The same
-- pings sent one by one through ingest_ping (into another project) give
-- the same replies and store the same events; a refused ping gets its
-- error as its reply and costs the others nothing.
SET TimeZone = 'UTC';
SET analytics.maintenance_in_worker = off;
CREATE TEMP TABLE pb_anchor AS SELECT date_trunc('hour', now()) - interval '3 hours' AS a;
CREATE FUNCTION pg_temp.t(s double precision) RETURNS text LANGUAGE sql AS $$
  SELECT to_char((a + s * interval '1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') FROM pb_anchor $$;
CREATE FUNCTION pg_temp.ev(type text, s double precision, at double precision DEFAULT NULL) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_strip_nulls(jsonb_build_object('emitted_at', pg_temp.t(s), 'type', type, 'at', at)) $$;
CREATE FUNCTION pg_temp.payload(sid text, l double precision, e double precision, events jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('emitted_at', pg_temp.t(e),
                            'session', jsonb_build_object('loaded_at', pg_temp.t(l), 'video_id', 'v1',
                                                          'referrer', 'https://blog.example/post', 'session_id', sid),
                            'events', events) $$;

-- the pings, in the order of the batch, with their headers
CREATE TEMP TABLE pb_pings (n int, ping jsonb);
INSERT INTO pb_pings VALUES
 -- playback A: ready + play
 (1, jsonb_build_object('payload', pg_temp.payload('0b0a0000-0000-4000-8000-000000000001', 0, 2.5,
        jsonb_build_array(pg_temp.ev('ready', 1, 0), pg_temp.ev('play', 2, 0))),
      'user_agent', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
      'country', 'fr', 'client_ip', '192.0.2.1')),
 -- an invalid ping (its events[0].type)
 (2, jsonb_build_object('payload', pg_temp.payload('0b0a0000-0000-4000-8000-000000000002', 0, 3,
        jsonb_build_array(pg_temp.ev('jump', 3))))),
 -- playback B: ready + play, then a pause in the same batch
 (3, jsonb_build_object('payload', pg_temp.payload('0b0a0000-0000-4000-8000-000000000003', 0, 5,
        jsonb_build_array(pg_temp.ev('ready', 4, 0), pg_temp.ev('play', 5, 0))), 'country', 'US')),
 -- playback A again: a heartbeat (start, watch 10, views 3, 5, 10)
 (4, jsonb_build_object('payload', pg_temp.payload('0b0a0000-0000-4000-8000-000000000001', 0, 12, '[]'),
      'user_agent', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
      'country', 'fr', 'client_ip', '192.0.2.1')),
 -- the first ping of A resent: a replay, nothing stored
 (5, jsonb_build_object('payload', pg_temp.payload('0b0a0000-0000-4000-8000-000000000001', 0, 2.5,
        jsonb_build_array(pg_temp.ev('ready', 1, 0), pg_temp.ev('play', 2, 0))),
      'country', 'fr', 'client_ip', '192.0.2.1')),
 -- B: pause at 20 s of play
 (6, jsonb_build_object('payload', pg_temp.payload('0b0a0000-0000-4000-8000-000000000003', 0, 25,
        jsonb_build_array(pg_temp.ev('pause', 25, 20))), 'country', 'US')),
 -- a ping without a session
 (7, jsonb_build_object('payload', jsonb_build_object('emitted_at', pg_temp.t(3)))),
 -- a playback with no session id: the reply gives a new one
 (8, jsonb_build_object('payload', jsonb_build_object('emitted_at', pg_temp.t(9),
        'session', jsonb_build_object('loaded_at', pg_temp.t(8), 'live_stream_id', 'li1'),
        'events', jsonb_build_array(pg_temp.ev('ready', 9))))),
 -- a seek without from/to: refused by the normalizer, after A's heartbeat
 (9, jsonb_build_object('payload', pg_temp.payload('0b0a0000-0000-4000-8000-000000000001', 0, 30,
        jsonb_build_array(pg_temp.ev('seek.forward', 30))))),
 -- A: a last heartbeat (watch 18), so the refused ping left A's state as it was
 (10, jsonb_build_object('payload', pg_temp.payload('0b0a0000-0000-4000-8000-000000000001', 0, 30, '[]'),
      'user_agent', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
      'country', 'fr', 'client_ip', '192.0.2.1'));

-- the batch, into project pb_batch
CREATE TEMP TABLE pb_batch AS
SELECT r.n::int AS n, r.reply
  FROM jsonb_array_elements(analytics.ingest_pings(
         (SELECT jsonb_agg(ping || '{"project_id": "pb_batch"}' ORDER BY n) FROM pb_pings)))
       WITH ORDINALITY AS r(reply, n);
SELECT n, CASE WHEN reply ? 'session' THEN reply - 'session' ELSE reply - 'hint' END AS reply,
       CASE WHEN n = 8 THEN CASE WHEN reply->>'session' ~ '^[0-9a-f-]{36}$' THEN 'a new one' END
            ELSE reply->>'session' END AS session
  FROM pb_batch ORDER BY n;

-- the same pings one by one, into project pb_single
CREATE TEMP TABLE pb_single (n int, reply jsonb);
DO $$
DECLARE p record; r jsonb;
BEGIN
  FOR p IN SELECT * FROM pb_pings ORDER BY n LOOP
    BEGIN
      r := analytics.ingest_ping(p.ping->'payload', p.ping->>'user_agent', p.ping->>'country',
                                 (p.ping->>'client_ip')::inet, 'pb_single');
    EXCEPTION WHEN OTHERS THEN
      r := jsonb_build_object('error', SQLERRM, 'sqlstate', SQLSTATE);
    END;
    INSERT INTO pb_single VALUES (p.n, r);
  END LOOP;
END $$;
-- the same replies (the new session id of ping 8 aside)
SELECT b.n, b.reply - 'session' - 'field' - 'hint' - 'detail' AS batch, s.reply - 'session' AS single
  FROM pb_batch b JOIN pb_single s USING (n)
 WHERE b.reply - 'session' - 'field' - 'hint' - 'detail' IS DISTINCT FROM s.reply - 'session'
    OR (b.n <> 8 AND b.reply->'session' IS DISTINCT FROM s.reply->'session');
-- the same events (ping 8's session id aside)
CREATE TEMP VIEW pb_events AS
SELECT project_id, emitted_at, event_type, value, media_id, media_type,
       CASE WHEN media_type = 'live-stream' THEN NULL ELSE session_id END AS session_id,
       viewer_id, referrer, continent, country, device_type, operating_system, browser
  FROM analytics.events WHERE project_id IN ('pb_batch', 'pb_single');
SELECT count(*) AS batch_events FROM pb_events WHERE project_id = 'pb_batch';
(SELECT emitted_at, event_type, value, media_id, media_type, session_id, viewer_id, referrer, continent, country,
        device_type, operating_system, browser FROM pb_events WHERE project_id = 'pb_batch'
 EXCEPT ALL
 SELECT emitted_at, event_type, value, media_id, media_type, session_id, viewer_id, referrer, continent, country,
        device_type, operating_system, browser FROM pb_events WHERE project_id = 'pb_single')
UNION ALL
(SELECT emitted_at, event_type, value, media_id, media_type, session_id, viewer_id, referrer, continent, country,
        device_type, operating_system, browser FROM pb_events WHERE project_id = 'pb_single'
 EXCEPT ALL
 SELECT emitted_at, event_type, value, media_id, media_type, session_id, viewer_id, referrer, continent, country,
        device_type, operating_system, browser FROM pb_events WHERE project_id = 'pb_batch');
-- what they are, by playback
SELECT right(session_id::text, 1) AS playback, event_type, value, country, continent, device_type, viewer_id IS NOT NULL AS viewer,
       extract(epoch FROM emitted_at - (SELECT a FROM pb_anchor)) AS at_s
  FROM pb_events WHERE project_id = 'pb_batch' ORDER BY session_id NULLS LAST, emitted_at, event_type;
-- the same playback states
SELECT count(*) AS playbacks_with_equal_states
  FROM analytics.ping_sessions b JOIN analytics.ping_sessions s USING (session_id, loaded_at)
 WHERE b.project_id = 'pb_batch' AND s.project_id = 'pb_single' AND b.state = s.state;

-- the next batch continues the playbacks: A's next heartbeat credits 10 s
SELECT (analytics.ingest_pings(jsonb_build_array(jsonb_build_object(
         'payload', pg_temp.payload('0b0a0000-0000-4000-8000-000000000001', 0, 40, '[]'), 'project_id', 'pb_batch'))) -> 0) - 'session';
SELECT sum(value) AS a_watched FROM analytics.events
 WHERE project_id = 'pb_batch' AND session_id = '0b0a0000-0000-4000-8000-000000000001' AND event_type = 'watch';

-- headers and elements the batch refuses one by one
SELECT jsonb_array_elements(analytics.ingest_pings(jsonb_build_array(
         42,
         jsonb_build_object('payload', pg_temp.payload('0b0a0000-0000-4000-8000-000000000004', 0, 2, '[]'),
                            'project_id', 'pb_batch', 'client_ip', 'not an ip'),
         jsonb_build_object('payload', pg_temp.payload('0b0a0000-0000-4000-8000-000000000004', 0, 2, '[]'),
                            'project_id', 'pb_batch', 'user_agent', 7),
         jsonb_build_object('payload', pg_temp.payload('0b0a0000-0000-4000-8000-000000000004', 0, 2, '[]'),
                            'project_id', ''),
         jsonb_build_object('payload', '[1]', 'project_id', 'pb_batch'),
         jsonb_build_object('project_id', 'pb_batch'),
         NULL::jsonb, '"a string"'::jsonb, '[]'::jsonb,
         jsonb_build_object('payload', jsonb_build_object('emitted_at', pg_temp.t(2),
                                                          'session', jsonb_build_object('loaded_at', pg_temp.t(0), 'video_id', 'v1', 'session_id', 'not-a-uuid')),
                            'project_id', 'pb_batch', 'country', '{"deep": [[[[1]]]]}'))));
-- an empty batch
SELECT analytics.ingest_pings('[]');

-- the whole call is refused: not an array, NULL, too many pings, too large
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text; col text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, col = COLUMN_NAME;
  RETURN st || ' ' || msg || coalesce(' / ' || nullif(det, ''), '') || ' [' || col || ']';
END $$;
SELECT pg_temp.err($$SELECT analytics.ingest_pings('{"payload": {}}')$$);
SELECT pg_temp.err($$SELECT analytics.ingest_pings(NULL)$$);
SET analytics.max_batch_pings = 2;
SELECT pg_temp.err($$SELECT analytics.ingest_pings('[{}, {}, {}]')$$);
RESET analytics.max_batch_pings;
SET analytics.max_batch_bytes = '1kB';
SELECT pg_temp.err($$SELECT analytics.ingest_pings((SELECT jsonb_agg(ping) FROM pb_pings))$$);
RESET analytics.max_batch_bytes;

-- an event outside the accepted range of emitted_at (a playback of 1960,
-- inside a retention of 100 years): that ping refused (22008), not the
-- others
SELECT analytics.set_retention('100 years');
SELECT r - 'session' - 'hint' - 'detail' AS reply
  FROM jsonb_array_elements(analytics.ingest_pings(jsonb_build_array(
    jsonb_build_object('project_id', 'pb_range', 'payload',
      '{"emitted_at": "1960-01-01T00:00:05Z", "session": {"loaded_at": "1960-01-01T00:00:00Z", "video_id": "v9"},
        "events": [{"type": "ready", "emitted_at": "1960-01-01T00:00:01Z"}]}'::jsonb),
    jsonb_build_object('project_id', 'pb_range', 'payload',
      pg_temp.payload('0b0a0000-0000-4000-8000-000000000005', 0, 2, jsonb_build_array(pg_temp.ev('ready', 1))))))) r;
SELECT analytics.set_retention('30 days');
SELECT count(*) AS range_rows FROM analytics.events WHERE project_id = 'pb_range';

-- the state functions are the owner's, and refuse a call that did not come
-- from ingest_pings
SELECT has_function_privilege('public', 'analytics._ping_states_lock(text[], uuid[], timestamptz[], text[], text[])', 'EXECUTE') AS public_lock,
       has_function_privilege('public', 'analytics._ping_states_store(text[], tid[], bytea[])', 'EXECUTE') AS public_store;
SELECT analytics._ping_states_lock('{pb_batch}', '{0b0a0000-0000-4000-8000-000000000001}', ARRAY[now()], '{v1}', '{video}');
SELECT analytics._ping_states_store('{pb_batch}', '{"(0,1)"}', '{"\\x00"}');
