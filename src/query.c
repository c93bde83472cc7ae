/*-------------------------------------------------------------------------
 * query.c
 *		The query layer in C: analytics.metric, analytics.breakdown and
 *		analytics.timeseries (README, "Querying: the SQL API"), and
 *		analytics._plan_cover, the cover they read (for tests).
 *
 * Each function validates its arguments into a QuerySpec (query.h), with
 * the errors of the API (SQLSTATE 22023, the REST parameter in
 * COLUMN_NAME, a hint listing the valid values, all built from the
 * catalogue, catalog.h), then chooses how to answer:
 *
 *  - from the rollups: a stats metric whose filters and breakdown one
 *    rollup dimension can serve. The period is cut into signed pieces
 *    (cover.c) read from the rollup tables and from raw events; the
 *    statement (a UNION ALL of the pieces, merged) goes through the kept
 *    statements of keptquery.c, run with the planner settings of a query
 *    over rollup pieces (no parallel workers, index scans);
 *  - unique viewers whose filters and breakdown the cube's dimensions
 *    serve: the viewer ids of rollup_viewers_hour / _day and raw events,
 *    over a cover of disjoint pieces that are only added (distinct counts
 *    cannot be taken out again), their union counted (viewers.c);
 *  - concurrent viewers of one project, all media or one live stream: the
 *    per-minute rows (ccvrollup.c);
 *  - else raw events, one statement planned for its values.
 *
 * Statements are built from fixed fragments only: the extension's schema,
 * the catalogue's columns and element numbers, and parameters ($n, numbered
 * as QueryParam says) for every value. The functions run with the caller's
 * rights (row-level security applies) and with the search_path pinned by
 * their SET clause; analytics.max_call_time bounds each call (callbound.c).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tstoreReceiver.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/pathnodes.h"
#include "optimizer/plancat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "analytics.h"
#include "ccvrollup.h"
#include "cover.h"
#include "query.h"

PG_FUNCTION_INFO_V1(analytics_metric);
PG_FUNCTION_INFO_V1(analytics_breakdown);
PG_FUNCTION_INFO_V1(analytics_timeseries);

extern Datum analytics_default_interval(PG_FUNCTION_ARGS);

/* the rollup tables of the cover levels CL_5MIN .. CL_W4 */
static const char *const level_tables[CL_NLEVELS] = {
	NULL, "rollup_5min", "rollup_hour", "rollup_day", "rollup_week", "rollup_w4"
};

/* the viewer ids of the levels CL_HOUR and CL_DAY */
static const char *const viewers_tables[CL_NLEVELS] = {
	NULL, NULL, "rollup_viewers_hour", "rollup_viewers_day", NULL, NULL
};

/* the cube's tables of the levels CL_HOUR .. CL_W4 (no 5-minute rows) */
static const char *const cube_tables[CL_NLEVELS] = {
	NULL, NULL, "rollup_cube_hour", "rollup_cube_day", "rollup_cube_week", "rollup_cube_w4"
};

/* the referrer cube's */
static const char *const refcube_tables[CL_NLEVELS] = {
	NULL, NULL, "rollup_refcube_hour", "rollup_refcube_day", "rollup_refcube_week", "rollup_refcube_w4"
};

/* the device cube's */
static const char *const devcube_tables[CL_NLEVELS] = {
	NULL, NULL, "rollup_devcube_hour", "rollup_devcube_day", "rollup_devcube_week", "rollup_devcube_w4"
};

/* the table of level `level` of cube dim (CAT_DIM_CUBE, _REFCUBE, _DEVCUBE) */
static const char *
cube_table(int dim, int level)
{
	return dim == CAT_DIM_CUBE ? cube_tables[level] : dim == CAT_DIM_REFCUBE ? refcube_tables[level]
		: devcube_tables[level];
}

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------
 */

/* an invalid argument: 22023, the REST parameter name in COLUMN_NAME */
static void
invalid(const char *rest_name, const char *message, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg_internal("%s", message),
			 errhint("%s", hint),
			 err_generic_string(PG_DIAG_COLUMN_NAME, rest_name)));
}

/* "a, b, c" of a NULL-terminated list */
static char *
joined(const char *const *list)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (; *list; list++)
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", *list);
	return buf.data;
}

/* "play: count, rate, total; start: count; ..." */
static char *
endpoint_pairs_hint(void)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "Valid metric/aggregation pairs are: ");
	for (i = 0; i < catalog_n_endpoint_pairs; i++)
	{
		const EndpointPair *p = &catalog_endpoint_pairs[i];

		if (i == 0 || strcmp(catalog_endpoint_pairs[i - 1].metric, p->metric) != 0)
			appendStringInfo(&buf, "%s%s: %s", i > 0 ? "; " : "", p->metric, p->aggregation);
		else
			appendStringInfo(&buf, ", %s", p->aggregation);
	}
	appendStringInfoChar(&buf, '.');
	return buf.data;
}

/* "Valid metrics are: play, play-rate, ..." of breakdown or timeseries */
static char *
series_metrics_hint(QueryContext context)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "Valid metrics are: ");
	for (i = 0; i < catalog_n_query_metrics; i++)
	{
		const QueryMetric *m = &catalog_query_metrics[i];

		if (m->series && (!m->breakdown_only || context == QC_BREAKDOWN))
			appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "", m->name);
	}
	appendStringInfoChar(&buf, '.');
	return buf.data;
}

/* the metrics taking an aggregation (average or sum), and their defaults */
static char *
series_aggregation_hint(void)
{
	StringInfoData names;
	StringInfoData defaults;
	int			i;
	int			n = 0;

	initStringInfo(&names);
	initStringInfo(&defaults);
	for (i = 0; i < catalog_n_metric_defs; i++)
	{
		const MetricDef *d = &catalog_metric_defs[i];

		if (!d->is_default || d->aggregation == NULL || strcmp(d->aggregation, "count") == 0)
			continue;
		appendStringInfo(&names, "%s%s", n > 0 ? " and " : "", d->metric);
		appendStringInfo(&defaults, "%s%s %s", n > 0 ? ", " : "", d->metric, d->aggregation);
		n++;
	}
	return psprintf("Only %s take an aggregation: average or sum (defaults: %s).", names.data, defaults.data);
}

/* does a breakdown/timeseries metric take aggregation a (average, sum)? */
static bool
series_takes_aggregation(const char *m, const char *a)
{
	const MetricDef *dflt = catalog_metric_def(m, NULL);

	return dflt != NULL && dflt->aggregation != NULL && strcmp(dflt->aggregation, "count") != 0 &&
		catalog_metric_def(m, a) != NULL;
}

/* ------------------------------------------------------------------------
 * The metric
 * ------------------------------------------------------------------------
 */
void
query_resolve_metric(QuerySpec *q, QueryContext context, text *metric_t, text *aggregation_t,
					 bool unique_viewers, text *view_duration_t)
{
	char	   *metric = metric_t ? text_to_cstring(metric_t) : NULL;
	char	   *m = metric;
	char	   *a = aggregation_t ? text_to_cstring(aggregation_t) : NULL;
	char	   *vd = view_duration_t ? text_to_cstring(view_duration_t) : NULL;
	const QueryMetric *qm;
	int			i;

	q->context = context;
	if (m == NULL)
		invalid("metric", "metric must not be NULL",
				context == QC_METRICS ? endpoint_pairs_hint() : series_metrics_hint(context));

	if (context == QC_METRICS)
	{
		const EndpointPair *pair = NULL;
		bool		known = false;

		for (i = 0; i < catalog_n_endpoint_pairs; i++)
			if (strcmp(catalog_endpoint_pairs[i].metric, m) == 0)
			{
				known = true;
				if (a != NULL && strcmp(catalog_endpoint_pairs[i].aggregation, a) == 0)
					pair = &catalog_endpoint_pairs[i];
			}
		if (!known)
			invalid("metric", psprintf("invalid metric: \"%s\"", m), endpoint_pairs_hint());
		if (pair == NULL)
			invalid("aggregation", psprintf("invalid aggregation \"%s\" for metric \"%s\"", a ? a : "NULL", m),
					endpoint_pairs_hint());
		m = (char *) pair->query_metric;
		a = (char *) pair->stats_aggregation;
	}
	else
	{
		qm = catalog_query_metric(m);
		if (qm == NULL || !qm->series || (qm->breakdown_only && context != QC_BREAKDOWN))
			invalid("metric", psprintf("invalid metric: \"%s\"", m), series_metrics_hint(context));
		if (a != NULL && !series_takes_aggregation(m, a))
			invalid("aggregation", psprintf("invalid aggregation \"%s\" for metric \"%s\"", a, m),
					series_aggregation_hint());
		if (a == NULL && qm->kind == QK_STATS && series_takes_aggregation(m, catalog_metric_def(m, NULL)->aggregation))
			a = (char *) catalog_metric_def(m, NULL)->aggregation;
	}
	qm = catalog_query_metric(m);

	/* options that apply to some metrics only */
	if (unique_viewers && !qm->unique_viewers)
		invalid("unique", psprintf("unique_viewers does not apply to metric \"%s\"", metric),
				"unique_viewers applies to the view and ccv metrics only.");
	if (vd != NULL && strcmp(m, CAT_VIEW_METRIC) != 0)
		invalid("viewDuration", psprintf("view_duration does not apply to metric \"%s\"", metric),
				"view_duration applies to the view metric only.");

	q->qm = qm;
	q->kind = qm->kind;
	q->sm_metric = m;
	q->sm_aggregation = a;
	q->view_duration = NULL;
	q->threshold = -1;
	q->unique_viewers = unique_viewers;
	q->md = qm->kind == QK_STATS ? catalog_metric_def(m, a) : NULL;
	if (strcmp(m, CAT_VIEW_METRIC) == 0)
	{
		const char *d = vd ? vd : catalog_view_durations[CAT_VIEW_DURATION_DEFAULT];

		for (i = 0; i < CAT_ES_NTHRESHOLDS; i++)
			if (strcmp(d, catalog_view_durations[i]) == 0)
				break;
		if (i == CAT_ES_NTHRESHOLDS)
		{
			StringInfoData hint;
			int			j;

			initStringInfo(&hint);
			appendStringInfoString(&hint, "Valid view durations are: ");
			for (j = 0; j < CAT_ES_NTHRESHOLDS; j++)
				appendStringInfo(&hint, "%s%s", j > 0 ? ", " : "", catalog_view_durations[j]);
			appendStringInfo(&hint, " (default %s).", catalog_view_durations[CAT_VIEW_DURATION_DEFAULT]);
			invalid("viewDuration", psprintf("invalid view_duration: \"%s\"", vd), hint.data);
		}
		q->view_duration = catalog_view_durations[i];
		q->threshold = i;
		if (unique_viewers)
			q->kind = QK_VIEW_UNIQUE;
	}
}

/* the statistics element of a count metric (1-based, as in SQL), or 0 */
static int
count_element(const QuerySpec *q)
{
	if (q->kind != QK_STATS || q->sm_aggregation != NULL || q->md->count < 0)
		return 0;
	if (q->md->count == CAT_ES_VIEW3)
		return CAT_ES_VIEW3 + q->threshold + 1;
	return q->md->count + 1;
}

/* the statistics element of an event type the metric counts (1-based) */
static int
type_element(const QuerySpec *q, int type)
{
	return type == CAT_ET_VIEW ? CAT_ES_VIEW3 + q->threshold + 1 : type + 1;
}

/* the predicate on the event types of the metric's rows over events "e" */
static void
append_types(StringInfo buf, const QuerySpec *q)
{
	const int  *t = q->md->types;

	if (t[1] < 0)
		appendStringInfo(buf, "e.event_type = '%s'", catalog_event_types[t[0]]);
	else
		/*
		 * an OR, not IN: costed as two comparisons, the planner puts the
		 * project's (one) before it, which rejects most rows more cheaply
		 * than the array of two types each row would be compared with
		 */
		appendStringInfo(buf, "(e.event_type = '%s' OR e.event_type = '%s')", catalog_event_types[t[0]], catalog_event_types[t[1]]);
	if (t[0] == CAT_ET_VIEW)
		appendStringInfo(buf, " AND e.value = $%d", P_THRESHOLD);
}

/* the groups the metric lists: with at least one event it counts */
static void
append_counted(StringInfo buf, const QuerySpec *q, const char *stats)
{
	const int  *t = q->md->types;

	if (t[1] < 0)
		appendStringInfo(buf, "%s[%d] > 0", stats, type_element(q, t[0]));
	else
		appendStringInfo(buf, "(%s[%d] > 0 OR %s[%d] > 0)", stats, type_element(q, t[0]), stats,
						 type_element(q, t[1]));
}

/* ------------------------------------------------------------------------
 * Projects, filters, period
 * ------------------------------------------------------------------------
 */

/*
 * The projects a question reads: its project_id argument, narrowed by the
 * analytics.project_id setting (both must match when both are set).
 */
static void
resolve_projects(QuerySpec *q, text *project_id)
{
	const char *p = project_id ? text_to_cstring(project_id) : NULL;
	const char *s = GetConfigOption("analytics.project_id", true, false);

	if (s != NULL && s[0] == '\0')
		s = NULL;
	q->has_projects = p != NULL || s != NULL;
	if (p == NULL)
		q->project = s ? pstrdup(s) : NULL;
	else if (s == NULL || strcmp(s, p) == 0)
		q->project = p;
	else
		q->project = NULL;		/* {NULL}: matches nothing */
	/* Citus: one project on the node that holds it (README "Scaling out") */
	if (q->project != NULL && analytics_citus_distributed())
		q->shards = analytics_citus_project_shards(q->project);
	q->dist_all = !q->has_projects && analytics_citus_distributed();
	q->via_citus = q->shards == NIL && analytics_citus_distributed();
}

/*
 * The first column of a piece of a rollup statement over every project on
 * Citus: the project of its rows (alias.project_id). With it in every
 * branch, Citus runs the UNION ALL on every shard (one distributed
 * statement, the sums merged from each shard's partial sums) instead of
 * each branch as a statement of its own whose rows go to the coordinator.
 * Empty elsewhere.
 */
static const char *
pcol(const QuerySpec *q, const char *alias)
{
	return q->dist_all ? psprintf("%s.project_id AS p, ", alias) : "";
}

/*
 * A condition for each piece of a rollup statement that Citus sends to the
 * workers (every project, or one project asked on the coordinator): always
 * true, but a call of a PARALLEL UNSAFE function (evaluated once per
 * execution), so that the workers plan the statement without parallel
 * workers, as a single node plans it (run()); the setting made there for
 * the statement does not reach them. A worker's parallel plan of its
 * shard's pieces, a few thousand rows, spent more starting its parallel
 * workers than reading them (tens of milliseconds instead of a few). Empty
 * elsewhere.
 */
static const char *
serial(const QuerySpec *q)
{
	return q->via_citus ? " AND pg_catalog.current_schemas(false) IS NOT NULL" : "";
}

/*
 * The table (of the extension's schema) a question reads, schema-qualified:
 * on a Citus node holding the question's project, the project's shard of
 * it (resolve_projects), else the table itself.
 */
static const char *
qtable(const QuerySpec *q, const char *table)
{
	ListCell   *lc;

	foreach(lc, q->shards)
	{
		const AnalyticsShard *sh = lfirst(lc);

		if (strcmp(sh->table, table) == 0)
			return psprintf("%s.%s", q->schema, sh->shard);
	}
	return psprintf("%s.%s", q->schema, table);
}

/* jsonb_typeof of a value */
static const char *
json_type_name(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "string";
		case jbvNumeric:
			return "number";
		case jbvBool:
			return "boolean";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "array" : "object";
		default:
			return "unknown";
	}
}

/* left(v::text, 200) */
static char *
json_shown(JsonbValue *v)
{
	Jsonb	   *j = JsonbValueToJsonb(v);
	char	   *s = JsonbToCString(NULL, &j->root, VARSIZE(j));
	int			len = strlen(s);

	return pnstrdup(s, pg_mbcharcliplen(s, len, 200));
}

/* a filter value: a string, or a non-empty array of strings */
static Datum
filter_strings(const char *key, JsonbValue *v, bool allow_array, char ***out, int *nout)
{
	char	   *col = psprintf("filterBy.%s", key);
	const char *hint = allow_array ? "Give a string or a non-empty array of strings." : "Give a string.";
	Datum	   *elems;
	int			n,
				i;

	if (v->type == jbvString)
	{
		*out = palloc(sizeof(char *));
		(*out)[0] = pnstrdup(v->val.string.val, v->val.string.len);
		*nout = 1;
		elems = palloc(sizeof(Datum));
		elems[0] = PointerGetDatum(cstring_to_text((*out)[0]));
		return PointerGetDatum(construct_array(elems, 1, TEXTOID, -1, false, TYPALIGN_INT));
	}
	if (allow_array && v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data))
	{
		JsonbContainer *c = v->val.binary.data;

		n = JsonContainerSize(c);
		if (n == 0)
			invalid(col, psprintf("invalid filter %s: empty array", key), "Give a string or a non-empty array of strings.");
		for (i = 0; i < n; i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(c, i);

			if (e->type != jbvString)
				invalid(col, psprintf("invalid filter %s: %s", key, json_shown(v)), "Every element must be a string.");
		}
		*out = palloc(sizeof(char *) * n);
		elems = palloc(sizeof(Datum) * n);
		for (i = 0; i < n; i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(c, i);

			(*out)[i] = pnstrdup(e->val.string.val, e->val.string.len);
			elems[i] = PointerGetDatum(cstring_to_text((*out)[i]));
		}
		*nout = n;
		return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
	}
	invalid(col, psprintf("invalid filter %s: %s", key, json_shown(v)), hint);
	return (Datum) 0;			/* not reached */
}

static bool
is_country_code(const char *s)
{
	return s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] == '\0';
}

/*
 * The filter values of an enum column (already checked against its list)
 * as values of the extension's type: media_type, or an array of continent
 * or device_type
 */
static void
filter_enum(QuerySpec *q, int d, char **vals, int n)
{
	const char *tname = d == CAT_DIM_MEDIA_TYPE ? "media_type" : d == CAT_DIM_CONTINENT ? "continent" : "device_type";
	Oid			nsp = get_func_namespace(q->fn_oid);
	Oid			typ = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum(tname), ObjectIdGetDatum(nsp));
	Datum	   *elems;
	int			i;

	if (!OidIsValid(typ))
		elog(ERROR, "analytics: type %s not found", tname);
	elems = palloc(sizeof(Datum) * (n > 0 ? n : 1));
	for (i = 0; i < n; i++)
		elems[i] = DirectFunctionCall2(enum_in, CStringGetDatum(vals[i]), ObjectIdGetDatum(typ));
	if (d == CAT_DIM_MEDIA_TYPE)
	{
		q->filter_enum[d] = elems[0];
		q->filter_enum_type[d] = typ;
	}
	else
	{
		q->filter_enum[d] = PointerGetDatum(construct_array(elems, n, typ, sizeof(Oid), true, TYPALIGN_INT));
		q->filter_enum_type[d] = get_array_type(typ);
	}
}

/* the filters; media_only: play totals (mediaId, mediaType only) */
static void
resolve_filters(QuerySpec *q, Jsonb *filter_by, bool media_only)
{
	StringInfoData keys;
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			d;

	memset(q->filter, 0, sizeof(q->filter));
	q->tag = NULL;
	if (filter_by == NULL)
		return;
	if (JB_ROOT_IS_SCALAR(filter_by))
	{
		JsonbValue	scalar;

		JsonbExtractScalar(&filter_by->root, &scalar);
		if (scalar.type == jbvNull)
			return;
		v = scalar;
	}
	else
	{
		v.type = jbvBinary;
		v.val.binary.data = &filter_by->root;
		v.val.binary.len = VARSIZE(filter_by) - VARHDRSZ;
	}
	initStringInfo(&keys);
	appendStringInfoString(&keys, "Valid filter keys are: ");
	for (d = 0; d < CAT_NDIMS; d++)
		if (catalog_dims[d].filter_key)
			appendStringInfo(&keys, "%s, ", catalog_dims[d].filter_key);
	appendStringInfo(&keys, "%s.", CAT_FILTER_TAG);
	if (!JB_ROOT_IS_OBJECT(filter_by))
		invalid("filterBy", psprintf("filter_by must be a JSON object, not %s", json_type_name(&v)), keys.data);

	it = JsonbIteratorInit(&filter_by->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;
		char	  **vals;
		int			n;
		Datum		arr;
		bool		is_tag;
		int			i;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		is_tag = strcmp(key, CAT_FILTER_TAG) == 0;
		d = is_tag ? -1 : catalog_dim_by_filter(key);
		if (!is_tag && d < 0)
			invalid(psprintf("filterBy.%s", key), psprintf("invalid filter key: \"%s\"", key), keys.data);
		if (media_only && d != CAT_DIM_MEDIA && d != CAT_DIM_MEDIA_TYPE)
			invalid(psprintf("filterBy.%s", key), psprintf("filter key \"%s\" does not apply to play totals", key),
					psprintf("Play totals accept only the %s and %s filters.", catalog_dims[CAT_DIM_MEDIA].filter_key,
							 catalog_dims[CAT_DIM_MEDIA_TYPE].filter_key));
		arr = filter_strings(key, &v, !is_tag && catalog_dims[d].multi, &vals, &n);
		if (is_tag)
		{
			q->tag = vals[0];
			continue;
		}
		switch (d)
		{
			case CAT_DIM_MEDIA_TYPE:
				if (!catalog_in_list(catalog_media_types, vals[0]))
					invalid("filterBy.mediaType", psprintf("invalid filter mediaType: \"%s\"", vals[0]),
							psprintf("Valid media types are: %s.", joined(catalog_media_types)));
				arr = CStringGetTextDatum(vals[0]);
				break;
			case CAT_DIM_CONTINENT:
				for (i = 0; i < n; i++)
					if (!catalog_in_list(catalog_continents, vals[i]))
						invalid("filterBy.continent", psprintf("invalid filter continent: \"%s\"", vals[i]),
								psprintf("Valid continents are: %s.", joined(catalog_continents)));
				break;
			case CAT_DIM_COUNTRY:
				for (i = 0; i < n; i++)
					if (!is_country_code(vals[i]))
						invalid("filterBy.country", psprintf("invalid filter country: \"%s\"", vals[i]),
								"Give ISO 3166-1 alpha-2 country codes in upper case, such as FR or US.");
				break;
			case CAT_DIM_DEVICE_TYPE:
				for (i = 0; i < n; i++)
					if (!catalog_in_list(catalog_device_types, vals[i]))
						invalid("filterBy.deviceType", psprintf("invalid filter deviceType: \"%s\"", vals[i]),
								psprintf("Valid device types are: %s.", joined(catalog_device_types)));
				break;
			default:
				break;
		}
		q->filter[d] = true;
		q->filter_value[d] = arr;
		if (d == CAT_DIM_MEDIA_TYPE || d == CAT_DIM_CONTINENT || d == CAT_DIM_DEVICE_TYPE)
			filter_enum(q, d, vals, n);
	}
}

static char *
ts_text(TimestampTz t)
{
	return DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(t)));
}

static TimestampTz
ts_minus(TimestampTz t, const char *iv)
{
	Interval   *i = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(iv),
														  ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));

	return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval, TimestampTzGetDatum(t),
												   IntervalPGetDatum(i)));
}

/* the period [from, to) with its defaults, checked against the retention */
static void
resolve_period(QuerySpec *q, bool from_null, TimestampTz from, bool to_null, TimestampTz to)
{
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	Interval   *ret;
	TimestampTz oldest;

	q->to = to_null ? now : to;
	q->from = from_null ? ts_minus(q->to, "1 day") : from;
	q->has_period = true;
	if (q->from >= q->to)
		invalid("from", psprintf("from_ts must be before to_ts: \"%s\" is not before \"%s\"", ts_text(q->from), ts_text(q->to)),
				"Give a period [from_ts, to_ts) with from_ts < to_ts.");
	ret = analytics_read_retention();
	oldest = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval, TimestampTzGetDatum(now),
													 IntervalPGetDatum(ret)));
	if (q->from < oldest)
		invalid("from", psprintf("from_ts is older than the retention window: \"%s\"", ts_text(q->from)),
				psprintf("Events are kept for %s: from_ts must not be before %s.",
						 DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(ret))),
						 ts_text(oldest)));
}

/* ------------------------------------------------------------------------
 * Statement fragments
 * ------------------------------------------------------------------------
 */

/*
 * the filters (and the project) as predicates on events "e"; project_param:
 * the project as the text $P_PROJECT (a statement over a cover: a kept plan
 * compares each raw row with it, where $P_PROJECTS[1] would be taken out of
 * its array for each row), else $P_PROJECTS[1]
 */
static void
append_filters(StringInfo buf, const QuerySpec *q);

static void
append_where_ex(StringInfo buf, const QuerySpec *q, bool project_param)
{
	if (q->has_projects && project_param)
		appendStringInfo(buf, " AND e.project_id = $%d", P_PROJECT);
	else if (q->has_projects)
		appendStringInfo(buf, " AND e.project_id = $%d[1]", P_PROJECTS);
	append_filters(buf, q);
}

/* the filters alone as predicates on events "e" (append_where_ex) */
static void
append_filters(StringInfo buf, const QuerySpec *q)
{
	int			d;

	for (d = 1; d < CAT_NDIMS; d++)
	{
		if (!q->filter[d])
			continue;
		/*
		 * the enum columns against parameters of their own types: a text
		 * parameter cast to the enum would be cast again for every row
		 * (enum input is not immutable, so the planner does not fold it)
		 */
		if (d == CAT_DIM_MEDIA_TYPE)
			appendStringInfo(buf, " AND e.media_type = $%d", P_MEDIA_TYPE_ENUM);
		else if (d == CAT_DIM_CONTINENT)
			appendStringInfo(buf, " AND e.continent = ANY($%d)", P_CONTINENT_ENUM);
		else if (d == CAT_DIM_DEVICE_TYPE)
			appendStringInfo(buf, " AND e.device_type = ANY($%d)", P_DEVICE_TYPE_ENUM);
		else
		{
			/* the column of the dimension, without its ::text */
			const char *col = catalog_dims[d].column;

			appendStringInfo(buf, " AND %.*s = ANY($%d)", (int) strcspn(col, ":"), col, P_DIM0 + d);
		}
	}
	if (q->tag)
		appendStringInfo(buf, " AND EXISTS (SELECT 1 FROM %s m WHERE m.project_id = e.project_id"
						 " AND m.media_id = e.media_id AND m.tags @> ARRAY[$%d])", qtable(q, "media"), P_TAG);
}

static void
append_where(StringInfo buf, const QuerySpec *q)
{
	append_where_ex(buf, q, false);
}

/* the filters as predicates on rollup rows "r" of dimension dim */
static void
append_rollup_where(StringInfo buf, const QuerySpec *q, int dim)
{
	int			d;

	if (q->has_projects)
		appendStringInfo(buf, " AND r.project_id = $%d[1]", P_PROJECTS);
	for (d = 1; d < CAT_NDIMS; d++)
	{
		if (!q->filter[d])
			continue;
		if (d == CAT_DIM_MEDIA_TYPE)
		{
			if (dim == CAT_DIM_MEDIA)
				appendStringInfo(buf, " AND r.media_type = $%d", P_MEDIA_TYPE_ENUM);
			else
				appendStringInfo(buf, " AND r.value = $%d", P_DIM0 + d);
		}
		else if (ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(q->filter_value[d])),
								ARR_DIMS(DatumGetArrayTypeP(q->filter_value[d]))) == 1)

			/*
			 * one value: an index condition of (project_id, dim, value, ...)
			 * (rollup_week, rollup_w4) that the planner costs as one lookup
			 * (as = ANY of an array parameter, it counts ten)
			 */
			appendStringInfo(buf, " AND r.value = $%d[1]", P_DIM0 + d);
		else
			appendStringInfo(buf, " AND r.value = ANY($%d)", P_DIM0 + d);
	}
	if (q->tag)
		appendStringInfo(buf, " AND EXISTS (SELECT 1 FROM %s m WHERE m.project_id = r.project_id"
						 " AND m.media_id = r.value AND m.tags @> ARRAY[$%d])", qtable(q, "media"), P_TAG);
}

/* the start of a watch interval, and who watches */
static void
append_ccv_args(StringInfo buf, bool uv)
{
	appendStringInfoString(buf, uv ? "CASE WHEN e.viewer_id IS NULL THEN e.emitted_at ELSE e.emitted_at - e.value * interval '1 second' END"
						   : "e.emitted_at - e.value * interval '1 second'");
	appendStringInfo(buf, ", e.emitted_at, %s", uv ? "e.viewer_id" : "e.session_id");
}

/* the aggregate of the metric over the rows "e" of [$1, $2) */
static void
append_value(StringInfo buf, const QuerySpec *q)
{
	switch (q->kind)
	{
		case QK_STATS:
			appendStringInfo(buf, "%s.stats_metric(%s.event_stats(e.event_type, e.value), $%d, $%d, $%d)",
							 q->schema, q->schema, P_SM_METRIC, P_SM_AGGREGATION, P_VIEW_DURATION);
			break;
		case QK_VIEW_UNIQUE:
			appendStringInfoString(buf, "count(DISTINCT e.viewer_id)::double precision");
			break;
		default:

			/*
			 * with unique_viewers, an interval without a viewer id is passed
			 * with zero length: it counts nobody, but its dimension value
			 * still shows (as 0)
			 */
			appendStringInfo(buf, "(%s.ccv(", q->schema);
			append_ccv_args(buf, q->unique_viewers);
			appendStringInfo(buf, ", $%d, $%d))[%d]", P_FROM, P_TO, q->kind == QK_CCV_AVERAGE ? 2 : 1);
			break;
	}
}

/* the row predicate of the metric over [$1, $2) */
static void
append_rows(StringInfo buf, const QuerySpec *q)
{
	if (q->kind == QK_CCV_PEAK || q->kind == QK_CCV_AVERAGE || q->kind == QK_CCV_LIVE)
		/* a watch event covers at most an hour (events_watch_value_check) */
		appendStringInfo(buf, "e.event_type = 'watch' AND e.value > 0 AND e.emitted_at > $%d AND e.emitted_at < $%d + interval '1 hour'"
						 " AND e.emitted_at - e.value * interval '1 second' < $%d", P_FROM, P_TO, P_TO);
	else
	{
		appendStringInfo(buf, "e.emitted_at >= $%d AND e.emitted_at < $%d AND ", P_FROM, P_TO);
		append_types(buf, q);
	}
}

/* "((col >= $lo[1] AND col < $hi[1]) OR ...)" for n ranges */
static void
append_ranges(StringInfo buf, const char *col, int lo, int hi, int n)
{
	int			i;

	appendStringInfoChar(buf, '(');
	for (i = 1; i <= n; i++)
		appendStringInfo(buf, "%s(%s >= $%d[%d] AND %s < $%d[%d])", i > 1 ? " OR " : "", col, lo, i, col, hi, i);
	appendStringInfoChar(buf, ')');
}

/* the pieces of a cover: per level and sign, the ranges, as parameters */
typedef struct Cover
{
	int			n[CL_NLEVELS][2];	/* ranges per level, [0] added, [1] taken
									 * out */
	Datum		arrays[4 * CL_NLEVELS]; /* from, to, taken out from, to */
	TimestampTz raw[2][P_RAW_RANGES][2];	/* the first raw ranges of each
											 * sign: from, to */
	double		raw_minutes;
} Cover;

/* the parameter of the ranges of a level and sign (+1 for their ends) */
#define COVER_PARAM(level, neg) (P_COVER + 4 * (level) + 2 * (neg))

/*
 * The raw ranges of a sign (neg: taken out) over e.emitted_at: when they
 * are few, one by one as the scalars $P_RAW.. (a kept plan compares each
 * row read with them as they are; an element of an array parameter would
 * be taken out of it for each row), else as the arrays of the cover.
 */
static void
append_raw_ranges(StringInfo buf, const Cover *c, int neg)
{
	int			n = c->n[CL_RAW][neg];
	int			i;

	if (n > P_RAW_RANGES)
	{
		append_ranges(buf, "e.emitted_at", COVER_PARAM(CL_RAW, neg), COVER_PARAM(CL_RAW, neg) + 1, n);
		return;
	}
	appendStringInfoChar(buf, '(');
	for (i = 0; i < n; i++)
	{
		int			p = P_RAW + 2 * P_RAW_RANGES * neg + 2 * i;

		appendStringInfo(buf, "%s(e.emitted_at >= $%d AND e.emitted_at < $%d)", i > 0 ? " OR " : "", p, p + 1);
	}
	appendStringInfoChar(buf, ')');
}


/*
 * "FROM events e WHERE" the raw ranges of a sign, the metric's event types,
 * the project and the filters, for a statement over a cover. With a filter
 * on another column than media_id, as the rows of a subquery that reads
 * the ranges, types and project, the filters applied to its rows: a scan
 * evaluates its conditions as one expression, which takes apart every row
 * it checks up to the last column that expression reads. The time, the
 * project and the event type are the first three columns of events, the
 * filters' columns come later (country the 11th, past media_id,
 * session_id, referrer, ...): only the rows of the project and types (a
 * few percent of those in the raw ranges) are then taken apart further.
 * OFFSET 0 keeps the subquery apart (the planner would merge its
 * conditions with the filters); its unused columns are dropped. Not over
 * every project on Citus, which would run such a subquery on the
 * coordinator.
 */
static void
append_raw_from(StringInfo buf, const QuerySpec *q, const Cover *c, int neg)
{
	bool		late = false;
	int			d;

	/*
	 * media_id is the 5th column: a filter on it (or a tag, on media_id)
	 * alone costs more as a subquery (its rows passed on) than it saves
	 */
	for (d = 1; d < CAT_NDIMS; d++)
		if (q->filter[d] && d != CAT_DIM_MEDIA)
			late = true;
	if (late && !q->dist_all)
		appendStringInfo(buf, " FROM (SELECT * FROM %s e WHERE ", qtable(q, "events"));
	else
		appendStringInfo(buf, " FROM %s e WHERE ", qtable(q, "events"));
	append_raw_ranges(buf, c, neg);
	appendStringInfoString(buf, " AND ");
	append_types(buf, q);
	if (late && !q->dist_all)
	{
		if (q->has_projects)
			appendStringInfo(buf, " AND e.project_id = $%d", P_PROJECT);
		appendStringInfoString(buf, " OFFSET 0) e WHERE true");
		append_filters(buf, q);
	}
	else
		append_where_ex(buf, q, true);
	appendStringInfoString(buf, serial(q));
}

/*
 * The rows (t, v, stats) of the metric over the cover: for each level, the
 * rows of the ranges read as they are, and of the ranges taken out with
 * every statistic negated. t: the bucket of a rollup row, or
 * time_bucket($17, emitted_at, $18) of raw rows when by_bucket; v: the
 * dimension value (raw_dim: its column over events "e", NULL for none).
 * For a count metric, stats is its element of the statistics.
 */
static void
append_stats_rows(StringInfo buf, const QuerySpec *q, const Cover *c, int dim, const char *raw_dim, bool by_bucket)
{
	const char *S = q->schema;
	int			k = count_element(q);
	int			parts = 0;
	int			level;
	int			neg;
	StringInfoData rw;
	StringInfoData stats;

	initStringInfo(&rw);
	append_rollup_where(&rw, q, dim);
	appendStringInfoString(&rw, " AND ");
	append_counted(&rw, q, "r.stats");

	for (level = CL_RAW; level < CL_NLEVELS; level++)
		for (neg = 0; neg < 2; neg++)
		{
			if (c->n[level][neg] == 0)
				continue;
			if (parts++ > 0)
				appendStringInfoString(buf, " UNION ALL ");
			initStringInfo(&stats);
			if (level == CL_RAW)
			{
				if (k == 0)
					appendStringInfo(&stats, "%s.event_stats(e.event_type, e.value)", S);
				else
					appendStringInfo(&stats, "(%s.event_stats(e.event_type, e.value))[%d]", S, k);
				appendStringInfo(buf, "SELECT %s", pcol(q, "e"));
				if (by_bucket)
					appendStringInfo(buf, "%s.time_bucket($%d, e.emitted_at, $%d)", S, P_BUCKET, P_TIME_ZONE);
				else
					appendStringInfoString(buf, "NULL::timestamptz");
				appendStringInfo(buf, " AS t, %s AS v, ", raw_dim ? raw_dim : "NULL::text");
			}
			else if (dim == CAT_DIM_CUBE || dim == CAT_DIM_REFCUBE || dim == CAT_DIM_DEVCUBE)
			{
				/*
				 * cube rows "e": the columns of events, the filters as on
				 * them
				 */
				if (k == 0)
					appendStringInfoString(&stats, "e.stats");
				else
					appendStringInfo(&stats, "e.stats[%d]", k);
				appendStringInfo(buf, "SELECT %se.bucket AS t, %s AS v, ", pcol(q, "e"), raw_dim ? raw_dim : "NULL::text");
			}
			else
			{
				if (k == 0)
					appendStringInfoString(&stats, "r.stats");
				else
					appendStringInfo(&stats, "r.stats[%d]", k);
				appendStringInfo(buf, "SELECT %sr.bucket AS t, r.value AS v, ", pcol(q, "r"));
			}
			if (!neg)
				appendStringInfoString(buf, stats.data);
			else if (k == 0)
				appendStringInfo(buf, "%s.event_stats_negate(%s)", S, stats.data);
			else
				appendStringInfo(buf, "-%s", stats.data);
			if (level == CL_RAW)
			{
				appendStringInfoString(buf, " AS stats");
				append_raw_from(buf, q, c, neg);
				appendStringInfoString(buf, q->dist_all ? " GROUP BY 1, 2, 3" : " GROUP BY 1, 2");
			}
			else if (dim == CAT_DIM_CUBE || dim == CAT_DIM_REFCUBE || dim == CAT_DIM_DEVCUBE)
			{
				appendStringInfo(buf, " AS stats FROM %s e WHERE ", qtable(q, cube_table(dim, level)));
				append_ranges(buf, "e.bucket", COVER_PARAM(level, neg), COVER_PARAM(level, neg) + 1, c->n[level][neg]);
				append_where(buf, q);
				appendStringInfoString(buf, " AND ");
				append_counted(buf, q, "e.stats");
				appendStringInfoString(buf, serial(q));
			}
			else
			{
				appendStringInfo(buf, " AS stats FROM %s r WHERE r.dim = %d AND ", qtable(q, level_tables[level]), dim);
				append_ranges(buf, "r.bucket", COVER_PARAM(level, neg), COVER_PARAM(level, neg) + 1, c->n[level][neg]);
				appendStringInfoString(buf, rw.data);
				appendStringInfoString(buf, serial(q));
			}
		}
	if (parts == 0)
		appendStringInfo(buf, "SELECT %sNULL::timestamptz AS t, NULL::text AS v, NULL::double precision%s AS stats WHERE false",
						 q->dist_all ? "NULL::text AS p, " : "", k == 0 ? "[]" : "");
}

/*
 * The rows (t, v, stats) of append_stats_rows, to be merged by the caller.
 * Over every project on Citus, when the metric merges whole statistics
 * arrays (event_stats_merge: an internal state, which Citus cannot split
 * into per-shard partials), each project's rows of a value (and bucket,
 * with by_bucket: time_bucket($17, t, $18), which a bucket start keeps) are
 * merged first on the shard that holds them (grouped by project_id, the
 * statement runs whole there): the coordinator merges one array per project
 * and value instead of every piece's rows. A count metric's sum() Citus
 * splits itself.
 */
static void
append_stats_source(StringInfo buf, const QuerySpec *q, const Cover *c, int dim, const char *raw_dim, bool by_bucket)
{
	if (!q->dist_all || count_element(q) != 0)
	{
		append_stats_rows(buf, q, c, dim, raw_dim, by_bucket);
		return;
	}
	appendStringInfoString(buf, "SELECT ");
	if (by_bucket)
		appendStringInfo(buf, "%s.time_bucket($%d, y.t, $%d) AS t", q->schema, P_BUCKET, P_TIME_ZONE);
	else
		appendStringInfoString(buf, "NULL::timestamptz AS t");
	appendStringInfo(buf, ", y.v AS v, %s.event_stats_merge(y.stats) AS stats FROM (", q->schema);
	append_stats_rows(buf, q, c, dim, raw_dim, by_bucket);
	appendStringInfoString(buf, by_bucket ? ") y GROUP BY y.p, 1, 2" : ") y GROUP BY y.p, 2");
}

/* the metric of the rows x(t, v, stats), merged */
static void
append_merged_metric(StringInfo buf, const QuerySpec *q)
{
	if (count_element(q) == 0)
		appendStringInfo(buf, "%s.stats_metric(%s.event_stats_merge(x.stats), $%d, $%d, $%d)",
						 q->schema, q->schema, P_SM_METRIC, P_SM_AGGREGATION, P_VIEW_DURATION);
	else
		appendStringInfoString(buf, "coalesce(sum(x.stats), 0)");
}

/* the condition on a group of them: with events the metric counts */
static void
append_merged_having(StringInfo buf, const QuerySpec *q)
{
	if (count_element(q) == 0)
	{
		char	   *merged = psprintf("(%s.event_stats_merge(x.stats))", q->schema);

		append_counted(buf, q, merged);
	}
	else
		appendStringInfoString(buf, "sum(x.stats) > 0");
}

/* ------------------------------------------------------------------------
 * Rollups: the dimension, the cover
 * ------------------------------------------------------------------------
 */

/* the one-dimension rollup that can answer with these filters and breakdown, or -1 */
static int
rollup_dim1(const QuerySpec *q, int breakdown)
{
	bool		media_keys = q->filter[CAT_DIM_MEDIA] || q->tag != NULL;
	bool		media_type = q->filter[CAT_DIM_MEDIA_TYPE];
	int			other_dim = -1;
	int			n_other = 0;
	int			d;

	if (q->kind != QK_STATS || !analytics_use_rollups)
		return -1;
	for (d = CAT_DIM_MEDIA_TYPE + 1; d < CAT_NDIMS; d++)
		if (q->filter[d])
		{
			n_other++;
			if (other_dim < 0)
				other_dim = d;
		}
	if (breakdown < 0)
	{
		if (n_other == 0 && !media_keys && !media_type)
			return CAT_DIM_PROJECT;
		if (n_other == 0 && media_keys)
			return CAT_DIM_MEDIA;
		if (n_other == 0)
			return CAT_DIM_MEDIA_TYPE;
		if (n_other == 1 && !media_keys && !media_type)
			return other_dim;
		return -1;
	}
	if (breakdown == CAT_DIM_MEDIA)
		return n_other == 0 ? CAT_DIM_MEDIA : -1;
	if (breakdown == CAT_DIM_MEDIA_TYPE)
		return n_other == 0 && !media_keys ? CAT_DIM_MEDIA_TYPE : -1;
	if (media_keys || media_type || n_other > 1 || (n_other == 1 && other_dim != breakdown))
		return -1;
	return breakdown;
}

/* is dimension d a column of cube (CAT_DIM_CUBE, _REFCUBE, _DEVCUBE)? */
static bool
cube_has(int cube, int d)
{
	if (cube == CAT_DIM_DEVCUBE)
		return catalog_dims[d].devcube;
	return catalog_dims[d].cube || (cube == CAT_DIM_REFCUBE && d == CAT_DIM_REFERRER);
}

/*
 * Can cube (CAT_DIM_CUBE, _REFCUBE, _DEVCUBE) answer: a stats metric whose
 * filters and breakdown (-1: none) all are its columns?
 */
static bool
cube_applies(const QuerySpec *q, int breakdown, int cube)
{
	int			d;

	if (q->kind != QK_STATS || !analytics_use_rollups || q->tag != NULL)
		return false;
	if (breakdown >= 0 && !cube_has(cube, breakdown))
		return false;
	for (d = 1; d < CAT_NDIMS; d++)
		if (q->filter[d] && !cube_has(cube, d))
			return false;
	return true;
}

/*
 * The rollup dimension that can answer with these filters and breakdown;
 * else the smallest cube that can: CAT_DIM_DEVCUBE (no geography), then
 * CAT_DIM_CUBE, then CAT_DIM_REFCUBE; else -1 (raw events).
 */
static int
rollup_dim(const QuerySpec *q, int breakdown)
{
	int			dim = rollup_dim1(q, breakdown);

	if (dim < 0 && cube_applies(q, breakdown, CAT_DIM_DEVCUBE))
		return CAT_DIM_DEVCUBE;
	if (dim < 0 && cube_applies(q, breakdown, CAT_DIM_CUBE))
		return CAT_DIM_CUBE;
	if (dim < 0 && cube_applies(q, breakdown, CAT_DIM_REFCUBE))
		return CAT_DIM_REFCUBE;
	return dim;
}

/*
 * Can the viewer ids (rollup_viewers_hour, _day) answer: unique viewers
 * whose filters and breakdown (-1: none) all are columns of the cube?
 */
static bool
viewers_apply(const QuerySpec *q, int breakdown)
{
	int			d;

	if (q->kind != QK_VIEW_UNIQUE || !analytics_use_rollups || q->tag != NULL)
		return false;
	if (breakdown >= 0 && !catalog_dims[breakdown].cube)
		return false;
	for (d = 1; d < CAT_NDIMS; d++)
		if (q->filter[d] && !catalog_dims[d].cube)
			return false;
	return true;
}

/*
 * The rows (v, ids) of unique viewers over a cover of added pieces only
 * (days, hours, raw events: disjoint): per piece and dimension value
 * (raw_dim: its column, over events or the viewer rows "e"; NULL for none)
 * the viewer ids, an array per row of rollup_viewers_hour / _day (the
 * column of the view duration, NULL where it had no view event), the
 * array_agg of the raw events' ids (NULLs included: the group shows, as
 * count(DISTINCT viewer_id) shows it, and _viewers_count skips them).
 * by_bucket: a column t first, the bucket of a derived row, or
 * time_bucket($17, emitted_at, $18) of raw events.
 */
static void
append_viewer_rows(StringInfo buf, const QuerySpec *q, const Cover *c, const char *raw_dim, bool by_bucket)
{
	const char *S = q->schema;
	const char *v = raw_dim ? raw_dim : "NULL::text";
	int			parts = 0;
	int			level;

	for (level = CL_RAW; level < CL_NLEVELS; level++)
	{
		if (c->n[level][0] == 0)
			continue;
		if (c->n[level][1] != 0 || (level != CL_RAW && viewers_tables[level] == NULL))
			elog(ERROR, "analytics: a cover of unique viewers with pieces it cannot read");
		if (parts++ > 0)
			appendStringInfoString(buf, " UNION ALL ");
		appendStringInfo(buf, "SELECT %s", pcol(q, "e"));
		if (by_bucket && level == CL_RAW)
			appendStringInfo(buf, "%s.time_bucket($%d, e.emitted_at, $%d) AS t, ", S, P_BUCKET, P_TIME_ZONE);
		else if (by_bucket)
			appendStringInfoString(buf, "e.bucket AS t, ");
		if (level == CL_RAW)
		{
			appendStringInfo(buf, "%s AS v, pg_catalog.array_agg(e.viewer_id) AS ids", v);
			append_raw_from(buf, q, c, 0);
			if (q->dist_all)
				appendStringInfoString(buf, by_bucket ? " GROUP BY 1, 2, 3" : " GROUP BY 1, 2");
			else
				appendStringInfoString(buf, by_bucket ? " GROUP BY 1, 2" : " GROUP BY 1");
		}
		else
		{
			/* the column of the view duration: viewers_3s, viewers_5s, ... */
			appendStringInfo(buf, "%s AS v, e.viewers_%s AS ids FROM %s e WHERE ", v,
							 catalog_view_durations[q->threshold], qtable(q, viewers_tables[level]));
			append_ranges(buf, "e.bucket", COVER_PARAM(level, 0), COVER_PARAM(level, 0) + 1, c->n[level][0]);
			appendStringInfo(buf, " AND e.viewers_%s IS NOT NULL", catalog_view_durations[q->threshold]);
			append_where(buf, q);
			appendStringInfoString(buf, serial(q));
		}
	}
	if (parts == 0)
		appendStringInfo(buf, "SELECT %s%sNULL::text AS v, NULL::bigint[] AS ids WHERE false",
						 q->dist_all ? "NULL::text AS p, " : "", by_bucket ? "NULL::timestamptz AS t, " : "");
}

/*
 * The rows (t, v, ids) of append_viewer_rows, to be counted by the caller
 * with _viewers_count. Over every project on Citus, the ids of each project
 * and value (and bucket, with by_bucket: time_bucket($17, t, $18), which a
 * bucket start keeps) are first united on the shard that holds them (the
 * statement grouped by project_id runs whole there): the coordinator, where
 * _viewers_count runs (Citus cannot split an aggregate with an internal
 * state), gets one array per project and value instead of every row.
 */
static void
append_viewer_source(StringInfo buf, const QuerySpec *q, const Cover *c, const char *raw_dim, bool by_bucket)
{
	if (!q->dist_all)
	{
		append_viewer_rows(buf, q, c, raw_dim, by_bucket);
		return;
	}
	appendStringInfoString(buf, "SELECT ");
	if (by_bucket)
		appendStringInfo(buf, "%s.time_bucket($%d, y.t, $%d) AS t, ", q->schema, P_BUCKET, P_TIME_ZONE);
	appendStringInfo(buf, "y.v AS v, %s._viewers_union(y.ids) AS ids FROM (", q->schema);
	append_viewer_rows(buf, q, c, raw_dim, by_bucket);
	appendStringInfoString(buf, by_bucket ? ") y GROUP BY y.p, 1, 2" : ") y GROUP BY y.p, 1");
}

/*
 * The cover of [from, to) for the rollups as they are now: the pending
 * hours of every block that may be read, and where refreshed rows exist:
 * for one project, to the 5 minutes (its rollup_5min rows); else to the hour.
 */
static void
plan_cover(const QuerySpec *q, int max_level, bool fine, int dim, bool positive, const int64_t *bounds, int nbounds,
		   Cover *c)
{
	static SPIPlanPtr plans[2];
	static SPIPlanPtr dplans[3];
	int			one = q->has_projects ? 1 : 0;
	bool		dist = analytics_citus_distributed();
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	Oid			types[3] = {TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID};
	CoverInput	in;
	CoverPiece *pieces;
	int			npieces;
	bool		isnull;
	int			rc;
	int			i;

	/*
	 * Distributed (Citus, README "Scaling out"). Citus sends a statement on
	 * one project's rows, functions and all, to the worker that holds them,
	 * where _pending_hours cannot read the marks of the other projects (a
	 * distributed query from a shard's). One project: its own marks only
	 * (those of other projects only made more hours read raw), read with its
	 * rows in one router statement on its worker, together with
	 * _rollup_own_pending() run there: the hours this transaction wrote
	 * (through the connection Citus keeps for the project's shards, or in
	 * this backend when the call was delegated to the worker). Every project:
	 * the pending hours apart (below).
	 */
	if (dist && dplans[one] == NULL)
	{
		char	   *sql = one
		? psprintf("SELECT min(r.bucket), max(r.bucket) + interval '5 minutes',"
				   " pg_catalog.array_cat((SELECT pg_catalog.array_agg(x.hour) FROM %s.rollup_pending x"
				   "                        WHERE x.project_id = $3 AND x.hour >= $1 - interval '28 days'"
				   "                          AND x.hour <= $2 + interval '28 days'),"
				   "                       %s._rollup_own_pending())"
				   " FROM %s.rollup_5min r WHERE r.project_id = $3 AND r.dim = %d",
				   q->schema, q->schema, q->schema, CAT_DIM_PROJECT)
		: psprintf("SELECT min(r.bucket), max(r.bucket) + interval '1 hour', NULL::timestamptz[]"
				   " FROM %s.rollup_hour r WHERE r.dim = %d",
				   q->schema, CAT_DIM_PROJECT);
		SPIPlanPtr	p = SPI_prepare(sql, one ? 3 : 2, types);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "analytics: could not prepare the cover query: %s", SPI_result_code_string(SPI_result));
		dplans[one] = p;
	}
	if (dist && !one && dplans[2] == NULL)
	{
		/*
		 * every project's marks: one statement over every shard of
		 * rollup_pending (each shard's hours, concatenated by Citus; the
		 * cover sorts them), and the hours this transaction wrote (here:
		 * the coordinator's, below). _pending_hours, whose UNION of both
		 * Citus would run as four statements and intermediate results, is
		 * for one node. Without parameters, the marks of every hour (those
		 * around the period are kept below): Citus plans a statement over
		 * every shard for its parameters at each run, one without them once
		 * (its plan kept with the statement's). The shards are read whole
		 * either way (rollup_pending has no index: its rows live between
		 * two runs of maintenance).
		 */
		SPIPlanPtr	p = SPI_prepare(psprintf("SELECT pg_catalog.array_agg(x.hour) FROM %s.rollup_pending x", q->schema),
									0, NULL);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "analytics: could not prepare the cover query: %s", SPI_result_code_string(SPI_result));
		dplans[2] = p;
	}
	if (!dist && plans[one] == NULL)
	{
		/*
		 * the pending hours of every block that may be read: 28 days around;
		 * the marks read here, those of this transaction added below (as
		 * _pending_hours gives them, without its call)
		 */
		char	   *sql = one
		? psprintf("SELECT min(r.bucket), max(r.bucket) + interval '5 minutes',"
				   " (SELECT pg_catalog.array_agg(x.hour) FROM %s.rollup_pending x"
				   "   WHERE x.hour >= $1 - interval '28 days' AND x.hour <= $2 + interval '28 days'),"
				   " $1 - interval '28 days', $2 + interval '28 days'"
				   " FROM %s.rollup_5min r WHERE r.project_id = $3 AND r.dim = %d",
				   q->schema, q->schema, CAT_DIM_PROJECT)
		: psprintf("SELECT min(r.bucket), max(r.bucket) + interval '1 hour',"
				   " (SELECT pg_catalog.array_agg(x.hour) FROM %s.rollup_pending x"
				   "   WHERE x.hour >= $1 - interval '28 days' AND x.hour <= $2 + interval '28 days'),"
				   " $1 - interval '28 days', $2 + interval '28 days'"
				   " FROM %s.rollup_hour r WHERE r.dim = %d",
				   q->schema, q->schema, CAT_DIM_PROJECT);
		SPIPlanPtr	p = SPI_prepare(sql, one ? 3 : 2, types);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "analytics: could not prepare the cover query: %s", SPI_result_code_string(SPI_result));
		plans[one] = p;
	}
	values[0] = TimestampTzGetDatum(q->from);
	values[1] = TimestampTzGetDatum(q->to);
	if (one)
	{
		values[2] = q->project ? CStringGetTextDatum(q->project) : (Datum) 0;
		nulls[2] = q->project == NULL;
	}
	if (q->shards != NIL)
	{
		/*
		 * Citus, the project's shards on this node: the statement of one
		 * project on a distributed layout, on the shards (kept, per shard)
		 */
		rc = SPI_OK_SELECT;
		analytics_kept_run(psprintf("SELECT min(r.bucket), max(r.bucket) + interval '5 minutes',"
									" pg_catalog.array_cat((SELECT pg_catalog.array_agg(x.hour) FROM %s x"
									"                        WHERE x.project_id = $3 AND x.hour >= $1 - interval '28 days'"
									"                          AND x.hour <= $2 + interval '28 days'),"
									"                       %s._rollup_own_pending())"
									" FROM %s r WHERE r.project_id = $3 AND r.dim = %d",
									qtable(q, "rollup_pending"), q->schema, qtable(q, "rollup_5min"), CAT_DIM_PROJECT),
						   3, types, values, nulls, true, NULL);
	}
	else
	{
		char		cnulls[3] = {nulls[0] ? 'n' : ' ', nulls[1] ? 'n' : ' ', nulls[2] ? 'n' : ' '};

		rc = SPI_execute_plan(dist ? dplans[one] : plans[one], values, cnulls, true, 1);
	}
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "analytics: the cover query failed: %s", SPI_result_code_string(rc));

	memset(&in, 0, sizeof(in));
	in.from = q->from;
	in.to = q->to;
	in.max_level = max_level;
	in.fine = fine;
	in.positive = positive;
	in.bounds = bounds;
	in.nbounds = nbounds;
	cover_default_weights(dim, in.weight);
	if (dist && !one)
	{
		/*
		 * every project on Citus: where refreshed rows exist (dplans[0]),
		 * then the marks of every shard (dplans[2]) and this transaction's
		 * hours, in the bounds the statement read
		 */
		Interval	w = {0, 28, 0};
		Datum		lo = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		bool		lo_null = isnull;
		Datum		hi = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		bool		hi_null = isnull;
		Datum		pend;
		TimestampTz plo = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval, TimestampTzGetDatum(q->from),
																  IntervalPGetDatum(&w)));
		TimestampTz phi = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(q->to),
																  IntervalPGetDatum(&w)));

		in.has_data = !lo_null && !hi_null;
		if (in.has_data)
		{
			in.data_lo = DatumGetTimestampTz(lo);
			in.data_hi = DatumGetTimestampTz(hi);
		}
		rc = SPI_execute_plan(dplans[2], NULL, NULL, true, 1);
		if (rc != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "analytics: the cover query failed: %s", SPI_result_code_string(rc));
		pend = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		in.pending = analytics_pending_hours(pend, isnull, plo, phi, &in.npending);
	}
	else
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Datum		lo = SPI_getbinval(tup, desc, 1, &isnull);
		bool		lo_null = isnull;
		Datum		hi = SPI_getbinval(tup, desc, 2, &isnull);
		bool		hi_null = isnull;
		Datum		pend = SPI_getbinval(tup, desc, 3, &isnull);

		in.has_data = !lo_null && !hi_null;
		if (in.has_data)
		{
			in.data_lo = DatumGetTimestampTz(lo);
			in.data_hi = DatumGetTimestampTz(hi);
		}
		if (!dist && q->shards == NIL)
		{
			/* the marks read, and this transaction's hours, in the bounds */
			bool		bnull;
			TimestampTz plo = DatumGetTimestampTz(SPI_getbinval(tup, desc, 4, &bnull));
			TimestampTz phi = DatumGetTimestampTz(SPI_getbinval(tup, desc, 5, &bnull));

			in.pending = analytics_pending_hours(pend, isnull, plo, phi, &in.npending);
		}
		else if (!isnull)
		{
			Datum	   *elems;
			bool	   *enulls;
			int			n;
			int64_t    *ph;

			deconstruct_array(DatumGetArrayTypeP(pend), TIMESTAMPTZOID, sizeof(TimestampTz), FLOAT8PASSBYVAL,
							  TYPALIGN_DOUBLE, &elems, &enulls, &n);
			ph = palloc(sizeof(int64_t) * (n > 0 ? n : 1));
			for (i = 0; i < n; i++)
				if (!enulls[i])
					ph[in.npending++] = DatumGetTimestampTz(elems[i]);
			in.pending = ph;
		}
	}
	rc = cover_plan(&in, &pieces, &npieces);
	if (rc == -1)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (rc != 0)
		elog(ERROR, "analytics: overlapping pieces in the cover");
	memset(c, 0, sizeof(Cover));
	PG_TRY();
	{
		int			level;

		for (level = CL_RAW; level < CL_NLEVELS; level++)
		{
			c->arrays[4 * level] = analytics_cover_ts_array(pieces, npieces, level, 1, false);
			c->arrays[4 * level + 1] = analytics_cover_ts_array(pieces, npieces, level, 1, true);
			c->arrays[4 * level + 2] = analytics_cover_ts_array(pieces, npieces, level, -1, false);
			c->arrays[4 * level + 3] = analytics_cover_ts_array(pieces, npieces, level, -1, true);
		}
		for (i = 0; i < npieces; i++)
		{
			int			neg = pieces[i].sign < 0;

			if (pieces[i].level == CL_RAW)
			{
				if (c->n[CL_RAW][neg] < P_RAW_RANGES)
				{
					c->raw[neg][c->n[CL_RAW][neg]][0] = pieces[i].lo;
					c->raw[neg][c->n[CL_RAW][neg]][1] = pieces[i].hi;
				}
				c->raw_minutes += (double) (pieces[i].hi - pieces[i].lo) / (double) USECS_PER_MINUTE;
			}
			c->n[pieces[i].level][neg]++;
		}
	}
	PG_FINALLY();
	{
		free(pieces);
	}
	PG_END_TRY();
}

/* ------------------------------------------------------------------------
 * Running a statement
 * ------------------------------------------------------------------------
 */

/* the parameters $1 .. $22 (and the cover's $23 .. $46) */
static int
query_params(const QuerySpec *q, const Cover *c, Datum *values, bool *nulls, Oid *types, double empty_value,
			 bool empty_null)
{
	int			n = c ? P_NALL : P_NBASE;
	int			d;
	int			i;

	for (i = 0; i < n; i++)
	{
		values[i] = (Datum) 0;
		nulls[i] = true;
		types[i] = TEXTOID;
	}
#define SET(p, type, value) (types[(p) - 1] = (type), values[(p) - 1] = (value), nulls[(p) - 1] = false)
	types[P_FROM - 1] = types[P_TO - 1] = TIMESTAMPTZOID;
	if (q->has_period)
	{
		SET(P_FROM, TIMESTAMPTZOID, TimestampTzGetDatum(q->from));
		SET(P_TO, TIMESTAMPTZOID, TimestampTzGetDatum(q->to));
	}
	types[P_PROJECTS - 1] = TEXTARRAYOID;
	if (q->has_projects)
	{
		Datum		e = q->project ? CStringGetTextDatum(q->project) : (Datum) 0;
		bool		enull = q->project == NULL;
		int			dims[1] = {1};
		int			lbs[1] = {1};

		SET(P_PROJECTS, TEXTARRAYOID,
			PointerGetDatum(construct_md_array(&e, &enull, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT)));
	}
	for (d = 1; d < CAT_NDIMS; d++)
	{
		types[P_DIM0 + d - 1] = d == CAT_DIM_MEDIA_TYPE ? TEXTOID : TEXTARRAYOID;
		if (q->filter[d])
			SET(P_DIM0 + d, types[P_DIM0 + d - 1], q->filter_value[d]);
	}
	/* typed filters of the enum columns: unused parameters stay text */
	if (q->filter[CAT_DIM_MEDIA_TYPE])
		SET(P_MEDIA_TYPE_ENUM, q->filter_enum_type[CAT_DIM_MEDIA_TYPE], q->filter_enum[CAT_DIM_MEDIA_TYPE]);
	if (q->filter[CAT_DIM_CONTINENT])
		SET(P_CONTINENT_ENUM, q->filter_enum_type[CAT_DIM_CONTINENT], q->filter_enum[CAT_DIM_CONTINENT]);
	if (q->filter[CAT_DIM_DEVICE_TYPE])
		SET(P_DEVICE_TYPE_ENUM, q->filter_enum_type[CAT_DIM_DEVICE_TYPE], q->filter_enum[CAT_DIM_DEVICE_TYPE]);
	if (q->tag)
		SET(P_TAG, TEXTOID, CStringGetTextDatum(q->tag));
	types[P_THRESHOLD - 1] = FLOAT8OID;
	if (q->threshold >= 0)
		SET(P_THRESHOLD, FLOAT8OID, Float8GetDatum(catalog_view_thresholds[q->threshold]));
	if (q->sm_metric)
		SET(P_SM_METRIC, TEXTOID, CStringGetTextDatum(q->sm_metric));
	if (q->sm_aggregation)
		SET(P_SM_AGGREGATION, TEXTOID, CStringGetTextDatum(q->sm_aggregation));
	if (q->view_duration)
		SET(P_VIEW_DURATION, TEXTOID, CStringGetTextDatum(q->view_duration));
	if (q->bucket)
		SET(P_BUCKET, TEXTOID, CStringGetTextDatum(q->bucket));
	if (q->time_zone)
		SET(P_TIME_ZONE, TEXTOID, CStringGetTextDatum(q->time_zone));
	types[P_EMPTY_VALUE - 1] = FLOAT8OID;
	if (!empty_null)
		SET(P_EMPTY_VALUE, FLOAT8OID, Float8GetDatum(empty_value));
	if (c)
	{
		int			neg;

		for (i = 0; i < 4 * CL_NLEVELS; i++)
			SET(P_COVER + i, TIMESTAMPTZARRAYOID, c->arrays[i]);
		for (neg = 0; neg < 2; neg++)
			for (i = 0; i < 2 * P_RAW_RANGES; i++)
			{
				int			p = P_RAW + 2 * P_RAW_RANGES * neg + i;

				types[p - 1] = TIMESTAMPTZOID;
				if (i / 2 < c->n[CL_RAW][neg])
					SET(p, TIMESTAMPTZOID, TimestampTzGetDatum(c->raw[neg][i / 2][i % 2]));
			}
		if (q->has_projects && q->project)
			SET(P_PROJECT, TEXTOID, CStringGetTextDatum(q->project));
	}
#undef SET
	return n;
}

/*
 * Planning a statement about one project (run() below): of a table with an
 * index that starts with project_id (the rollups, the media catalogue),
 * only such indexes are considered. A generic plan cannot tell the project
 * index from (dim, bucket), which serves the questions over every project:
 * under the tenant policy (an index condition project_id = ANY of an
 * array, README "Tenancy") it even costs the project index as ten index
 * descents, and read a piece through (dim, bucket), the rows of every
 * project. Access paths only: the answer is the same.
 */
static get_relation_info_hook_type prev_get_relation_info = NULL;
static bool one_project_planning = false;
static bool one_value_planning = false;	/* and its rollup rows filtered on
										 * one value: r.value = $n */

static void
one_project_relation_info(PlannerInfo *root, Oid relid, bool inhparent, RelOptInfo *rel)
{
	if (prev_get_relation_info)
		prev_get_relation_info(root, relid, inhparent, rel);
	if (one_project_planning && rel->indexlist != NIL)
	{
		AttrNumber	att = get_attnum(relid, "project_id");
		AttrNumber	dim = InvalidAttrNumber;
		AttrNumber	value = InvalidAttrNumber;
		List	   *led = NIL;
		List	   *by_value = NIL;
		ListCell   *lc;

		if (att == InvalidAttrNumber)
			return;
		if (one_value_planning)
		{
			dim = get_attnum(relid, "dim");
			value = get_attnum(relid, "value");
		}
		foreach(lc, rel->indexlist)
		{
			IndexOptInfo *ix = (IndexOptInfo *) lfirst(lc);

			if (ix->ncolumns > 0 && ix->indexkeys[0] == att)
				led = lappend(led, ix);

			/*
			 * one value: (project_id, dim, value, ...), where the tenant
			 * policy made (project_id, dim, bucket) look as cheap (both
			 * costed as ten lookups of one row each)
			 */
			if (value != InvalidAttrNumber && dim != InvalidAttrNumber && ix->ncolumns > 2 &&
				ix->indexkeys[0] == att && ix->indexkeys[1] == dim && ix->indexkeys[2] == value)
				by_value = lappend(by_value, ix);
		}
		if (by_value != NIL)
			rel->indexlist = by_value;
		else if (led != NIL)
			rel->indexlist = led;
	}
}

void
analytics_query_init(void)
{
	prev_get_relation_info = get_relation_info_hook;
	get_relation_info_hook = one_project_relation_info;
}

/*
 * May a question about one project run through one kept plan: when it
 * reads few raw minutes (the ends of a period), or a few ranges of them,
 * given one by one (append_raw_ranges), up to three hours (the ends of a
 * period and a pending hour: a plan made for a run's values would cost
 * more than the run). Else, with many raw rows, a plan made for the
 * actual ranges pays off.
 */
static bool
kept_plan_pays(const Cover *c)
{
	if (c->raw_minutes <= 10)
		return true;
	return c->n[CL_RAW][0] <= P_RAW_RANGES && c->n[CL_RAW][1] <= P_RAW_RANGES && c->raw_minutes <= 180;
}

/* sql, read-only, its n parameters bound as constants, its rows sent to dest */
static void
run_to_dest(const char *sql, int n, const Oid *types, const Datum *values, const bool *nulls, DestReceiver *dest)
{
	ParamListInfo params = makeParamList(n);
	SPIExecuteOptions options;
	int			rc;
	int			i;

	for (i = 0; i < n; i++)
	{
		params->params[i].value = values[i];
		params->params[i].isnull = nulls != NULL && nulls[i];
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = types[i];
	}
	memset(&options, 0, sizeof(options));
	options.params = params;
	options.read_only = true;
	options.dest = dest;
	rc = SPI_execute_extended(sql, &options);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "analytics: query failed: %s", SPI_result_code_string(rc));
}

/*
 * Runs sql, its rows sent to dest (NULL: SPI_tuptable). With a cover (a
 * rollup statement): through its kept statement, a generic plan when the
 * question is about one project and reads few raw minutes, with the
 * planner settings of a query over rollup pieces. Else planned for its
 * values (as EXECUTE ... USING).
 */
static void
run(const QuerySpec *q, const char *sql, const Cover *c, DestReceiver *dest)
{
	Datum		values[P_NALL];
	bool		nulls[P_NALL];
	Oid			types[P_NALL];
	double		empty = 0;
	bool		empty_null = q->kind == QK_STATS && q->md->empty_null;
	int			n = query_params(q, c, values, nulls, types, empty, empty_null);

	if (c)
	{
		/*
		 * No parallel workers (thousands of rows at most: they would only add
		 * their start-up and the exchange of partial states), and index scans
		 * (each piece is a small part of its table). Undone at the end of the
		 * call, or by the abort of its (sub)transaction.
		 */
		int			nest = NewGUCNestLevel();
		GucContext	ctx = superuser() ? PGC_SUSET : PGC_USERSET;
		bool		one;
		bool		was = one_project_planning;
		bool		was_value = one_value_planning;

		(void) set_config_option("max_parallel_workers_per_gather", "0", ctx, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
		(void) set_config_option("enable_seqscan", "off", ctx, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);

		/*
		 * distributed (Citus): never the generic plan, where Citus cannot
		 * tell the one worker of project_id = $3[1] (custom plans fold it);
		 * but on the shards of the project (q->shards), as on one node
		 */
		one = q->has_projects && (q->shards != NIL || !analytics_citus_distributed());
		one_project_planning = one;
		/* rollup rows of one value (append_rollup_where) */
		one_value_planning = one && strstr(sql, " AND r.value = $") != NULL;
		PG_TRY();
		{
			analytics_kept_run(sql, n, types, values, nulls, one && kept_plan_pays(c), dest);
		}
		PG_FINALLY();
		{
			one_project_planning = was;
			one_value_planning = was_value;
		}
		PG_END_TRY();
		AtEOXact_GUC(true, nest);
	}
	else
		run_to_dest(sql, n, types, values, nulls, dest);
}

/* the first column of the one row of sql (NULL: *isnull) */
static Datum
run_value(const QuerySpec *q, const char *sql, const Cover *c, bool *isnull)
{
	run(q, sql, c, NULL);
	if (SPI_processed == 0)
	{
		*isnull = true;
		return (Datum) 0;
	}
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
}

/* one value of a small statement of its own, with the given parameters */
static Datum
run_small(const char *sql, int n, Oid *types, Datum *values, bool *isnull)
{
	char		nulls[8];
	int			rc;
	int			i;

	for (i = 0; i < n; i++)
		nulls[i] = ' ';
	rc = SPI_execute_with_args(sql, n, types, values, nulls, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "analytics: query failed: %s", SPI_result_code_string(rc));
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
}

/* the rows of a set-returning function's result: its tuplestore */
static DestReceiver *
result_dest(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DestReceiver *dest;

	InitMaterializedSRF(fcinfo, 0);
	dest = CreateDestReceiver(DestTuplestore);
	SetTuplestoreDestReceiverParams(dest, rsinfo->setResult, rsinfo->econtext->ecxt_per_query_memory, false,
									rsinfo->setDesc,
									gettext_noop("query returns columns that do not match the result of the function"));
	return dest;
}

static void
init_spec(QuerySpec *q, FunctionCallInfo fcinfo, const char *fname)
{
	memset(q, 0, sizeof(QuerySpec));
	q->fname = fname;
	q->fn_oid = fcinfo->flinfo->fn_oid;
	q->schema = quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));
}

#define ARG_TEXT(n) (PG_ARGISNULL(n) ? NULL : PG_GETARG_TEXT_PP(n))
#define ARG_CSTRING(n) (PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n)))

/* may the per-minute ccv rows answer: one project, one media or all, no other filter */
static bool
ccv_rollups_apply(const QuerySpec *q)
{
	int			d;

	if (!q->has_projects || q->project == NULL || !analytics_use_rollups)
		return false;
	if (q->filter[CAT_DIM_MEDIA] && ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(q->filter_value[CAT_DIM_MEDIA])),
												   ARR_DIMS(DatumGetArrayTypeP(q->filter_value[CAT_DIM_MEDIA]))) != 1)
		return false;
	for (d = CAT_DIM_MEDIA_TYPE; d < CAT_NDIMS; d++)
		if (q->filter[d])
			return false;
	return q->tag == NULL;
}

/* the one media id of a ccv question, or NULL */
static char *
ccv_media(const QuerySpec *q)
{
	Datum	   *elems;
	bool	   *enulls;
	int			n;

	if (!q->filter[CAT_DIM_MEDIA])
		return NULL;
	deconstruct_array(DatumGetArrayTypeP(q->filter_value[CAT_DIM_MEDIA]), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &enulls, &n);
	return n > 0 && !enulls[0] ? TextDatumGetCString(elems[0]) : NULL;
}

/* ------------------------------------------------------------------------
 * analytics.metric
 * ------------------------------------------------------------------------
 */
static Datum
metric_answer(QuerySpec *q, FunctionCallInfo fcinfo, bool *isnull)
{
	StringInfoData sql;
	const char *S = q->schema;
	Cover		cover;
	Cover	   *c = NULL;
	Datum		result;
	int			dim;

	initStringInfo(&sql);
	if (q->kind == QK_TOTAL)
	{
		appendStringInfo(&sql, "SELECT ((SELECT coalesce(sum(e.plays), 0) FROM %s e WHERE true", qtable(q, "play_totals"));
		append_where(&sql, q);
		appendStringInfo(&sql, ") + (SELECT count(*) FROM %s e WHERE e.event_type = 'play'", qtable(q, "events"));
		append_where(&sql, q);
		appendStringInfoString(&sql, "))::double precision");
		return run_value(q, sql.data, NULL, isnull);
	}
	if (q->kind == QK_CCV_LIVE)
	{
		q->to = GetCurrentTransactionStartTimestamp();
		q->from = ts_minus(q->to, "20 seconds");
		q->has_period = true;
	}
	else
		resolve_period(q, PG_ARGISNULL(2), PG_ARGISNULL(2) ? 0 : PG_GETARG_TIMESTAMPTZ(2),
					   PG_ARGISNULL(3), PG_ARGISNULL(3) ? 0 : PG_GETARG_TIMESTAMPTZ(3));
	if ((q->kind == QK_CCV_PEAK || q->kind == QK_CCV_AVERAGE) && ccv_rollups_apply(q))
	{
		/* one project, one media or all: the per-minute rows (ccvrollup.c) */
		double		v[2];

		analytics_ccv_from_rollups(S, q->project, ccv_media(q), q->unique_viewers, q->from, q->to, v);
		*isnull = false;
		return Float8GetDatum(v[q->kind == QK_CCV_PEAK ? 0 : 1]);
	}
	dim = rollup_dim(q, -1);
	if (viewers_apply(q, -1))
	{
		/* the distinct ids of disjoint days, hours and raw events */
		plan_cover(q, CL_DAY, false, CAT_DIM_CUBE, true, NULL, 0, &cover);
		c = &cover;
		appendStringInfo(&sql, "SELECT %s._viewers_count(x.ids)::double precision FROM (", S);
		append_viewer_source(&sql, q, c, NULL, false);
		appendStringInfoString(&sql, ") x");
	}
	else if (dim >= 0)
	{
		plan_cover(q, CL_W4, dim == CAT_DIM_PROJECT, dim, false, NULL, 0, &cover);
		c = &cover;
		appendStringInfoString(&sql, "SELECT ");
		append_merged_metric(&sql, q);
		appendStringInfoString(&sql, " FROM (");
		append_stats_source(&sql, q, c, dim, NULL, false);
		appendStringInfoString(&sql, ") x");
	}
	else
	{
		appendStringInfoString(&sql, "SELECT ");
		append_value(&sql, q);
		appendStringInfo(&sql, " FROM %s e WHERE ", qtable(q, "events"));
		append_rows(&sql, q);
		append_where(&sql, q);
	}
	result = run_value(q, sql.data, c, isnull);
	if (*isnull && (q->kind == QK_CCV_PEAK || q->kind == QK_CCV_AVERAGE || q->kind == QK_CCV_LIVE))
	{
		*isnull = false;
		result = Float8GetDatum(0);
	}
	return result;
}

/*
 * metric(metric text, aggregation text, from_ts timestamptz, to_ts timestamptz,
 *		  filter_by jsonb, unique_viewers boolean, view_duration text,
 *		  project_id text) RETURNS double precision
 */
Datum
analytics_metric(PG_FUNCTION_ARGS)
{
	QuerySpec	q;
	Datum		result;
	bool		isnull = false;
	bool		owner;

	init_spec(&q, fcinfo, "analytics.metric()");
	query_resolve_metric(&q, QC_METRICS, ARG_TEXT(0), ARG_TEXT(1), !PG_ARGISNULL(5) && PG_GETARG_BOOL(5), ARG_TEXT(6));
	resolve_projects(&q, ARG_TEXT(7));
	resolve_filters(&q, PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4), q.kind == QK_TOTAL);

	SPI_connect();
	owner = analytics_call_begin_internal();
	PG_TRY();
	{
		result = metric_answer(&q, fcinfo, &isnull);
		analytics_call_end_internal(owner, q.fname);
	}
	PG_CATCH();
	{
		analytics_call_catch(owner, q.fname);
	}
	PG_END_TRY();
	/* float8 is passed by value: nothing to copy out of SPI's memory */
	SPI_finish();
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

/*
 * The rows of a set-returning query function (breakdown, timeseries): the
 * answer runs under SPI with the call bound armed (analytics.max_call_time,
 * callbound.c), its rows go to the function's tuplestore.
 */
typedef void (*RowsAnswer) (QuerySpec *q, FunctionCallInfo fcinfo, DestReceiver *dest);

static void
run_rows(QuerySpec *q, FunctionCallInfo fcinfo, RowsAnswer answer)
{
	DestReceiver *dest = result_dest(fcinfo);
	bool		owner;

	SPI_connect();
	owner = analytics_call_begin_internal();
	PG_TRY();
	{
		answer(q, fcinfo, dest);
		analytics_call_end_internal(owner, q->fname);
	}
	PG_CATCH();
	{
		analytics_call_catch(owner, q->fname);
	}
	PG_END_TRY();
	SPI_finish();
	dest->rDestroy(dest);
}

/* ------------------------------------------------------------------------
 * analytics.breakdown
 * ------------------------------------------------------------------------
 */

/* the order of a breakdown's rows (sort_by, sort_order) */
typedef struct GroupOrder
{
	bool		by_metric;		/* metricValue, else dimensionValue */
	bool		desc;
} GroupOrder;

/*
 * A group of a breakdown being sorted: its sort value (the count, negated
 * for a descending order) and its dimension value, with the value's first
 * 8 bytes as one number (big-endian, zero-padded): compared as it is, it
 * orders the values as their bytes do, and decides most comparisons.
 */
typedef struct GroupRow
{
	double		sort;
	uint64		prefix;
	const char *key;
	int			len;
	double		sum;
} GroupRow;

/* two dimension values as ORDER BY ... COLLATE "C" compares them */
static inline int
group_key_cmp(const GroupRow *a, const GroupRow *b)
{
	int			r;

	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	r = memcmp(a->key, b->key, Min(a->len, b->len));
	if (r != 0)
		return r;
	return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

/* by the sort value (never NaN: positive counts only), then by value */
static inline int
group_sort_cmp(const GroupRow *a, const GroupRow *b)
{
	if (a->sort != b->sort)
		return a->sort < b->sort ? -1 : 1;
	return group_key_cmp(a, b);
}

#define ST_SORT sort_groups_by_metric
#define ST_ELEMENT_TYPE GroupRow
#define ST_COMPARE(a, b) group_sort_cmp(a, b)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

#define ST_SORT sort_groups_by_value
#define ST_ELEMENT_TYPE GroupRow
#define ST_COMPARE(a, b) group_key_cmp(a, b)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* a group of a _value_sums result into the rows to sort (a GroupRows) */
typedef struct GroupRows
{
	GroupRow   *rows;
	int			n;
	int			max;
	int			maxlen;
	bool		desc;
} GroupRows;

static void
group_row_visit(void *arg, const char *key, uint32 len, float8 sum)
{
	GroupRows  *g = arg;
	GroupRow   *r;
	uint32		k;

	/* the HAVING sum(...) > 0 of a single node's statement */
	if (!(sum > 0))
		return;
	if (g->n >= g->max)
		elog(ERROR, "analytics: more groups than a breakdown's value announced");
	r = &g->rows[g->n++];
	r->sum = sum;
	r->sort = g->desc ? -sum : sum;
	r->key = key;
	r->len = (int) len;
	r->prefix = 0;
	for (k = 0; k < 8; k++)
		r->prefix = (r->prefix << 8) | (k < len ? (unsigned char) key[k] : 0);
	g->maxlen = Max(g->maxlen, (int) len);
}

/*
 * The rows of a breakdown of a count from the one value of
 * _value_sums_merge (every group with its count; NULL: none): those with a
 * positive count (the HAVING sum(...) > 0 of a single node's statement),
 * sorted as a single node's ORDER BY sorts them (metric_value DESC NULLS
 * LAST or ASC NULLS FIRST, then dimension_value COLLATE "C"; or
 * dimension_value COLLATE "C", DESC or not: the values are distinct), sent
 * to dest as (dimension_value, metric_value) of tupdesc.
 */
static void
send_value_sums(text *state, const GroupOrder *order, TupleDesc tupdesc, DestReceiver *dest)
{
	GroupRows	g;
	TupleTableSlot *slot;
	text	   *buf;
	int			i;

	memset(&g, 0, sizeof(g));
	g.desc = order->desc;
	if (state != NULL)
	{
		g.max = (int) analytics_value_sums_count(state);
		g.rows = palloc(sizeof(GroupRow) * (g.max + 1));
		analytics_value_sums_visit(state, group_row_visit, &g);
	}
	if (order->by_metric)
		sort_groups_by_metric(g.rows, g.n);
	else
		sort_groups_by_value(g.rows, g.n);

	slot = MakeSingleTupleTableSlot(tupdesc, &TTSOpsVirtual);
	buf = palloc(VARHDRSZ + g.maxlen);
	for (i = 0; i < g.n; i++)
	{
		/* dimensionValue DESC: the ascending order backwards */
		const GroupRow *r = &g.rows[!order->by_metric && order->desc ? g.n - 1 - i : i];

		SET_VARSIZE(buf, VARHDRSZ + r->len);
		memcpy(VARDATA(buf), r->key, r->len);
		ExecClearTuple(slot);
		slot->tts_values[0] = PointerGetDatum(buf);
		slot->tts_isnull[0] = false;
		slot->tts_values[1] = Float8GetDatum(r->sum);
		slot->tts_isnull[1] = false;
		ExecStoreVirtualTuple(slot);
		dest->receiveSlot(slot, dest);
	}
	ExecDropSingleTupleTableSlot(slot);
	if (g.rows)
		pfree(g.rows);
	pfree(buf);
}

/*
 * The receiver of the one row of a statement over _value_sums_merge: its
 * value ranked and sent on to the breakdown's receiver (next) as it comes,
 * without a copy in SPI's memory
 */
typedef struct ValueSumsDest
{
	DestReceiver pub;
	DestReceiver *next;
	TupleDesc	tupdesc;		/* the breakdown's rows */
	GroupOrder	order;
} ValueSumsDest;

static bool
value_sums_receive(TupleTableSlot *slot, DestReceiver *self)
{
	ValueSumsDest *d = (ValueSumsDest *) self;
	bool		isnull;
	Datum		v = slot_getattr(slot, 1, &isnull);

	send_value_sums(isnull ? NULL : DatumGetTextPP(v), &d->order, d->tupdesc, d->next);
	return true;
}

static void
value_sums_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	ValueSumsDest *d = (ValueSumsDest *) self;

	if (typeinfo->natts != 1 || TupleDescAttr(typeinfo, 0)->atttypid != TEXTOID ||
		d->tupdesc->natts != 2 || TupleDescAttr(d->tupdesc, 0)->atttypid != TEXTOID ||
		TupleDescAttr(d->tupdesc, 1)->atttypid != FLOAT8OID)
		elog(ERROR, "analytics: unexpected row type of a breakdown");
	d->next->rStartup(d->next, operation, d->tupdesc);
}

static void
value_sums_shutdown(DestReceiver *self)
{
	ValueSumsDest *d = (ValueSumsDest *) self;

	d->next->rShutdown(d->next);
}

static void
value_sums_destroy(DestReceiver *self)
{
}

static DestReceiver *
value_sums_dest(DestReceiver *next, TupleDesc tupdesc, const GroupOrder *order)
{
	ValueSumsDest *d = palloc0(sizeof(ValueSumsDest));

	d->pub.receiveSlot = value_sums_receive;
	d->pub.rStartup = value_sums_startup;
	d->pub.rShutdown = value_sums_shutdown;
	d->pub.rDestroy = value_sums_destroy;
	/* not DestNone: SPI would call the rows discarded */
	d->pub.mydest = next->mydest;
	d->next = next;
	d->tupdesc = tupdesc;
	d->order = *order;
	return &d->pub;
}

static void
breakdown_answer(QuerySpec *q, FunctionCallInfo fcinfo, DestReceiver *dest)
{
	char	   *breakdown = ARG_CSTRING(1);
	char	   *sort_by = ARG_CSTRING(5);
	char	   *sort_order = ARG_CSTRING(6);
	StringInfoData sql;
	StringInfoData hint;
	const char *ord;
	Cover		cover;
	Cover	   *c = NULL;
	int			bd = breakdown ? catalog_dim_by_breakdown(breakdown) : -1;
	int			dim;
	int			d;
	bool		direct;
	const char *dv;
	const char *coll;

	if (bd < 0)
	{
		int			n = 0;

		initStringInfo(&hint);
		appendStringInfoString(&hint, "Valid breakdowns are: ");
		for (d = 0; d < CAT_NDIMS; d++)
			if (catalog_dims[d].breakdown)
				appendStringInfo(&hint, "%s%s", n++ > 0 ? ", " : "", catalog_dims[d].breakdown);
		appendStringInfoChar(&hint, '.');
		invalid("breakdown", psprintf("invalid breakdown: \"%s\"", breakdown ? breakdown : "NULL"), hint.data);
	}
	if (q->kind == QK_TOTAL && bd != CAT_DIM_MEDIA)
		invalid("breakdown", psprintf("invalid breakdown \"%s\" for metric \"play-total\"", breakdown),
				psprintf("play-total is broken down by %s only.", catalog_dims[CAT_DIM_MEDIA].breakdown));
	if (sort_by == NULL || (strcmp(sort_by, "metricValue") != 0 && strcmp(sort_by, "dimensionValue") != 0))
		invalid("sortBy", psprintf("invalid sort_by: \"%s\"", sort_by ? sort_by : "NULL"),
				"Valid sort keys are: metricValue, dimensionValue.");
	if (sort_order == NULL || (strcmp(sort_order, "asc") != 0 && strcmp(sort_order, "desc") != 0))
		invalid("sortOrder", psprintf("invalid sort_order: \"%s\"", sort_order ? sort_order : "NULL"),
				"Valid sort orders are: asc, desc.");
	resolve_filters(q, PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4), q->kind == QK_TOTAL);
	if (q->kind != QK_TOTAL)
		resolve_period(q, PG_ARGISNULL(2), PG_ARGISNULL(2) ? 0 : PG_GETARG_TIMESTAMPTZ(2),
					   PG_ARGISNULL(3), PG_ARGISNULL(3) ? 0 : PG_GETARG_TIMESTAMPTZ(3));
	dim = rollup_dim(q, bd);

	/*
	 * Over every project on Citus, a question over the rollups is one
	 * aggregate over the shards, sorted where Citus merges the shards' rows:
	 * the dimension value collated "C" in its own column, sorted by name.
	 * Sorted in a query around it, as on one node, the aggregate would be a
	 * subquery that Citus runs first, its rows written to an intermediate
	 * result and read back, in a distributed transaction (two more round
	 * trips to each worker).
	 */
	direct = q->dist_all && q->kind != QK_TOTAL && (dim >= 0 || viewers_apply(q, bd));
	dv = direct ? "coalesce(x.v, 'unknown') COLLATE \"C\"" : "coalesce(x.v, 'unknown')";
	/* direct: the column is already collated "C" */
	coll = direct ? "" : " COLLATE \"C\"";
	if (strcmp(sort_by, "metricValue") == 0)
		ord = psprintf(strcmp(sort_order, "desc") == 0 ? "metric_value DESC NULLS LAST, dimension_value%s"
					   : "metric_value ASC NULLS FIRST, dimension_value%s", coll);
	else
		ord = psprintf(strcmp(sort_order, "desc") == 0 ? "dimension_value%s DESC" : "dimension_value%s", coll);

	initStringInfo(&sql);
	if (!direct)
		appendStringInfoString(&sql, "SELECT dimension_value, metric_value FROM (");
	if (q->kind == QK_TOTAL)
	{
		appendStringInfo(&sql, "SELECT s.media_id AS dimension_value, sum(s.n)::double precision AS metric_value FROM ("
						 "SELECT e.media_id, e.plays AS n FROM %s e WHERE true", qtable(q, "play_totals"));
		append_where(&sql, q);
		appendStringInfo(&sql, " UNION ALL SELECT e.media_id, count(*) FROM %s e WHERE e.event_type = 'play'", qtable(q, "events"));
		append_where(&sql, q);
		appendStringInfoString(&sql, " GROUP BY 1) s GROUP BY 1");
	}
	else if (viewers_apply(q, bd))
	{
		plan_cover(q, CL_DAY, false, CAT_DIM_CUBE, true, NULL, 0, &cover);
		c = &cover;
		appendStringInfo(&sql, "SELECT %s AS dimension_value, %s._viewers_count(x.ids)::double precision"
						 " AS metric_value FROM (", dv, q->schema);
		append_viewer_source(&sql, q, c, catalog_dims[bd].column, false);
		appendStringInfoString(&sql, ") x GROUP BY 1");
	}
	else if (dim >= 0)
	{
		plan_cover(q, CL_W4, false, dim, false, NULL, 0, &cover);
		c = &cover;
		if (direct && count_element(q) != 0)
		{
			/*
			 * over every project on Citus, a count: each project's counts
			 * per value summed into one value on its shard (_value_sums,
			 * grouped by project_id: run whole there), those of a shard
			 * merged there too (_value_sums_merge, a real transition type
			 * and a combine function: Citus pushes it down, and the
			 * coordinator merges one row per shard, not one per value and
			 * shard), the result ranked here (send_value_sums)
			 */
			GroupOrder	order = {strcmp(sort_by, "metricValue") == 0, strcmp(sort_order, "desc") == 0};

			appendStringInfo(&sql, "SELECT %s._value_sums_merge(y.s) FROM (SELECT %s._value_sums(coalesce(x.v, 'unknown'),"
							 " x.stats) AS s FROM (", q->schema, q->schema);
			append_stats_source(&sql, q, c, dim, catalog_dims[bd].column, false);
			appendStringInfoString(&sql, ") x GROUP BY x.p) y");
			run(q, sql.data, c, value_sums_dest(dest, ((ReturnSetInfo *) fcinfo->resultinfo)->setDesc, &order));
			return;
		}
		appendStringInfo(&sql, "SELECT %s AS dimension_value, ", dv);
		append_merged_metric(&sql, q);
		appendStringInfoString(&sql, " AS metric_value FROM (");
		append_stats_source(&sql, q, c, dim, catalog_dims[bd].column, false);
		appendStringInfoString(&sql, ") x GROUP BY 1");
		appendStringInfoString(&sql, " HAVING ");
		append_merged_having(&sql, q);
	}
	else
	{
		appendStringInfo(&sql, "SELECT coalesce(%s, 'unknown') AS dimension_value, ", catalog_dims[bd].column);
		append_value(&sql, q);
		appendStringInfo(&sql, " AS metric_value FROM %s e WHERE ", qtable(q, "events"));
		append_rows(&sql, q);
		append_where(&sql, q);
		appendStringInfoString(&sql, " GROUP BY 1");
	}
	appendStringInfo(&sql, "%s ORDER BY %s", direct ? "" : ") r", ord);
	run(q, sql.data, c, dest);
}

/*
 * breakdown(metric text, breakdown text, from_ts, to_ts, filter_by jsonb,
 *			 sort_by text, sort_order text, aggregation text,
 *			 unique_viewers boolean, view_duration text, project_id text)
 * RETURNS TABLE (dimension_value text, metric_value double precision)
 */
Datum
analytics_breakdown(PG_FUNCTION_ARGS)
{
	QuerySpec	q;

	init_spec(&q, fcinfo, "analytics.breakdown()");
	query_resolve_metric(&q, QC_BREAKDOWN, ARG_TEXT(0), ARG_TEXT(7), !PG_ARGISNULL(8) && PG_GETARG_BOOL(8), ARG_TEXT(9));
	resolve_projects(&q, ARG_TEXT(10));
	run_rows(&q, fcinfo, breakdown_answer);
	return (Datum) 0;
}

/* ------------------------------------------------------------------------
 * analytics.timeseries
 * ------------------------------------------------------------------------
 */

/* are all bucket bounds inside the period whole minutes (time_buckets)? */
static bool
buckets_whole_minutes(const QuerySpec *q)
{
	Oid			types[4] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID};
	Datum		values[4];
	bool		isnull;
	char	   *sql = psprintf("SELECT NOT EXISTS (SELECT 1 FROM %s.time_buckets($1, $2, $3, $4) x"
							   " WHERE x.bucket_start > $2"
							   " AND pg_catalog.date_bin('1 minute', x.bucket_start, '%s') <> x.bucket_start)",
							   q->schema, CAT_ORIGIN_TEXT);
	Datum		r;

	values[0] = CStringGetTextDatum(q->bucket);
	values[1] = TimestampTzGetDatum(q->from);
	values[2] = TimestampTzGetDatum(q->to);
	values[3] = CStringGetTextDatum(q->time_zone);
	r = run_small(sql, 4, types, values, &isnull);
	return !isnull && DatumGetBool(r);
}

/*
 * The coarsest rollup level whose rows fall into one bucket each (every
 * bucket bound a whole UTC hour; day rows: a whole UTC day; week rows: a
 * Monday; with fine, the 5-minute rows of a whole project: whole 5 minutes,
 * e.g. days in Asia/Kolkata), or -1.
 */
static int
buckets_tier(const QuerySpec *q, bool fine)
{
	Oid			types[4] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID};
	Datum		values[4];
	bool		isnull;
	char	   *sql;
	Datum		r;

	if (strcmp(q->time_zone, "UTC") == 0)
		/* UTC hours, days, weeks (from Monday) and months (from a day) */
		return strcmp(q->bucket, "hour") == 0 ? CL_HOUR : strcmp(q->bucket, "week") == 0 ? CL_WEEK : CL_DAY;
	sql = psprintf("SELECT CASE WHEN NOT bool_and(pg_catalog.date_bin('5 minutes', b.t, '%s') = b.t) THEN -1"
				   " WHEN NOT bool_and(pg_catalog.date_bin('1 hour', b.t, '%s') = b.t) THEN %d"
				   " WHEN $1 = 'hour' OR NOT bool_and(pg_catalog.date_bin('1 day', b.t, '%s') = b.t) THEN %d"
				   " WHEN bool_and(pg_catalog.date_bin('7 days', b.t, '%s') = b.t) THEN %d"
				   " ELSE %d END"
				   " FROM %s.time_buckets($1, $2, $3, $4) x, LATERAL (VALUES (x.bucket_start), (x.bucket_end)) b(t)",
				   CAT_ORIGIN_TEXT, CAT_ORIGIN_TEXT, fine ? CL_5MIN : -1,
				   CAT_ORIGIN_TEXT, CL_HOUR, CAT_WEEK_ORIGIN_TEXT, CL_WEEK, CL_DAY, q->schema);
	values[0] = CStringGetTextDatum(q->bucket);
	values[1] = TimestampTzGetDatum(q->from);
	values[2] = TimestampTzGetDatum(q->to);
	values[3] = CStringGetTextDatum(q->time_zone);
	r = run_small(sql, 4, types, values, &isnull);
	return isnull ? -1 : DatumGetInt32(r);
}

/*
 * The series' bucket starts inside the period (the bounds no rollup piece
 * may straddle when buckets_tier() gives CL_5MIN), palloc'ed
 */
static int64_t *
bucket_starts(const QuerySpec *q, int *n)
{
	Oid			types[4] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID};
	Datum		values[4];
	bool		isnull;
	Datum		r;
	int64_t    *out;

	values[0] = CStringGetTextDatum(q->bucket);
	values[1] = TimestampTzGetDatum(q->from);
	values[2] = TimestampTzGetDatum(q->to);
	values[3] = CStringGetTextDatum(q->time_zone);
	r = run_small(psprintf("SELECT pg_catalog.array_agg(x.bucket_start) FROM %s.time_buckets($1, $2, $3, $4) x"
						   " WHERE x.bucket_start > $2 AND x.bucket_start < $3", q->schema),
				  4, types, values, &isnull);
	*n = 0;
	if (isnull)
		return NULL;
	{
		Datum	   *elems;
		bool	   *enulls;
		int			k,
					i;

		deconstruct_array(DatumGetArrayTypeP(r), TIMESTAMPTZOID, sizeof(TimestampTz), FLOAT8PASSBYVAL,
						  TYPALIGN_DOUBLE, &elems, &enulls, &k);
		out = palloc(sizeof(int64_t) * (k > 0 ? k : 1));
		for (i = 0; i < k; i++)
			if (!enulls[i])
				out[(*n)++] = DatumGetTimestampTz(elems[i]);
	}
	return out;
}

/*
 * A series given as two arrays, its buckets (timestamptz[]) and their
 * values (float8[]), sent to dest as rows (bucket_start, metric_value)
 * sorted by ord (a fixed ORDER BY of the timeseries functions).
 */
static void
send_series_arrays(Datum buckets, Datum values, const char *ord, DestReceiver *dest)
{
	Oid			types[2] = {TIMESTAMPTZARRAYOID, FLOAT8ARRAYOID};
	Datum		arrays[2] = {buckets, values};

	run_to_dest(psprintf("SELECT r.bucket_start, r.metric_value"
						 " FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) r(bucket_start, metric_value)"
						 " ORDER BY %s", ord), 2, types, arrays, NULL, dest);
}

/* a row of a series' aggregate */
typedef struct SeriesRow
{
	TimestampTz start;
	double		value;
	bool		isnull;
} SeriesRow;

static int
series_row_cmp(const void *a, const void *b)
{
	TimestampTz x = ((const SeriesRow *) a)->start;
	TimestampTz y = ((const SeriesRow *) b)->start;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * A series over every project on Citus: agg, the aggregate per bucket
 * (bucket_start, metric_value), run alone; then each bucket of
 * time_buckets() with its row's value, or the empty value when it has no
 * row or a NULL one (the LEFT JOIN and coalesce of the single node's
 * statement), sorted by ord. In one statement with time_buckets(), the
 * aggregate would be a subquery that Citus runs first, its rows and the
 * buckets written to intermediate results on the coordinator and read
 * back, in a distributed transaction (BEGIN and COMMIT: two more round
 * trips to each worker). counted: agg left out a count's HAVING sum(...)
 * > 0 (a third column in every shard's rows, summed again on the
 * coordinator): its rows without a positive value count as no row.
 */
static void
series_from_aggregate(const QuerySpec *q, const char *agg, const Cover *c, bool counted, const char *ord,
					  DestReceiver *dest)
{
	Oid			types[4] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID};
	Datum		values[4];
	bool		isnull;
	bool		empty_null = q->kind == QK_STATS && q->md->empty_null;
	SeriesRow  *rows;
	int			nrows = 0;
	Datum	   *buckets = NULL;
	bool	   *bnulls = NULL;
	int			nb = 0;
	Datum	   *out_values;
	bool	   *out_nulls;
	Datum		r;
	uint64		k;
	int			i;
	int			dims[1];
	int			lbs[1] = {1};

	/* the aggregate's rows (GROUP BY the bucket: one each), sorted here */
	run(q, agg, c, NULL);
	if (SPI_tuptable->tupdesc->natts != 2 || SPI_gettypeid(SPI_tuptable->tupdesc, 1) != TIMESTAMPTZOID ||
		SPI_gettypeid(SPI_tuptable->tupdesc, 2) != FLOAT8OID)
		elog(ERROR, "analytics: unexpected row type of a series");
	rows = palloc(sizeof(SeriesRow) * (SPI_processed + 1));
	for (k = 0; k < SPI_processed; k++)
	{
		HeapTuple	tup = SPI_tuptable->vals[k];
		Datum		d = SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull);

		if (isnull)
			continue;			/* joins no bucket */
		rows[nrows].start = DatumGetTimestampTz(d);
		d = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &rows[nrows].isnull);
		rows[nrows].value = rows[nrows].isnull ? 0 : DatumGetFloat8(d);
		/* a count's HAVING sum(...) > 0, left out of agg for a counted metric */
		if (counted && (rows[nrows].isnull || !(rows[nrows].value > 0)))
			continue;
		nrows++;
	}
	SPI_freetuptable(SPI_tuptable);
	qsort(rows, nrows, sizeof(SeriesRow), series_row_cmp);

	/* the buckets, each with its value */
	values[0] = CStringGetTextDatum(q->bucket);
	values[1] = TimestampTzGetDatum(q->from);
	values[2] = TimestampTzGetDatum(q->to);
	values[3] = CStringGetTextDatum(q->time_zone);
	r = run_small(psprintf("SELECT pg_catalog.array_agg(x.bucket_start) FROM %s.time_buckets($1, $2, $3, $4) x", q->schema),
				  4, types, values, &isnull);
	if (!isnull)
		deconstruct_array(DatumGetArrayTypeP(r), TIMESTAMPTZOID, sizeof(TimestampTz), FLOAT8PASSBYVAL,
						  TYPALIGN_DOUBLE, &buckets, &bnulls, &nb);
	out_values = palloc(sizeof(Datum) * (nb + 1));
	out_nulls = palloc(sizeof(bool) * (nb + 1));
	for (i = 0; i < nb; i++)
	{
		SeriesRow	key;
		SeriesRow  *row = NULL;

		if (!bnulls[i])
		{
			key.start = DatumGetTimestampTz(buckets[i]);
			row = bsearch(&key, rows, nrows, sizeof(SeriesRow), series_row_cmp);
		}
		out_nulls[i] = row == NULL || row->isnull ? empty_null : false;
		out_values[i] = Float8GetDatum(row == NULL || row->isnull ? 0 : row->value);
	}

	/* sorted as asked */
	dims[0] = nb;
	send_series_arrays(PointerGetDatum(nb == 0 ? construct_empty_array(TIMESTAMPTZOID)
									   : construct_md_array(buckets, bnulls, 1, dims, lbs, TIMESTAMPTZOID,
															sizeof(TimestampTz), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
					   PointerGetDatum(nb == 0 ? construct_empty_array(FLOAT8OID)
									   : construct_md_array(out_values, out_nulls, 1, dims, lbs, FLOAT8OID,
															sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
					   ord, dest);
}

static void
timeseries_answer(QuerySpec *q, FunctionCallInfo fcinfo, DestReceiver *dest)
{
	const char *S = q->schema;
	char	   *sort_by = ARG_CSTRING(5);
	char	   *sort_order = ARG_CSTRING(6);
	StringInfoData sql;
	const char *ord;
	Cover		cover;
	Cover	   *c = NULL;
	bool		ccv = q->kind == QK_CCV_PEAK || q->kind == QK_CCV_AVERAGE;

	if (sort_by == NULL || (strcmp(sort_by, "emittedAt") != 0 && strcmp(sort_by, "metricValue") != 0))
		invalid("sortBy", psprintf("invalid sort_by: \"%s\"", sort_by ? sort_by : "NULL"),
				"Valid sort keys are: emittedAt, metricValue.");
	if (sort_order == NULL || (strcmp(sort_order, "asc") != 0 && strcmp(sort_order, "desc") != 0))
		invalid("sortOrder", psprintf("invalid sort_order: \"%s\"", sort_order ? sort_order : "NULL"),
				"Valid sort orders are: asc, desc.");
	resolve_filters(q, PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4), false);
	resolve_period(q, PG_ARGISNULL(1), PG_ARGISNULL(1) ? 0 : PG_GETARG_TIMESTAMPTZ(1),
				   PG_ARGISNULL(2), PG_ARGISNULL(2) ? 0 : PG_GETARG_TIMESTAMPTZ(2));
	q->bucket = PG_ARGISNULL(3)
		? TextDatumGetCString(DirectFunctionCall2(analytics_default_interval, TimestampTzGetDatum(q->from),
												  TimestampTzGetDatum(q->to)))
		: ARG_CSTRING(3);
	q->time_zone = PG_ARGISNULL(7) ? "UTC" : ARG_CSTRING(7);

	if (strcmp(sort_by, "emittedAt") == 0)
		ord = strcmp(sort_order, "desc") == 0 ? "bucket_start DESC" : "bucket_start";
	else
		ord = strcmp(sort_order, "desc") == 0 ? "metric_value DESC NULLS LAST, bucket_start"
			: "metric_value ASC NULLS FIRST, bucket_start";

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT bucket_start, metric_value FROM (");
	if (ccv && ccv_rollups_apply(q) && buckets_whole_minutes(q))
	{
		/*
		 * one project, one media or all, buckets of whole minutes: the
		 * per-minute rows (ccvrollup.c), sorted here
		 */
		Datum		values[2];

		analytics_ccv_series_from_rollups(S, q->project, ccv_media(q), q->unique_viewers, q->from, q->to,
										  q->bucket, q->time_zone, q->kind == QK_CCV_AVERAGE,
										  &values[0], &values[1]);
		send_series_arrays(values[0], values[1], ord, dest);
		return;
	}
	else if (ccv)
	{
		/*
		 * one sort and one sweep of the watch intervals of the whole period,
		 * crossing the bucket bounds as it goes (_ccv_series, src/ccv.c):
		 * each bucket, clipped to the period, gets what ccv over it gives
		 */
		appendStringInfo(&sql, "WITH b AS MATERIALIZED (SELECT x.bucket_start, greatest(x.bucket_start, $%d) AS pfrom,"
						 " pg_catalog.row_number() OVER (ORDER BY x.bucket_start) AS n"
						 " FROM %s.time_buckets($%d, $%d, $%d, $%d) x)"
						 " SELECT b.bucket_start, coalesce(r.v[b.n * 2 - %d], 0) AS metric_value FROM b, (SELECT %s._ccv_series(",
						 P_FROM, S, P_BUCKET, P_FROM, P_TO, P_TIME_ZONE, q->kind == QK_CCV_AVERAGE ? 0 : 1, S);
		append_ccv_args(&sql, q->unique_viewers);
		appendStringInfo(&sql, ", (SELECT pg_catalog.array_append(pg_catalog.array_agg(b.pfrom ORDER BY b.n), $%d) FROM b))"
						 " AS v FROM %s e WHERE ", P_TO, qtable(q, "events"));
		append_rows(&sql, q);
		append_where(&sql, q);
		appendStringInfoString(&sql, ") r");
	}
	else
	{
		int			dim = rollup_dim(q, -1);
		bool		uv = viewers_apply(q, -1);
		int			tier = -1;
		int			start = sql.len;

		if ((dim >= 0 || uv) && strcmp(q->bucket, "minute") != 0)
			tier = buckets_tier(q, dim == CAT_DIM_PROJECT);
		/* over every project on Citus: the aggregate alone (below) */
		if (!q->dist_all)
			appendStringInfo(&sql, "SELECT b.bucket_start, coalesce(v.metric_value, $%d) AS metric_value"
							 " FROM %s.time_buckets($%d, $%d, $%d, $%d) b LEFT JOIN (",
							 P_EMPTY_VALUE, S, P_BUCKET, P_FROM, P_TO, P_TIME_ZONE);
		if (uv && tier >= CL_HOUR)
		{
			/*
			 * unique viewers per bucket: days (at most) and hours, each in
			 * one bucket, and raw events, their ids counted per bucket
			 */
			plan_cover(q, tier > CL_DAY ? CL_DAY : tier, false, CAT_DIM_CUBE, true, NULL, 0, &cover);
			c = &cover;
			appendStringInfo(&sql, "SELECT %s.time_bucket($%d, x.t, $%d) AS bucket_start, %s._viewers_count(x.ids)::double precision"
							 " AS metric_value FROM (", S, P_BUCKET, P_TIME_ZONE, S);
			append_viewer_source(&sql, q, c, NULL, true);
			appendStringInfoString(&sql, ") x GROUP BY 1");
		}
		else if (tier >= 0 && !uv)
		{
			int64_t    *bounds = NULL;
			int			nbounds = 0;

			if (tier == CL_5MIN)
				bounds = bucket_starts(q, &nbounds);
			plan_cover(q, tier, dim == CAT_DIM_PROJECT, dim, false, bounds, nbounds, &cover);
			c = &cover;
			appendStringInfo(&sql, "SELECT %s.time_bucket($%d, x.t, $%d) AS bucket_start, ", S, P_BUCKET, P_TIME_ZONE);
			append_merged_metric(&sql, q);
			appendStringInfoString(&sql, " AS metric_value FROM (");
			append_stats_source(&sql, q, c, dim, NULL, true);
			appendStringInfoString(&sql, ") x GROUP BY 1");
			/* over every project on Citus, a count's HAVING applied in C */
			if (!q->dist_all || count_element(q) == 0)
			{
				appendStringInfoString(&sql, " HAVING ");
				append_merged_having(&sql, q);
			}
		}
		else
		{
			appendStringInfo(&sql, "SELECT %s.time_bucket($%d, e.emitted_at, $%d) AS bucket_start, ", S, P_BUCKET, P_TIME_ZONE);
			append_value(&sql, q);
			appendStringInfo(&sql, " AS metric_value FROM %s e WHERE ", qtable(q, "events"));
			append_rows(&sql, q);
			append_where(&sql, q);
			appendStringInfoString(&sql, " GROUP BY 1");
		}
		if (q->dist_all)
		{
			series_from_aggregate(q, sql.data + start, c, tier >= 0 && !uv && count_element(q) != 0, ord, dest);
			return;
		}
		appendStringInfoString(&sql, ") v USING (bucket_start)");
	}
	appendStringInfo(&sql, ") r ORDER BY %s", ord);
	run(q, sql.data, c, dest);
}

/*
 * timeseries(metric text, from_ts, to_ts, "interval" text, filter_by jsonb,
 *			  sort_by text, sort_order text, time_zone text, aggregation text,
 *			  unique_viewers boolean, view_duration text, project_id text)
 * RETURNS TABLE (emitted_at timestamptz, metric_value double precision)
 */
Datum
analytics_timeseries(PG_FUNCTION_ARGS)
{
	QuerySpec	q;

	init_spec(&q, fcinfo, "analytics.timeseries()");
	query_resolve_metric(&q, QC_TIMESERIES, ARG_TEXT(0), ARG_TEXT(8), !PG_ARGISNULL(9) && PG_GETARG_BOOL(9), ARG_TEXT(10));
	resolve_projects(&q, ARG_TEXT(11));
	run_rows(&q, fcinfo, timeseries_answer);
	return (Datum) 0;
}

/* ------------------------------------------------------------------------
 * analytics._plan_cover: the cover a question reads, for SQL (tests)
 * ------------------------------------------------------------------------
 */
PG_FUNCTION_INFO_V1(analytics_plan_cover);

/*
 * _plan_cover(pf timestamptz, pt timestamptz, max_level text, fine boolean,
 *			   dim smallint, projects text[]) RETURNS analytics._cover
 * The cover plan_cover() gives the query functions: projects is their
 * projects (NULL: all; one element: one project).
 */
Datum
analytics_plan_cover(PG_FUNCTION_ARGS)
{
	QuerySpec	q;
	Cover		c;
	TupleDesc	tupdesc;
	Datum		values[4 * CL_NLEVELS];
	bool		nulls[4 * CL_NLEVELS];
	int			max_level;
	int			i;
	HeapTuple	result;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(4))
		PG_RETURN_NULL();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE || tupdesc->natts != 4 * CL_NLEVELS)
		elog(ERROR, "analytics._plan_cover: unexpected result type");
	init_spec(&q, fcinfo, "analytics._plan_cover()");
	max_level = analytics_cover_level(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	q.from = PG_GETARG_TIMESTAMPTZ(0);
	q.to = PG_GETARG_TIMESTAMPTZ(1);
	q.has_period = true;
	if (!PG_ARGISNULL(5))
	{
		Datum	   *elems;
		bool	   *enulls;
		int			n;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(5), TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
		if (n == 1)
		{
			q.has_projects = true;
			q.project = enulls[0] ? NULL : TextDatumGetCString(elems[0]);
		}
	}
	tupdesc = BlessTupleDesc(tupdesc);
	SPI_connect();
	plan_cover(&q, max_level, !PG_ARGISNULL(3) && PG_GETARG_BOOL(3), PG_GETARG_INT16(4), false, NULL, 0, &c);
	for (i = 0; i < 4 * CL_NLEVELS; i++)
	{
		values[i] = c.arrays[i];
		nulls[i] = false;
	}
	/* the row in the caller's memory, before SPI's goes */
	result = SPI_copytuple(heap_form_tuple(tupdesc, values, nulls));
	SPI_finish();
	PG_RETURN_DATUM(HeapTupleGetDatum(result));
}
