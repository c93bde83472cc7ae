/*
 * parseutil.h - small helpers shared by the plain-C parsers (uri.c, ping.c,
 * useragent.c and ua_*.c, iso8601.c) and usable from PostgreSQL-linked files
 * (ingest.c): ASCII character classes (never locale-dependent), hex digits,
 * and the error-message helper of the parsers that report errors into a
 * caller's buffer.
 *
 * Plain C99 + libc, no PostgreSQL; everything is static inline, so a file
 * pays only for what it uses.
 */
#ifndef PARSEUTIL_H
#define PARSEUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#if defined(__GNUC__) || defined(__clang__)
#define PU_PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PU_PRINTF_LIKE(f, a)
#endif

/* ASCII letter */
static inline int
is_alpha(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* ASCII decimal digit */
static inline int
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* ASCII white space: space, \t, \n, \r, \v, \f */
static inline int
is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
        c == '\f';
}

/* ASCII lower case; every other byte unchanged */
static inline unsigned char
to_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char) (c - 'A' + 'a') : c;
}

/* value of a hex digit (either case), -1 for any other byte */
static inline int
hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Length of the valid UTF-8 sequence at s[0..n), or 0 if s[0] does not start
 * one (overlong forms, surrogates and code points > U+10FFFF are invalid).
 */
static inline size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t      need,
                i;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 4;
    else
        return 0;
    if (n < need)
        return 0;
    for (i = 1; i < need; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (c == 0xE0 && s[1] < 0xA0)
        return 0;               /* overlong */
    if (c == 0xED && s[1] >= 0xA0)
        return 0;               /* surrogate */
    if (c == 0xF0 && s[1] < 0x90)
        return 0;               /* overlong */
    if (c == 0xF4 && s[1] >= 0x90)
        return 0;               /* > U+10FFFF */
    return need;
}

/*
 * Format an error message into err[0..errlen) (always NUL-terminated when
 * errlen > 0); nothing when err is NULL or errlen is 0.
 */
static inline void set_err(char *err, size_t errlen, const char *fmt,...)
            PU_PRINTF_LIKE(3, 4);

static inline void
set_err(char *err, size_t errlen, const char *fmt,...)
{
    va_list     ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

#endif                          /* PARSEUTIL_H */
