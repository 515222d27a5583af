"""SNMP sessions: GET, GETNEXT, and GETBULK walks of several columns at once.

SNMPv2c goes through the own codec (ber.py) over one shared UDP socket (v2c.py): decoding with pysnmp
was the audit's bottleneck. SNMPv3 (USM authentication and privacy) goes through pysnmp's engine
(via_pysnmp.py), which is also the reference the codec is tested against (`backend="pysnmp"`).
Each request has the session's timeout and retries.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Sequence

from . import ber
from .failures import TOO_BIG, SnmpError, SnmpPduError, SnmpTimeout, no_answer, pdu_error
from .mibs import OID
from .v2c import Channel, NoAnswer
from .walk import RawValue

__all__ = ["SnmpCredentials", "SnmpSession", "SnmpError", "SnmpPduError", "SnmpTimeout", "MAX_VARBINDS"]

MAX_VARBINDS = 64          # per GETBULK response; snmpsim's default cap, and well inside one UDP datagram
FIRST_ROWS = 8             # rows asked for first when a table's size is unknown: small tables waste little
MAX_ROWS = 200_000         # a walk longer than this is an agent looping, not a table


@dataclass(frozen=True, repr=False)
class SnmpCredentials:
    """How to talk to one agent. repr() never shows a secret."""

    version: str = "2c"                     # "2c" or "3"
    community: str = field(default="", repr=False)
    user: str = ""
    auth_protocol: str = "SHA256"
    auth_key: str = field(default="", repr=False)
    priv_protocol: str = "AES128"
    priv_key: str = field(default="", repr=False)
    context: str = ""

    def __repr__(self) -> str:
        if self.version == "3":
            return f"SnmpCredentials(v3, user={self.user!r}, {self.level()})"
        return "SnmpCredentials(v2c, community=<hidden>)"

    def level(self) -> str:
        if self.version != "3":
            return "community"
        if self.auth_key and self.priv_key:
            return f"authPriv {self.auth_protocol}/{self.priv_protocol}"
        return f"authNoPriv {self.auth_protocol}" if self.auth_key else "noAuthNoPriv"


class V2cCarrier:
    """One v2c agent through the own codec, on a shared Channel (or one of its own)."""

    def __init__(self, where: str, creds: SnmpCredentials, timeout_s: float, retries: int, channel: Channel | None):
        self.where, self.creds, self.timeout_s, self.retries = where, creds, timeout_s, retries
        self._channel = channel
        self._own_channel = channel is None
        self._community = creds.community.encode()
        self._family = socket.AF_INET
        self._address: tuple = ()

    async def open(self, host: str, port: int) -> None:
        try:
            ip = ipaddress.ip_address(host)
            self._family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            self._address = (host, port, 0, 0) if ip.version == 6 else (host, port)
        except ValueError:
            try:
                info = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
            except OSError as e:
                raise SnmpError(f"{self.where}: cannot resolve the address: {e}") from None
            self._family, _, _, _, self._address = info[0]
        if self._channel is None:
            self._channel = Channel()

    def close(self) -> None:
        if self._own_channel and self._channel is not None:
            self._channel.close()
            self._channel = None

    async def exchange(self, pdu_type: int, oids: Sequence[OID], max_repetitions: int = 0) -> list[ber.VarBind]:
        assert self._channel is not None

        def message(request_id: int) -> bytes:
            return ber.encode_request(self._community, pdu_type, request_id, oids, 0, max_repetitions)

        try:
            r = await self._channel.request(self._family, self._address, self._community, message,
                                            self.timeout_s, self.retries)
        except NoAnswer:
            raise no_answer(self.where, self.creds, self.timeout_s, self.retries) from None
        except ber.BerError as e:
            raise SnmpError(f"{self.where}: the agent's answer is malformed: {e}") from None
        if r.error_status:
            raise pdu_error(self.where, r.error_status, r.error_index)
        return r.varbinds


class SnmpSession:
    """One agent: address, credentials, timeout and retries. Use as `async with SnmpSession(...) as s`.

    `channel` shares one UDP socket among v2c sessions; `engine` shares a pysnmp engine among sessions
    that use pysnmp (`backend="pysnmp"`, v2c only: v3 users are engine-wide, so v3 gets its own)."""

    def __init__(self, host: str, port: int, creds: SnmpCredentials, timeout_s: float = 2.0, retries: int = 1,
                 engine=None, max_varbinds: int = MAX_VARBINDS, in_flight: asyncio.Semaphore | None = None,
                 channel: Channel | None = None, backend: str = "auto"):
        self.host, self.port, self.creds = host, port, creds
        self.timeout_s, self.retries, self.max_varbinds = timeout_s, retries, max_varbinds
        self.where = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
        self._in_flight = in_flight
        if creds.version == "3" or backend == "pysnmp":
            from .via_pysnmp import PysnmpCarrier   # pysnmp is imported only when needed
            self._carrier: V2cCarrier | PysnmpCarrier = PysnmpCarrier(
                self.where, creds, timeout_s, retries, engine if creds.version != "3" else None)
        else:
            self._carrier = V2cCarrier(self.where, creds, timeout_s, retries, channel)
        self.requests = 0          # requests answered, and values decoded from them (benchmark figures)
        self.decoded = 0

    async def __aenter__(self) -> "SnmpSession":
        await self._carrier.open(self.host, self.port)
        return self

    async def __aexit__(self, *exc) -> None:
        self._carrier.close()

    async def _exchange(self, pdu_type: int, oids: Sequence[OID], max_repetitions: int = 0) -> list[ber.VarBind]:
        if self._in_flight is None:
            answer = await self._carrier.exchange(pdu_type, oids, max_repetitions)
        else:
            async with self._in_flight:
                answer = await self._carrier.exchange(pdu_type, oids, max_repetitions)
        self.requests += 1
        self.decoded += len(answer)
        return answer

    async def pysnmp_send(self, generator, *args) -> list:
        """Any pysnmp command generator (tests SET values through it); backend="pysnmp" only."""
        return await self._carrier.send(generator, *args)   # type: ignore[union-attr]

    async def get(self, oids: Sequence[OID]) -> dict[OID, tuple[int, RawValue]]:
        """GET; objects the agent does not have are left out. An agent that fails a whole request over one
        missing object (SNMPv1-style noSuchName/genErr) is asked again object by object; one that finds
        the answer too big, in halves."""
        try:
            answer = await self._exchange(ber.GET, oids)
        except SnmpPduError as e:
            if len(oids) == 1:
                return {}
            step = (len(oids) + 1) // 2 if e.status == TOO_BIG else 1
            out: dict[OID, tuple[int, RawValue]] = {}
            for i in range(0, len(oids), step):
                out.update(await self.get(oids[i:i + step]))
            return out
        return {o: (tag, value) for o, tag, value in answer if tag not in ber.EXCEPTIONS}

    async def get_many(self, oids: Sequence[OID]) -> dict[OID, tuple[int, RawValue]]:
        """GET any number of objects, MAX_VARBINDS per request."""
        out: dict[OID, tuple[int, RawValue]] = {}
        for i in range(0, len(oids), self.max_varbinds):
            out.update(await self.get(oids[i:i + self.max_varbinds]))
        return out

    async def get_next(self, oids: Sequence[OID]) -> list[tuple[OID, tuple[int, RawValue] | None]]:
        """GETNEXT: the next object after each OID (None where the MIB view ends)."""
        answer = await self._exchange(ber.GETNEXT, oids)
        return [(o, None if tag in ber.EXCEPTIONS else (tag, value)) for o, tag, value in answer]

    async def walk(self, columns: Sequence[OID], rows_hint: int | None = None
                   ) -> tuple[dict[OID, tuple[int, RawValue]], str]:
        """Walk several columns of one table with GETBULK, each until it leaves its subtree.

        Every value costs the agent and us CPU, so requests ask for just enough rows: `rows_hint` (the
        table's expected size) + 1 to see the end, or FIRST_ROWS first when the size is unknown. An
        agent that finds an answer too big is asked for half as many rows. Returns the rows read and, if
        the walk stopped early (timeout, error, an agent going backwards), why - the rows before that
        point are kept.
        """
        cursor = dict(enumerate(columns))
        active = dict(cursor)
        rows: dict[OID, tuple[int, RawValue]] = {}
        requests = 0
        cap = self.max_varbinds
        while active:
            order = list(active)
            reps = max(1, cap // len(order))
            remaining = rows_hint - len(rows) // max(1, len(columns)) if rows_hint else 0
            if remaining > 0:
                reps = min(reps, remaining + 1)
            elif rows_hint is None and requests == 0:
                reps = min(reps, FIRST_ROWS)
            requests += 1
            try:
                answer = await self._exchange(ber.GETBULK, [cursor[i] for i in order], reps)
            except SnmpPduError as e:
                if e.status == TOO_BIG and reps > 1:
                    cap = max(len(order), cap // 2)
                    continue
                return rows, f"stopped after {len(rows)} values: {e}"
            except SnmpError as e:
                return rows, f"stopped after {len(rows)} values: {e}"
            if not answer:
                break
            for j, (o, tag, value) in enumerate(answer):
                i = order[j % len(order)]
                if i not in active:
                    continue
                base = active[i]
                if tag == ber.END_OF_MIB_VIEW or o[:len(base)] != base:
                    del active[i]
                    continue
                if o <= cursor[i]:
                    return rows, f"stopped after {len(rows)} values: the agent returned OIDs out of order"
                cursor[i] = o
                if tag not in ber.EXCEPTIONS:
                    rows[o] = (tag, value)
            if len(rows) > MAX_ROWS:
                return rows, f"stopped after {len(rows)} values: the agent does not end the table"
        return rows, ""
