/*-------------------------------------------------------------------------
 * import.c
 *		COPY for tenants: the trigger functions behind the view
 *		analytics.events_import (_import_row, _import_flush), which buffer
 *		the rows a COPY writes and insert them into analytics.events with the
 *		rights of the role that wrote them (README, Tenancy: "COPY for
 *		tenants").  The tenancy checks themselves are in tenancy.c.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "analytics.h"

/* ---------------------------------------------------------------------
 * COPY for tenants: analytics.events_import
 * --------------------------------------------------------------------- */

/*
 * PostgreSQL refuses COPY FROM into a table with row-level security to the
 * roles the security applies to.  analytics.events_import is a view with
 * the columns of analytics.events and an INSTEAD OF INSERT trigger
 * (_import_row) that collects the rows; every IMPORT_BATCH rows and at the
 * end of the statement (_import_flush, an AFTER statement trigger) they go
 * into analytics.events in one INSERT ... SELECT FROM unnest($1) run with
 * the rights of the role that wrote them: the same privileges and row-level
 * security as an INSERT, at a fraction of the per-statement cost.
 *
 * Subtransactions (README, Tenancy: "COPY for tenants").  A buffered row
 * belongs to the (sub)transaction that was current when the row trigger
 * accepted it, which is the level its statement runs at: a statement never
 * leaves a subtransaction open (a PL/pgSQL EXCEPTION block, a savepoint of
 * a procedure...), so all of a statement's row triggers and its statement
 * trigger run at one level.  The buffer is a stack of segments, one per
 * (level, row type, role), in nesting order (a level accepts rows only
 * while its inner levels are closed):
 *  - a flush (a full batch, the end of a statement) writes only the rows of
 *    the current level: an outer level's rows written inside a
 *    subtransaction would be undone if it rolled back;
 *  - when a subtransaction commits, its rows pass to its parent;
 *  - when it aborts, its rows are dropped (a savepoint rollback undid
 *    them: its statements failed or were rolled back) and nothing else;
 *  - at the end of the transaction nothing is left; rows still buffered at
 *    commit (PostgreSQL skipped the statement trigger, as when a superuser
 *    sets session_replication_role to replica during the statement) make
 *    the commit fail rather than vanish.
 * The segment remembers the role, and a flush runs as that role: a nested
 * statement (a SECURITY DEFINER function) that ends at the same level
 * writes the enclosing statement's rows with the enclosing role's rights.
 */
#define IMPORT_BATCH 4096

typedef struct ImportSegment
{
	SubTransactionId subid;		/* the level that accepted its rows */
	Oid			rowtype;		/* the view's row type */
	Oid			userid;			/* the role that wrote them */
	int			start;			/* its first row in import_rows */
} ImportSegment;

static MemoryContext import_cxt = NULL; /* the buffered tuples */
static Datum *import_rows = NULL;	/* in TopMemoryContext, grows */
static int	import_rows_size = 0;
static int	import_n = 0;
static ImportSegment *import_segs = NULL;	/* in TopMemoryContext, grows */
static int	import_segs_size = 0;
static int	import_nsegs = 0;
static bool import_callbacks = false;
static SPIPlanPtr import_plan = NULL;
static Oid	import_plan_type = InvalidOid;

/* drop the buffered rows from start on */
static void
import_truncate(int start)
{
	int			i;

	if (start == 0)
		MemoryContextReset(import_cxt);
	else
		for (i = start; i < import_n; i++)
			pfree(DatumGetPointer(import_rows[i]));
	import_n = start;
}

static void
import_reset(void)
{
	if (import_cxt != NULL)
		MemoryContextReset(import_cxt);
	import_n = 0;
	import_nsegs = 0;
}

static void
import_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (import_n > 0)
			{
				int			n = import_n;

				import_reset();
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("%d rows written into analytics.events_import were not inserted into analytics.events", n),
						 errdetail("The rows of an INSERT or COPY into analytics.events_import are inserted at the end of the statement by its trigger import_flush, which did not fire."),
						 errhint("Write into analytics.events_import with session_replication_role = origin; in replica mode PostgreSQL fires none of its triggers.")));
			}
			break;
		default:
			import_reset();
			break;
	}
}

static void
import_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	int			i;

	/*
	 * Segments are in nesting order and subtransaction ids grow, so those of
	 * mySubid (and of its inner levels, already closed) are on top.
	 */
	switch (event)
	{
		case SUBXACT_EVENT_ABORT_SUB:
			while (import_nsegs > 0 && import_segs[import_nsegs - 1].subid >= mySubid)
			{
				import_truncate(import_segs[import_nsegs - 1].start);
				import_nsegs--;
			}
			break;
		case SUBXACT_EVENT_COMMIT_SUB:
			for (i = import_nsegs - 1; i >= 0 && import_segs[i].subid >= mySubid; i--)
				import_segs[i].subid = parentSubid;
			/* merge what now continues the parent's segment */
			for (i = Max(i, 0) + 1; i < import_nsegs; i++)
			{
				ImportSegment *a = &import_segs[i - 1],
						   *b = &import_segs[i];

				if (a->subid == b->subid && a->rowtype == b->rowtype && a->userid == b->userid)
				{
					memmove(b, b + 1, sizeof(ImportSegment) * (import_nsegs - i - 1));
					import_nsegs--;
					i--;
				}
			}
			break;
		default:
			break;
	}
}

/* insert the rows of the top segment into analytics.events */
static void
import_flush_top(void)
{
	ImportSegment seg = import_segs[import_nsegs - 1];
	Oid			arrtype;
	Datum		values[1];
	ArrayType  *arr;
	int			ret;
	Oid			save_userid;
	int			save_sec;

	arrtype = get_array_type(seg.rowtype);
	if (!OidIsValid(arrtype))
		elog(ERROR, "analytics.events_import has no array type");
	arr = construct_array(import_rows + seg.start, import_n - seg.start, seg.rowtype, -1, false, TYPALIGN_DOUBLE);
	values[0] = PointerGetDatum(arr);

	/*
	 * the rows leave the buffer before the INSERT: an error must not send
	 * them twice
	 */
	import_nsegs--;
	import_truncate(seg.start);

	GetUserIdAndSecContext(&save_userid, &save_sec);
	if (seg.userid != save_userid)
		SetUserIdAndSecContext(seg.userid, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (import_plan == NULL || import_plan_type != arrtype)
	{
		SPIPlanPtr	p;

		p = SPI_prepare("INSERT INTO analytics.events (project_id, emitted_at, event_type, value, media_id, media_type,"
						" session_id, viewer_id, referrer, continent, country, device_type, operating_system, browser)"
						" SELECT r.project_id, r.emitted_at, r.event_type, r.value, r.media_id, r.media_type,"
						" r.session_id, r.viewer_id, r.referrer, r.continent, r.country, r.device_type,"
						" r.operating_system, r.browser FROM pg_catalog.unnest($1) AS r", 1, &arrtype);
		if (p == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		if (import_plan != NULL)
			SPI_freeplan(import_plan);
		import_plan = p;
		import_plan_type = arrtype;
	}
	ret = SPI_execute_plan(import_plan, values, NULL, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "could not insert the imported rows: %s", SPI_result_code_string(ret));
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec);
	pfree(arr);
}

/* insert the rows of the current (sub)transaction */
static void
import_flush_level(void)
{
	SubTransactionId cur = GetCurrentSubTransactionId();

	while (import_nsegs > 0 && import_segs[import_nsegs - 1].subid == cur)
		import_flush_top();
}

PG_FUNCTION_INFO_V1(analytics_import_row);
PG_FUNCTION_INFO_V1(analytics_import_flush);

/* INSTEAD OF INSERT FOR EACH ROW on analytics.events_import */
Datum
analytics_import_row(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	MemoryContext old;
	SubTransactionId cur = GetCurrentSubTransactionId();
	Oid			userid = GetUserId();
	ImportSegment *top;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_INSTEAD(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event))
		elog(ERROR, "analytics._import_row() must be an INSTEAD OF INSERT row trigger");
	if (!import_callbacks)
	{
		RegisterXactCallback(import_xact_callback, NULL);
		RegisterSubXactCallback(import_subxact_callback, NULL);
		import_callbacks = true;
	}
	if (import_cxt == NULL)
		import_cxt = AllocSetContextCreate(TopMemoryContext, "analytics import", ALLOCSET_DEFAULT_SIZES);
	desc = RelationGetDescr(td->tg_relation);

	top = import_nsegs > 0 ? &import_segs[import_nsegs - 1] : NULL;
	Assert(top == NULL || top->subid <= cur);
	if (top == NULL || top->subid != cur || top->rowtype != desc->tdtypeid || top->userid != userid)
	{
		/* rows of this level with another row type or role go first */
		if (top != NULL && top->subid == cur)
			import_flush_level();
		if (import_nsegs == import_segs_size)
		{
			int			size = Max(8, import_segs_size * 2);

			import_segs = import_segs == NULL
				? MemoryContextAlloc(TopMemoryContext, sizeof(ImportSegment) * size)
				: repalloc(import_segs, sizeof(ImportSegment) * size);
			import_segs_size = size;
		}
		top = &import_segs[import_nsegs++];
		top->subid = cur;
		top->rowtype = desc->tdtypeid;
		top->userid = userid;
		top->start = import_n;
	}
	if (import_n == import_rows_size)
	{
		/* more than IMPORT_BATCH only while outer levels hold rows too */
		int			size = Max(IMPORT_BATCH, import_rows_size * 2);

		import_rows = import_rows == NULL
			? MemoryContextAlloc(TopMemoryContext, sizeof(Datum) * size)
			: repalloc(import_rows, sizeof(Datum) * size);
		import_rows_size = size;
	}
	old = MemoryContextSwitchTo(import_cxt);
	import_rows[import_n] = heap_copy_tuple_as_datum(td->tg_trigtuple, desc);
	MemoryContextSwitchTo(old);
	import_n++;

	if (import_n - top->start >= IMPORT_BATCH)
		import_flush_top();
	return PointerGetDatum(td->tg_trigtuple);
}

/* AFTER INSERT FOR EACH STATEMENT on analytics.events_import */
Datum
analytics_import_flush(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "analytics._import_flush() must be called as a trigger");
	import_flush_level();
	return PointerGetDatum(NULL);
}
