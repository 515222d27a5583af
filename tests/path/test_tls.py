"""The SIP/TLS check (readiness/probes/path/tls_check.py) against real TLS servers on 127.0.0.1: `openssl
s_server` (it sends the alerts a real SBC sends: "certificate required", "protocol version", ...), an
asyncio TLS server that drops a connection without an alert, and plain TCP servers that stay silent or
answer garbage. The certificates are made here with `cryptography`: a test CA, leaves good, expired,
for another name, self-signed, expiring in 10 days and with wildcards, a client CA and client certificates.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from readiness.probes.path.tls_check import (
    REQUIRES_CLIENT_CERT,
    TlsResult,
    check,
    name_matches,
)

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
pytestmark = pytest.mark.skipif(not Path(OPENSSL).exists(), reason="openssl s_server is not installed")


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


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


# ---- servers -----------------------------------------------------------------------------------------------

@contextmanager
def s_server(pki: Pki, leaf: str, *args: str) -> Iterator[int]:
    """`openssl s_server` on 127.0.0.1 and a free port (it says which on stdout: "ACCEPT 127.0.0.1:PORT")."""
    log = pki.folder / f"s_server-{time.monotonic_ns()}.log"
    with open(log, "wb") as out:
        p = subprocess.Popen([OPENSSL, "s_server", "-accept", "127.0.0.1:0", "-cert", pki.cert(leaf),
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(port: int, **kw) -> TlsResult:
    kw.setdefault("timeout_s", 5.0)
    r = asyncio.run(check("127.0.0.1", port, **kw))
    json.dumps(r.to_json())                 # always plain JSON
    return r


# ---- the certificate ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["", "-tls1_2"])
def test_good(pki: Pki, version: str) -> None:
    with s_server(pki, pki.good, *filter(None, [version])) as port:
        r = run(port, server_name="sbc.test", ca_file=pki.cert(pki.ca))
    assert r.trusted and r.name_matches and not r.verify_error and not r.error, r
    assert r.version == ("TLSv1.2" if version else "TLSv1.3") and r.cipher
    assert r.subject == "CN=sbc.test" and r.issuer == "CN=Readiness Test CA"
    assert r.san == ["DNS:sbc.test", "IP:127.0.0.1"]
    assert 363.5 < r.days_left < 365.5 and r.not_after.endswith("Z")
    assert r.client_certificate is False and r.client_certificate_accepted is None
    assert r.elapsed_ms < 2000


def test_good_by_ip(pki: Pki) -> None:
    """No server name: the IP address is matched against the IP SAN."""
    with s_server(pki, pki.good) as port:
        r = run(port, ca_file=pki.cert(pki.ca))
    assert r.server_name == "127.0.0.1" and r.trusted and r.name_matches, r


def test_system_store_does_not_know_the_test_ca(pki: Pki) -> None:
    with s_server(pki, pki.good) as port:
        r = run(port, server_name="sbc.test")
    assert not r.trusted and r.name_matches and "unable to get local issuer certificate" in r.verify_error, r
    assert "trust store" in r.verify_error and r.subject == "CN=sbc.test" and not r.error


def test_expired(pki: Pki) -> None:
    with s_server(pki, pki.expired) as port:
        r = run(port, server_name="sbc.test", ca_file=pki.cert(pki.ca))
    assert not r.trusted and "certificate has expired" in r.verify_error, r
    assert -31 < r.days_left < -29 and r.subject == "CN=sbc.test" and r.name_matches and not r.error


def test_wrong_name(pki: Pki) -> None:
    with s_server(pki, pki.wrong) as port:
        r = run(port, server_name="sbc.test", ca_file=pki.cert(pki.ca))
    assert not r.trusted and not r.name_matches and r.san == ["DNS:other.test"], r
    assert r.verify_error == "Hostname mismatch, certificate is not valid for 'sbc.test'"
    assert r.version and r.cipher and not r.error


def test_self_signed(pki: Pki) -> None:
    with s_server(pki, pki.selfsigned) as port:
        r = run(port, server_name="sbc.test", ca_file=pki.cert(pki.ca))
    assert not r.trusted and r.verify_error == "self-signed certificate", r
    assert r.subject == r.issuer == "CN=sbc.test" and r.name_matches


def test_expiring_in_10_days(pki: Pki) -> None:
    with s_server(pki, pki.soon) as port:
        r = run(port, server_name="sbc.test", ca_file=pki.cert(pki.ca))
    assert r.trusted and 9 < r.days_left < 11, r


def test_wildcard(pki: Pki) -> None:
    """RFC 6125 6.4.3: "*.test" stands for one label. OpenSSL (X509_check_host) accepts no wildcard with
    fewer than two labels after it, so that one is name_matches but not trusted, and says why."""
    with s_server(pki, pki.wildcard) as port:
        one = run(port, server_name="sbc.test", ca_file=pki.cert(pki.ca))
        two = run(port, server_name="a.b.test", ca_file=pki.cert(pki.ca))
        deeper = run(port, server_name="sbc.voip.test", ca_file=pki.cert(pki.ca))
    assert one.name_matches and not one.trusted and "RFC 6125" in one.verify_error, one
    assert not two.name_matches and not two.trusted and "mismatch" in two.verify_error, two
    assert deeper.name_matches and deeper.trusted, deeper


def test_name_matching_rules() -> None:
    san = ["DNS:*.test", "DNS:SBC.Example.com", "IP:192.0.2.1", "IP:2001:db8::1"]
    assert name_matches("sbc.test", san) and name_matches("sbc.example.COM.", san)
    assert not name_matches("a.b.test", san) and not name_matches("test", san)
    assert name_matches("192.0.2.1", san) and name_matches("2001:DB8:0::1", san)
    assert not name_matches("192.0.2.2", san) and not name_matches("192.0.2.1", ["DNS:192.0.2.1"])
    assert not name_matches("sbc.test", ["DNS:s*.test"])               # no partial wildcards
    assert not name_matches("sbc.test", ["DNS:*.*.test"]) and not name_matches("x.sbc.test", ["DNS:sbc.*.test"])
    assert name_matches("sbc.test", [], ["sbc.test"])                 # the CN only without any SAN
    assert not name_matches("sbc.test", ["DNS:other.test"], ["sbc.test"])


# ---- mutual TLS --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_mutual_tls_required_and_not_given(pki: Pki, version: str) -> None:
    """TLS 1.3: our side of the handshake completes; the server's "certificate required" alert comes on
    the first read. TLS 1.2: "handshake failure" ends the handshake after the server's certificate."""
    flag = "-tls1_3" if version == "TLSv1.3" else "-tls1_2"
    with s_server(pki, pki.good, flag, "-Verify", "1", "-verify_return_error", "-CAfile", pki.cert(pki.client_ca)) as port:
        r = run(port, server_name="sbc.test", ca_file=pki.cert(pki.ca))
    assert r.client_certificate is False and r.client_certificate_accepted is False, r
    assert r.error == REQUIRES_CLIENT_CERT
    assert r.trusted and r.subject == "CN=sbc.test" and r.days_left > 300 and r.version == version


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_mutual_tls_given_and_accepted(pki: Pki, version: str) -> None:
    flag = "-tls1_3" if version == "TLSv1.3" else "-tls1_2"
    with s_server(pki, pki.good, flag, "-Verify", "1", "-verify_return_error", "-CAfile", pki.cert(pki.client_ca)) as port:
        r = run(port, server_name="sbc.test", ca_file=pki.cert(pki.ca), client_cert=pki.cert(pki.client),
                client_key=pki.key(pki.client))
    assert r.client_certificate and r.client_certificate_accepted is True and not r.error, r
    assert r.trusted and r.version == version


def test_mutual_tls_unknown_client_certificate(pki: Pki) -> None:
    with s_server(pki, pki.good, "-Verify", "1", "-verify_return_error", "-CAfile", pki.cert(pki.client_ca)) as port:
        r = run(port, server_name="sbc.test", ca_file=pki.cert(pki.ca), client_cert=pki.cert(pki.stranger),
                client_key=pki.key(pki.stranger))
    assert r.client_certificate and r.client_certificate_accepted is False, r
    assert "did not accept our client certificate" in r.error and "unknown ca" in r.error
    assert r.trusted and r.subject == "CN=sbc.test"


def test_mutual_tls_required_with_an_untrusted_server_certificate(pki: Pki) -> None:
    """The verified handshake stops at the server's certificate; the second one still sees the demand."""
    with s_server(pki, pki.selfsigned, "-Verify", "1", "-verify_return_error", "-CAfile", pki.cert(pki.client_ca)) as port:
        r = run(port, server_name="sbc.test", ca_file=pki.cert(pki.ca))
    assert not r.trusted and r.verify_error == "self-signed certificate" and r.subject == "CN=sbc.test", r
    assert r.client_certificate_accepted is False and r.error == REQUIRES_CLIENT_CERT


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2], ids=["TLSv1.3", "TLSv1.2"])
def test_mutual_tls_required_connection_dropped_without_alert(pki: Pki, version: ssl.TLSVersion) -> None:
    with asyncio_tls_server(pki, pki.good, pki.client_ca, version) as port:
        r = run(port, server_name="sbc.test", ca_file=pki.cert(pki.ca))
    assert r.client_certificate_accepted is False and r.error == REQUIRES_CLIENT_CERT, r
    assert r.trusted and r.subject == "CN=sbc.test"


# ---- versions ----------------------------------------------------------------------------------------------

def _old_tls_works() -> bool:
    """Debian's OpenSSL 3 forbids TLS 1.0/1.1 at security level 1 and up; level 0 in the cipher string
    lifts that. If this OpenSSL has them compiled out, the case cannot be served here."""
    try:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        return ssl.HAS_TLSv1_1
    except ssl.SSLError:
        return False


@pytest.mark.skipif(not _old_tls_works(), reason="this OpenSSL cannot speak TLS 1.1 even at @SECLEVEL=0")
def test_server_offers_only_old_tls(pki: Pki) -> None:
    with s_server(pki, pki.good, "-no_tls1_2", "-no_tls1_3", "-cipher", "DEFAULT:@SECLEVEL=0") as port:
        r = run(port, server_name="sbc.test", ca_file=pki.cert(pki.ca))
        allowed = run(port, server_name="sbc.test", ca_file=pki.cert(pki.ca), min_version="TLSv1")
    assert not r.trusted and "offers only TLSv1.1 and TLSv1" in r.error and "TLSv1.2" in r.error, r
    assert r.version == "TLSv1.1" and r.subject == "CN=sbc.test"
    assert allowed.trusted and allowed.version == "TLSv1.1" and not allowed.error, allowed


def test_unknown_min_version() -> None:
    r = asyncio.run(check("127.0.0.1", free_port(), min_version="SSLv3"))
    assert "unknown TLS version 'SSLv3'" in r.error


# ---- no TLS at all -----------------------------------------------------------------------------------------

def test_connection_refused() -> None:
    port = free_port()
    r = run(port)
    assert r.error == f"connection refused by 127.0.0.1:{port}" and r.elapsed_ms < 1000, r
    assert not r.trusted and not r.subject


def test_silent_server_times_out() -> None:
    with tcp_server(None) as port:
        started = time.monotonic()
        r = run(port, timeout_s=1.0)
        took = time.monotonic() - started
    assert r.error == f"no TLS handshake with 127.0.0.1:{port} within 1 s", r
    assert 0.9 < took < 2.0 and r.elapsed_ms < 2000


def test_garbage_answer() -> None:
    with tcp_server(b"SIP/2.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n") as port:
        r = run(port)
    assert r.error.startswith(f"127.0.0.1:{port} does not speak TLS (") and "SIP/2" in r.error, r


# ---- files and secrets -------------------------------------------------------------------------------------

def test_bad_files_are_errors_without_secrets(pki: Pki, tmp_path: Path) -> None:
    missing = run(free_port(), ca_file=str(tmp_path / "nope.pem"))
    assert missing.error.startswith(f"cannot load the CA file {tmp_path / 'nope.pem'}: "), missing
    mismatched = run(free_port(), client_cert=pki.cert(pki.client), client_key=pki.key(pki.stranger))
    assert mismatched.error.startswith(f"cannot load the client certificate {pki.cert(pki.client)}"), mismatched
    assert "key values mismatch" in mismatched.error
    key = Path(pki.key(pki.stranger)).read_text()
    for r in (missing, mismatched):
        dumped = json.dumps(r.to_json())
        assert "PRIVATE KEY" not in dumped and key.splitlines()[1] not in dumped
