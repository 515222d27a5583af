"""SNMP through pysnmp 7's engine (asyncio): SNMPv3 with USM authentication and privacy, and the reference
the own v2c codec (ber.py) is tested against. Imported only when one of those is needed: importing
pysnmp costs a third of a second of CPU.

pysnmp's command generators are driven with numeric OIDs: its high-level API resolves every OID through
the MIB compiler (seconds on first use, then about a millisecond per variable), which an audit that
knows its OIDs never needs.

Secrets: the community and v3 keys live only in pysnmp's engine configuration; pysnmp's own reprs mask
them, the community index we give it is an opaque counter, and no message built here contains them.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Sequence

from pyasn1.type.univ import Null
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.hlapi.v3arch.asyncio import (CommunityData, SnmpEngine, Udp6TransportTarget, UdpTransportTarget,
                                         UsmUserData)
from pysnmp.hlapi.v3arch.asyncio import auth as pauth
from pysnmp.hlapi.v3arch.asyncio.lcd import CommandGeneratorLcdConfigurator
from pysnmp.proto import errind, rfc1905
from pysnmp.proto.rfc1902 import ObjectName

from . import ber
from .failures import SnmpError, no_answer, pdu_error
from .mibs import OID

AUTH_PROTOCOLS = {"MD5": pauth.USM_AUTH_HMAC96_MD5, "SHA": pauth.USM_AUTH_HMAC96_SHA,
                  "SHA224": pauth.USM_AUTH_HMAC128_SHA224, "SHA256": pauth.USM_AUTH_HMAC192_SHA256,
                  "SHA384": pauth.USM_AUTH_HMAC256_SHA384, "SHA512": pauth.USM_AUTH_HMAC384_SHA512}
PRIV_PROTOCOLS = {"DES": pauth.USM_PRIV_CBC56_DES, "AES128": pauth.USM_PRIV_CFB128_AES,
                  "AES192": pauth.USM_PRIV_CFB192_AES, "AES256": pauth.USM_PRIV_CFB256_AES}
_EXCEPTIONS = {rfc1905.NoSuchObject: ber.NO_SUCH_OBJECT, rfc1905.NoSuchInstance: ber.NO_SUCH_INSTANCE,
               rfc1905.EndOfMibView: ber.END_OF_MIB_VIEW}

_LCD = CommandGeneratorLcdConfigurator()
_ids = itertools.count(1)


def convert(value) -> tuple[int, int | bytes | str | None]:
    """pysnmp value -> (.snmprec tag, plain value); an exception (noSuchObject ...) -> (its ber tag, None).
    The same plain values ber.decode_response gives."""
    exception = _EXCEPTIONS.get(type(value))
    if exception is not None:
        return exception, None
    tag = value.tagSet.baseTag if not value.tagSet.superTags else value.tagSet.superTags[-1]
    number = (64 + tag.tagId) if tag.tagClass == 0x40 else tag.tagId   # application class -> 64 + id
    if number == 5:
        return number, None
    if number in (4, 68):
        return number, bytes(value)
    if number in (6, 64):
        return number, value.prettyPrint()
    return number, int(value)


def auth_data(creds) -> CommunityData | UsmUserData:
    if creds.version != "3":
        # An opaque index: pysnmp prints communityIndex in reprs and logs.
        return CommunityData(f"readiness{next(_ids)}", creds.community, mpModel=1)
    kw: dict = {}
    if creds.auth_key:
        kw.update(authKey=creds.auth_key, authProtocol=AUTH_PROTOCOLS[creds.auth_protocol])
    if creds.priv_key:
        kw.update(privKey=creds.priv_key, privProtocol=PRIV_PROTOCOLS[creds.priv_protocol])
    return UsmUserData(creds.user, **kw)


def _explain(indication: errind.ErrorIndication, where: str, creds, timeout: float, retries: int) -> SnmpError:
    """One clear line per failure kind; credentials are named by kind, never by value."""
    if isinstance(indication, errind.RequestTimedOut):
        return no_answer(where, creds, timeout, retries)
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


class PysnmpCarrier:
    """One agent through a pysnmp engine (shared, or its own: v3 users are engine-wide in pysnmp)."""

    def __init__(self, where: str, creds, timeout_s: float, retries: int, engine: SnmpEngine | None = None):
        self.where, self.creds, self.timeout_s, self.retries = where, creds, timeout_s, retries
        self._engine = engine
        self._own_engine = engine is None
        self._addr: str | None = None
        self._context = creds.context.encode() if creds.context else b""

    async def open(self, host: str, port: int) -> None:
        if self._engine is None:
            self._engine = SnmpEngine()
        cls = Udp6TransportTarget if ":" in host else UdpTransportTarget
        try:
            target = await cls.create((host, port), timeout=self.timeout_s, retries=self.retries)
        except Exception as e:  # name resolution
            self.close()
            raise SnmpError(f"{self.where}: cannot resolve the address: {e}") from None
        self._addr, _ = _LCD.configure(self._engine, auth_data(self.creds), target, self._context)

    def close(self) -> None:
        if self._own_engine and self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None

    async def exchange(self, pdu_type: int, oids: Sequence[OID], max_repetitions: int = 0) -> list[ber.VarBind]:
        vbs = [(ObjectName(o), Null("")) for o in oids]
        if pdu_type == ber.GETBULK:
            answer = await self.send(cmdgen.BulkCommandGenerator(), 0, max_repetitions, vbs)
        else:
            answer = await self.send(cmdgen.GetCommandGenerator() if pdu_type == ber.GET
                                     else cmdgen.NextCommandGenerator(), vbs)
        return [(tuple(name), *convert(value)) for name, value in answer]

    async def send(self, generator, *args) -> list:
        """Any command generator (tests use SET through this), its raw pysnmp varbinds."""
        future = asyncio.get_running_loop().create_future()

        def done(engine, handle, indication, status, index, varbinds, ctx):
            if not future.done():
                future.set_result((indication, status, index, varbinds))

        generator.send_varbinds(self._engine, self._addr, None, self._context, *args, done, None)
        indication, status, index, varbinds = await future
        if indication:
            raise _explain(indication, self.where, self.creds, self.timeout_s, self.retries)
        if status:
            raise pdu_error(self.where, int(status), int(index))
        return list(varbinds)

