/*-------------------------------------------------------------------------
 * analytics.c
 *		Module entry point: settings (GUCs) and background worker registration.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "analytics.h"

PG_MODULE_MAGIC;

int			analytics_maintenance_interval = 60;
char	   *analytics_maintenance_databases = NULL;
int			analytics_premake_days = 7;
int			analytics_maintenance_lock_timeout = 100;
bool		analytics_maintenance_in_worker = true;
char	   *analytics_project_id = NULL;
int			analytics_max_ping_bytes = 65536;
int			analytics_max_ping_events = 500;
int			analytics_max_batch_pings = 1000;
int			analytics_max_batch_bytes = 16 * 1024 * 1024;
int			analytics_session_idle_timeout = 86400;
char	   *analytics_uap_regexes = NULL;
char	   *analytics_geoip_database = NULL;
bool		analytics_use_rollups = true;
int			analytics_rollup_refresh_hours = 168;
int			analytics_refresh_workers = 2;
int			analytics_max_call_time = 10000;

void		_PG_init(void);

void
_PG_init(void)
{
	analytics_query_init();

	DefineCustomIntVariable("analytics.maintenance_interval",
							"Time between two maintenance runs of the background worker.",
							"Only used when analytics is in shared_preload_libraries.",
							&analytics_maintenance_interval,
							60, 1, 7 * 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomStringVariable("analytics.maintenance_databases",
							   "Comma-separated list of databases in which the background worker runs maintenance.",
							   "Only used when analytics is in shared_preload_libraries.",
							   &analytics_maintenance_databases,
							   "",
							   PGC_SIGHUP, GUC_LIST_INPUT,
							   NULL, NULL, NULL);

	DefineCustomBoolVariable("analytics.use_rollups",
							 "Lets the query functions read the rollups (off: raw events only).",
							 "Answers are the same either way; off is for checking and measuring.",
							 &analytics_use_rollups,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	/* user-settable, as statement_timeout is (README, "Settings") */
	DefineCustomIntVariable("analytics.max_call_time",
							"Longest time one call of a query function (metric, breakdown, timeseries, the api_ functions) may run.",
							"The call stops with SQLSTATE 53400; api_request answers 503. 0 turns the bound off.",
							&analytics_max_call_time,
							10000, 0, PG_INT32_MAX,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("analytics.rollup_refresh_hours",
							"Most pending hours one maintenance step re-aggregates into the rollups.",
							"Maintenance runs steps until no hour is pending, committing after each.",
							&analytics_rollup_refresh_hours,
							168, 1, 100000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("analytics.refresh_workers",
							"Most background workers sharing the days and weeks of a rollup refresh.",
							"On a single node the days and then the weeks of a refresh are shared between at most this many background workers (with one, the backend takes days as well and refreshes the weeks itself); max_worker_processes bounds them. 0: the backend refreshes everything.",
							&analytics_refresh_workers,
							2, 0, 8,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("analytics.premake_days",
							"Number of daily partitions maintenance creates ahead of today.",
							NULL,
							&analytics_premake_days,
							7, 0, 366,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("analytics.maintenance_lock_timeout",
							"Longest time maintenance waits for a lock before deferring a step to the next run.",
							NULL,
							&analytics_maintenance_lock_timeout,
							100, 1, 60 * 1000,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("analytics.maintenance_in_worker",
							 "Whether run_maintenance() runs in a background worker that commits each step.",
							 "When off, or when no worker slot is free, it runs inside the caller's transaction.",
							 &analytics_maintenance_in_worker,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("analytics.project_id",
							   "Project whose rows the query functions read when they are given no project_id.",
							   "Narrows what a query reads; never widens it.",
							   &analytics_project_id,
							   NULL,
							   PGC_USERSET, 0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("analytics.max_ping_bytes",
							"Largest ping payload ingest_ping accepts.",
							NULL,
							&analytics_max_ping_bytes,
							65536, 1024, 16 * 1024 * 1024,
							PGC_SUSET, GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("analytics.max_ping_events",
							"Most events one ping may carry.",
							NULL,
							&analytics_max_ping_events,
							500, 1, 1000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("analytics.max_batch_pings",
							"Most pings one ingest_pings call accepts.",
							NULL,
							&analytics_max_batch_pings,
							1000, 1, 100000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("analytics.max_batch_bytes",
							"Largest argument (jsonb bytes) one ingest_pings call accepts.",
							NULL,
							&analytics_max_batch_bytes,
							16 * 1024 * 1024, 1024, 256 * 1024 * 1024,
							PGC_SUSET, GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("analytics.session_idle_timeout",
							"Time after its last ping when maintenance forgets a playback's ingest state.",
							NULL,
							&analytics_session_idle_timeout,
							86400, 60, 30 * 86400,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomStringVariable("analytics.uap_regexes",
							   "The ua-parser regexes.yaml used to parse user agents.",
							   "Debian's uap-core package installs it.",
							   &analytics_uap_regexes,
							   "/usr/share/uap-core/regexes.yaml",
							   PGC_SUSET, 0,
							   NULL, NULL, NULL);

	/* superuser only: names a file the server reads (src/geoip.c) */
	DefineCustomStringVariable("analytics.geoip_database",
							   "Path of the MaxMind DB file (GeoLite2-Country or DB-IP country lite format) geoip_country reads.",
							   "Empty: geoip_country returns NULL. Replace the file by renaming a new one over it; backends notice within a second.",
							   &analytics_geoip_database,
							   "",
							   PGC_SUSET, 0,
							   NULL, NULL, NULL);

#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("analytics");
#else
	EmitWarningsOnPlaceholders("analytics");
#endif

	if (process_shared_preload_libraries_in_progress)
		analytics_register_launcher();
}

MemoryContext
analytics_aggregate_context(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s called in non-aggregate context", fname)));
	return aggcontext;
}
