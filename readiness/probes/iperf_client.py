"""One iperf3 client test: the `iperf3` binary with --json, a busy server retried within a bound, the
result read (iperf_result.py) and kept as evidence. Used by the iperf probe and by the calls probe's
loaded phase, so both say alike which server and which iperf3 measured what.

Runs the binary, not the Python `iperf3` wrapper (0.1.11, ctypes over libiperf.so.0): the wrapper
runs the test in-process and cannot be interrupted cleanly, which a Ctrl-C safe run needs.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from .. import tools
from ..config.site import split_host_port
from ..errors import ReadinessError
from .iperf_result import IperfOutputError, TcpResult, UdpResult, parse

BUSY_RETRY_S = 2.0              # iperf3 serves one test at a time: ask again this often while it is busy
CONNECT_TIMEOUT_MS = 3000
# Options readiness passes and the iperf3 release that brought each (iperf3's RELNOTES).
OPTION_SINCE = {"--bidir": "3.7", "--connect-timeout": "3.6", "--dscp": "3.4", "--get-server-output": "3.0"}


class IperfError(ReadinessError):
    """The test did not run or its result is unusable; the message is one line for the report."""


@dataclass(frozen=True)
class ClientRun:
    result: UdpResult | TcpResult
    path: Path                   # the saved JSON (evidence)
    server: str                  # host:port as given
    client_version: str          # "3.12", from the client's own JSON
    server_version: str | None   # from the server's JSON (--get-server-output), when it sends one
    busy_waited_s: float         # how long the server was busy before it took the test


def reason(err: str, server: str) -> str:
    """iperf3's own error text as one line that says what to do."""
    low = err.lower()
    if "busy" in low:
        return f"iperf3 server {server} is busy running another test; try again later"
    if "connection refused" in low or "unable to connect" in low or "unable to send control" in low:
        return f"iperf3 server {server} is not reachable: {err}"
    m = re.search(r"unrecognized option '?(--[\w-]+)", err) or re.search(r"option '(--[\w-]+)'", err)
    if m:
        since = OPTION_SINCE.get(m.group(1))
        need = f" (iperf3 {since} or newer has it)" if since else ""
        return f"the iperf3 on this machine does not know {m.group(1)}{need}: install a newer iperf3"
    return f"iperf3 against {server}: {err}"


def _versions(doc: dict) -> tuple[str, str | None]:
    def number(text: object) -> str:
        m = re.search(r"(\d+\.\d+(?:\.\d+)?)", str(text or ""))
        return m.group(1) if m else ""

    client = number(doc.get("start", {}).get("version"))
    server_doc = doc.get("server_output_json")
    server = number(server_doc.get("start", {}).get("version")) if isinstance(server_doc, dict) else None
    return client, server or None


async def run_test(server: str, extra: list[str], reverse: bool, duration_s: float, save: Path,
                   busy_wait_s: float = 30.0) -> ClientRun:
    """One client test against `server` (host[:port], default 5201) for `duration_s` seconds with
    the options `extra`, in reverse (-R: the server sends) when asked. While the server is busy with
    another test it is asked again every BUSY_RETRY_S, for at most `busy_wait_s`. The process is
    killed on timeout and on cancellation (tools.run), so nothing is left running."""
    iperf3 = tools.require("iperf3")
    host, port = split_host_port(server, 5201)
    argv = [iperf3, "-c", host, "-p", str(port), "-t", f"{duration_s:g}", "--json",
            "--connect-timeout", str(CONNECT_TIMEOUT_MS), "--get-server-output"] + extra + (["-R"] if reverse else [])
    began = time.monotonic()
    busy = 0.0
    while True:
        try:
            done = await tools.run(argv, timeout=duration_s + 20)
        except tools.ToolTimeout as e:
            raise IperfError(f"iperf3 against {server}: {e}") from None
        save.write_text(done.stdout or done.stderr)
        try:
            doc = json.loads(done.stdout)
        except ValueError:
            raise IperfError(reason((done.stderr or done.stdout).strip() or "no output", server)) from None
        err = str(doc.get("error") or "") if isinstance(doc, dict) else ""
        waited = time.monotonic() - began
        if "busy" in err.lower() and waited + BUSY_RETRY_S <= busy_wait_s:
            await asyncio.sleep(BUSY_RETRY_S)
            busy = time.monotonic() - began
            continue
        try:
            result = parse(doc)
        except IperfOutputError as e:
            text = reason(str(e), server)
            if "busy" in text and busy_wait_s > 0:
                text += f" (still busy after {waited:.0f} s)"
            raise IperfError(text) from None
        client, server_version = _versions(doc)
        return ClientRun(result, save, server, client, server_version, round(busy, 1))
