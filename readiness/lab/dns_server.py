"""A provider's DNS for the demo: dnsmasq (Debian dnsmasq-base) on loopback, answering for one SIP
domain as a provider's zone would: NAPTR for UDP and TCP, their SRV records, the SBC's address
(RFC 3263). Only this domain is answered; nothing is forwarded."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Iterator

from ..errors import ToolMissing
from ..tools import running
from .ports import free_port, listening

DOMAIN = "demo-labor.test"          # RFC 2606: .test is for testing


@contextlib.contextmanager
def provider_dns(workdir: Path, sip_port: int, domain: str = DOMAIN) -> Iterator[int]:
    """Yield the DNS port; `domain` resolves to sbc.DOMAIN:sip_port (127.0.0.1) over UDP and TCP."""
    exe = shutil.which("dnsmasq")
    if exe is None:
        raise ToolMissing("dnsmasq is not installed (Debian/Ubuntu: apt-get install dnsmasq-base)")
    port = free_port(also_udp=True)
    sbc = f"sbc.{domain}"
    argv = [exe, f"--port={port}", "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
            "--no-daemon", "--conf-file=/dev/null", "--log-facility=-", f"--local=/{domain}/",
            f"--naptr-record={domain},10,10,S,SIP+D2U,,_sip._udp.{domain}",
            f"--naptr-record={domain},20,10,S,SIP+D2T,,_sip._tcp.{domain}",
            f"--srv-host=_sip._udp.{domain},{sbc},{sip_port},10,0",
            f"--srv-host=_sip._tcp.{domain},{sbc},{sip_port},10,0",
            f"--host-record={sbc},127.0.0.1"]
    log = workdir / f"dnsmasq-{port}.log"
    with running(argv, f"dnsmasq on port {port}", lambda: listening(port), log, 10.0):
        yield port
