"""Real iperf3 servers on loopback for the demo and the tests."""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path
from typing import Iterator

from ..errors import ReadinessError
from ..probes.process import require
from .ports import free_port, listening


@contextlib.contextmanager
def iperf3_server(workdir: Path, port: int | None = None, timeout: float = 10.0) -> Iterator[int]:
    """Start `iperf3 -s` on 127.0.0.1, wait until it listens, yield its port, stop it."""
    require("iperf3")
    port = port or free_port(also_udp=True)
    log = Path(workdir) / f"iperf3-{port}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(["iperf3", "-s", "-B", "127.0.0.1", "-p", str(port)], stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not listening(port):
            if proc.poll() is not None:
                raise ReadinessError(f"iperf3 server on port {port} exited: {log.read_text(errors='replace').strip()}")
            if time.monotonic() > deadline:
                raise ReadinessError(f"iperf3 server on port {port} did not start within {timeout:g} s")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
