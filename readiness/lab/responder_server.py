"""A real `readiness responder` on loopback for the demo and the tests: its own process (as on a far-end
server), a fresh random key in a 0600 file, stopped with SIGTERM (it hangs up what is left)."""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Iterator

from ..tools import running
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
    with responder_running(workdir, key_file, port, extra, timeout) as (_, port, key_file):
        yield port, key_file


@contextlib.contextmanager
def responder_running(workdir: Path, key_file: Path | None = None, port: int | None = None,
                      extra: list[str] | None = None, timeout: float = 15.0
                      ) -> Iterator[tuple[subprocess.Popen, int, Path]]:
    """The same, yielding its process too (the demo's drill kills it, as an SBC fails)."""
    workdir = Path(workdir)
    key_file = key_file or write_key(workdir / "responder.key")
    port = port or free_port(also_udp=True)
    log = workdir / f"responder-{port}.log"
    log.write_text("")
    argv = [sys.executable, "-m", "readiness", "responder", "--listen", f"127.0.0.1:{port}",
            "--key-file", str(key_file), "--quiet"] + (extra or [])
    # SIGTERM: the responder hangs up what is left, which can take a few seconds
    with running(argv, f"responder on port {port}", lambda: listening(port), log, timeout, stop_wait_s=10) as proc:
        yield proc, port, key_file
