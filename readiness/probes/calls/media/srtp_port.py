"""The shared port of reflected SRTP calls: SharedPort's batches and stamps, each packet protected
after it is signed and each reply unprotected before its stamp is read (RFC 3711; the stamp and its
MAC travel inside the encrypted payload, so nothing about them changes).

Python only, whether or not the C loops are built: libsrtp is called once per packet from Python
(pylibsrtp), and the C loops (csrc/media_loops.c) do not link libsrtp, so their sender and receiver
cannot protect. Plain calls of the same run keep the C port; only SRTP calls come here, at the
Python path's rate (see the capacity note in load.py).

A reply's call is found by its SSRC before it can be decrypted (the session id is inside): the
reflector sends each call's replies with the call's own SSRC, which this port keeps unique.
"""

from __future__ import annotations

import secrets
import struct
from typing import TYPE_CHECKING

from ..io import mmsg
from ..wire import rtp
from .shared_port import SharedPort

if TYPE_CHECKING:
    from .stream import MediaStream

_SLOT = mmsg.SLOT
_SSRC = struct.Struct("!I").unpack_from


class SrtpSharedPort(SharedPort):
    """A SharedPort whose calls all speak SRTP, each with its own keys (stream.srtp)."""

    def __init__(self, local_host: str, dscp: int):
        super().__init__(local_host, dscp)
        self._by_ssrc: dict[int, MediaStream] = {}

    def attach(self, s: MediaStream) -> None:
        while s.ssrc in self._by_ssrc:       # before its first packet: a fresh SSRC is free to take
            s.ssrc = secrets.randbits(32)
            s.result.ssrc = s.ssrc
        super().attach(s)
        self._by_ssrc[s.ssrc] = s

    def detach(self, s: MediaStream) -> None:
        super().detach(s)
        if self._by_ssrc.get(s.ssrc) is s:
            del self._by_ssrc[s.ssrc]

    # --- sending ------------------------------------------------------------------------------------

    def queue(self, s: MediaStream, due: int, wall_offset: int) -> None:
        super().queue(s, due, wall_offset)             # built and signed in the batch's last slot
        i = self.queued - 1
        off = i * _SLOT
        leg = s.srtp
        assert leg is not None
        secured = leg.protect(self.out.view[off:off + self._lengths[-1]])
        self._slot_fill[i] = None                      # its filler is ciphertext now: rewrite next time
        if secured is None:                            # never sent in the clear: dropped, a send error
            self.queued = i
            del self._owners[-1], self._dues[-1], self._names[-1], self._lengths[-1]
            return
        self.out.data[off:off + len(secured)] = secured
        self._lengths[-1] = len(secured)

    def send_one(self, buf: bytes | bytearray, s: MediaStream) -> None:
        leg = s.srtp
        assert leg is not None
        secured = leg.protect(buf)
        if secured is None:
            return
        try:
            self.sock.sendto(secured, s.plan.remote)
        except OSError:
            pass

    # --- receiving ----------------------------------------------------------------------------------

    def _replies(self, got: int, slots: list[int] | None = None) -> None:
        """Unprotect each reply in its slot (shorter by the tag), then read the stamps as SharedPort does."""
        b = self.inb
        data, view, lens = b.data, b.view, b.lens
        plain_slots = []
        for i in (range(got) if slots is None else slots):
            off = i * _SLOT
            n = lens[i]
            if n < rtp.HEADER_LEN:
                self.malformed += 1
                continue
            s = self._by_ssrc.get(_SSRC(data, off + 8)[0])
            if s is None or s.srtp is None:
                self.stray += 1
                continue
            plain = s.srtp.unprotect(view[off:off + n])     # None: dropped, counted by the call's leg
            if plain is None:
                if s.srtp.why == "other":
                    s._malformed(bytes(view[off:off + n]), s.srtp.error)
                continue
            data[off:off + len(plain)] = plain
            lens[i] = len(plain)
            plain_slots.append(i)
        if plain_slots:
            super()._replies(got, plain_slots)

