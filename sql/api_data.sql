--
-- api_data: the hand-built dataset of the query API tests (api_metric,
-- api_breakdown, api_timeseries, api_json, api_errors run after it, in this
-- order, in the same database).
--
-- Every row lives in the projects 'tA' and 'tB' (earlier tests leave rows in
-- project 'default' and on far-future days; every query of these tests
-- names its project). Times are offsets from the anchor D0 = UTC midnight
-- three days ago, stored once in public.api_anchor, so that every event is
-- inside the 30-day retention and all of them are older than now - 1 day
-- (the default period [now - 1 day, now) holds none of them).
--
-- Helpers used by the later files (dropped at the end of api_errors):
--   api_d0(offset)    D0 + offset
--   api_iso(ts)       ts as the JSON API prints it in UTC: YYYY-MM-DDTHH:MM:SS+00:00
--   api_z(offset)     D0 + offset as a REST parameter: YYYY-MM-DDTHH:MM:SSZ
--   api_err(query)    runs a query, returns 'ok' or SQLSTATE COLUMN_NAME: message
--                     (timestamps in the message masked as <ts>)
--   api_hint(query)   the HINT of the error the query raises
--   api_urldecode(s)  percent-decodes s ('+' is a space)
--   api_mask(s)       s with timestamps masked as <ts>
--   api_num(v)        a metric value as text: integers as is, others rounded to
--                     9 decimals (float sums may differ in the last bits), NULL as 'NULL'
--
-- THE DATASET. Sessions (one playback each) and their dimensions:
--
-- sess project media media_type  viewer referrer            cont ctry device   os       browser
-- S1   tA      m1    video       101    https://a.example/  EU   FR   computer windows  chrome
-- S2   tA      m1    video       102    ''                  EU   FR   phone    android  chrome
-- S3   tA      m2    video       101    https://a.example/  EU   FR   computer windows  chrome
-- S4   tA      m2    video       103    https://b.example/  NA   US   phone    ios      safari
-- S5   tA      m3    live-stream 104    https://b.example/  EU   DE   tv       linux    firefox
-- S6   tA      m3    live-stream NULL   ''                  NULL NULL tablet   android  chrome
-- S7   tA      m4    video       105    https://a.example/  AS   JP   computer mac osx  safari
-- S8   tA      m1    video       106    ''                  SA   BR   phone    android  samsung internet
-- S9   tA      m1    video       107    https://a.example/  EU   FR   computer windows  firefox
-- S10  tA      m2    video       102    ''                  EU   FR   phone    android  chrome
-- S11  tA      m4    video       105    https://a.example/  AS   JP   computer mac osx  safari
-- S12  tA      m2    video       103    https://b.example/  NA   US   phone    ios      safari
-- T1   tB      m1    video       201    ''                  EU   FR   computer windows  chrome
-- T2   tB      m9    live-stream 202    ''                  NA   US   phone    ios      safari
-- T3   tB      m1    video       203    ''                  EU   FR   computer windows  chrome
--
-- Events (offset from D0; "1d" = one day later; value in brackets):
-- S1 : 10:00:00 impression(200)  10:00:01 play  10:00:02 start
--      10:00:23 view(3) 10:00:25 view(5) 10:00:30 view(10) 10:00:50 view(30)
--      10:02:00 watch(100) -> watching [10:00:20, 10:02:00)   10:02:00 end
-- S2 : 10:01:00 impression(400)  10:01:05 play  10:01:06 start
--      10:02:03 view(3) 10:02:05 view(5) 10:02:10 view(10) 10:02:30 view(30)
--      10:03:00 watch(60)  -> [10:02:00, 10:03:00)            10:03:00 pause
-- S3 : 10:01:30 impression(300)  10:01:31 play  10:01:32 start
--      10:01:43 view(3) 10:01:45 view(5) 10:01:50 view(10) 10:02:10 view(30)
--      10:02:30 watch(50)  -> [10:01:40, 10:02:30)            10:02:30 end
-- S4 : 10:05:00 impression(1000) 10:05:10 play                (no start, bounced)
-- S5 : 10:00:30 impression(500)  10:00:31 play  10:00:32 start
--      10:00:53 view(3) 10:00:55 view(5) 10:01:00 view(10) 10:01:20 view(30)
--      10:01:30 watch(40)  -> [10:00:50, 10:01:30)            10:01:30 pause
--      10:03:30 resume     10:04:00 watch(30) -> [10:03:30, 10:04:00)
-- S6 : 10:01:10 impression(600)  10:01:15 play  10:01:16 start
--      10:01:53 view(3) 10:01:55 view(5) 10:02:00 view(10)
--      10:02:10 watch(20)  -> [10:01:50, 10:02:10)
-- S7 : 10:06:00 impression(250)                               (impression only)
-- S9 : 11:00:00 impression(150)                               (impression only)
-- S12: 15:00:00 impression(850)  15:00:02 play  15:00:03 start  15:00:06 view(3)
--      15:00:07 watch(4)   -> [15:00:03, 15:00:07)
-- S10: 22:30:00 impression(100)  22:30:02 play                (no start)
-- S11: 23:59:20 impression(50)   23:59:50 play  23:59:52 start
--      23:59:55 view(3) 23:59:57 view(5) 1d 00:00:02 view(10) 1d 00:00:22 view(30)
--      1d 00:00:30 watch(38) -> [23:59:52, 1d 00:00:30)  (crosses midnight)
-- S8 : 1d 14:00:00 impression(350) 1d 14:00:05 play 1d 14:00:06 start
--      1d 14:00:09 view(3) 1d 14:00:11 view(5) 1d 14:00:16 view(10) 1d 14:00:36 view(30)
--      1d 14:00:30 seek  1d 14:00:31 error
--      1d 14:01:06 watch(60) -> [1d 14:00:06, 1d 14:01:06)    1d 14:01:06 end
-- T1 : 10:00:00 impression(900)  10:00:05 play  10:00:06 start
--      10:00:09 view(3) 10:00:11 view(5)  10:01:00 watch(54) -> [10:00:06, 10:01:00)
--      10:00:40 watch(20) -> [10:00:20, 10:00:40): overlaps the other stretch of the same
--      session (a replayed heartbeat): T1 still counts once in ccv (distinct sessions)
-- T2 : 12:00:00 play                                          (no impression)
-- T3 : 1d 00:59:59 watch(3600) -> [23:59:59, 1d 00:59:59): the longest watch event
--      (one hour), emitted an hour after the end of day 0 and still watching on day 0
--
-- Catalogue (analytics.media): tA m1 tags {sport,News}, tA m2 {news},
-- tA m3 {sport}; tA m4 has no entry; tB m4 {sport} (another project's m4:
-- must not tag tA's m4).
-- Archived play totals (analytics.play_totals, as if dropped partitions had
-- been archived): tA m1 video 1000, tA m3 live-stream 20, tA m5 video 7
-- (m5 has no live events), tB m1 video 500.
--
-- The concurrency of the 10:00-10:05 stretch on day 0 (project tA), used by
-- the ccv tests; half-open intervals: at 10:02:00 S1 has stopped, S2 started.
--   [10:00:20,10:00:50) S1             sessions 1  viewers {101}      1
--   [10:00:50,10:01:30) S1 S5                   2          {101,104}  2
--   [10:01:30,10:01:40) S1                      1          {101}      1
--   [10:01:40,10:01:50) S1 S3                   2          {101}      1
--   [10:01:50,10:02:00) S1 S3 S6                3          {101}      1  (S6: NULL viewer)
--   [10:02:00,10:02:10) S2 S3 S6                3          {101,102}  2
--   [10:02:10,10:02:30) S2 S3                   2          {101,102}  2
--   [10:02:30,10:03:00) S2                      1          {102}      1
--   [10:03:00,10:03:30) -                       0                     0
--   [10:03:30,10:04:00) S5                      1          {104}      1
--   session-seconds 30+80+10+20+30+30+40+30+0+30 = 300
--     (= S1 100 + S2 60 + S3 50 + S5 40+30 + S6 20)
--   viewer-seconds  30+80+10+10+10+20+40+30+0+30 = 260
-- Elsewhere: S12 [15:00:03,15:00:07) viewer 103 (4 s); S11 [23:59:52, 1d 00:00:30)
-- viewer 105 (8 s on day 0, 30 s on day 1); S8 [1d 14:00:06, 1d 14:01:06)
-- viewer 106 (60 s).
--
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';

CREATE TABLE IF NOT EXISTS api_anchor AS SELECT date_trunc('day', now() - interval '3 days') AS d0;

CREATE FUNCTION api_d0(off interval) RETURNS timestamptz
LANGUAGE sql STABLE AS $$ SELECT d0 + off FROM public.api_anchor $$;

CREATE FUNCTION api_iso(ts timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"') $$;

CREATE FUNCTION api_z(off interval) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT to_char((d0 + off) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') FROM public.api_anchor $$;

CREATE FUNCTION api_mask(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT regexp_replace(regexp_replace(s,
           '\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d(:?\d\d)?)?', '<ts>', 'g'),
           '(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} +\d\d? \d\d:\d\d(:\d\d(\.\d+)?)? \d{4}( [A-Za-z+-]+)?', '<ts>', 'g')
$$;

CREATE FUNCTION api_num(v double precision) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN v IS NULL THEN 'NULL'
              WHEN v = trunc(v) THEN v::text
              ELSE rtrim(rtrim(round(v::numeric, 9)::text, '0'), '.') END
$$;

CREATE FUNCTION api_err(q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  st text; col text; msg text;
BEGIN
  EXECUTE q;
  RETURN 'ok';
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, col = COLUMN_NAME, msg = MESSAGE_TEXT;
  RETURN st || ' ' || coalesce(col, '') || ': ' || public.api_mask(msg);
END $$;

CREATE FUNCTION api_hint(q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  h text;
BEGIN
  EXECUTE q;
  RETURN NULL;
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
  RETURN h;
END $$;

CREATE FUNCTION api_urldecode(s text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  r bytea := '';
  i int := 1;
  c text;
BEGIN
  WHILE i <= length(s) LOOP
    c := substr(s, i, 1);
    IF c = '%' THEN
      r := r || decode(substr(s, i + 1, 2), 'hex');
      i := i + 3;
    ELSE
      r := r || convert_to(CASE WHEN c = '+' THEN ' ' ELSE c END, 'UTF8');
      i := i + 1;
    END IF;
  END LOOP;
  RETURN convert_from(r, 'UTF8');
END $$;

-- the sessions and events above, inserted with plain text literals
CREATE TEMP TABLE api_sessions (sess text, project_id text, media_id text, media_type text, session_id uuid,
                                viewer_id bigint, referrer text, continent text, country text,
                                device_type text, operating_system text, browser text);
INSERT INTO api_sessions VALUES
  ('S1',  'tA', 'm1', 'video',       'a0000000-0000-4000-8000-000000000001', 101,  'https://a.example/', 'EU', 'FR', 'computer', 'windows', 'chrome'),
  ('S2',  'tA', 'm1', 'video',       'a0000000-0000-4000-8000-000000000002', 102,  '',                   'EU', 'FR', 'phone',    'android', 'chrome'),
  ('S3',  'tA', 'm2', 'video',       'a0000000-0000-4000-8000-000000000003', 101,  'https://a.example/', 'EU', 'FR', 'computer', 'windows', 'chrome'),
  ('S4',  'tA', 'm2', 'video',       'a0000000-0000-4000-8000-000000000004', 103,  'https://b.example/', 'NA', 'US', 'phone',    'ios',     'safari'),
  ('S5',  'tA', 'm3', 'live-stream', 'a0000000-0000-4000-8000-000000000005', 104,  'https://b.example/', 'EU', 'DE', 'tv',       'linux',   'firefox'),
  ('S6',  'tA', 'm3', 'live-stream', 'a0000000-0000-4000-8000-000000000006', NULL, '',                   NULL, NULL, 'tablet',   'android', 'chrome'),
  ('S7',  'tA', 'm4', 'video',       'a0000000-0000-4000-8000-000000000007', 105,  'https://a.example/', 'AS', 'JP', 'computer', 'mac osx', 'safari'),
  ('S8',  'tA', 'm1', 'video',       'a0000000-0000-4000-8000-000000000008', 106,  '',                   'SA', 'BR', 'phone',    'android', 'samsung internet'),
  ('S9',  'tA', 'm1', 'video',       'a0000000-0000-4000-8000-000000000009', 107,  'https://a.example/', 'EU', 'FR', 'computer', 'windows', 'firefox'),
  ('S10', 'tA', 'm2', 'video',       'a0000000-0000-4000-8000-000000000010', 102,  '',                   'EU', 'FR', 'phone',    'android', 'chrome'),
  ('S11', 'tA', 'm4', 'video',       'a0000000-0000-4000-8000-000000000011', 105,  'https://a.example/', 'AS', 'JP', 'computer', 'mac osx', 'safari'),
  ('S12', 'tA', 'm2', 'video',       'a0000000-0000-4000-8000-000000000012', 103,  'https://b.example/', 'NA', 'US', 'phone',    'ios',     'safari'),
  ('T1',  'tB', 'm1', 'video',       'b0000000-0000-4000-8000-000000000001', 201,  '',                   'EU', 'FR', 'computer', 'windows', 'chrome'),
  ('T2',  'tB', 'm9', 'live-stream', 'b0000000-0000-4000-8000-000000000002', 202,  '',                   'NA', 'US', 'phone',    'ios',     'safari'),
  ('T3',  'tB', 'm1', 'video',       'b0000000-0000-4000-8000-000000000003', 203,  '',                   'EU', 'FR', 'computer', 'windows', 'chrome');

CREATE TEMP TABLE api_events (sess text, off interval, event_type text, value double precision);
INSERT INTO api_events VALUES
  ('S1', '10:00:00', 'impression', 200), ('S1', '10:00:01', 'play', NULL), ('S1', '10:00:02', 'start', NULL),
  ('S1', '10:00:23', 'view', 3), ('S1', '10:00:25', 'view', 5), ('S1', '10:00:30', 'view', 10), ('S1', '10:00:50', 'view', 30),
  ('S1', '10:02:00', 'watch', 100), ('S1', '10:02:00', 'end', NULL),
  ('S2', '10:01:00', 'impression', 400), ('S2', '10:01:05', 'play', NULL), ('S2', '10:01:06', 'start', NULL),
  ('S2', '10:02:03', 'view', 3), ('S2', '10:02:05', 'view', 5), ('S2', '10:02:10', 'view', 10), ('S2', '10:02:30', 'view', 30),
  ('S2', '10:03:00', 'watch', 60), ('S2', '10:03:00', 'pause', NULL),
  ('S3', '10:01:30', 'impression', 300), ('S3', '10:01:31', 'play', NULL), ('S3', '10:01:32', 'start', NULL),
  ('S3', '10:01:43', 'view', 3), ('S3', '10:01:45', 'view', 5), ('S3', '10:01:50', 'view', 10), ('S3', '10:02:10', 'view', 30),
  ('S3', '10:02:30', 'watch', 50), ('S3', '10:02:30', 'end', NULL),
  ('S4', '10:05:00', 'impression', 1000), ('S4', '10:05:10', 'play', NULL),
  ('S5', '10:00:30', 'impression', 500), ('S5', '10:00:31', 'play', NULL), ('S5', '10:00:32', 'start', NULL),
  ('S5', '10:00:53', 'view', 3), ('S5', '10:00:55', 'view', 5), ('S5', '10:01:00', 'view', 10), ('S5', '10:01:20', 'view', 30),
  ('S5', '10:01:30', 'watch', 40), ('S5', '10:01:30', 'pause', NULL), ('S5', '10:03:30', 'resume', NULL),
  ('S5', '10:04:00', 'watch', 30),
  ('S6', '10:01:10', 'impression', 600), ('S6', '10:01:15', 'play', NULL), ('S6', '10:01:16', 'start', NULL),
  ('S6', '10:01:53', 'view', 3), ('S6', '10:01:55', 'view', 5), ('S6', '10:02:00', 'view', 10),
  ('S6', '10:02:10', 'watch', 20),
  ('S7', '10:06:00', 'impression', 250),
  ('S9', '11:00:00', 'impression', 150),
  ('S12', '15:00:00', 'impression', 850), ('S12', '15:00:02', 'play', NULL), ('S12', '15:00:03', 'start', NULL),
  ('S12', '15:00:06', 'view', 3), ('S12', '15:00:07', 'watch', 4),
  ('S10', '22:30:00', 'impression', 100), ('S10', '22:30:02', 'play', NULL),
  ('S11', '23:59:20', 'impression', 50), ('S11', '23:59:50', 'play', NULL), ('S11', '23:59:52', 'start', NULL),
  ('S11', '23:59:55', 'view', 3), ('S11', '23:59:57', 'view', 5), ('S11', '1 day 00:00:02', 'view', 10),
  ('S11', '1 day 00:00:22', 'view', 30), ('S11', '1 day 00:00:30', 'watch', 38),
  ('S8', '1 day 14:00:00', 'impression', 350), ('S8', '1 day 14:00:05', 'play', NULL), ('S8', '1 day 14:00:06', 'start', NULL),
  ('S8', '1 day 14:00:09', 'view', 3), ('S8', '1 day 14:00:11', 'view', 5), ('S8', '1 day 14:00:16', 'view', 10),
  ('S8', '1 day 14:00:36', 'view', 30), ('S8', '1 day 14:00:30', 'seek', NULL), ('S8', '1 day 14:00:31', 'error', NULL),
  ('S8', '1 day 14:01:06', 'watch', 60), ('S8', '1 day 14:01:06', 'end', NULL),
  ('T1', '10:00:00', 'impression', 900), ('T1', '10:00:05', 'play', NULL), ('T1', '10:00:06', 'start', NULL),
  ('T1', '10:00:09', 'view', 3), ('T1', '10:00:11', 'view', 5), ('T1', '10:01:00', 'watch', 54),
  ('T1', '10:00:40', 'watch', 20),
  ('T2', '12:00:00', 'play', NULL),
  ('T3', '1 day 00:59:59', 'watch', 3600);

-- into analytics.events as an application would write them: text literals
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT s.*, e.off, e.event_type, e.value
             FROM api_events e JOIN api_sessions s USING (sess) ORDER BY s.project_id, e.off LOOP
    EXECUTE format('INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, media_type, '
                   'session_id, viewer_id, referrer, continent, country, device_type, operating_system, browser) '
                   'VALUES (%L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L)',
                   r.project_id, api_d0(r.off), r.event_type, r.value, r.media_id, r.media_type,
                   r.session_id, r.viewer_id, r.referrer, r.continent, r.country, r.device_type,
                   r.operating_system, r.browser);
  END LOOP;
END $$;

INSERT INTO analytics.media (project_id, media_id, media_type, title, tags) VALUES
  ('tA', 'm1', 'video', 'Match highlights', '{sport,News}'),
  ('tA', 'm2', 'video', 'Evening news', '{news}'),
  ('tA', 'm3', 'live-stream', 'Stadium live', '{sport}'),
  ('tB', 'm4', 'video', 'Other project''s m4', '{sport}');

INSERT INTO analytics.play_totals (project_id, media_id, media_type, plays) VALUES
  ('tA', 'm1', 'video', 1000),
  ('tA', 'm3', 'live-stream', 20),
  ('tA', 'm5', 'video', 7),
  ('tB', 'm1', 'video', 500);

-- maintenance moves the rows into their day partitions; its report is
-- time-dependent, so only its success is printed
SET analytics.maintenance_in_worker = off;
SELECT analytics.run_maintenance() IS NOT NULL AS maintenance_ran;
RESET analytics.maintenance_in_worker;

-- tA: S1 9 + S2 9 + S3 9 + S4 2 + S5 11 + S6 7 + S7 1 + S9 1 + S12 5 + S10 2 + S11 8 + S8 11 = 75 events
-- tB: T1 7 + T2 1 + T3 1 = 9; none left in the default partition
SELECT project_id, count(*) AS events,
       count(*) FILTER (WHERE tableoid = 'analytics.events_default'::regclass) AS in_default
  FROM analytics.events WHERE project_id IN ('tA', 'tB') GROUP BY 1 ORDER BY 1;
-- tA by type: impression 12 (one per session S1..S12),
-- play 10 (all but S7, S9), start 8 (S1 S2 S3 S5 S6 S8 S11 S12), end 3 (S1 S3 S8),
-- watch 9 (S1 S2 S3 S5x2 S6 S8 S11 S12), view 28 (4+4+4+4+3+1+4+4),
-- pause 2, resume 1, seek 1, error 1
SELECT event_type::text, count(*) FROM analytics.events WHERE project_id = 'tA' GROUP BY 1 ORDER BY 1;
-- every event of day 0 and day 1 (D0 + 1 day 14:01:06 at the latest) is older than now - 1 day
SELECT max(emitted_at) < now() - interval '1 day' AS all_before_default_period,
       min(emitted_at) > now() - analytics.retention() AS all_inside_retention
  FROM analytics.events WHERE project_id IN ('tA', 'tB');
