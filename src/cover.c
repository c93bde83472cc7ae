/*
 * cover.c - which rollup rows and raw events make up a period (plain C,
 * see cover.h).
 *
 * cover_level(L, a, b) covers [a, b) with blocks of level L and finer: whole
 * blocks inside [a, b) are read as they are (unless pending), and each end
 * that cuts a block is either covered with finer pieces or read as the whole
 * block minus the finer cover of the part outside [a, b), whichever the
 * weights estimate cheaper (ties: no subtraction). Below the hour, sub()
 * reads 5-minute rows where they exist and raw events for the rest. With
 * positive, an end is always covered with finer pieces: the cover is then
 * a partition of the period (what no piece reads has no event). A series
 * whose bucket bounds are whole 5 minutes (CL_5MIN) is covered bucket by
 * bucket with pieces inside each bucket (segment()).
 */
#include "cover.h"

#include <stdlib.h>
#include <string.h>

#include "catalog.h"

/* block sizes and origins: the catalogue's (catalog.h) */
#define USECS_PER_MINUTE	CAT_USECS_PER_MINUTE
#define MONDAY_OFFSET		CAT_WEEK_ORIGIN

typedef struct List
{
	CoverPiece *p;
	int			n;
	int			cap;
	int			oom;
} List;

typedef struct Ctx
{
	const CoverInput *in;
	int64_t    *pending;		/* sorted */
	int			npending;
	int			oom;
} Ctx;

int64_t
cover_size(int level)
{
	switch (level)
	{
		case CL_5MIN:
			return CAT_5MIN_SIZE;
		case CL_HOUR:
			return CAT_USECS_PER_HOUR;
		case CL_DAY:
			return CAT_USECS_PER_DAY;
		case CL_WEEK:
			return CAT_WEEK_SIZE;
		case CL_W4:
			return CAT_W4_SIZE;
		default:
			return 1;
	}
}

int64_t
cover_floor(int level, int64_t t)
{
	int64_t		size = cover_size(level);
	int64_t		origin = level >= CL_WEEK ? MONDAY_OFFSET : 0;
	int64_t		d = t - origin;
	int64_t		q = d / size;

	if (d % size != 0 && d < 0)
		q--;
	return origin + q * size;
}

static int64_t
cover_ceil(int level, int64_t t)
{
	int64_t		f = cover_floor(level, t);

	return f == t ? t : f + cover_size(level);
}

void
cover_default_weights(int dim, double weight[CL_NLEVELS])
{
	/*
	 * Rows per block, relative to an hour, measured on the benchmark's data
	 * (20 projects, ~10k media): a day of media ids has ~6x the rows of an
	 * hour, a week ~11x; countries grow ~2x; the small dimensions barely. Raw
	 * events: per minute, about half an hour block.
	 */
	static const double whole[CL_NLEVELS] = {0.5, 1, 1, 1, 1, 1};
	static const double media[CL_NLEVELS] = {0.5, 1, 1, 6, 11, 13};
	static const double country[CL_NLEVELS] = {0.5, 1, 1, 2, 2.1, 2.2};
	static const double other[CL_NLEVELS] = {0.5, 1, 1, 1.3, 1.4, 1.5};

	/*
	 * The cube, measured on the same data (2M events over 3 days, 20
	 * projects: the benchmark's density): ~60 rows per project and hour, a
	 * raw minute ~23 events; a day ~5.6x an hour, and the combinations keep
	 * growing with longer blocks.
	 */
	static const double cube[CL_NLEVELS] = {0.38, 1, 1, 5.6, 15, 30};

	/*
	 * The referrer cube, same data: ~1.4x the cube's rows per hour (a raw
	 * minute ~0.27 of an hour's rows), a day ~14x an hour
	 */
	static const double refcube[CL_NLEVELS] = {0.27, 1, 1, 14, 40, 90};

	/*
	 * The device cube, measured on the benchmark's data (20M events over 30
	 * days, 20 projects): ~16.5 rows per project and hour (a raw minute, ~23
	 * events, ~1.4 of them), a day ~2.3x an hour, a week ~2.6x, 28 days
	 * ~2.7x (the combinations of a project are few)
	 */
	static const double devcube[CL_NLEVELS] = {1.4, 1, 1, 2.3, 2.6, 2.7};
	const double *w = dim == CAT_DIM_PROJECT ? whole : dim == CAT_DIM_MEDIA ? media : dim == CAT_DIM_COUNTRY ? country
	: dim == CAT_DIM_CUBE ? cube : dim == CAT_DIM_REFCUBE ? refcube : dim == CAT_DIM_DEVCUBE ? devcube : other;

	memcpy(weight, w, sizeof(double) * CL_NLEVELS);
}

static void
list_add(List *l, int level, int sign, int64_t lo, int64_t hi)
{
	if (l->oom)
		return;
	if (l->n == l->cap)
	{
		int			cap = l->cap ? l->cap * 2 : 16;
		CoverPiece *p = realloc(l->p, sizeof(CoverPiece) * cap);

		if (p == NULL)
		{
			l->oom = 1;
			return;
		}
		l->p = p;
		l->cap = cap;
	}
	l->p[l->n].level = level;
	l->p[l->n].sign = sign;
	l->p[l->n].lo = lo;
	l->p[l->n].hi = hi;
	l->n++;
}

/* append src to dst with every sign multiplied by sign, and free src */
static void
list_move(List *dst, List *src, int sign)
{
	int			i;

	if (src->oom)
		dst->oom = 1;
	for (i = 0; i < src->n; i++)
		list_add(dst, src->p[i].level, src->p[i].sign * sign, src->p[i].lo, src->p[i].hi);
	free(src->p);
	memset(src, 0, sizeof(List));
}

static void
list_free(List *l)
{
	free(l->p);
	memset(l, 0, sizeof(List));
}

/* is there a pending hour in [lo, hi)? */
static int
pending_in(const Ctx *c, int64_t lo, int64_t hi)
{
	int			a = 0,
				b = c->npending;

	while (a < b)
	{
		int			m = a + (b - a) / 2;

		if (c->pending[m] < lo)
			a = m + 1;
		else
			b = m;
	}
	return a < c->npending && c->pending[a] < hi;
}

/* is the hour of t pending? */
static int
hour_pending(const Ctx *c, int64_t t)
{
	int64_t		h = cover_floor(CL_HOUR, t);

	return pending_in(c, h, h + 1);
}

/* may hold refreshed rows (or raw events of refreshed hours) */
static int
in_data(const Ctx *c, int64_t lo, int64_t hi)
{
	return c->in->has_data && lo < c->in->data_hi && hi > c->in->data_lo;
}

/* raw events of [a, b), within one hour */
static double
raw(Ctx *c, List *out, int64_t a, int64_t b)
{
	int64_t		lo = a,
				hi = b;

	if (a >= b)
		return 0;
	if (!hour_pending(c, a))
	{
		/* a refreshed hour: its raw events are where its rollup rows are */
		if (!in_data(c, a, b))
			return 0;
		if (lo < c->in->data_lo)
			lo = c->in->data_lo;
		if (hi > c->in->data_hi)
			hi = c->in->data_hi;
	}
	list_add(out, CL_RAW, 1, a, b);
	return c->in->weight[CL_RAW] * (double) (hi - lo) / (double) USECS_PER_MINUTE;
}

/* [a, b) within one hour: 5-minute rows where they exist, raw events */
static double
sub(Ctx *c, List *out, int64_t a, int64_t b)
{
	int64_t		s,
				e;
	double		cost = 0;

	if (a >= b)
		return 0;
	if (!c->in->fine || hour_pending(c, a))
		return raw(c, out, a, b);
	s = cover_ceil(CL_5MIN, a);
	e = cover_floor(CL_5MIN, b);
	if (s >= e)
		return raw(c, out, a, b);
	cost += raw(c, out, a, s);
	if (in_data(c, s, e))
	{
		list_add(out, CL_5MIN, 1, s, e);
		cost += c->in->weight[CL_5MIN] * (double) ((e - s) / cover_size(CL_5MIN));
	}
	cost += raw(c, out, e, b);
	return cost;
}

static double cover_level(Ctx *c, List *out, int level, int64_t a, int64_t b, int plain);

/* [a, b) with pieces finer than level */
static double
finer(Ctx *c, List *out, int level, int64_t a, int64_t b, int plain)
{
	if (a >= b)
		return 0;
	return level == CL_HOUR ? sub(c, out, a, b) : cover_level(c, out, level - 1, a, b, plain);
}

/* the block [k, k + size) of level, if it may be read as a whole */
static int
usable(const Ctx *c, int level, int64_t k)
{
	return !pending_in(c, k, k + cover_size(level));
}

/* do [k, a) and [b, k + size), the rest of the block k of level, lie inside the period? */
static int
rest_in_period(const Ctx *c, int level, int64_t k, int64_t a, int64_t b)
{
	int64_t		e = k + cover_size(level);

	return (a <= k || (k >= c->in->from && a <= c->in->to)) &&
		(b >= e || (b >= c->in->from && e <= c->in->to));
}

static double
block(Ctx *c, List *out, int level, int64_t k)
{
	if (!in_data(c, k, k + cover_size(level)))
		return 0;
	list_add(out, level, 1, k, k + cover_size(level));
	return c->in->weight[level];
}

/*
 * [a, b), which lies inside the block k of level: finer pieces, or the block
 * minus the finer pieces of [k, a) and [b, k + size); appended to out.
 * The parts taken out are covered "plain", with pieces inside them only:
 * then the pieces of one level and sign never overlap (each is one range of
 * an OR in the query, so an overlap would count its rows once, not twice).
 * One exception, at the hour: a partial hour of a part taken out may be its
 * whole hour minus the rest of the hour, when that rest lies inside the
 * period. The period's inside is read by the enclosing block alone (a part
 * taken out exists only because that block is read whole), and the parts
 * taken out lie outside the period, so the rest of the hour meets no other
 * piece, and the hour no other hour. Without it, the raw events of a part
 * of an hour without 5-minute rows are up to a whole hour; with it, at most
 * half an hour.
 */
static double
edge(Ctx *c, List *out, int level, int64_t k, int64_t a, int64_t b, int plain)
{
	List		o1 = {0},
				o2 = {0},
				neg = {0};
	double		c1,
				c2;

	c1 = finer(c, &o1, level, a, b, plain);
	if (c->in->positive || !usable(c, level, k) || (plain && !(level == CL_HOUR && rest_in_period(c, level, k, a, b))))
	{
		list_move(out, &o1, 1);
		return c1;
	}
	c2 = block(c, &o2, level, k);
	c2 += finer(c, &neg, level, k, a, 1);
	c2 += finer(c, &neg, level, b, k + cover_size(level), 1);
	list_move(&o2, &neg, -1);
	if (c2 < c1)
	{
		list_free(&o1);
		list_move(out, &o2, 1);
		return c2;
	}
	list_free(&o2);
	list_move(out, &o1, 1);
	return c1;
}

static double
cover_level(Ctx *c, List *out, int level, int64_t a, int64_t b, int plain)
{
	int64_t		size = cover_size(level);
	int64_t		A = cover_ceil(level, a);
	int64_t		Z = cover_floor(level, b);
	int64_t		k;
	double		cost = 0;

	if (a >= b)
		return 0;
	if (A > Z)					/* no whole block inside */
		return edge(c, out, level, cover_floor(level, a), a, b, plain);
	if (a < A)
		cost += edge(c, out, level, A - size, a, A, plain);
	for (k = A; k < Z; k += size)
	{
		if (usable(c, level, k))
			cost += block(c, out, level, k);
		else
			cost += finer(c, out, level, k, k + size, plain);
	}
	if (Z < b)
		cost += edge(c, out, level, Z, Z, b, plain);
	return cost;
}

/*
 * [a, b), one bucket's part of the period: the partial hours at either end
 * with 5-minute rows and raw events (sub), the whole hours between with
 * blocks inside them only
 */
static void
segment(Ctx *c, List *out, int64_t a, int64_t b)
{
	int64_t		A = cover_ceil(CL_HOUR, a);
	int64_t		Z = cover_floor(CL_HOUR, b);
	int64_t		h;

	if (A < Z)
	{
		sub(c, out, a, A);
		cover_level(c, out, CL_W4, A, Z, 1);
		sub(c, out, Z, b);
		return;
	}
	for (h = cover_floor(CL_HOUR, a); h < b; h += cover_size(CL_HOUR))
		sub(c, out, h < a ? a : h, h + cover_size(CL_HOUR) > b ? b : h + cover_size(CL_HOUR));
}

static int
cmp_int64(const void *x, const void *y)
{
	int64_t		a = *(const int64_t *) x,
				b = *(const int64_t *) y;

	return a < b ? -1 : a > b;
}

static int
cmp_piece(const void *x, const void *y)
{
	const CoverPiece *a = x,
			   *b = y;

	if (a->level != b->level)
		return a->level - b->level;
	if (a->sign != b->sign)
		return b->sign - a->sign;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

int
cover_plan(const CoverInput *in, CoverPiece **out, int *nout)
{
	Ctx			c;
	List		l = {0};
	int			i,
				n = 0;

	*out = NULL;
	*nout = 0;
	memset(&c, 0, sizeof(c));
	c.in = in;
	if (in->npending > 0)
	{
		c.pending = malloc(sizeof(int64_t) * in->npending);
		if (c.pending == NULL)
			return -1;
		for (i = 0; i < in->npending; i++)
			c.pending[i] = cover_floor(CL_HOUR, in->pending[i]);
		qsort(c.pending, in->npending, sizeof(int64_t), cmp_int64);
		c.npending = in->npending;
	}
	if (in->from < in->to && in->max_level == CL_5MIN && in->fine)
	{
		/*
		 * a series whose bucket bounds are whole 5 minutes but not whole
		 * hours (such as days in a zone half an hour from UTC): each bucket's
		 * part of the period apart, its partial hours at either end with
		 * 5-minute rows and raw events, its whole hours with blocks that lie
		 * inside them ("plain": nothing taken out), so that every piece lies
		 * inside one bucket
		 */
		int64_t    *b = NULL;
		int			nb = 0;
		int64_t		s = in->from;

		if (in->nbounds > 0)
		{
			b = malloc(sizeof(int64_t) * in->nbounds);
			if (b == NULL)
				l.oom = 1;
			else
			{
				for (i = 0; i < in->nbounds; i++)
					if (in->bounds[i] > in->from && in->bounds[i] < in->to)
						b[nb++] = in->bounds[i];
				qsort(b, nb, sizeof(int64_t), cmp_int64);
			}
		}
		for (i = 0; i <= nb && !l.oom; i++)
		{
			int64_t		e = i < nb ? b[i] : in->to;

			if (e > s)
				segment(&c, &l, s, e);
			s = e;
		}
		free(b);
	}
	else if (in->from < in->to)
		cover_level(&c, &l, in->max_level < CL_HOUR ? CL_HOUR : in->max_level > CL_W4 ? CL_W4 : in->max_level,
					in->from, in->to, 0);
	free(c.pending);
	if (l.oom)
	{
		list_free(&l);
		return -1;
	}
	/* merge adjacent ranges of one level and sign (they never overlap) */
	if (l.n > 1)
		qsort(l.p, l.n, sizeof(CoverPiece), cmp_piece);
	for (i = 0; i < l.n; i++)
	{
		if (n > 0 && l.p[n - 1].level == l.p[i].level && l.p[n - 1].sign == l.p[i].sign
			&& l.p[i].lo <= l.p[n - 1].hi)
		{
			if (l.p[i].lo < l.p[n - 1].hi)
			{
				list_free(&l);
				return -2;
			}
			l.p[n - 1].hi = l.p[i].hi;
		}
		else
			l.p[n++] = l.p[i];
	}
	*out = l.p;
	*nout = n;
	return 0;
}
