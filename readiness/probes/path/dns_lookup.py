"""Where a phone sends SIP for a provider's domain: NAPTR -> SRV -> A/AAAA, as RFC 3263 section 4 has
it. DNS failures never raise: they end up in `error` (nothing resolved at all) or `problems` (one plain
sentence each, naming the record, for the technician to pass to whoever runs the zone).
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import asdict, dataclass, field

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.rcode
import dns.resolver

# RFC 3263 4.1 / 9: the NAPTR services for SIP, and the SRV names (RFC 2782 _Service._Proto.Name) that
# RFC 3263 4.1 queries when there is no NAPTR. SIPS over TCP is TLS.
SERVICES = {"SIP+D2U": "udp", "SIP+D2T": "tcp", "SIPS+D2T": "tls"}
SRV_PREFIX = {"udp": "_sip._udp", "tcp": "_sip._tcp", "tls": "_sips._tcp"}
DEFAULT_PORT = 5060                    # RFC 3263 4.2: no SRV, no port in the URI -> 5060
NO_ANSWER = ("nodata", "nxdomain")     # the server answered: the record is not there


@dataclass
class DnsTarget:
    """One place a phone would send SIP to, in the order it would try them."""
    transport: str          # "udp" | "tcp" | "tls"
    host: str               # SRV target, no trailing dot (the domain itself for via="a")
    port: int
    priority: int
    weight: int
    addresses: list[str]    # A then AAAA of host
    via: str                # "naptr" | "srv" | "a" (the RFC 3263 4.2 fallback to the domain's address)


@dataclass
class DnsResult:
    domain: str
    nameserver: str                                             # "system" or "HOST:PORT"
    naptr: list[dict] = field(default_factory=list)             # order, preference, flags, service, regexp, replacement
    srv: dict[str, list[dict]] = field(default_factory=dict)    # owner -> [{priority, weight, port, target}]
    targets: list[DnsTarget] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    error: str = ""
    elapsed_ms: float = 0.0
    notes: list[str] = field(default_factory=list)              # information, not problems (SRV target ".")
    answered: bool = False                                      # the server said anything (NXDOMAIN too)

    @property
    def ok(self) -> bool:
        return not self.error and not self.problems and any(t.addresses for t in self.targets)

    def to_json(self) -> dict:
        return dict(asdict(self), ok=self.ok)


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _parse_server(text: str) -> tuple[str, int]:
    """'HOST', 'HOST:PORT', '[IPv6]:PORT', '[IPv6]' or a bare IPv6 address -> (ip, port); ValueError if not."""
    text = text.strip()
    port = ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ValueError(text)
        port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host = text
    ipaddress.ip_address(host)
    number = int(port) if port else 53
    if not 0 < number < 65536:
        raise ValueError(text)
    return host, number


class _Lookup:
    """Queries within one deadline for the whole resolve() (the resolver's lifetime, shrinking as it goes)."""

    def __init__(self, resolver: dns.asyncresolver.Resolver, server: str, timeout_s: float, result: DnsResult):
        self.resolver, self.server, self.timeout_s, self.result = resolver, server, timeout_s, result
        self.deadline = time.monotonic() + timeout_s
        self.answered = False          # the server said anything at all (even NXDOMAIN)
        self.timed_out = False

    async def query(self, name: str, rdtype: str) -> tuple[list, str]:
        """(records, "ok") or ([], "nodata" | "nxdomain" | "timeout" | "failed"); failures become problems."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return self.timeout()
        try:
            answer = await self.resolver.resolve(dns.name.from_text(name), rdtype, search=False, lifetime=remaining)
        except dns.resolver.NXDOMAIN:
            self.answered = True
            return [], "nxdomain"
        except dns.resolver.NoAnswer:
            self.answered = True
            return [], "nodata"
        except dns.exception.Timeout:
            return self.timeout()
        except dns.resolver.NoNameservers as e:   # every server said SERVFAIL, REFUSED, NOTIMP...
            why = sorted({dns.rcode.to_text(resp.rcode()) if resp is not None else str(err)
                          for _, _, _, err, resp in e.kwargs.get("errors", [])}) or ["no usable answer"]
            self.problem(f"the DNS server {self.server} answered {rdtype} {name} with {', '.join(why)}")
            return [], "failed"
        except dns.exception.DNSException as e:
            self.problem(f"the {rdtype} query for {name} failed: {e}")
            return [], "failed"
        self.answered = True
        return list(answer), "ok"

    def timeout(self) -> tuple[list, str]:
        if not self.timed_out:         # once: every later query runs out of the same budget
            self.timed_out = True
            self.problem(f"no answer from the DNS server {self.server} within {self.timeout_s:g} s")
        return [], "timeout"

    def problem(self, text: str) -> None:
        if text not in self.result.problems:
            self.result.problems.append(text)


def _sip_naptrs(r: DnsResult, records: list) -> list[tuple[str, str, str]]:
    """The NAPTRs a phone follows, best first, as (transport, SRV name, service); fills r.naptr."""
    for rd in sorted(records, key=lambda x: (x.order, x.preference)):   # RFC 3403 4.1: order, then preference
        r.naptr.append({"order": rd.order, "preference": rd.preference,
                        "flags": rd.flags.decode(errors="replace"), "service": rd.service.decode(errors="replace"),
                        "regexp": rd.regexp.decode(errors="replace"),
                        "replacement": rd.replacement.to_text(omit_final_dot=True)})
    chosen = []
    for rec in r.naptr:
        service, owner = rec["service"], rec["replacement"]
        transport = SERVICES.get(service.upper())       # RFC 3403 4.1: service and flags are case-insensitive
        if transport is None:
            continue                                    # ENUM, SCTP, WebSocket...: not for a phone's UDP/TCP/TLS
        if rec["flags"].upper() != "S":                 # RFC 3263 4.1: SIP NAPTRs lead to SRV, flag "S"
            r.problems.append(f"NAPTR {service} of {r.domain} has flags \"{rec['flags']}\", not \"S\": "
                              f"a phone ignores it")
            continue
        expected = SRV_PREFIX[transport]
        labels = owner.lower().split(".")
        if labels[0].startswith("_") and ".".join(labels[:2]) != expected:
            r.problems.append(f"NAPTR {service} of {r.domain} points to {owner}, but {service} is SIP over "
                              f"{transport.upper()}, whose SRV name starts with {expected}")
        chosen.append((transport, owner, service))
    if r.naptr and not chosen:
        services = ", ".join(sorted({rec["service"] or '""' for rec in r.naptr}))
        r.problems.append(f"{r.domain} has NAPTR records but none for SIP over UDP, TCP or TLS (found {services}): "
                          f"some phones then fall back to SRV, others give up")
    return chosen


async def _srv(r: DnsResult, lk: _Lookup, owners: list[str]) -> dict[str, str]:
    """SRV of each owner into r.srv, sorted as a phone tries them (RFC 2782: lowest priority first; the
    weighted random pick among equal priorities is reported as heaviest first). -> owner: status."""
    unique = list(dict.fromkeys(owners))
    answers = await asyncio.gather(*(lk.query(o, "SRV") for o in unique))
    status = {}
    for owner, (records, st) in zip(unique, answers, strict=True):
        status[owner] = st
        if st == "ok":
            records.sort(key=lambda x: (x.priority, -x.weight))
            r.srv[owner] = [{"priority": x.priority, "weight": x.weight, "port": x.port,
                             "target": x.target.to_text(omit_final_dot=True)} for x in records]
    return status


def _add_targets(r: DnsResult, owner: str, transport: str, via: str) -> list[tuple[DnsTarget, str]]:
    """r.srv[owner] as targets (appended to r.targets); -> [(target, owner)] to name the record later."""
    placed = []
    for rec in r.srv.get(owner, []):
        if rec["target"] == ".":        # RFC 2782: "." = the service is decidedly not available here
            note = f"SRV {owner} has target \".\": the provider says it offers no SIP over {transport.upper()} there"
            if note not in r.notes:
                r.notes.append(note)
            continue
        t = DnsTarget(transport, rec["target"], rec["port"], rec["priority"], rec["weight"], [], via)
        r.targets.append(t)
        placed.append((t, owner))
    return placed


async def _addresses(lk: _Lookup, hosts: list[str]) -> dict[str, tuple[list[str], bool]]:
    """host -> (A then AAAA addresses, whether the server gave a clear answer for both families)."""
    unique = list(dict.fromkeys(hosts))
    answers = await asyncio.gather(*(lk.query(h, t) for h in unique for t in ("A", "AAAA")))
    out = {}
    for i, host in enumerate(unique):
        (a, sa), (aaaa, saaaa) = answers[2 * i], answers[2 * i + 1]
        out[host] = ([x.address for x in a + aaaa], sa in ("ok",) + NO_ANSWER and saaaa in ("ok",) + NO_ANSWER)
    return out


async def _run(r: DnsResult, lk: _Lookup) -> None:
    records, st = await lk.query(r.domain, "NAPTR")
    if st == "nxdomain":                # RFC 8020: nothing exists at or below the name, SRV names included
        r.error = f"{r.domain} does not exist (NXDOMAIN)"
        return
    if st == "timeout":
        return
    chosen = _sip_naptrs(r, records)
    placed: list[tuple[DnsTarget, str]] = []
    if chosen:                          # RFC 3263 4.1: follow each SIP NAPTR's replacement to SRV
        status = await _srv(r, lk, [owner for _, owner, _ in chosen])
        for transport, owner, service in chosen:
            if status[owner] in NO_ANSWER:
                r.problems.append(f"NAPTR {service} of {r.domain} points to {owner}, which has no SRV records")
            placed += _add_targets(r, owner, transport, "naptr")
    else:                               # RFC 3263 4.1: no (SIP) NAPTR -> the SRV names of each transport
        owners = {t: f"{prefix}.{r.domain}" for t, prefix in SRV_PREFIX.items()}
        status = await _srv(r, lk, list(owners.values()))
        for transport, owner in owners.items():
            placed += _add_targets(r, owner, transport, "srv")
        if not r.srv and all(s in NO_ANSWER for s in status.values()):
            # RFC 3263 4.2: no SRV at all -> the domain's own address, UDP for a sip: URI, port 5060
            addresses, clear = (await _addresses(lk, [r.domain]))[r.domain]
            if addresses:
                r.targets.append(DnsTarget("udp", r.domain, DEFAULT_PORT, 0, 0, addresses, "a"))
            elif clear:
                r.problems.append(f"{r.domain} has no NAPTR, SRV, A or AAAA records: a phone finds no SIP "
                                  f"server there")
            return
    found = await _addresses(lk, [t.host for t, _ in placed])
    for t, owner in placed:
        t.addresses, clear = found[t.host]
        if not t.addresses and clear:   # a failed or timed-out query is reported as such already
            lk.problem(f"SRV {owner} names {t.host}:{t.port}, which has no address")
    if not r.targets and r.srv and not r.problems:
        r.problems.append(f"{r.domain} names no SIP server a phone could use: every SRV target is \".\"")


async def resolve(domain: str, nameserver: str | None = None, timeout_s: float = 5.0) -> DnsResult:
    """Resolve `domain` as a phone does. `nameserver` is "HOST", "HOST:PORT" or "[IPv6]:PORT"; None is the
    system resolver (/etc/resolv.conf). Bounded by `timeout_s` in all; never raises on DNS failures."""
    started = time.monotonic()
    domain = domain.strip().rstrip(".")
    r = DnsResult(domain, "system" if nameserver is None else nameserver)
    try:
        if not domain:
            raise dns.name.EmptyLabel
        dns.name.from_text(domain)
    except dns.exception.DNSException:
        r.error = f"{domain!r} is not a domain name"
        return r
    try:
        if nameserver is None:
            resolver = dns.asyncresolver.Resolver()
            server = ", ".join(_hostport(ns, resolver.port) if isinstance(ns, str) else
                               _hostport(ns.answer_nameserver(), ns.answer_port()) for ns in resolver.nameservers)
        else:
            host, port = _parse_server(nameserver)
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [dns.nameserver.Do53Nameserver(host, port)]
            server = r.nameserver = _hostport(host, port)
    except ValueError:
        r.error = f"nameserver {nameserver!r} is not HOST, HOST:PORT or [IPv6]:PORT with an IP address"
        return r
    except dns.resolver.NoResolverConfiguration:
        r.error = "no DNS server is configured on this machine (/etc/resolv.conf has no nameserver)"
        return r
    resolver.lifetime = timeout_s
    resolver.timeout = min(2.0, timeout_s)     # per try: a dead first server leaves time for the next one
    lk = _Lookup(resolver, server, timeout_s, r)
    try:
        async with asyncio.timeout(timeout_s + 0.5):   # belt and braces over the per-query lifetimes
            await _run(r, lk)
    except TimeoutError:
        lk.timeout()
    if not lk.answered and not r.error and r.problems:   # not one answer: that is an error, not a problem
        r.error = r.problems.pop(0)
        r.problems.clear()
    r.answered = lk.answered
    r.elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    return r
