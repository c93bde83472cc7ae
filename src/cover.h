/*
 * cover.h - which rollup rows and raw events make up a period (plain C).
 *
 * A question over [from, to) reads derived rows of aligned blocks (5 minutes,
 * hours, days, Monday weeks, 28-day "w4" blocks) and raw events for what no
 * block covers. A block may also stick out of the period: it is then read
 * whole and the parts outside the period are read again with the opposite
 * sign (every statistic is a count or a sum, so adding and taking out again
 * is exact). cover_plan() chooses such a signed set of pieces with the least
 * estimated cost:
 *
 *  - a block that holds a pending hour (changed, not yet re-aggregated) is
 *    never used: its hours are read one by one, pending hours raw;
 *  - a piece that lies wholly outside [data_lo, data_hi) (where the refreshed
 *    rollups have rows) is empty: it costs nothing and is left out;
 *  - the cost of a piece is the estimated number of rows its level has per
 *    block for the dimension (weights), raw events cost per minute.
 *
 * Times are microseconds since 2000-01-01 00:00 UTC (PostgreSQL timestamptz).
 * No allocation escapes: the caller owns the output arrays.
 */
#ifndef ANALYTICS_COVER_H
#define ANALYTICS_COVER_H

#include <stdint.h>

typedef enum CoverLevel
{
	CL_RAW = 0,					/* raw events, any range */
	CL_5MIN,					/* rollup_5min: whole project only ("fine") */
	CL_HOUR,
	CL_DAY,
	CL_WEEK,					/* Monday 00:00 UTC */
	CL_W4,						/* 28 days from Monday 2000-01-03 */
	CL_NLEVELS
} CoverLevel;

typedef struct CoverPiece
{
	int			level;			/* CoverLevel */
	int			sign;			/* +1 or -1 */
	int64_t		lo;				/* [lo, hi): a range of raw events, or blocks */
	int64_t		hi;
} CoverPiece;

typedef struct CoverInput
{
	int64_t		from;
	int64_t		to;
	int			max_level;		/* CL_HOUR .. CL_W4: the coarsest blocks
								 * allowed; CL_5MIN (with fine): a series
								 * whose bucket bounds are whole 5 minutes
								 * (bounds below): no piece straddles a
								 * bound, and no piece is taken out */
	int			fine;			/* 5-minute rows exist for this dimension */
	const int64_t *pending;		/* pending hour starts, any order */
	int			npending;
	int			has_data;		/* 0: no refreshed rows at all */
	int64_t		data_lo;		/* refreshed rows only in [data_lo, data_hi) */
	int64_t		data_hi;
	double		weight[CL_NLEVELS]; /* cost of one block per level; [CL_RAW]:
									 * per minute */
	const int64_t *bounds;		/* max_level CL_5MIN: the series' bucket
								 * starts, whole 5 minutes, any order (those
								 * outside (from, to) are ignored) */
	int			nbounds;
} CoverInput;

/* default weights for a dimension of the rollups (0 whole project .. 8) */
extern void cover_default_weights(int dim, double weight[CL_NLEVELS]);

/*
 * Fill *out (malloc'ed, *nout pieces; free() it) with the pieces of the
 * period, adjacent pieces of one level and sign merged into one range and
 * sorted by (level, sign, lo). Returns 0; -1 when out of memory; -2 when
 * two pieces of one level and sign overlap (a bug: never seen).
 */
extern int	cover_plan(const CoverInput *in, CoverPiece **out, int *nout);

/* block boundaries of a level (CL_5MIN .. CL_W4) */
extern int64_t cover_floor(int level, int64_t t);
extern int64_t cover_size(int level);

#endif
