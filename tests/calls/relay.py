"""A lab UDP relay that delays every packet and logs what it did: the ground truth for RTT, one-way
delay and jitter (this kernel has no netem, environment.md).

    python relay.py LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT LOG SEED UP_MS DOWN_MS SPREAD_MS

Packets from a client to LISTEN go to TARGET after a delay of UP_MS + U(0, SPREAD_MS); the answers
come back after DOWN_MS + U(0, SPREAD_MS) (seeded, so a run can be repeated). One line per packet in
LOG: direction, the stamp's send time (the packet's identity), kernel receive time and the time the
relay handed it to the kernel again, in ns. Keep SPREAD_MS under the packet interval so the relay
does not reorder (every packet leaves in arrival order plus its own delay).
Runs until SIGTERM.
"""

from __future__ import annotations

import heapq
import random
import select
import signal
import socket
import struct
import sys
import time

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def _sock(host: str, port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0xB8)
    s.bind((host, port))
    s.setblocking(False)
    return s


def main() -> None:
    lhost, lport, thost, tport, log_path, seed, up_ms, down_ms, spread_ms = sys.argv[1:10]
    rng = random.Random(int(seed))
    front = _sock(lhost, int(lport))
    target = (thost, int(tport))
    backs: dict[tuple[str, int], socket.socket] = {}          # one socket towards the target per client
    clients: dict[socket.socket, tuple[str, int]] = {}
    queue: list[tuple[int, int, str, bytes, int, socket.socket, tuple]] = []   # due, order, dir, data, rx, via, to
    order = 0
    log = open(log_path, "w", buffering=1)
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    while running:
        timeout = 0.2
        if queue:
            timeout = max(0.0, (queue[0][0] - time.time_ns()) / 1e9)
        ready, _, _ = select.select([front] + list(clients), [], [], timeout)
        for s in ready:
            while True:
                try:
                    data, anc, _, addr = s.recvmsg(4096, 64)
                except BlockingIOError:
                    break
                rx = time.time_ns()
                for _level, kind, d in anc:
                    if kind == SO_TIMESTAMPNS:
                        sec, nsec = struct.unpack("@qq", d[:16])
                        rx = sec * 1_000_000_000 + nsec
                if s is front:
                    if addr not in backs:
                        backs[addr] = _sock(lhost, 0)
                        clients[backs[addr]] = addr
                    delay = float(up_ms) + rng.uniform(0, float(spread_ms))
                    item = ("up", data, rx, backs[addr], target)
                else:
                    delay = float(down_ms) + rng.uniform(0, float(spread_ms))
                    item = ("down", data, rx, front, clients[s])
                heapq.heappush(queue, (rx + int(delay * 1e6), order) + item)
                order += 1
        now = time.time_ns()
        while queue and queue[0][0] <= now:
            _, _, direction, data, rx, via, to = heapq.heappop(queue)
            send_ns = struct.unpack_from("!q", data, 24)[0] if len(data) >= 32 else 0
            tx = time.time_ns()
            via.sendto(data, to)
            log.write(f"{direction} {send_ns} {rx} {tx}\n")
            now = time.time_ns()
    log.close()


if __name__ == "__main__":
    main()
