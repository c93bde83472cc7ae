/*-------------------------------------------------------------------------
 * refreshpar.c
 *		The days, weeks and 28-day blocks of a rollup refresh on a single
 *		node, shared between background workers (README: "Derived data:
 *		rollups"; src/sql/rollups.sql, _rollup_refresh_parallel).
 *
 * The rows of a day (its hour and day rows, viewer ids, concurrent viewers)
 * depend on that day's events and hour rows only, the rows of a week on its
 * day rows, those of a 28-day block on its week rows: disjoint days (each
 * in two parts: its hour and day rows, its concurrent viewers), then
 * disjoint weeks, then 28-day blocks (each in three parts: the dimensions,
 * the cube, the referrer cube) can be refreshed at once in separate
 * transactions. At each level up to analytics.refresh_workers background
 * workers each take the next unit not yet taken (a counter in a shared
 * memory segment) and refresh it (analytics._rollup_refresh_days,
 * _rollup_refresh_block); a worker refreshes all its units in one
 * transaction and commits it at its end. With two workers or more this
 * backend only waits for them; with one it takes units too, and the next
 * levels stay here (a worker cannot see the rows this backend wrote and has
 * not committed).
 *
 * The backend has consumed the hours' marks (rollup_pending) before it
 * starts the workers and commits that after they stopped: until then the
 * hours stay pending for every other session (questions read them raw), and
 * a failed or cancelled refresh leaves them pending, to be refreshed again.
 * A worker reads the events with the snapshot the backend consumed the
 * marks with (src/refreshdelta.c), so it counts exactly the events whose
 * marks were consumed; when that snapshot was taken after this transaction
 * wrote (a worker could not tell its rows from committed ones), the workers
 * read with their own snapshots and aggregate whole hours, and the marks
 * of those hours committed meanwhile are made rewrites. Whatever keeps a worker from committing (an error, a
 * lock it waited for longer than a second, no free worker slot), the backend
 * refreshes that worker's units itself, with the same statements: the rows,
 * and any error, are those of the serial refresh. A refresh of one day
 * refreshes it here (the usual maintenance run refreshes an hour or two). A
 * refresh that has written events itself (their marks are written at its
 * commit) or runs under another isolation level than READ COMMITTED
 * refreshes alone: a worker would not see what it sees; so does one whose
 * transaction holds a lock that would keep a worker waiting (its own DDL, a
 * partition a maintenance step has just made).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/lock.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "analytics.h"

PG_FUNCTION_INFO_V1(analytics_rollup_refresh_parallel);

PGDLLEXPORT void analytics_refresh_worker_main(Datum main_arg);

#define MAX_REFRESH_WORKERS 8

/*
 * the library the workers load: the one of _rollup_refresh_parallel as the
 * catalogue names it ($libdir/analytics, or another name where the tree is
 * installed under one: test/dev_install.sh), so that a worker never loads
 * another build's library
 */
static char refresh_library[BGW_MAXLEN] = "analytics";

static void
set_refresh_library(Oid fn_oid)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));
	bool		isnull;
	Datum		bin;

	if (!HeapTupleIsValid(tup))
		return;
	bin = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_probin, &isnull);
	if (!isnull)
		strlcpy(refresh_library, TextDatumGetCString(bin), BGW_MAXLEN);
	ReleaseSysCache(tup);
}

/*
 * the levels; a day is two units (its hour and day rows, its concurrent
 * viewers), a week or 28-day block three (the dimensions, the cube, the
 * referrer cube)
 */
#define UNIT_DAY	0
#define UNIT_WEEK	1
#define UNIT_W4		2
#define NPARTS(kind) ((kind) == UNIT_DAY ? 2 : 3)

/* the shared segment: this header, the days, then the hours (an array) */
typedef struct RefreshShared
{
	pg_atomic_uint32 next;		/* the next unit to take */
	int			kind;			/* UNIT_DAY, UNIT_WEEK, UNIT_W4 */
	int			ndays;			/* days or blocks */
	int			nunits;			/* ndays * NPARTS(kind) */
	Size		hrs_offset;		/* of the array of hours, from the start */
	Size		snap_offset;	/* of the refresh's snapshot (0: none) */
	bool		committed[MAX_REFRESH_WORKERS]; /* set after a worker's commit */
	int8		owner[FLEXIBLE_ARRAY_MEMBER];	/* per unit: -1 not taken, 0
												 * the backend, k worker k */
} RefreshShared;

/* what a worker is told, in bgw_extra */
typedef struct RefreshWorkerArgs
{
	Oid			dboid;
	Oid			roleoid;
	dsm_handle	handle;
	int			workerno;		/* 1.. */
} RefreshWorkerArgs;

StaticAssertDecl(sizeof(RefreshWorkerArgs) <= BGW_EXTRALEN, "RefreshWorkerArgs must fit in bgw_extra");

static inline TimestampTz *
shared_days(RefreshShared *sh)
{
	return (TimestampTz *) ((char *) sh + MAXALIGN(offsetof(RefreshShared, owner) + sh->nunits));
}

/*
 * whether this transaction holds a lock on a relation that keeps another
 * session from reading or writing it (a worker would wait for it, and this
 * backend for the worker): its own DDL, a maintenance step's partition lock
 */
static bool
holds_strong_relation_lock(void)
{
	LockData   *ld = GetLockStatusData();
	LOCKMASK	strong = LOCKBIT_ON(ShareLock) | LOCKBIT_ON(ShareRowExclusiveLock) |
		LOCKBIT_ON(ExclusiveLock) | LOCKBIT_ON(AccessExclusiveLock);
	int			i;

	for (i = 0; i < ld->nelements; i++)
	{
		LockInstanceData *in = &ld->locks[i];

		if (in->pid == MyProcPid && in->locktag.locktag_type == LOCKTAG_RELATION &&
			(in->holdMask & strong) != 0)
			return true;
	}
	return false;
}

/*
 * refresh unit i of the n days or blocks d (every project) with SPI, a part
 * of d[i % n], the larger parts first, so that the last units taken are
 * small: the hour and day rows of every day (1), then their concurrent
 * viewers (2); the referrer cube's rows of every block (3), then the
 * cube's (2), then the dimensions' (1)
 */
static void
refresh_unit(int kind, Datum hrs, const TimestampTz *d, int n, int i)
{
	Oid			argtypes[3] = {TIMESTAMPTZARRAYOID, TIMESTAMPTZOID, INT4OID};
	Datum		values[3];
	int			ret;

	values[0] = hrs;
	values[1] = TimestampTzGetDatum(d[i % n]);
	if (kind == UNIT_DAY)
	{
		values[2] = Int32GetDatum(1 + i / n);
		ret = SPI_execute_with_args("SELECT analytics._rollup_refresh_days($1, NULL, $2, $2 + analytics._block_size('day'), $3)",
									3, argtypes, values, NULL, false, 0);
	}
	else
	{
		values[2] = Int32GetDatum(3 - i / n);
		ret = SPI_execute_with_args(kind == UNIT_WEEK ? "SELECT analytics._rollup_refresh_block('week', $2, NULL, $3)"
									: "SELECT analytics._rollup_refresh_block('w4', $2, NULL, $3)",
									3, argtypes, values, NULL, false, 0);
	}
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "analytics: rollup refresh of a %s failed: %s",
			 kind == UNIT_DAY ? "day" : kind == UNIT_WEEK ? "week" : "28-day block",
			 SPI_result_code_string(ret));
}

/* take units until none is left; who: 0 the backend, k worker k */
static void
take_days(RefreshShared *sh, int who)
{
	Datum		hrs = PointerGetDatum((char *) sh + sh->hrs_offset);
	TimestampTz *days = shared_days(sh);

	for (;;)
	{
		uint32		i = pg_atomic_fetch_add_u32(&sh->next, 1);

		if (i >= (uint32) sh->nunits)
			break;
		sh->owner[i] = (int8) who;
		pg_write_barrier();
		refresh_unit(sh->kind, hrs, days, sh->ndays, (int) i);
		CHECK_FOR_INTERRUPTS();
	}
}

/* the elements of a timestamptz[] argument, none NULL */
static TimestampTz *
units_of(ArrayType *arr, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	TimestampTz *units;
	int			i;

	deconstruct_array(arr, TIMESTAMPTZOID, sizeof(TimestampTz), true, TYPALIGN_DOUBLE,
					  &elems, &nulls, n);
	units = palloc(sizeof(TimestampTz) * Max(*n, 1));
	for (i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("rollup refresh days and weeks must not be null")));
		units[i] = DatumGetTimestampTz(elems[i]);
	}
	return units;
}

/* a day and how many of the refreshed hours it holds */
typedef struct DayLoad
{
	TimestampTz day;
	int			hours;
} DayLoad;

static int
dayload_cmp(const void *a, const void *b)
{
	const DayLoad *x = (const DayLoad *) a;
	const DayLoad *y = (const DayLoad *) b;

	if (x->hours != y->hours)
		return x->hours > y->hours ? -1 : 1;
	return x->day < y->day ? -1 : x->day > y->day ? 1 : 0;
}

/*
 * the days in the order they are taken: the most refreshed hours first (a
 * day's work grows with them), so that the last days taken are the small
 * ones (a partial first or last day, a day of the previous hours' ccv only)
 */
static void
order_days(ArrayType *hrs, TimestampTz *days, int n)
{
	Datum	   *elems;
	bool	   *nulls;
	int			nh,
				i,
				k;
	DayLoad    *load = palloc(sizeof(DayLoad) * Max(n, 1));

	deconstruct_array(hrs, TIMESTAMPTZOID, sizeof(TimestampTz), true, TYPALIGN_DOUBLE,
					  &elems, &nulls, &nh);
	for (i = 0; i < n; i++)
	{
		load[i].day = days[i];
		load[i].hours = 0;
		for (k = 0; k < nh; k++)
		{
			TimestampTz h = DatumGetTimestampTz(elems[k]);

			if (!nulls[k] && h >= days[i] && h - days[i] < USECS_PER_DAY)
				load[i].hours++;
		}
	}
	qsort(load, n, sizeof(DayLoad), dayload_cmp);
	for (i = 0; i < n; i++)
		days[i] = load[i].day;
	pfree(load);
}

/*
 * Refresh the n days or blocks of a kind (their units) with up to nworkers
 * background workers;
 * this backend takes units too when fewer than two workers could be
 * registered. Returns whether this backend refreshed any unit itself (its
 * rows are then not committed: a later phase cannot be given to workers).
 */
static bool
run_phase(int kind, ArrayType *hrs, TimestampTz *units, int n, int nworkers)
{
	Size		size;
	Size		hrs_offset;
	Size		snap_space;
	Size		snap_offset = 0;
	dsm_segment *seg;
	RefreshShared *sh;
	BackgroundWorkerHandle *handles[MAX_REFRESH_WORKERS];
	volatile int nstarted = 0;
	volatile bool here = false;
	int			i;
	int			nunits = n * NPARTS(kind);

	nworkers = Min(Min(nworkers, nunits), MAX_REFRESH_WORKERS);
	seg = NULL;
	if (nworkers > 0)
	{
		size = MAXALIGN(offsetof(RefreshShared, owner) + nunits);
		size += MAXALIGN(sizeof(TimestampTz) * n);
		hrs_offset = size;
		size += MAXALIGN(VARSIZE(hrs));
		snap_space = analytics_refresh_snapshot_space();
		snap_offset = snap_space > 0 ? size : 0;
		size += snap_space;
		seg = dsm_create(size, DSM_CREATE_NULL_IF_MAXSEGMENTS);
	}
	if (seg == NULL)
	{
		for (i = 0; i < nunits; i++)
			refresh_unit(kind, PointerGetDatum(hrs), units, n, i);
		return nunits > 0;
	}
	sh = (RefreshShared *) dsm_segment_address(seg);
	memset(sh, 0, offsetof(RefreshShared, owner));
	pg_atomic_init_u32(&sh->next, 0);
	sh->kind = kind;
	sh->ndays = n;
	sh->nunits = nunits;
	sh->hrs_offset = hrs_offset;
	sh->snap_offset = snap_offset;
	if (snap_offset > 0)
		analytics_refresh_snapshot_serialize((char *) sh + snap_offset);
	memset(sh->owner, -1, nunits);
	memcpy(shared_days(sh), units, sizeof(TimestampTz) * n);
	memcpy((char *) sh + hrs_offset, hrs, VARSIZE(hrs));

	PG_TRY();
	{
		for (i = 0; i < nworkers; i++)
		{
			BackgroundWorker worker;
			RefreshWorkerArgs args;

			memset(&worker, 0, sizeof(worker));
			worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
			worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
			worker.bgw_restart_time = BGW_NEVER_RESTART;
			strlcpy(worker.bgw_library_name, refresh_library, BGW_MAXLEN);
			snprintf(worker.bgw_function_name, BGW_MAXLEN, "analytics_refresh_worker_main");
			snprintf(worker.bgw_name, BGW_MAXLEN, "analytics rollup refresh worker for PID %d", MyProcPid);
			snprintf(worker.bgw_type, BGW_MAXLEN, "analytics rollup refresh");
			worker.bgw_main_arg = (Datum) 0;
			worker.bgw_notify_pid = MyProcPid;
			memset(&args, 0, sizeof(args));
			args.dboid = MyDatabaseId;
			args.roleoid = GetUserId();
			args.handle = dsm_segment_handle(seg);
			args.workerno = nstarted + 1;
			memcpy(worker.bgw_extra, &args, sizeof(args));
			if (!RegisterDynamicBackgroundWorker(&worker, &handles[nstarted]))
				break;			/* no free slot: fewer workers */
			nstarted++;
		}

		/* with fewer than two workers, take units here as well */
		if (nstarted < 2)
		{
			take_days(sh, 0);
			here = true;
		}

		for (i = 0; i < nstarted; i++)
		{
			if (WaitForBackgroundWorkerShutdown(handles[i]) == BGWH_POSTMASTER_DIED)
				ereport(ERROR,
						(errcode(ERRCODE_ADMIN_SHUTDOWN),
						 errmsg("postmaster exited during a rollup refresh")));
		}
	}
	PG_CATCH();
	{
		/* do not leave workers running on our behalf */
		for (i = 0; i < nstarted; i++)
			TerminateBackgroundWorker(handles[i]);
		PG_RE_THROW();
	}
	PG_END_TRY();

	/* the units no worker committed: here, as the serial refresh does them */
	pg_read_barrier();
	for (i = 0; i < nunits; i++)
	{
		int			who = sh->owner[i];

		if (who == 0 || (who > 0 && who <= MAX_REFRESH_WORKERS && sh->committed[who - 1]))
			continue;
		refresh_unit(kind, PointerGetDatum(hrs), units, n, i);
		here = true;
	}
	dsm_detach(seg);
	return here;
}

/*
 * _rollup_refresh_parallel(hrs timestamptz[], level text, units
 * timestamptz[], workers boolean) RETURNS boolean: refresh the days (level
 * day; of hours hrs, whose marks the caller has consumed), the weeks or the
 * 28-day blocks (week, w4) given, in background workers when workers is
 * true, else here. Returns whether workers committed every unit.
 */
Datum
analytics_rollup_refresh_parallel(PG_FUNCTION_ARGS)
{
	ArrayType  *hrs = PG_GETARG_ARRAYTYPE_P(0);
	char	   *level = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		workers = PG_GETARG_BOOL(3);
	TimestampTz *units;
	int			n;
	int			kind;
	int			nworkers;
	bool		here;
	bool		own_snapshots;

	if (strcmp(level, "day") == 0)
		kind = UNIT_DAY;
	else if (strcmp(level, "week") == 0)
		kind = UNIT_WEEK;
	else if (strcmp(level, "w4") == 0)
		kind = UNIT_W4;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown rollup refresh level \"%s\"", level)));
	units = units_of(PG_GETARG_ARRAYTYPE_P(2), &n);
	set_refresh_library(fcinfo->flinfo->fn_oid);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "analytics: SPI_connect failed");

	/*
	 * one day is refreshed here (the usual run refreshes an hour or two:
	 * starting workers would cost more than it saves); its weeks then too
	 */
	nworkers = (workers && (kind != UNIT_DAY || n > 1)) ? analytics_refresh_workers : 0;
	if (nworkers > 0 && (XactIsoLevel != XACT_READ_COMMITTED || holds_strong_relation_lock()))
		nworkers = 0;
	if (nworkers > 0)
	{
		int			nown;

		/* the events this transaction wrote are not visible to a worker */
		(void) analytics_rollup_own_pending_hours(&nown);
		if (nown > 0)
			nworkers = 0;
	}

	/*
	 * The refresh's snapshot was taken after this transaction wrote (a
	 * maintenance run called in a transaction: its earlier steps): a worker
	 * cannot read with it (src/refreshdelta.c), it reads with its own,
	 * newer snapshot and aggregates every hour whole, counting the rows of
	 * transactions that committed after the marks were consumed too. Their
	 * marks are then made rewrites, so that no later refresh adds those
	 * rows once more.
	 */
	own_snapshots = kind == UNIT_DAY && nworkers > 0 && analytics_refresh_snapshot_blocks_workers();
	if (kind == UNIT_DAY && nworkers > 0)
		order_days(hrs, units, n);
	here = run_phase(kind, hrs, units, n, nworkers);
	if (own_snapshots)
	{
		Oid			argtypes[1] = {TIMESTAMPTZARRAYOID};
		Datum		values[1];
		int			ret;

		values[0] = PointerGetDatum(hrs);
		ret = SPI_execute_with_args("UPDATE analytics.rollup_pending p SET xids = NULL"
									" WHERE p.hour OPERATOR(pg_catalog.=) ANY ($1) AND p.xids IS NOT NULL",
									1, argtypes, values, NULL, false, 0);
		if (ret != SPI_OK_UPDATE)
			elog(ERROR, "analytics: could not update analytics.rollup_pending: %s", SPI_result_code_string(ret));
	}

	SPI_finish();
	PG_RETURN_BOOL(!here);
}

/* a worker: its units in one transaction */
void
analytics_refresh_worker_main(Datum main_arg)
{
	RefreshWorkerArgs args;
	dsm_segment *seg;
	RefreshShared *sh;

	memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(args.dboid, args.roleoid, 0);
	pgstat_report_appname("analytics rollup refresh");

	seg = dsm_attach(args.handle);
	if (seg == NULL)
		proc_exit(0);			/* the backend has given up already */
	sh = (RefreshShared *) dsm_segment_address(seg);

	/*
	 * resolve nothing through a user-writable schema; a lock held by another
	 * session (or by the backend that started this worker, which waits for
	 * it) is not waited for long: the backend refreshes the units itself
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("lock_timeout", "1000", PGC_SUSET, PGC_S_OVERRIDE);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	pgstat_report_activity(STATE_RUNNING, "analytics rollup refresh");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "analytics: SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	/* the events are read with the backend's snapshot (src/refreshdelta.c) */
	if (sh->snap_offset > 0)
		analytics_refresh_snapshot_restore((char *) sh + sh->snap_offset);
	take_days(sh, args.workerno);
	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);

	pg_write_barrier();
	if (args.workerno >= 1 && args.workerno <= MAX_REFRESH_WORKERS)
		sh->committed[args.workerno - 1] = true;
	dsm_detach(seg);
	proc_exit(0);
}
