/*-------------------------------------------------------------------------
 * valuesums.c
 *		analytics._value_sums(value text, n float8): the sum of n per value,
 *		all the groups of a breakdown in one bytea (README "Scaling out
 *		(Citus)").
 *
 * A breakdown of a count metric over every project on Citus asks each
 * shard for its groups (dimension value, count). As rows, that is one row
 * per value and shard, each a result of its own on the coordinator (Citus
 * receives rows one by one), merged there by a hash aggregate and sorted.
 * This aggregate has a real transition type (bytea) and a combine
 * function, which Citus pushes down as it is: each shard runs it over its
 * groups and sends one value, the coordinator combines those; query.c
 * then ranks the groups itself (send_value_sums).
 *
 * While aggregating, the state is an expanded object (a hash table of the
 * values, in a memory context of its own under the aggregate's), so that
 * a row costs a lookup, not a copy of the state; it is flattened once,
 * when it leaves the aggregate (Citus's worker_partial_agg writes it with
 * bytea's output function, the final function returns it flat). The flat
 * form, native byte order (the nodes of a cluster share one platform):
 *	 uint32 magic, uint32 count, then per value: float8 sum, uint32 length,
 *	 the value's bytes.
 * Values with a NULL value or n are skipped.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "utils/memutils.h"

#include "analytics.h"

PG_FUNCTION_INFO_V1(analytics_value_sums_transfn);
PG_FUNCTION_INFO_V1(analytics_value_sums_combine);
PG_FUNCTION_INFO_V1(analytics_value_sums_final);

#define VS_MAGIC 0x31535641		/* "AVS1" */
#define VS_HEADER (2 * sizeof(uint32))
#define VS_ENTRY_HEADER (sizeof(float8) + sizeof(uint32))
#define VS_ARENA_CHUNK 8192

typedef struct VsEntry
{
	const char *key;
	uint32		len;
	uint32		hash;
	float8		sum;
} VsEntry;

typedef struct ValueSums
{
	ExpandedObjectHeader hdr;
	VsEntry    *entries;
	uint32		n;
	uint32		cap;
	uint32	   *slots;			/* entry index + 1; 0: empty */
	uint32		mask;			/* slots - 1, a power of 2 */
	Size		keybytes;		/* the values' bytes, for the flat size */
	char	   *arena;			/* where the next value's bytes go */
	Size		arena_left;
} ValueSums;

static Size vs_get_flat_size(ExpandedObjectHeader *eohptr);
static void vs_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size);

static const ExpandedObjectMethods vs_methods = {
	vs_get_flat_size,
	vs_flatten_into
};

static ValueSums *
vs_new(MemoryContext parent)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "analytics value sums", ALLOCSET_DEFAULT_SIZES);
	ValueSums  *vs = MemoryContextAllocZero(cxt, sizeof(ValueSums));

	EOH_init_header(&vs->hdr, &vs_methods, cxt);
	vs->cap = 64;
	vs->entries = MemoryContextAlloc(cxt, vs->cap * sizeof(VsEntry));
	vs->mask = 127;
	vs->slots = MemoryContextAllocZero(cxt, (vs->mask + 1) * sizeof(uint32));
	return vs;
}

/* the bytes of a value, kept in the state's context */
static const char *
vs_keep(ValueSums *vs, const char *key, uint32 len)
{
	char	   *p;

	if (len > VS_ARENA_CHUNK / 4)
		p = MemoryContextAlloc(vs->hdr.eoh_context, len + 1);
	else
	{
		if (vs->arena_left < len)
		{
			vs->arena = MemoryContextAlloc(vs->hdr.eoh_context, VS_ARENA_CHUNK);
			vs->arena_left = VS_ARENA_CHUNK;
		}
		p = vs->arena;
		vs->arena += len;
		vs->arena_left -= len;
	}
	memcpy(p, key, len);
	return p;
}

static void
vs_grow_slots(ValueSums *vs)
{
	uint32		nslots = (vs->mask + 1) * 2;
	uint32		i;

	if (nslots > MaxAllocSize / sizeof(uint32))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many values to sum")));
	pfree(vs->slots);
	vs->slots = MemoryContextAllocZero(vs->hdr.eoh_context, nslots * sizeof(uint32));
	vs->mask = nslots - 1;
	for (i = 0; i < vs->n; i++)
	{
		uint32		h;

		for (h = vs->entries[i].hash & vs->mask; vs->slots[h] != 0; h = (h + 1) & vs->mask)
			;
		vs->slots[h] = i + 1;
	}
}

/* adds sum to the value key (len bytes) */
static void
vs_add(ValueSums *vs, const char *key, uint32 len, float8 sum)
{
	uint32		hash = hash_bytes((const unsigned char *) key, (int) len);
	uint32		h;
	VsEntry    *e;

	for (h = hash & vs->mask; vs->slots[h] != 0; h = (h + 1) & vs->mask)
	{
		e = &vs->entries[vs->slots[h] - 1];
		if (e->hash == hash && e->len == len && memcmp(e->key, key, len) == 0)
		{
			e->sum += sum;
			return;
		}
	}
	if (vs->n == vs->cap)
	{
		if ((Size) vs->cap * 2 > MaxAllocSize / sizeof(VsEntry))
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many values to sum")));
		vs->cap *= 2;
		vs->entries = repalloc(vs->entries, vs->cap * sizeof(VsEntry));
	}
	e = &vs->entries[vs->n];
	e->key = vs_keep(vs, key, len);
	e->len = len;
	e->hash = hash;
	e->sum = sum;
	vs->keybytes += len;
	vs->slots[h] = ++vs->n;
	/* at most half full */
	if (vs->n * 2 > vs->mask)
		vs_grow_slots(vs);
}

static Size
vs_get_flat_size(ExpandedObjectHeader *eohptr)
{
	ValueSums  *vs = (ValueSums *) eohptr;
	Size		size = VARHDRSZ + VS_HEADER + (Size) vs->n * VS_ENTRY_HEADER + vs->keybytes;

	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("value sums too large: %zu bytes", size)));
	return size;
}

static void
vs_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	ValueSums  *vs = (ValueSums *) eohptr;
	char	   *p = VARDATA(result);
	uint32		magic = VS_MAGIC;
	uint32		i;

	Assert(allocated_size == vs_get_flat_size(eohptr));
	SET_VARSIZE(result, allocated_size);
	memcpy(p, &magic, sizeof(uint32));
	memcpy(p + sizeof(uint32), &vs->n, sizeof(uint32));
	p += VS_HEADER;
	for (i = 0; i < vs->n; i++)
	{
		const VsEntry *e = &vs->entries[i];

		memcpy(p, &e->sum, sizeof(float8));
		memcpy(p + sizeof(float8), &e->len, sizeof(uint32));
		p += VS_ENTRY_HEADER;
		memcpy(p, e->key, e->len);
		p += e->len;
	}
}

static void
invalid_state(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid value sums state")));
}

/*
 * The values of a flat state (data, size bytes after the header): each
 * passed to fn, checked against the size.
 */
typedef void (*VsVisit) (void *arg, const char *key, uint32 len, float8 sum);

static void
vs_visit_flat(const char *data, Size size, VsVisit fn, void *arg)
{
	const char *end = data + size;
	uint32		magic;
	uint32		n;
	uint32		i;

	if (size < VS_HEADER)
		invalid_state();
	memcpy(&magic, data, sizeof(uint32));
	memcpy(&n, data + sizeof(uint32), sizeof(uint32));
	if (magic != VS_MAGIC)
		invalid_state();
	data += VS_HEADER;
	for (i = 0; i < n; i++)
	{
		float8		sum;
		uint32		len;

		if ((Size) (end - data) < VS_ENTRY_HEADER)
			invalid_state();
		memcpy(&sum, data, sizeof(float8));
		memcpy(&len, data + sizeof(float8), sizeof(uint32));
		data += VS_ENTRY_HEADER;
		if ((Size) (end - data) < len)
			invalid_state();
		fn(arg, data, len, sum);
		data += len;
	}
	if (data != end)
		invalid_state();
}

static void
vs_add_visit(void *arg, const char *key, uint32 len, float8 sum)
{
	vs_add((ValueSums *) arg, key, len, sum);
}

/* is d one of our expanded objects (read-write or read-only)? */
static ValueSums *
vs_expanded(Datum d)
{
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(d)))
	{
		ExpandedObjectHeader *eoh = DatumGetEOHP(d);

		if (eoh->eoh_methods == &vs_methods)
			return (ValueSums *) eoh;
	}
	return NULL;
}

/* adds the values of the state d (expanded or flat) to vs */
static void
vs_add_state(ValueSums *vs, Datum d)
{
	ValueSums  *other = vs_expanded(d);

	if (other != NULL)
	{
		uint32		i;

		for (i = 0; i < other->n; i++)
			vs_add(vs, other->entries[i].key, other->entries[i].len, other->entries[i].sum);
	}
	else
	{
		bytea	   *flat = DatumGetByteaPP(d);

		vs_visit_flat(VARDATA_ANY(flat), VARSIZE_ANY_EXHDR(flat), vs_add_visit, vs);
	}
}

/*
 * The state of argument argno to change: our read-write expanded object as
 * it is, else a new one (in aggcxt) holding its values (none for NULL)
 */
static ValueSums *
vs_writable(FunctionCallInfo fcinfo, int argno, MemoryContext aggcxt)
{
	ValueSums  *vs;

	if (!PG_ARGISNULL(argno))
	{
		Datum		d = PG_GETARG_DATUM(argno);

		if (VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(d)) && (vs = vs_expanded(d)) != NULL)
			return vs;
		vs = vs_new(aggcxt);
		vs_add_state(vs, d);
		return vs;
	}
	return vs_new(aggcxt);
}

/* _value_sums_transfn(state bytea, value text, n float8) RETURNS bytea */
Datum
analytics_value_sums_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = analytics_aggregate_context(fcinfo, "_value_sums_transfn");
	ValueSums  *vs;
	text	   *value;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	vs = vs_writable(fcinfo, 0, aggcxt);
	value = PG_GETARG_TEXT_PP(1);
	vs_add(vs, VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value), PG_GETARG_FLOAT8(2));
	PG_RETURN_DATUM(EOHPGetRWDatum(&vs->hdr));
}

/* _value_sums_combine(bytea, bytea) RETURNS bytea */
Datum
analytics_value_sums_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = analytics_aggregate_context(fcinfo, "_value_sums_combine");
	ValueSums  *vs;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	vs = vs_writable(fcinfo, 0, aggcxt);
	vs_add_state(vs, PG_GETARG_DATUM(1));
	PG_RETURN_DATUM(EOHPGetRWDatum(&vs->hdr));
}

/* _value_sums_final(bytea) RETURNS bytea: the state, flat */
Datum
analytics_value_sums_final(PG_FUNCTION_ARGS)
{
	(void) analytics_aggregate_context(fcinfo, "_value_sums_final");
	PG_RETURN_BYTEA_P(PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(0)));
}

/* the values of a flat state, for query.c */
typedef struct VsCollect
{
	AnalyticsValueSum *out;
	int			n;
} VsCollect;

static void
vs_collect_visit(void *arg, const char *key, uint32 len, float8 sum)
{
	VsCollect  *c = (VsCollect *) arg;

	c->out[c->n].key = key;
	c->out[c->n].len = (int) len;
	c->out[c->n].sum = sum;
	c->n++;
}

/*
 * The values of a result of _value_sums (flat), palloc'ed; their keys
 * point into state (which must stay)
 */
AnalyticsValueSum *
analytics_value_sums_read(bytea *state, int *n)
{
	const char *data = VARDATA_ANY(state);
	Size		size = VARSIZE_ANY_EXHDR(state);
	uint32		count;
	VsCollect	c;

	if (size < VS_HEADER)
		invalid_state();
	memcpy(&count, data + sizeof(uint32), sizeof(uint32));
	/* every value takes at least its entry header */
	if (count > (size - VS_HEADER) / VS_ENTRY_HEADER)
		invalid_state();
	c.out = palloc(sizeof(AnalyticsValueSum) * (count + 1));
	c.n = 0;
	vs_visit_flat(data, size, vs_collect_visit, &c);
	*n = c.n;
	return c.out;
}
