"""ITU-T G.107 (06/2015) E-model, narrowband: the transmission rating R, every impairment term, and MOS.

    R = Ro - Is - Id - Ie,eff + A                                  (G.107 eq. 7-1)

The equations are those of ITU-T G.107 (06/2015) clause 7 and Annex B, as reproduced identically by
bgrewell/loom, manucorporat/e-model and a JavaScript port, re-verified against the published default
R = 93.2.
Inputs default to G.107 Table 3; `emodel()` returns every term so a report can say *why* a call
scored what it did. Measurement-driven use (network delay + jitter buffer + packetisation + codec
lookahead, loss + discards, burst ratio) lives in `readiness.analysis.call_rating`.

Three delays, never conflated (G.107 clause 7.4): T (talker-echo path), Tr (4-wire round trip,
listener echo), Ta (absolute mouth-to-ear delay). When only Ta is known use `symmetric_delays(Ta)`:
T = Ta, Tr = 2 Ta (the convention of bgrewell/loom's G.107 verification vectors).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from ..errors import ReadinessError

# G.107 06/2015 Table 1 delay-sensitivity classes (mT ms, sT). Only "default" is confirmed by several
# sources; the other two are from one public implementation, not read in G.107 itself. Enterprise/carrier
# telephony must use the default class (ITU work-item summary).
DELAY_CLASSES: dict[str, tuple[float, float]] = {
    "default": (100.0, 1.0),
    "low": (120.0, 0.55),        # one implementation only, unconfirmed in G.107
    "very_low": (150.0, 0.4),    # one implementation only, unconfirmed in G.107
}


@dataclass(frozen=True)
class EModelInput:
    """Every G.107 input, defaults from ITU-T G.107 Table 3. Delays in ms, Ppl in %."""

    SLR: float = 8.0         # send loudness rating, dB
    RLR: float = 2.0         # receive loudness rating, dB
    STMR: float = 15.0       # sidetone masking rating, dB
    LSTR: float = 18.0       # listener sidetone rating, dB (= STMR + Dr)
    Ds: float = 3.0          # D-value of the telephone, send side
    Dr: float = 3.0          # D-value of the telephone, receive side
    TELR: float = 65.0       # talker echo loudness rating, dB
    WEPL: float = 110.0      # weighted echo path loss, dB
    T: float = 0.0           # mean one-way delay of the echo path, ms
    Tr: float = 0.0          # round-trip delay in a 4-wire loop, ms
    Ta: float = 0.0          # absolute (mouth-to-ear) delay, ms
    qdu: float = 1.0         # quantizing distortion units
    Ie: float = 0.0          # equipment impairment factor (codec, G.113 App. I)
    Bpl: float = 4.3         # packet-loss robustness; 4.3 = G.711 without PLC (G.107 Table 3 default per
                             # secondary sources only)
    Ppl: float = 0.0         # random packet-loss probability, %
    BurstR: float = 1.0      # burst ratio (1 = random loss)
    Nc: float = -70.0        # circuit noise referred to the 0 dBr point, dBm0p
    Nfor: float = -64.0      # noise floor at the receive side, dBmp
    Ps: float = 35.0         # room noise at the send side, dB(A)
    Pr: float = 35.0         # room noise at the receive side, dB(A)
    A: float = 0.0           # advantage factor (planning allowance; keep 0 when measuring)
    mT: float = 100.0        # delay sensitivity: knee of Idd, ms (default class)
    sT: float = 1.0          # delay sensitivity: steepness (default class)

    def with_delay_class(self, name: str) -> "EModelInput":
        try:
            mT, sT = DELAY_CLASSES[name]
        except KeyError:
            raise ReadinessError(f"unknown delay-sensitivity class {name!r} (known: {', '.join(DELAY_CLASSES)})") from None
        return replace(self, mT=mT, sT=sT)


def symmetric_delays(ta_ms: float) -> dict[str, float]:
    """T = Ta and Tr = 2 Ta: the echo delays assumed when only the mouth-to-ear delay is known."""
    return {"T": ta_ms, "Tr": 2.0 * ta_ms, "Ta": ta_ms}


@dataclass(frozen=True)
class EModelResult:
    """R, MOS and every term of the computation (names as in G.107)."""

    R: float
    MOS: float
    Ro: float
    Is: float
    Id: float
    Ie_eff: float
    A: float
    # parts of the terms
    No: float
    Iolr: float
    Ist: float
    Iq: float
    Idte: float
    Idle: float
    Idd: float
    # the inputs that drive a call's score
    Ta_ms: float
    T_ms: float
    Tr_ms: float
    Ie: float
    Bpl: float
    Ppl: float
    BurstR: float

    def terms(self) -> dict[str, float]:
        """The impairment terms under their G.107 names (the `--json` `terms` object)."""
        d = asdict(self)
        d.pop("R")
        d.pop("MOS")
        return d

    def to_json(self) -> dict[str, Any]:
        return {"r": self.R, "mos": self.MOS, "terms": self.terms()}


def _lg(x: float) -> float:
    return math.log10(x)


def _validate(p: EModelInput) -> None:
    problems = []
    if not 0.0 <= p.Ppl <= 100.0:
        problems.append(f"packet loss Ppl must be 0..100 %, got {p.Ppl:g}")
    if p.BurstR <= 0.0:
        problems.append(f"burst ratio must be > 0, got {p.BurstR:g}")
    if p.Bpl <= 0.0:
        problems.append(f"Bpl must be > 0, got {p.Bpl:g}")
    if not 0.0 <= p.Ie <= 95.0:
        problems.append(f"Ie must be 0..95, got {p.Ie:g}")
    for name in ("T", "Tr", "Ta"):
        if getattr(p, name) < 0.0:
            problems.append(f"delay {name} must be >= 0 ms, got {getattr(p, name):g}")
    if not 0.0 <= p.A <= 20.0:        # G.107 Table 2: A is 0..20
        problems.append(f"advantage factor A must be 0..20, got {p.A:g}")
    if p.mT <= 0.0 or p.sT <= 0.0:
        problems.append("mT and sT must be > 0")
    if p.qdu < 1.0:
        problems.append(f"qdu must be >= 1, got {p.qdu:g}")
    if problems:
        raise ReadinessError("E-model input: " + "; ".join(problems))


def basic_snr(p: EModelInput) -> tuple[float, float]:
    """Ro and the total noise No (ITU-T G.107 clause 7.2)."""
    olr = p.SLR + p.RLR
    nfo = p.Nfor + p.RLR
    pre = p.Pr + 10.0 * _lg(1.0 + 10.0 ** ((10.0 - p.LSTR) / 10.0))
    nor = p.RLR - 121.0 + pre + 0.008 * (pre - 35.0) ** 2
    nos = p.Ps - p.SLR - p.Ds - 100.0 + 0.004 * (p.Ps - olr - p.Ds - 14.0) ** 2
    no = 10.0 * _lg(10.0 ** (p.Nc / 10.0) + 10.0 ** (nos / 10.0) + 10.0 ** (nor / 10.0) + 10.0 ** (nfo / 10.0))
    return 15.0 - 1.5 * (p.SLR + no), no


def simultaneous(p: EModelInput, ro: float, no: float) -> tuple[float, float, float]:
    """Iolr, Ist, Iq (ITU-T G.107 clause 7.3); Is is their sum."""
    olr = p.SLR + p.RLR
    xolr = olr + 0.2 * (64.0 + no - p.RLR)
    iolr = 20.0 * ((1.0 + (xolr / 8.0) ** 8) ** (1.0 / 8.0) - xolr / 8.0)
    stmro = -10.0 * _lg(10.0 ** (-p.STMR / 10.0) + math.exp(-p.T / 4.0) * 10.0 ** (-p.TELR / 10.0))
    ist = (12.0 * (1.0 + ((stmro - 13.0) / 6.0) ** 8) ** (1.0 / 8.0)
           - 28.0 * (1.0 + ((stmro + 1.0) / 19.4) ** 35) ** (1.0 / 35.0)
           - 13.0 * (1.0 + ((stmro - 3.0) / 33.0) ** 13) ** (1.0 / 13.0) + 29.0)
    q = 37.0 - 15.0 * _lg(p.qdu)
    g = 1.07 + 0.258 * q + 0.0602 * q * q
    y = (ro - 100.0) / 15.0 + 46.0 / 8.4 - g / 9.0
    z = 46.0 / 30.0 - g / 40.0
    iq = 15.0 * _lg(1.0 + 10.0 ** y + 10.0 ** z)
    return iolr, ist, iq


def talker_echo(p: EModelInput, no: float, ist: float) -> float:
    """Idte (ITU-T G.107 clause 7.4). Below 1 ms the echo is heard as sidetone: 0 (as loom)."""
    t = p.T
    if t < 1.0:
        return 0.0
    roe = -1.5 * (no - p.RLR)
    terv = p.TELR - 40.0 * _lg((1.0 + t / 10.0) / (1.0 + t / 150.0)) + 6.0 * math.exp(-0.3 * t * t)
    if p.STMR < 9.0:                  # G.107: TERVs for low sidetone masking
        terv += ist / 2.0
    re = 80.0 + 2.5 * (terv - 14.0)
    idte = ((roe - re) / 2.0 + math.sqrt((roe - re) ** 2 / 4.0 + 100.0) - 1.0) * (1.0 - math.exp(-t))
    if p.STMR > 20.0:                 # G.107: Idtes for high sidetone masking
        idte = math.sqrt(idte * idte + ist * ist)
    return idte


def listener_echo(p: EModelInput, ro: float) -> float:
    """Idle (ITU-T G.107 clause 7.4)."""
    rle = 10.5 * (p.WEPL + 7.0) * (p.Tr + 1.0) ** -0.25
    return (ro - rle) / 2.0 + math.sqrt((ro - rle) ** 2 / 4.0 + 169.0)


def pure_delay(ta_ms: float, mT: float = 100.0, sT: float = 1.0) -> float:
    """Idd with delay-sensitivity parameters (ITU-T G.107 06/2015 clause 7.4; exponent 6*sT)."""
    if ta_ms <= mT:
        return 0.0
    x = _lg(ta_ms / mT) / _lg(2.0)
    e = 6.0 * sT
    return 25.0 * ((1.0 + x ** e) ** (1.0 / e) - 3.0 * (1.0 + (x / 3.0) ** e) ** (1.0 / e) + 2.0)


def effective_equipment(ie: float, bpl: float, ppl_pct: float, burst_r: float = 1.0) -> float:
    """Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl/BurstR + Bpl), Ppl in percent (ITU-T G.107 clause 7.5)."""
    return ie + (95.0 - ie) * ppl_pct / (ppl_pct / burst_r + bpl)


def mos_from_r(r: float) -> float:
    """G.107 Annex B, clamped to [1, 4.5] (the cubic dips just below 1 for 0 < R < 6.5)."""
    if r <= 0.0:
        return 1.0
    if r >= 100.0:
        return 4.5
    mos = 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6
    return min(4.5, max(1.0, mos))


def satisfaction(r: float) -> str:
    """ITU-T G.109 user-satisfaction band of R."""
    if r >= 90:
        return "very satisfied"
    if r >= 80:
        return "satisfied"
    if r >= 70:
        return "some users dissatisfied"
    if r >= 60:
        return "many users dissatisfied"
    if r >= 50:
        return "nearly all users dissatisfied"
    return "not recommended"


def emodel(p: EModelInput | None = None, **overrides: float) -> EModelResult:
    """Compute R, MOS and every term. `emodel(Ta=150, T=150, Tr=300)` overrides Table 3 defaults."""
    p = replace(p or EModelInput(), **overrides) if overrides else (p or EModelInput())
    _validate(p)
    ro, no = basic_snr(p)
    iolr, ist, iq = simultaneous(p, ro, no)
    is_ = iolr + ist + iq
    idte = talker_echo(p, no, ist)
    idle = listener_echo(p, ro)
    idd = pure_delay(p.Ta, p.mT, p.sT)
    id_ = idte + idle + idd
    ie_eff = effective_equipment(p.Ie, p.Bpl, p.Ppl, p.BurstR)
    r = ro - is_ - id_ - ie_eff + p.A
    return EModelResult(R=r, MOS=mos_from_r(r), Ro=ro, Is=is_, Id=id_, Ie_eff=ie_eff, A=p.A, No=no, Iolr=iolr,
                        Ist=ist, Iq=iq, Idte=idte, Idle=idle, Idd=idd, Ta_ms=p.Ta, T_ms=p.T, Tr_ms=p.Tr, Ie=p.Ie,
                        Bpl=p.Bpl, Ppl=p.Ppl, BurstR=p.BurstR)
