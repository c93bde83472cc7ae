/*
 * gen.c -- fast, deterministic synthetic video-player analytics events.
 *
 * Writes PostgreSQL COPY text rows (tab separated, \N = NULL) for
 *   project_id, emitted_at, event_type, value, media_id, media_type,
 *   session_id, viewer_id, referrer, continent, country, device_type,
 *   operating_system, browser
 * following the event semantics of docs/metrics.md and README "Player pings".
 *
 *   gen [-n events] [-d days] [-s seed] [-e end] [-p projects]
 *       [-m media per project] [-l live share %] [-v]
 *
 * Plain C99 + libm. Build: cc -O2 -std=c99 -o gen gen.c -lm
 *
 * Model
 * -----
 * Sessions (playbacks) arrive as a non-homogeneous Poisson process over the
 * period [end - days, end) whose intensity follows a diurnal curve (peak
 * ~20:00 UTC, trough ~04:00 UTC).  Each session's whole event list is planned
 * when it arrives; a min-heap of active sessions keyed by their next event
 * time then merges all sessions, so the output is sorted by emitted_at.
 *
 * Exactly N rows: a pilot run (separate PRNG stream, nothing printed)
 * measures the mean rows of a session by time of day (live broadcasts make it
 * vary) and the distribution of event offsets from session start.  During
 * generation the arrival rate is re-derived at
 * every arrival from the rows still needed (N - written - planned-but-unwritten)
 * and the diurnal mass left before `end` (minus the part of late sessions'
 * events that would fall after `end`), so the N-th row lands close to `end`.
 * Events at or after `end` are never planned; if the stream still ran dry
 * before N rows, extra sessions are started just before `end` (rare).
 *
 * A session: project (Zipf over tenants) -> viewer (35% are returning viewers
 * from a pool of recent ones, reusing their country/device; viewer_id is a
 * hash of person and UTC day, NULL for ~5% of persons) -> media (Zipf s=1.1
 * over the project's videos, or a live stream that is on air) -> events:
 *   impression (load ms, log-normal median 600) ; 65% play 0.5-20 s later ;
 *   95% of plays start 0.2-3 s later ; then playing stretches with a watch
 *   heartbeat every 10 s of playing (sometimes a missed one: 20/30 s credit),
 *   partial credit at pause/end, pause -> resume after a few seconds, seeks,
 *   view at credited 3/5/10/30 s (emitted together with the credit that
 *   crosses the threshold, as ping normalization does), end when a video
 *   reaches its length, rare errors.  A watch row covers exactly
 *   [emitted_at - value, emitted_at]: stretch times are kept on a 100 ms grid,
 *   so value has at most one decimal.
 * Live streams broadcast daily in a fixed window (mostly evenings, some 24/7)
 * with a rush in the first 15 minutes; live sessions are longer, so viewers
 * overlap heavily (interesting ccv).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INF64 (INT64_MAX / 4)
#define DAYMS 86400000LL

/* ---------------- PRNG: xoshiro256** seeded with splitmix64 --------------- */
typedef struct { uint64_t s[4]; } Rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static void rng_seed(Rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}
static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static inline uint64_t rnext(Rng *r)
{
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = rotl(s[3], 45);
    return res;
}
static inline double runif(Rng *r) { return (double)(rnext(r) >> 11) * 0x1.0p-53; }
static inline int64_t rbelow(Rng *r, int64_t n) { return (int64_t)(runif(r) * (double)n); }
static double rnorm(Rng *r)
{
    double u1 = 1.0 - runif(r), u2 = runif(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
static double rlognorm(Rng *r, double median, double sigma) { return median * exp(sigma * rnorm(r)); }
static double rexp(Rng *r, double mean) { return -mean * log(1.0 - runif(r)); }
static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* ------------------------------ static tables ---------------------------- */
enum { E_IMPRESSION, E_PLAY, E_START, E_END, E_RESUME, E_PAUSE, E_SEEK, E_WATCH, E_VIEW, E_ERROR, E_N };
static const char *const evname[E_N] = {
    "impression", "play", "start", "end", "resume", "pause", "seek", "watch", "view", "error"};

/* Country share of video traffic (rough), GeoNames continent. AQ keeps AN covered. */
typedef struct { const char *cc, *cont; double w; } Country;
static const Country countries[] = {
    {"US", "NA", 22}, {"IN", "AS", 8}, {"BR", "SA", 6}, {"GB", "EU", 5}, {"DE", "EU", 5},
    {"FR", "EU", 5}, {"JP", "AS", 4}, {"ID", "AS", 3}, {"MX", "NA", 3}, {"CA", "NA", 3},
    {"IT", "EU", 2.5}, {"ES", "EU", 2.5}, {"RU", "EU", 2}, {"KR", "AS", 2}, {"AU", "OC", 2},
    {"TR", "AS", 1.5}, {"NL", "EU", 1.5}, {"PL", "EU", 1.5}, {"PH", "AS", 1.5}, {"VN", "AS", 1.2},
    {"TH", "AS", 1.2}, {"AR", "SA", 1.2}, {"CO", "SA", 1}, {"EG", "AF", 1}, {"NG", "AF", 1},
    {"ZA", "AF", 1}, {"SA", "AS", 1}, {"PK", "AS", 1}, {"BD", "AS", 0.8}, {"SE", "EU", 0.8},
    {"BE", "EU", 0.8}, {"UA", "EU", 0.8}, {"MY", "AS", 0.8}, {"CH", "EU", 0.7}, {"PT", "EU", 0.7},
    {"CL", "SA", 0.7}, {"AT", "EU", 0.6}, {"PE", "SA", 0.6}, {"AE", "AS", 0.6}, {"SG", "AS", 0.5},
    {"IE", "EU", 0.5}, {"IL", "AS", 0.5}, {"MA", "AF", 0.5}, {"KE", "AF", 0.4}, {"NZ", "OC", 0.4},
    {"AQ", "AN", 0.002},
    {NULL, NULL, 2.2}, /* unknown country: NULL country and continent (~2%) */
};
#define NCOUNTRY ((int)(sizeof countries / sizeof countries[0]))

/* Consistent device / OS family / browser family combos. */
typedef struct { const char *dev, *os, *br; double w; } Device;
static const Device devices[] = {
    {"computer", "windows", "chrome", 24}, {"computer", "windows", "edge", 6},
    {"computer", "windows", "firefox", 3}, {"computer", "windows", "opera", 0.8},
    {"computer", "mac osx", "safari", 6}, {"computer", "mac osx", "chrome", 5},
    {"computer", "linux", "firefox", 1}, {"computer", "linux", "chrome", 1},
    {"computer", "chrome os", "chrome", 1.5}, {"phone", "android", "chrome", 18},
    {"phone", "ios", "safari", 12}, {"phone", "android", "samsung internet", 3},
    {"phone", "ios", "chrome", 1.5}, {"phone", "android", "opera", 0.5},
    {"tablet", "ios", "safari", 4}, {"tablet", "android", "chrome", 2},
    {"tv", "tizen", "samsung internet", 1.2}, {"tv", "webos", "unknown", 1},
    {"tv", "android", "unknown", 0.8}, {"console", "playstation", "unknown", 0.4},
    {"wearable", "watchos", "unknown", 0.1}, {"wearable", "android", "chrome", 0.1},
    {"unknown", "unknown", "unknown", 1},
};
#define NDEVICE ((int)(sizeof devices / sizeof devices[0]))

/* Embedding pages; "" = no referrer. */
typedef struct { const char *url; double w; } Referrer;
static const Referrer referrers[] = {
    {"", 15}, {"https://www.example-news.com/", 12},
    {"https://www.example-news.com/world/2024/05/29/election-live", 6},
    {"https://blog.example.org/posts/getting-started-with-video", 8},
    {"https://www.google.com/", 10}, {"https://www.facebook.com/", 7}, {"https://t.co/", 4},
    {"https://www.reddit.com/r/videos/", 3}, {"https://learn.example.edu/courses/intro/lesson-3", 6},
    {"https://shop.example.com/products/sneaker-x?color=red&size=42", 5},
    {"https://www.linkedin.com/", 3}, {"https://example.tv/live", 8}, {"https://duckduckgo.com/", 2},
    {"android-app://com.google.android.gm/", 2}, {"https://www.bing.com/search?q=caf%C3%A9+video", 2},
    {"http://localhost:3000/", 1},
};
#define NREF ((int)(sizeof referrers / sizeof referrers[0]))

/* ------------------------------ generator state -------------------------- */
typedef struct { double *c; int n; } Cdf; /* cumulative weights */

static Cdf cdf_make(int n, double (*w)(int, double), double arg)
{
    Cdf d = {malloc(sizeof(double) * (size_t)n), n};
    double acc = 0;
    if (!d.c) { perror("malloc"); exit(1); }
    for (int i = 0; i < n; i++) d.c[i] = (acc += w(i, arg));
    return d;
}
static int cdf_pick(const Cdf *d, Rng *r)
{
    double u = runif(r) * d->c[d->n - 1];
    int lo = 0, hi = d->n - 1;
    while (lo < hi) { int mid = (lo + hi) / 2; if (d->c[mid] > u) hi = mid; else lo = mid + 1; }
    return lo;
}
static double w_zipf(int i, double s) { return pow(i + 1, -s); }
static double w_country(int i, double a) { (void)a; return countries[i].w; }
static double w_device(int i, double a) { (void)a; return devices[i].w; }
static double w_ref(int i, double a) { (void)a; return referrers[i].w; }

typedef struct {
    char name[24]; int namelen;     /* "p001\t" */
    char (*vid)[25];                /* video ids "vi..." */
    uint16_t *vlen;                 /* video length, s */
    char (*lid)[25];                /* live stream ids "li..." */
    int32_t *lstart, *ldur;         /* daily broadcast window (s of day; 86400 = 24/7) */
    double live_avg;                /* diurnally weighted mean on-air weight */
} Project;

typedef struct { uint64_t person; int32_t proj; int16_t country, device, ref; uint8_t noid; } Person;
#define RING 8192

typedef struct { int64_t t; int32_t v; int32_t type; } Ev; /* v in tenths, -1 = NULL */

typedef struct {
    Ev *ev; int n, cap, i, trunc;
    const Project *proj;
    int taillen;
    char tail[384]; /* "\tmedia\ttype\tuuid\tviewer\tref\tcont\tcc\tdev\tos\tbr\n" */
} Sess;

typedef struct { int64_t t; uint64_t seq; Sess *s; } HeapEnt;

static struct {
    int64_t n, end_ms, start_ms, plan_end;
    double days, live_share;
    int nproj, nvid, nlive, verbose;
    Rng rng, prng;
    Cdf c_proj, c_vid, c_country, c_device, c_ref;
    Project *proj;
    char ref_esc[NREF][256]; int ref_len[NREF];
    Person ring[RING]; uint64_t ring_n;
    HeapEnt *heap; int heap_n, heap_cap;
    Sess **free_s; int free_n, free_cap;
    uint64_t seq;
    double gtab[2881], r0; /* G(T) table in 10 s steps; nominal arrival rate */
    int64_t emitted, pending, count[E_N], sessions, live_sessions, forced;
} G;

/* ------------------------------- diurnal curve --------------------------- */
/* w(t) = 1 + 0.5 cos(2pi(h-20)/24) + 0.2 cos(4pi(h-22)/24): peak ~1.6 at 20h, ~0.55 at 4h. */
#define A1 0.5
#define A2 0.2
#define WMAX (1 + A1 + A2)
static double tod_s(double t) { double x = fmod(t, 86400.0); return x < 0 ? x + 86400.0 : x; }
static double diurnal(double t)
{
    double h = tod_s(t);
    return 1 + A1 * cos(6.283185307179586 * (h - 72000) / 86400) + A2 * cos(12.566370614359172 * (h - 79200) / 86400);
}
/* integral of w from period start to t (seconds) */
static double cumw(double t)
{
    double h = tod_s(t);
    return (t - G.start_ms / 1000.0) + A1 * 86400 / 6.283185307179586 * sin(6.283185307179586 * (h - 72000) / 86400)
           + A2 * 86400 / 12.566370614359172 * sin(12.566370614359172 * (h - 79200) / 86400);
}

/* ---------------------------------- setup -------------------------------- */
static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static void make_id(char *dst, const char *prefix, Rng *r)
{
    dst[0] = prefix[0]; dst[1] = prefix[1];
    for (int i = 2; i < 24; i++) dst[i] = B62[rnext(r) % 62];
    dst[24] = 0;
}
static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p) { perror("calloc"); exit(1); }
    return p;
}

/* weight of live stream j of P at second-of-day h: 0 off air, x3 during the opening rush */
static double onair_w(const Project *P, int j, double h)
{
    double w = 1.0 / (j + 1), rel;
    if (P->ldur[j] >= 86400) return 0.5 * w;
    rel = h - P->lstart[j];
    if (rel < 0) rel += 86400;
    if (rel >= P->ldur[j]) return 0;
    return rel < 900 ? 3 * w : w;
}

static void setup(void)
{
    Rng mr; /* catalogue stream: independent of N */
    rng_seed(&mr, G.rng.s[0] ^ 0x6d656469614c6973ULL);
    G.c_proj = cdf_make(G.nproj, w_zipf, 1.2);
    G.c_vid = cdf_make(G.nvid, w_zipf, 1.1);
    G.c_country = cdf_make(NCOUNTRY, w_country, 0);
    G.c_device = cdf_make(NDEVICE, w_device, 0);
    G.c_ref = cdf_make(NREF, w_ref, 0);
    for (int i = 0; i < NREF; i++) { /* COPY text escaping, done once */
        char *d = G.ref_esc[i];
        for (const char *s = referrers[i].url; *s; s++) {
            if (*s == '\\' || *s == '\t' || *s == '\n' || *s == '\r') {
                *d++ = '\\';
                *d++ = *s == '\\' ? '\\' : *s == '\t' ? 't' : *s == '\n' ? 'n' : 'r';
            } else *d++ = *s;
        }
        G.ref_len[i] = (int)(d - G.ref_esc[i]);
    }
    G.proj = xcalloc((size_t)G.nproj, sizeof(Project));
    for (int k = 0; k < G.nproj; k++) {
        Project *P = &G.proj[k];
        if (G.nproj == 1) P->namelen = snprintf(P->name, sizeof P->name, "default\t");
        else P->namelen = snprintf(P->name, sizeof P->name, "p%03d\t", k + 1);
        P->vid = xcalloc((size_t)G.nvid, 25); P->vlen = xcalloc((size_t)G.nvid, 2);
        P->lid = xcalloc((size_t)G.nlive, 25);
        P->lstart = xcalloc((size_t)G.nlive, 4); P->ldur = xcalloc((size_t)G.nlive, 4);
        for (int i = 0; i < G.nvid; i++) {
            make_id(P->vid[i], "vi", &mr);
            P->vlen[i] = (uint16_t)clampd(rlognorm(&mr, 240, 0.9), 30, 1800);
        }
        for (int j = 0; j < G.nlive; j++) {
            make_id(P->lid[j], "li", &mr);
            if (runif(&mr) < 0.2) { P->lstart[j] = 0; P->ldur[j] = 86400; continue; } /* 24/7 channel */
            /* evening-heavy start (UTC 12..23h), 1-4 h long, on a 15-minute grid */
            P->lstart[j] = (int32_t)(12 * 3600 + rbelow(&mr, 48) * 900 - (runif(&mr) < 0.3 ? 6 * 3600 : 0));
            P->ldur[j] = (int32_t)(3600 + rbelow(&mr, 13) * 900);
        }
        double num = 0, den = 0;
        for (int m = 0; m < 288; m++) {
            double h = m * 300.0 + 150, w = diurnal(h), a = 0;
            for (int j = 0; j < G.nlive; j++) a += onair_w(P, j, h);
            num += w * a; den += w;
        }
        P->live_avg = num / den;
    }
}

/* ------------------------------ session planning ------------------------- */
static void ev_add(Sess *s, int64_t t, int type, int32_t v)
{
    if (s->trunc || t >= G.plan_end) { s->trunc = 1; return; }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->ev = realloc(s->ev, sizeof(Ev) * (size_t)s->cap);
        if (!s->ev) { perror("realloc"); exit(1); }
    }
    s->ev[s->n].t = t; s->ev[s->n].type = type; s->ev[s->n].v = v; s->n++;
}

static char *put_u64(char *p, uint64_t x)
{
    char tmp[24]; int n = 0;
    do { tmp[n++] = (char)('0' + x % 10); x /= 10; } while (x);
    while (n) *p++ = tmp[--n];
    return p;
}
static char *put_str(char *p, const char *s) { size_t l = strlen(s); memcpy(p, s, l); return p + l; }

static int64_t hb_interval(Rng *R) /* deciseconds of playing until the next heartbeat credit */
{
    double u = runif(R);
    if (u < 0.004) return 300;       /* two heartbeats lost */
    if (u < 0.02) return 200;        /* one heartbeat lost */
    return u < 0.06 ? 99 : u < 0.10 ? 101 : 100;
}

typedef struct { Sess *s; Rng *R; int64_t t, played, credited; int views; } Play;

/* credit the playing time since the previous credit; views crossing 3/5/10/30 s */
static void credit(Play *p)
{
    static const int th[4] = {30, 50, 100, 300}; /* ds == view value in tenths */
    int64_t d = p->played - p->credited;
    if (d <= 0) return;
    ev_add(p->s, p->t, E_WATCH, (int32_t)d);
    p->credited = p->played;
    for (int i = 0; i < 4; i++)
        if (!(p->views & (1 << i)) && p->credited >= th[i]) { p->views |= 1 << i; ev_add(p->s, p->t, E_VIEW, th[i]); }
}

/* the viewing part after `start`: all lengths in deciseconds of playing time */
static void watch(Play *p, int live, int64_t len, int64_t bcast_end)
{
    Rng *R = p->R;
    int64_t pos = 0, stop;
    if (live) {
        stop = (int64_t)(clampd(rlognorm(R, 420, 1.2), 2, 14400) * 10);
        if (bcast_end < INF64) stop = min64(stop, max64(20, (bcast_end - p->t) / 100));
    } else if (runif(R) < 0.2) stop = INF64; /* watches to the end */
    else stop = (int64_t)(clampd(rlognorm(R, 35, 1.5), 1, 7200) * 10);
    double pause_mean = (live ? 15000 : 4500) * exp(0.8 * rnorm(R));
    double seek_mean = (live ? 30000 : 3000) * exp(0.8 * rnorm(R));
    int64_t next_pause = 1 + (int64_t)rexp(R, pause_mean);
    int64_t next_seek = 1 + (int64_t)rexp(R, seek_mean);
    int64_t err_at = runif(R) < 0.0025 ? 1 + rbelow(R, min64(min64(stop, len), 36000)) : INF64;
    int64_t next_hb = hb_interval(R);
    while (!p->s->trunc) {
        int64_t cend = live ? INF64 : p->played + (len - pos);
        int64_t x = min64(min64(min64(next_hb, next_pause), min64(next_seek, stop)), min64(cend, err_at));
        p->t += (x - p->played) * 100; pos += x - p->played; p->played = x;
        if (x == err_at) { ev_add(p->s, p->t, E_ERROR, -1); return; }
        if (x == cend) { /* video reached its end; players often send a pause on teardown */
            credit(p); ev_add(p->s, p->t, E_END, -1);
            if (runif(R) < 0.3) ev_add(p->s, p->t + 500 + rbelow(R, 4500), E_PAUSE, -1);
            return;
        }
        if (x == stop) { /* viewer leaves: pause/end sent, or tab closed (last partial stretch lost) */
            double u = runif(R);
            if (live && u < 0.02) { credit(p); ev_add(p->s, p->t, E_END, -1); }
            else if (u < 0.5) { credit(p); ev_add(p->s, p->t, E_PAUSE, -1); }
            return;
        }
        if (x == next_hb) { credit(p); next_hb = p->played + hb_interval(R); continue; }
        if (x == next_seek) {
            ev_add(p->s, p->t, E_SEEK, -1);
            if (!live) {
                if (runif(R) < 0.7) pos = min64(pos + 50 + rbelow(R, 1150), max64(pos, len - 10));
                else pos = max64(0, pos - 30 - rbelow(R, 270));
            }
            next_seek = p->played + 1 + (int64_t)rexp(R, seek_mean);
            continue;
        }
        /* pause: credit the stretch, sometimes abandon, else resume a few seconds later */
        credit(p); ev_add(p->s, p->t, E_PAUSE, -1);
        if (runif(R) < 0.12) return;
        p->t += (int64_t)clampd(rlognorm(R, 6000, 1.0), 1000, 600000);
        ev_add(p->s, p->t, E_RESUME, -1);
        next_hb = p->played + hb_interval(R);
        next_pause = p->played + 1 + (int64_t)rexp(R, pause_mean);
    }
}

static void plan_session(Sess *s, int64_t t0, int pilot)
{
    Rng *R = pilot ? &G.prng : &G.rng;
    Person pe;
    int returning = 0, live = -1, media, ref;
    int64_t bcast_end = INF64;
    double lw[64], ltot = 0;

    s->n = s->i = s->trunc = 0;
    if (!pilot && G.ring_n > 0 && runif(R) < 0.35) {
        pe = G.ring[rbelow(R, (int64_t)(G.ring_n < RING ? G.ring_n : RING))];
        returning = 1;
    } else {
        pe.person = rnext(R);
        pe.proj = cdf_pick(&G.c_proj, R);
        pe.country = (int16_t)cdf_pick(&G.c_country, R);
        pe.device = (int16_t)cdf_pick(&G.c_device, R);
        pe.ref = (int16_t)cdf_pick(&G.c_ref, R);
        pe.noid = runif(R) < 0.05;
        if (!pilot) G.ring[G.ring_n++ % RING] = pe;
    }
    const Project *P = &G.proj[pe.proj];
    s->proj = P;

    /* live or video: live more likely while many (popular) streams are on air */
    if (G.nlive > 0 && G.live_share > 0) {
        double h = tod_s(t0 / 1000.0);
        for (int j = 0; j < G.nlive; j++) ltot += (lw[j] = onair_w(P, j, h));
        if (ltot > 0 && runif(R) < fmin(0.98, G.live_share * ltot / P->live_avg)) {
            double u = runif(R) * ltot;
            for (live = 0; live < G.nlive - 1 && (u -= lw[live]) >= 0; live++) ;
            if (P->ldur[live] < 86400) {
                double rel = h - P->lstart[live];
                if (rel < 0) rel += 86400;
                bcast_end = t0 + (int64_t)((P->ldur[live] - rel) * 1000);
            }
        }
    }
    media = live >= 0 ? live : cdf_pick(&G.c_vid, R);
    ref = returning && runif(R) < 0.4 ? cdf_pick(&G.c_ref, R) : pe.ref;

    if (!pilot) { /* constant columns of every row of this session */
        static const char hex[] = "0123456789abcdef";
        uint64_t a = rnext(R), b = rnext(R);
        const Country *c = &countries[pe.country];
        const Device *d = &devices[pe.device];
        char *p = s->tail;
        *p++ = '\t';
        memcpy(p, live >= 0 ? P->lid[media] : P->vid[media], 24); p += 24;
        p = put_str(p, live >= 0 ? "\tlive-stream\t" : "\tvideo\t");
        a = (a & ~0xF000ULL) | 0x4000ULL;                      /* version 4 */
        b = (b & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL; /* variant 10 */
        for (int i = 0; i < 32; i++) {
            if (i == 8 || i == 12 || i == 16 || i == 20) *p++ = '-';
            *p++ = hex[((i < 16 ? a >> (60 - 4 * i) : b >> (60 - 4 * (i - 16)))) & 15];
        }
        *p++ = '\t';
        if (pe.noid) p = put_str(p, "\\N");
        else { /* stable per person and UTC day, like the keyed UA+IP+day hash */
            uint64_t x = pe.person ^ ((uint64_t)(t0 / DAYMS) * 0xD1B54A32D192ED03ULL), v = splitmix64(&x) >> 1;
            p = put_u64(p, v ? v : 1);
        }
        *p++ = '\t';
        memcpy(p, G.ref_esc[ref], (size_t)G.ref_len[ref]); p += G.ref_len[ref];
        *p++ = '\t';
        if (c->cc) { p = put_str(p, c->cont); *p++ = '\t'; p = put_str(p, c->cc); }
        else p = put_str(p, "\\N\t\\N");
        *p++ = '\t'; p = put_str(p, d->dev); *p++ = '\t'; p = put_str(p, d->os);
        *p++ = '\t'; p = put_str(p, d->br); *p++ = '\n';
        s->taillen = (int)(p - s->tail);
        G.sessions++;
        G.live_sessions += live >= 0;
    }

    /* the event sequence */
    int64_t t = t0;
    ev_add(s, t, E_IMPRESSION, 10 * (int32_t)clampd(rlognorm(R, 600, 0.75), 50, 15000));
    if (runif(R) >= 0.65) { /* no play; rare load error */
        if (runif(R) < 0.003) ev_add(s, t + 100 + rbelow(R, 5000), E_ERROR, -1);
        return;
    }
    t += 500 + (int64_t)clampd(rlognorm(R, 2500, 0.9), 0, 19500);
    ev_add(s, t, E_PLAY, -1);
    if (runif(R) >= 0.95) { /* never started; some of those are playback errors */
        if (runif(R) < 0.08) ev_add(s, t + 500 + rbelow(R, 10000), E_ERROR, -1);
        return;
    }
    t += 200 + rbelow(R, 2800);
    ev_add(s, t, E_START, -1);
    Play pl = {s, R, t, 0, 0, 0};
    watch(&pl, live >= 0, live >= 0 ? INF64 : (int64_t)P->vlen[media] * 10, bcast_end);
}

/* Pilot (nothing printed, own PRNG stream): for each 15-minute bin of the UTC
   day, the mean rows of a session starting then (live streams make it vary a
   lot); and G(T) = integral_0^T (1 - F(x)) dx, F = CDF of row offsets from the
   session start, i.e. the rows a late session loses after `end`. */
#define PB 96
static double mbin[PB], ubin_pre[PB + 1];
static void pilot(void)
{
    enum { PER = 400, NB = 2880 };
    static double hist[NB + 1];
    Sess s;
    double tot = 0, cum = 0;
    int64_t day0 = G.start_ms / DAYMS * DAYMS;
    memset(&s, 0, sizeof s);
    G.plan_end = INF64;
    for (int b = 0; b < PB; b++) {
        double rows = 0;
        for (int k = 0; k < PER; k++) {
            int64_t t0 = day0 + b * 900000LL + rbelow(&G.prng, 900000);
            plan_session(&s, t0, 1);
            for (int i = 0; i < s.n; i++) {
                int64_t o = (s.ev[i].t - t0) / 10000;
                hist[o < NB ? o : NB]++;
            }
            rows += s.n;
        }
        mbin[b] = rows / PER; tot += rows;
        /* expected rows of the sessions arriving in bin b per unit rate: m * integral of w */
        ubin_pre[b + 1] = ubin_pre[b] + mbin[b] * (cumw(day0 / 1000.0 + (b + 1) * 900.0) - cumw(day0 / 1000.0 + b * 900.0));
    }
    free(s.ev);
    G.gtab[0] = 0;
    for (int b = 0; b < NB; b++) { cum += hist[b]; G.gtab[b + 1] = G.gtab[b] + 10.0 * (1 - cum / tot); }
    G.plan_end = G.end_ms;
}
static double gfun(double T)
{
    if (T >= 28800) return G.gtab[2880];
    int b = (int)(T / 10);
    return G.gtab[b] + (G.gtab[b + 1] - G.gtab[b]) * (T / 10 - b);
}
/* integral of w(s) * rows(s) from the epoch to t (s): expected rows per unit rate */
static double cumrows(double t)
{
    double d = floor(t / 86400), h = t - d * 86400;
    int b = (int)(h / 900);
    if (b >= PB) b = PB - 1;
    return d * ubin_pre[PB] + ubin_pre[b] + mbin[b] * (cumw(t) - cumw(d * 86400 + b * 900.0));
}
/* rows expected before `end` from sessions arriving after t, per unit rate */
static double rows_left(double t)
{
    double end = G.end_ms / 1000.0;
    int b = (int)(tod_s(end - 1) / 900);
    return cumrows(end) - cumrows(t) - diurnal(end) * mbin[b < PB ? b : PB - 1] * gfun(end - t);
}

/* --------------------------------- heap ---------------------------------- */
static int hless(const HeapEnt *a, const HeapEnt *b) { return a->t < b->t || (a->t == b->t && a->seq < b->seq); }
static void sift_down(int i)
{
    HeapEnt e = G.heap[i];
    for (;;) {
        int c = 2 * i + 1;
        if (c >= G.heap_n) break;
        if (c + 1 < G.heap_n && hless(&G.heap[c + 1], &G.heap[c])) c++;
        if (!hless(&G.heap[c], &e)) break;
        G.heap[i] = G.heap[c]; i = c;
    }
    G.heap[i] = e;
}
static void heap_push(HeapEnt e)
{
    if (G.heap_n == G.heap_cap) {
        G.heap_cap = G.heap_cap ? 2 * G.heap_cap : 1024;
        G.heap = realloc(G.heap, sizeof(HeapEnt) * (size_t)G.heap_cap);
        if (!G.heap) { perror("realloc"); exit(1); }
    }
    int i = G.heap_n++;
    while (i > 0 && hless(&e, &G.heap[(i - 1) / 2])) { G.heap[i] = G.heap[(i - 1) / 2]; i = (i - 1) / 2; }
    G.heap[i] = e;
}
static void sess_free(Sess *s)
{
    if (G.free_n == G.free_cap) {
        G.free_cap = G.free_cap ? 2 * G.free_cap : 1024;
        G.free_s = realloc(G.free_s, sizeof(Sess *) * (size_t)G.free_cap);
        if (!G.free_s) { perror("realloc"); exit(1); }
    }
    G.free_s[G.free_n++] = s;
}

static void start_session(int64_t t0)
{
    Sess *s = G.free_n ? G.free_s[--G.free_n] : xcalloc(1, sizeof(Sess));
    plan_session(s, min64(t0, G.end_ms - 1), 0);
    G.pending += s->n;
    HeapEnt e = {s->ev[0].t, G.seq++, s};
    heap_push(e);
}

/* Next session arrival after t (s), or INF: non-homogeneous Poisson by thinning,
   rate re-derived from the rows still needed and the diurnal mass left. */
static double next_arrival(double t)
{
    double end = G.end_ms / 1000.0;
    for (;;) {
        double need = (double)(G.n - G.emitted - G.pending);
        if (need <= 0) return INFINITY;
        double r = clampd(need / fmax(rows_left(t), 1e-9), 0.2 * G.r0, 5 * G.r0);
        t += rexp(&G.rng, 1.0 / (r * WMAX));
        if (t >= end) return INFINITY;
        if (runif(&G.rng) * WMAX < diurnal(t)) return t;
    }
}

/* --------------------------------- output -------------------------------- */
#define OUTSZ (1 << 20)
static char outbuf[OUTSZ];
static size_t outpos;
static void flush_out(void)
{
    if (outpos && fwrite(outbuf, 1, outpos, stdout) != outpos) { perror("write"); exit(1); }
    outpos = 0;
}

static char d2[100][2];
static char datebuf[11];
static int64_t cached_day = INT64_MIN;

static void set_day(int64_t z) /* days since epoch -> "YYYY-MM-DD " (H. Hinnant's civil_from_days) */
{
    int64_t era, doe, yoe, y, doy, mp, d, m;
    cached_day = z;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    memcpy(datebuf, d2[y / 100], 2); memcpy(datebuf + 2, d2[y % 100], 2);
    datebuf[4] = '-'; memcpy(datebuf + 5, d2[m], 2); datebuf[7] = '-';
    memcpy(datebuf + 8, d2[d], 2); datebuf[10] = ' ';
}

static void emit(const Sess *s, const Ev *e)
{
    static char evtab[E_N][16]; static int evlen[E_N];
    if (!evlen[0])
        for (int i = 0; i < E_N; i++) evlen[i] = snprintf(evtab[i], sizeof evtab[i], "\t%s\t", evname[i]);
    if (outpos > OUTSZ - 1024) flush_out();
    char *p = outbuf + outpos;
    memcpy(p, s->proj->name, (size_t)s->proj->namelen); p += s->proj->namelen;
    int64_t day = e->t >= 0 ? e->t / DAYMS : -((-e->t + DAYMS - 1) / DAYMS);
    int64_t ms = e->t - day * DAYMS;
    if (day != cached_day) set_day(day);
    memcpy(p, datebuf, 11); p += 11;
    unsigned sec = (unsigned)(ms / 1000), milli = (unsigned)(ms % 1000);
    memcpy(p, d2[sec / 3600], 2); p[2] = ':'; memcpy(p + 3, d2[sec / 60 % 60], 2); p[5] = ':';
    memcpy(p + 6, d2[sec % 60], 2); p[8] = '.';
    p[9] = (char)('0' + milli / 100); memcpy(p + 10, d2[milli % 100], 2);
    memcpy(p + 12, "+00", 3); p += 15;
    memcpy(p, evtab[e->type], 16); p += evlen[e->type];
    if (e->v < 0) { p[0] = '\\'; p[1] = 'N'; p += 2; }
    else {
        p = put_u64(p, (uint64_t)(e->v / 10));
        if (e->v % 10) { p[0] = '.'; p[1] = (char)('0' + e->v % 10); p += 2; }
    }
    memcpy(p, s->tail, (size_t)s->taillen); p += s->taillen;
    outpos = (size_t)(p - outbuf);
    G.count[e->type]++;
}

/* ---------------------------------- main --------------------------------- */
static void usage(void)
{
    fprintf(stderr, "usage: gen [-n events (100000)] [-d days (3)] [-s seed (1)] [-e end epoch s (now, minute)]\n"
                    "           [-p projects (1)] [-m media per project (200)] [-l live share %% (10)] [-v]\n");
    exit(2);
}
static int64_t num(const char *s, int64_t lo, int64_t hi)
{
    char *end; errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi) usage();
    return v;
}

int main(int argc, char **argv)
{
    int64_t seed = 1, end_s = (int64_t)time(NULL) / 60 * 60;
    int opt, mper = 200;
    char *endp;
    G.n = 100000; G.days = 3; G.nproj = 1; G.live_share = 0.10;
    while ((opt = getopt(argc, argv, "n:d:s:e:p:m:l:v")) != -1) {
        switch (opt) {
        case 'n': G.n = num(optarg, 0, INT64_MAX / 2); break;
        case 'd':
            G.days = strtod(optarg, &endp);
            if (*endp || !(G.days > 0 && G.days <= 36500)) usage();
            break;
        case 's': seed = num(optarg, INT64_MIN, INT64_MAX); break;
        case 'e': end_s = num(optarg, 0, 253402300799LL); break;
        case 'p': G.nproj = (int)num(optarg, 1, 100000); break;
        case 'm': mper = (int)num(optarg, 1, 100000); break;
        case 'l': G.live_share = (double)num(optarg, 0, 100) / 100; break;
        case 'v': G.verbose = 1; break;
        default: usage();
        }
    }
    if (optind != argc) usage();
    G.end_ms = end_s * 1000;
    G.start_ms = G.end_ms - (int64_t)llround(G.days * 86400000.0);
    if (G.start_ms < 0) { fprintf(stderr, "gen: period starts before 1970\n"); return 2; }
    /* ~5% of the media are live streams (at least one when -l > 0), at most 64 */
    G.nlive = G.live_share > 0 ? (int)min64(64, max64(1, mper / 20)) : 0;
    G.nvid = (int)max64(1, mper - G.nlive);
    for (int i = 0; i < 100; i++) { d2[i][0] = (char)('0' + i / 10); d2[i][1] = (char)('0' + i % 10); }

    uint64_t sd = (uint64_t)seed;
    rng_seed(&G.rng, splitmix64(&sd));
    rng_seed(&G.prng, splitmix64(&sd));
    setup();
    if (G.n > 0) {
        pilot();
        G.r0 = G.n / fmax(rows_left(G.start_ms / 1000.0), 1e-9);
    }

    double na = G.n > 0 ? next_arrival(G.start_ms / 1000.0) : INFINITY;
    int64_t last = G.start_ms;
    while (G.emitted < G.n) {
        int64_t na_ms = na == INFINITY ? INF64 : (int64_t)(na * 1000);
        if (na_ms < INF64 && (G.heap_n == 0 || na_ms <= G.heap[0].t)) {
            start_session(max64(na_ms, last));
            na = next_arrival(na);
            continue;
        }
        if (G.heap_n == 0) { /* ran dry before N rows: squeeze sessions in before end */
            G.forced++;
            start_session(last + rbelow(&G.rng, min64(60000, G.end_ms - last)));
            continue;
        }
        Sess *s = G.heap[0].s;
        last = s->ev[s->i].t;
        emit(s, &s->ev[s->i]);
        s->i++; G.emitted++; G.pending--;
        if (s->i < s->n) { G.heap[0].t = s->ev[s->i].t; sift_down(0); }
        else {
            sess_free(s);
            G.heap[0] = G.heap[--G.heap_n];
            if (G.heap_n) sift_down(0);
        }
    }
    flush_out();
    if (fflush(stdout) != 0) { perror("write"); return 1; }
    if (G.verbose) {
        fprintf(stderr, "gen: %lld rows, %lld sessions (%lld live), %lld forced, last emitted_at %.3f (end %lld)\n",
                (long long)G.emitted, (long long)G.sessions, (long long)G.live_sessions,
                (long long)G.forced, last / 1000.0, (long long)end_s);
        for (int i = 0; i < E_N; i++) fprintf(stderr, "  %-10s %lld\n", evname[i], (long long)G.count[i]);
    }
    return 0;
}
