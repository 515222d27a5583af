"""A measured subject as a reader says it: "call 3 down" -> "Anruf 3, Gegenstelle → Standort",
"access-switch Gi1/0/5, Gi1/0/6" -> "access-switch, Ports Gi1/0/5, Gi1/0/6". The probes name subjects
in English for logs and JSON; every report shows them through here."""

from __future__ import annotations

import re

from .language import Language

# The calls probe's directions: "up" leaves the site for the far end, "down" comes back.
_DIRECTION = {"up": ("Standort → Gegenstelle", "site → far end"), "down": ("Gegenstelle → Standort", "far end → site")}
_CALL = re.compile(r"call (\d+)(?: (up|down))?")
_IPERF = re.compile(r"iperf3 (up|down)( under load)?")
# a device and its ports, as the SNMP probe names them: "access-switch Gi1/0/5, Gi1/0/6"
_PORTS = re.compile(r"(\S+) ((?:\S*\d\S*)(?:, \S*\d\S*)*)")
_STREAM = re.compile(r"RTP (\S+) -> (\S+) ssrc (0x[0-9A-Fa-f]+)")
_OUTAGE = re.compile(r"outage (\d+)")          # a failover drill's outages, numbered as in its table


def where_text(subject: str, lang: Language) -> str:
    """A subject as a reader says it: 'call 3 down' -> 'Anruf 3, Gegenstelle → Standort'."""
    s = subject.strip()
    if not s:
        return ""
    if s == "all calls":
        return lang.pick("alle Anrufe", "all calls")
    if s == "drill":
        return lang.pick("alle gehaltenen Gespräche", "all held calls")
    if s == "test calls":
        return lang.pick("Testanrufe", "test calls")
    m = _OUTAGE.fullmatch(s)
    if m:
        return lang.pick("Ausfall {n}", "outage {n}", n=m[1])
    m = _CALL.fullmatch(s)
    if m:
        text = lang.pick("Anruf {n}", "call {n}", n=m[1])
        return text + (f", {lang.pick(*_DIRECTION[m[2]])}" if m[2] else "")
    m = _IPERF.fullmatch(s)
    if m:
        de, en = {"up": ("Standort → Server", "site → server"), "down": ("Server → Standort", "server → site")}[m[1]]
        return f"iperf3, {lang.pick(de, en)}" + (lang.pick(", unter Last", ", under load") if m[2] else "")
    m = _STREAM.fullmatch(s)
    if m:
        return lang.pick("RTP-Strom {a} → {b} (SSRC {ssrc})", "RTP stream {a} → {b} (SSRC {ssrc})",
                         a=m[1], b=m[2], ssrc=m[3])
    m = _PORTS.fullmatch(s)
    if m:
        ports = m[2].split(", ")
        return f"{m[1]}, {lang.pick('Port', 'port') if len(ports) == 1 else lang.pick('Ports', 'ports')} {m[2]}"
    return s
