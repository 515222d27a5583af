"""SIP over TLS calls against a real responder listening for TLS (`--tls-cert/--tls-key`) with a
certificate of a CA the test makes (readiness.lab.certificates): with `--ca-file` the calls are
answered and scored; without it the system's trust store does not know the CA and every call fails
with a clear TLS cause, not a timeout."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from readiness.lab import certificates
from readiness.lab.ports import free_port, listening
from readiness.lab.responder_server import responder_process


def _calls(target: str, key, *extra: str) -> tuple[int, dict, str]:
    p = subprocess.run([sys.executable, "-m", "readiness", "calls", target, "--calls", "2", "--duration", "2",
                        "--key-file", str(key), "--transport", "tls", *extra, "--no-keep", "--json", "-"],
                       capture_output=True, text=True, timeout=120)
    return p.returncode, json.loads(p.stdout), p.stderr


def test_tls_calls_verify_against_the_ca_given(tmp_path):
    certs = certificates.make(tmp_path, "sbc.demo-labor.test")
    tls_port = free_port()
    with responder_process(tmp_path, extra=["--tls-cert", str(certs.cert), "--tls-key", str(certs.key),
                                            "--tls-port", str(tls_port)]) as (_, key):
        deadline = time.monotonic() + 10
        while not listening(tls_port) and time.monotonic() < deadline:
            time.sleep(0.05)
        target = f"sip:test@127.0.0.1:{tls_port};transport=tls"
        status, doc, err = _calls(target, key, "--ca-file", str(certs.ca))
        assert status == 0 and [c["answered"] for c in doc["calls"]] == [True, True], err
        assert all(c["mos"] and c["mos"] > 4 for c in doc["calls"])
        status, doc, err = _calls(target, key)
    # calls-answered fails (exit 1): each call names the TLS failure, none waited for a timeout
    assert status == 1 and not any(c["answered"] for c in doc["calls"]), err
    assert all(c["cause"] == "tls" and "CERTIFICATE_VERIFY_FAILED" in c["detail"] for c in doc["calls"]), doc["calls"]
