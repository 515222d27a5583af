/* What the C loops of the media path share: the wire format's constants (wire/stamps.py) and byte order. */
#ifndef READINESS_WIRE_H
#define READINESS_WIRE_H

#include <stdint.h>
#include <time.h>

#define NAME_LEN 28            /* mmsg.NAME: sizeof(struct sockaddr_in6) */
#define AUTH_END 68            /* stamps.AUTH_END: the MAC covers bytes [0, 68) */
#define MAC_LEN 16             /* RFC 8762 4.1.2: HMAC-SHA-256 truncated to 128 bits */
#define PACKET_MIN 84          /* stamps.PACKET_MIN */
#define MAGIC 0x5244           /* "RD" */
#define STAMP_VERSION 1
#define FLAG_REPLY 0x01
#define FLAG_FIN 0x02

static inline uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t be64(const uint8_t *p) { return ((uint64_t)be32(p) << 32) | be32(p + 4); }
static inline void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)(v >> 32)); put32(p + 4, (uint32_t)v); }
static inline void le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void le64(uint8_t *p, uint64_t v) { le32(p, (uint32_t)v); le32(p + 4, (uint32_t)(v >> 32)); }

static inline int64_t now_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
