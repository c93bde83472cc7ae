/*
 * iso8601.h - the ISO 8601 date-time parser of player pings (emitted_at,
 * session.loaded_at; README "Player pings").
 *
 * Plain C99 + libc, no PostgreSQL: unit-tested on its own
 * (test/unit/test_iso8601.c); ingest.c converts the result to a timestamptz.
 */
#ifndef ANALYTICS_ISO8601_H
#define ANALYTICS_ISO8601_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse s[0..len) (not NUL-terminated) as
 *
 *     YYYY-MM-DDTHH:MM:SS[.fraction](Z | +HH:MM | -HH:MM)
 *
 * also accepting a lower-case t or a space for T, a lower-case z, and the
 * offsets +HHMM and +HH.  Year 0001..9999, a real calendar date (leap years
 * included), hour 00..23, minute and second 00..59 (no leap second); the
 * fraction has 1..9 digits, of which the first 6 are kept (microseconds,
 * truncated); the offset is at most 15:59.  The whole string must be the
 * date-time (20..64 bytes, nothing before or after).
 *
 * Returns 1 and sets *unix_us to the microseconds since 1970-01-01 00:00:00
 * UTC; returns 0 (and leaves *unix_us alone) for anything else.
 */
int         iso8601_parse(const char *s, size_t len, int64_t *unix_us);

/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d (m 1..12). */
int64_t     iso8601_days_from_civil(int64_t y, int m, int d);

#endif
