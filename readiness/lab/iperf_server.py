"""Real iperf3 servers on loopback for the demo and the tests."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from ..tools import require, running
from .ports import free_port, listening


@contextlib.contextmanager
def iperf3_server(workdir: Path, port: int | None = None, timeout: float = 10.0) -> Iterator[int]:
    """Start `iperf3 -s` on 127.0.0.1, wait until it listens, yield its port, stop it."""
    iperf3 = require("iperf3")
    port = port or free_port(also_udp=True)
    log = Path(workdir) / f"iperf3-{port}.log"
    log.write_text("")
    with running([iperf3, "-s", "-B", "127.0.0.1", "-p", str(port)], f"iperf3 server on port {port}",
                 lambda: listening(port), log, timeout):
        yield port
