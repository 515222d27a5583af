/* RFC 3550 stream statistics (rtp_stats.RtpStreamAnalyser in rfc3550 mode) over an array of packets:
 * the same statements as _add_rfc3550 / _sequence / _finalise / _flush / _roll, in the same order and
 * the same IEEE double arithmetic, so counts, sums and per-interval snapshots are Python's bit for bit.
 *
 * rtp_stats.py documents the rules. What stays in Python: the loss-burst counter (this hands over its
 * calls as events, in order) and the list of interval snapshots (handed over as rows). Reached through
 * ctypes (compiled.py). Build with -ffp-contract=off.
 */
#include <math.h>
#include <stdint.h>

#define MAX_DROPOUT 3000     /* RFC 3550 A.1 */
#define MAX_MISORDER 100
#define SEQ_MOD 65536
#define WINDOW 100           /* positions max-99 .. max still open */

typedef unsigned __int128 u128;

enum { R_PACKETS, R_RECEIVED, R_DUPLICATES, R_REORDERED, R_STALE, R_RESYNCS, R_SEQ_ERRORS, R_MAX16, R_MAX_EXT,
       R_MIN_EXT, R_WIN_LO, R_WIN_HI, R_BAD_SEQ, R_PRIOR_EXPECTED, R_LAST_TS, R_EXT_TS, R_BIN, R_HAS_BIN_JMAX,
       R_FIRST_SEQ, R_HAS_ORIGIN, R_COUNT };
enum { F_T0, F_LAST_ARRIVAL, F_LAST_TRANSIT, F_JITTER, F_JMIN, F_JMAX, F_JSUM, F_DMIN, F_DMAX, F_DSUM, F_ARR_MIN,
       F_ARR_MAX, F_ORIGIN, F_STEP, F_CLOCK, F_BIN_JMAX, F_COUNT };

int rfc_counts(void) { return R_COUNT * 100 + F_COUNT; }

typedef struct {
    int64_t *st;
    double *sd;
    u128 win;
    int64_t *events;          /* (kind, a, b): kind 0 lost(a, b), kind 1 end_segment(a) */
    int64_t n_events, cap_events, last_kind;
    int64_t *rows;            /* per closed interval: packets, received, expected, reordered, duplicates */
    double *rows_j;           /* jitter ms, max jitter ms (NaN: none) */
    int64_t n_rows, cap_rows;
    int overflow;
} run_t;

static void lost(run_t *r, int64_t position, int64_t count) {
    if (r->n_events && r->last_kind == 0) {
        int64_t *e = r->events + 3 * (r->n_events - 1);
        if (e[1] + e[2] == position) {   /* lost(p, n) then lost(p + n, m): lost(p, n + m), the same */
            e[2] += count;
            return;
        }
    }
    if (r->n_events >= r->cap_events) {
        r->overflow = 1;
        return;
    }
    int64_t *e = r->events + 3 * r->n_events++;
    e[0] = 0, e[1] = position, e[2] = count;
    r->last_kind = 0;
}

static void end_segment(run_t *r, int64_t packets) {
    if (r->n_events >= r->cap_events) {
        r->overflow = 1;
        return;
    }
    int64_t *e = r->events + 3 * r->n_events++;
    e[0] = 1, e[1] = packets, e[2] = 0;
    r->last_kind = 1;
}

static inline int bit(u128 w, int64_t i) { return (int)((w >> i) & 1); }

static int64_t expected(run_t *r) {
    int64_t *st = r->st;
    return st[R_PRIOR_EXPECTED] + (st[R_PACKETS] ? st[R_MAX_EXT] - st[R_MIN_EXT] + 1 : 0);
}

static void snapshot(run_t *r, int with_jitter) {
    if (r->n_rows >= r->cap_rows) {
        r->overflow = 1;
        return;
    }
    int64_t *row = r->rows + 5 * r->n_rows;
    double *j = r->rows_j + 2 * r->n_rows++;
    int64_t *st = r->st;
    row[0] = st[R_PACKETS], row[1] = st[R_RECEIVED], row[2] = expected(r), row[3] = st[R_REORDERED];
    row[4] = st[R_DUPLICATES];
    j[0] = j[1] = NAN;
    if (with_jitter && st[R_HAS_BIN_JMAX]) {
        j[0] = r->sd[F_JITTER] * 1000.0;
        j[1] = r->sd[F_BIN_JMAX] * 1000.0;
    }
}

static void roll(run_t *r, int64_t k) {
    snapshot(r, 1);
    for (int64_t i = 0; i < k - r->st[R_BIN] - 1; i++) snapshot(r, 0);
    r->st[R_BIN] = k;
    r->st[R_HAS_BIN_JMAX] = 0;
}

static void segment(run_t *r, int64_t seq, double arrival) {
    int64_t *st = r->st;
    st[R_RECEIVED]++;
    st[R_MAX16] = seq;
    st[R_MAX_EXT] = st[R_MIN_EXT] = seq;
    r->win = 1;
    r->sd[F_ARR_MIN] = r->sd[F_ARR_MAX] = arrival;
}

static void finalise(run_t *r, int64_t shift) {
    int64_t max_old = r->st[R_MAX_EXT], lowest = r->st[R_MIN_EXT];
    for (int64_t i = WINDOW - 1; i >= 0 && i >= WINDOW - shift; i--) {
        int64_t s = max_old - i;
        if (s >= lowest && !bit(r->win, i)) lost(r, s, 1);
    }
    if (shift > WINDOW) lost(r, max_old + 1, shift - WINDOW);
}

static void flush(run_t *r) {
    int64_t max_ext = r->st[R_MAX_EXT], min_ext = r->st[R_MIN_EXT];
    int64_t s = min_ext > max_ext - WINDOW + 1 ? min_ext : max_ext - WINDOW + 1;
    for (; s <= max_ext; s++)
        if (!bit(r->win, max_ext - s)) lost(r, s, 1);
    end_segment(r, max_ext - min_ext + 1);
}

static void sequence(run_t *r, int64_t seq, double arrival) {
    int64_t *st = r->st;
    int64_t udelta = (seq - st[R_MAX16]) & 0xFFFF;
    if (0 < udelta && udelta < MAX_DROPOUT) {
        if (udelta != 1) st[R_SEQ_ERRORS]++;
        st[R_RECEIVED]++;
        if (udelta != 1 || !bit(r->win, WINDOW - 1)) finalise(r, udelta);
        r->win = udelta >= WINDOW ? 1 : (((r->win << udelta) | 1) & ((((u128)1) << WINDOW) - 1));
        st[R_MAX16] = seq;
        st[R_MAX_EXT] += udelta;
        r->sd[F_ARR_MAX] = arrival;
        return;
    }
    st[R_SEQ_ERRORS]++;
    if (udelta == 0) {
        st[R_DUPLICATES]++;
    } else if (udelta > SEQ_MOD - MAX_MISORDER) {
        int64_t back = SEQ_MOD - udelta;
        if (bit(r->win, back)) {
            st[R_DUPLICATES]++;
            return;
        }
        r->win |= ((u128)1) << back;
        st[R_RECEIVED]++;
        st[R_REORDERED]++;
        int64_t ext = st[R_MAX_EXT] - back;
        if (ext < st[R_MIN_EXT]) {
            st[R_MIN_EXT] = ext;
            r->sd[F_ARR_MIN] = arrival;
        }
    } else if (seq == st[R_BAD_SEQ]) {
        flush(r);
        st[R_PRIOR_EXPECTED] += st[R_MAX_EXT] - st[R_MIN_EXT] + 1;
        st[R_RESYNCS]++;
        segment(r, seq, arrival);
    } else {
        st[R_BAD_SEQ] = (seq + 1) & 0xFFFF;
        st[R_STALE]++;
    }
}

/* Returns the number of events (their rows in `events`), rows written in *n_rows; -1 when an output
 * was too small (the caller then runs the Python analyser instead). */
int64_t rfc_feed(int64_t *st, double *sd, int64_t n, const int64_t *seq, const int64_t *ts, const double *arrival,
                 int64_t *events, int64_t cap_events, int64_t *rows, double *rows_j, int64_t cap_rows,
                 int64_t *n_rows) {
    run_t r = {st, sd, ((u128)(uint64_t)st[R_WIN_HI] << 64) | (uint64_t)st[R_WIN_LO], events, 0, cap_events, -1,
               rows, rows_j, 0, cap_rows, 0};
    for (int64_t i = 0; i < n && !r.overflow; i++) {
        int64_t s = seq[i], t = ts[i];
        double a = arrival[i];
        if (st[R_PACKETS] == 0) {             /* _start */
            if (!st[R_HAS_ORIGIN]) {
                sd[F_ORIGIN] = a;
                st[R_HAS_ORIGIN] = 1;
            }
            if (sd[F_STEP] != 0.0) {
                int64_t k = (int64_t)floor((a - sd[F_ORIGIN]) / sd[F_STEP]);
                if (k > 0) roll(&r, k);
            }
            st[R_PACKETS] = 1;
            sd[F_T0] = sd[F_LAST_ARRIVAL] = a;
            st[R_LAST_TS] = t;
            st[R_FIRST_SEQ] = s;
            segment(&r, s, a);
            if (sd[F_CLOCK] != 0.0) {
                sd[F_BIN_JMAX] = 0.0;
                st[R_HAS_BIN_JMAX] = 1;
            }
            continue;
        }
        if (sd[F_STEP] != 0.0) {
            int64_t k = (int64_t)floor((a - sd[F_ORIGIN]) / sd[F_STEP]);
            if (k > st[R_BIN]) roll(&r, k);
        }
        st[R_PACKETS]++;
        st[R_EXT_TS] += ((t - st[R_LAST_TS] + 0x80000000LL) & 0xFFFFFFFFLL) - 0x80000000LL;
        st[R_LAST_TS] = t;
        double gap = a - sd[F_LAST_ARRIVAL];
        sd[F_LAST_ARRIVAL] = a;
        sd[F_DSUM] += gap;
        if (gap < sd[F_DMIN]) sd[F_DMIN] = gap;
        if (gap > sd[F_DMAX]) sd[F_DMAX] = gap;
        if (sd[F_CLOCK] != 0.0) {
            double transit = (a - sd[F_T0]) - (double)st[R_EXT_TS] / sd[F_CLOCK];
            double d = transit - sd[F_LAST_TRANSIT];
            sd[F_LAST_TRANSIT] = transit;
            double j = 0.0625 * (d >= 0.0 ? d : -d) + 0.9375 * sd[F_JITTER];   /* RFC 3550 A.8 */
            sd[F_JITTER] = j;
            sd[F_JSUM] += j;
            if (j < sd[F_JMIN]) sd[F_JMIN] = j;
            if (j > sd[F_JMAX]) sd[F_JMAX] = j;
            if (!st[R_HAS_BIN_JMAX] || j > sd[F_BIN_JMAX]) {
                sd[F_BIN_JMAX] = j;
                st[R_HAS_BIN_JMAX] = 1;
            }
        }
        sequence(&r, s, a);
    }
    st[R_WIN_LO] = (int64_t)(uint64_t)r.win;
    st[R_WIN_HI] = (int64_t)(uint64_t)(r.win >> 64);
    *n_rows = r.n_rows;
    return r.overflow ? -1 : r.n_events;
}
