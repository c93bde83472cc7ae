/*
 * ping.c - player-ping normalizer (README: Ingesting, player pings).  See ping.h for the rules.
 *
 * Plain C99, libc only; also compiled into the extension with PostgreSQL's
 * warning flags (-Wdeclaration-after-statement, -Wmissing-prototypes, ...).
 */
#include "ping.h"
#include "parseutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* the stored layout must not change silently */
typedef char ping_state_size_check[sizeof(ping_state) == PING_STATE_SIZE ? 1 : -1];

const double ping_view_thresholds[PING_NVIEWS] = {3.0, 5.0, 10.0, 30.0};

static const char *const out_type_names[] = {
    "impression", "play", "start", "end", "resume", "pause", "seek",
    "watch", "view"
};

static const char *const kind_names[PING_NKINDS] = {
    "ready", "play", "resume", "pause", "end", "seek.forward", "seek.backward"
};

const char *
ping_out_type_name(ping_out_type t)
{
    unsigned    i = (unsigned) t;

    return i < sizeof(out_type_names) / sizeof(out_type_names[0])
        ? out_type_names[i] : "?";
}

const char *
ping_event_kind_name(ping_event_kind k)
{
    unsigned    i = (unsigned) k;

    return i < PING_NKINDS ? kind_names[i] : "?";
}

int
ping_event_kind_from_name(const char *name, size_t len, ping_event_kind *kind)
{
    int         i;

    if (name == NULL)
        return -1;
    for (i = 0; i < PING_NKINDS; i++)
    {
        if (strlen(kind_names[i]) == len && memcmp(kind_names[i], name, len) == 0)
        {
            if (kind != NULL)
                *kind = (ping_event_kind) i;
            return 0;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------------- */

static bool
ts_ok(int64_t ts)
{
    return ts >= -PING_TS_LIMIT_US && ts <= PING_TS_LIMIT_US;
}

static bool
pos_ok(double p)
{
    return isfinite(p) && p >= 0.0 && p <= PING_POS_MAX_S;
}

static void
emit(ping_output *out, int64_t ts, ping_out_type type, bool has_value,
     double value)
{
    ping_out_event *e;

    /* cannot happen: cap >= PING_OUTPUT_MAX(n) was checked, see ping.h */
    if (out->n >= out->cap)
        return;
    e = &out->ev[out->n++];
    e->emitted_at_us = ts;
    e->type = type;
    e->has_value = has_value;
    e->value = has_value ? value : 0.0;
}

/* one watch event of secs (<= PING_MAX_WATCH_S) ending at ts, then the views
 * it crosses */
static void
credit_piece(ping_state *st, ping_output *out, int64_t ts, double secs)
{
    int         i;

    st->stretch_credited_s += secs;
    st->watched_s += secs;
    out->credited_s += secs;
    emit(out, ts, EV_WATCH, true, secs);
    for (i = 0; i < PING_NVIEWS; i++)
    {
        if (!(st->views_done & (1u << i)) &&
            st->watched_s + 1e-9 >= ping_view_thresholds[i])
        {
            st->views_done |= 1u << i;
            emit(out, ts, EV_VIEW, true, ping_view_thresholds[i]);
        }
    }
}

/*
 * Credit secs of watch ending at ts (the caller made sure that the wall time
 * [ts - secs, ts] is inside the stretch and after its last credit).  At most
 * what is left of this call's PING_MAX_PING_CREDIT_S; split into watch events
 * of at most PING_MAX_WATCH_S that tile [ts - secs, ts] without overlapping:
 * the full pieces end at ts, ts - 1 h, ts - 2 h, ..., the remainder (the
 * oldest piece) ends where the full pieces begin.  Emitted oldest first.
 */
static void
credit(ping_state *st, ping_output *out, int64_t ts, double secs)
{
    double      room = PING_MAX_PING_CREDIT_S - out->credited_s;
    double      rest;
    int         full;
    int         j;

    if (secs > room)
        secs = room;
    if (!(secs >= PING_MIN_CREDIT_S))   /* also false for NaN */
        return;
    full = (int) floor(secs / PING_MAX_WATCH_S);    /* <= 24 */
    rest = secs - (double) full * PING_MAX_WATCH_S;
    if (rest >= PING_MIN_CREDIT_S)
        credit_piece(st, out, ts - (int64_t) full * PING_WATCH_PIECE_US, rest);
    for (j = full - 1; j >= 0; j--)
        credit_piece(st, out, ts - (int64_t) j * PING_WATCH_PIECE_US, PING_MAX_WATCH_S);
}

/* wall-clock seconds since the last credit of the open stretch, capped */
static double
wall_credit(const ping_state *st, int64_t ts)
{
    double      secs;

    if (ts <= st->last_credit_us)
        return 0.0;
    secs = (double) (ts - st->last_credit_us) / 1e6;
    return secs > PING_HEARTBEAT_MAX_CREDIT_S ? PING_HEARTBEAT_MAX_CREDIT_S : secs;
}

/*
 * Start rule (ping.h): called while a stretch may be open, before anything
 * else the event/heartbeat emits.  pos = the event's position or NAN.
 */
static void
maybe_start(ping_state *st, ping_output *out, int64_t ts, bool heartbeat,
            double pos)
{
    bool        progressed;

    if ((st->flags & (PING_F_STARTED | PING_F_ENDED)) != 0 ||
        (st->flags & PING_F_PLAYED) == 0 || (st->flags & PING_F_PLAYING) == 0)
        return;
    if (heartbeat)
        progressed = true;
    else if (!isnan(pos) && (st->flags & PING_F_POS_KNOWN) != 0)
        progressed = pos > st->stretch_start_pos;
    else
        progressed = ts > st->stretch_open_us;
    if (progressed)
    {
        st->flags |= PING_F_STARTED;
        emit(out, ts, EV_START, false, 0.0);
    }
}

/*
 * close the open stretch (if any) at ts, playhead pos (NAN = unknown); oldest
 * = the start of the retention window
 */
static void
close_stretch(ping_state *st, ping_output *out, int64_t ts, double pos,
              int64_t oldest)
{
    double      secs;

    if ((st->flags & PING_F_PLAYING) == 0)
        return;
    if (!isnan(pos) && (st->flags & PING_F_POS_KNOWN) != 0)
    {
        /*
         * the rest of the position progress, but never more than the client
         * time since the last credit of the stretch (nor since the start of
         * the retention window): the credit then fits in [from, ts]
         */
        int64_t     from = st->last_credit_us > oldest ? st->last_credit_us : oldest;
        double      wall = ts > from ? (double) (ts - from) / 1e6 : 0.0;

        secs = (pos - st->stretch_start_pos) - st->stretch_credited_s;
        if (secs > wall)
            secs = wall;
    }
    else
        secs = wall_credit(st, ts);
    if (secs > 0.0)
        credit(st, out, ts, secs);
    st->flags &= ~(PING_F_PLAYING | PING_F_POS_KNOWN);
    st->stretch_open_us = 0;
    st->last_credit_us = 0;
    st->stretch_start_pos = 0.0;
    st->stretch_credited_s = 0.0;
}

static void
open_stretch(ping_state *st, int64_t ts, double pos)
{
    if ((st->flags & PING_F_ENDED) != 0)
        return;
    st->flags |= PING_F_PLAYING;
    if (isnan(pos))
    {
        st->flags &= ~PING_F_POS_KNOWN;
        st->stretch_start_pos = 0.0;
    }
    else
    {
        st->flags |= PING_F_POS_KNOWN;
        st->stretch_start_pos = pos;
    }
    st->stretch_open_us = ts;
    st->last_credit_us = ts;
    st->stretch_credited_s = 0.0;
}

static void
do_heartbeat(ping_state *st, ping_output *out, int64_t ts)
{
    if ((st->flags & PING_F_PLAYING) == 0)
        return;
    maybe_start(st, out, ts, true, (double) NAN);
    credit(st, out, ts, wall_credit(st, ts));
    st->last_credit_us = ts;
}

static void
do_event(ping_state *st, ping_output *out, const ping_event *ev, int64_t loaded_at,
         int64_t oldest)
{
    int64_t     ts = ev->emitted_at_us;

    switch (ev->kind)
    {
        case PING_READY:
            if (st->flags & PING_F_IMPRESSION)
                out->ignored++;
            else
            {
                double      ms = (double) (ts - loaded_at) / 1000.0;

                /* clamped to [0, PING_MAX_IMPRESSION_MS] (see ping.h) */
                if (!(ms > 0.0))
                    ms = 0.0;
                else if (ms > PING_MAX_IMPRESSION_MS)
                    ms = PING_MAX_IMPRESSION_MS;
                st->flags |= PING_F_IMPRESSION;
                emit(out, ts, EV_IMPRESSION, true, ms);
            }
            break;

        case PING_PLAY:
        case PING_RESUME:
            maybe_start(st, out, ts, false, ev->at);
            close_stretch(st, out, ts, ev->at, oldest);
            if (ev->kind == PING_PLAY && (st->flags & PING_F_PLAYED) == 0)
            {
                st->flags |= PING_F_PLAYED;
                emit(out, ts, EV_PLAY, false, 0.0);
            }
            else
                emit(out, ts, EV_RESUME, false, 0.0);
            open_stretch(st, ts, ev->at);
            break;

        case PING_PAUSE:
            maybe_start(st, out, ts, false, ev->at);
            close_stretch(st, out, ts, ev->at, oldest);
            emit(out, ts, EV_PAUSE, false, 0.0);
            break;

        case PING_END:
            if (st->flags & PING_F_ENDED)
            {
                out->ignored++;
                break;
            }
            maybe_start(st, out, ts, false, ev->at);
            close_stretch(st, out, ts, ev->at, oldest);
            st->flags |= PING_F_ENDED;
            emit(out, ts, EV_END, false, 0.0);
            break;

        case PING_SEEK_FORWARD:
        case PING_SEEK_BACKWARD:
            if (st->flags & PING_F_PLAYING)
            {
                maybe_start(st, out, ts, false, ev->from);
                close_stretch(st, out, ts, ev->from, oldest);
                emit(out, ts, EV_SEEK, false, 0.0);
                open_stretch(st, ts, ev->to);
            }
            else
                emit(out, ts, EV_SEEK, false, 0.0);
            break;
    }
}

/* ---------------------------------------------------------------------- */

static int
check_state(const ping_state *st, int64_t loaded_at, char *err, size_t errlen)
{
    if (st->version == 0)
        return 0;               /* new playback: the rest is ignored */
    if (st->version != PING_STATE_VERSION)
    {
        set_err(err, errlen, "state: unsupported version %u (expected %d)",
                (unsigned) st->version, PING_STATE_VERSION);
        return -1;
    }
    if ((st->flags & ~PING_F_ALL) != 0 || st->views_done >= (1u << PING_NVIEWS) ||
        st->reserved != 0 ||
        !ts_ok(st->loaded_at_us) ||
        !(st->last_ts_us == INT64_MIN || ts_ok(st->last_ts_us)) ||
        !ts_ok(st->stretch_open_us) || !ts_ok(st->last_credit_us) ||
        !isfinite(st->stretch_start_pos) || !isfinite(st->stretch_credited_s) ||
        !isfinite(st->watched_s) || st->stretch_credited_s < 0.0 ||
        st->watched_s < 0.0 || st->stretch_start_pos < 0.0 ||
        ((st->flags & PING_F_POS_KNOWN) != 0 && (st->flags & PING_F_PLAYING) == 0) ||
        ((st->flags & PING_F_PLAYING) != 0 && (st->flags & PING_F_ENDED) != 0) ||
        ((st->flags & PING_F_STARTED) != 0 && (st->flags & PING_F_PLAYED) == 0))
    {
        set_err(err, errlen, "state: corrupt playback state");
        return -1;
    }
    if (st->loaded_at_us != loaded_at)
    {
        set_err(err, errlen,
                "session.loaded_at: does not match the playback state");
        return -1;
    }
    return 0;
}

static int
check_input(const ping_input *in, size_t limit, char *err, size_t errlen)
{
    size_t      i;

    if (!ts_ok(in->emitted_at_us))
    {
        set_err(err, errlen, "emitted_at: timestamp out of range");
        return -1;
    }
    if (!ts_ok(in->loaded_at_us))
    {
        set_err(err, errlen, "session.loaded_at: timestamp out of range");
        return -1;
    }
    if (in->nevents > limit)
    {
        set_err(err, errlen, "events: %zu events, at most %zu allowed",
                in->nevents, limit);
        return -1;
    }
    if (in->nevents > 0 && in->events == NULL)
    {
        set_err(err, errlen, "events: missing");
        return -1;
    }
    for (i = 0; i < in->nevents; i++)
    {
        const ping_event *ev = &in->events[i];
        unsigned    kind = (unsigned) ev->kind;

        if (kind >= PING_NKINDS)
        {
            set_err(err, errlen, "events[%zu].type: invalid event type %u", i, kind);
            return -1;
        }
        if (!ts_ok(ev->emitted_at_us))
        {
            set_err(err, errlen, "events[%zu].emitted_at: timestamp out of range", i);
            return -1;
        }
        if (ev->kind == PING_SEEK_FORWARD || ev->kind == PING_SEEK_BACKWARD)
        {
            if (!pos_ok(ev->from))
            {
                set_err(err, errlen,
                        "events[%zu].from: %s (must be a position in seconds, >= 0 and <= %g)",
                        i, isnan(ev->from) ? "missing" : "invalid position", PING_POS_MAX_S);
                return -1;
            }
            if (!pos_ok(ev->to))
            {
                set_err(err, errlen,
                        "events[%zu].to: %s (must be a position in seconds, >= 0 and <= %g)",
                        i, isnan(ev->to) ? "missing" : "invalid position", PING_POS_MAX_S);
                return -1;
            }
        }
        else if (!isnan(ev->at) && !pos_ok(ev->at))
        {
            set_err(err, errlen,
                    "events[%zu].at: invalid position (must be absent or a position in seconds, >= 0 and <= %g)",
                    i, PING_POS_MAX_S);
            return -1;
        }
    }
    return 0;
}

/* stable bottom-up merge sort of idx[0..n) by events[idx].emitted_at_us */
static void
sort_events(const ping_event *events, uint16_t *idx, uint16_t *tmp, size_t n)
{
    size_t      width;
    size_t      i;

    for (i = 0; i < n; i++)
        idx[i] = (uint16_t) i;
    for (width = 1; width < n; width *= 2)
    {
        size_t      lo;

        for (lo = 0; lo < n; lo += 2 * width)
        {
            size_t      mid = lo + width < n ? lo + width : n;
            size_t      hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t      a = lo,
                        b = mid,
                        k = lo;

            while (a < mid && b < hi)
            {
                /* take from the left on ties: stable */
                if (events[idx[b]].emitted_at_us < events[idx[a]].emitted_at_us)
                    tmp[k++] = idx[b++];
                else
                    tmp[k++] = idx[a++];
            }
            while (a < mid)
                tmp[k++] = idx[a++];
            while (b < hi)
                tmp[k++] = idx[b++];
        }
        memcpy(idx, tmp, n * sizeof(uint16_t));
    }
}

int
ping_normalize(ping_state *state, const ping_input *in, int64_t now_us,
               int64_t oldest_allowed_us, ping_output *out, char *err,
               size_t errlen)
{
    ping_state  st;
    size_t      limit;
    size_t      nitems;
    size_t      i;
    int64_t     floor_ts;
    int64_t     newest;
    int64_t     future_limit;
    uint16_t    idx[PING_MAX_EVENTS];
    uint16_t    tmp[PING_MAX_EVENTS];

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (out != NULL)
    {
        out->n = 0;
        out->dropped_old = out->dropped_future = 0;
        out->skipped_replayed = out->ignored = 0;
        out->credited_s = 0.0;
    }
    if (state == NULL || in == NULL || out == NULL)
    {
        set_err(err, errlen, "ping_normalize: NULL argument");
        return -1;
    }
    if (!ts_ok(now_us))
    {
        set_err(err, errlen, "now_us: timestamp out of range");
        return -1;
    }
    if (!ts_ok(oldest_allowed_us))
    {
        set_err(err, errlen, "oldest_allowed_us: timestamp out of range");
        return -1;
    }
    limit = in->max_events == 0 || in->max_events > PING_MAX_EVENTS
        ? PING_MAX_EVENTS : in->max_events;
    if (check_input(in, limit, err, errlen) != 0)
        return -1;
    if (out->ev == NULL || out->cap < PING_OUTPUT_MAX(in->nevents))
    {
        set_err(err, errlen,
                "ping_normalize: output buffer of %zu events, %zu needed",
                out->ev == NULL ? (size_t) 0 : out->cap,
                (size_t) PING_OUTPUT_MAX(in->nevents));
        return -1;
    }
    if (check_state(state, in->loaded_at_us, err, errlen) != 0)
        return -1;

    /* work on a copy: *state changes only on success */
    if (state->version == 0)
    {
        memset(&st, 0, sizeof st);
        st.version = PING_STATE_VERSION;
        st.loaded_at_us = in->loaded_at_us;
        st.last_ts_us = INT64_MIN;
    }
    else
        st = *state;

    floor_ts = st.last_ts_us;
    newest = st.last_ts_us;
    future_limit = now_us + PING_FUTURE_LIMIT_US;

    nitems = in->nevents;
    if (nitems > 0)
        sort_events(in->events, idx, tmp, nitems);
    for (i = 0; i < (nitems > 0 ? nitems : 1); i++)
    {
        const ping_event *ev = nitems > 0 ? &in->events[idx[i]] : NULL;
        int64_t     ts = ev != NULL ? ev->emitted_at_us : in->emitted_at_us;

        if (ts < oldest_allowed_us)
        {
            out->dropped_old++;
            continue;
        }
        if (ts > future_limit)
        {
            out->dropped_future++;
            continue;
        }
        if (ts <= floor_ts)
        {
            out->skipped_replayed++;
            continue;
        }
        if (ev != NULL)
            do_event(&st, out, ev, st.loaded_at_us, oldest_allowed_us);
        else
            do_heartbeat(&st, out, ts);
        if (ts > newest)
            newest = ts;
    }
    st.last_ts_us = newest;
    *state = st;
    return 0;
}
