/*-------------------------------------------------------------------------
 * refresh.c
 *		The rollup refresh's reads of raw events on a single node (README:
 *		"Derived data: rollups"; src/sql/rollups.sql, _rollup_refresh_scope).
 *
 * analytics._rollup_hour_rows(hrs, pid): one pass over the events of the
 * given hours (of one day) that fills every hour-level rollup at once, in
 * hash tables of this file: the project per 5 minutes, media ids per
 * hour, the referrer cube per hour; then the cube, the referrers and the
 * longest watch event per hour as the sums of the referrer cube's groups,
 * and the other one-dimension hour rows (the whole project, media type,
 * continent, country, device type, operating system, browser) and the
 * device cube (the cube without continent and country) as the sums of the
 * hour's cube groups; and from the same pass the viewer ids of
 * the view events per hour and cube combination, one set per view duration
 * (rollup_viewers_hour, as _viewers_union gives them: sorted, NULL ids left
 * out, NULL for a duration without a view). The rows come back as one set,
 * which the refresh inserts into the tables.
 *
 * analytics._rollup_ccv_rows(hrs, pid): the per-minute concurrent viewers
 * of the given hours (rollup_ccv), from one read of the watch events that
 * overlap them and one sweep per project and per live stream (src/ccv.c).
 *
 * Every row is what the SQL form of the refresh (kept for a distributed
 * layout) gives: each group adds its events in the order the scan returns
 * them, with the transition of analytics.event_stats; the sums add the
 * finer groups in the order they are returned (and stored); a minute's
 * ccv is the sweep of analytics._ccv_series. The events are read with
 * SPI, planned for the values, and handed to this file row by row (a
 * DestReceiver: no copy of the rows).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "tcop/dest.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "analytics.h"
#include "catalog.h"
#include "ccv.h"

PG_FUNCTION_INFO_V1(analytics_rollup_hour_rows);
PG_FUNCTION_INFO_V1(analytics_rollup_ccv_rows);

/* ---- groups: serialized keys in a hash table, kept in insertion order ---- */

#define G_MAXCOLS 8

typedef struct RGroup
{
	uint32		hash;
	int			keylen;
	char	   *key;
	TimestampTz bucket;
	Datum		vals[G_MAXCOLS];
	bool		nulls[G_MAXCOLS];
	float8		v[CAT_ES_NELEMS];
	bool		has_max;
	float8		max;
	void	   *extra;
} RGroup;

typedef struct RGroupTable
{
	MemoryContext cxt;
	RGroup	  **groups;			/* in insertion order */
	int			n;
	int			cap;
	uint64	   *slots;			/* hash << 32 | group index + 1; 0: empty */
	uint32		mask;
} RGroupTable;

/* a key being built: a buffer that grows */
typedef struct KeyBuf
{
	char	   *data;
	int			len;
	int			cap;
} KeyBuf;

static void
kb_init(KeyBuf *kb)
{
	kb->cap = 1024;
	kb->len = 0;
	kb->data = palloc(kb->cap);
}

static pg_noinline void
kb_grow(KeyBuf *kb, int more)
{
	while (kb->len + more > kb->cap)
	{
		if (kb->cap >= (int) (MaxAllocSize / 2))
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("rollup group key too long")));
		kb->cap *= 2;
	}
	kb->data = repalloc(kb->data, kb->cap);
}

static inline void
kb_put(KeyBuf *kb, const void *p, int len)
{
	if (unlikely(kb->len + len > kb->cap))
		kb_grow(kb, len);
	memcpy(kb->data + kb->len, p, len);
	kb->len += len;
}

static void
gt_init(RGroupTable *t, MemoryContext cxt)
{
	t->cxt = cxt;
	t->n = 0;
	t->cap = 1024;
	t->groups = MemoryContextAlloc(cxt, t->cap * sizeof(RGroup *));
	t->mask = 2048 - 1;
	t->slots = MemoryContextAllocZero(cxt, (t->mask + 1) * sizeof(uint64));
}

static void
gt_grow(RGroupTable *t)
{
	uint32		nslots = (t->mask + 1) * 2;
	uint64	   *slots;
	int			i;

	if (nslots > (uint32) (MaxAllocHugeSize / sizeof(uint64)) || nslots == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many rollup groups in one refresh pass")));
	slots = MemoryContextAllocExtended(t->cxt, (Size) nslots * sizeof(uint64), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (i = 0; i < t->n; i++)
	{
		uint32		s = t->groups[i]->hash & (nslots - 1);

		while (slots[s] != 0)
			s = (s + 1) & (nslots - 1);
		slots[s] = ((uint64) t->groups[i]->hash << 32) | (uint32) (i + 1);
	}
	pfree(t->slots);
	t->slots = slots;
	t->mask = nslots - 1;
}

/* the group of key kb; *isnew when it was made (its values to be set) */
static RGroup *
gt_lookup(RGroupTable *t, KeyBuf *kb, bool *isnew)
{
	uint32		hash = hash_bytes((const unsigned char *) kb->data, kb->len);
	uint32		s = hash & t->mask;
	RGroup	   *g;

	for (;;)
	{
		uint64		slot = t->slots[s];

		if (slot == 0)
			break;
		if ((uint32) (slot >> 32) == hash)
		{
			g = t->groups[(uint32) slot - 1];
			if (g->keylen == kb->len && memcmp(g->key, kb->data, kb->len) == 0)
			{
				*isnew = false;
				return g;
			}
		}
		s = (s + 1) & t->mask;
	}
	g = MemoryContextAllocZero(t->cxt, sizeof(RGroup));
	g->hash = hash;
	g->keylen = kb->len;
	g->key = MemoryContextAlloc(t->cxt, kb->len);
	memcpy(g->key, kb->data, kb->len);
	if (t->n == t->cap)
	{
		t->cap *= 2;
		t->groups = repalloc_huge(t->groups, (Size) t->cap * sizeof(RGroup *));
	}
	t->groups[t->n++] = g;
	t->slots[s] = ((uint64) hash << 32) | (uint32) t->n;
	if ((uint32) t->n * 2 > t->mask)
		gt_grow(t);
	*isnew = true;
	return g;
}

/* key parts: a null flag, then the value */
static inline void
key_text(KeyBuf *kb, Datum d, bool isnull)
{
	if (isnull)
	{
		int32		none = -1;

		kb_put(kb, &none, sizeof(none));
	}
	else
	{
		struct varlena *v = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(d));
		int32		len = VARSIZE_ANY_EXHDR(v);

		kb_put(kb, &len, sizeof(len));
		kb_put(kb, VARDATA_ANY(v), len);
	}
}

static inline void
key_int64(KeyBuf *kb, int64 x, bool isnull)
{
	char		flag = isnull ? 0 : 1;

	kb_put(kb, &flag, 1);
	if (!isnull)
		kb_put(kb, &x, sizeof(x));
}

/* a copy of a text datum in the groups' context (a plain 4-byte header) */
static Datum
copy_text(MemoryContext cxt, Datum d)
{
	struct varlena *v = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(d));
	int32		len = VARSIZE_ANY_EXHDR(v);
	text	   *t = MemoryContextAlloc(cxt, VARHDRSZ + len);

	SET_VARSIZE(t, VARHDRSZ + len);
	memcpy(VARDATA(t), VARDATA_ANY(v), len);
	return PointerGetDatum(t);
}

/* date_bin(stride, ts, 2000-01-01), as SQL computes it, the last bin kept */
typedef struct BinCache
{
	int64		stride;
	bool		valid;
	TimestampTz lo;				/* [lo, lo + stride) bins to lo */
} BinCache;

static TimestampTz
bin(BinCache *c, TimestampTz ts)
{
	Interval	iv;
	TimestampTz b;

	if (c->valid && ts >= c->lo && ts - c->lo < c->stride)
		return c->lo;
	iv.time = c->stride;
	iv.day = 0;
	iv.month = 0;
	b = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_bin, IntervalPGetDatum(&iv),
												TimestampTzGetDatum(ts), TimestampTzGetDatum(0)));
	/* the bins of the epoch and after are [b, b + stride) */
	c->valid = b >= 0 && ts >= b && ts - b < c->stride;
	c->lo = b;
	return b;
}

/* the hours to read: sorted, and the range [lo, hi) they span */
typedef struct Hours
{
	TimestampTz *h;
	int			n;
	TimestampTz lo;
	TimestampTz hi;
	TimestampTz last;			/* the last hour looked up, and its answer */
	bool		last_in;
	bool		last_valid;
} Hours;

/* false when the array holds no hour */
static bool
hours_init(Hours *hs, ArrayType *arr)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;

	deconstruct_array(arr, TIMESTAMPTZOID, sizeof(TimestampTz), true, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	hs->h = palloc(Max(n, 1) * sizeof(TimestampTz));
	hs->n = 0;
	for (i = 0; i < n; i++)
		if (!nulls[i] && !TIMESTAMP_NOT_FINITE(DatumGetTimestampTz(elems[i])))
			hs->h[hs->n++] = DatumGetTimestampTz(elems[i]);
	if (hs->n == 0)
		return false;
	qsort(hs->h, hs->n, sizeof(TimestampTz), analytics_ts_cmp);
	hs->lo = hs->h[0];
	hs->hi = hs->h[hs->n - 1] + CAT_USECS_PER_HOUR;
	hs->last_valid = false;
	return true;
}

static bool
hours_has(Hours *hs, TimestampTz h)
{
	if (!hs->last_valid || hs->last != h)
	{
		hs->last = h;
		hs->last_in = bsearch(&h, hs->h, hs->n, sizeof(TimestampTz), analytics_ts_cmp) != NULL;
		hs->last_valid = true;
	}
	return hs->last_in;
}

/* the label of an enum value as text (in cxt), a few labels cached */
typedef struct EnumLabels
{
	int			n;
	Oid			oids[64];
	Datum		labels[64];
} EnumLabels;

static Datum
enum_label(EnumLabels *el, MemoryContext cxt, Oid oid)
{
	HeapTuple	tup;
	Datum		label;
	MemoryContext old;
	int			i;

	for (i = 0; i < el->n; i++)
		if (el->oids[i] == oid)
			return el->labels[i];
	tup = SearchSysCache1(ENUMOID, ObjectIdGetDatum(oid));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid internal value for enum: %u", oid)));
	old = MemoryContextSwitchTo(cxt);
	label = CStringGetTextDatum(NameStr(((Form_pg_enum) GETSTRUCT(tup))->enumlabel));
	MemoryContextSwitchTo(old);
	ReleaseSysCache(tup);
	if (el->n < (int) lengthof(el->oids))
	{
		el->oids[el->n] = oid;
		el->labels[el->n] = label;
		el->n++;
	}
	return label;
}

/* run sql with parameters $1 (timestamptz), $2 (timestamptz), $3 (text), rows to dest */
static void
read_events(const char *sql, TimestampTz lo, TimestampTz hi, text *pid, DestReceiver *dest)
{
	ParamListInfo params = makeParamList(3);
	SPIExecuteOptions options;
	int			rc;
	int			nest;
	GucContext	ctx;

	params->params[0].value = TimestampTzGetDatum(lo);
	params->params[0].isnull = false;
	params->params[0].ptype = TIMESTAMPTZOID;
	params->params[1].value = TimestampTzGetDatum(hi);
	params->params[1].isnull = false;
	params->params[1].ptype = TIMESTAMPTZOID;
	params->params[2].value = PointerGetDatum(pid);
	params->params[2].isnull = pid == NULL;
	params->params[2].ptype = TEXTOID;
	params->params[0].pflags = params->params[1].pflags = params->params[2].pflags = PARAM_FLAG_CONST;
	memset(&options, 0, sizeof(options));
	options.params = params;
	options.read_only = true;
	options.dest = dest;

	/*
	 * One process reads the rows in the order they are stored, as the SQL
	 * form's scan does (each group adds its events in that order): no
	 * parallel workers. The day partitions' BRIN indexes find the hours
	 * read: after a bulk load the planner has no statistics of a new
	 * partition yet, and would read every partition in range whole (the
	 * watch events of an hour also look into the next one). Undone at the
	 * end of the call, or by the abort of its (sub)transaction.
	 */
	nest = NewGUCNestLevel();
	ctx = superuser() ? PGC_SUSET : PGC_USERSET;
	(void) set_config_option("max_parallel_workers_per_gather", "0", ctx, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_seqscan", "off", ctx, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	rc = SPI_execute_extended(sql, &options);
	AtEOXact_GUC(true, nest);
	/* SPI_OK_UTILITY: a SELECT whose rows went to a receiver of ours */
	if (rc != SPI_OK_SELECT && rc != SPI_OK_UTILITY)
		elog(ERROR, "analytics: rollup refresh read failed: %s", SPI_result_code_string(rc));
}

/* read_events with the scans' filter f (analytics_scan_filter) in place */
static void
read_filtered(const char *sql, TimestampTz lo, TimestampTz hi, text *pid, DestReceiver *dest,
			  AnalyticsScanFilter *f)
{
	/*
	 * blocks before the first one a new row went to are not read when no
	 * hour is read whole (a hour read whole has rows anywhere)
	 */
	f->skip_blocks = f->blocks_known;
	for (int i = 0; i < f->nhours; i++)
		if (!f->incremental[i])
			f->skip_blocks = false;
	analytics_scan_filter = f;
	PG_TRY();
	{
		read_events(sql, lo, hi, pid, dest);
	}
	PG_FINALLY();
	{
		analytics_scan_filter = NULL;
	}
	PG_END_TRY();
	elog(DEBUG1, "analytics refresh: new rows read of %d hours, %llu rows and %llu blocks left out",
		 f->nincremental, (unsigned long long) f->skipped, (unsigned long long) f->skipped_blocks);
}

static void
dest_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
dest_shutdown(DestReceiver *self)
{
}

static void
dest_destroy(DestReceiver *self)
{
}

/* a receiver of the rows of a read into a pass: receive, the rest no-ops */
static void
dest_init(DestReceiver *d, bool (*receive) (TupleTableSlot *, DestReceiver *))
{
	d->receiveSlot = receive;
	d->rStartup = dest_startup;
	d->rShutdown = dest_shutdown;
	d->rDestroy = dest_destroy;
	d->mydest = DestNone;
}

/* ---- the hour pass ---- */

/* the columns read, in this order */
enum
{
	E_PROJECT, E_EMITTED_AT, E_EVENT_TYPE, E_VALUE, E_MEDIA_ID, E_MEDIA_TYPE, E_REFERRER,
	E_CONTINENT, E_COUNTRY, E_DEVICE_TYPE, E_OS, E_BROWSER, E_VIEWER, E_NCOLS
};

/* a group's viewer ids per view duration (NULL: no view of that duration) */
typedef struct ViewerGroup
{
	ViewerSet  *sets[CAT_ES_NTHRESHOLDS];
} ViewerGroup;

/* the cube's columns in the groups' vals, after the project */
#define CUBE_FIRST E_MEDIA_TYPE

typedef struct HourPass
{
	DestReceiver pub;
	FunctionCallInfo fcinfo;	/* the event type cache */
	Hours		hours;
	BinCache	hbin;
	BinCache	m5bin;
	RGroupTable	m5;
	RGroupTable	media;
	RGroupTable	ref;
	RGroupTable	cube;
	RGroupTable	refcube;
	RGroupTable	devcube;
	RGroupTable	viewers;
	RGroupTable	viewers_day;	/* when day_rows */
	RGroupTable	seedmax;		/* the longest watch event of the hours added to, per project */
	bool		day_rows;
	bool		delta;			/* day_rows NULL: the day's one-dimension rows only */
	/* per hour: the earliest start of a watch event read (when delta) */
	bool	   *wfound;
	TimestampTz *wmin;
	BinCache	dbin;
	KeyBuf		kb;
	MemoryContext rowcxt;
	uint64		nrows;
} HourPass;

static inline void
accum(RGroup *g, int idx, bool valnull, float8 value)
{
	if (idx >= 0)
		analytics_event_stats_add(g->v, idx, valnull, value);
}

/* the key of an event's cube group of bucket h: project, hour, the cube's six columns */
static void
cube_key(HourPass *p, Datum *v, bool *nl, TimestampTz h)
{
	p->kb.len = 0;
	key_text(&p->kb, v[E_PROJECT], nl[E_PROJECT]);
	key_int64(&p->kb, h, false);
	key_int64(&p->kb, DatumGetObjectId(v[E_MEDIA_TYPE]), nl[E_MEDIA_TYPE]);
	key_int64(&p->kb, DatumGetObjectId(v[E_CONTINENT]), nl[E_CONTINENT]);
	key_text(&p->kb, v[E_COUNTRY], nl[E_COUNTRY]);
	key_int64(&p->kb, DatumGetObjectId(v[E_DEVICE_TYPE]), nl[E_DEVICE_TYPE]);
	key_text(&p->kb, v[E_OS], nl[E_OS]);
	key_text(&p->kb, v[E_BROWSER], nl[E_BROWSER]);
}

/* the viewer ids group of an event's cube combination in bucket h in table tab */
static ViewerGroup *
viewer_group(HourPass *p, RGroupTable *tab, Datum *v, bool *nl, TimestampTz h)
{
	RGroup	   *g;
	bool		isnew;
	MemoryContext cxt = tab->cxt;

	cube_key(p, v, nl, h);
	g = gt_lookup(tab, &p->kb, &isnew);
	if (isnew)
	{
		g->vals[0] = copy_text(cxt, v[E_PROJECT]);
		g->bucket = h;
		/* as in the cube groups: vals[1..6] */
		g->vals[1] = v[E_MEDIA_TYPE];
		g->nulls[1] = nl[E_MEDIA_TYPE];
		g->nulls[2] = nl[E_CONTINENT];
		g->vals[2] = nl[E_CONTINENT] ? (Datum) 0 : v[E_CONTINENT];
		g->nulls[3] = nl[E_COUNTRY];
		g->vals[3] = nl[E_COUNTRY] ? (Datum) 0 : copy_text(cxt, v[E_COUNTRY]);
		g->vals[4] = v[E_DEVICE_TYPE];
		g->nulls[4] = nl[E_DEVICE_TYPE];
		g->nulls[5] = nl[E_OS];
		g->vals[5] = nl[E_OS] ? (Datum) 0 : copy_text(cxt, v[E_OS]);
		g->nulls[6] = nl[E_BROWSER];
		g->vals[6] = nl[E_BROWSER] ? (Datum) 0 : copy_text(cxt, v[E_BROWSER]);
		g->extra = MemoryContextAllocZero(cxt, sizeof(ViewerGroup));
	}
	return (ViewerGroup *) g->extra;
}

/* a view event of duration t (its viewer id, if any) in its group of bucket h in table tab */
static void
viewer_add(HourPass *p, RGroupTable *tab, Datum *v, bool *nl, TimestampTz h, int t)
{
	ViewerGroup *vg = viewer_group(p, tab, v, nl, h);
	MemoryContext cxt = tab->cxt;

	if (vg->sets[t] == NULL)
		vg->sets[t] = analytics_viewer_set_new(cxt);
	if (!nl[E_VIEWER])
		analytics_viewer_set_add(vg->sets[t], DatumGetInt64(v[E_VIEWER]));
}

/* an event's group (v, nl: its columns) of the project per 5 minutes, bucket m5 */
static RGroup *
m5_group(HourPass *p, Datum *v, bool *nl, TimestampTz m5)
{
	RGroup	   *g;
	bool		isnew;

	p->kb.len = 0;
	key_text(&p->kb, v[E_PROJECT], nl[E_PROJECT]);
	key_int64(&p->kb, m5, false);
	g = gt_lookup(&p->m5, &p->kb, &isnew);
	if (isnew)
	{
		g->vals[0] = copy_text(p->m5.cxt, v[E_PROJECT]);
		g->bucket = m5;
	}
	return g;
}

/* an event's media id group of hour h */
static RGroup *
media_group(HourPass *p, Datum *v, bool *nl, TimestampTz h)
{
	RGroup	   *g;
	bool		isnew;

	p->kb.len = 0;
	key_text(&p->kb, v[E_PROJECT], nl[E_PROJECT]);
	key_int64(&p->kb, h, false);
	key_text(&p->kb, v[E_MEDIA_ID], nl[E_MEDIA_ID]);
	key_int64(&p->kb, DatumGetObjectId(v[E_MEDIA_TYPE]), nl[E_MEDIA_TYPE]);
	g = gt_lookup(&p->media, &p->kb, &isnew);
	if (isnew)
	{
		g->vals[0] = copy_text(p->media.cxt, v[E_PROJECT]);
		g->bucket = h;
		g->vals[1] = copy_text(p->media.cxt, v[E_MEDIA_ID]);
		g->vals[2] = v[E_MEDIA_TYPE];
	}
	return g;
}

/* an event's referrer cube group of hour h */
static RGroup *
refcube_group(HourPass *p, Datum *v, bool *nl, TimestampTz h)
{
	RGroup	   *g;
	bool		isnew;

	cube_key(p, v, nl, h);
	key_text(&p->kb, v[E_REFERRER], nl[E_REFERRER]);
	g = gt_lookup(&p->refcube, &p->kb, &isnew);
	if (isnew)
	{
		g->vals[0] = copy_text(p->refcube.cxt, v[E_PROJECT]);
		g->bucket = h;
		/*
		 * vals[1..7]: media type, continent, country, device type, operating
		 * system, browser, referrer
		 */
		g->vals[1] = v[E_MEDIA_TYPE];
		g->nulls[2] = nl[E_CONTINENT];
		g->vals[2] = nl[E_CONTINENT] ? (Datum) 0 : v[E_CONTINENT];
		g->nulls[3] = nl[E_COUNTRY];
		g->vals[3] = nl[E_COUNTRY] ? (Datum) 0 : copy_text(p->refcube.cxt, v[E_COUNTRY]);
		g->vals[4] = v[E_DEVICE_TYPE];
		g->vals[5] = copy_text(p->refcube.cxt, v[E_OS]);
		g->vals[6] = copy_text(p->refcube.cxt, v[E_BROWSER]);
		g->vals[7] = copy_text(p->refcube.cxt, v[E_REFERRER]);
	}
	return g;
}

/*
 * the start of a watch event, emitted_at - value * interval '1 second' as
 * SQL computes it (the concurrent viewers' refresh asks for the earliest of
 * the new ones: ccv_since), kept per hour when it is the earliest so far
 */
static void
note_watch_start(HourPass *p, TimestampTz h, TimestampTz ts, float8 value)
{
	TimestampTz *hp = bsearch(&h, p->hours.h, p->hours.n, sizeof(TimestampTz), analytics_ts_cmp);
	int			i;
	Interval	second;
	TimestampTz start;

	if (hp == NULL)
		return;
	i = hp - p->hours.h;
	/* far later than the earliest so far: no need to compute it exactly */
	if (p->wfound[i] && (float8) ts - value * USECS_PER_SEC > (float8) p->wmin[i] + USECS_PER_SEC)
		return;
	second.time = USECS_PER_SEC;
	second.day = 0;
	second.month = 0;
	start = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval, TimestampTzGetDatum(ts),
													DirectFunctionCall2(mul_d_interval, Float8GetDatum(value),
																		IntervalPGetDatum(&second))));
	if (!p->wfound[i] || start < p->wmin[i])
	{
		p->wmin[i] = start;
		p->wfound[i] = true;
	}
}

static bool
hour_receive(TupleTableSlot *slot, DestReceiver *self)
{
	HourPass   *p = (HourPass *) self;
	Datum	   *v;
	bool	   *nl;
	TimestampTz ts,
				h,
				m5;
	int			idx;
	bool		valnull;
	float8		value;
	RGroup	   *g;
	MemoryContext old;

	slot_getallattrs(slot);
	v = slot->tts_values;
	nl = slot->tts_isnull;
	ts = DatumGetTimestampTz(v[E_EMITTED_AT]);
	h = bin(&p->hbin, ts);
	if (!hours_has(&p->hours, h))
		return true;
	m5 = bin(&p->m5bin, ts);
	idx = nl[E_EVENT_TYPE] ? -1 : analytics_event_type_index(p->fcinfo, DatumGetObjectId(v[E_EVENT_TYPE]));
	valnull = nl[E_VALUE];
	value = valnull ? 0 : DatumGetFloat8(v[E_VALUE]);
	old = MemoryContextSwitchTo(p->rowcxt);

	/* the project per 5 minutes */
	accum(m5_group(p, v, nl, m5), idx, valnull, value);

	/* media ids per hour */
	accum(media_group(p, v, nl, h), idx, valnull, value);

	/*
	 * the referrer cube per hour (the cube's columns and the referrer); the
	 * cube and the referrers per hour are its sums (refcube_sums)
	 */
	g = refcube_group(p, v, nl, h);
	accum(g, idx, valnull, value);
	/* max(value) FILTER (WHERE event_type = 'watch' AND value > 0) */
	if (idx == CAT_ET_WATCH && !valnull && value > 0 && (!g->has_max || value > g->max))
	{
		g->max = value;
		g->has_max = true;
	}
	if (p->wfound != NULL && idx == CAT_ET_WATCH && !valnull && value > 0)
		note_watch_start(p, h, ts, value);

	/*
	 * the viewer ids of the view events per cube combination and view
	 * duration (rollup_viewers_hour)
	 */
	if (idx == CAT_ET_VIEW && !valnull)
	{
		int			t;

		for (t = 0; t < CAT_ES_NTHRESHOLDS; t++)
			if (value == catalog_view_thresholds[t])
				break;
		if (t < CAT_ES_NTHRESHOLDS)
		{
			viewer_add(p, &p->viewers, v, nl, h, t);
			/* the day's ids straight from the events: the union of its hours' */
			if (p->day_rows && !p->delta)
				viewer_add(p, &p->viewers_day, v, nl, bin(&p->dbin, h), t);
		}
	}

	MemoryContextSwitchTo(old);
	if ((++p->nrows & 0x3FF) == 0)
	{
		MemoryContextReset(p->rowcxt);
		CHECK_FOR_INTERRUPTS();
	}
	return true;
}

/*
 * The cube's and the referrers' hour groups: the sums of the referrer cube's
 * groups, in their order (the SQL form sums the referrer cube's rows too)
 */
static void
refcube_sums(HourPass *p)
{
	int			i,
				k;

	for (i = 0; i < p->refcube.n; i++)
	{
		RGroup	   *r = p->refcube.groups[i];
		RGroup	   *g;
		bool		isnew;

		p->kb.len = 0;
		key_text(&p->kb, r->vals[0], false);
		key_int64(&p->kb, r->bucket, false);
		key_int64(&p->kb, DatumGetObjectId(r->vals[1]), false);
		key_int64(&p->kb, DatumGetObjectId(r->vals[2]), r->nulls[2]);
		key_text(&p->kb, r->vals[3], r->nulls[3]);
		key_int64(&p->kb, DatumGetObjectId(r->vals[4]), false);
		key_text(&p->kb, r->vals[5], false);
		key_text(&p->kb, r->vals[6], false);
		g = gt_lookup(&p->cube, &p->kb, &isnew);
		if (isnew)
		{
			/* the values live in the referrer cube's context, as long */
			g->bucket = r->bucket;
			memcpy(g->vals, r->vals, sizeof(Datum) * 7);
			memcpy(g->nulls, r->nulls, sizeof(bool) * 7);
		}
		for (k = 0; k < CAT_ES_NELEMS; k++)
			g->v[k] += r->v[k];
		if (r->has_max && (!g->has_max || r->max > g->max))
		{
			g->max = r->max;
			g->has_max = true;
		}

		p->kb.len = 0;
		key_text(&p->kb, r->vals[0], false);
		key_int64(&p->kb, r->bucket, false);
		key_text(&p->kb, r->vals[7], false);
		g = gt_lookup(&p->ref, &p->kb, &isnew);
		if (isnew)
		{
			g->vals[0] = r->vals[0];
			g->bucket = r->bucket;
			g->vals[1] = r->vals[7];
		}
		for (k = 0; k < CAT_ES_NELEMS; k++)
			g->v[k] += r->v[k];
	}
}

static Datum
stats_array(const float8 *v)
{
	Datum		elems[CAT_ES_NELEMS];
	int			i;

	for (i = 0; i < CAT_ES_NELEMS; i++)
		elems[i] = Float8GetDatum(v[i]);
	return PointerGetDatum(construct_array(elems, CAT_ES_NELEMS, FLOAT8OID, sizeof(float8),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* the result's columns */
enum
{
	R_KIND, R_PROJECT, R_BUCKET, R_DIM, R_VALUE, R_MEDIA_TYPE, R_CONTINENT, R_COUNTRY,
	R_DEVICE_TYPE, R_OS, R_BROWSER, R_STATS, R_MAX, R_VIEWERS, R_NCOLS = R_VIEWERS + CAT_ES_NTHRESHOLDS
};

/* the kinds of rows: rollup_5min, rollup_hour, rollup_cube_hour, rollup_watch_max, rollup_refcube_hour, ... */
#define KIND_5MIN	0
#define KIND_HOUR	1
#define KIND_CUBE	3
#define KIND_WATCH_MAX 5
#define KIND_REFCUBE 6
#define KIND_VIEWERS 7
#define KIND_DEVCUBE 10
/* and of the day when the hours are a whole day: rollup_day, _cube_day, _refcube_day, _viewers_day, _devcube_day */
#define KIND_DAY	2
#define KIND_CUBE_DAY 4
#define KIND_REFCUBE_DAY 8
#define KIND_VIEWERS_DAY 9
#define KIND_DEVCUBE_DAY 11

/* a result row's kind, project and bucket (group g), every other column NULL */
static void
row_head(Datum *values, bool *nulls, int kind, const RGroup *g)
{
	memset(nulls, true, sizeof(bool) * R_NCOLS);
	values[R_KIND] = Int16GetDatum(kind);
	nulls[R_KIND] = false;
	values[R_PROJECT] = g->vals[0];
	nulls[R_PROJECT] = false;
	values[R_BUCKET] = TimestampTzGetDatum(g->bucket);
	nulls[R_BUCKET] = false;
}

static void
put_row(ReturnSetInfo *rsinfo, MemoryContext tmp, int kind, const RGroup *g, int dim, Datum value, bool value_null,
		bool has_media_type, Datum media_type, bool stats)
{
	Datum		values[R_NCOLS];
	bool		nulls[R_NCOLS];
	MemoryContext old = MemoryContextSwitchTo(tmp);

	row_head(values, nulls, kind, g);
	if (dim >= 0)
	{
		values[R_DIM] = Int16GetDatum(dim);
		nulls[R_DIM] = false;
		values[R_VALUE] = value;
		nulls[R_VALUE] = value_null;
	}
	if (has_media_type)
	{
		values[R_MEDIA_TYPE] = media_type;
		nulls[R_MEDIA_TYPE] = false;
	}
	if (kind == KIND_CUBE || kind == KIND_REFCUBE || kind == KIND_CUBE_DAY || kind == KIND_REFCUBE_DAY)
	{
		int			i;

		for (i = 1; i <= 6; i++)
		{
			values[R_MEDIA_TYPE + i - 1] = g->vals[i];
			nulls[R_MEDIA_TYPE + i - 1] = g->nulls[i];
		}
	}
	if (kind == KIND_REFCUBE || kind == KIND_REFCUBE_DAY)
	{
		/* the referrer in the value column */
		values[R_VALUE] = g->vals[7];
		nulls[R_VALUE] = false;
	}
	if (kind == KIND_DEVCUBE || kind == KIND_DEVCUBE_DAY)
	{
		/* vals[1..4]: media type, device type, operating system, browser */
		values[R_MEDIA_TYPE] = g->vals[1];
		nulls[R_MEDIA_TYPE] = false;
		values[R_DEVICE_TYPE] = g->vals[2];
		nulls[R_DEVICE_TYPE] = false;
		values[R_OS] = g->vals[3];
		nulls[R_OS] = false;
		values[R_BROWSER] = g->vals[4];
		nulls[R_BROWSER] = false;
	}
	if (stats)
	{
		values[R_STATS] = stats_array(g->v);
		nulls[R_STATS] = false;
	}
	if (kind == KIND_WATCH_MAX)
	{
		values[R_MAX] = Float8GetDatum(g->max);
		nulls[R_MAX] = false;
	}
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	MemoryContextSwitchTo(old);
	MemoryContextReset(tmp);
}

/* groups by project (bytewise), then bucket */
static int
group_cmp(const void *a, const void *b)
{
	const RGroup *x = *(const RGroup *const *) a;
	const RGroup *y = *(const RGroup *const *) b;
	const text *px = (const text *) DatumGetPointer(x->vals[0]);
	const text *py = (const text *) DatumGetPointer(y->vals[0]);
	int			lx = VARSIZE(px) - VARHDRSZ;
	int			ly = VARSIZE(py) - VARHDRSZ;
	int			c = memcmp(VARDATA(px), VARDATA(py), Min(lx, ly));

	if (c != 0)
		return c;
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return x->bucket < y->bucket ? -1 : x->bucket > y->bucket ? 1 : 0;
}

/* a rollup_viewers_hour (or _day) row: the cube's columns, the ids per duration */
static void
put_viewers_row(ReturnSetInfo *rsinfo, MemoryContext tmp, int kind, const RGroup *g)
{
	Datum		values[R_NCOLS];
	bool		nulls[R_NCOLS];
	const ViewerGroup *vg = (const ViewerGroup *) g->extra;
	MemoryContext old = MemoryContextSwitchTo(tmp);
	int			i;

	row_head(values, nulls, kind, g);
	for (i = 1; i <= 6; i++)
	{
		values[R_MEDIA_TYPE + i - 1] = g->vals[i];
		nulls[R_MEDIA_TYPE + i - 1] = g->nulls[i];
	}
	for (i = 0; i < CAT_ES_NTHRESHOLDS; i++)
		if (vg->sets[i] != NULL)
		{
			values[R_VIEWERS + i] = PointerGetDatum(analytics_viewer_set_array(vg->sets[i]));
			nulls[R_VIEWERS + i] = false;
		}
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	MemoryContextSwitchTo(old);
	MemoryContextReset(tmp);
}

/* the day group of hour group src (in tab, keyed by kb): its sums added */
static void
day_add(RGroupTable *tab, KeyBuf *kb, const RGroup *src, TimestampTz day, int nvals)
{
	RGroup	   *g;
	bool		isnew;
	int			k;

	g = gt_lookup(tab, kb, &isnew);
	if (isnew)
	{
		/* the values live in the hour groups' context, as long */
		g->bucket = day;
		memcpy(g->vals, src->vals, sizeof(Datum) * nvals);
		memcpy(g->nulls, src->nulls, sizeof(bool) * nvals);
	}
	for (k = 0; k < CAT_ES_NELEMS; k++)
		g->v[k] += src->v[k];
}

/* the one-dimension day rows (vals[0] project, [1] dim, [2] value, [3] media type) */
static void
put_day_rows(ReturnSetInfo *rsinfo, MemoryContext tmp, const RGroupTable *dayd)
{
	for (int i = 0; i < dayd->n; i++)
	{
		const RGroup *g = dayd->groups[i];

		put_row(rsinfo, tmp, KIND_DAY, g, DatumGetInt16(g->vals[1]), g->vals[2], g->nulls[2],
				!g->nulls[3], g->vals[3], true);
	}
}

/*
 * The rows of the day (the hours read are all the hours of one day): its
 * one-dimension rows, cube, referrer cube and device cube rows as the sums
 * of its hour groups, in their order (what the SQL form sums: the hour
 * rows, as written; the cubes' in project order, so are their days), and
 * its viewer ids (gathered from the events by the pass; in project order);
 * when the pass is added to (p->delta), its one-dimension rows only
 */
static void
day_rows(HourPass *p, ReturnSetInfo *rsinfo, RGroupTable *dims, KeyBuf *kb)
{
	MemoryContext cxt = p->cube.cxt;
	RGroupTable	dayd,
				cubed,
				refcubed,
				devcubed;
	int			i,
				src;
	int16		dim_media = catalog_dim_by_breakdown("media-id");
	int16		dim_referrer = catalog_dim_by_breakdown("referrer");

	gt_init(&dayd, cxt);
	gt_init(&cubed, cxt);
	gt_init(&refcubed, cxt);
	gt_init(&devcubed, cxt);

	/*
	 * one-dimension rows: vals[0] project, [1] dim, [2] value, [3] media
	 * type; from the media ids', the referrers' and the other dimensions'
	 * hour groups, in the order their hour rows are written
	 */
	for (src = 0; src < 3; src++)
	{
		RGroupTable *t = src == 0 ? &p->media : src == 1 ? &p->ref : dims;

		for (i = 0; i < t->n; i++)
		{
			RGroup		tmp;
			const RGroup *h = t->groups[i];
			TimestampTz day = bin(&p->dbin, h->bucket);

			memset(&tmp, 0, sizeof(tmp));
			tmp.vals[0] = h->vals[0];
			memcpy(tmp.v, h->v, sizeof(tmp.v));
			if (src == 0)
			{
				tmp.vals[1] = Int16GetDatum(dim_media);
				tmp.vals[2] = h->vals[1];
				tmp.vals[3] = h->vals[2];
			}
			else if (src == 1)
			{
				tmp.vals[1] = Int16GetDatum(dim_referrer);
				tmp.vals[2] = h->vals[1];
				tmp.nulls[3] = true;
			}
			else
			{
				tmp.vals[1] = h->vals[1];
				tmp.vals[2] = h->vals[2];
				tmp.nulls[2] = h->nulls[2];
				tmp.nulls[3] = true;
			}
			kb->len = 0;
			key_text(kb, tmp.vals[0], false);
			key_int64(kb, day, false);
			key_int64(kb, DatumGetInt16(tmp.vals[1]), false);
			key_text(kb, tmp.vals[2], tmp.nulls[2]);
			key_int64(kb, DatumGetObjectId(tmp.vals[3]), tmp.nulls[3]);
			day_add(&dayd, kb, &tmp, day, 4);
		}
	}

	/*
	 * added to (the caller's day holds hours that only gained rows): the
	 * day's other rows are summed from their hours (_rollup_add_day)
	 */
	if (p->delta)
	{
		put_day_rows(rsinfo, p->rowcxt, &dayd);
		return;
	}

	/* the cube and the referrer cube, from their hour groups in project order */
	for (src = 0; src < 2; src++)
	{
		RGroupTable *t = src == 0 ? &p->cube : &p->refcube;

		for (i = 0; i < t->n; i++)
		{
			const RGroup *h = t->groups[i];
			TimestampTz day = bin(&p->dbin, h->bucket);

			kb->len = 0;
			key_text(kb, h->vals[0], false);
			key_int64(kb, day, false);
			key_int64(kb, DatumGetObjectId(h->vals[1]), false);
			key_int64(kb, DatumGetObjectId(h->vals[2]), h->nulls[2]);
			key_text(kb, h->vals[3], h->nulls[3]);
			key_int64(kb, DatumGetObjectId(h->vals[4]), false);
			key_text(kb, h->vals[5], false);
			key_text(kb, h->vals[6], false);
			if (src == 1)
				key_text(kb, h->vals[7], false);
			day_add(src == 0 ? &cubed : &refcubed, kb, h, day, src == 0 ? 7 : 8);
		}
	}

	/* the device cube, from its hour groups in project order: so are its days */
	for (i = 0; i < p->devcube.n; i++)
	{
		const RGroup *h = p->devcube.groups[i];
		TimestampTz day = bin(&p->dbin, h->bucket);

		kb->len = 0;
		key_text(kb, h->vals[0], false);
		key_int64(kb, day, false);
		key_int64(kb, DatumGetObjectId(h->vals[1]), false);
		key_int64(kb, DatumGetObjectId(h->vals[2]), false);
		key_text(kb, h->vals[3], false);
		key_text(kb, h->vals[4], false);
		day_add(&devcubed, kb, h, day, 5);
	}

	put_day_rows(rsinfo, p->rowcxt, &dayd);
	for (i = 0; i < cubed.n; i++)
		put_row(rsinfo, p->rowcxt, KIND_CUBE_DAY, cubed.groups[i], -1, 0, true, false, 0, true);
	for (i = 0; i < refcubed.n; i++)
		put_row(rsinfo, p->rowcxt, KIND_REFCUBE_DAY, refcubed.groups[i], -1, 0, true, false, 0, true);
	for (i = 0; i < devcubed.n; i++)
		put_row(rsinfo, p->rowcxt, KIND_DEVCUBE_DAY, devcubed.groups[i], -1, 0, true, false, 0, true);
	if (p->viewers_day.n > 1)
		qsort(p->viewers_day.groups, p->viewers_day.n, sizeof(RGroup *), group_cmp);
	for (i = 0; i < p->viewers_day.n; i++)
		put_viewers_row(rsinfo, p->rowcxt, KIND_VIEWERS_DAY, p->viewers_day.groups[i]);
}

/*
 * the group of (project, bucket) in t (the project copied into t's context
 * when copy; else it lives as long), its max raised to max
 */
static void
max_add(RGroupTable *t, KeyBuf *kb, Datum project, bool copy, TimestampTz bucket, float8 max)
{
	RGroup	   *g;
	bool		isnew;

	kb->len = 0;
	key_text(kb, project, false);
	key_int64(kb, bucket, false);
	g = gt_lookup(t, kb, &isnew);
	if (isnew)
	{
		g->vals[0] = copy ? copy_text(t->cxt, project) : project;
		g->bucket = bucket;
	}
	if (!g->has_max || max > g->max)
	{
		g->max = max;
		g->has_max = true;
	}
}

/* ---- an incremental refresh: the hours' rows as they are, to add to ---- */

/* the n event_stats elements of a stats array into v */
static void
stats_into(Datum arr, float8 *v)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(DatumGetArrayTypeP(arr), FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	if (n != CAT_ES_NELEMS)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("a rollup row has %d event_stats elements, not %d", n, CAT_ES_NELEMS)));
	for (int i = 0; i < n; i++)
		v[i] += nulls[i] ? 0 : DatumGetFloat8(elems[i]);
}

/*
 * read the rows of the hours that filter f lets through (the new rows of
 * its incremental hours) into the pass; false when one is ambiguous (a
 * frozen row with a new row's transaction id: it may be an older row whose
 * id was reused) and the hours must be read whole instead
 */
static bool
read_new_rows(const char *sql, HourPass *p, text *pid, AnalyticsScanFilter *f)
{
	read_filtered(sql, p->hours.lo, p->hours.hi, pid, &p->pub, f);
	for (int i = 0; i < f->nhours; i++)
		if (f->ambiguous[i])
			return false;
	return true;
}

/* every group's sums negated (merged, they take those rows out) */
static void
negate_groups(RGroupTable *t)
{
	for (int i = 0; i < t->n; i++)
		for (int k = 0; k < CAT_ES_NELEMS; k++)
			t->groups[i]->v[k] = -t->groups[i]->v[k];
}

/* run a read of the hours' rollup rows: $1 the hours, $2 the project (NULL: all), $3 a dimension */
static void
seed_read(const char *sql, Datum hours, text *pid, int16 dim)
{
	Oid			argtypes[3] = {TIMESTAMPTZARRAYOID, TEXTOID, INT2OID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	int			ret;

	values[0] = hours;
	if (pid == NULL)
		nulls[1] = 'n';
	else
		values[1] = PointerGetDatum(pid);
	values[2] = Int16GetDatum(dim);
	ret = SPI_execute_with_args(sql, 3, argtypes, values, nulls, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "analytics: could not read the rollup rows to add to: %s", SPI_result_code_string(ret));
}

#define SEED_COL(r, k, isnull) SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, (k), (isnull))

/*
 * The groups of the hours f refreshes incrementally start as their rollup
 * rows (rollup_5min, the media ids' rollup_hour rows, rollup_refcube_hour,
 * rollup_watch_max, rollup_viewers_hour): the refresh adds the new rows to
 * them, and every other row of those hours (their sums) comes from them as
 * in a whole refresh. Read with the refresh's snapshot (src/refreshdelta.c).
 */
static void
seed_groups(HourPass *p, const AnalyticsScanFilter *f, text *pid, const char *schema)
{
	TimestampTz *incr = palloc(sizeof(TimestampTz) * f->nhours);
	int			n = 0;
	Datum		hours;
	Datum		v[E_NCOLS];
	bool		nl[E_NCOLS];
	bool		isnull;
	char	   *sql;
	MemoryContext old;
	const char *where = "r.bucket OPERATOR(pg_catalog.=) ANY ($1) AND ($2::text IS NULL OR r.project_id OPERATOR(pg_catalog.=) $2)";

	for (int i = 0; i < f->nhours; i++)
		if (f->incremental[i])
			incr[n++] = f->hours[i];
	hours = analytics_hours_array(incr, n);
	memset(nl, false, sizeof(nl));

	/* the project per 5 minutes */
	sql = psprintf("SELECT r.project_id, r.bucket, r.stats FROM unnest($1) h(h) JOIN %s.rollup_5min r"
				   " ON r.bucket OPERATOR(pg_catalog.>=) h.h AND r.bucket OPERATOR(pg_catalog.<) (h.h OPERATOR(pg_catalog.+) '1 hour'::pg_catalog.interval)"
				   " WHERE r.dim OPERATOR(pg_catalog.=) $3 AND ($2::text IS NULL OR r.project_id OPERATOR(pg_catalog.=) $2)",
				   schema);
	seed_read(sql, hours, pid, CAT_DIM_PROJECT);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		v[E_PROJECT] = SEED_COL(r, 1, &isnull);
		old = MemoryContextSwitchTo(p->rowcxt);
		stats_into(SEED_COL(r, 3, &isnull), m5_group(p, v, nl, DatumGetTimestampTz(SEED_COL(r, 2, &isnull)))->v);
		MemoryContextSwitchTo(old);
	}
	SPI_freetuptable(SPI_tuptable);
	MemoryContextReset(p->rowcxt);

	/* media ids per hour */
	sql = psprintf("SELECT r.project_id, r.bucket, r.value, r.media_type, r.stats FROM %s.rollup_hour r"
				   " WHERE r.dim OPERATOR(pg_catalog.=) $3 AND %s", schema, where);
	seed_read(sql, hours, pid, catalog_dim_by_breakdown("media-id"));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		v[E_PROJECT] = SEED_COL(r, 1, &isnull);
		v[E_MEDIA_ID] = SEED_COL(r, 3, &nl[E_MEDIA_ID]);
		v[E_MEDIA_TYPE] = SEED_COL(r, 4, &nl[E_MEDIA_TYPE]);
		old = MemoryContextSwitchTo(p->rowcxt);
		stats_into(SEED_COL(r, 5, &isnull), media_group(p, v, nl, DatumGetTimestampTz(SEED_COL(r, 2, &isnull)))->v);
		MemoryContextSwitchTo(old);
	}
	SPI_freetuptable(SPI_tuptable);
	MemoryContextReset(p->rowcxt);
	memset(nl, false, sizeof(nl));

	/* the referrer cube per hour */
	sql = psprintf("SELECT r.project_id, r.bucket, r.media_type, r.continent, r.country, r.device_type, r.operating_system,"
				   " r.browser, r.referrer, r.stats FROM %s.rollup_refcube_hour r WHERE %s", schema, where);
	seed_read(sql, hours, pid, 0);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		v[E_PROJECT] = SEED_COL(r, 1, &isnull);
		v[E_MEDIA_TYPE] = SEED_COL(r, 3, &nl[E_MEDIA_TYPE]);
		v[E_CONTINENT] = SEED_COL(r, 4, &nl[E_CONTINENT]);
		v[E_COUNTRY] = SEED_COL(r, 5, &nl[E_COUNTRY]);
		v[E_DEVICE_TYPE] = SEED_COL(r, 6, &nl[E_DEVICE_TYPE]);
		v[E_OS] = SEED_COL(r, 7, &nl[E_OS]);
		v[E_BROWSER] = SEED_COL(r, 8, &nl[E_BROWSER]);
		v[E_REFERRER] = SEED_COL(r, 9, &nl[E_REFERRER]);
		old = MemoryContextSwitchTo(p->rowcxt);
		stats_into(SEED_COL(r, 10, &isnull), refcube_group(p, v, nl, DatumGetTimestampTz(SEED_COL(r, 2, &isnull)))->v);
		MemoryContextSwitchTo(old);
	}
	SPI_freetuptable(SPI_tuptable);
	MemoryContextReset(p->rowcxt);

	/* the longest watch event per project and hour */
	sql = psprintf("SELECT r.project_id, r.hour, r.max_value FROM %s.rollup_watch_max r"
				   " WHERE r.hour OPERATOR(pg_catalog.=) ANY ($1) AND ($2::text IS NULL OR r.project_id OPERATOR(pg_catalog.=) $2)",
				   schema);
	seed_read(sql, hours, pid, 0);
	for (uint64 r = 0; r < SPI_processed; r++)
		max_add(&p->seedmax, &p->kb, SEED_COL(r, 1, &isnull), true, DatumGetTimestampTz(SEED_COL(r, 2, &isnull)),
				DatumGetFloat8(SEED_COL(r, 3, &isnull)));
	SPI_freetuptable(SPI_tuptable);

	/* the viewer ids per cube combination and view duration */
	sql = psprintf("SELECT r.project_id, r.bucket, r.media_type, r.continent, r.country, r.device_type, r.operating_system,"
				   " r.browser, r.viewers_3s, r.viewers_5s, r.viewers_10s, r.viewers_30s FROM %s.rollup_viewers_hour r WHERE %s",
				   schema, where);
	seed_read(sql, hours, pid, 0);
	StaticAssertStmt(CAT_ES_NTHRESHOLDS == 4, "rollup_viewers_hour has four view durations");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		ViewerGroup *vg;

		v[E_PROJECT] = SEED_COL(r, 1, &isnull);
		v[E_MEDIA_TYPE] = SEED_COL(r, 3, &nl[E_MEDIA_TYPE]);
		v[E_CONTINENT] = SEED_COL(r, 4, &nl[E_CONTINENT]);
		v[E_COUNTRY] = SEED_COL(r, 5, &nl[E_COUNTRY]);
		v[E_DEVICE_TYPE] = SEED_COL(r, 6, &nl[E_DEVICE_TYPE]);
		v[E_OS] = SEED_COL(r, 7, &nl[E_OS]);
		v[E_BROWSER] = SEED_COL(r, 8, &nl[E_BROWSER]);
		old = MemoryContextSwitchTo(p->rowcxt);
		vg = viewer_group(p, &p->viewers, v, nl, DatumGetTimestampTz(SEED_COL(r, 2, &isnull)));
		for (int t = 0; t < CAT_ES_NTHRESHOLDS; t++)
		{
			Datum		ids = SEED_COL(r, 9 + t, &isnull);
			Datum	   *elems2;
			bool	   *nulls2;
			int			nids;

			if (isnull)
				continue;
			if (vg->sets[t] == NULL)
				vg->sets[t] = analytics_viewer_set_new(p->viewers.cxt);
			deconstruct_array(DatumGetArrayTypeP(ids), INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
							  &elems2, &nulls2, &nids);
			for (int k = 0; k < nids; k++)
				if (!nulls2[k])
					analytics_viewer_set_add(vg->sets[t], DatumGetInt64(elems2[k]));
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(p->rowcxt);
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * _rollup_hour_rows(hrs timestamptz[], pid text, day_rows boolean) RETURNS TABLE (kind, ...):
 * the hour-level rows of the events of hours hrs (of one project, or of
 * every project when pid is NULL). kind 0: rollup_5min (project per 5
 * minutes), 1: rollup_hour (dim, value, media_type), 3: rollup_cube_hour
 * (in project order), 5: rollup_watch_max (max_value), 6:
 * rollup_refcube_hour (the referrer in value; in project order), 7:
 * rollup_viewers_hour (viewers_3s ... viewers_30s; in project order), 10:
 * rollup_devcube_hour (in project order). With day_rows (the
 * caller's hours are all the hours of one day) the day's rows as well: 2
 * rollup_day, 4 rollup_cube_day, 8 rollup_refcube_day, 9
 * rollup_viewers_day, 11 rollup_devcube_day (bucket: the day).
 */
Datum
analytics_rollup_hour_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *pid = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	const char *schema = quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));
	MemoryContext cxt;
	HourPass	p;
	RGroupTable	dims,
				wmax;
	EnumLabels	labels;
	KeyBuf		kb;
	char	   *sql;
	int			i,
				d;
	Snapshot	snap;
	AnalyticsScanFilter *filter;
	AnalyticsScanFilter *added = NULL;
	bool		delta;
	bool		whole = false;	/* every hour read whole */
	static const char *const cube_dims[] = {"media-type", "continent", "country", "device-type",
	"operating-system", "browser"};
	int			dimno[6];
	int			dim_referrer = catalog_dim_by_breakdown("referrer");
	int			dim_media = catalog_dim_by_breakdown("media-id");

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	for (d = 0; d < 6; d++)
		dimno[d] = catalog_dim_by_breakdown(cube_dims[d]);

	cxt = AllocSetContextCreate(CurrentMemoryContext, "rollup refresh groups", ALLOCSET_DEFAULT_SIZES);
	memset(&p, 0, sizeof(p));
	dest_init(&p.pub, hour_receive);
	p.fcinfo = fcinfo;
	if (!hours_init(&p.hours, PG_GETARG_ARRAYTYPE_P(0)))
		return (Datum) 0;
	p.hbin.stride = CAT_USECS_PER_HOUR;
	p.m5bin.stride = CAT_5MIN_SIZE;
	/* day_rows NULL: the sums of the rows added only, to add to every level */
	delta = PG_ARGISNULL(2);
	p.day_rows = delta || PG_GETARG_BOOL(2);
	p.delta = delta;
	p.dbin.stride = CAT_USECS_PER_DAY;
	kb_init(&p.kb);
	p.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "rollup refresh row", ALLOCSET_SMALL_SIZES);

	sql = psprintf("SELECT x.project_id, x.emitted_at, x.event_type, x.value, x.media_id, x.media_type, x.referrer,"
				   " x.continent, x.country, x.device_type, x.operating_system, x.browser, x.viewer_id"
				   " FROM %s.events x"
				   " WHERE ($3::text IS NULL OR x.project_id = $3) AND x.emitted_at >= $1 AND x.emitted_at < $2",
				   schema);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "analytics: SPI_connect failed");

	/*
	 * Read with the snapshot the refresh consumed its marks with; the hours
	 * that only gained rows since their last refresh start from their rows
	 * and read only those rows (src/refreshdelta.c). A bulk load of whole
	 * days reads everything.
	 */
	snap = analytics_refresh_snapshot();
	if (snap != NULL)
		PushActiveSnapshot(snap);
	if (delta && pid == NULL)
	{
		p.wfound = palloc(sizeof(bool) * p.hours.n);
		p.wmin = palloc(sizeof(TimestampTz) * p.hours.n);
	}
	for (;;)
	{
		gt_init(&p.m5, cxt);
		gt_init(&p.media, cxt);
		gt_init(&p.ref, cxt);
		gt_init(&p.cube, cxt);
		gt_init(&p.refcube, cxt);
		gt_init(&p.devcube, cxt);
		gt_init(&p.viewers, cxt);
		gt_init(&p.viewers_day, cxt);
		gt_init(&p.seedmax, cxt);
		if (p.wfound != NULL)
			memset(p.wfound, 0, sizeof(bool) * p.hours.n);
		if (delta)
		{
			/*
			 * the caller adds what this returns to the rows of every level
			 * (_rollup_refresh_days, part 3): every hour must only have
			 * gained rows (_rollup_delta_hours said so, under this snapshot)
			 */
			if (!whole)
			{
				filter = added = analytics_delta_plan(p.hours.h, p.hours.n, pid, schema);
				if (filter == NULL || filter->nincremental != filter->nhours)
					elog(ERROR, "analytics: the rows of hours to add to cannot be told apart");
				if (read_new_rows(sql, &p, pid, filter))
					break;
				MemoryContextReset(cxt);
				whole = true;
				continue;
			}

			/*
			 * a frozen row with a new row's transaction id (below): the
			 * difference between every row of the hours and their rollup
			 * rows, i.e. those rows taken out (negated) before every row is
			 * read; viewer ids and longest watch events only grow, so
			 * their rows as they are do no harm
			 */
			seed_groups(&p, added, pid, schema);
			negate_groups(&p.m5);
			negate_groups(&p.media);
			negate_groups(&p.refcube);
			filter = NULL;
			read_events(sql, p.hours.lo, p.hours.hi, pid, &p.pub);
			break;
		}
		filter = (p.day_rows || whole) ? NULL : analytics_delta_plan(p.hours.h, p.hours.n, pid, schema);
		if (filter != NULL && filter->nincremental == 0)
			filter = NULL;
		if (filter == NULL)
		{
			read_events(sql, p.hours.lo, p.hours.hi, pid, &p.pub);
			break;
		}
		seed_groups(&p, filter, pid, schema);
		if (read_new_rows(sql, &p, pid, filter))
			break;
		/*
		 * a frozen row with a new row's transaction id: it may be an older
		 * row whose id was reused; every hour is read whole instead
		 */
		MemoryContextReset(cxt);
		whole = true;
	}
	/* the earliest new watch event of each hour added to, for ccv_since */
	if (delta && !whole && p.wfound != NULL)
		analytics_note_watch_starts(p.hours.h, p.hours.n, p.wfound, p.wmin);

	/*
	 * the hours read whole that this transaction wrote rows to (marked at
	 * its commit): their marks must not have those rows added again
	 */
	{
		int			nown;
		TimestampTz *own = analytics_rollup_own_pending_hours(&nown);

		for (i = 0; i < nown; i++)
			if (hours_has(&p.hours, own[i]))
			{
				bool		added = false;

				if (filter != NULL)
					for (int k = 0; k < filter->nhours; k++)
						if (filter->hours[k] == own[i] && filter->incremental[k])
							added = true;
				if (!added)
					analytics_rollup_note_rewrite(own[i]);
			}
	}
	if (snap != NULL)
		PopActiveSnapshot();
	SPI_finish();
	refcube_sums(&p);

	/*
	 * The other dimensions, the whole project and the device cube per hour:
	 * the sums of the cube groups, in their order; the longest watch event
	 * of each hour.
	 */
	gt_init(&dims, cxt);
	gt_init(&wmax, cxt);
	kb_init(&kb);
	memset(&labels, 0, sizeof(labels));
	for (i = 0; i < p.cube.n; i++)
	{
		RGroup	   *c = p.cube.groups[i];
		RGroup	   *g;
		bool		isnew;
		int			k;

		for (d = -1; d < 6; d++)
		{
			Datum		value = (Datum) 0;
			bool		value_null = true;

			if (d >= 0 && !c->nulls[d + 1])
			{
				/* media type, continent and device type are enums: their labels */
				value = (d == 0 || d == 1 || d == 3) ? enum_label(&labels, cxt, DatumGetObjectId(c->vals[d + 1]))
					: c->vals[d + 1];
				value_null = false;
			}
			kb.len = 0;
			key_text(&kb, c->vals[0], false);
			key_int64(&kb, c->bucket, false);
			key_int64(&kb, d < 0 ? CAT_DIM_PROJECT : dimno[d], false);
			key_text(&kb, value, value_null);
			g = gt_lookup(&dims, &kb, &isnew);
			if (isnew)
			{
				g->vals[0] = c->vals[0];
				g->bucket = c->bucket;
				g->vals[1] = Int16GetDatum(d < 0 ? CAT_DIM_PROJECT : dimno[d]);
				g->vals[2] = value;
				g->nulls[2] = value_null;
			}
			for (k = 0; k < CAT_ES_NELEMS; k++)
				g->v[k] += c->v[k];
		}

		/* the device cube: vals[1..4] media type, device type, OS, browser */
		kb.len = 0;
		key_text(&kb, c->vals[0], false);
		key_int64(&kb, c->bucket, false);
		key_int64(&kb, DatumGetObjectId(c->vals[1]), false);
		key_int64(&kb, DatumGetObjectId(c->vals[4]), false);
		key_text(&kb, c->vals[5], false);
		key_text(&kb, c->vals[6], false);
		g = gt_lookup(&p.devcube, &kb, &isnew);
		if (isnew)
		{
			g->vals[0] = c->vals[0];
			g->bucket = c->bucket;
			g->vals[1] = c->vals[1];
			g->vals[2] = c->vals[4];
			g->vals[3] = c->vals[5];
			g->vals[4] = c->vals[6];
		}
		for (k = 0; k < CAT_ES_NELEMS; k++)
			g->v[k] += c->v[k];

		if (c->has_max)
			max_add(&wmax, &kb, c->vals[0], false, c->bucket, c->max);
	}

	/* the longest watch events of the hours added to */
	for (i = 0; i < p.seedmax.n; i++)
		max_add(&wmax, &kb, p.seedmax.groups[i]->vals[0], false, p.seedmax.groups[i]->bucket,
				p.seedmax.groups[i]->max);

	for (i = 0; i < p.m5.n; i++)
		put_row(rsinfo, p.rowcxt, KIND_5MIN, p.m5.groups[i], -1, 0, true, false, 0, true);
	for (i = 0; i < p.media.n; i++)
		put_row(rsinfo, p.rowcxt, KIND_HOUR, p.media.groups[i], dim_media, p.media.groups[i]->vals[1], false,
				true, p.media.groups[i]->vals[2], true);
	for (i = 0; i < p.ref.n; i++)
		put_row(rsinfo, p.rowcxt, KIND_HOUR, p.ref.groups[i], dim_referrer, p.ref.groups[i]->vals[1], false,
				false, 0, true);
	for (i = 0; i < dims.n; i++)
		put_row(rsinfo, p.rowcxt, KIND_HOUR, dims.groups[i], DatumGetInt16(dims.groups[i]->vals[1]),
				dims.groups[i]->vals[2], dims.groups[i]->nulls[2], false, 0, true);
	/*
	 * the cube, the referrer cube and the device cube in project order, then
	 * hour (once every sum of their groups is made: each adds the groups in
	 * the order they were made, as before): a question about one project
	 * reads its rows of a period from a few pages (in the order of the
	 * events, a project's cube rows of 30 days were on 7,600 of the 8,300
	 * pages of rollup_cube_day at 20M events). Their day rows, the sums of
	 * these groups in this order, come out in project order too. No group
	 * is looked up after this (the tables' slots hold the groups' old
	 * places).
	 */
	if (p.cube.n > 1)
		qsort(p.cube.groups, p.cube.n, sizeof(RGroup *), group_cmp);
	for (i = 0; i < p.cube.n; i++)
		put_row(rsinfo, p.rowcxt, KIND_CUBE, p.cube.groups[i], -1, 0, true, false, 0, true);
	if (p.refcube.n > 1)
		qsort(p.refcube.groups, p.refcube.n, sizeof(RGroup *), group_cmp);
	for (i = 0; i < p.refcube.n; i++)
		put_row(rsinfo, p.rowcxt, KIND_REFCUBE, p.refcube.groups[i], -1, 0, true, false, 0, true);
	if (p.devcube.n > 1)
		qsort(p.devcube.groups, p.devcube.n, sizeof(RGroup *), group_cmp);
	for (i = 0; i < p.devcube.n; i++)
		put_row(rsinfo, p.rowcxt, KIND_DEVCUBE, p.devcube.groups[i], -1, 0, true, false, 0, true);
	for (i = 0; i < wmax.n; i++)
		put_row(rsinfo, p.rowcxt, KIND_WATCH_MAX, wmax.groups[i], -1, 0, true, false, 0, false);
	/* in project order: a project's rows are read together */
	if (p.viewers.n > 1)
		qsort(p.viewers.groups, p.viewers.n, sizeof(RGroup *), group_cmp);
	for (i = 0; i < p.viewers.n; i++)
		put_viewers_row(rsinfo, p.rowcxt, KIND_VIEWERS, p.viewers.groups[i]);

	if (p.day_rows)
		day_rows(&p, rsinfo, &dims, &kb);

	MemoryContextDelete(p.rowcxt);
	MemoryContextDelete(cxt);
	return (Datum) 0;
}

/* ---- concurrent viewers per minute ---- */

enum
{
	W_PROJECT, W_LIVE_ID, W_SESSION, W_VIEWER, W_START, W_END, W_NCOLS
};

typedef struct CcvGroup
{
	CcvState   *sessions;
	CcvState   *viewers;
	TimestampTz *touched;		/* minutes of zero-length watch events */
	int			ntouched;
	int			captouched;
} CcvGroup;

typedef struct CcvPass
{
	DestReceiver pub;
	int64	   *bounds;
	int64		ncells;
	TimestampTz hi;				/* the end of the last hour */
	RGroupTable	groups;
	KeyBuf		kb;
	MemoryContext rowcxt;
	uint64		nrows;
} CcvPass;

static void
ccv_group_add(CcvPass *p, Datum *v, bool *nl, bool live)
{
	RGroup	   *g;
	CcvGroup   *cg;
	bool		isnew;
	TimestampTz s = DatumGetTimestampTz(v[W_START]);
	TimestampTz e = DatumGetTimestampTz(v[W_END]);
	MemoryContext cxt = p->groups.cxt;

	p->kb.len = 0;
	key_text(&p->kb, v[W_PROJECT], nl[W_PROJECT]);
	key_text(&p->kb, v[W_LIVE_ID], !live);
	g = gt_lookup(&p->groups, &p->kb, &isnew);
	if (isnew)
	{
		g->vals[0] = copy_text(cxt, v[W_PROJECT]);
		g->nulls[1] = !live;
		g->vals[1] = live ? copy_text(cxt, v[W_LIVE_ID]) : (Datum) 0;
		cg = MemoryContextAllocZero(cxt, sizeof(CcvGroup));
		cg->sessions = analytics_ccv_series_new(cxt, p->bounds, p->ncells);
		cg->viewers = analytics_ccv_series_new(cxt, p->bounds, p->ncells);
		g->extra = cg;
	}
	cg = (CcvGroup *) g->extra;
	/* ccv(s, e, session_id, ...) */
	analytics_ccv_series_add(cxt, cg->sessions, s, e,
							 nl[W_SESSION] ? NULL : DatumGetUUIDP(v[W_SESSION]), false, 0);
	/* ccv(CASE WHEN viewer_id IS NULL THEN e ELSE s END, e, viewer_id, ...) */
	if (!nl[W_VIEWER])
		analytics_ccv_series_add(cxt, cg->viewers, s, e, NULL, true, DatumGetInt64(v[W_VIEWER]));
	/* a zero-length event touches the minute of e (unless e starts it) */
	if (s == e)
	{
		BinCache	mb = {CAT_USECS_PER_MINUTE, false, 0};
		TimestampTz m = bin(&mb, e);

		if (m < e)
		{
			if (cg->ntouched == cg->captouched)
			{
				cg->captouched = Max(8, cg->captouched * 2);
				cg->touched = cg->touched ? repalloc(cg->touched, cg->captouched * sizeof(TimestampTz))
					: MemoryContextAlloc(cxt, cg->captouched * sizeof(TimestampTz));
			}
			cg->touched[cg->ntouched++] = m;
		}
	}
}

static bool
ccv_receive(TupleTableSlot *slot, DestReceiver *self)
{
	CcvPass    *p = (CcvPass *) self;
	MemoryContext old;

	slot_getallattrs(slot);
	if (slot->tts_isnull[W_START] || slot->tts_isnull[W_END] ||
		DatumGetTimestampTz(slot->tts_values[W_START]) >= p->hi)
		return true;
	old = MemoryContextSwitchTo(p->rowcxt);
	ccv_group_add(p, slot->tts_values, slot->tts_isnull, false);
	if (!slot->tts_isnull[W_LIVE_ID])
		ccv_group_add(p, slot->tts_values, slot->tts_isnull, true);
	MemoryContextSwitchTo(old);
	if ((++p->nrows & 0x3FF) == 0)
	{
		MemoryContextReset(p->rowcxt);
		CHECK_FOR_INTERRUPTS();
	}
	return true;
}

/*
 * The earliest start of a new watch event (src/refreshdelta.c) that may
 * change the concurrent viewers of hours hs (of project pid, or of every
 * project): a watch event emitted in an hour covers minutes of that hour
 * and of the hour before. hs->lo when a marked hour is to be read whole
 * (or the refresh has no snapshot), hs->hi when nothing changed.
 */
typedef struct MinStart
{
	DestReceiver pub;
	bool		found;
	TimestampTz min;
} MinStart;

static bool
minstart_receive(TupleTableSlot *slot, DestReceiver *self)
{
	MinStart   *m = (MinStart *) self;
	bool		isnull;
	Datum		d = slot_getattr(slot, 1, &isnull);

	if (!isnull && (!m->found || DatumGetTimestampTz(d) < m->min))
	{
		m->min = DatumGetTimestampTz(d);
		m->found = true;
	}
	return true;
}

static TimestampTz
ccv_since(const Hours *hs, text *pid, const char *schema)
{
	TimestampTz *cand = palloc(sizeof(TimestampTz) * hs->n * 2);
	int			n = 0;
	AnalyticsScanFilter *f;
	MinStart	m;
	TimestampTz lo = 0,
				hi = 0;
	bool		any = false;
	bool		known;
	char	   *sql;

	for (int i = 0; i < hs->n; i++)
	{
		cand[n++] = hs->h[i];
		cand[n++] = hs->h[i] + CAT_USECS_PER_HOUR;
	}
	qsort(cand, n, sizeof(TimestampTz), analytics_ts_cmp);
	{
		int			k = 0;

		for (int i = 0; i < n; i++)
			if (k == 0 || cand[k - 1] != cand[i])
				cand[k++] = cand[i];
		n = k;
	}
	f = analytics_delta_plan(cand, n, pid, schema);
	if (f == NULL)
		return hs->lo;
	for (int i = 0; i < n; i++)
	{
		if (!f->marked[i])
		{
			/* no new rows: the filter leaves them all out */
			f->incremental[i] = true;
			continue;
		}
		if (!f->incremental[i])
			return hs->lo;
		if (!any || f->hours[i] < lo)
			lo = f->hours[i];
		if (!any || f->hours[i] + CAT_USECS_PER_HOUR > hi)
			hi = f->hours[i] + CAT_USECS_PER_HOUR;
		any = true;
	}
	if (!any)
		return hs->hi;

	/*
	 * the pass that added these hours' new rows under this snapshot noted
	 * their earliest watch event: no second read
	 */
	memset(&m, 0, sizeof(m));
	known = pid == NULL;
	for (int i = 0; i < n && known; i++)
	{
		bool		found;
		TimestampTz min;

		if (!f->marked[i])
			continue;
		known = analytics_watch_start(f->hours[i], &found, &min);
		if (known && found && (!m.found || min < m.min))
		{
			m.min = min;
			m.found = true;
		}
	}
	if (!known)
	{
		memset(&m, 0, sizeof(m));
		dest_init(&m.pub, minstart_receive);
		sql = psprintf("SELECT e.emitted_at - e.value * interval '1 second' FROM %s.events e"
					   " WHERE ($3::text IS NULL OR e.project_id = $3) AND e.event_type = 'watch' AND e.value > 0"
					   " AND e.emitted_at >= $1 AND e.emitted_at < $2",
					   schema);
		read_filtered(sql, lo, hi, pid, &m.pub, f);
		for (int i = 0; i < f->nhours; i++)
			if (f->ambiguous[i])
				return hs->lo;
	}
	if (!m.found)
		return hs->hi;
	/* the minute it starts in, within the hours */
	m.min -= ((m.min % CAT_USECS_PER_MINUTE) + CAT_USECS_PER_MINUTE) % CAT_USECS_PER_MINUTE;
	return Max(m.min, hs->lo);
}

/* the rollup_ccv rows of the minutes of hours hs from since on (all projects, or pid's) */
static void
delete_ccv_rows(const Hours *hs, text *pid, const char *schema, TimestampTz since)
{
	Oid			argtypes[4] = {TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, TIMESTAMPTZARRAYOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	int			ret;

	if (since >= hs->hi)
		return;
	values[0] = TimestampTzGetDatum(since);
	values[1] = TimestampTzGetDatum(hs->hi);
	if (pid == NULL)
		nulls[2] = 'n';
	else
		values[2] = PointerGetDatum(pid);
	values[3] = analytics_hours_array(hs->h, hs->n);
	ret = SPI_execute_with_args(psprintf("DELETE FROM %s.rollup_ccv c"
										 " WHERE ($3::text IS NULL OR c.project_id OPERATOR(pg_catalog.=) $3)"
										 " AND c.minute OPERATOR(pg_catalog.>=) $1 AND c.minute OPERATOR(pg_catalog.<) $2"
										 " AND pg_catalog.date_trunc('hour', c.minute, 'UTC') OPERATOR(pg_catalog.=) ANY ($4)",
										 schema),
								4, argtypes, values, nulls, false, 0);
	if (ret != SPI_OK_DELETE)
		elog(ERROR, "analytics: could not delete rollup_ccv rows: %s", SPI_result_code_string(ret));
}

/*
 * _rollup_ccv_rows(hrs timestamptz[], pid text) RETURNS TABLE (project_id,
 * media_id, minute, peak_sessions, secs_sessions, peak_viewers,
 * secs_viewers): the rollup_ccv rows of the hours hrs: for each project
 * (media_id NULL) and live stream, each minute of those hours that a watch
 * event touches.
 */
Datum
analytics_rollup_ccv_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *pid = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	const char *schema = quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));
	Hours		hours;
	CcvPass		p;
	MemoryContext cxt;
	bool	   *wanted;
	int64	   *peak_s,
			   *peak_v;
	double	   *avg_s,
			   *avg_v;
	char	   *sql;
	int64		c;
	int			i;
	Snapshot	snap;
	TimestampTz since;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || !hours_init(&hours, PG_GETARG_ARRAYTYPE_P(0)))
		return (Datum) 0;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "rollup refresh ccv", ALLOCSET_DEFAULT_SIZES);
	memset(&p, 0, sizeof(p));
	dest_init(&p.pub, ccv_receive);
	/* the minutes from the first hour to the end of the last */
	p.ncells = (hours.hi - hours.lo) / CAT_USECS_PER_MINUTE;
	p.hi = hours.hi;
	p.bounds = MemoryContextAlloc(cxt, (p.ncells + 1) * sizeof(int64));
	wanted = palloc0(p.ncells * sizeof(bool));
	for (c = 0; c <= p.ncells; c++)
		p.bounds[c] = hours.lo + c * CAT_USECS_PER_MINUTE;
	for (i = 0; i < hours.n; i++)
		for (c = 0; c < 60; c++)
			wanted[(hours.h[i] - hours.lo) / CAT_USECS_PER_MINUTE + c] = true;
	gt_init(&p.groups, cxt);
	kb_init(&p.kb);
	p.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "rollup refresh row", ALLOCSET_SMALL_SIZES);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "analytics: SPI_connect failed");

	/*
	 * With the refresh's snapshot (src/refreshdelta.c): the minutes from
	 * the first one a new watch event covers are recomputed, their rows
	 * replaced here; the earlier minutes keep theirs.
	 */
	snap = analytics_refresh_snapshot();
	if (snap != NULL)
		PushActiveSnapshot(snap);
	since = ccv_since(&hours, pid, schema);
	delete_ccv_rows(&hours, pid, schema, since);
	for (c = 0; c < p.ncells; c++)
		if (p.bounds[c] < since)
			wanted[c] = false;

	/*
	 * the watch events that overlap [since, hi) (a watch event lasts at most
	 * an hour; those that start at hi or later are skipped as they arrive)
	 */
	sql = psprintf("SELECT e.project_id, CASE WHEN e.media_type = 'live-stream' THEN e.media_id END,"
				   " e.session_id, e.viewer_id, e.emitted_at - e.value * interval '1 second', e.emitted_at"
				   " FROM %s.events e"
				   " WHERE ($3::text IS NULL OR e.project_id = $3) AND e.event_type = 'watch' AND e.value > 0"
				   " AND e.emitted_at > $1 AND e.emitted_at < $2 + interval '1 hour'",
				   schema);
	if (since < hours.hi)
		read_events(sql, since, hours.hi, pid, &p.pub);
	if (snap != NULL)
		PopActiveSnapshot();
	SPI_finish();

	peak_s = palloc(p.ncells * sizeof(int64));
	peak_v = palloc(p.ncells * sizeof(int64));
	avg_s = palloc(p.ncells * sizeof(double));
	avg_v = palloc(p.ncells * sizeof(double));
	for (i = 0; i < p.groups.n; i++)
	{
		RGroup	   *g = p.groups.groups[i];
		CcvGroup   *cg = (CcvGroup *) g->extra;

		analytics_ccv_series_values(cg->sessions, peak_s, avg_s);
		analytics_ccv_series_values(cg->viewers, peak_v, avg_v);
		for (c = 0; c < p.ncells; c++)
		{
			Datum		values[7];
			bool		nulls[7];
			bool		touched = false;
			int			k;

			if (!wanted[c])
				continue;
			for (k = 0; k < cg->ntouched && !touched; k++)
				touched = cg->touched[k] == p.bounds[c];
			if (peak_s[c] <= 0 && !touched)
				continue;
			if (peak_s[c] > PG_INT32_MAX || peak_v[c] > PG_INT32_MAX)
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("integer out of range")));
			memset(nulls, false, sizeof(nulls));
			values[0] = g->vals[0];
			values[1] = g->vals[1];
			nulls[1] = g->nulls[1];
			values[2] = TimestampTzGetDatum(p.bounds[c]);
			values[3] = Int32GetDatum((int32) peak_s[c]);
			values[4] = Float8GetDatum(avg_s[c] * 60);
			values[5] = Int32GetDatum((int32) peak_v[c]);
			values[6] = Float8GetDatum(avg_v[c] * 60);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextDelete(p.rowcxt);
	MemoryContextDelete(cxt);
	return (Datum) 0;
}
