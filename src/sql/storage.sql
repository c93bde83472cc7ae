-- analytics: storage, the table access method of the partitions of
-- analytics.events (README: "Derived data: rollups")

--
-- Derived data: per UTC hour and per UTC day, per project and per value of
-- one dimension, the event_stats array of the events (see event_stats:
-- counts per event type, view thresholds, sums). dim: 0 none, 1 media
-- (value = media_id, media_type set), 2 media-type, 3 continent, 4 country,
-- 5 device-type, 6 operating-system, 7 browser, 8 referrer; value NULL when
-- the event's value is NULL ("unknown" in breakdowns).
--
-- Exactness: every partition of analytics.events uses the table access
-- method analytics_heap (the heap, plus a note of the (project, hour) each
-- inserted/updated/deleted row belongs to), and each writing transaction
-- adds those hours to analytics.rollup_pending when it commits. Queries read
-- rollup rows only for hours without a pending mark and raw events for the
-- rest (src/rollup.c explains why this is exact and immediate).
-- analytics._rollup_refresh(), run by maintenance, consumes the marks.
--
CREATE OR REPLACE FUNCTION @extschema@._heap_handler(internal)
RETURNS table_am_handler
AS 'MODULE_PATHNAME', 'analytics_heap_handler'
LANGUAGE C STRICT;

COMMENT ON FUNCTION @extschema@._heap_handler(internal) IS
    'table access method handler of analytics_heap: the heap, noting which hours each write touches';

CREATE ACCESS METHOD analytics_heap TYPE TABLE HANDLER @extschema@._heap_handler;
COMMENT ON ACCESS METHOD analytics_heap IS
    'heap storage for analytics.events partitions that marks the hours it writes in analytics.rollup_pending';
