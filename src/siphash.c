/*
 * siphash.c - SipHash-2-4 (Aumasson and Bernstein, 2012), 16-byte key,
 * 64-bit output. Plain C99, no PostgreSQL dependency.
 */
#include "siphash.h"

#define ROTL(x, b) (uint64_t) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND \
	do { \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t
load_le64(const unsigned char *p)
{
	return (uint64_t) p[0] | ((uint64_t) p[1] << 8) | ((uint64_t) p[2] << 16) | ((uint64_t) p[3] << 24) |
		((uint64_t) p[4] << 32) | ((uint64_t) p[5] << 40) | ((uint64_t) p[6] << 48) | ((uint64_t) p[7] << 56);
}

/* SipHash-2-4 with a 16-byte key, 64-bit output (Aumasson and Bernstein) */
uint64_t
siphash24(const unsigned char key[16], const unsigned char *in, size_t len)
{
	uint64_t	k0 = load_le64(key);
	uint64_t	k1 = load_le64(key + 8);
	uint64_t	v0 = UINT64_C(0x736f6d6570736575) ^ k0;
	uint64_t	v1 = UINT64_C(0x646f72616e646f6d) ^ k1;
	uint64_t	v2 = UINT64_C(0x6c7967656e657261) ^ k0;
	uint64_t	v3 = UINT64_C(0x7465646279746573) ^ k1;
	uint64_t	b = ((uint64_t) len) << 56;
	size_t		i;
	size_t		whole = len - (len % 8);

	for (i = 0; i < whole; i += 8)
	{
		uint64_t	m = load_le64(in + i);

		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (i = 0; i < len % 8; i++)
		b |= ((uint64_t) in[whole + i]) << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}
