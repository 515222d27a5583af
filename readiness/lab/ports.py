"""Free loopback ports for lab services."""

from __future__ import annotations

import socket


def free_port(kind: int = socket.SOCK_STREAM, also_udp: bool = False) -> int:
    """A port free on 127.0.0.1 (for TCP, and for UDP too when `also_udp`)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not also_udp:
            return port
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise OSError("no free port on 127.0.0.1")


def listening(port: int) -> bool:
    """Is a TCP socket listening on `port`? Read from /proc, so no connection disturbs the server."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as fh:
                next(fh)
                for line in fh:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        return True
        except OSError:
            continue
    return False
