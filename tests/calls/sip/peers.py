"""Real SIP peers for the tests: kamailio (registrar with digest, proxy, canned rejections) and
baresip (an auto-answering user agent). Each runs on free loopback ports and is stopped in `finally`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from readiness.lab.ports import free_port

from ...conftest import need_tool

TEST_PASSWORD = "secret123"     # fixed test account of the kamailio config below (not a real secret)

KAMAILIO_CFG = """#!KAMAILIO
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{port}
children=1
tcp_children=1
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "auth.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
request_route {{
  if (has_totag()) {{
    if (loose_route()) {{ t_relay(); exit; }}
    if (is_method("ACK")) {{ exit; }}
    sl_send_reply("404", "Not here"); exit;
  }}
  if (is_method("REGISTER")) {{
    if (!pv_www_authenticate("$td", "{password}", "0")) {{ www_challenge("$td", "0"); exit; }}
    save("location"); exit;
  }}
  if (is_method("OPTIONS")) {{ sl_send_reply("200", "OK"); exit; }}
  if (is_method("CANCEL")) {{ t_relay(); exit; }}
  if ($rU == "busy") {{ sl_send_reply("486", "Busy Here"); exit; }}
  if ($rU == "unavailable") {{ sl_send_reply("503", "Service Unavailable"); exit; }}
  if ($rU == "protected") {{
    if (!pv_proxy_authenticate("$fd", "{password}", "0")) {{ proxy_challenge("$fd", "0"); exit; }}
    consume_credentials();
  }}
  if ($rU == "responder" || $rU == "protected") {{
    record_route();
    $du = "sip:127.0.0.1:{forward}";
    t_relay(); exit;
  }}
  sl_send_reply("404", "Not here");
}}
"""


@dataclass
class Kamailio:
    port: int
    log: Path


@contextlib.contextmanager
def kamailio(tmp: Path, forward_port: int = 9) -> Iterator[Kamailio]:
    """kamailio on 127.0.0.1 (UDP and TCP, one port): registrar with digest for any user with
    TEST_PASSWORD, proxy for 'responder' (and 'protected', after 407) to 127.0.0.1:forward_port
    with Record-Route, 486 for 'busy', 503 for 'unavailable'."""
    binary = need_tool("kamailio")
    port = free_port(also_udp=True)
    cfg = tmp / "kamailio.cfg"
    cfg.write_text(KAMAILIO_CFG.format(port=port, password=TEST_PASSWORD, forward=forward_port))
    log = tmp / "kamailio.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([binary, "-f", str(cfg), "-DD", "-E", "-P", str(tmp / "kamailio.pid"),
                                 "-w", str(tmp)], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_options(port, proc, log)
        yield Kamailio(port, log)
    finally:
        stop(proc, group=True)


@contextlib.contextmanager
def baresip(tmp: Path, srtp: bool = False) -> Iterator[int]:
    """An auto-answering baresip on 127.0.0.1 (PCMU, 8 kHz tone). Yields its SIP port; it also
    binds TLS on port + 1, so the port is chosen with that one free too. `srtp`: it takes SRTP
    calls only (its srtp module, mediaenc=srtp-mand: RTP/SAVP with SDES keys, RFC 4568)."""
    binary = need_tool("baresip")
    conf = tmp / "baresip"
    conf.mkdir(exist_ok=True)
    wav = conf / "tone-8k.wav"
    _tone(wav)
    for _ in range(20):
        port = free_port(also_udp=True)
        if _free_tcp(port + 1):
            break
    (conf / "accounts").write_text(
        f"<sip:echo@127.0.0.1:{port}>;regint=0;answermode=auto;audio_codecs=PCMU"
        + (";mediaenc=srtp-mand" if srtp else "") + "\n")
    (conf / "config").write_text("\n".join([
        "poll_method epoll", f"sip_listen 127.0.0.1:{port}", "audio_player aufile,/dev/null",
        f"audio_source aufile,{wav}", "audio_alert aufile,/dev/null",
        "module_path /usr/lib/baresip/modules", "module g711.so", "module aufile.so"]
        + (["module srtp.so"] if srtp else [])            # before account.so, which looks up mediaenc
        + ["module account.so", "module menu.so", "rtp_tos 184", ""]))
    log = tmp / "baresip.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([binary, "-f", str(conf)], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_options(port, proc, log)
        yield port
    finally:
        stop(proc, group=True)


def _tone(path: Path, seconds: float = 10.0) -> None:
    import math
    import struct
    rate = 8000
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                      for i in range(int(rate * seconds)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


def _free_tcp(port: int) -> bool:
    import socket
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _wait_options(port: int, proc: subprocess.Popen, log: Path, timeout: float = 15.0) -> None:
    """Wait until the peer answers OPTIONS (sent with a plain socket, so no stack under test is used)."""
    import socket
    deadline = time.monotonic() + timeout
    n = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(0.3)
        me = s.getsockname()[1]
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"peer exited with {proc.returncode}: {log.read_text()[-2000:]}")
            n += 1
            s.sendto((f"OPTIONS sip:probe@127.0.0.1:{port} SIP/2.0\r\n"
                      f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bKwait{n}\r\nMax-Forwards: 70\r\n"
                      f"From: <sip:wait@127.0.0.1>;tag=w\r\nTo: <sip:probe@127.0.0.1>\r\nCall-ID: wait{n}\r\n"
                      f"CSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n").encode(), ("127.0.0.1", port))
            try:
                if s.recv(4096).startswith(b"SIP/2.0 "):      # any answer: it is up
                    return
            except (socket.timeout, ConnectionRefusedError):
                time.sleep(0.1)
    raise RuntimeError(f"peer on port {port} did not answer OPTIONS within {timeout:g} s: "
                       f"{log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, group: bool = False) -> None:
    """Stop a process this test started: `sig`, then SIGKILL after a grace period. `group` for
    processes started in their own session (their children go too)."""
    def send(s: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, s) if group else proc.send_signal(s)
    if proc.poll() is None:
        send(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            send(signal.SIGKILL)
            proc.wait(5)
