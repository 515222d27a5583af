"""ITU-T G.107 E-model: every verification vector of standards.md 1.9, the Annex B MOS table, and
monotonicity (MOS must fall as loss or delay rise: VoIPmonitor #61 kept 4.5 at 10 % loss)."""

from __future__ import annotations

import pytest

from readiness.analysis.call_rating import rate_call, rate_mouth_to_ear, resolve_codec
from readiness.analysis.emodel import DELAY_CLASSES, EModelInput, emodel, mos_from_r, symmetric_delays
from readiness.errors import ReadinessError

TOL = 1e-3
RO, IS = 94.768822, 1.413568

# standards.md 1.9: inputs -> expected terms (T = Ta, Tr = 2 Ta)
VECTORS = [
    ({}, dict(Ro=RO, Is=IS, Idte=0, Idle=0.149046, Idd=0, Ie_eff=0, R=93.206208, MOS=4.4094)),
    (symmetric_delays(100), dict(Ro=RO, Is=IS, Idte=1.963791, Idle=0.727733, Idd=0, Ie_eff=0, R=90.663730, MOS=4.3549)),
    (symmetric_delays(150), dict(Ro=RO, Is=IS, Idte=2.811844, Idle=0.840747, Idd=0.163531, Ie_eff=0, R=89.539132,
                                 MOS=4.3275)),
    (symmetric_delays(200), dict(Ro=RO, Is=IS, Idte=3.570849, Idle=0.935273, Idd=3.044414, Ie_eff=0, R=85.804718,
                                 MOS=4.2232)),
    (symmetric_delays(250), dict(Ro=RO, Is=IS, Idte=4.242856, Idle=1.018587, Idd=8.916710, Ie_eff=0, R=79.177101,
                                 MOS=3.9925)),
    (dict(Bpl=25.1, Ppl=1), dict(Idte=0, Idle=0.149046, Idd=0, Ie_eff=3.639847, R=89.566361, MOS=4.3282)),
    (dict(Bpl=25.1, Ppl=5), dict(Ie_eff=15.780731, R=77.425477, MOS=3.9231)),
    (dict(Bpl=25.1, Ppl=5, BurstR=2), dict(Ie_eff=17.210145, R=75.996063, MOS=3.8641)),
    (dict(Bpl=4.3, Ppl=1), dict(Ie_eff=17.924528, R=75.281679, MOS=3.8339)),
    (dict(Ie=11, Bpl=19, Ppl=2), dict(Ie_eff=19.0, R=74.206208, MOS=3.7876)),
]


@pytest.mark.parametrize("inputs,expected", VECTORS, ids=[str(v[0]) or "defaults" for v in VECTORS])
def test_standards_vectors(inputs, expected):
    r = emodel(**inputs)
    for name, value in expected.items():
        assert getattr(r, name) == pytest.approx(value, abs=TOL), name
    assert r.Id == pytest.approx(r.Idte + r.Idle + r.Idd)
    assert r.R == pytest.approx(r.Ro - r.Is - r.Id - r.Ie_eff + r.A)


@pytest.mark.parametrize("r,mos", [(100, 4.50), (90, 4.34), (80, 4.03), (70, 3.60), (60, 3.10), (50, 2.58),
                                   (93.2, 4.41)])
def test_annex_b_table(r, mos):
    # the table's 4.03 at R 80 is 4.024 rounded up; 0.01 covers the table's rounding
    assert mos_from_r(r) == pytest.approx(mos, abs=0.01)


def test_mos_clamped():
    assert mos_from_r(-20) == 1.0
    assert mos_from_r(3.0) == 1.0          # the cubic dips to ~0.99 here
    assert mos_from_r(150) == 4.5
    assert all(1.0 <= mos_from_r(r / 10) <= 4.5 for r in range(-100, 1500))


@pytest.mark.parametrize("codec", ["pcmu", "pcma", "g722", "g729", "opus"])
@pytest.mark.parametrize("burst", [1.0, 1.5, 3.0])
def test_mos_falls_as_loss_rises(codec, burst):
    scores = [rate_mouth_to_ear(codec, 100, loss / 2, burst).mos for loss in range(0, 61)]
    # strictly falling until the scale's floor (MOS 1) is reached, never rising
    assert all(a > b or a == b == 1.0 for a, b in zip(scores, scores[1:]))
    assert rate_mouth_to_ear(codec, 0, 10.0, burst).mos < 3.6      # 10 % loss is never "4.5"


def test_mos_falls_as_delay_rises():
    scores = [rate_mouth_to_ear("pcmu", ta, 0.5).mos for ta in range(0, 800, 10)]
    assert all(a >= b for a, b in zip(scores, scores[1:]))
    assert scores[0] > scores[-1] + 1.0


def test_bursty_loss_scores_worse():
    assert rate_mouth_to_ear("pcmu", 50, 3, 2.0).mos < rate_mouth_to_ear("pcmu", 50, 3, 1.0).mos


def test_no_plc_scores_worse_and_only_for_g711():
    assert rate_mouth_to_ear("pcmu", 50, 1, plc=False).result.Ie_eff == pytest.approx(17.924528, abs=TOL)
    with pytest.raises(ReadinessError):
        rate_mouth_to_ear("g729", 50, 1, plc=False)


def test_mouth_to_ear_build():
    """standards.md 1.10: Ta = network + jitter buffer + ptime + lookahead; Ppl = loss + discards."""
    c = rate_call("g729", network_delay_ms=40, jitter_buffer_ms=30, ptime_ms=20, loss_pct=1, discard_pct=0.5)
    assert c.mouth_to_ear_ms == pytest.approx(40 + 30 + 20 + 5.0)
    assert c.result.Ta_ms == c.result.T_ms == pytest.approx(95.0)
    assert c.result.Tr_ms == pytest.approx(190.0)
    assert c.result.Ppl == pytest.approx(1.5)
    assert c.result.Ie == 11 and c.result.Bpl == 19
    assert not c.estimate


def test_estimates_flagged():
    assert rate_mouth_to_ear("opus", 50).estimate
    assert rate_mouth_to_ear("g722", 50).estimate
    assert not rate_mouth_to_ear("g711", 50).estimate
    assert "estimate" in " ".join(rate_mouth_to_ear("opus", 50).notes)


def test_extrapolation_noted():
    assert any("validated" in n for n in rate_mouth_to_ear("pcmu", 600, 25, 9).notes)


def test_codec_names():
    assert resolve_codec("G711").name == "pcmu"
    assert resolve_codec("PCMA").name == "pcma"
    with pytest.raises(ReadinessError, match="unknown codec"):
        resolve_codec("amr")


@pytest.mark.parametrize("bad", [dict(Ppl=-1), dict(Ppl=101), dict(BurstR=0), dict(Ta=-5), dict(A=30)])
def test_bad_input(bad):
    with pytest.raises(ReadinessError):
        emodel(**bad)


def test_delay_classes():
    default = emodel(**symmetric_delays(200))
    low = emodel(EModelInput().with_delay_class("low"), **symmetric_delays(200))
    assert low.Idd < default.Idd and set(DELAY_CLASSES) == {"default", "low", "very_low"}
    with pytest.raises(ReadinessError):
        EModelInput().with_delay_class("relaxed")
