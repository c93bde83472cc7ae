/*-------------------------------------------------------------------------
 * ingest.c
 *		analytics.ingest_ping(payload, user_agent, country, client_ip,
 *		project_id): the PostgreSQL wrapper of the plain-C ping normalizer
 *		(src/ping.c); analytics.ingest_pings(pings), the same for a batch of
 *		pings in one call (below, "ingest_pings"); analytics.continent_of
 *		(country) and the country check of analytics.events.  The ISO 8601
 *		timestamps of a ping are parsed by src/iso8601.c.
 *
 * One call = one ping of one playback = (session id, session.loaded_at):
 *	1. validate and read the jsonb payload into a ping_input (22023 naming
 *	   the field on any mistake, before anything is written);
 *	2. lock the playback's state row in analytics.ping_sessions (created on
 *	   first sight; INSERT ... ON CONFLICT DO NOTHING then SELECT ... FOR
 *	   UPDATE, so concurrent pings of one playback serialize on that row and
 *	   different playbacks never wait for each other);
 *	3. normalize, insert the events into analytics.events, store the state.
 *
 * Privileges (README, Tenancy): ingest_ping runs with the caller's rights.  It first
 * checks that the caller may write the ping's project (42501 otherwise), and
 * inserts the events as the caller (so the row-level security of
 * analytics.events applies too).  Only the session state, which tenants
 * cannot read or write, goes through two SECURITY DEFINER functions with a
 * pinned search_path, analytics._ping_state_lock and _ping_state_store,
 * called through fmgr; they are not executable by PUBLIC and accept only the
 * project that ingest_ping has just checked.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <sys/socket.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "analytics.h"
#include "continent.h"
#include "enrich.h"
#include "geoip.h"
#include "iso8601.h"
#include "jsonbuild.h"
#include "parseutil.h"
#include "ping.h"

PG_FUNCTION_INFO_V1(analytics_ingest_ping);
PG_FUNCTION_INFO_V1(analytics_ping_state_lock);
PG_FUNCTION_INFO_V1(analytics_ping_state_store);
PG_FUNCTION_INFO_V1(analytics_continent_of);

/* ---------------------------------------------------------------------
 * errors
 * --------------------------------------------------------------------- */

static void
invalid_field(const char *field, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid ping: %s: %s", field, detail),
			 errhint("See the ping format in the README: {\"emitted_at\", \"session\": {\"loaded_at\", \"video_id\" or \"live_stream_id\", ...}, \"events\": [...]}."),
			 err_generic_string(PG_DIAG_COLUMN_NAME, field)));
}

/*
 * An argument other than the payload is wrong (README "Player pings"): the
 * message names the argument, without the hint about the payload's format.
 */
static void
invalid_argument(const char *arg, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s: %s", arg, detail),
			 err_generic_string(PG_DIAG_COLUMN_NAME, arg)));
}

/*
 * The country argument (a CDN's country header): an ISO 3166-1 alpha-2 code,
 * any case, ASCII blanks around it ignored, gives the code (upper case, in
 * cc) and its continent; anything else (empty, XX, T1, EU, A1, garbage...)
 * is an unknown country: NULL, never an error.
 */
static const char *
country_from_header(const text *t, char cc[3], const char **continent)
{
	const char *s = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);

	while (len > 0 && (s[0] == ' ' || s[0] == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len != 2)
		return NULL;
	cc[0] = pg_ascii_toupper((unsigned char) s[0]);
	cc[1] = pg_ascii_toupper((unsigned char) s[1]);
	cc[2] = '\0';
	*continent = continent_of_country(cc);
	return *continent != NULL ? cc : NULL;
}

/* ---------------------------------------------------------------------
 * reading the payload
 * --------------------------------------------------------------------- */

static JsonbValue *
get_key(JsonbContainer *c, const char *key)
{
	return getKeyJsonValueFromContainer(c, key, strlen(key), NULL);
}

static JsonbContainer *
as_object(JsonbValue *v)
{
	if (v != NULL && v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data))
		return v->val.binary.data;
	return NULL;
}

/* a string field, palloc'd; NULL when absent or JSON null and !required */
static char *
get_string(JsonbContainer *c, const char *key, const char *field, bool required)
{
	JsonbValue *v = get_key(c, key);

	if (v == NULL || v->type == jbvNull)
	{
		if (required)
			invalid_field(field, "missing");
		return NULL;
	}
	if (v->type != jbvString)
		invalid_field(field, "must be a string");
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static TimestampTz
get_timestamp(JsonbContainer *c, const char *key, const char *field)
{
	JsonbValue *v = get_key(c, key);
	int64_t		unix_us;

	if (v == NULL || v->type == jbvNull)
		invalid_field(field, "missing");
	if (v->type != jbvString)
		invalid_field(field, "must be an ISO 8601 date-time string");
	if (!iso8601_parse(v->val.string.val, v->val.string.len, &unix_us))
		invalid_field(field, "not an ISO 8601 date-time such as 2024-05-29T11:00:10.000Z");
	return (TimestampTz) (unix_us - (int64) UNIX_TO_PG_DAYS * USECS_PER_DAY);
}

/* a number field; NAN when absent or null */
static double
get_number(JsonbContainer *c, const char *key, const char *field)
{
	JsonbValue *v = get_key(c, key);
	char	   *s;
	double		d;

	if (v == NULL || v->type == jbvNull)
		return NAN;
	if (v->type != jbvNumeric)
		invalid_field(field, "must be a number");
	s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	d = strtod(s, NULL);		/* overflow gives inf: rejected by the
								 * normalizer */
	pfree(s);
	return d;
}

/* "8-4-4-4-12" hex uuid text */
static bool
parse_uuid_text(const char *s, pg_uuid_t *out)
{
	int			i,
				j = 0;

	if (strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++)
	{
		int			hi,
					lo;

		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (s[i] != '-')
				return false;
			continue;
		}
		hi = hexval((unsigned char) s[i]);
		lo = (i + 1 < 36) ? hexval((unsigned char) s[i + 1]) : -1;
		if (hi < 0 || lo < 0)
			return false;
		out->data[j++] = (unsigned char) (hi * 16 + lo);
		i++;
	}
	return j == UUID_LEN;
}

static void
random_uuid(pg_uuid_t *u)
{
	if (!pg_strong_random(u->data, UUID_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random session id")));
	u->data[6] = (u->data[6] & 0x0f) | 0x40;	/* version 4 */
	u->data[8] = (u->data[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
}

/* ---------------------------------------------------------------------
 * SPI statements, prepared once per backend
 * --------------------------------------------------------------------- */

static SPIPlanPtr plan_insert_session = NULL;
static SPIPlanPtr plan_lock_session = NULL;
static SPIPlanPtr plan_insert_events = NULL;
static SPIPlanPtr plan_update_session = NULL;

static SPIPlanPtr
prepare(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types)
{
	if (*slot == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, types);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		*slot = p;
	}
	return *slot;
}

static Datum
text_array(const char *const *items, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(items[i]);
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* ---------------------------------------------------------------------
 * the session state, as the extension's owner
 * --------------------------------------------------------------------- */

/*
 * The project ingest_ping has checked, for the one state call it is making:
 * the SECURITY DEFINER state functions accept nothing else, so they are of
 * no use even to a role that was wrongly granted EXECUTE on them.
 */
static char *state_ticket = NULL;	/* in TopMemoryContext */

static void
set_ticket(const char *project)
{
	if (state_ticket != NULL)
		pfree(state_ticket);
	state_ticket = project ? MemoryContextStrdup(TopMemoryContext, project) : NULL;
}

static void
take_ticket(const char *project)
{
	bool		ok = state_ticket != NULL && strcmp(state_ticket, project) == 0;

	set_ticket(NULL);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for the ingest state of project \"%s\"", project),
				 errhint("Call analytics.ingest_ping.")));
}

/* the arguments of an internal function, none of them NULL */
static void
args_not_null(FunctionCallInfo fcinfo, const char *fname, int nargs, Datum *values)
{
	for (int i = 0; i < nargs; i++)
	{
		if (PG_ARGISNULL(i))
			elog(ERROR, "analytics.%s: argument %d is NULL", fname, i + 1);
		values[i] = PG_GETARG_DATUM(i);
	}
}

/*
 * The arguments of _ping_state_lock / _ping_state_store, checked: none NULL
 * and the caller holds the project's ticket (set by ingest_ping).
 */
static void
state_args(FunctionCallInfo fcinfo, const char *fname, int nargs, Datum *values)
{
	args_not_null(fcinfo, fname, nargs, values);
	take_ticket(text_to_cstring(PG_GETARG_TEXT_PP(0)));
}

typedef struct StateFns
{
	FmgrInfo	lock;
	FmgrInfo	store;
} StateFns;

/* call analytics._ping_state_lock (store = false) or _ping_state_store */
static Datum
ping_state_call(FmgrInfo *outer, bool store, const char *project, pg_uuid_t *sid,
				TimestampTz loaded_at, const char *media_id, const char *media_type, bytea *state)
{
	StateFns   *fns = (StateFns *) outer->fn_extra;

	LOCAL_FCINFO(fc, 5);
	Datum		result;

	if (fns == NULL)
	{
		Oid			lock_types[5] = {TEXTOID, UUIDOID, TIMESTAMPTZOID, TEXTOID, TEXTOID};
		Oid			store_types[4] = {TEXTOID, UUIDOID, TIMESTAMPTZOID, BYTEAOID};

		fns = MemoryContextAllocZero(outer->fn_mcxt, sizeof(StateFns));
		analytics_lookup_internal(&fns->lock, outer->fn_mcxt, "_ping_state_lock", 5, lock_types);
		analytics_lookup_internal(&fns->store, outer->fn_mcxt, "_ping_state_store", 4, store_types);
		outer->fn_extra = fns;
	}
	InitFunctionCallInfoData(*fc, store ? &fns->store : &fns->lock, store ? 4 : 5, InvalidOid, NULL, NULL);
	fc->args[0].value = CStringGetTextDatum(project);
	fc->args[1].value = UUIDPGetDatum(sid);
	fc->args[2].value = TimestampTzGetDatum(loaded_at);
	if (store)
		fc->args[3].value = PointerGetDatum(state);
	else
	{
		fc->args[3].value = CStringGetTextDatum(media_id);
		fc->args[4].value = CStringGetTextDatum(media_type);
	}
	for (int i = 0; i < fc->nargs; i++)
		fc->args[i].isnull = false;
	set_ticket(project);
	result = FunctionCallInvoke(fc);
	set_ticket(NULL);
	if (fc->isnull && !store)
		elog(ERROR, "could not lock the session state");
	return result;
}

/*
 * analytics._ping_state_lock(project_id, session_id, loaded_at, media_id,
 * media_type) RETURNS bytea: the playback's state row, locked FOR UPDATE,
 * created (zeroed) on first sight.  SECURITY DEFINER.
 */
Datum
analytics_ping_state_lock(PG_FUNCTION_ARGS)
{
	Oid			types[6] = {TEXTOID, UUIDOID, TIMESTAMPTZOID, TEXTOID, TEXTOID, BYTEAOID};
	Datum		values[6];
	bytea	   *zero = palloc0(VARHDRSZ + sizeof(ping_state));
	bool		isnull;
	Datum		d;
	bytea	   *stored;
	bytea	   *result;
	int			ret;

	state_args(fcinfo, "_ping_state_lock", 5, values);
	SET_VARSIZE(zero, VARHDRSZ + sizeof(ping_state));
	values[5] = PointerGetDatum(zero);

	SPI_connect();
	/* usually the row exists: lock it; else create it and lock it then */
	ret = SPI_execute_plan(prepare(&plan_lock_session,
								   "SELECT state FROM analytics.ping_sessions"
								   " WHERE project_id = $1 AND session_id = $2 AND loaded_at = $3"
								   " FOR UPDATE", 3, types),
						   values, NULL, false, 1);
	if (ret == SPI_OK_SELECT && SPI_processed == 0)
	{
		ret = SPI_execute_plan(prepare(&plan_insert_session,
									   "INSERT INTO analytics.ping_sessions"
									   " (project_id, session_id, loaded_at, media_id, media_type, state)"
									   " VALUES ($1, $2, $3, $4, $5::analytics.media_type, $6)"
									   " ON CONFLICT DO NOTHING", 6, types),
							   values, NULL, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "could not create the session state: %s", SPI_result_code_string(ret));
		ret = SPI_execute_plan(plan_lock_session, values, NULL, false, 1);
	}
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not lock the session state");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "corrupt session state");
	stored = DatumGetByteaPP(d);
	result = (bytea *) SPI_palloc(VARSIZE_ANY(stored));
	memcpy(result, stored, VARSIZE_ANY(stored));
	SPI_finish();
	PG_RETURN_BYTEA_P(result);
}

/*
 * analytics._ping_state_store(project_id, session_id, loaded_at, state):
 * writes the state of a playback locked by _ping_state_lock.  SECURITY DEFINER.
 */
Datum
analytics_ping_state_store(PG_FUNCTION_ARGS)
{
	Oid			types[4] = {TEXTOID, UUIDOID, TIMESTAMPTZOID, BYTEAOID};
	Datum		values[4];
	int			ret;

	state_args(fcinfo, "_ping_state_store", 4, values);

	SPI_connect();
	ret = SPI_execute_plan(prepare(&plan_update_session,
								   "UPDATE analytics.ping_sessions SET state = $4, updated_at = pg_catalog.now()"
								   " WHERE project_id = $1 AND session_id = $2 AND loaded_at = $3", 4, types),
						   values, NULL, false, 0);
	if (ret != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "could not store the session state");
	SPI_finish();
	PG_RETURN_VOID();
}

/* ---------------------------------------------------------------------
 * one ping, read and checked (no write): shared by ingest_ping and
 * ingest_pings
 * --------------------------------------------------------------------- */

typedef struct PingReq
{
	char	   *project;
	char	   *media_id;
	const char *media_type;
	char	   *referrer;
	pg_uuid_t	sid;
	char	   *country;		/* upper-case ISO code, or NULL */
	const char *continent;
	AnalyticsUa ua;
	text	   *ua_text;
	inet	   *ip;
	ping_input	in;
} PingReq;

/*
 * Reads and checks one ping with its headers into *r, in this order (the
 * order of the errors): payload size and shape, project (and the caller's
 * right to write it), country, user agent, then the payload's fields.
 * Raises 22023 / 42501 / 54000-class errors naming the field; writes
 * nothing, takes no lock, holds no resource when it raises (ingest_pings
 * relies on it to turn an error into the ping's reply).
 * checked_project: a project the caller was already checked for (or NULL).
 */
static void
ping_parse(PingReq *r, Jsonb *payload, text *ua_text, text *country_arg, inet *ip, text *project_arg,
		   const char *checked_project)
{
	JsonbContainer *root;
	JsonbContainer *session;
	JsonbValue *v;
	char	   *video_id;
	char	   *live_id;
	char	   *session_text;
	ping_event *events = NULL;
	int			nevents = 0;
	int			i;

	memset(r, 0, sizeof(*r));
	if (payload == NULL)
		invalid_field("payload", "must not be NULL");
	if (VARSIZE(payload) > (Size) analytics_max_ping_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid ping: payload: too large (%zu bytes)", (size_t) VARSIZE(payload)),
				 errdetail("analytics.max_ping_bytes is %d.", analytics_max_ping_bytes),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "payload")));
	root = &payload->root;
	if (!JB_ROOT_IS_OBJECT(payload) || JB_ROOT_IS_SCALAR(payload))
		invalid_field("payload", "must be a JSON object");

	/*
	 * project: argument, else the analytics.project_id setting, else
	 * 'default'
	 */
	if (project_arg != NULL)
		r->project = text_to_cstring(project_arg);
	else if (analytics_project_id != NULL && analytics_project_id[0] != '\0')
		r->project = pstrdup(analytics_project_id);
	else
		r->project = pstrdup("default");
	if (r->project[0] == '\0')
		invalid_argument("project_id", "must not be empty");
	if (checked_project == NULL || strcmp(checked_project, r->project) != 0)
		analytics_check_project(r->project);

	/* country: an ISO code (upper-cased), else unknown; continent derived */
	if (country_arg != NULL)
	{
		char		cc[3];
		const char *c = country_from_header(country_arg, cc, &r->continent);

		if (c != NULL)
			r->country = pstrdup(c);
		else
			r->continent = NULL;
	}

	/*
	 * no usable country: from the client IP through the GeoIP database, if
	 * any
	 */
	if (r->country == NULL && ip != NULL)
	{
		char		cc[3];
		const char *g = analytics_geoip_country(ip, cc);

		if (g != NULL && (r->continent = continent_of_country(g)) != NULL)
			r->country = pstrdup(g);
	}
	r->ip = ip;

	/* user-agent dimensions (cached per backend) */
	r->ua_text = ua_text;
	if (ua_text != NULL)
		analytics_parse_ua(VARDATA_ANY(ua_text), VARSIZE_ANY_EXHDR(ua_text), &r->ua);
	else
		analytics_parse_ua(NULL, 0, &r->ua);

	/* the ping */
	r->in.emitted_at_us = get_timestamp(root, "emitted_at", "emitted_at");

	session = as_object(get_key(root, "session"));
	if (session == NULL)
		invalid_field("session", "missing or not an object");
	r->in.loaded_at_us = get_timestamp(session, "loaded_at", "session.loaded_at");
	video_id = get_string(session, "video_id", "session.video_id", false);
	live_id = get_string(session, "live_stream_id", "session.live_stream_id", false);
	if ((video_id == NULL) == (live_id == NULL))
		invalid_field("session.video_id", "give exactly one of video_id and live_stream_id");
	r->media_id = video_id ? video_id : live_id;
	r->media_type = video_id ? "video" : "live-stream";
	if (r->media_id[0] == '\0')
		invalid_field(video_id ? "session.video_id" : "session.live_stream_id", "must not be empty");
	r->referrer = get_string(session, "referrer", "session.referrer", false);
	if (r->referrer == NULL)
		r->referrer = "";
	v = get_key(session, "metadata");
	if (v != NULL && v->type != jbvNull && !(v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data)))
		invalid_field("session.metadata", "must be an array");
	session_text = get_string(session, "session_id", "session.session_id", false);
	if (session_text == NULL)
		random_uuid(&r->sid);
	else if (!parse_uuid_text(session_text, &r->sid))
		invalid_field("session.session_id", "not a UUID");

	v = get_key(root, "events");
	if (v != NULL && v->type != jbvNull)
	{
		JsonbContainer *arr;

		if (!(v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data)))
			invalid_field("events", "must be an array");
		arr = v->val.binary.data;
		nevents = JsonContainerSize(arr);
		if (nevents > analytics_max_ping_events)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid ping: events: too many events (%d)", nevents),
					 errdetail("analytics.max_ping_events is %d.", analytics_max_ping_events),
					 err_generic_string(PG_DIAG_COLUMN_NAME, "events")));
		events = palloc0(sizeof(ping_event) * Max(nevents, 1));
		for (i = 0; i < nevents; i++)
		{
			JsonbValue *ev = getIthJsonbValueFromContainer(arr, i);
			JsonbContainer *obj = as_object(ev);
			char		field[64];
			char	   *type;

			if (obj == NULL)
			{
				snprintf(field, sizeof(field), "events[%d]", i);
				invalid_field(pstrdup(field), "must be an object");
			}
			snprintf(field, sizeof(field), "events[%d].emitted_at", i);
			events[i].emitted_at_us = get_timestamp(obj, "emitted_at", pstrdup(field));
			snprintf(field, sizeof(field), "events[%d].type", i);
			type = get_string(obj, "type", pstrdup(field), true);
			if (ping_event_kind_from_name(type, strlen(type), &events[i].kind) != 0)
				invalid_field(pstrdup(field),
							  "unknown event type (ready, play, resume, pause, end, seek.forward, seek.backward)");
			snprintf(field, sizeof(field), "events[%d].at", i);
			events[i].at = get_number(obj, "at", pstrdup(field));
			snprintf(field, sizeof(field), "events[%d].from", i);
			events[i].from = get_number(obj, "from", pstrdup(field));
			snprintf(field, sizeof(field), "events[%d].to", i);
			events[i].to = get_number(obj, "to", pstrdup(field));
		}
	}
	r->in.nevents = nevents;
	r->in.events = events;
	r->in.max_events = (size_t) analytics_max_ping_events;
}

/* the normalizer's error, raised as ingest_ping raises it */
static void
normalize_error(const char *errbuf)
{
	char	   *field = pstrdup(errbuf);
	char	   *colon = strchr(field, ':');

	if (colon)
		*colon = '\0';
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid ping: %s", errbuf),
			 err_generic_string(PG_DIAG_COLUMN_NAME, field)));
}

/* the reply of one ping, appended to buf */
static void
append_reply(StringInfo buf, const pg_uuid_t *sid, const ping_output *out)
{
	appendStringInfoString(buf, "{\"session\": ");
	escape_json(buf, DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(sid))));
	appendStringInfo(buf, ", \"events\": %zu, \"dropped_old\": %d, \"dropped_future\": %d, \"replayed\": %d}",
					 out->n, out->dropped_old, out->dropped_future, out->skipped_replayed);
}

/* retention, for dropping events that are already too old */
static TimestampTz
oldest_allowed(void)
{
	return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
												   TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
												   IntervalPGetDatum(analytics_read_retention())));
}

/* ---------------------------------------------------------------------
 * ingest_ping
 * --------------------------------------------------------------------- */

Datum
analytics_ingest_ping(PG_FUNCTION_ARGS)
{
	PingReq		r;
	bool		have_viewer = false;
	int64		viewer_id = 0;
	ping_state	state;
	ping_output out;
	char		errbuf[256];
	TimestampTz now;
	TimestampTz oldest;
	int			ret;
	StringInfoData reply;

	ping_parse(&r, PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0),
			   PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1),
			   PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2),
			   PG_ARGISNULL(3) ? NULL : PG_GETARG_INET_PP(3),
			   PG_ARGISNULL(4) ? NULL : PG_GETARG_TEXT_PP(4), NULL);

	now = GetCurrentTimestamp();

	SPI_connect();

	oldest = oldest_allowed();

	/*
	 * the viewer: a keyed hash of user agent + client IP + UTC day; NULL
	 * without an IP
	 */
	if (r.ip != NULL)
	{
		viewer_id = analytics_viewer_id(r.ua_text ? VARDATA_ANY(r.ua_text) : NULL,
										r.ua_text ? (int) VARSIZE_ANY_EXHDR(r.ua_text) : 0,
										r.ip, now);
		have_viewer = true;
	}

	/* the playback's state, locked (as the extension's owner) */
	{
		bytea	   *stored;

		stored = DatumGetByteaPP(ping_state_call(fcinfo->flinfo, false, r.project, &r.sid, r.in.loaded_at_us,
												 r.media_id, r.media_type, NULL));
		if (VARSIZE_ANY_EXHDR(stored) != sizeof(ping_state))
			elog(ERROR, "corrupt session state");
		memcpy(&state, VARDATA_ANY(stored), sizeof(ping_state));
	}

	/* normalize */
	memset(&out, 0, sizeof(out));
	out.cap = PING_OUTPUT_MAX(r.in.nevents);
	out.ev = palloc(sizeof(ping_out_event) * out.cap);
	if (ping_normalize(&state, &r.in, now, oldest, &out, errbuf, sizeof(errbuf)) != 0)
		normalize_error(errbuf);

	/* the events */
	if (out.n > 0)
	{
		Oid			types[14] = {TEXTOID, TEXTOID, TEXTOID, UUIDOID, TEXTOID, TEXTOID, TEXTOID,
		TIMESTAMPTZARRAYOID, TEXTARRAYOID, FLOAT8ARRAYOID, INT8OID, TEXTOID, TEXTOID, TEXTOID};
		Datum		values[14];
		char		nulls[14];
		Datum	   *ts = palloc(sizeof(Datum) * out.n);
		const char **ty = palloc(sizeof(char *) * out.n);
		Datum	   *val = palloc(sizeof(Datum) * out.n);
		bool	   *valnull = palloc(sizeof(bool) * out.n);
		int			dims[1];
		int			lbs[1] = {1};
		size_t		k;

		for (k = 0; k < out.n; k++)
		{
			ts[k] = TimestampTzGetDatum(out.ev[k].emitted_at_us);
			ty[k] = ping_out_type_name(out.ev[k].type);
			val[k] = Float8GetDatum(out.ev[k].value);
			valnull[k] = !out.ev[k].has_value;
		}
		dims[0] = (int) out.n;
		memset(nulls, ' ', sizeof(nulls));
		values[0] = CStringGetTextDatum(r.project);
		values[1] = CStringGetTextDatum(r.media_id);
		values[2] = CStringGetTextDatum(r.media_type);
		values[3] = UUIDPGetDatum(&r.sid);
		values[4] = CStringGetTextDatum(r.referrer);
		values[5] = r.country ? CStringGetTextDatum(r.country) : (Datum) 0;
		nulls[5] = r.country ? ' ' : 'n';
		values[6] = r.continent ? CStringGetTextDatum(r.continent) : (Datum) 0;
		nulls[6] = r.continent ? ' ' : 'n';
		values[7] = PointerGetDatum(construct_array(ts, (int) out.n, TIMESTAMPTZOID, sizeof(TimestampTz),
													FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[8] = text_array(ty, (int) out.n);
		values[9] = PointerGetDatum(construct_md_array(val, valnull, 1, dims, lbs, FLOAT8OID,
													   sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[10] = Int64GetDatum(viewer_id);
		nulls[10] = have_viewer ? ' ' : 'n';
		values[11] = CStringGetTextDatum(r.ua.device_type);
		values[12] = CStringGetTextDatum(r.ua.operating_system);
		values[13] = CStringGetTextDatum(r.ua.browser);
		ret = SPI_execute_plan(prepare(&plan_insert_events,
									   "INSERT INTO analytics.events"
									   " (project_id, emitted_at, event_type, value, media_id, media_type, session_id,"
									   "  viewer_id, referrer, continent, country, device_type, operating_system, browser)"
									   " SELECT $1, e.ts, e.ty::analytics.event_type, e.v, $2, $3::analytics.media_type, $4,"
									   "  $11, $5, $7::analytics.continent, $6, $12::analytics.device_type, $13, $14"
									   " FROM ROWS FROM (pg_catalog.unnest($8), pg_catalog.unnest($9), pg_catalog.unnest($10)) AS e(ts, ty, v)", 14, types),
							   values, nulls, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "could not insert the ping's events: %s", SPI_result_code_string(ret));
	}

	/* the state (as the extension's owner) */
	{
		bytea	   *b = palloc(VARHDRSZ + sizeof(ping_state));

		SET_VARSIZE(b, VARHDRSZ + sizeof(ping_state));
		memcpy(VARDATA(b), &state, sizeof(ping_state));
		(void) ping_state_call(fcinfo->flinfo, true, r.project, &r.sid, r.in.loaded_at_us, NULL, NULL, b);
	}
	SPI_finish();

	/* the reply */
	initStringInfo(&reply);
	append_reply(&reply, &r.sid, &out);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(reply.data)));
}

/* ---------------------------------------------------------------------
 * ingest_pings: a batch of pings in one call (README: Ingesting)
 *
 *	1. every ping is read and checked as ingest_ping does (ping_parse);
 *	   a ping that fails gets its error as its reply, and is left out;
 *	2. the playbacks of the valid pings, sorted by key, are locked and their
 *	   states read (_ping_states_lock: one SELECT ... FOR UPDATE for those
 *	   that exist, in key order; then, for new playbacks only, one INSERT
 *	   ... ON CONFLICT DO UPDATE ... WHERE false, which creates them or
 *	   locks those another session just created, and one read);
 *	3. the pings are normalized in the order of the batch (two pings of one
 *	   playback see each other's state); a ping the normalizer refuses, or
 *	   one that would store an event outside the accepted range of
 *	   emitted_at, gets its error and leaves the state as it was;
 *	4. all the events are inserted by one INSERT (as the caller: privileges
 *	   and row-level security apply), the states stored by one UPDATE
 *	   (updated_at, which only the idle timeout reads, is moved when it is
 *	   older than a tenth of analytics.session_idle_timeout, at most a
 *	   minute: the update then touches no index and stays a HOT update
 *	   most of the time).
 * Nothing is written before step 2, and step 4 cannot fail because of one
 * ping (every value it writes was checked before, the emitted_at range
 * included), so no subtransaction is needed: the errors of steps 1 and 3
 * are raised by code that writes nothing and holds no resource, caught, and
 * turned into the ping's reply (only data exceptions, program limits and
 * the project privilege: any other error fails the call).
 * --------------------------------------------------------------------- */

static SPIPlanPtr plan_upsert_sessions = NULL;
static SPIPlanPtr plan_read_sessions = NULL;
static SPIPlanPtr plan_store_sessions = NULL;
static SPIPlanPtr plan_insert_batch = NULL;

/* the projects ingest_pings has checked, for its two state calls */
static char **batch_ticket = NULL;	/* in TopMemoryContext */
static int	batch_ticket_n = 0;

static void
set_batch_ticket(char **projects, int n)
{
	if (batch_ticket != NULL)
	{
		for (int i = 0; i < batch_ticket_n; i++)
			pfree(batch_ticket[i]);
		pfree(batch_ticket);
	}
	batch_ticket = NULL;
	batch_ticket_n = 0;
	if (n > 0)
	{
		batch_ticket = MemoryContextAlloc(TopMemoryContext, sizeof(char *) * n);
		for (int i = 0; i < n; i++)
			batch_ticket[i] = MemoryContextStrdup(TopMemoryContext, projects[i]);
		batch_ticket_n = n;
	}
}

/* every project of the array was checked by the ingest_pings calling us */
static void
take_batch_ticket(ArrayType *projects)
{
	Datum	   *d;
	bool	   *nulls;
	int			n;
	char	   *bad = NULL;
	bool		had = batch_ticket != NULL;

	deconstruct_array(projects, TEXTOID, -1, false, TYPALIGN_INT, &d, &nulls, &n);
	for (int i = 0; i < n && bad == NULL; i++)
	{
		char	   *p = nulls[i] ? "" : TextDatumGetCString(d[i]);
		bool		ok = false;

		for (int j = 0; j < batch_ticket_n && !ok; j++)
			ok = strcmp(batch_ticket[j], p) == 0;
		if (!ok)
			bad = p;
	}
	set_batch_ticket(NULL, 0);
	if (bad != NULL || !had)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for the ingest state of project \"%s\"", bad ? bad : ""),
				 errhint("Call analytics.ingest_pings.")));
}

static void
batch_state_args(FunctionCallInfo fcinfo, const char *fname, int nargs, Datum *values)
{
	args_not_null(fcinfo, fname, nargs, values);
	take_batch_ticket(PG_GETARG_ARRAYTYPE_P(0));
}

PG_FUNCTION_INFO_V1(analytics_ping_states_lock);
PG_FUNCTION_INFO_V1(analytics_ping_states_store);
PG_FUNCTION_INFO_V1(analytics_ingest_pings);

/* maintenance.c: the emitted_at range check of analytics.events */
extern Datum analytics_check_emitted_at(PG_FUNCTION_ARGS);

/* the state and ctid of row `row` of SPI_tuptable (columns i, state, ctid) */
static Datum
state_and_ctid(MemoryContext mcxt, uint64 row, int64 *index)
{
	bool		inull,
				isnull,
				tidnull;
	HeapTuple	t = SPI_tuptable->vals[row];
	TupleDesc	td = SPI_tuptable->tupdesc;
	Datum		i = SPI_getbinval(t, td, 1, &inull);
	Datum		d = SPI_getbinval(t, td, 2, &isnull);
	Datum		tid = SPI_getbinval(t, td, 3, &tidnull);
	bytea	   *b;
	bytea	   *c;

	if (inull || isnull || tidnull)
		elog(ERROR, "corrupt session state");
	*index = DatumGetInt64(i);
	b = DatumGetByteaPP(d);
	c = MemoryContextAlloc(mcxt, VARHDRSZ + VARSIZE_ANY_EXHDR(b) + sizeof(ItemPointerData));
	SET_VARSIZE(c, VARHDRSZ + VARSIZE_ANY_EXHDR(b) + sizeof(ItemPointerData));
	memcpy(VARDATA(c), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	memcpy(VARDATA(c) + VARSIZE_ANY_EXHDR(b), DatumGetPointer(tid), sizeof(ItemPointerData));
	return PointerGetDatum(c);
}

/* the elements of a one-dimension array whose flag is set */
static Datum
array_subset(Datum array, Oid elemtype, const bool *keep, int nkeep)
{
	ArrayType  *a = DatumGetArrayTypeP(array);
	int16		len;
	bool		byval;
	char		align;
	Datum	   *d;
	bool	   *nulls;
	Datum	   *out = palloc(sizeof(Datum) * Max(nkeep, 1));
	int			n,
				k = 0;

	get_typlenbyvalalign(elemtype, &len, &byval, &align);
	deconstruct_array(a, elemtype, len, byval, align, &d, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (keep[i])
			out[k++] = d[i];
	return PointerGetDatum(construct_array(out, k, elemtype, len, byval, align));
}

/*
 * analytics._ping_states_lock(project_id text[], session_id uuid[],
 * loaded_at timestamptz[], media_id text[], media_type text[]) RETURNS
 * bytea[]: the states of these playbacks (distinct keys, in the order the
 * caller sorted them), locked, and created (zeroed) on first sight; each
 * element is the state followed by the row's ctid (6 bytes, for
 * _ping_states_store: the row is locked, so it stays there).  The rows
 * that exist are locked first (SELECT ... FOR UPDATE, in key order), then
 * the new ones inserted or, when another session created one meanwhile,
 * locked (INSERT ... ON CONFLICT DO UPDATE ... WHERE false, in key order).
 * SECURITY DEFINER.
 */
Datum
analytics_ping_states_lock(PG_FUNCTION_ARGS)
{
	Oid			types[6] = {TEXTARRAYOID, UUIDARRAYOID, TIMESTAMPTZARRAYOID, TEXTARRAYOID, TEXTARRAYOID, BYTEAOID};
	Datum		values[6];
	bytea	   *zero = palloc0(VARHDRSZ + sizeof(ping_state));
	int			n = ArrayGetNItems(ARR_NDIM(PG_GETARG_ARRAYTYPE_P(0)), ARR_DIMS(PG_GETARG_ARRAYTYPE_P(0)));
	Datum	   *states;
	bool	   *missing;
	int			nmissing = n;
	int			ret;
	int			dims[1];
	int			lbs[1] = {1};
	MemoryContext outer = CurrentMemoryContext;

	batch_state_args(fcinfo, "_ping_states_lock", 5, values);
	SET_VARSIZE(zero, VARHDRSZ + sizeof(ping_state));
	values[5] = PointerGetDatum(zero);
	states = palloc0(sizeof(Datum) * Max(n, 1));
	missing = palloc(sizeof(bool) * Max(n, 1));
	memset(missing, true, sizeof(bool) * Max(n, 1));

	SPI_connect();
	/* the playbacks already there, locked in key order */
	ret = SPI_execute_plan(prepare(&plan_read_sessions,
								   "SELECT k.i, s.state, s.ctid FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
								   " pg_catalog.unnest($3)) WITH ORDINALITY AS k(p, s, l, i)"
								   " JOIN analytics.ping_sessions s"
								   " ON s.project_id = k.p AND s.session_id = k.s AND s.loaded_at = k.l"
								   " ORDER BY k.i FOR UPDATE OF s", 3, types),
						   values, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not lock the session states: %s", SPI_result_code_string(ret));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		int64		i;
		Datum		d = state_and_ctid(outer, r, &i);

		if (i < 1 || i > n || !missing[i - 1])
			elog(ERROR, "could not lock the session states");
		states[i - 1] = d;
		missing[i - 1] = false;
		nmissing--;
	}

	/* the new ones: created, or locked if another session just did */
	if (nmissing > 0)
	{
		Datum		sub[6];
		Oid			elem[5] = {TEXTOID, UUIDOID, TIMESTAMPTZOID, TEXTOID, TEXTOID};
		int			k = 0;

		for (int a = 0; a < 5; a++)
			sub[a] = array_subset(values[a], elem[a], missing, nmissing);
		sub[5] = values[5];
		ret = SPI_execute_plan(prepare(&plan_upsert_sessions,
									   "INSERT INTO analytics.ping_sessions AS s"
									   " (project_id, session_id, loaded_at, media_id, media_type, state)"
									   " SELECT pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3),"
									   " pg_catalog.unnest($4), pg_catalog.unnest($5)::analytics.media_type, $6"
									   " ON CONFLICT (project_id, session_id, loaded_at) DO UPDATE SET state = s.state WHERE false",
									   6, types),
							   sub, NULL, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "could not lock the session states: %s", SPI_result_code_string(ret));
		ret = SPI_execute_plan(plan_read_sessions, sub, NULL, false, 0);
		if (ret != SPI_OK_SELECT || SPI_processed != (uint64) nmissing)
			elog(ERROR, "could not lock the session states");
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			int64		i;
			Datum		d = state_and_ctid(outer, r, &i);

			/* i numbers the missing keys: the i-th missing one */
			while (k < n && !missing[k])
				k++;
			if (k >= n || i != (int64) r + 1)
				elog(ERROR, "could not lock the session states");
			states[k++] = d;
		}
	}
	SPI_finish();
	dims[0] = n;
	PG_RETURN_ARRAYTYPE_P(construct_md_array(states, NULL, 1, dims, lbs, BYTEAOID, -1, false, TYPALIGN_INT));
}

/*
 * analytics._ping_states_store(project_id text[], row tid[], state bytea[]):
 * writes the states of playbacks locked by _ping_states_lock (row: their
 * ctids, which it returned).  SECURITY DEFINER.
 */
Datum
analytics_ping_states_store(PG_FUNCTION_ARGS)
{
	Oid			types[4] = {TEXTARRAYOID, TIDARRAYOID, BYTEAARRAYOID, TIMESTAMPTZOID};
	Datum		values[4];
	int			n = ArrayGetNItems(ARR_NDIM(PG_GETARG_ARRAYTYPE_P(0)), ARR_DIMS(PG_GETARG_ARRAYTYPE_P(0)));
	int64		lag_s = Min(60, analytics_session_idle_timeout / 10);
	int			ret;

	batch_state_args(fcinfo, "_ping_states_store", 3, values);

	/*
	 * updated_at (read by the idle timeout only) moves when it is older than
	 * a tenth of analytics.session_idle_timeout, at most a minute: most
	 * updates then change no indexed column and stay HOT
	 */
	values[3] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp() - lag_s * USECS_PER_SEC);

	SPI_connect();
	ret = SPI_execute_plan(prepare(&plan_store_sessions,
								   "UPDATE analytics.ping_sessions s SET state = u.st,"
								   " updated_at = CASE WHEN s.updated_at >= $4 THEN s.updated_at ELSE pg_catalog.now() END"
								   " FROM (SELECT pg_catalog.unnest($1) AS p, pg_catalog.unnest($2) AS c, pg_catalog.unnest($3) AS st) AS u"
								   " WHERE s.ctid = u.c AND s.project_id = u.p", 4, types),
						   values, NULL, false, 0);
	if (ret != SPI_OK_UPDATE || SPI_processed != (uint64) n)
		elog(ERROR, "could not store the session states");
	SPI_finish();
	PG_RETURN_VOID();
}

/* one ping of a batch */
typedef struct BatchPing
{
	PingReq		r;
	int			playback;		/* index in the sorted playbacks; -1: refused */
	ErrorData  *error;			/* the reply is this error */
	ping_output out;
	bool		have_viewer;
	int64		viewer_id;
} BatchPing;

/* what ping_parse reads from one element of the batch */
typedef struct ParseArgs
{
	BatchPing  *bp;
	JsonbContainer *elem;
	const char *checked_project;
} ParseArgs;

static text *
elem_text(JsonbContainer *c, const char *key)
{
	JsonbValue *v = get_key(c, key);

	if (v == NULL || v->type == jbvNull)
		return NULL;
	if (v->type != jbvString)
		invalid_argument(key, "must be a string or null");
	return cstring_to_text_with_len(v->val.string.val, v->val.string.len);
}

static void
parse_elem(void *arg)
{
	ParseArgs  *a = arg;
	JsonbValue *v;
	Jsonb	   *payload = NULL;
	text	   *ipt;
	inet	   *ip = NULL;
	text	   *ua = elem_text(a->elem, "user_agent");
	text	   *country = elem_text(a->elem, "country");
	text	   *project = elem_text(a->elem, "project_id");

	ipt = elem_text(a->elem, "client_ip");
	if (ipt != NULL)
	{
		char	   *s = text_to_cstring(ipt);
		unsigned char addr[16];

		/*
		 * what inet_in accepts, checked first so that the error names the
		 * field
		 */
		if (pg_inet_net_pton(strchr(s, ':') ? PGSQL_AF_INET6 : PGSQL_AF_INET, s, addr, -1) < 0)
			invalid_argument("client_ip", "not an IP address");
		ip = DatumGetInetPP(DirectFunctionCall1(inet_in, CStringGetDatum(s)));
	}
	v = get_key(a->elem, "payload");
	if (v != NULL && v->type != jbvNull)
		payload = JsonbValueToJsonb(v);
	ping_parse(&a->bp->r, payload, ua, country, ip, project, a->checked_project);
}

typedef struct RangeArgs
{
	const ping_output *out;
} RangeArgs;

/* the emitted_at range check of analytics.events, on every event of a ping */
static void
check_range(void *arg)
{
	const ping_output *out = ((RangeArgs *) arg)->out;

	for (size_t k = 0; k < out->n; k++)
		if (out->ev[k].emitted_at_us < ANALYTICS_EMITTED_AT_MIN ||
			out->ev[k].emitted_at_us >= ANALYTICS_EMITTED_AT_END)
			DirectFunctionCall1(analytics_check_emitted_at, TimestampTzGetDatum(out->ev[k].emitted_at_us));
}

typedef struct NormArgs
{
	const char *errbuf;
} NormArgs;

static void
raise_normalize(void *arg)
{
	normalize_error(((NormArgs *) arg)->errbuf);
}

/*
 * Runs fn(arg); an error it raises of a class a ping's reply may carry
 * (22 data exception, 54 program limit, 42501 the project privilege) is
 * returned (copied into mcxt) instead of raised; any other is re-raised.
 * fn must write nothing and hold no resource when it raises.
 */
static ErrorData *
try_ping(void (*fn) (void *), void *arg, MemoryContext mcxt)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ErrorData  *volatile result = NULL;

	PG_TRY();
	{
		fn(arg);
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(mcxt);
		ed = CopyErrorData();
		MemoryContextSwitchTo(oldcxt);
		if (!(ERRCODE_TO_CATEGORY(ed->sqlerrcode) == ERRCODE_DATA_EXCEPTION ||
			  ERRCODE_TO_CATEGORY(ed->sqlerrcode) == ERRCODE_PROGRAM_LIMIT_EXCEEDED ||
			  ed->sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE))
			PG_RE_THROW();
		FlushErrorState();
		result = ed;
	}
	PG_END_TRY();
	return result;
}

/* building the reply as a jsonb value (no text to parse again) */
/* ingest_ping's reply (append_reply), as an element of the array */
static void
push_reply(JsonbParseState **st, const pg_uuid_t *sid, const ping_output *out)
{
	(void) pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	kv_string(st, "session", DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(sid))));
	kv_int(st, "events", (int64) out->n);
	kv_int(st, "dropped_old", out->dropped_old);
	kv_int(st, "dropped_future", out->dropped_future);
	kv_int(st, "replayed", out->skipped_replayed);
	(void) pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

/* a refused ping's reply: its error */
static void
push_problem(JsonbParseState **st, const ErrorData *ed)
{
	(void) pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	kv_string(st, "error", ed->message ? ed->message : "");
	kv_string(st, "sqlstate", unpack_sql_state(ed->sqlerrcode));
	if (ed->column_name)
		kv_string(st, "field", ed->column_name);
	if (ed->detail)
		kv_string(st, "detail", ed->detail);
	if (ed->hint)
		kv_string(st, "hint", ed->hint);
	(void) pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

/* playback keys, sorted: project, session id, loaded_at */
static int
cmp_playback(const BatchPing *a, const BatchPing *b)
{
	int			c = strcmp(a->r.project, b->r.project);

	if (c != 0)
		return c;
	c = memcmp(a->r.sid.data, b->r.sid.data, UUID_LEN);
	if (c != 0)
		return c;
	return a->r.in.loaded_at_us < b->r.in.loaded_at_us ? -1 : a->r.in.loaded_at_us > b->r.in.loaded_at_us;
}

static int
cmp_ping_ptr(const void *x, const void *y)
{
	const BatchPing *a = *(BatchPing *const *) x;
	const BatchPing *b = *(BatchPing *const *) y;
	int			c = cmp_playback(a, b);

	if (c != 0)
		return c;
	return a < b ? -1 : a > b;	/* batch order */
}

/* call _ping_states_lock / _ping_states_store through fmgr */
typedef struct BatchStateFns
{
	FmgrInfo	lock;
	FmgrInfo	store;
} BatchStateFns;

static Datum
batch_state_call(FmgrInfo *outer, bool store, int nargs, Datum *args, char **projects, int nprojects)
{
	BatchStateFns *fns = (BatchStateFns *) outer->fn_extra;

	LOCAL_FCINFO(fc, 5);
	Datum		result;

	if (fns == NULL)
	{
		Oid			lock_types[5] = {TEXTARRAYOID, UUIDARRAYOID, TIMESTAMPTZARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
		Oid			store_types[3] = {TEXTARRAYOID, TIDARRAYOID, BYTEAARRAYOID};

		fns = MemoryContextAllocZero(outer->fn_mcxt, sizeof(BatchStateFns));
		analytics_lookup_internal(&fns->lock, outer->fn_mcxt, "_ping_states_lock", 5, lock_types);
		analytics_lookup_internal(&fns->store, outer->fn_mcxt, "_ping_states_store", 3, store_types);
		outer->fn_extra = fns;
	}
	InitFunctionCallInfoData(*fc, store ? &fns->store : &fns->lock, nargs, InvalidOid, NULL, NULL);
	for (int i = 0; i < nargs; i++)
	{
		fc->args[i].value = args[i];
		fc->args[i].isnull = false;
	}
	set_batch_ticket(projects, nprojects);
	result = FunctionCallInvoke(fc);
	set_batch_ticket(NULL, 0);
	if (fc->isnull && !store)
		elog(ERROR, "could not lock the session states");
	return result;
}

/*
 * analytics.ingest_pings(pings jsonb) RETURNS jsonb: pings is a JSON array
 * of {"payload": {...}, "user_agent", "country", "client_ip", "project_id"}
 * (the arguments of ingest_ping; all but payload optional); the reply is
 * the array of the replies, in the same order: ingest_ping's reply, or
 * {"error", "sqlstate", "field", "detail", "hint"} for a refused ping.
 */
Datum
analytics_ingest_pings(PG_FUNCTION_ARGS)
{
	Jsonb	   *pings;
	int			n;
	BatchPing  *bps;
	BatchPing **sorted;
	int			nvalid = 0;
	int			nplay = 0;
	BatchPing **play_first;
	ping_state *states;
	ItemPointerData *rows;
	TimestampTz now;
	TimestampTz oldest;
	char	   *checked = NULL;
	char	  **projects;
	int			nprojects = 0;
	size_t		nevents = 0;
	MemoryContext mcxt = CurrentMemoryContext;
	int			i;

	if (PG_ARGISNULL(0))
		invalid_argument("pings", "must not be NULL");
	pings = PG_GETARG_JSONB_P(0);
	if (VARSIZE(pings) > (Size) analytics_max_batch_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("invalid pings: too large (%zu bytes)", (size_t) VARSIZE(pings)),
				 errdetail("analytics.max_batch_bytes is %d.", analytics_max_batch_bytes),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "pings")));
	if (!JB_ROOT_IS_ARRAY(pings) || JB_ROOT_IS_SCALAR(pings))
		invalid_argument("pings", "must be a JSON array of {\"payload\": ..., \"user_agent\", \"country\", \"client_ip\", \"project_id\"}");
	n = JB_ROOT_COUNT(pings);
	if (n > analytics_max_batch_pings)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("invalid pings: too many pings (%d)", n),
				 errdetail("analytics.max_batch_pings is %d.", analytics_max_batch_pings),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "pings")));

	bps = palloc0(sizeof(BatchPing) * Max(n, 1));
	sorted = palloc(sizeof(BatchPing *) * Max(n, 1));
	projects = palloc(sizeof(char *) * Max(n, 1));

	/* 1. read and check every ping */
	{
		JsonbIterator *it = JsonbIteratorInit(&pings->root);
		JsonbValue	v;
		JsonbIteratorToken tok;

		i = 0;
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			BatchPing  *bp;

			if (tok != WJB_ELEM)
				continue;
			bp = &bps[i++];
			bp->playback = -1;
			if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			{
				ErrorData  *ed = palloc0(sizeof(ErrorData));

				ed->sqlerrcode = ERRCODE_INVALID_PARAMETER_VALUE;
				ed->message = "invalid ping: must be an object {\"payload\": ..., \"user_agent\", \"country\", \"client_ip\", \"project_id\"}";
				ed->column_name = "pings";
				bp->error = ed;
				continue;
			}
			{
				ParseArgs	a = {bp, v.val.binary.data, checked};

				bp->error = try_ping(parse_elem, &a, mcxt);
			}
			if (bp->error != NULL)
				continue;
			if (checked == NULL || strcmp(checked, bp->r.project) != 0)
			{
				checked = bp->r.project;
				projects[nprojects++] = checked;
			}
			sorted[nvalid++] = bp;
		}
	}

	now = GetCurrentTimestamp();

	SPI_connect();
	oldest = oldest_allowed();

	/* 2. the playbacks, sorted, created or locked, their states read */
	qsort(sorted, nvalid, sizeof(BatchPing *), cmp_ping_ptr);
	play_first = palloc(sizeof(BatchPing *) * Max(nvalid, 1));
	for (i = 0; i < nvalid; i++)
	{
		if (i == 0 || cmp_playback(sorted[i - 1], sorted[i]) != 0)
			play_first[nplay++] = sorted[i];
		sorted[i]->playback = nplay - 1;
	}
	states = palloc0(sizeof(ping_state) * Max(nplay, 1));
	rows = palloc0(sizeof(ItemPointerData) * Max(nplay, 1));
	if (nplay > 0)
	{
		Datum	   *p = palloc(sizeof(Datum) * nplay);
		Datum	   *s = palloc(sizeof(Datum) * nplay);
		Datum	   *l = palloc(sizeof(Datum) * nplay);
		Datum	   *m = palloc(sizeof(Datum) * nplay);
		Datum	   *t = palloc(sizeof(Datum) * nplay);
		Datum		args[5];
		ArrayType  *res;
		Datum	   *st;
		bool	   *stnull;
		int			nst;

		for (i = 0; i < nplay; i++)
		{
			PingReq    *r = &play_first[i]->r;

			p[i] = CStringGetTextDatum(r->project);
			s[i] = UUIDPGetDatum(&r->sid);
			l[i] = TimestampTzGetDatum(r->in.loaded_at_us);
			m[i] = CStringGetTextDatum(r->media_id);
			t[i] = CStringGetTextDatum(r->media_type);
		}
		args[0] = PointerGetDatum(construct_array(p, nplay, TEXTOID, -1, false, TYPALIGN_INT));
		args[1] = PointerGetDatum(construct_array(s, nplay, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
		args[2] = PointerGetDatum(construct_array(l, nplay, TIMESTAMPTZOID, sizeof(TimestampTz),
												  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[3] = PointerGetDatum(construct_array(m, nplay, TEXTOID, -1, false, TYPALIGN_INT));
		args[4] = PointerGetDatum(construct_array(t, nplay, TEXTOID, -1, false, TYPALIGN_INT));
		res = DatumGetArrayTypeP(batch_state_call(fcinfo->flinfo, false, 5, args, projects, nprojects));
		deconstruct_array(res, BYTEAOID, -1, false, TYPALIGN_INT, &st, &stnull, &nst);
		if (nst != nplay)
			elog(ERROR, "could not lock the session states");
		for (i = 0; i < nplay; i++)
		{
			bytea	   *b = DatumGetByteaPP(st[i]);

			if (stnull[i] || VARSIZE_ANY_EXHDR(b) != sizeof(ping_state) + sizeof(ItemPointerData))
				elog(ERROR, "corrupt session state");
			memcpy(&states[i], VARDATA_ANY(b), sizeof(ping_state));
			memcpy(&rows[i], VARDATA_ANY(b) + sizeof(ping_state), sizeof(ItemPointerData));
		}

		/* 3. normalize, in the order of the batch */
		for (i = 0; i < n; i++)
		{
			BatchPing  *bp = &bps[i];
			ping_state	before;
			char		errbuf[256];

			if (bp->playback < 0)
				continue;
			before = states[bp->playback];
			bp->out.cap = PING_OUTPUT_MAX(bp->r.in.nevents);
			bp->out.ev = palloc(sizeof(ping_out_event) * bp->out.cap);
			if (ping_normalize(&states[bp->playback], &bp->r.in, now, oldest, &bp->out, errbuf, sizeof(errbuf)) != 0)
			{
				NormArgs	a = {errbuf};

				bp->error = try_ping(raise_normalize, &a, mcxt);
			}
			else
			{
				RangeArgs	a = {&bp->out};

				bp->error = try_ping(check_range, &a, mcxt);
			}
			if (bp->error != NULL)
			{
				states[bp->playback] = before;
				bp->out.n = 0;
				continue;
			}
			nevents += bp->out.n;
			if (bp->r.ip != NULL)
			{
				bp->viewer_id = analytics_viewer_id(bp->r.ua_text ? VARDATA_ANY(bp->r.ua_text) : NULL,
													bp->r.ua_text ? (int) VARSIZE_ANY_EXHDR(bp->r.ua_text) : 0,
													bp->r.ip, now);
				bp->have_viewer = true;
			}
		}
	}

	/* 4. the events, in one INSERT */
	if (nevents > 0)
	{
		Oid			types[14] = {TEXTARRAYOID, TIMESTAMPTZARRAYOID, TEXTARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID,
			TEXTARRAYOID, UUIDARRAYOID, INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
		TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
		Datum		values[14];
		Datum	   *col[14];
		bool	   *nul[14];
		int			dims[1];
		int			lbs[1] = {1};
		size_t		k = 0;
		int			c;
		int			ret;

		for (c = 0; c < 14; c++)
		{
			col[c] = palloc(sizeof(Datum) * nevents);
			nul[c] = palloc0(sizeof(bool) * nevents);
		}
		for (i = 0; i < n; i++)
		{
			BatchPing  *bp = &bps[i];
			PingReq    *r = &bp->r;
			Datum		project,
						media,
						mtype,
						referrer,
						continent = (Datum) 0,
						country = (Datum) 0,
						device,
						os,
						browser;

			if (bp->playback < 0 || bp->error != NULL || bp->out.n == 0)
				continue;
			project = CStringGetTextDatum(r->project);
			media = CStringGetTextDatum(r->media_id);
			mtype = CStringGetTextDatum(r->media_type);
			referrer = CStringGetTextDatum(r->referrer);
			if (r->continent)
				continent = CStringGetTextDatum(r->continent);
			if (r->country)
				country = CStringGetTextDatum(r->country);
			device = CStringGetTextDatum(r->ua.device_type);
			os = CStringGetTextDatum(r->ua.operating_system);
			browser = CStringGetTextDatum(r->ua.browser);
			for (size_t e = 0; e < bp->out.n; e++, k++)
			{
				const ping_out_event *ev = &bp->out.ev[e];

				col[0][k] = project;
				col[1][k] = TimestampTzGetDatum(ev->emitted_at_us);
				col[2][k] = CStringGetTextDatum(ping_out_type_name(ev->type));
				col[3][k] = Float8GetDatum(ev->value);
				nul[3][k] = !ev->has_value;
				col[4][k] = media;
				col[5][k] = mtype;
				col[6][k] = UUIDPGetDatum(&r->sid);
				col[7][k] = Int64GetDatum(bp->viewer_id);
				nul[7][k] = !bp->have_viewer;
				col[8][k] = referrer;
				col[9][k] = continent;
				nul[9][k] = r->continent == NULL;
				col[10][k] = country;
				nul[10][k] = r->country == NULL;
				col[11][k] = device;
				col[12][k] = os;
				col[13][k] = browser;
			}
		}
		dims[0] = (int) nevents;
		for (c = 0; c < 14; c++)
		{
			Oid			et;
			int16		len;
			bool		byval;
			char		align;

			switch (c)
			{
				case 1:
					et = TIMESTAMPTZOID;
					break;
				case 3:
					et = FLOAT8OID;
					break;
				case 6:
					et = UUIDOID;
					break;
				case 7:
					et = INT8OID;
					break;
				default:
					et = TEXTOID;
			}
			get_typlenbyvalalign(et, &len, &byval, &align);
			values[c] = PointerGetDatum(construct_md_array(col[c], nul[c], 1, dims, lbs, et, len, byval, align));
		}
		ret = SPI_execute_plan(prepare(&plan_insert_batch,
									   "INSERT INTO analytics.events"
									   " (project_id, emitted_at, event_type, value, media_id, media_type, session_id,"
									   "  viewer_id, referrer, continent, country, device_type, operating_system, browser)"

		/*
		 * set-returning functions in the target list: run in step, row by row
		 * (ProjectSet), nothing materialized
		 */
									   " SELECT pg_catalog.unnest($1), pg_catalog.unnest($2),"
									   "  pg_catalog.unnest($3)::analytics.event_type, pg_catalog.unnest($4), pg_catalog.unnest($5),"
									   "  pg_catalog.unnest($6)::analytics.media_type, pg_catalog.unnest($7), pg_catalog.unnest($8),"
									   "  pg_catalog.unnest($9), pg_catalog.unnest($10)::analytics.continent, pg_catalog.unnest($11),"
									   "  pg_catalog.unnest($12)::analytics.device_type, pg_catalog.unnest($13), pg_catalog.unnest($14)", 14, types),
							   values, NULL, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "could not insert the pings' events: %s", SPI_result_code_string(ret));
	}

	/* the states, in one UPDATE (as the extension's owner) */
	if (nplay > 0)
	{
		Datum	   *p = palloc(sizeof(Datum) * nplay);
		Datum	   *c = palloc(sizeof(Datum) * nplay);
		Datum	   *st = palloc(sizeof(Datum) * nplay);
		Datum		args[3];

		for (i = 0; i < nplay; i++)
		{
			bytea	   *b = palloc(VARHDRSZ + sizeof(ping_state));

			SET_VARSIZE(b, VARHDRSZ + sizeof(ping_state));
			memcpy(VARDATA(b), &states[i], sizeof(ping_state));
			p[i] = CStringGetTextDatum(play_first[i]->r.project);
			c[i] = PointerGetDatum(&rows[i]);
			st[i] = PointerGetDatum(b);
		}
		args[0] = PointerGetDatum(construct_array(p, nplay, TEXTOID, -1, false, TYPALIGN_INT));
		args[1] = PointerGetDatum(construct_array(c, nplay, TIDOID, sizeof(ItemPointerData), false, TYPALIGN_SHORT));
		args[2] = PointerGetDatum(construct_array(st, nplay, BYTEAOID, -1, false, TYPALIGN_INT));
		(void) batch_state_call(fcinfo->flinfo, true, 3, args, projects, nprojects);
	}
	SPI_finish();

	/* the replies */
	{
		JsonbParseState *st = NULL;
		JsonbValue *res;

		(void) pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
		for (i = 0; i < n; i++)
		{
			if (bps[i].error != NULL)
				push_problem(&st, bps[i].error);
			else
				push_reply(&st, &bps[i].r.sid, &bps[i].out);
		}
		res = pushJsonbValue(&st, WJB_END_ARRAY, NULL);
		PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
	}
}

/* analytics.continent_of(country text) RETURNS text */
Datum
analytics_continent_of(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	char		cc[3];
	const char *c;

	if (VARSIZE_ANY_EXHDR(t) != 2)
		PG_RETURN_NULL();
	cc[0] = pg_ascii_toupper((unsigned char) VARDATA_ANY(t)[0]);
	cc[1] = pg_ascii_toupper((unsigned char) VARDATA_ANY(t)[1]);
	cc[2] = '\0';
	c = continent_of_country(cc);
	if (c == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(c));
}

PG_FUNCTION_INFO_V1(analytics_check_country);

/*
 * analytics._check_country(country text) RETURNS boolean: the rule of the
 * CHECK constraint events_country_check (two ASCII capital letters, what
 * the regex '^[A-Z][A-Z]$' accepted), without a regular expression: COPY
 * calls it for every row.  STRICT, so NULL (unknown) passes.
 */
Datum
analytics_check_country(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(t);

	PG_RETURN_BOOL(VARSIZE_ANY_EXHDR(t) == 2 &&
				   s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z');
}
