/*-------------------------------------------------------------------------
 * worker.c
 *		Background workers of the analytics extension.
 *
 * The launcher (registered when the library is in shared_preload_libraries)
 * wakes every analytics.maintenance_interval and, for each database of
 * analytics.maintenance_databases in turn, starts a short-lived maintenance
 * worker connected to that database and waits for it.  A failing run is
 * logged by the worker; the launcher carries on.
 *
 * run_maintenance() uses the same maintenance worker, connected to the
 * caller's database as the caller's current user, so that each step is
 * committed on its own; the report comes back through a small dynamic
 * shared memory segment.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/varlena.h"

#include "analytics.h"

PG_FUNCTION_INFO_V1(analytics_run_maintenance);

PGDLLEXPORT void analytics_launcher_main(Datum main_arg);
PGDLLEXPORT void analytics_maintenance_main(Datum main_arg);

#define REPORT_SIZE (256 * 1024)

/* what a maintenance worker is told, in bgw_extra */
typedef struct WorkerArgs
{
	char		dbname[NAMEDATALEN];	/* used when dboid is invalid */
	Oid			dboid;
	Oid			roleoid;
	dsm_handle	handle;			/* report segment, or DSM_HANDLE_INVALID */
	MaintenanceParams params;
} WorkerArgs;

StaticAssertDecl(sizeof(WorkerArgs) <= BGW_EXTRALEN, "WorkerArgs must fit in bgw_extra");

/* the report segment */
typedef struct ReportSegment
{
	int			done;			/* set last, by the worker */
	int			len;
	char		data[FLEXIBLE_ARRAY_MEMBER];
} ReportSegment;

static void
fill_worker(BackgroundWorker *w, const WorkerArgs *args, const char *name)
{
	memset(w, 0, sizeof(*w));
	w->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w->bgw_start_time = BgWorkerStart_RecoveryFinished;
	w->bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(w->bgw_library_name, BGW_MAXLEN, "analytics");
	snprintf(w->bgw_function_name, BGW_MAXLEN, "analytics_maintenance_main");
	snprintf(w->bgw_name, BGW_MAXLEN, "analytics maintenance %s", name);
	snprintf(w->bgw_type, BGW_MAXLEN, "analytics maintenance");
	w->bgw_main_arg = (Datum) 0;
	w->bgw_notify_pid = MyProcPid;
	memcpy(w->bgw_extra, args, sizeof(WorkerArgs));
}

/* ---------------------------------------------------------------------
 * the maintenance worker
 * --------------------------------------------------------------------- */

void
analytics_maintenance_main(Datum main_arg)
{
	WorkerArgs	args;
	char	   *report;
	bool		installed;
	bool		noteworthy = true;

	memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(WorkerArgs));

	pqsignal(SIGTERM, die);
	pqsignal(SIGINT, StatementCancelHandler);
	BackgroundWorkerUnblockSignals();

	if (OidIsValid(args.dboid))
		BackgroundWorkerInitializeConnectionByOid(args.dboid, args.roleoid, 0);
	else
		BackgroundWorkerInitializeConnection(args.dbname, NULL, 0);

	pgstat_report_appname("analytics maintenance");
	pgstat_report_activity(STATE_RUNNING, "analytics maintenance");

	/*
	 * as the owner or a superuser: resolve nothing through a user-writable
	 * schema
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);

	/* only databases where the extension is installed */
	StartTransactionCommand();
	installed = OidIsValid(get_extension_oid("analytics", true));
	CommitTransactionCommand();

	MemoryContextSwitchTo(TopMemoryContext);
	if (!installed)
	{
		report = pstrdup("{\"skipped\": true, \"reason\": \"extension analytics is not installed in this database\"}");
		if (args.handle == DSM_HANDLE_INVALID)
			ereport(LOG,
					(errmsg("analytics maintenance: extension analytics is not installed in database \"%s\"",
							args.dbname)));
	}
	else
		report = analytics_maintenance_run(&args.params, true, &noteworthy);

	pgstat_report_activity(STATE_IDLE, NULL);

	if (args.handle != DSM_HANDLE_INVALID)
	{
		dsm_segment *seg = dsm_attach(args.handle);

		if (seg != NULL)
		{
			ReportSegment *rs = (ReportSegment *) dsm_segment_address(seg);
			int			len = strlen(report);

			if (len >= REPORT_SIZE - (int) offsetof(ReportSegment, data))
			{
				report = pstrdup("{\"error\": \"maintenance report too large\"}");
				len = strlen(report);
			}
			memcpy(rs->data, report, len + 1);
			rs->len = len;
			pg_write_barrier();
			rs->done = 1;
			dsm_detach(seg);
		}
	}
	else if (noteworthy)
		ereport(LOG, (errmsg("analytics maintenance: %s", report)));
	else
		ereport(DEBUG1, (errmsg("analytics maintenance: %s", report)));

	proc_exit(0);
}

/*
 * Start a maintenance worker and wait for it to stop.  Returns the worker's
 * report (NULL if it left none), and sets *started to whether a worker
 * could be started at all.
 */
char *
analytics_maintenance_in_background(const MaintenanceParams *params, bool *started)
{
	WorkerArgs	args;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	BgwHandleStatus status;
	pid_t		pid;
	dsm_segment *seg;
	ReportSegment *rs;
	char	   *result;

	*started = false;
	seg = dsm_create(REPORT_SIZE, DSM_CREATE_NULL_IF_MAXSEGMENTS);
	if (seg == NULL)
		return NULL;
	rs = (ReportSegment *) dsm_segment_address(seg);
	rs->done = 0;
	rs->len = 0;

	memset(&args, 0, sizeof(args));
	args.dboid = MyDatabaseId;
	args.roleoid = GetUserId();
	args.handle = dsm_segment_handle(seg);
	args.params = *params;
	fill_worker(&worker, &args, "(run_maintenance)");

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		dsm_detach(seg);
		return NULL;
	}
	status = WaitForBackgroundWorkerStartup(handle, &pid);
	if (status == BGWH_POSTMASTER_DIED)
		ereport(ERROR,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("postmaster exited while starting the maintenance worker")));
	if (status != BGWH_STARTED && status != BGWH_STOPPED)
	{
		dsm_detach(seg);
		return NULL;
	}
	*started = true;

	PG_TRY();
	{
		status = WaitForBackgroundWorkerShutdown(handle);
	}
	PG_CATCH();
	{
		/* cancelled: do not leave the worker running on our behalf */
		TerminateBackgroundWorker(handle);
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (status == BGWH_POSTMASTER_DIED)
		ereport(ERROR,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("postmaster exited during maintenance")));

	pg_read_barrier();
	result = rs->done ? pnstrdup(rs->data, rs->len) : NULL;
	dsm_detach(seg);
	return result;
}

Datum
analytics_run_maintenance(PG_FUNCTION_ARGS)
{
	MaintenanceParams params;
	char	   *report = NULL;

	/*
	 * whoever calls it in a session is not restoring a dump (README "Backup
	 * and restore")
	 */
	analytics_restore_lock_release();

	params.premake_days = analytics_premake_days;
	params.lock_timeout_ms = analytics_maintenance_lock_timeout;
	params.session_idle_timeout_s = analytics_session_idle_timeout;
	params.rollup_refresh_hours = analytics_rollup_refresh_hours;

	if (analytics_maintenance_in_worker)
	{
		bool		started;

		report = analytics_maintenance_in_background(&params, &started);
		if (started && report == NULL)
			ereport(WARNING,
					(errmsg("the maintenance worker exited without a report; running maintenance in this transaction"),
					 errhint("See the server log for the worker's error.")));
	}
	if (report == NULL)
		report = analytics_maintenance_run(&params, false, NULL);

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(report)));
}

/* ---------------------------------------------------------------------
 * the launcher
 * --------------------------------------------------------------------- */

void
analytics_register_launcher(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 10;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "analytics");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "analytics_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "analytics maintenance launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "analytics launcher");
	worker.bgw_main_arg = (Datum) 0;
	worker.bgw_notify_pid = 0;
	RegisterBackgroundWorker(&worker);
}

/* run maintenance in one database; false when we were asked to stop */
static bool
launcher_run_database(const char *dbname)
{
	WorkerArgs	args;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	memset(&args, 0, sizeof(args));
	strlcpy(args.dbname, dbname, NAMEDATALEN);
	args.dboid = InvalidOid;
	args.roleoid = InvalidOid;
	args.handle = DSM_HANDLE_INVALID;
	args.params.premake_days = analytics_premake_days;
	args.params.lock_timeout_ms = analytics_maintenance_lock_timeout;
	args.params.session_idle_timeout_s = analytics_session_idle_timeout;
	args.params.rollup_refresh_hours = analytics_rollup_refresh_hours;
	fill_worker(&worker, &args, dbname);

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		ereport(LOG,
				(errmsg("analytics launcher: no background worker slot free for maintenance of database \"%s\"", dbname),
				 errhint("Raise max_worker_processes.")));
		return true;
	}

	for (;;)
	{
		pid_t		pid;
		BgwHandleStatus status = GetBackgroundWorkerPid(handle, &pid);

		if (status == BGWH_STOPPED || status == BGWH_POSTMASTER_DIED)
			break;
		if (ShutdownRequestPending)
		{
			TerminateBackgroundWorker(handle);
			return false;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	return true;
}

void
analytics_launcher_main(Datum main_arg)
{
	TimestampTz next_run;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	/* no database: only shared catalogs, but visible in pg_stat_activity */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("analytics launcher");

	ereport(LOG, (errmsg("analytics maintenance launcher started")));
	next_run = GetCurrentTimestamp();

	while (!ShutdownRequestPending)
	{
		TimestampTz now;
		long		delay_ms;

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		now = GetCurrentTimestamp();
		if (now >= next_run)
		{
			char	   *raw = pstrdup(analytics_maintenance_databases ? analytics_maintenance_databases : "");
			List	   *dbs = NIL;
			ListCell   *lc;

			if (!SplitGUCList(raw, ',', &dbs))
				ereport(LOG,
						(errmsg("analytics launcher: invalid analytics.maintenance_databases: \"%s\"",
								analytics_maintenance_databases)));
			else
			{
				foreach(lc, dbs)
				{
					if (!launcher_run_database((const char *) lfirst(lc)))
						break;
					if (ShutdownRequestPending)
						break;
				}
			}
			list_free(dbs);
			pfree(raw);
			next_run = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												   (int64) analytics_maintenance_interval * 1000);
			continue;
		}

		delay_ms = (long) ((next_run - now) / 1000);
		if (delay_ms < 1)
			delay_ms = 1;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 delay_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}

	/*
	 * Exit code 1 so that the postmaster restarts us after bgw_restart_time
	 * if somebody terminated us by hand; at server shutdown nothing restarts.
	 */
	ereport(LOG, (errmsg("analytics maintenance launcher stopping")));
	proc_exit(1);
}
