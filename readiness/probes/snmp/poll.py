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
from . import mibs
from .client import Credentials, Session, SnmpError, SnmpPduError
from .walk import Walk

DEVICE_CONCURRENCY = 4      # requests in flight to one device: gentle on small switch CPUs
DEVICES_IN_PARALLEL = 64


@dataclass
class Target:
    """One device to poll. Credentials are resolved only when the poll starts."""

    label: str
    host: str
    port: int
    role: str
    credentials: Callable[[], Credentials]
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


def _resolver(site: SiteSpec, dev: SnmpDevice) -> Callable[[], Credentials]:
    def resolve() -> Credentials:
        if dev.version == "3":
            return Credentials("3", user=dev.user or "", auth_protocol=dev.auth_protocol,
                               auth_key=site.secret(dev.auth_key) if dev.auth_key else "",
                               priv_protocol=dev.priv_protocol,
                               priv_key=site.secret(dev.priv_key) if dev.priv_key else "",
                               context=dev.context)
        assert dev.community is not None
        return Credentials("2c", community=site.secret(dev.community))
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


async def poll(target: Target, counters_only: bool = False) -> Polled:
    result = Polled(target, started=time.time())
    tables, scalars = plan(target.role, counters_only)
    try:
        creds = target.credentials()
    except ReadinessError as e:
        result.error = f"credentials: {e}"
        result.finished = time.time()
        return result
    try:
        async with Session(target.host, target.port, creds, target.timeout_s, target.retries) as session:
            for o, v in (await session.get(mibs.SYSTEM)).items():
                result.walk.add(o, *v)
            if not result.walk.values:
                raise SnmpError(f"{target.address}: the agent answered but has no system group (sysDescr)")
            result.reachable = True
            present = await _present(session, tables)
            limit = asyncio.Semaphore(DEVICE_CONCURRENCY)

            async def walk(name: str, columns: list[mibs.OID]) -> None:
                async with limit:
                    rows, problem = await session.walk(columns)
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

            jobs = [walk(name, cols) for name, cols in tables.items() if name in present]
            if scalars:
                jobs.append(get(scalars))
            await asyncio.gather(*jobs)
    except SnmpError as e:
        result.error = str(e)
    result.finished = time.time()
    return result


async def _present(session: Session, tables: dict[str, list[mibs.OID]]) -> set[str]:
    """Which tables the agent has: one GETNEXT on the first column of each (saves a wasted GETBULK of
    64 values per absent table)."""
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
    return present


async def poll_all(targets_: Iterable[Target], counters_only: bool = False,
                   on_done: Callable[[Polled], None] | None = None) -> list[Polled]:
    """Poll every target concurrently; results in the order of `targets_`."""
    limit = asyncio.Semaphore(DEVICES_IN_PARALLEL)

    async def one(t: Target) -> Polled:
        async with limit:
            p = await poll(t, counters_only)
        if on_done:
            on_done(p)
        return p

    return list(await asyncio.gather(*(one(t) for t in targets_)))
