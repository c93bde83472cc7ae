/*-------------------------------------------------------------------------
 * api.c
 *		PostgreSQL glue of the URI router (src/uri.c, plain C):
 *		analytics._route(uri) and analytics._link(path, params, page, size);
 *		api_route_representable() for src/rest.c (api_request).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "api.h"
#include "uri.h"

PG_FUNCTION_INFO_V1(analytics_route);
PG_FUNCTION_INFO_V1(analytics_link);

/* the router's strings are UTF-8; other database encodings get ASCII only */
static bool
representable(const char *s)
{
	if (s == NULL || GetDatabaseEncoding() == PG_UTF8)
		return true;
	for (; *s; s++)
		if ((unsigned char) *s >= 0x80)
			return false;
	return true;
}

/* can every string of a routed request (status 200) be a database string? */
bool
api_route_representable(const api_route *r)
{
	const char *all[] = {r->path, r->metric, r->aggregation, r->breakdown, r->from, r->to,
		r->interval, r->sort_by, r->sort_order, r->current_page, r->page_size,
	r->unique, r->view_duration, r->time_zone, r->filter_json};
	size_t		i;
	bool		ok = true;

	for (i = 0; i < lengthof(all); i++)
		ok = ok && representable(all[i]);
	for (i = 0; i < r->nparams; i++)
		ok = ok && representable(r->params[i].key) && representable(r->params[i].value);
	return ok;
}

static void
add_field(StringInfo buf, const char *key, const char *value)
{
	appendStringInfoChar(buf, ',');
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
	if (value == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, value);
}

static const char *
endpoint_name(api_endpoint e)
{
	switch (e)
	{
		case API_METRICS:
			return "metrics";
		case API_BUCKETS:
			return "buckets";
		case API_TIMESERIES:
			return "timeseries";
		default:
			return NULL;
	}
}

/*
 * analytics._route(uri text) RETURNS jsonb
 *
 * {"status": 200|400|404, "endpoint", "path", "metric", "aggregation",
 *  "breakdown", "from", "to", "interval", "sortBy", "sortOrder",
 *  "currentPage", "pageSize", "unique", "viewDuration", "timeZone",
 *  "filterBy" (the JSON text, as a string), "params": [[key, value], ...],
 *  "name", "detail"}
 */
Datum
analytics_route(PG_FUNCTION_ARGS)
{
	text	   *uri = PG_GETARG_TEXT_PP(0);
	api_route	r;
	StringInfoData buf;
	size_t		i;
	bool		ok = true;

	api_route_parse(VARDATA_ANY(uri), VARSIZE_ANY_EXHDR(uri), &r);

	if (r.status == 200)
		ok = api_route_representable(&r);

	initStringInfo(&buf);
	if (!ok)
	{
		appendStringInfoString(&buf, "{\"status\":400,\"name\":\"uri\",\"detail\":");
		escape_json(&buf, API_ROUTE_NOT_REPRESENTABLE);
		appendStringInfoChar(&buf, '}');
	}
	else
	{
		appendStringInfo(&buf, "{\"status\":%d", r.status);
		add_field(&buf, "endpoint", endpoint_name(r.endpoint));
		if (r.status == 200)
		{
			add_field(&buf, "path", r.path);
			add_field(&buf, "metric", r.metric);
			add_field(&buf, "aggregation", r.aggregation);
			add_field(&buf, "breakdown", r.breakdown);
			add_field(&buf, "from", r.from);
			add_field(&buf, "to", r.to);
			add_field(&buf, "interval", r.interval);
			add_field(&buf, "sortBy", r.sort_by);
			add_field(&buf, "sortOrder", r.sort_order);
			add_field(&buf, "currentPage", r.current_page);
			add_field(&buf, "pageSize", r.page_size);
			add_field(&buf, "unique", r.unique);
			add_field(&buf, "viewDuration", r.view_duration);
			add_field(&buf, "timeZone", r.time_zone);
			add_field(&buf, "filterBy", r.filter_json);
			appendStringInfoString(&buf, ",\"params\":[");
			for (i = 0; i < r.nparams; i++)
			{
				if (i > 0)
					appendStringInfoChar(&buf, ',');
				appendStringInfoChar(&buf, '[');
				escape_json(&buf, r.params[i].key);
				appendStringInfoChar(&buf, ',');
				escape_json(&buf, r.params[i].value);
				appendStringInfoChar(&buf, ']');
			}
			appendStringInfoChar(&buf, ']');
		}
		else if (r.status == 400)
		{
			add_field(&buf, "name", r.err_name);
			add_field(&buf, "detail", r.err_detail);
		}
		appendStringInfoChar(&buf, '}');
	}
	api_route_free(&r);

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/*
 * analytics._link(path text, params text[], current_page bigint, page_size bigint) RETURNS text
 * params is a flat array key1, value1, key2, value2, ...
 */
Datum
analytics_link(PG_FUNCTION_ARGS)
{
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	int64		page = PG_GETARG_INT64(2);
	int64		size = PG_GETARG_INT64(3);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	api_param  *params;
	char	   *link;
	text	   *result;
	int			i;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("params must be a one-dimensional array")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n % 2 != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params must hold key/value pairs")));
	params = palloc0(sizeof(api_param) * (n / 2 + 1));
	for (i = 0; i < n; i++)
	{
		char	   *s = nulls[i] ? pstrdup("") : TextDatumGetCString(elems[i]);

		if (i % 2 == 0)
			params[i / 2].key = s;
		else
			params[i / 2].value = s;
	}
	link = api_build_link(path, params, (size_t) (n / 2), (long) page, (long) size);
	if (link == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while building a link")));
	result = cstring_to_text(link);
	free(link);
	PG_RETURN_TEXT_P(result);
}
