/*-------------------------------------------------------------------------
 * maintenance.c
 *		Partition lifecycle of analytics.events: create day partitions ahead,
 *		move rows out of the default partition, archive plays and drop
 *		partitions older than the retention window.  Also the retention
 *		setting and the partitions() introspection function.
 *
 * Every step is a unit of its own: in a background worker each step is its
 * own transaction (committed before the next starts); inside a caller's
 * transaction each step is a subtransaction.  A step that cannot get a lock
 * within analytics.maintenance_lock_timeout is rolled back, reported as
 * deferred, and retried by the next run.
 *
 * Lock order is always parent first, then children (the default partition,
 * the partition being dropped), the same order in which queries and inserts
 * on analytics.events take theirs, so maintenance never deadlocks with them:
 *
 *	move strays / create ahead: analytics.events SHARE UPDATE EXCLUSIVE (does
 *		not conflict with SELECT, INSERT or COPY), then events_default ACCESS
 *		EXCLUSIVE while rows are moved and the new table is attached.
 *	drop expired: analytics.events ACCESS SHARE, then the partition SHARE
 *		ROW EXCLUSIVE (no write into it) while its plays are archived and its
 *		rollup rows forgotten; then analytics.events ACCESS EXCLUSIVE (DROP
 *		of a partition needs it) for the DROP and the commit only.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/latch.h"
#include "pgstat.h"
#include "utils/resowner.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "analytics.h"

PG_FUNCTION_INFO_V1(analytics_retention);
PG_FUNCTION_INFO_V1(analytics_set_retention);
PG_FUNCTION_INFO_V1(analytics_partitions);

#define DEFAULT_RETENTION "30 days"
#define MAX_RETENTION "100 years"

/* one partition of analytics.events, from pg_class.relpartbound */
typedef struct PartInfo
{
	Oid			relid;
	char	   *nspname;
	char	   *relname;
	bool		is_default;
	bool		has_lower;		/* false: MINVALUE */
	bool		has_upper;		/* false: MAXVALUE */
	TimestampTz lower;
	TimestampTz upper;
} PartInfo;

/* a day (PostgreSQL day number: days since 2000-01-01) and its stray rows */
typedef struct DayWork
{
	int64		day;
	int64		rows;
	bool		ahead;			/* created ahead rather than for strays */
} DayWork;

typedef struct MaintState
{
	MaintenanceParams params;
	bool		commit_mode;
	TimestampTz now;
	TimestampTz cutoff;
	int64		today;
	Interval   *retention;
	MemoryContext cxt;			/* survives the steps' transactions */

	List	   *parts;			/* PartInfo *, as planned */
	List	   *days;			/* DayWork *, as planned */

	StringInfoData created;
	StringInfoData dropped;
	StringInfoData deferred;
	int			n_created;
	int			n_dropped;
	int			n_deferred;
	int64		rows_moved;
	int64		rows_discarded;
	int64		plays_archived;
	int64		sessions_pruned;
	int64		rollup_hours;	/* hours re-aggregated into the rollups */
	int			last_refresh;	/* hours of the last refresh batch, -1: no
								 * rollups */
	struct HourSet *batch;		/* hours of the last refresh batch */
	TimestampTz *failed_hours;	/* hours whose refresh failed in this run */
	int			n_failed_hours;
	char	   *hour_projects;	/* JSON array: projects of the hour being
								 * retried */
	double		max_parent_lock_ms;
	TimestampTz lock_start;		/* when the step got its strongest parent lock */
	bool		stop;
} MaintState;

typedef void (*StepFn) (MaintState *st, void *arg);

/* ---------------------------------------------------------------------
 * helpers
 * --------------------------------------------------------------------- */

static Oid
events_relid(void)
{
	Oid			nspid = get_namespace_oid(ANALYTICS_SCHEMA, false);
	Oid			relid = get_relname_relid(ANALYTICS_EVENTS, nspid);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table analytics.events does not exist"),
				 errhint("Is the analytics extension installed in this database?")));
	return relid;
}

static int64
floor_div(int64 a, int64 b)
{
	int64		q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static TimestampTz
day_start(int64 day)
{
	return (TimestampTz) (day * USECS_PER_DAY);
}

/* "YYYY-MM-DD" of a day number, into buf */
static void
day_ymd(int64 day, int *y, int *m, int *d)
{
	j2date((int) (day + POSTGRES_EPOCH_JDATE), y, m, d);
}

static char *
day_literal(int64 day)
{
	int			y,
				m,
				d;

	day_ymd(day, &y, &m, &d);
	return psprintf("%04d-%02d-%02d 00:00:00+00", y, m, d);
}

static char *
day_partition_name(int64 day)
{
	int			y,
				m,
				d;

	day_ymd(day, &y, &m, &d);
	return psprintf("events_p%04d%02d%02d", y, m, d);
}

static char *
timestamptz_iso(TimestampTz t)
{
	return text_to_cstring(DatumGetTextPP(DirectFunctionCall2(timestamptz_to_char,
															  TimestampTzGetDatum(t),
															  CStringGetTextDatum("YYYY-MM-DD\"T\"HH24:MI:SS.USOF"))));
}

static void
json_append_name(StringInfo buf, int *n, const char *name)
{
	if ((*n)++ > 0)
		appendStringInfoChar(buf, ',');
	escape_json(buf, name);
}

/*
 * Partitions of analytics.events with their bounds, read from relpartbound.
 * Allocated in CurrentMemoryContext, sorted by lower bound, default last.
 */
static int
partinfo_cmp(const ListCell *a, const ListCell *b)
{
	PartInfo   *pa = lfirst(a);
	PartInfo   *pb = lfirst(b);

	if (pa->is_default != pb->is_default)
		return pa->is_default ? 1 : -1;
	if (pa->has_lower != pb->has_lower)
		return pa->has_lower ? 1 : -1;
	if (pa->lower != pb->lower)
		return pa->lower < pb->lower ? -1 : 1;
	return 0;
}

static List *
read_partitions(Oid parentoid)
{
	List	   *children = find_inheritance_children(parentoid, NoLock);
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, children)
	{
		Oid			relid = lfirst_oid(lc);
		HeapTuple	tup;
		Datum		datum;
		bool		isnull;
		PartInfo   *pi;

		tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
		if (!HeapTupleIsValid(tup))
			continue;			/* dropped concurrently */
		datum = SysCacheGetAttr(RELOID, tup, Anum_pg_class_relpartbound, &isnull);
		if (isnull)
		{
			ReleaseSysCache(tup);
			continue;
		}

		pi = palloc0(sizeof(PartInfo));
		pi->relid = relid;
		pi->relname = pstrdup(NameStr(((Form_pg_class) GETSTRUCT(tup))->relname));
		pi->nspname = get_namespace_name(((Form_pg_class) GETSTRUCT(tup))->relnamespace);

		{
			PartitionBoundSpec *spec;

			spec = castNode(PartitionBoundSpec,
							stringToNode(TextDatumGetCString(datum)));
			if (spec->is_default)
				pi->is_default = true;
			else
			{
				PartitionRangeDatum *lo = castNode(PartitionRangeDatum, linitial(spec->lowerdatums));
				PartitionRangeDatum *hi = castNode(PartitionRangeDatum, linitial(spec->upperdatums));

				if (lo->kind == PARTITION_RANGE_DATUM_VALUE)
				{
					pi->has_lower = true;
					pi->lower = DatumGetTimestampTz(castNode(Const, lo->value)->constvalue);
				}
				else if (lo->kind == PARTITION_RANGE_DATUM_MAXVALUE)
				{
					pi->has_lower = true;
					pi->lower = DT_NOEND;
				}
				if (hi->kind == PARTITION_RANGE_DATUM_VALUE)
				{
					pi->has_upper = true;
					pi->upper = DatumGetTimestampTz(castNode(Const, hi->value)->constvalue);
				}
				else if (hi->kind == PARTITION_RANGE_DATUM_MINVALUE)
				{
					pi->has_upper = true;
					pi->upper = DT_NOBEGIN;
				}
			}
		}
		ReleaseSysCache(tup);
		result = lappend(result, pi);
	}
	list_sort(result, partinfo_cmp);
	return result;
}

/* does any non-default partition overlap [lo, hi)? */
static PartInfo *
find_overlap(List *parts, TimestampTz lo, TimestampTz hi)
{
	ListCell   *lc;

	foreach(lc, parts)
	{
		PartInfo   *pi = lfirst(lc);
		bool		starts_before_hi,
					ends_after_lo;

		if (pi->is_default)
			continue;
		starts_before_hi = !pi->has_lower || pi->lower < hi;
		ends_after_lo = !pi->has_upper || pi->upper > lo;
		if (starts_before_hi && ends_after_lo)
			return pi;
	}
	return NULL;
}

/* ---------------------------------------------------------------------
 * retention
 * --------------------------------------------------------------------- */

static Interval *
parse_interval(const char *s)
{
	return DatumGetIntervalP(DirectFunctionCall3(interval_in,
												 CStringGetDatum(s),
												 ObjectIdGetDatum(InvalidOid),
												 Int32GetDatum(-1)));
}

/* current retention; caller must be connected to SPI */
Interval *
analytics_read_retention(void)
{
	/* kept for the backend: every API question reads the retention */
	static SPIPlanPtr plan = NULL;
	int			ret;

	if (plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare("SELECT retention FROM analytics.settings WHERE id", 0, NULL);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "could not prepare the query of analytics.settings: %s", SPI_result_code_string(SPI_result));
		plan = p;
	}
	ret = SPI_execute_plan(plan, NULL, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read analytics.settings: %s", SPI_result_code_string(ret));
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			Interval   *res = (Interval *) SPI_palloc(sizeof(Interval));

			memcpy(res, DatumGetIntervalP(d), sizeof(Interval));
			return res;
		}
	}
	{
		Interval   *def = parse_interval(DEFAULT_RETENTION);
		Interval   *res = (Interval *) SPI_palloc(sizeof(Interval));

		memcpy(res, def, sizeof(Interval));
		return res;
	}
}

Datum
analytics_retention(PG_FUNCTION_ARGS)
{
	Interval   *spi_res;
	Interval   *res = (Interval *) palloc(sizeof(Interval));

	SPI_connect();
	spi_res = analytics_read_retention();
	memcpy(res, spi_res, sizeof(Interval));
	SPI_finish();
	PG_RETURN_INTERVAL_P(res);
}

Datum
analytics_set_retention(PG_FUNCTION_ARGS)
{
	Interval   *iv;
	Interval   *min_iv = parse_interval("1 day");
	Interval   *max_iv = parse_interval(MAX_RETENTION);
	Oid			argtypes[1] = {INTERVALOID};
	Datum		values[1];
	int			ret;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("retention must not be NULL"),
				 errhint("Give an interval of at least 1 day, for example '30 days', '3 months' or '12 months'.")));
	iv = PG_GETARG_INTERVAL_P(0);

	if (DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(iv),
										  IntervalPGetDatum(min_iv))) < 0 ||
		DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(iv),
										  IntervalPGetDatum(max_iv))) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid retention: \"%s\"",
						DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(iv)))),
				 errdetail("The retention must be at least 1 day and at most %s.", MAX_RETENTION),
				 errhint("For example '30 days', '3 months' or '12 months'.")));

	values[0] = IntervalPGetDatum(iv);
	SPI_connect();
	ret = SPI_execute_with_args("INSERT INTO analytics.settings (id, retention) VALUES (true, $1) "
								"ON CONFLICT (id) DO UPDATE SET retention = excluded.retention",
								1, argtypes, values, NULL, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "could not store the retention: %s", SPI_result_code_string(ret));
	SPI_finish();

	PG_RETURN_INTERVAL_P(iv);
}

/* ---------------------------------------------------------------------
 * partitions()
 * --------------------------------------------------------------------- */

Datum
analytics_partitions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *parts;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	parts = read_partitions(events_relid());
	foreach(lc, parts)
	{
		PartInfo   *pi = lfirst(lc);
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = ObjectIdGetDatum(pi->relid);
		values[1] = TimestampTzGetDatum(pi->has_lower ? pi->lower : DT_NOBEGIN);
		values[2] = TimestampTzGetDatum(pi->has_upper ? pi->upper : DT_NOEND);
		nulls[1] = nulls[2] = pi->is_default;
		values[3] = BoolGetDatum(pi->is_default);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * the accepted range of emitted_at (README: Data model)
 * --------------------------------------------------------------------- */

PG_FUNCTION_INFO_V1(analytics_check_emitted_at);

/*
 * analytics._check_emitted_at(timestamptz) RETURNS boolean: true, or an
 * error naming the value and the accepted range.  The CHECK constraint
 * events_emitted_at_range of analytics.events (inherited by every
 * partition, the default one included) calls it for each row written by
 * INSERT, COPY, UPDATE, events_import and ingest_ping; as a constraint it
 * runs before the row is buffered, so COPY's error context names the right
 * line.
 */
Datum
analytics_check_emitted_at(PG_FUNCTION_ARGS)
{
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(0);

	if (ts < ANALYTICS_EMITTED_AT_MIN || ts >= ANALYTICS_EMITTED_AT_END)
	{
		/* the value as ISO 8601 in UTC, like the range (whatever DateStyle) */
		struct pg_tm tm;
		fsec_t		fsec;
		char		buf[MAXDATELEN + 1];

		if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) == 0)
		{
			tm.tm_isdst = 0;	/* print the offset: +00 */
			EncodeDateTime(&tm, fsec, true, 0, NULL, USE_ISO_DATES, buf);
		}
		else
			strlcpy(buf, DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(ts))),
					sizeof(buf));
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("emitted_at out of range: \"%s\"", buf),
				 errdetail("emitted_at must be at or after %s and before %s (the years 1970 to 9999, UTC).",
						   ANALYTICS_EMITTED_AT_MIN_TEXT, ANALYTICS_EMITTED_AT_END_TEXT),
				 errhint("Check the clock that stamped the event, and the unit of epoch timestamps (seconds or milliseconds)."),
				 err_generic_string(PG_DIAG_SCHEMA_NAME, ANALYTICS_SCHEMA),
				 err_generic_string(PG_DIAG_TABLE_NAME, ANALYTICS_EVENTS),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "emitted_at"),
				 err_generic_string(PG_DIAG_CONSTRAINT_NAME, "events_emitted_at_range")));
	}
	PG_RETURN_BOOL(true);
}

/* ---------------------------------------------------------------------
 * steps
 * --------------------------------------------------------------------- */

/* "YYYY-MM-DDTHH:MM:SSZ" of a UTC time, whatever the session's TimeZone */
static char *
utc_iso(TimestampTz t)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(t, NULL, &tm, &fsec, NULL, NULL) != 0)
		return pstrdup("out of range");
	return psprintf("%04d-%02d-%02dT%02d:%02d:%02dZ",
					tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/*
 * Report a step that failed or could not get its lock: which step, its
 * target (and, in extra, a JSON fragment ",\"key\": value..." naming the
 * hour, projects or day), the SQLSTATE and the message.  It was rolled back
 * and is retried by the next run.
 */
static void
record_deferred(MaintState *st, const char *step, const char *target, const char *extra,
				ErrorData *edata)
{
	MemoryContext old = MemoryContextSwitchTo(st->cxt);
	bool		lock = edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE;

	if (st->n_deferred++ > 0)
		appendStringInfoChar(&st->deferred, ',');
	appendStringInfoString(&st->deferred, "{\"step\":");
	escape_json(&st->deferred, step);
	appendStringInfoString(&st->deferred, ",\"target\":");
	escape_json(&st->deferred, target ? target : "");
	if (target && (strcmp(step, "place") == 0 || strcmp(step, "create") == 0 ||
				   strcmp(step, "drop") == 0))
	{
		appendStringInfoString(&st->deferred, ",\"partition\":");
		escape_json(&st->deferred, target);
	}
	if (extra)
		appendStringInfoString(&st->deferred, extra);
	appendStringInfoString(&st->deferred, ",\"sqlstate\":");
	escape_json(&st->deferred, unpack_sql_state(edata->sqlerrcode));
	appendStringInfoString(&st->deferred, ",\"reason\":");
	escape_json(&st->deferred,
				lock ? "lock timeout, retried by the next run" :
				(edata->message ? edata->message : "error"));
	appendStringInfoString(&st->deferred, ",\"message\":");
	escape_json(&st->deferred, edata->message ? edata->message : "error");
	appendStringInfoChar(&st->deferred, '}');
	MemoryContextSwitchTo(old);

	ereport(lock ? LOG : WARNING,
			(errmsg("analytics maintenance: %s %s deferred: %s",
					step, target ? target : "",
					edata->message ? edata->message : "error"),
			 edata->detail ? errdetail_internal("%s", edata->detail) : 0));
}

static void
set_step_lock_timeout(MaintState *st)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), "%d", st->params.lock_timeout_ms);
	(void) set_config_option("lock_timeout", buf, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * The report's counters, as they were before a step: a step that is rolled
 * back is taken out of the report again (it counts only committed work).
 */
typedef struct StepCounts
{
	int64		rows_moved;
	int64		rows_discarded;
	int64		plays_archived;
	int64		sessions_pruned;
	int64		rollup_hours;
	int			n_created;
	int			created_len;
	int			n_dropped;
	int			dropped_len;
} StepCounts;

static void
save_counts(const MaintState *st, StepCounts *c)
{
	c->rows_moved = st->rows_moved;
	c->rows_discarded = st->rows_discarded;
	c->plays_archived = st->plays_archived;
	c->sessions_pruned = st->sessions_pruned;
	c->rollup_hours = st->rollup_hours;
	c->n_created = st->n_created;
	c->created_len = st->created.len;
	c->n_dropped = st->n_dropped;
	c->dropped_len = st->dropped.len;
}

static void
restore_counts(MaintState *st, const StepCounts *c)
{
	st->rows_moved = c->rows_moved;
	st->rows_discarded = c->rows_discarded;
	st->plays_archived = c->plays_archived;
	st->sessions_pruned = c->sessions_pruned;
	st->rollup_hours = c->rollup_hours;
	st->n_created = c->n_created;
	st->created.len = c->created_len;
	st->created.data[c->created_len] = '\0';
	st->n_dropped = c->n_dropped;
	st->dropped.len = c->dropped_len;
	st->dropped.data[c->dropped_len] = '\0';
}

/*
 * Run one step: its own transaction in commit mode, a subtransaction
 * otherwise.  Returns NULL when it committed, else its error (allocated in
 * st->cxt; the step was rolled back and its counts taken out again).  A
 * cancel or shutdown stops the run: in commit mode st->stop is set, inside
 * the caller's transaction the error is re-thrown.
 */
static ErrorData *
run_step_quiet(MaintState *st, StepFn fn, void *arg)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *volatile failed = NULL;
	StepCounts	before;

	save_counts(st, &before);
	st->lock_start = 0;
	if (st->commit_mode)
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
	}
	else
	{
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(oldcxt);
	}
	PG_TRY();
	{
		int			nest = NewGUCNestLevel();

		set_step_lock_timeout(st);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		fn(st, arg);
		SPI_finish();
		AtEOXact_GUC(true, nest);
		if (st->commit_mode)
		{
			PopActiveSnapshot();
			CommitTransactionCommand();
		}
		else
		{
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		bool		stop;

		MemoryContextSwitchTo(st->cxt);
		edata = CopyErrorData();
		FlushErrorState();
		if (st->commit_mode)
			AbortCurrentTransaction();
		else
		{
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
		}
		stop = edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN;
		if (stop && !st->commit_mode)
			ReThrowError(edata);
		if (stop)
			st->stop = true;
		failed = edata;
	}
	PG_END_TRY();

	if (failed != NULL)
	{
		restore_counts(st, &before);
		return failed;
	}
	if (st->lock_start != 0)
	{
		double		ms = (double) (GetCurrentTimestamp() - st->lock_start) / 1000.0;

		if (ms > st->max_parent_lock_ms)
			st->max_parent_lock_ms = ms;
	}
	return NULL;
}

/*
 * Run a step (run_step_quiet); a failure is reported as deferred, naming the
 * step, its target and extra (see record_deferred).  True when it committed.
 */
static bool
run_step(MaintState *st, const char *step, const char *target, const char *extra,
		 StepFn fn, void *arg)
{
	ErrorData  *edata = run_step_quiet(st, fn, arg);

	if (edata == NULL)
		return true;
	record_deferred(st, step, target, extra, edata);
	FreeErrorData(edata);
	return false;
}

/* plan: read settings, partitions and the days found in the default partition */
static void
step_plan(MaintState *st, void *arg)
{
	Oid			parent = events_relid();
	Interval   *ret;
	List	   *parts;
	MemoryContext old;
	int			spi;
	uint64		i;
	int64		ahead;

	ret = analytics_read_retention();
	old = MemoryContextSwitchTo(st->cxt);
	st->retention = palloc(sizeof(Interval));
	memcpy(st->retention, ret, sizeof(Interval));
	MemoryContextSwitchTo(old);
	st->cutoff = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
														 TimestampTzGetDatum(st->now),
														 IntervalPGetDatum(st->retention)));

	/* stray rows, per UTC day */
	spi = SPI_execute("SELECT floor(extract(epoch FROM emitted_at) / 86400)::bigint, count(*)::bigint "
					  "FROM analytics.events_default GROUP BY 1 ORDER BY 1", true, 0);
	if (spi != SPI_OK_SELECT)
		elog(ERROR, "could not survey analytics.events_default: %s", SPI_result_code_string(spi));

	old = MemoryContextSwitchTo(st->cxt);
	st->days = NIL;
	for (i = 0; i < SPI_processed; i++)
	{
		bool		n1,
					n2;
		DayWork    *dw = palloc0(sizeof(DayWork));

		dw->day = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &n1)) - UNIX_TO_PG_DAYS;
		dw->rows = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &n2));
		st->days = lappend(st->days, dw);
	}
	MemoryContextSwitchTo(old);

	/* partitions, as they are now */
	parts = read_partitions(parent);
	old = MemoryContextSwitchTo(st->cxt);
	st->parts = NIL;
	{
		ListCell   *lc;

		foreach(lc, parts)
		{
			PartInfo   *src = lfirst(lc);
			PartInfo   *pi = palloc(sizeof(PartInfo));

			memcpy(pi, src, sizeof(PartInfo));
			pi->relname = pstrdup(src->relname);
			pi->nspname = pstrdup(src->nspname);
			st->parts = lappend(st->parts, pi);
		}
	}

	/* days to create ahead: today .. today + premake_days, when missing */
	for (ahead = 0; ahead <= st->params.premake_days; ahead++)
	{
		int64		day = st->today + ahead;
		bool		planned = false;
		ListCell   *lc;

		foreach(lc, st->days)
		{
			if (((DayWork *) lfirst(lc))->day == day)
				planned = true;
		}
		if (!planned && !find_overlap(st->parts, day_start(day), day_start(day + 1)))
		{
			DayWork    *dw = palloc0(sizeof(DayWork));

			dw->day = day;
			dw->ahead = true;
			st->days = lappend(st->days, dw);
		}
	}
	MemoryContextSwitchTo(old);
}

/*
 * Whether the installed SQL has this function (signature as for
 * to_regprocedure): the library may be newer than the extension's SQL
 * until ALTER EXTENSION ... UPDATE.
 */
static bool
sql_function_exists(const char *signature)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	int			ret;

	values[0] = CStringGetTextDatum(signature);
	ret = SPI_execute_with_args("SELECT pg_catalog.to_regprocedure($1) IS NOT NULL",
								1, argtypes, values, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not look up %s", signature);
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Row-level security and the parent's privileges for a new partition
 * (analytics._secure_table, README "Tenancy"), when this version has them.
 */
static void
secure_partition(const char *qname)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	int			ret;

	if (!sql_function_exists("analytics._secure_table(regclass,regclass)"))
		return;
	values[0] = CStringGetTextDatum(qname);
	ret = SPI_execute_with_args("SELECT analytics._secure_table($1::pg_catalog.regclass, 'analytics.events'::pg_catalog.regclass)",
								1, argtypes, values, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not secure %s: %s", qname, SPI_result_code_string(ret));
}

static void place_day(MaintState *st, DayWork *dw);

/* forget the derived data of [lo, hi), if this version has rollups */
static void
forget_rollups(TimestampTz lo, TimestampTz hi)
{
	Oid			argtypes[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[2];
	int			ret;

	if (!sql_function_exists("analytics._rollup_forget(timestamptz,timestamptz)"))
		return;
	values[0] = TimestampTzGetDatum(lo);
	values[1] = TimestampTzGetDatum(hi);
	ret = SPI_execute_with_args("SELECT analytics._rollup_forget($1, $2)", 2, argtypes, values, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not forget the rollups of a dropped range: %s", SPI_result_code_string(ret));
}

/*
 * Moving rows out of the default partition does not change any event, so
 * the rollups need not know: the access method's change tracking is off
 * meanwhile.
 */
static void
step_place_day(MaintState *st, void *arg)
{
	analytics_rollup_tracking_suspended = true;
	PG_TRY();
	{
		place_day(st, (DayWork *) arg);
	}
	PG_FINALLY();
	{
		analytics_rollup_tracking_suspended = false;
	}
	PG_END_TRY();
}

/*
 * Give one day a home: discard its stray rows when the whole day is past
 * the retention window (archiving their plays), else create the day's
 * partition, move the day's rows from the default partition into it and
 * attach it.
 */
static void
place_day(MaintState *st, DayWork *dw)
{
	Oid			parent = events_relid();
	Oid			defoid;
	TimestampTz lo = day_start(dw->day);
	TimestampTz hi = day_start(dw->day + 1);
	Oid			argtypes[3] = {TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[3];
	int			ret;

	values[0] = TimestampTzGetDatum(lo);
	values[1] = TimestampTzGetDatum(hi);
	/* now(), as a parameter: Citus refuses functions in DO UPDATE SET */
	values[2] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());

	/* parent first, then the default partition */
	LockRelationOid(parent, ShareUpdateExclusiveLock);
	defoid = get_default_partition_oid(parent);
	if (OidIsValid(defoid))
		LockRelationOid(defoid, AccessExclusiveLock);

	if (hi <= st->cutoff)
	{
		bool		isnull;

		if (!OidIsValid(defoid))
			return;
		ret = SPI_execute_with_args(
									"WITH gone AS ("
									"  DELETE FROM analytics.events_default"
									"  WHERE emitted_at >= $1 AND emitted_at < $2"
									"  RETURNING project_id, media_id, media_type, event_type),"
									" plays AS ("
									"  SELECT project_id, media_id, media_type, count(*) AS n FROM gone"
									"  WHERE event_type = 'play' GROUP BY 1, 2, 3),"
									" ins AS ("
									"  INSERT INTO analytics.play_totals AS t (project_id, media_id, media_type, plays)"
									"  SELECT project_id, media_id, media_type, n FROM plays"
									"  ON CONFLICT (project_id, media_id, media_type)"
									"  DO UPDATE SET plays = t.plays + excluded.plays, updated_at = $3)"
									" SELECT (SELECT count(*) FROM gone)::bigint,"
									"        (SELECT coalesce(sum(n), 0) FROM plays)::bigint",
									3, argtypes, values, NULL, false, 0);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not discard expired rows: %s", SPI_result_code_string(ret));
		st->rows_discarded += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		st->plays_archived += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		forget_rollups(lo, hi);
		return;
	}

	{
		List	   *parts = read_partitions(parent);
		PartInfo   *overlap = find_overlap(parts, lo, hi);
		char	   *relname = day_partition_name(dw->day);
		const char *qname = quote_qualified_identifier(ANALYTICS_SCHEMA, relname);
		char	   *lo_lit = day_literal(dw->day);
		char	   *hi_lit = day_literal(dw->day + 1);
		StringInfoData sql;

		if (overlap)
		{
			if (dw->ahead)
				return;			/* somebody created it meanwhile */
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("cannot create partition %s: its range overlaps partition %s",
							relname, overlap->relname)));
		}

		initStringInfo(&sql);
		appendStringInfo(&sql,
						 "CREATE TABLE %s (LIKE analytics.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS, "
						 "CONSTRAINT %s CHECK (emitted_at >= '%s' AND emitted_at < '%s'))%s",
						 qname, quote_identifier(psprintf("%s_bounds", relname)), lo_lit, hi_lit,
						 OidIsValid(get_table_am_oid("analytics_heap", true)) ? " USING analytics_heap" : "");
		ret = SPI_execute(sql.data, false, 0);
		if (ret != SPI_OK_UTILITY)
			elog(ERROR, "could not create %s: %s", qname, SPI_result_code_string(ret));
		secure_partition(qname);

		if (OidIsValid(defoid))
		{
			resetStringInfo(&sql);
			appendStringInfo(&sql,
							 "WITH moved AS (DELETE FROM analytics.events_default"
							 " WHERE emitted_at >= $1 AND emitted_at < $2 RETURNING *)"
							 " INSERT INTO %s SELECT * FROM moved", qname);
			ret = SPI_execute_with_args(sql.data, 2, argtypes, values, NULL, false, 0);
			if (ret != SPI_OK_INSERT)
				elog(ERROR, "could not move rows into %s: %s", qname, SPI_result_code_string(ret));
			st->rows_moved += (int64) SPI_processed;
		}

		/*
		 * its own BRIN index, before it is attached (since 0.6 the parent has
		 * none: README "Backup and restore")
		 */
		if (sql_function_exists("analytics._events_brin()"))
		{
			resetStringInfo(&sql);
			appendStringInfo(&sql,
							 "CREATE INDEX ON %s USING brin (emitted_at) WITH (pages_per_range = 16, autosummarize = on)",
							 qname);
			ret = SPI_execute(sql.data, false, 0);
			if (ret != SPI_OK_UTILITY)
				elog(ERROR, "could not index %s: %s", qname, SPI_result_code_string(ret));
		}

		resetStringInfo(&sql);
		appendStringInfo(&sql,
						 "ALTER TABLE analytics.events ATTACH PARTITION %s FOR VALUES FROM ('%s') TO ('%s')",
						 qname, lo_lit, hi_lit);
		ret = SPI_execute(sql.data, false, 0);
		if (ret != SPI_OK_UTILITY)
			elog(ERROR, "could not attach %s: %s", qname, SPI_result_code_string(ret));

		json_append_name(&st->created, &st->n_created, relname);
	}
}

/*
 * How the parent's ACCESS EXCLUSIVE is requested by the drop step: up to
 * DROP_LOCK_ATTEMPTS times (each waiting at most the step's lock_timeout),
 * DROP_LOCK_PAUSE_MS apart, so that a query that holds analytics.events a
 * little longer than lock_timeout does not waste the archive just done.
 */
#define DROP_LOCK_ATTEMPTS 5
#define DROP_LOCK_PAUSE_MS 200

/* is any backend waiting for a lock on this relation? */
static bool
relation_has_waiters(Oid relid)
{
	LockData   *data = GetLockStatusData();

	for (int i = 0; i < data->nelements; i++)
	{
		LockInstanceData *inst = &data->locks[i];

		if (inst->waitLockMode != NoLock &&
			inst->locktag.locktag_type == LOCKTAG_RELATION &&
			inst->locktag.locktag_field1 == MyDatabaseId &&
			inst->locktag.locktag_field2 == relid)
			return true;
	}
	return false;
}

/*
 * The parent's ACCESS EXCLUSIVE, taken while we hold the expired partition
 * SHARE ROW EXCLUSIVE.  A backend waiting for the partition holds a lock on
 * the parent (queries and writes lock the parent first): waiting for the
 * parent then would be a deadlock, so we give up instead (the step is
 * rolled back, the waiter proceeds, the next run retries).  A waiter that
 * comes while we wait can only be caught by our lock_timeout, which ends
 * our wait before its deadlock_timeout runs the deadlock check (README:
 * keep analytics.maintenance_lock_timeout below deadlock_timeout).  Each
 * attempt is a subtransaction, so a timed-out attempt keeps the archive.
 */
static void
lock_parent_for_drop(Oid parent, Oid partition, const char *relname)
{
	for (volatile int attempt = 1;; attempt++)
	{
		MemoryContext oldcxt = CurrentMemoryContext;
		ResourceOwner oldowner = CurrentResourceOwner;
		ErrorData  *volatile edata = NULL;

		if (relation_has_waiters(partition))
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("could not drop partition %s: a session is waiting to write into it", relname),
					 errdetail("The waiting session holds a lock on analytics.events, which the drop would have to wait for."),
					 errhint("The drop is retried by the next maintenance run; writes into days past the retention delay it.")));

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(oldcxt);
		PG_TRY();
		{
			LockRelationOid(parent, AccessExclusiveLock);
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(oldcxt);
			edata = CopyErrorData();
			FlushErrorState();
		}
		PG_END_TRY();

		if (edata == NULL)
		{
			/* the lock now belongs to the step's (sub)transaction */
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
			return;
		}
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE || attempt >= DROP_LOCK_ATTEMPTS)
			ReThrowError(edata);
		FreeErrorData(edata);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 DROP_LOCK_PAUSE_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * In a committing worker, the drop step's hold of the parent ends when the
 * commit releases the locks, before the commit unlinks the dropped files
 * (which can take a while for a large table): this callback reads the clock
 * then, and counts the hold in max_parent_lock_ms.
 */
static MaintState *drop_hold_state = NULL;
static Oid	drop_hold_parent = InvalidOid;

static void
drop_hold_released(ResourceReleasePhase phase, bool isCommit, bool isTopLevel, void *arg)
{
	MaintState *st = drop_hold_state;
	LOCKTAG		tag;

	if (st == NULL || phase != RESOURCE_RELEASE_LOCKS || !isTopLevel)
		return;
	SET_LOCKTAG_RELATION(tag, MyDatabaseId, drop_hold_parent);
#if PG_VERSION_NUM >= 170000
	if (LockHeldByMe(&tag, AccessExclusiveLock, false))
#else
	if (LockHeldByMe(&tag, AccessExclusiveLock))
#endif
		return;					/* not yet: a child resource owner */
	drop_hold_state = NULL;
	if (isCommit && st->lock_start != 0)
	{
		double		ms = (double) (GetCurrentTimestamp() - st->lock_start) / 1000.0;

		if (ms > st->max_parent_lock_ms)
			st->max_parent_lock_ms = ms;
		st->lock_start = 0;		/* counted */
	}
}

/*
 * Archive the plays of an expired partition and drop it, holding the
 * parent's ACCESS EXCLUSIVE lock only for the DROP itself (README,
 * "Retention and maintenance", Locks):
 *
 *	1. analytics.events ACCESS SHARE (what a query takes: it only keeps the
 *	   partition attached), then the partition SHARE ROW EXCLUSIVE: it
 *	   blocks every write to the partition until the end of the
 *	   transaction, but no query, and no write to any other partition;
 *	2. its plays are added to play_totals and its rollup rows forgotten
 *	   (the slow part: one aggregate over the partition, deletes in the
 *	   rollups), and that WAL is flushed;
 *	3. only then analytics.events ACCESS EXCLUSIVE, DROP TABLE, commit.
 *
 * The partition cannot change from 1 to the commit, so the plays archived
 * are exactly the plays it holds when it disappears, in the same
 * transaction.  Parent before child throughout, as queries and inserts
 * lock; the one cycle possible is a write into this expired partition that
 * arrives during 2 (it holds the parent, waits for the partition) while we
 * wait for the parent in 3: our lock_timeout (shorter than deadlock_timeout)
 * ends it, the step is rolled back, the write proceeds, and the next run
 * retries the drop.
 */
static void
step_drop(MaintState *st, void *arg)
{
	PartInfo   *pi = (PartInfo *) arg;
	Oid			parent = events_relid();
	List	   *parts;
	ListCell   *lc;
	bool		still = false;
	const char *qname;
	StringInfoData sql;
	int			ret;
	bool		isnull;
	int64		plays;
	Oid			nowtype = TIMESTAMPTZOID;
	Datum		nowval;

	/* keeps the partition attached (DETACH and DROP need the parent AE) */
	LockRelationOid(parent, AccessShareLock);

	/* re-check under the lock that it is still an expired partition */
	parts = read_partitions(parent);
	foreach(lc, parts)
	{
		PartInfo   *cur = lfirst(lc);

		if (cur->relid == pi->relid && !cur->is_default && cur->has_upper &&
			cur->upper <= st->cutoff)
			still = true;
	}
	if (!still)
		return;

	/* no write into the partition from now until it is gone */
	LockRelationOid(pi->relid, ShareRowExclusiveLock);
	qname = quote_qualified_identifier(pi->nspname, pi->relname);

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "WITH plays AS ("
					 "  SELECT project_id, media_id, media_type, count(*) AS n FROM %s"
					 "  WHERE event_type = 'play' GROUP BY 1, 2, 3),"
					 " ins AS ("
					 "  INSERT INTO analytics.play_totals AS t (project_id, media_id, media_type, plays)"
					 "  SELECT project_id, media_id, media_type, n FROM plays"
					 "  ON CONFLICT (project_id, media_id, media_type)"
					 "  DO UPDATE SET plays = t.plays + excluded.plays, updated_at = $1)"
					 " SELECT coalesce(sum(n), 0)::bigint FROM plays", qname);
	/* now(), as a parameter: Citus refuses functions in DO UPDATE SET */
	nowval = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	ret = SPI_execute_with_args(sql.data, 1, &nowtype, &nowval, NULL, false, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not archive the plays of %s: %s", qname, SPI_result_code_string(ret));
	plays = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	if (pi->has_lower)
		forget_rollups(pi->lower, pi->upper);

	/*
	 * Write our WAL so far to disk now: else the commit would flush it (and
	 * every other backend's WAL before it) while we hold the parent.
	 */
	if (XactLastRecEnd != InvalidXLogRecPtr)
		XLogFlush(XactLastRecEnd);

	/* the parent's ACCESS EXCLUSIVE (needed by DROP): held to the commit */
	lock_parent_for_drop(parent, pi->relid, pi->relname);
	st->lock_start = GetCurrentTimestamp();
	if (st->commit_mode)
	{
		static bool registered = false;

		if (!registered)
		{
			RegisterResourceReleaseCallback(drop_hold_released, NULL);
			registered = true;
		}
		drop_hold_state = st;
		drop_hold_parent = parent;
	}

	resetStringInfo(&sql);
	appendStringInfo(&sql, "DROP TABLE %s", qname);
	ret = SPI_execute(sql.data, false, 0);
	if (ret != SPI_OK_UTILITY)
		elog(ERROR, "could not drop %s: %s", qname, SPI_result_code_string(ret));

	st->plays_archived += plays;
	json_append_name(&st->dropped, &st->n_dropped, pi->relname);
}

/* forget the ingest state of playbacks idle for longer than the timeout */
static void
step_prune_sessions(MaintState *st, void *arg)
{
	Oid			argtypes[1] = {FLOAT8OID};
	Datum		values[1];
	int			ret;

	values[0] = Float8GetDatum((double) (st->params.session_idle_timeout_s > 0 ?
										 st->params.session_idle_timeout_s : 86400));
	ret = SPI_execute_with_args("DELETE FROM analytics.ping_sessions"
								" WHERE updated_at < pg_catalog.now() - pg_catalog.make_interval(secs => $1)",
								1, argtypes, values, NULL, false, 0);
	if (ret != SPI_OK_DELETE)
		elog(ERROR, "could not prune analytics.ping_sessions: %s", SPI_result_code_string(ret));
	st->sessions_pruned += (int64) SPI_processed;
}

/* hours re-aggregated per refresh step */
static int
refresh_batch(const MaintState *st)
{
	return st->params.rollup_refresh_hours > 0 ? st->params.rollup_refresh_hours : 168;
}

/*
 * Re-aggregate pending hours into the rollups.  An hour is the unit of the
 * refresh (README: Retention and maintenance): a step refreshes a batch of
 * hours (analytics._rollup_refresh_hours); when a batch fails for another
 * reason than a lock timeout, its halves are retried as steps of their own,
 * down to single hours, so that one hour whose refresh fails (reported with
 * its projects, SQLSTATE and message, and left pending for the next run)
 * never keeps the other hours from being refreshed.
 */

/* a set of hours, allocated in st->cxt */
typedef struct HourSet
{
	int			n;
	TimestampTz *hours;
} HourSet;

static HourSet *
hourset_slice(MaintState *st, const HourSet *src, int from, int n)
{
	MemoryContext old = MemoryContextSwitchTo(st->cxt);
	HourSet    *hs = palloc(sizeof(HourSet));

	hs->n = n;
	hs->hours = palloc(sizeof(TimestampTz) * Max(n, 1));
	memcpy(hs->hours, src->hours + from, sizeof(TimestampTz) * n);
	MemoryContextSwitchTo(old);
	return hs;
}

/* refresh exactly these hours (those still pending); returns how many */
static int
refresh_hours(MaintState *st, const HourSet *hs)
{
	Oid			argtypes[1] = {TIMESTAMPTZARRAYOID};
	Datum		values[1];
	bool		isnull;
	int			ret;

	values[0] = analytics_hours_array(hs->hours, hs->n);
	ret = SPI_execute_with_args("SELECT analytics._rollup_refresh_hours($1)", 1, argtypes, values, NULL, false, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not refresh the rollups: %s", SPI_result_code_string(ret));
	ret = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	st->rollup_hours += ret;
	return ret;
}

static void note_hour_projects(MaintState *st, TimestampTz hour);

/*
 * The next batch: the oldest pending hours, at most rollup_refresh_hours,
 * except those that failed in this run; then refresh them.  st->batch is
 * the batch (kept when the step fails, to be split).
 */
static void
step_refresh_batch(MaintState *st, void *arg)
{
	Oid			argtypes[2] = {TIMESTAMPTZARRAYOID, INT4OID};
	Datum		values[2];
	bool		isnull;
	Datum		d;
	int			ret;
	MemoryContext old;

	old = MemoryContextSwitchTo(st->cxt);
	st->batch = palloc0(sizeof(HourSet));
	MemoryContextSwitchTo(old);
	st->last_refresh = -1;

	if (!sql_function_exists("analytics._rollup_refresh_hours(timestamp with time zone[])"))
	{
		/* the installed SQL is older than the library: whole batches */
		Oid			oldtypes[1] = {INT4OID};

		if (!sql_function_exists("analytics._rollup_refresh(integer)"))
			return;
		values[0] = Int32GetDatum(refresh_batch(st));
		ret = SPI_execute_with_args("SELECT analytics._rollup_refresh($1)", 1, oldtypes, values, NULL, false, 0);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not refresh the rollups: %s", SPI_result_code_string(ret));
		st->last_refresh = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		st->rollup_hours += st->last_refresh;
		return;
	}

	/*
	 * Not read-only: in the caller's transaction a read-only query would use
	 * the statement's snapshot and see the marks of earlier steps again.
	 */
	values[0] = analytics_hours_array(st->failed_hours, st->n_failed_hours);
	values[1] = Int32GetDatum(refresh_batch(st));
	ret = SPI_execute_with_args("SELECT pg_catalog.array_agg(x.h ORDER BY x.h) FROM"
								" (SELECT DISTINCT p.hour AS h FROM analytics.rollup_pending p"
								"   WHERE p.hour OPERATOR(pg_catalog.<>) ALL ($1) ORDER BY 1 LIMIT $2) x",
								2, argtypes, values, NULL, false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read analytics.rollup_pending: %s", SPI_result_code_string(ret));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
	{
		Datum	   *elems;
		int			n;

		deconstruct_array(DatumGetArrayTypeP(d), TIMESTAMPTZOID, sizeof(TimestampTz),
						  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, NULL, &n);
		old = MemoryContextSwitchTo(st->cxt);
		st->batch->hours = palloc(sizeof(TimestampTz) * Max(n, 1));
		for (int i = 0; i < n; i++)
			st->batch->hours[i] = DatumGetTimestampTz(elems[i]);
		st->batch->n = n;
		MemoryContextSwitchTo(old);
	}
	st->last_refresh = st->batch->n;
	if (st->batch->n == 1)
		note_hour_projects(st, st->batch->hours[0]);
	if (st->batch->n > 0 && refresh_hours(st, st->batch) == 0)
		st->last_refresh = 0;	/* refreshed meanwhile by somebody else: stop */
}

/*
 * Note (in st->hour_projects, JSON) the projects with events pending in a
 * single hour about to be refreshed, for the report should it fail.
 */
static void
note_hour_projects(MaintState *st, TimestampTz hour)
{
	Oid			argtypes[1] = {TIMESTAMPTZOID};
	Datum		values[1];
	bool		isnull;
	Datum		d;
	int			ret;

	values[0] = TimestampTzGetDatum(hour);
	ret = SPI_execute_with_args("SELECT pg_catalog.array_to_json(pg_catalog.array_agg(x.project_id ORDER BY x.project_id))::text"
								" FROM (SELECT DISTINCT p.project_id FROM analytics.rollup_pending p"
								"        WHERE p.hour OPERATOR(pg_catalog.=) $1 ORDER BY 1 LIMIT 10) x",
								1, argtypes, values, NULL, false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read analytics.rollup_pending: %s", SPI_result_code_string(ret));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
	{
		MemoryContext old = MemoryContextSwitchTo(st->cxt);

		st->hour_projects = TextDatumGetCString(d);
		MemoryContextSwitchTo(old);
	}
}

/* refresh a part of a failed batch */
static void
step_refresh_part(MaintState *st, void *arg)
{
	HourSet    *hs = (HourSet *) arg;

	if (hs->n == 1)
		note_hour_projects(st, hs->hours[0]);
	refresh_hours(st, hs);
}

static void
refresh_rollups(MaintState *st)
{
	List	   *queue = NIL;	/* HourSet *: parts of failed batches, last
								 * first */
	bool		more = true;

	for (int i = 0; i < 1000 && !st->stop; i++)
	{
		HourSet    *hs;
		ErrorData  *edata;

		if (queue != NIL)
		{
			hs = llast(queue);
			queue = list_delete_last(queue);
			st->hour_projects = NULL;
			edata = run_step_quiet(st, step_refresh_part, hs);
		}
		else if (more)
		{
			st->hour_projects = NULL;
			edata = run_step_quiet(st, step_refresh_batch, NULL);
			hs = st->batch;
			/* a short batch: no other hour was pending */
			if (edata == NULL && st->last_refresh < refresh_batch(st))
				more = false;
		}
		else
			break;

		if (edata == NULL)
			continue;
		if (edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE || st->stop ||
			hs == NULL || hs->n == 0)
		{
			/* deferred as a whole, as any step: retried by the next run */
			record_deferred(st, "refresh rollups", "analytics.rollup_hour", NULL, edata);
			FreeErrorData(edata);
			break;
		}
		if (hs->n > 1)
		{
			int			half = hs->n / 2;
			MemoryContext old;

			ereport(LOG,
					(errmsg("analytics maintenance: the refresh of %d hours failed (%s), retrying them in smaller steps",
							hs->n, edata->message ? edata->message : "error")));
			old = MemoryContextSwitchTo(st->cxt);
			queue = lappend(queue, hourset_slice(st, hs, half, hs->n - half));
			queue = lappend(queue, hourset_slice(st, hs, 0, half));
			MemoryContextSwitchTo(old);
		}
		else
		{
			/* one hour fails: report it, leave it pending, go on */
			char	   *hour = utc_iso(hs->hours[0]);
			StringInfoData extra;
			MemoryContext old;

			initStringInfo(&extra);
			appendStringInfoString(&extra, ",\"hour\":");
			escape_json(&extra, hour);
			appendStringInfo(&extra, ",\"projects\":%s", st->hour_projects ? st->hour_projects : "[]");
			record_deferred(st, "refresh rollups", hour, extra.data, edata);

			old = MemoryContextSwitchTo(st->cxt);
			if (st->failed_hours == NULL)
				st->failed_hours = palloc(sizeof(TimestampTz) * 16);
			else if ((st->n_failed_hours & 15) == 0)
				st->failed_hours = repalloc(st->failed_hours,
											sizeof(TimestampTz) * (st->n_failed_hours + 16));
			st->failed_hours[st->n_failed_hours++] = hs->hours[0];
			MemoryContextSwitchTo(old);
		}
		FreeErrorData(edata);
	}
}

/* ---------------------------------------------------------------------
 * the run
 * --------------------------------------------------------------------- */

static bool
acquire_run_lock(bool session)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, ANALYTICS_LOCK_CLASSID, ANALYTICS_LOCK_OBJID, 2);
	return LockAcquire(&tag, ExclusiveLock, session, true) != LOCKACQUIRE_NOT_AVAIL;
}

static void
release_run_lock(void)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, ANALYTICS_LOCK_CLASSID, ANALYTICS_LOCK_OBJID, 2);
	LockRelease(&tag, ExclusiveLock, true);
}

/*
 * Whether another session is restoring a dump into this database: it holds
 * the restore lock from its CREATE EXTENSION until it disconnects
 * (src/sql/restore.sql).  Caller is in a transaction.
 */
bool
analytics_restore_in_progress(void)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, ANALYTICS_LOCK_CLASSID, ANALYTICS_RESTORE_LOCK_OBJID, 2);
	if (LockAcquire(&tag, ShareLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		return true;
	LockRelease(&tag, ShareLock, false);
	return false;
}

/* the restore lock of this session, if it holds it (it is not restoring) */
void
analytics_restore_lock_release(void)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, ANALYTICS_LOCK_CLASSID, ANALYTICS_RESTORE_LOCK_OBJID, 2);
#if PG_VERSION_NUM >= 170000
	while (LockHeldByMe(&tag, ExclusiveLock, false))
#else
	while (LockHeldByMe(&tag, ExclusiveLock))
#endif
		LockRelease(&tag, ExclusiveLock, true);
}

/*
 * Run maintenance once.  commit_per_step: we are a background worker
 * outside any transaction and commit each step; else we run inside the
 * caller's transaction.  Returns the jsonb report as text, palloc'd in the
 * caller's memory context.
 */
char *
analytics_maintenance_run(const MaintenanceParams *params, bool commit_per_step,
						  bool *noteworthy)
{
	MemoryContext callercxt = CurrentMemoryContext;
	MaintState *st;
	StringInfoData out;
	bool		got_lock;
	bool		restoring;
	ListCell   *lc;
	char	   *result;

	st = palloc0(sizeof(MaintState));
	st->cxt = AllocSetContextCreate(commit_per_step ? TopMemoryContext : CurrentMemoryContext,
									"analytics maintenance",
									ALLOCSET_DEFAULT_SIZES);
	st->params = *params;
	st->commit_mode = commit_per_step;
	st->now = GetCurrentTimestamp();
	st->today = floor_div(st->now, USECS_PER_DAY);

	MemoryContextSwitchTo(st->cxt);
	initStringInfo(&st->created);
	initStringInfo(&st->dropped);
	initStringInfo(&st->deferred);
	MemoryContextSwitchTo(callercxt);

	/* one run at a time per database; a second caller returns at once */
	if (commit_per_step)
	{
		StartTransactionCommand();
		got_lock = acquire_run_lock(true);
		restoring = got_lock && analytics_restore_in_progress();
		if (restoring)
			release_run_lock();
		CommitTransactionCommand();
	}
	else
	{
		got_lock = acquire_run_lock(false);
		restoring = got_lock && analytics_restore_in_progress();
	}

	MemoryContextSwitchTo(callercxt);
	if (restoring)
	{
		/*
		 * a half-restored database: partitions, rows and settings still
		 * coming
		 */
		MemoryContextDelete(st->cxt);
		if (noteworthy)
			*noteworthy = true;
		return pstrdup("{\"skipped\": true, \"reason\": \"a dump is being restored into this database\"}");
	}
	if (!got_lock)
	{
		MemoryContextDelete(st->cxt);
		if (noteworthy)
			*noteworthy = true;
		return pstrdup("{\"skipped\": true, \"reason\": \"maintenance is already running in this database\"}");
	}

	/* without a plan there is nothing to place or drop; the rest still runs */
	if (run_step(st, "plan", NULL, NULL, step_plan, NULL))
	{
		/* strays and partitions ahead */
		foreach(lc, st->days)
		{
			DayWork    *dw = lfirst(lc);
			char	   *target = day_partition_name(dw->day);

			if (st->stop)
				break;
			{
				int			y,
							m,
							d;
				char	   *extra;

				day_ymd(dw->day, &y, &m, &d);
				extra = dw->ahead ? psprintf(",\"day\":\"%04d-%02d-%02d\"", y, m, d) :
					psprintf(",\"day\":\"%04d-%02d-%02d\",\"rows\":" INT64_FORMAT, y, m, d, dw->rows);
				run_step(st, dw->ahead ? "create" : "place", target, extra, step_place_day, dw);
			}
		}

		/* expired partitions, oldest first */
		foreach(lc, st->parts)
		{
			PartInfo   *pi = lfirst(lc);

			if (st->stop)
				break;
			if (pi->is_default || !pi->has_upper || pi->upper > st->cutoff)
				continue;
			run_step(st, "drop", pi->relname, NULL, step_drop, pi);
		}

	}

	if (!st->stop)
		run_step(st, "prune sessions", "analytics.ping_sessions", NULL, step_prune_sessions, NULL);

	/* derived data, until no hour is pending (bounded: a run ends) */
	refresh_rollups(st);

	if (commit_per_step)
	{
		StartTransactionCommand();
		release_run_lock();
		CommitTransactionCommand();
	}
	MemoryContextSwitchTo(callercxt);

	/* the report */
	initStringInfo(&out);
	appendStringInfo(&out, "{\"mode\": \"%s\"", commit_per_step ? "worker" : "transaction");
	appendStringInfoString(&out, ", \"started_at\": ");
	escape_json(&out, timestamptz_iso(st->now));
	if (st->retention)
	{
		appendStringInfoString(&out, ", \"retention\": ");
		escape_json(&out, DatumGetCString(DirectFunctionCall1(interval_out,
															  IntervalPGetDatum(st->retention))));
		appendStringInfoString(&out, ", \"cutoff\": ");
		escape_json(&out, timestamptz_iso(st->cutoff));
	}
	appendStringInfo(&out, ", \"partitions_created\": [%s]", st->created.data);
	appendStringInfo(&out, ", \"partitions_dropped\": [%s]", st->dropped.data);
	appendStringInfo(&out, ", \"rows_moved\": " INT64_FORMAT, st->rows_moved);
	appendStringInfo(&out, ", \"rows_discarded\": " INT64_FORMAT, st->rows_discarded);
	appendStringInfo(&out, ", \"plays_archived\": " INT64_FORMAT, st->plays_archived);
	appendStringInfo(&out, ", \"sessions_pruned\": " INT64_FORMAT, st->sessions_pruned);
	appendStringInfo(&out, ", \"rollup_hours_refreshed\": " INT64_FORMAT, st->rollup_hours);
	appendStringInfo(&out, ", \"rollup_hours_failed\": %d", st->n_failed_hours);
	appendStringInfo(&out, ", \"max_parent_lock_ms\": %.3f", st->max_parent_lock_ms);
	appendStringInfo(&out, ", \"deferred\": [%s]}", st->deferred.data);

	if (noteworthy)
		*noteworthy = st->n_created > 0 || st->n_dropped > 0 || st->n_deferred > 0 ||
			st->rows_moved > 0 || st->rows_discarded > 0;
	result = out.data;
	MemoryContextDelete(st->cxt);
	pfree(st);
	return result;
}
