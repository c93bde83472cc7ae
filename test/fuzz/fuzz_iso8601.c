/*
 * fuzz_iso8601.c - libFuzzer target for src/iso8601.c, the ISO 8601
 * date-time parser of player pings.
 *
 * Build and run (outside the repository, e.g. in /tmp), or test/fuzz/run.sh:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *       -o /tmp/fuzz_iso8601 test/fuzz/fuzz_iso8601.c src/iso8601.c
 * Without libFuzzer (replay files):
 *   gcc -std=c99 -g -DFUZZ_STANDALONE -fsanitize=address,undefined -Isrc \
 *       -o /tmp/fuzz_iso8601_sa test/fuzz/fuzz_iso8601.c src/iso8601.c
 *
 * The input bytes are the string (not NUL-terminated: the parser must read
 * only [data, data + size)).  Invariants (a violation abort()s):
 *  - a rejected string leaves the output alone;
 *  - an accepted one is 20..64 bytes of the documented shape (YYYY-MM-DD,
 *    T/t/space, HH:MM:SS, Z/z or a sign), and its instant lies between
 *    0001-01-01 00:00 -15:59 and 9999-12-31 23:59:59.999999 +15:59;
 *  - the same string with its zone replaced by "Z" and the instant
 *    recomputed from the fields gives the same value minus the offset
 *    (checked by re-parsing the UTC form built from the answer's fields);
 *  - parsing is deterministic.
 */
#include "iso8601.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_US (INT64_C(-62135596800) * 1000000 - INT64_C(57540) * 1000000)
#define MAX_US (INT64_C(253402300799) * 1000000 + 999999 + INT64_C(57540) * 1000000)

static void
fail(const char *what, const uint8_t *data, size_t size)
{
    fprintf(stderr, "fuzz_iso8601: invariant violated: %s: \"%.*s\"\n", what,
            (int) size, (const char *) data);
    abort();
}

int         LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a heap copy of exactly size bytes, so ASan catches any overread */
    char       *s = malloc(size ? size : 1);
    int64_t     us = INT64_C(0x5a5a5a5a5a5a5a5a);
    int64_t     us2 = INT64_C(0x5a5a5a5a5a5a5a5a);
    int         ok;

    if (s == NULL)
        return 0;
    if (size)
        memcpy(s, data, size);
    ok = iso8601_parse(s, size, &us);
    if (ok != 0 && ok != 1)
        fail("return value", data, size);
    if (iso8601_parse(s, size, &us2) != ok || us2 != us)
        fail("not deterministic", data, size);
    if (!ok)
    {
        if (us != INT64_C(0x5a5a5a5a5a5a5a5a))
            fail("output changed on rejection", data, size);
        free(s);
        return 0;
    }
    if (size < 20 || size > 64 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':')
        fail("accepted a string of the wrong shape", data, size);
    if (us < MIN_US || us > MAX_US)
        fail("instant out of range", data, size);

    /* the UTC form of the fields (date, time, fraction) with "Z" */
    {
        char        z[32];
        int64_t     uz = 0;
        int64_t     frac = 0;
        size_t      pos = 19;
        int         scale = 100000;
        int         ndig = 0;
        int64_t     offset_us;

        if (pos < size && s[pos] == '.')
            for (pos++; pos < size && s[pos] >= '0' && s[pos] <= '9'; pos++, ndig++)
            {
                if (ndig < 6)
                    frac += (s[pos] - '0') * scale;
                scale /= 10;
            }
        memcpy(z, s, 19);
        z[10] = 'T';
        snprintf(z + 19, sizeof(z) - 19, ".%06lldZ", (long long) frac);
        if (!iso8601_parse(z, strlen(z), &uz))
            fail("the UTC form of an accepted string is rejected", data, size);
        offset_us = uz - us;
        if (offset_us % INT64_C(60000000) != 0 ||
            offset_us < -INT64_C(57540) * 1000000 || offset_us > INT64_C(57540) * 1000000)
            fail("offset not a whole minute within +-15:59", data, size);
        if ((s[pos] == 'Z' || s[pos] == 'z') && offset_us != 0)
            fail("Z with a non-zero offset", data, size);
    }
    free(s);
    return 0;
}

#ifdef FUZZ_STANDALONE
int
main(int argc, char **argv)
{
    int         i;

    for (i = 1; i < argc; i++)
    {
        FILE       *f = fopen(argv[i], "rb");
        static uint8_t data[1 << 16];
        size_t      len;

        if (f == NULL)
        {
            perror(argv[i]);
            return 1;
        }
        len = fread(data, 1, sizeof data, f);
        fclose(f);
        LLVMFuzzerTestOneInput(data, len);
    }
    printf("fuzz_iso8601: %d inputs ok\n", argc - 1);
    return 0;
}
#endif
