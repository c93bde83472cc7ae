/*-------------------------------------------------------------------------
 * citus.c
 *		What the extension needs to know when it runs inside a Citus cluster
 *		(README, "Scaling out").
 *
 * After analytics.distribute(), analytics.events, the rollups and the other
 * per-project tables are hash-distributed on project_id and co-located, and
 * the small global tables (settings, secrets, project_grants) are reference
 * tables. On a worker, the tables of the extension's schema are then only
 * Citus's "shells": their rows live in shards, tables of the same schema
 * named <table>_<shard id>. Code that reads or writes such a table by name
 * from C, below Citus's planner (a heap scan, a mark written at commit),
 * must use the shard instead:
 *
 *  - analytics_citus_local_placement(): the local shard of a reference
 *    table (project_grants, read by the tenant policies on every node);
 *  - analytics_citus_colocated_shard(): for a shard of an events partition
 *    that a write touches, the co-located shard of another distributed
 *    table (rollup_pending: the pending marks of the rows the worker wrote).
 *
 * Without Citus (the extension "citus" not installed in the database) both
 * return their argument / InvalidOid at the cost of one syscache lookup.
 * The answers are cached per backend, and forgotten at the end of every
 * transaction that looked one up (shards move with the rebalancer).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "analytics.h"

PG_FUNCTION_INFO_V1(analytics_citus_node);
PG_FUNCTION_INFO_V1(analytics_distributed);

/*
 * An answer kept for the rest of the command that asked it: catalog facts
 * that only a command of their own can change (CREATE or DROP EXTENSION,
 * analytics.distribute()), asked many times by one question.
 */
typedef struct CommandMemo
{
	LocalTransactionId lxid;
	CommandId	cid;
	bool		value;
} CommandMemo;

/* is m's answer one of this command's? */
static bool
memo_current(const CommandMemo *m)
{
	return m->lxid == MY_LXID && m->cid == GetCurrentCommandId(false);
}

/* keep value as this command's answer in m; returns it */
static bool
memo_keep(CommandMemo *m, bool value)
{
	m->value = value;
	m->lxid = MY_LXID;
	m->cid = GetCurrentCommandId(false);
	return value;
}

/*
 * Is the extension citus installed in this database? Asked by every query
 * function and policy scope: the answer is kept for the rest of the command.
 */
bool
analytics_citus_installed(void)
{
	static CommandMemo memo = {InvalidLocalTransactionId};

	/*
	 * Citus works only when the server preloads it (it refuses to load
	 * otherwise), and shared_preload_libraries is fixed at server start:
	 * without "citus" in it, no catalog lookup
	 */
	if (shared_preload_libraries_string == NULL || strstr(shared_preload_libraries_string, "citus") == NULL)
		return false;
	if (memo_current(&memo))
		return memo.value;
	return memo_keep(&memo, OidIsValid(get_extension_oid("citus", true)));
}

/* one int8 (or NULL: -1) from a query with one oid/int8 parameter */
static int64
query_int8(const char *sql, Oid argtype, Datum arg)
{
	int64		result = -1;
	int			ret;
	bool		isnull;

	SPI_connect();
	ret = SPI_execute_with_args(sql, 1, &argtype, &arg, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read the citus metadata: %s", SPI_result_code_string(ret));
	if (SPI_processed > 0)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			result = DatumGetInt64(d);
	}
	SPI_finish();
	return result;
}

/* the relation <schema of relid>.<name of relid>_<shardid> */
static Oid
shard_relid(Oid relid, int64 shardid)
{
	char		name[NAMEDATALEN * 2];

	snprintf(name, sizeof(name), "%s_" INT64_FORMAT, get_rel_name(relid), shardid);
	return get_relname_relid(name, get_rel_namespace(relid));
}

/*
 * The relation holding the rows of relid on this node: its local shard when
 * relid is a Citus table with exactly one shard placed here (a reference
 * table on a worker, or on a coordinator in the metadata), else relid.
 */
Oid
analytics_citus_local_placement(Oid relid)
{
	int64		shardid;
	Oid			shard;

	if (!analytics_citus_installed())
		return relid;
	shardid = query_int8("SELECT pg_catalog.min(s.shardid)::pg_catalog.int8 FROM pg_catalog.pg_dist_shard s"
						 " JOIN pg_catalog.pg_dist_placement p ON p.shardid OPERATOR(pg_catalog.=) s.shardid"
						 " WHERE s.logicalrelid OPERATOR(pg_catalog.=) $1"
						 "   AND p.groupid OPERATOR(pg_catalog.=) (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g)"
						 " HAVING pg_catalog.count(*) OPERATOR(pg_catalog.=) 1",
						 OIDOID, ObjectIdGetDatum(relid));
	if (shardid < 0)
		return relid;
	shard = shard_relid(relid, shardid);
	return OidIsValid(shard) ? shard : relid;
}

/*
 * rel, a table being written, is a shard of a Citus table (a partition of
 * analytics.events on a worker): the shard of the table named target (in the
 * extension's schema) co-located with it. InvalidOid when rel is no shard
 * (a table on a single node, or the coordinator's shell).
 */
Oid
analytics_citus_colocated_shard(Relation rel, const char *target)
{
	const char *name = RelationGetRelationName(rel);
	const char *us = strrchr(name, '_');
	char	   *end;
	int64		shardid;
	int64		other;
	Oid			nsp;
	Oid			target_relid;

	if (us == NULL || us[1] < '0' || us[1] > '9' || !analytics_citus_installed())
		return InvalidOid;
	shardid = strtoi64(us + 1, &end, 10);
	if (*end != '\0')
		return InvalidOid;
	nsp = get_namespace_oid(ANALYTICS_SCHEMA, true);
	target_relid = OidIsValid(nsp) ? get_relname_relid(target, nsp) : InvalidOid;
	if (!OidIsValid(target_relid))
		return InvalidOid;

	/*
	 * co-located shards cover the same hash range: the target's shard whose
	 * range starts where this one's does (the shard must be rel's own: its
	 * table's name plus the shard id is rel's name)
	 */
	other = query_int8(psprintf("SELECT t.shardid::pg_catalog.int8 FROM pg_catalog.pg_dist_shard s"
								" JOIN pg_catalog.pg_dist_shard t ON t.shardminvalue OPERATOR(pg_catalog.=) s.shardminvalue"
								"  AND t.logicalrelid OPERATOR(pg_catalog.=) $1"
								" WHERE s.shardid OPERATOR(pg_catalog.=) " INT64_FORMAT "::pg_catalog.int8",
								shardid),
					   OIDOID, ObjectIdGetDatum(target_relid));
	if (other < 0)
		return InvalidOid;
	return shard_relid(target_relid, other);
}

/* the tables a question reads (query.c), co-located with analytics.events */
static const char *const question_tables[] = {
	"events", "media", "play_totals", "rollup_pending", "rollup_5min", "rollup_hour", "rollup_day",
	"rollup_week", "rollup_w4", "rollup_cube_hour", "rollup_cube_day", "rollup_cube_week", "rollup_cube_w4",
	"rollup_refcube_hour", "rollup_refcube_day", "rollup_refcube_week", "rollup_refcube_w4",
	"rollup_devcube_hour", "rollup_devcube_day", "rollup_devcube_week", "rollup_devcube_w4",
	"rollup_viewers_hour", "rollup_viewers_day"
};
#define NQUESTION_TABLES lengthof(question_tables)

/*
 * The answers of analytics_citus_project_shards are kept per backend (a
 * worker's backends serve the coordinator's cached connections, question
 * after question), by project, until a relcache invalidation of one of the
 * tables or of all: Citus sends one for the table when it moves, splits or
 * drops its shards.
 */
#define SHARDS_CACHE_MAX 1024
typedef struct ShardsEntry
{
	char		project[NAMEDATALEN * 2];
	List	   *shards;
} ShardsEntry;

static HTAB *shards_cache = NULL;
static MemoryContext shards_cxt = NULL;
static Oid	shards_relids[NQUESTION_TABLES];
static bool shards_stale = false;

static void
shards_invalidate(Datum arg, Oid relid)
{
	int			i;

	if (shards_cache == NULL)
		return;
	for (i = 0; i < (int) NQUESTION_TABLES; i++)
		if (!OidIsValid(relid) || relid == shards_relids[i])
			shards_stale = true;
}

static List *project_shards(const char *project, Oid nsp, const Oid *relids);

/*
 * Is this backend one of a Citus node's connections to this node (its
 * application_name, as Citus's IsCitusInternalBackend() tells)? A call
 * Citus delegates runs in one, in a transaction block of its own; Citus
 * delegates no call of a client's transaction block, and sends all the
 * statements of a distributed transaction on a project's shards through one
 * connection.
 */
static bool
citus_internal_backend(void)
{
	const char *app = GetConfigOption("application_name", true, false);

	return app != NULL && strncmp(app, "citus_internal gpid=", 20) == 0;
}

/*
 * The shards of one project on this node, when it holds them (a worker
 * running a question that Citus delegated to it: README "Scaling out
 * (Citus)"): for each table a question reads, its name and the name of the
 * project's shard (AnalyticsShard). A question reads them as plain tables,
 * planned by PostgreSQL alone and kept like a single node's, instead of
 * sending each statement through Citus's planner and local executor. NIL
 * without Citus, when this node does not hold the project's shards, or in a
 * transaction block: there Citus may have written the project's rows
 * through a connection of its own, which a read of the shard from this
 * backend would not see.
 */
List *
analytics_citus_project_shards(const char *project)
{
	static bool registered = false;
	Oid			nsp;
	Oid			relids[NQUESTION_TABLES];
	ShardsEntry *e;
	bool		found;
	size_t		i;

	if (project == NULL || (IsTransactionBlock() && !citus_internal_backend()) || !analytics_citus_installed())
		return NIL;
	if (strlen(project) >= NAMEDATALEN * 2)
		return NIL;
	nsp = get_namespace_oid(ANALYTICS_SCHEMA, true);
	if (!OidIsValid(nsp))
		return NIL;
	for (i = 0; i < NQUESTION_TABLES; i++)
	{
		relids[i] = get_relname_relid(question_tables[i], nsp);
		if (!OidIsValid(relids[i]))
			return NIL;
	}
	if (!registered)
	{
		CacheRegisterRelcacheCallback(shards_invalidate, (Datum) 0);
		registered = true;
	}
	if (shards_cache != NULL &&
		(shards_stale || memcmp(relids, shards_relids, sizeof(relids)) != 0 ||
		 hash_get_num_entries(shards_cache) >= SHARDS_CACHE_MAX))
	{
		hash_destroy(shards_cache);
		MemoryContextDelete(shards_cxt);
		shards_cache = NULL;
	}
	if (shards_cache == NULL)
	{
		HASHCTL		ctl;

		shards_cxt = AllocSetContextCreate(TopMemoryContext, "analytics citus shards", ALLOCSET_SMALL_SIZES);
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = NAMEDATALEN * 2;
		ctl.entrysize = sizeof(ShardsEntry);
		ctl.hcxt = shards_cxt;
		shards_cache = hash_create("analytics citus shards", 64, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
		memcpy(shards_relids, relids, sizeof(relids));
		shards_stale = false;
	}
	e = hash_search(shards_cache, project, HASH_FIND, &found);
	if (!found)
	{
		List	   *shards = project_shards(project, nsp, relids);

		e = hash_search(shards_cache, project, HASH_ENTER, &found);
		e->shards = shards;
	}

	/* a copy: the cache may go before the question is answered */
	{
		List	   *copy = NIL;
		ListCell   *lc;

		foreach(lc, e->shards)
		{
			const AnalyticsShard *sh = lfirst(lc);
			AnalyticsShard *c = palloc(sizeof(AnalyticsShard));

			c->table = sh->table;	/* static */
			c->shard = pstrdup(sh->shard);
			copy = lappend(copy, c);
		}
		return copy;
	}
}

/* the shards of the project on this node, or NIL (in shards_cxt) */
static List *
project_shards(const char *project, Oid nsp, const Oid *relids)
{
	Datum		elems[NQUESTION_TABLES];
	Oid			types[2] = {OIDARRAYOID, TEXTOID};
	Datum		values[2];
	List	   *result = NIL;
	uint64		i;
	int			ret;

	for (i = 0; i < NQUESTION_TABLES; i++)
		elems[i] = ObjectIdGetDatum(relids[i]);
	values[0] = PointerGetDatum(construct_array(elems, NQUESTION_TABLES, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
	values[1] = CStringGetTextDatum(project);

	/*
	 * each table's shard holding the project (Citus's metadata cache), and
	 * whether it is placed on this node (the function once per table: it is
	 * volatile)
	 */
	SPI_connect();
	ret = SPI_execute_with_args("SELECT s.id, EXISTS (SELECT 1 FROM pg_catalog.pg_dist_placement p"
								"                     WHERE p.shardid OPERATOR(pg_catalog.=) s.id"
								"                       AND p.groupid OPERATOR(pg_catalog.=) (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g))"
								"  FROM pg_catalog.unnest($1) WITH ORDINALITY r(relid, n),"
								"       LATERAL (SELECT pg_catalog.get_shard_id_for_distribution_column(r.relid, $2)::pg_catalog.int8 AS id OFFSET 0) s"
								" ORDER BY r.n",
								2, types, values, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read the citus metadata: %s", SPI_result_code_string(ret));
	for (i = 0; i < SPI_processed && SPI_processed == NQUESTION_TABLES; i++)
	{
		bool		isnull;
		bool		isnull2;
		int64		shardid = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		bool		local = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull2));
		MemoryContext spi;
		AnalyticsShard *sh;

		if (isnull || isnull2 || !local || !OidIsValid(shard_relid(relids[i], shardid)))
		{
			/* not (or no longer) here: the distributed way */
			list_free_deep(result);
			result = NIL;
			break;
		}
		spi = MemoryContextSwitchTo(shards_cxt);
		sh = palloc(sizeof(AnalyticsShard));
		sh->table = question_tables[i];
		sh->shard = quote_identifier(psprintf("%s_" INT64_FORMAT, question_tables[i], shardid));
		result = lappend(result, sh);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	return result;
}

/*
 * analytics._citus_node(): 'none' (no Citus in this database), 'coordinator'
 * or 'worker'.
 */
Datum
analytics_citus_node(PG_FUNCTION_ARGS)
{
	int64		group;

	if (!analytics_citus_installed())
		PG_RETURN_TEXT_P(cstring_to_text("none"));
	group = query_int8("SELECT g.groupid::pg_catalog.int8 FROM pg_catalog.pg_dist_local_group g WHERE $1",
					   BOOLOID, BoolGetDatum(true));
	PG_RETURN_TEXT_P(cstring_to_text(group == 0 ? "coordinator" : "worker"));
}

/*
 * Is analytics.events a Citus table (the layout of analytics.distribute())?
 * Without Citus: false at the cost of one catalog lookup. With Citus, the
 * answer is kept for the rest of the command (a question asks several
 * times).
 */
bool
analytics_citus_distributed(void)
{
	static CommandMemo memo = {InvalidLocalTransactionId};
	Oid			nsp;
	Oid			events;

	if (!analytics_citus_installed())
		return false;
	if (memo_current(&memo))
		return memo.value;
	nsp = get_namespace_oid(ANALYTICS_SCHEMA, true);
	events = OidIsValid(nsp) ? get_relname_relid(ANALYTICS_EVENTS, nsp) : InvalidOid;
	return memo_keep(&memo, OidIsValid(events) &&
					 query_int8("SELECT 1::pg_catalog.int8 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1",
								OIDOID, ObjectIdGetDatum(events)) == 1);
}

/* analytics._distributed(): is analytics.events a Citus table? */
Datum
analytics_distributed(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(analytics_citus_distributed());
}
