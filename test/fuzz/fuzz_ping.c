/*
 * fuzz_ping.c - libFuzzer target for src/ping.c (the player-ping normalizer).
 *
 * Build and run (outputs in /tmp):
 *   clang -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -fno-sanitize-recover=undefined -Isrc \
 *       -o /tmp/fuzz_ping test/fuzz/fuzz_ping.c src/ping.c -lm
 *   mkdir -p /tmp/fuzz_ping_corpus && /tmp/fuzz_ping -max_total_time=180 /tmp/fuzz_ping_corpus
 * Without libFuzzer (replays files given as arguments):
 *   gcc -std=c99 -g -DFUZZ_STANDALONE -fsanitize=address,undefined -Isrc \
 *       -o /tmp/fuzz_ping_sa test/fuzz/fuzz_ping.c src/ping.c -lm
 *
 * The fuzz bytes describe one playback: clocks, then a series of pings
 * (events with kinds, timestamps and positions drawn from ordinary and
 * extreme values, invalid ones included).  Each ping goes through
 * ping_normalize() with the state kept across pings, and the invariants
 * below are checked; a violation abort()s.
 *  - rc is 0 or -1; on -1: err is set, out->n == 0, the state is unchanged.
 *  - on 0: out->n <= PING_OUTPUT_MAX(nevents); every item of the ping is
 *    processed, dropped or skipped (counters add up); emitted times are
 *    in [oldest, now + 1 h], at most the new last_ts; except watches and
 *    views (the pieces of a split credit), after the previous last_ts and
 *    non-decreasing over the whole playback; types valid; has_value as
 *    documented; values finite and >= 0, watch in (0, 1 h], the watch
 *    intervals [t - v, t] never overlapping over the playback; a
 *    heartbeat's watch <= 30 s.
 *  - over the playback: at most one impression, play, start, end; start
 *    after play; views distinct, in threshold order, each one emitted right
 *    after a watch/view and exactly when the cumulative watch sum reaches
 *    it; the sum of watch values equals state.watched_s; nothing credited
 *    after the end.
 *  - the same ping sent again right away emits nothing and leaves the state
 *    unchanged.
 *  - a randomly corrupted copy of the state never crashes, and is either
 *    rejected (copy unchanged) or accepted.
 */
#include "ping.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B INT64_C(770223600000000)

typedef struct
{
    const uint8_t *p;
    size_t      n;
} reader;

static uint8_t
u8(reader *r)
{
    if (r->n == 0)
        return 0;
    r->n--;
    return *r->p++;
}

static uint16_t
u16(reader *r)
{
    uint16_t    a = u8(r);

    return (uint16_t) (a | (uint16_t) (u8(r) << 8));
}

static uint64_t
u64(reader *r)
{
    uint64_t    v = 0;
    int         i;

    for (i = 0; i < 8; i++)
        v |= (uint64_t) u8(r) << (8 * i);
    return v;
}

/* a timestamp near clock (ms steps), sometimes extreme */
static int64_t
ts_near(reader *r, int64_t *clock)
{
    uint8_t     c = u8(r);

    switch (c % 32)
    {
        case 0:
            return (int64_t) u64(r);    /* anything, mostly out of range */
        case 1:
            return PING_TS_LIMIT_US;
        case 2:
            return -PING_TS_LIMIT_US;
        case 3:
            return *clock - (int64_t) u16(r) * 1000;    /* back in time */
        case 4:
            return *clock + (int64_t) u16(r) * 1000000;     /* far ahead */
        default:
            *clock += (int64_t) (c / 32) * (int64_t) u16(r) * 50;
            return *clock;
    }
}

static double
position(reader *r)
{
    uint8_t     c = u8(r);

    switch (c % 24)
    {
        case 0:
            return NAN;
        case 1:
            return -1.0;
        case 2:
            return INFINITY;
        case 3:
            return 0.0;
        case 4:
            return PING_POS_MAX_S;
        case 5:
            return PING_POS_MAX_S * 1.0000001;
        case 6:
            return -0.0;
        case 7:
            {
                uint64_t    bits = u64(r);
                double      d;

                memcpy(&d, &bits, sizeof d);
                return d;
            }
        case 8:
            return 5e-324;
        default:
            return (double) u16(r) / (double) (1 + c % 8);
    }
}

#define MAXEV 64
#define MAXTOTAL 4096

typedef struct
{
    int         count[9];
    double      sum;
    int         nviews;
    int64_t     last_emitted;
    int64_t     watch_end;      /* end of the last watch interval */
    bool        ended_seen;
} totals;

static void
fail(const char *what, const char *err)
{
    fprintf(stderr, "fuzz_ping invariant violated: %s (%s)\n", what, err ? err : "");
    abort();
}

static void
check_output(const ping_output *out, const ping_state *before,
             const ping_state *after, size_t nevents, size_t nitems,
             int64_t now, int64_t oldest, totals *t)
{
    size_t      i;
    int64_t     floor_ts = before->version == 0 ? INT64_MIN : before->last_ts_us;

    if (out->n > PING_OUTPUT_MAX(nevents))
        fail("too many output events", NULL);
    if (out->dropped_old < 0 || out->dropped_future < 0 ||
        out->skipped_replayed < 0 || out->ignored < 0 ||
        (size_t) (out->dropped_old + out->dropped_future + out->skipped_replayed) > nitems)
        fail("counters", NULL);
    if (after->version != PING_STATE_VERSION)
        fail("state version", NULL);
    if (after->last_ts_us < floor_ts)
        fail("last_ts went back", NULL);
    if (after->watched_s < (before->version ? before->watched_s : 0.0))
        fail("watched_s decreased", NULL);

    for (i = 0; i < out->n; i++)
    {
        const ping_out_event *e = &out->ev[i];
        bool        valued = e->type == EV_IMPRESSION || e->type == EV_WATCH ||
            e->type == EV_VIEW;

        if ((unsigned) e->type > EV_VIEW)
            fail("type", NULL);
        if (e->emitted_at_us < oldest || e->emitted_at_us > now + PING_FUTURE_LIMIT_US)
            fail("emitted time out of the accepted window", NULL);
        if (e->emitted_at_us > after->last_ts_us)
            fail("emitted time after the new last_ts", NULL);
        if (e->type == EV_WATCH || e->type == EV_VIEW)
        {
            /* the pieces of a split credit end before the closing event,
             * possibly before earlier events: checked through the watch
             * intervals instead (never overlapping, see below) */
        }
        else
        {
            if (e->emitted_at_us <= floor_ts)
                fail("emitted time not after the previous last_ts", NULL);
            if (e->emitted_at_us < t->last_emitted)
                fail("emitted times decrease", NULL);
            t->last_emitted = e->emitted_at_us;
        }
        if (e->has_value != valued)
            fail("has_value", NULL);
        if (!isfinite(e->value) || e->value < 0 || (!valued && e->value != 0))
            fail("value", NULL);
        t->count[e->type]++;
        switch (e->type)
        {
            case EV_START:
                if (t->count[EV_PLAY] == 0)
                    fail("start before play", NULL);
                if (t->ended_seen)
                    fail("start after end", NULL);
                break;
            case EV_END:
                t->ended_seen = true;
                break;
            case EV_WATCH:
                if (!(e->value > 0) || e->value > PING_MAX_WATCH_S)
                    fail("watch <= 0 or > 1 h", NULL);
                if ((double) e->emitted_at_us - e->value * 1e6 < (double) t->watch_end - 1.0)
                    fail("watch intervals overlap", NULL);
                t->watch_end = e->emitted_at_us;
                if (nevents == 0 && e->value > PING_HEARTBEAT_MAX_CREDIT_S)
                    fail("heartbeat credit > 30 s", NULL);
                if (t->ended_seen)
                    fail("watch after end", NULL);
                t->sum += e->value;
                {
                    size_t      j = i + 1;
                    int         v = t->nviews;

                    while (j < out->n && out->ev[j].type == EV_VIEW)
                        j++, v++;
                    if (v < PING_NVIEWS && t->sum + 1e-9 >= ping_view_thresholds[v])
                        fail("threshold reached without its view", NULL);
                }
                break;
            case EV_VIEW:
                if (t->nviews >= PING_NVIEWS ||
                    e->value != ping_view_thresholds[t->nviews])
                    fail("view out of order", NULL);
                if (!(t->sum + 1e-9 >= e->value))
                    fail("view before its threshold", NULL);
                if (i == 0 || (out->ev[i - 1].type != EV_WATCH &&
                               out->ev[i - 1].type != EV_VIEW))
                    fail("view not right after a watch", NULL);
                t->nviews++;
                break;
            default:
                break;
        }
    }
    if (t->count[EV_IMPRESSION] > 1 || t->count[EV_PLAY] > 1 ||
        t->count[EV_START] > 1 || t->count[EV_END] > 1 || t->nviews > 4)
        fail("more than one impression/play/start/end or > 4 views", NULL);
    if (fabs(t->sum - after->watched_s) > 1e-6 * (1.0 + fabs(t->sum)))
        fail("watch sum != state.watched_s", NULL);
    if ((after->flags & PING_F_ENDED) && (after->flags & PING_F_PLAYING))
        fail("playing after end", NULL);
}

int         LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader      r = {data, size};
    ping_state  st;
    ping_event  evs[MAXEV];
    static ping_out_event buf[PING_OUTPUT_MAX(MAXEV)];
    static ping_out_event buf2[PING_OUTPUT_MAX(MAXEV)];
    ping_output out;
    ping_input  in;
    char        err[256];
    int64_t     clock = B;
    int64_t     loaded_at,
                now,
                oldest;
    totals      t;
    int         pings = 0;

    memset(&st, 0, sizeof st);
    memset(&t, 0, sizeof t);
    t.last_emitted = INT64_MIN;
    t.watch_end = INT64_MIN;
    loaded_at = B + ((int64_t) (int8_t) u8(&r)) * 1000000;
    now = B + (int64_t) u16(&r) * 1000000;
    oldest = now - (int64_t) (1 + u8(&r) % 40) * 86400 * INT64_C(1000000);
    if (u8(&r) % 16 == 0)
        oldest = B + (int64_t) u16(&r) * 1000;  /* a short retention window */

    while (r.n > 0 && pings++ < 200)
    {
        uint8_t     h = u8(&r);
        size_t      n = (h % 4 == 0) ? 0 : (size_t) (h / 4) % (MAXEV + 1);
        size_t      i;
        ping_state  before = st;
        int         rc;

        for (i = 0; i < n; i++)
        {
            uint8_t     k = u8(&r);

            evs[i].kind = (k % 64 == 63) ? (ping_event_kind) (7 + k / 64)
                : (ping_event_kind) (k % 7);
            evs[i].emitted_at_us = ts_near(&r, &clock);
            evs[i].at = position(&r);
            if (evs[i].kind == PING_SEEK_FORWARD || evs[i].kind == PING_SEEK_BACKWARD)
            {
                evs[i].from = position(&r);
                evs[i].to = position(&r);
            }
            else
                evs[i].from = evs[i].to = NAN;
        }
        in.emitted_at_us = (h % 4 == 0) ? ts_near(&r, &clock) : clock;
        in.loaded_at_us = (u8(&r) == 255) ? (int64_t) u64(&r) : loaded_at;
        in.nevents = n;
        in.events = n ? evs : NULL;
        in.max_events = (h & 0x80) && n > 40 ? 40 : 0;
        out.ev = buf;
        out.cap = PING_OUTPUT_MAX(n);

        rc = ping_normalize(&st, &in, now, oldest, &out, err, sizeof err);
        if (rc != 0)
        {
            if (rc != -1)
                fail("rc", NULL);
            if (err[0] == '\0' || out.n != 0)
                fail("error without message or with output", NULL);
            if (memcmp(&before, &st, sizeof st) != 0)
                fail("state changed on error", err);
            continue;
        }
        if (err[0] != '\0')
            fail("message on success", err);
        check_output(&out, &before, &st, n, n ? n : 1, now, oldest, &t);

        /* the same ping again: nothing */
        {
            ping_state  again = st;
            ping_output out2;

            out2.ev = buf2;
            out2.cap = PING_OUTPUT_MAX(n);
            if (ping_normalize(&again, &in, now, oldest, &out2, err, sizeof err) != 0)
                fail("replay rejected", err);
            if (out2.n != 0 || memcmp(&again, &st, sizeof st) != 0)
                fail("replay emitted or changed the state", NULL);
            if ((size_t) (out2.dropped_old + out2.dropped_future + out2.skipped_replayed) !=
                (n ? n : 1))
                fail("replay counters", NULL);
        }

        /* a corrupted copy of the state: rejected unchanged, or accepted */
        if ((h & 0x40) && r.n > 0)
        {
            ping_state  bad = st;
            ping_state  bad_before;
            ping_output out3;
            uint8_t     off = u8(&r) % sizeof bad;

            ((uint8_t *) &bad)[off] ^= (uint8_t) (1 + u8(&r));
            bad_before = bad;
            out3.ev = buf2;
            out3.cap = PING_OUTPUT_MAX(n);
            if (ping_normalize(&bad, &in, now, oldest, &out3, err, sizeof err) != 0 &&
                memcmp(&bad, &bad_before, sizeof bad) != 0)
                fail("corrupt state changed on error", err);
        }
    }
    return 0;
}

#ifdef FUZZ_STANDALONE
int
main(int argc, char **argv)
{
    int         i;

    for (i = 1; i < argc; i++)
    {
        FILE       *f = fopen(argv[i], "rb");
        static uint8_t data[1 << 20];
        size_t      len;

        if (f == NULL)
        {
            perror(argv[i]);
            return 1;
        }
        len = fread(data, 1, sizeof data, f);
        fclose(f);
        LLVMFuzzerTestOneInput(data, len);
    }
    printf("fuzz_ping: %d inputs ok\n", argc - 1);
    return 0;
}
#endif
