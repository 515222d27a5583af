"""The SIP/TLS check (readiness/probes/path/tls_check.py) against real TLS servers on 127.0.0.1: `openssl
s_server` (it sends the alerts a real SBC sends: "certificate required", "protocol version", ...), an
asyncio TLS server that drops a connection without an alert, and plain TCP servers that stay silent or
answer garbage. The certificates are made here with `cryptography`: a test CA, leaves good, expired,
for another name, self-signed, expiring in 10 days and with wildcards, a client CA and client certificates.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import time
from pathlib import Path

import pytest

from readiness.probes.path.tls_check import (
    REQUIRES_CLIENT_CERT,
    TlsResult,
    check,
    name_matches,
)
from tests.path.servers import Pki, asyncio_tls_server, s_server, tcp_server


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
