/*-------------------------------------------------------------------------
 * timebucket.c
 *		Time buckets aligned in a time zone, for the timeseries queries
 *		(docs/metrics.md) and ISO 8601 timestamps for the JSON API (docs/api.md).
 *
 * SQL functions:
 *	analytics.time_bucket(bucket, ts, time_zone)		-> timestamptz
 *	analytics.time_buckets(bucket, from_ts, to_ts, time_zone)
 *		-> TABLE (bucket_start, bucket_end)
 *	analytics.to_iso8601(ts, time_zone)					-> text
 *	analytics.default_interval(from_ts, to_ts)			-> text
 *
 * Everything uses PostgreSQL's own time zone code (pg_tzset, pg_localtime,
 * pg_next_dst_boundary, DetermineTimeZoneOffset), so results follow the
 * server's time zone database exactly like date_trunc(field, ts, zone).
 *
 * The buckets of one zone are defined by their set S of start instants, and
 * the bucket of ts is the latest start <= ts, so buckets always partition the
 * time line and time_bucket(time_bucket(x)) = time_bucket(x):
 *
 *	minute/hour: S = every instant at which the zone's wall clock reads
 *		HH:MM:00 / HH:00:00 exactly.  Within a stretch of constant UTC offset
 *		these are 60 s / 3600 s apart; in a "fall back" hour the local hour
 *		is read twice, giving two buckets; a "spring forward" gap gives none.
 *		This is date_trunc('hour', ts, zone) everywhere except after an
 *		offset change that is not a whole number of hours (Lord_Howe's
 *		30-minute shift), where date_trunc produces overlapping buckets and
 *		we produce one longer (90-minute) bucket instead; in general the
 *		bucket around such a change is longer or shorter than 3600 s.
 *	day/week/month: S = local midnight of each day / ISO Monday / 1st,
 *		resolved like date_trunc(field, ts, zone) (DetermineTimeZoneOffset).
 *		When midnight does not exist (a DST gap at midnight, e.g.
 *		America/Santiago) this is the first instant of that local day.  When
 *		midnight happens twice (clocks fall back from 01:00 to 00:00, e.g.
 *		America/Havana), date_trunc picks the second one; the first hour
 *		then belongs to the previous day's bucket (date_trunc would return
 *		a "start" later than ts there).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "pgcompat.h"
#include "timebucket.h"

PG_FUNCTION_INFO_V1(analytics_time_bucket);
PG_FUNCTION_INFO_V1(analytics_time_buckets);
PG_FUNCTION_INFO_V1(analytics_to_iso8601);
PG_FUNCTION_INFO_V1(analytics_default_interval);

static const char *const bucket_names[BUCKET_COUNT] = {
	"minute", "hour", "day", "week", "month"
};

/* seconds between the Unix epoch and the PostgreSQL epoch (2000-01-01) */
#define PG_UNIX_EPOCH_DIFF_SECS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

/* longest bad value quoted in an error message, in bytes */
#define ERROR_VALUE_MAXLEN	100

/* guard for the loops over zone transitions (a handful suffice) */
#define MAX_STEPS			64

/* time_buckets() counts buckets up to this many to report a too-long period */
#define COUNT_CAP			1000000

/* ------------------------------------------------------------------------
 * Names and errors
 * ------------------------------------------------------------------------
 */

static int
parse_bucket_bytes(const char *name, int len)
{
	int			i;

	for (i = 0; i < BUCKET_COUNT; i++)
	{
		if ((int) strlen(bucket_names[i]) == len &&
			memcmp(bucket_names[i], name, len) == 0)
			return i;
	}
	return -1;
}

int
analytics_parse_bucket(const char *name)
{
	if (name == NULL)
		return -1;
	return parse_bucket_bytes(name, (int) strnlen(name, 16));
}

const char *
analytics_bucket_name(int bucket)
{
	if (bucket < 0 || bucket >= BUCKET_COUNT)
		return NULL;
	return bucket_names[bucket];
}

/* a bad value, as quoted in an error message: at most ERROR_VALUE_MAXLEN
 * bytes, cut on a character boundary, "..." when cut */
static char *
error_value(const char *value, int len)
{
	int			cut;

	if (len <= ERROR_VALUE_MAXLEN)
		return pnstrdup(value, len);
	cut = pg_mbcliplen(value, len, ERROR_VALUE_MAXLEN);
	return psprintf("%s...", pnstrdup(value, cut));
}

pg_noreturn static void report_invalid_bucket(const char *value, int len);
pg_noreturn static void report_invalid_time_zone(const char *value, int len);

static void
report_invalid_bucket(const char *value, int len)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid interval: \"%s\"", error_value(value, len)),
			 errhint("Valid intervals are: minute, hour, day, week, month."),
			 err_generic_string(PG_DIAG_COLUMN_NAME, "interval")));
}

static void
report_invalid_time_zone(const char *value, int len)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid time_zone: \"%s\"", error_value(value, len)),
			 errhint("Use an IANA time zone name such as 'UTC' or 'Europe/Paris' (see pg_timezone_names)."),
			 err_generic_string(PG_DIAG_COLUMN_NAME, "timeZone")));
}

int
analytics_bucket_from_text(const text *name)
{
	const char *s = VARDATA_ANY(name);
	int			len = VARSIZE_ANY_EXHDR(name);
	int			bucket = parse_bucket_bytes(s, len);

	if (bucket < 0)
		report_invalid_bucket(s, len);
	return bucket;
}

/*
 * Zone names that contain a digit.  Every POSIX TZ specification has one
 * (its UTC offset), and pg_tzset() accepts those ("UTC+5", "Europe/Paris5",
 * "Etc/GMT+99" all "work", with POSIX's inverted sign), so a name with a
 * digit is accepted only if it is one of the real IANA names that have one.
 */
static bool
is_iana_name_with_digit(const char *name)
{
	static const char *const names[] = {
		"EST5EDT", "CST6CDT", "MST7MDT", "PST8PDT",
		"GMT0", "GMT+0", "GMT-0", "Etc/GMT0"
	};
	const char *p = name;
	int			i;

	if (pg_strncasecmp(p, "posix/", 6) == 0)
		p += 6;
	for (i = 0; i < (int) lengthof(names); i++)
	{
		if (pg_strcasecmp(p, names[i]) == 0)
			return true;
	}
	/* Etc/GMT+0 .. Etc/GMT+12, Etc/GMT-0 .. Etc/GMT-14 */
	if (pg_strncasecmp(p, "Etc/GMT", 7) == 0 && (p[7] == '+' || p[7] == '-'))
	{
		char		sign = p[7];
		const char *d = p + 8;
		int			n;

		if (d[0] >= '0' && d[0] <= '9' && d[1] == '\0')
			n = d[0] - '0';
		else if (d[0] >= '1' && d[0] <= '9' && d[1] >= '0' && d[1] <= '9' && d[2] == '\0')
			n = (d[0] - '0') * 10 + (d[1] - '0');
		else
			return false;
		return sign == '+' ? n <= 12 : n <= 14;
	}
	return false;
}

pg_tz *
analytics_parse_time_zone(const char *name)
{
	size_t		len;
	const char *p;
	pg_tz	   *tz;

	if (name == NULL)
		return NULL;
	len = strnlen(name, TZ_STRLEN_MAX + 1);
	if (len == 0 || len > TZ_STRLEN_MAX)
		return NULL;
	for (p = name; *p; p++)
	{
		if (*p >= '0' && *p <= '9')
		{
			if (!is_iana_name_with_digit(name))
				return NULL;
			break;
		}
	}
	/* files of the zone directory that are not zone names */
	p = name;
	if (pg_strncasecmp(p, "posix/", 6) == 0)
		p += 6;
	if (pg_strcasecmp(p, "localtime") == 0 || pg_strcasecmp(p, "posixrules") == 0)
		return NULL;
	tz = pg_tzset(name);
	/* pg_tzset accepts leap-second zones ("right/..."), PostgreSQL can't */
	if (tz == NULL || !pg_tz_acceptable(tz))
		return NULL;
	return tz;
}

pg_tz *
analytics_time_zone_from_text(const text *name)
{
	const char *s = VARDATA_ANY(name);
	int			len = VARSIZE_ANY_EXHDR(name);
	pg_tz	   *tz = NULL;

	if (len > 0 && len <= TZ_STRLEN_MAX && memchr(s, '\0', len) == NULL)
	{
		char		buf[TZ_STRLEN_MAX + 1];

		memcpy(buf, s, len);
		buf[len] = '\0';
		tz = analytics_parse_time_zone(buf);
	}
	if (tz == NULL)
		report_invalid_time_zone(s, len);
	return tz;
}

/*
 * The zone of a function call's time_zone argument, remembered in fn_extra
 * for the next row (time_bucket is typically called once per row with the
 * same zone).
 */
typedef struct TimeZoneCache
{
	pg_tz	   *tz;
	int			len;
	char		name[TZ_STRLEN_MAX + 1];
} TimeZoneCache;

static pg_tz *
cached_time_zone(FunctionCallInfo fcinfo, const text *zone)
{
	TimeZoneCache *cache = (TimeZoneCache *) fcinfo->flinfo->fn_extra;
	const char *s = VARDATA_ANY(zone);
	int			len = VARSIZE_ANY_EXHDR(zone);
	pg_tz	   *tz;

	if (cache != NULL && cache->tz != NULL && cache->len == len &&
		memcmp(cache->name, s, len) == 0)
		return cache->tz;

	tz = analytics_time_zone_from_text(zone);	/* errors out if invalid */

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(TimeZoneCache));
		fcinfo->flinfo->fn_extra = cache;
	}
	Assert(len <= TZ_STRLEN_MAX);
	memcpy(cache->name, s, len);
	cache->len = len;
	cache->tz = tz;
	return tz;
}

/* ------------------------------------------------------------------------
 * Zone offsets and transitions
 * ------------------------------------------------------------------------
 */

static inline int64
floor_div(int64 a, int64 b)
{
	int64		q = a / b;

	if (a % b < 0)
		q--;
	return q;
}

static inline int64
floor_mod(int64 a, int64 b)
{
	int64		m = a % b;

	if (m < 0)
		m += b;
	return m;
}

pg_noreturn static void report_out_of_range(void);

static void
report_out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
			 errmsg("timestamp out of range")));
}

/* the second (Unix time) containing ts */
static inline pg_time_t
ts_to_pgtime(TimestampTz ts)
{
	return (pg_time_t) (floor_div(ts, USECS_PER_SEC) + PG_UNIX_EPOCH_DIFF_SECS);
}

/* UTC offset (seconds east of Greenwich) of tz at ts */
static long
zone_gmtoff(TimestampTz ts, pg_tz *tz)
{
	pg_time_t	t = ts_to_pgtime(ts);
	struct pg_tm *tm = pg_localtime(&t, tz);

	if (tm == NULL)
		report_out_of_range();
	return tm->tm_gmtoff;
}

/*
 * The first transition of tz strictly after ts (an instant where the UTC
 * offset, or only the DST flag or abbreviation, changes), or DT_NOEND.
 */
static TimestampTz
next_transition(TimestampTz ts, pg_tz *tz)
{
	pg_time_t	t = ts_to_pgtime(ts);
	pg_time_t	boundary;
	long		before_gmtoff,
				after_gmtoff;
	int			before_isdst,
				after_isdst;
	int64		result;

	if (pg_next_dst_boundary(&t, &before_gmtoff, &before_isdst, &boundary,
							 &after_gmtoff, &after_isdst, tz) != 1)
		return DT_NOEND;
	/* boundary > t, a whole second, hence > ts */
	if (pg_sub_s64_overflow(boundary, PG_UNIX_EPOCH_DIFF_SECS, &result) ||
		pg_mul_s64_overflow(result, USECS_PER_SEC, &result) ||
		result == DT_NOEND)
		return DT_NOEND;
	return result;
}

/* ------------------------------------------------------------------------
 * minute and hour buckets
 * ------------------------------------------------------------------------
 */

/* latest instant <= ts whose wall clock reads a multiple of unit */
static TimestampTz
subday_start(TimestampTz ts, int64 unit, pg_tz *tz)
{
	TimestampTz t = ts;
	int			i;

	for (i = 0; i < MAX_STEPS; i++)
	{
		long		gmtoff = zone_gmtoff(t, tz);
		TimestampTz s = t - floor_mod(t + gmtoff * USECS_PER_SEC, unit);
		TimestampTz last = DT_NOBEGIN;
		TimestampTz b;
		int			j;

		/*
		 * s reads a multiple of unit with t's offset.  It is the answer
		 * unless the offset changed in (s, t]: then the latest one lies
		 * before the last such transition.
		 */
		b = next_transition(s, tz);
		for (j = 0; b <= t && j < MAX_STEPS; j++)
		{
			last = b;
			b = next_transition(b, tz);
		}
		if (last == DT_NOBEGIN)
			return s;
		t = last - 1;
	}
	elog(ERROR, "could not find the bucket of a timestamp in time zone \"%s\"",
		 pg_get_timezone_name(tz));
	return 0;					/* keep compiler quiet */
}

/* earliest instant > start whose wall clock reads a multiple of unit */
static TimestampTz
subday_next(TimestampTz start, int64 unit, pg_tz *tz)
{
	TimestampTz t = start;
	bool		strict = true;
	int			i;

	for (i = 0; i < MAX_STEPS; i++)
	{
		long		gmtoff = zone_gmtoff(t, tz);
		int64		m = floor_mod(t + gmtoff * USECS_PER_SEC, unit);
		TimestampTz s;
		TimestampTz b;

		if (m == 0)
			s = strict ? t + unit : t;
		else
			s = t + (unit - m);
		/* the offset of t holds until the next transition */
		b = next_transition(t, tz);
		if (s < b)
			return s;
		t = b;
		strict = false;
	}
	elog(ERROR, "could not find the next bucket in time zone \"%s\"",
		 pg_get_timezone_name(tz));
	return 0;					/* keep compiler quiet */
}

/* ------------------------------------------------------------------------
 * day, week and month buckets
 * ------------------------------------------------------------------------
 */

/* local date (Julian day) of ts in tz */
static int
local_jdate(TimestampTz ts, pg_tz *tz)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;

	if (timestamp2tm(ts, &tzoff, &tm, &fsec, NULL, tz) != 0)
		report_out_of_range();
	return date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);
}

/*
 * Start of local day jd in tz: local midnight resolved like date_trunc
 * (DetermineTimeZoneOffset: a skipped midnight maps to the end of the gap,
 * a repeated one to its second occurrence).  If midnight is skipped by a
 * gap that starts before midnight, date_trunc lands inside the day; we take
 * the first instant of the day (the transition) instead.
 */
static TimestampTz
local_midnight(int jd, pg_tz *tz)
{
	struct pg_tm tm;
	struct pg_tm tm2;
	fsec_t		fsec;
	int			tzoff;
	TimestampTz result;

	memset(&tm, 0, sizeof(tm));
	j2date(jd, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	tzoff = DetermineTimeZoneOffset(&tm, tz);
	if (tm2timestamp(&tm, 0, &tzoff, &result) != 0)
		report_out_of_range();

	if (timestamp2tm(result, &tzoff, &tm2, &fsec, NULL, tz) != 0)
		report_out_of_range();
	if (tm2.tm_hour != 0 || tm2.tm_min != 0 || tm2.tm_sec != 0 || fsec != 0)
	{
		/* midnight does not exist: find the transition that skipped it */
		TimestampTz last = DT_NOBEGIN;
		TimestampTz b;
		int			j;

		if (result - USECS_PER_DAY < MIN_TIMESTAMP)
			return result;
		b = next_transition(result - USECS_PER_DAY, tz);
		for (j = 0; b <= result && j < MAX_STEPS; j++)
		{
			last = b;
			b = next_transition(b, tz);
		}
		if (last != DT_NOBEGIN && last > MIN_TIMESTAMP &&
			local_jdate(last, tz) == jd && local_jdate(last - 1, tz) < jd)
			result = last;
	}
	return result;
}

/* first day of the bucket containing local day jd */
static int
bucket_first_day(int bucket, int jd)
{
	int			y,
				m,
				d;

	switch (bucket)
	{
		case BUCKET_DAY:
			return jd;
		case BUCKET_WEEK:
			/* j2day: 0 = Sunday; ISO weeks start on Monday */
			return jd - (j2day(jd) + 6) % 7;
		case BUCKET_MONTH:
			j2date(jd, &y, &m, &d);
			return date2j(y, m, 1);
	}
	elog(ERROR, "invalid calendar bucket %d", bucket);
	return 0;					/* keep compiler quiet */
}

/* first day of the bucket after the one whose first day is jd */
static int
bucket_following_day(int bucket, int jd)
{
	int			y,
				m,
				d;

	switch (bucket)
	{
		case BUCKET_DAY:
			return jd + 1;
		case BUCKET_WEEK:
			return jd + 7;
		case BUCKET_MONTH:
			j2date(jd, &y, &m, &d);
			if (m == MONTHS_PER_YEAR)
				return date2j(y + 1, 1, 1);
			return date2j(y, m + 1, 1);
	}
	elog(ERROR, "invalid calendar bucket %d", bucket);
	return 0;					/* keep compiler quiet */
}

static TimestampTz
calendar_start(int bucket, TimestampTz ts, pg_tz *tz)
{
	int			jd = bucket_first_day(bucket, local_jdate(ts, tz));
	int			i;

	for (i = 0; i < MAX_STEPS; i++)
	{
		TimestampTz s = local_midnight(jd, tz);

		/*
		 * s > ts only when ts is in the first occurrence of a repeated
		 * midnight hour (date_trunc resolves midnight to the second one), or
		 * before the first instant of a day whose midnight was skipped: ts
		 * then belongs to the previous bucket.
		 */
		if (s <= ts)
			return s;
		jd = bucket_first_day(bucket, jd - 1);
	}
	elog(ERROR, "could not find the bucket of a timestamp in time zone \"%s\"",
		 pg_get_timezone_name(tz));
	return 0;					/* keep compiler quiet */
}

static TimestampTz
calendar_next(int bucket, TimestampTz start, pg_tz *tz)
{
	int			jd = bucket_first_day(bucket, local_jdate(start, tz));
	int			i;

	for (i = 0; i < MAX_STEPS; i++)
	{
		TimestampTz s;

		jd = bucket_following_day(bucket, jd);
		s = local_midnight(jd, tz);
		/* a local day can be skipped entirely (Pacific/Apia, 2011-12-30) */
		if (s > start)
			return s;
	}
	elog(ERROR, "could not find the next bucket in time zone \"%s\"",
		 pg_get_timezone_name(tz));
	return 0;					/* keep compiler quiet */
}

/* ------------------------------------------------------------------------
 * Exported C API
 * ------------------------------------------------------------------------
 */

TimestampTz
analytics_bucket_start(int bucket, TimestampTz ts, pg_tz *tz)
{
	TimestampTz result;

	if (tz == NULL)
		elog(ERROR, "analytics_bucket_start: no time zone");
	if (TIMESTAMP_NOT_FINITE(ts))
		return ts;
	switch (bucket)
	{
		case BUCKET_MINUTE:
			result = subday_start(ts, USECS_PER_MINUTE, tz);
			break;
		case BUCKET_HOUR:
			result = subday_start(ts, USECS_PER_HOUR, tz);
			break;
		case BUCKET_DAY:
		case BUCKET_WEEK:
		case BUCKET_MONTH:
			result = calendar_start(bucket, ts, tz);
			break;
		default:
			elog(ERROR, "invalid bucket %d", bucket);
			result = 0;			/* keep compiler quiet */
	}
	if (!IS_VALID_TIMESTAMP(result))
		report_out_of_range();
	return result;
}

TimestampTz
analytics_bucket_next(int bucket, TimestampTz start, pg_tz *tz)
{
	TimestampTz result;

	if (tz == NULL)
		elog(ERROR, "analytics_bucket_next: no time zone");
	if (TIMESTAMP_NOT_FINITE(start))
		return start;
	switch (bucket)
	{
		case BUCKET_MINUTE:
			result = subday_next(start, USECS_PER_MINUTE, tz);
			break;
		case BUCKET_HOUR:
			result = subday_next(start, USECS_PER_HOUR, tz);
			break;
		case BUCKET_DAY:
		case BUCKET_WEEK:
		case BUCKET_MONTH:
			result = calendar_next(bucket, start, tz);
			break;
		default:
			elog(ERROR, "invalid bucket %d", bucket);
			result = 0;			/* keep compiler quiet */
	}
	if (!IS_VALID_TIMESTAMP(result))
		report_out_of_range();
	return result;
}

char *
analytics_format_iso8601(TimestampTz ts, pg_tz *tz, char *buf)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;
	int			offset;
	char		sign;
	char		year[16];

	if (TIMESTAMP_IS_NOBEGIN(ts))
	{
		strcpy(buf, "-infinity");
		return buf;
	}
	if (TIMESTAMP_IS_NOEND(ts))
	{
		strcpy(buf, "infinity");
		return buf;
	}
	if (timestamp2tm(ts, &tzoff, &tm, &fsec, NULL, tz) != 0)
		report_out_of_range();

	/* tm_year is astronomical (0 = 1 BC), as ISO 8601 wants it */
	if (tm.tm_year >= 0 && tm.tm_year <= 9999)
		snprintf(year, sizeof(year), "%04d", tm.tm_year);
	else						/* ISO 8601 expanded year, as JavaScript
								 * writes it */
		snprintf(year, sizeof(year), "%c%06d", tm.tm_year < 0 ? '-' : '+',
				 abs(tm.tm_year));

	offset = -tzoff;			/* tzoff is seconds west of Greenwich */
	sign = offset < 0 ? '-' : '+';
	offset = abs(offset);
	if (offset % SECS_PER_MINUTE == 0)
		snprintf(buf, ANALYTICS_ISO8601_BUFLEN, "%s-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
				 year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
				 sign, offset / SECS_PER_HOUR, offset / SECS_PER_MINUTE % MINS_PER_HOUR);
	else
		snprintf(buf, ANALYTICS_ISO8601_BUFLEN, "%s-%02d-%02dT%02d:%02d:%02d%c%02d:%02d:%02d",
				 year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
				 sign, offset / SECS_PER_HOUR, offset / SECS_PER_MINUTE % MINS_PER_HOUR,
				 offset % SECS_PER_MINUTE);
	return buf;
}

/* ------------------------------------------------------------------------
 * SQL functions
 * ------------------------------------------------------------------------
 */

/* analytics.time_bucket(bucket text, ts timestamptz, time_zone text) */
Datum
analytics_time_bucket(PG_FUNCTION_ARGS)
{
	text	   *bucket_name = PG_GETARG_TEXT_PP(0);
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(1);
	text	   *zone = PG_GETARG_TEXT_PP(2);
	int			bucket = analytics_bucket_from_text(bucket_name);
	pg_tz	   *tz = cached_time_zone(fcinfo, zone);

	PG_RETURN_TIMESTAMPTZ(analytics_bucket_start(bucket, ts, tz));
}

/*
 * analytics.time_buckets(bucket text, from_ts timestamptz, to_ts timestamptz,
 *						  time_zone text)
 *	RETURNS TABLE (bucket_start timestamptz, bucket_end timestamptz)
 *
 * Every bucket intersecting [from_ts, to_ts), in order; the first one is the
 * bucket of from_ts.  At most ANALYTICS_MAX_BUCKETS.
 */
Datum
analytics_time_buckets(PG_FUNCTION_ARGS)
{
	text	   *bucket_name = PG_GETARG_TEXT_PP(0);
	TimestampTz from_ts = PG_GETARG_TIMESTAMPTZ(1);
	TimestampTz to_ts = PG_GETARG_TIMESTAMPTZ(2);
	text	   *zone = PG_GETARG_TEXT_PP(3);
	int			bucket = analytics_bucket_from_text(bucket_name);
	pg_tz	   *tz = cached_time_zone(fcinfo, zone);
	char		from_buf[ANALYTICS_ISO8601_BUFLEN];
	char		to_buf[ANALYTICS_ISO8601_BUFLEN];
	TimestampTz *bounds;
	TimestampTz s;
	int64		n = 0;
	ReturnSetInfo *rsinfo;
	int64		i;

	if (TIMESTAMP_NOT_FINITE(from_ts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid from_ts: \"%s\"",
						analytics_format_iso8601(from_ts, tz, from_buf)),
				 errhint("from_ts and to_ts must be finite timestamps."),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "from")));
	if (TIMESTAMP_NOT_FINITE(to_ts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid to_ts: \"%s\"",
						analytics_format_iso8601(to_ts, tz, to_buf)),
				 errhint("from_ts and to_ts must be finite timestamps."),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "to")));
	if (from_ts >= to_ts)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("from_ts must be before to_ts"),
				 errdetail("from_ts is %s, to_ts is %s.",
						   analytics_format_iso8601(from_ts, tz, from_buf),
						   analytics_format_iso8601(to_ts, tz, to_buf)),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "from")));

	/* bounds[0..n]: the n buckets are [bounds[i], bounds[i + 1]) */
	bounds = palloc((ANALYTICS_MAX_BUCKETS + 1) * sizeof(TimestampTz));
	s = analytics_bucket_start(bucket, from_ts, tz);
	bounds[0] = s;
	while (s < to_ts)
	{
		CHECK_FOR_INTERRUPTS();
		s = analytics_bucket_next(bucket, s, tz);
		n++;
		if (n <= ANALYTICS_MAX_BUCKETS)
			bounds[n] = s;
		else if (n >= COUNT_CAP)
			break;
	}

	if (n > ANALYTICS_MAX_BUCKETS)
	{
		char	   *count = (s < to_ts) ?
		psprintf("more than " INT64_FORMAT, n) :
		psprintf(INT64_FORMAT, n);

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("too many buckets: %s", count),
				 errdetail("The period from %s to %s has %s %s buckets; the limit is %d.",
						   analytics_format_iso8601(from_ts, tz, from_buf),
						   analytics_format_iso8601(to_ts, tz, to_buf),
						   count, bucket_names[bucket], ANALYTICS_MAX_BUCKETS),
				 errhint("Use a larger interval or a shorter period."),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "interval")));
	}

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	for (i = 0; i < n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = TimestampTzGetDatum(bounds[i]);
		values[1] = TimestampTzGetDatum(bounds[i + 1]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(bounds);
	return (Datum) 0;
}

/* analytics.to_iso8601(ts timestamptz, time_zone text) */
Datum
analytics_to_iso8601(PG_FUNCTION_ARGS)
{
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(0);
	text	   *zone = PG_GETARG_TEXT_PP(1);
	pg_tz	   *tz = cached_time_zone(fcinfo, zone);
	char		buf[ANALYTICS_ISO8601_BUFLEN];

	PG_RETURN_TEXT_P(cstring_to_text(analytics_format_iso8601(ts, tz, buf)));
}

/* analytics.default_interval(from_ts, to_ts): 'hour' when to - from <= 2 days */
Datum
analytics_default_interval(PG_FUNCTION_ARGS)
{
	TimestampTz from_ts = PG_GETARG_TIMESTAMPTZ(0);
	TimestampTz to_ts = PG_GETARG_TIMESTAMPTZ(1);
	int64		diff;
	bool		hour;

	if (TIMESTAMP_NOT_FINITE(from_ts) || TIMESTAMP_NOT_FINITE(to_ts) ||
		pg_sub_s64_overflow(to_ts, from_ts, &diff))
		hour = false;
	else
		hour = diff <= 2 * USECS_PER_DAY;
	PG_RETURN_TEXT_P(cstring_to_text(bucket_names[hour ? BUCKET_HOUR : BUCKET_DAY]));
}
