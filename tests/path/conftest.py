"""Fixtures of the path tests: a dnsmasq per test, one test PKI per module (tests/path/servers.py)."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.conftest import need_tool
from tests.path.servers import Pki, dns_answers, free_udp_tcp_port


@pytest.fixture
def dnsmasq():
    """start(*records, host=...) -> "HOST:PORT" of a dnsmasq serving those records; stopped afterwards."""
    procs: list[subprocess.Popen] = []

    def start(*records: str, host: str = "127.0.0.1") -> str:
        for _ in range(3):   # the port may be taken between _free_port and dnsmasq's bind
            port = free_udp_tcp_port(host)
            p = subprocess.Popen(["dnsmasq", f"--port={port}", f"--listen-address={host}", "--bind-interfaces",
                                  "--no-resolv", "--no-hosts", "--no-daemon", "--conf-file=/dev/null",
                                  "--log-facility=-", "--local=/test/", *records],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            procs.append(p)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and p.poll() is None:
                if dns_answers(host, port):
                    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                time.sleep(0.02)
            if p.poll() is None:
                break
        raise AssertionError(f"dnsmasq does not answer: {p.communicate(timeout=5)[0] if p.poll() is not None else ''}")

    yield start
    for p in procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p.stdout:
            p.stdout.close()




@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    need_tool("openssl")
    return Pki(tmp_path_factory.mktemp("pki"))
