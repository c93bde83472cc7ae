/*-------------------------------------------------------------------------
 * valuesums.c
 *		analytics._value_sums(value text, n float8): the sum of n per value,
 *		all the groups of a breakdown in one value, and
 *		analytics._value_sums_merge(text), which merges such values (README
 *		"Scaling out (Citus)").
 *
 * A breakdown of a count metric over every project on Citus asks each
 * shard for its groups (dimension value, count). As rows, that is one row
 * per value and shard, each a result of its own on the coordinator (Citus
 * receives rows one by one), merged there by a hash aggregate and sorted.
 * Instead, each project's groups are summed into one value on its shard
 * (_value_sums, grouped by project_id), and those of a shard merged there
 * (_value_sums_merge: a real transition type, text, and a combine
 * function, which Citus pushes down as it is: worker_partial_agg on each
 * shard, coord_combine_agg on the coordinator). The coordinator merges one
 * value per shard; query.c then ranks the groups itself
 * (send_value_sums).
 *
 * While aggregating, the state is an expanded object (a hash table of the
 * values, in a memory context of its own under the aggregate's), so that
 * a row costs a lookup, not a copy of the state; it is flattened once,
 * when it leaves the aggregate (Citus's worker_partial_agg writes it with
 * text's output function, the final function returns it flat).
 *
 * Its flat form is text: each value's bytes as they are, behind their
 * length in characters, and ASCII (valid text in any server encoding, as
 * the values are; a node reading it from another whose database has
 * another encoding gets it converted to its own by the connection, which
 * keeps the characters, not the bytes). A sum that is an integer of at
 * most 2^53 (a count) is written in decimal, any other as 'x' and the 16
 * hex digits of its bits (exact either way). Text's output and input
 * functions pass it on as it is: no hex encoding (a bytea's doubles it),
 * and few bytes per value:
 *	 "AVS1 " count ";", then per value: characters ":" bytes sum ";"
 * Rows with a NULL value or n are skipped; NULL for no rows.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "utils/memutils.h"

#include "analytics.h"

PG_FUNCTION_INFO_V1(analytics_value_sums_transfn);
PG_FUNCTION_INFO_V1(analytics_value_sums_combine);
PG_FUNCTION_INFO_V1(analytics_value_sums_final);

#define VS_MAGIC "AVS1 "
#define VS_MAGIC_LEN 5
#define VS_ARENA_CHUNK 8192
/* a sum is written in decimal when it is an integer of at most 2^53 */
#define VS_EXACT_INT 9007199254740992.0

typedef struct VsEntry
{
	const char *key;
	uint32		len;			/* bytes */
	uint32		chars;			/* characters */
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
	Size		flat_size;		/* the flat size, 0: to compute */
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

/* room for n more values without growing */
static void
vs_reserve(ValueSums *vs, uint32 n)
{
	Size		want = (Size) vs->n + n;

	if (want > vs->cap)
	{
		if (want > MaxAllocSize / sizeof(VsEntry))
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many values to sum")));
		vs->cap = (uint32) want;
		vs->entries = repalloc(vs->entries, vs->cap * sizeof(VsEntry));
	}
	while (want * 2 > vs->mask)
		vs_grow_slots(vs);
}

/* the characters of a value (len bytes): its bytes when they are ASCII */
static uint32
vs_chars(const char *key, uint32 len)
{
	unsigned char acc = 0;
	uint32		i;

	for (i = 0; i < len; i++)
		acc |= (unsigned char) key[i];
	if ((acc & 0x80) == 0)
		return len;
	return (uint32) pg_mbstrlen_with_len(key, (int) len);
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
			vs->flat_size = 0;
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
	e->chars = vs_chars(key, len);
	e->hash = hash;
	e->sum = sum;
	vs->keybytes += len;
	vs->flat_size = 0;
	vs->slots[h] = ++vs->n;
	/* at most half full */
	if (vs->n * 2 > vs->mask)
		vs_grow_slots(vs);
}

/* the decimal digits of v */
static int
decimal_len(uint64 v)
{
	int			n = 1;

	while (v >= 10)
	{
		v /= 10;
		n++;
	}
	return n;
}

/* is a sum written in decimal (else 'x' and its bits in hex)? */
static inline bool
sum_is_int(float8 sum)
{
	return sum == rint(sum) && fabs(sum) <= VS_EXACT_INT && !(sum == 0 && signbit(sum));
}

/* the length of a sum written */
static int
sum_len(float8 sum)
{
	if (!sum_is_int(sum))
		return 17;
	return (sum < 0 ? 1 : 0) + decimal_len((uint64) fabs(sum));
}

static Size
vs_get_flat_size(ExpandedObjectHeader *eohptr)
{
	ValueSums  *vs = (ValueSums *) eohptr;
	Size		size;
	uint32		i;

	if (vs->flat_size != 0)
		return vs->flat_size;
	size = VARHDRSZ + VS_MAGIC_LEN + decimal_len(vs->n) + 1 + vs->keybytes;
	for (i = 0; i < vs->n; i++)
		size += decimal_len(vs->entries[i].chars) + 1 + sum_len(vs->entries[i].sum) + 1;
	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("value sums too large: %zu bytes", size)));
	vs->flat_size = size;
	return size;
}

static void
vs_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	ValueSums  *vs = (ValueSums *) eohptr;
	char	   *p = VARDATA(result);
	uint32		i;

	if (allocated_size != vs_get_flat_size(eohptr))
		elog(ERROR, "analytics: value sums flattened into %zu bytes, not %zu", allocated_size, vs->flat_size);
	SET_VARSIZE(result, allocated_size);
	memcpy(p, VS_MAGIC, VS_MAGIC_LEN);
	p += VS_MAGIC_LEN;
	p += pg_ulltoa_n(vs->n, p);
	*p++ = ';';
	for (i = 0; i < vs->n; i++)
	{
		const VsEntry *e = &vs->entries[i];

		p += pg_ulltoa_n(e->chars, p);
		*p++ = ':';
		memcpy(p, e->key, e->len);
		p += e->len;
		if (sum_is_int(e->sum))
		{
			if (e->sum < 0)
				*p++ = '-';
			p += pg_ulltoa_n((uint64) fabs(e->sum), p);
		}
		else
		{
			static const char hex[] = "0123456789abcdef";
			uint64		bits;
			int			k;

			memcpy(&bits, &e->sum, sizeof(bits));
			*p++ = 'x';
			for (k = 15; k >= 0; k--)
				*p++ = hex[(bits >> (4 * k)) & 0xF];
		}
		*p++ = ';';
	}
	Assert(p == (char *) result + allocated_size);
}

static void
invalid_state(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid value sums state")));
}

/* an unsigned decimal number at *p (before end), at most max; moves *p */
static uint64
parse_uint(const char **p, const char *end, uint64 max)
{
	uint64		v = 0;
	const char *q = *p;

	if (q >= end || *q < '0' || *q > '9')
		invalid_state();
	while (q < end && *q >= '0' && *q <= '9')
	{
		v = v * 10 + (*q++ - '0');
		if (v > max)
			invalid_state();
	}
	*p = q;
	return v;
}

/* the number of values of a flat state (data, size bytes); *p: after it */
static uint32
vs_flat_count(const char *data, Size size, const char **p)
{
	const char *end = data + size;
	uint32		n;

	if (size < VS_MAGIC_LEN || memcmp(data, VS_MAGIC, VS_MAGIC_LEN) != 0)
		invalid_state();
	*p = data + VS_MAGIC_LEN;
	n = (uint32) parse_uint(p, end, PG_UINT32_MAX);
	if (*p >= end || **p != ';')
		invalid_state();
	(*p)++;
	return n;
}

/*
 * The bytes of the chars characters at key (before end, which is at least
 * chars bytes further): as many when they are ASCII
 */
static uint32
vs_bytes(const char *key, const char *end, uint32 chars)
{
	unsigned char acc = 0;
	const char *p;
	uint32		i;

	for (i = 0; i < chars; i++)
		acc |= (unsigned char) key[i];
	if ((acc & 0x80) == 0)
		return chars;
	p = key;
	for (i = 0; i < chars; i++)
	{
		int			l;

		if (p >= end)
			invalid_state();
		l = pg_mblen(p);
		if (end - p < l)
			invalid_state();
		p += l;
	}
	return (uint32) (p - key);
}

/*
 * The values of a flat state (data, size bytes, the text of the state):
 * each passed to fn, checked against the size.
 */
static void
vs_visit_flat(const char *data, Size size, AnalyticsValueSumVisit fn, void *arg)
{
	const char *end = data + size;
	const char *p;
	uint32		n = vs_flat_count(data, size, &p);
	uint32		i;

	for (i = 0; i < n; i++)
	{
		const char *key;
		uint32		chars;
		uint32		len;
		float8		sum;

		chars = (uint32) parse_uint(&p, end, MaxAllocSize);
		if (p >= end || *p != ':' || (Size) (end - p - 1) < chars)
			invalid_state();
		key = p + 1;
		len = vs_bytes(key, end, chars);
		p = key + len;
		if (p < end && *p == 'x')
		{
			uint64		bits = 0;
			int			k;

			if (end - p < 17)
				invalid_state();
			for (k = 1; k <= 16; k++)
			{
				char		c = p[k];

				bits = (bits << 4) | (c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 16);
				if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
					invalid_state();
			}
			memcpy(&sum, &bits, sizeof(sum));
			p += 17;
		}
		else
		{
			bool		neg = p < end && *p == '-';

			if (neg)
				p++;
			sum = (float8) parse_uint(&p, end, (uint64) VS_EXACT_INT);
			if (neg)
				sum = -sum;
		}
		if (p >= end || *p != ';')
			invalid_state();
		p++;
		fn(arg, key, len, sum);
	}
	if (p != end)
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

		vs_reserve(vs, other->n);
		for (i = 0; i < other->n; i++)
			vs_add(vs, other->entries[i].key, other->entries[i].len, other->entries[i].sum);
	}
	else
	{
		text	   *flat = DatumGetTextPP(d);

		vs_reserve(vs, analytics_value_sums_count(flat));
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

/* _value_sums_transfn(state text, value text, n float8) RETURNS text */
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

/* _value_sums_combine(text, text) RETURNS text */
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

/* _value_sums_final(text) RETURNS text: the state, flat */
Datum
analytics_value_sums_final(PG_FUNCTION_ARGS)
{
	(void) analytics_aggregate_context(fcinfo, "_value_sums_final");
	PG_RETURN_TEXT_P(PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(0)));
}

/*
 * The number of values of a result of _value_sums (flat), as its header
 * says: at most one per 4 bytes ("0:0;")
 */
uint32
analytics_value_sums_count(text *state)
{
	const char *data = VARDATA_ANY(state);
	Size		size = VARSIZE_ANY_EXHDR(state);
	const char *p;
	uint32		count = vs_flat_count(data, size, &p);

	if (count > size / 4)
		invalid_state();
	return count;
}

/*
 * Each value of a result of _value_sums (flat) passed to fn, with its
 * bytes (in state), their length and its sum; for query.c
 */
void
analytics_value_sums_visit(text *state, AnalyticsValueSumVisit fn, void *arg)
{
	vs_visit_flat(VARDATA_ANY(state), VARSIZE_ANY_EXHDR(state), fn, arg);
}
