--
-- api_timeseries: analytics.timeseries() on the dataset of api_data, then
-- analytics.time_buckets / to_iso8601 / default_interval on fixed dates
-- (daylight saving time changes, odd offsets), which the retention window
-- keeps out of the table-based tests.
-- Buckets are printed as offsets from D0 (emitted_at - D0).
--
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';

--
-- play, day 0, interval hour: 24 buckets, every one of them, 0 when empty.
--   10h: S1 S2 S3 S4 S5 S6 = 6; 15h: S12 = 1; 22h: S10 = 1; 23h: S11 (23:59:50) = 1; others 0
SELECT r.emitted_at - api_d0('0') AS bucket, api_num(r.metric_value) AS plays
  FROM analytics.timeseries('play', api_d0('0'), api_d0('1 day'), 'hour', project_id => 'tA') r;
-- no interval: day 0 lasts 1 day <= 2 days -> hour: the same 24 rows
SELECT (SELECT array_agg(row(r.*)) FROM analytics.timeseries('play', api_d0('0'), api_d0('1 day'), project_id => 'tA') r)
     = (SELECT array_agg(row(r.*)) FROM analytics.timeseries('play', api_d0('0'), api_d0('1 day'), 'hour', project_id => 'tA') r)
       AS default_is_hour;
-- exactly 2 days -> still hour: 48 buckets, 10 plays; 2 days + 1 hour -> day: 3 buckets 9, 1, 0
SELECT count(*) AS buckets, sum(metric_value) AS plays, min(emitted_at) = api_d0('0') AS first_at_d0,
       max(emitted_at) = api_d0('47:00') AS last_at_47h
  FROM analytics.timeseries('play', api_d0('0'), api_d0('2 days'), project_id => 'tA');
SELECT r.emitted_at - api_d0('0') AS bucket, api_num(r.metric_value) AS plays
  FROM analytics.timeseries('play', api_d0('0'), api_d0('2 days 01:00'), project_id => 'tA') r;

--
-- interval day, days 0-1, several metrics:
--   play            9, 1 (S8)
--   start           7, 1
--   end             2 (S1 S3), 1 (S8)
--   impression      11, 1
--   impression-time average 4400/11 = 400, 350;  sum 4400, 350
--   watch-time sum  304, 98 (S11 38 + S8 60);  average 304/9 = 33.777777778, 98/1 = 98
--   play-rate       9/11 = 0.818181818, 1
--   view (5s)       6, 1;  view 30s: 4, 2 (S11 S8);  view 10s unique: {101,102,104} 3, {105,106} 2
--   ccv-peak        3, 1;  ccv-average 312/86400 = 0.003611111, 90/86400 = 0.001041667
SELECT t.i, t.m, coalesce(t.a, '-') AS aggregation, coalesce(t.vd, '-') AS view_duration, t.u AS uniq,
       string_agg(format('%s=%s', r.emitted_at - api_d0('0'), api_num(r.metric_value)), ' ' ORDER BY r.n) AS result
  FROM (VALUES (1, 'play', NULL, NULL, false), (2, 'start', NULL, NULL, false), (3, 'end', NULL, NULL, false),
               (4, 'impression', NULL, NULL, false), (5, 'impression-time', NULL, NULL, false),
               (6, 'impression-time', 'sum', NULL, false), (7, 'watch-time', NULL, NULL, false),
               (8, 'watch-time', 'average', NULL, false), (9, 'play-rate', NULL, NULL, false),
               (10, 'view', NULL, NULL, false), (11, 'view', NULL, '30s', false), (12, 'view', NULL, '10s', true),
               (13, 'ccv-peak', NULL, NULL, false), (14, 'ccv-average', NULL, NULL, false)) t(i, m, a, vd, u),
       LATERAL analytics.timeseries(t.m, api_d0('0'), api_d0('2 days'), 'day', aggregation => t.a, unique_viewers => t.u,
                                    view_duration => t.vd, project_id => 'tA') WITH ORDINALITY r(emitted_at, metric_value, n)
 GROUP BY t.i, t.m, t.a, t.vd, t.u ORDER BY t.i;

--
-- interval minute, [10:00, 10:06): play 10:00 S1 S5 = 2; 10:01 S2 S6 S3 = 3; 10:02-10:04 0; 10:05 S4 = 1
SELECT r.emitted_at - api_d0('0') AS bucket, api_num(r.metric_value) AS plays
  FROM analytics.timeseries('play', api_d0('10:00'), api_d0('10:06'), 'minute', project_id => 'tA') r;
-- [10:00:30, 10:02:00): the first bucket starts before from (10:00), but only
-- events inside the period count: 10:00 -> S5 (10:00:31), not S1 (10:00:01) = 1; 10:01 -> 3
SELECT r.emitted_at - api_d0('0') AS bucket, api_num(r.metric_value) AS plays
  FROM analytics.timeseries('play', api_d0('10:00:30'), api_d0('10:02:00'), 'minute', project_id => 'tA') r;

--
-- Averages and rates are NULL in empty buckets, counts and sums 0. Hours 9, 10, 11 of day 0:
--   impression-time average: NULL; (200+400+300+1000+500+600+250)/7 = 3250/7 = 464.285714286; S9 150
--   impression-time sum: 0, 3250, 150
--   play-rate: NULL (no impression); 6 plays / 7 impressions = 0.857142857; 0 plays / 1 impression = 0
--   play: 0, 6, 0
SELECT t.m, coalesce(t.a, '-') AS aggregation,
       string_agg(format('%s=%s', r.emitted_at - api_d0('0'), api_num(r.metric_value)), ' ' ORDER BY r.n) AS result
  FROM (VALUES (1, 'impression-time', NULL), (2, 'impression-time', 'sum'), (3, 'play-rate', NULL), (4, 'play', NULL)) t(i, m, a),
       LATERAL analytics.timeseries(t.m, api_d0('09:00'), api_d0('12:00'), 'hour', aggregation => t.a, project_id => 'tA')
               WITH ORDINALITY r(emitted_at, metric_value, n)
 GROUP BY t.i, t.m, t.a ORDER BY t.i;
-- minutes 10:00-10:04: watch-time sum by emitted_at: 10:00 0; 10:01 S5 40; 10:02 S1 100 + S6 20 + S3 50 = 170;
--   10:03 S2 60; 10:04 S5 30.  plays: 2, 3, 0, 0, 0.
--   watch-time average: 0/2 = 0; 40/3 = 13.333333333; then NULL, NULL, NULL (no play)
SELECT t.a,
       string_agg(format('%s=%s', r.emitted_at - api_d0('0'), api_num(r.metric_value)), ' ' ORDER BY r.n) AS result
  FROM (VALUES (1, 'sum'), (2, 'average')) t(i, a),
       LATERAL analytics.timeseries('watch-time', api_d0('10:00'), api_d0('10:05'), 'minute', aggregation => t.a, project_id => 'tA')
               WITH ORDINALITY r(emitted_at, metric_value, n)
 GROUP BY t.i, t.a ORDER BY t.i;

--
-- ccv per bucket, clipped to bucket and period (timeline in api_data).
-- minutes of [10:00, 10:05):
--   ccv-peak     10:00 2 (S1, S5 from 10:00:50); 10:01 3 (S1 S3 S6 at 10:01:50); 10:02 3 (S2 S3 S6);
--                10:03 1 (S5 from 10:03:30); 10:04 0
--   ccv-average  10:00 (S1 40 + S5 10)/60 = 0.833333333; 10:01 (60+30+20+10)/60 = 2;
--                10:02 (60+30+10)/60 = 1.666666667; 10:03 30/60 = 0.5; 10:04 0
--   unique peak  2 ({101,104}), 2 ({101,104} until 10:01:30), 2 ({101,102}), 1, 0
--   unique average  (30 + 2*10)/60 = 0.833333333; (2*30 + 30)/60 = 1.5; (2*30 + 30)/60 = 1.5; 0.5; 0
-- minutes of [10:00:30, 10:04:30): first and last buckets are clipped to 30 s
--   ccv-peak     10:00 2; 3; 3; 1; 10:04 0
--   ccv-average  10:00 (S1 30 + S5 10)/30 = 1.333333333; 2; 1.666666667; 0.5; 10:04 0/30 = 0
SELECT t.m, t.f, t.u AS uniq,
       string_agg(format('%s=%s', r.emitted_at - api_d0('0'), api_num(r.metric_value)), ' ' ORDER BY r.n) AS result
  FROM (VALUES (1, 'ccv-peak', '10:00'::interval, '10:05'::interval, false),
               (2, 'ccv-average', '10:00', '10:05', false),
               (3, 'ccv-peak', '10:00', '10:05', true),
               (4, 'ccv-average', '10:00', '10:05', true),
               (5, 'ccv-peak', '10:00:30', '10:04:30', false),
               (6, 'ccv-average', '10:00:30', '10:04:30', false)) t(i, m, f, tt, u),
       LATERAL analytics.timeseries(t.m, api_d0(t.f), api_d0(t.tt), 'minute', unique_viewers => t.u, project_id => 'tA')
               WITH ORDINALITY r(emitted_at, metric_value, n)
 GROUP BY t.i, t.m, t.f, t.u ORDER BY t.i;
-- hours 23 of day 0 and 0 of day 1 (S11 watches across midnight, [23:59:52, 1d 00:00:30)):
--   ccv-peak 1, 1; ccv-average 8/3600 = 0.002222222, 30/3600 = 0.008333333
SELECT t.m, string_agg(format('%s=%s', r.emitted_at - api_d0('0'), api_num(r.metric_value)), ' ' ORDER BY r.n) AS result
  FROM (VALUES (1, 'ccv-peak'), (2, 'ccv-average')) t(i, m),
       LATERAL analytics.timeseries(t.m, api_d0('23:00'), api_d0('1 day 01:00'), 'hour', project_id => 'tA')
               WITH ORDINALITY r(emitted_at, metric_value, n)
 GROUP BY t.i, t.m ORDER BY t.i;

--
-- sort_order desc: hours 11, 10, 9 -> 0, 6, 0
SELECT r.emitted_at - api_d0('0') AS bucket, api_num(r.metric_value) AS plays
  FROM analytics.timeseries('play', api_d0('09:00'), api_d0('12:00'), 'hour', sort_by => 'emittedAt', sort_order => 'desc',
                            project_id => 'tA') r;

--
-- filters: hours 10, 11 with country FR: S1 S2 S3 = 3, 0
--          days 0, 1 with tag news (m2): S3 S4 S10 S12 = 4, 0
--          days 0, 1 with mediaId m1 and deviceType phone: S2 = 1, S8 = 1
SELECT t.f::text,
       string_agg(format('%s=%s', r.emitted_at - api_d0('0'), api_num(r.metric_value)), ' ' ORDER BY r.n) AS result
  FROM (VALUES (1, '{"country": "FR"}'::jsonb, '10:00'::interval, '12:00'::interval, 'hour'),
               (2, '{"tag": "news"}', '0', '2 days', 'day'),
               (3, '{"mediaId": "m1", "deviceType": "phone"}', '0', '2 days', 'day')) t(i, f, ff, tt, iv),
       LATERAL analytics.timeseries('play', api_d0(t.ff), api_d0(t.tt), t.iv, t.f, project_id => 'tA')
               WITH ORDINALITY r(emitted_at, metric_value, n)
 GROUP BY t.i, t.f ORDER BY t.i;

--
-- project scoping: tB, hours 10-12 of day 0: T1 (10:00:05) 1, 0, T2 (12:00) 1
SELECT r.emitted_at - api_d0('0') AS bucket, api_num(r.metric_value) AS plays
  FROM analytics.timeseries('play', api_d0('10:00'), api_d0('13:00'), 'hour', project_id => 'tB') r;
-- setting tA + argument tB: nothing is read, but every bucket is still there: 0, 0
SET analytics.project_id = 'tA';
SELECT r.emitted_at - api_d0('0') AS bucket, api_num(r.metric_value) AS plays
  FROM analytics.timeseries('play', api_d0('0'), api_d0('2 days'), 'day', project_id => 'tB') r;
-- setting alone: 9, 1
SELECT r.emitted_at - api_d0('0') AS bucket, api_num(r.metric_value) AS plays
  FROM analytics.timeseries('play', api_d0('0'), api_d0('2 days'), 'day') r;
RESET analytics.project_id;

--
-- A time zone without DST change here: Asia/Kolkata, +05:30.
-- hour, [10:00, 12:00) UTC: buckets start at 09:30, 10:30, 11:30 UTC (15:00, 16:00, 17:00 local)
--   play: 6 (all at 10:00-10:05), 0, 0;  impression: S1..S7 = 7, S9 (11:00) = 1, 0
SELECT t.m, string_agg(format('%s=%s', r.emitted_at - api_d0('0'), api_num(r.metric_value)), ' ' ORDER BY r.n) AS result
  FROM (VALUES (1, 'play'), (2, 'impression')) t(i, m),
       LATERAL analytics.timeseries(t.m, api_d0('10:00'), api_d0('12:00'), 'hour', time_zone => 'Asia/Kolkata', project_id => 'tA')
               WITH ORDINALITY r(emitted_at, metric_value, n)
 GROUP BY t.i, t.m ORDER BY t.i;
-- day, days 0-1 (UTC): local midnights at 18:30 UTC: buckets D0 - 5:30, D0 + 18:30, D0 + 1 day 18:30
--   [D0, D0+18:30): S1..S6, S12 = 7;  [D0+18:30, D0+1d 18:30): S10, S11, S8 = 3;  [D0+1d 18:30, D0+2d): 0
SELECT r.emitted_at - api_d0('0') AS bucket, api_num(r.metric_value) AS plays
  FROM analytics.timeseries('play', api_d0('0'), api_d0('2 days'), 'day', time_zone => 'Asia/Kolkata', project_id => 'tA') r;

--
-- week and month (UTC), days 0-1: one bucket with 10 plays when D0 and D0 + 1 day
-- fall in the same week (month), else two buckets with 9 and 1. Weeks start on Monday.
SELECT iv,
       (SELECT array_agg(row(r.emitted_at, r.metric_value)::text ORDER BY r.emitted_at)
          FROM analytics.timeseries('play', api_d0('0'), api_d0('2 days'), iv, project_id => 'tA') r)
     = CASE WHEN date_trunc(iv, api_d0('0')) = date_trunc(iv, api_d0('1 day'))
            THEN ARRAY[row(date_trunc(iv, api_d0('0')), 10::float8)::text]
            ELSE ARRAY[row(date_trunc(iv, api_d0('0')), 9::float8)::text, row(api_d0('1 day'), 1::float8)::text] END
       AS as_expected,
       (SELECT sum(metric_value) FROM analytics.timeseries('play', api_d0('0'), api_d0('2 days'), iv, project_id => 'tA')) AS plays
  FROM (VALUES ('week'), ('month')) t(iv);

--
-- At most 10,000 buckets: 10,000 minutes from D0 are fine, one more second is one bucket too many
SELECT count(*) AS buckets
  FROM analytics.timeseries('play', api_d0('0'), api_d0('0') + interval '10000 minutes', 'minute', project_id => 'tA');
SELECT api_err($$SELECT * FROM analytics.timeseries('play', api_d0('0'), api_d0('0') + interval '10000 minutes 1 second', 'minute', project_id => 'tA')$$) AS too_many_buckets;

--
-- analytics.time_buckets(bucket, from, to, time_zone): pure, fixed dates.
-- Europe/Paris, DST starts 2024-03-31 at 02:00 CET (01:00 UTC) -> 03:00 CEST.
-- hour, [2024-03-30 23:00Z, 2024-03-31 03:00Z) = local 00:00 CET .. 05:00 CEST:
--   23:00Z (00:00+01), 00:00Z (01:00+01), 01:00Z (03:00+02), 02:00Z (04:00+02), each one hour
SELECT bucket_start, bucket_end, analytics.to_iso8601(bucket_start, 'Europe/Paris') AS local_start
  FROM analytics.time_buckets('hour', '2024-03-30 23:00Z', '2024-03-31 03:00Z', 'Europe/Paris');
-- day, [2024-03-30 12:00Z, 2024-04-01 12:00Z): local days 03-30 (24 h), 03-31 (23 h), 04-01 (24 h)
--   [03-29 23:00Z, 03-30 23:00Z), [03-30 23:00Z, 03-31 22:00Z), [03-31 22:00Z, 04-01 22:00Z)
SELECT bucket_start, bucket_end, bucket_end - bucket_start AS length, analytics.to_iso8601(bucket_start, 'Europe/Paris') AS local_start
  FROM analytics.time_buckets('day', '2024-03-30 12:00Z', '2024-04-01 12:00Z', 'Europe/Paris');
-- DST ends 2024-10-27 at 03:00 CEST (01:00 UTC) -> 02:00 CET.
-- day, [2024-10-27 00:00Z, 2024-10-28 00:00Z): local 10-27 lasts 25 h [10-26 22:00Z, 10-27 23:00Z),
--   then 10-28 [10-27 23:00Z, 10-28 23:00Z) (it contains 10-27 23:00Z .. 10-28 00:00Z)
SELECT bucket_start, bucket_end, bucket_end - bucket_start AS length, analytics.to_iso8601(bucket_start, 'Europe/Paris') AS local_start
  FROM analytics.time_buckets('day', '2024-10-27 00:00Z', '2024-10-28 00:00Z', 'Europe/Paris');
-- hour, [2024-10-27 00:00Z, 02:00Z): local 02:00 occurs twice: 02:00+02 (00:00Z) and 02:00+01 (01:00Z),
--   two distinct one-hour buckets
SELECT bucket_start, bucket_end, analytics.to_iso8601(bucket_start, 'Europe/Paris') AS local_start
  FROM analytics.time_buckets('hour', '2024-10-27 00:00Z', '2024-10-27 02:00Z', 'Europe/Paris');
-- week (Monday), [2024-03-28Z, 2024-04-02Z) Paris: Monday 03-25 00:00 CET = 03-24 23:00Z (167 h long:
--   it contains the lost hour), Monday 04-01 00:00 CEST = 03-31 22:00Z
SELECT bucket_start, bucket_end, bucket_end - bucket_start AS length, analytics.to_iso8601(bucket_start, 'Europe/Paris') AS local_start
  FROM analytics.time_buckets('week', '2024-03-28 00:00Z', '2024-04-02 00:00Z', 'Europe/Paris');
-- month, [2024-03-15Z, 2024-05-01Z) Paris: March from 02-29 23:00Z, April from 03-31 22:00Z,
--   May from 04-30 22:00Z (local 05-01 00:00+02 < 05-01 00:00Z = 02:00 local: intersects)
SELECT bucket_start, bucket_end, analytics.to_iso8601(bucket_start, 'Europe/Paris') AS local_start
  FROM analytics.time_buckets('month', '2024-03-15 00:00Z', '2024-05-01 00:00Z', 'Europe/Paris');
-- week UTC: 2024-05-29 is a Wednesday: [05-27, 06-03), [06-03, 06-10)
SELECT bucket_start, bucket_end FROM analytics.time_buckets('week', '2024-05-29 00:00Z', '2024-06-05 00:00Z', 'UTC');
-- month UTC across a year and a leap February; to = 03-01 exactly: no March bucket
SELECT bucket_start, bucket_end FROM analytics.time_buckets('month', '2023-12-31 12:00Z', '2024-03-01 00:00Z', 'UTC');
-- minute: [00:00:30, 00:02:00) -> 00:00 (starts before from), 00:01
SELECT bucket_start, bucket_end FROM analytics.time_buckets('minute', '2024-01-01 00:00:30Z', '2024-01-01 00:02:00Z', 'UTC');
-- hour in Asia/Kathmandu (+05:45): buckets at :15 UTC: 2023-12-31 23:15Z, 00:15Z, 01:15Z
SELECT bucket_start, bucket_end, analytics.to_iso8601(bucket_start, 'Asia/Kathmandu') AS local_start
  FROM analytics.time_buckets('hour', '2024-01-01 00:00Z', '2024-01-01 02:00Z', 'Asia/Kathmandu');
-- day in Asia/Kolkata (+05:30): [2023-12-31 18:30Z, 2024-01-01 18:30Z), [2024-01-01 18:30Z, 2024-01-02 18:30Z)
SELECT bucket_start, bucket_end, analytics.to_iso8601(bucket_start, 'Asia/Kolkata') AS local_start
  FROM analytics.time_buckets('day', '2024-01-01 00:00Z', '2024-01-02 00:00Z', 'Asia/Kolkata');
-- 10,000 buckets at most
SELECT count(*) AS buckets FROM analytics.time_buckets('minute', '2024-01-01 00:00Z', '2024-01-07 22:40Z', 'UTC');
SELECT api_err($$SELECT count(*) FROM analytics.time_buckets('minute', '2024-01-01 00:00Z', '2024-01-07 22:41Z', 'UTC')$$) AS too_many;
-- default interval: hour up to 2 days inclusive, then day
SELECT analytics.default_interval('2024-01-01 00:00Z', '2024-01-03 00:00Z') AS two_days,
       analytics.default_interval('2024-01-01 00:00Z', '2024-01-03 00:00:01Z') AS two_days_and_a_second,
       analytics.default_interval('2024-01-01 00:00Z', '2024-01-01 00:05Z') AS five_minutes;
-- to_iso8601: offset of the zone at that instant, fractional seconds dropped
SELECT analytics.to_iso8601('2024-10-27 00:30Z', 'Europe/Paris') AS paris_summer,
       analytics.to_iso8601('2024-10-27 01:30Z', 'Europe/Paris') AS paris_winter,
       analytics.to_iso8601('2024-01-01 00:00:00.999Z', 'UTC') AS utc,
       analytics.to_iso8601('2024-01-01 00:00Z', 'Asia/Kolkata') AS kolkata,
       analytics.to_iso8601('2024-01-01 00:00Z', 'America/New_York') AS new_york;
