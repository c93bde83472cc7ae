/*-------------------------------------------------------------------------
 * tenancy.c
 *		Tenants and privileges (README, Tenancy): which projects the current
 *		role may read and write, who is an administrator, and the gate in
 *		front of the SECURITY DEFINER functions.  COPY for tenants
 *		(analytics.events_import) is import.c.
 *
 * Grants live in analytics.project_grants (role regrole, project_id), written
 * by analytics.grant_project / revoke_project.  A role may use the projects
 * granted to any role whose privileges it has (has_privs_of_role: itself and
 * the roles it is a member of with INHERIT), like table privileges.
 * Administrators (superusers, members of the owner of analytics.events and
 * members of the role analytics_admin, when that role exists) may use every
 * project.  The setting analytics.project_id narrows the result: with it
 * set, a role may use that one project, if it could use it anyway.
 *
 * analytics._my_projects() returns that list (NULL: every project); the
 * row-level security policies compare project_id with it through an
 * initplan, so it runs once per query.  It is computed in C from a plain
 * scan of analytics.project_grants (no SPI, no search_path, no privilege on
 * that table needed) and cached for the rest of the statement.
 *
 * The SECURITY DEFINER functions cannot tell who called them (inside one,
 * current_user is the owner), so the public administrative functions are a
 * gate in C (analytics_admin_call) that checks the caller with GetUserId()
 * and then calls the SECURITY DEFINER function of the same name with a
 * leading underscore through fmgr (which switches to the owner and pins
 * search_path).  Those underscored functions are not executable by PUBLIC.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "executor/spi.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "analytics.h"

PG_FUNCTION_INFO_V1(analytics_my_projects);
PG_FUNCTION_INFO_V1(analytics_is_admin);
PG_FUNCTION_INFO_V1(analytics_admin_call);
PG_FUNCTION_INFO_V1(analytics_grants_changed);

#define ADMIN_ROLE "analytics_admin"
#define GRANTS_TABLE "project_grants"

/* ---------------------------------------------------------------------
 * administrators
 * --------------------------------------------------------------------- */

static Oid
events_owner(void)
{
	Oid			nsp = get_namespace_oid(ANALYTICS_SCHEMA, true);
	Oid			relid;
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(nsp))
		return InvalidOid;
	relid = get_relname_relid(ANALYTICS_EVENTS, nsp);
	if (!OidIsValid(relid))
		return InvalidOid;
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		return InvalidOid;
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/* superuser, member of the tables' owner, or member of analytics_admin (if it exists) */
bool
analytics_role_is_admin(Oid roleid)
{
	Oid			owner;
	Oid			admin;

	if (superuser_arg(roleid))
		return true;
	owner = events_owner();
	if (OidIsValid(owner) && has_privs_of_role(roleid, owner))
		return true;
	admin = get_role_oid(ADMIN_ROLE, true);
	return OidIsValid(admin) && has_privs_of_role(roleid, admin);
}

/* analytics._is_admin() RETURNS boolean */
Datum
analytics_is_admin(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(analytics_role_is_admin(GetUserId()));
}

/* ---------------------------------------------------------------------
 * the projects of the current role, cached for one statement
 * --------------------------------------------------------------------- */

/* bumped by every change of analytics.project_grants in this backend */
static uint64 grants_generation = 0;
static bool subxact_callback_registered = false;

typedef struct ScopeCache
{
	bool		valid;
	LocalTransactionId lxid;
	TimestampTz stmt_start;
	Oid			userid;
	uint64		generation;
	char	   *setting;		/* NULL: unset */
	bool		all;			/* every project */
	int			n;
	char	  **projects;		/* sorted, distinct */
} ScopeCache;

static ScopeCache scope_cache;
static MemoryContext scope_cxt = NULL;

static void
grants_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	/* a rolled back subtransaction may have changed the grants */
	if (event == SUBXACT_EVENT_ABORT_SUB)
		grants_generation++;
}

static int
cmp_cstring(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static const char *
current_project_setting(void)
{
	if (analytics_project_id == NULL || analytics_project_id[0] == '\0')
		return NULL;
	return analytics_project_id;
}

static bool
scope_cache_hit(Oid userid, const char *setting)
{
	if (!scope_cache.valid)
		return false;
	if (scope_cache.lxid != MY_LXID ||
		scope_cache.stmt_start != GetCurrentStatementStartTimestamp() ||
		scope_cache.userid != userid ||
		scope_cache.generation != grants_generation)
		return false;
	if ((setting == NULL) != (scope_cache.setting == NULL))
		return false;
	return setting == NULL || strcmp(setting, scope_cache.setting) == 0;
}

/* the grants of userid (narrowed by setting) from a scan of analytics.project_grants */
static void
scope_compute(Oid userid, const char *setting)
{
	Oid			nsp;
	Oid			relid;
	Relation	rel;
	TableScanDesc scan;
	TupleTableSlot *slot;
	Snapshot	snap;
	bool		pushed = false;
	int			cap = 8;

	if (scope_cxt == NULL)
		scope_cxt = AllocSetContextCreate(TopMemoryContext, "analytics project scope",
										  ALLOCSET_SMALL_SIZES);
	if (!subxact_callback_registered)
	{
		RegisterSubXactCallback(grants_subxact_callback, NULL);
		subxact_callback_registered = true;
	}
	scope_cache.valid = false;
	MemoryContextReset(scope_cxt);

	scope_cache.setting = setting ? MemoryContextStrdup(scope_cxt, setting) : NULL;
	scope_cache.all = false;
	scope_cache.n = 0;
	scope_cache.projects = NULL;

	if (analytics_role_is_admin(userid))
	{
		if (setting == NULL)
			scope_cache.all = true;
		else
		{
			scope_cache.projects = MemoryContextAlloc(scope_cxt, sizeof(char *));
			scope_cache.projects[0] = scope_cache.setting;
			scope_cache.n = 1;
		}
	}
	else
	{
		nsp = get_namespace_oid(ANALYTICS_SCHEMA, false);
		relid = get_relname_relid(GRANTS_TABLE, nsp);
		if (!OidIsValid(relid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("table analytics.project_grants does not exist"),
					 errhint("Update the extension: ALTER EXTENSION analytics UPDATE.")));

		if (!ActiveSnapshotSet())
		{
			PushActiveSnapshot(GetTransactionSnapshot());
			pushed = true;
		}
		snap = GetActiveSnapshot();

		scope_cache.projects = MemoryContextAlloc(scope_cxt, sizeof(char *) * cap);
		/* on a Citus node: the local shard of the reference table */
		rel = table_open(analytics_citus_local_placement(relid), AccessShareLock);
		if (RelationGetDescr(rel)->natts < 2 ||
			TupleDescAttr(RelationGetDescr(rel), 0)->atttypid != REGROLEOID ||
			TupleDescAttr(RelationGetDescr(rel), 1)->atttypid != TEXTOID)
			elog(ERROR, "analytics.project_grants does not have the expected columns (role regrole, project_id text)");
		slot = table_slot_create(rel, NULL);
		scan = table_beginscan(rel, snap, 0, NULL);
		while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			bool		isnull;
			Oid			role = DatumGetObjectId(slot_getattr(slot, 1, &isnull));
			char	   *project;

			if (isnull || !has_privs_of_role(userid, role))
				continue;
			project = TextDatumGetCString(slot_getattr(slot, 2, &isnull));
			if (isnull || (setting != NULL && strcmp(project, setting) != 0))
				continue;
			if (scope_cache.n == cap)
			{
				cap *= 2;
				scope_cache.projects = repalloc(scope_cache.projects, sizeof(char *) * cap);
			}
			scope_cache.projects[scope_cache.n++] = MemoryContextStrdup(scope_cxt, project);
		}
		table_endscan(scan);
		ExecDropSingleTupleTableSlot(slot);
		table_close(rel, AccessShareLock);
		if (pushed)
			PopActiveSnapshot();

		/*
		 * sorted and distinct (a role may have a project through several
		 * roles)
		 */
		if (scope_cache.n > 1)
		{
			int			i,
						k = 1;

			qsort(scope_cache.projects, scope_cache.n, sizeof(char *), cmp_cstring);
			for (i = 1; i < scope_cache.n; i++)
				if (strcmp(scope_cache.projects[i], scope_cache.projects[k - 1]) != 0)
					scope_cache.projects[k++] = scope_cache.projects[i];
			scope_cache.n = k;
		}
	}

	scope_cache.lxid = MY_LXID;
	scope_cache.stmt_start = GetCurrentStatementStartTimestamp();
	scope_cache.userid = userid;
	scope_cache.generation = grants_generation;
	scope_cache.valid = true;
}

static void
scope_get(void)
{
	Oid			userid = GetUserId();
	const char *setting = current_project_setting();

	if (!scope_cache_hit(userid, setting))
		scope_compute(userid, setting);
}

/* may the current role read and write rows of project? */
bool
analytics_may_use_project(const char *project)
{
	int			i;

	scope_get();
	if (scope_cache.all)
		return true;
	for (i = 0; i < scope_cache.n; i++)
		if (strcmp(scope_cache.projects[i], project) == 0)
			return true;
	return false;
}

/* ERROR 42501 unless the current role may write rows of project */
void
analytics_check_project(const char *project)
{
	const char *setting;

	if (analytics_may_use_project(project))
		return;
	setting = current_project_setting();
	if (setting != NULL && strcmp(setting, project) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for project \"%s\"", project),
				 errdetail("The setting analytics.project_id limits this session to project \"%s\".", setting),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "project_id")));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for project \"%s\"", project),
			 errdetail("Role \"%s\" has not been granted project \"%s\".",
					   GetUserNameFromId(GetUserId(), false), project),
			 errhint("An administrator grants it with analytics.grant_project(role, project_id)."),
			 err_generic_string(PG_DIAG_COLUMN_NAME, "project_id")));
}

/* analytics._my_projects() RETURNS text[]: the projects of the current role, NULL for all */
Datum
analytics_my_projects(PG_FUNCTION_ARGS)
{
	Datum	   *elems;
	int			i;

	scope_get();
	if (scope_cache.all)
		PG_RETURN_NULL();
	elems = palloc(sizeof(Datum) * Max(scope_cache.n, 1));
	for (i = 0; i < scope_cache.n; i++)
		elems[i] = CStringGetTextDatum(scope_cache.projects[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, scope_cache.n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * analytics._my_scope() RETURNS int: 0 every project, 1 exactly one project
 * (analytics._my_project()), 2 any other number (analytics._my_projects()).
 * The policy compares project_id with one text where it can: per row that
 * costs a fraction of "= ANY (array)".
 */
PG_FUNCTION_INFO_V1(analytics_my_scope);
Datum
analytics_my_scope(PG_FUNCTION_ARGS)
{
	scope_get();
	PG_RETURN_INT32(scope_cache.all ? 0 : scope_cache.n == 1 ? 1 : 2);
}

/* analytics._my_project() RETURNS text: the one project of the current role, else NULL */
PG_FUNCTION_INFO_V1(analytics_my_project);
Datum
analytics_my_project(PG_FUNCTION_ARGS)
{
	scope_get();
	if (scope_cache.all || scope_cache.n != 1)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(scope_cache.projects[0]));
}

/* trigger on analytics.project_grants: forget the cached project lists */
Datum
analytics_grants_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "analytics._grants_changed() must be called as a trigger");
	grants_generation++;
	scope_cache.valid = false;
	return PointerGetDatum(NULL);
}

/* ---------------------------------------------------------------------
 * calling a SECURITY DEFINER function of the extension from C
 * --------------------------------------------------------------------- */

/*
 * Look up analytics.<name>(argtypes) into finfo (allocated in cxt).  Called
 * through fmgr, a SECURITY DEFINER function switches to its owner and
 * applies its SET clauses; no EXECUTE privilege is checked: the caller has
 * checked what it must.
 */
void
analytics_lookup_internal(FmgrInfo *finfo, MemoryContext cxt, const char *name,
						  int nargs, const Oid *argtypes)
{
	Oid			nsp = get_namespace_oid(ANALYTICS_SCHEMA, false);
	oidvector  *args = buildoidvector(argtypes, nargs);
	HeapTuple	tup;
	Oid			fnoid;
	bool		secdef;

	tup = SearchSysCache3(PROCNAMEARGSNSP, CStringGetDatum(name), PointerGetDatum(args),
						  ObjectIdGetDatum(nsp));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("function analytics.%s does not exist", name),
				 errhint("Update the extension: ALTER EXTENSION analytics UPDATE.")));
	fnoid = ((Form_pg_proc) GETSTRUCT(tup))->oid;
	secdef = ((Form_pg_proc) GETSTRUCT(tup))->prosecdef;
	ReleaseSysCache(tup);
	if (!secdef)
		elog(ERROR, "function analytics.%s must be SECURITY DEFINER", name);
	fmgr_info_cxt(fnoid, finfo, cxt);
}

typedef struct GateCache
{
	FmgrInfo	inner;
} GateCache;

/*
 * The administrative functions (set_retention, run_maintenance,
 * grant_project, revoke_project): refuse non-administrators with 42501,
 * then run analytics._<same name>(same arguments), a SECURITY DEFINER
 * function with a pinned search_path.
 */
Datum
analytics_admin_call(PG_FUNCTION_ARGS)
{
	GateCache  *gc = (GateCache *) fcinfo->flinfo->fn_extra;
	Oid			fnoid = fcinfo->flinfo->fn_oid;
	int			i;
	Datum		result;

	if (!analytics_role_is_admin(GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function %s", format_procedure(fnoid)),
				 errdetail("Only superusers, the owner of the analytics tables and members of the role \"%s\" may call it; role \"%s\" is none of them.",
						   ADMIN_ROLE, GetUserNameFromId(GetUserId(), false)),
				 errhint("Ask an administrator.")));

	if (gc == NULL)
	{
		HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fnoid));
		Form_pg_proc p;
		char	   *inner;

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for function %u", fnoid);
		p = (Form_pg_proc) GETSTRUCT(tup);
		inner = psprintf("_%s", NameStr(p->proname));
		gc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(GateCache));
		analytics_lookup_internal(&gc->inner, fcinfo->flinfo->fn_mcxt, inner,
								  p->pronargs, p->proargtypes.values);
		ReleaseSysCache(tup);
		fcinfo->flinfo->fn_extra = gc;
	}

	if (gc->inner.fn_strict)
		for (i = 0; i < PG_NARGS(); i++)
			if (PG_ARGISNULL(i))
				PG_RETURN_NULL();

	{
		LOCAL_FCINFO(inner, FUNC_MAX_ARGS);

		InitFunctionCallInfoData(*inner, &gc->inner, PG_NARGS(), PG_GET_COLLATION(), NULL, NULL);
		for (i = 0; i < PG_NARGS(); i++)
			inner->args[i] = fcinfo->args[i];
		result = FunctionCallInvoke(inner);
		fcinfo->isnull = inner->isnull;
	}
	return result;
}
