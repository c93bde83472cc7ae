-- New pings after the restore, the same in every database: the playback of
-- the dump goes on (resume at 6 s, pause at 8 s: watch 2), and a new
-- playback from the same browser and IP on the same day (views 3).
SET TimeZone = 'UTC';
\i test/dump_restore/ping.sql
SELECT 'ping2', pg_temp.ping('6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e01', 12.5,
                    jsonb_build_array(pg_temp.ev('resume', 10, 6), pg_temp.ev('pause', 12, 8)));
SELECT 'ping3', pg_temp.ping('6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e03', 20.5,
                    jsonb_build_array(pg_temp.ev('ready', 15, 0), pg_temp.ev('play', 16, 0), pg_temp.ev('pause', 20, 4)));
SELECT 'ping events', e.session_id, e.event_type, e.emitted_at, e.value, e.viewer_id, e.country, e.device_type, e.browser
  FROM analytics.events e
 WHERE e.session_id IN ('6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e01', '6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e03')
 ORDER BY 2, 4, 3;
