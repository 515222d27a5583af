"""Call load: ramp up to N concurrent calls at a fixed rate, hold each for its duration, hang up,
then score every call. Signalling runs on the asyncio loop (sip/), media in the media engine's own
process (media/media_process.py, one timing wheel for all calls); the analysis waits until all media
has stopped so it cannot disturb it.

    result = await run_load(LoadConfig(target="sip:test@192.0.2.1:5060", calls=50, cps=5, ...))

Every call ends up in the result, answered or not, with its SIP outcome and, when answered, its
media metrics per direction (scoring.py). Nothing waits without a bound: SIP timers bound the
signalling, the stream stops itself after its duration, and each call has an overall deadline.

SRTP (`srtp`): every call offers RTP/SAVP with a=crypto lines (SDES, RFC 4568) and its media is
protected with the keys the answer settles (RFC 3711); an answer without them fails the call
("the far end refused SRTP", cause srtp-refused) and it is hung up. SRTP media runs on the
Python media path (media/srtp_port.py: libsrtp per packet from Python, the C loops do not link
it), which bounds how many SRTP calls one machine carries. Measured on a 2-core machine with the
caller and the responder on it (loopback, G.711 20 ms, 20 s calls): 800 concurrent SRTP calls with
0 loss and a sender schedule error p99 of 0.9 ms; at 1,000 and 1,200 still 0 loss, but the
sender's schedule error p99 rose to 56 and 770 ms (it can no longer send on time).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import resource
import socket
import ssl
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ... import codecs as codec_table
from ...errors import ReadinessError
from ...progress import NullProgress, Progress
from . import phases as phase_mod
from . import scoring, scoring_pool
from .media.media_process import MediaProcess, StreamHandle
from .media.stream_types import MediaPlan, MediaStreamResult, ScheduleErrors
from .sip import Credentials, SipConfig, UserAgent, sdp
from .sip.uac import CallOutcome
from .sip.uri import SipUri
from .wire import calltoken, seen, srtp_call, stamps
from .wire.srtp import CryptoAttribute

LOAD_LINGER_S = 10.0                             # under load: the load's iperf3 may take this long to end
SETTLE_S = 1.0                                   # under load: the last call is answered and sending by then
CALL_GRACE_S = 30.0                              # beyond duration + answer timeout: a call is abandoned
HANGUP_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 10.0                            # a stopped stream ends within fin tries + linger


@dataclass
class LoadConfig:
    target: str
    calls: int = 10
    cps: float = 5.0
    duration_s: float = 30.0
    codec: str = "pcmu"
    ptime_ms: int = 20
    transport: str = "udp"
    tls_ca_file: str | None = None       # transport tls: trust these CAs (default: the system's)
    media_dscp: int = 46                 # EF (RFC 4594)
    sip_dscp: int = 24                   # CS3 (Cisco); RFC 4594 says CS5
    key: bytes | None = None             # the responder's key
    credentials: Credentials | None = None
    clocks_synced: bool = False          # one-way delay measured (True) or RTT/2 (False)
    answer_timeout_s: float = 30.0
    trace_dir: Path | None = None        # keep per-call traces here (default: a temporary folder)
    label: str = "site-to-far-end"       # calls.path of the site file
    under_load: phase_mod.PhasePlan | None = None   # score alone / loaded / after (phases.py)
    srtp: bool = False                   # offer SRTP (RTP/SAVP, SDES), require it in the answer


@dataclass
class CallRecord:
    index: int
    outcome: CallOutcome
    started: float                        # epoch seconds of the INVITE
    ended: float
    codec: str
    ptime_ms: int
    reflected: bool = False
    media: scoring.MediaMetrics | None = None
    packets_sent: int = 0
    dscp_sent: int = 46
    trace: Path | None = None             # None when the traces were temporary
    stream_notes: list[str] = field(default_factory=list)
    media_result: MediaStreamResult | None = None
    sip_dscp_up: int | None = None        # DSCP our INVITE reached the far end with (its 200 OK says)
    sip_dscp_down: int | None = None      # DSCP the final response reached us with (UDP only)
    transport: str = "udp"
    phase_media: dict[str, scoring.MediaMetrics] = field(default_factory=dict)   # under load: per phase
    srtp: str = ""                        # the SRTP suite the call's media used ("" plain RTP)
    target: str = ""                      # the SIP target it was placed to
    role: str = "held"                    # held (the load's calls) | probe (a drill's short test calls)
    source_seen: str = ""                 # ip:port our INVITE came from, as the responder saw it
    bye_status: int | None = None         # the final status of our BYE (None: no answer, or none sent)
    far_end_agent: str = ""               # Server (or User-Agent) of its final response

    @property
    def answered(self) -> bool:
        return self.outcome.answered


@dataclass
class LoadResult:
    config: LoadConfig
    calls: list[CallRecord]
    started: float
    ended: float
    peak_concurrent: int = 0
    schedule: ScheduleErrors = field(default_factory=ScheduleErrors)
    engine_busy_pct: float = 0.0
    realtime: bool = False               # the media engine ran with a real-time priority
    phases: phase_mod.PhaseReport | None = None
    interrupted: bool = False            # Ctrl-C or SIGTERM: the calls were cut short (and still scored)

    def answered(self) -> list[CallRecord]:
        return [c for c in self.calls if c.answered]

    def failures_by_cause(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.calls:
            if not c.answered:
                key = c.outcome.cause + (f" {c.outcome.status}" if c.outcome.status else "")
                out[key] = out.get(key, 0) + 1
        return out


def _raise_fd_limit(needed: int) -> None:
    """Two sockets per call: lift the soft limit towards the hard one when a big load needs it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed, soft)), hard))
        except (ValueError, OSError):
            pass
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < needed:
        raise ReadinessError(f"{needed} open files needed for this many calls, the limit is {soft} (ulimit -n)")


def _target_host(target: str) -> SipUri:
    try:
        return SipUri.parse(target)
    except ValueError as e:
        raise ReadinessError(f"bad SIP target {target!r}: {e} (write sip:user@host:port)") from None


def _resolve(host: str) -> str:
    try:
        return socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)[0][4][0]
    except socket.gaierror as e:
        raise ReadinessError(f"cannot resolve {host}: {e.strerror}") from None


def _media_source(remote_ip: str) -> str:
    """The local address towards the far end (what goes in our SDP and what media binds to)."""
    family = socket.AF_INET6 if ":" in remote_ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        try:
            s.connect((remote_ip, 9))
        except OSError as e:
            raise ReadinessError(f"no route to {remote_ip}: {e.strerror or e}") from None
        return s.getsockname()[0]


def same_host(ip: str) -> bool:
    """Is `ip` this machine (loopback or one of its addresses)? Then both ends share one clock."""
    try:
        if ipaddress.ip_address(ip).is_loopback:
            return True
    except ValueError:
        return False
    try:
        return _media_source(ip) == ip
    except ReadinessError:
        return False


def local_address_towards(target: str) -> str:
    """Our address on the way to a SIP target (what goes in an SDP offer to it)."""
    return _media_source(_resolve(_target_host(target).host))


def clocks_shared(target: str) -> bool:
    """Does the far end run on this machine (so its stamps use our clock and one-way delay is real)?"""
    try:
        return same_host(_resolve(_target_host(target).host))
    except ReadinessError:
        return False


def _received_dscp(resp) -> int | None:
    """The far end's word on our INVITE's DSCP (a readiness responder's 200 OK), when it gave one."""
    value = resp.headers.get(calltoken.RECEIVED_DSCP) if resp is not None else None
    if value is None or not value.strip().isdigit():
        return None
    dscp = int(value.strip())
    return dscp if dscp < 64 else None


def _source_seen(resp, key: bytes | None) -> str:
    """The address our INVITE came from as a readiness responder saw it (after any NAT), signed."""
    if resp is None or not key:
        return ""
    view = seen.decode(resp.headers.get(seen.HEADER), key)
    return view.get("source", "") if view else ""


def _reflects(desc: sdp.SessionDescription | None) -> bool:
    return desc is not None and any(a.split(":")[0] == stamps.SDP_ATTRIBUTE for m in desc.media for a in m.other)


def _rtcp_remote(desc: sdp.SessionDescription | None, info: sdp.MediaInfo) -> tuple[str, int] | None:
    """RFC 3605 a=rtcp, RFC 5761 a=rtcp-mux, else RTP port + 1 (RFC 3550 11)."""
    if desc is not None:
        for m in desc.media:
            if m.port != info.port:
                continue
            for a in m.other:
                if a == "rtcp-mux":
                    return None
                if a.startswith("rtcp:"):
                    parts = a[5:].split()
                    if parts and parts[0].isdigit():
                        host = parts[3] if len(parts) >= 4 else info.address
                        return host, int(parts[0])
    return info.address, info.port + 1


class LoadRunner:
    """One load: `await run()` returns the LoadResult; `stop()` ends it early. The counters
    (active, answered, failed, peak) feed the progress line while it runs."""

    def __init__(self, config: LoadConfig, progress: Progress | None = None,
                 on_scored: Callable[[CallRecord], None] | None = None):
        if config.calls < 1:
            raise ReadinessError("--calls must be at least 1")
        if config.cps <= 0:
            raise ReadinessError("--cps must be above 0")
        if config.duration_s <= 0:
            raise ReadinessError("--duration must be above 0")
        if config.under_load is not None and config.duration_s / 3 < phase_mod.MIN_PHASE_S:
            raise ReadinessError(f"calls under load are held in three phases of at least {phase_mod.MIN_PHASE_S:g} s: "
                                 f"--duration must be at least {3 * phase_mod.MIN_PHASE_S:g} s")
        self.config = config
        self.codec = codec_table.get(config.codec)
        self.progress = progress or NullProgress()
        self.on_scored = on_scored        # given each call once scored; its series are dropped after
        self.active = 0
        self.answered = 0
        self.failed = 0
        self.peak = 0
        self._stop = asyncio.Event()
        self._held_done = asyncio.Event()               # every call of the load has ended
        self._hold_until: float | None = None          # under load: every call ends then (epoch)

    def stop(self) -> None:
        """Stop ramping; calls in progress hang up now."""
        self._stop.set()

    async def run(self) -> LoadResult:
        cfg = self.config
        uri = _target_host(cfg.target)
        remote_ip = _resolve(uri.host)
        local_ip = _media_source(remote_ip)
        _raise_fd_limit(2 * cfg.calls + 256)
        tmp = None
        trace_dir = cfg.trace_dir
        if trace_dir is None:
            tmp = tempfile.TemporaryDirectory(prefix="readiness-calls-")
            trace_dir = Path(tmp.name)
        trace_dir.mkdir(parents=True, exist_ok=True)
        media = await MediaProcess.start(cfg.calls)
        tls_client = ssl.create_default_context(cafile=cfg.tls_ca_file) if cfg.tls_ca_file else None
        ua = UserAgent(SipConfig(transport=cfg.transport, dscp=cfg.sip_dscp, tls_client=tls_client), cfg.credentials)
        started = time.time()
        task = self.progress.task("calls", total=cfg.calls)
        ticker = asyncio.ensure_future(self._tick(task))
        records: list[CallRecord] = []
        tasks: list[asyncio.Future] = []
        driver: asyncio.Future | None = None
        load_run: phase_mod.LoadRun | None = None
        alone_start = 0.0
        during: asyncio.Future | None = None
        interrupted = False
        try:
            try:
                await ua.start()
            except OSError as e:
                raise ReadinessError(f"cannot open the SIP socket: {e.strerror or e}") from None
            t0 = time.monotonic()
            during = asyncio.ensure_future(self._during(ua, media, local_ip, trace_dir))
            if cfg.under_load is not None:
                third = cfg.duration_s / 3
                alone_start = time.time() + (cfg.calls - 1) / cfg.cps + SETTLE_S
                self._hold_until = alone_start + cfg.duration_s + phase_mod.DRAIN_ALLOWANCE_S
                load_run = phase_mod.LoadRun(cfg.under_load.server, cfg.under_load.direction, cfg.under_load.mbps)
                driver = asyncio.ensure_future(phase_mod.drive(cfg.under_load, load_run, alone_start + third, third))
            for i in range(cfg.calls):
                delay = t0 + i / cfg.cps - time.monotonic()
                if delay > 0:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), delay)
                if self._stop.is_set():
                    break
                tasks.append(asyncio.ensure_future(self._place(i, ua, media, local_ip, trace_dir)))
            records = list(await asyncio.gather(*tasks))
            self._held_done.set()
            if during is not None:
                records += await during
        except asyncio.CancelledError:
            interrupted = True               # every call is hung up below, then scored as far as it got
            if driver is not None:
                if self._stop.is_set() or not any(r.answered for r in records):
                    driver.cancel()              # nothing to load against: the iperf3 is killed
                await asyncio.wait([driver], timeout=LOAD_LINGER_S)
                driver.cancel()                  # still not done: killed, the load is not measured
                await asyncio.gather(driver, return_exceptions=True)
        finally:
            ticker.cancel()
            if driver is not None and not driver.done():
                driver.cancel()                  # the load's iperf3 is killed with it
                await asyncio.gather(driver, return_exceptions=True)
            if during is not None and not during.done():
                during.cancel()
                tasks.append(during)
            for t in tasks:                      # Ctrl-C: every call still up gets its BYE (bounded)
                t.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=HANGUP_TIMEOUT_S + 1)
            await ua.close()
            await media.close()
        if interrupted:
            records = [r for t in tasks if t.done() and not t.cancelled() and t.exception() is None
                       for r in (t.result() if isinstance(t.result(), list) else [t.result()])]
        ended = time.time()
        busy = 100.0 * media.busy_ns / max(1, media.elapsed_ns)
        result = LoadResult(cfg, records, started, ended, self.peak, ScheduleErrors(), busy, media.realtime,
                            interrupted=interrupted)
        if load_run is not None and load_run.launched and self._hold_until is not None:
            result.phases = phase_mod.PhaseReport(load_run, phase_mod.windows(
                alone_start, load_run, cfg.duration_s / 3, self._hold_until))
        self.progress.update(task, completed=len(records), info="scoring calls")
        try:
            await asyncio.get_running_loop().run_in_executor(None, self._score, records, result.phases)
        finally:
            if tmp is not None:
                tmp.cleanup()
                for r in records:
                    r.trace = None
        for r in records:
            if r.media_result is not None:
                result.schedule.merge(r.media_result.schedule)
        if result.phases is not None:
            for name, window in result.phases.windows.items():
                result.phases.summaries[name] = phase_mod.summarise(
                    window, [r.phase_media.get(name) for r in records if r.answered])
        self.progress.done(task, f"{self.answered} answered, {self.failed} failed")
        return result

    async def _tick(self, task: int) -> None:
        while True:
            self.progress.update(task, completed=self.answered + self.failed,
                                 info=f"{self.active} active, {self.answered} answered, {self.failed} failed")
            await asyncio.sleep(0.5)

    async def _place(self, index: int, ua: UserAgent, media: MediaProcess, local_ip: str,
                     trace_dir: Path) -> CallRecord:
        """One call of the load (a drill places it to the first target that takes it)."""
        return await self._one(index, ua, media, local_ip, trace_dir)

    async def _during(self, ua: UserAgent, media: MediaProcess, local_ip: str, trace_dir: Path) -> list[CallRecord]:
        """Calls placed beside the load while it runs (a drill's test calls); their records join the
        load's. Here: none."""
        return []

    async def _one(self, index: int, ua: UserAgent, media: MediaProcess, local_ip: str,
                   trace_dir: Path, target: str | None = None, hold_s: float | None = None,
                   answer_timeout_s: float | None = None, role: str = "held",
                   on_outcome: Callable[[CallRecord], None] | None = None) -> CallRecord:
        """One call; `on_outcome` hears of its answer (or failure) at once, before its media. Cut short
        (Ctrl-C, SIGTERM), it is hung up and returns what it has."""
        made: list[CallRecord] = []
        try:
            return await self._call(made, index, ua, media, local_ip, trace_dir, target, hold_s, answer_timeout_s, role,
                                    on_outcome)
        except asyncio.CancelledError:
            if not made:
                raise
            made[0].stream_notes.append("the run was interrupted: the call ended early")
            if made[0].media_result is not None:
                made[0].packets_sent = made[0].media_result.packets_sent
            return made[0]

    async def _call(self, made: list[CallRecord], index: int, ua: UserAgent, media: MediaProcess, local_ip: str,
                    trace_dir: Path, target: str | None, hold_s: float | None, answer_timeout_s: float | None,
                    role: str, on_outcome: Callable[[CallRecord], None] | None) -> CallRecord:
        cfg = self.config
        target = target or cfg.target
        answer_timeout = answer_timeout_s or cfg.answer_timeout_s
        key = cfg.key if cfg.key is not None else b""
        trace = trace_dir / f"call-{index:05d}.trace"
        handle = await media.open(local_ip, cfg.media_dscp, key, trace)
        offer = sdp.offer([self.codec], local_ip, handle.port, cfg.ptime_ms)
        offered = srtp_call.secure(offer) if cfg.srtp else None
        headers = {calltoken.HEADER: calltoken.make(cfg.key)} if cfg.key else {}
        started = time.time()
        call = ua.call(target, offer, headers=headers, answer_timeout=answer_timeout)
        record = CallRecord(index, CallOutcome(call.call_id, False, "closed"), started, started, self.codec.name,
                            cfg.ptime_ms, dscp_sent=cfg.media_dscp, trace=trace, transport=cfg.transport,
                            target=target, role=role)
        made.append(record)
        began = False
        try:
            try:
                outcome = await call.wait(answer_timeout + CALL_GRACE_S)
            except asyncio.TimeoutError:
                call.cancel()
                outcome = CallOutcome(call.call_id, False, "timeout", detail="no final answer")
            record.outcome = outcome
            record.sip_dscp_down = outcome.dscp_received
            record.sip_dscp_up = _received_dscp(call.final_response) if outcome.answered else None
            record.source_seen = _source_seen(call.final_response, cfg.key) if outcome.answered else ""
            if call.final_response is not None:      # the far end's software, as it names itself
                record.far_end_agent = (call.final_response.headers.get("Server")
                                        or call.final_response.headers.get("User-Agent") or "")[:120]
            keys = None
            if cfg.srtp and outcome.answered and outcome.remote_media is not None:
                try:
                    keys = srtp_call.keys_from_answer(offered or [], call.remote_sdp)
                except srtp_call.SrtpRefused as e:       # answered, but not as offered: hung up below
                    record.outcome = outcome = dataclasses.replace(outcome, answered=False, cause="srtp-refused",
                                                                   detail=str(e))
                else:
                    record.srtp = keys[0].suite
            elif cfg.srtp and outcome.status == 488:
                record.outcome = dataclasses.replace(outcome, detail=f"{outcome.detail} (to an SRTP offer: "
                                                     "the far end may not accept RTP/SAVP)")
            if on_outcome is not None:
                on_outcome(record)
            if not outcome.answered or outcome.remote_media is None:
                self.failed += 1
                return record
            self.answered += 1
            self.active += 1
            self.peak = max(self.peak, self.active)
            try:
                began = True
                await self._media(call, media, handle, record, keys, hold_s)
            finally:
                self.active -= 1
        finally:
            if not began:
                media.discard(handle.id)
            if call.dialog is not None and not call.ended.is_set():
                with contextlib.suppress(Exception):
                    record.bye_status = await asyncio.shield(asyncio.wait_for(call.hangup(), HANGUP_TIMEOUT_S))
            record.ended = time.time()
        return record

    async def _media(self, call, media: MediaProcess, handle: StreamHandle, record: CallRecord,
                     srtp_keys: tuple[CryptoAttribute, CryptoAttribute] | None = None,
                     hold_s: float | None = None) -> None:
        cfg = self.config
        info = call.remote_media
        codec = sdp.codec_for(info) or self.codec
        ptime = info.ptime_ms or cfg.ptime_ms
        record.codec, record.ptime_ms = codec.name, ptime
        record.reflected = _reflects(call.remote_sdp)
        plan = MediaPlan((info.address, info.port), info.payload_type, codec, ptime,
                         None if record.reflected else _rtcp_remote(call.remote_sdp, info), record.reflected,
                         srtp_keys)
        hold = hold_s or (cfg.duration_s if self._hold_until is None else max(1.0, self._hold_until - time.time()))
        media.begin(handle.id, plan, hold, time.monotonic_ns())
        done = asyncio.ensure_future(media.finished(handle.id, hold + CALL_GRACE_S))
        ended = asyncio.ensure_future(call.ended.wait())
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait([done, ended, stopping], return_when=asyncio.FIRST_COMPLETED)
            if not done.done():
                if call.ended.is_set():
                    record.stream_notes.append(f"the far end hung up early ({call.end_reason})")
                media.stop(handle.id)
            with contextlib.suppress(asyncio.TimeoutError):
                record.media_result = await asyncio.wait_for(asyncio.shield(done), STOP_TIMEOUT_S)
        except asyncio.CancelledError:
            media.stop(handle.id)           # interrupted: what the stream has is still scored (bounded)
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                record.media_result = await asyncio.wait_for(asyncio.shield(done), STOP_TIMEOUT_S)
            raise
        finally:
            ended.cancel()
            stopping.cancel()
            if not done.done():
                done.cancel()
        if record.media_result is not None:
            record.packets_sent = record.media_result.packets_sent

    def _score(self, records: list[CallRecord], phases: phase_mod.PhaseReport | None = None) -> None:
        """Media metrics of every answered call, from its trace (runs after all media stopped; long
        loads in worker processes, scoring_pool.py); under load also per phase (a call answered by a
        third-party far end has no phases: its RTCP reports are totals every ~5 s, too coarse to
        split). With `on_scored`, each call is handed over as soon as it is scored and then keeps its
        totals only, so memory stays flat however many long calls there were."""
        windows = phases.windows if phases is not None else None
        jobs = [scoring_pool.Job(r.media_result, r.codec, r.reflected, self._windows(r, windows))
                for r in records if r.media_result is not None]
        scored = scoring_pool.score_all(jobs, scoring_pool.Options(self.config.clocks_synced, self.config.media_dscp))
        try:
            for r in records:
                if r.media_result is not None:
                    r.media, r.phase_media = next(scored)
                if self.on_scored is None:
                    continue
                self.on_scored(r)
                if r.media is not None:
                    r.media = r.media.without_series()
                    r.phase_media = {k: m.without_series() for k, m in r.phase_media.items()}
        finally:
            scored.close()

    def _windows(self, r: CallRecord, windows: scoring_pool.Windows | None) -> scoring_pool.Windows | None:
        """The time slices a call is also scored in: the load's phases (a drill's: before/during/after)."""
        return windows if r.reflected else None


async def run_load(config: LoadConfig, progress: Progress | None = None) -> LoadResult:
    return await LoadRunner(config, progress).run()
