"""A call through a real SIP proxy nobody here wrote: kamailio record-routes the INVITE to the
responder, the ACK and BYE follow the route set, media goes end to end and is scored as usual."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest

from readiness.lab.ports import free_port
from readiness.lab.responder_server import responder_process
from readiness.probes.calls.load import LoadConfig, run_load
from tests.calls.sip import peers
from tests.conftest import need_tool

CONFIG = """#!KAMAILIO
debug=2
log_stderror=yes
listen=udp:127.0.0.1:{port}
children=1
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
request_route {{
  if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
  if (has_totag()) {{
    if (loose_route()) {{ xlog("L_INFO", "routing $rm $ci\\n"); t_relay(); exit; }}
    if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    sl_send_reply("404", "Not here"); exit;
  }}
  if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
  if (is_method("INVITE")) {{ record_route(); }}
  $du = "sip:127.0.0.1:{responder}";
  xlog("L_INFO", "relaying $rm $ci to $du\\n");
  t_relay();
}}
"""


@pytest.fixture
def proxy(tmp_path):
    need_tool("kamailio")
    with responder_process(tmp_path) as (rport, key):
        port = free_port(also_udp=True)
        cfg = tmp_path / "kamailio.cfg"
        cfg.write_text(CONFIG.format(port=port, responder=rport))
        log = open(tmp_path / "kamailio.log", "w")
        proc = subprocess.Popen(["kamailio", "-f", str(cfg), "-DD", "-E", "-P", str(tmp_path / "k.pid"),
                                 "-Y", str(tmp_path)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 15
            while f"0100007F:{port:04X}" not in Path("/proc/net/udp").read_text():
                assert proc.poll() is None, (tmp_path / "kamailio.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "kamailio did not open its port"
                time.sleep(0.1)
            yield port, key, tmp_path / "kamailio.log"
        finally:
            peers.stop(proc, group=True)
            log.close()


def test_calls_through_kamailio(proxy):
    port, key, log = proxy
    cfg = LoadConfig(f"sip:test@127.0.0.1:{port}", calls=2, cps=10, duration_s=2.0, key=key.read_bytes().strip(),
                     clocks_synced=True)
    result = asyncio.run(run_load(cfg))
    assert len(result.answered()) == 2, result.failures_by_cause()
    for c in result.calls:
        assert c.reflected and c.media.up.packets_lost == 0 and c.media.down.packets_lost == 0
    text = log.read_text()
    assert text.count("relaying INVITE") == 2
    assert text.count("routing BYE") == 2                 # the hang-ups followed the proxy's Record-Route
    assert text.count("routing ACK") == 2


def test_digest_authenticated_calls_through_kamailio(tmp_path):
    """The SIP tests' kamailio asks for proxy authentication (407) for user 'protected': calls with
    the site's credentials are answered, calls without are counted as 'auth 407'."""
    from readiness.probes.calls.sip import Credentials

    with responder_process(tmp_path) as (rport, key), peers.kamailio(tmp_path, forward_port=rport) as k:
        base = dict(calls=2, cps=10, duration_s=1.0, key=key.read_bytes().strip())
        ok = asyncio.run(run_load(LoadConfig(f"sip:protected@127.0.0.1:{k.port}", **base,
                                             credentials=Credentials("alice", peers.TEST_PASSWORD))))
        refused = asyncio.run(run_load(LoadConfig(f"sip:protected@127.0.0.1:{k.port}", **base)))
    assert len(ok.answered()) == 2 and all(c.media.up.packets_lost == 0 for c in ok.calls)
    assert refused.failures_by_cause() == {"auth 407": 2}
