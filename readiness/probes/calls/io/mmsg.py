"""Batched UDP I/O: many datagrams per system call with recvmmsg(2) and sendmmsg(2), called through
ctypes into preallocated buffers.

Why: at 1,000 calls each end handles 50,000 packets a second each way. One recvmsg/sendto per packet
costs a system call plus a Python call that builds tuples, byte strings and ancillary lists; one
call per batch into fixed buffers costs neither per packet. Each slot of a `DatagramBatch` has its
datagram bytes, the peer's address (a sockaddr, IPv4 or IPv6) and its ancillary data (kernel receive
time SO_TIMESTAMPNS, TOS/traffic class IP_RECVTOS), at fixed offsets in three bytearrays that Python
code reads and writes in place (struct, hashlib, slicing) with no copy.

    b = DatagramBatch(64)
    n = b.recv(sock.fileno())                  # slots 0..n-1 hold datagrams
    length, rx_ns, tos = b.length(i), *b.meta(i)
    ...write a reply into b.data at b.offset(i)...
    b.send(sock.fileno(), [i, ...], controls)  # back to where each came from

Linux only (as the rest of the media path: SO_TIMESTAMPNS, IP_RECVTOS).
"""

from __future__ import annotations

import ctypes
import errno
import socket
import struct

import numpy as np

from .udpsock import IPV6_TCLASS, SCM_TIMESTAMPNS

SLOT = 2048                        # bytes per datagram slot: more than any media packet we accept
NAME = 28                          # sizeof(struct sockaddr_in6), which also holds a sockaddr_in
CONTROL = 64                       # ancillary data per slot: timespec cmsg (32) + TOS cmsg (24)
MSG_DONTWAIT = 0x40                # <bits/socket.h>


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32), ("iov", ctypes.c_void_p),
                ("iovlen", ctypes.c_size_t), ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class _Mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", _Msghdr), ("len", ctypes.c_uint)]


# numpy views of the same memory, for whole-batch updates (one assignment instead of N ctypes sets)
_MMSG = np.dtype({"names": ["name", "namelen", "iov", "iovlen", "control", "controllen", "flags", "len"],
                  "formats": ["<u8", "<u4", "<u8", "<u8", "<u8", "<u8", "<i4", "<u4"],
                  "offsets": [0, 8, 16, 24, 32, 40, 48, 56], "itemsize": ctypes.sizeof(_Mmsghdr)})
_IOV = np.dtype({"names": ["base", "len"], "formats": ["<u8", "<u8"], "offsets": [0, 8],
                 "itemsize": ctypes.sizeof(_Iovec)})
assert ctypes.sizeof(_Mmsghdr) == 64 and ctypes.sizeof(_Iovec) == 16

_libc = ctypes.CDLL(None, use_errno=True)
_recvmmsg = _libc.recvmmsg
_recvmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_void_p]
_recvmmsg.restype = ctypes.c_int
_sendmmsg = _libc.sendmmsg
_sendmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
_sendmmsg.restype = ctypes.c_int

# The ancillary data the kernel writes for our sockets, in its order (sock_recv_cmsgs, then
# ip_cmsg_recv): SOL_SOCKET/SCM_TIMESTAMPNS with a timespec, then IP_TOS (1 byte) or IPV6_TCLASS (int).
_CMSG_TS = struct.Struct("=QiiqqQii")            # len, level, type, sec, nsec, then the 2nd header
_TS_LEN = socket.CMSG_LEN(16)
_TOS_AT = socket.CMSG_SPACE(16) + socket.CMSG_LEN(0)
_TOS_SPACE = socket.CMSG_SPACE(4)


def _address(buf: bytearray) -> int:
    return ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))


def sockaddr(host: str, port: int) -> bytes:
    """The struct sockaddr_in / sockaddr_in6 for host:port (numeric host), padded to NAME bytes."""
    if ":" in host:
        flow, scope = 0, 0
        raw = struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", port, flow) + socket.inet_pton(
            socket.AF_INET6, host) + struct.pack("=I", scope)
    else:
        raw = struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + socket.inet_aton(host)
    return raw.ljust(NAME, b"\0")


def tos_control(family: int, tos: int) -> bytes:
    """One cmsg that marks a datagram with `tos` (DSCP << 2): IP_TOS or IPV6_TCLASS, an int."""
    if family == socket.AF_INET6:
        level, kind = socket.IPPROTO_IPV6, IPV6_TCLASS
    else:
        level, kind = socket.IPPROTO_IP, socket.IP_TOS
    return struct.pack("=Qiii", socket.CMSG_LEN(4), level, kind, tos).ljust(_TOS_SPACE, b"\0")


class DatagramBatch:
    """`n` datagram slots with their own headers for recvmmsg, and a second header array for
    sendmmsg that can send any subset of the slots, each to its own address with its own cmsg."""

    def __init__(self, n: int = 64):
        self.n = n
        self.data = bytearray(n * SLOT)
        self.view = memoryview(self.data)
        self.names = bytearray(n * NAME)
        self.control = bytearray(n * CONTROL)
        self._keep: list = []                                  # what the raw pointers point into
        data_at, names_at, control_at = _address(self.data), _address(self.names), _address(self.control)
        self._data_at, self._names_at = data_at, names_at
        idx = np.arange(n, dtype=np.uint64)
        # receive side: slot i's own iovec, name and control buffer, fixed for life
        self._riov = (_Iovec * n)()
        riov = np.frombuffer(self._riov, dtype=_IOV)
        riov["base"] = data_at + idx * SLOT
        riov["len"] = SLOT
        self._rmsg = (_Mmsghdr * n)()
        self.rhdr = np.frombuffer(self._rmsg, dtype=_MMSG)
        self.rhdr["name"] = names_at + idx * NAME
        self.rhdr["iov"] = ctypes.addressof(self._riov) + idx * ctypes.sizeof(_Iovec)
        self.rhdr["iovlen"] = 1
        self.rhdr["control"] = control_at + idx * CONTROL
        self._rmsg_at = ctypes.addressof(self._rmsg)
        self._riov_len = riov["len"]
        self._rnamelen, self._rcontrollen, self._rlen = self.rhdr["namelen"], self.rhdr["controllen"], self.rhdr["len"]
        # send side: filled per batch from the slots chosen
        self._siov = (_Iovec * n)()
        self.siov = np.frombuffer(self._siov, dtype=_IOV)
        self._smsg = (_Mmsghdr * n)()
        self.shdr = np.frombuffer(self._smsg, dtype=_MMSG)
        self.shdr["iov"] = ctypes.addressof(self._siov) + idx * ctypes.sizeof(_Iovec)
        self.shdr["iovlen"] = 1
        self.shdr["namelen"] = NAME
        self._smsg_at = ctypes.addressof(self._smsg)
        self.lens: list[int] = []                              # after recv(): bytes in each slot
        self._ctl: list[int] = []                              # after recv(): ancillary bytes in each slot

    # --- receiving ---------------------------------------------------------------------------------

    def recv(self, fd: int) -> int:
        """Read up to `n` waiting datagrams without blocking; how many (0 when none is waiting).
        A socket error queued by an ICMP message is consumed and reading goes on."""
        self._rnamelen[:] = NAME
        self._rcontrollen[:] = CONTROL
        self._riov_len[:] = SLOT
        for _ in range(4):
            got = _recvmmsg(fd, self._rmsg_at, self.n, MSG_DONTWAIT, None)
            if got >= 0:
                self.lens = self._rlen[:got].tolist()
                self._ctl = self._rcontrollen[:got].tolist()
                return got
            err = ctypes.get_errno()
            if err in (errno.EAGAIN, errno.EWOULDBLOCK):
                return 0
            if err == errno.EBADF:
                raise OSError(err, "recvmmsg on a closed socket")
        return 0

    def read_all(self, fd: int, handle, recv=None) -> int:
        """recv() (or the `recv(fd)` given: the C one) until the socket is empty, `handle(got)`
        after each batch; how many datagrams were read."""
        recv = recv or self.recv
        total = 0
        while True:
            got = recv(fd)
            total += got
            if got:
                handle(got)
            if got < self.n:
                return total

    def meta(self, i: int) -> tuple[int, int]:
        """(kernel receive time, ns since epoch or 0; TOS / traffic class byte or -1) of slot i."""
        off = i * CONTROL
        if self._ctl[i] > _TOS_AT:
            ln, level, kind, sec, nsec, _, level2, kind2 = _CMSG_TS.unpack_from(self.control, off)
            if ln == _TS_LEN and kind == SCM_TIMESTAMPNS and level == socket.SOL_SOCKET and (
                    (level2 == socket.IPPROTO_IP and kind2 == socket.IP_TOS)
                    or (level2 == socket.IPPROTO_IPV6 and kind2 == IPV6_TCLASS)):
                return sec * 1_000_000_000 + nsec, self.control[off + _TOS_AT]
        return self._meta_slow(i)

    def _meta_slow(self, i: int) -> tuple[int, int]:
        """Walk the cmsg list of slot i (another order or set than the kernel's usual one)."""
        off, end = i * CONTROL, i * CONTROL + self._ctl[i]
        rx, tos = 0, -1
        while off + 16 <= end:
            ln, level, kind = struct.unpack_from("=Qii", self.control, off)
            if ln < 16:
                break
            if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS and ln >= _TS_LEN:
                sec, nsec = struct.unpack_from("=qq", self.control, off + 16)
                rx = sec * 1_000_000_000 + nsec
            elif (level, kind) in ((socket.IPPROTO_IP, socket.IP_TOS), (socket.IPPROTO_IPV6, IPV6_TCLASS)):
                tos = self.control[off + 16]
            off += (ln + 7) & ~7
        return rx, tos

    def source(self, i: int) -> bytes:
        """The sender's address of slot i as sockaddr bytes (a dictionary key; `send` takes it back)."""
        off = i * NAME
        return bytes(self.names[off:off + NAME])

    # --- sending -----------------------------------------------------------------------------------

    def set_control(self, i: int, cmsg: bytes) -> None:
        """Put the ancillary data slot i is answered with (a `tos_control()`) in its control buffer."""
        off = i * CONTROL
        self.control[off:off + _TOS_SPACE] = cmsg

    def answer(self, fd: int, slots: list[int]) -> list[tuple[int, int]]:
        """Send slots back to where each came from, as many bytes as arrived, with the cmsg put in
        by `set_control`: through the receive headers themselves, a run of slots per system call.
        Returns [(slot, errno)] refused by the kernel."""
        if not slots:
            return []
        idx = np.asarray(slots, dtype=np.intp)
        self._riov_len[idx] = self._rlen[idx]
        self._rcontrollen[idx] = _TOS_SPACE
        failed: list[tuple[int, int]] = []
        breaks = np.flatnonzero(np.diff(idx) != 1) + 1
        for run in np.split(idx, breaks) if len(breaks) else (idx,):
            first = int(run[0])
            failed += self._sendmmsg(fd, slots, len(run), self._rmsg_at + first * 64,
                                     first=slots.index(first))
        return failed

    def send(self, fd: int, slots: list[int], lengths: list[int] | None = None,
             names: list[int] | None = None, controls: list[int] | None = None) -> list[tuple[int, int]]:
        """Send the datagrams in `slots` (in order) with one system call per batch. Each goes to
        the address in its slot's name (the source of what was received there) or to `names[k]`
        (an address of a buffer holding a sockaddr), with `lengths[k]` bytes (default: the bytes
        received in that slot) and `controls[k]` (address of a cmsg of _TOS_SPACE bytes, or 0).
        Returns [(slot, errno)] for the datagrams the kernel refused; the others were sent."""
        k = len(slots)
        if not k:
            return []
        idx = np.asarray(slots, dtype=np.uint64)
        s = self.shdr[:k]
        s["name"] = self._names_at + idx * NAME if names is None else np.asarray(names, dtype=np.uint64)
        self.siov["base"][:k] = self._data_at + idx * SLOT
        self.siov["len"][:k] = self.rhdr["len"][idx.astype(np.intp)] if lengths is None else lengths
        if controls is None:
            s["control"] = 0
            s["controllen"] = 0
        else:
            c = np.asarray(controls, dtype=np.uint64)
            s["control"] = c
            s["controllen"] = np.where(c != 0, _TOS_SPACE, 0)
        return self._sendmmsg(fd, slots, k, self._smsg_at)

    @staticmethod
    def _sendmmsg(fd: int, slots: list[int], k: int, at: int, first: int = 0) -> list[tuple[int, int]]:
        """sendmmsg of k headers from address `at` (slots[first:first + k]), skipping refused ones."""
        failed: list[tuple[int, int]] = []
        done = 0
        while done < k:
            sent = _sendmmsg(fd, at + done * 64, k - done, MSG_DONTWAIT)
            if sent > 0:
                done += sent
                continue
            err = ctypes.get_errno() if sent < 0 else errno.EIO
            if err == errno.EINTR:
                continue
            failed.append((slots[first + done], err))   # lost at our end: skip it, send the rest
            done += 1
        return failed

    def address_of(self, blob: bytearray) -> int:
        """A stable address for a bytearray the caller keeps (sockaddr or cmsg blobs for `send`)."""
        self._keep.append(blob)
        return _address(blob)
