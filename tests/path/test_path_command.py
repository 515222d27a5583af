"""`readiness path` as a technician runs it, against real servers: a dnsmasq with the provider's records,
`openssl s_server` with the SBC's certificate, a readiness responder on loopback. The run document's
keys (dns, tls, options, sip_alg, nat), the criteria judged and the exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from readiness.lab.responder_server import responder_process
from tests.conftest import need_tool
from tests.path.servers import Pki, s_server

RECORDS = ("--naptr-record=voip.test,10,10,S,SIP+D2U,,_sip._udp.voip.test",
           "--srv-host=_sip._udp.voip.test,sbc1.voip.test,5060,10,0",
           "--srv-host=_sip._udp.voip.test,sbc2.voip.test,5060,20,0",
           "--host-record=sbc1.voip.test,192.0.2.11", "--host-record=sbc2.voip.test,192.0.2.12")


def _path(tmp_path: Path, *args: str, timeout: float = 60) -> tuple[int, dict | None, str]:
    out = tmp_path / "path.json"
    p = subprocess.run([sys.executable, "-m", "readiness", "path", *args, "--no-keep", "--json", str(out), "-q"],
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, json.loads(out.read_text()) if out.exists() else None, p.stderr


def _verdicts(doc: dict) -> dict[str, str]:
    return {c["id"]: c["verdict"] for c in doc["criteria"]}


def test_dns_records_as_a_phone_resolves_them(tmp_path, dnsmasq):
    need_tool("dnsmasq")
    server = dnsmasq(*RECORDS)
    status, doc, err = _path(tmp_path, "--dns", "voip.test", "--dns-server", server)
    assert status == 0 and _verdicts(doc) == {"dns-sip-records": "pass"}, err
    assert [(t["host"], t["priority"], t["addresses"]) for t in doc["dns"]["targets"]] == [
        ("sbc1.voip.test", 10, ["192.0.2.11"]), ("sbc2.voip.test", 20, ["192.0.2.12"])]


def test_a_backup_sbc_without_address_fails_and_is_named(tmp_path, dnsmasq):
    need_tool("dnsmasq")
    server = dnsmasq(*RECORDS[:-1])                   # sbc2 lost its A record
    status, doc, err = _path(tmp_path, "--dns", "voip.test", "--dns-server", server)
    assert status == 1 and _verdicts(doc) == {"dns-sip-records": "fail"}, err
    assert any("sbc2.voip.test" in p for p in doc["dns"]["problems"])
    m = next(m for m in doc["measurements"] if m["metric"] == "dns.sip_ok")
    assert "sbc2.voip.test" in m["tags"]["problems"]


def test_a_dns_server_that_does_not_answer_is_not_measured(tmp_path):
    status, doc, err = _path(tmp_path, "--dns", "voip.test", "--dns-server", "127.0.0.1:9")
    assert status == 2 and _verdicts(doc) == {"dns-sip-records": "not_measured"}, err
    assert "no answer from the DNS server 127.0.0.1:9" in doc["dns"]["error"]


def test_an_expired_sbc_certificate_fails_and_one_expiring_soon_warns(tmp_path, pki: Pki):
    with s_server(pki, "expired") as port:
        status, doc, err = _path(tmp_path, "--tls", f"127.0.0.1:{port}", "--tls-name", "sbc.test",
                                 "--ca-file", pki.cert("ca"))
    assert status == 1, err
    assert _verdicts(doc) == {"tls-certificate-trusted": "fail", "tls-certificate-days-left": "warn"}   # should
    assert doc["tls"]["days_left"] < -29 and "expired" in doc["tls"]["verify_error"]
    with s_server(pki, "soon") as port:
        status, doc, err = _path(tmp_path, "--tls", f"127.0.0.1:{port}", "--tls-name", "sbc.test",
                                 "--ca-file", pki.cert("ca"))
    assert _verdicts(doc) == {"tls-certificate-trusted": "pass", "tls-certificate-days-left": "warn"}, err
    assert status == 0 and doc["tls"]["version"] in ("TLSv1.2", "TLSv1.3")


def test_options_and_path_against_the_responder_and_a_wrong_key(tmp_path):
    with responder_process(tmp_path) as (port, key_file):
        status, doc, err = _path(tmp_path, "--to", f"sip:test@127.0.0.1:{port}", "--key-file", str(key_file),
                                 "--nat-idle", "1s,2s", "--keepalive", "2s", "--options-count", "3")
        assert status == 0, err
        assert _verdicts(doc) == {"no-sip-alg": "pass", "large-invite-passes": "pass", "ip-fragments-pass": "pass",
                                  "nat-binding-outlives-keepalive": "pass", "options-answered": "pass"}
        assert doc["nat_timeout_s"] == 2 and doc["mtu"]["large_invite"]["bytes"] > 1300
        assert doc["options"]["answered"] == 3 and doc["nat_binding"]["at_least"]
        assert doc["sip_alg"]["detected"] is False and doc["nat"]["detected"] is False
        wrong = tmp_path / "wrong.key"
        wrong.write_text("w" * 44)
        status, doc, err = _path(tmp_path, "--to", f"sip:test@127.0.0.1:{port}", "--key-file", str(wrong),
                                 "--nat-idle", "off", "--options-count", "1", "--transport", "udp")
    # the SIP ALG check needs the key; an SBC that answers OPTIONS at all (here: 403) is up
    assert status == 2 and _verdicts(doc) == {"no-sip-alg": "not_measured", "large-invite-passes": "not_measured",
                                              "ip-fragments-pass": "not_measured", "options-answered": "pass"}, err
    assert "check the responder key" in doc["mtu"]["error"]
    assert "wrong key" in doc["sip_alg"]["transports"]["udp"]["error"] and doc["options"]["statuses"] == [403]


def test_nothing_to_check_is_a_usage_error(tmp_path):
    status, doc, err = _path(tmp_path)
    assert status == 2 and doc is None and "nothing to check" in err
