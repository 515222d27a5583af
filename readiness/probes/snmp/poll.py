"""Poll devices: identity first (is it there?), then one GETNEXT to learn which tables it has, then
GETBULK walks of those tables concurrently - many devices at once, each with its own timeout and retries.

The result of a poll is the raw data (a Walk) with what could not be read; parsing comes after, so the
same data can be stored as a snapshot and parsed again later.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from ...config.site import SiteSpec, SnmpDevice, split_host_port
from ...errors import ReadinessError
from ...units import parse_duration_s
from . import lldp, mibs
from .client import SnmpCredentials, SnmpError, SnmpPduError, SnmpSession
from .v2c import Channel
from .walk import Walk

DEVICE_CONCURRENCY = 4      # requests in flight to one device: gentle on small switch CPUs
DEVICES_IN_PARALLEL = 64
# Requests in flight over all devices. Measured with 60 devices on snmpd agents: 8 is slower, 64 no
# faster and 128 slower (this process's ~0.8 CPU-s of encoding and decoding is then the limit); on
# snmpsim agents more in flight only queues requests at the agents and risks their timeouts.
IN_FLIGHT = 24


@dataclass
class Target:
    """One device to poll. Credentials are resolved only when the poll starts."""

    label: str
    host: str
    port: int
    role: str
    credentials: Callable[[], SnmpCredentials]
    timeout_s: float = 2.0
    retries: int = 1
    config: SnmpDevice | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def targets(site: SiteSpec) -> list[Target]:
    if site.snmp is None:
        raise ReadinessError("the site file has no snmp: section")
    timeout = parse_duration_s(site.snmp.timeout)
    out = []
    for dev in site.snmp.devices:
        host, port = split_host_port(dev.host, 161)
        out.append(Target(dev.label(), host, port, dev.role, _resolver(site, dev), timeout,
                          site.snmp.retries, dev))
    return out


def chosen(site: SiteSpec) -> list[Target]:
    """The targets to poll: every device, or those the site's `snmp.only` names."""
    every = targets(site)
    names = site.snmp.only if site.snmp else []
    if not names:
        return every
    known = {t.label for t in every}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ReadinessError(f"no device named {', '.join(unknown)} in the site file "
                             f"(it has: {', '.join(sorted(known))})")
    return [t for t in every if t.label in names]


def _resolver(site: SiteSpec, dev: SnmpDevice) -> Callable[[], SnmpCredentials]:
    def resolve() -> SnmpCredentials:
        if dev.version == "3":
            return SnmpCredentials("3", user=dev.user or "", auth_protocol=dev.auth_protocol,
                                   auth_key=site.secret(dev.auth_key) if dev.auth_key else "",
                                   priv_protocol=dev.priv_protocol,
                                   priv_key=site.secret(dev.priv_key) if dev.priv_key else "",
                                   context=dev.context)
        assert dev.community is not None
        return SnmpCredentials("2c", community=site.secret(dev.community))
    return resolve


@dataclass
class Polled:
    """The raw result of polling one device."""

    target: Target
    walk: Walk = field(default_factory=Walk)
    reachable: bool = False
    error: str = ""
    started: float = 0.0
    finished: float = 0.0
    requests: int = 0           # answered requests and the values decoded from them (cost, for benchmarks)
    decoded: int = 0

    @property
    def uptime_ticks(self) -> int | None:
        r = self.walk.number(mibs.SYS_UPTIME, "sysUpTime", 0)
        return r.value if r.ok else None  # type: ignore[return-value]


def plan(role: str, counters_only: bool = False) -> tuple[dict[str, list[mibs.OID]], list[mibs.OID]]:
    """(tables to walk, scalars to get) for a role."""
    if counters_only:
        return (mibs.COUNTER_TABLES, []) if role == "switch" else ({}, [])
    if role == "ups":
        return mibs.UPS_TABLES, mibs.UPS_SCALARS
    return mibs.SWITCH_TABLES, []


async def poll(target: Target, counters_only: bool = False, channel: Channel | None = None,
               in_flight: asyncio.Semaphore | None = None, backend: str = "auto") -> Polled:
    result = Polled(target, started=time.time())
    tables, scalars = plan(target.role, counters_only)
    try:
        creds = target.credentials()
    except ReadinessError as e:
        result.error = f"credentials: {e}"
        result.finished = time.time()
        return result
    try:
        async with SnmpSession(target.host, target.port, creds, target.timeout_s, target.retries,
                               in_flight=in_flight, channel=channel, backend=backend) as session:
            sizes = [mibs.IF_NUMBER, mibs.BASE_NUM_PORTS] if target.role == "switch" else []
            for o, v in (await session.get(mibs.SYSTEM + sizes)).items():
                result.walk.add(o, *v)
            if not any(o in result.walk.values for o in mibs.SYSTEM):
                raise SnmpError(f"{target.address}: the agent answered but has no system group (sysDescr)")
            result.reachable = True
            present = await _present(session, tables, result.walk)
            limit = asyncio.Semaphore(DEVICE_CONCURRENCY)

            async def walk(name: str, columns: list[mibs.OID]) -> None:
                size = mibs.TABLE_SIZE.get(name)
                hint = result.walk.number(size, "size", 1, 100_000).value if size else mibs.TYPICAL_ROWS.get(name)
                two_step = name in mibs.KEY_COLUMN_ONLY
                async with limit:
                    rows, problem = await session.walk(columns[:1] if two_step else columns, hint)  # type: ignore[arg-type]
                    if two_step and not problem:
                        try:
                            rows.update(await _other_columns(session, columns, rows))
                        except SnmpError as e:
                            problem = f"stopped after {len(rows)} values: {e}"
                for o, v in rows.items():
                    result.walk.add(o, *v)
                if problem:
                    result.walk.problems[name] = problem

            async def get(oids: list[mibs.OID]) -> None:
                try:
                    for o, v in (await session.get(oids)).items():
                        result.walk.add(o, *v)
                except SnmpError as e:
                    result.walk.problems["UPS scalars"] = str(e)

            jobs = [walk(name, cols) for name, cols in tables.items() if name in present - mibs.PROBE_ONLY]
            if scalars:
                jobs.append(get(scalars))
            try:
                await asyncio.gather(*jobs)
            finally:
                result.requests, result.decoded = session.requests, session.decoded
    except SnmpError as e:
        result.error = str(e)
    result.finished = time.time()
    return result


async def _other_columns(session: SnmpSession, columns: list[mibs.OID], rows: dict) -> dict:
    """The remaining columns of the voice rows found by walking the first column."""
    key = columns[0]
    wanted = [o[len(key):] for o in rows if lldp.is_voice_index(o[len(key) + 1:])]
    return await session.get_many([c + idx for c in columns[1:] for idx in wanted])


async def _present(session: SnmpSession, tables: dict[str, list[mibs.OID]], walk: Walk) -> set[str]:
    """Which tables the agent has: one GETNEXT on the first column of each (saves a wasted GETBULK of
    64 values per absent table). The first rows found are kept: for PROBE_ONLY tables they are all
    that is read."""
    if not tables:
        return set()
    names = list(tables)
    try:
        answer = await session.get_next([tables[n][0] for n in names])
    except SnmpPduError:
        return set(names)   # an agent that cannot do this: walk everything
    present = set()
    for name, (o, value) in zip(names, answer):
        # any column of the table may be the first present one: compare with the table's entry OID
        entry = tables[name][0][:-1]
        if value is not None and o[:len(entry)] == entry:
            present.add(name)
            walk.add(o, *value)
    return present


async def poll_all(targets_: Iterable[Target], counters_only: bool = False,
                   on_done: Callable[[Polled], None] | None = None, backend: str = "auto") -> list[Polled]:
    """Poll every target concurrently; results in the order of `targets_`.

    The v2c devices share one UDP socket (v2c.Channel); each v3 device has a pysnmp engine of its own.
    backend="pysnmp" polls v2c devices through pysnmp too: the reference for tests."""
    limit = asyncio.Semaphore(DEVICES_IN_PARALLEL)
    in_flight = asyncio.Semaphore(IN_FLIGHT)

    async with Channel() as channel:
        async def one(t: Target) -> Polled:
            async with limit:
                p = await poll(t, counters_only, channel, in_flight, backend)
            if on_done:
                on_done(p)
            return p

        return list(await asyncio.gather(*(one(t) for t in targets_)))
