/*
 * ping.h - player-ping normalizer (README: Ingesting, player pings), plain C99, libc only.
 *
 * ping_normalize() turns ONE ping of ONE playback into normalized events
 * (the event types of docs/metrics.md: impression, play, start, end, resume,
 * pause, seek, watch, view), given the playback's state from the previous pings, and
 * updates that state.  It does no JSON parsing, no I/O and no allocation:
 * the PostgreSQL wrapper (analytics.ingest_ping)
 *   (a) parses the jsonb payload and fills a ping_input,
 *   (b) loads the ping_state of the playback = (session id, session.loaded_at)
 *       from its table (a zeroed ping_state for a new playback), and stores it
 *       back after a successful call,
 *   (c) inserts the ping_out_events (converting the client timestamps) and
 *       reports the drop counters in its reply.
 *
 * Guarantees: no global or static mutable state (thread-safe), no recursion,
 * no allocation (uses about 4 KB of stack), O(n log n) in the number of
 * events, never reads or writes outside the buffers it is given.  On any
 * error it returns -1 with a message naming the offending field, and
 * *state is left exactly as it was (the call works on a copy) and out->n = 0.
 *
 * Timestamps are int64 microseconds on ANY fixed epoch (the wrapper uses
 * PostgreSQL's TimestampTz: microseconds since 2000-01-01 UTC); all of them
 * (input, state, now_us, oldest_allowed_us) must use the same epoch.
 * Output timestamps are the client's own timestamps (event emitted_at, or the
 * ping emitted_at for a heartbeat; a long credit split into one-hour pieces
 * puts the earlier pieces whole hours before its event), never the server
 * clock.
 *
 * ------------------------------------------------------------------------
 * RULES (README "Player pings"; the choices made where the README's summary is
 * silent are marked [choice])
 * ------------------------------------------------------------------------
 * Order and replays
 *  - The ping's events are processed in emitted_at order; events with equal
 *    emitted_at keep their order in the ping (stable sort).
 *  - A ping with no events is a heartbeat at the ping's emitted_at.  A ping
 *    with events is NOT also a heartbeat [choice, docs/api.md: "a ping with
 *    no events is a heartbeat"].
 *  - Each event (or heartbeat) is, in this order of checks:
 *      dropped_old      if emitted_at < oldest_allowed_us (older than retention),
 *      dropped_future   if emitted_at > now_us + 1 hour,
 *      skipped_replayed if emitted_at <= state.last_ts_us (a resent ping
 *                       never counts twice),
 *    and otherwise processed.  Dropped events do not change the state (in
 *    particular they never advance last_ts_us).  After the ping,
 *    last_ts_us = the newest processed timestamp.  All events of ONE ping are
 *    compared with the last_ts_us of the state BEFORE the ping, so several
 *    events of one ping may share a timestamp; but an event of a later ping
 *    with the same timestamp as the newest processed one is treated as a
 *    replay [choice: client timestamps have millisecond resolution; a later
 *    ping whose events are not newer than what was already processed is a
 *    retry of an old ping].
 *
 * Impression
 *  - ready -> impression (value = ready emitted_at - loaded_at in ms, clamped
 *    to [0, PING_MAX_IMPRESSION_MS]: a ready before the load is clock skew,
 *    one more than a minute after it is not a load time but a wrong or
 *    forged loaded_at; the impression itself always counts), once per
 *    playback; a later ready is ignored (counted in out->ignored).  ready's
 *    `at` is validated but not used.  loaded_at is used for nothing else
 *    (it only names the playback), so it is not checked against now.
 *
 * Play, resume and playing stretches
 *  - The first play of the playback -> play; any later play and every resume
 *    -> resume (a resume before any play stays a resume, as the README says).
 *  - play / resume open a playing stretch at (event time, position `at`).
 *    A play/resume while a stretch is already open first closes that stretch
 *    at its `at` (crediting, as a pause would) and then opens a new one
 *    [choice: players sometimes repeat play without a pause].
 *  - After the playback ended (see end), play / resume are still stored as
 *    play / resume but open no stretch: nothing is credited after the end
 *    [choice, brief: "a ping after the playback ended credits nothing"; a
 *    replay after the end is not new watch time of this playback].
 *
 * Start (once per playback, only after the first play, only while a stretch
 * is open): the first time playback is seen progressing:
 *  - a heartbeat while a stretch is open, or
 *  - an event whose position (`at`; for a seek its `from`) is known and is
 *    strictly greater than the open stretch's start position, or
 *  - [choice, live streams / missing positions] an event without a usable
 *    position (its position or the stretch start position absent) that comes
 *    strictly later (wall clock) than the stretch opened.
 *  `start` is emitted at that event's / heartbeat's time, before anything
 *  else that event emits (watch, views, the event itself).  It is measured
 *  against the CURRENT stretch's start position (a seek reopens the stretch
 *  at seek.to), so a resume after seeking while paused is not progress
 *  [choice, README: "first seen progressing"].
 *
 * Watch (credits; each credit > 0 is one `watch` event, value in seconds)
 *  - Heartbeat while a stretch is open: credits the wall time since the last
 *    credit of the stretch (or since it opened), at most 30 s
 *    (PING_HEARTBEAT_MAX_CREDIT_S); the last credit time becomes the
 *    heartbeat's time even when capped.
 *  - Closing a stretch (pause, end, seek, or a play/resume while playing):
 *      if the stretch start position and the closing position are both
 *      known: credit = (closing position - stretch start position)
 *                       - seconds already credited in this stretch,
 *        but at most the client time since the last credit of the stretch
 *        (or since it opened), and since oldest_allowed_us: the playhead
 *        cannot be credited faster than the wall clock [choice: a playback
 *        rate above 1 is credited its wall-clock time; no tolerance, so the
 *        watch intervals below never overlap; the time a capped heartbeat
 *        did not credit is not credited later either];
 *      else [choice, live streams / missing positions]: credit = wall time
 *      since the last credit (or since the stretch opened), at most 30 s,
 *      exactly like a heartbeat;
 *    never negative.  The closing position is `at`, or `from` for a seek.
 *  - Watch intervals: a watch event of value v at time t says the viewer
 *    watched during [t - v, t].  Every credit lies after the stretch's last
 *    credit, so over a playback these intervals never overlap and each lies
 *    inside its stretch.  A credit above PING_MAX_WATCH_S (1 h, the events
 *    table's limit) is split into several watch events of at most 1 h
 *    tiling [t - credit, t]: full hours ending at t, t - 1 h, ..., and the
 *    remainder, oldest, ending where they begin; they are emitted oldest
 *    first, so their times may be earlier than events emitted before them
 *    in the same call (or in an earlier call, after the stretch's last
 *    credit).
 *  - One call credits at most PING_MAX_PING_CREDIT_S (24 h) in total
 *    (out->credited_s); the excess is dropped [choice: no honest playback
 *    sends a day of playing in one ping; this also bounds the output].
 *  - A seek while playing does not count the jump: it closes the stretch at
 *    seek.from (crediting the rest) and opens a new stretch at seek.to, both
 *    at the seek's time.  A seek while not playing credits nothing.
 *  - Credits below PING_MIN_CREDIT_S (1 microsecond, rounding noise) are not
 *    emitted and not counted.
 *  => Over one stretch with known positions, the sum of watch values is
 *     max(position progress, heartbeat credits), the closing credit bounded
 *     by the wall time since the last credit: exact (= position progress,
 *     seek jumps excluded) once the stretch closed, provided the heartbeats
 *     did not credit more wall time than the playhead moved (stalls), were
 *     at most 30 s apart, and the playhead did not outrun the client clock;
 *     while it is open, the heartbeat credits are provisional wall-clock
 *     time.
 *
 * View
 *  - When the playback's cumulative watched seconds first reach 3, 5, 10 and
 *    30 s (>= threshold - 1e-9), one `view` each (value = threshold), emitted
 *    right after the watch event that crossed it, in threshold order (one
 *    credit can cross several), at most once each per playback.
 *
 * Pause, end, seek
 *  - pause: closes the open stretch (crediting) then `pause`; with nothing
 *    playing (teardown, after end, ...) it is stored as `pause` and credits
 *    nothing.
 *  - end: closes the open stretch (crediting) then `end`, once per playback;
 *    the playback is then ended: later heartbeats and events credit nothing,
 *    start and views are no longer emitted.  A second end is ignored
 *    (counted in out->ignored) [choice: `end` is once per playback, and
 *    storing it as `pause` would invent a pause the player never sent].
 *  - seek.forward / seek.backward -> `seek` (after the stretch handling
 *    above).  The direction is not checked against from/to [choice].
 *
 * Validation (-1, err names the field as in the JSON payload):
 *  - timestamps (emitted_at, session.loaded_at, events[i].emitted_at) and
 *    now_us / oldest_allowed_us must be within +-PING_TS_LIMIT_US (so that no
 *    difference overflows), else "... out of range";
 *  - events[i].at: NAN means absent (allowed for every kind, needed for live
 *    streams); otherwise finite, >= 0 and <= PING_POS_MAX_S (refused, not
 *    clamped: such a position is a broken player; and since credits are
 *    bounded by the wall clock, no position can inflate watch time);
 *  - events[i].from / events[i].to of a seek: required, finite, >= 0,
 *    <= PING_POS_MAX_S (NAN = absent is an error); ignored for other kinds;
 *  - events[i].type: a valid ping_event_kind;
 *  - at most max_events events (input max_events, 0 = PING_MAX_EVENTS, and
 *    never more than PING_MAX_EVENTS);
 *  - the output buffer must hold PING_OUTPUT_MAX(nevents) events;
 *  - the state must be zeroed or a valid state of PING_STATE_VERSION with
 *    the same loaded_at as the input.
 */
#ifndef ANALYTICS_PING_H
#define ANALYTICS_PING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Most events accepted in one ping (hard limit; ping_input.max_events can
 * only lower it). */
#define PING_MAX_EVENTS 1000

/* Events more than this after now_us are dropped (dropped_future). */
#define PING_FUTURE_LIMIT_US INT64_C(3600000000)

/* Most wall-clock seconds credited by one heartbeat (or by a closing event
 * without usable positions). */
#define PING_HEARTBEAT_MAX_CREDIT_S 30.0

/* Credits smaller than this (seconds) are rounding noise: not emitted. */
#define PING_MIN_CREDIT_S 1e-6

/* Most seconds in one watch event (the events table's
 * events_watch_value_check); longer credits are split (see RULES). */
#define PING_MAX_WATCH_S 3600.0
#define PING_WATCH_PIECE_US INT64_C(3600000000)

/* Most watch seconds credited by one call (one ping). */
#define PING_MAX_PING_CREDIT_S 86400.0

/* Full PING_MAX_WATCH_S pieces one call can emit beyond one watch per
 * event: PING_MAX_PING_CREDIT_S / PING_MAX_WATCH_S. */
#define PING_MAX_EXTRA_PIECES 24

/* Largest impression value (load time), in ms; larger ones are clamped. */
#define PING_MAX_IMPRESSION_MS 60000.0

/* Timestamps must lie in [-PING_TS_LIMIT_US, PING_TS_LIMIT_US] (2^62 us,
 * about 146,000 years around the epoch). */
#define PING_TS_LIMIT_US (INT64_C(1) << 62)

/* Largest playhead position accepted, in seconds (about 317 years; live
 * players may report positions as Unix seconds). */
#define PING_POS_MAX_S 1e10

/* Size of the output buffer needed for a ping of n events: each event emits
 * at most itself + one watch, a heartbeat at most one watch; plus at most
 * one start and four views per call, and the full one-hour pieces of split
 * credits (at most PING_MAX_EXTRA_PIECES per call, as a call credits at most
 * PING_MAX_PING_CREDIT_S). */
#define PING_OUTPUT_MAX(nevents) \
    (2 * ((nevents) > 0 ? (size_t) (nevents) : (size_t) 1) + 5 + PING_MAX_EXTRA_PIECES)

/* The view thresholds, in seconds, in order (bit i of views_done). */
#define PING_NVIEWS 4
extern const double ping_view_thresholds[PING_NVIEWS];     /* 3, 5, 10, 30 */

/* ---- input ------------------------------------------------------------- */

/* Event types of the payload ("type" field). */
typedef enum ping_event_kind
{
    PING_READY = 0,         /* "ready" */
    PING_PLAY,              /* "play" */
    PING_RESUME,            /* "resume" */
    PING_PAUSE,             /* "pause" */
    PING_END,               /* "end" */
    PING_SEEK_FORWARD,      /* "seek.forward" */
    PING_SEEK_BACKWARD      /* "seek.backward" */
} ping_event_kind;

#define PING_NKINDS 7

/* One event of the payload's "events" array. */
typedef struct ping_event
{
    int64_t         emitted_at_us;  /* "emitted_at": when the player emitted it */
    ping_event_kind kind;           /* "type" */
    double          at;             /* "at": playhead position in seconds, for
                                     * ready/play/resume/pause/end; NAN when
                                     * absent (live streams); unused for seeks */
    double          from;           /* "from": seek start position (s), seeks only */
    double          to;             /* "to": seek target position (s), seeks only */
} ping_event;

/* One ping of one playback. */
typedef struct ping_input
{
    int64_t         emitted_at_us;  /* "emitted_at" of the ping (the heartbeat
                                     * time when there are no events) */
    int64_t         loaded_at_us;   /* "session.loaded_at": identifies the
                                     * playback together with the session id;
                                     * the impression value is measured from it */
    size_t          nevents;        /* number of events (0 = heartbeat) */
    const ping_event *events;       /* nevents events, any order; may be NULL
                                     * when nevents == 0 */
    size_t          max_events;     /* limit on nevents for this call (the
                                     * wrapper's GUC); 0 = PING_MAX_EVENTS;
                                     * values above PING_MAX_EVENTS are clamped */
} ping_input;

/* ---- per-playback state ---------------------------------------------------
 * Plain data, fixed size (PING_STATE_SIZE bytes), no pointers and no
 * implicit padding, so the wrapper can store it as a bytea (byte order of the
 * machine, like PostgreSQL's own binary files) and give it back unchanged.
 * A zeroed struct is a new playback.  A stored state whose size or version
 * differs from this build's is rejected by ping_normalize(); a future
 * version will have to convert older ones.  The caller must not modify the
 * fields; they are documented for debugging and the property tests.
 */
#define PING_STATE_VERSION 1

/* flags */
#define PING_F_IMPRESSION   0x01u   /* impression emitted */
#define PING_F_PLAYED       0x02u   /* play emitted */
#define PING_F_STARTED      0x04u   /* start emitted */
#define PING_F_ENDED        0x08u   /* end emitted: nothing is credited anymore */
#define PING_F_PLAYING      0x10u   /* a playing stretch is open */
#define PING_F_POS_KNOWN    0x20u   /* stretch_start_pos is known (valid while PLAYING) */
#define PING_F_ALL          0x3fu

typedef struct ping_state
{
    uint32_t    version;            /* 0 = new playback, else PING_STATE_VERSION */
    uint32_t    flags;              /* PING_F_* */
    int64_t     loaded_at_us;       /* session.loaded_at of this playback */
    int64_t     last_ts_us;         /* newest processed event/heartbeat time;
                                     * anything at or before it is a replay
                                     * (INT64_MIN before the first one) */
    int64_t     stretch_open_us;    /* when the open stretch opened (PLAYING) */
    int64_t     last_credit_us;     /* time of the last credit of the open
                                     * stretch, or its opening time */
    double      stretch_start_pos;  /* playhead (s) when the open stretch opened
                                     * (meaningful with PING_F_POS_KNOWN) */
    double      stretch_credited_s; /* seconds credited in the open stretch */
    double      watched_s;          /* cumulative seconds credited in the playback */
    uint32_t    views_done;         /* bit i: view for ping_view_thresholds[i]
                                     * emitted */
    uint32_t    reserved;           /* 0 */
} ping_state;

#define PING_STATE_SIZE 72

/* ---- output -------------------------------------------------------------- */

/* Normalized event types, in the order of analytics.event_type (error excluded). */
typedef enum ping_out_type
{
    EV_IMPRESSION = 0,
    EV_PLAY,
    EV_START,
    EV_END,
    EV_RESUME,
    EV_PAUSE,
    EV_SEEK,
    EV_WATCH,
    EV_VIEW
} ping_out_type;

typedef struct ping_out_event
{
    int64_t         emitted_at_us;  /* the client's time of the event/heartbeat */
    ping_out_type   type;
    bool            has_value;      /* impression, watch, view: true; else false (NULL) */
    double          value;          /* impression: ms; watch: seconds; view:
                                     * threshold (3, 5, 10, 30); else 0 */
} ping_out_event;

typedef struct ping_output
{
    ping_out_event *ev;             /* caller's buffer of cap events */
    size_t          cap;            /* must be >= PING_OUTPUT_MAX(in->nevents) */
    size_t          n;              /* set: events written, in emission order
                                     * (non-decreasing emitted_at_us, except
                                     * the watch events of a split credit and
                                     * their views: see RULES) */
    int             dropped_old;    /* set: events older than oldest_allowed_us */
    int             dropped_future; /* set: events more than 1 h after now_us */
    int             skipped_replayed; /* set: events/heartbeat at or before
                                     * state.last_ts_us */
    int             ignored;        /* set: processed events that emit nothing
                                     * (a second ready, a second end) */
    double          credited_s;     /* set: watch seconds credited by the call
                                     * (<= PING_MAX_PING_CREDIT_S) */
} ping_output;

/*
 * Normalize one ping.
 *   state              in/out: the playback's state (zeroed = new playback)
 *   in                 the ping
 *   now_us             server time (same epoch); events after now + 1 h are dropped
 *   oldest_allowed_us  now - retention; events before it are dropped
 *   out                caller's buffer; n and the counters are set
 *   err, errlen        message on error (may be NULL/0); "" on success
 * Returns 0, or -1 on invalid input (state untouched, out->n = 0).
 */
extern int ping_normalize(ping_state *state, const ping_input *in,
                          int64_t now_us, int64_t oldest_allowed_us,
                          ping_output *out, char *err, size_t errlen);

/* "impression", "play", ... as in analytics.event_type; "?" for an invalid value. */
extern const char *ping_out_type_name(ping_out_type t);

/* "ready", "play", "resume", "pause", "end", "seek.forward", "seek.backward";
 * "?" for an invalid value. */
extern const char *ping_event_kind_name(ping_event_kind k);

/* Payload type name (len bytes, not necessarily NUL-terminated, exact and
 * case-sensitive) -> kind.  Returns 0, or -1 for an unknown name. */
extern int ping_event_kind_from_name(const char *name, size_t len,
                                     ping_event_kind *kind);

#ifdef __cplusplus
}
#endif

#endif /* ANALYTICS_PING_H */
