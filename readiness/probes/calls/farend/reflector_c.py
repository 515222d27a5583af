"""The reflector's per-packet loop in C (csrc/media_loops.c fm_reflect), its sessions in a numpy table.

Same behaviour as Reflector._answer (reflector.py), the reference: which requests are answered,
what a reply carries, the limits per session and per source. C finds a request's session in an
open-addressing index over the table (source sockaddr + session id); a request of a session not in
the table is handed back, Python creates the session within the per-source and total limits, and C
answers it in a second pass. Replies leave in sendmmsg chunks of a few as they are ready.
"""

from __future__ import annotations

import ctypes
import time

import numpy as np

from ..io import media_loops, mmsg

_NAME = mmsg.NAME


class CReflectorSessions:
    """Sessions and the answer loop for one reflector socket (one DatagramBatch, one key)."""

    def __init__(self, key: bytes, family: int, batch: mmsg.DatagramBatch, limits, source_of):
        self._lib = media_loops.lib()
        self._ks = media_loops.key_state(key)
        self.limits = limits
        self._source_of = source_of                  # sockaddr bytes -> address text (per-source limits)
        self._batch = batch
        self._ptrs = media_loops.batch_pointers(batch)
        self._smsg, self._siov = ctypes.addressof(batch._smsg), ctypes.addressof(batch._siov)
        self._marks = np.frombuffer(b"".join(mmsg.tos_control(family, d << 2) for d in range(64)), dtype=np.uint8)
        self.table = np.zeros(0, dtype=media_loops.SESSION_DTYPE)
        self.index = np.zeros(0, dtype=np.uint32)
        self._free: list[int] = []
        self._grow()
        self.active = 0
        self.per_source: dict[str, int] = {}
        self.created = 0
        self._deferred = np.zeros(batch.n, dtype=np.int32)
        self._failed = np.zeros(2 * batch.n, dtype=np.int32)
        self._counts = np.zeros(5, dtype=np.int64)
        self._n_out, self._n_def = ctypes.c_int(0), ctypes.c_int(0)

    def _grow(self) -> None:
        n = len(self.table)
        size = max(1024, 2 * n)
        table = np.zeros(size, dtype=media_loops.SESSION_DTYPE)
        table[:n] = self.table
        self.table = table
        self.index = np.zeros(4 * size, dtype=np.uint32)      # at most a quarter full: short probes
        self._free = list(range(size - 1, n - 1, -1)) + self._free
        self._rebuild()

    def _rebuild(self) -> None:
        self._lib.fm_index_rebuild(self.table.ctypes.data, len(self.table), self.index.ctypes.data,
                                   len(self.index) - 1)

    def _create(self, name: bytes, session_id: int, now: int) -> bool:
        lim = self.limits
        source = self._source_of(name)
        n = self.per_source.get(source, 0)
        if n >= lim.sessions_per_source or self.active >= lim.sessions_total:
            return False
        if not self._free:
            self._grow()
        row = self._free.pop()
        t = self.table
        t["name"][row] = name
        t["session_id"][row] = session_id
        t["started"][row] = t["last"][row] = now
        t["fin_at"][row] = 0
        t["highest"][row] = -1
        t["tokens"][row] = lim.rate_pps
        t["reflector_seq"][row] = t["received"][row] = t["bitmap"][row] = 0
        t["used"][row] = 1
        self._lib.fm_index_put(t.ctypes.data, row, self.index.ctypes.data, len(self.index) - 1)
        self.per_source[source] = n + 1
        self.active += 1
        self.created += 1
        return True

    def drain(self, fd: int, stats) -> int:
        """Answer everything waiting on the socket; returns how many datagrams were read."""
        b = self._batch
        rmsg, riov, _, _ = self._ptrs
        return b.read_all(fd, lambda got: self._answer(fd, got, stats),
                          lambda fd: self._lib.fm_recv(fd, rmsg, riov, b.n, mmsg.SLOT, mmsg.CONTROL))

    def _pass(self, fd: int, only: np.ndarray | None, k: int, now: int) -> None:
        rmsg, _, data, control = self._ptrs
        lim = self.limits
        self._lib.fm_reflect(fd, rmsg, data, mmsg.SLOT, control, mmsg.CONTROL, None if only is None else only.ctypes.data,
                             k, self.table.ctypes.data, self.index.ctypes.data, len(self.index) - 1,
                             self._ks.ctypes.data, float(lim.rate_pps), int(lim.duration_s * 1e9), now,
                             self._marks.ctypes.data, self._smsg, self._siov, ctypes.addressof(self._n_out),
                             self._deferred.ctypes.data, ctypes.addressof(self._n_def), self._failed.ctypes.data,
                             self._counts.ctypes.data)

    def _answer(self, fd: int, got: int, st) -> None:
        now = time.monotonic_ns()
        self._n_out.value = self._n_def.value = 0
        self._counts[:] = 0
        self._pass(fd, None, got, now)
        if self._n_def.value:                       # first packets of new sessions
            b = self._batch
            retry = []
            made: set[tuple[bytes, int]] = set()
            for i in self._deferred[:self._n_def.value].tolist():
                name = bytes(b.names[i * _NAME:(i + 1) * _NAME])
                sid = int.from_bytes(b.data[i * mmsg.SLOT + 16:i * mmsg.SLOT + 20], "big")
                if (name, sid) in made or self._create(name, sid, now):
                    made.add((name, sid))
                    retry.append(i)
                else:
                    st.over_limit += 1
            self._n_def.value = 0
            if retry:
                only = np.array(retry, dtype=np.int32)
                self._n_out.value = 0                   # the first pass has sent its replies
                self._pass(fd, only, len(only), now)
        unauth, over, fins, replies, failed = self._counts.tolist()
        st.unauthenticated += unauth
        st.over_limit += over
        st.fins += fins
        st.reflected += replies - failed          # a refused fin is rare: counted against reflections

    def sweep(self, now: int, idle_ns: int, fin_grace_ns: int) -> None:
        """Forget sessions silent for idle_ns, or fin_grace_ns after their fin."""
        t = self.table
        stale = (t["used"] == 1) & (((now - t["last"]) > idle_ns) | ((t["fin_at"] != 0) & ((now - t["fin_at"]) > fin_grace_ns)))
        rows = np.flatnonzero(stale).tolist()
        if not rows:
            return
        for row in rows:
            source = self._source_of(bytes(t["name"][row]))
            left = self.per_source.get(source, 1) - 1
            if left:
                self.per_source[source] = left
            else:
                self.per_source.pop(source, None)
            t["used"][row] = 0
            self._free.append(row)
        self.active -= len(rows)
        self._rebuild()
