/*
 * unit.h - a tiny assertion helper for the plain-C unit tests.
 *
 * Include it in exactly one translation unit (the counters are static).
 *
 *   CHECK(cond)          passes when cond is true
 *   CHECK_STR(a, b)      passes when both C strings are equal, or both NULL
 *   CHECK_INT(a, b)      passes when both integers (long) are equal
 *   UNIT_REPORT(name)    prints "<name>: N passed, M failed" and evaluates
 *                        to the process exit code (0 when M == 0, else 1)
 *
 * A failing check prints "file:line: ..." with the expression and the actual
 * values on stderr, and the run goes on.
 */
#ifndef ANALYTICS_UNIT_H
#define ANALYTICS_UNIT_H

#include <stdio.h>
#include <string.h>

static long unit_passed;
static long unit_failed;

static inline void
unit_check(int ok, const char *file, int line, const char *expr)
{
    if (ok)
        unit_passed++;
    else
    {
        unit_failed++;
        fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, expr);
    }
}

static inline void
unit_check_str(const char *a, const char *b, const char *file, int line,
               const char *ea, const char *eb)
{
    int ok = (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;

    if (ok)
        unit_passed++;
    else
    {
        unit_failed++;
        fprintf(stderr, "%s:%d: CHECK_STR failed: %s == %s\n"
                "    got:      %s%.300s%s\n    expected: %s%.300s%s\n",
                file, line, ea, eb,
                a ? "\"" : "", a ? a : "NULL", a ? "\"" : "",
                b ? "\"" : "", b ? b : "NULL", b ? "\"" : "");
    }
}

static inline void
unit_check_int(long a, long b, const char *file, int line,
               const char *ea, const char *eb)
{
    if (a == b)
        unit_passed++;
    else
    {
        unit_failed++;
        fprintf(stderr, "%s:%d: CHECK_INT failed: %s == %s (got %ld, expected %ld)\n",
                file, line, ea, eb, a, b);
    }
}

#define CHECK(cond) unit_check((cond) ? 1 : 0, __FILE__, __LINE__, #cond)
#define CHECK_STR(a, b) unit_check_str((a), (b), __FILE__, __LINE__, #a, #b)
#define CHECK_INT(a, b) \
    unit_check_int((long) (a), (long) (b), __FILE__, __LINE__, #a, #b)

#define UNIT_REPORT(name) \
    (printf("%s: %ld passed, %ld failed\n", (name), unit_passed, unit_failed), \
     unit_failed > 0 ? 1 : 0)

#endif /* ANALYTICS_UNIT_H */
