-- ingest_ping: scripted player sessions, normalized into events, checked
-- through the query API against counts worked out by hand.
SET TimeZone = 'UTC';
SET analytics.maintenance_in_worker = off;
CREATE TEMP TABLE ping_anchor AS SELECT date_trunc('hour', now()) - interval '3 hours' AS a;
-- a client timestamp, A + offset seconds, as the player sends it
CREATE FUNCTION pg_temp.t(s double precision) RETURNS text LANGUAGE sql AS $$
  SELECT to_char((a + s * interval '1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') FROM ping_anchor $$;
-- one ping: emitted at A + e s, playback loaded at A + l s, its events
CREATE FUNCTION pg_temp.ping(sid text, l double precision, e double precision, media jsonb, events jsonb,
                             country text DEFAULT NULL) RETURNS jsonb LANGUAGE sql AS $$
  SELECT analytics.ingest_ping(
           jsonb_build_object('emitted_at', pg_temp.t(e),
                              'session', jsonb_build_object('loaded_at', pg_temp.t(l), 'referrer', 'https://blog.example/post')
                                         || media || CASE WHEN sid IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('session_id', sid) END,
                              'events', events),
           country => country, project_id => 'ping_t') $$;
CREATE FUNCTION pg_temp.ev(type text, s double precision, at double precision DEFAULT NULL) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_strip_nulls(jsonb_build_object('emitted_at', pg_temp.t(s), 'type', type, 'at', at)) $$;
-- what a reply says, without the session id
CREATE FUNCTION pg_temp.r(reply jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT reply - 'session' $$;

-- S1: video v1, session id given by the client, loaded at A
--   ready at +1 (impression 1000 ms), play at +2 at 0
SELECT pg_temp.r(pg_temp.ping('6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e01', 0, 2.5, '{"video_id": "v1"}',
       jsonb_build_array(pg_temp.ev('ready', 1, 0), pg_temp.ev('play', 2, 0)), 'fr'));
--   heartbeat at +12: start, watch 10 (12 - 2), views 3, 5, 10
SELECT pg_temp.r(pg_temp.ping('6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e01', 0, 12, '{"video_id": "v1"}', '[]', 'fr'));
--   heartbeat at +22: watch 10 (total 20)
SELECT pg_temp.r(pg_temp.ping('6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e01', 0, 22, '{"video_id": "v1"}', NULL, 'fr'));
--   pause at +30 at 27.0: watch 27 - 0 - 20 = 7 (total 27), then pause
SELECT pg_temp.r(pg_temp.ping('6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e01', 0, 30.2, '{"video_id": "v1"}',
       jsonb_build_array(pg_temp.ev('pause', 30, 27)), 'fr'));
--   the same ping again (a client retry): nothing counted twice
SELECT pg_temp.r(pg_temp.ping('6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e01', 0, 30.2, '{"video_id": "v1"}',
       jsonb_build_array(pg_temp.ev('pause', 30, 27)), 'fr'));
--   resume at +40 at 27, end at +45 at 32: watch 5 (total 32) -> view 30; end
--   (events out of order inside the ping: sorted by time)
SELECT pg_temp.r(pg_temp.ping('6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e01', 0, 45.5, '{"video_id": "v1"}',
       jsonb_build_array(pg_temp.ev('end', 45, 32), pg_temp.ev('resume', 40, 27)), 'fr'));
--   teardown pause at +46 with nothing playing: stored as pause, credits nothing
SELECT pg_temp.r(pg_temp.ping('6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e01', 0, 46.5, '{"video_id": "v1"}',
       jsonb_build_array(pg_temp.ev('pause', 46, 32)), 'fr'));

-- S2: the same session id after a page reload (loaded at +100): a new playback
--   ready at +101.5 (impression 1500 ms), play at +102 at 0, pause at +106 at 4:
--   start (progress 4 > 0), watch 4, view 3, pause
SELECT pg_temp.r(pg_temp.ping('6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e01', 100, 106.5, '{"video_id": "v1"}',
       jsonb_build_array(pg_temp.ev('ready', 101.5, 0), pg_temp.ev('play', 102, 0), pg_temp.ev('pause', 106, 4)), 'fr'));

-- S3: live stream l1, no session id yet: the reply gives one
SELECT pg_temp.ping(NULL, 199, 201.5, '{"live_stream_id": "l1"}',
       jsonb_build_array(pg_temp.ev('ready', 200), pg_temp.ev('play', 201)), 'US')->>'session' AS s3 \gset
SELECT :'s3' ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' AS new_uuid_v4;
--   heartbeat at +211: start, watch 10, views 3, 5, 10
SELECT pg_temp.r(pg_temp.ping(:'s3', 199, 211, '{"live_stream_id": "l1"}', '[]', 'US'));
--   heartbeat at +251: 40 s since the last credit, capped at 30 (total 40): view 30
SELECT pg_temp.r(pg_temp.ping(:'s3', 199, 251, '{"live_stream_id": "l1"}', '[]', 'US'));
--   pause at +255 without a position (live): wall time since the last credit, 4 (total 44)
SELECT pg_temp.r(pg_temp.ping(:'s3', 199, 255.5, '{"live_stream_id": "l1"}',
       jsonb_build_array(pg_temp.ev('pause', 255)), 'US'));

-- S4: events too old (40 days ago) or too far ahead (2 hours after now) are dropped and counted
SELECT pg_temp.r(analytics.ingest_ping(jsonb_build_object(
         'emitted_at', pg_temp.t(300),
         'session', jsonb_build_object('loaded_at', pg_temp.t(299), 'video_id', 'v2',
                                       'session_id', '6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e04'),
         'events', jsonb_build_array(
            jsonb_build_object('emitted_at', to_char((now() - interval '40 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'type', 'ready'),
            jsonb_build_object('emitted_at', to_char((now() + interval '2 hours') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'type', 'play'))),
       project_id => 'ping_t'));

-- the events of S1, in order (times relative to A)
SELECT extract(epoch FROM emitted_at - a) AS at_s, event_type, value, media_type, country, continent, referrer
  FROM analytics.events, ping_anchor
 WHERE project_id = 'ping_t' AND session_id = '6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e01'
 ORDER BY emitted_at, event_type, value;

-- through the query API, over [A, A + 1 hour), by hand:
--   impressions S1 S2 S3 = 3; impression-time (1000 + 1500 + 1000) / 3 = 1166.67
--   plays 3, starts 3, ends 1 (S1)
--   watch-time 32 + 4 + 44 = 80, average 80 / 3 plays = 26.67
--   views: 3s S1 S2 S3 = 3; 5s S1 S3 = 2; 10s S1 S3 = 2; 30s S1 S3 = 2
SELECT m, a, round(analytics.metric(m, a, a0, a0 + interval '1 hour', project_id => 'ping_t')::numeric, 2) AS value
  FROM (SELECT a AS a0 FROM ping_anchor) x,
       (VALUES ('impression', 'count'), ('impression-time', 'average'), ('play', 'count'), ('start', 'count'),
               ('end', 'count'), ('watch-time', 'sum'), ('watch-time', 'average'), ('play', 'rate')) v(m, a);
SELECT d, analytics.metric('view', 'count', a, a + interval '1 hour', view_duration => d, project_id => 'ping_t') AS views
  FROM ping_anchor, (VALUES ('3s'), ('5s'), ('10s'), ('30s')) v(d);
SELECT * FROM analytics.breakdown('watch-time', 'media-type', (SELECT a FROM ping_anchor), (SELECT a FROM ping_anchor) + interval '1 hour',
                                  project_id => 'ping_t');
SELECT * FROM analytics.breakdown('play', 'continent', (SELECT a FROM ping_anchor), (SELECT a FROM ping_anchor) + interval '1 hour',
                                  project_id => 'ping_t');

-- malformed pings raise 22023 naming the field, and store nothing
CREATE FUNCTION pg_temp.try(payload jsonb, country text DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
DECLARE c text;
BEGIN
  PERFORM analytics.ingest_ping(payload, country => country, project_id => 'ping_t');
  RETURN 'ok';
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS c = COLUMN_NAME;
  RETURN SQLSTATE || ' ' || c || ': ' || SQLERRM;
END $$;
CREATE TEMP TABLE before_bad AS SELECT count(*) AS n FROM analytics.events WHERE project_id = 'ping_t';
CREATE TEMP TABLE state_before AS SELECT state FROM analytics.ping_sessions WHERE session_id = '6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e01' AND project_id = 'ping_t' ORDER BY loaded_at;
SELECT q, pg_temp.try(p::jsonb, c) FROM (VALUES
  ('not an object', '[1, 2]', NULL),
  ('a string', '"ping"', NULL),
  ('no session', '{"emitted_at": "2024-05-29T11:00:10.000Z"}', NULL),
  ('no media id', format('{"emitted_at": "%s", "session": {"loaded_at": "%s"}}', pg_temp.t(1), pg_temp.t(0)), NULL),
  ('both media ids', format('{"emitted_at": "%s", "session": {"loaded_at": "%s", "video_id": "v", "live_stream_id": "l"}}', pg_temp.t(1), pg_temp.t(0)), NULL),
  ('media id not a string', format('{"emitted_at": "%s", "session": {"loaded_at": "%s", "video_id": 7}}', pg_temp.t(1), pg_temp.t(0)), NULL),
  ('bad emitted_at', format('{"emitted_at": "yesterday", "session": {"loaded_at": "%s", "video_id": "v"}}', pg_temp.t(0)), NULL),
  ('bad date', format('{"emitted_at": "2024-02-30T00:00:00Z", "session": {"loaded_at": "%s", "video_id": "v"}}', pg_temp.t(0)), NULL),
  ('bad session id', format('{"emitted_at": "%s", "session": {"loaded_at": "%s", "video_id": "v", "session_id": "abc"}}', pg_temp.t(1), pg_temp.t(0)), NULL),
  ('events not an array', format('{"emitted_at": "%s", "session": {"loaded_at": "%s", "video_id": "v"}, "events": {}}', pg_temp.t(1), pg_temp.t(0)), NULL),
  ('unknown event type', format('{"emitted_at": "%s", "session": {"loaded_at": "%s", "video_id": "v"}, "events": [{"emitted_at": "%s", "type": "clap"}]}', pg_temp.t(1), pg_temp.t(0), pg_temp.t(1)), NULL),
  ('event without time', format('{"emitted_at": "%s", "session": {"loaded_at": "%s", "video_id": "v"}, "events": [{"type": "play"}]}', pg_temp.t(1), pg_temp.t(0)), NULL),
  ('position a string', format('{"emitted_at": "%s", "session": {"loaded_at": "%s", "video_id": "v"}, "events": [{"emitted_at": "%s", "type": "play", "at": "3"}]}', pg_temp.t(1), pg_temp.t(0), pg_temp.t(1)), NULL),
  ('negative position', format('{"emitted_at": "%s", "session": {"loaded_at": "%s", "video_id": "v"}, "events": [{"emitted_at": "%s", "type": "play", "at": -3}]}', pg_temp.t(1), pg_temp.t(0), pg_temp.t(1)), NULL),
  ('huge position', format('{"emitted_at": "%s", "session": {"loaded_at": "%s", "video_id": "v"}, "events": [{"emitted_at": "%s", "type": "play", "at": 1e400}]}', pg_temp.t(1), pg_temp.t(0), pg_temp.t(1)), NULL),
  ('seek without from', format('{"emitted_at": "%s", "session": {"loaded_at": "%s", "video_id": "v"}, "events": [{"emitted_at": "%s", "type": "seek.forward", "to": 3}]}', pg_temp.t(1), pg_temp.t(0), pg_temp.t(1)), NULL),
  ('bad country', format('{"emitted_at": "%s", "session": {"loaded_at": "%s", "video_id": "v"}}', pg_temp.t(1), pg_temp.t(0)), 'Atlantis'),
  ('unknown country', format('{"emitted_at": "%s", "session": {"loaded_at": "%s", "video_id": "v"}}', pg_temp.t(1), pg_temp.t(0)), 'ZZ'),
  -- a valid ping of S1 whose second event is invalid: nothing of it is stored, state unchanged
  ('half valid', format('{"emitted_at": "%s", "session": {"loaded_at": "%s", "video_id": "v1", "session_id": "6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e01"}, "events": [{"emitted_at": "%s", "type": "play", "at": 32}, {"emitted_at": "%s", "type": "seek.backward", "from": 40}]}', pg_temp.t(61), pg_temp.t(0), pg_temp.t(60), pg_temp.t(61)), NULL)
) v(q, p, c);
SELECT pg_temp.try(NULL);
SET analytics.max_ping_events = 2;
SELECT pg_temp.try(format('{"emitted_at": "%s", "session": {"loaded_at": "%s", "video_id": "v"}, "events": [{"emitted_at": "%s", "type": "ready"}, {"emitted_at": "%s", "type": "play"}, {"emitted_at": "%s", "type": "pause"}]}',
                          pg_temp.t(1), pg_temp.t(0), pg_temp.t(1), pg_temp.t(1), pg_temp.t(1))::jsonb);
RESET analytics.max_ping_events;
SET analytics.max_ping_bytes = 1024;
SELECT pg_temp.try(jsonb_build_object('emitted_at', pg_temp.t(1), 'session', jsonb_build_object('loaded_at', pg_temp.t(0), 'video_id', repeat('v', 2000))));
RESET analytics.max_ping_bytes;
SELECT (SELECT count(*) FROM analytics.events WHERE project_id = 'ping_t') - n AS stored_by_bad_pings FROM before_bad;
SELECT (SELECT array_agg(state ORDER BY loaded_at) FROM analytics.ping_sessions
         WHERE session_id = '6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e01' AND project_id = 'ping_t')
       = (SELECT array_agg(state) FROM state_before) AS state_unchanged;

-- maintenance forgets idle playbacks
SELECT count(*) AS playbacks FROM analytics.ping_sessions WHERE project_id = 'ping_t';
UPDATE analytics.ping_sessions SET updated_at = now() - interval '2 days' WHERE project_id = 'ping_t' AND media_id = 'v1';
SELECT r->'sessions_pruned' AS pruned FROM analytics.run_maintenance() r;
SELECT count(*) AS playbacks FROM analytics.ping_sessions WHERE project_id = 'ping_t';

SELECT analytics.continent_of('fr'), analytics.continent_of('BR'), analytics.continent_of('ZZ'), analytics.continent_of('');
