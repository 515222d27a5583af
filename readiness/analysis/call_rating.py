"""Score a call from what was measured: the ITU-T G.107 E-model, fed from measurements as
bgrewell/loom (docs/quality.md) does it (practice, not ITU-T text):

    Ta  = network one-way delay + jitter-buffer nominal depth + ptime + codec lookahead
    Ppl = network loss % + jitter-buffer discard %
    T = Ta, Tr = 2 Ta (echo delays assumed symmetric)

Feeding raw network delay as Ta overstates MOS, so callers pass the network delay and the jitter
buffer separately (`rate_call`), or a mouth-to-ear delay they already know (`rate_mouth_to_ear`,
what a technician means by "one-way 120 ms"). Ie/Bpl/lookahead come from `readiness.codecs`
(G.113 App. I); codecs without ITU-published values (G.722, Opus) are rated with G.711-with-PLC
values and the rating is flagged as an estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .. import codecs as codec_table
from ..errors import ReadinessError
from .emodel import EModelInput, EModelResult, emodel, satisfaction, symmetric_delays

CODEC_ALIASES = {"g711": "pcmu", "g711u": "pcmu", "g711a": "pcma", "g.711": "pcmu", "g.722": "g722",
                 "g.729": "g729", "g729a": "g729"}

# ITU-T G.107 Table 3 note: ranges the model was validated for; beyond is extrapolation.
VALID_TA_MS = 500.0
VALID_PPL_PCT = 20.0
VALID_BURST_R = 8.0


@dataclass(frozen=True)
class CallRating:
    """An E-model result plus how its inputs were built and how far to trust it."""

    result: EModelResult
    codec: str
    plc: bool
    mouth_to_ear_ms: float
    network_delay_ms: float | None      # None when the caller gave mouth-to-ear directly
    jitter_buffer_ms: float | None
    ptime_ms: float | None
    lookahead_ms: float | None
    loss_pct: float                     # network loss
    discard_pct: float                  # jitter-buffer discards
    estimate: bool                      # codec values not published by ITU-T
    notes: list[str] = field(default_factory=list)

    @property
    def r(self) -> float:
        return self.result.R

    @property
    def mos(self) -> float:
        return self.result.MOS

    def to_json(self) -> dict:
        d = self.result.to_json()
        d.update(codec=self.codec, plc=self.plc, estimate=self.estimate, notes=list(self.notes),
                 satisfaction=satisfaction(self.result.R),
                 inputs={"mouth_to_ear_ms": self.mouth_to_ear_ms, "network_delay_ms": self.network_delay_ms,
                         "jitter_buffer_ms": self.jitter_buffer_ms, "ptime_ms": self.ptime_ms,
                         "lookahead_ms": self.lookahead_ms, "loss_pct": self.loss_pct,
                         "discard_pct": self.discard_pct})
        return d


def resolve_codec(name: str) -> codec_table.Codec:
    """A codec by any usual name (g711, pcmu, pcma, g722, g729, opus); ReadinessError if unknown."""
    key = name.strip().lower()
    key = CODEC_ALIASES.get(key, key)
    try:
        return codec_table.get(key)
    except KeyError:
        known = sorted(set(codec_table.CODECS) | {"g711"})
        raise ReadinessError(f"unknown codec {name!r} (known: {', '.join(known)})") from None


def _check_pct(name: str, value: float) -> None:
    if not 0.0 <= value <= 100.0:        # also rejects NaN
        raise ReadinessError(f"{name} must be between 0 and 100 %, got {value:g}")


def rate_mouth_to_ear(codec: str, mouth_to_ear_ms: float, loss_pct: float = 0.0, burst_ratio: float = 1.0,
                      plc: bool = True, discard_pct: float = 0.0, delay_class: str = "default") -> CallRating:
    """Rate a call whose mouth-to-ear delay Ta is already known (T = Ta, Tr = 2 Ta)."""
    return _rate(codec, mouth_to_ear_ms, loss_pct, burst_ratio, plc, discard_pct, delay_class, None, None, None, None)


def rate_call(codec: str, network_delay_ms: float, jitter_buffer_ms: float, loss_pct: float = 0.0,
              burst_ratio: float = 1.0, ptime_ms: float = 20.0, plc: bool = True, discard_pct: float = 0.0,
              delay_class: str = "default") -> CallRating:
    """Rate a measured call: Ta = network delay + jitter buffer + ptime + codec lookahead (as loom feeds G.107).

    `network_delay_ms` is the one-way network delay (or RTT/2, which the caller flags); `burst_ratio`
    comes from `loss_bursts` (BurstR = 1/(p+q)); values below 1 are raised to 1 (G.107 defines 1 as
    random loss; a Gilbert fit can dip below on short traces).
    """
    c = resolve_codec(codec)
    for name, value in (("network delay", network_delay_ms), ("jitter buffer", jitter_buffer_ms),
                        ("ptime", ptime_ms)):
        if not 0.0 <= value < math.inf:
            raise ReadinessError(f"{name} must be >= 0 ms, got {value:g}")
    ta = network_delay_ms + jitter_buffer_ms + ptime_ms + c.lookahead_ms
    return _rate(codec, ta, loss_pct, burst_ratio, plc, discard_pct, delay_class, network_delay_ms,
                 jitter_buffer_ms, ptime_ms, c.lookahead_ms)


def _rate(codec: str, ta: float, loss_pct: float, burst_ratio: float, plc: bool, discard_pct: float,
          delay_class: str, network: float | None, jb: float | None, ptime: float | None,
          lookahead: float | None) -> CallRating:
    c = resolve_codec(codec)
    _check_pct("loss", loss_pct)
    _check_pct("discard", discard_pct)
    if not 0.0 <= ta < math.inf:
        raise ReadinessError(f"one-way delay must be a number of ms >= 0, got {ta:g}")
    if not 0.0 < burst_ratio < math.inf:
        raise ReadinessError(f"burst ratio must be > 0, got {burst_ratio:g}")
    notes: list[str] = []
    bpl = c.bpl
    if not plc:
        if c.encoding not in ("PCMU", "PCMA"):
            raise ReadinessError(f"no published no-PLC loss robustness for {c.name}; --no-plc applies to G.711 only")
        bpl = codec_table.G711_NO_PLC_BPL
    ppl = min(100.0, loss_pct + discard_pct)
    burst_r = max(1.0, burst_ratio)
    if burst_ratio < 1.0:
        notes.append(f"burst ratio {burst_ratio:g} raised to 1 (random loss)")
    if not c.itu_values:
        notes.append(f"{c.name}: no ITU-T G.113 narrowband Ie/Bpl; G.711-with-PLC values used, MOS is an estimate")
    if ta > VALID_TA_MS:
        notes.append(f"mouth-to-ear {ta:g} ms is beyond the 0-500 ms the E-model was validated for")
    if ppl > VALID_PPL_PCT:
        notes.append(f"loss {ppl:g} % is beyond the 0-20 % the E-model was validated for")
    if burst_r > VALID_BURST_R:
        notes.append(f"burst ratio {burst_r:g} is beyond the 1-8 the E-model was validated for")
    elif burst_r > 2.0 and ppl >= 2.0:
        notes.append("G.107: predictions for burst ratio > 2 are only valid below 2 % loss")
    p = EModelInput(Ie=c.ie, Bpl=bpl, Ppl=ppl, BurstR=burst_r).with_delay_class(delay_class)
    result = emodel(p, **symmetric_delays(ta))
    return CallRating(result=result, codec=c.name, plc=plc, mouth_to_ear_ms=ta, network_delay_ms=network,
                      jitter_buffer_ms=jb, ptime_ms=ptime, lookahead_ms=lookahead, loss_pct=loss_pct,
                      discard_pct=discard_pct, estimate=not c.itu_values, notes=notes)
