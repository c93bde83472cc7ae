/*
 * useragent.h - user-agent parser on the ua-parser regex database (uap-core)
 *
 * Plain C99 + libc + PCRE2 (8-bit library; link with -lpcre2-8).  No
 * PostgreSQL dependency, so that it can be unit tested and fuzzed on its own;
 * the extension wraps it as analytics.parse_user_agent() (README: Enrichment) and
 * keeps the cache of repeated agents.
 *
 * Two layers:
 *
 *   ua_parse_raw()   evaluates the uap-core regexes.yaml exactly like the
 *                    reference ua-parser implementations and reports the raw
 *                    families ("Chrome Mobile", "Mac OS X", "iPhone", ...,
 *                    "Other" when nothing matches).
 *   ua_fold()        turns a raw result into the values of the README's data model
 *                    (device_type, lower-case operating_system and browser
 *                    families).  ua_parse() = ua_parse_raw() + ua_fold().
 *
 * The folding table and the device-type rules are documented in useragent.c
 * (search for "FOLDING TABLE" and "DEVICE TYPE RULES").
 *
 * Evaluation semantics (mirror uap-python 1.x, the reference):
 *   - each of the three lists (user_agent_parsers, os_parsers,
 *     device_parsers) is tried in file order; the first regex that matches
 *     anywhere in the string (unanchored search) wins for that list;
 *   - matching is case-sensitive except for entries with regex_flag: 'i';
 *   - browser family: family_replacement (default "$1"); every "$1" in it is
 *     replaced by capture group 1, no other substitution, no trimming;
 *   - OS family (os_replacement, default "$1") and device family / brand /
 *     model (device_replacement default "$1", brand_replacement default none,
 *     model_replacement default "$1"): "$0".."$9" are replaced by the capture
 *     group (empty when the group does not exist or did not participate),
 *     then leading/trailing white space is trimmed; an empty result means
 *     "none" (brand/model ""; a family becomes "Other");
 *   - no match in a list: family "Other", brand and model "".
 *
 * Input handling:
 *   - the agent is the bytes [ua, ua + len); it ends at the first NUL byte if
 *     there is one (the rest is ignored), and only its first UA_MAX_INPUT
 *     bytes are matched (longer agents are truncated for matching; real ones
 *     are < 1 kB).  ua may be NULL when len is 0.
 *   - matching is byte-wise (the regexes are compiled without PCRE2_UTF and
 *     with PCRE2_NEVER_UTF), so invalid UTF-8 is just bytes: it never fails
 *     or crashes.  Non-ASCII bytes never match \w, \d or a letter class.
 *   - each regex match has PCRE2 limits (UA_MATCH_LIMIT, UA_DEPTH_LIMIT); a
 *     regex that hits one, or fails for any other reason, counts as "no
 *     match" (the uap-core regexes never come near them on real agents).
 *   - every output string is NUL-terminated, valid UTF-8 (an invalid byte
 *     captured from the agent is replaced by '?') and cut on a character
 *     boundary to fit its UA_FIELD_LEN buffer.
 *
 * Speed: at load time every regex is analysed for literal strings any match
 * must contain; at match time a regex whose literals are absent from the
 * agent (checked on hashed trigrams/bigrams) is not run.  The results are
 * exactly those of running every regex (-DUA_VERIFY_PREFILTER runs the
 * skipped ones anyway and aborts on a match).  Measured with the JIT on one
 * x86-64 core: ~185k instructions (20-35 us) per current browser agent,
 * 30-60k agents/s uncached (3-5x the rate without the prefilter).  Loading
 * takes ~30 ms and ~4 MB.
 * -DUA_NO_JIT disables the PCRE2 JIT (for valgrind runs).
 *
 * Thread safety and state: there is no global mutable state.  A ua_db is
 * immutable once ua_db_load() returns, so one db may be shared by any number
 * of threads calling the parse functions at the same time.  Each parse call
 * allocates (malloc) one PCRE2 match-data block and frees it before
 * returning, and uses ~4 kB of stack (plus PCRE2's 32 kB on-stack JIT stack
 * during a match); the parse functions do not longjmp and never call exit().
 * Memory comes from malloc() (not palloc): keep the db for the life of the
 * backend and free it with ua_db_free().
 */
#ifndef ANALYTICS_USERAGENT_H
#define ANALYTICS_USERAGENT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Size of each string field of ua_raw, NUL included. */
#define UA_FIELD_LEN 64

/* Bytes of the agent that are matched; the rest is ignored. */
#define UA_MAX_INPUT 2048

/* Smallest buf accepted by ua_parse() / ua_fold(). */
#define UA_PARSE_BUFLEN (2 * UA_FIELD_LEN)

/* PCRE2 limits per regex match: backtracking steps (interpreter and JIT),
 * and backtracking depth (interpreter only). */
#define UA_MATCH_LIMIT 200000
#define UA_DEPTH_LIMIT 10000

/* A compiled regexes.yaml (opaque, immutable after loading). */
typedef struct ua_db ua_db;

/*
 * Read the uap-core regexes.yaml at `regexes_yaml_path` and compile every
 * regex with PCRE2 (and the PCRE2 JIT when it is available; without it the
 * interpreter is used, same results, slower).
 *
 * The reader understands the subset of YAML that file uses: top-level keys
 * naming the lists (user_agent_parsers, os_parsers, device_parsers; other
 * top-level keys are skipped), entries "- key: value" followed by
 * "key: value" lines, values single-quoted ('' for a quote), double-quoted
 * (\\ \" \/ \n \t \r \xHH escapes) or plain, comments (#), blank lines,
 * CRLF line ends and a UTF-8 byte order mark; no tabs in indentation, no
 * multi-line values, no NUL bytes.
 * Keys other than regex, regex_flag, family_replacement, os_replacement,
 * device_replacement, brand_replacement and model_replacement (versions)
 * are accepted and ignored.
 *
 * Returns NULL on failure with a message in err (may be NULL; always
 * NUL-terminated when errlen > 0): unreadable file, a line the reader does
 * not understand (with its number), an entry without regex, a regex PCRE2
 * rejects (with its list, index and the PCRE2 message), a list missing or
 * empty, or out of memory.  Loading takes about 30 ms and 4 MB (uap-core
 * 0.16: 1162 regexes, JIT-compiled).
 */
ua_db *ua_db_load(const char *regexes_yaml_path, char *err, size_t errlen);

/* Release a db (NULL is accepted). */
void ua_db_free(ua_db *db);

/* Number of rules per list, of rules the PCRE2 JIT compiled, and of rules
 * with a literal prefilter (see useragent.c); any pointer may be NULL. */
void ua_db_stats(const ua_db *db, size_t *n_ua, size_t *n_os,
                 size_t *n_device, size_t *n_jit, size_t *n_prefiltered);

/*
 * The ua-parser families, as the reference implementations report them:
 * browser_family "Chrome Mobile", os_family "Mac OS X", device_family
 * "iPhone" ...; "Other" for a list where no regex matched.  device_brand and
 * device_model are "" when ua-parser has none.
 */
typedef struct ua_raw
{
    char browser_family[UA_FIELD_LEN];
    char os_family[UA_FIELD_LEN];
    char device_family[UA_FIELD_LEN];
    char device_brand[UA_FIELD_LEN];
    char device_model[UA_FIELD_LEN];
} ua_raw;

/*
 * Parse one agent with the three lists of db.
 * Returns 0 on success.  Returns -1 when db or out is NULL, ua is NULL with
 * len > 0, or memory for the match data cannot be allocated; out (when not
 * NULL) then holds "Other"/""/"" as for an agent nothing matches.
 */
int ua_parse_raw(const ua_db *db, const char *ua, size_t len, ua_raw *out);

/*
 * The values of the README's data model.  Each pointer is either a static string or points
 * into the buf passed to ua_parse()/ua_fold() (so it is valid as long as buf
 * is and until buf is reused).  Never NULL after a call, even a failed one.
 *   device_type       one of "computer" "phone" "tablet" "tv" "console"
 *                     "wearable" "unknown"
 *   operating_system  lower-case OS family, "unknown" when not recognised
 *   browser           lower-case browser family, "unknown" when not
 *                     recognised
 */
typedef struct ua_result
{
    const char *device_type;
    const char *operating_system;
    const char *browser;
} ua_result;

/*
 * ua_parse_raw() + ua_fold().  buf must hold at least UA_PARSE_BUFLEN bytes.
 * Returns 0 on success; -1 on bad arguments (db/out NULL, ua NULL with
 * len > 0, buf NULL or buflen < UA_PARSE_BUFLEN) or out of memory, and then
 * out (when not NULL) is "unknown"/"unknown"/"unknown".
 */
int ua_parse(const ua_db *db, const char *ua, size_t len, ua_result *out,
             char *buf, size_t buflen);

/*
 * Fold a raw result (and the agent it came from, needed by the device-type
 * rules; same NUL/length handling as ua_parse_raw()) into out.
 * buf: at least UA_PARSE_BUFLEN bytes.  Returns 0, or -1 on bad arguments
 * (then out, when not NULL, is all "unknown").
 */
int ua_fold(const ua_raw *raw, const char *ua, size_t len, ua_result *out,
            char *buf, size_t buflen);

/*
 * Fold one raw browser / OS family name (e.g. "Chrome Mobile" -> "chrome",
 * "Mac OS X" -> "mac osx", "Yandex Browser" -> "yandex browser", "Other" or
 * "" or NULL -> "unknown").  Returns a static string or buf (which then holds
 * the lower-cased, trimmed family; buflen >= UA_FIELD_LEN recommended, the
 * result is cut on a UTF-8 boundary to fit; buflen 0 or buf NULL gives
 * "unknown" for names that are not in the table).
 */
const char *ua_fold_browser(const char *family, char *buf, size_t buflen);
const char *ua_fold_os(const char *family, char *buf, size_t buflen);

/*
 * The device type of a raw result (see DEVICE TYPE RULES in useragent.c).
 * raw may not be NULL; ua/len as for ua_parse_raw().  Static string.
 */
const char *ua_device_type(const ua_raw *raw, const char *ua, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* ANALYTICS_USERAGENT_H */
