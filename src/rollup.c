/*-------------------------------------------------------------------------
 * rollup.c
 *		Change tracking for the derived data (rollups) of analytics.events.
 *
 * The rollups (analytics.rollup_hour, analytics.rollup_day) hold, per UTC
 * hour/day, project and dimension value, the event_stats array of the
 * events.  They must stay exact when events arrive late (for an hour already
 * rolled up), so every write to an events partition has to tell which
 * (project, hour) it touched.  A trigger could do that, but a row trigger
 * turns COPY's batched inserts into single ones and a statement trigger with
 * a transition table copies every row once more; either costs COPY much of
 * its speed.  Instead the partitions use the table access method
 * "analytics_heap": PostgreSQL's heap, unchanged, except that inserts,
 * updates and deletes note the (project_id, UTC hour) of each row they write
 * in a small per-transaction set (a direct-mapped cache in front of it
 * answers most rows without hashing the whole key).
 *
 * Just before the transaction commits (XACT_EVENT_PRE_COMMIT, also before
 * PREPARE) the set is written to analytics.rollup_pending, in the same
 * transaction as the events: a reader sees the events and their pending
 * marks together, or neither.  Queries use the rollups only for hours that
 * have no pending mark (and read raw events for the others, and for the
 * marks of their own transaction, from analytics._rollup_own_pending()), so
 * every answer is exact and as fresh as the events themselves.
 * Maintenance (analytics._rollup_refresh) consumes the marks it can see,
 * re-aggregates those hours and deletes the marks in one transaction; marks
 * committed after its snapshot stay for the next refresh. A mark also
 * holds the transaction ids its rows were inserted under (NULL after an
 * update or delete): the refresh then adds just those rows to the hour's
 * rollup rows, reading them through the scan filter below
 * (src/refreshdelta.c).
 *
 * Only the heap's insert/update/delete callbacks are wrapped; the index
 * build callbacks run the heap's own code with the heap's routine in place,
 * because heap_getnext() accepts scans of heap tables only.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "nodes/tidbitmap.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "analytics.h"

#define PENDING_TABLE "rollup_pending"
#define PROJECT_KEYLEN 64		/* longer project ids go to the overflow list */

typedef struct PendingKey
{
	Oid			target;			/* InvalidOid: analytics.rollup_pending; else
								 * its Citus shard co-located with the written
								 * shard */
	int64		hour;			/* TimestampTz of the UTC hour start */
	char		project[PROJECT_KEYLEN];	/* NUL-padded */
} PendingKey;

/*
 * What a transaction did to the rows of one (project, hour): inserted them
 * under these transaction ids (its own and those of its subtransactions),
 * or also updated or deleted some (rewrite). The refresh adds the rows of
 * an hour that only gained rows since it was last refreshed to its rollup
 * rows (src/refreshdelta.c); an hour with a rewrite is aggregated again.
 */
typedef struct MarkInfo
{
	bool		rewrite;
	int			nxids;
	int			capxids;
	TransactionId *xids;		/* in pending_cxt */
	/*
	 * the relation the rows went to (InvalidOid: none yet or several) and
	 * the first of its blocks they went to: a refresh reads no earlier block
	 */
	bool		mixed;
	Oid			relid;
	Oid			relnode;
	BlockNumber first_block;
} MarkInfo;

typedef struct PendingEntry
{
	PendingKey	key;
	MarkInfo	info;
} PendingEntry;

typedef struct LongPending
{
	Oid			target;
	int64		hour;
	char	   *project;
	MarkInfo	info;
} LongPending;

static TableAmRoutine analytics_heap_routine;
static const TableAmRoutine *heap_routine;
static bool routine_ready = false;
static bool callbacks_registered = false;

static MemoryContext pending_cxt = NULL;
static HTAB *pending = NULL;
static List *pending_long = NIL;	/* LongPending *, project id >=
									 * PROJECT_KEYLEN bytes */

/*
 * Rows arrive in time order with the projects interleaved: a small
 * direct-mapped cache of the (hour, project) pairs already in the hash saves
 * hashing the whole key for almost every row.
 */
#define NOTE_CACHE_SIZE 64
typedef struct NoteCacheSlot
{
	Oid			target;
	int64		hour;
	int			len;			/* -1: empty */
	TransactionId xid;			/* the last insert's noted */
	MarkInfo   *info;			/* of its entry */
	char		project[PROJECT_KEYLEN];
} NoteCacheSlot;
static NoteCacheSlot note_cache[NOTE_CACHE_SIZE];
static bool note_cache_valid = false;

/*
 * hours whose rows this transaction wrote and a refresh of this transaction
 * then aggregated again whole (its own rows with them): their marks are
 * written as rewrites, so that the next refresh does not add those rows
 * once more
 */
static List *rewrite_hours = NIL;	/* int64 *, in pending_cxt */

/* the scan filter of an incremental refresh (refreshdelta.c), while it reads */
AnalyticsScanFilter *analytics_scan_filter = NULL;

/* maintenance moves rows between partitions without changing them */
bool		analytics_rollup_tracking_suspended = false;

/* attribute numbers of the two columns we read, per relation */
static Oid	cached_relid = InvalidOid;
static AttrNumber cached_project_att;
static AttrNumber cached_emitted_att;
static Oid	cached_target;		/* where the marks of cached_relid go */

static void
reset_pending(void)
{
	if (pending_cxt)
		MemoryContextReset(pending_cxt);
	pending = NULL;
	pending_long = NIL;
	rewrite_hours = NIL;
	note_cache_valid = false;
}

/* the relation's file number (a rewrite gives it another) */
#if PG_VERSION_NUM >= 160000
#define AH_RELNODE(rel) ((Oid) (rel)->rd_locator.relNumber)
#else
#define AH_RELNODE(rel) ((rel)->rd_node.relNode)
#endif

/* the block of relation rel a row noted in info went to */
static inline void
info_block(MarkInfo *info, Relation rel, ItemPointer tid)
{
	BlockNumber b;
	Oid			relid = RelationGetRelid(rel);

	if (info == NULL || info->mixed || !ItemPointerIsValid(tid))
		return;
	b = ItemPointerGetBlockNumber(tid);
	if (!OidIsValid(info->relid))
	{
		info->relid = relid;
		info->relnode = AH_RELNODE(rel);
		info->first_block = b;
	}
	else if (info->relid != relid || info->relnode != AH_RELNODE(rel))
		info->mixed = true;
	else if (b < info->first_block)
		info->first_block = b;
}

/* note in info an insert under xid (InvalidTransactionId: an update or delete) */
static void
info_note(MarkInfo *info, TransactionId xid)
{
	if (!TransactionIdIsValid(xid))
	{
		info->rewrite = true;
		return;
	}
	if (info->rewrite)
		return;
	/* most rows come from the transaction id noted last */
	for (int i = info->nxids - 1; i >= 0; i--)
		if (info->xids[i] == xid)
			return;
	if (info->nxids == info->capxids)
	{
		int			cap = info->capxids == 0 ? 4 : info->capxids * 2;

		if (info->xids == NULL)
			info->xids = MemoryContextAlloc(pending_cxt, sizeof(TransactionId) * cap);
		else
			info->xids = repalloc(info->xids, sizeof(TransactionId) * cap);
		info->capxids = cap;
	}
	info->xids[info->nxids++] = xid;
}

static void
lookup_atts(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	TupleDesc	desc = RelationGetDescr(rel);

	if (relid == cached_relid)
		return;
	cached_project_att = InvalidAttrNumber;
	cached_emitted_att = InvalidAttrNumber;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		if (strcmp(NameStr(att->attname), "project_id") == 0 && att->atttypid == TEXTOID)
			cached_project_att = att->attnum;
		else if (strcmp(NameStr(att->attname), "emitted_at") == 0 && att->atttypid == TIMESTAMPTZOID)
			cached_emitted_att = att->attnum;
	}
	if (cached_project_att == InvalidAttrNumber || cached_emitted_att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("table \"%s\" cannot use access method analytics_heap",
						RelationGetRelationName(rel)),
				 errdetail("analytics_heap is for partitions of analytics.events: it needs the columns project_id text and emitted_at timestamptz.")));
	/* a shard on a Citus worker: the marks go to the co-located shard */
	cached_target = analytics_citus_colocated_shard(rel, PENDING_TABLE);
	cached_relid = relid;
}

/*
 * note the (project, hour) of one row, inserted under xid
 * (InvalidTransactionId: updated or deleted)
 */
static MarkInfo *
note_values(Oid target, const char *project, int len, TimestampTz emitted_at, TransactionId xid)
{
	PendingKey	key;
	int64		hour;
	NoteCacheSlot *slot;
	PendingEntry *e;
	bool		found;

	/*
	 * Nothing outside the accepted range of emitted_at is rolled up (such
	 * rows are refused; a delete of one stored by an older version must not
	 * leave a mark no refresh can process).
	 */
	if (emitted_at < ANALYTICS_EMITTED_AT_MIN || emitted_at >= ANALYTICS_EMITTED_AT_END)
		return NULL;

	hour = emitted_at / USECS_PER_HOUR;
	if (emitted_at < 0 && emitted_at % USECS_PER_HOUR != 0)
		hour--;
	hour *= USECS_PER_HOUR;

	if (len >= PROJECT_KEYLEN)
	{
		MemoryContext old;
		LongPending *lp;
		ListCell   *lc;

		if (pending_cxt == NULL)
			pending_cxt = AllocSetContextCreate(TopMemoryContext, "analytics rollup pending",
												ALLOCSET_SMALL_SIZES);
		foreach(lc, pending_long)
		{
			lp = lfirst(lc);
			if (lp->target == target && lp->hour == hour && strlen(lp->project) == (size_t) len &&
				memcmp(lp->project, project, len) == 0)
			{
				info_note(&lp->info, xid);
				return &lp->info;
			}
		}
		old = MemoryContextSwitchTo(pending_cxt);
		lp = palloc0(sizeof(LongPending));
		lp->target = target;
		lp->hour = hour;
		lp->project = pnstrdup(project, len);
		pending_long = lappend(pending_long, lp);
		MemoryContextSwitchTo(old);
		info_note(&lp->info, xid);
		return &lp->info;
	}

	/* fast path: a pair noted recently */
	if (!note_cache_valid)
	{
		for (int i = 0; i < NOTE_CACHE_SIZE; i++)
			note_cache[i].len = -1;
		note_cache_valid = true;
	}
	{
		uint32		h = (2166136261u ^ (uint32) (hour / USECS_PER_HOUR)) + (uint32) target;

		for (int i = 0; i < len; i++)
			h = (h ^ (unsigned char) project[i]) * 16777619u;
		slot = &note_cache[h % NOTE_CACHE_SIZE];
	}
	if (slot->len == len && slot->hour == hour && slot->target == target && slot->xid == xid &&
		TransactionIdIsValid(xid) && memcmp(slot->project, project, len) == 0)
		return slot->info;

	memset(&key, 0, sizeof(key));
	key.target = target;
	key.hour = hour;
	memcpy(key.project, project, len);

	if (pending == NULL)
	{
		HASHCTL		ctl;

		if (pending_cxt == NULL)
			pending_cxt = AllocSetContextCreate(TopMemoryContext, "analytics rollup pending",
												ALLOCSET_SMALL_SIZES);
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(PendingKey);
		ctl.entrysize = sizeof(PendingEntry);
		ctl.hcxt = pending_cxt;
		pending = hash_create("analytics rollup pending", 64, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	e = hash_search(pending, &key, HASH_ENTER, &found);
	if (!found)
		memset(&e->info, 0, sizeof(e->info));
	info_note(&e->info, xid);
	slot->target = target;
	slot->hour = hour;
	slot->len = len;
	slot->xid = xid;
	slot->info = &e->info;
	memcpy(slot->project, project, len);
	return &e->info;
}

/* the mark of the row in slot (NULL: none); insert: the row is inserted */
static MarkInfo *
note_slot(Relation rel, TupleTableSlot *slot, bool insert)
{
	Datum		d;
	bool		isnull;
	text	   *project;
	MarkInfo   *info;

	if (analytics_rollup_tracking_suspended)
		return NULL;
	lookup_atts(rel);
	d = slot_getattr(slot, cached_emitted_att, &isnull);
	if (isnull)
		return NULL;			/* rejected by NOT NULL anyway */
	{
		TimestampTz ts = DatumGetTimestampTz(d);

		d = slot_getattr(slot, cached_project_att, &isnull);
		if (isnull)
			return NULL;
		project = DatumGetTextPP(d);
		/* an insert's transaction id: the one the heap stamps the row with */
		info = note_values(cached_target, VARDATA_ANY(project), VARSIZE_ANY_EXHDR(project), ts,
						   insert ? GetCurrentTransactionId() : InvalidTransactionId);
		if ((Pointer) project != DatumGetPointer(d))
			pfree(project);
	}
	return info;
}

/* the row version a tid points to, before it is updated or deleted */
static void
note_tid(Relation rel, ItemPointer tid)
{
	TupleTableSlot *slot;

	if (analytics_rollup_tracking_suspended)
		return;
	slot = table_slot_create(rel, NULL);
	if (heap_routine->tuple_fetch_row_version(rel, tid, SnapshotAny, slot))
		(void) note_slot(rel, slot, false);
	ExecDropSingleTupleTableSlot(slot);
}

/* ---------------------------------------------------------------------
 * the wrapped callbacks
 * --------------------------------------------------------------------- */

static void
ah_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid, int options,
				struct BulkInsertStateData *bistate)
{
	MarkInfo   *info = note_slot(rel, slot, true);

	analytics_brinskip_heap_insert();
	heap_routine->tuple_insert(rel, slot, cid, options, bistate);
	info_block(info, rel, &slot->tts_tid);
}

static void
ah_tuple_insert_speculative(Relation rel, TupleTableSlot *slot, CommandId cid, int options,
							struct BulkInsertStateData *bistate, uint32 specToken)
{
	MarkInfo   *info = note_slot(rel, slot, true);

	analytics_brinskip_heap_insert();
	heap_routine->tuple_insert_speculative(rel, slot, cid, options, bistate, specToken);
	info_block(info, rel, &slot->tts_tid);
}

static void
ah_multi_insert(Relation rel, TupleTableSlot **slots, int nslots, CommandId cid, int options,
				struct BulkInsertStateData *bistate)
{
	MarkInfo   *infos[64];
	MarkInfo  **info = nslots <= 64 ? infos : palloc(sizeof(MarkInfo *) * nslots);

	for (int i = 0; i < nslots; i++)
		info[i] = note_slot(rel, slots[i], true);
	analytics_brinskip_patch(rel);
	analytics_brinskip_heap_insert();
	heap_routine->multi_insert(rel, slots, nslots, cid, options, bistate);
	for (int i = 0; i < nslots; i++)
		info_block(info[i], rel, &slots[i]->tts_tid);
	if (info != infos)
		pfree(info);
}

static TM_Result
ah_tuple_delete(Relation rel, ItemPointer tid, CommandId cid, Snapshot snapshot,
				Snapshot crosscheck, bool wait, TM_FailureData *tmfd, bool changingPart)
{
	note_tid(rel, tid);
	return heap_routine->tuple_delete(rel, tid, cid, snapshot, crosscheck, wait, tmfd, changingPart);
}

/* what tuple_update reports about index updates: an enum from 16 on */
#if PG_VERSION_NUM >= 160000
typedef TU_UpdateIndexes AhUpdateIndexes;
#else
typedef bool AhUpdateIndexes;
#endif

static TM_Result
ah_tuple_update(Relation rel, ItemPointer otid, TupleTableSlot *slot, CommandId cid,
				Snapshot snapshot, Snapshot crosscheck, bool wait, TM_FailureData *tmfd,
				LockTupleMode *lockmode, AhUpdateIndexes *update_indexes)
{
	note_tid(rel, otid);
	(void) note_slot(rel, slot, false);
	analytics_brinskip_heap_insert();
	return heap_routine->tuple_update(rel, otid, slot, cid, snapshot, crosscheck, wait, tmfd,
									  lockmode, update_indexes);
}

/*
 * An incremental refresh's scan filter (analytics_scan_filter): whether the
 * heap tuple in slot is returned.
 */
static bool
filter_keeps(Relation rel, TupleTableSlot *slot)
{
	AnalyticsScanFilter *f = analytics_scan_filter;
	HeapTuple	tup;
	bool		should_free;
	bool		isnull;
	Datum		d;
	TimestampTz ts;
	int64		hour;
	int			lo,
				hi;
	TransactionId xmin;

	lookup_atts(rel);
	d = slot_getattr(slot, cached_emitted_att, &isnull);
	if (isnull)
		return true;
	ts = DatumGetTimestampTz(d);
	hour = ts / USECS_PER_HOUR;
	if (ts < 0 && ts % USECS_PER_HOUR != 0)
		hour--;
	hour *= USECS_PER_HOUR;
	lo = 0;
	hi = f->nhours;
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (f->hours[mid] < hour)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= f->nhours || f->hours[lo] != hour || !f->incremental[lo])
		return true;

	tup = ExecFetchSlotHeapTuple(slot, false, &should_free);
	xmin = HeapTupleHeaderGetRawXmin(tup->t_data);
	{
		int			a = f->xid_start[lo],
					b = f->xid_start[lo + 1];
		int			end = b;

		while (a < b)
		{
			int			mid = (a + b) / 2;

			if (f->xids[mid] < xmin)
				a = mid + 1;
			else
				b = mid;
		}
		if (a < end && f->xids[a] == xmin)
		{
			if (HeapTupleHeaderXminFrozen(tup->t_data))
				f->ambiguous[lo] = true;
			if (should_free)
				heap_freetuple(tup);
			return true;
		}
	}
	if (should_free)
		heap_freetuple(tup);
	f->skipped++;
	return false;
}

static bool
ah_scan_getnextslot(TableScanDesc scan, ScanDirection direction, TupleTableSlot *slot)
{
	while (heap_routine->scan_getnextslot(scan, direction, slot))
	{
		if (analytics_scan_filter == NULL || filter_keeps(scan->rs_rd, slot))
			return true;
		CHECK_FOR_INTERRUPTS();
	}
	return false;
}

/*
 * PostgreSQL 17 and later change the bitmap scan callbacks; there the filter
 * is not installed and refreshes aggregate whole hours
 * (analytics_incremental_refresh_supported)
 */
#if PG_VERSION_NUM < 170000
/*
 * the filter's blocks: of a relation its new rows went to, those from the
 * first block they went to; of no other relation any (when the filter
 * reads no hour whole)
 */
static bool
ah_scan_bitmap_next_block(TableScanDesc scan, struct TBMIterateResult *tbmres)
{
	AnalyticsScanFilter *f = analytics_scan_filter;

	if (f != NULL && f->skip_blocks)
	{
		Oid			relid = RelationGetRelid(scan->rs_rd);
		bool		wanted = true;

		/* a relation the marks name, as it was: from their first block */
		for (int i = 0; i < f->nrels; i++)
			if (f->rels[i] == relid && f->relnodes[i] == AH_RELNODE(scan->rs_rd))
				wanted = tbmres->blockno >= f->first_blocks[i];
		if (!wanted)
		{
			HeapScanDesc hscan = (HeapScanDesc) scan;

			/*
			 * as the heap does for a block past the end: no tuples (the
			 * executor then asks for the next tuple of this block)
			 */
			hscan->rs_cindex = 0;
			hscan->rs_ntuples = 0;
			f->skipped_blocks++;
			return false;
		}
	}
	return heap_routine->scan_bitmap_next_block(scan, tbmres);
}

static bool
ah_scan_bitmap_next_tuple(TableScanDesc scan, struct TBMIterateResult *tbmres, TupleTableSlot *slot)
{
	while (heap_routine->scan_bitmap_next_tuple(scan, tbmres, slot))
	{
		if (analytics_scan_filter == NULL || filter_keeps(scan->rs_rd, slot))
			return true;
	}
	return false;
}
#endif

/*
 * The heap's index build code scans with heap_getnext(), which insists on
 * the heap's own routine: run it with that routine in place.
 */
static double
ah_index_build_range_scan(Relation table_rel, Relation index_rel, struct IndexInfo *index_info,
						  bool allow_sync, bool anyvisible, bool progress,
						  BlockNumber start_blockno, BlockNumber numblocks,
						  IndexBuildCallback callback, void *callback_state,
						  TableScanDesc scan)
{
	const TableAmRoutine *saved = table_rel->rd_tableam;
	double		result = 0;

	table_rel->rd_tableam = heap_routine;
	PG_TRY();
	{
		result = heap_routine->index_build_range_scan(table_rel, index_rel, index_info, allow_sync,
													  anyvisible, progress, start_blockno, numblocks,
													  callback, callback_state, scan);
	}
	PG_FINALLY();
	{
		table_rel->rd_tableam = saved;
	}
	PG_END_TRY();
	return result;
}

static void
ah_index_validate_scan(Relation table_rel, Relation index_rel, struct IndexInfo *index_info,
					   Snapshot snapshot, struct ValidateIndexState *state)
{
	const TableAmRoutine *saved = table_rel->rd_tableam;

	table_rel->rd_tableam = heap_routine;
	PG_TRY();
	{
		heap_routine->index_validate_scan(table_rel, index_rel, index_info, snapshot, state);
	}
	PG_FINALLY();
	{
		table_rel->rd_tableam = saved;
	}
	PG_END_TRY();
}

/* ---------------------------------------------------------------------
 * writing the pending marks
 * --------------------------------------------------------------------- */

/* the 64-bit form of a transaction id of this transaction */
static FullTransactionId
widen_xid(FullTransactionId next, TransactionId xid)
{
	uint32		epoch = EpochFromFullTransactionId(next);

	if (xid > XidFromFullTransactionId(next))
		epoch--;
	return FullTransactionIdFromEpochAndXid(epoch, xid);
}

static void
insert_mark(Relation rel, const char *project, int64 hour, const MarkInfo *info)
{
	Datum		values[6];
	bool		nulls[6] = {false, false, false, true, true, true};
	HeapTuple	tup;
	ListCell   *lc;
	bool		rewrite = info->rewrite || info->nxids == 0;

	foreach(lc, rewrite_hours)
		if (*(int64 *) lfirst(lc) == hour)
			rewrite = true;
	values[0] = CStringGetTextDatum(project);
	values[1] = TimestampTzGetDatum((TimestampTz) hour);
	if (rewrite || RelationGetDescr(rel)->natts < 3)
		nulls[2] = true;
	else
	{
		FullTransactionId next = ReadNextFullTransactionId();
		Datum	   *elems = palloc(sizeof(Datum) * info->nxids);

		for (int i = 0; i < info->nxids; i++)
			elems[i] = FullTransactionIdGetDatum(widen_xid(next, info->xids[i]));
		values[2] = PointerGetDatum(construct_array(elems, info->nxids, XID8OID, sizeof(FullTransactionId),
													FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	}
	if (!rewrite && !info->mixed && OidIsValid(info->relid))
	{
		values[3] = ObjectIdGetDatum(info->relid);
		values[4] = ObjectIdGetDatum(info->relnode);
		values[5] = Int64GetDatum((int64) info->first_block);
		nulls[3] = nulls[4] = nulls[5] = false;
	}
	tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	simple_heap_insert(rel, tup);
	heap_freetuple(tup);
}

/* the relation the marks of target go to, opened once per flush */
typedef struct MarkTarget
{
	Oid			target;
	Relation	rel;
} MarkTarget;

static Relation
mark_relation(List **opened, Oid target, Oid pending_relid)
{
	ListCell   *lc;
	MarkTarget *t;

	foreach(lc, *opened)
	{
		t = lfirst(lc);
		if (t->target == target)
			return t->rel;
	}
	t = palloc(sizeof(MarkTarget));
	t->target = target;
	t->rel = table_open(OidIsValid(target) ? target : pending_relid, RowExclusiveLock);
	/* 6 columns; 2 (no transaction ids, no blocks) before the update to 0.6 */
	if (RelationGetDescr(t->rel)->natts != 6 && RelationGetDescr(t->rel)->natts != 2)
		elog(ERROR, "unexpected row type of %s", RelationGetRelationName(t->rel));
	*opened = lappend(*opened, t);
	return t->rel;
}

static void
flush_pending(void)
{
	Oid			nsp;
	Oid			relid;
	HASH_SEQ_STATUS seq;
	PendingEntry *e;
	ListCell   *lc;
	List	   *opened = NIL;

	if ((pending == NULL || hash_get_num_entries(pending) == 0) && pending_long == NIL)
		return;

	nsp = get_namespace_oid(ANALYTICS_SCHEMA, true);
	relid = OidIsValid(nsp) ? get_relname_relid(PENDING_TABLE, nsp) : InvalidOid;
	if (!OidIsValid(relid))
		return;					/* the extension is being created or dropped */

	if (pending)
	{
		hash_seq_init(&seq, pending);
		while ((e = hash_seq_search(&seq)) != NULL)
			insert_mark(mark_relation(&opened, e->key.target, relid), e->key.project, e->key.hour, &e->info);
	}
	foreach(lc, pending_long)
	{
		LongPending *lp = lfirst(lc);

		insert_mark(mark_relation(&opened, lp->target, relid), lp->project, lp->hour, &lp->info);
	}
	foreach(lc, opened)
		table_close(((MarkTarget *) lfirst(lc))->rel, NoLock);
	list_free_deep(opened);
}

static void
rollup_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			flush_pending();
			reset_pending();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			reset_pending();
			cached_relid = InvalidOid;
			break;
		default:
			break;
	}
}

void
analytics_rollup_init(void)
{
	if (callbacks_registered)
		return;
	RegisterXactCallback(rollup_xact_callback, NULL);
	callbacks_registered = true;
}

/* ---------------------------------------------------------------------
 * SQL-callable
 * --------------------------------------------------------------------- */

PG_FUNCTION_INFO_V1(analytics_heap_handler);
Datum
analytics_heap_handler(PG_FUNCTION_ARGS)
{
	if (!routine_ready)
	{
		heap_routine = GetHeapamTableAmRoutine();
		analytics_heap_routine = *heap_routine;
		analytics_heap_routine.tuple_insert = ah_tuple_insert;
		analytics_heap_routine.tuple_insert_speculative = ah_tuple_insert_speculative;
		analytics_heap_routine.multi_insert = ah_multi_insert;
		analytics_heap_routine.tuple_delete = ah_tuple_delete;
		analytics_heap_routine.tuple_update = ah_tuple_update;
		analytics_heap_routine.scan_getnextslot = ah_scan_getnextslot;
#if PG_VERSION_NUM < 170000
		analytics_heap_routine.scan_bitmap_next_block = ah_scan_bitmap_next_block;
		analytics_heap_routine.scan_bitmap_next_tuple = ah_scan_bitmap_next_tuple;
#endif
		analytics_heap_routine.index_build_range_scan = ah_index_build_range_scan;
		analytics_heap_routine.index_validate_scan = ah_index_validate_scan;
		routine_ready = true;
	}
	analytics_rollup_init();
	PG_RETURN_POINTER(&analytics_heap_routine);
}

/*
 * A refresh of this transaction aggregated hour whole, with the rows this
 * transaction wrote to it: its marks are written as rewrites.
 */
void
analytics_rollup_note_rewrite(TimestampTz hour)
{
	MemoryContext old;
	int64	   *h;

	if (pending_cxt == NULL)
		pending_cxt = AllocSetContextCreate(TopMemoryContext, "analytics rollup pending",
											ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(pending_cxt);
	h = palloc(sizeof(int64));
	*h = hour;
	rewrite_hours = lappend(rewrite_hours, h);
	MemoryContextSwitchTo(old);
}

/*
 * analytics._rollup_own_pending(): the hours this transaction has written
 * to and not yet marked in analytics.rollup_pending (marks are written at
 * commit), so that its own queries read those hours raw.
 */
/*
 * The same in C, for the query functions: the hours (palloc'ed, *n of
 * them; NULL when none), in no order, possibly repeated.
 */
TimestampTz *
analytics_rollup_own_pending_hours(int *n)
{
	TimestampTz *out;
	HASH_SEQ_STATUS seq;
	PendingEntry *e;
	ListCell   *lc;
	int			cap;

	*n = 0;
	cap = (pending ? (int) hash_get_num_entries(pending) : 0) + list_length(pending_long);
	if (cap == 0)
		return NULL;
	out = palloc(sizeof(TimestampTz) * cap);
	if (pending)
	{
		hash_seq_init(&seq, pending);
		while ((e = hash_seq_search(&seq)) != NULL)
			out[(*n)++] = (TimestampTz) e->key.hour;
	}
	foreach(lc, pending_long)
		out[(*n)++] = (TimestampTz) ((LongPending *) lfirst(lc))->hour;
	return out;
}

static int
cmp_ts(const void *a, const void *b)
{
	TimestampTz x = *(const TimestampTz *) a;
	TimestampTz y = *(const TimestampTz *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * What _pending_hours(lo, hi) gives, in C: the hours of marks (a
 * timestamptz[] of the marks in rollup_pending read by the caller's
 * statement, NULL when none) and those this transaction wrote, in [lo, hi],
 * in order, each once (palloc'ed, *n of them).
 */
TimestampTz *
analytics_pending_hours(Datum marks, bool marks_null, TimestampTz lo, TimestampTz hi, int *n)
{
	TimestampTz *own;
	TimestampTz *out;
	Datum	   *elems = NULL;
	bool	   *enulls = NULL;
	int			nmarks = 0;
	int			nown;
	int			k = 0;
	int			i;

	if (!marks_null)
		deconstruct_array(DatumGetArrayTypeP(marks), TIMESTAMPTZOID, sizeof(TimestampTz), FLOAT8PASSBYVAL,
						  TYPALIGN_DOUBLE, &elems, &enulls, &nmarks);
	own = analytics_rollup_own_pending_hours(&nown);
	out = palloc(sizeof(TimestampTz) * (nmarks + nown + 1));
	for (i = 0; i < nmarks; i++)
		if (!enulls[i] && DatumGetTimestampTz(elems[i]) >= lo && DatumGetTimestampTz(elems[i]) <= hi)
			out[k++] = DatumGetTimestampTz(elems[i]);
	for (i = 0; i < nown; i++)
		if (own[i] >= lo && own[i] <= hi)
			out[k++] = own[i];
	qsort(out, k, sizeof(TimestampTz), cmp_ts);
	*n = 0;
	for (i = 0; i < k; i++)
		if (*n == 0 || out[*n - 1] != out[i])
			out[(*n)++] = out[i];
	return out;
}

PG_FUNCTION_INFO_V1(analytics_rollup_own_pending);
Datum
analytics_rollup_own_pending(PG_FUNCTION_ARGS)
{
	int			n = 0;
	int			cap;
	Datum	   *elems;
	HASH_SEQ_STATUS seq;
	PendingEntry *e;
	ListCell   *lc;

	cap = (pending ? (int) hash_get_num_entries(pending) : 0) + list_length(pending_long);
	if (cap == 0)
		PG_RETURN_NULL();
	elems = palloc(sizeof(Datum) * cap);
	if (pending)
	{
		hash_seq_init(&seq, pending);
		while ((e = hash_seq_search(&seq)) != NULL)
			elems[n++] = TimestampTzGetDatum((TimestampTz) e->key.hour);
	}
	foreach(lc, pending_long)
		elems[n++] = TimestampTzGetDatum((TimestampTz) ((LongPending *) lfirst(lc))->hour);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, TIMESTAMPTZOID, sizeof(TimestampTz),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
