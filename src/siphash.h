/*
 * siphash.h - SipHash-2-4, the keyed hash of the viewer ids.
 */
#ifndef ANALYTICS_SIPHASH_H
#define ANALYTICS_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t	siphash24(const unsigned char key[16], const unsigned char *in, size_t len);

#endif
