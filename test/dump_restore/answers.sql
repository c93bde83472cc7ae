-- The answers compared between the source and each restored database
-- (psql variables t0, acme, globex; phase 1: right after the restore, 2:
-- after new pings and maintenance everywhere). One line per answer.
SET TimeZone = 'UTC';
\pset null '<null>'
CREATE TEMP TABLE dr_p AS
SELECT :'t0'::timestamptz - interval '3 days' AS f, :'t0'::timestamptz + interval '1 day' AS t,
       to_char(:'t0'::timestamptz - interval '3 days', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS fz,
       to_char(:'t0'::timestamptz + interval '1 day', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS tz,
       to_char(:'t0'::timestamptz - interval '36 days', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS oldz;
GRANT SELECT ON dr_p TO PUBLIC;

-- the SQL API
SELECT 'metric ' || m || ' ' || a || coalesce(' ' || u, ''),
       analytics.metric(m, a, f, t, unique_viewers => u IS NOT NULL)
  FROM dr_p, (VALUES ('play', 'count', NULL), ('play', 'rate', NULL), ('start', 'count', NULL),
                     ('impression-time', 'average', NULL), ('watch-time', 'sum', NULL), ('watch-time', 'average', NULL),
                     ('view', 'count', NULL), ('view', 'count', 'unique'), ('ccv', 'peak', NULL),
                     ('ccv', 'peak', 'unique'), ('ccv', 'average', NULL)) q(m, a, u);
SELECT 'metric views 30s unique', analytics.metric('view', 'count', f, t, unique_viewers => true, view_duration => '30s') FROM dr_p;
SELECT 'metric plays tag sports', analytics.metric('play', 'count', f, t, '{"tag": "sports"}') FROM dr_p;
SELECT 'metric plays acme FR phone', analytics.metric('play', 'count', f, t, '{"country": "FR", "deviceType": ["phone", "tablet"]}', project_id => 'acme') FROM dr_p;
SELECT 'play total', analytics.metric('play', 'total');
SELECT 'play total m1', analytics.metric('play', 'total', filter_by => '{"mediaId": "m1"}');
SELECT 'breakdown ' || m || ' ' || b, x.*
  FROM dr_p, (VALUES ('play', 'country'), ('watch-time', 'media-id'), ('view', 'browser'), ('impression-time', 'device-type'),
                     ('play-total', 'media-id'), ('ccv-peak', 'media-id')) q(m, b),
       LATERAL analytics.breakdown(m, b, CASE WHEN m <> 'play-total' THEN f END, CASE WHEN m <> 'play-total' THEN t END) x;
SELECT 'breakdown unique views referrer', x.* FROM dr_p, LATERAL analytics.breakdown('view', 'referrer', f, t, unique_viewers => true) x;
SELECT 'series ' || m || ' ' || i, x.*
  FROM dr_p, (VALUES ('play', 'day'), ('watch-time', 'hour'), ('ccv-peak', 'hour')) q(m, i),
       LATERAL analytics.timeseries(m, f, t, i) x;
SELECT 'series unique views', x.* FROM dr_p, LATERAL analytics.timeseries('view', f, t, 'day', unique_viewers => true) x;
SELECT 'series plays 35 days ago', x.* FROM LATERAL analytics.timeseries('play', :'t0'::timestamptz - interval '36 days', :'t0'::timestamptz - interval '34 days', 'day', project_id => 'acme') x;
-- the JSON API
SELECT 'api ' || u, r.status,
       CASE WHEN u LIKE '%/total' THEN r.body->'data' ELSE r.body END  -- a total's timeframe is the last 24 hours
  FROM dr_p, LATERAL (VALUES
         (format('/data/metrics/play/count?from=%s&to=%s', fz, tz)),
         (format('/data/metrics/view/count?from=%s&to=%s&unique=true', fz, tz)),
         (format('/data/metrics/play/total', fz, tz)),
         (format('/data/buckets/play/media-id?from=%s&to=%s&filterBy[tag]=sports', fz, tz)),
         (format('/data/buckets/view/country?from=%s&to=%s&unique=true&pageSize=2', fz, tz)),
         (format('/data/timeseries/play?from=%s&to=%s&interval=day', oldz, tz)),
         (format('/data/timeseries/view?from=%s&to=%s&interval=day&unique=true', fz, tz))) q(u),
       LATERAL analytics.api_request(u, 'acme') r;
-- lifetime plays, grants, retention, catalogue, the viewer id key
SELECT 'retention', analytics.retention();
SELECT 'settings', s.* FROM analytics.settings s;
SELECT 'play_totals', p.* FROM analytics.play_totals p ORDER BY project_id, media_id, media_type;
SELECT 'project_grants', g.role::text, g.project_id, g.granted_at FROM analytics.project_grants g ORDER BY 2, 3;
SELECT 'media', m.* FROM analytics.media m ORDER BY project_id, media_id;
SELECT 'secrets', s.name, md5(s.value) FROM analytics.secrets s ORDER BY 2;
-- every event (partition membership aside: maintenance may have placed the stray)
SELECT 'events', count(*), md5(string_agg(e::text, '|' ORDER BY e::text)) FROM analytics.events e;
SELECT 'viewers of acme''s ping sessions', count(DISTINCT viewer_id), count(*)
  FROM analytics.events WHERE project_id = 'acme' AND referrer = 'https://blog.example/post' AND viewer_id IS NOT NULL AND country = 'FR'
   AND session_id IN ('6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e01', '6f1c8a52-3b1e-4c55-9f0e-8d2a4b6c7e03');
\if :{?phase1}
SELECT 'ping_sessions', s.project_id, s.session_id, s.loaded_at, s.media_id, s.media_type, md5(s.state), s.created_at, s.updated_at
  FROM analytics.ping_sessions s ORDER BY 2, 3, 4;
\endif

-- what each tenant sees, through the tables and the functions
SET ROLE :"acme";
SELECT 'acme sees events', project_id, count(*) FROM analytics.events GROUP BY 2 ORDER BY 2;
SELECT 'acme sees a partition', count(*) FROM analytics.events_default;
SELECT 'acme sees play_totals', project_id, media_id, plays FROM analytics.play_totals ORDER BY 2, 3;
SELECT 'acme sees media', project_id, media_id FROM analytics.media ORDER BY 2, 3;
SELECT 'acme sees grants', role::text, project_id FROM analytics.project_grants ORDER BY 2, 3;
SELECT 'acme plays', analytics.metric('play', 'count', f, t) FROM dr_p;
SELECT 'acme api', r.status, r.body FROM dr_p, LATERAL analytics.api_request(format('/data/buckets/play/media-id?from=%s&to=%s', fz, tz)) r;
SELECT 'acme may not read globex', analytics.metric('play', 'count', f, t, project_id => 'globex') FROM dr_p;
RESET ROLE;
SET ROLE :"globex";
SELECT 'globex sees events', project_id, count(*) FROM analytics.events GROUP BY 2 ORDER BY 2;
SELECT 'globex plays', analytics.metric('play', 'count', f, t) FROM dr_p;
SELECT 'globex play total', analytics.metric('play', 'total');
RESET ROLE;
