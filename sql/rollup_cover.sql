-- analytics._rollup_cover: which rollup rows and raw events make up a period
-- (src/cover.c; the property test over random periods is test/unit/test_cover.c).
-- Fixed timestamps: the answers do not depend on the day the test runs.
SET TimeZone = 'UTC';
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

-- 30 days of media ids over all projects, events since 2026-10-27 13:00 and
-- refreshed up to 14:00 on 2026-11-26 (a Thursday): the week of 10-26 and
-- the 28-day block of 11-02 are read whole, the hour 13:00 of 10-27 is
-- taken out and its 13:45-14:00 added back raw (15 minutes of raw events
-- instead of the 45 of 13:00-13:45); nothing after the last refreshed hour
-- is read
SELECT * FROM pg_temp.pieces(analytics._rollup_cover('2026-10-27 13:45', '2026-11-26 14:20', 'w4', false, 1::smallint,
                                                     '{}', '2026-10-27 13:00', '2026-11-26 14:00'));
-- the same with the hour 2026-11-26 12:00 pending: no block that holds it
-- (that hour is read raw; the days before it from their weeks and days)
SELECT * FROM pg_temp.pieces(analytics._rollup_cover('2026-10-27 13:45', '2026-11-26 14:20', 'w4', false, 1::smallint,
                                                     '{2026-11-26 12:00}', '2026-10-27 13:00', '2026-11-26 14:00'));
-- the whole project (one row per block), data everywhere: Monday 02:00 to
-- Wednesday 23:00 is Monday to Wednesday minus two hours and one
SELECT * FROM pg_temp.pieces(analytics._rollup_cover('2026-11-23 02:00', '2026-11-25 23:00', 'w4', true, 0::smallint,
                                                     '{}', '2000-01-03', '2100-01-04'));
-- a week but its Sunday: the week minus the Sunday
SELECT * FROM pg_temp.pieces(analytics._rollup_cover('2026-11-23 00:00', '2026-11-29 00:00', 'w4', true, 0::smallint,
                                                     '{}', '2000-01-03', '2100-01-04'));
-- a series by day: no block coarser than a day (each row in one bucket);
-- 5-minute rows and raw events for the partial hours at both ends
SELECT * FROM pg_temp.pieces(analytics._rollup_cover('2026-11-23 02:07', '2026-11-25 23:58', 'day', true, 0::smallint,
                                                     '{}', '2000-01-03', '2100-01-04'));
-- no refreshed rows at all: only the pending hours, raw
SELECT * FROM pg_temp.pieces(analytics._rollup_cover('2026-11-23 02:07', '2026-11-25 23:58', 'w4', false, 4::smallint,
                                                     '{2026-11-24 05:00}', NULL, NULL));
-- an empty period
SELECT count(*) FROM pg_temp.pieces(analytics._rollup_cover('2026-11-23', '2026-11-23', 'w4', false, 1::smallint, '{}', NULL, NULL));
-- errors
SELECT analytics._rollup_cover('2026-11-23', '2026-11-24', 'month', false, 1::smallint, '{}', NULL, NULL);
