"""The shared port with its per-packet loops in C (csrc/media_loops.c fm_tick / fm_replies).

Same behaviour as SharedPort (shared_port.py), which stays the reference: what a stream's packets carry,
where its replies go, how its schedule error is counted. The difference is where a call's send
and receive counters live while it runs: in a row of a numpy table the C code updates (the
stream's row index is the low 16 bits of its session id, so a reply finds its call without a
lookup). When a stream detaches, its row is copied back into its MediaStreamResult.

The schedule moves too: each row holds its next due time and period, and once per tick fm_tick
sends every row's due packet, so no Python runs per packet. The stream's place in the timing
wheel only comes round every WATCH_NS to notice a hang-up or the end of its packets.
"""

from __future__ import annotations

import ctypes
import os
import secrets
from array import array
from typing import TYPE_CHECKING

import numpy as np

from ..io import media_loops, mmsg
from .shared_port import RECV_BATCH, SEND_BATCH, SharedPort
from .stream_types import WATCH_NS
from .trace import REPLY

if TYPE_CHECKING:
    from .stream import MediaStream

MAX_ROWS = 1 << 16                       # the row is the session id's low 16 bits
TRACE_CAP = 16384                        # a call's reply buffer; flushed to its file above FLUSH_AT
FLUSH_AT = TRACE_CAP - RECV_BATCH * REPLY.size   # so one more receive batch always fits


class CSharedPort(SharedPort):
    """A SharedPort whose queue/flush/drain run in C. All its calls share one key (the port's)."""

    def __init__(self, local_host: str, dscp: int, key: bytes, capacity: int = 0):
        super().__init__(local_host, dscp)
        self._lib = media_loops.lib()
        self._ks = media_loops.key_state(key)
        self._key = key
        # rows for the whole load from the start: a row is 4 KiB (its schedule histogram), and growing
        # 1,024 -> 2,048 rows copied for 5-11 ms in the engine thread, a stall of every call's media
        self.rows = _touched(np.zeros(min(max(64, capacity), MAX_ROWS), dtype=media_loops.ROW_DTYPE))
        self._streams: list[MediaStream | None] = [None] * len(self.rows)
        self._traces: list[bytearray | None] = [None] * len(self.rows)
        self._free = list(range(len(self.rows) - 1, -1, -1))
        self._names: dict[tuple[str, int], int] = {}
        self._q_idx = np.zeros(SEND_BATCH, dtype=np.int32)      # fm_tick's scratch
        self._q_seq = np.zeros(SEND_BATCH, dtype=np.int64)
        self._q_due = np.zeros(SEND_BATCH, dtype=np.int64)
        self._cursor = ctypes.c_uint32(0)
        self._smsg, self._siov = ctypes.addressof(self.out._smsg), ctypes.addressof(self.out._siov)
        self._over = np.zeros(2 * SEND_BATCH, dtype=np.int64)
        self._n_over = ctypes.c_int(0)
        self._failed = np.zeros(2 * SEND_BATCH, dtype=np.int32)
        self._port_stats = np.zeros(2, dtype=np.int64)
        self._overflow: dict[int, list[int]] = {}    # row -> schedule errors beyond the histogram
        self._out_ptrs = media_loops.batch_pointers(self.out)
        self._in_ptrs = media_loops.batch_pointers(self.inb)

    # --- rows ---------------------------------------------------------------------------------------

    def _grow(self) -> None:
        n = len(self.rows)
        if n >= MAX_ROWS:
            raise RuntimeError(f"more than {MAX_ROWS} calls on one media port")
        rows = _touched(np.zeros(min(2 * n, MAX_ROWS), dtype=media_loops.ROW_DTYPE))
        rows[:n] = self.rows
        self.rows = rows
        self._streams += [None] * (len(rows) - n)
        self._traces += [None] * (len(rows) - n)
        self._free = list(range(len(rows) - 1, n - 1, -1)) + self._free

    def attach(self, s: "MediaStream") -> None:
        if not self._free:
            self._grow()
        i = self._free.pop()
        s.session_id = (secrets.randbits(16) << 16) | i      # the row travels in every packet
        s.result.session_id = s.session_id
        s._row = i
        trace = bytearray(TRACE_CAP)
        name = self._names.get(s.plan.remote)
        if name is None:
            name = self._names[s.plan.remote] = self.name_of(*s.plan.remote)
        row = np.zeros(1, dtype=media_loops.ROW_DTYPE)[0]
        row["name"], row["trace"], row["trace_cap"] = name, media_loops.ptr(trace), TRACE_CAP
        row["seq0"], row["ts0"], row["spp"], row["ssrc"] = s._seq0, s._ts0, s._spp, s.ssrc
        row["session_id"], row["length"], row["payload_len"] = s.session_id, s._length, s._payload_len
        row["pt"], row["dscp"], row["fill"], row["active"] = s._pt, s.dscp, s._fill_key[0], 1
        row["fin_received"] = -1
        self.rows[i] = row
        self._streams[i], self._traces[i] = s, trace
        self.sessions[s.session_id] = s

    def detach(self, s: "MediaStream") -> None:
        i = getattr(s, "_row", None)
        if i is None or self._streams[i] is not s:
            return
        self._flush_trace(i)
        row = self.rows[i]
        r = s.result
        r.packets_sent, r.octets_sent = int(row["packets"]), int(row["octets"])
        if r.packets_sent:
            r.first_send_ns, r.last_send_ns = int(row["first_send_ns"]), int(row["last_send_ns"])
        r.send_errors = int(row["send_errors"])
        if row["last_errno"]:
            r.last_send_error = os.strerror(int(row["last_errno"]))
        if row["fin_received"] >= 0:
            r.fin_received, r.fin_replies = int(row["fin_received"]), int(row["fin_replies"])
            r.fin_bitmap, r.fin_highest = int(row["fin_bitmap"]), int(row["fin_highest"])
        r.unauthenticated += int(row["unauthenticated"])
        r.malformed += int(row["malformed"])
        if row["trace_lost"]:
            r.last_send_error = r.last_send_error or f"{int(row['trace_lost'])} replies not traced (buffer full)"
        sched = r.schedule
        sched.bins = array("I", row["hist"].astype(np.uint32).tobytes())
        sched.over = self._overflow.pop(i, [])
        sched.count, sched.max_ns = int(row["sched_count"]), int(row["sched_max"])
        self.rows[i]["active"] = 0
        self._streams[i] = self._traces[i] = None
        self._free.append(i)
        self.sessions.pop(s.session_id, None)

    schedules = True                          # sends on its own schedule (begin/sending/sent/tick)

    def fin_seen(self, s: "MediaStream") -> bool:
        return bool(self.rows["fin_received"][s._row] >= 0)

    # --- sending: the schedule runs in C (fm_tick); the stream only watches ------------------------

    def begin(self, s: "MediaStream", first_due: int) -> int:
        row = self.rows[s._row]
        row["seq"], row["next_due"], row["period"], row["stop_at"] = 0, first_due, s._period, s._stop_at
        row["sending"] = 1
        s.planned_end = first_due + s._stop_at * s._period     # C keeps next_due on this grid
        return first_due + WATCH_NS

    def sending(self, s: "MediaStream") -> bool:
        if s._stop_now:                       # hang-up: no packet after the ones already sent
            self.rows["stop_at"][s._row] = self.rows["seq"][s._row]
            self.rows["sending"][s._row] = 0
        return bool(self.rows["sending"][s._row])

    def sent(self, s: "MediaStream") -> int:
        return int(self.rows["seq"][s._row])

    def end_due(self, s: "MediaStream") -> int:
        """When the packet after the stream's last would be due (monotonic ns): its fin's place."""
        row = self.rows[s._row]
        return int(row["next_due"]) + max(int(row["stop_at"]) - int(row["seq"]), 0) * int(row["period"])

    def tick(self, now: int, wall_offset: int) -> None:
        rmsg, riov, data, _ = self._out_ptrs
        more = ctypes.c_int(1)
        while more.value:
            self._n_over.value = 0
            self._lib.fm_tick(self.fd, self.rows.ctypes.data, len(self.rows), now, SEND_BATCH, data, mmsg.SLOT,
                              self._smsg, self._siov, self._ks.ctypes.data, wall_offset, self._over.ctypes.data,
                              ctypes.addressof(self._n_over), self._failed.ctypes.data, self._q_idx.ctypes.data,
                              self._q_seq.ctypes.data, self._q_due.ctypes.data, ctypes.addressof(self._cursor),
                              ctypes.addressof(more))
            for j in range(self._n_over.value):             # rare: later than the histogram's 10 ms
                self._overflow.setdefault(int(self._over[2 * j]), []).append(int(self._over[2 * j + 1]))

    # --- receiving ----------------------------------------------------------------------------------

    def drain(self) -> int:
        rmsg, riov, data, _ = self._in_ptrs
        total = 0
        while True:
            got = self._lib.fm_replies(self.fd, rmsg, riov, data, mmsg.SLOT, mmsg.CONTROL, self.inb.n,
                                       self.rows.ctypes.data, len(self.rows), self._ks.ctypes.data,
                                       self._port_stats.ctypes.data)
            total += got
            if got:
                for i in np.flatnonzero(self.rows["trace_used"] >= FLUSH_AT).tolist():
                    self._flush_trace(i)
            if got < self.inb.n:
                self.stray, self.malformed = int(self._port_stats[0]), int(self._port_stats[1])
                return total

    def _flush_trace(self, i: int) -> None:
        used = int(self.rows["trace_used"][i])
        s, buf = self._streams[i], self._traces[i]
        if used and s is not None and buf is not None:
            s.trace.write_records(memoryview(buf)[:used], REPLY.size)
        self.rows["trace_used"][i] = 0


def _touched(rows: np.ndarray) -> np.ndarray:
    """`rows` with every page written now. np.zeros maps untouched (huge) pages: the first row written
    in each 2 MiB page made the kernel zero it, 5-7 ms in the engine thread every 500 calls set up."""
    rows.view(np.uint8).fill(0)
    return rows
