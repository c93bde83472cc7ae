-- The BRIN index on analytics.events: rows inserted into block ranges that
-- are not summarized, that are summarized, and appended to a summarized
-- partial range are all found through it (src/brinskip.c skips the range
-- map lookup only for rows of one insertion batch in a range it found not
-- summarized). Each count through the index is compared with a sequential
-- scan.
SET TimeZone = 'UTC';
SET analytics.maintenance_in_worker = off;
-- yesterday 00:00 UTC: every row in one partition
CREATE TEMP TABLE bt AS SELECT date_trunc('day', now()) - interval '1 day' AS t0;
CREATE FUNCTION pg_temp.counts(lo_h int, hi_h int) RETURNS TABLE (via_brin bigint, via_seqscan bigint, brin_used boolean)
LANGUAGE plpgsql AS $$
DECLARE lo timestamptz; hi timestamptz; plan text;
BEGIN
  SELECT t0 + lo_h * interval '1 hour', t0 + hi_h * interval '1 hour' INTO lo, hi FROM bt;
  SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off;
  brin_used := true;
  FOR plan IN EXECUTE 'EXPLAIN (COSTS OFF) SELECT count(*) FROM analytics.events WHERE project_id = ''brin'' AND emitted_at >= $1 AND emitted_at < $2' USING lo, hi LOOP
    IF plan LIKE '%Seq Scan on events%' THEN brin_used := false; END IF;
  END LOOP;
  SELECT count(*) INTO via_brin FROM analytics.events WHERE project_id = 'brin' AND emitted_at >= lo AND emitted_at < hi;
  SET LOCAL enable_seqscan = on; SET LOCAL enable_bitmapscan = off;
  SELECT count(*) INTO via_seqscan FROM analytics.events WHERE project_id = 'brin' AND emitted_at >= lo AND emitted_at < hi;
  RETURN NEXT;
END $$;
-- the partition's BRIN index
CREATE FUNCTION pg_temp.brin_index() RETURNS regclass LANGUAGE sql AS $$
  SELECT i.indexrelid::regclass FROM pg_index i, pg_class c, pg_am a
   WHERE i.indrelid = (SELECT e.tableoid FROM analytics.events e WHERE e.project_id = 'brin' LIMIT 1)
     AND c.oid = i.indexrelid AND a.oid = c.relam AND a.amname = 'brin' $$;

-- the COPY file: a name of this run's own (concurrent runs on one machine
-- don't mix)
SELECT format('/tmp/analytics_brin_insert_%s_%s.copy', pg_backend_pid(), substr(md5(random()::text), 1, 8)) AS copyfile \gset
-- 1. 20,000 rows by COPY (batches of inserts), hours 0..9, no range summarized
COPY (SELECT 'brin', t0 + (i % 10) * interval '1 hour' + (i / 10) * interval '100 ms', 'play', 'b' || (i % 7)
        FROM bt, generate_series(0, 19999) i) TO :'copyfile';
COPY analytics.events (project_id, emitted_at, event_type, media_id) FROM :'copyfile';
SELECT * FROM pg_temp.counts(0, 10);
SELECT * FROM pg_temp.counts(3, 4);
-- 2. summarize every range (also the last, partial one), then more rows
-- in hours 12..13 by COPY and one by one: they land in the summarized
-- partial range first (its summary must widen), then in new ranges
SELECT pg_temp.brin_index() IS NOT NULL AS has_brin,
       brin_summarize_new_values(pg_temp.brin_index()) > 0 AS summarized;
COPY (SELECT 'brin', t0 + interval '12 hours' + i * interval '1 second', 'play', 'c'
        FROM bt, generate_series(0, 2999) i) TO :'copyfile';
COPY analytics.events (project_id, emitted_at, event_type, media_id) FROM :'copyfile';
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT 'brin', t0 + interval '13 hours' + i * interval '1 second', 'play', 'd' FROM bt, generate_series(0, 499) i;
SELECT * FROM pg_temp.counts(12, 13);
SELECT * FROM pg_temp.counts(13, 14);
SELECT * FROM pg_temp.counts(0, 14);
-- 3. summarize again, then rows of an old hour (0) appended: found too
SELECT brin_summarize_new_values(pg_temp.brin_index()) >= 0 AS summarized_again;
INSERT INTO analytics.events (project_id, emitted_at, event_type, media_id)
SELECT 'brin', t0 + i * interval '1 second', 'play', 'e' FROM bt, generate_series(0, 99) i;
SELECT * FROM pg_temp.counts(0, 1);
SELECT * FROM pg_temp.counts(0, 14);
DELETE FROM analytics.events WHERE project_id = 'brin';
SELECT 'rm -f ' || quote_literal(:'copyfile') AS rm_copyfile \gset
CREATE TEMP TABLE brin_rm (line text);
COPY brin_rm FROM PROGRAM :'rm_copyfile';
