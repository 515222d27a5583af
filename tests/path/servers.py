"""Real servers the path tests talk to: dnsmasq serving the records a test gives, `openssl s_server`
and plain TCP servers, and the certificates (a test PKI made with `cryptography`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.conftest import need_tool


def free_udp_tcp_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP (dnsmasq binds both)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(20):
        with socket.socket(family, socket.SOCK_DGRAM) as u:
            u.bind((host, 0))
            port = u.getsockname()[1]
            with socket.socket(family, socket.SOCK_STREAM) as t:
                try:
                    t.bind((host, port))
                except OSError:
                    continue
        return port
    raise AssertionError("no free port")


def dns_answers(host: str, port: int) -> bool:
    try:
        dns.query.udp(dns.message.make_query("ready.test", "A"), host, port=port, timeout=0.2)
        return True
    except (dns.exception.Timeout, OSError):
        return False


# ---- certificates ------------------------------------------------------------------------------------------

class Pki:
    def __init__(self, folder: Path):
        self.folder = folder
        now = dt.datetime.now(dt.UTC)
        self.ca = self._make("ca", "Readiness Test CA", ca=True)
        self.client_ca = self._make("client_ca", "Readiness Client CA", ca=True)
        sbc = [x509.DNSName("sbc.test"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        self.good = self._make("good", "sbc.test", self.ca, san=sbc)
        self.expired = self._make("expired", "sbc.test", self.ca, san=sbc, start=now - dt.timedelta(days=400),
                                  end=now - dt.timedelta(days=30))
        self.wrong = self._make("wrong", "other.test", self.ca, san=[x509.DNSName("other.test")])
        self.selfsigned = self._make("selfsigned", "sbc.test", san=sbc)
        self.soon = self._make("soon", "sbc.test", self.ca, san=sbc, end=now + dt.timedelta(days=10))
        self.wildcard = self._make("wildcard", "*.test", self.ca,
                                   san=[x509.DNSName("*.test"), x509.DNSName("*.voip.test")])
        self.client = self._make("client", "phone-1", self.client_ca, client=True)
        self.stranger = self._make("stranger", "phone-2", client=True)      # self-signed: no CA knows it

    def _make(self, name: str, cn: str, issuer: str | None = None, *, ca: bool = False, client: bool = False,
              san: list | None = None, start: dt.datetime | None = None, end: dt.datetime | None = None) -> str:
        now = dt.datetime.now(dt.UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        if issuer:
            signer = x509.load_pem_x509_certificate((self.folder / f"{issuer}.pem").read_bytes())
            signer_key = serialization.load_pem_private_key((self.folder / f"{issuer}.key").read_bytes(), None)
        builder = (x509.CertificateBuilder().subject_name(subject)
                   .issuer_name(signer.subject if issuer else subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(start or now - dt.timedelta(days=1))
                   .not_valid_after(end or now + dt.timedelta(days=365))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                            critical=True)
        else:
            usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
            builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = builder.sign(signer_key if issuer else key, hashes.SHA256())
        (self.folder / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (self.folder / f"{name}.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        return name

    def cert(self, name: str) -> str:
        return str(self.folder / f"{name}.pem")

    def key(self, name: str) -> str:
        return str(self.folder / f"{name}.key")


# ---- servers -----------------------------------------------------------------------------------------------

@contextmanager
def s_server(pki: Pki, leaf: str, *args: str) -> Iterator[int]:
    """`openssl s_server` on 127.0.0.1 and a free port (it says which on stdout: "ACCEPT 127.0.0.1:PORT")."""
    log = pki.folder / f"s_server-{time.monotonic_ns()}.log"
    with open(log, "wb") as out:
        p = subprocess.Popen([need_tool("openssl"), "s_server", "-accept", "127.0.0.1:0", "-cert", pki.cert(leaf),
                              "-key", pki.key(leaf), *args], stdin=subprocess.PIPE, stdout=out,
                             stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for line in log.read_text(errors="replace").splitlines():
                if line.startswith("ACCEPT"):
                    yield int(line.rsplit(":", 1)[1])
                    return
            if p.poll() is not None:
                pytest.fail(f"openssl s_server {' '.join(args)} ended: {log.read_text(errors='replace')}")
            time.sleep(0.02)
        pytest.fail("openssl s_server did not say its port")
    finally:
        p.kill()
        p.wait()
        p.stdin.close()


@contextmanager
def tcp_server(answer: bytes | None) -> Iterator[int]:
    """Plain TCP: accepts and then says nothing (answer None), or answers the first bytes with `answer`."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop, held = threading.Event(), []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)
            if answer is not None:
                conn.recv(4096)
                conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


@contextmanager
def asyncio_tls_server(pki: Pki, leaf: str, client_ca: str, version: ssl.TLSVersion) -> Iterator[int]:
    """A TLS server that requires a client certificate and, without one, drops the connection with no
    alert (asyncio aborts the transport), as some SBCs do. Its own event loop in a thread."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.cert(leaf), pki.key(leaf))
    ctx.load_verify_locations(pki.cert(client_ca))
    ctx.verify_mode, ctx.maximum_version = ssl.CERT_REQUIRED, version
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda loop, context: None)    # the failed handshakes are the point

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.close()

    server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


