/*-------------------------------------------------------------------------
 * refreshdelta.c
 *		Incremental rollup refresh on a single node: an hour that only gained
 *		rows since it was last refreshed gets only those rows added to its
 *		rollup rows (README: "Derived data: rollups", "Sustained ingest").
 *
 * Every write to the events partitions leaves a mark in
 * analytics.rollup_pending at its commit (src/rollup.c): one per writing
 * transaction, project and hour, with the transaction ids the rows were
 * inserted under (the transaction's own and those of its subtransactions),
 * or NULL when the transaction also updated or deleted rows of that hour.
 *
 * A refresh consumes the marks of its hours (_rollup_consume) under one
 * snapshot, and reads the events with that same snapshot: the rows it
 * aggregates are exactly those of the transactions whose marks it
 * consumed, and of every transaction whose marks earlier refreshes
 * consumed. So after each refresh the rollup rows of an hour hold the rows
 * of exactly the transactions whose marks are gone; the rows of the next
 * marks are the rows inserted under their transaction ids. An hour whose
 * marks all carry ids, whose rollup rows exist (or, at the edge of ingest,
 * whose hour before has them and is still being written) and whose ids are
 * recent (well within the 2^31 transactions a 32-bit id is unambiguous
 * for) is refreshed by reading its rows with a scan filter (src/rollup.c)
 * that returns only the rows inserted under those ids, added to the hour's
 * rows as they are (src/refresh.c seeds its groups with them). Any other
 * hour (a rewrite mark, a bulk load of whole days) is aggregated whole.
 *
 * The snapshot is taken before this transaction has a transaction id of its
 * own when it can be; then the refresh's background workers (src/
 * refreshpar.c) read with it as well. When the transaction already had an
 * id (it wrote before in this transaction), a worker could not tell this
 * transaction's rows from committed ones under that snapshot: the refresh
 * then runs in this backend alone.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "storage/block.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "analytics.h"
#include "catalog.h"

PG_FUNCTION_INFO_V1(analytics_rollup_consume);
PG_FUNCTION_INFO_V1(analytics_rollup_delta_hours);

/* the refresh's snapshot, registered on the top transaction's owner */
static Snapshot refresh_snapshot = NULL;
static bool refresh_snapshot_shareable = false;
/* in a refresh worker: the backend's snapshot, restored */
static bool refresh_snapshot_restored = false;
static bool callback_registered = false;

/*
 * The earliest start of a new watch event per hour, noted by the pass that
 * added those hours' new rows (src/refresh.c) under this snapshot: the
 * concurrent viewers' refresh of the same hours then need not read the new
 * rows again (in TopTransactionContext; gone with the snapshot)
 */
static int	wstart_n = 0;
static int	wstart_cap = 0;
static TimestampTz *wstart_hours = NULL;
static TimestampTz *wstart_min = NULL;
static bool *wstart_found = NULL;

/*
 * marks older than this many transactions are not trusted to name their
 * rows (a 32-bit id is unambiguous within 2^31 of the current one)
 */
#define DELTA_MAX_XID_AGE (UINT64CONST(1) << 30)

static void
forget_snapshot(bool unregister)
{
	if (refresh_snapshot != NULL && unregister)
		UnregisterSnapshotFromOwner(refresh_snapshot, TopTransactionResourceOwner);
	refresh_snapshot = NULL;
	refresh_snapshot_shareable = false;
	refresh_snapshot_restored = false;
	wstart_n = wstart_cap = 0;
	wstart_hours = wstart_min = NULL;
	wstart_found = NULL;
}

/*
 * Note, for hours[0..n) read with the refresh's snapshot and a scan filter
 * (their new rows only, none ambiguous, every project), the earliest start
 * of a new watch event (found false: none)
 */
void
analytics_note_watch_starts(const TimestampTz *hours, int n, const bool *found, const TimestampTz *mins)
{
	MemoryContext old;

	if (refresh_snapshot == NULL || refresh_snapshot_restored || n <= 0)
		return;
	old = MemoryContextSwitchTo(TopTransactionContext);
	if (wstart_n + n > wstart_cap)
	{
		int			cap = Max(wstart_cap * 2, wstart_n + n + 16);

		wstart_hours = wstart_hours == NULL ? palloc(sizeof(TimestampTz) * cap)
			: repalloc(wstart_hours, sizeof(TimestampTz) * cap);
		wstart_min = wstart_min == NULL ? palloc(sizeof(TimestampTz) * cap)
			: repalloc(wstart_min, sizeof(TimestampTz) * cap);
		wstart_found = wstart_found == NULL ? palloc(sizeof(bool) * cap)
			: repalloc(wstart_found, sizeof(bool) * cap);
		wstart_cap = cap;
	}
	MemoryContextSwitchTo(old);
	for (int i = 0; i < n; i++)
	{
		wstart_hours[wstart_n] = hours[i];
		wstart_found[wstart_n] = found[i];
		wstart_min[wstart_n] = mins[i];
		wstart_n++;
	}
}

/* what analytics_note_watch_starts noted about hour h; false: nothing */
bool
analytics_watch_start(TimestampTz h, bool *found, TimestampTz *min)
{
	if (refresh_snapshot == NULL)
		return false;
	for (int i = wstart_n - 1; i >= 0; i--)
		if (wstart_hours[i] == h)
		{
			*found = wstart_found[i];
			*min = wstart_min[i];
			return true;
		}
	return false;
}

static void
delta_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			forget_snapshot(true);
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			/* the owner releases it */
			forget_snapshot(false);
			break;
		default:
			break;
	}
}

static void
set_snapshot(Snapshot snap, bool shareable)
{
	if (!callback_registered)
	{
		RegisterXactCallback(delta_xact_callback, NULL);
		callback_registered = true;
	}
	forget_snapshot(true);
	refresh_snapshot = RegisterSnapshotOnOwner(snap, TopTransactionResourceOwner);
	refresh_snapshot_shareable = shareable;
}

/* qsort/bsearch order of TimestampTz (the refresh's lists of hours) */
int
analytics_ts_cmp(const void *a, const void *b)
{
	TimestampTz x = *(const TimestampTz *) a;
	TimestampTz y = *(const TimestampTz *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* the snapshot of this transaction's refresh (NULL: none) */
Snapshot
analytics_refresh_snapshot(void)
{
	return refresh_snapshot;
}

/* the bytes a worker needs to read with the refresh's snapshot (0: it cannot) */
Size
analytics_refresh_snapshot_space(void)
{
	if (refresh_snapshot == NULL || !refresh_snapshot_shareable)
		return 0;
	return EstimateSnapshotSpace(refresh_snapshot);
}

void
analytics_refresh_snapshot_serialize(char *addr)
{
	SerializeSnapshot(refresh_snapshot, addr);
}

/*
 * In a refresh worker: read with the backend's snapshot. The backend keeps
 * its rows from being removed (it holds the snapshot until it commits,
 * after the workers). Rows this worker writes or deletes are read as they
 * were before it (command id 0): the refresh reads the state the backend's
 * snapshot saw.
 */
void
analytics_refresh_snapshot_restore(char *addr)
{
	Snapshot	snap = RestoreSnapshot(addr);

	snap->curcid = FirstCommandId;
	set_snapshot(snap, false);
	refresh_snapshot_restored = true;
}

/*
 * whether a refresh that consumed its marks with the snapshot of this
 * transaction can share it with workers
 */
bool
analytics_refresh_snapshot_blocks_workers(void)
{
	return refresh_snapshot != NULL && !refresh_snapshot_shareable;
}

/*
 * analytics._rollup_consume(hrs timestamptz[], pid text) RETURNS
 * timestamptz[]: deletes the marks of hours hrs (of project pid, or of
 * every project) visible to a new snapshot, which the refresh then reads
 * with (module comment); returns the hours that had marks, in order (NULL:
 * none).
 */
Datum
analytics_rollup_consume(PG_FUNCTION_ARGS)
{
	Oid			argtypes[2] = {TIMESTAMPTZARRAYOID, TEXTOID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};
	const char *schema;
	char	   *sql;
	SPIPlanPtr	plan;
	Snapshot	snap;
	bool		shareable;
	int			ret;
	Datum		result = (Datum) 0;
	bool		isnull = true;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	values[0] = PG_GETARG_DATUM(0);
	if (PG_ARGISNULL(1))
		nulls[1] = 'n';
	else
		values[1] = PG_GETARG_DATUM(1);
	schema = quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));

	/* taken before the DELETE gives this transaction an id, if it has none */
	shareable = !TransactionIdIsValid(GetTopTransactionIdIfAny());
	snap = GetLatestSnapshot();
	set_snapshot(snap, shareable);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "analytics: SPI_connect failed");
	sql = psprintf("WITH d AS (DELETE FROM %s.rollup_pending p"
				   " WHERE ($2::text IS NULL OR p.project_id OPERATOR(pg_catalog.=) $2)"
				   " AND p.hour OPERATOR(pg_catalog.=) ANY ($1) RETURNING p.hour)"
				   " SELECT pg_catalog.array_agg(DISTINCT d.hour ORDER BY d.hour) FROM d",
				   schema);
	plan = SPI_prepare(sql, 2, argtypes);
	if (plan == NULL)
		elog(ERROR, "analytics: could not prepare the consumption of the marks: %s",
			 SPI_result_code_string(SPI_result));
	ret = SPI_execute_snapshot(plan, values, nulls, refresh_snapshot, InvalidSnapshot, false, false, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "analytics: could not consume the marks: %s", SPI_result_code_string(ret));
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
		result = SPI_datumTransfer(result, false, -1);
	SPI_finish();
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

/* a timestamptz[] of n hours (maintenance's batches, the refresh's hours) */
Datum
analytics_hours_array(const TimestampTz *hours, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = TimestampTzGetDatum(hours[i]);
	return PointerGetDatum(construct_array(elems, n, TIMESTAMPTZOID, sizeof(TimestampTz),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* a new row's transaction id and the hour (index) it went to */
typedef struct HourXid
{
	int			hour;
	TransactionId xid;
} HourXid;

static int
hourxid_cmp(const void *a, const void *b)
{
	const HourXid *x = (const HourXid *) a;
	const HourXid *y = (const HourXid *) b;

	if (x->hour != y->hour)
		return x->hour < y->hour ? -1 : 1;
	return x->xid < y->xid ? -1 : x->xid > y->xid ? 1 : 0;
}

/*
 * The scan filter of a refresh pass over hours (sorted, n of them) of
 * project pid (NULL: every project), read with the refresh's snapshot
 * (the caller has pushed it): which hours can be refreshed incrementally,
 * and the transaction ids of their new rows. NULL when none can (or the
 * refresh has no snapshot of its own); nincremental 0 when none can.
 * Allocated in the current context.
 */
AnalyticsScanFilter *
analytics_delta_plan(const TimestampTz *hours, int n, text *pid, const char *schema)
{
	AnalyticsScanFilter *f;
	Oid			argtypes[3] = {TIMESTAMPTZARRAYOID, TEXTOID, INT2OID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	char	   *sql;
	int			ret;
	int			nincr = 0;
	int			capxids = 0;
	int			npairs = 0;
	HourXid    *pairs = NULL;
	FullTransactionId next;
	bool	   *seen;
	bool	   *refreshed;

#if PG_VERSION_NUM >= 170000
	/* the scan filter is not installed there (src/rollup.c) */
	return NULL;
#endif
	if (refresh_snapshot == NULL || n == 0)
		return NULL;

	values[0] = analytics_hours_array(hours, n);
	if (pid == NULL)
		nulls[1] = 'n';
	else
		values[1] = PointerGetDatum(pid);
	values[2] = Int16GetDatum(CAT_DIM_PROJECT);

	f = palloc0(sizeof(AnalyticsScanFilter));
	f->nhours = n;
	f->hours = palloc(sizeof(TimestampTz) * n);
	memcpy(f->hours, hours, sizeof(TimestampTz) * n);
	f->incremental = palloc0(sizeof(bool) * n);
	f->ambiguous = palloc0(sizeof(bool) * n);
	f->marked = seen = palloc0(sizeof(bool) * n);
	refreshed = palloc0(sizeof(bool) * n);

	/*
	 * The hours whose rows can be told apart: those refreshed before (they
	 * have rows per 5 minutes), and those at the edge of ingest: no rollup
	 * rows yet, the hour before refreshed and still only gaining rows (marks
	 * this snapshot sees, all with ids). An hour without rollup rows had no
	 * rows when its marks were last consumed (or never had marks consumed;
	 * every row has a project row per 5 minutes, a deletion a rewrite
	 * mark), so its rows are exactly those of its marks: adding them to
	 * nothing is the whole refresh, without re-summing the day from its
	 * hours (at every hour change under ingest). Other new hours (a bulk
	 * load of days, even next to hours refreshed before) are read whole, by
	 * the refresh workers.
	 */
	sql = psprintf("SELECT h.h, EXISTS (SELECT 1 FROM %1$s.rollup_5min r"
				   " WHERE r.dim OPERATOR(pg_catalog.=) $3 AND ($2::text IS NULL OR r.project_id OPERATOR(pg_catalog.=) $2)"
				   " AND r.bucket OPERATOR(pg_catalog.>=) h.h AND r.bucket OPERATOR(pg_catalog.<) (h.h OPERATOR(pg_catalog.+) '1 hour'::pg_catalog.interval))"
				   " OR ((h.h OPERATOR(pg_catalog.-) '1 hour'::pg_catalog.interval) IN (SELECT p.hour FROM %1$s.rollup_pending p"
				   "      WHERE $2::text IS NULL OR p.project_id OPERATOR(pg_catalog.=) $2"
				   "      GROUP BY p.hour HAVING pg_catalog.bool_and(p.xids IS NOT NULL))"
				   "     AND EXISTS (SELECT 1 FROM %1$s.rollup_5min r"
				   "      WHERE r.dim OPERATOR(pg_catalog.=) $3 AND ($2::text IS NULL OR r.project_id OPERATOR(pg_catalog.=) $2)"
				   "      AND r.bucket OPERATOR(pg_catalog.>=) (h.h OPERATOR(pg_catalog.-) '1 hour'::pg_catalog.interval)"
				   "      AND r.bucket OPERATOR(pg_catalog.<) h.h))"
				   " FROM unnest($1) h(h)",
				   schema);
	ret = SPI_execute_with_args(sql, 3, argtypes, values, nulls, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "analytics: could not read analytics.rollup_5min: %s", SPI_result_code_string(ret));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull,
					n2;
		TimestampTz h = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
		bool		ok = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &n2));

		if (isnull || n2 || !ok)
			continue;
		for (int i = 0; i < n; i++)
			if (hours[i] == h)
				refreshed[i] = true;
	}

	/* the marks the refresh consumed (its snapshot still sees them) */
	sql = psprintf("SELECT p.hour, p.xids, p.relid, p.relnode, p.from_block FROM %s.rollup_pending p"
				   " WHERE p.hour OPERATOR(pg_catalog.=) ANY ($1)"
				   " AND ($2::text IS NULL OR p.project_id OPERATOR(pg_catalog.=) $2)", schema);
	ret = SPI_execute_with_args(sql, 2, argtypes, values, nulls, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "analytics: could not read analytics.rollup_pending: %s", SPI_result_code_string(ret));
	next = ReadNextFullTransactionId();
	for (int i = 0; i < n; i++)
		f->incremental[i] = refreshed[i];
	f->blocks_known = true;
	f->rels = palloc(sizeof(Oid) * Max(SPI_processed, 1));
	f->relnodes = palloc(sizeof(Oid) * Max(SPI_processed, 1));
	f->first_blocks = palloc(sizeof(uint32) * Max(SPI_processed, 1));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		TimestampTz h = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
		Datum		x = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull);
		int			i;

		for (i = 0; i < n; i++)
			if (hours[i] == h)
				break;
		if (i == n)
			continue;
		seen[i] = true;
		if (isnull)
			f->incremental[i] = false;
		else
		{
			bool		n1,
						n2,
						n3;
			Oid			relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 3, &n1));
			Oid			relnode = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 4, &n2));
			int64		from = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 5, &n3));
			int			k;
			Datum	   *xs;
			int			nx;

			/* where the rows went: the first block per relation */
			if (n1 || n2 || n3 || from < 0 || from > (int64) MaxBlockNumber)
				f->blocks_known = false;
			else
			{
				for (k = 0; k < f->nrels; k++)
					if (f->rels[k] == relid && f->relnodes[k] == relnode)
						break;
				if (k == f->nrels)
				{
					f->rels[k] = relid;
					f->relnodes[k] = relnode;
					f->first_blocks[k] = (uint32) from;
					f->nrels++;
				}
				else if ((uint32) from < f->first_blocks[k])
					f->first_blocks[k] = (uint32) from;
			}

			deconstruct_array(DatumGetArrayTypeP(x), XID8OID, sizeof(FullTransactionId), FLOAT8PASSBYVAL,
							  TYPALIGN_DOUBLE, &xs, NULL, &nx);
			for (int k = 0; k < nx; k++)
			{
				FullTransactionId fx = DatumGetFullTransactionId(xs[k]);

				if (!FullTransactionIdPrecedes(fx, next) ||
					U64FromFullTransactionId(next) - U64FromFullTransactionId(fx) > DELTA_MAX_XID_AGE)
				{
					f->incremental[i] = false;
					continue;
				}
				if (npairs == capxids)
				{
					capxids = capxids == 0 ? 64 : capxids * 2;
					pairs = pairs == NULL ? palloc(sizeof(HourXid) * capxids)
						: repalloc(pairs, sizeof(HourXid) * capxids);
				}
				pairs[npairs].hour = i;
				pairs[npairs].xid = XidFromFullTransactionId(fx);
				npairs++;
			}
		}
	}
	for (int i = 0; i < n; i++)
	{
		/* an hour without a consumed mark is not the refresh's to add to */
		if (!seen[i])
			f->incremental[i] = false;
		if (f->incremental[i])
			nincr++;
	}
	f->nincremental = nincr;
	/*
	 * per hour, the ids of its own marks only: a transaction that wrote
	 * two hours, one of them refreshed alone before, has its rows in that
	 * hour aggregated already (its mark there is gone)
	 */
	if (npairs > 1)
		qsort(pairs, npairs, sizeof(HourXid), hourxid_cmp);
	f->xids = palloc(sizeof(TransactionId) * Max(npairs, 1));
	f->xid_start = palloc(sizeof(int) * (n + 1));
	{
		int			k = 0;

		for (int i = 0; i < n; i++)
		{
			f->xid_start[i] = f->nxids;
			for (; k < npairs && pairs[k].hour == i; k++)
				if (f->nxids == f->xid_start[i] || f->xids[f->nxids - 1] != pairs[k].xid)
					f->xids[f->nxids++] = pairs[k].xid;
		}
		f->xid_start[n] = f->nxids;
	}
	return f;
}

/*
 * analytics._rollup_delta_hours(hrs timestamptz[], pid text) RETURNS
 * timestamptz[]: the hours of hrs that only gained rows since their last
 * refresh (analytics_delta_plan: their marks all name their rows), in
 * order; NULL when none. The refresh adds the sums of those rows to their
 * hour rows and to their day's and week's one-dimension rows (the sums are
 * additive) instead of summing them again from finer rows
 * (_rollup_add_day). The answer depends on the refresh's snapshot only, so
 * the backend and the refresh workers that read with it agree; none when
 * the refresh has no snapshot of its own (Citus) or has one its workers
 * cannot share (they then read whole hours).
 */
Datum
analytics_rollup_delta_hours(PG_FUNCTION_ARGS)
{
	text	   *pid = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	const char *schema;
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				nh = 0;
	TimestampTz *hours;
	AnalyticsScanFilter *f;

	if (PG_ARGISNULL(0) || refresh_snapshot == NULL ||
		(!refresh_snapshot_shareable && !refresh_snapshot_restored))
		PG_RETURN_NULL();
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), TIMESTAMPTZOID, sizeof(TimestampTz), FLOAT8PASSBYVAL,
					  TYPALIGN_DOUBLE, &elems, &nulls, &n);
	hours = palloc(sizeof(TimestampTz) * Max(n, 1));
	for (int i = 0; i < n; i++)
		if (!nulls[i] && !TIMESTAMP_NOT_FINITE(DatumGetTimestampTz(elems[i])))
			hours[nh++] = DatumGetTimestampTz(elems[i]);
	if (nh == 0)
		PG_RETURN_NULL();
	qsort(hours, nh, sizeof(TimestampTz), analytics_ts_cmp);
	n = 0;
	for (int i = 0; i < nh; i++)
		if (n == 0 || hours[n - 1] != hours[i])
			hours[n++] = hours[i];
	nh = n;
	schema = quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));

	PushActiveSnapshot(refresh_snapshot);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "analytics: SPI_connect failed");
	f = analytics_delta_plan(hours, nh, pid, schema);
	SPI_finish();
	PopActiveSnapshot();
	if (f == NULL || f->nincremental == 0)
		PG_RETURN_NULL();
	n = 0;
	for (int i = 0; i < f->nhours; i++)
		if (f->incremental[i])
			hours[n++] = f->hours[i];
	PG_RETURN_DATUM(analytics_hours_array(hours, n));
}
