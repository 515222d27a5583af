/* The per-packet loops of the call media path in C: what 1,000 concurrent calls on 2 cores need.

   readiness.probes.calls.fastpath loads this module's shared object with ctypes and calls the
   fm_* functions on buffers Python owns (mmsg.Batch slots, numpy tables). Nothing here allocates,
   keeps state between calls or holds the GIL (ctypes releases it). The Python implementations
   (rtp/port.py SharedPort, reflector.py Reflector._answer) define the behaviour and are the
   fallback when this module could not be built; tests/calls/test_fastpath.py checks both agree.

   Wire format: stamps.py (RTP header, 56-byte stamp, HMAC-SHA-256/128 over bytes 0-67). Trace
   records: rtp/trace.py REPLY (52 bytes, little-endian). SHA-256 per FIPS 180-4, HMAC per RFC 2104
   with the key's inner and outer states computed once (as stamps.Signer does). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define NAME_LEN 28            /* mmsg.NAME: sizeof(struct sockaddr_in6) */
#define AUTH_END 68            /* stamps.AUTH_END: the MAC covers bytes [0, 68) */
#define MAC_LEN 16             /* RFC 8762 4.1.2: HMAC-SHA-256 truncated to 128 bits */
#define PACKET_MIN 84          /* stamps.PACKET_MIN */
#define MAGIC 0x5244           /* "RD" */
#define STAMP_VERSION 1
#define FLAG_REPLY 0x01
#define FLAG_FIN 0x02
#define HIST_BINS 1000         /* scheduler.ScheduleErrors: 10 us bins up to 10 ms */
#define HIST_STEP_NS 10000
#define RECORD_LEN 52          /* trace.REPLY */
#define TOS_SPACE 24           /* CMSG_SPACE(sizeof(int)) */
#define CHUNK 8                /* datagrams per sendmmsg: its return time is each one's send time */
#ifndef SCM_TIMESTAMPNS
#define SCM_TIMESTAMPNS 35
#endif
#ifndef IPV6_TCLASS
#define IPV6_TCLASS 67
#endif

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

/* ---- byte order helpers ------------------------------------------------------------------------ */

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

/* ---- SHA-256 (FIPS 180-4 6.2) and HMAC (RFC 2104) -------------------------------------------- */

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

/* ks[0..7]: state after the key XOR ipad block, ks[8..15]: after the key XOR opad block. */
static void hmac(const uint32_t ks[16], const uint8_t *msg, size_t len, uint8_t mac[32]) {
    uint32_t h[8];
    uint8_t inner[32];
    memcpy(h, ks, sizeof h);
    finish(h, 64, msg, len, inner);
    memcpy(h, ks + 8, sizeof h);
    finish(h, 64, inner, 32, mac);
}

static int mac_ok(const uint32_t ks[16], const uint8_t *p) {
    uint8_t mac[32];
    uint8_t diff = 0;
    hmac(ks, p, AUTH_END, mac);
    for (int i = 0; i < MAC_LEN; i++) diff |= mac[i] ^ p[AUTH_END + i];   /* constant time */
    return diff == 0;
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

void fm_hmac(const uint32_t ks[16], const uint8_t *msg, size_t len, uint8_t out[32]) { hmac(ks, msg, len, out); }

/* ---- receiving: ancillary data ----------------------------------------------------------------- */

/* Kernel receive time (ns since epoch, 0 if absent) and TOS / traffic class (-1 if absent). */
static void ancillary(struct msghdr *m, int64_t *rx_ns, int *tos) {
    *rx_ns = 0;
    *tos = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            *rx_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        } else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) ||
                   (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS)) {
            if (c->cmsg_len >= CMSG_LEN(1)) *tos = CMSG_DATA(c)[0];   /* 1 byte, or an int: low byte first */
        }
    }
}

/* recvmmsg into n slots without blocking: how many (0 if none); the headers are reset first. */
static int receive(int fd, struct mmsghdr *msgs, struct iovec *iov, unsigned n, size_t slot, size_t ctl) {
    for (unsigned i = 0; i < n; i++) {
        msgs[i].msg_hdr.msg_namelen = NAME_LEN;
        msgs[i].msg_hdr.msg_controllen = ctl;
        iov[i].iov_len = slot;
    }
    for (int tries = 0; tries < 4; tries++) {
        int got = recvmmsg(fd, msgs, n, MSG_DONTWAIT, NULL);
        if (got >= 0) return got;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EBADF) return 0;
    }
    return 0;                                  /* queued ICMP errors consumed: read next time */
}

/* sendmmsg of n prepared headers; refused datagrams are skipped. Their indexes and errnos go to
   failed[2 * j], failed[2 * j + 1]; returns how many were refused. */
static int send_all(int fd, struct mmsghdr *msgs, int n, int32_t *failed) {
    int done = 0, nfail = 0;
    while (done < n) {
        int sent = sendmmsg(fd, msgs + done, (unsigned)(n - done), MSG_DONTWAIT);
        if (sent > 0) { done += sent; continue; }
        if (sent < 0 && errno == EINTR) continue;
        failed[2 * nfail] = done;
        failed[2 * nfail + 1] = sent < 0 ? errno : EIO;
        nfail++;
        done++;
    }
    return nfail;
}

/* ---- the generator: one row per call on a shared port (rtp/port.py FastPort) ----------------- */

typedef struct {
    uint64_t name;                 /* address of the far end's sockaddr (NAME_LEN bytes) */
    uint64_t trace;                /* address of the call's trace buffer */
    int64_t first_send_ns, last_send_ns, packets, octets, send_errors;
    int64_t sched_count, sched_max;
    int64_t fin_received, fin_replies, fin_bitmap, fin_highest;   /* fin_received < 0: no fin reply yet */
    int64_t unauthenticated, malformed, trace_lost;
    int64_t seq, next_due, period, stop_at;   /* the schedule: next sequence, when (monotonic ns) */
    uint32_t trace_cap, trace_used;
    uint32_t seq0, ts0, spp, ssrc, session_id, length, payload_len;
    int32_t last_errno;
    uint8_t pt, dscp, fill, active, sending, pad[3];
    uint32_t hist[HIST_BINS];      /* schedule errors, HIST_STEP_NS bins */
} Row;

/* Build, sign and send k packets: packet j is sequence seqs[j] of rows[idx[j]], due at due[j],
   built in slot j of `data`. They leave in chunks of CHUNK per sendmmsg, and each one's schedule
   error is the time its chunk's sendmmsg returned minus its due time (on loopback the kernel has
   then delivered it too): honest, and small chunks keep a packet's stamp close to its departure.
   Errors beyond the histogram go to `over` as (row, ns) pairs. Returns how many the kernel refused
   (their rows count send errors). */
static int send_batch(int fd, Row *rows, const int32_t *idx, const int64_t *seqs, const int64_t *due, int k,
                      uint8_t *data, size_t slot, struct mmsghdr *msgs, struct iovec *iov, const uint32_t ks[16],
                      int64_t wall_offset, int64_t *over, int *n_over, int32_t *failed) {
    uint8_t mac[32];
    int refused = 0;
    for (int c0 = 0; c0 < k; c0 += CHUNK) {
        int c1 = c0 + CHUNK < k ? c0 + CHUNK : k;
        for (int j = c0; j < c1; j++) {
            Row *r = &rows[idx[j]];
            uint8_t *p = data + (size_t)j * slot;
            uint64_t s = (uint64_t)seqs[j];
            int64_t wall = now_ns(CLOCK_MONOTONIC) + wall_offset;
            p[0] = 0x80;
            p[1] = (uint8_t)(r->pt | (s == 0 ? 0x80 : 0));
            put16(p + 2, (uint32_t)(r->seq0 + s));
            put32(p + 4, (uint32_t)(r->ts0 + s * r->spp));
            put32(p + 8, r->ssrc);
            put16(p + 12, MAGIC);
            p[14] = STAMP_VERSION;
            p[15] = 0;
            put32(p + 16, r->session_id);
            put32(p + 20, (uint32_t)s);
            put64(p + 24, (uint64_t)wall);
            p[32] = r->dscp;
            memset(p + 33, 0, AUTH_END - 33);
            if (r->length > PACKET_MIN) memset(p + PACKET_MIN, r->fill, r->length - PACKET_MIN);
            hmac(ks, p, AUTH_END, mac);
            memcpy(p + AUTH_END, mac, MAC_LEN);
            iov[j].iov_base = p;
            iov[j].iov_len = r->length;
            struct msghdr *m = &msgs[j].msg_hdr;
            m->msg_name = (void *)(uintptr_t)r->name;
            m->msg_namelen = NAME_LEN;
            m->msg_iov = &iov[j];
            m->msg_iovlen = 1;
            m->msg_control = NULL;
            m->msg_controllen = 0;
            m->msg_flags = 0;
            if (s == 0) r->first_send_ns = wall;
            r->last_send_ns = wall;
            r->packets++;
            r->octets += r->payload_len;
        }
        int nfail = send_all(fd, msgs + c0, c1 - c0, failed);
        for (int f = 0; f < nfail; f++) {
            Row *r = &rows[idx[c0 + failed[2 * f]]];
            r->send_errors++;
            r->last_errno = failed[2 * f + 1];
        }
        refused += nfail;
        int64_t t = now_ns(CLOCK_MONOTONIC);
        for (int j = c0; j < c1; j++) {
            Row *r = &rows[idx[j]];
            int64_t err = t - due[j];
            if (err < 0) err = 0;
            int64_t bin = err / HIST_STEP_NS;
            if (bin < HIST_BINS) {
                r->hist[bin]++;
            } else {
                over[2 * *n_over] = idx[j];
                over[2 * *n_over + 1] = err;
                (*n_over)++;
            }
            r->sched_count++;
            if (err > r->sched_max) r->sched_max = err;
        }
    }
    return refused;
}

/* The timing wheel's work for every sending row, once per tick: a row whose next packet is due
   (next_due <= now) sends it (one per row per tick: a late row catches up over the next ticks, on
   its own time grid), in batches of at most `batch` packets (the slots of `data`). A row stops
   sending after sequence stop_at - 1. `over` needs room for 2 * batch values per call; the
   caller reads it after each call, so calls send at most `batch` packets. Returns the number sent;
   *more is set when rows were left due (call again). */
int fm_tick(int fd, Row *rows, uint32_t nrows, int64_t now, int batch, uint8_t *data, size_t slot,
            struct mmsghdr *msgs, struct iovec *iov, const uint32_t ks[16], int64_t wall_offset,
            int64_t *over, int *n_over, int32_t *failed, int32_t *idx, int64_t *seqs, int64_t *due,
            uint32_t *cursor, int *more) {
    int k = 0;
    uint32_t i = *cursor;
    *more = 0;
    for (; i < nrows; i++) {
        Row *r = &rows[i];
        if (!r->active || !r->sending || r->next_due > now) continue;
        if (k == batch) { *more = 1; break; }
        idx[k] = (int32_t)i;
        seqs[k] = r->seq;
        due[k] = r->next_due;
        k++;
        r->seq++;
        r->next_due += r->period;
        if (r->seq >= r->stop_at) r->sending = 0;
    }
    *cursor = *more ? i : 0;
    if (k) send_batch(fd, rows, idx, seqs, due, k, data, slot, msgs, iov, ks, wall_offset, over, n_over, failed);
    return k;
}

/* One recvmmsg batch of replies: each authenticated reply becomes a trace record in its row's
   buffer (rows are found by the low 16 bits of the session id), a fin reply sets the row's fin
   fields. port[0] counts replies for no row (late or foreign), port[1] datagrams too short.
   Returns how many datagrams were read. */
int fm_replies(int fd, struct mmsghdr *msgs, struct iovec *iov, uint8_t *data, size_t slot, size_t ctl,
               unsigned n, Row *rows, uint32_t nrows, const uint32_t ks[16], int64_t *port) {
    int got = receive(fd, msgs, iov, n, slot, ctl);
    for (int i = 0; i < got; i++) {
        uint8_t *p = data + (size_t)i * slot;
        if (msgs[i].msg_len < PACKET_MIN) { port[1]++; continue; }
        uint32_t sid = be32(p + 16);
        uint32_t ri = sid & 0xFFFF;
        if (ri >= nrows || !rows[ri].active || rows[ri].session_id != sid) { port[0]++; continue; }
        Row *r = &rows[ri];
        uint8_t flags = p[15];
        if (p[12] != 0x52 || p[13] != 0x44 || !(flags & FLAG_REPLY) || !mac_ok(ks, p)) {
            if ((p[0] >> 6) == 2) r->unauthenticated++; else r->malformed++;
            continue;
        }
        int64_t rx;
        int tos;
        ancillary(&msgs[i].msg_hdr, &rx, &tos);
        if (flags & FLAG_FIN) {
            r->fin_received = be32(p + 40);
            r->fin_replies = be32(p + 36);
            r->fin_bitmap = be32(p + 60);
            r->fin_highest = be32(p + 64);
            continue;
        }
        if (r->trace_used + RECORD_LEN > r->trace_cap) { r->trace_lost++; continue; }
        if (!rx) rx = now_ns(CLOCK_REALTIME);
        uint8_t *o = (uint8_t *)(uintptr_t)r->trace + r->trace_used;
        le32(o, be32(p + 20));                    /* seq */
        le32(o + 4, be32(p + 36));                /* rseq */
        le64(o + 8, be64(p + 24));                /* tx_ns */
        le64(o + 16, be64(p + 44));               /* rrx_ns */
        le64(o + 24, be64(p + 52));               /* rtx_ns */
        le64(o + 32, (uint64_t)rx);               /* rx_ns */
        o[40] = p[33];                            /* dscp_up */
        o[41] = tos >= 0 ? (uint8_t)(tos >> 2) : 0xFF;
        o[42] = o[43] = 0;                        /* flags */
        le32(o + 44, be32(p + 60));               /* bitmap */
        le32(o + 48, be32(p + 64));               /* highest */
        r->trace_used += RECORD_LEN;
    }
    return got;
}

/* ---- the reflector (reflector.py FastSessions) ---------------------------------------------- */

typedef struct {
    uint8_t name[NAME_LEN];        /* the source's sockaddr, zero-padded */
    uint32_t session_id;
    int64_t started, last, fin_at, highest;    /* monotonic ns; highest sender sequence, -1 none */
    double tokens;
    uint32_t reflector_seq, received, bitmap, used;
} Session;

static uint32_t key_hash(const uint8_t *name, uint32_t sid) {      /* FNV-1a */
    uint32_t h = 2166136261u;
    for (int i = 0; i < NAME_LEN; i++) { h ^= name[i]; h *= 16777619u; }
    for (int i = 0; i < 4; i++) { h ^= (uint8_t)(sid >> (8 * i)); h *= 16777619u; }
    return h;
}

static int64_t find(const Session *t, const uint32_t *index, uint32_t mask, const uint8_t *name, uint32_t sid) {
    for (uint32_t h = key_hash(name, sid) & mask;; h = (h + 1) & mask) {
        uint32_t v = index[h];
        if (!v) return -1;
        const Session *s = &t[v - 1];
        if (s->session_id == sid && memcmp(s->name, name, NAME_LEN) == 0) return v - 1;
    }
}

/* The index is open addressing with linear probing, value row + 1 (0 empty), at most half full. */
void fm_index_rebuild(const Session *t, uint32_t nrows, uint32_t *index, uint32_t mask) {
    memset(index, 0, ((size_t)mask + 1) * sizeof *index);
    for (uint32_t row = 0; row < nrows; row++) {
        if (!t[row].used) continue;
        uint32_t h = key_hash(t[row].name, t[row].session_id) & mask;
        while (index[h]) h = (h + 1) & mask;
        index[h] = row + 1;
    }
}

void fm_index_put(const Session *t, uint32_t row, uint32_t *index, uint32_t mask) {
    uint32_t h = key_hash(t[row].name, t[row].session_id) & mask;
    while (index[h]) h = (h + 1) & mask;
    index[h] = row + 1;
}

/* reflector._mark: remember that `seq` arrived (highest plus a bitmap of the 32 below it). */
static void mark(Session *s, int64_t seq) {
    if (s->highest < 0) { s->highest = seq; return; }
    int64_t shift = seq - s->highest;
    if (shift > 0) {
        s->bitmap = shift <= 32 ? (uint32_t)((((uint64_t)s->bitmap << 1) | 1) << (shift - 1)) : 0;
        s->highest = seq;
    } else if (shift < 0 && shift >= -32) {
        s->bitmap |= (uint32_t)1 << (-shift - 1);
    }
}

/* Turn requests into replies in place (Reflector._answer): slots 0..k-1, or only[0..k-1]. Each
   reply is appended to the send headers smsgs/siov at *n_out, back to its source, marked with the
   DSCP its request asks for (marks: 64 cmsgs of TOS_SPACE bytes), and sent as soon as CHUNK are
   ready (so a reply's send stamp is never far from its departure). Requests of sessions not in the
   table go to deferred[*n_def] (Python creates them, within the limits, and calls again).
   stats: [0] unauthenticated, [1] over a limit, [2] fins, [3] replies (not fins), [4] refused by
   the kernel (of fins and replies). */
void fm_reflect(int fd, struct mmsghdr *rmsgs, uint8_t *data, size_t slot, uint8_t *control, size_t ctl,
                const int32_t *only, int k, Session *table, const uint32_t *index, uint32_t mask,
                const uint32_t ks[16], double rate, int64_t duration_ns, int64_t now, const uint8_t *marks,
                struct mmsghdr *smsgs, struct iovec *siov, int *n_out, int32_t *deferred, int *n_def,
                int32_t *failed, int64_t *stats) {
    uint8_t mac[32];
    int sent = 0;
    for (int j = 0; j < k; j++) {
        int i = only ? only[j] : j;
        uint8_t *p = data + (size_t)i * slot;
        struct msghdr *m = &rmsgs[i].msg_hdr;
        unsigned len = rmsgs[i].msg_len;
        if (len < PACKET_MIN || p[12] != 0x52 || p[13] != 0x44 || p[14] != STAMP_VERSION || !mac_ok(ks, p) ||
            (p[15] & FLAG_REPLY)) {              /* a reply sent back to us is never answered */
            stats[0]++;
            continue;
        }
        uint8_t *name = (uint8_t *)m->msg_name;
        if (m->msg_namelen < NAME_LEN) memset(name + m->msg_namelen, 0, NAME_LEN - m->msg_namelen);
        uint32_t sid = be32(p + 16);
        int64_t row = find(table, index, mask, name, sid);
        if (row < 0) { deferred[(*n_def)++] = i; continue; }
        Session *s = &table[row];
        if (now - s->started > duration_ns) { stats[1]++; continue; }
        double tokens = s->tokens + (double)(now - s->last) * rate / 1e9;   /* rate/s, a second of burst */
        s->tokens = tokens < rate ? tokens : rate;
        s->last = now;
        if (s->tokens < 1.0) { stats[1]++; continue; }
        s->tokens -= 1.0;
        int64_t rx;
        int tos;
        ancillary(m, &rx, &tos);
        uint8_t flags = p[15];
        uint8_t dscp_sent = p[32];
        if (flags & FLAG_FIN) {
            stats[2]++;
            s->fin_at = now;
        } else {
            s->received++;
            s->reflector_seq++;
            mark(s, be32(p + 20));
            put16(p + 2, s->reflector_seq & 0xFFFF);         /* RTP seq of the reply stream */
            stats[3]++;
        }
        p[15] = flags | FLAG_REPLY;
        p[33] = tos >= 0 ? (uint8_t)(tos >> 2) : 0xFF;
        p[34] = p[35] = 0;
        put32(p + 36, s->reflector_seq);
        put32(p + 40, s->received);
        put64(p + 44, (uint64_t)(rx ? rx : now_ns(CLOCK_REALTIME)));
        put64(p + 52, (uint64_t)now_ns(CLOCK_REALTIME));
        put32(p + 60, s->bitmap);
        put32(p + 64, (uint32_t)(s->highest > 0 ? s->highest : 0));
        hmac(ks, p, AUTH_END, mac);
        memcpy(p + AUTH_END, mac, MAC_LEN);
        uint8_t *c = control + (size_t)i * ctl;
        memcpy(c, marks + (size_t)(dscp_sent & 0x3F) * TOS_SPACE, TOS_SPACE);
        int o = (*n_out)++;
        siov[o].iov_base = p;
        siov[o].iov_len = len;
        struct msghdr *sm = &smsgs[o].msg_hdr;
        sm->msg_name = m->msg_name;
        sm->msg_namelen = m->msg_namelen;
        sm->msg_iov = &siov[o];
        sm->msg_iovlen = 1;
        sm->msg_control = c;
        sm->msg_controllen = TOS_SPACE;
        sm->msg_flags = 0;
        if (*n_out - sent == CHUNK) {
            stats[4] += send_all(fd, smsgs + sent, CHUNK, failed);
            sent = *n_out;
        }
    }
    if (*n_out > sent) stats[4] += send_all(fd, smsgs + sent, *n_out - sent, failed);
}

int fm_recv(int fd, struct mmsghdr *msgs, struct iovec *iov, unsigned n, size_t slot, size_t ctl) {
    return receive(fd, msgs, iov, n, slot, ctl);
}

int fm_sendmmsg(int fd, struct mmsghdr *msgs, int n, int32_t *failed) { return send_all(fd, msgs, n, failed); }

/* Layouts for fastpath.py to check its numpy dtypes against: sizes, then offsets in field order. */
#define OFF(T, f) out[n++] = (int64_t)offsetof(T, f)
int fm_layout(int64_t *out) {
    int n = 0;
    out[n++] = sizeof(Row);
    OFF(Row, name); OFF(Row, trace); OFF(Row, first_send_ns); OFF(Row, last_send_ns); OFF(Row, packets);
    OFF(Row, octets); OFF(Row, send_errors); OFF(Row, sched_count); OFF(Row, sched_max); OFF(Row, fin_received);
    OFF(Row, fin_replies); OFF(Row, fin_bitmap); OFF(Row, fin_highest); OFF(Row, unauthenticated);
    OFF(Row, malformed); OFF(Row, trace_lost); OFF(Row, seq); OFF(Row, next_due); OFF(Row, period);
    OFF(Row, stop_at); OFF(Row, trace_cap); OFF(Row, trace_used); OFF(Row, seq0);
    OFF(Row, ts0); OFF(Row, spp); OFF(Row, ssrc); OFF(Row, session_id); OFF(Row, length); OFF(Row, payload_len);
    OFF(Row, last_errno); OFF(Row, pt); OFF(Row, dscp); OFF(Row, fill); OFF(Row, active); OFF(Row, sending);
    OFF(Row, hist);
    out[n++] = sizeof(Session);
    OFF(Session, name); OFF(Session, session_id); OFF(Session, started); OFF(Session, last); OFF(Session, fin_at);
    OFF(Session, highest); OFF(Session, tokens); OFF(Session, reflector_seq); OFF(Session, received);
    OFF(Session, bitmap); OFF(Session, used);
    out[n++] = sizeof(struct mmsghdr);
    out[n++] = sizeof(struct iovec);
    return n;
}

/* A Python module only so that setuptools builds and installs this file; the functions above are
   reached through ctypes (fastpath.py). */
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastmedia",
                                    "C loops of the call media path (see fastpath.py)", -1,
                                    NULL, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fastmedia(void) { return PyModule_Create(&module); }

__attribute__((constructor)) static void choose_block_function(void) { fm_use_sha_extensions(1); }
