/*-------------------------------------------------------------------------
 * callbound.c
 *		A bound on the work of one call of the query functions
 *		(analytics.max_call_time; README, "Querying: the SQL API").
 *
 *		analytics._call_begin() RETURNS boolean
 *			arms a timer of analytics.max_call_time unless one is armed
 *			already (a call inside a call) or the setting is 0; true when
 *			this call armed it (and must disarm it with _call_end).
 *		analytics._call_end(owner boolean, fname text) RETURNS void
 *			disarms the timer of its owner; raises the bound's error when
 *			the timer fired after the last interrupt check.
 *		analytics._call_timed_out(fname text) RETURNS void
 *			called where a query_canceled error is caught: raises the
 *			bound's error (SQLSTATE 53400) when that cancel came from the
 *			timer, returns otherwise (a cancel of the user's: re-raise it).
 *
 *		statement_timeout cannot do this: SET inside a function does not
 *		re-arm the statement's timer.  The timer (a USER_TIMEOUT) asks for a
 *		query cancel like statement_timeout does, so every
 *		CHECK_FOR_INTERRUPTS of the executor stops the call; the callers
 *		(PL/pgSQL) turn that cancel into the bound's error.  A timer armed
 *		in a (sub)transaction that aborts is disarmed with it, so a bound
 *		never outlives its call.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timeout.h"

#include "analytics.h"

PG_FUNCTION_INFO_V1(analytics_call_begin);
PG_FUNCTION_INFO_V1(analytics_call_end);
PG_FUNCTION_INFO_V1(analytics_call_timed_out);

static TimeoutId call_timeout_id = MAX_TIMEOUTS;	/* not registered yet */
static bool call_armed = false;
static SubTransactionId call_armed_subid = InvalidSubTransactionId;
static volatile sig_atomic_t call_fired = false;

/* timeout handler (signal context): ask for a cancel, as statement_timeout does */
static void
call_timeout_handler(void)
{
	call_fired = true;
	QueryCancelPending = true;
	InterruptPending = true;
	SetLatch(MyLatch);
}

static void
call_disarm(void)
{
	if (call_armed)
	{
		disable_timeout(call_timeout_id, false);
		call_armed = false;
		call_armed_subid = InvalidSubTransactionId;
	}
}

static void
call_xact_callback(XactEvent event, void *arg)
{
	call_disarm();
	call_fired = false;
}

static void
call_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && call_armed && mySubid == call_armed_subid)
		call_disarm();
}

static void
call_raise(const char *fname)
{
	char	   *limit = GetConfigOptionByName("analytics.max_call_time", NULL, true);

	call_fired = false;
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("%s stopped: the call exceeded analytics.max_call_time (%s)",
					fname, limit ? limit : "?"),
			 errhint("Ask for a shorter period or fewer buckets, or raise analytics.max_call_time (0 turns the bound off).")));
}

bool
analytics_call_begin_internal(void)
{
	if (call_armed || analytics_max_call_time <= 0)
		return false;
	if (call_timeout_id == MAX_TIMEOUTS)
	{
		call_timeout_id = RegisterTimeout(USER_TIMEOUT, call_timeout_handler);
		RegisterXactCallback(call_xact_callback, NULL);
		RegisterSubXactCallback(call_subxact_callback, NULL);
	}
	call_fired = false;
	call_armed = true;
	call_armed_subid = GetCurrentSubTransactionId();
	enable_timeout_after(call_timeout_id, analytics_max_call_time);
	return true;
}

Datum
analytics_call_begin(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(analytics_call_begin_internal());
}

void
analytics_call_end_internal(bool owner, const char *fname)
{
	if (!owner)
		return;
	call_disarm();
	if (call_fired)
	{
		/* it fired after the last interrupt check: the cancel is ours */
		QueryCancelPending = false;
		call_raise(fname);
	}
}

Datum
analytics_call_end(PG_FUNCTION_ARGS)
{
	bool		owner = !PG_ARGISNULL(0) && PG_GETARG_BOOL(0);
	char	   *fname = PG_ARGISNULL(1) ? "call" : text_to_cstring(PG_GETARG_TEXT_PP(1));

	analytics_call_end_internal(owner, fname);
	PG_RETURN_VOID();
}

/*
 * In the PG_CATCH of a call of C (query.c), as the exception block of the
 * PL/pgSQL callers does: the timer of its owner is disarmed, and a cancel
 * that came from the timer becomes the bound's error; any other error goes
 * on as it is.
 */
void
analytics_call_catch(bool owner, const char *fname)
{
	if (owner)
		call_disarm();
	if (call_fired && geterrcode() == ERRCODE_QUERY_CANCELED)
	{
		FlushErrorState();
		call_raise(fname);
	}
	PG_RE_THROW();
}

Datum
analytics_call_timed_out(PG_FUNCTION_ARGS)
{
	char	   *fname = PG_ARGISNULL(0) ? "call" : text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (call_fired)
		call_raise(fname);
	PG_RETURN_VOID();
}
