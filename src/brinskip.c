/*-------------------------------------------------------------------------
 * brinskip.c
 *		Cheaper BRIN index inserts into analytics_heap tables.
 *
 * PostgreSQL 15's brininsert() reads the index metapage and the range map
 * for every row, even when the row's block range is not summarized yet and
 * there is nothing to do -- the usual case while a bulk load or the day's
 * ingest fills new pages. On analytics.events that was a tenth of COPY's
 * CPU. (PostgreSQL 17 caches that state between calls.)
 *
 * analytics_brininsert() answers "range not summarized" from a one-entry
 * cache instead: (index, first block of the range, insertion epoch). The
 * epoch counts the heap insertions of this backend into analytics_heap
 * tables (analytics_brinskip_heap_insert(), called by every insert and
 * update callback of the access method before it puts tuples into the heap).
 * The cache is filled only by a range-map lookup made after the tuple is in
 * the heap, and used only for tuples put into the heap by the same call
 * (one multi_insert batch of COPY: the executor inserts all its tuples into
 * the heap, then their index entries). That is safe: a summarization of the
 * range starts by placing a placeholder in the range map and then scans the
 * range's heap pages, including tuples of transactions in progress
 * (brin.c, summarize_range). If the lookup found no placeholder, any later
 * summarization scans pages that already hold every tuple of the batch; if
 * it found one (or a summary), the rows go through brininsert() as usual.
 * The first tuple of a block range also always goes through brininsert(),
 * which requests its autosummarization; other tuples of a range found not
 * summarized skip it (it would look up the same range map entry again).
 *
 * The index access method stays "brin": analytics_brinskip_patch() swaps the
 * aminsert callback in the relcache copy of the BRIN indexes of an
 * analytics_heap table (each index relation has its own IndexAmRoutine
 * copy). The access method does that on every multi_insert call (COPY's
 * batches), because a relcache rebuild brings the original back; single-row
 * inserts only move the epoch on (each row has its own, so there is no
 * lookup to save for them).
 *
 * Under PostgreSQL 17 and later none of this is built: brininsert() keeps
 * its range map access and BRIN descriptor in the IndexInfo for the whole
 * statement (BrinInsertState), so a row of a range not summarized costs a
 * share lock of the range map page it already holds pinned, which is what
 * the cache above would save. The two entry points stay, as no-ops.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/brin.h"
#include "access/brin_internal.h"
#include "access/brin_revmap.h"
#include "access/amapi.h"
#include "catalog/pg_am.h"
#include "nodes/pg_list.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#include "analytics.h"

#if PG_VERSION_NUM >= 170000

void
analytics_brinskip_heap_insert(void)
{
}

void
analytics_brinskip_patch(Relation rel)
{
}

#else							/* PostgreSQL 15 and 16 */

static uint64 insert_epoch = 0;

static struct
{
	bool		valid;
	Oid			index;
	BlockNumber range;
	uint64		epoch;
} unsummarized;

void
analytics_brinskip_heap_insert(void)
{
	insert_epoch++;
}

static bool
analytics_brininsert(Relation idxRel, Datum *values, bool *nulls, ItemPointer heaptid,
					 Relation heapRel, IndexUniqueCheck checkUnique, bool indexUnchanged,
					 IndexInfo *indexInfo)
{
	BlockNumber ppr = BrinGetPagesPerRange(idxRel);
	BlockNumber blk = ItemPointerGetBlockNumber(heaptid);
	BlockNumber range = blk - blk % ppr;
	bool		range_start = blk == range && ItemPointerGetOffsetNumber(heaptid) == FirstOffsetNumber;

	if (unsummarized.valid && unsummarized.epoch == insert_epoch &&
		unsummarized.index == RelationGetRelid(idxRel) && unsummarized.range == range &&
		!range_start)
		return false;

	/*
	 * is the range summarized, or being summarized? (the tuple is in the
	 * heap)
	 */
	{
		BlockNumber revmap_ppr;
		Buffer		buf = InvalidBuffer;
		OffsetNumber off;
		BrinRevmap *revmap = brinRevmapInitialize(idxRel, &revmap_ppr, NULL);
		BrinTuple  *tup = brinGetTupleForHeapBlock(revmap, range, &buf, &off, NULL,
												   BUFFER_LOCK_SHARE, NULL);

		if (tup != NULL)
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		if (BufferIsValid(buf))
			ReleaseBuffer(buf);
		brinRevmapTerminate(revmap);

		unsummarized.valid = tup == NULL;
		unsummarized.index = RelationGetRelid(idxRel);
		unsummarized.range = range;
		unsummarized.epoch = insert_epoch;
	}
	/* not summarized: brininsert() would only ask for autosummarization */
	if (unsummarized.valid && !range_start)
		return false;
	return brininsert(idxRel, values, nulls, heaptid, heapRel, checkUnique, indexUnchanged,
					  indexInfo);
}

/* use analytics_brininsert for the BRIN indexes of rel (an analytics_heap table) */
void
analytics_brinskip_patch(Relation rel)
{
	List	   *indexes;
	ListCell   *lc;

	if (!rel->rd_rel->relhasindex)
		return;
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	ir = RelationIdGetRelation(lfirst_oid(lc));

		if (ir == NULL)
			continue;
		if (ir->rd_rel->relam == BRIN_AM_OID && ir->rd_indam != NULL &&
			ir->rd_indam->aminsert == brininsert)
			ir->rd_indam->aminsert = analytics_brininsert;
		RelationClose(ir);
	}
	list_free(indexes);
}

#endif							/* PG_VERSION_NUM >= 170000 */
