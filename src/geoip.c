/*-------------------------------------------------------------------------
 * geoip.c
 *		analytics.geoip_country(ip inet): the country of an IP address, read
 *		with libmaxminddb from the MaxMind DB file named by the setting
 *		analytics.geoip_database (GeoLite2-Country, GeoLite2-City, DB-IP
 *		country lite, or any database whose records carry
 *		country.iso_code / registered_country.iso_code).
 *
 * Each backend opens the file once (MMDB_open, MMDB_MODE_MMAP) and keeps it
 * in the static state below; libmaxminddb allocates with malloc, so nothing
 * of it lives in a PostgreSQL memory context. The file is reopened
 *	- at once when the setting changes (the path differs), and
 *	- when stat() shows another file (st_dev, st_ino, st_size, st_mtim
 *	  differ). stat() costs about three lookups, so it runs at most once per
 *	  second (CHECK_INTERVAL_MS), not on every call.
 * Update the file by writing a new one and renaming it over the old one:
 * the backends that have the old one mapped keep reading it until their next
 * check, then open the new one. Overwriting the file in place would change
 * pages under their mapping (and truncating it would make them crash with
 * SIGBUS).
 *
 * Lookups never raise an ERROR, so that ingest never fails because of the
 * GeoIP file: a missing, unreadable or invalid file gives one WARNING per
 * (path, version of the file), and NULL results until the file changes.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <maxminddb.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/inet.h"

#include "analytics.h"
#include "geoip.h"

PG_FUNCTION_INFO_V1(analytics_geoip_country_sql);

/* how often an open (or failed) file is checked for a change on disk */
#define CHECK_INTERVAL_MS 1000

/* the database of this backend; all of it in static or malloc'd memory */
typedef struct GeoipState
{
	char	   *path;			/* malloc'd setting this state is for; NULL:
								 * none yet */
	bool		have_version;	/* version below describes the last attempt */
	int			stat_errno;		/* errno of that stat(), 0 if it succeeded */
	dev_t		dev;			/* ... and what it returned */
	ino_t		ino;
	off_t		size;
	struct timespec mtime;
	int64		checked_at_ms;	/* monotonic time of the last stat() */
	bool		is_open;		/* mmdb is open */
	bool		lookup_warned;	/* a lookup error was reported for this file */
	MMDB_s		mmdb;
} GeoipState;

static GeoipState state;

static int64
monotonic_ms(void)
{
	struct timespec ts;

#ifdef CLOCK_MONOTONIC_COARSE
	/* a few ns, 1-4 ms resolution: plenty for a 1 s interval */
	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0)
#endif
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
geoip_close(void)
{
	if (state.is_open)
		MMDB_close(&state.mmdb);

	/*
	 * After a failed MMDB_open the struct has been cleaned up by libmaxminddb
	 * (but not reset: never MMDB_close it).
	 */
	memset(&state.mmdb, 0, sizeof(state.mmdb));
	state.is_open = false;
	state.lookup_warned = false;
}

/* forget everything: no setting, no file */
static void
geoip_reset(void)
{
	geoip_close();
	free(state.path);
	state.path = NULL;
	state.have_version = false;
}

static void
warn_unusable(const char *reason)
{
	ereport(WARNING,
			(errcode(ERRCODE_CONFIG_FILE_ERROR),
			 errmsg("could not open GeoIP database \"%s\": %s", state.path, reason),
			 errdetail("analytics.geoip_country returns NULL until the file is replaced by a valid MaxMind DB file or analytics.geoip_database is changed.")));
}

/*
 * stat() the file of state.path; when it is another file than the one of the
 * last attempt (or there was none), close the old one and open the new one.
 * Warns once for each failed attempt.
 */
static void
geoip_refresh(void)
{
	struct stat st;
	int			status;

	state.checked_at_ms = monotonic_ms();

	if (stat(state.path, &st) != 0)
	{
		int			err = errno;

		if (state.have_version && state.stat_errno == err)
			return;				/* still failing the same way: warned already */
		geoip_close();
		state.have_version = true;
		state.stat_errno = err;
		warn_unusable(strerror(err));
		return;
	}

	if (state.have_version && state.stat_errno == 0 &&
		state.dev == st.st_dev && state.ino == st.st_ino &&
		state.size == st.st_size &&
		state.mtime.tv_sec == st.st_mtim.tv_sec &&
		state.mtime.tv_nsec == st.st_mtim.tv_nsec)
		return;					/* same file as last time */

	geoip_close();
	state.have_version = true;
	state.stat_errno = 0;
	state.dev = st.st_dev;
	state.ino = st.st_ino;
	state.size = st.st_size;
	state.mtime = st.st_mtim;

	/*
	 * If the file is replaced between stat() and MMDB_open(), we hold the
	 * newer file under the older version: the next check reopens it, which is
	 * harmless.
	 */
	errno = 0;
	status = MMDB_open(state.path, MMDB_MODE_MMAP, &state.mmdb);
	if (status != MMDB_SUCCESS)
	{
		int			err = errno;

		memset(&state.mmdb, 0, sizeof(state.mmdb));
		if ((status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR) && err != 0)
			warn_unusable(strerror(err));
		else
			warn_unusable(MMDB_strerror(status));
		return;
	}
	state.is_open = true;
	elog(DEBUG1, "opened GeoIP database \"%s\" (%s, ip_version %u, built %llu)",
		 state.path, state.mmdb.metadata.database_type,
		 (unsigned) state.mmdb.metadata.ip_version,
		 (unsigned long long) state.mmdb.metadata.build_epoch);
}

/* the open database of the current setting, or NULL */
static const MMDB_s *
geoip_database(void)
{
	const char *setting = analytics_geoip_database;

	if (setting == NULL || setting[0] == '\0')
	{
		if (state.path != NULL)
			geoip_reset();
		return NULL;
	}

	if (state.path == NULL || strcmp(state.path, setting) != 0)
	{
		geoip_reset();
		state.path = strdup(setting);
		if (state.path == NULL)
			return NULL;		/* out of memory: try again next call */
		geoip_refresh();
	}
	else if (monotonic_ms() - state.checked_at_ms >= CHECK_INTERVAL_MS)
		geoip_refresh();

	return state.is_open ? &state.mmdb : NULL;
}

/* copy the upper-cased two-letter code at path into buf; false if absent */
static bool
get_iso_code(MMDB_entry_s * entry, const char *key, char buf[3])
{
	MMDB_entry_data_s data;
	int			status;

	status = MMDB_get_value(entry, &data, key, "iso_code", NULL);
	if (status != MMDB_SUCCESS || !data.has_data ||
		data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size != 2)
		return false;
	if (!((data.utf8_string[0] >= 'A' && data.utf8_string[0] <= 'Z') ||
		  (data.utf8_string[0] >= 'a' && data.utf8_string[0] <= 'z')) ||
		!((data.utf8_string[1] >= 'A' && data.utf8_string[1] <= 'Z') ||
		  (data.utf8_string[1] >= 'a' && data.utf8_string[1] <= 'z')))
		return false;
	buf[0] = pg_ascii_toupper((unsigned char) data.utf8_string[0]);
	buf[1] = pg_ascii_toupper((unsigned char) data.utf8_string[1]);
	buf[2] = '\0';
	return true;
}

static const uint8 v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

const char *
analytics_geoip_country(const inet *ip, char buf[3])
{
	const		MMDB_s *mmdb;
	const inet_struct *in;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	const struct sockaddr *sa;
	MMDB_lookup_result_s result;
	int			mmdb_error;

	if (ip == NULL)
		return NULL;
	mmdb = geoip_database();
	if (mmdb == NULL)
		return NULL;

	in = (const inet_struct *) VARDATA_ANY(ip);
	if (in->family == PGSQL_AF_INET ||
		(in->family == PGSQL_AF_INET6 &&
		 memcmp(in->ipaddr, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0))
	{
		/*
		 * IPv4, and IPv4-mapped IPv6 (::ffff:a.b.c.d, what a dual-stack
		 * socket reports for an IPv4 client) as IPv4: libmaxminddb looks it
		 * up in the IPv4 subtree of an IPv6 database (::a.b.c.d), which works
		 * whether or not the database aliases ::ffff:0:0/96 to it.
		 */
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, in->family == PGSQL_AF_INET ? in->ipaddr : in->ipaddr + 12, 4);
		sa = (const struct sockaddr *) &sin;
	}
	else if (in->family == PGSQL_AF_INET6)
	{
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		memcpy(&sin6.sin6_addr, in->ipaddr, 16);
		sa = (const struct sockaddr *) &sin6;
	}
	else
		return NULL;

	result = MMDB_lookup_sockaddr(mmdb, sa, &mmdb_error);
	if (mmdb_error != MMDB_SUCCESS)
	{
		/* an IPv6 address in an IPv4-only database is just not found */
		if (mmdb_error != MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR && !state.lookup_warned)
		{
			state.lookup_warned = true;
			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("could not look up an address in GeoIP database \"%s\": %s",
							state.path, MMDB_strerror(mmdb_error)),
					 errdetail("Further lookup errors in this file are not reported.")));
		}
		return NULL;
	}
	if (!result.found_entry)
		return NULL;
	if (get_iso_code(&result.entry, "country", buf) ||
		get_iso_code(&result.entry, "registered_country", buf))
		return buf;
	return NULL;
}

/* analytics.geoip_country(ip inet) RETURNS text */
Datum
analytics_geoip_country_sql(PG_FUNCTION_ARGS)
{
	inet	   *ip = PG_GETARG_INET_PP(0);
	char		buf[3];

	if (analytics_geoip_country(ip, buf) == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf, 2));
}
