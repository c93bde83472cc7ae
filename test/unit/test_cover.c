/*
 * test_cover.c - unit tests of src/cover.c (which rollup rows and raw events
 * make up a period). Random periods, pending hours, data ranges and weights:
 * at every point where events can exist, the signed pieces must count the
 * point exactly once when it is inside the period and zero times otherwise,
 * and no rollup piece may hold a pending hour. A series whose bucket bounds
 * are whole 5 minutes (max_level CL_5MIN): no block of a piece straddles a
 * bound, and nothing is taken out.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cover.h"
#include "unit.h"

#define MIN		INT64_C(60000000)
#define HOUR	(60 * MIN)
#define DAY		(24 * HOUR)

static uint64_t rng = 88172645463325252ULL;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int64_t
pick(int64_t lo, int64_t hi)		/* [lo, hi) */
{
	return lo + (int64_t) (next() % (uint64_t) (hi - lo));
}

static int
contains(const CoverPiece *p, int64_t t)
{
	return p->lo <= t && t < p->hi;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a,
				y = *(const int64_t *) b;

	return x < y ? -1 : x > y;
}

/* every elementary interval between boundaries: one sample point */
static int
check_case(const CoverInput *in, const CoverPiece *p, int n)
{
	int64_t    *pts = malloc(sizeof(int64_t) * (2 * n + 2 * in->npending + 8));
	int			npts = 0,
				i,
				j,
				ok = 1;

	pts[npts++] = in->from;
	pts[npts++] = in->to;
	pts[npts++] = in->data_lo;
	pts[npts++] = in->data_hi;
	for (i = 0; i < n; i++)
	{
		pts[npts++] = p[i].lo;
		pts[npts++] = p[i].hi;
	}
	for (i = 0; i < in->npending; i++)
	{
		pts[npts++] = cover_floor(CL_HOUR, in->pending[i]);
		pts[npts++] = cover_floor(CL_HOUR, in->pending[i]) + HOUR;
	}
	qsort(pts, npts, sizeof(int64_t), cmp64);
	for (i = 0; i + 1 < npts && ok; i++)
	{
		int64_t		t;
		int			pend = 0,
					in_period,
					has,
					sum_raw = 0,
					sum_all = 0,
					rollup_hits = 0;

		if (pts[i] == pts[i + 1])
			continue;
		t = pts[i] + (pts[i + 1] - pts[i]) / 2;
		in_period = in->from <= t && t < in->to;
		for (j = 0; j < in->npending; j++)
			if (cover_floor(CL_HOUR, in->pending[j]) == cover_floor(CL_HOUR, t))
				pend = 1;
		has = in->has_data && in->data_lo <= t && t < in->data_hi;
		for (j = 0; j < n; j++)
		{
			if (!contains(&p[j], t))
				continue;
			sum_all += p[j].sign;
			if (p[j].level == CL_RAW)
				sum_raw += p[j].sign;
			else
				rollup_hits++;
		}
		if (pend)
			ok = rollup_hits == 0 && sum_raw == in_period;
		else if (has)
			ok = sum_all == in_period;
	}
	/* pieces: levels allowed, rollup pieces aligned */
	for (j = 0; j < n && ok; j++)
	{
		if ((in->max_level != CL_5MIN && p[j].level > in->max_level) || (p[j].level == CL_5MIN && !in->fine) ||
			p[j].lo >= p[j].hi)
			ok = 0;
		else if (p[j].level != CL_RAW)
			ok = cover_floor(p[j].level, p[j].lo) == p[j].lo && cover_floor(p[j].level, p[j].hi) == p[j].hi;
		if (ok && in->max_level == CL_5MIN)
		{
			/* no negative piece; no block straddles a bucket bound */
			if (p[j].sign < 0)
				ok = 0;
			if (p[j].level != CL_RAW)
			{
				int64_t		k;

				for (k = p[j].lo; k < p[j].hi && ok; k += cover_size(p[j].level))
					for (i = 0; i < in->nbounds; i++)
						if (in->bounds[i] > k && in->bounds[i] < k + cover_size(p[j].level))
							ok = 0;
			}
		}
	}
	free(pts);
	return ok;
}

static int
count_level(const CoverPiece *p, int n, int level, int sign)
{
	int			i,
				k = 0;

	for (i = 0; i < n; i++)
		if (p[i].level == level && p[i].sign == sign)
			k++;
	return k;
}

int
main(void)
{
	int			iter,
				failures = 0;
	/* Thursday 2026-11-26 14:20 UTC, in microseconds since 2000-01-01 */
	const int64_t now = (INT64_C(9826) * DAY) + 14 * HOUR + 20 * MIN;

	CHECK(cover_floor(CL_HOUR, 90 * MIN) == HOUR);
	CHECK(cover_floor(CL_WEEK, 0) == -5 * DAY);		/* Monday 1999-12-27 */
	CHECK(cover_floor(CL_WEEK, 2 * DAY) == 2 * DAY);
	CHECK(cover_floor(CL_W4, 30 * DAY) == 2 * DAY + 28 * DAY);
	CHECK(cover_floor(CL_DAY, -1) == -DAY);

	/* random cases */
	for (iter = 0; iter < 20000; iter++)
	{
		CoverInput	in;
		CoverPiece *p;
		int			n,
					i,
					rc;
		int64_t		pend[6];
		int64_t		bounds[64];
		int64_t		base = now - pick(0, 200) * DAY;

		in.from = base + (next() % 2 ? pick(-40 * DAY, 0) / MIN * MIN : pick(-40 * DAY, 0));
		in.to = in.from + (next() % 4 == 0 ? pick(1, 3 * HOUR) : pick(1, 70 * DAY));
		in.max_level = CL_5MIN + (int) (next() % 5);
		/* 5-minute pieces only: a whole project's series in a zone half an hour from UTC */
		in.fine = in.max_level == CL_5MIN ? 1 : (int) (next() % 2);
		in.npending = (int) (next() % 6);
		for (i = 0; i < in.npending; i++)
			pend[i] = in.from + pick(-30 * DAY, 100 * DAY) / HOUR * HOUR;
		in.pending = pend;
		/*
		 * bucket bounds of whole 5 minutes: every step (an hour to a week,
		 * or irregular as months are) from a first bound that is off the
		 * hour by a multiple of 5 minutes; some out of order, some outside
		 * the period
		 */
		in.bounds = bounds;
		in.nbounds = 0;
		if (in.max_level == CL_5MIN)
		{
			int64_t		step = next() % 3 == 0 ? DAY : next() % 2 ? 7 * DAY : pick(1, 72) * HOUR;
			int64_t		t = cover_floor(CL_HOUR, in.from - pick(0, 3 * DAY)) + pick(0, 12) * 5 * MIN;
			int			irregular = next() % 4 == 0;

			while (in.nbounds < 64 && t < in.to + DAY)
			{
				bounds[in.nbounds++] = t;
				t += irregular ? pick(1, 40 * 24) * HOUR : step;
			}
			if (in.nbounds > 1 && next() % 2)
			{
				int64_t		x = bounds[0];

				bounds[0] = bounds[in.nbounds - 1];
				bounds[in.nbounds - 1] = x;
			}
		}
		in.has_data = next() % 8 != 0;
		in.data_lo = cover_floor(CL_HOUR, in.from + pick(-60 * DAY, 20 * DAY));
		in.data_hi = in.data_lo + (next() % 3 == 0 ? 1000 * DAY : cover_floor(CL_HOUR, pick(HOUR, 90 * DAY)));
		if (next() % 2)
			cover_default_weights((int) (next() % 9), in.weight);
		else
			for (i = 0; i < CL_NLEVELS; i++)
				in.weight[i] = (double) (next() % 1000) / 50.0;
		rc = cover_plan(&in, &p, &n);
		if (rc != 0 || !check_case(&in, p, n))
		{
			if (failures++ < 5)
				fprintf(stderr, "case %d: rc %d, from %lld to %lld, level %d, fine %d, pending %d\n", iter, rc,
						(long long) in.from, (long long) in.to, in.max_level, in.fine, in.npending);
		}
		free(p);
	}
	CHECK_INT(failures, 0);

	/*
	 * The benchmark's question 5 on 2026-11-26: media ids, all projects, the
	 * last 30 days, events since 2026-10-27 13:00: the week of 2026-10-26
	 * (as cheap as its 28-day block: the same rows), the 28-day block from
	 * 2026-11-02, minus the raw events of 13:00-13:45. Nothing else.
	 */
	{
		CoverInput	in = {0};
		CoverPiece *p;
		int			n;

		in.to = now;
		in.from = now - 30 * DAY - 35 * MIN;		/* 2026-10-27 13:45 */
		in.max_level = CL_W4;
		in.has_data = 1;
		in.data_lo = cover_floor(CL_HOUR, in.from);
		in.data_hi = cover_floor(CL_HOUR, now);	/* hour 14 not refreshed: no data yet */
		cover_default_weights(1, in.weight);
		CHECK(cover_plan(&in, &p, &n) == 0);
		CHECK(check_case(&in, p, n));
		CHECK_INT(count_level(p, n, CL_W4, 1), 1);
		CHECK_INT(count_level(p, n, CL_WEEK, 1), 1);
		/* the first hour (13:00-14:00) taken out, 13:45-14:00 added back raw:
		 * 15 minutes of raw events instead of 45 */
		CHECK_INT(count_level(p, n, CL_HOUR, -1), 1);
		CHECK_INT(count_level(p, n, CL_RAW, 1), 1);
		CHECK_INT(n, 4);
		CHECK(n == 4 && p[0].lo == in.from && p[0].hi == in.data_lo + HOUR && p[1].lo == in.data_lo &&
			  p[1].hi == in.data_lo + HOUR && p[3].lo == cover_floor(CL_W4, now));
		free(p);

		/* with a pending hour in the last block: weeks, days, hours instead */
		{
			int64_t		pend = now - 2 * HOUR;

			in.pending = &pend;
			in.npending = 1;
			CHECK(cover_plan(&in, &p, &n) == 0);
			CHECK(check_case(&in, p, n));
			CHECK(count_level(p, n, CL_WEEK, 1) >= 1);
			free(p);
		}

		/* data before the period's start: no 28-day block there (it would
		 * take out 25 days); the start's week minus a day and 14 hours */
		in.npending = 0;
		in.data_lo = in.from - 365 * DAY;
		CHECK(cover_plan(&in, &p, &n) == 0);
		CHECK(check_case(&in, p, n));
		{
			int			w4_before = 0;

			for (int i = 0; i < n; i++)
				if (p[i].level == CL_W4 && p[i].lo < in.from)
					w4_before++;
			CHECK_INT(w4_before, 0);
		}
		CHECK_INT(count_level(p, n, CL_WEEK, 1), 1);
		free(p);

		/* an hour-level series (max level hour) with 5-minute rows */
		in.from = now - 2 * DAY;
		in.max_level = CL_HOUR;
		in.fine = 1;
		cover_default_weights(0, in.weight);
		CHECK(cover_plan(&in, &p, &n) == 0);
		CHECK(check_case(&in, p, n));
		CHECK_INT(count_level(p, n, CL_DAY, 1) + count_level(p, n, CL_W4, 1), 0);
		free(p);

		/* an empty period */
		in.to = in.from;
		CHECK(cover_plan(&in, &p, &n) == 0);
		CHECK_INT(n, 0);
		free(p);
	}
	return UNIT_REPORT("cover");
}
