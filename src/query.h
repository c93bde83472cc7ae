/*-------------------------------------------------------------------------
 * query.h
 *		The query layer: analytics.metric, analytics.breakdown and
 *		analytics.timeseries (src/query.c).
 *
 * A question is validated into a typed description (QuerySpec: the metric
 * and its aggregation, the projects, the filters, the period, the buckets),
 * its statement is built from fixed fragments chosen by that description
 * (never from the caller's text: every value is a parameter), and run
 * through the kept-plan cache (src/keptquery.c) when it reads rollups.
 *-------------------------------------------------------------------------
 */
#ifndef ANALYTICS_QUERY_H
#define ANALYTICS_QUERY_H

#include "postgres.h"

#include "fmgr.h"

#include "catalog.h"

/* which function a question is asked through: its names and error hints */
typedef enum QueryContext
{
	QC_METRICS,					/* analytics.metric: (metric, aggregation)
								 * pairs */
	QC_BREAKDOWN,
	QC_TIMESERIES
} QueryContext;

/*
 * The parameters every statement of the query layer is given, by number
 * ($n): the same numbering in every statement, so a statement's text says
 * which of them it reads. The filters of dimension d are $(P_DIM0 + d).
 */
typedef enum QueryParam
{
	P_FROM = 1,
	P_TO,
	P_PROJECTS,					/* text[]: one project, or {NULL}; NULL: all */
	P_DIM0 = 3,					/* $4 .. $11: the filters of dimensions 1 .. 8 */
	P_TAG = 12,
	P_THRESHOLD,				/* view threshold (seconds) */
	P_SM_METRIC,				/* stats_metric(metric, aggregation,
								 * view_duration) */
	P_SM_AGGREGATION,
	P_VIEW_DURATION,
	P_BUCKET,
	P_TIME_ZONE,
	P_EMPTY_VALUE,				/* value of an empty bucket */
	P_MEDIA_TYPE_ENUM,			/* the filters of the enum columns, as
								 * values of their types (media_type,
								 * continent[], device_type[]): compared
								 * with the columns as they are, no cast
								 * per row */
	P_CONTINENT_ENUM,
	P_DEVICE_TYPE_ENUM,
	P_NBASE = P_DEVICE_TYPE_ENUM,
	P_COVER = 23,				/* $23 .. $46: the cover, 4 arrays per level */
	P_RAW = P_COVER + 24,		/* $47 .. $54: the raw ranges of the cover
								 * one by one, when they are few (from, to
								 * of the first and the second range added,
								 * then of those taken out) */
	P_PROJECT = P_RAW + 8,		/* $55: the one project, as text */
	P_NALL = P_PROJECT
} QueryParam;

/* raw ranges of a sign given one by one ($47 ..) rather than as arrays */
#define P_RAW_RANGES 2

/* a validated question */
typedef struct QuerySpec
{
	const char *fname;			/* "analytics.metric()", for the call bound */
	Oid			fn_oid;			/* the function called (its schema is the
								 * extension's) */
	const char *schema;			/* the extension's schema, quoted */
	QueryContext context;
	const QueryMetric *qm;
	QueryKind	kind;			/* qm's, or QK_VIEW_UNIQUE */
	const MetricDef *md;		/* QK_STATS, QK_VIEW_UNIQUE: its statistics */
	const char *sm_metric;		/* stats_metric arguments */
	const char *sm_aggregation;
	const char *view_duration;
	int			threshold;		/* view threshold index, -1: none */
	bool		unique_viewers;

	bool		has_projects;	/* false: every project */
	const char *project;		/* NULL with has_projects: none matches */
	List	   *shards;			/* on a Citus node holding the project's
								 * shards: AnalyticsShard, read instead of the
								 * tables (NIL: the tables) */
	bool		dist_all;		/* every project on a distributed layout
								 * (Citus): each piece of a rollup statement
								 * carries project_id, so that Citus runs
								 * their UNION ALL on every shard at once */
	bool		via_citus;		/* a distributed layout, read through Citus
								 * (not the project's shards on this node) */

	bool		filter[CAT_NDIMS];	/* a filter on dimension d */
	Datum		filter_value[CAT_NDIMS];	/* text[], or text (media type) */
	Datum		filter_enum[CAT_NDIMS]; /* media type, continents, device types:
										 * the same values typed as the column */
	Oid			filter_enum_type[CAT_NDIMS];	/* the type of filter_enum[d] */
	const char *tag;

	bool		has_period;
	TimestampTz from;
	TimestampTz to;
	const char *bucket;			/* timeseries */
	const char *time_zone;
} QuerySpec;

/* the metric spec of a (context, metric, aggregation, ...); raises 22023 */
extern void query_resolve_metric(QuerySpec *q, QueryContext context, text *metric, text *aggregation,
								 bool unique_viewers, text *view_duration);

#endif
