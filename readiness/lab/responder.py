"""A real `readiness responder` on loopback for the demo and the tests: its own process (as on a far-end
server), a fresh random key in a 0600 file, stopped with SIGTERM (it hangs up what is left)."""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from ..errors import ReadinessError
from .ports import free_port, listening


def write_key(path: Path) -> Path:
    """A random 32-byte key, base64, readable by its owner only (created 0600, never wider)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    return path


@contextlib.contextmanager
def responder_process(workdir: Path, key_file: Path | None = None, port: int | None = None,
                      extra: list[str] | None = None, timeout: float = 15.0) -> Iterator[tuple[int, Path]]:
    """Start `readiness responder` on 127.0.0.1; yield (SIP port, key file); stop it."""
    workdir = Path(workdir)
    key_file = key_file or write_key(workdir / "responder.key")
    port = port or free_port(also_udp=True)
    log = workdir / f"responder-{port}.log"
    argv = [sys.executable, "-m", "readiness", "responder", "--listen", f"127.0.0.1:{port}",
            "--key-file", str(key_file), "--quiet"] + (extra or [])
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not listening(port):
            if proc.poll() is not None:
                raise ReadinessError(f"responder on port {port} exited: {log.read_text(errors='replace').strip()}")
            if time.monotonic() > deadline:
                raise ReadinessError(f"responder on port {port} did not start within {timeout:g} s")
            time.sleep(0.05)
        yield port, key_file
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
