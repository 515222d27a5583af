"""`readiness path --srtp`: one SRTP offer (RTP/SAVP, SDES keys) to the far end. A readiness responder
and a baresip with its srtp module take it; a baresip without SRTP does not, and the check says so.
baresip is not a readiness responder, so the SIP ALG check beside it cannot be judged there."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from readiness.lab.responder_server import responder_process, write_key
from tests.calls.sip.peers import baresip
from tests.conftest import need_tool

ARGS = ("--srtp", "--transport", "udp", "--nat-idle", "off", "--no-mtu", "--options-count", "0", "--no-keep")


def _path(target: str, key, *extra: str) -> tuple[int, dict, str]:
    p = subprocess.run([sys.executable, "-m", "readiness", "path", "--to", target, "--key-file", str(key), *ARGS,
                        *extra, "--json", "-"], capture_output=True, text=True, timeout=90)
    return p.returncode, json.loads(p.stdout), p.stderr


def test_the_responder_takes_srtp(tmp_path):
    with responder_process(tmp_path) as (port, key):
        status, doc, err = _path(f"sip:test@127.0.0.1:{port}", key)
    assert doc["srtp"]["accepted"] and doc["srtp"]["suite"] == "AES_CM_128_HMAC_SHA1_80"
    assert {c["id"]: c["verdict"] for c in doc["criteria"]} == {"no-sip-alg": "pass", "srtp-accepted": "pass"}
    assert status == 0, err


@pytest.mark.parametrize("srtp", [False, True])
def test_baresip_with_and_without_srtp(tmp_path, srtp):
    need_tool("baresip")
    key = write_key(tmp_path / "key")
    with baresip(tmp_path, srtp=srtp) as port:
        status, doc, err = _path(f"sip:echo@127.0.0.1:{port}", key)
    verdicts = {c["id"]: c["verdict"] for c in doc["criteria"]}
    assert verdicts["srtp-accepted"] == ("pass" if srtp else "fail"), (doc["srtp"], err)
    assert doc["srtp"]["accepted"] is srtp and (srtp or doc["srtp"]["why"])
    assert verdicts["no-sip-alg"] == "not_measured"           # baresip does not report what it received
