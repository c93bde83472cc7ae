-- analytics._kept_query: a query text run through a statement kept per text
-- (src/keptquery.c), and _plan_cover's bounds of one project's refreshed rows.
SET TimeZone = 'UTC';

-- parameters given one by one, rows in the query's order; a generic plan and
-- plans made per run give the same rows, and a kept plan runs again with
-- other values
CREATE TEMP TABLE kq (k int, v text);
INSERT INTO kq SELECT i, 'v' || (i % 3) FROM generate_series(1, 20) i;
SELECT * FROM analytics._kept_query('SELECT v, count(*)::int FROM kq WHERE k >= $1 AND v <> $2 GROUP BY v ORDER BY v DESC',
                                    true, 5, 'v0'::text) x(v text, n int);
SELECT * FROM analytics._kept_query('SELECT v, count(*)::int FROM kq WHERE k >= $1 AND v <> $2 GROUP BY v ORDER BY v DESC',
                                    true, 15, 'v1'::text) x(v text, n int);
SELECT * FROM analytics._kept_query('SELECT v, count(*)::int FROM kq WHERE k >= $1 AND v <> $2 GROUP BY v ORDER BY v DESC',
                                    false, 15, 'v1'::text) x(v text, n int);
-- a null parameter, and no rows
SELECT count(*) FROM analytics._kept_query('SELECT k FROM kq WHERE k = $1', true, NULL::int) x(k int);
-- the rows of the statement's snapshot: rows added since the plan was made
-- are counted; a changed table gets a new plan
INSERT INTO kq VALUES (100, 'v9');
SELECT * FROM analytics._kept_query('SELECT count(*)::int FROM kq WHERE k >= $1', true, 5) x(n int);
ALTER TABLE kq ADD COLUMN w int DEFAULT 7;
CREATE INDEX ON kq (k);
SELECT * FROM analytics._kept_query('SELECT count(*)::int FROM kq WHERE k >= $1', true, 5) x(n int);
DROP TABLE kq;
CREATE TEMP TABLE kq (k int, v text);
INSERT INTO kq VALUES (50, 'new');
SELECT * FROM analytics._kept_query('SELECT count(*)::int FROM kq WHERE k >= $1', true, 5) x(n int);

-- row-level security: a plan kept under one role is not used as is under
-- another (the plan cache makes it again for the role)
CREATE TABLE public.kq_rls (owner name, n int);
INSERT INTO public.kq_rls VALUES ('regress_kq_a', 1), ('regress_kq_a', 2), ('regress_kq_b', 40);
ALTER TABLE public.kq_rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON public.kq_rls USING (owner = current_user);
CREATE ROLE regress_kq_a;
CREATE ROLE regress_kq_b;
GRANT SELECT ON public.kq_rls TO regress_kq_a, regress_kq_b;
GRANT USAGE ON SCHEMA analytics TO regress_kq_a, regress_kq_b;
SELECT * FROM analytics._kept_query('SELECT coalesce(sum(n), 0)::int FROM public.kq_rls WHERE n > $1', true, 0) x(s int);
SET ROLE regress_kq_a;
SELECT * FROM analytics._kept_query('SELECT coalesce(sum(n), 0)::int FROM public.kq_rls WHERE n > $1', true, 0) x(s int);
SET ROLE regress_kq_b;
SELECT * FROM analytics._kept_query('SELECT coalesce(sum(n), 0)::int FROM public.kq_rls WHERE n > $1', true, 0) x(s int);
RESET ROLE;
SELECT * FROM analytics._kept_query('SELECT coalesce(sum(n), 0)::int FROM public.kq_rls WHERE n > $1', true, 0) x(s int);
DROP TABLE public.kq_rls;
REVOKE USAGE ON SCHEMA analytics FROM regress_kq_a, regress_kq_b;
DROP ROLE regress_kq_a;
DROP ROLE regress_kq_b;

-- more statements than the table keeps: the least recently used go, and
-- every text still answers (70 texts, then the first ones again)
SELECT count(*) AS texts, sum(x.s) AS total
  FROM generate_series(1, 70) i,
       LATERAL analytics._kept_query(format('SELECT %s + $1', i), true, 1) x(s int);
SELECT sum(x.s) AS total
  FROM generate_series(1, 70) i,
       LATERAL analytics._kept_query(format('SELECT %s + $1', i), true, 1) x(s int);
SELECT sum(x.s) AS total
  FROM generate_series(1, 70) i,
       LATERAL analytics._kept_query(format('SELECT %s + $1', i), false, 1) x(s int);

-- a kept query that runs 70 other texts itself: its own statement stays
-- while it runs (sum of i + 1 + 1000 for i = 1..70)
SELECT * FROM analytics._kept_query($q$SELECT sum(x.s)::int FROM generate_series(1, 70) i,
  LATERAL analytics._kept_query(format('SELECT %s + $1 + 1000', i), true, $1) x(s int)$q$, true, 1) y(total int);
SELECT * FROM analytics._kept_query($q$SELECT sum(x.s)::int FROM generate_series(1, 70) i,
  LATERAL analytics._kept_query(format('SELECT %s + $1 + 1000', i), true, $1) x(s int)$q$, true, 2) y(total int);

-- errors
SELECT * FROM analytics._kept_query('SELECT $1, 2', true, 1) x(a int);
-- (PostgreSQL's detail of this one names the column from 18 on: the error only)
\set VERBOSITY terse
SELECT * FROM analytics._kept_query('SELECT $1', true, 1) x(a text);
\set VERBOSITY default
SELECT * FROM analytics._kept_query('SELECT $1', true, NULL) x(a int);
SELECT * FROM analytics._kept_query(NULL, true, 1) x(a int);
SELECT * FROM analytics._kept_query('SELECT $1', NULL, 1) x(a int);
SELECT * FROM analytics._kept_query('SELEC $1', true, 1) x(a int);
SELECT * FROM analytics._kept_query('DELETE FROM analytics.settings WHERE $1 RETURNING 1', true, false) x(a int);
SELECT * FROM analytics._kept_query('SELECT $1', true, VARIADIC ARRAY[1]) x(a int);
SELECT format('SELECT * FROM analytics._kept_query(''SELECT 1'', true, %s) x(a int)',
              (SELECT string_agg(i::text, ', ') FROM generate_series(1, 65) i)) \gexec

-- the condition on the ranges of one level of a cover (the values stay
-- parameters $24[i], $25[i])
SELECT analytics._ranges_sql('r.bucket', 24, 25, 2) AS two, analytics._ranges_sql('e.emitted_at', 20, 21, 1) AS one,
       analytics._ranges_sql('r.bucket', 24, 25, 0) AS none, analytics._ranges_sql('r.bucket', 24, 25, NULL) AS null_n;

-- _plan_cover, one project: refreshed rows are bounded by its 5-minute rows,
-- so nothing is read in the rest of its last (or first) refreshed hour.
-- Project kq1 has events 10:00-10:10 on 2026-11-20 and 12:40-12:45 on
-- 2026-11-21 (rows written by hand, no events: only the bounds matter)
INSERT INTO analytics.rollup_5min (project_id, dim, bucket, value, stats) VALUES
  ('kq1', 0, '2026-11-20 10:00', NULL, '{0,1}'), ('kq1', 0, '2026-11-20 10:05', NULL, '{0,1}'),
  ('kq1', 0, '2026-11-21 12:40', NULL, '{0,1}');
INSERT INTO analytics.rollup_hour (project_id, dim, bucket, value, stats) VALUES
  ('kq1', 0, '2026-11-20 10:00', NULL, '{0,2}'), ('kq1', 0, '2026-11-21 12:00', NULL, '{0,1}');
CREATE FUNCTION pg_temp.pieces(c analytics._cover) RETURNS TABLE (level text, sign text, lo timestamptz, hi timestamptz)
LANGUAGE sql AS $$
SELECT l.level, s.sign, x.lo, x.hi
  FROM (VALUES (1, 'raw', c.raw_from, c.raw_to, c.raw_neg_from, c.raw_neg_to),
               (2, '5min', c.fine_from, c.fine_to, c.fine_neg_from, c.fine_neg_to),
               (3, 'hour', c.hour_from, c.hour_to, c.hour_neg_from, c.hour_neg_to),
               (4, 'day', c.day_from, c.day_to, c.day_neg_from, c.day_neg_to),
               (5, 'week', c.week_from, c.week_to, c.week_neg_from, c.week_neg_to),
               (6, 'w4', c.w4_from, c.w4_to, c.w4_neg_from, c.w4_neg_to)) l(n, level, pf, pt, nf, nt),
       LATERAL (VALUES ('+', l.pf, l.pt), ('-', l.nf, l.nt)) s(sign, f, t),
       LATERAL unnest(s.f, s.t) x(lo, hi)
 ORDER BY l.n, s.sign, x.lo
$$;
-- 12:43:10 to 13:00 on the 21st: the raw events of 12:43:10-12:45 only;
-- after 12:45 (the end of kq1's last 5 minutes with events) nothing is read
SELECT * FROM pg_temp.pieces(analytics._plan_cover('2026-11-21 12:43:10', '2026-11-21 13:00', 'hour', true, 0::smallint, '{kq1}'));
-- 12:46:30 to 13:00: after the last 5 minutes with events, nothing to read
SELECT * FROM pg_temp.pieces(analytics._plan_cover('2026-11-21 12:46:30', '2026-11-21 13:00', 'hour', true, 0::smallint, '{kq1}'));
-- 09:58 on the 20th to 10:57: nothing before 10:00 (kq1's first 5 minutes
-- with events); the hour 10:00 minus 10:57-11:00 raw (the bounds are kq1's
-- first and last 5 minutes: 10:57 lies between them)
SELECT * FROM pg_temp.pieces(analytics._plan_cover('2026-11-20 09:58', '2026-11-20 10:57', 'hour', true, 0::smallint, '{kq1}'));
-- a pending hour is read raw even outside the bounds
INSERT INTO analytics.rollup_pending (project_id, hour) VALUES ('kq1', '2026-11-21 13:00');
SELECT * FROM pg_temp.pieces(analytics._plan_cover('2026-11-21 12:46:30', '2026-11-21 13:20', 'hour', true, 0::smallint, '{kq1}'));
DELETE FROM analytics.rollup_pending WHERE project_id = 'kq1';
-- a project without refreshed rows: nothing
SELECT count(*) FROM pg_temp.pieces(analytics._plan_cover('2026-11-20 09:58', '2026-11-20 10:57', 'hour', true, 0::smallint, '{kq2}'));
DELETE FROM analytics.rollup_5min WHERE project_id = 'kq1';
DELETE FROM analytics.rollup_hour WHERE project_id = 'kq1';
