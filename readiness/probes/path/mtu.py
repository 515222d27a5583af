"""How large may SIP over UDP be on the way to the far end? A phone offering many codecs sends an
INVITE of 1,300 bytes and more (RFC 3261 18.1.1 would move it to TCP; most phones do not), a VPN or
PPPoE link lowers the MTU below 1,500, and firewalls that drop IP fragments then swallow exactly the
large INVITEs: calls from some phones fail, others work.

Three answers, all with authenticated OPTIONS to a readiness responder, which answers with a small
200 OK: the largest datagram that passes with Don't Fragment set (the path MTU, found by bisection
between the IPv4 minimum and Ethernet's 1,500), whether a datagram that must be fragmented passes,
and (sip_rewrite with padding) whether a 1,400-byte INVITE is answered.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass, field

from ..calls.sip.flow import TransportError
from ..calls.sip.message import Headers, Request, parse
from ..calls.sip.transport import resolve
from ..calls.sip.uri import SipUri
from ..calls.wire import calltoken

# Linux's socket options (linux/in.h): Python 3.11's socket module does not name them.
IP_MTU_DISCOVER, IP_PMTUDISC_DONT, IP_PMTUDISC_PROBE = 10, 0, 3
IPV4_UDP_HEADERS = 28              # IPv4 20 + UDP 8: sizes here are IP datagram sizes, as an MTU is
MIN_MTU, MAX_MTU = 576, 1500       # RFC 791: every host takes 576; Ethernet carries 1,500
FRAGMENTED_SIZE = 3000             # two fragments or more on any path
LARGE_INVITE_BYTES = 1400          # over RFC 3261 18.1.1's 1,300 bytes, under Ethernet's 1,500
TRIES, WAIT_S = 2, 0.8             # a size counts as too large only when neither try is answered
PAD_HEADER = "X-Readiness-Pad"


@dataclass
class MtuResult:
    target: str
    path_mtu: int | None = None            # largest IP datagram that passed with DF set
    at_least: bool = False                 # MAX_MTU passed: the path takes at least that
    probes: list[dict] = field(default_factory=list)   # size, passed
    fragments_pass: bool | None = None
    large_invite: dict = field(default_factory=dict)   # bytes, answered, error (filled by the probe)
    error: str = ""

    def to_json(self) -> dict:
        return {"target": self.target, "path_mtu": self.path_mtu, "at_least": self.at_least, "probes": self.probes,
                "fragments_pass": self.fragments_pass, "large_invite": self.large_invite, "error": self.error}


def _options(target: SipUri, local: tuple[str, int], key: bytes, size: int) -> bytes:
    """An authenticated OPTIONS padded to `size` bytes of IP datagram."""
    call_id = f"{os.urandom(8).hex()}@readiness"
    h = Headers([("Via", f"SIP/2.0/UDP {local[0]}:{local[1]};branch=z9hG4bK{os.urandom(6).hex()};rport"),
                 ("Max-Forwards", "70"), ("From", f"<sip:readiness@{local[0]}>;tag={os.urandom(4).hex()}"),
                 ("To", f"<{target}>"), ("Call-ID", call_id), ("CSeq", "1 OPTIONS"),
                 (calltoken.HEADER, calltoken.make(key)), (PAD_HEADER, "")])
    bare = len(Request("OPTIONS", str(target), h).encode()) + IPV4_UDP_HEADERS
    h.set(PAD_HEADER, "x" * max(0, size - bare))
    return Request("OPTIONS", str(target), h).encode()


class Refused(Exception):
    """The responder answered, but not with 200: the key is wrong (or it is not a readiness responder)."""


async def _answered(sock: socket.socket, data: bytes) -> bool:
    loop = asyncio.get_running_loop()
    for _ in range(TRIES):
        try:
            sock.send(data)
            while True:
                reply = await asyncio.wait_for(loop.sock_recv(sock, 65535), WAIT_S)
                try:
                    msg = parse(reply)
                except ValueError:
                    continue
                if msg.call_id in data.decode("latin-1"):
                    status = getattr(msg, "status", 0)
                    if not 200 <= status < 300:
                        raise Refused(f"{status} {getattr(msg, 'reason', '')}".strip())
                    return True
        except asyncio.TimeoutError:
            continue
        except OSError:
            # EMSGSIZE (larger than our link, or a router's ICMP "fragmentation needed" for this size)
            # or ECONNREFUSED: the socket reports such an error once, so the next try starts clean
            continue
    return False


def _socket(host: str, port: int, discover: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, discover)
    sock.connect((host, port))
    return sock


async def check(target: str, key: bytes) -> MtuResult:
    """Path MTU by bisection with DF set, then one datagram that must be fragmented."""
    out = MtuResult(target)
    uri = SipUri.parse(target)
    try:
        _, host = await resolve(uri.host, uri.port or 5060)
    except TransportError as e:
        out.error = str(e)
        return out
    if ":" in host:
        out.error = "the MTU check speaks IPv4 only"
        return out
    port = uri.port or 5060
    try:
        return await _bisect(out, uri, host, port, key)
    except Refused as e:
        out.error = f"the far end refused the test ({e}): check the responder key"
        return out


async def _bisect(out: MtuResult, uri: SipUri, host: str, port: int, key: bytes) -> MtuResult:
    sock = _socket(host, port, IP_PMTUDISC_PROBE)     # DF set, our own PMTU cache ignored
    try:
        local = sock.getsockname()

        async def passes(size: int) -> bool:
            ok = await _answered(sock, _options(uri, local, key, size))
            out.probes.append({"size": size, "passed": ok})
            return ok

        if not await passes(MIN_MTU):
            out.error = f"no answer from {host}:{port} even to {MIN_MTU}-byte datagrams"
            return out
        if await passes(MAX_MTU):
            out.path_mtu, out.at_least = MAX_MTU, True
        else:
            lo, hi = MIN_MTU, MAX_MTU                 # lo passes, hi does not
            while hi - lo > 8:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if await passes(mid) else (lo, mid)
            out.path_mtu = lo
    finally:
        sock.close()
    frag = _socket(host, port, IP_PMTUDISC_DONT)        # no DF: the kernel and routers fragment
    try:
        out.fragments_pass = await _answered(frag, _options(uri, frag.getsockname(), key, FRAGMENTED_SIZE))
    finally:
        frag.close()
    return out
