-- pings of project acme from one browser and client IP (psql variables t0, a, ua, ip)
CREATE TEMP TABLE dr_anchor AS
SELECT :'t0'::timestamptz AS t0, :'a'::timestamptz AS a, :'ua'::text AS ua, :'ip'::inet AS ip;
CREATE FUNCTION pg_temp.t(s double precision) RETURNS text LANGUAGE sql AS $$
  SELECT to_char(((SELECT a FROM dr_anchor) + s * interval '1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
CREATE FUNCTION pg_temp.ev(type text, s double precision, at double precision DEFAULT NULL) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_strip_nulls(jsonb_build_object('emitted_at', pg_temp.t(s), 'type', type, 'at', at)) $$;
CREATE FUNCTION pg_temp.ping(sid text, e double precision, events jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT analytics.ingest_ping(
           jsonb_build_object('emitted_at', pg_temp.t(e),
                              'session', jsonb_build_object('loaded_at', pg_temp.t(0), 'session_id', sid,
                                                            'video_id', 'm1', 'referrer', 'https://blog.example/post'),
                              'events', events),
           (SELECT ua FROM dr_anchor), 'FR', (SELECT ip FROM dr_anchor), 'acme') $$;
