/* Wireshark's RTP stream rules (ui/tap-rtp-analysis.c rtppacket_analyse(), Wireshark 4.0) over an
 * array of packets: the same statements as wireshark_rtp.WiresharkRtp.add, in the same order and the
 * same IEEE double arithmetic, so the per-packet values and the totals are bit for bit Python's.
 *
 * wireshark_rtp.py documents the rules; wireshark_chunks.py keeps the numpy version for installs
 * without a C compiler. Reached through ctypes (compiled.py), which releases the GIL. Build with
 * -ffp-contract=off: a fused multiply-add would round differently from Python.
 */
#include <math.h>
#include <stdint.h>

/* state: the WiresharkRtp fields, integers and doubles in the order wireshark_c.py names them */
enum { I_TOTAL, I_START_SEQ, I_STOP_SEQ, I_SEQ_NUM, I_FIRST_TS, I_PT, I_UNDER, I_CYCLES, I_ERRORS, I_JITTER_SEEN,
       I_HAS_MIN_DELTA, I_HAS_MIN_JITTER, I_COUNT };
enum { D_TIME, D_LASTNOM, D_DELTA, D_JITTER, D_MIN_DELTA, D_MAX_DELTA, D_MEAN_DELTA, D_MIN_JITTER, D_MAX_JITTER,
       D_MEAN_JITTER, D_COUNT };

int ws_counts(void) { return I_COUNT * 100 + D_COUNT; }

static inline int comfort_noise(int64_t pt) { return pt == 13 || pt == 19; }  /* RFC 3551 CN, old CN */

/* ticks: ticks per ms of payload types 0..127; ticks_none: of a packet without a payload type (-1).
 * Out, per packet after it: jitter (ms), a jitter seen yet, delta (ms), counted in the delta
 * statistics, counted in the jitter statistics. */
void ws_feed(int64_t *st, double *sd, int64_t n, const int64_t *seq, const int64_t *ts, const double *t_ms,
             const uint8_t *marker, const int64_t *pt, const int64_t *ticks, int64_t ticks_none,
             double *o_jitter, uint8_t *o_seen, double *o_delta, uint8_t *o_regular, uint8_t *o_counted) {
    for (int64_t i = 0; i < n; i++) {
        int64_t s = seq[i], t = ts[i], p = pt[i];
        double a = t_ms[i];
        int regular = 0;
        int64_t tpm = p >= 0 ? ticks[p & 127] : ticks_none;
        if (st[I_TOTAL] == 0) {
            st[I_START_SEQ] = st[I_STOP_SEQ] = st[I_SEQ_NUM] = s;
            sd[D_TIME] = a;
            st[I_FIRST_TS] = t;
            sd[D_LASTNOM] = 0.0;
            st[I_PT] = p;
            st[I_TOTAL] = 1;
        } else {
            int64_t nominal = (t - st[I_FIRST_TS]) & 0xFFFFFFFFLL;
            int intime = nominal < 0x80000000LL;
            if (intime) {
                if (s < st[I_START_SEQ] && !st[I_UNDER]) {
                    st[I_CYCLES]++;
                    st[I_UNDER] = 1;
                } else if (s == 0 && st[I_STOP_SEQ] == 65535 && !st[I_UNDER]) {
                    st[I_CYCLES]++;
                    st[I_UNDER] = 1;
                } else if (s > st[I_START_SEQ] && st[I_UNDER]) {
                    st[I_UNDER] = 0;
                }
            }
            int64_t sn = st[I_SEQ_NUM];
            if (intime && (sn + 1 == s || (sn == 65535 && s == 0))) {
                st[I_SEQ_NUM] = s;
            } else if (intime && (sn + 1 < s || sn - s > 0xFF00)) {
                st[I_SEQ_NUM] = s;
                st[I_ERRORS]++;
            } else if (sn + 1 > s) {
                st[I_ERRORS]++;
            }
            regular = intime && !marker[i] && !comfort_noise(p) && !comfort_noise(st[I_PT]);
            st[I_PT] = p;
            if (intime) {
                if (tpm) {
                    double nom = (double)nominal / (double)tpm;
                    double diff = fabs(a - (sd[D_TIME] + (nom - sd[D_LASTNOM])));
                    sd[D_JITTER] = 0.0625 * diff + 0.9375 * sd[D_JITTER];
                    st[I_JITTER_SEEN] = 1;
                    sd[D_LASTNOM] = nom;
                }
                sd[D_DELTA] = a - sd[D_TIME];
            }
            if (regular) {
                double count = (double)st[I_TOTAL], d = sd[D_DELTA];
                if (d > sd[D_MAX_DELTA]) sd[D_MAX_DELTA] = d;
                if (!st[I_HAS_MIN_DELTA] || d < sd[D_MIN_DELTA]) {
                    sd[D_MIN_DELTA] = d;
                    st[I_HAS_MIN_DELTA] = 1;
                }
                sd[D_MEAN_DELTA] = (sd[D_MEAN_DELTA] * (count - 1) + d) / count;
                if (tpm) {
                    double j = sd[D_JITTER];
                    if (j > sd[D_MAX_JITTER]) sd[D_MAX_JITTER] = j;
                    if (!st[I_HAS_MIN_JITTER] || j < sd[D_MIN_JITTER]) {
                        sd[D_MIN_JITTER] = j;
                        st[I_HAS_MIN_JITTER] = 1;
                    }
                    sd[D_MEAN_JITTER] = (sd[D_MEAN_JITTER] * (count - 1) + j) / count;
                }
            }
            if (intime) sd[D_TIME] = a;
            st[I_STOP_SEQ] = s;
            st[I_TOTAL]++;
        }
        o_jitter[i] = sd[D_JITTER];
        o_seen[i] = (uint8_t)st[I_JITTER_SEEN];
        o_delta[i] = sd[D_DELTA];
        o_regular[i] = (uint8_t)regular;
        o_counted[i] = (uint8_t)(regular && tpm > 0);
    }
}
