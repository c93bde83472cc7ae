/*-------------------------------------------------------------------------
 * stats.c
 *		One-pass event statistics: the aggregates analytics.event_stats and
 *		analytics.event_stats_merge, and analytics.stats_metric, which turns
 *		their result into one metric of docs/metrics.md.
 *
 * Both aggregates share one transition state, a fixed array of 17 float8
 * (counts are exact up to 2^53), and therefore one combine, serialize,
 * deserialize and final function.  The result is a float8[17], laid out as
 * the catalogue says (catalog.h: counts per event type, views per threshold,
 * sums of impression and watch values).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

#include "analytics.h"
#include "catalog.h"

/*
 * The layout of the state and of the result array, the event types, the
 * view thresholds and the metrics are the catalogue's (catalog.h); the
 * short names below are this file's.
 */
#define ES_NTYPES			CAT_ES_NTYPES
#define ES_VIEW3			CAT_ES_VIEW3
#define ES_NTHRESHOLDS		CAT_ES_NTHRESHOLDS
#define ES_IMPR_SUM			CAT_ES_IMPR_SUM
#define ES_IMPR_N			CAT_ES_IMPR_N
#define ES_WATCH_SUM		CAT_ES_WATCH_SUM
#define ES_NELEMS			CAT_ES_NELEMS
#define ET_IMPRESSION		CAT_ET_IMPRESSION
#define ET_PLAY				CAT_ET_PLAY
#define ET_START			CAT_ET_START
#define ET_END				CAT_ET_END
#define ET_WATCH			CAT_ET_WATCH
#define ET_VIEW				CAT_ET_VIEW
#define event_type_labels	catalog_event_types
#define view_thresholds		catalog_view_thresholds
#define view_durations		catalog_view_durations
#define VIEW_DURATION_DEFAULT CAT_VIEW_DURATION_DEFAULT
#define VIEW_METRIC			CAT_VIEW_METRIC
/* every valid (metric, aggregation) pair: the only list of names, error hints are built from it */
#define metric_defs			catalog_metric_defs
#define N_METRIC_DEFS		catalog_n_metric_defs

typedef struct EventStatsState
{
	float8		v[ES_NELEMS];
} EventStatsState;

/* enum OID -> index cache, kept in fn_extra of the transition function */
#define ES_CACHE_SIZE 16
typedef struct EnumIndexCache
{
	int			n;
	Oid			oids[ES_CACHE_SIZE];
	int			idx[ES_CACHE_SIZE];
} EnumIndexCache;

PG_FUNCTION_INFO_V1(analytics_event_stats_transfn);
PG_FUNCTION_INFO_V1(analytics_event_stats_merge_transfn);
PG_FUNCTION_INFO_V1(analytics_event_stats_combine);
PG_FUNCTION_INFO_V1(analytics_event_stats_serialize);
PG_FUNCTION_INFO_V1(analytics_event_stats_deserialize);
PG_FUNCTION_INFO_V1(analytics_event_stats_final);
PG_FUNCTION_INFO_V1(analytics_stats_metric);
PG_FUNCTION_INFO_V1(analytics_event_stats_negate);

static EventStatsState *
new_state(MemoryContext aggcontext)
{
	return (EventStatsState *) MemoryContextAllocZero(aggcontext, sizeof(EventStatsState));
}

/* index (0..9) of an analytics.event_type value, by its label */
static int
event_type_index(FunctionCallInfo fcinfo, Oid enumoid)
{
	EnumIndexCache *cache = (EnumIndexCache *) fcinfo->flinfo->fn_extra;
	HeapTuple	tup;
	char		label[NAMEDATALEN];
	int			idx = -1;
	int			i;

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(EnumIndexCache));
		fcinfo->flinfo->fn_extra = cache;
	}
	for (i = 0; i < cache->n; i++)
		if (cache->oids[i] == enumoid)
			return cache->idx[i];

	tup = SearchSysCache1(ENUMOID, ObjectIdGetDatum(enumoid));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid internal value for enum: %u", enumoid)));
	strlcpy(label, NameStr(((Form_pg_enum) GETSTRUCT(tup))->enumlabel), NAMEDATALEN);
	ReleaseSysCache(tup);
	for (i = 0; i < ES_NTYPES; i++)
		if (strcmp(label, event_type_labels[i]) == 0)
		{
			idx = i;
			break;
		}
	if (idx < 0)
	{
		StringInfoData known;

		initStringInfo(&known);
		for (i = 0; i < ES_NTYPES; i++)
			appendStringInfo(&known, "%s%s", i > 0 ? ", " : "", event_type_labels[i]);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown event_type: \"%s\"", label),
				 errhint("event_stats counts the event types %s.", known.data)));
	}

	/* remember it; the enum has 10 labels, so the cache never fills up */
	if (cache->n < ES_CACHE_SIZE)
	{
		cache->oids[cache->n] = enumoid;
		cache->idx[cache->n] = idx;
		cache->n++;
	}
	return idx;
}

/*
 * The transition of one event into 17 accumulated elements: shared by the
 * aggregate and the rollup refresh (refresh.c), so that both add the same
 * numbers in the same way.
 */
void
analytics_event_stats_add(float8 *v, int idx, bool value_isnull, float8 value)
{
	int			i;

	v[idx] += 1;
	if (value_isnull)
		return;
	switch (idx)
	{
		case ET_IMPRESSION:
			v[ES_IMPR_SUM] += value;
			v[ES_IMPR_N] += 1;
			break;
		case ET_WATCH:
			v[ES_WATCH_SUM] += value;
			break;
		case ET_VIEW:
			for (i = 0; i < ES_NTHRESHOLDS; i++)
				if (value == view_thresholds[i])
				{
					v[ES_VIEW3 + i] += 1;
					break;
				}
			break;
		default:
			break;
	}
}

/* the element of an analytics.event_type value (its enum OID), for refresh.c */
int
analytics_event_type_index(FunctionCallInfo fcinfo, Oid enumoid)
{
	return event_type_index(fcinfo, enumoid);
}

/*
 * event_stats_transfn(state internal, event_type analytics.event_type,
 *					   value float8) RETURNS internal
 */
Datum
analytics_event_stats_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = analytics_aggregate_context(fcinfo, "event_stats_transfn");
	EventStatsState *state = PG_ARGISNULL(0) ? NULL : (EventStatsState *) PG_GETARG_POINTER(0);

	if (state == NULL)
		state = new_state(aggcontext);
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(state);

	analytics_event_stats_add(state->v, event_type_index(fcinfo, PG_GETARG_OID(1)),
							  PG_ARGISNULL(2), PG_ARGISNULL(2) ? 0 : PG_GETARG_FLOAT8(2));
	PG_RETURN_POINTER(state);
}

/*
 * Check that an array is a valid event statistics array and return its
 * elements.
 */
static const float8 *
stats_array_values(ArrayType *arr, const char *argname)
{
	if (ARR_ELEMTYPE(arr) != FLOAT8OID)
		elog(ERROR, "%s: expected a double precision array", argname);
	if (ARR_NDIM(arr) != 1 || ARR_DIMS(arr)[0] != ES_NELEMS || array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s: expected a one-dimensional array of %d non-NULL elements",
						argname, ES_NELEMS),
				 errdetail("The array has %d dimension(s), %d element(s)%s.",
						   ARR_NDIM(arr), ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr)),
						   array_contains_nulls(arr) ? ", some NULL" : ""),
				 errhint("Pass an array returned by analytics.event_stats or analytics.event_stats_merge.")));
	/* ARR_DATA_PTR, spelled out: the macro trips -Wsign-compare */
	return (const float8 *) ((char *) arr +
							 (ARR_HASNULL(arr) ? (Size) arr->dataoffset
							  : (Size) ARR_OVERHEAD_NONULLS(ARR_NDIM(arr))));
}

/*
 * event_stats_merge_transfn(state internal, stats float8[]) RETURNS internal
 * Adds a 17-element statistics array to the state; NULL arrays are skipped.
 */
Datum
analytics_event_stats_merge_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = analytics_aggregate_context(fcinfo, "event_stats_merge_transfn");
	EventStatsState *state = PG_ARGISNULL(0) ? NULL : (EventStatsState *) PG_GETARG_POINTER(0);

	if (state == NULL)
		state = new_state(aggcontext);
	if (!PG_ARGISNULL(1))
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
		const float8 *values = stats_array_values(arr, "event statistics array");
		int			i;

		for (i = 0; i < ES_NELEMS; i++)
			state->v[i] += values[i];
		if ((Pointer) arr != PG_GETARG_POINTER(1))
			pfree(arr);
	}
	PG_RETURN_POINTER(state);
}

/* event_stats_combine(internal, internal) RETURNS internal */
Datum
analytics_event_stats_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = analytics_aggregate_context(fcinfo, "event_stats_combine");
	EventStatsState *state1 = PG_ARGISNULL(0) ? NULL : (EventStatsState *) PG_GETARG_POINTER(0);
	EventStatsState *state2 = PG_ARGISNULL(1) ? NULL : (EventStatsState *) PG_GETARG_POINTER(1);
	int			i;

	if (state2 == NULL)
	{
		if (state1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state1);
	}
	if (state1 == NULL)
	{
		/* state2 may live in a shorter-lived context: copy it */
		state1 = new_state(aggcontext);
		memcpy(state1, state2, sizeof(EventStatsState));
		PG_RETURN_POINTER(state1);
	}
	for (i = 0; i < ES_NELEMS; i++)
		state1->v[i] += state2->v[i];
	PG_RETURN_POINTER(state1);
}

/* event_stats_serialize(internal) RETURNS bytea: the 17 float8, native order */
Datum
analytics_event_stats_serialize(PG_FUNCTION_ARGS)
{
	EventStatsState *state;
	bytea	   *result;

	(void) analytics_aggregate_context(fcinfo, "event_stats_serialize");
	state = (EventStatsState *) PG_GETARG_POINTER(0);
	result = (bytea *) palloc(VARHDRSZ + sizeof(EventStatsState));
	SET_VARSIZE(result, VARHDRSZ + sizeof(EventStatsState));
	memcpy(VARDATA(result), state, sizeof(EventStatsState));
	PG_RETURN_BYTEA_P(result);
}

/* event_stats_deserialize(bytea, internal) RETURNS internal */
Datum
analytics_event_stats_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *data;
	EventStatsState *state;

	(void) analytics_aggregate_context(fcinfo, "event_stats_deserialize");
	data = PG_GETARG_BYTEA_PP(0);
	if (VARSIZE_ANY_EXHDR(data) != sizeof(EventStatsState))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid event statistics state: %zu bytes, expected %zu",
						(size_t) VARSIZE_ANY_EXHDR(data), sizeof(EventStatsState))));
	state = (EventStatsState *) palloc(sizeof(EventStatsState));
	memcpy(state, VARDATA_ANY(data), sizeof(EventStatsState));
	PG_RETURN_POINTER(state);
}

/* event_stats_final(internal) RETURNS float8[]: 17 zeros for no rows */
Datum
analytics_event_stats_final(PG_FUNCTION_ARGS)
{
	EventStatsState *state;
	Datum		elems[ES_NELEMS];
	int			i;

	(void) analytics_aggregate_context(fcinfo, "event_stats_final");
	state = PG_ARGISNULL(0) ? NULL : (EventStatsState *) PG_GETARG_POINTER(0);
	for (i = 0; i < ES_NELEMS; i++)
		elems[i] = Float8GetDatum(state ? state->v[i] : 0.0);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, ES_NELEMS, FLOAT8OID,
										  sizeof(float8), FLOAT8PASSBYVAL,
										  TYPALIGN_DOUBLE));
}

/*
 * event_stats_negate(stats float8[]) RETURNS float8[]
 * The array with every element negated: merged with event_stats_merge it
 * takes those events out again (the rollups read "an hour minus its first
 * minutes" that way; every element is a count or a sum).
 */
Datum
analytics_event_stats_negate(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	const float8 *values = stats_array_values(arr, "event statistics array");
	Datum		elems[ES_NELEMS];
	int			i;

	for (i = 0; i < ES_NELEMS; i++)
		elems[i] = Float8GetDatum(-values[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, ES_NELEMS, FLOAT8OID,
										  sizeof(float8), FLOAT8PASSBYVAL,
										  TYPALIGN_DOUBLE));
}

/*
 * A user-supplied value for an error message: at most 64 bytes (cut at a
 * character boundary), so that a huge argument does not make a huge message.
 */
static char *
shown_value(text *t)
{
	const char *s = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	int			cut;

	if (len <= 64)
		return text_to_cstring(t);
	cut = pg_mbcliplen(s, len, 64);
	return psprintf("%.*s...", cut, s);
}

static bool
text_equals(text *t, const char *s)
{
	size_t		len = strlen(s);

	return VARSIZE_ANY_EXHDR(t) == len && memcmp(VARDATA_ANY(t), s, len) == 0;
}

/* "a, b, c": the distinct metric names of metric_defs, in table order */
static char *
allowed_metrics(void)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < (int) N_METRIC_DEFS; i++)
	{
		if (i > 0 && strcmp(metric_defs[i - 1].metric, metric_defs[i].metric) == 0)
			continue;
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", metric_defs[i].metric);
	}
	return buf.data;
}

/* "a, b": the aggregations of one metric, "" when it takes none */
static char *
allowed_aggregations(const char *metric)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < (int) N_METRIC_DEFS; i++)
		if (strcmp(metric_defs[i].metric, metric) == 0 && metric_defs[i].aggregation)
			appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "",
							 metric_defs[i].aggregation);
	return buf.data;
}

static char *
allowed_view_durations(void)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < ES_NTHRESHOLDS; i++)
		appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "", view_durations[i]);
	return buf.data;
}

/*
 * Resolve (metric, aggregation, view_duration) to a metric definition and a
 * view threshold index; raise 22023 naming the parameter otherwise.
 */
static const MetricDef *
resolve_metric(text *metric, text *aggregation, text *view_duration, int *threshold)
{
	const MetricDef *def = NULL;
	const char *mname = NULL;
	int			i;

	if (metric != NULL)
		for (i = 0; i < (int) N_METRIC_DEFS; i++)
			if (text_equals(metric, metric_defs[i].metric))
			{
				mname = metric_defs[i].metric;
				break;
			}
	if (mname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 metric ? errmsg("invalid metric: \"%s\"", shown_value(metric))
				 : errmsg("invalid metric: NULL"),
				 errhint("Allowed values: %s.", allowed_metrics()),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "metric")));

	for (i = 0; i < (int) N_METRIC_DEFS; i++)
	{
		const MetricDef *d = &metric_defs[i];

		if (strcmp(d->metric, mname) != 0)
			continue;
		if (aggregation == NULL ? d->is_default
			: (d->aggregation != NULL && text_equals(aggregation, d->aggregation)))
		{
			def = d;
			break;
		}
	}
	if (def == NULL)
	{
		char	   *allowed = allowed_aggregations(mname);

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid aggregation \"%s\" for metric \"%s\"",
						aggregation ? shown_value(aggregation) : "", mname),
				 allowed[0] ? errhint("Allowed values for metric \"%s\": %s.", mname, allowed)
				 : errhint("Metric \"%s\" takes no aggregation.", mname),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "aggregation")));
	}

	*threshold = VIEW_DURATION_DEFAULT;
	if (view_duration != NULL)
	{
		if (strcmp(mname, VIEW_METRIC) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid view_duration \"%s\" for metric \"%s\"",
							shown_value(view_duration), mname),
					 errhint("view_duration applies to metric \"%s\" only.", VIEW_METRIC),
					 err_generic_string(PG_DIAG_COLUMN_NAME, "viewDuration")));
		for (i = 0; i < ES_NTHRESHOLDS; i++)
			if (text_equals(view_duration, view_durations[i]))
				break;
		if (i == ES_NTHRESHOLDS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid view_duration: \"%s\"", shown_value(view_duration)),
					 errhint("Allowed values: %s.", allowed_view_durations()),
					 err_generic_string(PG_DIAG_COLUMN_NAME, "viewDuration")));
		*threshold = i;
	}
	return def;
}

/*
 * stats_metric(stats float8[], metric text, aggregation text DEFAULT NULL,
 *				view_duration text DEFAULT NULL) RETURNS float8
 * Not strict: NULL aggregation/view_duration mean the defaults; NULL stats
 * gives NULL (after the names are checked).  Ratios with a zero denominator
 * are NULL.
 */
Datum
analytics_stats_metric(PG_FUNCTION_ARGS)
{
	text	   *metric = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	text	   *aggregation = PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2);
	text	   *view_duration = PG_ARGISNULL(3) ? NULL : PG_GETARG_TEXT_PP(3);
	const MetricDef *def;
	const float8 *v;
	int			threshold;

	def = resolve_metric(metric, aggregation, view_duration, &threshold);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	v = stats_array_values(PG_GETARG_ARRAYTYPE_P(0), "stats");

	switch (def->kind)
	{
		case MK_PLAYS:
			PG_RETURN_FLOAT8(v[ET_PLAY]);
		case MK_STARTS:
			PG_RETURN_FLOAT8(v[ET_START]);
		case MK_ENDS:
			PG_RETURN_FLOAT8(v[ET_END]);
		case MK_IMPRESSIONS:
			PG_RETURN_FLOAT8(v[ET_IMPRESSION]);
		case MK_PLAY_RATE:
			if (v[ET_IMPRESSION] == 0)
				PG_RETURN_NULL();
			PG_RETURN_FLOAT8(v[ET_PLAY] / v[ET_IMPRESSION]);
		case MK_IMPRESSION_TIME_AVG:
			if (v[ES_IMPR_N] == 0)
				PG_RETURN_NULL();
			PG_RETURN_FLOAT8(v[ES_IMPR_SUM] / v[ES_IMPR_N]);
		case MK_IMPRESSION_TIME_SUM:
			PG_RETURN_FLOAT8(v[ES_IMPR_SUM]);
		case MK_WATCH_TIME_SUM:
			PG_RETURN_FLOAT8(v[ES_WATCH_SUM]);
		case MK_WATCH_TIME_AVG:
			if (v[ET_PLAY] == 0)
				PG_RETURN_NULL();
			PG_RETURN_FLOAT8(v[ES_WATCH_SUM] / v[ET_PLAY]);
		case MK_VIEWS:
			PG_RETURN_FLOAT8(v[ES_VIEW3 + threshold]);
	}
	elog(ERROR, "unexpected metric kind %d", (int) def->kind);
	PG_RETURN_NULL();			/* keep the compiler quiet */
}
