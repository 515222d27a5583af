/* The per-packet loops of the call media path in C: what 1,000 concurrent calls on 2 cores need.

   readiness.probes.calls.io.media_loops loads this module's shared object with ctypes and calls the
   fm_* functions on buffers Python owns (io/mmsg.py DatagramBatch slots, numpy tables). Nothing here
   allocates, keeps state between calls or holds the GIL (ctypes releases it). The Python implementations
   (media/shared_port.py SharedPort, farend/reflector.py Reflector._answer) define the behaviour and
   are the fallback when this module could not be built; tests/calls/test_fastpath.py checks both agree.

   Wire format: wire/stamps.py (RTP header, 56-byte stamp, HMAC-SHA-256/128 over bytes 0-67). Trace
   records: media/trace.py REPLY (52 bytes, little-endian). SHA-256 and HMAC: hmac_sha256.c. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "hmac_sha256.h"
#include "wire.h"

#define HIST_BINS 1000         /* media/stream_types.py ScheduleErrors: 10 us bins up to 10 ms */
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

static int mac_ok(const uint32_t ks[16], const uint8_t *p) {
    uint8_t mac[32];
    uint8_t diff = 0;
    hmac_sha256(ks, p, AUTH_END, mac);
    for (int i = 0; i < MAC_LEN; i++) diff |= mac[i] ^ p[AUTH_END + i];   /* constant time */
    return diff == 0;
}

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

/* ---- the generator: one row per call on a shared port (media/shared_port_c.py CSharedPort) --- */

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
            hmac_sha256(ks, p, AUTH_END, mac);
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

/* ---- the reflector (farend/reflector_c.py CReflectorSessions) ------------------------------- */

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
        hmac_sha256(ks, p, AUTH_END, mac);
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

/* Layouts for io/media_loops.py to check its numpy dtypes against: sizes, then offsets in field order. */
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
   reached through ctypes (io/media_loops.py). */
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_media_loops",
                                    "C loops of the call media path (see io/media_loops.py)", -1,
                                    NULL, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__media_loops(void) { return PyModule_Create(&module); }
