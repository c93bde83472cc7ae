-- The query functions read only the partitions their period touches
-- (plan-time partition pruning on bound parameters), and the metric
-- aggregates give the same answers in parallel and partitionwise plans.
SET TimeZone = 'UTC';
SET analytics.maintenance_in_worker = off;
-- raw events (the rollups answer the same questions without reading any
-- partition: checked below)
SET analytics.use_rollups = off;
CREATE TEMP TABLE plan_anchor AS SELECT date_trunc('day', now() - interval '5 days') AS d0;

-- 300 plays per hour over 4 days, in a project of its own (28,800 rows)
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT 'tP', d0 + (i % 96) * interval '1 hour' + interval '10 minutes', 'play', 'vp' || (i % 3)
  FROM plan_anchor, generate_series(0, 28799) i;
ANALYZE analytics.events;
SELECT r->'deferred' AS deferred FROM analytics.run_maintenance() r;

CREATE TEMP VIEW part_scans AS
SELECT relname, seq_scan + coalesce(idx_scan, 0) AS scans
  FROM pg_stat_user_tables WHERE schemaname = 'analytics' AND relname LIKE 'events\_%';
SELECT pg_stat_force_next_flush();
CREATE TEMP TABLE scans_before AS SELECT * FROM part_scans;

-- day 2 only: 24 hours x 300 = 7200 plays
SELECT analytics.metric('play', 'count', d0 + interval '2 days', d0 + interval '3 days', project_id => 'tP')
  FROM plan_anchor;
SELECT pg_stat_force_next_flush();
SELECT pg_stat_clear_snapshot();
-- exactly one partition was read: the one of day 2 (the default partition was pruned too)
SELECT a.relname = 'events_p' || to_char(d0 + interval '2 days', 'YYYYMMDD') AS is_day_2, a.scans - b.scans AS scans
  FROM part_scans a JOIN scans_before b USING (relname), plan_anchor
 WHERE a.scans > b.scans;

-- with the rollups (built by the maintenance run above) the same question
-- reads no events partition at all
SET analytics.use_rollups = on;
CREATE TEMP TABLE scans_before_rollups AS SELECT * FROM part_scans;
SELECT analytics.metric('play', 'count', d0 + interval '2 days', d0 + interval '3 days', project_id => 'tP')
  FROM plan_anchor;
SELECT pg_stat_force_next_flush();
SELECT pg_stat_clear_snapshot();
SELECT count(*) AS partitions_read
  FROM part_scans a JOIN scans_before_rollups b USING (relname) WHERE a.scans > b.scans;
SET analytics.use_rollups = off;

CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; plan text := '';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP plan := plan || line || E'\n'; END LOOP;
  RETURN plan;
END $$;
-- the same query as metric() runs, its parameters bound to the period:
-- the plan names one partition
SELECT (SELECT count(*) FROM regexp_matches(plan, 'Scan on events_p\d{8}', 'g')) AS partitions_in_plan,
       plan ~ 'events_default' AS default_in_plan
  FROM plan_anchor,
       pg_temp.plan_of(format($q$SELECT analytics.stats_metric(analytics.event_stats(e.event_type, e.value), 'play', NULL, NULL)
                                 FROM analytics.events e WHERE e.emitted_at >= %L AND e.emitted_at < %L
                                 AND e.event_type = 'play' AND e.project_id = ALL('{tP}')$q$,
                              d0 + interval '2 days', d0 + interval '3 days')) plan;

-- parallel and partitionwise plans give the same answers
CREATE TEMP TABLE serial_answers AS
SELECT (SELECT analytics.metric('play', 'count', d0, d0 + interval '4 days', project_id => 'tP') FROM plan_anchor) AS plays,
       (SELECT array_agg(array[dimension_value, metric_value::text] ORDER BY dimension_value)
          FROM plan_anchor, analytics.breakdown('play', 'media-id', d0, d0 + interval '4 days', project_id => 'tP')) AS by_media;
SELECT * FROM serial_answers;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET enable_partitionwise_aggregate = on;
-- a parallel plan: partial aggregates in workers, combined by the leader
SELECT plan ~ 'Gather' AS gather, plan ~ 'Partial Aggregate' AS partial, plan ~ 'Finalize Aggregate' AS finalize
  FROM pg_temp.plan_of($q$SELECT analytics.event_stats(e.event_type, e.value) FROM analytics.events e
                          WHERE e.project_id = 'tP' AND e.event_type = 'play'$q$) plan;
-- a partitionwise plan: one partial aggregate per partition
SELECT (SELECT count(*) FROM regexp_matches(plan, 'Partial (Hash|Group)?Aggregate', 'g')) > 1 AS partitionwise,
       plan ~ 'Finalize' AS finalize
  FROM pg_temp.plan_of($q$SELECT e.media_id, analytics.event_stats(e.event_type, e.value) FROM analytics.events e
                          WHERE e.project_id = 'tP' AND e.event_type = 'play' GROUP BY 1$q$) plan;
SELECT (SELECT analytics.metric('play', 'count', d0, d0 + interval '4 days', project_id => 'tP') FROM plan_anchor) = plays AS same_plays,
       (SELECT array_agg(array[dimension_value, metric_value::text] ORDER BY dimension_value)
          FROM plan_anchor, analytics.breakdown('play', 'media-id', d0, d0 + interval '4 days', project_id => 'tP')) = by_media AS same_breakdown
  FROM serial_answers;
RESET ALL;
