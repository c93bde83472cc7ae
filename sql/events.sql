-- Inserts at any timestamp succeed and lose nothing; maintenance creates
-- partitions ahead and moves strays out of the default partition.
SET TimeZone = 'UTC';

-- before the first maintenance run, everything lands in the default partition
INSERT INTO analytics.events (emitted_at, event_type, value, media_id)
VALUES (now(), 'impression', 420, 'vi1'),
       (now(), 'play', NULL, 'vi1'),
       (now() - interval '2 days', 'play', NULL, 'vi1'),
       (now() + interval '3 days', 'play', NULL, 'vi2'),
       ('2999-06-01 12:00:00+00', 'play', NULL, 'vi2'),      -- far future
       ('1999-01-01 12:00:00+00', 'play', NULL, 'vi3'),      -- far past: expired
       ('1999-01-01 13:00:00+00', 'end', NULL, 'vi3');
COPY analytics.events (project_id, emitted_at, event_type, value, media_id, media_type, session_id,
                       viewer_id, referrer, continent, country, device_type, operating_system, browser) FROM stdin;
p1	2999-01-01 00:00:00+00	watch	12.5	li1	live-stream	8a1d5c2e-5d7a-4c53-9a3a-1c1b2d3e4f50	42	https://example.org/	EU	FR	phone	android	chrome
p1	2999-01-01 00:00:10+00	view	3	li1	live-stream	8a1d5c2e-5d7a-4c53-9a3a-1c1b2d3e4f50	42		EU	FR	phone	android	chrome
\.
SELECT count(*) AS rows, count(*) FILTER (WHERE tableoid = 'analytics.events_default'::regclass) AS in_default
  FROM analytics.events;

-- closed sets and checks reject bad values, naming the column or type and the value
INSERT INTO analytics.events (emitted_at, event_type, media_id) VALUES (now(), 'clap', 'vi1');
INSERT INTO analytics.events (emitted_at, event_type, media_id, media_type) VALUES (now(), 'play', 'vi1', 'audio');
INSERT INTO analytics.events (emitted_at, event_type, media_id, device_type) VALUES (now(), 'play', 'vi1', 'fridge');
INSERT INTO analytics.events (emitted_at, event_type, media_id, continent) VALUES (now(), 'play', 'vi1', 'XX');
INSERT INTO analytics.events (emitted_at, event_type, media_id, country) VALUES ('2999-01-01', 'play', 'vi1', 'fr');
INSERT INTO analytics.events (emitted_at, event_type, media_id, value) VALUES ('2999-01-01', 'watch', 'vi1', -1);
INSERT INTO analytics.events (emitted_at, event_type, media_id) VALUES ('infinity', 'play', 'vi1');
COPY analytics.events (emitted_at, event_type, media_id) FROM stdin;
2026-01-01 00:00:00+00	bogus	vi1
\.
SELECT count(*) AS rows FROM analytics.events;

-- first maintenance run, inside this transaction (deterministic here)
SET analytics.maintenance_in_worker = off;
CREATE TEMP TABLE r1 AS SELECT analytics.run_maintenance() AS r;
SELECT r->>'mode' AS mode,
       r->'rows_moved' AS moved,          -- today x2, today-2, today+3, 2999-06-01, 2999-01-01 x2 = 7
       r->'rows_discarded' AS discarded,  -- the two 1999 rows
       r->'plays_archived' AS archived,   -- one play among them
       jsonb_array_length(r->'partitions_created') AS created,  -- today..today+7 (8), today-2, 2999-06-01, 2999-01-01
       r->'partitions_dropped' AS dropped,
       r->'deferred' AS deferred
  FROM r1;
-- names follow the day, and every partition holds exactly its UTC day
SELECT (SELECT r->'partitions_created' FROM r1) @>
       jsonb_build_array('events_p' || to_char(now(), 'YYYYMMDD'),
                         'events_p' || to_char(now() + interval '7 days', 'YYYYMMDD'),
                         'events_p29990601', 'events_p29990101') AS names_ok;
SELECT count(*) AS partitions,
       bool_and(to_ts - from_ts = interval '1 day') AS all_one_day,
       bool_and(partition::text = 'analytics.events_p' || to_char(from_ts, 'YYYYMMDD')) AS named_by_day
  FROM analytics.partitions() WHERE NOT is_default;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE tableoid = 'analytics.events_default'::regclass) AS in_default,
       bool_and(tableoid::regclass::text = 'analytics.events_p' || to_char(emitted_at, 'YYYYMMDD')) AS in_their_day
  FROM analytics.events;
SELECT media_id, plays FROM analytics.play_totals ORDER BY 1;

-- a second run has nothing to do
SELECT r->'rows_moved' AS moved, r->'partitions_created' AS created, r->'partitions_dropped' AS dropped
  FROM analytics.run_maintenance() r;

-- yesterday has no partition (created ahead only from today): a stray again
INSERT INTO analytics.events (emitted_at, event_type, media_id) VALUES (now() - interval '1 day', 'start', 'vi1');
SELECT tableoid::regclass FROM analytics.events WHERE event_type = 'start';
SELECT r->'rows_moved' AS moved, r->'partitions_created' = jsonb_build_array('events_p' || to_char(now() - interval '1 day', 'YYYYMMDD')) AS created_yesterday
  FROM analytics.run_maintenance() r;
SELECT tableoid::regclass::text = 'analytics.events_p' || to_char(now() - interval '1 day', 'YYYYMMDD') AS moved_home
  FROM analytics.events WHERE event_type = 'start';

-- the same through the background worker (commits each step)
RESET analytics.maintenance_in_worker;
INSERT INTO analytics.events (emitted_at, event_type, media_id) VALUES ('2999-06-02 00:00:00+00', 'end', 'vi2');
SELECT r->>'mode' AS mode, r->'rows_moved' AS moved, r->'partitions_created' AS created
  FROM analytics.run_maintenance() r;
SELECT count(*) AS rows, count(*) FILTER (WHERE tableoid = 'analytics.events_default'::regclass) AS in_default
  FROM analytics.events;

-- a watch event covers at most an hour
INSERT INTO analytics.events (emitted_at, event_type, media_id, value) VALUES ('2999-01-01', 'watch', 'vi1', 3601);
INSERT INTO analytics.events (emitted_at, event_type, media_id, value) VALUES ('2999-01-01', 'impression', 'vi1', 3601);
SELECT count(*) AS rows FROM analytics.events WHERE emitted_at = '2999-01-01';
