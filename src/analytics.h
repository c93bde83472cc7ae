/*-------------------------------------------------------------------------
 * analytics.h
 *		Shared declarations of the analytics extension.
 *-------------------------------------------------------------------------
 */
#ifndef ANALYTICS_H
#define ANALYTICS_H

#include "postgres.h"
#include "datatype/timestamp.h"
#include "utils/timestamp.h"
#include "storage/dsm.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"
#include "nodes/pg_list.h"

#include "pgcompat.h"

#define ANALYTICS_SCHEMA "analytics"
#define ANALYTICS_EVENTS "events"

/*
 * this backend's local transaction id (PGPROC keeps it in vxid from 17 on);
 * the includer includes storage/proc.h
 */
#if PG_VERSION_NUM >= 170000
#define MY_LXID (MyProc->vxid.lxid)
#else
#define MY_LXID (MyProc->lxid)
#endif
#define ANALYTICS_DEFAULT_PARTITION "events_default"

/* days between 1970-01-01 and 2000-01-01 (the PostgreSQL epoch) */
#define UNIX_TO_PG_DAYS 10957

/*
 * The accepted range of analytics.events.emitted_at (README: Data model):
 * from 1970-01-01 00:00:00+00 (inclusive) to 10000-01-01 00:00:00+00
 * (exclusive), as PostgreSQL timestamps (microseconds since 2000-01-01).
 * Every part of the extension handles it: four-digit years in partition
 * names and JSON, day/week/28-day blocks whose ends are valid timestamps.
 */
#define ANALYTICS_EMITTED_AT_MIN ((TimestampTz) -10957 * USECS_PER_DAY)
#define ANALYTICS_EMITTED_AT_END ((TimestampTz) 2921940 * USECS_PER_DAY)
#define ANALYTICS_EMITTED_AT_MIN_TEXT "1970-01-01 00:00:00+00"
#define ANALYTICS_EMITTED_AT_END_TEXT "10000-01-01 00:00:00+00"

/* advisory lock key held by a running maintenance (per database) */
#define ANALYTICS_LOCK_CLASSID 0x616e61 /* "ana" */
#define ANALYTICS_LOCK_OBJID   1
/* held (session level) by a session restoring a dump: maintenance skips the
 * database meanwhile (README "Backup and restore") */
#define ANALYTICS_RESTORE_LOCK_OBJID 9
extern bool analytics_restore_in_progress(void);
extern void analytics_restore_lock_release(void);

/* GUCs (analytics.c) */
extern int	analytics_maintenance_interval; /* seconds */
extern char *analytics_maintenance_databases;
extern int	analytics_premake_days;
extern int	analytics_maintenance_lock_timeout; /* ms */
extern bool analytics_maintenance_in_worker;
extern char *analytics_project_id;
extern int	analytics_max_ping_bytes;
extern int	analytics_max_ping_events;
extern int	analytics_max_batch_pings;
extern int	analytics_max_batch_bytes;
extern int	analytics_session_idle_timeout; /* seconds */
extern char *analytics_uap_regexes;
extern char *analytics_geoip_database;	/* path of a MaxMind DB file, or "" */
extern bool analytics_use_rollups;
extern int	analytics_rollup_refresh_hours;
extern int	analytics_refresh_workers;	/* background workers of a rollup refresh */
extern int	analytics_max_call_time;	/* ms, 0: no bound */

/* brinskip.c */
extern void analytics_brinskip_heap_insert(void);
extern void analytics_brinskip_patch(Relation rel);

/* rollup.c */
extern bool analytics_rollup_tracking_suspended;
extern void analytics_rollup_init(void);

/*
 * The rows an incremental refresh reads (src/refreshdelta.c): while
 * analytics_scan_filter is set, scans of the events partitions return, of
 * the rows in the filter's incremental hours, only those inserted under
 * one of its transaction ids (sorted); rows of other hours are returned
 * as they are. A row of such a transaction that is frozen cannot be told
 * from an older row whose id was reused: its hour is flagged (ambiguous)
 * and the caller aggregates that hour again whole.
 */
typedef struct AnalyticsScanFilter
{
	int			nhours;
	TimestampTz *hours;			/* sorted */
	bool	   *incremental;	/* per hour */
	bool	   *marked;			/* per hour: the refresh consumed marks of it */
	int			nincremental;
	bool	   *ambiguous;		/* per hour, set by the scans */
	int			nxids;
	TransactionId *xids;		/* per hour, sorted */
	int		   *xid_start;		/* hour i's: xids[xid_start[i] .. xid_start[i + 1]) */
	/*
	 * the relations and first blocks the new rows went to (when every mark
	 * said); with skip_blocks the scans read no other block
	 */
	bool		blocks_known;
	bool		skip_blocks;
	int			nrels;
	Oid		   *rels;
	Oid		   *relnodes;
	uint32	   *first_blocks;
	uint64		skipped;		/* rows left out */
	uint64		skipped_blocks;
} AnalyticsScanFilter;
extern AnalyticsScanFilter *analytics_scan_filter;
extern void analytics_rollup_note_rewrite(TimestampTz hour);

/* refreshdelta.c */
extern Datum analytics_hours_array(const TimestampTz *hours, int n);
extern int	analytics_ts_cmp(const void *a, const void *b);
extern Snapshot analytics_refresh_snapshot(void);
extern void analytics_note_watch_starts(const TimestampTz *hours, int n, const bool *found, const TimestampTz *mins);
extern bool analytics_watch_start(TimestampTz h, bool *found, TimestampTz *min);
extern Size analytics_refresh_snapshot_space(void);
extern void analytics_refresh_snapshot_serialize(char *addr);
extern void analytics_refresh_snapshot_restore(char *addr);
extern bool analytics_refresh_snapshot_blocks_workers(void);
extern AnalyticsScanFilter *analytics_delta_plan(const TimestampTz *hours, int n, text *pid, const char *schema);

/* parameters of one maintenance run */
typedef struct MaintenanceParams
{
	int			premake_days;
	int			lock_timeout_ms;
	int			session_idle_timeout_s;
	int			rollup_refresh_hours;
} MaintenanceParams;

/* maintenance.c */
/* the retention setting (default 30 days); caller connected to SPI */
extern Interval *analytics_read_retention(void);

/* *noteworthy (may be NULL): the run did or deferred something, or was skipped */
extern char *analytics_maintenance_run(const MaintenanceParams *params, bool commit_per_step,
									   bool *noteworthy);

/* worker.c */
extern void analytics_register_launcher(void);
extern char *analytics_maintenance_in_background(const MaintenanceParams *params,
												 bool *started);

/* tenancy.c */
#include "fmgr.h"

/*
 * The memory context of the aggregate an aggregate support function runs
 * in (analytics.c); outside an aggregate: ERROR 0A000 "<fname> called in
 * non-aggregate context".
 */
extern MemoryContext analytics_aggregate_context(FunctionCallInfo fcinfo, const char *fname);

/* stats.c: one event into the 17 elements of event_stats (as its transition) */
extern void analytics_event_stats_add(float8 *v, int idx, bool value_isnull, float8 value);
/* stats.c: the element of an event_type (enum OID); cached in fcinfo's fn_extra */
extern int	analytics_event_type_index(FunctionCallInfo fcinfo, Oid enumoid);

extern bool analytics_role_is_admin(Oid roleid);
extern bool analytics_may_use_project(const char *project);

/* ERROR 42501 unless the current role may use project */
extern void analytics_check_project(const char *project);
extern void analytics_lookup_internal(FmgrInfo *finfo, MemoryContext cxt, const char *name,
									  int nargs, const Oid *argtypes);

/* keptquery.c: runs sql through its kept statement (caller connected to SPI) */
#include "tcop/dest.h"
extern uint64 analytics_kept_run(const char *sql, int nargs, const Oid *types, const Datum *values,
								 const bool *nulls, bool generic, DestReceiver *dest);

/* callbound.c: the bound of one call (analytics.max_call_time) */
extern bool analytics_call_begin_internal(void);
extern void analytics_call_end_internal(bool owner, const char *fname);

/* in PG_CATCH of a call: disarms, raises the bound's error or re-throws */
pg_noreturn extern void analytics_call_catch(bool owner, const char *fname);

/* plan.c: the PostgreSQL side of the period cover (cover.c) */
struct CoverPiece;

/* citus.c: the shards of a Citus cluster (README, "Scaling out") */
extern bool analytics_citus_installed(void);
extern bool analytics_citus_distributed(void);
extern TimestampTz *analytics_rollup_own_pending_hours(int *n);
extern void analytics_query_init(void);
extern TimestampTz *analytics_pending_hours(Datum marks, bool marks_null, TimestampTz lo, TimestampTz hi, int *n);
extern Oid	analytics_citus_local_placement(Oid relid);
extern Oid	analytics_citus_colocated_shard(Relation rel, const char *target);

/* a table co-located with analytics.events and one project's shard of it */
typedef struct AnalyticsShard
{
	const char *table;			/* the table's name */
	const char *shard;			/* its shard's name, quoted */
} AnalyticsShard;
extern List *analytics_citus_project_shards(const char *project);

extern int	analytics_cover_level(const char *name);
extern Datum analytics_cover_ts_array(const struct CoverPiece *p, int n, int level, int sign, bool upper);

/*
 * splitmix64's finalizer: spreads 64-bit keys over a hash table's slots
 * (viewer ids in viewers.c, watcher keys in ccv.c)
 */
static inline uint64
analytics_mix64(uint64 x)
{
	x ^= x >> 30;
	x *= UINT64CONST(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64CONST(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

/* sets of viewer ids (viewers.c), for the refresh's pass (refresh.c) */
typedef struct ViewerSet ViewerSet;
extern ViewerSet *analytics_viewer_set_new(MemoryContext cxt);
extern void analytics_viewer_set_add(ViewerSet *s, int64 v);
extern struct ArrayType *analytics_viewer_set_array(ViewerSet *s);

/* the groups of a result of analytics._value_sums (valuesums.c), for query.c */
typedef void (*AnalyticsValueSumVisit) (void *arg, const char *key, uint32 len, float8 sum);
extern uint32 analytics_value_sums_count(text *state);
extern void analytics_value_sums_visit(text *state, AnalyticsValueSumVisit fn, void *arg);

#endif							/* ANALYTICS_H */
