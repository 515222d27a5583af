"""Fixtures for the SIP tests: a TLS certificate made at test time, an answering UAS on loopback."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path

import pytest

from readiness import codecs
from readiness.probes.calls.sip import Accept, IncomingCall, Reject, sdp

from ...conftest import need_tool


def run(coro, timeout: float = 60.0):
    """Run a test coroutine with an upper bound, so a hang fails instead of stalling the suite."""
    async def bounded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, made with the real openssl."""
    openssl = need_tool("openssl")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,IP:10.77.0.2,DNS:localhost"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def tls_contexts(files: tuple[Path, Path]) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    cert, key = files
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


def answering(codec: str = "pcmu", ring_ms: float = 0.0, address: str = "127.0.0.1", port: int = 50000,
              seen: list | None = None):
    """A decide() that answers every offer with `codec`, after ringing `ring_ms`."""
    async def decide(call: IncomingCall):
        if seen is not None:
            seen.append(call)
        ans = sdp.answer(call.offer, [codecs.get(codec)], address, port) if call.offer else None
        return Accept(ans, ring_ms=ring_ms) if ans else Reject(488, "Not Acceptable Here")
    return decide


def pcmu_offer(address: str = "127.0.0.1", port: int = 40000) -> sdp.SessionDescription:
    return sdp.offer([codecs.get("pcmu")], address, port)
