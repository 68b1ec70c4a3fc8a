/* Little-endian integer encoding shared by the dRPC framing and the fabric ping protocol. */
#ifndef DSS_BYTEORDER_H
#define DSS_BYTEORDER_H

#include <stdint.h>

/** Stores the low n bytes of v at p, least significant first. */
static inline void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/** Reads an n-byte little-endian unsigned integer at p. */
static inline uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#endif /* DSS_BYTEORDER_H */
