--
-- api_breakdown: analytics.breakdown() on the dataset of api_data (see the
-- tables there). Rows are printed in the order the function returns them
-- (WITH ORDINALITY); dimension values quoted so that '' and 'unknown' show.
-- P0 = day 0 = [D0, D0 + 1 day). Plays of day 0 (project tA), with their dimensions:
--   S1  m1 video EU FR computer windows chrome  https://a.example/
--   S2  m1 video EU FR phone    android chrome  ''
--   S3  m2 video EU FR computer windows chrome  https://a.example/
--   S4  m2 video NA US phone    ios     safari  https://b.example/
--   S5  m3 live  EU DE tv       linux   firefox https://b.example/
--   S6  m3 live  -- -- tablet   android chrome  ''          (continent, country NULL)
--   S10 m2 video EU FR phone    android chrome  ''
--   S11 m4 video AS JP computer mac osx safari  https://a.example/
--   S12 m2 video NA US phone    ios     safari  https://b.example/
-- Impressions only: S7 (m4 video AS JP computer mac osx safari a), S9 (m1 video EU FR computer windows firefox a).
--
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';

--
-- play, every dimension, day 0, default sort (metricValue desc, ties by dimension value asc):
--   media-id          m2 4 (S3 S4 S10 S12), m1 2 (S1 S2), m3 2 (S5 S6), m4 1 (S11)
--   media-type        video 7, live-stream 2
--   continent         EU 5 (S1 S2 S3 S5 S10), NA 2 (S4 S12), AS 1 (S11), unknown 1 (S6)
--   country           FR 4 (S1 S2 S3 S10), US 2, DE 1, JP 1, unknown 1
--   device-type       phone 4 (S2 S4 S10 S12), computer 3 (S1 S3 S11), tablet 1, tv 1
--   operating-system  android 3 (S2 S6 S10), ios 2 (S4 S12), windows 2 (S1 S3), linux 1, mac osx 1
--   browser           chrome 5 (S1 S2 S3 S6 S10), safari 3 (S4 S11 S12), firefox 1 (S5)
--   referrer          all three 3: '' (S2 S6 S10), https://a.example/ (S1 S3 S11),
--                     https://b.example/ (S4 S5 S12) -> byte order: '' first
SELECT d.dim, r.n, quote_nullable(r.dimension_value) AS dimension_value, api_num(r.metric_value) AS plays
  FROM (VALUES (1, 'media-id'), (2, 'media-type'), (3, 'continent'), (4, 'country'), (5, 'device-type'),
               (6, 'operating-system'), (7, 'browser'), (8, 'referrer')) d(i, dim),
       LATERAL analytics.breakdown('play', d.dim, api_d0('0'), api_d0('1 day'), project_id => 'tA') WITH ORDINALITY r(dimension_value, metric_value, n)
 ORDER BY d.i, r.n;

--
-- Sort orders on play by country (FR 4, US 2, DE 1, JP 1, unknown 1):
--   metricValue desc     FR, US, DE, JP, unknown     (ties DE JP unknown ascending)
--   metricValue asc      DE, JP, unknown, US, FR     (ties still ascending)
--   dimensionValue asc   DE, FR, JP, US, unknown     (byte order: upper case first)
--   dimensionValue desc  unknown, US, JP, FR, DE
SELECT s.sb, s.so, string_agg(format('%s=%s', r.dimension_value, api_num(r.metric_value)), ' ' ORDER BY r.n) AS result
  FROM (VALUES (1, 'metricValue', 'desc'), (2, 'metricValue', 'asc'), (3, 'dimensionValue', 'asc'),
               (4, 'dimensionValue', 'desc')) s(i, sb, so),
       LATERAL analytics.breakdown('play', 'country', api_d0('0'), api_d0('1 day'), sort_by => s.sb, sort_order => s.so,
                                   project_id => 'tA') WITH ORDINALITY r(dimension_value, metric_value, n)
 GROUP BY s.i, s.sb, s.so ORDER BY s.i;
-- referrer: every value has 3 plays, so both metricValue orders give
-- '', https://a.example/, https://b.example/; dimensionValue desc reverses them
SELECT s.sb, s.so, string_agg(quote_literal(r.dimension_value), ' ' ORDER BY r.n) AS result
  FROM (VALUES (1, 'metricValue', 'desc'), (2, 'metricValue', 'asc'), (3, 'dimensionValue', 'asc'),
               (4, 'dimensionValue', 'desc')) s(i, sb, so),
       LATERAL analytics.breakdown('play', 'referrer', api_d0('0'), api_d0('1 day'), sort_by => s.sb, sort_order => s.so,
                                   project_id => 'tA') WITH ORDINALITY r(dimension_value, metric_value, n)
 GROUP BY s.i, s.sb, s.so ORDER BY s.i;
-- NULL metric values: tB play-rate by media-id on day 0: m1 1 play / 1 impression = 1,
-- m9 1 play / 0 impressions = NULL. desc: m1 1, m9 NULL (NULLs last); asc: m9 NULL, m1 1
SELECT s.so, string_agg(format('%s=%s', r.dimension_value, api_num(r.metric_value)), ' ' ORDER BY r.n) AS result
  FROM (VALUES (1, 'desc'), (2, 'asc')) s(i, so),
       LATERAL analytics.breakdown('play-rate', 'media-id', api_d0('0'), api_d0('1 day'), sort_order => s.so,
                                   project_id => 'tB') WITH ORDINALITY r(dimension_value, metric_value, n)
 GROUP BY s.i, s.so ORDER BY s.i;

--
-- Other metrics, day 0, default sort:
--   start by browser: chrome 4 (S1 S2 S3 S6), safari 2 (S11 S12), firefox 1 (S5)
--   end by media-id: m1 1 (S1), m2 1 (S3)
--   impression by referrer: https://a.example/ 5 (S1 S3 S7 S9 S11), '' 3 (S2 S6 S10),
--     https://b.example/ 3 (S4 S5 S12)
--   impression-time (average by default) by media-id: m2 (300+1000+100+850)/4 = 562.5,
--     m3 (500+600)/2 = 550, m1 (200+400+150)/3 = 250, m4 (250+50)/2 = 150
--   impression-time sum by media-id: m2 2250, m3 1100, m1 750, m4 300
--   watch-time (sum by default) by media-id: m1 100+60 = 160, m3 40+30+20 = 90, m2 50+4 = 54
--     (m4: S11's watch is emitted on day 1 -> no row)
--   watch-time average by device-type (watch / plays): tv 70/1 = 70, computer (100+50)/3 = 50
--     (plays S1 S3 S11), tablet 20/1 = 20, phone (60+4)/4 = 16 (plays S2 S4 S10 S12)
--   play-rate by country (plays / impressions): DE 1/1, US 2/2, unknown 1/1 = 1,
--     FR 4/5 = 0.8 (S9 did not play), JP 1/2 = 0.5 (S7 did not play)
--   view (5s) by media-id: m1 2 (S1 S2), m3 2 (S5 S6), m2 1 (S3), m4 1 (S11)
--   view 30s by country: FR 3 (S1 S2 S3), DE 1 (S5)
--   view 3s by device-type: computer 3 (S1 S3 S11), phone 2 (S2 S12), tablet 1, tv 1
--   view unique (5s) by media-id: m1 2 (101, 102), m2 1 (101), m3 1 (104; S6 has no viewer), m4 1 (105)
--   view unique (5s) by country: FR 2 (101, 102), DE 1, JP 1, unknown 0 (S6: a view, no viewer)
SELECT t.i, t.m, t.dim, coalesce(t.a, '-') AS aggregation, coalesce(t.vd, '-') AS view_duration, t.u AS uniq,
       string_agg(format('%s=%s', quote_literal(r.dimension_value), api_num(r.metric_value)), ' ' ORDER BY r.n) AS result
  FROM (VALUES (1, 'start', 'browser', NULL, NULL, false),
               (2, 'end', 'media-id', NULL, NULL, false),
               (3, 'impression', 'referrer', NULL, NULL, false),
               (4, 'impression-time', 'media-id', NULL, NULL, false),
               (5, 'impression-time', 'media-id', 'sum', NULL, false),
               (6, 'impression-time', 'media-id', 'average', NULL, false),
               (7, 'watch-time', 'media-id', NULL, NULL, false),
               (8, 'watch-time', 'media-id', 'sum', NULL, false),
               (9, 'watch-time', 'device-type', 'average', NULL, false),
               (10, 'play-rate', 'country', NULL, NULL, false),
               (11, 'view', 'media-id', NULL, NULL, false),
               (12, 'view', 'country', NULL, '30s', false),
               (13, 'view', 'device-type', NULL, '3s', false),
               (14, 'view', 'media-id', NULL, NULL, true),
               (15, 'view', 'country', NULL, '5s', true)) t(i, m, dim, a, vd, u),
       LATERAL analytics.breakdown(t.m, t.dim, api_d0('0'), api_d0('1 day'), aggregation => t.a, unique_viewers => t.u,
                                   view_duration => t.vd, project_id => 'tA') WITH ORDINALITY r(dimension_value, metric_value, n)
 GROUP BY t.i, t.m, t.dim, t.a, t.vd, t.u ORDER BY t.i;

--
-- ccv per dimension value.
-- [10:00, 10:05), 300 s:
--   ccv-peak by country: FR 2 (S1 S3, then S2 S3), DE 1 (S5), unknown 1 (S6)
--   ccv-average by country: FR (100+60+50)/300 = 0.7, DE 70/300 = 0.233333333, unknown 20/300 = 0.066666667
--   unique ccv-peak by country: FR 2 (101 and 102 in [10:02:00,10:02:30)), DE 1, unknown 0 (no viewer)
--   unique ccv-average by country: FR (80 + 20 + 2*30 + 30)/300 = 190/300 = 0.633333333, DE 0.233333333, unknown 0
--   ccv-peak by media-id: m1 1 (S1 stops at 10:02:00 when S2 starts), m2 1, m3 1 (S5 and S6 never overlap)
--   ccv-average by media-id: m1 160/300 = 0.533333333, m3 90/300 = 0.3, m2 50/300 = 0.166666667
-- [10:01:50, 10:02:10), 20 s:
--   ccv-peak by referrer: '' 2 (S6 S2 in [10:02:00,10:02:10)), https://a.example/ 2 (S1 S3 in
--     [10:01:50,10:02:00)); https://b.example/ is not watched then -> no row
--   ccv-average by referrer: '' (20 + 10)/20 = 1.5, https://a.example/ (10 + 20)/20 = 1.5
-- day 0: ccv-peak by media-id: m1 1, m2 1, m3 1, m4 1 (S11 until midnight)
SELECT t.i, t.m, t.dim, t.f, t.u AS uniq,
       string_agg(format('%s=%s', quote_literal(r.dimension_value), api_num(r.metric_value)), ' ' ORDER BY r.n) AS result
  FROM (VALUES (1, 'ccv-peak', 'country', '10:00'::interval, '10:05'::interval, false),
               (2, 'ccv-average', 'country', '10:00', '10:05', false),
               (3, 'ccv-peak', 'country', '10:00', '10:05', true),
               (4, 'ccv-average', 'country', '10:00', '10:05', true),
               (5, 'ccv-peak', 'media-id', '10:00', '10:05', false),
               (6, 'ccv-average', 'media-id', '10:00', '10:05', false),
               (7, 'ccv-peak', 'referrer', '10:01:50', '10:02:10', false),
               (8, 'ccv-average', 'referrer', '10:01:50', '10:02:10', false),
               (9, 'ccv-peak', 'media-id', '0', '1 day', false)) t(i, m, dim, f, tt, u),
       LATERAL analytics.breakdown(t.m, t.dim, api_d0(t.f), api_d0(t.tt), unique_viewers => t.u,
                                   project_id => 'tA') WITH ORDINALITY r(dimension_value, metric_value, n)
 GROUP BY t.i, t.m, t.dim, t.f, t.u ORDER BY t.i;

--
-- Filters with a breakdown, day 0:
--   play by country, deviceType phone: FR 2 (S2 S10), US 2 (S4 S12) -> tie: FR, US
--   play by media-id, tag sport: m1 2, m3 2
--   play by continent, referrer '': EU 2 (S2 S10), unknown 1 (S6)
--   impression by browser, country FR and continent EU: chrome 4 (S1 S2 S3 S10), firefox 1 (S9)
--   play by media-type, mediaId m2 or m3: video 4, live-stream 2
SELECT t.i, t.m, t.dim, t.f::text,
       string_agg(format('%s=%s', quote_literal(r.dimension_value), api_num(r.metric_value)), ' ' ORDER BY r.n) AS result
  FROM (VALUES (1, 'play', 'country', '{"deviceType": "phone"}'::jsonb),
               (2, 'play', 'media-id', '{"tag": "sport"}'),
               (3, 'play', 'continent', '{"referrer": ""}'),
               (4, 'impression', 'browser', '{"country": "FR", "continent": ["EU"]}'),
               (5, 'play', 'media-type', '{"mediaId": ["m2", "m3"]}')) t(i, m, dim, f),
       LATERAL analytics.breakdown(t.m, t.dim, api_d0('0'), api_d0('1 day'), t.f, project_id => 'tA')
               WITH ORDINALITY r(dimension_value, metric_value, n)
 GROUP BY t.i, t.m, t.dim, t.f ORDER BY t.i;

-- two days: play by media-id: m2 4, m1 3 (S1 S2 S8), m3 2, m4 1
SELECT r.n, r.dimension_value, api_num(r.metric_value) AS plays
  FROM analytics.breakdown('play', 'media-id', api_d0('0'), api_d0('2 days'), project_id => 'tA') WITH ORDINALITY r(dimension_value, metric_value, n);

--
-- play-total by media-id (archived + live, the period is ignored):
--   tA: m1 1000 + 3 = 1003, m3 20 + 2 = 22, m5 7 (archived only), m2 4, m4 1
--   tA, metricValue asc: m4 1, m2 4, m5 7, m3 22, m1 1003
--   tA, dimensionValue asc: m1 m2 m3 m4 m5
--   tA, mediaType video: m1 1003, m5 7, m2 4, m4 1
--   tA, mediaId m3 or m5: m3 22, m5 7
--   tA, a period older than retention: as the first
--   tB: m1 500 + 1 = 501, m9 1
SELECT t.i, t.p, t.f::text, t.sb, t.so,
       string_agg(format('%s=%s', r.dimension_value, api_num(r.metric_value)), ' ' ORDER BY r.n) AS result
  FROM (VALUES (1, 'tA', NULL::jsonb, 'metricValue', 'desc', NULL::interval),
               (2, 'tA', NULL, 'metricValue', 'asc', NULL),
               (3, 'tA', NULL, 'dimensionValue', 'asc', NULL),
               (4, 'tA', '{"mediaType": "video"}', 'metricValue', 'desc', NULL),
               (5, 'tA', '{"mediaId": ["m3", "m5"]}', 'metricValue', 'desc', NULL),
               (6, 'tA', NULL, 'metricValue', 'desc', '400 days'),
               (7, 'tB', NULL, 'metricValue', 'desc', NULL)) t(i, p, f, sb, so, age),
       LATERAL analytics.breakdown('play-total', 'media-id', now() - t.age, now() - t.age + interval '1 hour', t.f,
                                   t.sb, t.so, project_id => t.p) WITH ORDINALITY r(dimension_value, metric_value, n)
 GROUP BY t.i, t.p, t.f, t.sb, t.so ORDER BY t.i;

--
-- Project scoping: tB play by media-id, day 0: m1 1 (T1), m9 1 (T2).
-- The setting narrows: setting tB alone -> tB's rows; setting tB + argument tA -> no row.
SELECT r.* FROM analytics.breakdown('play', 'media-id', api_d0('0'), api_d0('1 day'), project_id => 'tB') r;
SET analytics.project_id = 'tB';
SELECT r.* FROM analytics.breakdown('play', 'media-id', api_d0('0'), api_d0('1 day')) r;
SELECT count(*) AS rows_tb_setting_ta_argument
  FROM analytics.breakdown('play', 'media-id', api_d0('0'), api_d0('1 day'), project_id => 'tA');
SELECT count(*) AS play_total_rows_tb_setting_ta_argument
  FROM analytics.breakdown('play-total', 'media-id', project_id => 'tA');
RESET analytics.project_id;

-- An empty period ([03:00, 04:00) of day 0) and the default period (no tA event): no row
SELECT count(*) AS empty_period_rows
  FROM analytics.breakdown('play', 'country', api_d0('03:00'), api_d0('04:00'), project_id => 'tA');
SELECT count(*) AS default_period_rows FROM analytics.breakdown('impression', 'browser', project_id => 'tA');
