/*
 * test_ping.c - unit tests for src/ping.c (the player-ping normalizer).
 *
 * Build and run (from the repository root):
 *   gcc -std=c99 -O1 -g -Wall -Wextra -Werror \
 *       -fsanitize=address,undefined -fno-omit-frame-pointer \
 *       -Isrc -o /tmp/test_ping test/unit/test_ping.c src/ping.c -lm && /tmp/test_ping
 * or: make test/unit/test_ping && ./test/unit/test_ping
 *
 * Scripted sessions: every call below sends ONE ping and compares the events
 * it emits, rendered as "type@t" or "type@t=value" (t = seconds after the
 * test epoch B, value as emitted), with the expectation computed by hand in
 * the comments.  Then a randomized property test (deterministic PRNG).
 *
 * Prints exactly one line "ping: N passed, M failed"; exit status 1 if M > 0.
 */
#include "ping.h"
#include "unit.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* test epoch: 2024-05-29 11:00:00 UTC as PostgreSQL TimestampTz (us since 2000) */
#define B INT64_C(770223600000000)
#define US(t) (B + (int64_t) llround((t) * 1e6))
#define DAY_US INT64_C(86400000000)

/* a playback: its state, its loaded_at, the clocks, the last result */
typedef struct
{
    ping_state  st;
    int64_t     loaded_at;
    int64_t     now;
    int64_t     oldest;
    size_t      max_events;
    ping_output out;
    ping_out_event buf[PING_OUTPUT_MAX(PING_MAX_EVENTS + 1)];
    int         rc;
    char        err[256];
    char        text[8192];
} pb;

static void
pb_init(pb *p, double loaded_t)
{
    memset(p, 0, sizeof *p);
    p->loaded_at = US(loaded_t);
    p->now = B + DAY_US;
    p->oldest = B - 30 * DAY_US;
}

static const char *
render(const ping_output *o, char *buf, size_t size)
{
    size_t      len = 0;
    size_t      i;

    buf[0] = '\0';
    for (i = 0; i < o->n && len < size; i++)
    {
        const ping_out_event *e = &o->ev[i];

        len += (size_t) snprintf(buf + len, size - len, "%s%s@%.10g", i ? " " : "",
                                 ping_out_type_name(e->type),
                                 (double) (e->emitted_at_us - B) / 1e6);
        if (e->has_value && len < size)
            len += (size_t) snprintf(buf + len, size - len, "=%.10g", e->value);
    }
    return buf;
}

/* send one ping at ping_t (seconds after B); returns the rendered output, or
 * "ERROR <message>" */
static const char *
run_us(pb *p, int64_t ping_us, const ping_event *evs, size_t n)
{
    ping_input  in;

    in.emitted_at_us = ping_us;
    in.loaded_at_us = p->loaded_at;
    in.nevents = n;
    in.events = evs;
    in.max_events = p->max_events;
    p->out.ev = p->buf;
    p->out.cap = sizeof p->buf / sizeof p->buf[0];
    p->rc = ping_normalize(&p->st, &in, p->now, p->oldest, &p->out, p->err,
                           sizeof p->err);
    if (p->rc != 0)
    {
        snprintf(p->text, sizeof p->text, "ERROR %s", p->err);
        return p->text;
    }
    CHECK_STR(p->err, "");
    return render(&p->out, p->text, sizeof p->text);
}

static const char *
run(pb *p, double ping_t, const ping_event *evs, size_t n)
{
    return run_us(p, US(ping_t), evs, n);
}

#define EVS(...) (const ping_event[]){__VA_ARGS__}
#define NEVS(...) (sizeof(EVS(__VA_ARGS__)) / sizeof(ping_event))
#define PING(p, t, ...) run((p), (t), EVS(__VA_ARGS__), NEVS(__VA_ARGS__))
#define HB(p, t) run((p), (t), NULL, 0)

/* events: E(kind, t, at) with at = NAN when absent; seeks */
#define E(kind, t, at) {US(t), (kind), (at), NAN, NAN}
#define READY(t, at) E(PING_READY, t, at)
#define PLAY(t, at) E(PING_PLAY, t, at)
#define RESUME(t, at) E(PING_RESUME, t, at)
#define PAUSE(t, at) E(PING_PAUSE, t, at)
#define END(t, at) E(PING_END, t, at)
#define SEEKF(t, f, to_) {US(t), PING_SEEK_FORWARD, NAN, (f), (to_)}
#define SEEKB(t, f, to_) {US(t), PING_SEEK_BACKWARD, NAN, (f), (to_)}

/* counters of the last call: "old/future/replayed/ignored" */
static const char *
counters(const pb *p)
{
    static char buf[64];

    snprintf(buf, sizeof buf, "%d/%d/%d/%d", p->out.dropped_old,
             p->out.dropped_future, p->out.skipped_replayed, p->out.ignored);
    return buf;
}

/* ------------------------------------------------------------------------ */

static void
test_names(void)
{
    ping_event_kind k = PING_READY;

    CHECK_INT(sizeof(ping_state), PING_STATE_SIZE);
    CHECK_STR(ping_out_type_name(EV_IMPRESSION), "impression");
    CHECK_STR(ping_out_type_name(EV_PLAY), "play");
    CHECK_STR(ping_out_type_name(EV_START), "start");
    CHECK_STR(ping_out_type_name(EV_END), "end");
    CHECK_STR(ping_out_type_name(EV_RESUME), "resume");
    CHECK_STR(ping_out_type_name(EV_PAUSE), "pause");
    CHECK_STR(ping_out_type_name(EV_SEEK), "seek");
    CHECK_STR(ping_out_type_name(EV_WATCH), "watch");
    CHECK_STR(ping_out_type_name(EV_VIEW), "view");
    CHECK_STR(ping_out_type_name((ping_out_type) 9), "?");
    CHECK_STR(ping_out_type_name((ping_out_type) -1), "?");
    CHECK_STR(ping_event_kind_name(PING_SEEK_BACKWARD), "seek.backward");
    CHECK_STR(ping_event_kind_name((ping_event_kind) 7), "?");

    CHECK_INT(ping_event_kind_from_name("seek.forward", 12, &k), 0);
    CHECK_INT(k, PING_SEEK_FORWARD);
    CHECK_INT(ping_event_kind_from_name("ready", 5, &k), 0);
    CHECK_INT(k, PING_READY);
    CHECK_INT(ping_event_kind_from_name("resumeX", 6, &k), 0);   /* length-bounded */
    CHECK_INT(k, PING_RESUME);
    CHECK_INT(ping_event_kind_from_name("Play", 4, &k), -1);
    CHECK_INT(ping_event_kind_from_name("seek", 4, &k), -1);
    CHECK_INT(ping_event_kind_from_name("", 0, &k), -1);
    CHECK_INT(ping_event_kind_from_name(NULL, 3, &k), -1);
    CHECK_INT(k, PING_RESUME);      /* untouched on failure */
}

/* the whole life of a playback, one event per ping */
static void
test_basic_session(void)
{
    pb          p;

    pb_init(&p, 0);
    /* ready 1.2 s after load: impression value 1200 ms */
    CHECK_STR(PING(&p, 1.5, READY(1.2, 0)), "impression@1.2=1200");
    CHECK_STR(PING(&p, 2, PLAY(2, 0)), "play@2");
    /* pause at 10 s: progress 10 > 0 -> start first; credit 10 - 0 - 0 = 10,
     * crossing 3, 5 and 10 */
    CHECK_STR(PING(&p, 12, PAUSE(12, 10)),
              "start@12 watch@12=10 view@12=3 view@12=5 view@12=10 pause@12");
    CHECK_STR(PING(&p, 20, RESUME(20, 10)), "resume@20");
    /* end at 35: credit 35 - 10 = 25, cumulative 35 crosses 30 */
    CHECK_STR(PING(&p, 45, END(45, 35)), "watch@45=25 view@45=30 end@45");
    CHECK(p.st.watched_s == 35.0);
    /* teardown pause after end: stored, credits nothing */
    CHECK_STR(PING(&p, 46, PAUSE(46, 35)), "pause@46");
    /* late heartbeat: nothing */
    CHECK_STR(HB(&p, 50), "");
    CHECK_STR(counters(&p), "0/0/0/0");
    CHECK(p.st.watched_s == 35.0);
}

/* the brief's example: heartbeats then a pause, watch counted once */
static void
test_heartbeats_then_pause(void)
{
    pb          p;

    pb_init(&p, 0);
    CHECK_STR(PING(&p, 0, PLAY(0, 0)), "play@0");
    /* heartbeat while playing: start, then 10 s of wall time */
    CHECK_STR(HB(&p, 10), "start@10 watch@10=10 view@10=3 view@10=5 view@10=10");
    CHECK_STR(HB(&p, 20), "watch@20=10");
    /* pause at 24.0: 24 - 0 - 20 credited = 4; total 24 */
    CHECK_STR(PING(&p, 25, PAUSE(25, 24.0)), "watch@25=4 pause@25");
    CHECK(p.st.watched_s == 24.0);
    /* heartbeats while paused credit nothing */
    CHECK_STR(HB(&p, 30), "");
    CHECK(p.st.watched_s == 24.0);
}

/* a heartbeat credits at most 30 s, and the closing credit at most the wall
 * time since the last credit: the time beyond a capped heartbeat's 30 s is
 * lost; stalls make the total max(progress, wall) */
static void
test_heartbeat_cap(void)
{
    pb          p;

    pb_init(&p, 0);
    CHECK_STR(PING(&p, 0, PLAY(0, 0)), "play@0");
    /* 45 s since the play, capped to 30: crosses all four thresholds */
    CHECK_STR(HB(&p, 45),
              "start@45 watch@45=30 view@45=3 view@45=5 view@45=10 view@45=30");
    /* 5 s since the last heartbeat (not since the play) */
    CHECK_STR(HB(&p, 50), "watch@50=5");
    /* pause at 60, playhead at 58: the rest of the progress is 58 - 0 - 35
     * = 23, but only 10 s of wall time passed since the last credit (the
     * heartbeat at 50): 10; total 45 (the 15 s before the capped heartbeat
     * at 45 are not credited: its interval [15, 45] is all it covers) */
    CHECK_STR(PING(&p, 60, PAUSE(60, 58)), "watch@60=10 pause@60");
    CHECK(p.st.watched_s == 45.0);

    /* stall: heartbeats credited 20 s of wall time, the playhead moved 12 s:
     * the closing credit 12 - 20 < 0 -> nothing; the total stays 20 */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 0, PLAY(0, 100)), "play@0");
    CHECK_STR(HB(&p, 10), "start@10 watch@10=10 view@10=3 view@10=5 view@10=10");
    CHECK_STR(HB(&p, 20), "watch@20=10");
    CHECK_STR(PING(&p, 21, PAUSE(21, 112)), "pause@21");
    CHECK(p.st.watched_s == 20.0);
}

/* a reloaded page = a new playback (new loaded_at, zeroed state) */
static void
test_page_reload(void)
{
    pb          a;
    pb          b;
    ping_state  saved;

    pb_init(&a, 0);
    CHECK_STR(PING(&a, 3, READY(0.5, NAN), PLAY(1, 0), PAUSE(3, 2)),
              "impression@0.5=500 play@1 start@3 watch@3=2 pause@3");
    /* the same session id comes back with loaded_at = 10 s: new state */
    pb_init(&b, 10);
    CHECK_STR(PING(&b, 13, READY(10.25, 0), PLAY(11, 0), PAUSE(13, 2)),
              "impression@10.25=250 play@11 start@13 watch@13=2 pause@13");
    /* the old state with the new loaded_at is a wrapper bug: rejected */
    saved = a.st;
    a.loaded_at = US(10);
    CHECK_STR(HB(&a, 20), "ERROR session.loaded_at: does not match the playback state");
    CHECK(memcmp(&saved, &a.st, sizeof saved) == 0);
}

/* end and pause with nothing playing, second end ignored */
static void
test_end_and_teardown(void)
{
    pb          p;

    pb_init(&p, 0);
    CHECK_STR(PING(&p, 6, PLAY(0, 0), PAUSE(5, 5), END(6, 5)),
              "play@0 start@5 watch@5=5 view@5=3 view@5=5 pause@5 end@6");
    CHECK(p.st.flags & PING_F_ENDED);
    CHECK_STR(PING(&p, 7, PAUSE(7, 5)), "pause@7");
    CHECK_STR(PING(&p, 8, END(8, 5)), "");
    CHECK_STR(counters(&p), "0/0/0/1");

    /* end while playing, then the player's teardown pause in the same ping */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 1, PLAY(1, 0)), "play@1");
    CHECK_STR(PING(&p, 10, END(9, 8), PAUSE(9.5, 8)),
              "start@9 watch@9=8 view@9=3 view@9=5 end@9 pause@9.5");
    CHECK_STR(counters(&p), "0/0/0/0");
}

/* a ping after the playback ended credits nothing */
static void
test_after_end(void)
{
    pb          p;

    pb_init(&p, 0);
    CHECK_STR(PING(&p, 4, PLAY(0, 0), END(4, 4)),
              "play@0 start@4 watch@4=4 view@4=3 end@4");
    CHECK_STR(HB(&p, 10), "");
    /* replay after the end: stored as resume, but opens no stretch */
    CHECK_STR(PING(&p, 11, PLAY(11, 0)), "resume@11");
    CHECK_STR(HB(&p, 20), "");
    CHECK_STR(PING(&p, 30, SEEKF(25, 14, 20), PAUSE(30, 25)), "seek@25 pause@30");
    CHECK(p.st.watched_s == 4.0);
    CHECK_INT(p.st.views_done, 1);
}

/* views: crossed one by one by heartbeats, exact threshold, and several by
 * one closing credit */
static void
test_views(void)
{
    pb          p;

    pb_init(&p, 0);
    CHECK_STR(PING(&p, 0, PLAY(0, 0)), "play@0");
    CHECK_STR(HB(&p, 3), "start@3 watch@3=3 view@3=3");     /* exactly 3 */
    CHECK_STR(HB(&p, 5), "watch@5=2 view@5=5");             /* 5 */
    CHECK_STR(HB(&p, 9), "watch@9=4");                      /* 9 */
    CHECK_STR(HB(&p, 10), "watch@10=1 view@10=10");         /* 10 */
    CHECK_STR(HB(&p, 29.5), "watch@29.5=19.5");             /* 29.5 */
    /* pause at 31: 31 - 29.5 = 1.5, cumulative 31 */
    CHECK_STR(PING(&p, 31, PAUSE(31, 31)), "watch@31=1.5 view@31=30 pause@31");
    CHECK_INT(p.st.views_done, 15);
    /* more watching never repeats a view */
    CHECK_STR(PING(&p, 70, RESUME(32, 31), PAUSE(70, 69)),
              "resume@32 watch@70=38 pause@70");

    /* one closing credit crossing all four thresholds, in threshold order */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 40, PLAY(0, 0), PAUSE(40, 40)),
              "play@0 start@40 watch@40=40 view@40=3 view@40=5 view@40=10 view@40=30 pause@40");

    /* just below a threshold: no view; cumulative over several stretches */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 3, PLAY(0, 0), PAUSE(3, 2.999)),
              "play@0 start@3 watch@3=2.999 pause@3");
    CHECK_STR(PING(&p, 4, RESUME(3.5, 2.999), PAUSE(4, 3)),
              "resume@3.5 watch@4=0.001 view@4=3 pause@4");
}

/* events out of order inside a ping; equal timestamps keep the ping's order */
static void
test_out_of_order(void)
{
    pb          p;

    pb_init(&p, 0);
    /* sorted: ready@1, play@2, pause@12 */
    CHECK_STR(PING(&p, 15, PAUSE(12, 10), PLAY(2, 0), READY(1, 0)),
              "impression@1=1000 play@2 start@12 watch@12=10 view@12=3 view@12=5 view@12=10 pause@12");

    /* same timestamp, play listed first: play then pause, no progress */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 5, PLAY(5, 0), PAUSE(5, 0)), "play@5 pause@5");
    CHECK_STR(HB(&p, 8), "");

    /* same timestamp, pause listed first: pause (nothing playing) then play */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 5, PAUSE(5, 0), PLAY(5, 0)), "pause@5 play@5");
    CHECK_STR(HB(&p, 8), "start@8 watch@8=3 view@8=3");

    /* mixed: equal timestamps around a later and an earlier event */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 9, PAUSE(9, 4), READY(1, NAN), PLAY(3, 0), RESUME(3, 0)),
              "impression@1=1000 play@3 resume@3 start@9 watch@9=4 view@9=3 pause@9");
}

/* a replayed ping emits nothing */
static void
test_replay(void)
{
    pb          p;
    ping_state  before;

    pb_init(&p, 0);
    CHECK_STR(PING(&p, 12, READY(1, 0), PLAY(2, 0), PAUSE(12, 10)),
              "impression@1=1000 play@2 start@12 watch@12=10 view@12=3 view@12=5 view@12=10 pause@12");
    before = p.st;
    CHECK_STR(PING(&p, 12, READY(1, 0), PLAY(2, 0), PAUSE(12, 10)), "");
    CHECK_STR(counters(&p), "0/0/3/0");
    CHECK(memcmp(&before, &p.st, sizeof before) == 0);

    /* a resent pause with a new resume: only the resume counts */
    CHECK_STR(PING(&p, 20, PAUSE(12, 10), RESUME(20, 10)), "resume@20");
    CHECK_STR(counters(&p), "0/0/1/0");
    /* a replayed heartbeat */
    CHECK_STR(HB(&p, 25), "watch@25=5");
    CHECK_STR(HB(&p, 25), "");
    CHECK_STR(counters(&p), "0/0/1/0");
    /* an older heartbeat, delivered late */
    CHECK_STR(HB(&p, 24), "");
    CHECK_STR(counters(&p), "0/0/1/0");
    CHECK_STR(PING(&p, 30, PAUSE(30, 15)), "pause@30");    /* 15 - 10 - 5 = 0 */
    CHECK(p.st.watched_s == 15.0);
}

/* live streams: positions absent (NAN) -> wall clock, capped like heartbeats */
static void
test_live(void)
{
    pb          p;

    pb_init(&p, 0);
    CHECK_STR(PING(&p, 0, READY(0, NAN), PLAY(0, NAN)), "impression@0=0 play@0");
    CHECK_STR(HB(&p, 10), "start@10 watch@10=10 view@10=3 view@10=5 view@10=10");
    CHECK_STR(HB(&p, 20), "watch@20=10");
    /* pause without position: 5 s of wall time since the last heartbeat */
    CHECK_STR(PING(&p, 25, PAUSE(25, NAN)), "watch@25=5 pause@25");
    CHECK(p.st.watched_s == 25.0);

    /* no heartbeat for 100 s: the closing credit is capped at 30 s; the start
     * is seen from the wall clock (100 s after the play) */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 100, PLAY(0, NAN), PAUSE(100, NAN)),
              "play@0 start@100 watch@100=30 view@100=3 view@100=5 view@100=10 view@100=30 pause@100");

    /* play and pause at the same instant without positions: no start */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 1, PLAY(1, NAN), PAUSE(1, NAN)), "play@1 pause@1");

    /* a live player reporting at = 0 everywhere: positions are "known", so
     * the closing credit is 0 - 0 - 10 < 0 -> nothing; heartbeats count */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 0, PLAY(0, 0)), "play@0");
    CHECK_STR(HB(&p, 10), "start@10 watch@10=10 view@10=3 view@10=5 view@10=10");
    CHECK_STR(PING(&p, 15, PAUSE(15, 0)), "pause@15");
    CHECK(p.st.watched_s == 10.0);

    /* start position absent, end position known: wall clock */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 12, PLAY(0, NAN), PAUSE(12, 500)),
              "play@0 start@12 watch@12=12 view@12=3 view@12=5 view@12=10 pause@12");
}

/* seeks during play: the jump is never counted */
static void
test_seeks(void)
{
    pb          p;

    pb_init(&p, 0);
    CHECK_STR(PING(&p, 0, PLAY(0, 0)), "play@0");
    /* seek 10 -> 100 at 10 s: closes at 10 (credit 10, start since 10 > 0),
     * reopens at 100 */
    CHECK_STR(PING(&p, 10, SEEKF(10, 10, 100)),
              "start@10 watch@10=10 view@10=3 view@10=5 view@10=10 seek@10");
    CHECK_STR(HB(&p, 15), "watch@15=5");
    /* seek back 108 -> 50: (108 - 100) - 5 = 3; cumulative 18 */
    CHECK_STR(PING(&p, 20, SEEKB(20, 108, 50)), "watch@20=3 seek@20");
    /* pause at 60: 60 - 50 = 10; cumulative 28 = 10 + 8 + 10 */
    CHECK_STR(PING(&p, 30, PAUSE(30, 60)), "watch@30=10 pause@30");
    CHECK(p.st.watched_s == 28.0);
    /* seek while paused: just a seek; resume at the target is not progress
     * (start was already emitted anyway) */
    CHECK_STR(PING(&p, 32, SEEKF(31, 60, 90), RESUME(32, 90)), "seek@31 resume@32");
    /* end at 98: 8, cumulative 36 crosses 30 */
    CHECK_STR(PING(&p, 40, END(40, 98)), "watch@40=8 view@40=30 end@40");
    CHECK(p.st.watched_s == 36.0);

    /* a seek right after the play (from = play position) is not progress */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 0.5, PLAY(0, 0), SEEKF(0.5, 0, 50)), "play@0 seek@0.5");
    CHECK_STR(PING(&p, 5.5, PAUSE(5.5, 55)),
              "start@5.5 watch@5.5=5 view@5.5=3 view@5.5=5 pause@5.5");

    /* seek backward over what heartbeats credited: never negative */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 0, PLAY(0, 20)), "play@0");
    CHECK_STR(HB(&p, 10), "start@10 watch@10=10 view@10=3 view@10=5 view@10=10");
    /* seek from 25 (only 5 s of progress, 10 credited): rest 0 */
    CHECK_STR(PING(&p, 11, SEEKB(11, 25, 0)), "seek@11");
    CHECK_STR(PING(&p, 15, PAUSE(15, 4)), "watch@15=4 pause@15");
    CHECK(p.st.watched_s == 14.0);
}

/* play/resume while already playing closes the stretch first */
static void
test_play_while_playing(void)
{
    pb          p;

    pb_init(&p, 0);
    CHECK_STR(PING(&p, 15, PLAY(0, 0), RESUME(10, 10), PAUSE(15, 15)),
              "play@0 start@10 watch@10=10 view@10=3 view@10=5 view@10=10 resume@10 watch@15=5 pause@15");
    /* a second play is a resume */
    CHECK_STR(PING(&p, 20, PLAY(20, 15)), "resume@20");
}

/* events too old or too far in the future are dropped and counted */
static void
test_dropped(void)
{
    pb          p;

    pb_init(&p, 0);
    p.now = US(1000);
    p.oldest = US(0);
    /* ready at -10: old; play at 0 = oldest: kept; pause 1 h + 1 s after
     * now: future (it would close the stretch); pause at now + 1 h: kept */
    CHECK_STR(PING(&p, 0, READY(-10, 0), PLAY(0, 0), PAUSE(4601, 3)),
              "play@0");
    CHECK_STR(counters(&p), "1/1/0/0");
    CHECK(p.st.last_ts_us == US(0));         /* the future event did not advance it */
    CHECK(p.st.flags & PING_F_PLAYING);
    /* so an in-range pause later is processed normally */
    CHECK_STR(PING(&p, 10, PAUSE(10, 10)),
              "start@10 watch@10=10 view@10=3 view@10=5 view@10=10 pause@10");
    CHECK_STR(counters(&p), "0/0/0/0");
    /* exactly now + 1 h is accepted */
    CHECK_STR(PING(&p, 4600, RESUME(4600, 10)), "resume@4600");
    /* heartbeats too */
    CHECK_STR(HB(&p, -5), "");
    CHECK_STR(counters(&p), "1/0/0/0");
    CHECK_STR(HB(&p, 4600.000001), "");
    CHECK_STR(counters(&p), "0/1/0/0");
    /* an old replayed event is counted as old (checked first) */
    CHECK_STR(PING(&p, 4600, PLAY(-1, 0), PLAY(0, 0)), "");
    CHECK_STR(counters(&p), "1/0/1/0");
}

/* start: progress event vs heartbeat, never before the play, once */
static void
test_start_rules(void)
{
    pb          p;

    /* pause at the play position: no progress, no start */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 1, PLAY(0, 5), PAUSE(1, 5)), "play@0 pause@1");
    CHECK_STR(PING(&p, 4, RESUME(2, 5), PAUSE(4, 7)), "resume@2 start@4 watch@4=2 pause@4");
    CHECK_STR(PING(&p, 9, RESUME(6, 7), PAUSE(9, 10)), "resume@6 watch@9=3 view@9=3 view@9=5 pause@9");  /* 2 + 3 = 5 */

    /* a heartbeat while playing, even right after the play */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 0, PLAY(0, 0)), "play@0");
    CHECK_STR(HB(&p, 0.5), "start@0.5 watch@0.5=0.5");

    /* a heartbeat while paused after the play: no start */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 0.2, PLAY(0, 0), PAUSE(0.2, 0)), "play@0 pause@0.2");
    CHECK_STR(HB(&p, 5), "");

    /* a resume before any play: watched, but no start until the play */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 0, RESUME(0, 0)), "resume@0");
    CHECK_STR(HB(&p, 5), "watch@5=5 view@5=3 view@5=5");
    /* play at 5: closes (5 - 0 - 5 = 0), play, reopens */
    CHECK_STR(PING(&p, 6, PLAY(6, 5)), "play@6");
    CHECK_STR(HB(&p, 8), "start@8 watch@8=2");

    /* resume after a seek while paused is not progress */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 3, PLAY(0, 0), PAUSE(0.1, 0), SEEKF(1, 0, 50), RESUME(2, 50)),
              "play@0 pause@0.1 seek@1 resume@2");
    CHECK_STR(PING(&p, 3, PAUSE(3, 51)), "start@3 watch@3=1 pause@3");

    /* end right after the play, at the same position: end, no start */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 1, PLAY(0, 0), END(1, 0)), "play@0 end@1");
}

/* impression value: ms since loaded_at, clamped at 0; once */
static void
test_impression(void)
{
    pb          p;

    pb_init(&p, 10);
    CHECK_STR(PING(&p, 10, READY(9, 0)), "impression@9=0");     /* clock skew */
    CHECK_STR(PING(&p, 11, READY(10.25, 0)), "");
    CHECK_STR(counters(&p), "0/0/0/1");

    pb_init(&p, 10);
    CHECK_STR(PING(&p, 11, READY(10.25, 0)), "impression@10.25=250");
    pb_init(&p, 10);
    CHECK_STR(PING(&p, 11, READY(10, 0)), "impression@10=0");
    pb_init(&p, 10);
    CHECK_STR(PING(&p, 11, READY(10.000001, 0)), "impression@10.000001=0.001");
    /* two readies in one ping: the first counts */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 5, READY(2, NAN), READY(1, NAN)), "impression@1=1000");
    CHECK_STR(counters(&p), "0/0/0/1");
}

/* an invalid ping returns -1 naming the field, and changes nothing */
static void
test_invalid(void)
{
    pb          p;
    ping_state  saved;
    ping_input  in;
    ping_event  many[PING_MAX_EVENTS + 1];
    char        err[64];
    size_t      i;

    pb_init(&p, 0);
    CHECK_STR(PING(&p, 5, READY(0.5, 0), PLAY(1, 0)), "impression@0.5=500 play@1");
    CHECK_STR(HB(&p, 5), "start@5 watch@5=4 view@5=3");
    saved = p.st;

#define EXPECT_INVALID(result, prefix) \
    do { \
        const char *r_ = (result); \
        CHECK_INT(p.rc, -1); \
        CHECK(strncmp(r_, "ERROR " prefix, strlen("ERROR " prefix)) == 0); \
        if (strncmp(r_, "ERROR " prefix, strlen("ERROR " prefix)) != 0) \
            fprintf(stderr, "    got: %s\n", r_); \
        CHECK_INT(p.out.n, 0); \
        CHECK(memcmp(&saved, &p.st, sizeof saved) == 0); \
    } while (0)

    /* a valid pause before a negative position: nothing of the ping counts */
    EXPECT_INVALID(PING(&p, 10, PAUSE(9, 9), PAUSE(10, -1)), "events[1].at: invalid position");
    EXPECT_INVALID(PING(&p, 10, PAUSE(10, INFINITY)), "events[0].at: invalid position");
    EXPECT_INVALID(PING(&p, 10, PAUSE(10, -INFINITY)), "events[0].at");
    EXPECT_INVALID(PING(&p, 10, PAUSE(10, 2e10)), "events[0].at");
    EXPECT_INVALID(PING(&p, 10, PAUSE(10, -0.001)), "events[0].at");
    EXPECT_INVALID(PING(&p, 10, PAUSE(9, 9), SEEKF(10, NAN, 3)), "events[1].from: missing");
    EXPECT_INVALID(PING(&p, 10, SEEKF(10, -3, 3)), "events[0].from: invalid position");
    EXPECT_INVALID(PING(&p, 10, SEEKB(10, 3, NAN)), "events[0].to: missing");
    EXPECT_INVALID(PING(&p, 10, SEEKB(10, 3, 1e11)), "events[0].to: invalid position");
    EXPECT_INVALID(PING(&p, 10, SEEKB(10, 3, INFINITY)), "events[0].to");
    {
        ping_event  bad[3] = {PAUSE(9, 9), PAUSE(9, 9), PAUSE(10, 10)};

        bad[2].emitted_at_us = INT64_MAX;
        EXPECT_INVALID(run(&p, 10, bad, 3), "events[2].emitted_at: timestamp out of range");
        bad[2].emitted_at_us = INT64_MIN;
        EXPECT_INVALID(run(&p, 10, bad, 3), "events[2].emitted_at");
        bad[2].emitted_at_us = US(10);
        bad[1].kind = (ping_event_kind) 7;
        EXPECT_INVALID(run(&p, 10, bad, 3), "events[1].type: invalid event type 7");
        bad[1].kind = (ping_event_kind) -1;
        EXPECT_INVALID(run(&p, 10, bad, 3), "events[1].type");
    }
    /* ping timestamps */
    EXPECT_INVALID(run_us(&p, INT64_MAX, NULL, 0), "emitted_at: timestamp out of range");
    EXPECT_INVALID(run_us(&p, PING_TS_LIMIT_US + 1, NULL, 0), "emitted_at");
    p.loaded_at = INT64_MIN;
    EXPECT_INVALID(HB(&p, 10), "session.loaded_at: timestamp out of range");
    p.loaded_at = US(0);
    /* too many events */
    for (i = 0; i < PING_MAX_EVENTS + 1; i++)
    {
        ping_event  e = PAUSE(10, 10);

        many[i] = e;
    }
    EXPECT_INVALID(run(&p, 10, many, PING_MAX_EVENTS + 1),
                   "events: 1001 events, at most 1000 allowed");
    p.max_events = 2;
    EXPECT_INVALID(run(&p, 10, many, 3), "events: 3 events, at most 2 allowed");
    p.max_events = 5000;            /* clamped to PING_MAX_EVENTS */
    EXPECT_INVALID(run(&p, 10, many, PING_MAX_EVENTS + 1), "events: 1001 events, at most 1000 allowed");
    p.max_events = 0;
    EXPECT_INVALID(run(&p, 10, NULL, 2), "events: missing");
    /* clocks */
    p.now = INT64_MAX;
    EXPECT_INVALID(HB(&p, 10), "now_us");
    p.now = B + DAY_US;
    p.oldest = INT64_MIN;
    EXPECT_INVALID(HB(&p, 10), "oldest_allowed_us");
    p.oldest = B - 30 * DAY_US;
    /* a corrupt state */
    p.st.version = 2;
    saved = p.st;
    EXPECT_INVALID(HB(&p, 10), "state: unsupported version 2");
    p.st.version = PING_STATE_VERSION;
    p.st.watched_s = NAN;
    saved = p.st;
    EXPECT_INVALID(HB(&p, 10), "state: corrupt");
    p.st.watched_s = 4.0;
    p.st.flags |= 0x100;
    saved = p.st;
    EXPECT_INVALID(HB(&p, 10), "state: corrupt");
    p.st.flags &= ~0x100u;
    p.st.views_done = 16;
    saved = p.st;
    EXPECT_INVALID(HB(&p, 10), "state: corrupt");
    p.st.views_done = 1;
    saved = p.st;

    /* the output buffer must be big enough (checked before anything else) */
    in.emitted_at_us = US(10);
    in.loaded_at_us = US(0);
    in.nevents = 0;
    in.events = NULL;
    in.max_events = 0;
    p.out.ev = p.buf;
    p.out.cap = PING_OUTPUT_MAX(0) - 1;
    CHECK_INT(ping_normalize(&p.st, &in, p.now, p.oldest, &p.out, err, sizeof err), -1);
    CHECK_STR(err, "ping_normalize: output buffer of 30 events, 31 needed");
    CHECK(memcmp(&saved, &p.st, sizeof saved) == 0);
    /* NULL arguments, NULL or tiny err buffers */
    p.out.cap = PING_OUTPUT_MAX(0);
    CHECK_INT(ping_normalize(NULL, &in, p.now, p.oldest, &p.out, err, sizeof err), -1);
    CHECK_STR(err, "ping_normalize: NULL argument");
    CHECK_INT(ping_normalize(&p.st, NULL, p.now, p.oldest, &p.out, NULL, 0), -1);
    CHECK_INT(ping_normalize(&p.st, &in, p.now, p.oldest, NULL, err, 1), -1);
    CHECK_STR(err, "");
    in.emitted_at_us = INT64_MAX;
    CHECK_INT(ping_normalize(&p.st, &in, p.now, p.oldest, &p.out, err, 4), -1);
    CHECK_STR(err, "emi");
    CHECK(memcmp(&saved, &p.st, sizeof saved) == 0);

    /* after all that, the playback goes on as if nothing happened:
     * pause at 9: 9 - 0 - 4 = 5 (cumulative 9) */
    CHECK_STR(PING(&p, 10, PAUSE(10, 9)), "watch@10=5 view@10=5 pause@10");
    CHECK(p.st.watched_s == 9.0);
#undef EXPECT_INVALID
}

/* the largest ping: 1000 events, output buffer exactly PING_OUTPUT_MAX */
static void
test_many_events(void)
{
    static ping_event evs[PING_MAX_EVENTS];
    static ping_out_event obuf[PING_OUTPUT_MAX(PING_MAX_EVENTS)];
    ping_state  st;
    ping_input  in;
    ping_output out;
    char        err[128];
    size_t      i;
    double      total = 0;
    int         views = 0;

    /* events in reverse order: play/pause alternating every second, 1 s of
     * progress per stretch -> 500 watch events of 1 s */
    for (i = 0; i < PING_MAX_EVENTS; i++)
    {
        size_t      j = PING_MAX_EVENTS - 1 - i;
        ping_event  e = E(j % 2 == 0 ? PING_PLAY : PING_PAUSE, (double) j, (double) ((j + 1) / 2));

        evs[i] = e;
    }
    memset(&st, 0, sizeof st);
    in.emitted_at_us = US(1000);
    in.loaded_at_us = US(0);
    in.nevents = PING_MAX_EVENTS;
    in.events = evs;
    in.max_events = 0;
    out.ev = obuf;
    out.cap = PING_OUTPUT_MAX(PING_MAX_EVENTS);
    CHECK_INT(ping_normalize(&st, &in, B + DAY_US, B, &out, err, sizeof err), 0);
    /* 1 play + 499 resume + 500 pause + 500 watch + 1 start + 4 views */
    CHECK_INT(out.n, 1505);
    for (i = 0; i < out.n; i++)
    {
        if (out.ev[i].type == EV_WATCH)
            total += out.ev[i].value;
        if (out.ev[i].type == EV_VIEW)
            views++;
        if (i > 0)
            CHECK(out.ev[i].emitted_at_us >= out.ev[i - 1].emitted_at_us);
    }
    CHECK(total == 500.0);
    CHECK_INT(views, 4);
    CHECK_INT(out.ev[0].type, EV_PLAY);
    CHECK_INT(out.ev[1].type, EV_START);
    CHECK(out.ev[1].emitted_at_us == US(1));
}

/* a credit above 1 h is split into watch events of at most 1 h that tile
 * [t - credit, t]: full hours ending at t, t - 1 h, ..., the rest oldest */
static void
test_long_credit(void)
{
    pb          p;
    size_t      i;
    int64_t     end_prev = INT64_MIN;

    /* a 2-hour video without heartbeats: play at 0, end at 7198 */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 0, PLAY(0, 0)), "play@0");
    CHECK_STR(PING(&p, 7200, END(7198, 7198)),
              "start@7198 watch@3598=3598 view@3598=3 view@3598=5 view@3598=10 view@3598=30 "
              "watch@7198=3600 end@7198");
    CHECK(p.st.watched_s == 7198.0);
    /* the client's retry: nothing twice */
    CHECK_STR(PING(&p, 7200, END(7198, 7198)), "");
    CHECK_STR(counters(&p), "0/0/1/0");

    /* exactly 1 h: one piece; exactly 2 h: two, no empty rest */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 3600, PLAY(0, 0), PAUSE(3600, 3600)),
              "play@0 start@3600 watch@3600=3600 view@3600=3 view@3600=5 view@3600=10 view@3600=30 pause@3600");
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 7200, PLAY(0, 0), PAUSE(7200, 7200)),
              "play@0 start@7200 watch@3600=3600 view@3600=3 view@3600=5 view@3600=10 view@3600=30 "
              "watch@7200=3600 pause@7200");
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 3600.5, PLAY(0, 0), PAUSE(3600.5, 3600.5)),
              "play@0 start@3600.5 watch@0.5=0.5 watch@3600.5=3600 view@3600.5=3 view@3600.5=5 "
              "view@3600.5=10 view@3600.5=30 pause@3600.5");

    /* after a heartbeat: the pieces tile [10, 7210], after the heartbeat's
     * [0, 10]; then a seek that closes 3 h more (3 pieces), reopening */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 0, PLAY(0, 0)), "play@0");
    CHECK_STR(HB(&p, 10), "start@10 watch@10=10 view@10=3 view@10=5 view@10=10");
    CHECK_STR(PING(&p, 7210, PAUSE(7210, 7210)),
              "watch@3610=3600 view@3610=30 watch@7210=3600 pause@7210");
    CHECK_STR(PING(&p, 7220, RESUME(7220, 100)), "resume@7220");
    CHECK_STR(PING(&p, 18020, SEEKF(18020, 10900, 20000)),
              "watch@10820=3600 watch@14420=3600 watch@18020=3600 seek@18020");
    CHECK(p.st.watched_s == 7210.0 + 10800.0);
    CHECK_STR(PING(&p, 18030, PAUSE(18030, 20010)), "watch@18030=10 pause@18030");
    CHECK(p.st.watched_s == 7210.0 + 10810.0);

    /* the intervals never overlap, over one ping of many long stretches */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 20000, PLAY(0, 0), PAUSE(5000, 5000), RESUME(5001, 5000),
                   PAUSE(9000, 9000), RESUME(9000, 9000), END(20000, 20000)),
              "play@0 start@5000 watch@1400=1400 view@1400=3 view@1400=5 view@1400=10 view@1400=30 "
              "watch@5000=3600 pause@5000 resume@5001 watch@5400=399 watch@9000=3600 pause@9000 "
              "resume@9000 watch@9200=200 watch@12800=3600 watch@16400=3600 watch@20000=3600 end@20000");
    for (i = 0; i < p.out.n; i++)
    {
        const ping_out_event *e = &p.out.ev[i];

        if (e->type != EV_WATCH)
            continue;
        CHECK(e->value <= PING_MAX_WATCH_S);
        CHECK((double) e->emitted_at_us - e->value * 1e6 >= (double) end_prev);
        end_prev = e->emitted_at_us;
    }
    CHECK(p.st.watched_s == 19999.0);
}

/* the closing credit is at most the client time since the last credit */
static void
test_wall_cap(void)
{
    pb          p;

    /* 3001 s of playhead over 1 s: 1 s */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 1.5, PLAY(0, 0), PAUSE(1, 3001)), "play@0 start@1 watch@1=1 pause@1");
    CHECK(p.st.watched_s == 1.0);
    /* after a heartbeat: at most the time since the heartbeat */
    CHECK_STR(PING(&p, 10, RESUME(10, 3001)), "resume@10");
    CHECK_STR(HB(&p, 20), "watch@20=10 view@20=3 view@20=5 view@20=10");
    CHECK_STR(PING(&p, 21, PAUSE(21, 3100)), "watch@21=1 pause@21");
    CHECK(p.st.watched_s == 12.0);

    /* playback rate 2: 120 s of content over 60 s of wall time: 60 */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 60, PLAY(0, 0), PAUSE(60, 120)),
              "play@0 start@60 watch@60=60 view@60=3 view@60=5 view@60=10 view@60=30 pause@60");

    /* a seek's from far ahead of the clock: 5 s */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 5, PLAY(0, 0), SEEKF(5, 500, 10)),
              "play@0 start@5 watch@5=5 view@5=3 view@5=5 seek@5");

    /* never before the retention window: the play was processed at 0, the
     * window now starts at 5000: 7200 - 5000 = 2200 */
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 0, PLAY(0, 0)), "play@0");
    p.oldest = US(5000);
    CHECK_STR(PING(&p, 7200, PAUSE(7200, 7200)),
              "start@7200 watch@7200=2200 view@7200=3 view@7200=5 view@7200=10 view@7200=30 pause@7200");
}

/* one call credits at most 24 h, whatever the stretches */
static void
test_ping_budget(void)
{
    pb          p;
    size_t      i;
    int         watches = 0;

    /* one stretch of 100,000 s: 24 pieces of 1 h ending at 0, -1 h, ... */
    pb_init(&p, -100000);
    CHECK_STR(PING(&p, -100000, PLAY(-100000, 0)), "play@-100000");
    CHECK_STR(HB(&p, -99990), "start@-99990 watch@-99990=10 view@-99990=3 view@-99990=5 view@-99990=10");
    PING(&p, 0, PAUSE(0, 100000));
    CHECK(p.out.credited_s == 86400.0);
    CHECK(p.st.watched_s == 86410.0);
    for (i = 0; i < p.out.n; i++)
        if (p.out.ev[i].type == EV_WATCH)
        {
            CHECK(p.out.ev[i].value == 3600.0);
            CHECK(p.out.ev[i].emitted_at_us == US(-82800 + 3600 * watches));
            watches++;
        }
    CHECK_INT(watches, 24);
    CHECK_INT(p.out.n, 24 + 1 + 1);     /* + view 30 + pause */

    /* two stretches in one ping: 50,000 s, then what is left (36,400 s) */
    pb_init(&p, -100000);
    PING(&p, 0, PLAY(-100000, 0), PAUSE(-50000, 50000), RESUME(-49999, 50000), PAUSE(0, 99999));
    CHECK(p.out.credited_s == 86400.0);
    CHECK(p.st.watched_s == 86400.0);
    CHECK(p.out.n <= PING_OUTPUT_MAX(4));
    /* the next ping has a new budget */
    CHECK_STR(PING(&p, 10, RESUME(1, 99999), PAUSE(10, 100008)), "resume@1 watch@10=9 pause@10");
    CHECK(p.st.watched_s == 86409.0);
}

/* the impression value is clamped to [0, 60 s] */
static void
test_impression_bound(void)
{
    pb          p;

    pb_init(&p, 0);
    CHECK_STR(PING(&p, 61, READY(60, 0)), "impression@60=60000");
    pb_init(&p, 0);
    CHECK_STR(PING(&p, 61, READY(60.001, 0)), "impression@60.001=60000");
    /* loaded_at about 2,000 years before the ping */
    pb_init(&p, 0);
    p.loaded_at = B - INT64_C(63082281600000000);
    CHECK_STR(PING(&p, 2, READY(1, 0), PLAY(2, 0)), "impression@1=60000 play@2");
    /* loaded_at in year 9999: 0 */
    pb_init(&p, 0);
    p.loaded_at = B + INT64_C(252423993600000000);
    CHECK_STR(PING(&p, 2, READY(1, 0)), "impression@1=0");
}

/* ------------------------------------------------------------------------
 * Randomized property tests (deterministic xorshift64* PRNG).
 *
 * A simulated player produces a session: ready, play, then random waits,
 * pauses, resumes, seeks, an optional end (+ teardown pause); the session
 * ends with the stretch closed (a pause or an end).  Event times are
 * strictly increasing milliseconds; positions move with the wall clock
 * times a playback rate (>= 1 for the exactness property, possibly 0 =
 * stalls for the inequality property), or are absent (live).
 *
 * Properties checked:
 *  P1 (splitting is invisible): the events sent as pings split at random
 *     points, each ping's events shuffled, give exactly the same emitted
 *     events (type, time, value bit for bit) and the same final state as
 *     all events in one ping.
 *  P2 (heartbeats do not change the closed total): with heartbeats (empty
 *     pings) inserted at random instants, the sum of watch values equals
 *     that of P1 (within 1e-6 s) when the playhead advances at least as fast
 *     as the wall clock (rate >= 1: both are then the wall time of the
 *     stretches, credits being bounded by it), positions are known and no
 *     heartbeat came more than 30 s after the stretch's last credit.  With
 *     stalls (rate 0 at times) the sum is >= the P1 sum (heartbeats may
 *     over-credit a stall; they never under-credit: the close credits the
 *     rest).  When a heartbeat was capped, the sum is <= the P1 sum (the
 *     time beyond the cap is lost) without stalls.
 *  P3 (replays): every ping sent twice in a row: the second emits nothing
 *     and counts its in-range items as skipped.
 *  Invariants of every run: watch/impression values >= 0 and finite, watch
 *     > 0, at most one impression, play, start and end per playback, start
 *     after the play, views distinct, in threshold order, and view T emitted
 *     iff the cumulative watch sum reaches T (>= T - 1e-9), right after a
 *     watch; emitted times non-decreasing; heartbeat-time watch <= 30 s;
 *     watch values <= 1 h and their intervals [t - v, t] never overlapping.
 * ------------------------------------------------------------------------ */

static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

static uint64_t
rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

static int
rnd_int(int n)
{
    return (int) (rnd() % (uint64_t) n);
}

#define MAXSESS 200
#define MAXOUT (8 * MAXSESS + 64)

typedef struct
{
    ping_event  ev[MAXSESS];
    size_t      n;
    bool        live;
    bool        stalls;
} session;

/* ms-resolution time in seconds after B */
static void
gen_session(session *s, bool live, bool stalls)
{
    int64_t     t_ms = 1000 + rnd_int(5000);
    double      pos = (double) rnd_int(100);
    bool        playing = false;
    bool        ended = false;
    int         steps = 3 + rnd_int(40);
    int         k;
    double      rate = 1.0 + rnd_int(3) * 0.5;

    s->n = 0;
    s->live = live;
    s->stalls = stalls;
#define ADD(kind_, at_, from_, to_) \
    do { \
        ping_event e_; \
        int64_t dt_ = 1 + rnd_int(3); \
        t_ms += dt_; \
        if (playing) \
            pos += (double) dt_ / 1000.0 * rate; \
        e_.emitted_at_us = B + t_ms * 1000; \
        e_.kind = (kind_); \
        e_.at = live ? NAN : (at_); \
        e_.from = (from_); \
        e_.to = (to_); \
        s->ev[s->n++] = e_; \
    } while (0)

    ADD(PING_READY, pos, NAN, NAN);
    ADD(PING_PLAY, pos, NAN, NAN);
    playing = true;
    for (k = 0; k < steps && s->n < MAXSESS - 4; k++)
    {
        int         a = rnd_int(10);

        if (a < 4)
        {
            /* wait: up to 70 s (beyond the 30 s heartbeat cap) */
            int64_t     dt = 1 + rnd_int(a == 0 ? 70000 : 8000);
            double      r = stalls && rnd_int(3) == 0 ? 0.0 : rate;

            if (playing)
                pos += (double) dt / 1000.0 * r;
            t_ms += dt;
        }
        else if (a < 6)
        {
            if (playing)
            {
                ADD(PING_PAUSE, pos, NAN, NAN);
                playing = false;
            }
            else
            {
                ADD(rnd_int(4) == 0 ? PING_PLAY : PING_RESUME, pos, NAN, NAN);
                playing = !ended;
            }
        }
        else if (a < 8)
        {
            double      to = (double) rnd_int(1000);

            ADD(to >= pos ? PING_SEEK_FORWARD : PING_SEEK_BACKWARD, NAN, pos, to);
            pos = to;
        }
        else if (a == 8 && !ended && rnd_int(4) == 0)
        {
            ADD(PING_END, pos, NAN, NAN);
            playing = false;
            ended = true;
            if (rnd_int(2))
                ADD(PING_PAUSE, pos, NAN, NAN);
        }
        else if (a == 9 && rnd_int(5) == 0)
            ADD(PING_READY, pos, NAN, NAN);     /* a duplicate ready */
    }
    if (playing)
    {
        int64_t     dt = 1 + rnd_int(5000);

        pos += (double) dt / 1000.0 * rate;
        t_ms += dt;
        ADD(PING_PAUSE, pos, NAN, NAN);
    }
#undef ADD
}

typedef struct
{
    ping_out_event ev[MAXOUT];
    size_t      n;
    ping_state  st;
    double      watch;
    int         skipped;
    bool        ok;
} result;

static void
shuffle(ping_event *e, size_t n)
{
    size_t      i;

    for (i = n; i > 1; i--)
    {
        size_t      j = (size_t) rnd_int((int) i);
        ping_event  t = e[i - 1];

        e[i - 1] = e[j];
        e[j] = t;
    }
}

/* send one ping; append its output to r */
static void
send_ping(result *r, int64_t ping_ts, const ping_event *evs, size_t n, bool replay)
{
    ping_input  in;
    ping_output out;
    ping_out_event buf[PING_OUTPUT_MAX(MAXSESS)];
    char        err[128];
    ping_state  before = r->st;

    in.emitted_at_us = ping_ts;
    in.loaded_at_us = B;
    in.nevents = n;
    in.events = evs;
    in.max_events = 0;
    out.ev = buf;
    out.cap = PING_OUTPUT_MAX(n);
    if (ping_normalize(&r->st, &in, B + DAY_US, B, &out, err, sizeof err) != 0)
    {
        fprintf(stderr, "unexpected error: %s\n", err);
        r->ok = false;
        return;
    }
    if (out.n > PING_OUTPUT_MAX(n) || r->n + out.n > MAXOUT)
    {
        r->ok = false;
        return;
    }
    if (replay)
    {
        /* P3: nothing emitted, nothing changed, everything skipped */
        if (out.n != 0 || memcmp(&before, &r->st, sizeof before) != 0 ||
            out.skipped_replayed != (int) (n > 0 ? n : 1))
            r->ok = false;
        r->skipped += out.skipped_replayed;
        return;
    }
    memcpy(r->ev + r->n, buf, out.n * sizeof(ping_out_event));
    r->n += out.n;
}

/* invariants of a playback's whole output; heartbeat times in hb[0..nhb) */
static bool
check_invariants(const result *r, const int64_t *hb, size_t nhb)
{
    int         count[9] = {0};
    double      sum = 0;
    int         nviews = 0;
    size_t      i,
                h;
    bool        played = false;
    int64_t     watch_end = INT64_MIN;

    for (i = 0; i < r->n; i++)
    {
        const ping_out_event *e = &r->ev[i];

        if ((unsigned) e->type > EV_VIEW)
            return false;
        count[e->type]++;
        if (i > 0 && e->emitted_at_us < r->ev[i - 1].emitted_at_us)
            return false;
        if (e->has_value != (e->type == EV_IMPRESSION || e->type == EV_WATCH || e->type == EV_VIEW))
            return false;
        if (!isfinite(e->value) || e->value < 0)
            return false;
        if (e->type == EV_PLAY)
            played = true;
        if (e->type == EV_START && !played)
            return false;
        if (e->type == EV_WATCH)
        {
            if (!(e->value > 0) || e->value > PING_MAX_WATCH_S)
                return false;
            /* watch intervals [t - v, t] never overlap (1 us of rounding) */
            if ((double) e->emitted_at_us - e->value * 1e6 < (double) watch_end - 1.0)
                return false;
            watch_end = e->emitted_at_us;
            sum += e->value;
            for (h = 0; h < nhb; h++)
                if (hb[h] == e->emitted_at_us && e->value > 30.0)
                    return false;
        }
        if (e->type == EV_VIEW)
        {
            /* the next threshold, reached, right after a watch or a view */
            if (nviews >= PING_NVIEWS || e->value != ping_view_thresholds[nviews])
                return false;
            if (!(sum + 1e-9 >= e->value))
                return false;
            if (i == 0 || (r->ev[i - 1].type != EV_WATCH && r->ev[i - 1].type != EV_VIEW))
                return false;
            nviews++;
        }
        /* no threshold reached without its view, once past this watch's views */
        if (e->type == EV_WATCH)
        {
            size_t      j = i + 1;
            int         v = nviews;

            while (j < r->n && r->ev[j].type == EV_VIEW)
                j++, v++;
            if (v < PING_NVIEWS && sum + 1e-9 >= ping_view_thresholds[v])
                return false;
        }
    }
    if (count[EV_IMPRESSION] > 1 || count[EV_PLAY] > 1 || count[EV_START] > 1 ||
        count[EV_END] > 1 || count[EV_VIEW] > 4)
        return false;
    return fabs(sum - r->st.watched_s) < 1e-6;
}

static void
result_init(result *r)
{
    memset(r, 0, sizeof *r);
    r->ok = true;
}

static double
watch_sum(const result *r)
{
    double      s = 0;
    size_t      i;

    for (i = 0; i < r->n; i++)
        if (r->ev[i].type == EV_WATCH)
            s += r->ev[i].value;
    return s;
}

static void
test_property(void)
{
    static session s;
    static result one,
                split,
                hbr;
    ping_event  chunk[MAXSESS];
    int64_t     hb[4 * MAXSESS];
    int         iter;
    long        bad_p1 = 0,
                bad_p2 = 0,
                bad_p3 = 0,
                bad_inv = 0,
                exact_checked = 0,
                capped_checked = 0;

    for (iter = 0; iter < 3000; iter++)
    {
        bool        live = rnd_int(6) == 0;
        bool        stalls = !live && rnd_int(3) == 0;
        bool        capped = false;
        bool        sparse = rnd_int(3) == 0;
        size_t      i,
                    nhb = 0;

        gen_session(&s, live, stalls);

        /* all events in one ping, shuffled */
        result_init(&one);
        memcpy(chunk, s.ev, s.n * sizeof(ping_event));
        shuffle(chunk, s.n);
        send_ping(&one, s.ev[s.n - 1].emitted_at_us, chunk, s.n, false);

        /* P1 + P3: split at random points, each ping shuffled and replayed */
        result_init(&split);
        for (i = 0; i < s.n;)
        {
            size_t      len = 1 + (size_t) rnd_int(rnd_int(2) ? 3 : 12);

            if (len > s.n - i)
                len = s.n - i;
            memcpy(chunk, s.ev + i, len * sizeof(ping_event));
            shuffle(chunk, len);
            send_ping(&split, s.ev[i + len - 1].emitted_at_us, chunk, len, false);
            if (rnd_int(3) == 0)
                send_ping(&split, s.ev[i + len - 1].emitted_at_us, chunk, len, true);
            i += len;
        }
        {
            /* ping_out_event has padding: compare field by field */
            bool        same = split.ok && one.ok && split.n == one.n &&
                memcmp(&split.st, &one.st, sizeof one.st) == 0;

            for (i = 0; same && i < one.n; i++)
                same = split.ev[i].emitted_at_us == one.ev[i].emitted_at_us &&
                    split.ev[i].type == one.ev[i].type &&
                    split.ev[i].has_value == one.ev[i].has_value &&
                    memcmp(&split.ev[i].value, &one.ev[i].value, sizeof(double)) == 0;
            if (!same)
                bad_p1++;
        }
        if (!split.ok)
            bad_p3++;

        /* P2: heartbeats at random instants between/after events (each
         * heartbeat strictly before the next ping's events) */
        result_init(&hbr);
        for (i = 0; i < s.n;)
        {
            size_t      len = 1 + (size_t) rnd_int(4);
            int64_t     next;

            if (len > s.n - i)
                len = s.n - i;
            memcpy(chunk, s.ev + i, len * sizeof(ping_event));
            shuffle(chunk, len);
            send_ping(&hbr, s.ev[i + len - 1].emitted_at_us, chunk, len, false);
            next = i + len < s.n ? s.ev[i + len].emitted_at_us : s.ev[s.n - 1].emitted_at_us + 60000000;
            {
                int64_t     t = s.ev[i + len - 1].emitted_at_us;

                while (nhb < sizeof hb / sizeof hb[0])
                {
                    t += 1 + (int64_t) rnd_int(sparse && rnd_int(2) == 0 ? 45000 : 12000) * 1000;
                    if (t >= next)
                        break;
                    /* a heartbeat more than 30 s after the stretch's last
                     * credit is capped: the rest of that gap is lost */
                    if ((hbr.st.flags & PING_F_PLAYING) != 0 &&
                        t - hbr.st.last_credit_us > (int64_t) (PING_HEARTBEAT_MAX_CREDIT_S * 1e6))
                        capped = true;
                    hb[nhb++] = t;
                    send_ping(&hbr, t, NULL, 0, false);
                    if (rnd_int(5) == 0)
                        send_ping(&hbr, t, NULL, 0, true);
                }
            }
            i += len;
        }
        if (!hbr.ok)
            bad_p3++;
        if (!live)
        {
            double      a = watch_sum(&one),
                        b = watch_sum(&hbr);

            bool        bad;

            if (capped)
                bad = stalls ? false : b > a + 1e-6;
            else
                bad = stalls ? b < a - 1e-6 : fabs(a - b) > 1e-6;
            if (bad)
            {
                if (bad_p2 < 5)
                    fprintf(stderr, "P2 iter %d: one ping %.9f, with heartbeats %.9f%s%s\n",
                            iter, a, b, stalls ? " (stalls)" : "", capped ? " (capped)" : "");
                bad_p2++;
            }
            if (!stalls && !capped)
                exact_checked++;
            if (!stalls && capped)
                capped_checked++;
        }
        if (!check_invariants(&one, NULL, 0) || !check_invariants(&split, NULL, 0) ||
            !check_invariants(&hbr, hb, nhb))
            bad_inv++;
    }
    CHECK_INT(bad_p1, 0);
    CHECK_INT(bad_p2, 0);
    CHECK_INT(bad_p3, 0);
    CHECK_INT(bad_inv, 0);
    CHECK(exact_checked > 1000);
    CHECK(capped_checked > 20);
}

int
main(void)
{
    test_names();
    test_basic_session();
    test_heartbeats_then_pause();
    test_heartbeat_cap();
    test_page_reload();
    test_end_and_teardown();
    test_after_end();
    test_views();
    test_out_of_order();
    test_replay();
    test_live();
    test_seeks();
    test_play_while_playing();
    test_dropped();
    test_start_rules();
    test_impression();
    test_invalid();
    test_many_events();
    test_long_credit();
    test_wall_cap();
    test_ping_budget();
    test_impression_bound();
    test_property();
    return UNIT_REPORT("ping");
}
