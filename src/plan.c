/*-------------------------------------------------------------------------
 * plan.c
 *		PostgreSQL glue of the period cover (src/cover.c, plain C):
 *		analytics._rollup_cover(), which tells a query which rollup rows and
 *		raw events to read, added or taken out, for a period; and
 *		analytics._ranges_sql(), the condition of a query on those ranges;
 *		analytics._cover_raw_minutes(), how much of them is raw events.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "analytics.h"
#include "cover.h"

PG_FUNCTION_INFO_V1(analytics_rollup_cover);
PG_FUNCTION_INFO_V1(analytics_ranges_sql);
PG_FUNCTION_INFO_V1(analytics_cover_raw_minutes);

/* the levels in the order of the fields of analytics._cover */
static const int field_level[] = {CL_RAW, CL_5MIN, CL_HOUR, CL_DAY, CL_WEEK, CL_W4};
#define NFIELD_LEVELS lengthof(field_level)

/* the cover level of a rollup level name (hour, day, week, w4) */
int
analytics_cover_level(const char *name)
{
	if (strcmp(name, "hour") == 0)
		return CL_HOUR;
	if (strcmp(name, "day") == 0)
		return CL_DAY;
	if (strcmp(name, "week") == 0)
		return CL_WEEK;
	if (strcmp(name, "w4") == 0)
		return CL_W4;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid rollup level: \"%s\"", name),
			 errhint("Valid levels are: hour, day, week, w4.")));
	return CL_HOUR;				/* not reached */
}

/* the lower or upper bounds of the pieces of one level and sign, as timestamptz[] */
Datum
analytics_cover_ts_array(const CoverPiece *p, int n, int level, int sign, bool upper)
{
	Datum	   *d = palloc(sizeof(Datum) * (n > 0 ? n : 1));
	int			i,
				k = 0;

	for (i = 0; i < n; i++)
		if (p[i].level == level && p[i].sign == sign)
			d[k++] = TimestampTzGetDatum(upper ? p[i].hi : p[i].lo);
	return PointerGetDatum(construct_array(d, k, TIMESTAMPTZOID, sizeof(TimestampTz),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * _rollup_cover(pf, pt, max_level text, fine boolean, dim smallint,
 *				 pending timestamptz[], data_lo, data_hi) RETURNS _cover
 *
 * data_lo/data_hi: the refreshed rollup rows lie in [data_lo, data_hi)
 * (NULL: there are none); pending: hours not refreshed yet (read raw).
 */
Datum
analytics_rollup_cover(PG_FUNCTION_ARGS)
{
	CoverInput	in;
	CoverPiece *pieces;
	int			npieces;
	int			rc;
	TupleDesc	tupdesc;
	Datum		values[4 * NFIELD_LEVELS];
	bool		nulls[4 * NFIELD_LEVELS];
	int64_t    *pend = NULL;
	int			i;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(4))
		PG_RETURN_NULL();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));
	if (tupdesc->natts != 4 * (int) NFIELD_LEVELS)
		elog(ERROR, "analytics._cover has %d fields, expected %d", tupdesc->natts, 4 * (int) NFIELD_LEVELS);

	memset(&in, 0, sizeof(in));
	in.from = PG_GETARG_TIMESTAMPTZ(0);
	in.to = PG_GETARG_TIMESTAMPTZ(1);
	in.max_level = analytics_cover_level(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	in.fine = !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);
	cover_default_weights(PG_GETARG_INT16(4), in.weight);
	if (!PG_ARGISNULL(5))
	{
		ArrayType  *a = PG_GETARG_ARRAYTYPE_P(5);
		Datum	   *elems;
		bool	   *enulls;
		int			n;

		deconstruct_array(a, TIMESTAMPTZOID, sizeof(TimestampTz), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &elems, &enulls, &n);
		pend = palloc(sizeof(int64_t) * (n > 0 ? n : 1));
		for (i = 0; i < n; i++)
			if (!enulls[i])
				pend[in.npending++] = DatumGetTimestampTz(elems[i]);
		in.pending = pend;
	}
	in.has_data = !PG_ARGISNULL(6) && !PG_ARGISNULL(7);
	if (in.has_data)
	{
		in.data_lo = PG_GETARG_TIMESTAMPTZ(6);
		in.data_hi = PG_GETARG_TIMESTAMPTZ(7);
	}

	rc = cover_plan(&in, &pieces, &npieces);
	if (rc == -1)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (rc != 0)
		elog(ERROR, "analytics._rollup_cover: overlapping pieces");

	/* per level: added from, added to, taken out from, taken out to */
	PG_TRY();
	{
		for (i = 0; i < (int) NFIELD_LEVELS; i++)
		{
			values[4 * i] = analytics_cover_ts_array(pieces, npieces, field_level[i], 1, false);
			values[4 * i + 1] = analytics_cover_ts_array(pieces, npieces, field_level[i], 1, true);
			values[4 * i + 2] = analytics_cover_ts_array(pieces, npieces, field_level[i], -1, false);
			values[4 * i + 3] = analytics_cover_ts_array(pieces, npieces, field_level[i], -1, true);
		}
	}
	PG_FINALLY();
	{
		free(pieces);
	}
	PG_END_TRY();
	memset(nulls, 0, sizeof(nulls));
	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * analytics._ranges_sql(col text, lo_param int, hi_param int, n int) RETURNS text
 *
 * "((col >= $lo[1] AND col < $hi[1]) OR ... )" for the n ranges of a level
 * of the cover, passed as two arrays of range starts and ends; "false" for
 * none. col is an expression of the extension's own query text (never a
 * caller's input); the values stay parameters.
 */
Datum
analytics_ranges_sql(PG_FUNCTION_ARGS)
{
	int			n = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT32(3);
	char	   *col;
	int			lo;
	int			hi;
	StringInfoData buf;
	int			i;

	if (n <= 0)
		PG_RETURN_TEXT_P(cstring_to_text("false"));
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	col = text_to_cstring(PG_GETARG_TEXT_PP(0));
	lo = PG_GETARG_INT32(1);
	hi = PG_GETARG_INT32(2);
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '(');
	for (i = 1; i <= n; i++)
		appendStringInfo(&buf, "%s(%s >= $%d[%d] AND %s < $%d[%d])", i > 1 ? " OR " : "", col, lo, i, col, hi, i);
	appendStringInfoChar(&buf, ')');
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}

/*
 * analytics._cover_raw_minutes(c _cover) RETURNS double precision
 *
 * The minutes of raw events a cover reads, added and taken out (its fields
 * raw_from, raw_to, raw_neg_from, raw_neg_to are the first four).
 */
Datum
analytics_cover_raw_minutes(PG_FUNCTION_ARGS)
{
	HeapTupleHeader t = PG_GETARG_HEAPTUPLEHEADER(0);
	double		total = 0;
	int			f;

	for (f = 0; f < 2; f++)
	{
		bool		null_lo,
					null_hi;
		Datum		lo = GetAttributeByNum(t, 1 + 2 * f, &null_lo);
		Datum		hi = GetAttributeByNum(t, 2 + 2 * f, &null_hi);
		Datum	   *los,
				   *his;
		int			nlo,
					nhi,
					i;

		if (null_lo || null_hi)
			continue;
		deconstruct_array(DatumGetArrayTypeP(lo), TIMESTAMPTZOID, sizeof(TimestampTz), FLOAT8PASSBYVAL,
						  TYPALIGN_DOUBLE, &los, NULL, &nlo);
		deconstruct_array(DatumGetArrayTypeP(hi), TIMESTAMPTZOID, sizeof(TimestampTz), FLOAT8PASSBYVAL,
						  TYPALIGN_DOUBLE, &his, NULL, &nhi);
		if (nlo != nhi)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a range of the cover has %d starts and %d ends", nlo, nhi)));
		for (i = 0; i < nlo; i++)
			total += (double) (DatumGetTimestampTz(his[i]) - DatumGetTimestampTz(los[i]));
	}
	PG_RETURN_FLOAT8(total / (double) USECS_PER_MINUTE);
}
