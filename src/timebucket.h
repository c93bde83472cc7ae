/*-------------------------------------------------------------------------
 * timebucket.h
 *		Time buckets aligned in a time zone (minute, hour, day, week, month),
 *		time zone validation and ISO 8601 formatting, shared by the SQL
 *		functions of timebucket.c and the timeseries / JSON code.
 *
 * Bucket semantics (see timebucket.c for details):
 *	- minute/hour: a bucket starts at each instant at which the zone's wall
 *	  clock reads an exact minute/hour.  In a "fall back" hour the repeated
 *	  local hour gives two buckets of 3600 s; a spring-forward gap gives no
 *	  bucket.  Only an offset change that is not a whole number of hours
 *	  (minutes) changes the length of the bucket around it: 90 minutes at
 *	  Australia/Lord_Howe's 30-minute shifts.
 *	- day/week/month: a bucket starts at local midnight of the day / of the
 *	  ISO week's Monday / of the 1st, resolved like PostgreSQL's
 *	  date_trunc(field, ts, zone); when midnight does not exist it is the
 *	  first instant of that local day; when it happens twice (clocks fall
 *	  back from 01:00 to 00:00), the second one, as date_trunc says, and the
 *	  hour before it stays in the previous bucket.
 *	Buckets always partition the time line: start(ts) <= ts < next(start(ts)).
 *-------------------------------------------------------------------------
 */
#ifndef ANALYTICS_TIMEBUCKET_H
#define ANALYTICS_TIMEBUCKET_H

#include "postgres.h"
#include "datatype/timestamp.h"
#include "pgtime.h"

typedef enum AnalyticsBucket
{
	BUCKET_MINUTE = 0,
	BUCKET_HOUR,
	BUCKET_DAY,
	BUCKET_WEEK,
	BUCKET_MONTH
} AnalyticsBucket;

#define BUCKET_COUNT			5

/* most buckets one call may return (docs/metrics.md) */
#define ANALYTICS_MAX_BUCKETS	10000

/* room for the longest analytics_format_iso8601() result, with its NUL */
#define ANALYTICS_ISO8601_BUFLEN 48

/* "minute" ... "month" -> BUCKET_MINUTE ... BUCKET_MONTH; anything else -> -1
 * (exact, lower-case match) */
extern int	analytics_parse_bucket(const char *name);

/* BUCKET_MINUTE -> "minute", ...; NULL for an invalid value */
extern const char *analytics_bucket_name(int bucket);

/* Start of the bucket containing ts.  Infinite ts is returned unchanged. */
extern TimestampTz analytics_bucket_start(int bucket, TimestampTz ts, pg_tz *tz);

/* Start of the bucket following the one that starts at start (= end of that
 * bucket).  start must be a value returned by analytics_bucket_start (or
 * by this function).  Infinite start is returned unchanged. */
extern TimestampTz analytics_bucket_next(int bucket, TimestampTz start, pg_tz *tz);

/* The zone named name (an IANA name such as "UTC" or "Europe/Paris",
 * case-insensitive), or NULL when it is not an accepted zone name.
 * POSIX TZ specifications ("UTC+5", "<+03>-3"), zone abbreviations that are
 * not zone names ("PST"), leap-second zones ("right/...") and the files
 * "localtime" and "posixrules" are rejected. */
extern pg_tz *analytics_parse_time_zone(const char *name);

/* Same as analytics_parse_bucket / analytics_parse_time_zone for SQL text,
 * raising the standard 22023 errors (COLUMN_NAME "interval" / "timeZone")
 * when the value is not accepted. */
extern int	analytics_bucket_from_text(const text *name);
extern pg_tz *analytics_time_zone_from_text(const text *name);

/* ts as "YYYY-MM-DDTHH:MM:SS+HH:MM" in tz's offset at that instant (seconds
 * truncated, offset ":SS" only when not whole minutes, never "Z");
 * "infinity" / "-infinity" for infinite ts.  Writes into buf (at least
 * ANALYTICS_ISO8601_BUFLEN bytes) and returns it. */
extern char *analytics_format_iso8601(TimestampTz ts, pg_tz *tz, char *buf);

#endif							/* ANALYTICS_TIMEBUCKET_H */
