/*-------------------------------------------------------------------------
 * enrich.c
 *		Enrichment of pings (README, Enrichment): user-agent dimensions through the
 *		plain-C uap-core parser (src/useragent.c) with a per-backend cache,
 *		and the viewer id, a keyed hash (SipHash-2-4) of user agent + client
 *		IP + UTC day with a per-installation secret.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/memutils.h"

#include "analytics.h"
#include "enrich.h"
#include "siphash.h"
#include "useragent.h"

PG_FUNCTION_INFO_V1(analytics_parse_user_agent);

/* ---------------------------------------------------------------------
 * the uap-core database, loaded once per backend (and again when the
 * setting changes)
 * --------------------------------------------------------------------- */

static ua_db *uadb = NULL;
static char *uadb_path = NULL;	/* malloc'd: the path uadb was loaded from */
static bool uadb_failed = false;

static const ua_db *
get_uadb(void)
{
	const char *path = analytics_uap_regexes ? analytics_uap_regexes : "";

	if (uadb_path != NULL && strcmp(uadb_path, path) == 0)
		return uadb;

	/* (re)load */
	if (uadb != NULL)
		ua_db_free(uadb);
	uadb = NULL;
	free(uadb_path);
	uadb_path = strdup(path);
	uadb_failed = false;
	if (path[0] != '\0')
	{
		char		err[256];

		uadb = ua_db_load(path, err, sizeof(err));
		if (uadb == NULL)
		{
			uadb_failed = true;
			ereport(WARNING,
					(errmsg("could not load the user-agent database \"%s\": %s", path, err),
					 errhint("Install the Debian package uap-core, or set analytics.uap_regexes.")));
		}
	}
	analytics_ua_cache_reset();
	return uadb;
}

/* ---------------------------------------------------------------------
 * the cache: direct-mapped, 4096 slots, in its own memory context
 * --------------------------------------------------------------------- */

#define UA_CACHE_SLOTS 4096
#define UA_CACHE_MAXKEY 1024

typedef struct UaCacheSlot
{
	uint32		hash;
	int			len;			/* -1: empty */
	char	   *ua;
	const char *device_type;	/* static string */
	char		os[UA_FIELD_LEN];
	char		browser[UA_FIELD_LEN];
} UaCacheSlot;

static UaCacheSlot *ua_cache = NULL;
static MemoryContext ua_cache_cxt = NULL;
static uint64 ua_cache_hits = 0;
static uint64 ua_cache_misses = 0;

void
analytics_ua_cache_reset(void)
{
	if (ua_cache_cxt != NULL)
		MemoryContextDelete(ua_cache_cxt);
	ua_cache_cxt = NULL;
	ua_cache = NULL;
}

void
analytics_parse_ua(const char *ua, int len, AnalyticsUa *out)
{
	const ua_db *db = get_uadb();
	uint32		h;
	UaCacheSlot *slot;
	ua_result	r;
	char		buf[UA_PARSE_BUFLEN];

	out->device_type = "unknown";
	strlcpy(out->operating_system, "unknown", sizeof(out->operating_system));
	strlcpy(out->browser, "unknown", sizeof(out->browser));
	if (ua == NULL || len <= 0 || db == NULL)
		return;
	if (len > UA_MAX_INPUT)
		len = UA_MAX_INPUT;		/* the parser matches no more than that */

	if (ua_cache == NULL)
	{
		int			i;

		ua_cache_cxt = AllocSetContextCreate(TopMemoryContext, "analytics user-agent cache",
											 ALLOCSET_DEFAULT_SIZES);
		ua_cache = MemoryContextAllocZero(ua_cache_cxt, sizeof(UaCacheSlot) * UA_CACHE_SLOTS);
		for (i = 0; i < UA_CACHE_SLOTS; i++)
			ua_cache[i].len = -1;
	}

	h = hash_bytes((const unsigned char *) ua, len);
	slot = &ua_cache[h % UA_CACHE_SLOTS];
	if (len <= UA_CACHE_MAXKEY && slot->len == len && slot->hash == h && memcmp(slot->ua, ua, len) == 0)
	{
		ua_cache_hits++;
		out->device_type = slot->device_type;
		strlcpy(out->operating_system, slot->os, sizeof(out->operating_system));
		strlcpy(out->browser, slot->browser, sizeof(out->browser));
		return;
	}

	ua_cache_misses++;
	if (ua_parse(db, ua, (size_t) len, &r, buf, sizeof(buf)) != 0)
		return;
	out->device_type = r.device_type;
	strlcpy(out->operating_system, r.operating_system, sizeof(out->operating_system));
	strlcpy(out->browser, r.browser, sizeof(out->browser));

	if (len <= UA_CACHE_MAXKEY)
	{
		if (slot->len >= 0)
			pfree(slot->ua);
		slot->ua = MemoryContextAlloc(ua_cache_cxt, len);
		memcpy(slot->ua, ua, len);
		slot->len = len;
		slot->hash = h;
		slot->device_type = out->device_type;
		strlcpy(slot->os, out->operating_system, sizeof(slot->os));
		strlcpy(slot->browser, out->browser, sizeof(slot->browser));
	}
}

/*
 * analytics.parse_user_agent(user_agent text,
 *     OUT device_type text, OUT operating_system text, OUT browser text)
 */
Datum
analytics_parse_user_agent(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	AnalyticsUa ua;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	analytics_parse_ua(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &ua);
	values[0] = CStringGetTextDatum(ua.device_type);
	values[1] = CStringGetTextDatum(ua.operating_system);
	values[2] = CStringGetTextDatum(ua.browser);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* ---------------------------------------------------------------------
 * viewer id: SipHash-2-4(secret, user agent || 0x00 || ip || 0x00 || day)
 * --------------------------------------------------------------------- */

static unsigned char viewer_key[16];
static Oid	viewer_key_db = InvalidOid;

/*
 * The per-installation secret, read from analytics.secrets (readable by the
 * extension's owner only) as that owner; cached per backend.  Caller is
 * connected to SPI.
 */
static const unsigned char *
get_viewer_key(void)
{
	Oid			save_userid;
	int			save_sec;
	Oid			owner;
	bool		isnull;
	int			ret;
	bytea	   *b;

	if (viewer_key_db == MyDatabaseId)
		return viewer_key;

	/* by schema, not by name: a dev install is named analytics_NAME */
	ret = SPI_execute("SELECT e.extowner FROM pg_catalog.pg_extension e"
					  " JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
					  " WHERE n.nspname = 'analytics' AND e.extname LIKE 'analytics%'"
					  " ORDER BY e.extname LIMIT 1", true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "extension analytics is not installed");
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	/* as the owner: nothing here may resolve through the caller's search_path */
	ret = SPI_execute("SELECT s.value FROM analytics.secrets s"
					  " WHERE s.name OPERATOR(pg_catalog.=) 'viewer_id'::pg_catalog.text", true, 1);
	SetUserIdAndSecContext(save_userid, save_sec);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "the viewer id secret is missing from analytics.secrets");
	b = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull || VARSIZE_ANY_EXHDR(b) < 16)
		elog(ERROR, "the viewer id secret in analytics.secrets is too short");
	memcpy(viewer_key, VARDATA_ANY(b), 16);
	viewer_key_db = MyDatabaseId;
	return viewer_key;
}

/*
 * The viewer id of (user agent, client IP) on the UTC day of `now`: a
 * positive bigint. Caller is connected to SPI.
 */
int64
analytics_viewer_id(const char *ua, int ualen, inet *ip, TimestampTz now)
{
	const unsigned char *key = get_viewer_key();
	char	   *ipstr = DatumGetCString(DirectFunctionCall1(inet_out, InetPGetDatum(ip)));
	int64		day = now / USECS_PER_DAY - (now % USECS_PER_DAY < 0 ? 1 : 0);
	StringInfoData msg;

	initStringInfo(&msg);
	if (ua != NULL && ualen > 0)
		appendBinaryStringInfo(&msg, ua, ualen);
	appendStringInfoChar(&msg, '\0');
	/* the address only, not a netmask */
	{
		char	   *slash = strchr(ipstr, '/');

		if (slash)
			*slash = '\0';
	}
	appendStringInfoString(&msg, ipstr);
	appendStringInfoChar(&msg, '\0');
	appendStringInfo(&msg, INT64_FORMAT, day);
	return (int64) (siphash24(key, (const unsigned char *) msg.data, msg.len) &
					UINT64CONST(0x7fffffffffffffff));
}
