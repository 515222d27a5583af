/* HMAC-SHA-256 (RFC 2104) from a key's precomputed inner and outer hash states, as stamps.Signer. */
#ifndef READINESS_HMAC_SHA256_H
#define READINESS_HMAC_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* ks[0..7]: SHA-256 state after the key XOR ipad block, ks[8..15]: after the key XOR opad block. */
void fm_key(const uint8_t *key, size_t len, uint32_t ks[16]);
void hmac_sha256(const uint32_t ks[16], const uint8_t *msg, size_t len, uint8_t mac[32]);
int fm_use_sha_extensions(int on);

#endif
