-- Expired partitions are dropped, chosen by their real bounds (relpartbound),
-- never by their names, and play totals are identical before and after.
SET TimeZone = 'UTC';

-- lifetime plays per media = archived totals + plays in live partitions
CREATE TEMP VIEW play_total AS
SELECT media_id, sum(n)::bigint AS total
  FROM (SELECT media_id, plays AS n FROM analytics.play_totals
        UNION ALL
        SELECT media_id, count(*) FROM analytics.events WHERE event_type = 'play' GROUP BY 1) s
 GROUP BY 1;

-- two old partitions made by hand: a day partition whose name lies about its
-- day, and a week-long partition with a name that says nothing
CREATE TABLE analytics.events_p20991231 PARTITION OF analytics.events
  FOR VALUES FROM (date_trunc('day', now() - interval '20 days')) TO (date_trunc('day', now() - interval '19 days')) USING analytics_heap;
CREATE TABLE analytics.events_old_week PARTITION OF analytics.events
  FOR VALUES FROM (date_trunc('day', now() - interval '30 days')) TO (date_trunc('day', now() - interval '23 days')) USING analytics_heap;
-- a partition must use analytics_heap (the rollups' change tracking)
CREATE TABLE analytics.events_plain_heap PARTITION OF analytics.events
  FOR VALUES FROM ('1990-01-01') TO ('1990-01-02');
INSERT INTO analytics.events (emitted_at, event_type, media_id)
SELECT date_trunc('day', now() - interval '20 days') + interval '1 hour', 'play', 'vi1' FROM generate_series(1, 3);
INSERT INTO analytics.events (emitted_at, event_type, media_id, media_type)
VALUES (date_trunc('day', now() - interval '30 days') + interval '2 hours', 'play', 'vi2', 'video'),
       (date_trunc('day', now() - interval '25 days'), 'play', 'vi2', 'video'),
       (date_trunc('day', now() - interval '25 days'), 'impression', 'vi2', 'video'),
       (date_trunc('day', now() - interval '24 days'), 'play', 'li9', 'live-stream');
-- and a recent day that stays
INSERT INTO analytics.events (emitted_at, event_type, media_id)
VALUES (now() - interval '6 days', 'play', 'vi1');

-- vi1: 2 (events test) + 3 + 1 = 6, vi2: 2 + 2 = 4, vi3: 1 archived, li9: 1
SELECT * FROM play_total ORDER BY media_id;
CREATE TEMP TABLE before AS SELECT * FROM play_total;

-- with the default 30 days nothing is old enough; the row 6 days ago found
-- no partition and is moved into a new one
SELECT r->'partitions_dropped' AS dropped, r->'rows_moved' AS moved FROM analytics.run_maintenance() r;

SELECT analytics.set_retention('7 days');
SELECT r->'partitions_dropped' AS dropped,   -- oldest first
       r->'plays_archived' AS archived,      -- 3 + 2 + 1
       r->'deferred' AS deferred,
       (r->>'max_parent_lock_ms')::float8 >= 0 AS lock_measured
  FROM analytics.run_maintenance() r;
SELECT to_regclass('analytics.events_p20991231') AS misnamed, to_regclass('analytics.events_old_week') AS week;

-- totals identical, now partly from the archive
SELECT * FROM play_total ORDER BY media_id;
SELECT count(*) AS differences FROM (TABLE before EXCEPT TABLE play_total) d;
SELECT project_id, media_id, media_type, plays FROM analytics.play_totals ORDER BY 2, 3;

-- no partition older than the window is left, the recent ones are
SELECT count(*) FILTER (WHERE to_ts <= now() - analytics.retention()) AS expired_left,
       count(*) FILTER (WHERE from_ts <= now() - interval '6 days' AND to_ts > now() - interval '6 days') AS six_days_ago
  FROM analytics.partitions() WHERE NOT is_default;

-- a drop does not change totals when run again
SELECT r->'partitions_dropped' AS dropped, r->'plays_archived' AS archived FROM analytics.run_maintenance() r;
SELECT count(*) AS differences FROM (TABLE before EXCEPT TABLE play_total) d;

SELECT analytics.set_retention('30 days');
