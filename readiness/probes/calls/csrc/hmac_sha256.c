/* SHA-256 (FIPS 180-4) and HMAC (RFC 2104) for the stamps of the media path: the portable block
   function, the same with the x86 SHA extensions when the CPU has them, and HMAC from a key's
   precomputed states (its two key blocks are hashed once, not for every message). Checked against
   hashlib and RFC 4231 in tests/calls/test_fastpath.py. */

#include <string.h>

#include "hmac_sha256.h"
#include "wire.h"

/* FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64
   primes; 5.3.3: of the square roots of the first 8 primes. */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};
static const uint32_t H0[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress_portable(uint32_t h[8], const uint8_t *block) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++) w[i] = be32(block + 4 * i);
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>

/* The same block function with the x86 SHA extensions (most CPUs since 2017: ~10x faster). The
   state is kept as (A,B,E,F) and (C,D,G,H), the layout SHA256RNDS2 works on; each step does two
   rounds, SHA256MSG1/MSG2 extend the message schedule four words at a time (FIPS 180-4 6.2.2). */
__attribute__((target("sha,sse4.1,ssse3")))
static void compress_shani(uint32_t h[8], const uint8_t *block) {
    const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i dcba = _mm_loadu_si128((const __m128i *)&h[0]);
    __m128i hgfe = _mm_loadu_si128((const __m128i *)&h[4]);
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
    __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
    __m128i abef0 = abef, cdgh0 = cdgh;
    __m128i w[4];
    for (int g = 0; g < 16; g++) {
        if (g < 4) {
            w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 16 * g)), swap);
        } else {            /* words 4g..4g+3 from the 16 before them */
            __m128i t = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);
            t = _mm_add_epi32(t, _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
            w[g & 3] = _mm_sha256msg2_epu32(t, w[(g + 3) & 3]);
        }
        __m128i wk = _mm_add_epi32(w[g & 3], _mm_loadu_si128((const __m128i *)&K[4 * g]));
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);                   /* now (A,B,E,F) */
        abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));
    }
    abef = _mm_add_epi32(abef, abef0);
    cdgh = _mm_add_epi32(cdgh, cdgh0);
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(dchg, feba, 8));
}

static int cpu_has_sha(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1) || !(c & bit_SSSE3)) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 29) & 1;                      /* CPUID.(EAX=7,ECX=0):EBX.SHA[bit 29] */
}
#else
static int cpu_has_sha(void) { return 0; }
#define compress_shani compress_portable
#endif

static void (*compress)(uint32_t h[8], const uint8_t *block) = compress_portable;

/* 1: use the SHA extensions when the CPU has them (the default), 0: the portable code (tests
   compare both). Returns 1 when the SHA extensions are now in use. */
int fm_use_sha_extensions(int on) {
    compress = on && cpu_has_sha() ? compress_shani : compress_portable;
    return compress != compress_portable;
}

/* Continue a hash whose state `h` has absorbed `done` bytes (a multiple of 64): add msg, pad, out. */
static void finish(uint32_t h[8], uint64_t done, const uint8_t *msg, size_t len, uint8_t out[32]) {
    uint8_t tail[128];
    while (len >= 64) { compress(h, msg); msg += 64; len -= 64; done += 64; }
    memset(tail, 0, sizeof tail);
    memcpy(tail, msg, len);
    tail[len] = 0x80;
    size_t blocks = len + 9 <= 64 ? 1 : 2;
    put64(tail + 64 * blocks - 8, (done + len) * 8);
    compress(h, tail);
    if (blocks == 2) compress(h, tail + 64);
    for (int i = 0; i < 8; i++) put32(out + 4 * i, h[i]);
}

void hmac_sha256(const uint32_t ks[16], const uint8_t *msg, size_t len, uint8_t mac[32]) {
    uint32_t h[8];
    uint8_t inner[32];
    memcpy(h, ks, sizeof h);
    finish(h, 64, msg, len, inner);
    memcpy(h, ks + 8, sizeof h);
    finish(h, 64, inner, 32, mac);
}

void fm_key(const uint8_t *key, size_t len, uint32_t ks[16]) {
    uint8_t k[64], pad[64];
    memset(k, 0, sizeof k);
    if (len > 64) {                                       /* RFC 2104 2: longer keys are hashed first */
        uint32_t h[8];
        memcpy(h, H0, sizeof h);
        finish(h, 0, key, len, k);
    } else {
        memcpy(k, key, len);
    }
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x36;
    memcpy(ks, H0, 32);
    compress(ks, pad);
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x5C;
    memcpy(ks + 8, H0, 32);
    compress(ks + 8, pad);
}

void fm_hmac(const uint32_t ks[16], const uint8_t *msg, size_t len, uint8_t out[32]) { hmac_sha256(ks, msg, len, out); }


__attribute__((constructor)) static void choose_block_function(void) { fm_use_sha_extensions(1); }
