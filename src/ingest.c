/*-------------------------------------------------------------------------
 * ingest.c
 *		analytics.ingest_ping(payload, user_agent, country, client_ip,
 *		project_id): the PostgreSQL wrapper of the plain-C ping normalizer
 *		(src/ping.c), and analytics.continent_of(country).  The ISO 8601
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

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "analytics.h"
#include "continent.h"
#include "enrich.h"
#include "geoip.h"
#include "iso8601.h"
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

/*
 * The arguments of _ping_state_lock / _ping_state_store, checked: none NULL
 * and the caller holds the project's ticket (set by ingest_ping).
 */
static void
state_args(FunctionCallInfo fcinfo, const char *fname, int nargs, Datum *values)
{
	for (int i = 0; i < nargs; i++)
	{
		if (PG_ARGISNULL(i))
			elog(ERROR, "analytics.%s: argument %d is NULL", fname, i + 1);
		values[i] = PG_GETARG_DATUM(i);
	}
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
 * ingest_ping
 * --------------------------------------------------------------------- */

Datum
analytics_ingest_ping(PG_FUNCTION_ARGS)
{
	Jsonb	   *payload;
	JsonbContainer *root;
	JsonbContainer *session;
	JsonbValue *v;
	char	   *project;
	char	   *video_id;
	char	   *live_id;
	char	   *media_id;
	const char *media_type;
	char	   *referrer;
	char	   *session_text;
	pg_uuid_t	sid;
	bool		new_session;
	char	   *country = NULL; /* upper-case ISO code */
	const char *continent = NULL;
	AnalyticsUa ua;
	text	   *ua_text = NULL;
	bool		have_viewer = false;
	int64		viewer_id = 0;
	ping_input	in;
	ping_event *events = NULL;
	int			nevents = 0;
	ping_state	state;
	ping_output out;
	char		errbuf[256];
	TimestampTz now;
	TimestampTz oldest;
	int			ret;
	int			i;
	StringInfoData reply;

	if (PG_ARGISNULL(0))
		invalid_field("payload", "must not be NULL");
	payload = PG_GETARG_JSONB_P(0);
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
	if (!PG_ARGISNULL(4))
		project = text_to_cstring(PG_GETARG_TEXT_PP(4));
	else if (analytics_project_id != NULL && analytics_project_id[0] != '\0')
		project = pstrdup(analytics_project_id);
	else
		project = pstrdup("default");
	if (project[0] == '\0')
		invalid_argument("project_id", "must not be empty");
	analytics_check_project(project);

	/* country: an ISO code (upper-cased), else unknown; continent derived */
	if (!PG_ARGISNULL(2))
	{
		char		cc[3];
		const char *c = country_from_header(PG_GETARG_TEXT_PP(2), cc, &continent);

		if (c != NULL)
			country = pstrdup(c);
		else
			continent = NULL;
	}

	/*
	 * no usable country: from the client IP through the GeoIP database, if
	 * any
	 */
	if (country == NULL && !PG_ARGISNULL(3))
	{
		char		cc[3];
		const char *g = analytics_geoip_country(PG_GETARG_INET_PP(3), cc);

		if (g != NULL && (continent = continent_of_country(g)) != NULL)
			country = pstrdup(g);
	}

	/* user-agent dimensions (cached per backend) */
	if (!PG_ARGISNULL(1))
	{
		ua_text = PG_GETARG_TEXT_PP(1);
		analytics_parse_ua(VARDATA_ANY(ua_text), VARSIZE_ANY_EXHDR(ua_text), &ua);
	}
	else
		analytics_parse_ua(NULL, 0, &ua);

	/* the ping */
	memset(&in, 0, sizeof(in));
	in.emitted_at_us = get_timestamp(root, "emitted_at", "emitted_at");

	session = as_object(get_key(root, "session"));
	if (session == NULL)
		invalid_field("session", "missing or not an object");
	in.loaded_at_us = get_timestamp(session, "loaded_at", "session.loaded_at");
	video_id = get_string(session, "video_id", "session.video_id", false);
	live_id = get_string(session, "live_stream_id", "session.live_stream_id", false);
	if ((video_id == NULL) == (live_id == NULL))
		invalid_field("session.video_id", "give exactly one of video_id and live_stream_id");
	media_id = video_id ? video_id : live_id;
	media_type = video_id ? "video" : "live-stream";
	if (media_id[0] == '\0')
		invalid_field(video_id ? "session.video_id" : "session.live_stream_id", "must not be empty");
	referrer = get_string(session, "referrer", "session.referrer", false);
	if (referrer == NULL)
		referrer = "";
	v = get_key(session, "metadata");
	if (v != NULL && v->type != jbvNull && !(v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data)))
		invalid_field("session.metadata", "must be an array");
	session_text = get_string(session, "session_id", "session.session_id", false);
	new_session = (session_text == NULL);
	if (new_session)
		random_uuid(&sid);
	else if (!parse_uuid_text(session_text, &sid))
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
	in.nevents = nevents;
	in.events = events;
	in.max_events = (size_t) analytics_max_ping_events;

	now = GetCurrentTimestamp();

	SPI_connect();

	/* retention, for dropping events that are already too old */
	oldest = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
													 TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
													 IntervalPGetDatum(analytics_read_retention())));

	/*
	 * the viewer: a keyed hash of user agent + client IP + UTC day; NULL
	 * without an IP
	 */
	if (!PG_ARGISNULL(3))
	{
		viewer_id = analytics_viewer_id(ua_text ? VARDATA_ANY(ua_text) : NULL,
										ua_text ? (int) VARSIZE_ANY_EXHDR(ua_text) : 0,
										PG_GETARG_INET_PP(3), now);
		have_viewer = true;
	}

	/* the playback's state, locked (as the extension's owner) */
	{
		bytea	   *stored;

		stored = DatumGetByteaPP(ping_state_call(fcinfo->flinfo, false, project, &sid, in.loaded_at_us,
												 media_id, media_type, NULL));
		if (VARSIZE_ANY_EXHDR(stored) != sizeof(ping_state))
			elog(ERROR, "corrupt session state");
		memcpy(&state, VARDATA_ANY(stored), sizeof(ping_state));
	}

	/* normalize */
	memset(&out, 0, sizeof(out));
	out.cap = PING_OUTPUT_MAX(in.nevents);
	out.ev = palloc(sizeof(ping_out_event) * out.cap);
	if (ping_normalize(&state, &in, now, oldest, &out, errbuf, sizeof(errbuf)) != 0)
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
		values[0] = CStringGetTextDatum(project);
		values[1] = CStringGetTextDatum(media_id);
		values[2] = CStringGetTextDatum(media_type);
		values[3] = UUIDPGetDatum(&sid);
		values[4] = CStringGetTextDatum(referrer);
		values[5] = country ? CStringGetTextDatum(country) : (Datum) 0;
		nulls[5] = country ? ' ' : 'n';
		values[6] = continent ? CStringGetTextDatum(continent) : (Datum) 0;
		nulls[6] = continent ? ' ' : 'n';
		values[7] = PointerGetDatum(construct_array(ts, (int) out.n, TIMESTAMPTZOID, sizeof(TimestampTz),
													FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[8] = text_array(ty, (int) out.n);
		values[9] = PointerGetDatum(construct_md_array(val, valnull, 1, dims, lbs, FLOAT8OID,
													   sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[10] = Int64GetDatum(viewer_id);
		nulls[10] = have_viewer ? ' ' : 'n';
		values[11] = CStringGetTextDatum(ua.device_type);
		values[12] = CStringGetTextDatum(ua.operating_system);
		values[13] = CStringGetTextDatum(ua.browser);
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
		(void) ping_state_call(fcinfo->flinfo, true, project, &sid, in.loaded_at_us, NULL, NULL, b);
	}
	SPI_finish();

	/* the reply */
	initStringInfo(&reply);
	appendStringInfoString(&reply, "{\"session\": ");
	escape_json(&reply, DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&sid))));
	appendStringInfo(&reply, ", \"events\": %zu, \"dropped_old\": %d, \"dropped_future\": %d, \"replayed\": %d}",
					 out.n, out.dropped_old, out.dropped_future, out.skipped_replayed);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(reply.data)));
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
