"""`readiness demo`: start the lab, run the cloud-pbx-single-site profile against it, clean up; then a
failover drill on loopback: two responders as the primary and secondary SBC, the primary killed
while the drill holds its calls."""

from __future__ import annotations

import contextlib
import string
import tempfile
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Callable, ContextManager, Iterator

from ..config import profile as profile_mod
from ..config import site as site_mod
from ..errors import ToolMissing
from ..progress import NullProgress, Progress
from ..runner import execute
from . import certificates
from .dns_server import DOMAIN, provider_dns
from .iperf_server import iperf3_server
from .ports import free_port, listening
from .responder_server import responder_process, responder_running, write_key
from .snmp_agent import demo_agent as _snmp

DEMO_PROFILE = "cloud-pbx-single-site"
DRILL_PROFILE = "multi-site-sd-wan"
DRILL_SECONDS = 12
SBC_FAILS_AFTER_S = 5.0          # into the drill: its calls are up, test calls have worked a while

# Each lab component: a context manager factory taking the work folder, yielding template values.
Component = Callable[[Path], ContextManager[dict[str, str]]]


@contextlib.contextmanager
def _iperf(workdir: Path) -> Iterator[dict[str, str]]:
    with iperf3_server(workdir) as port, iperf3_server(workdir) as load_port:
        yield {"IPERF_PORT": str(port), "IPERF_LOAD_PORT": str(load_port)}


@contextlib.contextmanager
def _responder(workdir: Path) -> Iterator[dict[str, str]]:
    media_port = free_port(also_udp=True)    # fixed, so the demo's capture can filter on it
    tls_port = free_port()
    sbc = f"sbc.{DOMAIN}"
    tls = certificates.make(workdir, sbc)       # SIP over TLS as the provider's SBC offers it
    extra = ["--media-port", str(media_port), "--tls-cert", str(tls.cert), "--tls-key", str(tls.key),
             "--tls-port", str(tls_port)]
    with responder_process(workdir, extra=extra) as (port, key_file), contextlib.ExitStack() as dns:
        deadline = time.monotonic() + 10
        while not listening(tls_port) and time.monotonic() < deadline:   # it binds TLS after UDP and TCP
            time.sleep(0.05)
        values = {"RESPONDER_PORT": str(port), "RESPONDER_MEDIA_PORT": str(media_port),
                  "RESPONDER_KEY_FILE": str(key_file), "DNS_CHECK": "# no dnsmasq here: no DNS check",
                  "TLS_PORT": str(tls_port), "TLS_CA_FILE": str(tls.ca), "TLS_NAME": sbc}
        try:                 # the provider's domain, resolved to the responder as a phone would
            dns_port = dns.enter_context(provider_dns(workdir, port))
            values["DNS_CHECK"] = f"dns_domain: {DOMAIN}\n  dns_server: 127.0.0.1:{dns_port}"
        except ToolMissing:
            pass
        yield values


COMPONENTS: list[Component] = [_iperf, _snmp, _responder]


@contextlib.contextmanager
def lab(workdir: Path, progress: Progress | None = None) -> Iterator[Path]:
    """Start every lab component; yield the demo site file written for them; stop them all."""
    progress = progress or NullProgress()
    values: dict[str, str] = {"LAB_DIR": str(workdir)}
    with contextlib.ExitStack() as stack:
        for component in COMPONENTS:
            values.update(stack.enter_context(component(workdir)))
        template = resources.files("readiness.lab").joinpath("data/demo-site.yaml").read_text()
        site_file = workdir / "demo-site.yaml"
        site_file.write_text(string.Template(template).substitute(values))
        ports = ", ".join(f"{k.lower().removesuffix('_port')} {v}" for k, v in sorted(values.items()) if k.endswith("_PORT"))
        progress.say(f"lab running on 127.0.0.1: {ports}")
        yield site_file
    progress.say("lab stopped")


def run_demo(out_parent: Path, progress: Progress | None = None) -> Path:
    """The whole demo; returns the run folder (results not yet finalised)."""
    progress = progress or NullProgress()
    profile = profile_mod.load(DEMO_PROFILE)
    with tempfile.TemporaryDirectory(prefix="readiness-lab-") as tmp, lab(Path(tmp), progress) as site_file:
        site = site_mod.load(site_file)
        return execute(profile, site, out_parent, progress, command="demo")


def run_demo_drill(out_parent: Path, progress: Progress | None = None) -> Path:
    """The demo's drill: 4 calls held on the primary SBC, which is killed (SIGKILL, as a crash) a few
    seconds in; the held calls lose their media, new test calls fail over to the secondary."""
    from ..probes.drill import marks
    from ..runner import probe_criteria

    progress = progress or NullProgress()
    profile = profile_mod.load(DRILL_PROFILE)
    with tempfile.TemporaryDirectory(prefix="readiness-drill-lab-") as tmp:
        work = Path(tmp)
        key = write_key(work / "responder.key")
        with responder_running(work, key) as (primary, primary_port, _), responder_process(work, key) as (second, _):
            template = resources.files("readiness.lab").joinpath("data/demo-drill.yaml").read_text()
            site_file = work / "demo-drill.yaml"
            site_file.write_text(string.Template(template).substitute(
                PRIMARY_PORT=primary_port, SECONDARY_PORT=second, RESPONDER_KEY_FILE=key, DRILL_SECONDS=DRILL_SECONDS))

            def fail_primary() -> None:
                marks.send("Primär-SBC ausgeschaltet".encode(), marks.socket_path())
                primary.kill()
                progress.say(f"demo drill: the primary SBC (responder on port {primary_port}) is killed now")

            timer = threading.Timer(SBC_FAILS_AFTER_S, fail_primary)
            timer.start()
            try:
                return execute(profile, site_mod.load(site_file), out_parent, progress, only=["drill"],
                               command="drill", criteria=probe_criteria(profile.criteria, ["drill"]))
            finally:
                timer.cancel()
