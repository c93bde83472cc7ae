/*
 * ccvrollup.h - concurrent viewers from the per-minute rollup rows
 * (src/ccvrollup.c), called by the query layer (query.c).
 */
#ifndef ANALYTICS_CCVROLLUP_H
#define ANALYTICS_CCVROLLUP_H

#include "postgres.h"
#include "datatype/timestamp.h"

extern void analytics_ccv_from_rollups(const char *schema, const char *project, const char *media,
									   bool unique_viewers, TimestampTz pf, TimestampTz pt, double result[2]);
extern void analytics_ccv_series_from_rollups(const char *schema, const char *project, const char *media,
											  bool unique_viewers, TimestampTz pf, TimestampTz pt,
											  const char *bucket, const char *time_zone, bool average,
											  Datum *starts, Datum *values);

#endif							/* ANALYTICS_CCVROLLUP_H */
