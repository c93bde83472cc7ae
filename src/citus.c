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
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "analytics.h"

PG_FUNCTION_INFO_V1(analytics_citus_node);
PG_FUNCTION_INFO_V1(analytics_distributed);

/*
 * Is the extension citus installed in this database? Asked by every query
 * function and policy scope: the answer is kept for the rest of the command
 * (a CREATE or DROP EXTENSION is a new command).
 */
bool
analytics_citus_installed(void)
{
	static LocalTransactionId lxid = InvalidLocalTransactionId;
	static CommandId cid;
	static bool installed;

	if (lxid != MY_LXID || cid != GetCurrentCommandId(false))
	{
		installed = OidIsValid(get_extension_oid("citus", true));
		lxid = MY_LXID;
		cid = GetCurrentCommandId(false);
	}
	return installed;
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
 * Without Citus: false at the cost of one catalog lookup.
 */
bool
analytics_citus_distributed(void)
{
	Oid			nsp;
	Oid			events;

	if (!analytics_citus_installed())
		return false;
	nsp = get_namespace_oid(ANALYTICS_SCHEMA, true);
	events = OidIsValid(nsp) ? get_relname_relid(ANALYTICS_EVENTS, nsp) : InvalidOid;
	if (!OidIsValid(events))
		return false;
	return query_int8("SELECT 1::pg_catalog.int8 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1",
					  OIDOID, ObjectIdGetDatum(events)) == 1;
}

/* analytics._distributed(): is analytics.events a Citus table? */
Datum
analytics_distributed(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(analytics_citus_distributed());
}
