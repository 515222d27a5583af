"""The site file: what is at this customer's site and where the far ends are.

Secrets are never written into the file: a credential is a reference, `env:NAME` or `file:PATH` (a path
relative to the site file) - the same syntax as on the command line; the mapping forms `{env: NAME}`
and `{file: PATH}` are read too. readiness reads the secret only when a probe needs it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from .. import dscp as dscp_names
from .. import units
from ..errors import ConfigError, ReadinessError
from . import checked, yamlsrc


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


SECRET_SYNTAX = "env:VARIABLE or file:PATH"


class SecretRef(_Strict):
    """Where a secret lives: an environment variable or a file. Never the secret itself.

    Written `env:NAME` or `file:PATH`, in site files and on the command line alike."""

    env: str | None = Field(None, description="name of an environment variable holding the secret")
    file: str | None = Field(None, description="file holding the secret (relative to the site file)")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, v):
        if isinstance(v, str):
            kind, _, where = v.partition(":")
            if kind in ("env", "file") and where.strip():
                return {kind: where.strip()}
        if isinstance(v, (str, int, float)) and not isinstance(v, bool):
            raise ValueError(f"secrets are not written into the site file: use {SECRET_SYNTAX}")
        return v

    @classmethod
    def parse(cls, text: str, option: str) -> "SecretRef":
        """A command-line reference. A bare value is refused: it would show in `ps` and in shell history."""
        kind, _, where = text.partition(":")
        if kind in ("env", "file") and where.strip():
            return cls(**{kind: where.strip()})
        raise ReadinessError(f"{option} takes {SECRET_SYNTAX}, never the secret itself "
                             "(a value on the command line shows in ps and in shell history)")

    @model_validator(mode="after")
    def _exactly_one(self) -> "SecretRef":
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env: or file:")
        return self

    def check(self, base_dir: Path | None = None) -> None:
        """Fail now, with the reason, if the secret cannot be read later (the value is not kept)."""
        self.resolve(base_dir)

    def describe(self) -> str:
        return f"environment variable {self.env}" if self.env else f"file {self.file}"

    def resolve(self, base_dir: Path | None = None) -> str:
        """The secret's value. Raises ReadinessError naming the reference (never the value)."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise ReadinessError(f"environment variable {self.env} is not set (a secret is to be read from it)")
            return value
        path = Path(self.file)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ReadinessError(f"cannot read secret file {path}: {e.strerror or e}") from None
        if not value:
            raise ReadinessError(f"secret file {path} is empty")
        return value


def _duration(v: str | float | int) -> str | float | int:
    units.parse_duration_s(v)
    return v


# A duration with its unit: '30 s', '500 ms', '2 min'.
Duration = Annotated[str | float, AfterValidator(_duration)]


def split_host_port(text: str, default_port: int) -> tuple[str, int]:
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    if not host:
        raise ValueError(f"{text!r} has no host")
    if port:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{text!r}: port must be 1-65535")
        return host, int(port)
    return host, default_port


class Phones(_Strict):
    count: int = Field(ge=0, description="phones planned at this site")
    poe_class: int = Field(2, ge=0, le=8, description="IEEE 802.3 PoE class of the planned phones")


class Markings(_Strict):
    media: str | int = Field("EF", description="DSCP expected on RTP (RFC 4594: EF)")
    signalling: list[str | int] = Field(["CS3", "AF31", "CS5"],
                                        description="DSCPs accepted on SIP (RFC 4594 says CS5; Cisco uses CS3/AF31)")
    media_pcp: int = Field(5, ge=0, le=7, description="802.1p priority expected on tagged voice frames")

    @field_validator("media")
    @classmethod
    def _media(cls, v):
        dscp_names.parse(v)
        return v

    @field_validator("signalling")
    @classmethod
    def _signalling(cls, v):
        for item in v:
            dscp_names.parse(item)
        return v

    def media_dscp(self) -> int:
        return dscp_names.parse(self.media)

    def signalling_dscps(self) -> list[int]:
        return [dscp_names.parse(x) for x in self.signalling]


class Responder(_Strict):
    address: str = Field(description="host:port of `readiness responder` (SIP)")
    key: SecretRef | None = Field(None, description="shared HMAC key of the responder")

    @field_validator("address")
    @classmethod
    def _addr(cls, v):
        split_host_port(v, 5060)
        return v


class Calls(_Strict):
    target: str | None = Field(None, description="SIP URI to call; default: the responder")
    transport: Literal["udp", "tcp", "tls"] = "udp"
    tls_ca_file: str | None = Field(None, description="with transport tls: trust these CAs for the far end's "
                                    "certificate instead of the system's (relative to the site file)")
    concurrent: int = Field(10, ge=1, le=10000, description="concurrent test calls")
    cps: float = Field(5, gt=0, le=1000, description="calls started per second while ramping")
    duration: Duration = Field("30 s", description="how long each call is held")
    codec: Literal["pcmu", "pcma", "g722", "g729", "opus"] = "pcmu"
    ptime_ms: int = Field(20, ge=10, le=120)
    username: str | None = None
    password: SecretRef | None = None
    path: str = Field("site-to-far-end", description="label for criteria `select: {path: ...}`")
    synced_clocks: bool = Field(False, description="both ends' clocks are synchronised (NTP/PTP): report one-way "
                                "delay as measured; otherwise RTT/2, flagged as an estimate (a far end on this "
                                "machine always counts as synchronised)")
    find_capacity: bool = Field(False, description="search the largest concurrency that meets the profile's call "
                                "criteria (starting at `concurrent`) instead of one load")
    max_calls: int = Field(500, ge=1, le=10000, description="upper bound of the capacity search")
    under_load: bool = Field(False, description="score the same calls in three phases: alone, while iperf3 fills "
                             "the link with best-effort TCP for a third of `duration`, and alone again once it drained")
    load_server: str | None = Field(None, description="iperf3 server host[:port] for that load; default: "
                                    "iperf.load_server, else iperf.server")
    load_mbps: float | None = Field(None, gt=0, description="rate of the load; default: as fast as TCP goes")
    load_direction: Literal["up", "down", "both"] = Field("up", description="up: we send the load, down: the "
                                                          "server does, both at once")
    srtp: bool = Field(False, description="offer SRTP (RTP/SAVP with a=crypto keys, RFC 4568) and encrypt the media "
                       "(RFC 3711), as a far end that requires it (Teams Direct Routing) needs; a call whose answer "
                       "refuses SRTP fails")

    @field_validator("load_server")
    @classmethod
    def _load_addr(cls, v):
        if v is not None:
            split_host_port(v, 5201)
        return v


class Drill(_Strict):
    """`readiness drill`: calls held while someone pulls the primary line, short test calls beside them."""

    calls: int = Field(20, ge=1, le=2000, description="calls held for the whole drill")
    duration: Duration = Field("300 s", description="how long the drill holds its calls")
    new_calls_every: Duration = Field("2 s", description="a short new test call this often (0 s: none)")
    targets: list[str] = Field(default_factory=list, description="SIP URIs in failover order, primary first "
                               "(a primary and a secondary SBC); default: calls.target, else the responder")
    failover_timeout: Duration = Field("4 s", description="no answer this long from a target: the next one, as a "
                                       "phone fails over")
    retry_primary: Duration = Field("30 s", description="a target that failed is tried again after this long")
    dns_server: str | None = Field(None, description="DNS server for targets given as a domain (SRV, RFC 3263), "
                                   "HOST[:PORT]; default: the system's")


class Iperf(_Strict):
    server: str = Field(description="host[:port] of an iperf3 server (default port 5201)")
    duration: Duration = Field("10 s", description="length of each iperf3 test")
    voice_streams: int = Field(10, ge=1, le=1000, description="voice-sized UDP streams (calls) to emulate")
    codec: Literal["pcmu", "pcma", "g722", "g729", "opus"] = "pcmu"
    ptime_ms: int = Field(20, ge=10, le=120, description="packetisation of the emulated calls")
    direction: Literal["up", "down", "both"] = Field("both", description="up: the site sends, down: the server does")
    voice: bool = Field(True, description="measure voice-sized UDP marked with markings.media (jitter, loss)")
    capacity: bool = Field(True, description="also measure TCP capacity, against the voice the planned calls "
                           "need (calls.concurrent, else voice_streams) and uplink.data_headroom_mbps")
    load_server: str | None = Field(None, description="a second iperf3 server: bulk TCP load to it while voice is measured")
    load_mbps: float | None = Field(None, gt=0, description="rate of that load; default: as fast as TCP goes")
    busy_wait: Duration = Field("30 s", description="how long to keep asking a server that is busy with "
                                "another test (iperf3 serves one at a time) before the test is not measured")

    @field_validator("server", "load_server")
    @classmethod
    def _addr(cls, v):
        if v is not None:
            split_host_port(v, 5201)
        return v


class SnmpDevice(_Strict):
    name: str | None = Field(None, description="label used in reports; default: host")
    host: str = Field(description="address, optionally host:port (default 161)")
    role: Literal["switch", "ups"]
    version: Literal["2c", "3"] = "2c"
    community: SecretRef | None = Field(None, description="SNMPv2c community (a reference, not the value)")
    user: str | None = Field(None, description="SNMPv3 user")
    auth_protocol: Literal["SHA", "SHA224", "SHA256", "SHA384", "SHA512", "MD5"] = "SHA256"
    auth_key: SecretRef | None = None
    priv_protocol: Literal["AES128", "AES192", "AES256", "DES"] = "AES128"
    priv_key: SecretRef | None = None
    context: str = Field("", description="SNMPv3 context name")
    phone_ports: list[str | int] = Field(default_factory=list,
                                         description="ports with phones (ifName like Gi1/0/1, a range Gi1/0/1-24, or ifIndex)")
    uplink_ports: list[str | int] = Field(default_factory=list, description="ports on the voice path to the WAN")
    phones: int | None = Field(None, ge=0, description="phones planned on this switch (PoE headroom); default: "
                               "the site's phones.count spread over the switches by their phone ports")

    @field_validator("host")
    @classmethod
    def _addr(cls, v):
        split_host_port(v, 161)
        return v

    @model_validator(mode="after")
    def _credentials(self) -> "SnmpDevice":
        if self.version == "2c" and self.community is None:
            raise ValueError(f"SNMPv2c needs community: {SECRET_SYNTAX}")
        if self.version == "3" and not self.user:
            raise ValueError("SNMPv3 needs user:")
        return self

    def label(self) -> str:
        return self.name or self.host


class Snmp(_Strict):
    timeout: Duration = Field("2 s", description="per request")
    retries: int = Field(1, ge=0, le=10)
    devices: list[SnmpDevice] = Field(default_factory=list)
    only: list[str] = Field(default_factory=list, description="poll only these devices (by name); the others "
                            "still count in the plan (phones spread over the switches)")


class Capture(_Strict):
    interface: str | None = Field(None, description="interface to capture on (the phone port or a mirror port)")
    file: str | None = Field(None, description="analyse this pcap/pcapng file instead of capturing "
                             "(relative to the site file)")
    duration: Duration | None = Field(None, description="default: as long as the traffic tests run")
    filter: str | None = Field(None, description="extra BPF capture filter")
    snaplen: int | None = Field(None, ge=64, le=262144, description="bytes kept per packet (default: all)")

    @model_validator(mode="after")
    def _source(self) -> "Capture":
        if (self.interface is None) == (self.file is None):
            raise ValueError("give exactly one of interface: (capture live) or file: (analyse a capture)")
        return self


class PathChecks(_Strict):
    """The path to the provider: what it does to SIP (SIP ALG, NAT, how long it keeps an idle UDP
    binding: these need a readiness responder with a key at the far end), and the provider's own SIP
    service (OPTIONS, DNS, TLS: any SBC)."""

    target: str | None = Field(None, description="SIP URI of the readiness responder; default: responder.address")
    transports: list[Literal["udp", "tcp"]] = Field(["udp", "tcp"], min_length=1,
                                                    description="checked one after another (ALGs usually touch UDP only)")
    nat_binding: bool = Field(True, description="time how long an idle UDP binding lives (takes the longest idle time)")
    nat_idle: list[Duration] = Field(["15 s", "30 s", "60 s", "90 s", "120 s", "150 s", "180 s"], min_length=1,
                                     description="idle times tried at once, each on its own port")
    srtp: bool = Field(False, description="offer SRTP (RTP/SAVP, SDES keys) once and check that the far end "
                       "accepts it, for sites whose provider requires SRTP (needs the responder)")
    mtu: bool = Field(True, description="find the path MTU, whether fragments pass and whether a 1,400-byte "
                      "INVITE is answered (needs the responder)")
    rtp_ports: str | None = Field(None, pattern=r"^\d{4,5}-\d{4,5}$", description="the provider's media port "
                                  "range, FIRST-LAST: a sample of it is probed both ways (needs the responder)")
    rtp_sample: int = Field(8, ge=1, le=32, description="ports probed across rtp_ports")
    local_rtp_ports: str | None = Field(None, pattern=r"^\d{4,5}-\d{4,5}$", description="the phones' own RTP "
                                        "range: probes leave from it (default: any port)")
    sip_ports: list[str] = Field([], description="SIP ports of the SBC that must accept a TCP connection, "
                                 "as tcp:5060, tls:5061 (the SBC: options, else tls)")
    keepalive: Duration | None = Field(None, description="the keep-alive or re-REGISTER interval the phones use "
                                       "(compared with the binding's lifetime)")
    options: str | None = Field(None, description="SIP URI to ping with OPTIONS (the provider's SBC); "
                                "default: the responder")
    options_count: int = Field(5, ge=0, le=600, description="OPTIONS pings, one a second (0: none)")
    dns_domain: str | None = Field(None, description="the provider's SIP domain, resolved as a phone does "
                                   "(NAPTR, SRV, A/AAAA: RFC 3263)")
    dns_server: str | None = Field(None, description="HOST[:PORT] of the DNS server to ask; default: the system's")
    tls: str | None = Field(None, description="HOST[:PORT] of the SIP/TLS far end (port 5061 if not given)")
    tls_server_name: str | None = Field(None, description="the name its certificate must carry; default: the host")
    tls_ca_file: str | None = Field(None, description="trust these CAs instead of the system's (relative to the site file)")
    tls_client_cert: str | None = Field(None, description="client certificate (PEM) for mutual TLS")
    tls_client_key: str | None = Field(None, description="its private key (PEM)")

    @field_validator("sip_ports")
    @classmethod
    def _sip_ports(cls, v: list[str]) -> list[str]:
        for item in v:
            kind, _, port = item.partition(":")
            if kind.lower() not in ("tcp", "tls") or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{item!r}: write tcp:PORT or tls:PORT")
        return v

    @field_validator("tls")
    @classmethod
    def _tls_address(cls, v: str | None) -> str | None:
        if v is not None:
            split_host_port(v, 5061)
        return v


class Uplink(_Strict):
    """The line to the provider, for `readiness bandwidth`: what voice leaves for data."""

    up_mbps: float = Field(gt=0, description="line rate towards the provider, Mbit/s (contracted or measured)")
    down_mbps: float = Field(gt=0, description="line rate from the provider, Mbit/s (contracted or measured)")
    data_headroom_mbps: float = Field(0, ge=0, description="what data needs beside voice, each direction, Mbit/s")
    vlan: bool = Field(False, description="voice is IEEE 802.1Q-tagged on the uplink (4 B more per frame)")
    srtp: bool = Field(False, description="media is SRTP (RFC 3711: a 10 B authentication tag per packet)")


class SiteSpec(_Strict):
    """A site file."""

    model_config = ConfigDict(extra="forbid", title="readiness site")

    site: str = Field(description="customer and site name, as it should appear in reports")
    customer: str | None = Field(None, description="the customer, on the report's cover (default: from `site`)")
    address: str | None = Field(None, description="the site's address, on the report's cover")
    language: Literal["de", "en"] | None = Field(
        None, description="the report's language (default: German when the site's name or address reads German)")
    technician: str | None = Field(None, description="who ran the test, on the report's cover")
    profile: str | None = Field(None, description="profile to use when --profile is not given")
    voice_vlan: int | None = Field(None, ge=1, le=4094)
    phones: Phones | None = None
    markings: Markings = Field(default_factory=Markings)
    responder: Responder | None = None
    calls: Calls | None = None
    drill: Drill | None = None
    iperf: Iperf | None = None
    snmp: Snmp | None = None
    capture: Capture | None = None
    uplink: Uplink | None = None
    path_checks: PathChecks | None = None

    _file: str = PrivateAttr("")
    _base_dir: Path | None = PrivateAttr(None)

    @property
    def file(self) -> str:
        return self._file

    @property
    def base_dir(self) -> Path | None:
        return self._base_dir

    def secret(self, ref: SecretRef) -> str:
        return ref.resolve(self._base_dir)

    def path(self, relative: str) -> Path:
        """A file the site file names, relative to the site file's folder."""
        p = Path(relative)
        return p if p.is_absolute() or self._base_dir is None else self._base_dir / p


def load(path: str | Path) -> SiteSpec:
    """Load and validate a site file. Raises ConfigError listing every problem."""
    path = Path(path)
    name = yamlsrc.display_path(path)
    try:
        src = yamlsrc.load(path, name)
    except yamlsrc.YamlProblem as e:
        raise ConfigError(e.problems) from None
    if not isinstance(src.data, dict):
        raise ConfigError([f"{name}:1: a site file is a mapping of keys (site, phones, snmp, ...)"])
    spec, problems = checked.validate(SiteSpec, src)
    if problems or spec is None:
        raise ConfigError(problems)
    spec._file = name
    spec._base_dir = path.resolve().parent
    return spec
