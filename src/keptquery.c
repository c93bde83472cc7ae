/*-------------------------------------------------------------------------
 * keptquery.c
 *		Kept statements of the generated rollup queries:
 *		analytics._kept_query(q text, generic boolean, VARIADIC args "any")
 *		RETURNS SETOF record.
 *
 * metric, breakdown and timeseries build the text of their rollup query
 * from a few fixed fragments: the question's filters, its dimension and how
 * many ranges each level of the cover has. The values (the period, the
 * filter values, the ranges) are parameters, never text. So one dashboard
 * asks the same few texts over and over with other parameters, and planning
 * them each time (a UNION of up to twelve scans, the raw ones over every
 * partition of analytics.events) cost more than running them.
 *
 * This function keeps one prepared statement per text, argument types and
 * plan kind, in a backend-local table of at most KQ_MAX_PLANS entries (the
 * least recently used one goes). With generic, its plan is made once and
 * kept: the pieces are read through the (project, dim, bucket) indexes
 * whatever the ranges, and the partitions of the raw pieces are pruned when
 * the executor starts, from the parameters. That suits a question about one
 * project, whose pieces hold a few rows each. A question over all projects
 * reads thousands of rows, where a plan made for the actual ranges (hash or
 * sort aggregation, from the estimated row counts) matters more than the
 * planning: without generic, each run is planned for its parameters
 * (PostgreSQL's custom plans), and only the parsing is saved.
 * PostgreSQL's plan cache revalidates a kept plan as for any prepared
 * statement (a changed table or index, ANALYZE, another role under
 * row-level security, another search_path): such a plan is simply made
 * again at its next use.
 *
 * The rows are returned as they come (a query's ORDER BY is kept), written
 * straight into the result's tuplestore. The caller's column definition list
 * must match the query's columns.
 *
 * A statement is not dropped from the table while it runs: a text may call
 * _kept_query itself (nested calls). When every entry is running, the new
 * statement is prepared for this call only.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tstoreReceiver.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "analytics.h"

PG_FUNCTION_INFO_V1(analytics_kept_query);

#define KQ_MAX_PLANS 64
#define KQ_MAX_ARGS 64

typedef struct KeptPlan
{
	uint32		hash;			/* hash of the text and argument types */
	char	   *text;			/* in TopMemoryContext */
	int			nargs;
	Oid			argtypes[KQ_MAX_ARGS];
	bool		generic;
	SPIPlanPtr	plan;			/* kept (SPI_keepplan) */
	uint64		last_use;
	int			running;		/* calls running it (nested calls) */
} KeptPlan;

static KeptPlan kept[KQ_MAX_PLANS];
static int	nkept = 0;
static uint64 use_clock = 0;

static uint32
plan_hash(const char *text, int len, int nargs, const Oid *argtypes)
{
	uint32		h = hash_bytes((const unsigned char *) text, len);

	return hash_combine(h, hash_bytes((const unsigned char *) argtypes, nargs * sizeof(Oid)));
}

/*
 * The kept statement of (text, argtypes, generic), made and kept when there
 * is none; NULL with *plan set when it cannot be kept (every entry running).
 */
static KeptPlan *
kept_plan(const char *text, int nargs, Oid *argtypes, bool generic, SPIPlanPtr *plan_out)
{
	uint32		h = plan_hash(text, strlen(text), nargs, argtypes);
	KeptPlan   *slot = NULL;
	SPIPlanPtr	plan;
	char	   *copy;
	int			i;

	for (i = 0; i < nkept; i++)
	{
		KeptPlan   *k = &kept[i];

		if (k->hash == h && k->nargs == nargs && k->generic == generic && strcmp(k->text, text) == 0 &&
			memcmp(k->argtypes, argtypes, nargs * sizeof(Oid)) == 0)
		{
			k->last_use = ++use_clock;
			*plan_out = k->plan;
			return k;
		}
	}

	/* SPI_prepare_cursor reports its own errors (syntax, unknown names) */
	plan = SPI_prepare_cursor(text, nargs, argtypes,
							  generic ? CURSOR_OPT_GENERIC_PLAN : CURSOR_OPT_CUSTOM_PLAN);
	if (plan == NULL)
		elog(ERROR, "analytics._kept_query: SPI_prepare_cursor failed: %s", SPI_result_code_string(SPI_result));

	/* the entry: a free one, or the least recently used one not running */
	if (nkept < KQ_MAX_PLANS)
		slot = &kept[nkept];
	else
	{
		for (i = 0; i < nkept; i++)
			if (kept[i].running == 0 && (slot == NULL || kept[i].last_use < slot->last_use))
				slot = &kept[i];
		if (slot == NULL)
		{
			/* freed with this call's SPI connection */
			*plan_out = plan;
			return NULL;
		}
	}

	/* keep the plan only once everything that can fail has */
	copy = MemoryContextStrdup(TopMemoryContext, text);
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "analytics._kept_query: SPI_keepplan failed");
	if (slot == &kept[nkept])
		nkept++;
	else
	{
		SPI_freeplan(slot->plan);
		pfree(slot->text);
	}
	slot->text = copy;
	slot->hash = h;
	slot->nargs = nargs;
	slot->generic = generic;
	memcpy(slot->argtypes, argtypes, nargs * sizeof(Oid));
	slot->plan = plan;
	slot->last_use = ++use_clock;
	slot->running = 0;
	*plan_out = plan;
	return slot;
}

/* runs the plan; its entry (when kept) counts the run meanwhile */
static int
execute_kept(KeptPlan *entry, SPIPlanPtr plan, const SPIExecuteOptions *options)
{
	volatile int rc = 0;

	if (entry != NULL)
		entry->running++;
	PG_TRY();
	{
		rc = SPI_execute_plan_extended(plan, options);
	}
	PG_FINALLY();
	{
		if (entry != NULL)
			entry->running--;
	}
	PG_END_TRY();
	return rc;
}

/*
 * analytics_kept_run: runs sql with the parameters $1..$nargs (types,
 * values, nulls) through its kept statement (see the top of the file),
 * its rows sent to dest (NULL: into SPI_tuptable). The caller is connected
 * to SPI. Returns SPI_processed; raises when the statement is no SELECT.
 */
uint64
analytics_kept_run(const char *sql, int nargs, const Oid *types, const Datum *values, const bool *nulls,
				   bool generic, DestReceiver *dest)
{
	ParamListInfo params;
	SPIExecuteOptions options;
	Oid			argtypes[KQ_MAX_ARGS];
	KeptPlan   *entry;
	SPIPlanPtr	plan;
	int			rc;
	int			c;

	if (nargs > KQ_MAX_ARGS)
		ereport(ERROR,
				(errcode(ERRCODE_TOO_MANY_ARGUMENTS),
				 errmsg("too many query parameters: %d", nargs),
				 errdetail("At most %d parameters are allowed.", KQ_MAX_ARGS)));
	params = makeParamList(nargs);
	for (c = 0; c < nargs; c++)
	{
		ParamExternData *prm = &params->params[c];

		argtypes[c] = types[c];
		prm->value = values[c];
		prm->isnull = nulls[c];

		/*
		 * A value taken out of a row (a field of analytics._cover) has a
		 * short header when it is small; a generic plan evaluates $n[i] for
		 * each row it checks, and would copy such an array to a full header
		 * each time (detoast). Do it once here.
		 */
		if (!prm->isnull && get_typlen(argtypes[c]) == -1)
			prm->value = PointerGetDatum(PG_DETOAST_DATUM(prm->value));
		prm->pflags = PARAM_FLAG_CONST;
		prm->ptype = argtypes[c];
	}
	memset(&options, 0, sizeof(options));
	options.params = params;
	options.read_only = true;
	options.dest = dest;
	entry = kept_plan(sql, nargs, argtypes, generic, &plan);
	rc = execute_kept(entry, plan, &options);
	if (rc != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("query of analytics._kept_query is not a SELECT: %s", SPI_result_code_string(rc))));
	return SPI_processed;
}

Datum
analytics_kept_query(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *query;
	int			nargs = PG_NARGS() - 2;
	Oid			argtypes[KQ_MAX_ARGS];
	Datum		values[KQ_MAX_ARGS];
	bool		nulls[KQ_MAX_ARGS];
	DestReceiver *dest;
	int			rc;
	int			c;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("query text and plan kind must not be null")));
	if (nargs > KQ_MAX_ARGS)
		ereport(ERROR,
				(errcode(ERRCODE_TOO_MANY_ARGUMENTS),
				 errmsg("too many query parameters: %d", nargs),
				 errdetail("At most %d parameters are allowed.", KQ_MAX_ARGS)));
	if (get_fn_expr_variadic(fcinfo->flinfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("parameters must be given one by one, not as a VARIADIC array")));

	for (c = 0; c < nargs; c++)
	{
		argtypes[c] = get_fn_expr_argtype(fcinfo->flinfo, c + 2);
		if (!OidIsValid(argtypes[c]) || argtypes[c] == UNKNOWNOID)
			ereport(ERROR,
					(errcode(ERRCODE_INDETERMINATE_DATATYPE),
					 errmsg("could not determine the data type of parameter $%d", c + 1),
					 errhint("Cast the argument to its type.")));
		values[c] = PG_GETARG_DATUM(c + 2);
		nulls[c] = PG_ARGISNULL(c + 2);
	}
	query = text_to_cstring(PG_GETARG_TEXT_PP(0));

	/*
	 * The tuplestore, and a copy of the column definition list as the result
	 * descriptor, in the query's memory (the executor frees the descriptor
	 * after each call: a lateral call runs again with the same list).
	 */
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);

	/*
	 * The rows go straight into the tuplestore, checked against the column
	 * definition list when the query starts.
	 */
	dest = CreateDestReceiver(DestTuplestore);
	SetTuplestoreDestReceiverParams(dest, rsinfo->setResult, rsinfo->econtext->ecxt_per_query_memory, false,
									rsinfo->setDesc,
									gettext_noop("query returns columns that do not match the column definition list"));

	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "analytics._kept_query: SPI_connect failed: %s", SPI_result_code_string(rc));
	analytics_kept_run(query, nargs, argtypes, values, nulls, PG_GETARG_BOOL(1), dest);
	SPI_finish();
	dest->rDestroy(dest);
	return (Datum) 0;
}
