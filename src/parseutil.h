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
