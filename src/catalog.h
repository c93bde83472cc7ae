/*
 * catalog.h - the domain of the query layer, in one place (plain C).
 *
 * Every fact the query functions, the statistics aggregates and the rollup
 * cover share is written here once: the metrics and their valid
 * (metric, aggregation) pairs, the layout of the 17-element event statistics
 * array, the rollup dimensions (number, REST names, event column) and the
 * block boundaries of the rollups. C code includes this header; SQL that
 * needs a fact asks C (analytics._dims, _dim, _block_size, _block_origin:
 * src/catalogsql.c) instead of keeping a literal copy (src/sql/README.md,
 * "Where each catalogue fact lives").
 *
 * The tables (catalog.c) need no PostgreSQL; the block constants below are
 * macros, so that the plain-C cover (cover.c) and its unit test use them
 * without linking catalog.c.
 */
#ifndef ANALYTICS_CATALOG_H
#define ANALYTICS_CATALOG_H

#include <stdbool.h>
#include <stdint.h>

/* ---- block boundaries (microseconds, PostgreSQL epoch 2000-01-01 UTC) ---- */
#define CAT_USECS_PER_MINUTE	INT64_C(60000000)
#define CAT_USECS_PER_HOUR		(60 * CAT_USECS_PER_MINUTE)
#define CAT_USECS_PER_DAY		(24 * CAT_USECS_PER_HOUR)
/* weeks and 28-day blocks start on Monday 2000-01-03 00:00 UTC */
#define CAT_WEEK_ORIGIN			(2 * CAT_USECS_PER_DAY)
#define CAT_WEEK_ORIGIN_TEXT	"2000-01-03 00:00+00"
/* minutes, hours and days start at the epoch */
#define CAT_ORIGIN_TEXT			"2000-01-01 00:00+00"
#define CAT_5MIN_SIZE			(5 * CAT_USECS_PER_MINUTE)
#define CAT_WEEK_SIZE			(7 * CAT_USECS_PER_DAY)
#define CAT_W4_SIZE				(28 * CAT_USECS_PER_DAY)

/* ---- the event statistics array (0-based here; SQL arrays add 1) ---- */
#define CAT_ES_NTYPES		10	/* [0..9] counts per event type */
#define CAT_ES_VIEW3		10	/* [10..13] views per threshold */
#define CAT_ES_NTHRESHOLDS	4
#define CAT_ES_IMPR_SUM		14	/* sum of impression values */
#define CAT_ES_IMPR_N		15	/* non-NULL impression values */
#define CAT_ES_WATCH_SUM	16	/* sum of watch values */
#define CAT_ES_NELEMS		17

/* event types: their element, in the order of analytics.event_type */
#define CAT_ET_IMPRESSION	0
#define CAT_ET_PLAY			1
#define CAT_ET_START		2
#define CAT_ET_END			3
#define CAT_ET_WATCH		7
#define CAT_ET_VIEW			8
extern const char *const catalog_event_types[CAT_ES_NTYPES];

/* view thresholds (seconds) from CAT_ES_VIEW3, their REST names, default */
extern const double catalog_view_thresholds[CAT_ES_NTHRESHOLDS];
extern const char *const catalog_view_durations[CAT_ES_NTHRESHOLDS];
#define CAT_VIEW_DURATION_DEFAULT 1 /* "5s" */

/* ---- the metrics of the statistics (stats_metric) ---- */
typedef enum MetricKind
{
	MK_PLAYS,
	MK_PLAY_RATE,
	MK_STARTS,
	MK_ENDS,
	MK_IMPRESSIONS,
	MK_IMPRESSION_TIME_AVG,
	MK_IMPRESSION_TIME_SUM,
	MK_WATCH_TIME_SUM,
	MK_WATCH_TIME_AVG,
	MK_VIEWS
} MetricKind;

/*
 * Every valid (metric, aggregation) pair of stats_metric, the default
 * aggregation of a metric being its row with is_default; a metric whose
 * only row has aggregation NULL takes none. types: the event types whose
 * events the metric counts (a group with none of them is not listed; -1
 * ends the list; CAT_ET_VIEW means the views of the chosen threshold).
 * count: the one element the metric is (a plain count), or -1.
 * empty_null: an empty bucket is NULL (a ratio), not 0.
 */
typedef struct MetricDef
{
	const char *metric;
	const char *aggregation;	/* NULL: the metric takes no aggregation */
	bool		is_default;
	MetricKind	kind;
	int			types[2];
	int			count;
	bool		empty_null;
} MetricDef;
extern const MetricDef catalog_metric_defs[];
extern const int catalog_n_metric_defs;
#define CAT_VIEW_METRIC "view"	/* the only metric taking view_duration */

/* ---- the metrics of the query API ---- */
typedef enum QueryKind
{
	QK_STATS,					/* from the statistics (MetricDef) */
	QK_VIEW_UNIQUE,				/* distinct viewers with a view */
	QK_TOTAL,					/* play totals (archived + counted) */
	QK_CCV_PEAK,
	QK_CCV_AVERAGE,
	QK_CCV_LIVE
} QueryKind;

/*
 * The metrics of breakdown and timeseries (their names), in the order of
 * the error hints; with the metrics endpoint pairs mapped onto them.
 */
typedef struct QueryMetric
{
	const char *name;
	QueryKind	kind;
	bool		series;			/* a breakdown/timeseries metric */
	bool		breakdown_only; /* ... of breakdown only */
	bool		unique_viewers; /* takes unique_viewers */
	bool		is_count;		/* JSON prints an integer */
} QueryMetric;
extern const QueryMetric catalog_query_metrics[];
extern const int catalog_n_query_metrics;

/* the metrics endpoint: (metric, aggregation) -> a query metric */
typedef struct EndpointPair
{
	const char *metric;
	const char *aggregation;
	const char *query_metric;	/* name in catalog_query_metrics */
	const char *stats_aggregation;	/* aggregation of stats_metric, or NULL */
} EndpointPair;
extern const EndpointPair catalog_endpoint_pairs[];
extern const int catalog_n_endpoint_pairs;

/* ---- rollup dimensions ---- */
typedef struct DimDef
{
	int			number;			/* dim of the rollup tables */
	const char *breakdown;		/* REST name as a breakdown; NULL: none */
	const char *filter_key;		/* filterBy key; NULL: none */
	const char *column;			/* the value over events "e" (text) */
	bool		multi;			/* filter takes an array of strings */
	bool		cube;			/* a column of the cube (rollup_cube_*) */
	bool		devcube;		/* and of the device cube (rollup_devcube_*) */
} DimDef;
#define CAT_NDIMS 9
#define CAT_DIM_PROJECT		0
#define CAT_DIM_PROJECT_NAME "project"	/* SQL: analytics._dim() */
#define CAT_DIM_MEDIA		1
#define CAT_DIM_MEDIA_TYPE	2
#define CAT_DIM_CONTINENT	3
#define CAT_DIM_COUNTRY		4
#define CAT_DIM_DEVICE_TYPE	5
#define CAT_DIM_REFERRER	8
/*
 * The cube (rollup_cube_hour, _day, _week, _w4): one row per hour or block,
 * project and combination of the dimensions marked cube, their columns
 * named as in analytics.events. Not a dimension of the one-dimension
 * rollups: the query layer and the cover (weights) use the number.
 */
#define CAT_DIM_CUBE		CAT_NDIMS
/*
 * The referrer cube (rollup_refcube_*): the cube's columns and the
 * referrer, for questions that combine the referrer with cube dimensions.
 */
#define CAT_DIM_REFCUBE		(CAT_NDIMS + 1)
/*
 * The device cube (rollup_devcube_*): the cube without its geography
 * (continent, country), for questions whose filters and breakdown all are
 * among its columns: ~10x fewer rows per hour, ~25x per day than the cube.
 */
#define CAT_DIM_DEVCUBE		(CAT_NDIMS + 2)
extern const DimDef catalog_dims[CAT_NDIMS];
#define CAT_FILTER_TAG "tag"	/* the filter key that is no dimension */

extern const char *const catalog_continents[];	/* NULL-terminated */
extern const char *const catalog_device_types[];
extern const char *const catalog_media_types[];

/* lookups; NULL or -1 when unknown */
extern const QueryMetric *catalog_query_metric(const char *name);
extern const MetricDef *catalog_metric_def(const char *metric, const char *aggregation);
extern int	catalog_dim_by_breakdown(const char *breakdown);
extern int	catalog_dim_by_filter(const char *key);
extern bool catalog_in_list(const char *const *list, const char *s);
extern bool catalog_rest_takes_unique(const char *name);

#endif
