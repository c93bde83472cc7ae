/*-------------------------------------------------------------------------
 * catalogsql.c
 *		The catalogue's rollup facts for SQL (catalog.h): the dimension
 *		numbers and the block sizes and origins, so that the SQL of the
 *		rollup refresh (src/sql/rollups.sql) writes none of them as a
 *		literal. IMMUTABLE: called with constants, the planner folds each
 *		call into a constant once per plan, as it did the literals.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "catalog.h"

PG_FUNCTION_INFO_V1(analytics_catalog_dims);
PG_FUNCTION_INFO_V1(analytics_catalog_dim);
PG_FUNCTION_INFO_V1(analytics_catalog_block_size);
PG_FUNCTION_INFO_V1(analytics_catalog_block_origin);

/* the blocks: the per-minute ccv rows and the levels of the rollup tables */
typedef struct BlockDef
{
	const char *level;
	int64		size;			/* microseconds */
	int64		origin;			/* microseconds from 2000-01-01 00:00 UTC */
} BlockDef;

static const BlockDef blocks[] = {
	{"minute", CAT_USECS_PER_MINUTE, 0},
	{"5min", CAT_5MIN_SIZE, 0},
	{"hour", CAT_USECS_PER_HOUR, 0},
	{"day", CAT_USECS_PER_DAY, 0},
	{"week", CAT_WEEK_SIZE, CAT_WEEK_ORIGIN},
	{"w4", CAT_W4_SIZE, CAT_WEEK_ORIGIN},
};

static const BlockDef *
block_def(text *level)
{
	char	   *s = text_to_cstring(level);
	int			i;

	for (i = 0; i < (int) lengthof(blocks); i++)
		if (strcmp(blocks[i].level, s) == 0)
			return &blocks[i];
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown rollup block level: \"%s\"", s),
			 errhint("Valid levels are: minute, 5min, hour, day, week, w4.")));
	return NULL;				/* not reached */
}

/* analytics._dims() RETURNS smallint[]: every dimension of the rollup tables */
Datum
analytics_catalog_dims(PG_FUNCTION_ARGS)
{
	Datum		d[CAT_NDIMS];
	int			i;

	for (i = 0; i < CAT_NDIMS; i++)
		d[i] = Int16GetDatum(catalog_dims[i].number);
	PG_RETURN_ARRAYTYPE_P(construct_array(d, CAT_NDIMS, INT2OID, 2, true, TYPALIGN_SHORT));
}

/*
 * analytics._dim(name text) RETURNS smallint: the number of a dimension,
 * by its REST breakdown name, or "project" (the whole project)
 */
Datum
analytics_catalog_dim(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int			d = strcmp(name, CAT_DIM_PROJECT_NAME) == 0 ? CAT_DIM_PROJECT : catalog_dim_by_breakdown(name);

	if (d < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown rollup dimension: \"%s\"", name)));
	PG_RETURN_INT16(catalog_dims[d].number);
}

/* analytics._block_size(level text) RETURNS interval (hours, minutes: UTC blocks) */
Datum
analytics_catalog_block_size(PG_FUNCTION_ARGS)
{
	const BlockDef *b = block_def(PG_GETARG_TEXT_PP(0));
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = b->size;
	PG_RETURN_INTERVAL_P(iv);
}

/* analytics._block_origin(level text) RETURNS timestamptz: where blocks start */
Datum
analytics_catalog_block_origin(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(block_def(PG_GETARG_TEXT_PP(0))->origin);
}
