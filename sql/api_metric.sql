--
-- api_metric: analytics.metric() on the dataset of api_data (see the tables
-- and the concurrency timeline there). Every expected value is worked out in
-- the comment above its query. P0 = day 0 = [D0, D0 + 1 day),
-- P1 = day 1 = [D0 + 1 day, D0 + 2 days).
--
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';

--
-- Every valid metric/aggregation pair, project tA, day 0.
--   play/count      plays of S1 S2 S3 S4 S5 S6 S10 S11 S12                    = 9
--   play/rate       9 plays / 11 impressions (S1..S7, S9..S12)                  = 0.818181818
--   play/total      archived m1 1000 + m3 20 + m5 7 = 1027, plus the live plays
--                   of all time (day 0: 9, day 1: S8) = 10                      = 1037
--   start/count     S1 S2 S3 S5 S6 S11 S12                                     = 7
--   end/count       S1 S3                                                      = 2
--   impression/count                                                           = 11
--   impression-time/sum  200+400+300+1000+500+600+250+150+850+100+50            = 4400
--   impression-time/average  4400 / 11                                         = 400
--   watch-time/sum  watch events emitted on day 0: S1 100 + S2 60 + S3 50
--                   + S5 40 + 30 + S6 20 + S12 4 (S11's is emitted on day 1)   = 304
--   watch-time/average  304 s / 9 plays                                        = 33.777777778
--   view/count      view(5) on day 0: S1 S2 S3 S5 S6 S11                       = 6
--   ccv/peak        S1 S3 S6 in [10:01:50,10:02:00), S2 S3 S6 in [10:02:00,10:02:10) = 3
--   ccv/average     session-seconds on day 0: 300 (10:00-10:05 stretch) + S12 4
--                   + S11 8 (clipped at midnight) = 312; 312 / 86400           = 0.003611111
--   ccv/live        no watch event in the last 20 seconds                       = 0
SELECT m, a, api_num(analytics.metric(m, a, api_d0('0'), api_d0('1 day'), project_id => 'tA')) AS value
  FROM (VALUES ('play', 'count'), ('play', 'rate'), ('play', 'total'), ('start', 'count'), ('end', 'count'),
               ('impression', 'count'), ('impression-time', 'average'), ('impression-time', 'sum'),
               ('watch-time', 'average'), ('watch-time', 'sum'), ('view', 'count'),
               ('ccv', 'peak'), ('ccv', 'average'), ('ccv', 'live')) t(m, a);

--
-- The same pairs on day 1 (S8, plus the tail of S11 after midnight).
--   play 1 (S8); rate 1/1 = 1; total 1037 (the period is ignored); start 1; end 1;
--   impression 1; impression-time average 350, sum 350;
--   watch-time sum S11 38 (emitted 1d 00:00:30) + S8 60 = 98, average 98/1 = 98;
--   view(5) S8 = 1 (S11's view(5) was on day 0);
--   ccv peak 1 (S11 [00:00,00:00:30) and S8 never overlap);
--   ccv average (30 + 60) / 86400 = 0.001041667; live 0
SELECT m, a, api_num(analytics.metric(m, a, api_d0('1 day'), api_d0('2 days'), project_id => 'tA')) AS value
  FROM (VALUES ('play', 'count'), ('play', 'rate'), ('play', 'total'), ('start', 'count'), ('end', 'count'),
               ('impression', 'count'), ('impression-time', 'average'), ('impression-time', 'sum'),
               ('watch-time', 'average'), ('watch-time', 'sum'), ('view', 'count'),
               ('ccv', 'peak'), ('ccv', 'average'), ('ccv', 'live')) t(m, a);

--
-- The hour [10:00, 11:00) of day 0.
--   play S1..S6 = 6; impressions S1..S7 = 7; rate 6/7 = 0.857142857; start S1 S2 S3 S5 S6 = 5;
--   end 2; impression-time sum 200+400+300+1000+500+600+250 = 3250, average 3250/7 = 464.285714286;
--   watch-time sum 100+60+50+40+30+20 = 300, average 300/6 = 50; view(5) S1 S2 S3 S5 S6 = 5;
--   ccv peak 3, average 300 session-seconds / 3600 = 0.083333333
SELECT m, a, api_num(analytics.metric(m, a, api_d0('10:00'), api_d0('11:00'), project_id => 'tA')) AS value
  FROM (VALUES ('play', 'count'), ('play', 'rate'), ('start', 'count'), ('end', 'count'),
               ('impression', 'count'), ('impression-time', 'average'), ('impression-time', 'sum'),
               ('watch-time', 'average'), ('watch-time', 'sum'), ('view', 'count'),
               ('ccv', 'peak'), ('ccv', 'average')) t(m, a);

--
-- view: each view duration, with and without unique (distinct non-NULL viewer_id).
-- Day 0: view(3)  S1 S2 S3 S5 S6 S11 S12 = 7;  viewers 101 102 101 104 NULL 105 103 -> 5
--        view(5)  S1 S2 S3 S5 S6 S11     = 6;  viewers 101 102 101 104 NULL 105     -> 4
--        view(10) S1 S2 S3 S5 S6         = 5;  viewers 101 102 101 104 NULL         -> 3
--        view(30) S1 S2 S3 S5            = 4;  viewers 101 102 101 104              -> 3
--        default (5s) = 6, unique 4
-- Days 0-1: view(3) +S8 = 8, viewers +106 -> 6;  view(5) +S8 = 7, -> 5;
--        view(10) +S11 +S8 = 7, viewers 101 102 104 105 106 -> 5;
--        view(30) +S11 +S8 = 6, viewers 101 102 104 105 106 -> 5
SELECT vd, api_num(analytics.metric('view', 'count', api_d0('0'), api_d0('1 day'), view_duration => vd, project_id => 'tA')) AS day0,
       api_num(analytics.metric('view', 'count', api_d0('0'), api_d0('1 day'), unique_viewers => true, view_duration => vd, project_id => 'tA')) AS day0_unique,
       api_num(analytics.metric('view', 'count', api_d0('0'), api_d0('2 days'), view_duration => vd, project_id => 'tA')) AS days01,
       api_num(analytics.metric('view', 'count', api_d0('0'), api_d0('2 days'), unique_viewers => true, view_duration => vd, project_id => 'tA')) AS days01_unique
  FROM (VALUES ('3s'), ('5s'), ('10s'), ('30s'), (NULL)) t(vd);

--
-- ccv on periods cut through the 10:00-10:05 stretch (timeline in api_data):
-- period               peak  average                          unique peak  unique average
-- [10:00,10:05) 300 s   3    300/300 = 1                       2           260/300 = 0.866666667
-- [10:01,10:02)  60 s   3    S1 60 + S5 30 + S3 20 + S6 10      2           (2*30 + 1*30)/60 = 1.5
--                            = 120 -> 120/60 = 2                            ([10:01,10:01:30) 101,104)
-- [10:02,10:03)  60 s   3    S2 60 + S3 30 + S6 10 = 100        2           (2*30 + 1*30)/60 = 1.5
--                            -> 1.666666667
-- [10:01:59,10:02:01)   3    (S1 S3 S6, then S2 S3 S6) 6/2 = 3  2           (1 + 2)/2 = 1.5
-- [10:02:00,10:02:01)   3    3/1 = 3 (S1 stopped at 10:02:00)   2           2
-- [10:03:00,10:03:30)   0    0 (S2 stopped at 10:03:00, S5 resumes at 10:03:30)  0  0
-- [10:03:29,10:03:31)   1    1/2 = 0.5                          1           0.5
-- day 0                 3    312/86400 = 0.003611111            2           (260 + S12 4 + S11 8)/86400
--                                                                           = 272/86400 = 0.003148148
-- days 0-1              3    (312 + S11 30 + S8 60)/172800      2           (272 + 30 + 60)/172800
--                            = 402/172800 = 0.002326389                     = 362/172800 = 0.002094907
SELECT f, t,
       api_num(analytics.metric('ccv', 'peak', api_d0(f), api_d0(t), project_id => 'tA')) AS peak,
       api_num(analytics.metric('ccv', 'average', api_d0(f), api_d0(t), project_id => 'tA')) AS average,
       api_num(analytics.metric('ccv', 'peak', api_d0(f), api_d0(t), unique_viewers => true, project_id => 'tA')) AS unique_peak,
       api_num(analytics.metric('ccv', 'average', api_d0(f), api_d0(t), unique_viewers => true, project_id => 'tA')) AS unique_average
  FROM (VALUES ('10:00'::interval, '10:05'::interval), ('10:01', '10:02'), ('10:02', '10:03'),
               ('10:01:59', '10:02:01'), ('10:02:00', '10:02:01'), ('10:03:00', '10:03:30'),
               ('10:03:29', '10:03:31'), ('0', '1 day'), ('0', '2 days')) p(f, t);

--
-- ccv with filters, [10:00, 10:05):
--   country FR (S1 S2 S3): peak 2 ([10:01:40,10:02:00) S1 S3; [10:02:00,10:02:30) S2 S3),
--     average (100 + 60 + 50)/300 = 0.7; unique: 101 alone until 10:02:00, 101+102 in
--     [10:02:00,10:02:30), 102 until 10:03:00 -> peak 2, average (100 + 2*30 + 30)/300 = 0.633333333
--   mediaType live-stream (S5 S6: [10:00:50,10:01:30), [10:01:50,10:02:10), [10:03:30,10:04:00)):
--     peak 1, average 90/300 = 0.3; unique: S6 has no viewer -> peak 1, average (40 + 30)/300 = 0.233333333
--   deviceType computer or tablet (S1 S3 S6): peak 3 in [10:01:50,10:02:00),
--     average (100 + 50 + 20)/300 = 0.566666667; unique: only viewer 101 (S1 S3), S6 none ->
--     peak 1, average 101 watching [10:00:20,10:02:30) = 130/300 = 0.433333333
SELECT f::text,
       api_num(analytics.metric('ccv', 'peak', api_d0('10:00'), api_d0('10:05'), f, project_id => 'tA')) AS peak,
       api_num(analytics.metric('ccv', 'average', api_d0('10:00'), api_d0('10:05'), f, project_id => 'tA')) AS average,
       api_num(analytics.metric('ccv', 'peak', api_d0('10:00'), api_d0('10:05'), f, unique_viewers => true, project_id => 'tA')) AS unique_peak,
       api_num(analytics.metric('ccv', 'average', api_d0('10:00'), api_d0('10:05'), f, unique_viewers => true, project_id => 'tA')) AS unique_average
  FROM (VALUES ('{"country": "FR"}'::jsonb), ('{"mediaType": "live-stream"}'), ('{"deviceType": ["computer", "tablet"]}')) t(f);

--
-- Filters, each key alone, then combined; play count on day 0 (plays: S1 S2 S3 S4 S5 S6 S10 S11 S12).
--   mediaId "m1"                 S1 S2                     2
--   mediaId ["m1","m3"]          S1 S2 S5 S6               4
--   mediaId ["m2"]               S3 S4 S10 S12             4
--   mediaId ["m9"]               (a tB media)              0
--   mediaType "live-stream"      S5 S6                     2
--   mediaType "video"            the 7 others              7
--   continent "EU"               S1 S2 S3 S5 S10           5
--   continent ["NA","AS"]        S4 S12 S11                3
--   country "FR"                 S1 S2 S3 S10              4
--   country ["US","JP"]          S4 S12 S11                3
--   deviceType "phone"           S2 S4 S10 S12             4
--   deviceType ["tv","tablet"]   S5 S6                     2
--   operatingSystem "android"    S2 S6 S10                 3
--   operatingSystem ["ios","mac osx"]  S4 S12 S11          3
--   operatingSystem "Windows"    (case-sensitive, open set: no error)  0
--   browser "safari"             S4 S11 S12                3
--   browser ["chrome","firefox"] S1 S2 S3 S6 S10 S5        6
--   referrer ""                  S2 S6 S10                 3
--   referrer ["https://a.example/"]  S1 S3 S11             3
--   referrer ["", "https://b.example/"]  S2 S6 S10 S4 S5 S12  6
--   tag "sport"                  m1 m3: S1 S2 S5 S6 (not S11: tB's m4 is tagged, tA's is not)  4
--   tag "news"                   m2: S3 S4 S10 S12         4
--   tag "News"                   m1: S1 S2 (exact case)    2
--   tag "nope"                                             0
--   {}                           all                       9
--   country FR AND deviceType phone            S2 S10      2
--   country FR or US AND browser safari        S4 S12      2
--   mediaType video AND continent EU AND referrer ""  S2 S10  2
--   tag sport AND country FR                   S1 S2       2
--   mediaId m1 or m2 AND operatingSystem windows or ios  S1 S3 S4 S12  4
--   country FR AND continent NA                            0
SELECT f::text, api_num(analytics.metric('play', 'count', api_d0('0'), api_d0('1 day'), f, project_id => 'tA')) AS plays
  FROM (VALUES ('{"mediaId": "m1"}'::jsonb), ('{"mediaId": ["m1", "m3"]}'), ('{"mediaId": ["m2"]}'), ('{"mediaId": ["m9"]}'),
               ('{"mediaType": "live-stream"}'), ('{"mediaType": "video"}'),
               ('{"continent": "EU"}'), ('{"continent": ["NA", "AS"]}'),
               ('{"country": "FR"}'), ('{"country": ["US", "JP"]}'),
               ('{"deviceType": "phone"}'), ('{"deviceType": ["tv", "tablet"]}'),
               ('{"operatingSystem": "android"}'), ('{"operatingSystem": ["ios", "mac osx"]}'), ('{"operatingSystem": "Windows"}'),
               ('{"browser": "safari"}'), ('{"browser": ["chrome", "firefox"]}'),
               ('{"referrer": ""}'), ('{"referrer": ["https://a.example/"]}'), ('{"referrer": ["", "https://b.example/"]}'),
               ('{"tag": "sport"}'), ('{"tag": "news"}'), ('{"tag": "News"}'), ('{"tag": "nope"}'),
               ('{}'),
               ('{"country": "FR", "deviceType": "phone"}'),
               ('{"country": ["FR", "US"], "browser": "safari"}'),
               ('{"mediaType": "video", "continent": "EU", "referrer": ""}'),
               ('{"tag": "sport", "country": "FR"}'),
               ('{"mediaId": ["m1", "m2"], "operatingSystem": ["windows", "ios"]}'),
               ('{"country": "FR", "continent": "NA"}')) t(f);

--
-- Filters on other metrics, day 0:
--   impression count, country FR: S1 S2 S3 S9 S10                                = 5
--   impression-time average, country FR: (200+400+300+150+100)/5 = 1150/5       = 230
--   play rate, deviceType computer: plays S1 S3 S11 = 3 / impressions S1 S3 S7 S9 S11 = 5 = 0.6
--   watch-time sum, tag sport (m1, m3): S1 100 + S2 60 + S5 70 + S6 20         = 250
--   watch-time average, tag sport: 250 / plays S1 S2 S5 S6 = 4                   = 62.5
--   view unique, country FR: viewers 101 (S1, S3) and 102 (S2)                   = 2
--   start count, referrer "": S2 S6 (S10 has no start)                           = 2
--   end count, mediaId m2: S3                                                    = 1
SELECT m, a, f::text, api_num(analytics.metric(m, a, api_d0('0'), api_d0('1 day'), f, u, project_id => 'tA')) AS value
  FROM (VALUES ('impression', 'count', '{"country": "FR"}'::jsonb, false),
               ('impression-time', 'average', '{"country": "FR"}', false),
               ('play', 'rate', '{"deviceType": "computer"}', false),
               ('watch-time', 'sum', '{"tag": "sport"}', false),
               ('watch-time', 'average', '{"tag": "sport"}', false),
               ('view', 'count', '{"country": "FR"}', true),
               ('start', 'count', '{"referrer": ""}', false),
               ('end', 'count', '{"mediaId": "m2"}', false)) t(m, a, f, u);

--
-- Project scoping, day 0.
--   tA: play 9; tB: play T1 T2 = 2; unknown project: 0
--   tB: impression-time average 900 (T1); watch-time average (54 + 20) / 2 plays = 37
--   (T3's watch is emitted on day 1); play rate 2 plays / 1 impression = 2 (computed, never
--   clamped); view 1 (T1); ccv peak 1 (T1's two stretches overlap: one session; T3 starts at 23:59:59)
SELECT p, api_num(analytics.metric('play', 'count', api_d0('0'), api_d0('1 day'), project_id => p)) AS plays
  FROM (VALUES ('tA'), ('tB'), ('nope')) t(p);
SELECT m, a, api_num(analytics.metric(m, a, api_d0('0'), api_d0('1 day'), project_id => 'tB')) AS value
  FROM (VALUES ('impression-time', 'average'), ('watch-time', 'average'), ('play', 'rate'),
               ('view', 'count'), ('ccv', 'peak')) t(m, a);
-- tB's T3: one watch event of 3600 s emitted at D0 + 1 day 00:59:59, watching [23:59:59, 1d 00:59:59)
-- T1's two overlapping stretches [10:00:06,10:01:00) and [10:00:20,10:00:40): one session.
--   period                 peak  average                                       watch-time sum
--   [23:00, 1d 00:00)       1    1/3600 = 0.000277778 (T3 seen an hour ahead)   0
--   [23:59:59, 1d 00:00)    1    1/1 = 1                                        0
--   [22:00, 23:00)          0    0                                              0
--   [1d 00:59, 1d 01:00)    1    59/60 = 0.983333333                            3600 (T3)
--   [10:00, 10:01)          1    T1 [10:00:06,10:01:00) = 54 s -> 54/60 = 0.9   20 (T1's 10:00:40 event;
--                                (not 74/60: one session)                          the 10:01:00 one is at to)
--   day 1                   1    3599/86400 = 0.041655093                       3600
SELECT f, t, api_num(analytics.metric('ccv', 'peak', api_d0(f), api_d0(t), project_id => 'tB')) AS peak,
       api_num(analytics.metric('ccv', 'average', api_d0(f), api_d0(t), project_id => 'tB')) AS average,
       api_num(analytics.metric('watch-time', 'sum', api_d0(f), api_d0(t), project_id => 'tB')) AS watch_time
  FROM (VALUES ('23:00'::interval, '1 day'::interval), ('23:59:59', '1 day'), ('22:00', '23:00'),
               ('1 day 00:59', '1 day 01:00'), ('10:00', '10:01'), ('1 day', '2 days')) p(f, t);
-- the analytics.project_id setting narrows: alone it selects the project,
-- with another project_id argument nothing is left
SET analytics.project_id = 'tA';
-- NULL argument -> tA: 9; tA and tA: 9; tA and tB: 0; play total tA and tB: 0, tA alone 1037
SELECT api_num(analytics.metric('play', 'count', api_d0('0'), api_d0('1 day'))) AS setting_only,
       api_num(analytics.metric('play', 'count', api_d0('0'), api_d0('1 day'), project_id => 'tA')) AS same,
       api_num(analytics.metric('play', 'count', api_d0('0'), api_d0('1 day'), project_id => 'tB')) AS other,
       api_num(analytics.metric('play', 'total', project_id => 'tB')) AS total_other,
       api_num(analytics.metric('play', 'total')) AS total_setting;
SET analytics.project_id = 'tB';
-- 2 plays; play total tB: archived m1 500 + live T1 T2 = 502
SELECT api_num(analytics.metric('play', 'count', api_d0('0'), api_d0('1 day'))) AS setting_only,
       api_num(analytics.metric('play', 'total')) AS total_setting;
RESET analytics.project_id;

--
-- play totals (archived + live, the period is ignored):
--   tA: m1 1000+3 (S1 S2 S8) = 1003, m2 4 (S3 S4 S10 S12), m3 20+2 (S5 S6) = 22, m4 1 (S11), m5 7
--   all 1037; mediaId m1 1003; mediaId [m2, m5] 11; mediaType video 1003+4+1+7 = 1015;
--   mediaType live-stream 22; mediaId m9 (none in tA) 0; mediaId m1 AND mediaType live-stream 0
--   tB: m1 500+1, m9 1 -> 502
SELECT f::text, api_num(analytics.metric('play', 'total', filter_by => f, project_id => 'tA')) AS total
  FROM (VALUES (NULL::jsonb), ('{"mediaId": "m1"}'), ('{"mediaId": ["m2", "m5"]}'), ('{"mediaType": "video"}'),
               ('{"mediaType": "live-stream"}'), ('{"mediaId": "m9"}'), ('{"mediaId": "m1", "mediaType": "live-stream"}')) t(f);
SELECT api_num(analytics.metric('play', 'total', project_id => 'tB')) AS tb_total;
-- a period is ignored, even one older than retention or reversed: 1037 each
SELECT api_num(analytics.metric('play', 'total', now() - interval '400 days', now() - interval '399 days', project_id => 'tA')) AS old_period,
       api_num(analytics.metric('play', 'total', api_d0('1 day'), api_d0('0'), project_id => 'tA')) AS reversed;

--
-- Default period [now - 1 day, now): no tA event in it (all are older).
--   play 0; start 0; impression 0; impression-time sum 0; watch-time sum 0; view 0;
--   empty denominators: play rate NULL, impression-time average NULL, watch-time average NULL;
--   ccv peak 0, ccv average 0 / 86400 = 0
SELECT m, a, api_num(analytics.metric(m, a, project_id => 'tA')) AS value
  FROM (VALUES ('play', 'count'), ('start', 'count'), ('impression', 'count'), ('impression-time', 'sum'),
               ('watch-time', 'sum'), ('view', 'count'), ('play', 'rate'), ('impression-time', 'average'),
               ('watch-time', 'average'), ('ccv', 'peak'), ('ccv', 'average')) t(m, a);
-- only to: from = to - 1 day. to = D0 + 1 day -> day 0: 9 plays.
-- only from: to = now. from = D0 -> all tA plays: 10; from = D0 + 1 day -> S8: 1
SELECT api_num(analytics.metric('play', 'count', to_ts => api_d0('1 day'), project_id => 'tA')) AS to_only,
       api_num(analytics.metric('play', 'count', from_ts => api_d0('0'), project_id => 'tA')) AS from_d0,
       api_num(analytics.metric('play', 'count', from_ts => api_d0('1 day'), project_id => 'tA')) AS from_d1;
-- the retention boundary: from = now - 30 days is allowed (not earlier than now - retention);
-- everything of tA is in [now - 30 days, now): 10 plays
SELECT api_num(analytics.metric('play', 'count', now() - interval '30 days', now(), project_id => 'tA')) AS at_boundary,
       api_num(analytics.metric('play', 'count', now() - interval '29 days', now(), project_id => 'tA')) AS inside;

--
-- An empty period, [03:00, 04:00) of day 0: counts and sums 0, ccv 0,
-- averages and rates NULL (empty denominators).
SELECT m, a, api_num(analytics.metric(m, a, api_d0('03:00'), api_d0('04:00'), project_id => 'tA')) AS value
  FROM (VALUES ('play', 'count'), ('play', 'rate'), ('start', 'count'), ('end', 'count'), ('impression', 'count'),
               ('impression-time', 'average'), ('impression-time', 'sum'), ('watch-time', 'average'),
               ('watch-time', 'sum'), ('view', 'count'), ('ccv', 'peak'), ('ccv', 'average')) t(m, a);
SELECT api_num(analytics.metric('view', 'count', api_d0('03:00'), api_d0('04:00'), unique_viewers => true, project_id => 'tA')) AS unique_views,
       api_num(analytics.metric('ccv', 'peak', api_d0('03:00'), api_d0('04:00'), unique_viewers => true, project_id => 'tA')) AS unique_peak;

--
-- ccv live: the highest concurrency in the last 20 seconds (N = now()).
-- Inserted in this transaction, project tA, media m3 (live-stream):
--   L1 watch(10) at N        -> [N-10, N)    viewer 301
--   L2 watch(5)  at N        -> [N-5, N)     viewer 301 (another session of the same viewer)
--   L3 watch(3)  at N-15 s   -> [N-18, N-15) viewer 302
--   L4,L5,L6 watch(10) at N-21 s -> [N-31, N-21) viewers 303, 304, 305 (before the last 20 s)
-- last 20 s: L3 alone in [N-18,N-15), L1 in [N-10,N-5), L1 L2 in [N-5,N): live = 2;
--   unique: {302}, {301}, {301} -> 1
-- over the default period [N - 1 day, N): L4 L5 L6 -> peak 3, unique peak 3;
--   watch-time sum counts watch events by emitted_at in [N - 1 day, N): L1 and L2 are
--   emitted at N, outside the half-open period: L3 3 + L4..L6 30 = 33
BEGIN;
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, media_type, session_id, viewer_id)
VALUES ('tA', now(), 'watch', 10, 'm3', 'live-stream', 'c0000000-0000-4000-8000-000000000001', 301),
       ('tA', now(), 'watch', 5, 'm3', 'live-stream', 'c0000000-0000-4000-8000-000000000002', 301),
       ('tA', now() - interval '15 seconds', 'watch', 3, 'm3', 'live-stream', 'c0000000-0000-4000-8000-000000000003', 302),
       ('tA', now() - interval '21 seconds', 'watch', 10, 'm3', 'live-stream', 'c0000000-0000-4000-8000-000000000004', 303),
       ('tA', now() - interval '21 seconds', 'watch', 10, 'm3', 'live-stream', 'c0000000-0000-4000-8000-000000000005', 304),
       ('tA', now() - interval '21 seconds', 'watch', 10, 'm3', 'live-stream', 'c0000000-0000-4000-8000-000000000006', 305);
SELECT api_num(analytics.metric('ccv', 'live', project_id => 'tA')) AS live,
       api_num(analytics.metric('ccv', 'live', unique_viewers => true, project_id => 'tA')) AS live_unique,
       api_num(analytics.metric('ccv', 'live', filter_by => '{"mediaId": "m3"}', project_id => 'tA')) AS live_m3,
       api_num(analytics.metric('ccv', 'live', filter_by => '{"mediaType": "video"}', project_id => 'tA')) AS live_video,
       api_num(analytics.metric('ccv', 'live', project_id => 'tB')) AS live_tb;
-- the period is ignored (never rejected): 2
SELECT api_num(analytics.metric('ccv', 'live', now() - interval '400 days', now() - interval '399 days', project_id => 'tA')) AS live_old_period,
       api_num(analytics.metric('ccv', 'live', api_d0('10:00'), api_d0('10:05'), project_id => 'tA')) AS live_other_period;
SELECT api_num(analytics.metric('ccv', 'peak', project_id => 'tA')) AS peak_last_day,
       api_num(analytics.metric('ccv', 'peak', unique_viewers => true, project_id => 'tA')) AS unique_peak_last_day,
       api_num(analytics.metric('watch-time', 'sum', project_id => 'tA')) AS watch_last_day;
-- the JSON API: data 2 (an integer), context metric ccv, aggregation live;
-- through api_request: 2, and with unique=true 1
SELECT b->'data' AS data, b#>>'{context,metric}' AS metric, b#>>'{context,aggregation}' AS aggregation
  FROM analytics.api_metrics('ccv', 'live', project_id => 'tA') b;
SELECT r.status, r.body->'data' AS data FROM analytics.api_request('/data/metrics/ccv/live', 'tA') r;
SELECT r.status, r.body->'data' AS data FROM analytics.api_request('/data/metrics/ccv/live?unique=true', 'tA') r;
ROLLBACK;
