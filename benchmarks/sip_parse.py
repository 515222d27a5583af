"""Cost of the one SIP/SDP parser, per message: the stack's strict path (every message of every
synthetic call) and the lenient path the capture analysis reads pcaps with.

    python3 benchmarks/sip_parse.py [--rounds 9]

Prints microseconds of CPU per message (best of --rounds) and the load average: the machine may be
shared, read the numbers with it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from readiness.probes.calls.sip import sdp  # noqa: E402
from readiness.probes.calls.sip.message import StreamFramer, parse  # noqa: E402
from readiness.probes.capture import sip_payloads  # noqa: E402

SDP = (b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
       b"m=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
       b"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n")
INVITE = (b"INVITE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport\r\n"
          b"Max-Forwards: 70\r\nTo: Bob <sip:bob@192.0.2.2>\r\nFrom: Alice <sip:alice@192.0.2.1>;tag=1928301774\r\n"
          b"Call-ID: a84b4c76e66710@pc33.example.com\r\nCSeq: 314159 INVITE\r\nContact: <sip:alice@192.0.2.1:5060>\r\n"
          b"User-Agent: readiness\r\nContent-Type: application/sdp\r\nContent-Length: "
          + str(len(SDP)).encode() + b"\r\n\r\n" + SDP)
OK = (INVITE.replace(b"INVITE sip:bob@192.0.2.2 SIP/2.0", b"SIP/2.0 200 OK")
      .replace(b"<sip:bob@192.0.2.2>", b"<sip:bob@192.0.2.2>;tag=xyz"))
SEGMENT = INVITE + OK                 # two messages to a TCP segment, 50 segments a flow


def _us_per(fn, n: int, per: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, time.process_time() - t)
    return best / (n * per) * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=9)
    args = p.parse_args()
    def framed() -> None:
        framer = StreamFramer()
        for _ in range(50):
            [parse(f, stream=True) for f in framer.feed(SEGMENT)]

    def captured_tcp() -> None:
        flows = sip_payloads.TcpSip()
        for _ in range(50):
            flows.feed((1,), SEGMENT)

    figures = {
        "strict parse, INVITE with SDP": _us_per(lambda: parse(INVITE), 2000, 1, args.rounds),
        "strict parse, 200 OK with SDP": _us_per(lambda: parse(OK), 2000, 1, args.rounds),
        "strict TCP framing + parse": _us_per(framed, 20, 100, args.rounds),
        "strict sdp.parse": _us_per(lambda: sdp.parse(SDP), 4000, 1, args.rounds),
        "capture: datagram read (lenient, with SDP)": _us_per(lambda: sip_payloads.read(INVITE), 2000, 1, args.rounds),
        "capture: TCP flow read (lenient)": _us_per(captured_tcp, 20, 100, args.rounds),
    }
    width = max(len(k) for k in figures)
    for name, us in figures.items():
        print(f"{name:<{width}}  {us:7.1f} us/message")
    print(f"{'load average (1 min)':<{width}}  {os.getloadavg()[0]:7.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
