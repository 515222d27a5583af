/* The per-packet loops of capture analysis: walking pcap records / pcapng Enhanced Packet Blocks and
 * decoding link layer, IP and UDP/TCP headers into the columns of layers.py's Layers.
 *
 * pcap.py and layers.py hold the same logic in numpy and stay the reference (and the path without a
 * C compiler); tests/capture/test_capture_decode_c.py checks both give the same columns. Reached
 * through ctypes (decoder_c.py), which releases the GIL during each call.
 */
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A chunk (16 MiB) is larger than the caches hold after it was read: ask for the packets a few rows ahead,
 * so the loops wait on memory bandwidth, not on each packet's latency. */
enum { PREFETCH_BYTES = 2048, PREFETCH_ROWS = 8 };

static inline uint32_t be16(const uint8_t *p) { return ((uint32_t)p[0] << 8) | p[1]; }
static inline uint32_t be24(const uint8_t *p) { return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2]; }
static inline uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint32_t le32(const uint8_t *p) {
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}
static inline uint64_t be48(const uint8_t *p) { return ((uint64_t)be16(p) << 32) | be32(p + 2); }
static inline uint64_t be64(const uint8_t *p) { return ((uint64_t)be32(p) << 32) | be32(p + 4); }
static inline uint32_t rd32(const uint8_t *p, int big) { return big ? be32(p) : le32(p); }

/* pcap records from buf[off..len): up to cap records whose captured length is at most `limit`.
 * *next: offset after the last whole record; *corrupt: offset of a record claiming more than `limit`
 * bytes, else -1. Returns the number of records. */
int64_t cd_pcap(const uint8_t *buf, int64_t len, int64_t off, int big, int64_t limit, int64_t ns_per_unit,
                int64_t cap, int64_t *o_off, int64_t *o_caplen, int64_t *o_origlen, int64_t *o_ts,
                int64_t *next, int64_t *corrupt) {
    int64_t n = 0;
    *corrupt = -1;
    while (off + 16 <= len && n < cap) {
        const uint8_t *r = buf + off;
        __builtin_prefetch(r + PREFETCH_BYTES);   /* each header's address waits on the one before */
        int64_t c = rd32(r + 8, big);
        if (c > limit) { *corrupt = off; break; }
        if (off + 16 + c > len) break;
        o_off[n] = off + 16;
        o_caplen[n] = c;
        o_origlen[n] = rd32(r + 12, big);
        o_ts[n] = (int64_t)rd32(r, big) * 1000000000 + (int64_t)rd32(r + 4, big) * ns_per_unit;
        n++;
        off += 16 + c;
    }
    *next = off;
    return n;
}

/* A run of consecutive, consistent pcapng Enhanced Packet Blocks (type 6) from buf[off..len): stops at
 * any other block, an inconsistent one (left to pcap.py, which words the problem) or the buffer's end.
 * Columns: data offset, captured and original length, interface, raw 64-bit time stamp. */
int64_t cd_epb(const uint8_t *buf, int64_t len, int64_t off, int big, int64_t n_if, int64_t max_block,
               int64_t cap, int64_t *o_off, int64_t *o_caplen, int64_t *o_origlen, int64_t *o_iface,
               int64_t *o_raw, int64_t *next) {
    int64_t n = 0;
    while (off + 32 <= len && n < cap) {
        const uint8_t *b = buf + off;
        int64_t blen = rd32(b + 4, big);
        if (rd32(b, big) != 6 || blen < 32 || blen % 4 || blen > max_block || off + blen > len) break;
        int64_t iface = rd32(b + 8, big), caplen = rd32(b + 20, big);
        if (iface >= n_if || 32 + caplen > blen) break;
        o_off[n] = off + 28;
        o_caplen[n] = caplen;
        o_origlen[n] = rd32(b + 24, big);
        o_iface[n] = iface;
        o_raw[n] = (int64_t)(((uint64_t)rd32(b + 12, big) << 32) | rd32(b + 16, big));
        n++;
        off += blen;
    }
    *next = off;
    return n;
}

enum { COL_OK, COL_ETHERTYPE, COL_MAC, COL_VLAN, COL_PCP, COL_OUTER, COL_L2, COL_IPVER, COL_SRC_HI, COL_SRC_LO, COL_DST_HI,
       COL_DST_LO, COL_DSCP, COL_PROTO, COL_FRAGMENT, COL_FRAG_L4, COL_SPORT, COL_DPORT, COL_PAY, COL_PAYLEN, COL_PAYLEN_WIRE,
       COL_COUNT };

/* 802.3 length field: LLC/SNAP AA-AA-03 + OUI + PID; Cisco's OUI 00-00-0C gets the marker range. */
static inline void snap(const uint8_t *buf, int64_t end, int64_t *et, int64_t *l2) {
    if (*l2 + 8 > end) return;
    const uint8_t *p = buf + *l2;
    uint32_t llc = be24(p), oui = be24(p + 3), pid = be16(p + 6);
    if (llc != 0xAAAA03) { *et = -1; return; }
    *et = oui == 0x00000C ? 0x10000 + (int64_t)pid : oui == 0 ? (int64_t)pid : -1;
    *l2 += 8;
}

/* Layers of n packets (data at buf[off[i]], caplen[i] bytes, link type lt[i]) into the columns `col`
 * (COL_* order, dtypes as layers.Layers declares them). */
void cd_layers(const uint8_t *buf, int64_t buflen, int64_t n, const int64_t *off, const int64_t *caplen,
               const int32_t *lt, void **col) {
    uint8_t *ok = col[COL_OK], *ipver = col[COL_IPVER], *fragment = col[COL_FRAGMENT];
    int32_t *ethertype = col[COL_ETHERTYPE], *vlan = col[COL_VLAN], *outer = col[COL_OUTER];
    int32_t *sport = col[COL_SPORT], *dport = col[COL_DPORT];
    int16_t *pcp = col[COL_PCP], *dscp = col[COL_DSCP], *proto = col[COL_PROTO];
    uint64_t *mac = col[COL_MAC], *src_hi = col[COL_SRC_HI], *src_lo = col[COL_SRC_LO];
    uint64_t *dst_hi = col[COL_DST_HI], *dst_lo = col[COL_DST_LO];
    int64_t *l2c = col[COL_L2], *frag_l4 = col[COL_FRAG_L4], *pay = col[COL_PAY], *paylen = col[COL_PAYLEN];
    int64_t *paylen_wire = col[COL_PAYLEN_WIRE];

    for (int64_t i = 0; i < n; i++) {
        if (i + PREFETCH_ROWS < n) {
            __builtin_prefetch(buf + off[i + PREFETCH_ROWS]);
            __builtin_prefetch(buf + off[i + PREFETCH_ROWS] + 63);
        }
        int64_t base = off[i], end = base + caplen[i];
        if (end > buflen) end = buflen;
        int64_t et = -1, l2 = -1, vl = -1, pc = -1, ov = -1, l4 = -1, l4_end = end;
        uint64_t ms = 0, sh = 0, sl = 0, dh = 0, dl = 0;
        int64_t ver = 0, ds = -1, pr = -1, fr = 0, fl4 = -1, sp = -1, dp = -1, py = -1, pl = 0, pw = 0;
        int t = lt[i], supported = 1;
        const uint8_t *b = buf + base;
        switch (t) {   /* LINKTYPE_* numbers, as layers.py names them */
        case 1:        /* Ethernet */
            if (base + 14 <= end) {
                ms = be48(b + 6); et = be16(b + 12); l2 = base + 14;
                if (et <= 1500) snap(buf, end, &et, &l2);
            }
            break;
        case 113:      /* Linux cooked (SLL) */
            if (base + 16 <= end) { et = be16(b + 14); l2 = base + 16; ms = be48(b + 6); }
            break;
        case 276:      /* SLL2 */
            if (base + 20 <= end) { et = be16(b); l2 = base + 20; ms = be48(b + 12); }
            break;
        case 104:      /* Cisco HDLC */
            if (base + 4 <= end) { uint32_t p = be16(b + 2); et = p == 0x2000 ? 0x10000 + 0x2000 : p; l2 = base + 4; }
            break;
        case 0: case 108: /* BSD / OpenBSD loopback */
            if (base + 4 <= end) {
                uint32_t fam = be32(b);
                if (t == 0 && fam > 0xFFFF) fam = le32(b);
                et = fam == 2 ? 0x0800 : (fam == 24 || fam == 28 || fam == 30) ? 0x86DD : -1;
                l2 = base + 4;
            }
            break;
        case 101: case 12: case 14: case 228: case 229:   /* raw IP */
            if (base + 1 <= end) { int v = b[0] >> 4; et = v == 4 ? 0x0800 : v == 6 ? 0x86DD : -1; l2 = base; }
            break;
        default:
            supported = 0;
        }
        for (int level = 0; level < 2; level++) {   /* outer tag, then a QinQ inner tag (which then counts) */
            if (!(et == 0x8100 || et == 0x88A8 || et == 0x9100) || l2 + 4 > end) break;
            uint32_t tci = be16(buf + l2);
            if (level == 1) ov = vl;
            vl = tci & 0x0FFF;
            pc = tci >> 13;
            et = be16(buf + l2 + 2);
            l2 += 4;
            if (et <= 1500) snap(buf, end, &et, &l2);
        }
        if (et == 0x0800 && l2 + 20 <= end) {
            const uint8_t *h = buf + l2;
            int64_t ihl = (h[0] & 0x0F) * 4;
            if ((h[0] >> 4) == 4 && ihl >= 20) {
                int64_t total = be16(h + 2);
                uint32_t ff = be16(h + 6) & 0x3FFF;   /* MF set or a fragment offset: not whole */
                ver = 4;
                ds = h[1] >> 2;                      /* RFC 2474: ToS >> 2 */
                fr = ff != 0;
                pr = h[9];
                sl = be32(h + 12);
                dl = be32(h + 16);
                if (ff == 0x2000) fl4 = l2 + ihl;
                l4 = l2 + ihl;
                l4_end = total >= ihl ? l2 + total : end;   /* 0 on TSO/GSO output: captured bytes */
            }
        } else if (et == 0x86DD && l2 + 40 <= end && (buf[l2] >> 4) == 6) {
            const uint8_t *h = buf + l2;
            int64_t plen = be16(h + 4), nh = h[6], pos = l2 + 40;
            ver = 6;
            ds = (((h[0] & 0x0F) << 4) | (h[1] >> 4)) >> 2;
            sh = be64(h + 8); sl = be64(h + 16); dh = be64(h + 24); dl = be64(h + 32);
            for (int k = 0; k < 3; k++) {            /* hop-by-hop, routing, destination options */
                if (!(nh == 0 || nh == 43 || nh == 60) || pos + 2 > end) break;
                int64_t len8 = buf[pos + 1];
                nh = buf[pos];
                pos += (len8 + 1) * 8;
            }
            if (nh == 44) {                          /* RFC 8200 4.5: next header, offset (13 bits) << 3 */
                fr = 1;
                if (pos + 4 <= end && (be16(buf + pos + 2) & 0xFFF8) == 0) { fl4 = pos + 8; nh = buf[pos]; }
            }
            pr = nh;
            l4 = pos;
            l4_end = plen > 0 ? l2 + 40 + plen : end;   /* jumbogram / TSO: 0 */
        }
        if (pr == 17 && !fr && l4 >= 0 && l4 + 8 <= end) {
            const uint8_t *u = buf + l4;
            int64_t ulen = be16(u + 4), stop = l4 + ulen < end ? l4 + ulen : end;
            sp = be16(u); dp = be16(u + 2);
            py = l4 + 8;
            pw = ulen > 8 ? ulen - 8 : 0;
            pl = stop - py > 0 ? stop - py : 0;
        } else if (pr == 6 && !fr && l4 >= 0 && l4 + 20 <= end) {
            const uint8_t *tc = buf + l4;
            int64_t doff = (tc[12] >> 4) * 4, stop = l4_end < end ? l4_end : end;
            sp = be16(tc); dp = be16(tc + 2);
            py = l4 + doff;
            pw = l4_end - py > 0 ? l4_end - py : 0;
            pl = stop - py > 0 ? stop - py : 0;
        }
        ok[i] = (uint8_t)supported; ethertype[i] = (int32_t)et; mac[i] = ms; vlan[i] = (int32_t)vl;
        pcp[i] = (int16_t)pc; outer[i] = (int32_t)ov; l2c[i] = l2; ipver[i] = (uint8_t)ver;
        src_hi[i] = sh; src_lo[i] = sl; dst_hi[i] = dh; dst_lo[i] = dl; dscp[i] = (int16_t)ds;
        proto[i] = (int16_t)pr; fragment[i] = (uint8_t)fr; frag_l4[i] = fl4; sport[i] = (int32_t)sp;
        dport[i] = (int32_t)dp; pay[i] = py; paylen[i] = pl; paylen_wire[i] = pw;
    }
}

/* splitmix64 finaliser and rtp_detect.endpoint_keys(): one uint64 per (address, port). */
static inline uint64_t mix(uint64_t x) {
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}
static inline uint64_t endpoint_key(uint64_t hi, uint64_t lo, int64_t port) {
    return mix(mix(hi ^ 0x9E3779B97F4A7C15ULL) ^ lo) ^ (uint64_t)port;
}
/* Binary search without branches (a select per step): which half a packet's key falls in is random, and
 * a mispredicted branch per step cost more than the search itself. */
static inline int member(const uint64_t *keys, int64_t n, uint64_t k) {
    if (n == 0) return 0;
    const uint64_t *b = keys;
    for (int64_t len = n; len > 1; len -= len / 2)
        b += (int64_t)(b[len / 2 - 1] < k) * (len / 2);
    return *b == k;
}

enum { RTP_ROWS, RTP_SSRC, RTP_SEQ, RTP_TS, RTP_PT, RTP_MARKER, RTP_HLEN, RTP_ANNOUNCED, RTP_COUNT };

/* rtp_detect.detect(): the rows of a batch that are RTP and their header fields. `col` holds the
 * batch's Layers columns (COL_* order), `exclude` the rows already claimed, `keys` the sorted
 * endpoint keys SDP announced, `other_port` a 65536-entry table of ports another protocol owns. */
int64_t cd_rtp(const uint8_t *buf, int64_t n, void **col, const uint8_t *exclude, const uint64_t *keys,
               int64_t n_keys, const uint8_t *other_port, void **out) {
    const int16_t *proto = col[COL_PROTO];
    const int32_t *sport = col[COL_SPORT], *dport = col[COL_DPORT];
    const int64_t *pay = col[COL_PAY], *paylen = col[COL_PAYLEN], *paylen_wire = col[COL_PAYLEN_WIRE];
    const uint64_t *src_hi = col[COL_SRC_HI], *src_lo = col[COL_SRC_LO];
    const uint64_t *dst_hi = col[COL_DST_HI], *dst_lo = col[COL_DST_LO];
    int64_t *rows = out[RTP_ROWS], *ssrc = out[RTP_SSRC], *seq = out[RTP_SEQ], *ts = out[RTP_TS];
    int64_t *hlen_out = out[RTP_HLEN];
    int16_t *pt_out = out[RTP_PT];
    uint8_t *marker = out[RTP_MARKER], *announced_out = out[RTP_ANNOUNCED];
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        if (i + PREFETCH_ROWS < n && pay[i + PREFETCH_ROWS] >= 0) __builtin_prefetch(buf + pay[i + PREFETCH_ROWS]);
        if (proto[i] != 17 || pay[i] < 0 || paylen[i] < 12 || paylen_wire[i] < 12 || exclude[i]) continue;
        int announced = n_keys && (member(keys, n_keys, endpoint_key(dst_hi[i], dst_lo[i], dport[i])) ||
                                   member(keys, n_keys, endpoint_key(src_hi[i], src_lo[i], sport[i])));
        int32_t sp = sport[i], dp = dport[i];
        if (!announced && ((sp < dp ? sp : dp) < 1024 || other_port[sp] || other_port[dp])) continue;
        const uint8_t *p = buf + pay[i];
        int b0 = p[0], b1 = p[1], pt = b1 & 0x7F;
        int64_t cap = paylen[i], wire = paylen_wire[i], hlen = 12 + 4 * (b0 & 0x0F);
        if ((b0 >> 6) != 2 || (pt >= 72 && pt <= 76)) continue;   /* RFC 5761 4: RTCP 200-204 */
        if (b0 & 0x10) {                                          /* header extension */
            if (cap < hlen + 4) continue;
            hlen += 4 + 4 * (int64_t)be16(p + hlen + 2);
        }
        if (wire < hlen) continue;
        if ((b0 & 0x20) && cap == wire) {                         /* padding count in the last byte */
            int pad = p[wire - 1];
            if (pad == 0 || wire - hlen < pad) continue;
        }
        rows[m] = i; ssrc[m] = be32(p + 8); seq[m] = be16(p + 2); ts[m] = be32(p + 4);
        pt_out[m] = (int16_t)pt; marker[m] = (b1 & 0x80) != 0; hlen_out[m] = hlen;
        announced_out[m] = (uint8_t)announced;
        m++;
    }
    return m;
}

/* streams.StreamTable's split of a batch's RTP rows by stream key (IP version, addresses, ports, SSRC).
 * A hash table on the full key gives each row its stream; the streams are ordered by the hash that
 * streams.py's numpy path sorts by (ties, which that path never meets without a collision, by key),
 * and the rows sorted by stream keeping arrival order inside each (a counting sort).
 * Out: order[m] (positions into rows, sorted by stream), group[m] (stream number of each sorted row),
 * starts[groups] (first sorted position of each stream). Returns the number of streams, -1 without memory. */
typedef struct { uint64_t h, shi, slo, dhi, dlo; int64_t ssrc; int32_t sp, dp; int8_t ver; int64_t n, at; } skey;

static int skey_cmp(const void *a, const void *b) {
    const skey *x = a, *y = b;
#define CMP(f) if (x->f != y->f) return x->f < y->f ? -1 : 1
    CMP(h); CMP(ver); CMP(shi); CMP(slo); CMP(dhi); CMP(dlo); CMP(sp); CMP(dp); CMP(ssrc);
#undef CMP
    return 0;
}

int64_t cd_streams(int64_t m, const int64_t *rows, void **col, const int64_t *ssrc, int64_t *order, int64_t *group,
                   int64_t *starts) {
    const int8_t *ver = col[COL_IPVER];
    const uint64_t *shi = col[COL_SRC_HI], *slo = col[COL_SRC_LO], *dhi = col[COL_DST_HI], *dlo = col[COL_DST_LO];
    const int32_t *sport = col[COL_SPORT], *dport = col[COL_DPORT];
    int64_t cap = 16;
    while (cap < 2 * m) cap <<= 1;
    int64_t *slot = malloc(cap * sizeof(int64_t)), *gid = malloc((m + 1) * sizeof(int64_t));
    skey *keys = malloc((m + 1) * sizeof(skey));
    int64_t *rank = malloc((m + 1) * sizeof(int64_t));
    int64_t g = -1;
    if (!slot || !gid || !keys || !rank) goto out;
    memset(slot, 0xFF, cap * sizeof(int64_t));
    g = 0;
    for (int64_t i = 0; i < m; i++) {
        int64_t r = rows[i];
        skey k = {0, shi[r], slo[r], dhi[r], dlo[r], ssrc[i], sport[r], dport[r], ver[r], 0, 0};
        k.h = mix(k.shi) ^ mix(k.slo + 1) * 3 ^ mix(k.dhi + 2) * 5 ^ mix(k.dlo + 3) * 7 ^
              mix((uint64_t)(int64_t)k.sp << 16 | (uint64_t)(int64_t)k.dp) * 11 ^
              mix((uint64_t)k.ssrc + ((uint64_t)(int64_t)k.ver << 40));
        int64_t s = (int64_t)(k.h & (uint64_t)(cap - 1));
        for (;; s = (s + 1) & (cap - 1)) {
            int64_t e = slot[s];
            if (e < 0) {
                k.at = g; slot[s] = g; keys[g++] = k;
                gid[i] = k.at;
                break;
            }
            if (keys[e].h == k.h && skey_cmp(&keys[e], &k) == 0) { gid[i] = e; break; }
        }
        keys[gid[i]].n++;
    }
    qsort(keys, g, sizeof(skey), skey_cmp);    /* `at` keeps each stream's number of first appearance */
    int64_t pos = 0;
    for (int64_t j = 0; j < g; j++) {
        rank[keys[j].at] = j;
        starts[j] = pos;
        for (int64_t c = 0; c < keys[j].n; c++) group[pos + c] = j;
        pos += keys[j].n;
    }
    for (int64_t j = 0; j < g; j++) slot[j] = starts[j];        /* next free position of each stream */
    for (int64_t i = 0; i < m; i++) order[slot[rank[gid[i]]]++] = i;
out:
    free(slot); free(gid); free(keys); free(rank);
    return g;
}

int cd_fields(void) { return COL_COUNT; }

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_capture_decode",
                                    "C loops of capture decoding (reached through ctypes)", -1, NULL};
PyMODINIT_FUNC PyInit__capture_decode(void) { return PyModule_Create(&module); }
