/*
 * fuzz_useragent.c - libFuzzer target for the user-agent parser (src/useragent.c,
 * src/ua_yaml.c, src/ua_prefilter.c).
 *
 * Build and run (outside the repository, e.g. in /tmp):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *       -o /tmp/fuzz_useragent test/fuzz/fuzz_useragent.c src/useragent.c \
 *       src/ua_yaml.c src/ua_prefilter.c \
 *       -lpcre2-8
 *   mkdir -p /tmp/ua_fuzz_corpus && \
 *       /tmp/fuzz_useragent -max_total_time=180 /tmp/ua_fuzz_corpus
 * (add -DUA_VERIFY_PREFILTER to also check the literal prefilter of every
 * regexes.yaml rule on every input; much slower.)
 *
 * The regexes come from $UAP_REGEXES, else /usr/share/uap-core/regexes.yaml,
 * loaded once.  Three modes, chosen by the first input byte:
 *
 *   'P'  pattern mode: "P" pattern NUL agent.  A one-rule regexes file is
 *        built from the pattern (family_replacement 'M') and loaded; if it
 *        loads, the agent is parsed and the browser family must be "M"
 *        exactly when PCRE2 itself (same options, same limits, same JIT
 *        use) matches the pattern against the agent, else "Other".  This
 *        checks the literal prefilter (pf_build) on arbitrary patterns.
 *   'Y'  YAML mode: "Y" text NUL agent.  The text is loaded as a regexes
 *        file (written to /tmp/fuzz_useragent_<pid>.yaml); if it loads, the
 *        agent is parsed.  Exercises the YAML reader and its error paths.
 *   else agent mode: the whole input is an agent for the uap-core db;
 *        ua_parse_raw() and ua_parse() must return 0 with sane output
 *        (known device type, non-empty valid UTF-8 strings that fit).
 */
#define _POSIX_C_SOURCE 200809L
#define PCRE2_CODE_UNIT_WIDTH 8

#include "useragent.h"

#include <pcre2.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ua_db *db;
static char tmp_path[64];

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
        if ((*p == 0xE0 && p[1] < 0xA0) || (*p == 0xED && p[1] >= 0xA0) ||
            (*p == 0xF0 && p[1] < 0x90) || (*p == 0xF4 && p[1] >= 0x90))
            return 0;
        for (i = 1; i <= need; i++)
            if ((p[i] & 0xC0) != 0x80)
                return 0;
        p += need + 1;
    }
    return 1;
}

static void
field_ok(const char *f, int nonempty)
{
    if (memchr(f, '\0', UA_FIELD_LEN) == NULL || !valid_utf8(f) ||
        (nonempty && f[0] == '\0'))
        abort();
}

static void
check_agent(const ua_db *d, const char *ua, size_t len)
{
    ua_raw raw;
    ua_result r;
    char buf[UA_PARSE_BUFLEN];
    static const char *const types[] = {
        "computer", "phone", "tablet", "tv", "console", "wearable", "unknown"
    };
    int i, known = 0;

    if (ua_parse_raw(d, ua, len, &raw) != 0)
        abort();
    field_ok(raw.browser_family, 1);
    field_ok(raw.os_family, 1);
    field_ok(raw.device_family, 1);
    field_ok(raw.device_brand, 0);
    field_ok(raw.device_model, 0);
    if (ua_parse(d, ua, len, &r, buf, sizeof(buf)) != 0)
        abort();
    for (i = 0; i < 7; i++)
        if (strcmp(r.device_type, types[i]) == 0)
            known = 1;
    if (!known || !valid_utf8(r.browser) || !valid_utf8(r.operating_system) ||
        r.browser[0] == '\0' || r.operating_system[0] == '\0' ||
        strlen(r.browser) >= UA_FIELD_LEN ||
        strlen(r.operating_system) >= UA_FIELD_LEN)
        abort();
    /* the same raw result folds the same way */
    {
        ua_result r2;
        char buf2[UA_PARSE_BUFLEN];

        if (ua_fold(&raw, ua, len, &r2, buf2, sizeof(buf2)) != 0 ||
            strcmp(r.device_type, r2.device_type) != 0 ||
            strcmp(r.browser, r2.browser) != 0 ||
            strcmp(r.operating_system, r2.operating_system) != 0)
            abort();
    }
}

static void
cleanup(void)
{
    if (tmp_path[0])
        unlink(tmp_path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *path = getenv("UAP_REGEXES");
    char err[512];

    (void) argc;
    (void) argv;
    if (path == NULL || path[0] == '\0')
        path = "/usr/share/uap-core/regexes.yaml";
    db = ua_db_load(path, err, sizeof(err));
    if (db == NULL)
    {
        fprintf(stderr, "fuzz_useragent: %s\n", err);
        abort();
    }
    snprintf(tmp_path, sizeof(tmp_path), "/tmp/fuzz_useragent_%ld.yaml",
             (long) getpid());
    atexit(cleanup);
    return 0;
}

static ua_db *
load_text(const char *text, size_t n)
{
    FILE *f = fopen(tmp_path, "wb");
    char err[256];

    if (f == NULL)
        return NULL;
    if (fwrite(text, 1, n, f) != n)
    {
        fclose(f);
        return NULL;
    }
    fclose(f);
    return ua_db_load(tmp_path, err, sizeof(err));
}

/* "P" pattern NUL agent */
static void
pattern_mode(const char *p, size_t n)
{
    const char *nul = memchr(p, '\0', n);
    size_t plen = nul ? (size_t) (nul - p) : n;
    const char *agent = nul ? nul + 1 : "";
    size_t alen = nul ? n - plen - 1 : 0;
    char yaml[4096];
    size_t o = 0, i;
    ua_db *d;
    pcre2_code *code;
    int errcode, rc, jit;
    PCRE2_SIZE erroff;
    pcre2_match_data *md;
    pcre2_match_context *mc;
    ua_raw raw;
    const char *nul2 = memchr(agent, '\0', alen);

    if (nul2 != NULL)
        alen = (size_t) (nul2 - agent);
    if (alen > UA_MAX_INPUT)
        alen = UA_MAX_INPUT;
    if (plen == 0 || plen > 512)
        return;
    for (i = 0; i < plen; i++)
        if (p[i] == '\n' || p[i] == '\r')
            return;
    o += (size_t) snprintf(yaml + o, sizeof(yaml) - o,
                           "user_agent_parsers:\n  - regex: '");
    for (i = 0; i < plen; i++)
    {
        if (p[i] == '\'')
            yaml[o++] = '\'';
        yaml[o++] = p[i];
    }
    o += (size_t) snprintf(yaml + o, sizeof(yaml) - o,
                           "'\n    family_replacement: 'M'\n"
                           "os_parsers:\n  - regex: 'x'\n"
                           "device_parsers:\n  - regex: 'y'\n");
    d = load_text(yaml, o);

    /* what PCRE2 says, with the library's options and limits */
    code = pcre2_compile((PCRE2_SPTR) p, plen, PCRE2_NEVER_UTF | PCRE2_NEVER_UCP,
                         &errcode, &erroff, NULL);
    if (code == NULL || memchr(p, '\0', plen) != NULL)
    {
        /* the library must refuse what PCRE2 refuses */
        if (code == NULL && d != NULL)
            abort();
        pcre2_code_free(code);
        ua_db_free(d);
        return;
    }
    if (d == NULL)
        abort();                /* PCRE2 compiles it, so it must load */
    jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    md = pcre2_match_data_create_from_pattern(code, NULL);
    mc = pcre2_match_context_create(NULL);
    pcre2_set_match_limit(mc, UA_MATCH_LIMIT);
    pcre2_set_depth_limit(mc, 10000);
    if (jit)
        rc = pcre2_jit_match(code, (PCRE2_SPTR) agent, alen, 0, 0, md, mc);
    else
        rc = pcre2_match(code, (PCRE2_SPTR) agent, alen, 0, 0, md, mc);
    if (ua_parse_raw(d, agent, alen, &raw) != 0)
        abort();
    if (rc >= 0 && strcmp(raw.browser_family, "M") != 0)
    {
        fprintf(stderr, "prefilter/evaluation lost a match: pattern %.*s\n",
                (int) plen, p);
        abort();
    }
    if (rc == PCRE2_ERROR_NOMATCH && strcmp(raw.browser_family, "Other") != 0)
        abort();
    check_agent(d, agent, alen);
    pcre2_match_context_free(mc);
    pcre2_match_data_free(md);
    pcre2_code_free(code);
    ua_db_free(d);
}

/* "Y" text NUL agent */
static void
yaml_mode(const char *p, size_t n)
{
    const char *nul = memchr(p, '\0', n);
    size_t tlen = nul ? (size_t) (nul - p) : n;
    ua_db *d = load_text(p, tlen);

    if (d != NULL)
    {
        if (nul != NULL)
            check_agent(d, nul + 1, n - tlen - 1);
        check_agent(d, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)", 55);
        ua_db_free(d);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *) data;

    if (size > 0 && s[0] == 'P')
        pattern_mode(s + 1, size - 1);
    else if (size > 0 && s[0] == 'Y')
        yaml_mode(s + 1, size - 1);
    else
        check_agent(db, s, size);
    return 0;
}
