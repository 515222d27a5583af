"""A real SNMP agent for the demo and the tests: snmpsim serving .snmprec walks on a loopback UDP port;
and for the benchmark, net-snmp's snmpd serving generated walks, one process per device.

snmpsim addresses a walk by community: `DATA/<community>.snmprec` answers to that community. Two traps
of snmpsim 1.2: it imports pysmi without declaring it, and run as root
it drops privileges, after which imports from the interpreter under /root fail (`no dbm clone found`,
`unknown encoding`). So this module is also the launcher: run as `python -m readiness.lab.snmp_agent
ARGS`, it imports dbm.dumb and the encodings first, then hands over to snmpsim. As root, the data and
cache folders belong to `nobody` with mode 0700, so nobody else on the machine can list the
communities (the file names).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, Mapping

from ..errors import ReadinessError
from ..probes.snmp.mibs import dotted
from ..probes.snmp.walk import COUNTER32, GAUGE32, INTEGER, OBJECT_ID, OCTETS, TIMETICKS, Walk
from ..tools import require, require_modules, start, stop, wait_ready
from .ports import free_port

START_TIMEOUT_S = 30.0
_SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)


def _private_dir(root: Path, name: str, owner: tuple[int, int] | None) -> Path:
    d = root / name
    d.mkdir(mode=0o700)
    if owner:
        os.chown(d, *owner)
    return d


@contextlib.contextmanager
def snmpsim_agent(walks: Mapping[str, Path | str], port: int | None = None, max_varbinds: int = 64,
                  log: Path | None = None, timeout: float = START_TIMEOUT_S) -> Iterator[int]:
    """Serve `walks` (community -> .snmprec file, or its text) on 127.0.0.1; yield the UDP port.

    The walks are copied into a private temporary folder (the corpus stays read-only); the agent is
    stopped and the folder removed on exit, also on Ctrl-C.
    """
    require_modules("snmpsim", "pysmi")     # snmpsim imports pysmi without declaring it
    if not walks:
        raise ReadinessError("the SNMP agent needs at least one walk to serve")
    owner = None
    if os.geteuid() == 0:
        import pwd

        nobody = pwd.getpwnam("nobody")
        owner = (nobody.pw_uid, nobody.pw_gid)
    root = Path(tempfile.mkdtemp(prefix="readiness-snmpsim-"))
    proc: subprocess.Popen | None = None
    try:
        os.chmod(root, 0o711)   # traversable, not listable
        data = _private_dir(root, "data", owner)
        cache = _private_dir(root, "cache", owner)
        for community, source in walks.items():
            if "/" in community or community.startswith("."):
                raise ReadinessError(f"community {community!r} cannot name a walk file")
            target = data / f"{community}.snmprec"
            if isinstance(source, Path):
                shutil.copyfile(source, target)
            else:
                target.write_text(source)
            # snmpsim rebuilds an index at the first request when the walk's mtime (in whole seconds) is not
            # older than the index it built at start: date the walk back
            past = time.time() - 60
            os.utime(target, (past, past))
            if owner:
                os.chown(target, *owner)
        port = port or free_port(socket.SOCK_DGRAM)
        argv = [sys.executable, "-m", "readiness.lab.snmp_agent", f"--data-dir={data}", f"--cache-dir={cache}",
                f"--agent-udpv4-endpoint=127.0.0.1:{port}", "--log-level=error",
                f"--max-var-binds={max_varbinds}"]
        if owner:
            argv += ["--process-user=nobody", "--process-group=nogroup"]
        log = log or root / "snmpsim.log"
        log.write_text("")
        proc = start(argv, log)
        wait_ready(proc, f"snmpsim on UDP port {port}", _answers(port, next(iter(walks))), timeout, log)
        yield port
    finally:
        stop([proc] if proc is not None else [])
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def demo_agent(workdir: Path) -> Iterator[dict[str, str]]:
    """The demo's SNMP devices: a 24-port PoE switch and a UPS (lab/data/snmp/), each with a random
    community written to a 0600 file in `workdir` (the site file refers to the file, never the value)."""
    from importlib import resources

    data = resources.files("readiness.lab").joinpath("data/snmp")
    walks: dict[str, str] = {}
    values: dict[str, str] = {}
    for device in ("switch", "ups"):
        community = secrets.token_hex(12)
        ref = Path(workdir) / f"snmp-{device}.community"
        fd = os.open(ref, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(community + "\n")
        walks[community] = data.joinpath(f"demo-{device}.snmprec").read_text()
        values[f"SNMP_{device.upper()}_COMMUNITY_FILE"] = ref.name
    with snmpsim_agent(walks, log=Path(workdir) / "snmpsim.log") as port:
        yield {"SNMP_PORT": str(port), **values}


# net-snmp `override` types (snmpd.conf(5)) for the .snmprec tags a generated walk uses
_OVERRIDE_TYPES = {INTEGER: "integer", OCTETS: "octet_str", OBJECT_ID: "object_id", COUNTER32: "counter",
                   GAUGE32: "uinteger", TIMETICKS: "timeticks"}


def snmpd_config(walk_text: str, community: str, port: int) -> str:
    """snmpd.conf serving one walk: every record an `override` (octet strings in hex, so any bytes pass)."""
    lines = [f"agentAddress udp:127.0.0.1:{port}", f"rocommunity {community} 127.0.0.1",
             "dontLogTCPWrappersConnects yes"]
    walk = Walk.from_snmprec(walk_text)
    for o in walk:
        tag, value = walk.values[o]
        kind = _OVERRIDE_TYPES.get(tag)
        if kind is None or value is None:
            raise ReadinessError(f"snmpd cannot serve {dotted(o)}: type {tag} has no `override` form")
        if isinstance(value, bytes):
            value = f"0x{value.hex()}" if value else '""'
        elif kind == "object_id":
            value = f".{value}"
        lines.append(f"override .{dotted(o)} {kind} {value}")
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def snmpd_agents(walks: Mapping[str, str], timeout: float = START_TIMEOUT_S) -> Iterator[dict[str, int]]:
    """net-snmp's snmpd, one process per walk (one agent per device, as on a real site), each serving its
    walk (community -> .snmprec text) on a loopback port; yields community -> UDP port.

    For the benchmark: snmpsim (Python) spends about 250 us of CPU per value it serves, so on two cores
    it, not the audit, sets the pace of a 60-device audit; snmpd is C, like a switch's own agent. Only
    the types `override` knows (no NULL, IpAddress, Counter64, Opaque). Communities are in 0600 config
    files in a 0700 folder, never in argv."""
    binary = require("snmpd")
    root = Path(tempfile.mkdtemp(prefix="readiness-snmpd-"))
    procs: list[tuple[subprocess.Popen, int, str, Path]] = []
    ports: dict[str, int] = {}
    try:
        os.chmod(root, 0o700)
        for i, (community, text) in enumerate(walks.items()):
            folder = root / f"agent{i}"
            (folder / "persist").mkdir(parents=True, mode=0o700)
            port = free_port(socket.SOCK_DGRAM)
            conf = folder / "snmpd.conf"
            fd = os.open(conf, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(snmpd_config(text, community, port))
            log = folder / "snmpd.log"
            # only the override and community modules: nothing of this machine's own MIB shows through
            argv = [binary, "-f", "-C", "-c", str(conf), "-r", "-I", "override,vacm_conf", "-LF", "0-4", str(log),
                    f"--persistentDir={folder / 'persist'}"]
            procs.append((start(argv, log, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, "MIBS": ""}), port, community, log))
            ports[community] = port
        for proc, port, community, log in procs:
            wait_ready(proc, f"snmpd on UDP port {port}", _answers(port, community), timeout, log)
        yield ports
    finally:
        stop([proc for proc, *_ in procs])
        shutil.rmtree(root, ignore_errors=True)


def _answers(port: int, community: str):
    """A readiness check: does the agent answer a real SNMP GET? (snmpsim indexes its walks before
    it listens, so an open port is not enough.)"""
    request = _get_request(community)

    def ready() -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            try:
                s.sendto(request, ("127.0.0.1", port))
                s.recv(65535)
                return True
            except OSError:   # timeout, or port unreachable before it binds
                return False
    return ready


def _get_request(community: str) -> bytes:
    from ..probes.snmp import ber

    return ber.encode_request(community.encode(), ber.GET, 1, [_SYS_UPTIME])


def _serve() -> None:
    # Imported before snmpsim drops privileges: afterwards the interpreter's files are unreadable.
    import dbm  # noqa: F401
    import dbm.dumb  # noqa: F401
    import encodings.ascii  # noqa: F401
    import encodings.idna  # noqa: F401
    import encodings.latin_1  # noqa: F401
    import encodings.utf_8  # noqa: F401

    import pysmi  # noqa: F401  (snmpsim imports it without declaring it)
    from snmpsim.commands.responder import main

    sys.argv = ["snmpsim-command-responder"] + sys.argv[1:]
    sys.exit(main())


if __name__ == "__main__":
    _serve()
