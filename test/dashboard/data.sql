-- test/dashboard_test.sh: a small dataset with known answers, in the last
-- 24 hours (T = the start of the hour 3 hours ago).
-- project p1, sessions 1-10, each on one medium with one country, device
-- type and browser:
--   s1-s3  vi-a FR computer firefox      s4  vi-a DE computer chrome
--   s5     vi-b DE phone chrome          s6  vi-b US phone    safari
--   s7-s8  vi-a GB tablet edge           s9-s10 vi-c GB tablet edge
--   impressions: s1-s10, load 100, 200, ..., 1000 ms   -> 10, average 550 ms
--   plays: s1-s6 at T + 10 min + n s                   -> 6, play rate 0.6
--   watch: s1-s6 60 s each, ending at T + 20 min       -> 360 s, peak 6 viewers
--   views (5 s): s1-s4                                 -> 4
-- project p2, session 11: one impression (500 ms) and one play, vi-z GB.
-- So for p1: plays by country FR 3, DE 2, US 1; by device type computer 4,
-- phone 2; by browser firefox 3, chrome 2, safari 1; media vi-a 4 plays,
-- 6 impressions (rate 0.667), 240 s, 4 views; vi-b 2 plays, rate 1, 120 s.
-- All projects: 7 plays.
CREATE TEMP TABLE s (n int, project_id text, media_id text, country text, device_type analytics.device_type, browser text);
INSERT INTO s VALUES
  (1, 'p1', 'vi-a', 'FR', 'computer', 'firefox'), (2, 'p1', 'vi-a', 'FR', 'computer', 'firefox'),
  (3, 'p1', 'vi-a', 'FR', 'computer', 'firefox'), (4, 'p1', 'vi-a', 'DE', 'computer', 'chrome'),
  (5, 'p1', 'vi-b', 'DE', 'phone', 'chrome'), (6, 'p1', 'vi-b', 'US', 'phone', 'safari'),
  (7, 'p1', 'vi-a', 'GB', 'tablet', 'edge'), (8, 'p1', 'vi-a', 'GB', 'tablet', 'edge'),
  (9, 'p1', 'vi-c', 'GB', 'tablet', 'edge'), (10, 'p1', 'vi-c', 'GB', 'tablet', 'edge'),
  (11, 'p2', 'vi-z', 'GB', 'computer', 'firefox');
CREATE TEMP TABLE e (n int, at interval, event_type analytics.event_type, value double precision);
INSERT INTO e
SELECT n, n * interval '1 second', 'impression'::analytics.event_type, CASE WHEN n <= 10 THEN 100 * n ELSE 500 END FROM s
UNION ALL SELECT n, interval '10 min' + n * interval '1 second', 'play', NULL FROM s WHERE n <= 6 OR n = 11
UNION ALL SELECT n, interval '20 min', 'watch', 60 FROM s WHERE n <= 6
UNION ALL SELECT n, interval '20 min', 'view', 5 FROM s WHERE n <= 4;
INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, session_id,
                              continent, country, device_type, operating_system, browser)
SELECT s.project_id, date_trunc('hour', now()) - interval '3 hours' + e.at, e.event_type, e.value, s.media_id,
       ('00000000-0000-4000-8000-' || lpad(s.n::text, 12, '0'))::uuid,
       CASE s.country WHEN 'US' THEN 'NA' ELSE 'EU' END::analytics.continent, s.country, s.device_type,
       CASE s.device_type WHEN 'phone' THEN 'android' ELSE 'linux' END, s.browser
  FROM e JOIN s USING (n);
SELECT count(*) AS events FROM analytics.events;
