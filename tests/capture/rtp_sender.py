"""Send one G.711 RTP stream from a real UDP socket, a packet every 20 ms (test helper, run inside a
namespace): `python3 -m tests.capture.rtp_sender SPORT DST DPORT SSRC PACKETS [SKIP,SKIP...]`.

The header is packed here from RFC 3550 5.1 (version 2, PT 0, sequence from 0, timestamp +160 per
packet), not with the project's writer, so a reader bug cannot cancel out. Sequence numbers listed in
SKIP are not sent: loss before the capture point, whose truth the test knows. Payloads differ from
packet to packet, as encoded speech does, and the packets are marked EF.
"""

from __future__ import annotations

import socket
import struct
import sys
import time

EF_TOS = 46 << 2
INTERVAL_S = 0.02


def packet(seq: int, ssrc: int) -> bytes:
    header = struct.pack(">BBHII", 0x80, 0, seq & 0xFFFF, (160 * seq) & 0xFFFFFFFF, ssrc)
    return header + bytes((seq * 7 + k) & 0xFF for k in range(160))


def main(sport: int, dst: str, dport: int, ssrc: int, packets: int, skip: set[int]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, EF_TOS)
        s.bind(("0.0.0.0", sport))
        start = time.monotonic()
        for seq in range(packets):
            if seq not in skip:
                s.sendto(packet(seq, ssrc), (dst, dport))
            time.sleep(max(0.0, start + (seq + 1) * INTERVAL_S - time.monotonic()))


if __name__ == "__main__":
    args = sys.argv[1:]
    main(int(args[0]), args[1], int(args[2]), int(args[3], 0), int(args[4]),
         {int(x) for x in args[5].split(",")} if len(args) > 5 and args[5] else set())
