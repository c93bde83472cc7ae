/*
 * useragent.c - user-agent parser on the uap-core regex database; see
 * useragent.h for the API and the evaluation semantics.  This file: the rule
 * database, matching, folding and device types; the regexes.yaml reader is
 * ua_yaml.c, the literal prefilter ua_prefilter.c, the shared internals
 * ua_internal.h.
 *
 * Plain C99 + libc + PCRE2 (8-bit).  No global or static mutable state: the
 * only statics are the constant folding tables below.  No locale-dependent
 * functions (ASCII case handling is done by hand).
 */
#include "ua_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* the database                                                         */
/* ------------------------------------------------------------------ */

const char *const ua_list_names[NLISTS] = {
    "user_agent_parsers", "os_parsers", "device_parsers"
};

ua_db *
ua_db_new(char *err, size_t errlen)
{
    ua_db      *db = calloc(1, sizeof(*db));

    if (db == NULL)
    {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    db->mctx = pcre2_match_context_create(NULL);
    if (db->mctx == NULL)
    {
        set_err(err, errlen, "out of memory");
        free(db);
        return NULL;
    }
    pcre2_set_match_limit(db->mctx, UA_MATCH_LIMIT);
    pcre2_set_depth_limit(db->mctx, UA_DEPTH_LIMIT);
    return db;
}

int
ua_db_add_rule(ua_db *db, int list, const char *regex, const char *flag,
               char **repl, long line, char *err, size_t errlen)
{
    ua_list    *L = &db->lists[list];
    ua_rule    *rule;
    int         errcode;
    PCRE2_SIZE  erroff;
    uint32_t    opts = PCRE2_NEVER_UTF | PCRE2_NEVER_UCP;
    uint32_t    ncap = 0;
    int         r;

    if (regex == NULL)
    {
        set_err(err, errlen, "regexes file line %ld: %s entry without regex",
                line, ua_list_names[list]);
        return -1;
    }
    if (flag != NULL)
    {
        if (strcmp(flag, "i") != 0)
        {
            set_err(err, errlen, "regexes file line %ld: unknown regex_flag '%s'",
                    line, flag);
            return -1;
        }
        opts |= PCRE2_CASELESS;
    }
    if (L->n == L->cap)
    {
        size_t      ncap2 = L->cap ? L->cap * 2 : 256;
        ua_rule    *nr = realloc(L->rules, ncap2 * sizeof(*nr));

        if (nr == NULL)
        {
            set_err(err, errlen, "out of memory");
            return -1;
        }
        L->rules = nr;
        L->cap = ncap2;
    }
    rule = &L->rules[L->n];
    memset(rule, 0, sizeof(*rule));
    rule->code = pcre2_compile((PCRE2_SPTR) regex, PCRE2_ZERO_TERMINATED,
                               opts, &errcode, &erroff, NULL);
    if (rule->code == NULL)
    {
        PCRE2_UCHAR msg[160];

        pcre2_get_error_message(errcode, msg, sizeof(msg));
        set_err(err, errlen,
                "regexes file line %ld: %s #%zu: regex does not compile at offset %zu: %s",
                line, ua_list_names[list], L->n + 1, (size_t) erroff,
                (const char *) msg);
        return -1;
    }

    /*
     * JIT when available; fall back silently to the interpreter. -DUA_NO_JIT:
     * never JIT (for valgrind, which cannot see through JIT code: it reports
     * its reads of the JIT stack as uninitialised).
     */
#ifdef UA_NO_JIT
    rule->jit = 0;
#else
    rule->jit = pcre2_jit_compile(rule->code, PCRE2_JIT_COMPLETE) == 0;
#endif
    rule->pf = ua_pf_build(regex);  /* NULL is fine: always run */
    pcre2_pattern_info(rule->code, PCRE2_INFO_CAPTURECOUNT, &ncap);
    if (ncap + 1 > db->max_pairs)
        db->max_pairs = ncap + 1;
    for (r = 0; r < NREPL; r++)
    {
        rule->repl[r] = repl[r];
        repl[r] = NULL;
    }
    L->n++;
    return 0;
}

void
ua_db_free(ua_db *db)
{
    int         l;
    size_t      i;
    int         r;

    if (db == NULL)
        return;
    for (l = 0; l < NLISTS; l++)
    {
        for (i = 0; i < db->lists[l].n; i++)
        {
            pcre2_code_free(db->lists[l].rules[i].code);
            free(db->lists[l].rules[i].pf);
            for (r = 0; r < NREPL; r++)
                free(db->lists[l].rules[i].repl[r]);
        }
        free(db->lists[l].rules);
    }
    pcre2_match_context_free(db->mctx);
    free(db);
}

void
ua_db_stats(const ua_db *db, size_t *n_ua, size_t *n_os, size_t *n_device,
            size_t *n_jit, size_t *n_prefiltered)
{
    size_t      nj = 0,
                np = 0,
                i;
    int         l;

    for (l = 0; db != NULL && l < NLISTS; l++)
        for (i = 0; i < db->lists[l].n; i++)
        {
            nj += db->lists[l].rules[i].jit ? 1 : 0;
            np += db->lists[l].rules[i].pf != NULL ? 1 : 0;
        }
    if (n_ua)
        *n_ua = db ? db->lists[LIST_UA].n : 0;
    if (n_os)
        *n_os = db ? db->lists[LIST_OS].n : 0;
    if (n_device)
        *n_device = db ? db->lists[LIST_DEVICE].n : 0;
    if (n_jit)
        *n_jit = nj;
    if (n_prefiltered)
        *n_prefiltered = np;
}

/* ------------------------------------------------------------------ */
/* matching                                                             */
/* ------------------------------------------------------------------ */

/* Span of capture group g, or NULL (group absent or unset). */
static const char *
group(const char *subj, const PCRE2_SIZE *ov, int rc, int g, size_t *n)
{
    if (g < 1 || g >= rc || ov[2 * g] == PCRE2_UNSET)
    {
        *n = 0;
        return NULL;
    }
    *n = ov[2 * g + 1] - ov[2 * g];
    return subj + ov[2 * g];
}

/*
 * Expand a replacement template into tmp (capacity cap, truncated).
 * only_1: browser-family semantics (only "$1" is substituted); otherwise
 * "$0".."$9" are.  Returns the length written (tmp is not terminated).
 */
static size_t
expand(const char *tmpl, const char *subj, const PCRE2_SIZE *ov, int rc,
       int only_1, char *tmp, size_t cap)
{
    size_t      o = 0;
    const char *t;

    for (t = tmpl; *t != '\0'; t++)
    {
        if (t[0] == '$' && t[1] >= '0' && t[1] <= '9' &&
            (!only_1 || t[1] == '1'))
        {
            size_t      gn;
            const char *gs = group(subj, ov, rc, t[1] - '0', &gn);

            if (gs != NULL)
            {
                if (gn > cap - o)
                    gn = cap - o;
                memcpy(tmp + o, gs, gn);
                o += gn;
            }
            t++;
            continue;
        }
        if (o < cap)
            tmp[o++] = *t;
    }
    return o;
}

/*
 * Evaluate replacement slot r of a matched rule into dst.  dflt_group: the
 * template used when the entry has none ("$1" as group 1, or 0 for "none").
 * Returns 1 when the value is non-empty, else 0 (dst = "").
 */
static int
fill(char *dst, const ua_rule *rule, int r, int dflt_group, int only_1,
     int trim, const char *subj, const PCRE2_SIZE *ov, int rc)
{
    char        tmp[512];
    const char *s = tmp;
    size_t      n;

    if (rule->repl[r] != NULL)
        n = expand(rule->repl[r], subj, ov, rc, only_1, tmp, sizeof(tmp));
    else if (dflt_group > 0)
    {
        s = group(subj, ov, rc, dflt_group, &n);
        if (s == NULL)
            n = 0;
    }
    else
        n = 0;
    if (trim)
        trim_span(&s, &n);
    if (n == 0)
    {
        dst[0] = '\0';
        return 0;
    }
    copy_utf8(dst, UA_FIELD_LEN, s, n, 0);
    return dst[0] != '\0';
}

/* Run one rule; > 0 on a match (the pcre2 return code), else <= 0. */
static int
run_rule(const ua_db *db, const ua_rule *rule, const char *subj, size_t n,
         pcre2_match_data *md)
{
    int         rc;

    if (rule->jit)
        rc = pcre2_jit_match(rule->code, (PCRE2_SPTR) subj, n, 0, 0, md,
                             db->mctx);
    else
        rc = pcre2_match(rule->code, (PCRE2_SPTR) subj, n, 0, 0, md,
                         db->mctx);
    if (rc == 0)                /* ovector too small: cannot happen, it is */
        rc = (int) pcre2_get_ovector_count(md); /* sized for all rules */
    return rc;
}

#ifdef UA_VERIFY_PREFILTER
/* Check the prefilter: no rule it rejects may match (abort() if one does). */
static void
pf_verify(const ua_db *db, const char *subj, size_t n, const pf_grams *g)
{
    pcre2_match_data *md = pcre2_match_data_create(db->max_pairs, NULL);
    int         l;
    size_t      i;

    if (md == NULL)
        return;
    for (l = 0; l < NLISTS; l++)
        for (i = 0; i < db->lists[l].n; i++)
            if (!ua_pf_pass(db->lists[l].rules[i].pf, g) &&
                run_rule(db, &db->lists[l].rules[i], subj, n, md) > 0)
            {
                fprintf(stderr, "useragent: prefilter rejected a matching regex (%s #%zu)\n",
                        ua_list_names[l], i + 1);
                abort();
            }
    pcre2_match_data_free(md);
}
#endif

/* First rule of list l that matches subj[0..n); -1 when none. */
static long
first_match(const ua_db *db, int l, const char *subj, size_t n,
            const pf_grams *g, pcre2_match_data *md, int *rcp)
{
    const ua_list *L = &db->lists[l];
    size_t      i;

    for (i = 0; i < L->n; i++)
    {
        const ua_rule *rule = &L->rules[i];
        int         rc;

        if (!ua_pf_pass(rule->pf, g))
            continue;
        rc = run_rule(db, rule, subj, n, md);
        if (rc > 0)
        {
            *rcp = rc;
            return (long) i;
        }
        /* PCRE2_ERROR_NOMATCH, or a limit / error: no match */
    }
    return -1;
}

static void
raw_other(ua_raw *out)
{
    strcpy(out->browser_family, "Other");
    strcpy(out->os_family, "Other");
    strcpy(out->device_family, "Other");
    out->device_brand[0] = '\0';
    out->device_model[0] = '\0';
}

int
ua_parse_raw(const ua_db *db, const char *ua, size_t len, ua_raw *out)
{
    pcre2_match_data *md;
    const PCRE2_SIZE *ov;
    pf_grams    g;
    size_t      n;
    long        i;
    int         rc;

    if (out == NULL)
        return -1;
    raw_other(out);
    if (db == NULL || (ua == NULL && len > 0))
        return -1;
    n = effective_len(ua, len);
    if (ua == NULL)
        ua = "";
    md = pcre2_match_data_create(db->max_pairs, NULL);
    if (md == NULL)
        return -1;
    ov = pcre2_get_ovector_pointer(md);
    ua_pf_bitmap(ua, n, &g);
#ifdef UA_VERIFY_PREFILTER
    pf_verify(db, ua, n, &g);
#endif

    /* browser: family_replacement with "$1" only, untrimmed */
    i = first_match(db, LIST_UA, ua, n, &g, md, &rc);
    if (i >= 0 &&
        !fill(out->browser_family, &db->lists[LIST_UA].rules[i], R_FAMILY, 1,
              1, 0, ua, ov, rc))
        strcpy(out->browser_family, "Other");

    /* OS: os_replacement with $0..$9, trimmed */
    i = first_match(db, LIST_OS, ua, n, &g, md, &rc);
    if (i >= 0 &&
        !fill(out->os_family, &db->lists[LIST_OS].rules[i], R_FAMILY, 1, 0, 1,
              ua, ov, rc))
        strcpy(out->os_family, "Other");

    /* device: family (default $1), brand (default none), model (default $1) */
    i = first_match(db, LIST_DEVICE, ua, n, &g, md, &rc);
    if (i >= 0)
    {
        const ua_rule *rule = &db->lists[LIST_DEVICE].rules[i];

        if (!fill(out->device_family, rule, R_FAMILY, 1, 0, 1, ua, ov, rc))
            strcpy(out->device_family, "Other");
        fill(out->device_brand, rule, R_BRAND, 0, 0, 1, ua, ov, rc);
        fill(out->device_model, rule, R_MODEL, 1, 0, 1, ua, ov, rc);
    }
    pcre2_match_data_free(md);
    return 0;
}

/* ------------------------------------------------------------------ */
/* FOLDING TABLE                                                        */
/* ------------------------------------------------------------------ */

/*
 * Raw ua-parser family -> data-model value (README).  The first row that matches
 * wins (rows are tried in order): FOLD_EXACT compares the whole family,
 * FOLD_PREFIX its beginning (case-sensitive, as ua-parser spells them).
 * A family that no row matches is lower-cased (ASCII letters only) and
 * trimmed: "Yandex Browser" -> "yandex browser", "UC Browser" ->
 * "uc browser", "Googlebot" -> "googlebot".  "Other" and "" -> "unknown".
 *
 * Browser:
 *   Chrome, Chrome Mobile, Chrome Mobile iOS, Chrome Mobile WebView,
 *   Chrome Frame, Chromium                          -> chrome
 *   HeadlessChrome                                  -> headless chrome
 *   Firefox* (Firefox Mobile, Firefox iOS, Firefox Beta, Firefox Alpha,
 *   "Firefox (Minefield)", ...), Fennec             -> firefox
 *   Safari, Mobile Safari, Mobile Safari UI/WKWebView (iOS in-app web
 *   views and the native AppleCoreMedia player), MobileSafari -> safari
 *   Edge, Edge Mobile                               -> edge
 *   Opera* (Opera Mini, Opera Mobile, Opera Tablet, Opera Coast,
 *   Opera Neon, ...)                                -> opera
 *   Samsung Internet                                -> samsung internet
 *   IE, IE Mobile, IE Large Screen                  -> internet explorer
 *   Android (the pre-Chrome AOSP browser)           -> android browser
 *   Other                                           -> unknown
 *
 * Operating system:
 *   Windows Phone, Windows Mobile                   -> windows phone
 *   Windows CE                                      -> windows ce
 *   Windows* (every other Windows: ua-parser >= 0.16 reports "Windows",
 *   older versions "Windows 10", "Windows XP", "Windows RT 8.1", ...)
 *                                                   -> windows
 *   Mac OS X                                        -> mac osx
 *   Mac OS (classic, PowerPC)                       -> mac os
 *   iOS                                             -> ios
 *   ATV OS X, tvOS (Apple TV)                       -> tvos
 *   WatchOS                                         -> watchos
 *   Android                                         -> android
 *   Chrome OS                                       -> chrome os
 *   Linux, Ubuntu, Kubuntu, Lubuntu, Xubuntu, Debian, Fedora, Red Hat,
 *   CentOS, SUSE, openSUSE, Slackware, Gentoo, Mandriva, Mageia,
 *   Linux Mint, Arch Linux, PCLinuxOS, Puppy, BackTrack -> linux
 *   Web0S, webOS                                    -> webos
 *   Symbian* (Symbian OS, Symbian^3, Symbian^3 Anna/Belle) -> symbian
 *   Other                                           -> unknown
 *   (others lower-cased: "tizen", "blackberry os", "kaios", "freebsd",
 *   "chromecast", "roku", ...)
 */
typedef enum
{
    FOLD_EXACT,
    FOLD_PREFIX
} fold_kind;

typedef struct fold_row
{
    fold_kind   kind;
    const char *raw;
    const char *folded;
} fold_row;

static const fold_row browser_fold[] = {
    {FOLD_EXACT, "Other", "unknown"},
    {FOLD_EXACT, "Chrome", "chrome"},
    {FOLD_EXACT, "Chrome Mobile", "chrome"},
    {FOLD_EXACT, "Chrome Mobile iOS", "chrome"},
    {FOLD_EXACT, "Chrome Mobile WebView", "chrome"},
    {FOLD_EXACT, "Chrome Frame", "chrome"},
    {FOLD_EXACT, "Chromium", "chrome"},
    {FOLD_EXACT, "HeadlessChrome", "headless chrome"},
    {FOLD_PREFIX, "Firefox", "firefox"},
    {FOLD_EXACT, "Fennec", "firefox"},
    {FOLD_EXACT, "Safari", "safari"},
    {FOLD_EXACT, "Mobile Safari", "safari"},
    {FOLD_EXACT, "Mobile Safari UI/WKWebView", "safari"},
    {FOLD_EXACT, "MobileSafari", "safari"},
    {FOLD_EXACT, "Edge", "edge"},
    {FOLD_EXACT, "Edge Mobile", "edge"},
    {FOLD_PREFIX, "Opera", "opera"},
    {FOLD_EXACT, "Samsung Internet", "samsung internet"},
    {FOLD_EXACT, "IE", "internet explorer"},
    {FOLD_EXACT, "IE Mobile", "internet explorer"},
    {FOLD_EXACT, "IE Large Screen", "internet explorer"},
    {FOLD_EXACT, "Android", "android browser"},
};

static const fold_row os_fold[] = {
    {FOLD_EXACT, "Other", "unknown"},
    {FOLD_EXACT, "Windows Phone", "windows phone"},
    {FOLD_EXACT, "Windows Mobile", "windows phone"},
    {FOLD_EXACT, "Windows CE", "windows ce"},
    {FOLD_PREFIX, "Windows", "windows"},
    {FOLD_EXACT, "Mac OS X", "mac osx"},
    {FOLD_EXACT, "Mac OS", "mac os"},
    {FOLD_EXACT, "iOS", "ios"},
    {FOLD_EXACT, "ATV OS X", "tvos"},
    {FOLD_EXACT, "tvOS", "tvos"},
    {FOLD_EXACT, "WatchOS", "watchos"},
    {FOLD_EXACT, "Android", "android"},
    {FOLD_EXACT, "Chrome OS", "chrome os"},
    {FOLD_EXACT, "Linux", "linux"},
    {FOLD_EXACT, "Ubuntu", "linux"},
    {FOLD_EXACT, "Kubuntu", "linux"},
    {FOLD_EXACT, "Lubuntu", "linux"},
    {FOLD_EXACT, "Xubuntu", "linux"},
    {FOLD_EXACT, "Debian", "linux"},
    {FOLD_EXACT, "Fedora", "linux"},
    {FOLD_EXACT, "Red Hat", "linux"},
    {FOLD_EXACT, "CentOS", "linux"},
    {FOLD_EXACT, "SUSE", "linux"},
    {FOLD_EXACT, "openSUSE", "linux"},
    {FOLD_EXACT, "Slackware", "linux"},
    {FOLD_EXACT, "Gentoo", "linux"},
    {FOLD_EXACT, "Mandriva", "linux"},
    {FOLD_EXACT, "Mageia", "linux"},
    {FOLD_EXACT, "Linux Mint", "linux"},
    {FOLD_EXACT, "Arch Linux", "linux"},
    {FOLD_EXACT, "PCLinuxOS", "linux"},
    {FOLD_EXACT, "Puppy", "linux"},
    {FOLD_EXACT, "BackTrack", "linux"},
    {FOLD_EXACT, "Web0S", "webos"},
    {FOLD_EXACT, "webOS", "webos"},
    {FOLD_PREFIX, "Symbian", "symbian"},
};

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

static const char *
fold_family(const fold_row *rows, size_t nrows, const char *family,
            char *buf, size_t buflen)
{
    const char *s;
    size_t      n,
                i;

    if (family == NULL)
        return "unknown";
    s = family;
    n = strlen(family);
    trim_span(&s, &n);
    if (n == 0)
        return "unknown";
    for (i = 0; i < nrows; i++)
    {
        size_t      rl = strlen(rows[i].raw);

        if (rows[i].kind == FOLD_EXACT ? (rl == n && memcmp(s, rows[i].raw, n) == 0)
            : (rl <= n && memcmp(s, rows[i].raw, rl) == 0))
            return rows[i].folded;
    }
    if (buf == NULL || buflen < 2)
        return "unknown";
    copy_utf8(buf, buflen, s, n, 1);
    return buf[0] != '\0' ? buf : "unknown";
}

const char *
ua_fold_browser(const char *family, char *buf, size_t buflen)
{
    return fold_family(browser_fold, NROWS(browser_fold), family, buf, buflen);
}

const char *
ua_fold_os(const char *family, char *buf, size_t buflen)
{
    return fold_family(os_fold, NROWS(os_fold), family, buf, buflen);
}

/* ------------------------------------------------------------------ */
/* DEVICE TYPE RULES                                                    */
/* ------------------------------------------------------------------ */

/*
 * From the raw ua-parser result (device family/brand/model, OS and browser
 * family) and the agent itself (same NUL / UA_MAX_INPUT handling as the
 * matching).  The first rule that applies wins.  "UA has X" means the agent
 * contains X, case-sensitively.
 *
 *  1 unknown   the agent is empty or only white space; ua-parser device
 *              family "Spider" (its bot list: Googlebot, bingbot, ...); a
 *              browser family containing "bot", "spider" or "crawler" in any
 *              case (YandexBot, FacebookBot, ...)
 *  2 wearable  device family or model containing "Watch" (Apple Watch,
 *              Pixel Watch, Galaxy Watch); OS WatchOS; UA has "watchOS",
 *              "Wear OS", "WearOS" or "SmartWatch"; UA has "Tizen" and a
 *              Samsung watch model "SM-R"
 *  3 console   UA has "PlayStation", "PLAYSTATION", "Playstation", "Xbox",
 *              "XBOX" or "Nintendo"; device brand Nintendo; device family
 *              starting with "PlayStation" or "Nintendo"
 *  4 tv        UA has, in any case, "smart-tv", "smarttv", "smart tv",
 *              "hbbtv", "netcast", "web0s", "appletv", "apple tv",
 *              "android tv", "androidtv", "googletv", "google tv",
 *              "crkey", "chromecast", "philipstv", "nettv" (also InettvBrowser,
 *              TSBNetTV), "tizen tv", "tv safari", "opera tv"; UA has "Roku",
 *              "tvOS", "BRAVIA", "VIDAA", "MiTV", "MIBOX", "TiVo" or an
 *              Amazon Fire TV model (" AFT" or ";AFT" followed by an
 *              upper-case letter: AFTMM, AFTKA, ...); OS ATV OS X, tvOS,
 *              Chromecast,
 *              Roku, GoogleTV, WebTV, FireHbbTV, Web0S; device family
 *              AppleTV, Inettv, HbbTV, Roku; device brand Generic_Inettv
 *  5 tablet    device family or model starting with "iPad", or UA has
 *              "iPad"; device family "Generic Tablet" or brand
 *              Generic_Android_Tablet; device family starting with "Kindle"
 *              (Kindle Fire / e-readers); UA has "PlayBook"; OS BlackBerry
 *              Tablet OS; UA has "Tablet" and the OS is not Windows (old
 *              desktop IE says "Tablet PC"); OS Android, a browser agent
 *              (UA has "Mozilla/" or "Opera/") without "Mobi" or "Opera Mini"
 *              (Chrome and Samsung Internet on tablets omit "Mobile"); OS
 *              Android, an app agent (Dalvik, okhttp, players:
 *              no "Mozilla/") whose device family or model contains "Tab" or
 *              "Pad"
 *  6 phone     device family or model starting with "iPhone" or "iPod", or
 *              UA has "iPhone" or "iPod"; device brand Generic with model
 *              Smartphone or Feature Phone; OS Android (every Android agent
 *              rule 5 did not take); OS iOS (not an iPad); OS Windows Phone,
 *              Windows Mobile, Windows CE, BlackBerry OS, KaiOS, Firefox OS,
 *              Sailfish, Bada, MeeGo, Maemo, Tizen, webOS, BREW, Brew MP,
 *              Nokia Series 40, Nokia Series 30 Plus, or starting with
 *              "Symbian"; UA has "Mobi" or "Opera Mini"
 *  7 computer  folded OS windows, mac osx, mac os, linux, chrome os,
 *              freebsd, openbsd, netbsd, bsd, solaris; device family "Mac"
 *  8 unknown   anything else (curl, python-requests, unidentified apps,
 *              garbage)
 *
 * Known limits: iPadOS in "desktop mode" says Macintosh (computer); Android
 * TV devices whose agent names no TV token look like phones or tablets;
 * Android app agents without a tablet-looking model are phones.
 */

/* Does s[0..n) contain lit (case-sensitive)? */
static int
has_lit(const char *s, size_t n, const char *lit)
{
    size_t      m = strlen(lit);
    const char *p = s,
               *end = s + n;

    if (m == 0)
        return 1;
    while ((size_t) (end - p) >= m)
    {
        p = memchr(p, lit[0], (size_t) (end - p) - m + 1);
        if (p == NULL)
            return 0;
        if (memcmp(p, lit, m) == 0)
            return 1;
        p++;
    }
    return 0;
}

static int
has_any(const char *s, size_t n, const char *const *lits)
{
    for (; *lits != NULL; lits++)
        if (has_lit(s, n, *lits))
            return 1;
    return 0;
}

static int
str_in(const char *s, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

static int
starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int
contains(const char *s, const char *lit)
{
    return strstr(s, lit) != NULL;
}

/* Amazon Fire TV model in the agent: " AFT" or ";AFT" + upper-case letter. */
static int
has_fire_tv(const char *s, size_t n)
{
    size_t      i;

    for (i = 1; i + 4 <= n; i++)
        if (s[i] == 'A' && s[i + 1] == 'F' && s[i + 2] == 'T' &&
            (s[i - 1] == ' ' || s[i - 1] == ';') &&
            s[i + 3] >= 'A' && s[i + 3] <= 'Z')
            return 1;
    return 0;
}

static const char *const tv_tokens_ci[] = { /* lower case: any case */
    "smart-tv", "smarttv", "smart tv", "hbbtv", "netcast", "web0s",
    "appletv", "apple tv", "android tv", "androidtv", "googletv",
    "google tv", "crkey", "chromecast", "philipstv", "nettv", "tizen tv",
    "tv safari", "opera tv", NULL
};
static const char *const tv_tokens[] = {    /* case-sensitive */
    "Roku", "tvOS", "BRAVIA", "VIDAA", "MiTV", "MIBOX", "TiVo", NULL
};
static const char *const tv_os[] = {
    "ATV OS X", "tvOS", "Chromecast", "Roku", "GoogleTV", "WebTV",
    "FireHbbTV", "Web0S", NULL
};
static const char *const tv_device[] = {
    "AppleTV", "Inettv", "HbbTV", "Roku", NULL
};
static const char *const console_tokens[] = {
    "PlayStation", "PLAYSTATION", "Playstation", "Xbox", "XBOX", "Nintendo",
    NULL
};
static const char *const wearable_tokens[] = {
    "watchOS", "Wear OS", "WearOS", "SmartWatch", NULL
};
static const char *const phone_os[] = {
    "iOS", "Windows Phone", "Windows Mobile", "Windows CE", "BlackBerry OS",
    "KaiOS", "Firefox OS", "Sailfish", "Bada", "MeeGo", "Maemo", "Tizen",
    "webOS", "BREW", "Brew MP", "Nokia Series 40", "Nokia Series 30 Plus",
    NULL
};
static const char *const computer_os[] = {
    "windows", "mac osx", "mac os", "linux", "chrome os", "freebsd",
    "openbsd", "netbsd", "bsd", "solaris", NULL
};
static const char *const bot_words_ci[] = {"bot", "spider", "crawler", NULL};

const char *
ua_device_type(const ua_raw *raw, const char *ua, size_t len)
{
    size_t      n = effective_len(ua, len);
    const char *s = ua;
    const char *fam,
               *brand,
               *model,
               *os;
    char        osbuf[UA_FIELD_LEN];
    char        lower[UA_MAX_INPUT];    /* the agent, ASCII-lower-cased */
    char        fam_lower[UA_FIELD_LEN];
    const char *osf;
    int         android,
                browser_agent,
                mobi;
    size_t      i;

    if (raw == NULL)
        return "unknown";
    if (s == NULL)
        s = "";
    trim_span(&s, &n);
    fam = raw->device_family;
    brand = raw->device_brand;
    model = raw->device_model;
    os = raw->os_family;
    for (i = 0; i < n; i++)
        lower[i] = (char) to_lower((unsigned char) s[i]);
    for (i = 0; raw->browser_family[i] != '\0' && i + 1 < sizeof(fam_lower); i++)
        fam_lower[i] = (char) to_lower((unsigned char) raw->browser_family[i]);
    fam_lower[i] = '\0';

    /* 1 bots and empty agents */
    if (n == 0 || strcmp(fam, "Spider") == 0 ||
        has_any(fam_lower, strlen(fam_lower), bot_words_ci))
        return "unknown";

    /* 2 wearables */
    if (contains(fam, "Watch") || contains(model, "Watch") ||
        strcmp(os, "WatchOS") == 0 || has_any(s, n, wearable_tokens) ||
        (has_lit(s, n, "Tizen") && has_lit(s, n, "SM-R")))
        return "wearable";

    /* 3 consoles */
    if (has_any(s, n, console_tokens) || strcmp(brand, "Nintendo") == 0 ||
        starts(fam, "PlayStation") || starts(fam, "Nintendo"))
        return "console";

    /* 4 TVs and TV boxes */
    if (has_any(lower, n, tv_tokens_ci) || has_any(s, n, tv_tokens) ||
        has_fire_tv(s, n) ||
        str_in(os, tv_os) || str_in(fam, tv_device) ||
        strcmp(brand, "Generic_Inettv") == 0)
        return "tv";

    /* 5 tablets */
    android = strcmp(os, "Android") == 0;
    browser_agent = has_lit(s, n, "Mozilla/") || has_lit(s, n, "Opera/");
    mobi = has_lit(s, n, "Mobi") || has_lit(s, n, "Opera Mini");
    if (starts(fam, "iPad") || starts(model, "iPad") ||
        has_lit(s, n, "iPad") ||
        strcmp(fam, "Generic Tablet") == 0 ||
        strcmp(brand, "Generic_Android_Tablet") == 0 ||
        starts(fam, "Kindle") || has_lit(s, n, "PlayBook") ||
        strcmp(os, "BlackBerry Tablet OS") == 0 ||
        (has_lit(s, n, "Tablet") && !starts(os, "Windows")) ||
        (android && browser_agent && !mobi) ||
        (android && !browser_agent &&
         (contains(fam, "Tab") || contains(fam, "Pad") ||
          contains(model, "Tab") || contains(model, "Pad"))))
        return "tablet";

    /* 6 phones */
    if (starts(fam, "iPhone") || starts(fam, "iPod") ||
        starts(model, "iPhone") || starts(model, "iPod") ||
        has_lit(s, n, "iPhone") || has_lit(s, n, "iPod") ||
        (strcmp(brand, "Generic") == 0 &&
         (strcmp(model, "Smartphone") == 0 ||
          strcmp(model, "Feature Phone") == 0)) ||
        android || str_in(os, phone_os) || starts(os, "Symbian") || mobi)
        return "phone";

    /* 7 computers */
    osf = ua_fold_os(os, osbuf, sizeof(osbuf));
    if (str_in(osf, computer_os) || strcmp(fam, "Mac") == 0)
        return "computer";

    /* 8 */
    return "unknown";
}

int
ua_fold(const ua_raw *raw, const char *ua, size_t len, ua_result *out,
        char *buf, size_t buflen)
{
    if (out == NULL)
        return -1;
    out->device_type = "unknown";
    out->operating_system = "unknown";
    out->browser = "unknown";
    if (raw == NULL || (ua == NULL && len > 0) || buf == NULL ||
        buflen < UA_PARSE_BUFLEN)
        return -1;
    out->browser = ua_fold_browser(raw->browser_family, buf, UA_FIELD_LEN);
    out->operating_system = ua_fold_os(raw->os_family, buf + UA_FIELD_LEN,
                                       UA_FIELD_LEN);
    out->device_type = ua_device_type(raw, ua, len);
    return 0;
}

int
ua_parse(const ua_db *db, const char *ua, size_t len, ua_result *out,
         char *buf, size_t buflen)
{
    ua_raw      raw;

    if (out == NULL)
        return -1;
    out->device_type = "unknown";
    out->operating_system = "unknown";
    out->browser = "unknown";
    if (buf == NULL || buflen < UA_PARSE_BUFLEN)
        return -1;
    if (ua_parse_raw(db, ua, len, &raw) != 0)
        return -1;
    return ua_fold(&raw, ua, len, out, buf, buflen);
}
