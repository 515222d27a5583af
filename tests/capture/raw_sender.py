"""Send the frames of a pcap out of an interface over an AF_PACKET raw socket, keeping their spacing
(test helper, run inside a namespace: `python3 -m tests.capture.raw_sender IFACE FILE`)."""

from __future__ import annotations

import socket
import sys
import time

from readiness.probes.capture.pcap import CaptureReader


def main(ifname: str, path: str) -> None:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    prev = None
    for batch in CaptureReader(path).batches():
        for i in range(len(batch)):
            t = int(batch.ts_ns[i]) / 1e9
            if prev is not None:
                time.sleep(max(0.0, min(t - prev, 1.0)))
            prev = t
            s.send(batch.packet(i))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
