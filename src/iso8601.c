/*
 * iso8601.c - ISO 8601 date-time parser of player pings; see iso8601.h.
 *
 * Plain C99 + libc, no PostgreSQL, no locale-dependent functions.
 */
#include "iso8601.h"
#include "parseutil.h"

#include <stddef.h>
#include <stdint.h>

int64_t
iso8601_days_from_civil(int64_t y, int m, int d)
{
    int64_t     era;
    int64_t     yoe;
    int64_t     doy;
    int64_t     doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* the n decimal digits at s as a number, -1 when one is not a digit */
static int
digits(const char *s, int n)
{
    int         v = 0;
    int         i;

    for (i = 0; i < n; i++)
    {
        if (!is_digit((unsigned char) s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int
iso8601_parse(const char *s, size_t slen, int64_t *unix_us)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int         y,
                mo,
                d,
                h,
                mi,
                sec;
    size_t      pos = 19;
    size_t      len = slen;
    int64_t     usec = 0;
    int         offset_min = 0;
    int64_t     days;

    if (s == NULL || len < 20 || len > 64)
        return 0;
    if (s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        return 0;
    y = digits(s, 4);
    mo = digits(s + 5, 2);
    d = digits(s + 8, 2);
    h = digits(s + 11, 2);
    mi = digits(s + 14, 2);
    sec = digits(s + 17, 2);
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 ||
        mi < 0 || mi > 59 || sec < 0 || sec > 59)
        return 0;
    if (d > mdays[mo - 1] +
        (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)))
        return 0;
    if (pos < len && s[pos] == '.')
    {
        int         scale = 100000;
        int         ndig = 0;

        pos++;
        while (pos < len && is_digit((unsigned char) s[pos]))
        {
            if (ndig < 6)
                usec += (s[pos] - '0') * scale;
            scale /= 10;
            ndig++;
            pos++;
        }
        if (ndig == 0 || ndig > 9)
            return 0;
    }
    if (pos >= len)
        return 0;
    if (s[pos] == 'Z' || s[pos] == 'z')
        pos++;
    else if (s[pos] == '+' || s[pos] == '-')
    {
        int         sign = s[pos] == '-' ? -1 : 1;
        int         oh,
                    om = 0;

        pos++;
        if (len - pos < 2 || (oh = digits(s + pos, 2)) < 0)
            return 0;
        pos += 2;
        if (pos < len && s[pos] == ':')
            pos++;
        if (len - pos >= 2)
        {
            if ((om = digits(s + pos, 2)) < 0)
                return 0;
            pos += 2;
        }
        if (oh > 15 || om > 59)
            return 0;
        offset_min = sign * (oh * 60 + om);
    }
    else
        return 0;
    if (pos != len)
        return 0;

    days = iso8601_days_from_civil(y, mo, d);
    *unix_us = ((days * 24 + h) * 60 + mi - offset_min) * INT64_C(60000000) +
        (int64_t) sec * 1000000 + usec;
    return 1;
}
