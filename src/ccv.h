/*
 * ccv.h - the concurrent-viewer sweep of src/ccv.c for the rollup refresh
 * (src/refresh.c): a series state filled without the aggregate's calls.
 */
#ifndef ANALYTICS_CCV_H
#define ANALYTICS_CCV_H

#include "postgres.h"
#include "datatype/timestamp.h"
#include "utils/uuid.h"

typedef struct CcvState CcvState;

/* cells [bounds[i], bounds[i+1]), i < ncells; bounds must outlive the state */
extern CcvState *analytics_ccv_series_new(MemoryContext cxt, const int64 *bounds, int64 ncells);
/* one interval of a uuid watcher (uuid), a bigint watcher (has_bigint) or a NULL watcher */
extern void analytics_ccv_series_add(MemoryContext cxt, CcvState *state, TimestampTz start, TimestampTz end,
									 const pg_uuid_t *uuid, bool has_bigint, int64 bigint);
/* each cell's peak and average, as analytics._ccv_series gives them */
extern void analytics_ccv_series_values(CcvState *state, int64 *peak, double *average);

#endif							/* ANALYTICS_CCV_H */
