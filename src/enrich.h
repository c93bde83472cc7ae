/*
 * enrich.h - user-agent dimensions and viewer ids for ingest (src/enrich.c)
 */
#ifndef ANALYTICS_ENRICH_H
#define ANALYTICS_ENRICH_H

#include "postgres.h"
#include "datatype/timestamp.h"
#include "utils/inet.h"
#include "useragent.h"

typedef struct AnalyticsUa
{
	const char *device_type;	/* static string */
	char		operating_system[UA_FIELD_LEN];
	char		browser[UA_FIELD_LEN];
} AnalyticsUa;

/* The dimensions of a user agent (docs/metrics.md; "unknown" when not recognised),
 * served from a per-backend cache */
extern void analytics_parse_ua(const char *ua, int len, AnalyticsUa *out);
extern void analytics_ua_cache_reset(void);

/* keyed hash of user agent + client IP + UTC day; caller connected to SPI */
extern int64 analytics_viewer_id(const char *ua, int ualen, inet *ip, TimestampTz now);

#endif
