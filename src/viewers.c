/*-------------------------------------------------------------------------
 * viewers.c
 *		Sets of viewer ids: the aggregates analytics._viewers_count(bigint[])
 *		(how many distinct ids the arrays hold together) and
 *		analytics._viewers_union(bigint[]) (their union, sorted), over the
 *		rows of rollup_viewers_hour / _day and the arrays of raw events
 *		(README: "Derived data: rollups", unique viewers).
 *
 * Distinct counts do not add up, so a unique-viewer question reads disjoint
 * pieces of its period (days, hours, raw events) and counts the union of
 * their ids: one open-addressing hash set of int8 per group, NULL elements
 * skipped (count(DISTINCT viewer_id) ignores NULL ids). Exact: no sketch.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "analytics.h"

PG_FUNCTION_INFO_V1(analytics_viewers_transfn);
PG_FUNCTION_INFO_V1(analytics_viewers_count_final);
PG_FUNCTION_INFO_V1(analytics_viewers_union_final);

struct ViewerSet
{
	int64	   *slots;			/* 0: empty (the id 0 is has_zero) */
	uint64		mask;			/* capacity - 1, capacity a power of 2 */
	uint64		n;				/* ids in slots */
	bool		has_zero;
	MemoryContext cxt;
};


static void
set_grow(ViewerSet *s, uint64 capacity)
{
	int64	   *old = s->slots;
	uint64		oldcap = old ? s->mask + 1 : 0;
	uint64		i;

	if (capacity > MaxAllocHugeSize / sizeof(int64))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct viewer ids")));
	s->slots = MemoryContextAllocExtended(s->cxt, capacity * sizeof(int64), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	s->mask = capacity - 1;
	for (i = 0; i < oldcap; i++)
	{
		int64		v = old[i];
		uint64		h;

		if (v == 0)
			continue;
		for (h = analytics_mix64((uint64) v) & s->mask; s->slots[h] != 0; h = (h + 1) & s->mask)
			;
		s->slots[h] = v;
	}
	if (old)
		pfree(old);
}

static inline void
set_add(ViewerSet *s, int64 v)
{
	uint64		h;

	if (v == 0)
	{
		s->has_zero = true;
		return;
	}
	for (h = analytics_mix64((uint64) v) & s->mask;; h = (h + 1) & s->mask)
	{
		if (s->slots[h] == v)
			return;
		if (s->slots[h] == 0)
			break;
	}
	s->slots[h] = v;
	/* at most half full */
	if (++s->n * 2 > s->mask + 1)
		set_grow(s, (s->mask + 1) * 2);
}

/*
 * _viewers_transfn(internal, bigint[]) RETURNS internal: adds the array's
 * ids (NULL elements: nothing) to the group's set; the set exists from the
 * first array that is not NULL, empty or not (before: NULL).
 */
Datum
analytics_viewers_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	ViewerSet  *s;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "analytics._viewers_transfn called in non-aggregate context");
	if (PG_ARGISNULL(0) && PG_ARGISNULL(1))
		PG_RETURN_NULL();		/* no array yet */
	if (PG_ARGISNULL(0))
	{
		s = MemoryContextAllocZero(aggcxt, sizeof(ViewerSet));
		s->cxt = aggcxt;
		set_grow(s, 8);		/* most groups of an hour hold a few ids */
	}
	else
		s = (ViewerSet *) PG_GETARG_POINTER(0);
	if (!PG_ARGISNULL(1))
	{
		ArrayType  *a = PG_GETARG_ARRAYTYPE_P(1);
		int			n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
		/* ARR_DATA_PTR, spelled out: the macro trips -Wsign-compare */
		const int64 *v = (const int64 *) ((char *) a + (ARR_HASNULL(a) ? (Size) a->dataoffset
														: (Size) ARR_OVERHEAD_NONULLS(ARR_NDIM(a))));
		int			i;

		if (ARR_ELEMTYPE(a) != INT8OID)
			elog(ERROR, "analytics._viewers_transfn: not a bigint[]");
		if (n > 0 && (s->n + n) * 2 > s->mask + 1)
		{
			uint64		cap = s->mask + 1;

			while ((s->n + n) * 2 > cap)
				cap *= 2;
			set_grow(s, cap);
		}
		if (!ARR_HASNULL(a))
			for (i = 0; i < n; i++)
				set_add(s, v[i]);
		else
		{
			bits8	   *bitmap = ARR_NULLBITMAP(a);

			for (i = 0; i < n; i++)
				if (bitmap[i / 8] & (1 << (i % 8)))
					set_add(s, *v++);
		}
		if ((Pointer) a != PG_GETARG_POINTER(1))
			pfree(a);
	}
	PG_RETURN_POINTER(s);
}

/* _viewers_count_final(internal) RETURNS bigint: 0 for no rows */
Datum
analytics_viewers_count_final(PG_FUNCTION_ARGS)
{
	ViewerSet  *s = PG_ARGISNULL(0) ? NULL : (ViewerSet *) PG_GETARG_POINTER(0);

	PG_RETURN_INT64(s ? (int64) s->n + (s->has_zero ? 1 : 0) : 0);
}

static int
cmp_int64(const void *x, const void *y)
{
	int64		a = *(const int64 *) x,
				b = *(const int64 *) y;

	return a < b ? -1 : a > b;
}

/* the ids of a set as a bigint[], ascending ('{}' for none) */
static ArrayType *
set_array(ViewerSet *s)
{
	uint64		n;
	int64	   *ids;
	ArrayType  *a;
	uint64		i,
				k = 0;

	n = s->n + (s->has_zero ? 1 : 0);
	if (n > (uint64) MaxArraySize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct viewer ids")));
	a = (ArrayType *) palloc0(ARR_OVERHEAD_NONULLS(1) + n * sizeof(int64));
	SET_VARSIZE(a, ARR_OVERHEAD_NONULLS(1) + n * sizeof(int64));
	a->ndim = n > 0 ? 1 : 0;
	a->dataoffset = 0;
	a->elemtype = INT8OID;
	if (n == 0)
	{
		SET_VARSIZE(a, ARR_OVERHEAD_NONULLS(0));
		return a;
	}
	ARR_DIMS(a)[0] = (int) n;
	ARR_LBOUND(a)[0] = 1;
	ids = (int64 *) ((char *) a + ARR_OVERHEAD_NONULLS(1));
	if (s->has_zero)
		ids[k++] = 0;
	for (i = 0; i <= s->mask; i++)
		if (s->slots[i] != 0)
			ids[k++] = s->slots[i];
	qsort(ids, n, sizeof(int64), cmp_int64);
	return a;
}

/* _viewers_union_final(internal) RETURNS bigint[]: the ids, ascending; NULL without an array */
Datum
analytics_viewers_union_final(PG_FUNCTION_ARGS)
{
	ViewerSet  *s = PG_ARGISNULL(0) ? NULL : (ViewerSet *) PG_GETARG_POINTER(0);

	if (s == NULL)
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(set_array(s));
}

/*
 * For the refresh's pass over a day's events (src/refresh.c): a set of ids
 * in cxt, an id added, the set as _viewers_union returns it (the union of
 * ARRAY[viewer_id] over the set's events: NULL ids left out)
 */
ViewerSet *
analytics_viewer_set_new(MemoryContext cxt)
{
	ViewerSet  *s = MemoryContextAllocZero(cxt, sizeof(ViewerSet));

	s->cxt = cxt;
	set_grow(s, 8);
	return s;
}

void
analytics_viewer_set_add(ViewerSet *s, int64 v)
{
	set_add(s, v);
}

ArrayType *
analytics_viewer_set_array(ViewerSet *s)
{
	return set_array(s);
}
