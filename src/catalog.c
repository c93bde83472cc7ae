/*
 * catalog.c - the domain of the query layer, in one place (plain C, see
 * catalog.h).
 */
#include "catalog.h"

#include <string.h>

/* the labels of analytics.event_type, in the order of the statistics */
const char *const catalog_event_types[CAT_ES_NTYPES] = {
	"impression", "play", "start", "end", "resume",
	"pause", "seek", "watch", "view", "error"
};

const double catalog_view_thresholds[CAT_ES_NTHRESHOLDS] = {3, 5, 10, 30};
const char *const catalog_view_durations[CAT_ES_NTHRESHOLDS] = {"3s", "5s", "10s", "30s"};

/* the names of stats_metric, in the order of its error hints */
const MetricDef catalog_metric_defs[] = {
	{"play", "count", true, MK_PLAYS, {CAT_ET_PLAY, -1}, CAT_ET_PLAY, false},
	{"play", "rate", false, MK_PLAY_RATE, {CAT_ET_PLAY, CAT_ET_IMPRESSION}, -1, true},
	{"play-rate", NULL, true, MK_PLAY_RATE, {CAT_ET_PLAY, CAT_ET_IMPRESSION}, -1, true},
	{"start", "count", true, MK_STARTS, {CAT_ET_START, -1}, CAT_ET_START, false},
	{"end", "count", true, MK_ENDS, {CAT_ET_END, -1}, CAT_ET_END, false},
	{"impression", "count", true, MK_IMPRESSIONS, {CAT_ET_IMPRESSION, -1}, CAT_ET_IMPRESSION, false},
	{"impression-time", "average", true, MK_IMPRESSION_TIME_AVG, {CAT_ET_IMPRESSION, -1}, -1, true},
	{"impression-time", "sum", false, MK_IMPRESSION_TIME_SUM, {CAT_ET_IMPRESSION, -1}, -1, false},
	{"watch-time", "sum", true, MK_WATCH_TIME_SUM, {CAT_ET_WATCH, -1}, -1, false},
	{"watch-time", "average", false, MK_WATCH_TIME_AVG, {CAT_ET_WATCH, CAT_ET_PLAY}, -1, true},
	{"view", "count", true, MK_VIEWS, {CAT_ET_VIEW, -1}, CAT_ES_VIEW3, false},
};
const int	catalog_n_metric_defs = sizeof(catalog_metric_defs) / sizeof(catalog_metric_defs[0]);

/* breakdown and timeseries metrics, in the order of their error hints */
const QueryMetric catalog_query_metrics[] = {
	{"play", QK_STATS, true, false, false, true},
	{"play-rate", QK_STATS, true, false, false, false},
	{"start", QK_STATS, true, false, false, true},
	{"end", QK_STATS, true, false, false, true},
	{"impression", QK_STATS, true, false, false, true},
	{"impression-time", QK_STATS, true, false, false, false},
	{"watch-time", QK_STATS, true, false, false, false},
	{"view", QK_STATS, true, false, true, true},
	{"ccv-peak", QK_CCV_PEAK, true, false, true, true},
	{"ccv-average", QK_CCV_AVERAGE, true, false, true, false},
	{"play-total", QK_TOTAL, true, true, false, true},
	{"ccv-live", QK_CCV_LIVE, false, false, true, true},
};
const int	catalog_n_query_metrics = sizeof(catalog_query_metrics) / sizeof(catalog_query_metrics[0]);

/* the metrics endpoint, in the order of its error hints */
const EndpointPair catalog_endpoint_pairs[] = {
	{"play", "count", "play", NULL},
	{"play", "rate", "play-rate", NULL},
	{"play", "total", "play-total", NULL},
	{"start", "count", "start", NULL},
	{"end", "count", "end", NULL},
	{"impression", "count", "impression", NULL},
	{"impression-time", "average", "impression-time", "average"},
	{"impression-time", "sum", "impression-time", "sum"},
	{"watch-time", "average", "watch-time", "average"},
	{"watch-time", "sum", "watch-time", "sum"},
	{"view", "count", "view", NULL},
	{"ccv", "peak", "ccv-peak", NULL},
	{"ccv", "average", "ccv-average", NULL},
	{"ccv", "live", "ccv-live", NULL},
};
const int	catalog_n_endpoint_pairs = sizeof(catalog_endpoint_pairs) / sizeof(catalog_endpoint_pairs[0]);

/* the rollup dimensions, by number */
const DimDef catalog_dims[CAT_NDIMS] = {
	{0, NULL, NULL, NULL, false, false, false},
	{1, "media-id", "mediaId", "e.media_id", true, false, false},
	{2, "media-type", "mediaType", "e.media_type::text", false, true, true},
	{3, "continent", "continent", "e.continent::text", true, true, false},
	{4, "country", "country", "e.country", true, true, false},
	{5, "device-type", "deviceType", "e.device_type::text", true, true, true},
	{6, "operating-system", "operatingSystem", "e.operating_system", true, true, true},
	{7, "browser", "browser", "e.browser", true, true, true},
	{8, "referrer", "referrer", "e.referrer", true, false, false},
};

const char *const catalog_continents[] = {"AF", "AN", "AS", "EU", "NA", "OC", "SA", NULL};
const char *const catalog_device_types[] = {"computer", "phone", "tablet", "tv", "console", "wearable", "unknown", NULL};
const char *const catalog_media_types[] = {"video", "live-stream", NULL};

const QueryMetric *
catalog_query_metric(const char *name)
{
	int			i;

	for (i = 0; i < catalog_n_query_metrics; i++)
		if (strcmp(catalog_query_metrics[i].name, name) == 0)
			return &catalog_query_metrics[i];
	return NULL;
}

/* the stats_metric row of (metric, aggregation); NULL aggregation: the default */
const MetricDef *
catalog_metric_def(const char *metric, const char *aggregation)
{
	int			i;

	for (i = 0; i < catalog_n_metric_defs; i++)
	{
		const MetricDef *d = &catalog_metric_defs[i];

		if (strcmp(d->metric, metric) != 0)
			continue;
		if (aggregation == NULL ? d->is_default
			: (d->aggregation != NULL && strcmp(aggregation, d->aggregation) == 0))
			return d;
	}
	return NULL;
}

/*
 * Does the REST metric name (of the metrics endpoint, or of breakdown and
 * timeseries) take the parameter unique: the metric's query metric takes
 * unique viewers.
 */
bool
catalog_rest_takes_unique(const char *name)
{
	const QueryMetric *qm = catalog_query_metric(name);
	int			i;

	if (qm != NULL && qm->series && qm->unique_viewers)
		return true;
	for (i = 0; i < catalog_n_endpoint_pairs; i++)
		if (strcmp(catalog_endpoint_pairs[i].metric, name) == 0 &&
			catalog_query_metric(catalog_endpoint_pairs[i].query_metric)->unique_viewers)
			return true;
	return false;
}

int
catalog_dim_by_breakdown(const char *breakdown)
{
	int			i;

	for (i = 0; i < CAT_NDIMS; i++)
		if (catalog_dims[i].breakdown && strcmp(catalog_dims[i].breakdown, breakdown) == 0)
			return i;
	return -1;
}

int
catalog_dim_by_filter(const char *key)
{
	int			i;

	for (i = 0; i < CAT_NDIMS; i++)
		if (catalog_dims[i].filter_key && strcmp(catalog_dims[i].filter_key, key) == 0)
			return i;
	return -1;
}

bool
catalog_in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}
