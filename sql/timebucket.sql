-- Time buckets (src/timebucket.c): time_bucket, time_buckets, to_iso8601,
-- default_interval.  The extension is created by setup.sql.
-- Expected values are worked out by hand from the tz database rules quoted in
-- the comments; timestamps are shown in UTC, local times with to_iso8601.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';

CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'ok';
EXCEPTION WHEN others THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- the error fields the JSON API reads: SQLSTATE, COLUMN_NAME, message, detail, hint
CREATE FUNCTION pg_temp.diag(q text) RETURNS TABLE (state text, column_name text, message text, detail text, hint text)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  state := 'ok';
  RETURN NEXT;
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, column_name = COLUMN_NAME,
    message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
  RETURN NEXT;
END $$;

-- local wall-clock reading of a timestamp in a zone, for the listings below
CREATE FUNCTION pg_temp.loc(ts timestamptz, zone text) RETURNS text
LANGUAGE sql AS $$ SELECT analytics.to_iso8601(ts, zone) $$;

--
-- 1. Every bucket in UTC (the default zone).  2024-05-29 is a Wednesday, so
-- its ISO week starts on Monday 2024-05-27.
--
SELECT b, analytics.time_bucket(b, '2024-05-29 07:12:13.456789+00')
  FROM unnest(ARRAY['minute', 'hour', 'day', 'week', 'month']) b;
-- a bucket start is its own bucket; the last microsecond before it is not
SELECT analytics.time_bucket('hour', '2024-05-29 07:00:00+00'),
       analytics.time_bucket('hour', '2024-05-29 06:59:59.999999+00'),
       analytics.time_bucket('minute', '2024-05-29 07:12:59.999999+00');

--
-- 2. Europe/Paris.  EU rule: clocks change at 01:00 UTC on the last Sunday of
-- March (CET +01 -> CEST +02) and of October (CEST +02 -> CET +01).
-- 2024-03-31: local midnight is 2024-03-30 23:00Z (+01), the next midnight
-- 2024-03-31 22:00Z (+02): a 23-hour day.  2024-10-27: 2024-10-26 22:00Z (+02)
-- to 2024-10-27 23:00Z (+01): a 25-hour day.
--
SELECT bucket_start, bucket_end, bucket_end - bucket_start AS length,
       pg_temp.loc(bucket_start, 'Europe/Paris') AS local_start
  FROM analytics.time_buckets('day', '2024-03-30 12:00+00', '2024-04-01 12:00+00', 'Europe/Paris');
SELECT bucket_start, bucket_end, bucket_end - bucket_start AS length,
       pg_temp.loc(bucket_start, 'Europe/Paris') AS local_start
  FROM analytics.time_buckets('day', '2024-10-26 12:00+00', '2024-10-28 12:00+00', 'Europe/Paris');
-- any instant of the day falls in it, whatever its local offset
SELECT analytics.time_bucket('day', '2024-03-31 00:59:59+00', 'Europe/Paris') AS before_change,
       analytics.time_bucket('day', '2024-03-31 01:00:00+00', 'Europe/Paris') AS after_change,
       analytics.time_bucket('day', '2024-03-31 21:59:59+00', 'Europe/Paris') AS last_second;
-- hour buckets of those days: 23 and 25 of them, each exactly 3600 s
SELECT count(*) AS hours, min(bucket_start) AS first, max(bucket_end) AS last,
       min(bucket_end - bucket_start) AS shortest, max(bucket_end - bucket_start) AS longest
  FROM analytics.time_buckets('hour', '2024-03-30 23:00+00', '2024-03-31 22:00+00', 'Europe/Paris');
SELECT count(*) AS hours, min(bucket_start) AS first, max(bucket_end) AS last,
       min(bucket_end - bucket_start) AS shortest, max(bucket_end - bucket_start) AS longest
  FROM analytics.time_buckets('hour', '2024-10-26 22:00+00', '2024-10-27 23:00+00', 'Europe/Paris');
-- around the changes: 01:00+01 is followed by 03:00+02 (02:00 does not
-- exist); 02:00+02 and 02:00+01 are two distinct buckets (02:00 happens twice)
SELECT bucket_start, pg_temp.loc(bucket_start, 'Europe/Paris') AS local_start
  FROM analytics.time_buckets('hour', '2024-03-30 23:30+00', '2024-03-31 02:00+00', 'Europe/Paris');
SELECT bucket_start, pg_temp.loc(bucket_start, 'Europe/Paris') AS local_start
  FROM analytics.time_buckets('hour', '2024-10-26 23:30+00', '2024-10-27 02:00+00', 'Europe/Paris');
SELECT analytics.time_bucket('hour', '2024-10-27 00:59:59+00', 'Europe/Paris') AS first_0200,
       analytics.time_bucket('hour', '2024-10-27 01:00:00+00', 'Europe/Paris') AS second_0200;

--
-- 3. America/New_York.  US rule: 2nd Sunday of March 02:00 EST (-05) -> 03:00
-- EDT (-04), i.e. 2024-03-10 07:00Z; 1st Sunday of November 02:00 EDT -> 01:00
-- EST, i.e. 2024-11-03 06:00Z.
-- 2024-03-10 starts at 05:00Z and ends at 2024-03-11 04:00Z (23 h);
-- 2024-11-03 starts at 04:00Z and ends at 2024-11-04 05:00Z (25 h).
--
SELECT bucket_start, bucket_end - bucket_start AS length,
       pg_temp.loc(bucket_start, 'America/New_York') AS local_start
  FROM analytics.time_buckets('day', '2024-03-10 12:00+00', '2024-03-10 12:00:01+00', 'America/New_York')
UNION ALL
SELECT bucket_start, bucket_end - bucket_start,
       pg_temp.loc(bucket_start, 'America/New_York')
  FROM analytics.time_buckets('day', '2024-11-03 12:00+00', '2024-11-03 12:00:01+00', 'America/New_York');
-- hours: 01:00-05 then 03:00-04; 01:00-04 then 01:00-05 (twice 01:00)
SELECT bucket_start, pg_temp.loc(bucket_start, 'America/New_York') AS local_start
  FROM analytics.time_buckets('hour', '2024-03-10 05:30+00', '2024-03-10 08:00+00', 'America/New_York');
SELECT bucket_start, pg_temp.loc(bucket_start, 'America/New_York') AS local_start
  FROM analytics.time_buckets('hour', '2024-11-03 04:30+00', '2024-11-03 07:00+00', 'America/New_York');

--
-- 4. Asia/Kolkata is +05:30 all year: hours start at :30 UTC, days at 18:30Z
-- the day before.  07:12Z = 12:42 local -> hour 12:00 local = 06:30Z.
--
SELECT analytics.time_bucket('minute', '2024-05-29 07:12:13+00', 'Asia/Kolkata') AS minute,
       analytics.time_bucket('hour', '2024-05-29 07:12:13+00', 'Asia/Kolkata') AS hour,
       analytics.time_bucket('hour', '2024-05-29 06:29:59+00', 'Asia/Kolkata') AS hour_before,
       analytics.time_bucket('day', '2024-05-29 07:12:13+00', 'Asia/Kolkata') AS day,
       analytics.time_bucket('day', '2024-05-29 18:30:00+00', 'Asia/Kolkata') AS next_day;
SELECT bucket_start, bucket_end, pg_temp.loc(bucket_start, 'Asia/Kolkata') AS local_start
  FROM analytics.time_buckets('hour', '2024-05-29 07:00+00', '2024-05-29 09:00+00', 'Asia/Kolkata');

--
-- 5. Australia/Lord_Howe: +10:30 in winter, +11 in summer (a 30-minute shift).
-- Winter (June): hours start at :30 UTC; summer (January): at :00 UTC.
-- 2024-06-15 12:10Z = 22:40+10:30 -> 22:00+10:30 = 11:30Z;
-- 2024-01-15 12:10Z = 23:10+11 -> 23:00+11 = 12:00Z.
--
SELECT analytics.time_bucket('hour', '2024-06-15 12:10+00', 'Australia/Lord_Howe') AS winter,
       analytics.time_bucket('hour', '2024-01-15 12:10+00', 'Australia/Lord_Howe') AS summer;
-- Rule LH: first Sunday of April 02:00 +11 -> 01:30 +10:30, i.e. 2024-04-06
-- 15:00Z.  A bucket starts whenever the wall clock reads HH:00: 00:00+11
-- (13:00Z), 01:00+11 (14:00Z), 02:00+10:30 (15:30Z, 02:00+11 never shows)...
-- so the 01:00 bucket, which holds the repeated 01:30-02:00, lasts 90 minutes.
SELECT bucket_start, bucket_end, bucket_end - bucket_start AS length,
       pg_temp.loc(bucket_start, 'Australia/Lord_Howe') AS local_start
  FROM analytics.time_buckets('hour', '2024-04-06 13:00+00', '2024-04-06 17:00+00', 'Australia/Lord_Howe');
-- first Sunday of October 02:00 +10:30 -> 02:30 +11, i.e. 2024-10-05 15:30Z:
-- 01:00+10:30 (14:30Z), then 02:00 never shows, next is 03:00+11 (16:00Z).
SELECT bucket_start, bucket_end, bucket_end - bucket_start AS length,
       pg_temp.loc(bucket_start, 'Australia/Lord_Howe') AS local_start
  FROM analytics.time_buckets('hour', '2024-10-05 13:30+00', '2024-10-05 17:00+00', 'Australia/Lord_Howe');
-- date_trunc('hour') keeps the offset of ts, so there its "hours" overlap
-- (15:00Z for 15:40Z while 14:30Z covers 14:30Z-15:30Z); time_bucket does not
SELECT ts, analytics.time_bucket('hour', ts, 'Australia/Lord_Howe') AS time_bucket,
       date_trunc('hour', ts, 'Australia/Lord_Howe') AS date_trunc
  FROM unnest(ARRAY['2024-04-06 15:10+00', '2024-10-05 15:40+00']::timestamptz[]) ts;
-- days: 2024-04-07 runs from 00:00+11 (13:00Z) to 00:00+10:30 (13:30Z next day)
SELECT bucket_start, bucket_end - bucket_start AS length
  FROM analytics.time_buckets('day', '2024-04-07 00:00+00', '2024-04-07 00:00:01+00', 'Australia/Lord_Howe');

--
-- 6. Midnights that do not exist or exist twice.
-- America/Santiago: 2024-09-08 00:00 -04 -> 01:00 -03 (04:00Z).  The day
-- starts at its first instant, 01:00-03 = 04:00Z, as date_trunc says, and
-- lasts 23 h (to 2024-09-09 00:00-03 = 03:00Z).
--
SELECT bucket_start, bucket_end, bucket_end - bucket_start AS length,
       pg_temp.loc(bucket_start, 'America/Santiago') AS local_start
  FROM analytics.time_buckets('day', '2024-09-07 12:00+00', '2024-09-08 12:00+00', 'America/Santiago');
SELECT analytics.time_bucket('day', '2024-09-08 12:00+00', 'America/Santiago') =
       date_trunc('day', '2024-09-08 12:00+00'::timestamptz, 'America/Santiago') AS same_as_date_trunc;
-- Asia/Beirut: 2024-03-31 00:00 +02 -> 01:00 +03 (2024-03-30 22:00Z), and
-- 2024-10-27 00:00 +03 -> 2024-10-26 23:00 +02 (2024-10-26 21:00Z): the day
-- 2024-10-26 runs from 21:00Z on the 25th to 22:00Z on the 26th (25 h).
SELECT bucket_start, bucket_end - bucket_start AS length,
       pg_temp.loc(bucket_start, 'Asia/Beirut') AS local_start
  FROM analytics.time_buckets('day', '2024-03-30 12:00+00', '2024-03-31 12:00+00', 'Asia/Beirut')
UNION ALL
SELECT bucket_start, bucket_end - bucket_start,
       pg_temp.loc(bucket_start, 'Asia/Beirut')
  FROM analytics.time_buckets('day', '2024-10-26 12:00+00', '2024-10-27 12:00+00', 'Asia/Beirut');
-- America/Havana: 2024-11-03 01:00 CDT (-04) -> 00:00 CST (-05) at 05:00Z, so
-- local midnight of Nov 3 happens at 04:00Z and again at 05:00Z.  date_trunc
-- picks the second one, even for 04:30Z, which is before it; time_bucket
-- keeps 04:00Z-05:00Z in Nov 2 (a 25-hour day), so a bucket never starts
-- after its timestamps.
SELECT bucket_start, bucket_end, bucket_end - bucket_start AS length,
       pg_temp.loc(bucket_start, 'America/Havana') AS local_start
  FROM analytics.time_buckets('day', '2024-11-02 12:00+00', '2024-11-03 12:00+00', 'America/Havana');
SELECT analytics.time_bucket('day', '2024-11-03 04:30+00', 'America/Havana') AS time_bucket,
       date_trunc('day', '2024-11-03 04:30+00'::timestamptz, 'America/Havana') AS date_trunc;
-- America/Toronto, 1919-03-30 23:30 EST -> 1919-03-31 00:30 EDT (04:30Z): the
-- gap straddles midnight; the day starts at its first instant 00:30-04, where
-- date_trunc says 01:00-04.
SELECT analytics.time_bucket('day', '1919-03-31 12:00+00', 'America/Toronto') AS time_bucket,
       date_trunc('day', '1919-03-31 12:00+00'::timestamptz, 'America/Toronto') AS date_trunc;
-- Pacific/Apia skipped 2011-12-30 (23:59:59 -10 on the 29th, then 00:00 +14
-- on the 31st, at 2011-12-30 10:00Z): there is no bucket for that day.
SELECT bucket_start, bucket_end - bucket_start AS length,
       pg_temp.loc(bucket_start, 'Pacific/Apia') AS local_start
  FROM analytics.time_buckets('day', '2011-12-28 12:00+00', '2011-12-31 12:00+00', 'Pacific/Apia');

--
-- 7. Weeks start on Monday at local midnight.  2024-01-01 is a Monday;
-- 2021-01-01 is a Friday of ISO week 2020-W53, which starts on 2020-12-28.
--
SELECT analytics.time_bucket('week', '2024-01-07 23:59:59+00') AS sunday,
       analytics.time_bucket('week', '2024-01-08 00:00:00+00') AS monday,
       analytics.time_bucket('week', '2021-01-01 12:00:00+00') AS new_year_2021,
       analytics.time_bucket('week', '2024-01-08 00:00:00+00', 'America/New_York') AS new_york;
-- the Paris week of 2024-03-31: Monday 25th 00:00+01 to Monday April 1st
-- 00:00+02, 7 days minus 1 hour
SELECT bucket_start, bucket_end, bucket_end - bucket_start AS length,
       extract(isodow FROM bucket_start AT TIME ZONE 'Europe/Paris') AS isodow
  FROM analytics.time_buckets('week', '2024-03-20 00:00+00', '2024-04-03 00:00+00', 'Europe/Paris');

--
-- 8. Months start on the 1st at local midnight: 31, 29 (2024 is a leap year),
-- 31, 30 ... days in UTC; February 2023 has 28.  In Paris, March 2024 loses
-- an hour and October 2024 gains one.
--
SELECT bucket_start, bucket_end - bucket_start AS length
  FROM analytics.time_buckets('month', '2024-01-15 00:00+00', '2024-05-15 00:00+00');
SELECT bucket_start, bucket_end - bucket_start AS length
  FROM analytics.time_buckets('month', '2023-02-01 00:00+00', '2023-02-28 23:59:59+00');
SELECT bucket_start, bucket_end, bucket_end - bucket_start AS length,
       pg_temp.loc(bucket_start, 'Europe/Paris') AS local_start
  FROM analytics.time_buckets('month', '2024-03-10 00:00+00', '2024-03-10 00:00:01+00', 'Europe/Paris')
UNION ALL
SELECT bucket_start, bucket_end, bucket_end - bucket_start,
       pg_temp.loc(bucket_start, 'Europe/Paris')
  FROM analytics.time_buckets('month', '2024-10-10 00:00+00', '2024-10-10 00:00:01+00', 'Europe/Paris');
-- a month starting in the middle of a UTC day: Asia/Kolkata's June 2024
SELECT analytics.time_bucket('month', '2024-06-15 00:00+00', 'Asia/Kolkata') AS kolkata_june;

--
-- 9. time_buckets lists every bucket intersecting [from_ts, to_ts): the
-- first one starts at or before from_ts, the last one ends after to_ts
-- unless to_ts is a bucket start; each bucket ends where the next begins.
--
-- 07:30 to 07:30 the next day touches 25 hours: 07:00 ... 07:00 the next day
SELECT count(*), min(bucket_start) AS first_start, max(bucket_start) AS last_start,
       max(bucket_end) AS last_end
  FROM analytics.time_buckets('hour', '2024-05-29 07:30+00', '2024-05-30 07:30+00');
-- May 2024 has 31 days, so 31 day buckets; to_ts on a bucket start adds none
SELECT count(*), min(bucket_start), max(bucket_end)
  FROM analytics.time_buckets('day', '2024-05-01 00:00+00', '2024-06-01 00:00+00');
-- 60 minutes from 07:00:30 to 08:00 (the first one starts before from_ts),
-- 61 when to_ts is one microsecond later
SELECT (SELECT count(*) FROM analytics.time_buckets('minute', '2024-05-29 07:00:30+00', '2024-05-29 08:00:00+00')) AS to_0800,
       (SELECT count(*) FROM analytics.time_buckets('minute', '2024-05-29 07:00:30+00', '2024-05-29 08:00:00.000001+00')) AS to_just_after;
-- a period shorter than a bucket still has its bucket
SELECT * FROM analytics.time_buckets('month', '2024-05-29 07:00+00', '2024-05-29 07:00:00.000001+00');
-- no gaps and no overlaps over a year of Paris hours (8784 h in 2024, a leap
-- year; the two DST changes cancel out)
SELECT count(*) AS buckets,
       count(*) FILTER (WHERE bucket_end <> next_start) AS holes_or_overlaps,
       count(*) FILTER (WHERE analytics.time_bucket('hour', bucket_start, 'Europe/Paris') <> bucket_start) AS not_own_bucket
  FROM (SELECT *, lead(bucket_start) OVER (ORDER BY bucket_start) AS next_start
          FROM analytics.time_buckets('hour', '2023-12-31 23:00+00', '2024-12-31 23:00+00', 'Europe/Paris')) b;

--
-- 10. At most 10000 buckets.  2024-01-01 00:00 to 2024-01-07 22:40 is
-- 6 * 1440 + 22 * 60 + 40 = 10000 minutes.
--
SELECT count(*), max(bucket_end) FROM analytics.time_buckets('minute', '2024-01-01 00:00+00', '2024-01-07 22:40+00');
SELECT count(*) FROM analytics.time_buckets('minute', '2024-01-01 00:00+00', '2024-01-07 22:40:00.000001+00');
-- a huge period is refused without listing it
SELECT count(*) FROM analytics.time_buckets('minute', '2000-01-01 00:00+00', '2100-01-01 00:00+00');

--
-- 11. to_iso8601: seconds always, fractional seconds dropped, numeric offset
-- of the zone at that instant, never Z.
--
SELECT analytics.to_iso8601('2024-05-29 07:00:00+00') AS utc,
       analytics.to_iso8601('2024-05-29 07:00:00.999999+00', 'UTC') AS truncated,
       analytics.to_iso8601('2024-03-31 01:00:00+00', 'Europe/Paris') AS paris_summer,
       analytics.to_iso8601('2024-03-31 00:59:59.9+00', 'Europe/Paris') AS paris_winter;
SELECT analytics.to_iso8601('2024-01-15 12:00:00+00', 'America/New_York') AS new_york,
       analytics.to_iso8601('2024-05-29 07:00:00+00', 'Asia/Kolkata') AS kolkata,
       analytics.to_iso8601('2024-06-15 12:00:00+00', 'Australia/Lord_Howe') AS lord_howe,
       analytics.to_iso8601('2024-01-15 12:00:00+00', 'America/St_Johns') AS st_johns,
       analytics.to_iso8601('2024-01-15 12:00:00+00', 'Pacific/Chatham') AS chatham;
-- historical offsets with seconds (Paris local mean time was +00:09:21 until
-- 1891), zone names with digits that are real IANA names (Etc/GMT+5 is -05,
-- POSIX sign), years outside 0000-9999, infinity
SELECT analytics.to_iso8601('1890-06-01 12:00:00+00', 'Europe/Paris') AS paris_lmt,
       analytics.to_iso8601('2024-05-29 12:00:00+00', 'Etc/GMT+5') AS etc_gmt_plus_5,
       analytics.to_iso8601('2024-05-29 12:00:00+00', 'europe/paris') AS case_insensitive;
SELECT analytics.to_iso8601('0001-01-01 00:00:00+00 BC') AS year_0,
       analytics.to_iso8601('12345-06-07 08:09:10+00') AS year_12345,
       analytics.to_iso8601('infinity') AS inf,
       analytics.to_iso8601('-infinity') AS minus_inf;
-- infinite timestamps have no bucket but keep their value, like date_trunc
SELECT analytics.time_bucket('day', 'infinity'), analytics.time_bucket('hour', '-infinity', 'Europe/Paris');

--
-- 12. default_interval: 'hour' up to exactly 2 days (48 h), else 'day'
--
SELECT analytics.default_interval('2024-05-01 00:00+00', '2024-05-01 01:00+00') AS one_hour,
       analytics.default_interval('2024-05-01 00:00+00', '2024-05-03 00:00+00') AS two_days,
       analytics.default_interval('2024-05-01 00:00+00', '2024-05-03 00:00:00.000001+00') AS just_over,
       analytics.default_interval('2024-05-01 00:00+00', '2024-05-31 00:00+00') AS thirty_days,
       analytics.default_interval('-infinity', '2024-05-01 00:00+00') AS unbounded;

--
-- 13. Errors: SQLSTATE 22023 with a message naming the parameter and value.
--
SELECT q, pg_temp.try(q) FROM (VALUES
  ('SELECT analytics.time_bucket(''fortnight'', now())'),
  ('SELECT analytics.time_bucket('''', now())'),
  ('SELECT analytics.time_bucket(''Hour'', now())'),
  ('SELECT analytics.time_bucket(''hours'', now())'),
  ('SELECT analytics.time_bucket(''day'', now(), ''Mars/Olympus'')'),
  ('SELECT analytics.time_bucket(''day'', now(), '''')'),
  ('SELECT analytics.time_bucket(''day'', now(), ''UTC+5'')'),
  ('SELECT analytics.time_bucket(''day'', now(), ''Europe/Paris5'')'),
  ('SELECT analytics.time_bucket(''day'', now(), ''<+03>-3'')'),
  ('SELECT analytics.time_bucket(''day'', now(), ''Etc/GMT+13'')'),
  ('SELECT analytics.time_bucket(''day'', now(), ''PST'')'),
  ('SELECT analytics.time_bucket(''day'', now(), ''right/UTC'')'),
  ('SELECT analytics.time_bucket(''day'', now(), ''../UTC'')'),
  ('SELECT analytics.time_bucket(''day'', now(), ''localtime'')'),
  ('SELECT analytics.time_bucket(''day'', now(), '' UTC'')'),
  ('SELECT analytics.time_bucket(''day'', now(), repeat(''x'', 100000))'),
  ('SELECT analytics.time_bucket(''day'', now(), repeat(''é'', 300))'),
  ('SELECT analytics.time_bucket(''day'', NULL, ''Mars/Olympus'')'),
  ('SELECT analytics.to_iso8601(now(), ''Mars/Olympus'')'),
  ('SELECT * FROM analytics.time_buckets(''fortnight'', now(), now() + interval ''1 day'')'),
  ('SELECT * FROM analytics.time_buckets(''day'', now(), now() + interval ''1 day'', ''Mars/Olympus'')'),
  ('SELECT * FROM analytics.time_buckets(''day'', ''2024-05-02'', ''2024-05-01'')'),
  ('SELECT * FROM analytics.time_buckets(''day'', ''2024-05-01'', ''2024-05-01'')'),
  ('SELECT * FROM analytics.time_buckets(''day'', ''-infinity'', ''2024-05-01'')'),
  ('SELECT * FROM analytics.time_buckets(''day'', ''2024-05-01'', ''infinity'')'),
  ('SELECT * FROM analytics.time_buckets(''hour'', ''2024-01-01'', ''2025-03-01'')'),
  ('SELECT analytics.time_bucket(''month'', ''4714-11-24 00:00:00+00 BC'')')
) t(q);
-- the message, detail and hint as a client sees them
SELECT analytics.time_bucket('fortnight', '2024-05-29 07:00+00');
SELECT analytics.time_bucket('day', '2024-05-29 07:00+00', 'Mars/Olympus');
SELECT * FROM analytics.time_buckets('day', '2024-05-02 00:00+00', '2024-05-01 00:00+00', 'Europe/Paris');
SELECT * FROM analytics.time_buckets('minute', '2024-01-01 00:00+00', '2024-01-07 22:40:00.000001+00');
-- the REST parameter at fault, in COLUMN_NAME
SELECT * FROM pg_temp.diag($$SELECT analytics.time_bucket('fortnight', now())$$);
SELECT * FROM pg_temp.diag($$SELECT analytics.to_iso8601(now(), 'Mars/Olympus')$$);
SELECT * FROM pg_temp.diag($$SELECT * FROM analytics.time_buckets('day', '2024-05-02', '2024-05-01')$$);
SELECT * FROM pg_temp.diag($$SELECT * FROM analytics.time_buckets('hour', '2024-01-01', '2025-03-01')$$);

--
-- 14. Cross-check against PostgreSQL's date_trunc(field, ts, zone) on
-- deterministic instants: an irregular step through 41 years in 20 zones,
-- plus every 17 min 3 s around each day of 2019-2025 that is not 24 h long.
-- date_trunc is the reference wherever its answer is a bucket start: at or
-- before ts (not so in the repeated-midnight hour of section 6), and for
-- hours when the UTC offset is the same at both instants (not so after a
-- 30-minute shift, section 5).  Also checks start <= ts < end for every
-- sample, with end from time_buckets.
--
WITH zones(zone) AS (VALUES ('UTC'), ('Europe/Paris'), ('Europe/London'), ('Europe/Moscow'),
    ('America/New_York'), ('America/Los_Angeles'), ('America/St_Johns'), ('America/Santiago'),
    ('America/Havana'), ('America/Sao_Paulo'), ('Asia/Kolkata'), ('Asia/Kathmandu'),
    ('Asia/Beirut'), ('Asia/Tehran'), ('Africa/Casablanca'), ('Australia/Lord_Howe'),
    ('Australia/Adelaide'), ('Pacific/Chatham'), ('Pacific/Apia'), ('Pacific/Auckland')),
samples AS (
  SELECT zone, ts
    FROM zones, generate_series('1995-01-01 00:00:00+00'::timestamptz, '2035-12-31 00:00:00+00',
                                interval '9 days 7 hours 13 minutes 17.123457 seconds') ts
  UNION ALL
  SELECT z.zone, d.bucket_start + o * interval '17 minutes 3 seconds'
    FROM zones z,
         analytics.time_buckets('day', '2019-01-01 00:00+00', '2026-01-01 00:00+00', z.zone) d,
         generate_series(-12, 96) o
   WHERE d.bucket_end - d.bucket_start <> interval '24 hours'
),
checked AS (
  SELECT s.zone, s.ts, f.field, b.bucket_start AS tb, b.bucket_end AS te,
         analytics.time_bucket(f.field, s.ts, s.zone) AS tb2,
         date_trunc(f.field, s.ts, s.zone) AS dt
    FROM samples s
         CROSS JOIN (VALUES ('hour'), ('day'), ('week'), ('month')) f(field)
         CROSS JOIN LATERAL analytics.time_buckets(f.field, s.ts, s.ts + interval '1 microsecond', s.zone) b
)
SELECT count(*) FILTER (WHERE tb <> dt AND dt <= ts
                          AND (field <> 'hour'
                               OR (dt AT TIME ZONE zone) - (dt AT TIME ZONE 'UTC')
                                = (ts AT TIME ZONE zone) - (ts AT TIME ZONE 'UTC'))) AS mismatches,
       count(*) FILTER (WHERE NOT (tb <= ts AND ts < te) OR tb <> tb2) AS not_containing,
       count(*) > 200000 AS enough_samples
  FROM checked;
