-- analytics: rollups, their refresh and the cover of a period (README: "Derived data: rollups")

-- the catalogue's rollup facts (src/catalog.h, src/catalogsql.c): the
-- dimension numbers, the block sizes and origins; the SQL below writes none
-- of them as a literal (called with constants, each call is folded into a
-- constant when a statement is planned)
CREATE OR REPLACE FUNCTION @extschema@._dims()
RETURNS smallint[]
AS 'MODULE_PATHNAME', 'analytics_catalog_dims'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION @extschema@._dim(name text)
RETURNS smallint
AS 'MODULE_PATHNAME', 'analytics_catalog_dim'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@._dim(text) IS
    'the number of a rollup dimension: its breakdown name (media-id, country, ...) or project';

CREATE OR REPLACE FUNCTION @extschema@._block_size(level text)
RETURNS interval
AS 'MODULE_PATHNAME', 'analytics_catalog_block_size'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OR REPLACE FUNCTION @extschema@._block_origin(level text)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'analytics_catalog_block_origin'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@._block_origin(text) IS
    'where the blocks of a level (minute, 5min, hour, day, week, w4) start; _block_size: their length';

-- the hours of this transaction not yet in rollup_pending (written at commit)
CREATE OR REPLACE FUNCTION @extschema@._rollup_own_pending()
RETURNS timestamptz[]
AS 'MODULE_PATHNAME', 'analytics_rollup_own_pending'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

-- Deletes the marks of hours hrs (of project pid, or of every project)
-- that a new snapshot sees, and keeps that snapshot for the refresh's reads
-- of the events (src/refreshdelta.c: the rows of an hour that only gained
-- rows are added to its rollup rows); returns the hours that had marks
CREATE OR REPLACE FUNCTION @extschema@._rollup_consume(hrs timestamptz[], pid text)
RETURNS timestamptz[]
AS 'MODULE_PATHNAME', 'analytics_rollup_consume'
LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;

REVOKE ALL ON FUNCTION @extschema@._rollup_consume(timestamptz[], text) FROM PUBLIC;

-- the oldest pending hours, at most max_hours, in one transaction
CREATE OR REPLACE FUNCTION @extschema@._rollup_refresh(max_hours integer DEFAULT 168)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  hrs timestamptz[];
BEGIN
  PERFORM pg_catalog.pg_advisory_xact_lock(6385249, 3);
  SELECT pg_catalog.array_agg(x.h ORDER BY x.h) INTO hrs
    FROM (SELECT DISTINCT p.hour AS h FROM @extschema@.rollup_pending p ORDER BY 1 LIMIT max_hours) x;
  IF hrs IS NULL THEN
    RETURN 0;
  END IF;
  RETURN @extschema@._rollup_refresh_hours(hrs);
END $$;

COMMENT ON FUNCTION @extschema@._rollup_refresh(integer) IS
    're-aggregate the oldest pending hours of analytics.events into the rollups (run by maintenance)';

REVOKE ALL ON FUNCTION @extschema@._rollup_refresh(integer) FROM PUBLIC;

-- PL/pgSQL, not SQL: Citus cannot plan a distributed statement with the
-- parameters of an SQL-language function (README "Scaling out (Citus)").
-- Each family of rollups (the one-dimension rollups, the cube, the
-- referrer cube, the device cube) loses its hour and day rows in [lo, hi);
-- a week or 28-day block partly dropped keeps the sum of its remaining days
-- (weeks). The tables and columns come from the fixed list below.
CREATE OR REPLACE FUNCTION @extschema@._rollup_forget(lo timestamptz, hi timestamptz)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  fam text;     -- the family: its tables are <fam>_hour, _day, _week, _w4
  keys text;    -- its grouping columns besides project_id and bucket
  cond text;    -- its rows in those tables
  lvl text;
  finer text;
BEGIN
DELETE FROM @extschema@.rollup_5min r WHERE r.bucket >= lo AND r.bucket < hi;
FOR fam, keys, cond IN VALUES
    ('rollup', 'dim, value, media_type', 'r.dim = ANY (@extschema@._dims())'),
    ('rollup_cube', 'media_type, continent, country, device_type, operating_system, browser', 'true'),
    ('rollup_refcube', 'referrer, media_type, continent, country, device_type, operating_system, browser', 'true'),
    ('rollup_devcube', 'media_type, device_type, operating_system, browser', 'true') LOOP
  EXECUTE format('DELETE FROM @extschema@.%I r WHERE %s AND r.bucket >= $1 AND r.bucket < $2', fam || '_hour', cond) USING lo, hi;
  EXECUTE format('DELETE FROM @extschema@.%I r WHERE %s AND r.bucket >= $1 AND r.bucket < $2', fam || '_day', cond) USING lo, hi;
  FOR lvl, finer IN VALUES ('week', 'day'), ('w4', 'week') LOOP
    EXECUTE format('DELETE FROM @extschema@.%I r WHERE %s AND r.bucket > $1 - @extschema@._block_size(%L) AND r.bucket < $2',
                   fam || '_' || lvl, cond, lvl) USING lo, hi;
    EXECUTE format($f$INSERT INTO @extschema@.%1$I (project_id, bucket, %2$s, stats)
SELECT r.project_id, pg_catalog.date_bin(@extschema@._block_size(%3$L), r.bucket, @extschema@._block_origin(%3$L)), %4$s,
       @extschema@.event_stats_merge(r.stats)
  FROM @extschema@.%5$I r
 WHERE %6$s AND r.bucket > $1 - 2 * @extschema@._block_size(%3$L) AND r.bucket < $2 + @extschema@._block_size(%3$L)
   AND pg_catalog.date_bin(@extschema@._block_size(%3$L), r.bucket, @extschema@._block_origin(%3$L)) > $1 - @extschema@._block_size(%3$L)
   AND pg_catalog.date_bin(@extschema@._block_size(%3$L), r.bucket, @extschema@._block_origin(%3$L)) < $2
 GROUP BY r.project_id, 2, %4$s$f$,
                   fam || '_' || lvl, keys, lvl, pg_catalog.regexp_replace(keys, '(\w+)', 'r.\1', 'g'), fam || '_' || finer, cond)
      USING lo, hi;
  END LOOP;
END LOOP;
-- the viewer ids (hours and days only)
DELETE FROM @extschema@.rollup_viewers_hour r WHERE r.bucket >= lo AND r.bucket < hi;
DELETE FROM @extschema@.rollup_viewers_day r WHERE r.bucket >= lo AND r.bucket < hi;
DELETE FROM @extschema@.rollup_pending p WHERE p.hour >= lo AND p.hour < hi;
DELETE FROM @extschema@.rollup_ccv c WHERE c.minute >= lo AND c.minute < hi;
DELETE FROM @extschema@.rollup_watch_max w WHERE w.hour >= lo AND w.hour < hi;
END $$;

REVOKE ALL ON FUNCTION @extschema@._rollup_forget(timestamptz, timestamptz) FROM PUBLIC;

-- the hours in [lo, hi] that rollup rows do not cover yet: marked pending
-- (committed), or written by this transaction (marked at its commit).
-- PL/pgSQL: its statement is planned once per session (an SQL-language
-- function that is not inlined is parsed and planned again at every call
-- of the statement that calls it: a third of a one-project question's
-- time), and Citus can plan it on a distributed layout (it cannot plan a
-- distributed statement with the parameters of an SQL-language function;
-- README "Scaling out (Citus)")
CREATE OR REPLACE FUNCTION @extschema@._pending_hours(lo timestamptz, hi timestamptz)
RETURNS timestamptz[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT coalesce(pg_catalog.array_agg(DISTINCT h ORDER BY h), '{}')
            FROM (SELECT x.hour AS h FROM @extschema@.rollup_pending x WHERE x.hour >= lo AND x.hour <= hi
                  UNION ALL
                  SELECT h FROM unnest(@extschema@._rollup_own_pending()) h WHERE h >= lo AND h <= hi) y);
END $$;

CREATE OR REPLACE FUNCTION @extschema@._rollup_cover(pf timestamptz, pt timestamptz, max_level text, fine boolean, dim smallint,
                                          pending timestamptz[], data_lo timestamptz, data_hi timestamptz)
RETURNS @extschema@._cover
AS 'MODULE_PATHNAME', 'analytics_rollup_cover'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@._rollup_cover(timestamptz, timestamptz, text, boolean, smallint, timestamptz[], timestamptz, timestamptz) IS
    'the pieces of [pf, pt) with blocks up to max_level (hour, day, week, w4); pending hours are read raw; outside [data_lo, data_hi) nothing is read';

-- the cover of [pf, pt) for the rollups as they are now: the pending hours
-- of every block that may be read, and where refreshed rows exist: for one
-- project, to the 5 minutes (its rollup_5min rows: one per 5 minutes with
-- events); else to the hour
CREATE OR REPLACE FUNCTION @extschema@._plan_cover(pf timestamptz, pt timestamptz, max_level text, fine boolean, dim smallint,
                                                   projects text[])
RETURNS @extschema@._cover
AS 'MODULE_PATHNAME', 'analytics_plan_cover'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;

-- the minutes of raw events a cover reads: a question about one project
-- reads the rows of its pieces through one kept plan when they are few
-- minutes (the ends of a period); with more (a pending hour, an hour's end
-- without 5-minute rows) the plan made for the run's values is faster: the
-- generic plan evaluates the parameters' array elements for each raw row
CREATE OR REPLACE FUNCTION @extschema@._cover_raw_minutes(c @extschema@._cover)
RETURNS double precision
AS 'MODULE_PATHNAME', 'analytics_cover_raw_minutes'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The viewer ids of the given hours of the day d (and the day's row) of
-- one project (pid) or of every project (pid NULL), called by
-- _rollup_refresh_scope for each day of its hours, in its transaction and
-- under its rules (below: every statement restricted by (pid IS NULL OR
-- project_id = pid), planned for its values). The hour rows come from the
-- view events of the view durations (the catalogue's thresholds, one
-- column each: src/catalog.c), NULL viewer ids left out (a combination
-- whose ids all are NULL keeps '{}': it shows in a breakdown, with 0; one
-- without a view of a duration has NULL there); the day's rows are the
-- union of its hour rows. _viewers_union hashes the ids (3.7 s for the 2M
-- events of the benchmark; array_agg(DISTINCT ... ORDER BY), one sort per
-- column, took 5.0 s). Rows are written in project order: a
-- question about one project over 30 days reads ~30 runs of pages, not
-- rows spread over the whole table (at 20M events: 22 instead of 36 ms to
-- read the 30k day rows of the largest project). On a single node the
-- hour rows come from the refresh's one pass over the day's events
-- (_rollup_hour_rows: the same rows, in project order) and hour_rows is
-- false: only the day's rows are written here.
CREATE OR REPLACE FUNCTION @extschema@._rollup_refresh_viewers(d timestamptz, hrs timestamptz[], pid text, hour_rows boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
  IF hour_rows THEN
    DELETE FROM @extschema@.rollup_viewers_hour r
     WHERE (pid IS NULL OR r.project_id = pid) AND r.bucket = ANY (hrs) AND r.bucket >= d AND r.bucket < d + @extschema@._block_size('day');
    INSERT INTO @extschema@.rollup_viewers_hour (project_id, bucket, media_type, continent, country, device_type, operating_system, browser,
                                                 viewers_3s, viewers_5s, viewers_10s, viewers_30s)
    SELECT e.project_id, pg_catalog.date_bin(@extschema@._block_size('hour'), e.emitted_at, @extschema@._block_origin('hour')),
           e.media_type, e.continent, e.country, e.device_type, e.operating_system, e.browser,
           @extschema@._viewers_union(ARRAY[e.viewer_id]) FILTER (WHERE e.value = 3),
           @extschema@._viewers_union(ARRAY[e.viewer_id]) FILTER (WHERE e.value = 5),
           @extschema@._viewers_union(ARRAY[e.viewer_id]) FILTER (WHERE e.value = 10),
           @extschema@._viewers_union(ARRAY[e.viewer_id]) FILTER (WHERE e.value = 30)
      FROM @extschema@.events e
     WHERE (pid IS NULL OR e.project_id = pid) AND e.event_type = 'view' AND e.value IN (3, 5, 10, 30)
       AND e.emitted_at >= d AND e.emitted_at < d + @extschema@._block_size('day')
       AND pg_catalog.date_bin(@extschema@._block_size('hour'), e.emitted_at, @extschema@._block_origin('hour')) = ANY (hrs)
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
     ORDER BY 1, 2;
  END IF;
  DELETE FROM @extschema@.rollup_viewers_day r WHERE (pid IS NULL OR r.project_id = pid) AND r.bucket = d;
  INSERT INTO @extschema@.rollup_viewers_day (project_id, bucket, media_type, continent, country, device_type, operating_system, browser,
                                              viewers_3s, viewers_5s, viewers_10s, viewers_30s)
  SELECT r.project_id, d, r.media_type, r.continent, r.country, r.device_type, r.operating_system, r.browser,
         @extschema@._viewers_union(r.viewers_3s), @extschema@._viewers_union(r.viewers_5s),
         @extschema@._viewers_union(r.viewers_10s), @extschema@._viewers_union(r.viewers_30s)
    FROM @extschema@.rollup_viewers_hour r
   WHERE (pid IS NULL OR r.project_id = pid) AND r.bucket >= d AND r.bucket < d + @extschema@._block_size('day')
   GROUP BY r.project_id, r.media_type, r.continent, r.country, r.device_type, r.operating_system, r.browser
   ORDER BY r.project_id;
END $$;

COMMENT ON FUNCTION @extschema@._rollup_refresh_viewers(timestamptz, timestamptz[], text, boolean) IS
    'rebuilds the viewer ids of the given hours of day d (unless hour_rows is false: the caller wrote them) and the day''s row, for one project (pid) or every project (pid NULL)';

REVOKE ALL ON FUNCTION @extschema@._rollup_refresh_viewers(timestamptz, timestamptz[], text, boolean) FROM PUBLIC;

-- The rollup refresh's reads of raw events on a single node (src/refresh.c):
-- the hour-level rows of the given hours (of one day) from one pass over
-- their events, and the per-minute concurrent viewers of the given hours
-- from one read of the watch events that overlap them. Both read
-- analytics.events of one project (pid) or of every project (pid NULL).
CREATE OR REPLACE FUNCTION @extschema@._rollup_hour_rows(hrs timestamptz[], pid text, day_rows boolean)
RETURNS TABLE (kind smallint, project_id text, bucket timestamptz, dim smallint, value text,
               media_type @extschema@.media_type, continent @extschema@.continent, country text,
               device_type @extschema@.device_type, operating_system text, browser text,
               stats double precision[], max_value double precision,
               viewers_3s bigint[], viewers_5s bigint[], viewers_10s bigint[], viewers_30s bigint[])
AS 'MODULE_PATHNAME', 'analytics_rollup_hour_rows'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@._rollup_hour_rows(timestamptz[], text, boolean) IS
    'the hour-level rollup rows of the events of hours hrs, from one pass: kind 0 rollup_5min, 1 rollup_hour, 3 rollup_cube_hour, 5 rollup_watch_max, 6 rollup_refcube_hour, 7 rollup_viewers_hour, 10 rollup_devcube_hour; with day_rows (hrs: every hour of one day) the day''s rows too: 2 rollup_day, 4 rollup_cube_day, 8 rollup_refcube_day, 9 rollup_viewers_day, 11 rollup_devcube_day; day_rows NULL: both levels'' rows of just the rows added since the hours'' last refresh (hours of one day that only gained rows), to add to';

REVOKE ALL ON FUNCTION @extschema@._rollup_hour_rows(timestamptz[], text, boolean) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._rollup_ccv_rows(hrs timestamptz[], pid text)
RETURNS TABLE (project_id text, media_id text, minute timestamptz, peak_sessions integer,
               secs_sessions double precision, peak_viewers integer, secs_viewers double precision)
AS 'MODULE_PATHNAME', 'analytics_rollup_ccv_rows'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@._rollup_ccv_rows(timestamptz[], text) IS
    'the rollup_ccv rows of hours hrs (from the first minute a new watch event covers, whose rows it deletes): concurrent viewers per minute touched by a watch event, per project and per live stream';

REVOKE ALL ON FUNCTION @extschema@._rollup_ccv_rows(timestamptz[], text) FROM PUBLIC;

-- The hours of hrs (already consumed) that the refresh adds to: they only
-- gained rows since their last refresh (src/refreshdelta.c). NULL when
-- none, on a distributed layout, and when the refresh's snapshot cannot be
-- shared with its workers.
CREATE OR REPLACE FUNCTION @extschema@._rollup_delta_hours(hrs timestamptz[], pid text)
RETURNS timestamptz[]
AS 'MODULE_PATHNAME', 'analytics_rollup_delta_hours'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@._rollup_delta_hours(timestamptz[], text) IS
    'the hours of hrs that only gained rows since their last refresh (the refresh adds their new rows'' sums); NULL when none';

REVOKE ALL ON FUNCTION @extschema@._rollup_delta_hours(timestamptz[], text) FROM PUBLIC;

-- The refresh of hours dh of day d that only gained rows since their last
-- refresh (_rollup_delta_hours; README "Incremental refresh"): the sums of
-- the rows added (one pass over just those rows, _rollup_hour_rows with
-- day_rows NULL) are added to the hour-level rows and to the day's and the
-- week's one-dimension rows (statistics are counts and sums; viewer ids are
-- unions; the longest watch event a maximum; the week's media-id rows say
-- which media are live streams in every refreshed hour: src/ccvrollup.c).
-- Each table's rows of the keys added to are deleted and written again
-- merged with the new sums, new keys inserted, in one statement. The day's
-- and the week's cube rows are summed again from their finer rows, but
-- only once the day holds no pending hour (below). So a refresh under
-- constant ingest costs what was added and the hour rows it touches, not
-- the re-summing of a day's hours and a week's days. Called for one project
-- (pid) or every project (NULL) by _rollup_refresh_days (part 3), in the
-- backend only.
-- Keys are matched by hash on every key column (nullable ones by (IS NULL,
-- coalesce) pairs): the planner, which cannot estimate the pass's rows of
-- each kind, would otherwise pick a nested loop or a merge join on
-- (project, bucket) alone, quadratic in a bucket's rows (a refresh of 2M
-- new events took 108 s that way, 3 billion rows sorted); without them the
-- statements' costs would call for JIT, off.
CREATE OR REPLACE FUNCTION @extschema@._rollup_add_day(dh timestamptz[], pid text, d timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET enable_nestloop = off
SET enable_mergejoin = off
SET jit = off
AS $$
DECLARE
  -- the tables added to (fixed names, never input), the kind of the pass's
  -- rows each takes (src/refresh.c), their level
  tabs text[] := ARRAY['rollup_5min', 'rollup_hour', 'rollup_cube_hour', 'rollup_refcube_hour', 'rollup_devcube_hour',
                       'rollup_watch_max', 'rollup_viewers_hour', 'rollup_day', 'rollup_week'];
  kinds integer[] := ARRAY[0, 1, 3, 6, 10, 5, 7, 2, 2];
  levels text[] := ARRAY['hour', 'hour', 'hour', 'hour', 'hour', 'hour', 'hour', 'day', 'week'];
  w timestamptz := pg_catalog.date_bin(@extschema@._block_size('week'), d, @extschema@._block_origin('week'));
  cube text[] := ARRAY['media_type', 'continent', 'country', 'device_type', 'operating_system', 'browser'];
  nullable text[] := ARRAY['value', 'media_type', 'continent', 'country'];
  t text;
  cols text[];
  merged text[];
  agg text;
  src text[];
  keys text;
  srcs text;
  cond text;
  rng text;
  stmt text := 'WITH g AS MATERIALIZED (SELECT * FROM @extschema@._rollup_hour_rows($1, $4, NULL))';
  main text := NULL;
  k integer;
  c integer;
BEGIN
  FOR k IN 1 .. pg_catalog.array_length(tabs, 1) LOOP
    t := tabs[k];
    -- the table's key columns and what it merges
    IF t IN ('rollup_5min', 'rollup_hour', 'rollup_day', 'rollup_week') THEN
      cols := ARRAY['project_id', 'dim', 'bucket', 'value', 'media_type'];
    ELSIF t LIKE 'rollup\_cube\_%' OR t LIKE 'rollup\_viewers\_%' THEN
      cols := ARRAY['project_id', 'bucket'] || cube;
    ELSIF t LIKE 'rollup\_refcube\_%' THEN
      cols := ARRAY['project_id', 'bucket', 'referrer'] || cube;
    ELSIF t LIKE 'rollup\_devcube\_%' THEN
      cols := ARRAY['project_id', 'bucket', 'media_type', 'device_type', 'operating_system', 'browser'];
    ELSE
      cols := ARRAY['project_id', 'hour'];
    END IF;
    IF t = 'rollup_watch_max' THEN
      merged := ARRAY['max_value'];
      agg := 'pg_catalog.max';
    ELSIF t LIKE 'rollup\_viewers\_%' THEN
      merged := ARRAY['viewers_3s', 'viewers_5s', 'viewers_10s', 'viewers_30s'];
      agg := '@extschema@._viewers_union';
    ELSE
      merged := ARRAY['stats'];
      agg := '@extschema@.event_stats_merge';
    END IF;
    -- the pass's columns for them
    src := ARRAY[]::text[];
    FOREACH keys IN ARRAY cols || merged LOOP
      src := src || CASE
        WHEN keys IN ('bucket', 'hour') THEN CASE WHEN levels[k] = 'week' THEN '$3' ELSE 'g.bucket' END
        WHEN keys = 'referrer' THEN 'g.value'
        WHEN t = 'rollup_5min' AND keys = 'dim' THEN '@extschema@._dim(''project'')'
        WHEN t = 'rollup_5min' AND keys = 'value' THEN 'NULL::text'
        WHEN t = 'rollup_5min' AND keys = 'media_type' THEN 'NULL::@extschema@.media_type'
        ELSE 'g.' || keys END;
    END LOOP;
    -- the rows of the level's buckets, then the keys added to
    rng := CASE WHEN t = 'rollup_5min' THEN 'r.bucket >= $5 AND r.bucket < $6'
                WHEN t = 'rollup_watch_max' THEN 'r.hour = ANY ($1)'
                WHEN levels[k] = 'hour' THEN 'r.bucket = ANY ($1)'
                WHEN levels[k] = 'day' THEN 'r.bucket = $2'
                ELSE 'r.bucket = $3' END
           || CASE WHEN 'dim' = ANY (cols) THEN ' AND r.dim = ANY (@extschema@._dims())' ELSE '' END;
    cond := '';
    FOR c IN 1 .. pg_catalog.array_length(cols, 1) LOOP
      CONTINUE WHEN src[c] = '$3';
      cond := cond || CASE WHEN cols[c] = ANY (nullable)
        THEN pg_catalog.format(' AND (r.%1$I IS NULL) = (%2$s IS NULL) AND coalesce(r.%1$I::text, '''') = coalesce((%2$s)::text, '''')', cols[c], src[c])
        ELSE pg_catalog.format(' AND r.%I = %s', cols[c], src[c]) END;
    END LOOP;
    keys := (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(x), ', ') FROM unnest(cols) x);
    srcs := (SELECT pg_catalog.string_agg(x, ', ') FROM unnest(src) x);
    stmt := stmt || pg_catalog.format(
      ', o%1$s AS (DELETE FROM @extschema@.%2$I r USING g WHERE g.kind = %3$s AND ($4::text IS NULL OR r.project_id = $4) AND %4$s%5$s RETURNING %6$s)',
      k, t, kinds[k], rng, cond, (SELECT pg_catalog.string_agg('r.' || pg_catalog.quote_ident(x), ', ') FROM unnest(cols || merged) x));
    -- written in project order (and dimension), as the whole refresh writes them
    main := pg_catalog.format(
      'INSERT INTO @extschema@.%1$I (%2$s, %3$s) SELECT %2$s, %4$s FROM (SELECT %5$s FROM g WHERE g.kind = %6$s UNION ALL SELECT * FROM o%7$s) x (%2$s, %3$s) GROUP BY %2$s ORDER BY project_id%8$s',
      t, keys, (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(x), ', ') FROM unnest(merged) x),
      (SELECT pg_catalog.string_agg(agg || '(' || pg_catalog.quote_ident(x) || ')', ', ') FROM unnest(merged) x),
      srcs, kinds[k], k, CASE WHEN 'dim' = ANY (cols) THEN ', dim' ELSE '' END);
    IF k < pg_catalog.array_length(tabs, 1) THEN
      stmt := stmt || pg_catalog.format(', i%s AS (%s)', k, main);
    END IF;
  END LOOP;
  EXECUTE stmt || ' ' || main
    USING dh, d, w, pid, dh[1], dh[pg_catalog.array_length(dh, 1)] + @extschema@._block_size('hour');
  -- the cubes' and the viewer ids' rows of the day and the week (many rows:
  -- the referrer cube's grow with the events) are not read by any question
  -- while the day holds a pending hour (the cover reads its hours then): under
  -- constant ingest they are summed again only once the day has no pending
  -- hour left, by the refresh that consumes its last marks, as the 28-day
  -- blocks are (_rollup_refresh_scope)
  IF NOT EXISTS (SELECT 1 FROM @extschema@.rollup_pending p
                  WHERE (pid IS NULL OR p.project_id = pid) AND p.hour >= d AND p.hour < d + @extschema@._block_size('day')) THEN
    PERFORM @extschema@._rollup_refresh_block('day', d, pid, 2);
    PERFORM @extschema@._rollup_refresh_block('day', d, pid, 3);
    PERFORM @extschema@._rollup_refresh_viewers(d, dh, pid, false);
    PERFORM @extschema@._rollup_refresh_block('week', w, pid, 2);
    PERFORM @extschema@._rollup_refresh_block('week', w, pid, 3);
  END IF;
END $$;

COMMENT ON FUNCTION @extschema@._rollup_add_day(timestamptz[], text, timestamptz) IS
    'adds the sums of the rows added to hours dh of day d since their last refresh to their hour, day and week rollup rows, for one project (pid) or every project (NULL) (called by _rollup_refresh_days, part 3)';

REVOKE ALL ON FUNCTION @extschema@._rollup_add_day(timestamptz[], text, timestamptz) FROM PUBLIC;

-- The part of the refresh of hours hrs (already consumed from rollup_pending
-- by _rollup_refresh_scope) that belongs to the days d in [dlo, dhi): the
-- hour and day rows of the hours of those days and their viewer ids (part
-- 1, but for the hours that only gained rows), the concurrent viewers of
-- their minutes (part 2: the hours of hrs and the hours before them, by the
-- day they fall in), or both (part NULL); part 3: the hours that only gained
-- rows (_rollup_delta_hours), their new rows' sums added to their hour, day
-- and week rows (_rollup_add_day). The rows of a day depend on that day's
-- events and hour rows only: the refresh of disjoint days can run in
-- separate transactions at once (_rollup_refresh_parallel); the weeks and
-- 28-day blocks, sums of several days, are _rollup_refresh_scope's.
CREATE OR REPLACE FUNCTION @extschema@._rollup_refresh_days(hrs timestamptz[], pid text, dlo timestamptz, dhi timestamptz, part integer)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
  d timestamptz;
  dh timestamptz[];
  lo timestamptz;
  hi timestamptz;
  bounds timestamptz[];
  dist boolean := @extschema@._distributed();
  whole boolean;
  added timestamptz[];
  allhrs timestamptz[] := hrs;
BEGIN
  -- the hours that only gained rows: part 3 adds their sums
  -- (_rollup_add_day, called by _rollup_refresh_scope in its backend
  -- before any part 1), part 1 leaves them out
  IF part IS NULL OR part IN (1, 3) THEN
    -- (the hours of [dlo, dhi) only: a refresh worker's unit is one day,
    -- and asking about every hour of a bulk load once per unit cost the
    -- 20M build ~40 s)
    added := @extschema@._rollup_delta_hours(ARRAY(SELECT h FROM unnest(hrs) h WHERE h >= dlo AND h < dhi), pid);
  END IF;
  IF part = 3 THEN
    FOR d IN SELECT DISTINCT pg_catalog.date_bin(@extschema@._block_size('day'), x.h, @extschema@._block_origin('day'))
               FROM unnest(added) x(h) WHERE x.h >= dlo AND x.h < dhi ORDER BY 1 LOOP
      PERFORM @extschema@._rollup_add_day(ARRAY(SELECT h FROM unnest(added) h WHERE h >= d AND h < d + @extschema@._block_size('day') ORDER BY 1),
                                          pid, d);
    END LOOP;
    RETURN;
  END IF;
  -- part 1: the hour and day rows and the viewer ids of the day's hours
  IF part IS NULL OR part = 1 THEN
    IF added IS NOT NULL THEN
      hrs := ARRAY(SELECT h FROM unnest(hrs) h WHERE h <> ALL (added));
    END IF;
    DELETE FROM @extschema@.rollup_hour r WHERE (pid IS NULL OR r.project_id = pid) AND r.dim = ANY (@extschema@._dims()) AND r.bucket = ANY (hrs) AND r.bucket >= dlo AND r.bucket < dhi;
    DELETE FROM @extschema@.rollup_watch_max w WHERE (pid IS NULL OR w.project_id = pid) AND w.hour = ANY (hrs) AND w.hour >= dlo AND w.hour < dhi;
    FOR d IN SELECT x.d FROM (SELECT DISTINCT pg_catalog.date_bin(@extschema@._block_size('day'), h, @extschema@._block_origin('day')) AS d FROM unnest(hrs) h) x
              WHERE x.d >= dlo AND x.d < dhi ORDER BY 1 LOOP
      -- one pass over the hours' events: the referrer cube per hour (every
      -- combination of the referrer and the low-cardinality dimensions), media
      -- ids per hour, the whole project per 5 minutes
      DELETE FROM @extschema@.rollup_5min r
       WHERE (pid IS NULL OR r.project_id = pid) AND r.bucket >= d AND r.bucket < d + @extschema@._block_size('day')
         AND pg_catalog.date_bin(@extschema@._block_size('hour'), r.bucket, @extschema@._block_origin('hour')) = ANY (hrs);
      DELETE FROM @extschema@.rollup_cube_hour r WHERE (pid IS NULL OR r.project_id = pid) AND r.bucket = ANY (hrs) AND r.bucket >= d AND r.bucket < d + @extschema@._block_size('day');
      DELETE FROM @extschema@.rollup_refcube_hour r WHERE (pid IS NULL OR r.project_id = pid) AND r.bucket = ANY (hrs) AND r.bucket >= d AND r.bucket < d + @extschema@._block_size('day');
      DELETE FROM @extschema@.rollup_devcube_hour r WHERE (pid IS NULL OR r.project_id = pid) AND r.bucket = ANY (hrs) AND r.bucket >= d AND r.bucket < d + @extschema@._block_size('day');
      IF NOT dist THEN
        DELETE FROM @extschema@.rollup_viewers_hour r
         WHERE (pid IS NULL OR r.project_id = pid) AND r.bucket = ANY (hrs) AND r.bucket >= d AND r.bucket < d + @extschema@._block_size('day');
        -- every hour of the day refreshed (a bulk load): its day rows come
        -- from the same pass, the sums of the hour rows it returns
        whole := (SELECT pg_catalog.count(*) FROM unnest(hrs) h WHERE h >= d AND h < d + @extschema@._block_size('day'))
                 * @extschema@._block_size('hour') = @extschema@._block_size('day');
        IF whole THEN
          DELETE FROM @extschema@.rollup_cube_day r WHERE (pid IS NULL OR r.project_id = pid) AND r.bucket = d;
          DELETE FROM @extschema@.rollup_refcube_day r WHERE (pid IS NULL OR r.project_id = pid) AND r.bucket = d;
          DELETE FROM @extschema@.rollup_devcube_day r WHERE (pid IS NULL OR r.project_id = pid) AND r.bucket = d;
          DELETE FROM @extschema@.rollup_day r WHERE (pid IS NULL OR r.project_id = pid) AND r.dim = ANY (@extschema@._dims()) AND r.bucket = d;
          DELETE FROM @extschema@.rollup_viewers_day r WHERE (pid IS NULL OR r.project_id = pid) AND r.bucket = d;
        END IF;
        -- single node: the hour-level rows of the day's hours (and their
        -- viewer ids) from one pass over their events in C (src/refresh.c),
        -- inserted in bulk
        WITH g AS (
          SELECT * FROM @extschema@._rollup_hour_rows(
            ARRAY(SELECT h FROM unnest(hrs) h WHERE h >= d AND h < d + @extschema@._block_size('day')), pid, whole)),
        fine AS (
          INSERT INTO @extschema@.rollup_5min (project_id, dim, bucket, value, media_type, stats)
          SELECT g.project_id, @extschema@._dim('project'), g.bucket, NULL, NULL, g.stats FROM g WHERE g.kind = 0),
        cube AS (
          INSERT INTO @extschema@.rollup_cube_hour (project_id, bucket, media_type, continent, country, device_type, operating_system, browser, stats)
          SELECT g.project_id, g.bucket, g.media_type, g.continent, g.country, g.device_type, g.operating_system, g.browser, g.stats
            FROM g WHERE g.kind = 3),
        refcube AS (
          INSERT INTO @extschema@.rollup_refcube_hour (project_id, bucket, referrer, media_type, continent, country, device_type, operating_system, browser, stats)
          SELECT g.project_id, g.bucket, g.value, g.media_type, g.continent, g.country, g.device_type, g.operating_system, g.browser, g.stats
            FROM g WHERE g.kind = 6),
        devcube AS (
          INSERT INTO @extschema@.rollup_devcube_hour (project_id, bucket, media_type, device_type, operating_system, browser, stats)
          SELECT g.project_id, g.bucket, g.media_type, g.device_type, g.operating_system, g.browser, g.stats
            FROM g WHERE g.kind = 10),
        wmax AS (
          INSERT INTO @extschema@.rollup_watch_max (project_id, hour, max_value)
          SELECT g.project_id, g.bucket, g.max_value FROM g WHERE g.kind = 5),
        vw AS (
          INSERT INTO @extschema@.rollup_viewers_hour (project_id, bucket, media_type, continent, country, device_type, operating_system, browser,
                                                       viewers_3s, viewers_5s, viewers_10s, viewers_30s)
          SELECT g.project_id, g.bucket, g.media_type, g.continent, g.country, g.device_type, g.operating_system, g.browser,
                 g.viewers_3s, g.viewers_5s, g.viewers_10s, g.viewers_30s
            FROM g WHERE g.kind = 7),
        dd AS (
          INSERT INTO @extschema@.rollup_day (project_id, dim, bucket, value, media_type, stats)
          SELECT g.project_id, g.dim, g.bucket, g.value, g.media_type, g.stats FROM g WHERE g.kind = 2),
        cubed AS (
          INSERT INTO @extschema@.rollup_cube_day (project_id, bucket, media_type, continent, country, device_type, operating_system, browser, stats)
          SELECT g.project_id, g.bucket, g.media_type, g.continent, g.country, g.device_type, g.operating_system, g.browser, g.stats
            FROM g WHERE g.kind = 4),
        refcubed AS (
          INSERT INTO @extschema@.rollup_refcube_day (project_id, bucket, referrer, media_type, continent, country, device_type, operating_system, browser, stats)
          SELECT g.project_id, g.bucket, g.value, g.media_type, g.continent, g.country, g.device_type, g.operating_system, g.browser, g.stats
            FROM g WHERE g.kind = 8),
        devcubed AS (
          INSERT INTO @extschema@.rollup_devcube_day (project_id, bucket, media_type, device_type, operating_system, browser, stats)
          SELECT g.project_id, g.bucket, g.media_type, g.device_type, g.operating_system, g.browser, g.stats
            FROM g WHERE g.kind = 11),
        vwd AS (
          INSERT INTO @extschema@.rollup_viewers_day (project_id, bucket, media_type, continent, country, device_type, operating_system, browser,
                                                      viewers_3s, viewers_5s, viewers_10s, viewers_30s)
          SELECT g.project_id, g.bucket, g.media_type, g.continent, g.country, g.device_type, g.operating_system, g.browser,
                 g.viewers_3s, g.viewers_5s, g.viewers_10s, g.viewers_30s
            FROM g WHERE g.kind = 9)
        INSERT INTO @extschema@.rollup_hour (project_id, dim, bucket, value, media_type, stats)
        SELECT g.project_id, g.dim, g.bucket, g.value, g.media_type, g.stats FROM g WHERE g.kind = 1;
      ELSE
        whole := false;
        -- distributed (Citus): the same rows from SQL, a router query per
        -- project: one pass over the hours' events with GROUPING SETS (the
        -- referrer cube), then the cube's and the referrers' hour rows as sums
        -- of the referrer cube's, the one-dimension hour rows as sums of the
        -- cube's
        WITH g AS (
          SELECT e.project_id,
                 CASE WHEN GROUPING(e.m5) = 0 THEN 0 WHEN GROUPING(e.media_id) = 0 THEN 1 ELSE 3 END AS kind,
                 CASE WHEN GROUPING(e.m5) = 0 THEN e.m5 ELSE e.h END AS bucket,
                 e.media_id, e.referrer, e.media_type, e.continent, e.country, e.device_type, e.operating_system, e.browser,
                 @extschema@.event_stats(e.event_type, e.value) AS stats,
                 max(e.value) FILTER (WHERE e.event_type = 'watch' AND e.value > 0) AS watch_max
            FROM (SELECT x.*, pg_catalog.date_bin(@extschema@._block_size('hour'), x.emitted_at, @extschema@._block_origin('hour')) AS h,
                         pg_catalog.date_bin(@extschema@._block_size('5min'), x.emitted_at, @extschema@._block_origin('5min')) AS m5
                    FROM @extschema@.events x
                   WHERE (pid IS NULL OR x.project_id = pid) AND x.emitted_at >= d AND x.emitted_at < d + @extschema@._block_size('day')
                     AND pg_catalog.date_bin(@extschema@._block_size('hour'), x.emitted_at, @extschema@._block_origin('hour')) = ANY (hrs)) e
           GROUP BY GROUPING SETS (
             (e.project_id, e.m5),
             (e.project_id, e.h, e.media_id, e.media_type),
             (e.project_id, e.h, e.referrer, e.media_type, e.continent, e.country, e.device_type, e.operating_system, e.browser))),
        fine AS (
          INSERT INTO @extschema@.rollup_5min (project_id, dim, bucket, value, media_type, stats)
          SELECT g.project_id, @extschema@._dim('project'), g.bucket, NULL, NULL, g.stats FROM g WHERE g.kind = 0),
        refcube AS (
          INSERT INTO @extschema@.rollup_refcube_hour (project_id, bucket, referrer, media_type, continent, country, device_type, operating_system, browser, stats)
          SELECT g.project_id, g.bucket, g.referrer, g.media_type, g.continent, g.country, g.device_type, g.operating_system, g.browser, g.stats
            FROM g WHERE g.kind = 3),
        -- the longest watch event emitted in each hour (rollup_watch_max)
        wmax AS (
          INSERT INTO @extschema@.rollup_watch_max (project_id, hour, max_value)
          SELECT g.project_id, g.bucket, max(g.watch_max) FROM g WHERE g.kind = 3 AND g.watch_max IS NOT NULL GROUP BY 1, 2)
        INSERT INTO @extschema@.rollup_hour (project_id, dim, bucket, value, media_type, stats)
        SELECT g.project_id, @extschema@._dim('media-id'), g.bucket, g.media_id, g.media_type, g.stats
          FROM g WHERE g.kind = 1;
        -- the cube and the referrers per hour: sums of the hours' referrer cube
        -- rows (fewer rows than their events)
        INSERT INTO @extschema@.rollup_cube_hour (project_id, bucket, media_type, continent, country, device_type, operating_system, browser, stats)
        SELECT c.project_id, c.bucket, c.media_type, c.continent, c.country, c.device_type, c.operating_system, c.browser,
               @extschema@.event_stats_merge(c.stats)
          FROM @extschema@.rollup_refcube_hour c
         WHERE (pid IS NULL OR c.project_id = pid) AND c.bucket = ANY (hrs) AND c.bucket >= d AND c.bucket < d + @extschema@._block_size('day')
         GROUP BY c.project_id, c.bucket, c.media_type, c.continent, c.country, c.device_type, c.operating_system, c.browser;
        -- the device cube per hour: sums of the hours' cube rows
        INSERT INTO @extschema@.rollup_devcube_hour (project_id, bucket, media_type, device_type, operating_system, browser, stats)
        SELECT c.project_id, c.bucket, c.media_type, c.device_type, c.operating_system, c.browser, @extschema@.event_stats_merge(c.stats)
          FROM @extschema@.rollup_cube_hour c
         WHERE (pid IS NULL OR c.project_id = pid) AND c.bucket = ANY (hrs) AND c.bucket >= d AND c.bucket < d + @extschema@._block_size('day')
         GROUP BY c.project_id, c.bucket, c.media_type, c.device_type, c.operating_system, c.browser;
        INSERT INTO @extschema@.rollup_hour (project_id, dim, bucket, value, media_type, stats)
        SELECT c.project_id, @extschema@._dim('referrer'), c.bucket, c.referrer, NULL, @extschema@.event_stats_merge(c.stats)
          FROM @extschema@.rollup_refcube_hour c
         WHERE (pid IS NULL OR c.project_id = pid) AND c.bucket = ANY (hrs) AND c.bucket >= d AND c.bucket < d + @extschema@._block_size('day')
         GROUP BY c.project_id, c.bucket, c.referrer;
        -- the other dimensions and the whole project per hour: sums of the
        -- hours' cube rows (fewer rows than their events)
        INSERT INTO @extschema@.rollup_hour (project_id, dim, bucket, value, media_type, stats)
        SELECT c.project_id,
               CASE WHEN GROUPING(c.media_type) = 0 THEN @extschema@._dim('media-type') WHEN GROUPING(c.continent) = 0 THEN @extschema@._dim('continent')
                    WHEN GROUPING(c.country) = 0 THEN @extschema@._dim('country') WHEN GROUPING(c.device_type) = 0 THEN @extschema@._dim('device-type')
                    WHEN GROUPING(c.operating_system) = 0 THEN @extschema@._dim('operating-system')
                    WHEN GROUPING(c.browser) = 0 THEN @extschema@._dim('browser') ELSE @extschema@._dim('project') END,
               c.bucket,
               CASE WHEN GROUPING(c.media_type) = 0 THEN c.media_type::text WHEN GROUPING(c.continent) = 0 THEN c.continent::text
                    WHEN GROUPING(c.country) = 0 THEN c.country WHEN GROUPING(c.device_type) = 0 THEN c.device_type::text
                    WHEN GROUPING(c.operating_system) = 0 THEN c.operating_system WHEN GROUPING(c.browser) = 0 THEN c.browser END,
               NULL, @extschema@.event_stats_merge(c.stats)
          FROM @extschema@.rollup_cube_hour c
         WHERE (pid IS NULL OR c.project_id = pid) AND c.bucket = ANY (hrs) AND c.bucket >= d AND c.bucket < d + @extschema@._block_size('day')
         GROUP BY GROUPING SETS (
           (c.project_id, c.bucket),
           (c.project_id, c.bucket, c.media_type),
           (c.project_id, c.bucket, c.continent),
           (c.project_id, c.bucket, c.country),
           (c.project_id, c.bucket, c.device_type),
           (c.project_id, c.bucket, c.operating_system),
           (c.project_id, c.bucket, c.browser));
      END IF;
      -- other per-day derived data (unless the pass above wrote them); the
      -- cubes' in project order (as the single node's pass writes them): a
      -- project's rows of a day on a few pages
      CONTINUE WHEN whole;
      DELETE FROM @extschema@.rollup_cube_day r WHERE (pid IS NULL OR r.project_id = pid) AND r.bucket = d;
      INSERT INTO @extschema@.rollup_cube_day (project_id, bucket, media_type, continent, country, device_type, operating_system, browser, stats)
      SELECT r.project_id, d, r.media_type, r.continent, r.country, r.device_type, r.operating_system, r.browser, @extschema@.event_stats_merge(r.stats)
        FROM @extschema@.rollup_cube_hour r
       WHERE (pid IS NULL OR r.project_id = pid) AND r.bucket >= d AND r.bucket < d + @extschema@._block_size('day')
       GROUP BY r.project_id, r.media_type, r.continent, r.country, r.device_type, r.operating_system, r.browser
       ORDER BY CASE WHEN dist THEN NULL ELSE r.project_id END;
      DELETE FROM @extschema@.rollup_refcube_day r WHERE (pid IS NULL OR r.project_id = pid) AND r.bucket = d;
      INSERT INTO @extschema@.rollup_refcube_day (project_id, bucket, referrer, media_type, continent, country, device_type, operating_system, browser, stats)
      SELECT r.project_id, d, r.referrer, r.media_type, r.continent, r.country, r.device_type, r.operating_system, r.browser, @extschema@.event_stats_merge(r.stats)
        FROM @extschema@.rollup_refcube_hour r
       WHERE (pid IS NULL OR r.project_id = pid) AND r.bucket >= d AND r.bucket < d + @extschema@._block_size('day')
       GROUP BY r.project_id, r.referrer, r.media_type, r.continent, r.country, r.device_type, r.operating_system, r.browser
       ORDER BY CASE WHEN dist THEN NULL ELSE r.project_id END;
      DELETE FROM @extschema@.rollup_devcube_day r WHERE (pid IS NULL OR r.project_id = pid) AND r.bucket = d;
      INSERT INTO @extschema@.rollup_devcube_day (project_id, bucket, media_type, device_type, operating_system, browser, stats)
      SELECT r.project_id, d, r.media_type, r.device_type, r.operating_system, r.browser, @extschema@.event_stats_merge(r.stats)
        FROM @extschema@.rollup_devcube_hour r
       WHERE (pid IS NULL OR r.project_id = pid) AND r.bucket >= d AND r.bucket < d + @extschema@._block_size('day')
       GROUP BY r.project_id, r.media_type, r.device_type, r.operating_system, r.browser
       ORDER BY CASE WHEN dist THEN NULL ELSE r.project_id END;
      DELETE FROM @extschema@.rollup_day r WHERE (pid IS NULL OR r.project_id = pid) AND r.dim = ANY (@extschema@._dims()) AND r.bucket = d;
      INSERT INTO @extschema@.rollup_day (project_id, dim, bucket, value, media_type, stats)
      SELECT r.project_id, r.dim, d, r.value, r.media_type, @extschema@.event_stats_merge(r.stats)
        FROM @extschema@.rollup_hour r
       WHERE (pid IS NULL OR r.project_id = pid) AND r.dim = ANY (@extschema@._dims()) AND r.bucket >= d AND r.bucket < d + @extschema@._block_size('day')
       GROUP BY r.project_id, r.dim, r.value, r.media_type;
      -- the day's viewer ids (single node: their hour rows come from the pass above)
      PERFORM @extschema@._rollup_refresh_viewers(d, hrs, pid, dist);
    END LOOP;
  END IF;

  -- part 2: the concurrent viewers
  hrs := allhrs;
  IF part IS NULL OR part = 2 THEN
    -- concurrent viewers: a watch event emitted in hour h covers minutes of h
    -- and of h - 1 hour, so both hours' minutes are recomputed, one statement
    -- per day of them (one read of the watch events that overlap those hours).
    -- One sweep per group gives every minute from the first to the last of
    -- those hours (analytics._ccv_series: for each minute exactly what
    -- analytics.ccv over that minute gives). A row is written for each minute
    -- of those hours that a watch event touches: the minutes with a watcher,
    -- and the minute of a zero-length watch event (emitted_at not on the minute).
    FOR d, dh IN SELECT pg_catalog.date_bin(@extschema@._block_size('day'), x, @extschema@._block_origin('day')), pg_catalog.array_agg(DISTINCT x)
                   FROM unnest(hrs) h, LATERAL (VALUES (h), (h - @extschema@._block_size('hour'))) v(x) GROUP BY 1
                  HAVING pg_catalog.date_bin(@extschema@._block_size('day'), x, @extschema@._block_origin('day')) >= dlo
                     AND pg_catalog.date_bin(@extschema@._block_size('day'), x, @extschema@._block_origin('day')) < dhi ORDER BY 1 LOOP
      lo := dh[1];
      hi := dh[pg_catalog.array_length(dh, 1)] + @extschema@._block_size('hour');
      bounds := ARRAY(SELECT pg_catalog.generate_series(lo, hi, @extschema@._block_size('minute')));
      IF NOT dist THEN
        -- single node: the minutes from the first one a new watch event
        -- covers (every minute of the hours when one is read whole), whose
        -- rows _rollup_ccv_rows replaces (src/refresh.c, src/refreshdelta.c)
        INSERT INTO @extschema@.rollup_ccv (project_id, media_id, minute, peak_sessions, secs_sessions, peak_viewers, secs_viewers)
        SELECT * FROM @extschema@._rollup_ccv_rows(dh, pid);
      ELSE
        DELETE FROM @extschema@.rollup_ccv c
         WHERE (pid IS NULL OR c.project_id = pid) AND c.minute >= lo AND c.minute < hi
           AND pg_catalog.date_bin(@extschema@._block_size('hour'), c.minute, @extschema@._block_origin('hour')) = ANY (dh);
        INSERT INTO @extschema@.rollup_ccv (project_id, media_id, minute, peak_sessions, secs_sessions, peak_viewers, secs_viewers)
        SELECT g.project_id, g.live_id, bounds[c.i], (g.cs)[2 * c.i - 1]::integer, (g.cs)[2 * c.i] * 60,
               (g.cv)[2 * c.i - 1]::integer, (g.cv)[2 * c.i] * 60
          FROM (SELECT x.project_id, x.live_id, GROUPING(x.live_id) AS whole_project,
                       @extschema@._ccv_series(x.s, x.e, x.session_id, bounds) AS cs,
                       @extschema@._ccv_series(CASE WHEN x.viewer_id IS NULL THEN x.e ELSE x.s END, x.e, x.viewer_id, bounds) AS cv,
                       pg_catalog.array_agg(pg_catalog.date_bin(@extschema@._block_size('minute'), x.e, @extschema@._block_origin('minute')))
                         FILTER (WHERE x.s = x.e AND pg_catalog.date_bin(@extschema@._block_size('minute'), x.e, @extschema@._block_origin('minute')) < x.e) AS touched
                  FROM (SELECT e.project_id, e.session_id, e.viewer_id,
                               CASE WHEN e.media_type = 'live-stream' THEN e.media_id END AS live_id,
                               e.emitted_at - e.value * interval '1 second' AS s, e.emitted_at AS e
                          FROM @extschema@.events e
                         WHERE (pid IS NULL OR e.project_id = pid) AND e.event_type = 'watch' AND e.value > 0 AND e.emitted_at > lo
                           AND e.emitted_at < hi + @extschema@._block_size('hour')
                           AND e.emitted_at - e.value * interval '1 second' < hi) x
                 GROUP BY GROUPING SETS ((x.project_id), (x.project_id, x.live_id))) g,
               LATERAL pg_catalog.generate_series(1, pg_catalog.array_length(bounds, 1) - 1) c(i)
         WHERE (g.whole_project = 1 OR g.live_id IS NOT NULL)
           AND pg_catalog.date_bin(@extschema@._block_size('hour'), bounds[c.i], @extschema@._block_origin('hour')) = ANY (dh)
           AND ((g.cs)[2 * c.i - 1] > 0 OR bounds[c.i] = ANY (g.touched));
      END IF;
    END LOOP;
  END IF;
END $$;

COMMENT ON FUNCTION @extschema@._rollup_refresh_days(timestamptz[], text, timestamptz, timestamptz, integer) IS
    'the refresh of the days in [dlo, dhi) of hours hrs: their hour and day rows and viewer ids (part 1), their concurrent viewers (part 2), or both (part NULL); the hours that only gained rows added to (part 3, left out of part 1) (called by _rollup_refresh_scope)';

REVOKE ALL ON FUNCTION @extschema@._rollup_refresh_days(timestamptz[], text, timestamptz, timestamptz, integer) FROM PUBLIC;

-- The rows of block d of a level (week: sums of its day rows; w4, the 28
-- days from d: sums of its week rows) of one project (pid) or of every
-- project (pid NULL), of one part (1: the dimensions, 2: the cube and the
-- device cube, 3: the referrer cube) or of all (part NULL). Called by _rollup_refresh_scope for
-- the weeks of the hours it refreshed after their days, and for the 28-day
-- blocks after their weeks (on a single node possibly in background
-- workers, _rollup_refresh_parallel: blocks and parts are disjoint).
CREATE OR REPLACE FUNCTION @extschema@._rollup_refresh_block(level text, d timestamptz, pid text, part integer)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
  -- the finer level whose rows are summed; the tables by part: the
  -- one-dimension rollups, the cube, the referrer cube, the device cube
  -- (fixed names, never user input), with the columns they are grouped by
  -- and their part
  finer text;
  tables text[] := ARRAY['rollup_', 'rollup_cube_', 'rollup_refcube_', 'rollup_devcube_'];
  cols text[] := ARRAY['dim, value, media_type',
                       'media_type, continent, country, device_type, operating_system, browser',
                       'referrer, media_type, continent, country, device_type, operating_system, browser',
                       'media_type, device_type, operating_system, browser'];
  parts integer[] := ARRAY[1, 2, 3, 2];
  k integer;
  dist boolean := @extschema@._distributed();
BEGIN
  IF level = 'day' THEN
    finer := 'hour';
  ELSIF level = 'week' THEN
    finer := 'day';
  ELSIF level = 'w4' THEN
    finer := 'week';
  ELSE
    RAISE EXCEPTION 'unknown rollup block level %', level USING ERRCODE = 'invalid_parameter_value';
  END IF;
  FOR k IN 1 .. 4 LOOP
    CONTINUE WHEN part IS NOT NULL AND part <> parts[k];
    -- the values as parameters, so that each statement is planned for them
    -- (on Citus: project_id = the project, a router statement); the rows
    -- written in project order (and dimension): a question about one project
    -- reads its rows of a block through (project_id, [dim,] bucket) from a
    -- few pages, not from a page of every project's rows per row (the
    -- aggregate's hash order: a 28-day block of the referrer cube, 20k rows
    -- of p001, was on 5,300 of its 8,300 pages); not on Citus, whose
    -- INSERT ... SELECT over every shard would not keep it
    EXECUTE pg_catalog.format('DELETE FROM @extschema@.%I r WHERE ($1 IS NULL OR r.project_id = $1)%s AND r.bucket = $2',
                              tables[k] || level, CASE WHEN k = 1 THEN ' AND r.dim = ANY (@extschema@._dims())' ELSE '' END)
      USING pid, d;
    EXECUTE pg_catalog.format('INSERT INTO @extschema@.%I (project_id, bucket, %s, stats)'
                              ' SELECT r.project_id, $2, %s, @extschema@.event_stats_merge(r.stats) FROM @extschema@.%I r'
                              ' WHERE ($1 IS NULL OR r.project_id = $1)%s AND r.bucket >= $2 AND r.bucket < $2 + @extschema@._block_size($3)'
                              ' GROUP BY r.project_id, %s%s',
                              tables[k] || level, cols[k], (SELECT pg_catalog.string_agg('r.' || c, ', ') FROM unnest(pg_catalog.string_to_array(cols[k], ', ')) c),
                              tables[k] || finer, CASE WHEN k = 1 THEN ' AND r.dim = ANY (@extschema@._dims())' ELSE '' END,
                              (SELECT pg_catalog.string_agg('r.' || c, ', ') FROM unnest(pg_catalog.string_to_array(cols[k], ', ')) c),
                              CASE WHEN dist THEN '' WHEN k = 1 THEN ' ORDER BY r.project_id, r.dim' ELSE ' ORDER BY r.project_id' END)
      USING pid, d, level;
  END LOOP;
END $$;

COMMENT ON FUNCTION @extschema@._rollup_refresh_block(text, timestamptz, text, integer) IS
    'rebuilds the rows of week (level week) or 28-day block (w4) d, sums of its days or weeks, of one project (pid) or every project (pid NULL), of one part (1 dimensions, 2 cube and device cube, 3 referrer cube) or all (NULL)';

REVOKE ALL ON FUNCTION @extschema@._rollup_refresh_block(text, timestamptz, text, integer) FROM PUBLIC;


-- The days (level day: _rollup_refresh_days of hours hrs, each in two
-- parts: the rows of its hours and day, its concurrent viewers), the weeks or the
-- 28-day blocks (week, w4: _rollup_refresh_block, each of its three parts
-- apart) of a refresh on a single node, shared between background workers
-- (analytics.refresh_workers; src/refreshpar.c) when workers is true: each
-- takes the next unit not yet taken; a worker commits at its end. What a
-- worker took and did not commit is refreshed by this backend. Returns
-- whether workers committed every unit (else the next level's units, which
-- read these rows, are refreshed here).
CREATE OR REPLACE FUNCTION @extschema@._rollup_refresh_parallel(hrs timestamptz[], level text, units timestamptz[], workers boolean)
RETURNS boolean
AS 'MODULE_PATHNAME', 'analytics_rollup_refresh_parallel'
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;

REVOKE ALL ON FUNCTION @extschema@._rollup_refresh_parallel(timestamptz[], text, timestamptz[], boolean) FROM PUBLIC;

-- The rollup refresh of given hours of one project (pid) or of every
-- project (pid NULL). Every statement restricts each table it reads or
-- writes with (pid IS NULL OR project_id = pid); the statements are planned
-- for their values (plan_cache_mode), so that on a single node the
-- condition folds away and on a distributed layout (README "Scaling out
-- (Citus)") it is project_id = <the project>, a router query that Citus runs
-- on the worker holding the project (Citus refuses GROUPING SETS in a query
-- over several shards). A project's rows depend on its own events only:
-- refreshing each project's pending hours gives the rows the refresh of
-- every project gives.
CREATE OR REPLACE FUNCTION @extschema@._rollup_refresh_scope(hrs timestamptz[], pid text)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
  d timestamptz;
  dist boolean := @extschema@._distributed();
  shared boolean;
  added timestamptz[];
  ix oid;
  rel regclass;
BEGIN
  -- one refresh at a time (maintenance also holds its own lock)
  PERFORM pg_catalog.pg_advisory_xact_lock(6385249, 3);
  IF NOT dist THEN
    -- consume the marks first, with the snapshot the refresh then reads the
    -- events with (src/refreshdelta.c)
    hrs := @extschema@._rollup_consume(hrs, pid);
    IF hrs IS NULL THEN
      RETURN 0;
    END IF;
    -- the hours that only gained rows: their new rows' sums added to their
    -- hour rows and their day's and week's, here (not in workers: one
    -- writer per week row; and then every later phase runs here: workers
    -- would not see those rows, not committed)
    added := @extschema@._rollup_delta_hours(hrs, pid);
    -- the BRIN ranges of the partitions of the hours added to written since
    -- they were last summarized: under heavy ingest autovacuum's
    -- summarization requests overflow (a few hundred at most), and an
    -- unsummarized range matches every scan, so the refresh's reads of a
    -- period (the concurrent viewers' minutes) and the questions' raw reads
    -- of pending hours would read the whole partition: each range is
    -- summarized once here, right after it was written (the partitions this
    -- role owns; not while a vacuum holds the partition: it summarizes them)
    FOR ix, rel IN SELECT i.indexrelid, p.partition FROM @extschema@.partitions() p
                     JOIN pg_catalog.pg_index i ON i.indrelid = p.partition
                     JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
                     JOIN pg_catalog.pg_am a ON a.oid = c.relam AND a.amname = 'brin'
                    WHERE NOT p.is_default AND pg_catalog.pg_has_role(c.relowner, 'USAGE')
                      AND EXISTS (SELECT 1 FROM unnest(added) h WHERE h >= p.from_ts AND h < p.to_ts) LOOP
      BEGIN
        EXECUTE pg_catalog.format('LOCK TABLE %s IN SHARE UPDATE EXCLUSIVE MODE NOWAIT', rel);
        PERFORM pg_catalog.brin_summarize_new_values(ix);
      EXCEPTION WHEN lock_not_available THEN
        NULL;
      END;
    END LOOP;
    IF added IS NOT NULL THEN
      PERFORM @extschema@._rollup_refresh_days(hrs, pid, '-infinity', 'infinity', 3);
    END IF;
  ELSE
    SELECT pg_catalog.array_agg(x.h ORDER BY x.h) INTO hrs
      FROM (SELECT DISTINCT p.hour AS h FROM @extschema@.rollup_pending p WHERE (pid IS NULL OR p.project_id = pid) AND p.hour = ANY (hrs)) x;
    IF hrs IS NULL THEN
      RETURN 0;
    END IF;
    -- consume the marks first: under READ COMMITTED each statement below sees
    -- at least every row whose mark this statement deleted
    DELETE FROM @extschema@.rollup_pending p WHERE (pid IS NULL OR p.project_id = pid) AND p.hour = ANY (hrs);
  END IF;
  -- the hours and days (the rows of each day depend on its own events and
  -- hour rows only), then the weeks: on a single node shared with
  -- background workers
  IF NOT dist AND pid IS NULL THEN
    shared := @extschema@._rollup_refresh_parallel(hrs, 'day',
      ARRAY(SELECT DISTINCT pg_catalog.date_bin(@extschema@._block_size('day'), x, @extschema@._block_origin('day'))
              FROM unnest(hrs) h, LATERAL (VALUES (h), (h - @extschema@._block_size('hour'))) v(x) ORDER BY 1), added IS NULL);
    -- the weeks of the hours not added to summed again (those added to are
    -- up to date); they and the 28-day blocks are summed here when this
    -- backend added to rows: workers would not see them (not committed)
    shared := @extschema@._rollup_refresh_parallel(hrs, 'week',
      ARRAY(SELECT DISTINCT pg_catalog.date_bin(@extschema@._block_size('week'), h, @extschema@._block_origin('week')) FROM unnest(hrs) h
             WHERE h <> ALL (coalesce(added, '{}')) ORDER BY 1),
      shared AND added IS NULL);
    -- (a statement of its own: "f() AND false" is folded to false, f not called)
    IF added IS NOT NULL THEN
      shared := false;
    END IF;
  ELSE
    PERFORM @extschema@._rollup_refresh_days(hrs, pid, '-infinity', 'infinity', NULL);
    -- the weeks of those hours (but of the hours added to)
    FOR d IN SELECT DISTINCT pg_catalog.date_bin(@extschema@._block_size('week'), h, @extschema@._block_origin('week')) FROM unnest(hrs) h
              WHERE h <> ALL (coalesce(added, '{}')) ORDER BY 1 LOOP
      PERFORM @extschema@._rollup_refresh_block('week', d, pid, NULL);
    END LOOP;
  END IF;
  -- the 28-day blocks of those weeks. A block that still holds a pending
  -- hour is never read (queries read its weeks, days and hours instead): it
  -- is rebuilt with the refresh of its last pending hour, not once per batch
  -- (rewriting it each time would leave dead rows for every query to skip).
  -- Weeks are always rebuilt: the ccv of one media relies on every
  -- refreshed hour being in a week row.
  IF dist OR pid IS NOT NULL THEN
    FOR d IN SELECT DISTINCT pg_catalog.date_bin(@extschema@._block_size('w4'), h, @extschema@._block_origin('w4')) FROM unnest(hrs) h ORDER BY 1 LOOP
      CONTINUE WHEN EXISTS (SELECT 1 FROM @extschema@.rollup_pending p WHERE (pid IS NULL OR p.project_id = pid) AND p.hour >= d AND p.hour < d + @extschema@._block_size('w4'));
      PERFORM @extschema@._rollup_refresh_block('w4', d, pid, NULL);
    END LOOP;
  ELSE
    PERFORM @extschema@._rollup_refresh_parallel(hrs, 'w4',
      ARRAY(SELECT x.d FROM (SELECT DISTINCT pg_catalog.date_bin(@extschema@._block_size('w4'), h, @extschema@._block_origin('w4')) AS d FROM unnest(hrs) h) x
             WHERE NOT EXISTS (SELECT 1 FROM @extschema@.rollup_pending p WHERE p.hour >= x.d AND p.hour < x.d + @extschema@._block_size('w4')) ORDER BY 1),
      shared);
  END IF;
  RETURN pg_catalog.array_length(hrs, 1);
END $$;

COMMENT ON FUNCTION @extschema@._rollup_refresh_scope(timestamptz[], text) IS
    're-aggregates the given hours that are pending for one project (pid), or for every project (pid NULL), into the rollups and consumes their marks';

REVOKE ALL ON FUNCTION @extschema@._rollup_refresh_scope(timestamptz[], text) FROM PUBLIC;

-- The rollup refresh of given hours (those still pending), the unit that
-- maintenance retries on its own when a batch fails (README: Retention and
-- maintenance): one hour whose refresh fails never holds the others.
CREATE OR REPLACE FUNCTION @extschema@._rollup_refresh_hours(hrs timestamptz[])
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid text;
  phrs timestamptz[];
BEGIN
  -- distributed (Citus): each project on the worker that holds it
  IF @extschema@._distributed() THEN
    -- one refresh at a time (maintenance also holds its own lock)
    PERFORM pg_catalog.pg_advisory_xact_lock(6385249, 3);
    SELECT pg_catalog.array_agg(x.h ORDER BY x.h) INTO hrs
      FROM (SELECT DISTINCT p.hour AS h FROM @extschema@.rollup_pending p WHERE p.hour = ANY (hrs)) x;
    IF hrs IS NULL THEN
      RETURN 0;
    END IF;
    FOR pid, phrs IN SELECT p.project_id, pg_catalog.array_agg(DISTINCT p.hour ORDER BY p.hour)
                       FROM @extschema@.rollup_pending p WHERE p.hour = ANY (hrs)
                      GROUP BY p.project_id ORDER BY p.project_id LOOP
      PERFORM @extschema@._rollup_refresh_scope(phrs, pid);
    END LOOP;
    RETURN pg_catalog.array_length(hrs, 1);
  END IF;
  RETURN @extschema@._rollup_refresh_scope(hrs, NULL);
END $$;

COMMENT ON FUNCTION @extschema@._rollup_refresh_hours(timestamptz[]) IS
    're-aggregates the given hours that are pending into the rollups and consumes their marks; returns how many';

REVOKE ALL ON FUNCTION @extschema@._rollup_refresh_hours(timestamptz[]) FROM PUBLIC;

