/*-------------------------------------------------------------------------
 * rest.c
 *		The JSON API (README: "Querying: the JSON API"):
 *
 *		analytics.api_request(uri, project_id) -> (status, body)
 *		analytics.api_metrics(...)     the body of GET /data/metrics/...
 *		analytics.api_buckets(...)     the body of GET /data/buckets/...
 *		analytics.api_timeseries(...)  the body of GET /data/timeseries/...
 *
 *		The URI is routed by src/uri.c (plain C); the values are checked
 *		here, the numbers come from analytics.metric, breakdown and
 *		timeseries, called through kept SPI plans that name them with the
 *		extension's schema (never through the caller's search_path), so
 *		this file works whatever language those are written in.  The
 *		bodies are built as jsonb values (keys in jsonb order).
 *
 *		api_request never raises for client input: an invalid argument
 *		(SQLSTATE class 22 or 54) is a 400 problem body naming the REST
 *		parameter (the error's COLUMN_NAME), analytics.max_call_time a 503
 *		(src/callbound.c); the call runs in a subtransaction, as a
 *		PL/pgSQL exception block would.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "api.h"
#include "jsonbuild.h"
#include "pgcompat.h"
#include "query.h"
#include "timebucket.h"
#include "uri.h"

PG_FUNCTION_INFO_V1(analytics_api_request);
PG_FUNCTION_INFO_V1(analytics_api_metrics);
PG_FUNCTION_INFO_V1(analytics_api_buckets);

PG_FUNCTION_INFO_V1(analytics_api_timeseries);

/* the bound on one call's work (src/callbound.c), called as SQL functions are */
extern PGDLLEXPORT Datum analytics_call_begin(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum analytics_call_end(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum analytics_call_timed_out(PG_FUNCTION_ARGS);

/* analytics.default_interval (src/timebucket.c) */
extern PGDLLEXPORT Datum analytics_default_interval(PG_FUNCTION_ARGS);

#define REQUEST_FNAME "analytics.api_request()"

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------
 */

/* an invalid argument: SQLSTATE 22023, the REST name in COLUMN_NAME */
pg_noreturn static void
invalid(const char *name, const char *message, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg_internal("%s", message),
			 errhint("%s", hint),
			 err_generic_string(PG_DIAG_COLUMN_NAME, name)));
	pg_unreachable();
}

/* the first 100 characters of s (as SQL's left(s, 100)) */
static char *
left100(const char *s)
{
	return pnstrdup(s, pg_mbcharcliplen(s, strlen(s), 100));
}

static char *
text_or_null(Datum d, bool isnull)
{
	return isnull ? NULL : TextDatumGetCString(d);
}

/* ------------------------------------------------------------------------
 * The metric of the three endpoints: what the numbers are (count or not,
 * live or not). The checks of metric, aggregation, unique viewers and view
 * duration are those of analytics.metric, breakdown and timeseries
 * (query_resolve_metric, src/query.c, from the catalogue of catalog.h),
 * made here before the call so that they come before the checks of paging.
 * ------------------------------------------------------------------------
 */
static const QueryMetric *
rest_metric(QueryContext ctx, const char *metric, const char *aggregation,
			bool unique_viewers, const char *view_duration)
{
	QuerySpec	q;

	memset(&q, 0, sizeof(q));
	query_resolve_metric(&q, ctx, metric ? cstring_to_text(metric) : NULL,
						 aggregation ? cstring_to_text(aggregation) : NULL, unique_viewers,
						 view_duration ? cstring_to_text(view_duration) : NULL);
	return q.qm;
}

/* ------------------------------------------------------------------------
 * jsonb building
 * ------------------------------------------------------------------------
 */
/*
 * A metric value in JSON: 0 for NULL (empty denominator) and NaN; counts as
 * integers (round(v)::bigint); else what to_jsonb(double precision) gives
 * (the float8 text as a JSON number, "Infinity" as a string).
 */
static int64
count_value(double v)
{
	v = rint(v);
	if (unlikely(isnan(v) || !FLOAT8_FITS_IN_INT64(v)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("bigint out of range")));
	return (int64) v;
}

static void
push_metric_value(JsonbParseState **st, JsonbIteratorToken tok, double v, bool isnull, bool is_count)
{
	JsonbValue	jv;
	char	   *s;

	if (isnull || isnan(v))
	{
		push_int(st, tok, 0);
		return;
	}
	if (is_count)
	{
		push_int(st, tok, count_value(v));
		return;
	}
	s = float8out_internal(v);
	if (strchr(s, 'N') != NULL || strchr(s, 'n') != NULL)
	{
		jv.type = jbvString;
		jv.val.string.val = s;
		jv.val.string.len = strlen(s);
	}
	else
	{
		jv.type = jbvNumeric;
		jv.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
															 ObjectIdGetDatum(InvalidOid),
															 Int32GetDatum(-1)));
	}
	pushJsonbValue(st, tok, &jv);
}

static char *
iso8601(TimestampTz ts, pg_tz *tz)
{
	char		buf[ANALYTICS_ISO8601_BUFLEN];

	return pstrdup(analytics_format_iso8601(ts, tz, buf));
}

static pg_tz *
time_zone(const char *name)
{
	text	   *t = cstring_to_text(name);

	return analytics_time_zone_from_text(t);
}

/* "timeframe": {"from": ..., "to": ...} in the time zone tz */
static void
push_timeframe(JsonbParseState **st, TimestampTz from, TimestampTz to, const char *tz_name)
{
	pg_tz	   *tz = time_zone(tz_name);
	char	   *f = iso8601(from, tz);
	char	   *t = iso8601(to, tz);

	push_key(st, "timeframe");
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	kv_string(st, "from", f);
	kv_string(st, "to", t);
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

/* the RFC 7807 problem bodies */
static Jsonb *
problem(int status, const char *name, const char *detail)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	kv_string(&st, "type", "about:blank");
	if (status == 404)
		kv_string(&st, "title", "Not Found");
	else if (status == 503)
	{
		kv_string(&st, "title", "Service Unavailable");
		kv_string(&st, "detail", detail ? detail : "The request took too long.");
	}
	else
	{
		kv_string(&st, "title", "Bad Request");
		kv_string(&st, "detail", detail ? detail : "The request is invalid.");
		kv_string(&st, "name", name ? name : "uri");
	}
	kv_int(&st, "status", status);
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* ------------------------------------------------------------------------
 * Pagination
 * ------------------------------------------------------------------------
 */
typedef struct RestLinks
{
	const char *path;			/* "/data/buckets/play/country" */
	api_param  *params;			/* the request's parameters but the page ones */
	size_t		nparams;
} RestLinks;

/* the page size: its default and its bound (README: "Querying: the JSON API") */
#define PAGE_SIZE_DEFAULT 25
#define PAGE_SIZE_MAX 100

static void
check_paging(int32 page, int32 size)
{
	if (page < 1)
		invalid("currentPage", psprintf("invalid current_page: %d", page), "current_page starts at 1.");
	if (size < 1 || size > PAGE_SIZE_MAX)
		invalid("pageSize", psprintf("invalid page_size: %d", size),
				psprintf("page_size is between 1 and %d (default %d).", PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT));
}

static void
push_link(JsonbParseState **st, const char *rel, const RestLinks *links, int64 page, int64 size)
{
	char	   *link = api_build_link(links->path, links->params, links->nparams, (long) page, (long) size);
	char	   *copy;

	if (link == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while building a link")));
	copy = pstrdup(link);
	free(link);
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	kv_string(st, "rel", rel);
	kv_string(st, "uri", copy);
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

/* "pagination": {...}; first and last are the items of the page (0-based) */
static void
push_pagination(JsonbParseState **st, int32 page, int32 size, int64 total, const RestLinks *links)
{
	int64		pages = Max((int64) 1, (total + size - 1) / size);
	int64		first = ((int64) page - 1) * size;
	int64		on_page = Max((int64) 0, Min(total, (int64) page * size) - first);

	push_key(st, "pagination");
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	kv_int(st, "currentPage", page);
	kv_int(st, "currentPageItems", on_page);
	kv_int(st, "pageSize", size);
	kv_int(st, "pagesTotal", pages);
	kv_int(st, "itemsTotal", total);
	push_key(st, "links");
	pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
	push_link(st, "self", links, page, size);
	push_link(st, "first", links, 1, size);
	if (page > 1)
		push_link(st, "previous", links, page - 1, size);
	if (page < pages)
		push_link(st, "next", links, page + 1, size);
	push_link(st, "last", links, pages, size);
	pushJsonbValue(st, WJB_END_ARRAY, NULL);
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

/* ------------------------------------------------------------------------
 * analytics.metric, breakdown and timeseries, through kept plans
 * ------------------------------------------------------------------------
 */
typedef enum
{
	CALL_METRIC,
	CALL_BREAKDOWN,
	CALL_TIMESERIES
} RestCall;

#define MAX_CALL_ARGS 12

static SPIPlanPtr call_plans[3];

static const char *const call_sql[3] = {
	"SELECT %s.metric($1, $2, $3, $4, $5, $6, $7, $8)",
	"SELECT r.dimension_value, r.metric_value FROM %s.breakdown($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) r",
	"SELECT r.emitted_at, r.metric_value FROM %s.timeseries($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) r"
};
static const int call_nargs[3] = {8, 11, 12};
static const Oid call_argtypes[3][MAX_CALL_ARGS] = {
	/*
	 * metric, aggregation, from_ts, to_ts, filter_by, unique_viewers,
	 * view_duration, project_id
	 */
	{TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, JSONBOID, BOOLOID, TEXTOID, TEXTOID},

	/*
	 * metric, breakdown, from_ts, to_ts, filter_by, sort_by, sort_order,
	 * aggregation, unique_viewers, view_duration, project_id
	 */
	{TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, JSONBOID, TEXTOID, TEXTOID, TEXTOID,
	BOOLOID, TEXTOID, TEXTOID},

	/*
	 * metric, from_ts, to_ts, interval, filter_by, sort_by, sort_order,
	 * time_zone, aggregation, unique_viewers, view_duration, project_id
	 */
	{TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, JSONBOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
	BOOLOID, TEXTOID, TEXTOID}
};

/* the rows of one call, copied out of SPI */
typedef struct RestRows
{
	int64		n;
	Datum	   *keys;			/* dimension value (text) or emitted_at */
	bool	   *key_nulls;
	double	   *values;
	bool	   *value_nulls;
} RestRows;

/*
 * Run one of the three with args (NULL pointers are SQL NULLs); the schema
 * is that of the calling function (the extension's).
 */
static void
run_call(RestCall which, Oid caller, Datum *args, bool *nulls, RestRows *out)
{
	MemoryContext outer = CurrentMemoryContext;
	char		argnulls[MAX_CALL_ARGS];
	int			nargs = call_nargs[which];
	int			i;
	int			rc;
	uint64		r;

	for (i = 0; i < nargs; i++)
		argnulls[i] = nulls[i] ? 'n' : ' ';

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (call_plans[which] == NULL)
	{
		char	   *schema = get_namespace_name(get_func_namespace(caller));
		SPIPlanPtr	plan;

		if (schema == NULL)
			elog(ERROR, "cache lookup failed for the schema of function %u", caller);
		plan = SPI_prepare(psprintf(call_sql[which], quote_identifier(schema)), nargs,
						   (Oid *) call_argtypes[which]);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		call_plans[which] = plan;
	}
	rc = SPI_execute_plan(call_plans[which], args, argnulls, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));

	out->n = (int64) SPI_processed;
	out->keys = MemoryContextAllocZero(outer, sizeof(Datum) * (SPI_processed + 1));
	out->key_nulls = MemoryContextAllocZero(outer, sizeof(bool) * (SPI_processed + 1));
	out->values = MemoryContextAllocZero(outer, sizeof(double) * (SPI_processed + 1));
	out->value_nulls = MemoryContextAllocZero(outer, sizeof(bool) * (SPI_processed + 1));
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;

		if (which == CALL_METRIC)
		{
			d = SPI_getbinval(tup, desc, 1, &isnull);
			out->values[r] = isnull ? 0 : DatumGetFloat8(d);
			out->value_nulls[r] = isnull;
			continue;
		}
		d = SPI_getbinval(tup, desc, 1, &isnull);
		out->key_nulls[r] = isnull;
		if (!isnull)
		{
			MemoryContext old = MemoryContextSwitchTo(outer);

			out->keys[r] = which == CALL_BREAKDOWN ? PointerGetDatum(DatumGetTextPCopy(d)) : d;
			MemoryContextSwitchTo(old);
		}
		d = SPI_getbinval(tup, desc, 2, &isnull);
		out->values[r] = isnull ? 0 : DatumGetFloat8(d);
		out->value_nulls[r] = isnull;
	}
	SPI_finish();
}

/* ------------------------------------------------------------------------
 * The three bodies
 * ------------------------------------------------------------------------
 */

/* the arguments shared by the three (NULL pointer: SQL NULL) */
typedef struct RestArgs
{
	Oid			caller;			/* the function called (for its schema) */
	const char *metric;
	const char *aggregation;
	const char *breakdown;
	const char *interval;
	TimestampTz from_ts;
	bool		from_null;
	TimestampTz to_ts;
	bool		to_null;
	Jsonb	   *filter_by;
	const char *sort_by;
	const char *sort_order;
	int32		current_page;	/* already defaulted to 1 / 25 */
	int32		page_size;
	bool		unique_viewers;
	bool		unique_null;
	const char *view_duration;
	text	   *project_id;
	const char *time_zone;
	RestLinks	links;
} RestArgs;

static Datum
text_datum(const char *s)
{
	return s ? PointerGetDatum(cstring_to_text(s)) : (Datum) 0;
}

static TimestampTz
minus_interval(TimestampTz ts, int32 days, int64 usecs)
{
	Interval	iv;

	iv.month = 0;
	iv.day = days;
	iv.time = usecs;
	return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval, TimestampTzGetDatum(ts),
												   IntervalPGetDatum(&iv)));
}

/* the period the body reports: [from, to) with the defaults of the query functions */
static void
reported_period(const RestArgs *a, TimestampTz *pf, TimestampTz *pt)
{
	*pt = a->to_null ? GetCurrentTransactionStartTimestamp() : a->to_ts;
	*pf = a->from_null ? minus_interval(*pt, 1, 0) : a->from_ts;
}

static Jsonb *
metrics_body(const RestArgs *a)
{
	const QueryMetric *qm;
	TimestampTz pf;
	TimestampTz pt;
	Datum		args[8];
	bool		nulls[8];
	RestRows	rows;
	JsonbParseState *st = NULL;
	JsonbValue *res;

	qm = rest_metric(QC_METRICS, a->metric, a->aggregation, !a->unique_null && a->unique_viewers,
					 a->view_duration);
	reported_period(a, &pf, &pt);

	args[0] = text_datum(a->metric);
	nulls[0] = a->metric == NULL;
	args[1] = text_datum(a->aggregation);
	nulls[1] = a->aggregation == NULL;
	args[2] = TimestampTzGetDatum(a->from_ts);
	nulls[2] = a->from_null;
	args[3] = TimestampTzGetDatum(a->to_ts);
	nulls[3] = a->to_null;
	args[4] = PointerGetDatum(a->filter_by);
	nulls[4] = a->filter_by == NULL;
	args[5] = BoolGetDatum(a->unique_viewers);
	nulls[5] = a->unique_null;
	args[6] = text_datum(a->view_duration);
	nulls[6] = a->view_duration == NULL;
	args[7] = PointerGetDatum(a->project_id);
	nulls[7] = a->project_id == NULL;
	run_call(CALL_METRIC, a->caller, args, nulls, &rows);

	if (qm->kind == QK_CCV_LIVE)
	{
		pt = GetCurrentTransactionStartTimestamp();
		pf = minus_interval(pt, 0, 20 * USECS_PER_SEC);
	}

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	push_key(&st, "context");
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	kv_string(&st, "metric", a->metric);
	kv_string(&st, "aggregation", a->aggregation);
	push_timeframe(&st, pf, pt, "UTC");
	pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	push_key(&st, "data");
	push_metric_value(&st, WJB_VALUE, rows.n > 0 ? rows.values[0] : 0, rows.n == 0 || rows.value_nulls[0],
					  qm->is_count);
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* buckets (breakdown) and timeseries */
static Jsonb *
series_body(const RestArgs *a, bool timeseries)
{
	const QueryMetric *qm;
	const char *tz_name = a->time_zone ? a->time_zone : "UTC";
	TimestampTz pf;
	TimestampTz pt;
	Datum		args[MAX_CALL_ARGS];
	bool		nulls[MAX_CALL_ARGS];
	int			n = 0;
	RestRows	rows;
	int64		first;
	int64		last;
	int64		i;
	pg_tz	   *tz = NULL;
	JsonbParseState *st = NULL;
	JsonbValue *res;

#define ARG_TEXT(s) (args[n] = text_datum(s), nulls[n++] = (s) == NULL)
	qm = rest_metric(timeseries ? QC_TIMESERIES : QC_BREAKDOWN, a->metric, a->aggregation,
					 !a->unique_null && a->unique_viewers, a->view_duration);
	reported_period(a, &pf, &pt);
	/* the paging is checked before the work */
	check_paging(a->current_page, a->page_size);

	ARG_TEXT(a->metric);
	if (!timeseries)
		ARG_TEXT(a->breakdown);
	args[n] = TimestampTzGetDatum(a->from_ts);
	nulls[n++] = a->from_null;
	args[n] = TimestampTzGetDatum(a->to_ts);
	nulls[n++] = a->to_null;
	if (timeseries)
		ARG_TEXT(a->interval);
	args[n] = PointerGetDatum(a->filter_by);
	nulls[n++] = a->filter_by == NULL;
	ARG_TEXT(a->sort_by);
	ARG_TEXT(a->sort_order);
	if (timeseries)
		ARG_TEXT(tz_name);
	ARG_TEXT(a->aggregation);
	args[n] = BoolGetDatum(a->unique_viewers);
	nulls[n++] = a->unique_null;
	ARG_TEXT(a->view_duration);
	args[n] = PointerGetDatum(a->project_id);
	nulls[n++] = a->project_id == NULL;
#undef ARG_TEXT
	Assert(n == call_nargs[timeseries ? CALL_TIMESERIES : CALL_BREAKDOWN]);
	run_call(timeseries ? CALL_TIMESERIES : CALL_BREAKDOWN, a->caller, args, nulls, &rows);

	/* every value is a JSON number (the page's and the others) */
	if (qm->is_count)
		for (i = 0; i < rows.n; i++)
			if (!rows.value_nulls[i] && !isnan(rows.values[i]))
				(void) count_value(rows.values[i]);
	if (timeseries && rows.n > 0)
		tz = time_zone(tz_name);

	first = ((int64) a->current_page - 1) * a->page_size;
	last = Min(rows.n, (int64) a->current_page * a->page_size);

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	push_key(&st, "context");
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	kv_string(&st, "metric", a->metric);
	if (timeseries)
	{
		if (a->interval)
			kv_string(&st, "interval", a->interval);
		else
			kv_string(&st, "interval",
					  TextDatumGetCString(DirectFunctionCall2(analytics_default_interval,
															  TimestampTzGetDatum(pf),
															  TimestampTzGetDatum(pt))));
	}
	else
		kv_string(&st, "breakdown", a->breakdown);
	push_timeframe(&st, pf, pt, timeseries ? tz_name : "UTC");
	pushJsonbValue(&st, WJB_END_OBJECT, NULL);

	push_key(&st, "data");
	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (i = first; i < last; i++)
	{
		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		if (timeseries)
			kv_string(&st, "emittedAt",
					  rows.key_nulls[i] ? NULL : iso8601(DatumGetTimestampTz(rows.keys[i]), tz));
		else
			kv_string(&st, "dimensionValue",
					  rows.key_nulls[i] ? NULL : TextDatumGetCString(rows.keys[i]));
		push_key(&st, "metricValue");
		push_metric_value(&st, WJB_VALUE, rows.values[i], rows.value_nulls[i], qm->is_count);
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	push_pagination(&st, a->current_page, a->page_size, rows.n, &a->links);
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* ------------------------------------------------------------------------
 * The SQL functions api_metrics, api_buckets, api_timeseries
 * ------------------------------------------------------------------------
 */
static void
add_param(RestLinks *links, const char *key, const char *value)
{
	links->params = links->params
		? repalloc(links->params, sizeof(api_param) * (links->nparams + 1))
		: palloc(sizeof(api_param));
	links->params[links->nparams].key = (char *) key;
	links->params[links->nparams].value = (char *) value;
	links->nparams++;
}

/*
 * analytics.api_metrics(metric, aggregation, from_ts, to_ts, filter_by,
 *						 unique_viewers, view_duration, project_id)
 */
Datum
analytics_api_metrics(PG_FUNCTION_ARGS)
{
	RestArgs	a;

	memset(&a, 0, sizeof(a));
	a.caller = fcinfo->flinfo->fn_oid;
	a.metric = text_or_null(PG_GETARG_DATUM(0), PG_ARGISNULL(0));
	a.aggregation = text_or_null(PG_GETARG_DATUM(1), PG_ARGISNULL(1));
	a.from_null = PG_ARGISNULL(2);
	a.from_ts = a.from_null ? 0 : PG_GETARG_TIMESTAMPTZ(2);
	a.to_null = PG_ARGISNULL(3);
	a.to_ts = a.to_null ? 0 : PG_GETARG_TIMESTAMPTZ(3);
	a.filter_by = PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4);
	a.unique_null = PG_ARGISNULL(5);
	a.unique_viewers = a.unique_null ? false : PG_GETARG_BOOL(5);
	a.view_duration = text_or_null(PG_GETARG_DATUM(6), PG_ARGISNULL(6));
	a.project_id = PG_ARGISNULL(7) ? NULL : PG_GETARG_TEXT_PP(7);
	PG_RETURN_JSONB_P(metrics_body(&a));
}

/* the parameters of the links of a direct call: those the caller gave */
static void
direct_links(RestArgs *a, const char *path, pg_tz *tz, Jsonb *filter_by)
{
	a->links.path = path;
	if (!a->from_null)
		add_param(&a->links, "from", iso8601(a->from_ts, tz));
	if (!a->to_null)
		add_param(&a->links, "to", iso8601(a->to_ts, tz));
	if (a->interval)
		add_param(&a->links, "interval", a->interval);
	if (filter_by)
		add_param(&a->links, "filterBy", JsonbToCString(NULL, &filter_by->root, VARSIZE(filter_by)));
	if (a->sort_by)
		add_param(&a->links, "sortBy", a->sort_by);
	if (a->sort_order)
		add_param(&a->links, "sortOrder", a->sort_order);
	if (!a->unique_null && a->unique_viewers)
		add_param(&a->links, "unique", "true");
	if (a->view_duration)
		add_param(&a->links, "viewDuration", a->view_duration);
	if (a->aggregation)
		add_param(&a->links, "aggregation", a->aggregation);
	if (a->time_zone && strcmp(a->time_zone, "UTC") != 0)
		add_param(&a->links, "timeZone", a->time_zone);
}

/*
 * analytics.api_buckets(metric, breakdown, from_ts, to_ts, filter_by,
 *						 sort_by, sort_order, current_page, page_size,
 *						 unique_viewers, view_duration, project_id, aggregation)
 */
Datum
analytics_api_buckets(PG_FUNCTION_ARGS)
{
	RestArgs	a;

	memset(&a, 0, sizeof(a));
	a.caller = fcinfo->flinfo->fn_oid;
	a.metric = text_or_null(PG_GETARG_DATUM(0), PG_ARGISNULL(0));
	a.breakdown = text_or_null(PG_GETARG_DATUM(1), PG_ARGISNULL(1));
	a.from_null = PG_ARGISNULL(2);
	a.from_ts = a.from_null ? 0 : PG_GETARG_TIMESTAMPTZ(2);
	a.to_null = PG_ARGISNULL(3);
	a.to_ts = a.to_null ? 0 : PG_GETARG_TIMESTAMPTZ(3);
	a.filter_by = PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4);
	a.sort_by = text_or_null(PG_GETARG_DATUM(5), PG_ARGISNULL(5));
	a.sort_order = text_or_null(PG_GETARG_DATUM(6), PG_ARGISNULL(6));
	a.current_page = PG_ARGISNULL(7) ? 1 : PG_GETARG_INT32(7);
	a.page_size = PG_ARGISNULL(8) ? PAGE_SIZE_DEFAULT : PG_GETARG_INT32(8);
	a.unique_null = PG_ARGISNULL(9);
	a.unique_viewers = a.unique_null ? false : PG_GETARG_BOOL(9);
	a.view_duration = text_or_null(PG_GETARG_DATUM(10), PG_ARGISNULL(10));
	a.project_id = PG_ARGISNULL(11) ? NULL : PG_GETARG_TEXT_PP(11);
	a.aggregation = text_or_null(PG_GETARG_DATUM(12), PG_ARGISNULL(12));
	direct_links(&a, psprintf("/data/buckets/%s/%s", a.metric ? a.metric : "",
							  a.breakdown ? a.breakdown : ""),
				 (!a.from_null || !a.to_null) ? time_zone("UTC") : NULL, a.filter_by);
	PG_RETURN_JSONB_P(series_body(&a, false));
}

/*
 * analytics.api_timeseries(metric, from_ts, to_ts, interval, filter_by,
 *							sort_by, sort_order, current_page, page_size,
 *							unique_viewers, view_duration, project_id,
 *							aggregation, time_zone)
 */
Datum
analytics_api_timeseries(PG_FUNCTION_ARGS)
{
	RestArgs	a;

	memset(&a, 0, sizeof(a));
	a.caller = fcinfo->flinfo->fn_oid;
	a.metric = text_or_null(PG_GETARG_DATUM(0), PG_ARGISNULL(0));
	a.from_null = PG_ARGISNULL(1);
	a.from_ts = a.from_null ? 0 : PG_GETARG_TIMESTAMPTZ(1);
	a.to_null = PG_ARGISNULL(2);
	a.to_ts = a.to_null ? 0 : PG_GETARG_TIMESTAMPTZ(2);
	a.interval = text_or_null(PG_GETARG_DATUM(3), PG_ARGISNULL(3));
	a.filter_by = PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4);
	a.sort_by = text_or_null(PG_GETARG_DATUM(5), PG_ARGISNULL(5));
	a.sort_order = text_or_null(PG_GETARG_DATUM(6), PG_ARGISNULL(6));
	a.current_page = PG_ARGISNULL(7) ? 1 : PG_GETARG_INT32(7);
	a.page_size = PG_ARGISNULL(8) ? PAGE_SIZE_DEFAULT : PG_GETARG_INT32(8);
	a.unique_null = PG_ARGISNULL(9);
	a.unique_viewers = a.unique_null ? false : PG_GETARG_BOOL(9);
	a.view_duration = text_or_null(PG_GETARG_DATUM(10), PG_ARGISNULL(10));
	a.project_id = PG_ARGISNULL(11) ? NULL : PG_GETARG_TEXT_PP(11);
	a.aggregation = text_or_null(PG_GETARG_DATUM(12), PG_ARGISNULL(12));
	a.time_zone = text_or_null(PG_GETARG_DATUM(13), PG_ARGISNULL(13));

	/*
	 * the links' from and to are written in the zone asked for (checked
	 * first)
	 */
	direct_links(&a, psprintf("/data/timeseries/%s", a.metric ? a.metric : ""),
				 (!a.from_null || !a.to_null) ? time_zone(a.time_zone ? a.time_zone : "UTC") : NULL,
				 a.filter_by);
	PG_RETURN_JSONB_P(series_body(&a, true));
}

/* ------------------------------------------------------------------------
 * analytics.api_request
 * ------------------------------------------------------------------------
 */

/* a REST timestamp: YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM|+HHMM|-HHMM) */
#define D(i) (s[i] >= '0' && s[i] <= '9')

static bool
rest_timestamp_shape(const char *s)
{
	size_t		len = strlen(s);
	size_t		i = 19;

	if (len < 20 || !(D(0) && D(1) && D(2) && D(3) && s[4] == '-' && D(5) && D(6) && s[7] == '-' &&
					  D(8) && D(9) && s[10] == 'T' && D(11) && D(12) && s[13] == ':' && D(14) &&
					  D(15) && s[16] == ':' && D(17) && D(18)))
		return false;
	if (s[i] == '.')
	{
		size_t		d = 0;

		for (i++; D(i); i++)
			d++;
		if (d < 1 || d > 9)
			return false;
	}
	if (s[i] == 'Z')
		return s[i + 1] == '\0';
	if (s[i] != '+' && s[i] != '-')
		return false;
	i++;
	if (!(D(i) && D(i + 1)))
		return false;
	i += 2;
	if (s[i] == ':')
		i++;
	return D(i) && D(i + 1) && s[i + 2] == '\0';
}

static bool
rest_timestamp(const char *name, const char *v, TimestampTz *out)
{
	static const char hint[] = "Give an ISO 8601 date-time with seconds and a time zone, "
	"such as 2024-05-28T11:15:07Z or 2024-05-28T13:15:07+02:00.";
	char	   *s;
	size_t		len;
	char		workbuf[MAXDATELEN + MAXDATEFIELDS];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	int			tz;
	struct pg_tm tt;
	fsec_t		fsec;
	int			dterr;

	if (v == NULL)
		return false;
	s = pstrdup(v);
	len = strlen(s);
	/* an unencoded '+' of the offset arrives as a space */
	if (len >= 6 && s[len - 6] == ' ' && D(len - 5) && D(len - 4) && s[len - 3] == ':' &&
		D(len - 2) && D(len - 1))
		s[len - 6] = '+';
	else if (len >= 5 && s[len - 5] == ' ' && D(len - 4) && D(len - 3) && D(len - 2) && D(len - 1))
		s[len - 5] = '+';
	if (!rest_timestamp_shape(s))
		invalid(name, psprintf("invalid %s: \"%s\"", name, left100(v)), hint);

	/*
	 * what timestamptz_in does, with its errors (all data exceptions) made
	 * ours
	 */
	dterr = ParseDateTime(s, workbuf, sizeof(workbuf), field, ftype, MAXDATEFIELDS, &nf);
	if (dterr == 0)
	{
#if PG_VERSION_NUM >= 160000
		DateTimeErrorExtra extra;

		dterr = DecodeDateTime(field, ftype, nf, &dtype, &tt, &fsec, &tz, &extra);
#else
		dterr = DecodeDateTime(field, ftype, nf, &dtype, &tt, &fsec, &tz);
#endif
	}
	if (dterr != 0 || dtype != DTK_DATE || tm2timestamp(&tt, fsec, &tz, out) != 0)
		invalid(name, psprintf("invalid %s: \"%s\"", name, left100(v)), hint);
	return true;
}

static int32
rest_integer(const char *name, const char *v, int32 dflt)
{
	const char *s = v;
	size_t		len;
	size_t		i;

	if (v == NULL)
		return dflt;
	len = strlen(v);
	for (i = 0; i < len && D(i); i++)
		;
	if (len < 1 || len > 9 || i != len)
		invalid(name, psprintf("invalid %s: \"%s\"", name, left100(v)),
				strcmp(name, "pageSize") == 0 ? psprintf("pageSize is an integer between 1 and %d.", PAGE_SIZE_MAX)
				: "currentPage is an integer, 1 or more.");
	return (int32) strtol(v, NULL, 10);
}

#undef D

/* the routed request, in palloc'd memory */
typedef struct RestRequest
{
	api_endpoint endpoint;
	char	   *path;
	char	   *metric;
	char	   *aggregation;
	char	   *breakdown;
	char	   *from;
	char	   *to;
	char	   *interval;
	char	   *sort_by;
	char	   *sort_order;
	char	   *current_page;
	char	   *page_size;
	char	   *unique;
	char	   *view_duration;
	char	   *time_zone;
	char	   *filter_json;
	api_param  *params;
	size_t		nparams;
} RestRequest;

static char *
copy_string(const char *s)
{
	return s ? pstrdup(s) : NULL;
}

/* filterBy's text as jsonb; any data exception of the parse is an invalid filterBy */
static Jsonb *
parse_filter(const char *json)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	Jsonb	   *volatile result = NULL;
	volatile bool bad = false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		result = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
			ReThrowError(edata);
		FreeErrorData(edata);
		bad = true;
	}
	PG_END_TRY();
	if (bad)
		invalid("filterBy", "invalid filterBy: not a JSON object",
				"Use filterBy[key]=value, filterBy[key][]=value or a JSON object.");
	return result;
}

/* the 200 body of a routed request; raises for invalid values */
static Jsonb *
request_body(const RestRequest *q, Oid caller, text *project_id)
{
	RestArgs	a;
	bool		uniq = false;

	memset(&a, 0, sizeof(a));
	a.caller = caller;
	a.filter_by = q->filter_json ? parse_filter(q->filter_json) : NULL;
	if (q->unique != NULL)
	{
		if (strcmp(q->unique, "true") != 0 && strcmp(q->unique, "false") != 0)
			invalid("unique", psprintf("invalid unique: \"%s\"", left100(q->unique)),
					"unique is true or false.");
		if (!catalog_rest_takes_unique(q->metric))
			invalid("unique", psprintf("unique does not apply to metric \"%s\"", q->metric),
					"unique applies to the view and ccv metrics only.");
		uniq = strcmp(q->unique, "true") == 0;
	}
	a.metric = q->metric;
	a.aggregation = q->aggregation;
	a.breakdown = q->breakdown;
	a.unique_viewers = uniq;
	a.view_duration = q->view_duration;
	a.project_id = project_id;
	a.from_null = !rest_timestamp("from", q->from, &a.from_ts);
	a.to_null = !rest_timestamp("to", q->to, &a.to_ts);
	if (q->endpoint == API_METRICS)
		return metrics_body(&a);

	a.current_page = rest_integer("currentPage", q->current_page, 1);
	a.page_size = rest_integer("pageSize", q->page_size, PAGE_SIZE_DEFAULT);
	a.links.path = q->path;
	a.links.params = q->params;
	a.links.nparams = q->nparams;
	if (q->endpoint == API_BUCKETS)
	{
		a.sort_by = q->sort_by ? q->sort_by : "metricValue";
		a.sort_order = q->sort_order ? q->sort_order : "desc";
		return series_body(&a, false);
	}
	a.interval = q->interval;
	a.sort_by = q->sort_by ? q->sort_by : "emittedAt";
	a.sort_order = q->sort_order ? q->sort_order : "asc";
	a.time_zone = q->time_zone ? q->time_zone : "UTC";
	return series_body(&a, true);
}

/* the message and hint of an error, as a problem's detail */
static char *
error_detail(ErrorData *edata)
{
	const char *msg = edata->message ? edata->message : "";

	if (edata->hint != NULL && edata->hint[0] != '\0')
		return psprintf("%s. %s", msg, edata->hint);
	return pstrdup(msg);
}

/*
 * A cancel of a request: analytics_call_timed_out() raises the bound's own
 * error when its timer fired, and the cancel again when the user asked.
 * Its error replaces edata. (A function of its own: PG_TRY blocks do not
 * nest in one scope without shadowing warnings under PostgreSQL 16 and later.)
 */
static ErrorData *
request_timed_out(ErrorData *cancel, MemoryContext cxt)
{
	ErrorData  *volatile edata = cancel;

	PG_TRY();
	{
		DirectFunctionCall1(analytics_call_timed_out, CStringGetTextDatum(REQUEST_FNAME));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FreeErrorData(edata);
		edata = CopyErrorData();
		FlushErrorState();
	}
	PG_END_TRY();
	return edata;
}


/*
 * analytics.api_request(uri text, project_id text DEFAULT NULL,
 *						 OUT status integer, OUT body jsonb)
 */
static Datum api_request(FunctionCallInfo fcinfo, text *uri, text *project_id);

Datum
analytics_api_request(PG_FUNCTION_ARGS)
{
	return api_request(fcinfo, PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0),
					   PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1));
}

/*
 * analytics.project_request(project_id text, uri text) RETURNS
 * analytics.api_answer: api_request(uri, project_id) for one project, STRICT
 * and with the project first, so that Citus can run the whole call on the
 * worker that holds the project (README "Scaling out (Citus)").
 */
PG_FUNCTION_INFO_V1(analytics_project_request);
Datum
analytics_project_request(PG_FUNCTION_ARGS)
{
	return api_request(fcinfo, PG_GETARG_TEXT_PP(1), PG_GETARG_TEXT_PP(0));
}

static Datum
api_request(FunctionCallInfo fcinfo, text *uri, text *project_id)
{
	Oid			caller = fcinfo->flinfo->fn_oid;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	api_route	r;
	RestRequest q;
	volatile int status = 0;
	Jsonb	   *volatile body = NULL;
	size_t		i;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));
	tupdesc = BlessTupleDesc(tupdesc);

	api_route_parse(uri ? VARDATA_ANY(uri) : "", uri ? VARSIZE_ANY_EXHDR(uri) : 0, &r);
	memset(&q, 0, sizeof(q));
	if (r.status == 200 && !api_route_representable(&r))
	{
		status = 400;
		body = problem(400, "uri", API_ROUTE_NOT_REPRESENTABLE);
	}
	else if (r.status == 404)
	{
		status = 404;
		body = problem(404, NULL, NULL);
	}
	else if (r.status != 200)
	{
		status = 400;
		body = problem(400, r.err_name, r.err_detail);
	}
	else
	{
		q.endpoint = r.endpoint;
		q.path = copy_string(r.path);
		q.metric = copy_string(r.metric);
		q.aggregation = copy_string(r.aggregation);
		q.breakdown = copy_string(r.breakdown);
		q.from = copy_string(r.from);
		q.to = copy_string(r.to);
		q.interval = copy_string(r.interval);
		q.sort_by = copy_string(r.sort_by);
		q.sort_order = copy_string(r.sort_order);
		q.current_page = copy_string(r.current_page);
		q.page_size = copy_string(r.page_size);
		q.unique = copy_string(r.unique);
		q.view_duration = copy_string(r.view_duration);
		q.time_zone = copy_string(r.time_zone);
		q.filter_json = copy_string(r.filter_json);
		q.nparams = r.nparams;
		q.params = palloc0(sizeof(api_param) * (r.nparams + 1));
		for (i = 0; i < r.nparams; i++)
		{
			q.params[i].key = pstrdup(r.params[i].key);
			q.params[i].value = pstrdup(r.params[i].value);
		}
	}
	api_route_free(&r);

	if (status == 0)
	{
		MemoryContext oldcxt = CurrentMemoryContext;
		ResourceOwner oldowner = CurrentResourceOwner;

		/* as a PL/pgSQL exception block: a subtransaction */
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(oldcxt);
		PG_TRY();
		{
			LOCAL_FCINFO(begin_fcinfo, 0);
			bool		owner;

			/* the bound on one call's work covers the whole request */
			InitFunctionCallInfoData(*begin_fcinfo, NULL, 0, InvalidOid, NULL, NULL);
			owner = DatumGetBool(analytics_call_begin(begin_fcinfo));
			body = request_body(&q, caller, project_id);
			DirectFunctionCall2(analytics_call_end, BoolGetDatum(owner),
								CStringGetTextDatum(REQUEST_FNAME));
			status = 200;
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
		}
		PG_CATCH();
		{
			ErrorData  *volatile edata;

			MemoryContextSwitchTo(oldcxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;

			if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			{
				/* the bound's timer, or the user's cancel (raised again) */
				edata = request_timed_out(edata, oldcxt);
			}
			if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_DATA_EXCEPTION ||
				ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_PROGRAM_LIMIT_EXCEEDED)
			{
				status = 400;
				body = problem(400, (edata->column_name && edata->column_name[0]) ? edata->column_name : NULL,
							   error_detail(edata));
			}
			else if (edata->sqlerrcode == ERRCODE_CONFIGURATION_LIMIT_EXCEEDED)
			{
				/*
				 * analytics.max_call_time (or another configured limit)
				 * stopped the call
				 */
				status = 503;
				body = problem(503, NULL, error_detail(edata));
			}
			else
				ReThrowError(edata);
			FreeErrorData(edata);
		}
		PG_END_TRY();
	}

	values[0] = Int32GetDatum(status);
	values[1] = JsonbPGetDatum(body);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
