/*
 * test_siphash.c - SipHash-2-4 against the reference vectors of the paper:
 * key 00 01 .. 0f, messages 00 01 .. (len - 1) for len 0..63.
 */
#include <stdint.h>

#include "siphash.h"
#include "unit.h"

/* the first entries of vectors_sip64 in the reference implementation */
static const uint64_t expected[] = {
	UINT64_C(0x726fdb47dd0e0e31), UINT64_C(0x74f839c593dc67fd), UINT64_C(0x0d6c8009d9a94f5a),
	UINT64_C(0x85676696d7fb7e2d), UINT64_C(0xcf2794e0277187b7), UINT64_C(0x18765564cd99a68d),
	UINT64_C(0xcbc9466e58fee3ce), UINT64_C(0xab0200f58b01d137), UINT64_C(0x93f5f5799a932462),
	UINT64_C(0x9e0082df0ba9e4b0), UINT64_C(0x7a5dbbc594ddb9f3), UINT64_C(0xf4b32f46226bada7),
	UINT64_C(0x751e8fbc860ee5fb), UINT64_C(0x14ea5627c0843d90), UINT64_C(0xf723ca908e7af2ee),
	UINT64_C(0xa129ca6149be45e5), UINT64_C(0x3f2acc7f57c29bdb), UINT64_C(0x699ae9f52cbe4794),
};

int
main(void)
{
	unsigned char key[16];
	unsigned char msg[64];
	size_t		i;

	for (i = 0; i < 16; i++)
		key[i] = (unsigned char) i;
	for (i = 0; i < 64; i++)
		msg[i] = (unsigned char) i;
	for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		CHECK(siphash24(key, msg, i) == expected[i]);
	/* the key matters */
	key[0] ^= 1;
	CHECK(siphash24(key, msg, 15) != expected[15]);
	return UNIT_REPORT("siphash");
}
