"""SNMP v2c and v3 sessions over pysnmp 7 (asyncio): GET, and GETBULK walks of several columns at once.

pysnmp's command generators are driven with numeric OIDs: its high-level API resolves every OID through
the MIB compiler (seconds on first use, then about a millisecond per variable), which an audit that
knows its OIDs never needs. Each request has the session's timeout and retries.

Secrets: the community and v3 keys live only in pysnmp's engine configuration; pysnmp's own reprs mask
them, the community index we give it is an opaque counter, and no message built here contains them.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Sequence

from pyasn1.type.univ import Null
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.hlapi.v3arch.asyncio import (CommunityData, SnmpEngine, UdpTransportTarget, Udp6TransportTarget,
                                         UsmUserData)
from pysnmp.hlapi.v3arch.asyncio import auth as pauth
from pysnmp.hlapi.v3arch.asyncio.lcd import CommandGeneratorLcdConfigurator
from pysnmp.proto import errind, rfc1905
from pysnmp.proto.rfc1902 import ObjectName

from ...errors import ReadinessError
from .mibs import OID
from .walk import NULL, RawValue

MAX_VARBINDS = 64          # per GETBULK response; snmpsim's default cap, and well inside one UDP datagram
FIRST_ROWS = 8             # rows asked for first when a table's size is unknown: small tables waste little
MAX_ROWS = 200_000         # a walk longer than this is an agent looping, not a table

AUTH_PROTOCOLS = {"MD5": pauth.USM_AUTH_HMAC96_MD5, "SHA": pauth.USM_AUTH_HMAC96_SHA,
                  "SHA224": pauth.USM_AUTH_HMAC128_SHA224, "SHA256": pauth.USM_AUTH_HMAC192_SHA256,
                  "SHA384": pauth.USM_AUTH_HMAC256_SHA384, "SHA512": pauth.USM_AUTH_HMAC384_SHA512}
PRIV_PROTOCOLS = {"DES": pauth.USM_PRIV_CBC56_DES, "AES128": pauth.USM_PRIV_CFB128_AES,
                  "AES192": pauth.USM_PRIV_CFB192_AES, "AES256": pauth.USM_PRIV_CFB256_AES}

_LCD = CommandGeneratorLcdConfigurator()
_ids = itertools.count(1)


class SnmpError(ReadinessError):
    """The agent did not answer as asked. The message names the device, never a credential."""


class SnmpTimeout(SnmpError):
    pass


class SnmpPduError(SnmpError):
    """The agent answered, with an error status (noSuchName, genErr, tooBig ...)."""


@dataclass(frozen=True, repr=False)
class Credentials:
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
            return f"Credentials(v3, user={self.user!r}, {self.level()})"
        return "Credentials(v2c, community=<hidden>)"

    def level(self) -> str:
        if self.version != "3":
            return "community"
        if self.auth_key and self.priv_key:
            return f"authPriv {self.auth_protocol}/{self.priv_protocol}"
        return f"authNoPriv {self.auth_protocol}" if self.auth_key else "noAuthNoPriv"

    def auth_data(self) -> CommunityData | UsmUserData:
        if self.version != "3":
            # An opaque index: pysnmp prints communityIndex in reprs and logs.
            return CommunityData(f"readiness{next(_ids)}", self.community, mpModel=1)
        kw: dict = {}
        if self.auth_key:
            kw.update(authKey=self.auth_key, authProtocol=AUTH_PROTOCOLS[self.auth_protocol])
        if self.priv_key:
            kw.update(privKey=self.priv_key, privProtocol=PRIV_PROTOCOLS[self.priv_protocol])
        return UsmUserData(self.user, **kw)


def convert(value) -> tuple[int, RawValue] | None:
    """pysnmp value -> (.snmprec tag, plain value); None for noSuchObject/noSuchInstance/endOfMibView."""
    if isinstance(value, (rfc1905.NoSuchObject, rfc1905.NoSuchInstance, rfc1905.EndOfMibView)):
        return None
    tag = value.tagSet.baseTag if not value.tagSet.superTags else value.tagSet.superTags[-1]
    number = (64 + tag.tagId) if tag.tagClass == 0x40 else tag.tagId   # application class -> 64 + id
    if number == NULL:
        return NULL, None
    if number in (4, 68):
        return number, bytes(value)
    if number in (6, 64):
        return number, value.prettyPrint()
    return number, int(value)


def _explain(indication: errind.ErrorIndication, where: str, creds: Credentials, timeout: float,
             retries: int) -> SnmpError:
    """One clear line per failure kind; credentials are named by kind, never by value."""
    if isinstance(indication, errind.RequestTimedOut):
        hint = ("wrong community, wrong address, or SNMP blocked" if creds.version != "3"
                else "wrong address, SNMP blocked, or a wrong privacy key")
        return SnmpTimeout(f"{where}: no answer within {timeout:g} s x {retries + 1} tries ({hint})")
    if isinstance(indication, (errind.UnknownUserName, errind.UnknownSecurityName)):
        return SnmpError(f"{where}: the agent does not know SNMPv3 user {creds.user!r}")
    if isinstance(indication, (errind.WrongDigest, errind.AuthenticationFailure, errind.AuthenticationError)):
        return SnmpError(f"{where}: SNMPv3 authentication failed for user {creds.user!r} "
                         f"(wrong auth key or protocol, site file says {creds.auth_protocol})")
    if isinstance(indication, errind.DecryptionError):
        return SnmpError(f"{where}: SNMPv3 decryption failed (wrong privacy key or protocol, "
                         f"site file says {creds.priv_protocol})")
    if isinstance(indication, errind.UnsupportedSecurityLevel):
        return SnmpError(f"{where}: the agent refuses security level {creds.level()} for user {creds.user!r}")
    if isinstance(indication, errind.NotInTimeWindow):
        return SnmpError(f"{where}: SNMPv3 time window mismatch (agent clock or engine boots)")
    return SnmpError(f"{where}: {indication}")


class Session:
    """One agent: address, credentials, timeout and retries. Use as `async with Session(...) as s`."""

    def __init__(self, host: str, port: int, creds: Credentials, timeout_s: float = 2.0, retries: int = 1,
                 engine: SnmpEngine | None = None, max_varbinds: int = MAX_VARBINDS,
                 in_flight: asyncio.Semaphore | None = None):
        self.host, self.port, self.creds = host, port, creds
        self.timeout_s, self.retries, self.max_varbinds = timeout_s, retries, max_varbinds
        self.where = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
        self._engine = engine
        self._own_engine = engine is None
        self._in_flight = in_flight
        self._addr: str | None = None
        self._context = creds.context.encode() if creds.context else b""
        self.requests = 0          # requests answered, and values decoded from them (benchmark figures)
        self.decoded = 0

    async def __aenter__(self) -> "Session":
        if self._engine is None:
            self._engine = SnmpEngine()
        cls = Udp6TransportTarget if ":" in self.host else UdpTransportTarget
        try:
            target = await cls.create((self.host, self.port), timeout=self.timeout_s, retries=self.retries)
        except Exception as e:  # name resolution
            await self.__aexit__(None, None, None)
            raise SnmpError(f"{self.where}: cannot resolve the address: {e}") from None
        self._addr, _ = _LCD.configure(self._engine, self.creds.auth_data(), target, self._context)
        return self

    async def __aexit__(self, *exc) -> None:
        if self._own_engine and self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None

    async def _request(self, generator, *args) -> list[tuple[ObjectName, object]]:
        if self._in_flight is None:
            return await self._send(generator, *args)
        async with self._in_flight:
            return await self._send(generator, *args)

    async def _send(self, generator, *args) -> list[tuple[ObjectName, object]]:
        future = asyncio.get_running_loop().create_future()

        def done(engine, handle, indication, status, index, varbinds, ctx):
            if not future.done():
                future.set_result((indication, status, index, varbinds))

        generator.send_varbinds(self._engine, self._addr, None, self._context, *args, done, None)
        indication, status, index, varbinds = await future
        self.requests += 1
        self.decoded += len(varbinds or ())
        if indication:
            raise _explain(indication, self.where, self.creds, self.timeout_s, self.retries)
        if status:
            raise SnmpPduError(f"{self.where}: the agent answered {status.prettyPrint()}"
                            f" at variable {int(index)}")
        return list(varbinds)

    async def get(self, oids: Sequence[OID]) -> dict[OID, tuple[int, RawValue]]:
        """GET; objects the agent does not have are left out. Falls back to one GET per object for
        agents that fail a whole request over one missing object (SNMPv1-style noSuchName/genErr)."""
        vbs = [(ObjectName(o), Null("")) for o in oids]
        try:
            answer = await self._request(cmdgen.GetCommandGenerator(), vbs)
        except SnmpPduError:
            if len(oids) == 1:
                return {}
            out: dict[OID, tuple[int, RawValue]] = {}
            for o in oids:
                out.update(await self.get([o]))
            return out
        result = {}
        for name, value in answer:
            converted = convert(value)
            if converted is not None:
                result[tuple(name)] = converted
        return result

    async def get_many(self, oids: Sequence[OID]) -> dict[OID, tuple[int, RawValue]]:
        """GET any number of objects, MAX_VARBINDS per request."""
        out: dict[OID, tuple[int, RawValue]] = {}
        for i in range(0, len(oids), self.max_varbinds):
            out.update(await self.get(oids[i:i + self.max_varbinds]))
        return out

    async def get_next(self, oids: Sequence[OID]) -> list[tuple[OID, tuple[int, RawValue] | None]]:
        """GETNEXT: the next object after each OID (None where the MIB view ends)."""
        answer = await self._request(cmdgen.NextCommandGenerator(), [(ObjectName(o), Null("")) for o in oids])
        return [(tuple(name), convert(value)) for name, value in answer]

    async def walk(self, columns: Sequence[OID], rows_hint: int | None = None
                   ) -> tuple[dict[OID, tuple[int, RawValue]], str]:
        """Walk several columns of one table with GETBULK, each until it leaves its subtree.

        Every value decoded costs CPU (pysnmp decodes about 5,000 a second), so requests ask for just
        enough rows: `rows_hint` (the table's expected size) + 1 to see the end, or FIRST_ROWS first
        when the size is unknown. Returns the rows read and, if the walk stopped early (timeout,
        error, an agent going backwards), why - the rows before that point are kept.
        """
        cursor = {i: c for i, c in enumerate(columns)}
        active = dict(cursor)
        rows: dict[OID, tuple[int, RawValue]] = {}
        requests = 0
        while active:
            order = list(active)
            reps = max(1, self.max_varbinds // len(order))
            remaining = rows_hint - len(rows) // max(1, len(columns)) if rows_hint else 0
            if remaining > 0:
                reps = min(reps, remaining + 1)
            elif rows_hint is None and requests == 0:
                reps = min(reps, FIRST_ROWS)
            requests += 1
            try:
                answer = await self._request(cmdgen.BulkCommandGenerator(), 0, reps,
                                             [(ObjectName(cursor[i]), Null("")) for i in order])
            except SnmpError as e:
                return rows, f"stopped after {len(rows)} values: {e}"
            if not answer:
                break
            for j, (name, value) in enumerate(answer):
                i = order[j % len(order)]
                if i not in active:
                    continue
                o = tuple(name)
                base = active[i]
                if isinstance(value, rfc1905.EndOfMibView) or o[:len(base)] != base:
                    del active[i]
                    continue
                if o <= cursor[i]:
                    return rows, f"stopped after {len(rows)} values: the agent returned OIDs out of order"
                cursor[i] = o
                converted = convert(value)
                if converted is not None:
                    rows[o] = converted
            if len(rows) > MAX_ROWS:
                return rows, f"stopped after {len(rows)} values: the agent does not end the table"
        return rows, ""
