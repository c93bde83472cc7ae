/*
 * test_useragent.c - unit tests for src/useragent.c (user-agent parsing on
 * the uap-core regexes.yaml).
 *
 * Build and run (from the repository root):
 *   gcc -std=c99 -O1 -g -Wall -Wextra -Werror -Isrc \
 *       -o /tmp/test_useragent test/unit/test_useragent.c src/useragent.c \
 *       -lpcre2-8 && /tmp/test_useragent
 * (add -fsanitize=address,undefined -fno-omit-frame-pointer for the
 * sanitizers; -DUA_VERIFY_PREFILTER to both files to also check the literal
 * prefilter on every agent parsed.)
 *
 * Needs the regexes file: $UAP_REGEXES, else /usr/share/uap-core/regexes.yaml
 * (Debian package uap-core).  Writes small scratch YAML files under $TMPDIR
 * (default /tmp) and removes them.
 *
 * Prints exactly one line "useragent: N passed, M failed"; exit status 1 if
 * M > 0 (or if the regexes file cannot be loaded: then M counts that).
 */
#define _POSIX_C_SOURCE 200809L

#include "useragent.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static ua_db *db;

/* ------------------------------------------------------------------ */
/* helpers                                                              */
/* ------------------------------------------------------------------ */

static int
valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *) s;

    while (*p)
    {
        size_t need, i;

        if (*p < 0x80)
        {
            p++;
            continue;
        }
        if (*p >= 0xC2 && *p <= 0xDF)
            need = 1;
        else if (*p >= 0xE0 && *p <= 0xEF)
            need = 2;
        else if (*p >= 0xF0 && *p <= 0xF4)
            need = 3;
        else
            return 0;
        if (*p == 0xE0 && p[1] < 0xA0)
            return 0;
        if (*p == 0xED && p[1] >= 0xA0)
            return 0;
        if (*p == 0xF0 && p[1] < 0x90)
            return 0;
        if (*p == 0xF4 && p[1] >= 0x90)
            return 0;
        for (i = 1; i <= need; i++)
            if ((p[i] & 0xC0) != 0x80)
                return 0;
        p += need + 1;
    }
    return 1;
}

static int
is_device_type(const char *s)
{
    static const char *const types[] = {
        "computer", "phone", "tablet", "tv", "console", "wearable", "unknown",
        NULL
    };
    int i;

    for (i = 0; types[i]; i++)
        if (s != NULL && strcmp(s, types[i]) == 0)
            return 1;
    return 0;
}

/* Every output of a parse is sane: known device type, valid UTF-8, fits. */
static int
result_sane(const ua_result *r, const char *buf, size_t buflen)
{
    (void) buf;
    (void) buflen;
    return r->device_type && r->operating_system && r->browser &&
           is_device_type(r->device_type) &&
           valid_utf8(r->operating_system) && valid_utf8(r->browser) &&
           strlen(r->operating_system) < UA_FIELD_LEN &&
           strlen(r->browser) < UA_FIELD_LEN &&
           r->operating_system[0] != '\0' && r->browser[0] != '\0';
}

static int
raw_sane(const ua_raw *r)
{
    return valid_utf8(r->browser_family) && valid_utf8(r->os_family) &&
           valid_utf8(r->device_family) && valid_utf8(r->device_brand) &&
           valid_utf8(r->device_model) && r->browser_family[0] &&
           r->os_family[0] && r->device_family[0];
}

/* Parse and check the three folded values. */
#define EXPECT(ua, dt, os, br) expect_n((ua), strlen(ua), (dt), (os), (br), __LINE__)

static void
expect_n(const char *ua, size_t len, const char *dt, const char *os,
         const char *br, int line)
{
    ua_result r;
    char buf[UA_PARSE_BUFLEN];
    int rc = ua_parse(db, ua, len, &r, buf, sizeof(buf));

    if (rc != 0 || strcmp(r.device_type, dt) != 0 ||
        strcmp(r.operating_system, os) != 0 || strcmp(r.browser, br) != 0)
    {
        unit_failed++;
        fprintf(stderr, "%s:%d: ua_parse(\"%.160s\")\n"
                "    got:      rc %d, %s / %s / %s\n"
                "    expected: rc 0, %s / %s / %s\n",
                __FILE__, line, ua, rc, r.device_type, r.operating_system,
                r.browser, dt, os, br);
    }
    else
        unit_passed++;
    CHECK(result_sane(&r, buf, sizeof(buf)));
}

static char *
write_temp(const char *content, size_t n)
{
    const char *dir = getenv("TMPDIR");
    char *path = malloc(4096);
    int fd;

    if (path == NULL)
        return NULL;
    snprintf(path, 4096, "%s/test_useragent_XXXXXX", dir && *dir ? dir : "/tmp");
    fd = mkstemp(path);
    if (fd < 0)
    {
        free(path);
        return NULL;
    }
    if (write(fd, content, n) != (ssize_t) n)
    {
        close(fd);
        unlink(path);
        free(path);
        return NULL;
    }
    close(fd);
    return path;
}

/* Load a db from YAML text (n bytes); NULL + err on failure. */
static ua_db *
load_text_n(const char *yaml, size_t n, char *err, size_t errlen)
{
    char *path = write_temp(yaml, n);
    ua_db *d;

    if (path == NULL)
    {
        snprintf(err, errlen, "cannot write a temp file");
        return NULL;
    }
    d = ua_db_load(path, err, errlen);
    unlink(path);
    free(path);
    return d;
}

static ua_db *
load_text(const char *yaml, char *err, size_t errlen)
{
    return load_text_n(yaml, strlen(yaml), err, errlen);
}

static double
now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* the evaluation semantics, on a small hand-written regexes file        */
/* ------------------------------------------------------------------ */

static void
test_semantics(void)
{
    static const char yaml[] =
        "# a comment line\n"
        "user_agent_parsers:\n"
        "  - regex: '(Foo)/(\\d+)'\n"
        "  # comment between entries\n"
        "  - regex: 'Bar/(\\d+)'\n"
        "    family_replacement: 'Bar $1 x$1 $2'\n"
        "    v1_replacement: '9'\n"
        "  - regex: '(Baz)'\n"
        "    family_replacement: 'Fixed'   # trailing comment\n"
        "  - regex: \"(It's) \\\"q\\\"\"\n"
        "  - regex: '(Quote''s)'\n"
        "  - regex: '(Empty)?Nothing'\n"
        "  - regex: '(Win)'\n"
        "os_parsers:\n"
        "  - regex: '(Win)(?: (\\d+)|)'\r\n"
        "    os_replacement: ' $1 $2$9$0 '\r\n"
        "  - regex: 'Blank (x)?'\n"
        "    os_replacement: ' $1 '\n"
        "  - regex: 'Foo'\n"
        "    os_replacement: 'FooOS'\n"
        "device_parsers:\n"
        "  - regex: 'dev(ice)'\n"
        "    regex_flag: 'i'\n"
        "    device_replacement: 'D$1'\n"
        "    brand_replacement: '$2'\n"
        "  - regex: '(Phone)-(\\w+)'\n"
        "    brand_replacement: 'B $2'\n"
        "  - regex: 'Model (\\w+) of (\\w+)'\n"
        "    device_replacement: '$2 $1'\n"
        "    brand_replacement: '$2'\n"
        "    model_replacement: '$1'\n"
        "  -\n"
        "    regex: 'Win'\n"
        "    device_replacement: 'PC'\n"
        "other_list:\n"
        "  - anything: 'ignored'\n"
        "    more: 'x'\n";
    char err[256];
    ua_db *d = load_text(yaml, err, sizeof(err));
    ua_raw r;
    size_t nu, no, nd;

    CHECK(d != NULL);
    if (d == NULL)
    {
        fprintf(stderr, "semantics db: %s\n", err);
        return;
    }
    ua_db_stats(d, &nu, &no, &nd, NULL, NULL);
    CHECK_INT(nu, 7);
    CHECK_INT(no, 3);
    CHECK_INT(nd, 4);

    /* family = group 1 without replacement */
    CHECK_INT(ua_parse_raw(d, "x Foo/12 y", 10, &r), 0);
    CHECK_STR(r.browser_family, "Foo");
    CHECK_STR(r.os_family, "FooOS");
    CHECK_STR(r.device_family, "Other");
    CHECK_STR(r.device_brand, "");
    CHECK_STR(r.device_model, "");

    /* browser family: only $1 is substituted, every occurrence */
    ua_parse_raw(d, "Bar/7", 5, &r);
    CHECK_STR(r.browser_family, "Bar 7 x7 $2");
    /* literal replacement */
    ua_parse_raw(d, "Baz", 3, &r);
    CHECK_STR(r.browser_family, "Fixed");
    /* double-quoted and '' escapes */
    ua_parse_raw(d, "It's \"q\"", 8, &r);
    CHECK_STR(r.browser_family, "It's");
    ua_parse_raw(d, "Quote's", 7, &r);
    CHECK_STR(r.browser_family, "Quote's");
    /* a match whose family is empty is reported as Other */
    ua_parse_raw(d, "Nothing", 7, &r);
    CHECK_STR(r.browser_family, "Other");

    /* OS: $0..$9 substituted (unset / absent groups empty), trimmed */
    ua_parse_raw(d, "Win 10", 6, &r);
    CHECK_STR(r.browser_family, "Win");
    CHECK_STR(r.os_family, "Win 10");
    CHECK_STR(r.device_family, "PC");
    ua_parse_raw(d, "Win", 3, &r);
    CHECK_STR(r.os_family, "Win");
    /* an OS replacement that is empty after trimming: Other */
    ua_parse_raw(d, "Blank ", 6, &r);
    CHECK_STR(r.os_family, "Other");

    /* device: regex_flag 'i', $N in family/brand, model defaults to $1 */
    ua_parse_raw(d, "my DEVICE", 9, &r);
    CHECK_STR(r.device_family, "DICE");
    CHECK_STR(r.device_brand, "");
    CHECK_STR(r.device_model, "ICE");
    ua_parse_raw(d, "Phone-X1", 8, &r);
    CHECK_STR(r.device_family, "Phone");
    CHECK_STR(r.device_brand, "B X1");
    CHECK_STR(r.device_model, "Phone");
    ua_parse_raw(d, "Model S9 of Acme", 16, &r);
    CHECK_STR(r.device_family, "Acme S9");
    CHECK_STR(r.device_brand, "Acme");
    CHECK_STR(r.device_model, "S9");
    /* case-sensitive without the flag */
    ua_parse_raw(d, "phone-x1", 8, &r);
    CHECK_STR(r.device_family, "Other");

    /* nothing matches: Other everywhere */
    ua_parse_raw(d, "zzz", 3, &r);
    CHECK_STR(r.browser_family, "Other");
    CHECK_STR(r.os_family, "Other");
    CHECK_STR(r.device_family, "Other");

    ua_db_free(d);
}

/* ------------------------------------------------------------------ */
/* loader errors                                                        */
/* ------------------------------------------------------------------ */

static void
expect_load_error(const char *yaml, const char *needle, int line)
{
    char err[256];
    ua_db *d;

    err[0] = '\0';
    d = load_text(yaml, err, sizeof(err));
    if (d != NULL || strstr(err, needle) == NULL)
    {
        unit_failed++;
        fprintf(stderr, "%s:%d: load error: got %s \"%s\", expected NULL and \"%s\"\n",
                __FILE__, line, d ? "a db" : "NULL", err, needle);
    }
    else
        unit_passed++;
    ua_db_free(d);
}

static void
test_load_errors(void)
{
    char err[256];
    ua_db *d;
    static const char lists_ok[] =
        "user_agent_parsers:\n  - regex: 'a'\n"
        "os_parsers:\n  - regex: '(b)'\n"
        "device_parsers:\n  - regex: '(c)'\n";

    d = ua_db_load("/nonexistent/regexes.yaml", err, sizeof(err));
    CHECK(d == NULL);
    CHECK(strstr(err, "cannot open") != NULL);
    d = ua_db_load(NULL, err, sizeof(err));
    CHECK(d == NULL);
    /* NULL err buffer is accepted */
    CHECK(ua_db_load("/nonexistent/regexes.yaml", NULL, 0) == NULL);
    ua_db_free(NULL);

    d = load_text(lists_ok, err, sizeof(err));
    CHECK(d != NULL);
    ua_db_free(d);

    expect_load_error("user_agent_parsers:\n  - regex: '(a'\n"
                      "os_parsers:\n  - regex: 'b'\n"
                      "device_parsers:\n  - regex: 'c'\n",
                      "line 2: user_agent_parsers #1: regex does not compile", __LINE__);
    expect_load_error("user_agent_parsers:\n  - regex: 'a'\n"
                      "device_parsers:\n  - regex: 'c'\n",
                      "no os_parsers", __LINE__);
    expect_load_error("", "no user_agent_parsers", __LINE__);
    expect_load_error("user_agent_parsers:\n  - regex: 'a\n", "line 2", __LINE__);
    expect_load_error("user_agent_parsers:\n  - family_replacement: 'x'\n",
                      "entry without regex", __LINE__);
    expect_load_error("user_agent_parsers:\n  - regex: 'a'\n    regex: 'b'\n",
                      "duplicate key", __LINE__);
    expect_load_error("device_parsers:\n  - regex: 'a'\n    regex_flag: 'x'\n",
                      "unknown regex_flag", __LINE__);
    expect_load_error("user_agent_parsers:\n  regex: 'a'\n",
                      "expected '- '", __LINE__);
    expect_load_error("user_agent_parsers:\n  - regex 'a'\n",
                      "expected 'key: value'", __LINE__);
    expect_load_error("  - regex: 'a'\n", "before any top-level key", __LINE__);
    expect_load_error("user_agent_parsers: [1]\n", "unsupported top-level value", __LINE__);
    expect_load_error("user_agent_parsers:\n  - regex: 'a' junk\n", "malformed value", __LINE__);
    expect_load_error("user_agent_parsers:\n  - regex: \"a\\q\"\n", "malformed value", __LINE__);
    expect_load_error("user_agent_parsers:\n\t- regex: 'a'\n", "tab in indentation", __LINE__);
    expect_load_error("user_agent_parsers:\n  - regex: 'a'\nuser_agent_parsers:\n  - regex: 'b'\n",
                      "appears twice", __LINE__);
    {
        static const char withnul[] = "user_agent_parsers:\n  - regex: 'a\0b'\n";

        err[0] = '\0';
        d = load_text_n(withnul, sizeof(withnul) - 1, err, sizeof(err));
        CHECK(d == NULL);
        CHECK(strstr(err, "line 2: NUL byte") != NULL);
    }
    expect_load_error("user_agent_parsers:\n  - regex: \"a\\x00b\"\n", "malformed value", __LINE__);
    /* a UTF-8 byte order mark and CRLF line ends are accepted */
    {
        static const char bom[] =
            "\xEF\xBB\xBFuser_agent_parsers:\r\n  - regex: '(a)'\r\n"
            "os_parsers:\r\n  - regex: '(b)'\r\n"
            "device_parsers:\r\n  - regex: '(c)'\r\n";
        ua_raw r;

        d = load_text(bom, err, sizeof(err));
        CHECK(d != NULL);
        CHECK_INT(ua_parse_raw(d, "abc", 3, &r), 0);
        CHECK_STR(r.browser_family, "a");
        CHECK_STR(r.os_family, "b");
        CHECK_STR(r.device_family, "c");
        CHECK_STR(r.device_model, "c");
        ua_db_free(d);
    }
    /* a small err buffer is cut, not overrun */
    err[0] = 'x';
    d = ua_db_load("/nonexistent/regexes.yaml", err, 8);
    CHECK(d == NULL);
    CHECK_INT(strlen(err), 7);
}

/* ------------------------------------------------------------------ */
/* folding table                                                        */
/* ------------------------------------------------------------------ */

static void
test_folding(void)
{
    char buf[UA_FIELD_LEN], small[5];

    CHECK_STR(ua_fold_browser("Chrome", buf, sizeof(buf)), "chrome");
    CHECK_STR(ua_fold_browser("Chrome Mobile", buf, sizeof(buf)), "chrome");
    CHECK_STR(ua_fold_browser("Chrome Mobile iOS", buf, sizeof(buf)), "chrome");
    CHECK_STR(ua_fold_browser("Chrome Mobile WebView", buf, sizeof(buf)), "chrome");
    CHECK_STR(ua_fold_browser("Chromium", buf, sizeof(buf)), "chrome");
    CHECK_STR(ua_fold_browser("HeadlessChrome", buf, sizeof(buf)), "headless chrome");
    CHECK_STR(ua_fold_browser("Firefox", buf, sizeof(buf)), "firefox");
    CHECK_STR(ua_fold_browser("Firefox Mobile", buf, sizeof(buf)), "firefox");
    CHECK_STR(ua_fold_browser("Firefox iOS", buf, sizeof(buf)), "firefox");
    CHECK_STR(ua_fold_browser("Firefox (Minefield)", buf, sizeof(buf)), "firefox");
    CHECK_STR(ua_fold_browser("Mobile Safari", buf, sizeof(buf)), "safari");
    CHECK_STR(ua_fold_browser("Mobile Safari UI/WKWebView", buf, sizeof(buf)), "safari");
    CHECK_STR(ua_fold_browser("Safari", buf, sizeof(buf)), "safari");
    CHECK_STR(ua_fold_browser("Edge Mobile", buf, sizeof(buf)), "edge");
    CHECK_STR(ua_fold_browser("Opera Mini", buf, sizeof(buf)), "opera");
    CHECK_STR(ua_fold_browser("Opera Mobile", buf, sizeof(buf)), "opera");
    CHECK_STR(ua_fold_browser("Samsung Internet", buf, sizeof(buf)), "samsung internet");
    CHECK_STR(ua_fold_browser("IE", buf, sizeof(buf)), "internet explorer");
    CHECK_STR(ua_fold_browser("IE Mobile", buf, sizeof(buf)), "internet explorer");
    CHECK_STR(ua_fold_browser("Android", buf, sizeof(buf)), "android browser");
    CHECK_STR(ua_fold_browser("Yandex Browser", buf, sizeof(buf)), "yandex browser");
    CHECK_STR(ua_fold_browser("UC Browser", buf, sizeof(buf)), "uc browser");
    CHECK_STR(ua_fold_browser("  Some Thing  ", buf, sizeof(buf)), "some thing");
    CHECK_STR(ua_fold_browser("Other", buf, sizeof(buf)), "unknown");
    CHECK_STR(ua_fold_browser("", buf, sizeof(buf)), "unknown");
    CHECK_STR(ua_fold_browser("   ", buf, sizeof(buf)), "unknown");
    CHECK_STR(ua_fold_browser(NULL, buf, sizeof(buf)), "unknown");
    /* no buffer: table names still fold, others give unknown */
    CHECK_STR(ua_fold_browser("Chrome Mobile", NULL, 0), "chrome");
    CHECK_STR(ua_fold_browser("Vivaldi", NULL, 0), "unknown");
    /* a short buffer cuts on a UTF-8 boundary */
    CHECK_STR(ua_fold_browser("\xC3\x89\xC3\x89\xC3\x89", small, sizeof(small)),
              "\xC3\x89\xC3\x89");
    CHECK_STR(ua_fold_browser("\xC3\x89X\xC3\x89", small, sizeof(small)), "\xC3\x89x");
    /* invalid UTF-8 in a family becomes '?' */
    CHECK_STR(ua_fold_browser("A\xFF" "B", buf, sizeof(buf)), "a?b");

    CHECK_STR(ua_fold_os("Mac OS X", buf, sizeof(buf)), "mac osx");
    CHECK_STR(ua_fold_os("iOS", buf, sizeof(buf)), "ios");
    CHECK_STR(ua_fold_os("Android", buf, sizeof(buf)), "android");
    CHECK_STR(ua_fold_os("Windows", buf, sizeof(buf)), "windows");
    CHECK_STR(ua_fold_os("Windows 10", buf, sizeof(buf)), "windows");
    CHECK_STR(ua_fold_os("Windows XP", buf, sizeof(buf)), "windows");
    CHECK_STR(ua_fold_os("Windows Phone", buf, sizeof(buf)), "windows phone");
    CHECK_STR(ua_fold_os("Windows Mobile", buf, sizeof(buf)), "windows phone");
    CHECK_STR(ua_fold_os("Linux", buf, sizeof(buf)), "linux");
    CHECK_STR(ua_fold_os("Ubuntu", buf, sizeof(buf)), "linux");
    CHECK_STR(ua_fold_os("Fedora", buf, sizeof(buf)), "linux");
    CHECK_STR(ua_fold_os("Red Hat", buf, sizeof(buf)), "linux");
    CHECK_STR(ua_fold_os("Chrome OS", buf, sizeof(buf)), "chrome os");
    CHECK_STR(ua_fold_os("ATV OS X", buf, sizeof(buf)), "tvos");
    CHECK_STR(ua_fold_os("WatchOS", buf, sizeof(buf)), "watchos");
    CHECK_STR(ua_fold_os("Web0S", buf, sizeof(buf)), "webos");
    CHECK_STR(ua_fold_os("Symbian^3 Belle", buf, sizeof(buf)), "symbian");
    CHECK_STR(ua_fold_os("Tizen", buf, sizeof(buf)), "tizen");
    CHECK_STR(ua_fold_os("BlackBerry OS", buf, sizeof(buf)), "blackberry os");
    CHECK_STR(ua_fold_os("Other", buf, sizeof(buf)), "unknown");
    CHECK_STR(ua_fold_os(NULL, buf, sizeof(buf)), "unknown");
}

/* ------------------------------------------------------------------ */
/* real agents, one or more per device class                            */
/* ------------------------------------------------------------------ */

static void
test_agents(void)
{
    /* desktop */
    EXPECT("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
           "computer", "windows", "chrome");
    EXPECT("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
           "computer", "windows", "firefox");
    EXPECT("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
           "computer", "windows", "edge");
    EXPECT("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36 OPR/109.0.0.0",
           "computer", "windows", "opera");
    EXPECT("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 YaBrowser/24.4.0.0 Safari/537.36",
           "computer", "windows", "yandex browser");
    EXPECT("Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
           "computer", "windows", "internet explorer");
    EXPECT("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
           "computer", "mac osx", "safari");
    EXPECT("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
           "computer", "mac osx", "chrome");
    EXPECT("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
           "computer", "mac osx", "firefox");
    EXPECT("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
           "computer", "mac osx", "edge");
    EXPECT("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
           "computer", "linux", "chrome");
    EXPECT("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
           "computer", "linux", "firefox");
    EXPECT("Mozilla/5.0 (X11; Fedora; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
           "computer", "linux", "firefox");
    EXPECT("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
           "computer", "chrome os", "chrome");
    EXPECT("AppleCoreMedia/1.0.0.23E224 (Macintosh; U; Intel Mac OS X 14_4; en_us)",
           "computer", "mac osx", "unknown");

    /* phones */
    EXPECT("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
           "phone", "ios", "safari");
    EXPECT("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
           "phone", "ios", "chrome");
    EXPECT("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15",
           "phone", "ios", "firefox");
    EXPECT("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/460.0.0.36.105;FBBV/580386447]",
           "phone", "ios", "facebook");
    /* the native iOS player (HLS through AVPlayer) */
    EXPECT("AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4_1 like Mac OS X; en_us)",
           "phone", "ios", "safari");
    EXPECT("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
           "phone", "android", "chrome");
    EXPECT("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
           "phone", "android", "samsung internet");
    EXPECT("Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0",
           "phone", "android", "firefox");
    EXPECT("Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230805.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36",
           "phone", "android", "chrome");
    EXPECT("Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36 EdgA/124.0.2478.62",
           "phone", "android", "edge");
    EXPECT("Opera/9.80 (Android; Opera Mini/7.5.33361/31.1350; U; en) Presto/2.8.119 Version/11.10",
           "phone", "android", "opera");
    EXPECT("Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063",
           "phone", "windows phone", "edge");
    EXPECT("Dalvik/2.1.0 (Linux; U; Android 13; SM-G991B Build/TP1A.220624.014)",
           "phone", "android", "android browser");
    EXPECT("Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-130718-i;Android; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5",
           "phone", "kaios", "firefox");

    /* tablets */
    EXPECT("Mozilla/5.0 (iPad; CPU OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
           "tablet", "ios", "safari");
    EXPECT("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
           "tablet", "android", "chrome");
    EXPECT("Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Safari/537.36",
           "tablet", "android", "samsung internet");
    EXPECT("Mozilla/5.0 (Android 13; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0",
           "tablet", "android", "firefox");
    EXPECT("Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/124.2.1 like Chrome/124.0.6367.111 Safari/537.36",
           "tablet", "android", "amazon silk");

    /* TVs */
    EXPECT("Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/6.0 TV Safari/537.36",
           "tv", "tizen", "safari");
    EXPECT("Mozilla/5.0 (SMART-TV; Linux; Tizen 2.3) AppleWebkit/538.1 (KHTML, like Gecko) SamsungBrowser/1.0 TV Safari/538.1",
           "tv", "tizen", "samsung internet");
    EXPECT("Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.88 Safari/537.36 WebAppManager",
           "tv", "webos", "chrome");
    EXPECT("Mozilla/5.0 (Linux; Android 9; SHIELD Android TV Build/PPR1.180610.011; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/110.0.5481.153 Mobile Safari/537.36",
           "tv", "android", "chrome");
    EXPECT("Mozilla/5.0 (Linux; Android 9; AFTKA Build/PS7633.3445N; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/118.0.5993.144 Mobile Safari/537.36",
           "tv", "android", "chrome");
    EXPECT("Mozilla/5.0 (Linux; Android 7.1.2; AFTMM) AppleWebKit/537.36 (KHTML, like Gecko) Silk/123.3.1 like Chrome/123.0.6312.118 Safari/537.36",
           "tv", "android", "amazon silk");
    EXPECT("Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.225 Safari/537.36 CrKey/1.56.500000 DeviceType/Chromecast",
           "tv", "chromecast", "chrome");
    EXPECT("Roku/DVP-12.0 (12.0.0.4182-88)", "tv", "roku", "roku");
    EXPECT("AppleCoreMedia/1.0.0.21L569 (Apple TV; U; CPU OS 17_5 like Mac OS X; en_us)",
           "tv", "tvos", "unknown");
    EXPECT("HbbTV/1.5.1 (+DRM; Samsung; SmartTV2021:UAU7000; T-KSU2EDEUC-1506.4; KantM2; urn:samsungtv:familyname:21_KANTM2_UHD_BASIC:2021;) Tizen/6.0 (+TVPLUS+SmartHubLink) Chrome/76 LaTivu_1.0.1_2021 RVID/4",
           "tv", "tizen", "hbbtv");

    /* consoles */
    EXPECT("Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15",
           "console", "unknown", "safari");
    EXPECT("Mozilla/5.0 (PlayStation 4 5.55) AppleWebKit/601.2 (KHTML, like Gecko)",
           "console", "unknown", "unknown");
    EXPECT("Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox Series X) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/48.0.2564.82 Safari/537.36 Edge/20.02",
           "console", "windows", "edge");
    EXPECT("Mozilla/5.0 (Nintendo Switch; WifiWebAuthApplet) AppleWebKit/606.4 (KHTML, like Gecko) NF/6.0.1.15.4 NintendoBrowser/5.1.0.20393",
           "console", "unknown", "unknown");

    /* wearables (Apple Watch strings from the uap-core test corpus) */
    EXPECT("atc/1.0 watchOS/5.1.3 model/Watch3,4 hwp/t8004 build/16S535 (6; dt:156)",
           "wearable", "watchos", "apple watch app");
    EXPECT("AppleCoreMedia/1.0.0.16R5303d (Apple Watch; U; CPU OS 5_0 like Mac OS X; en_au)",
           "wearable", "ios", "unknown");

    /* bots and tools */
    EXPECT("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
           "unknown", "unknown", "googlebot");
    EXPECT("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.78 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
           "unknown", "android", "googlebot");
    EXPECT("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
           "unknown", "unknown", "bingbot");
    EXPECT("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
           "unknown", "unknown", "yandexbot");
    EXPECT("curl/8.5.0", "unknown", "unknown", "curl");
    EXPECT("python-requests/2.31.0", "unknown", "unknown", "python requests");
    EXPECT("ExoPlayerLib/2.19.1", "unknown", "unknown", "unknown");
}

/* ------------------------------------------------------------------ */
/* hostile and degenerate input                                         */
/* ------------------------------------------------------------------ */

static void
test_edges(void)
{
    static const char chrome_win[] =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
    static const char iphone[] =
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1";
    ua_result r;
    ua_raw raw;
    char buf[UA_PARSE_BUFLEN];
    char *big;
    size_t bigsz = 100 * 1024, i;
    double t0, t1;
    unsigned long seed = 12345;

    /* empty, blank, garbage */
    EXPECT("", "unknown", "unknown", "unknown");
    expect_n(NULL, 0, "unknown", "unknown", "unknown", __LINE__);
    EXPECT("   \t ", "unknown", "unknown", "unknown");
    EXPECT("-", "unknown", "unknown", "unknown");
    EXPECT("asdfghjkl;'[]", "unknown", "unknown", "unknown");
    EXPECT("\x01\x02\x03\x7f", "unknown", "unknown", "unknown");
    EXPECT("(((((((((((((((((((((", "unknown", "unknown", "unknown");
    EXPECT("Mozilla/5.0", "unknown", "unknown", "unknown");

    /* bad arguments */
    CHECK_INT(ua_parse(db, NULL, 5, &r, buf, sizeof(buf)), -1);
    CHECK_STR(r.device_type, "unknown");
    CHECK_STR(r.browser, "unknown");
    CHECK_INT(ua_parse(NULL, "x", 1, &r, buf, sizeof(buf)), -1);
    CHECK_STR(r.operating_system, "unknown");
    CHECK_INT(ua_parse(db, iphone, strlen(iphone), &r, buf, UA_PARSE_BUFLEN - 1), -1);
    CHECK_STR(r.device_type, "unknown");
    CHECK_INT(ua_parse(db, iphone, strlen(iphone), &r, NULL, 0), -1);
    CHECK_INT(ua_parse(db, iphone, strlen(iphone), NULL, buf, sizeof(buf)), -1);
    CHECK_INT(ua_parse_raw(db, iphone, strlen(iphone), NULL), -1);
    CHECK_INT(ua_parse_raw(NULL, iphone, strlen(iphone), &raw), -1);
    CHECK_STR(raw.browser_family, "Other");
    CHECK_INT(ua_fold(NULL, iphone, 3, &r, buf, sizeof(buf)), -1);
    CHECK_STR(r.browser, "unknown");
    CHECK_STR(ua_device_type(NULL, iphone, 3), "unknown");

    /* ua_parse = ua_parse_raw + ua_fold */
    CHECK_INT(ua_parse_raw(db, iphone, strlen(iphone), &raw), 0);
    CHECK_STR(raw.browser_family, "Mobile Safari");
    CHECK_STR(raw.os_family, "iOS");
    CHECK_STR(raw.device_family, "iPhone");
    CHECK_STR(raw.device_brand, "Apple");
    CHECK_STR(raw.device_model, "iPhone");
    CHECK_INT(ua_fold(&raw, iphone, strlen(iphone), &r, buf, sizeof(buf)), 0);
    CHECK_STR(r.device_type, "phone");
    CHECK_STR(ua_device_type(&raw, iphone, strlen(iphone)), "phone");

    /* a NUL ends the agent: what follows it is ignored */
    {
        char withnul[512];
        size_t n1 = strlen(iphone);

        memcpy(withnul, iphone, n1);
        withnul[n1] = '\0';
        memcpy(withnul + n1 + 1, chrome_win, strlen(chrome_win));
        expect_n(withnul, n1 + 1 + strlen(chrome_win), "phone", "ios", "safari", __LINE__);
        /* NUL first: empty agent */
        expect_n("\0Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X)", 40,
                 "unknown", "unknown", "unknown", __LINE__);
    }
    /* len shorter than the string: only len bytes are read */
    expect_n(chrome_win, 11, "unknown", "unknown", "unknown", __LINE__);

    /* invalid UTF-8 around a real agent: matched byte-wise */
    EXPECT("\xFF\xFE\xC0\x80 Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1 \xED\xA0\x80",
           "phone", "ios", "safari");
    /* invalid UTF-8 captured into a device model / browser family: '?' */
    {
        static const char bad[] =
            "Mozilla/5.0 (Linux; Android 13; Zz\xFF\xC3(\xE2\x82 Build/TP1A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36";

        CHECK_INT(ua_parse_raw(db, bad, strlen(bad), &raw), 0);
        CHECK(raw_sane(&raw));
        CHECK_STR(raw.device_model, "Zz?" "?(?" "?");
        expect_n(bad, strlen(bad), "phone", "android", "chrome", __LINE__);
    }
    {
        static const char bad2[] = "\xC3\xA9t\xC3\xA9\xFF/1.0 CFNetwork/1.2 Darwin/3";

        CHECK_INT(ua_parse_raw(db, bad2, strlen(bad2), &raw), 0);
        CHECK(raw_sane(&raw));
        CHECK_STR(raw.browser_family, "\xC3\xA9t\xC3\xA9?");
    }

    /* 100 kB agents */
    big = malloc(bigsz + 1);
    CHECK(big != NULL);
    if (big != NULL)
    {
        /* a real agent followed by 100 kB of filler: the first
         * UA_MAX_INPUT bytes are matched */
        memset(big, 'a', bigsz);
        memcpy(big, chrome_win, strlen(chrome_win));
        big[bigsz] = '\0';
        t0 = now_sec();
        expect_n(big, bigsz, "computer", "windows", "chrome", __LINE__);
        /* the agent beyond the first UA_MAX_INPUT bytes is not seen */
        memset(big, ' ', bigsz);
        memcpy(big + UA_MAX_INPUT, iphone, strlen(iphone));
        expect_n(big, bigsz, "unknown", "unknown", "unknown", __LINE__);
        /* regex-hostile repetitions (from uap-core's redos tests) */
        for (i = 0; i + 6 <= bigsz; i += 6)
            memcpy(big + i, "Mobile", 6);
        memcpy(big, "Mozilla", 7);
        big[bigsz - 1] = '!';
        CHECK_INT(ua_parse(db, big, bigsz, &r, buf, sizeof(buf)), 0);
        CHECK(result_sane(&r, buf, sizeof(buf)));
        memset(big, ' ', bigsz);
        memcpy(big, "HbbTV/0.0.0 (;LGE;", 18);
        big[bigsz - 1] = 'z';
        CHECK_INT(ua_parse(db, big, bigsz, &r, buf, sizeof(buf)), 0);
        CHECK(result_sane(&r, buf, sizeof(buf)));
        memset(big, '0', bigsz);
        memcpy(big, "AppleWebKit/1.", 14);
        big[bigsz - 1] = '!';
        CHECK_INT(ua_parse(db, big, bigsz, &r, buf, sizeof(buf)), 0);
        CHECK(result_sane(&r, buf, sizeof(buf)));
        memset(big, '4', bigsz);
        memcpy(big, ";A Build HuaweiA", 16);
        big[bigsz - 1] = 'z';
        CHECK_INT(ua_parse(db, big, bigsz, &r, buf, sizeof(buf)), 0);
        CHECK(result_sane(&r, buf, sizeof(buf)));
        /* 100 kB of invalid UTF-8 */
        for (i = 0; i < bigsz; i++)
            big[i] = (char) (0x80 + (i * 7) % 0x80);
        CHECK_INT(ua_parse(db, big, bigsz, &r, buf, sizeof(buf)), 0);
        CHECK_STR(r.device_type, "unknown");
        t1 = now_sec();
        /* generous bound: the six parses above take milliseconds */
        CHECK(t1 - t0 < 5.0);
        free(big);
    }

    /* pseudo-random bytes and agent fragments: never crash, sane output */
    for (i = 0; i < 3000; i++)
    {
        char s[300];
        size_t n, k;

        seed = seed * 6364136223846793005UL + 1442695040888963407UL;
        n = (size_t) (seed >> 33) % sizeof(s);
        for (k = 0; k < n; k++)
        {
            seed = seed * 6364136223846793005UL + 1442695040888963407UL;
            if ((seed >> 60) < 8 && k < strlen(iphone))
                s[k] = iphone[k];
            else
                s[k] = (char) (seed >> 40);
        }
        if (ua_parse(db, s, n, &r, buf, sizeof(buf)) != 0 ||
            !result_sane(&r, buf, sizeof(buf)) ||
            ua_parse_raw(db, s, n, &raw) != 0 || !raw_sane(&raw))
        {
            CHECK(!"random agent gave an insane result");
            break;
        }
    }
    CHECK(i == 3000);
}

int
main(void)
{
    const char *path = getenv("UAP_REGEXES");
    char err[512];

    if (path == NULL || path[0] == '\0')
        path = "/usr/share/uap-core/regexes.yaml";
    test_semantics();
    test_load_errors();
    test_folding();

    db = ua_db_load(path, err, sizeof(err));
    if (db == NULL)
    {
        fprintf(stderr, "cannot load %s: %s\n", path, err);
        unit_failed++;
    }
    else
    {
        size_t nu, no, nd, nj, np;

        ua_db_stats(db, &nu, &no, &nd, &nj, &np);
        CHECK(nu > 100 && no > 50 && nd > 100);
        CHECK(np > (nu + no + nd) / 2);
        test_agents();
        test_edges();
        ua_db_free(db);
    }
    return UNIT_REPORT("useragent");
}
