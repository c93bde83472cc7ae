/*
 * test_iso8601.c - unit tests of src/iso8601.c, the ISO 8601 date-time
 * parser of player pings (emitted_at, session.loaded_at).
 *
 *   make test/unit/test_iso8601 && test/unit/test_iso8601
 *
 * The expected values are seconds since the Unix epoch as given by
 * `date -u -d <timestamp> +%s`, times 10^6, plus the fraction.
 */
#include "iso8601.h"
#include "unit.h"

#include <stdint.h>
#include <string.h>

#define S 1000000LL

/* parse a C string; -999 for a rejected one (no valid answer is -999 us) */
static long long
parse(const char *s)
{
    int64_t us = -999;

    if (!iso8601_parse(s, strlen(s), &us))
        return -999;
    return (long long) us;
}

static void
test_valid(void)
{
    CHECK_INT(parse("2024-05-29T11:00:10Z"), 1716980410LL * S);
    CHECK_INT(parse("2024-05-29T11:00:10.000Z"), 1716980410LL * S);
    CHECK_INT(parse("2024-05-29T11:00:10.5Z"), 1716980410LL * S + 500000);
    CHECK_INT(parse("2024-05-29T11:00:10.123456Z"), 1716980410LL * S + 123456);
    /* digits after the sixth are dropped (truncation, not rounding) */
    CHECK_INT(parse("2024-05-29T11:00:10.123456789Z"), 1716980410LL * S + 123456);
    CHECK_INT(parse("2024-05-29T11:00:10.999999999Z"), 1716980410LL * S + 999999);
    /* lower-case t / z, a space for T */
    CHECK_INT(parse("2024-05-29t11:00:10z"), 1716980410LL * S);
    CHECK_INT(parse("2024-05-29 11:00:10Z"), 1716980410LL * S);
    /* offsets: the same instant written four ways */
    CHECK_INT(parse("2024-05-29T13:00:10+02:00"), 1716980410LL * S);
    CHECK_INT(parse("2024-05-29T13:00:10+0200"), 1716980410LL * S);
    CHECK_INT(parse("2024-05-29T13:00:10+02"), 1716980410LL * S);
    CHECK_INT(parse("2024-05-28T20:30:10-14:30"), 1716980410LL * S);
    CHECK_INT(parse("2024-05-29T11:00:10+00:00"), 1716980410LL * S);
    CHECK_INT(parse("2024-05-29T11:00:10-00:00"), 1716980410LL * S);
    CHECK_INT(parse("2024-05-29T11:00:10.25+05:30"), (1716980410LL - 19800) * S + 250000);
    /* epoch, before it, the ends of the range, leap days */
    CHECK_INT(parse("1970-01-01T00:00:00Z"), 0);
    CHECK_INT(parse("1969-12-31T23:59:59Z"), -1LL * S);
    CHECK_INT(parse("1969-12-31T23:59:59.999999Z"), -1);
    CHECK_INT(parse("0001-01-01T00:00:00Z"), -62135596800LL * S);
    CHECK_INT(parse("9999-12-31T23:59:59Z"), 253402300799LL * S);
    CHECK_INT(parse("2000-02-29T23:59:59Z"), 951868799LL * S);
    CHECK_INT(parse("1600-02-29T12:00:00Z"), -11670955200LL * S);
    CHECK_INT(parse("2100-03-01T00:00:00Z"), 4107542400LL * S);
    CHECK_INT(parse("2024-05-29T00:00:00+15:59"), (1716940800LL - 15 * 3600 - 59 * 60) * S);

    /* only s[0..len) is read: what follows is ignored */
    {
        const char *s = "2024-05-29T11:00:10Zjunk";
        int64_t us = 0;

        CHECK(iso8601_parse(s, 20, &us) == 1);
        CHECK_INT((long long) us, 1716980410LL * S);
        CHECK(iso8601_parse(s, strlen(s), &us) == 0);
    }
    CHECK_INT(iso8601_days_from_civil(1970, 1, 1), 0);
    CHECK_INT(iso8601_days_from_civil(2000, 1, 3), 10959);
    CHECK_INT(iso8601_days_from_civil(1969, 12, 31), -1);
}

static void
test_invalid(void)
{
    static const char *const bad[] = {
        "",
        "2024-05-29",                       /* date only */
        "2024-05-29T11:00:10",              /* no zone */
        "2024-05-29T11:00Z",                /* no seconds */
        "2024-05-29T11:00:10.Z",            /* empty fraction */
        "2024-05-29T11:00:10.1234567890Z",  /* 10 fraction digits */
        "2024-05-29T11:00:10,5Z",           /* comma fraction */
        "2024-05-29T11:00:60Z",             /* leap second */
        "2024-05-29T24:00:00Z",
        "2024-05-29T11:60:00Z",
        "2024-13-01T00:00:00Z",
        "2024-00-01T00:00:00Z",
        "2024-05-00T00:00:00Z",
        "2024-05-32T00:00:00Z",
        "2024-04-31T00:00:00Z",
        "2023-02-29T00:00:00Z",             /* not a leap year */
        "1900-02-29T00:00:00Z",             /* not a leap year */
        "0000-01-01T00:00:00Z",             /* year 0 */
        "-001-01-01T00:00:00Z",
        "+2024-05-29T11:00:10Z",
        "12024-05-29T11:00:10Z",
        "2024/05/29T11:00:10Z",
        "2024-05-29X11:00:10Z",
        "2024-05-29T11.00.10Z",
        "2024-5-29T11:00:10Z",
        "2024-05-29T11:00:10 Z",
        "2024-05-29T11:00:10Z ",
        " 2024-05-29T11:00:10Z",
        "2024-05-29T11:00:10ZZ",
        "2024-05-29T11:00:10+16:00",        /* offset too large */
        "2024-05-29T11:00:10+02:60",
        "2024-05-29T11:00:10+2",
        "2024-05-29T11:00:10+02:0",
        "2024-05-29T11:00:10+02:000",
        "2024-05-29T11:00:10+0a:00",
        "2024-05-29T11:00:10+",
        "2024-05-29T11:00:10UTC",
        "2024-05-29T1a:00:10Z",
        "２０２４-05-29T11:00:10Z",         /* full-width digits */
        "2024-05-29T11:00:10.000000000000000000000000000000000000000000Z", /* > 64 bytes */
        NULL
    };
    int i;
    int64_t us = 42;

    for (i = 0; bad[i] != NULL; i++)
    {
        long long got = parse(bad[i]);

        if (got != -999)
            fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
        CHECK_INT(got, -999);
    }
    /* a rejected string leaves the output alone; NULL and short input */
    CHECK(iso8601_parse("nonsense-nonsense-nonsense", 26, &us) == 0);
    CHECK_INT((long long) us, 42);
    CHECK(iso8601_parse(NULL, 0, &us) == 0);
    CHECK(iso8601_parse("2024-05-29T11:00:10Z", 19, &us) == 0);
    /* an embedded NUL is not a digit */
    CHECK(iso8601_parse("2024-05-29T11:00:1\0Z", 20, &us) == 0);
}

int
main(void)
{
    test_valid();
    test_invalid();
    return UNIT_REPORT("iso8601");
}
