/*-------------------------------------------------------------------------
 * ccv.c
 *		Concurrent viewers: the aggregate
 *
 *		analytics.ccv(started_at, ended_at, watcher uuid|bigint,
 *					  period_from, period_to) RETURNS float8[] -- {peak, average}
 *
 * Each row is one watch interval [started_at, ended_at) of a watcher.  The
 * transition function clips it to the period [period_from, period_to) (the
 * same for every row of a group) and appends it to an array; the final
 * function sorts the 2n start/end points and sweeps them, counting the
 * DISTINCT watchers active at each instant (per-watcher counters of open
 * intervals, so a watcher overlapping itself counts once):
 *
 *	 peak	 = the highest number of distinct watchers at one instant
 *	 average = integral of that number over the period / period length
 *
 * Intervals are half-open: at an instant where one interval ends and
 * another starts, the ending one is closed first.  A NULL watcher is a
 * watcher of its own for that interval.  O(n log n) time, 32 bytes per
 * interval (16 for NULL watchers) of state.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "analytics.h"
#include "ccv.h"

/* one clipped interval of a known watcher; uuids as their 16 bytes,
 * bigints as (0, value) */
typedef struct CcvInterval
{
	int64		start;			/* µs, clipped to the period */
	int64		end;
	uint64		k1;				/* 128-bit watcher key */
	uint64		k2;
} CcvInterval;

/* one clipped interval of a NULL watcher (always a distinct watcher) */
typedef struct CcvSpan
{
	int64		start;
	int64		end;
} CcvSpan;

struct CcvState
{
	bool		has_period;
	TimestampTz from;
	TimestampTz to;
	int64		n;				/* intervals of known watchers */
	int64		cap;
	CcvInterval *iv;
	int64		nnull;			/* intervals of NULL watchers */
	int64		capnull;
	CcvSpan    *nv;

	/*
	 * ccv_series only: the cell bounds (from = bounds[0], to =
	 * bounds[ncells])
	 */
	int64		ncells;
	int64	   *bounds;
	const void *bounds_seen;	/* the argument they were read from */
	Size		bounds_bytes;
};

/* serialized form: this header, then n CcvInterval, then nnull CcvSpan */
typedef struct CcvSerialHeader
{
	int64		from;
	int64		to;
	int64		n;
	int64		nnull;
	int32		has_period;
	int32		pad;
} CcvSerialHeader;

/* a start or end point of the sweep */
typedef struct CcvEvent
{
	int64		t;
	uint64		code;			/* watcher id << 1 | is_start */
} CcvEvent;

#define CCV_NULL_WATCHER (PG_UINT64_MAX >> 1)	/* id of NULL watchers */

/* watcher-µs integral: exact where a 128-bit integer exists */
#ifdef HAVE_INT128
typedef int128 ccv_integral;
#else
typedef long double ccv_integral;
#endif

/* hash table: watcher key -> dense watcher id */
typedef struct WatcherKey
{
	uint64		k1;
	uint64		k2;
} WatcherKey;

typedef struct WatcherEntry
{
	WatcherKey	key;
	int64		id;
	uint32		hash;
	char		status;
} WatcherEntry;

static inline uint32
watcher_hash(WatcherKey k)
{
	return (uint32) analytics_mix64(k.k1 ^ analytics_mix64(k.k2));
}

#define SH_PREFIX		watchers
#define SH_ELEMENT_TYPE WatcherEntry
#define SH_KEY_TYPE		WatcherKey
#define SH_KEY			key
#define SH_HASH_KEY(tb, k) watcher_hash(k)
#define SH_EQUAL(tb, a, b) ((a).k1 == (b).k1 && (a).k2 == (b).k2)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* sort points by time, ends before starts at the same time (half-open) */
static inline int
ccv_event_cmp(const CcvEvent *a, const CcvEvent *b)
{
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return (int) (a->code & 1) - (int) (b->code & 1);
}

/* a specialization of PostgreSQL's qsort with an inlined comparator */
#define ST_SORT			ccv_sort_events
#define ST_ELEMENT_TYPE CcvEvent
#define ST_COMPARE(a, b) ccv_event_cmp(a, b)
#define ST_SCOPE		static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

PG_FUNCTION_INFO_V1(analytics_ccv_transfn_uuid);
PG_FUNCTION_INFO_V1(analytics_ccv_transfn_bigint);
PG_FUNCTION_INFO_V1(analytics_ccv_combine);
PG_FUNCTION_INFO_V1(analytics_ccv_serialize);
PG_FUNCTION_INFO_V1(analytics_ccv_deserialize);
PG_FUNCTION_INFO_V1(analytics_ccv_final);
PG_FUNCTION_INFO_V1(analytics_ccv_series_transfn_uuid);
PG_FUNCTION_INFO_V1(analytics_ccv_series_transfn_bigint);
PG_FUNCTION_INFO_V1(analytics_ccv_series_final);

/* make room for "more" further elements of size "elsize" in *arr */
static void *
grow_array(MemoryContext cxt, void *arr, int64 *cap, int64 n, int64 more, Size elsize)
{
	int64		newcap;

	if (n + more <= *cap)
		return arr;
	newcap = Max(*cap * 2, 64);
	while (newcap < n + more)
		newcap *= 2;
	if ((Size) newcap > MaxAllocHugeSize / elsize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many intervals for ccv")));
	*cap = newcap;
	if (arr == NULL)
		return MemoryContextAllocHuge(cxt, (Size) newcap * elsize);
	return repalloc_huge(arr, (Size) newcap * elsize);
}

/* a timestamp for a message (timestamptz_to_str returns a static buffer) */
static char *
ts_str(TimestampTz t)
{
	return pstrdup(timestamptz_to_str(t));
}

static void
check_same_period(CcvState *state, TimestampTz from, TimestampTz to)
{
	if (state->from != from || state->to != to)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ccv period differs within a group: [%s, %s) and [%s, %s)",
						ts_str(state->from), ts_str(state->to),
						ts_str(from), ts_str(to)),
				 errhint("period_from and period_to must be the same for all rows aggregated together.")));
}

/* add the interval [start, end) of a watcher (NULL: a watcher of its own),
 * clipped to the state's period */
static void
ccv_add(MemoryContext aggcontext, CcvState *state, TimestampTz start, TimestampTz end,
		bool null_watcher, uint64 k1, uint64 k2)
{
	start = Max(start, state->from);
	end = Min(end, state->to);
	if (start >= end)			/* empty, negative, or outside the period */
		return;

	if (null_watcher)
	{
		state->nv = grow_array(aggcontext, state->nv, &state->capnull, state->nnull, 1,
							   sizeof(CcvSpan));
		state->nv[state->nnull].start = start;
		state->nv[state->nnull].end = end;
		state->nnull++;
	}
	else
	{
		CcvInterval *iv;

		state->iv = grow_array(aggcontext, state->iv, &state->cap, state->n, 1,
							   sizeof(CcvInterval));
		iv = &state->iv[state->n++];
		iv->start = start;
		iv->end = end;
		iv->k1 = k1;
		iv->k2 = k2;
	}
}

/* add the row's interval (arguments 1 to 3), clipped to the state's period */
static void
ccv_add_interval(FunctionCallInfo fcinfo, MemoryContext aggcontext, CcvState *state, bool uuid_watcher)
{
	uint64		k1 = 0,
				k2 = 0;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		return;
	if (!PG_ARGISNULL(3))
	{
		if (uuid_watcher)
		{
			pg_uuid_t  *u = PG_GETARG_UUID_P(3);

			memcpy(&k1, u->data, 8);
			memcpy(&k2, u->data + 8, 8);
		}
		else
			k2 = (uint64) PG_GETARG_INT64(3);
	}
	ccv_add(aggcontext, state, PG_GETARG_TIMESTAMPTZ(1), PG_GETARG_TIMESTAMPTZ(2),
			PG_ARGISNULL(3), k1, k2);
}

static Datum
ccv_transfn(FunctionCallInfo fcinfo, bool uuid_watcher)
{
	MemoryContext aggcontext = analytics_aggregate_context(fcinfo, "ccv_transfn");
	CcvState   *state = PG_ARGISNULL(0) ? NULL : (CcvState *) PG_GETARG_POINTER(0);
	TimestampTz from,
				to;

	if (PG_ARGISNULL(4) || PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid ccv period: period_from and period_to must not be NULL")));
	from = PG_GETARG_TIMESTAMPTZ(4);
	to = PG_GETARG_TIMESTAMPTZ(5);
	if (TIMESTAMP_NOT_FINITE(from) || TIMESTAMP_NOT_FINITE(to))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid ccv period: [%s, %s) is not finite",
						ts_str(from), ts_str(to))));
	if (from >= to)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid ccv period: period_from %s must be before period_to %s",
						ts_str(from), ts_str(to))));

	if (state == NULL)
	{
		state = (CcvState *) MemoryContextAllocZero(aggcontext, sizeof(CcvState));
		state->has_period = true;
		state->from = from;
		state->to = to;
	}
	else
		check_same_period(state, from, to);

	ccv_add_interval(fcinfo, aggcontext, state, uuid_watcher);
	PG_RETURN_POINTER(state);
}

/* ccv_transfn(internal, timestamptz, timestamptz, uuid, timestamptz, timestamptz) */
Datum
analytics_ccv_transfn_uuid(PG_FUNCTION_ARGS)
{
	return ccv_transfn(fcinfo, true);
}

/* ccv_transfn(internal, timestamptz, timestamptz, bigint, timestamptz, timestamptz) */
Datum
analytics_ccv_transfn_bigint(PG_FUNCTION_ARGS)
{
	return ccv_transfn(fcinfo, false);
}

/* append the intervals of src to dst (dst in cxt) */
static void
ccv_append(MemoryContext cxt, CcvState *dst, const CcvState *src)
{
	if (src->n > 0)
	{
		dst->iv = grow_array(cxt, dst->iv, &dst->cap, dst->n, src->n, sizeof(CcvInterval));
		memcpy(dst->iv + dst->n, src->iv, (Size) src->n * sizeof(CcvInterval));
		dst->n += src->n;
	}
	if (src->nnull > 0)
	{
		dst->nv = grow_array(cxt, dst->nv, &dst->capnull, dst->nnull, src->nnull, sizeof(CcvSpan));
		memcpy(dst->nv + dst->nnull, src->nv, (Size) src->nnull * sizeof(CcvSpan));
		dst->nnull += src->nnull;
	}
}

/* ccv_combine(internal, internal) RETURNS internal: concatenation */
Datum
analytics_ccv_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = analytics_aggregate_context(fcinfo, "ccv_combine");
	CcvState   *state1 = PG_ARGISNULL(0) ? NULL : (CcvState *) PG_GETARG_POINTER(0);
	CcvState   *state2 = PG_ARGISNULL(1) ? NULL : (CcvState *) PG_GETARG_POINTER(1);

	if (state2 == NULL)
	{
		if (state1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state1);
	}
	if (state1 == NULL)
	{
		/* state2 may live in a shorter-lived context: copy it */
		state1 = (CcvState *) MemoryContextAllocZero(aggcontext, sizeof(CcvState));
		state1->has_period = state2->has_period;
		state1->from = state2->from;
		state1->to = state2->to;
	}
	else if (state1->has_period && state2->has_period)
		check_same_period(state1, state2->from, state2->to);
	else if (state2->has_period)
	{
		state1->has_period = true;
		state1->from = state2->from;
		state1->to = state2->to;
	}
	ccv_append(aggcontext, state1, state2);
	PG_RETURN_POINTER(state1);
}

/* ccv_serialize(internal) RETURNS bytea */
Datum
analytics_ccv_serialize(PG_FUNCTION_ARGS)
{
	CcvState   *state;
	CcvSerialHeader hdr;
	Size		ivbytes,
				nvbytes,
				total;
	bytea	   *result;
	char	   *p;

	(void) analytics_aggregate_context(fcinfo, "ccv_serialize");
	state = (CcvState *) PG_GETARG_POINTER(0);
	ivbytes = (Size) state->n * sizeof(CcvInterval);
	nvbytes = (Size) state->nnull * sizeof(CcvSpan);
	total = VARHDRSZ + sizeof(CcvSerialHeader) + ivbytes + nvbytes;
	if (total > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("ccv partial state too large to pass between parallel processes (%lld intervals)",
						(long long) (state->n + state->nnull)),
				 errhint("Run this query without parallelism (max_parallel_workers_per_gather = 0).")));

	memset(&hdr, 0, sizeof(hdr));
	hdr.from = state->from;
	hdr.to = state->to;
	hdr.n = state->n;
	hdr.nnull = state->nnull;
	hdr.has_period = state->has_period ? 1 : 0;

	result = (bytea *) palloc(total);
	SET_VARSIZE(result, total);
	p = VARDATA(result);
	memcpy(p, &hdr, sizeof(hdr));
	p += sizeof(hdr);
	if (ivbytes > 0)
		memcpy(p, state->iv, ivbytes);
	p += ivbytes;
	if (nvbytes > 0)
		memcpy(p, state->nv, nvbytes);
	PG_RETURN_BYTEA_P(result);
}

/* ccv_deserialize(bytea, internal) RETURNS internal */
Datum
analytics_ccv_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *data;
	CcvSerialHeader hdr;
	CcvState   *state;
	const char *p;
	Size		len;

	(void) analytics_aggregate_context(fcinfo, "ccv_deserialize");
	data = PG_GETARG_BYTEA_PP(0);
	len = VARSIZE_ANY_EXHDR(data);
	p = VARDATA_ANY(data);
	if (len < sizeof(hdr))
		goto bad;
	memcpy(&hdr, p, sizeof(hdr));
	p += sizeof(hdr);
	if (hdr.n < 0 || hdr.nnull < 0 ||
		(Size) hdr.n > (len - sizeof(hdr)) / sizeof(CcvInterval) ||
		(Size) hdr.nnull > (len - sizeof(hdr)) / sizeof(CcvSpan) ||
		len != sizeof(hdr) + (Size) hdr.n * sizeof(CcvInterval) + (Size) hdr.nnull * sizeof(CcvSpan))
		goto bad;

	state = (CcvState *) palloc0(sizeof(CcvState));
	state->has_period = hdr.has_period != 0;
	state->from = hdr.from;
	state->to = hdr.to;
	state->n = state->cap = hdr.n;
	state->nnull = state->capnull = hdr.nnull;
	if (hdr.n > 0)
	{
		state->iv = palloc_extended((Size) hdr.n * sizeof(CcvInterval), MCXT_ALLOC_HUGE);
		memcpy(state->iv, p, (Size) hdr.n * sizeof(CcvInterval));
		p += (Size) hdr.n * sizeof(CcvInterval);
	}
	if (hdr.nnull > 0)
	{
		state->nv = palloc_extended((Size) hdr.nnull * sizeof(CcvSpan), MCXT_ALLOC_HUGE);
		memcpy(state->nv, p, (Size) hdr.nnull * sizeof(CcvSpan));
	}
	PG_RETURN_POINTER(state);

bad:
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid ccv state: %zu bytes", len)));
	PG_RETURN_NULL();			/* keep the compiler quiet */
}

/* {peak, average} as a float8[2] */
static Datum
ccv_result(double peak, double average)
{
	Datum		elems[2];

	elems[0] = Float8GetDatum(peak);
	elems[1] = Float8GetDatum(average);
	return PointerGetDatum(construct_array(elems, 2, FLOAT8OID, sizeof(float8),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * The sweep over cells: the 2n start/end points of the state's intervals
 * (already clipped to [bounds[0], bounds[ncells])) sorted once, then one
 * ordered pass that crosses the cell boundaries bounds[1..ncells-1] as it
 * goes.  peak[c] is the highest number of distinct watchers at one instant
 * of [bounds[c], bounds[c+1]), integral[c] the watcher-µs in it: exactly
 * what the sweep of the intervals clipped to that cell alone gives (the
 * number of watchers at an instant does not depend on clipping), in
 * O(n log n + ncells) instead of one pass over the intervals per cell.
 */
static void
ccv_sweep(CcvState *state, const int64 *bounds, int64 ncells,
		  int64 *peak, ccv_integral *integral)
{
	int64		nev,
				nwatchers = 0,
				i,
				j,
				c;
	CcvEvent   *ev;
	int64	   *open;			/* open intervals per watcher id */
	watchers_hash *ht;
	int64		active = 0;
	int64		cur;

	for (c = 0; c < ncells; c++)
	{
		peak[c] = 0;
		integral[c] = 0;
	}
	if (state == NULL || state->n + state->nnull == 0)
		return;

	/*
	 * Points: one start and one end per interval, tagged with the dense id of
	 * the watcher (hash table lookup once per interval).  Everything is
	 * allocated in the current (per-call) context: the state is left as is.
	 */
	nev = 2 * (state->n + state->nnull);
	if ((Size) nev > MaxAllocHugeSize / sizeof(CcvEvent))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many intervals for ccv")));
	ev = palloc_extended((Size) nev * sizeof(CcvEvent), MCXT_ALLOC_HUGE);
	ht = watchers_create(CurrentMemoryContext, (uint32) Min(state->n, (int64) 65536), NULL);
	j = 0;
	for (i = 0; i < state->n; i++)
	{
		const CcvInterval *iv = &state->iv[i];
		WatcherKey	key;
		WatcherEntry *e;
		bool		found;

		key.k1 = iv->k1;
		key.k2 = iv->k2;
		e = watchers_insert(ht, key, &found);
		if (!found)
			e->id = nwatchers++;
		ev[j].t = iv->start;
		ev[j++].code = ((uint64) e->id << 1) | 1;
		ev[j].t = iv->end;
		ev[j++].code = (uint64) e->id << 1;
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	watchers_destroy(ht);
	for (i = 0; i < state->nnull; i++)
	{
		ev[j].t = state->nv[i].start;
		ev[j++].code = (CCV_NULL_WATCHER << 1) | 1;
		ev[j].t = state->nv[i].end;
		ev[j++].code = CCV_NULL_WATCHER << 1;
	}
	Assert(j == nev);

	CHECK_FOR_INTERRUPTS();
	ccv_sort_events(ev, (size_t) nev);
	CHECK_FOR_INTERRUPTS();

	/*
	 * Sweep: after all points at time t are applied, "active" distinct
	 * watchers are watching during [t, next t).  "cur" is the time up to
	 * which cell c's integral is summed; when the next point lies at or after
	 * the end of cell c, the cell is closed and the next one opens with the
	 * count that holds at its start (unless points fall exactly on that
	 * start: their count is recorded when they are applied).
	 */
	open = palloc_extended((Size) Max(nwatchers, 1) * sizeof(int64),
						   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	i = 0;
	c = 0;
	cur = bounds[0];
	while (c < ncells)
	{
		int64		cell_end = bounds[c + 1];

		if (i < nev && ev[i].t < cell_end)
		{
			int64		t = ev[i].t;

			integral[c] += (ccv_integral) active * ((ccv_integral) t - (ccv_integral) cur);
			cur = t;
			for (; i < nev && ev[i].t == t; i++)
			{
				uint64		id = ev[i].code >> 1;
				bool		is_start = (ev[i].code & 1) != 0;

				if (id == CCV_NULL_WATCHER)
					active += is_start ? 1 : -1;
				else if (is_start)
				{
					if (open[id]++ == 0)
						active++;
				}
				else
				{
					if (--open[id] == 0)
						active--;
				}
			}
			if (active > peak[c])
				peak[c] = active;
			if ((i & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		else
		{
			integral[c] += (ccv_integral) active * ((ccv_integral) cell_end - (ccv_integral) cur);
			cur = cell_end;
			c++;
			if (c < ncells && !(i < nev && ev[i].t == cur) && active > peak[c])
				peak[c] = active;
		}
	}
	Assert(c == ncells);
	pfree(open);
	pfree(ev);
}

/* ccv_final(internal) RETURNS float8[]: {peak, average}, {0, 0} when empty */
Datum
analytics_ccv_final(PG_FUNCTION_ARGS)
{
	CcvState   *state;
	int64		bounds[2];
	int64		peak;
	ccv_integral integral;

	(void) analytics_aggregate_context(fcinfo, "ccv_final");
	state = PG_ARGISNULL(0) ? NULL : (CcvState *) PG_GETARG_POINTER(0);
	if (state == NULL || state->n + state->nnull == 0)
		PG_RETURN_DATUM(ccv_result(0, 0));
	bounds[0] = state->from;
	bounds[1] = state->to;
	ccv_sweep(state, bounds, 1, &peak, &integral);

	PG_RETURN_DATUM(ccv_result((double) peak,
							   (double) integral /
							   (double) ((ccv_integral) state->to - (ccv_integral) state->from)));
}

/*
 * analytics._ccv_series(started_at, ended_at, watcher uuid|bigint, bounds timestamptz[])
 *		RETURNS float8[] -- {peak_1, average_1, peak_2, average_2, ...}
 *
 * The concurrent viewers of each cell [bounds[i], bounds[i+1]) of a series
 * (bounds strictly increasing, the same for every row of a group): for each
 * cell exactly what analytics.ccv(started_at, ended_at, watcher,
 * bounds[i], bounds[i+1]) gives, from one sort and one sweep of all the
 * intervals (src/ccv.c, ccv_sweep).  NULL when no row was aggregated.
 */
static void
ccv_series_bounds(FunctionCallInfo fcinfo, MemoryContext aggcontext, CcvState *state)
{
	Datum		d = PG_GETARG_DATUM(4);
	ArrayType  *arr;
	int			n;
	const int64 *v;
	int64		i;

	if (state->bounds != NULL && (const void *) DatumGetPointer(d) == state->bounds_seen)
		return;
	arr = DatumGetArrayTypeP(d);
	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (ARR_ELEMTYPE(arr) != TIMESTAMPTZOID || ARR_NDIM(arr) != 1 || ARR_HASNULL(arr) || n < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid ccv_series bounds: %d elements", n),
				 errhint("bounds is a one-dimensional timestamptz array of at least 2 elements, without NULLs.")));
	v = (const int64 *) ((const char *) arr + ARR_OVERHEAD_NONULLS(1)); /* no NULLs */
	if (state->bounds != NULL)
	{
		if (n != state->ncells + 1 ||
			memcmp(v, state->bounds, (Size) n * sizeof(int64)) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ccv_series bounds differ within a group"),
					 errhint("bounds must be the same for all rows aggregated together.")));
		state->bounds_seen = DatumGetPointer(d);
		return;
	}
	for (i = 0; i < n; i++)
	{
		if (TIMESTAMP_NOT_FINITE(v[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid ccv_series bounds: %s is not finite", ts_str(v[i]))));
		if (i > 0 && v[i - 1] >= v[i])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid ccv_series bounds: %s is not before %s",
							ts_str(v[i - 1]), ts_str(v[i])),
					 errhint("bounds must be strictly increasing.")));
	}
	state->ncells = n - 1;
	state->bounds = MemoryContextAllocHuge(aggcontext, (Size) n * sizeof(int64));
	memcpy(state->bounds, v, (Size) n * sizeof(int64));
	state->bounds_seen = DatumGetPointer(d);
	state->has_period = true;
	state->from = v[0];
	state->to = v[n - 1];
}

static Datum
ccv_series_transfn(FunctionCallInfo fcinfo, bool uuid_watcher)
{
	MemoryContext aggcontext = analytics_aggregate_context(fcinfo, "ccv_series_transfn");
	CcvState   *state = PG_ARGISNULL(0) ? NULL : (CcvState *) PG_GETARG_POINTER(0);

	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid ccv_series bounds: NULL")));
	if (state == NULL)
		state = (CcvState *) MemoryContextAllocZero(aggcontext, sizeof(CcvState));
	ccv_series_bounds(fcinfo, aggcontext, state);
	ccv_add_interval(fcinfo, aggcontext, state, uuid_watcher);
	PG_RETURN_POINTER(state);
}

/* ccv_series_transfn(internal, timestamptz, timestamptz, uuid, timestamptz[]) */
Datum
analytics_ccv_series_transfn_uuid(PG_FUNCTION_ARGS)
{
	return ccv_series_transfn(fcinfo, true);
}

/* ccv_series_transfn(internal, timestamptz, timestamptz, bigint, timestamptz[]) */
Datum
analytics_ccv_series_transfn_bigint(PG_FUNCTION_ARGS)
{
	return ccv_series_transfn(fcinfo, false);
}

/* ccv_series_final(internal) RETURNS float8[] */
Datum
analytics_ccv_series_final(PG_FUNCTION_ARGS)
{
	CcvState   *state;
	int64	   *peak;
	ccv_integral *integral;
	Datum	   *elems;
	int64		c;

	(void) analytics_aggregate_context(fcinfo, "ccv_series_final");
	state = PG_ARGISNULL(0) ? NULL : (CcvState *) PG_GETARG_POINTER(0);
	if (state == NULL || state->bounds == NULL)
		PG_RETURN_NULL();
	if (state->ncells > (int64) (MaxAllocSize / sizeof(Datum) / 2))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many ccv_series cells: %lld", (long long) state->ncells)));
	peak = palloc((Size) state->ncells * sizeof(int64));
	integral = palloc((Size) state->ncells * sizeof(ccv_integral));
	ccv_sweep(state, state->bounds, state->ncells, peak, integral);

	elems = palloc((Size) state->ncells * 2 * sizeof(Datum));
	for (c = 0; c < state->ncells; c++)
	{
		elems[2 * c] = Float8GetDatum((double) peak[c]);
		elems[2 * c + 1] = Float8GetDatum((double) integral[c] /
										  (double) ((ccv_integral) state->bounds[c + 1] -
													(ccv_integral) state->bounds[c]));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, (int) (state->ncells * 2), FLOAT8OID, sizeof(float8),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * For the rollup refresh (refresh.c): the state of a series over the cells
 * [bounds[i], bounds[i+1]) (bounds kept, not copied), intervals added one by
 * one, and each cell's {peak, average} exactly as _ccv_series_final gives it.
 */
CcvState *
analytics_ccv_series_new(MemoryContext cxt, const int64 *bounds, int64 ncells)
{
	CcvState   *state = (CcvState *) MemoryContextAllocZero(cxt, sizeof(CcvState));

	state->has_period = true;
	state->ncells = ncells;
	state->bounds = (int64 *) bounds;
	state->from = bounds[0];
	state->to = bounds[ncells];
	return state;
}

void
analytics_ccv_series_add(MemoryContext cxt, CcvState *state, TimestampTz start, TimestampTz end,
						 const pg_uuid_t *uuid, bool has_bigint, int64 bigint)
{
	uint64		k1 = 0,
				k2 = 0;

	if (uuid)
	{
		memcpy(&k1, uuid->data, 8);
		memcpy(&k2, uuid->data + 8, 8);
	}
	else if (has_bigint)
		k2 = (uint64) bigint;
	ccv_add(cxt, state, start, end, uuid == NULL && !has_bigint, k1, k2);
}

void
analytics_ccv_series_values(CcvState *state, int64 *peak, double *average)
{
	ccv_integral *integral = palloc((Size) state->ncells * sizeof(ccv_integral));
	int64		c;

	ccv_sweep(state, state->bounds, state->ncells, peak, integral);
	for (c = 0; c < state->ncells; c++)
		average[c] = (double) integral[c] /
			(double) ((ccv_integral) state->bounds[c + 1] - (ccv_integral) state->bounds[c]);
	pfree(integral);
}
