"""The acceptance engine on crafted measurement series: per-subject, aggregates, sliding windows,
not-measured handling and the run verdict."""

from __future__ import annotations

import pytest

from readiness.acceptance.evaluate import evaluate, run_verdict
from readiness.acceptance.windows import WindowTooShort, windows
from readiness.model import Criterion, Measurement, NotMeasured, Series


def crit(metric="rtp.loss_pct", op="<=", threshold=1.0, unit="%", **kw) -> Criterion:
    return Criterion(id=kw.pop("id", "c"), metric=metric, op=op, threshold=threshold, unit=unit, **kw)


def m(value, subject="call 1 up", metric="rtp.loss_pct", unit="%", **kw) -> Measurement:
    return Measurement(metric, value, unit, subject, "calls", **kw)


def judge(c, ms=(), ss=(), nm=()):
    (v,) = evaluate([c], list(ms), list(ss), list(nm))
    return v


def test_each_subject_must_pass_and_worst_is_reported():
    v = judge(crit(), [m(0.2, "call 1 up"), m(2.5, "call 2 down"), m(1.5, "call 3 up")])
    assert v.outcome == "fail"
    assert v.measured == 2.5 and v.subject == "call 2 down"
    assert v.subjects == 3 and v.failing == 2
    assert "2 of 3" in v.explanation


def test_pass_reports_worst_subject():
    v = judge(crit(), [m(0.2), m(0.9, "call 2 up")])
    assert v.outcome == "pass" and v.measured == 0.9 and v.subject == "call 2 up"


def test_should_failure_is_a_warning():
    v = judge(crit(severity="should"), [m(3.0)])
    assert v.outcome == "warn"


def test_higher_is_better_ops():
    c = crit(metric="call.mos", op=">=", threshold=4.0, unit="MOS")
    v = judge(c, [m(4.3, "a", "call.mos", "MOS"), m(3.1, "b", "call.mos", "MOS"), m(3.9, "c", "call.mos", "MOS")])
    assert v.outcome == "fail" and v.measured == 3.1 and v.subject == "b"


def test_nothing_measured_is_not_measured_with_reason():
    v = judge(crit(), nm=[NotMeasured("rtp.loss_pct", "responder 10.0.0.9 did not answer", probe="calls")])
    assert v.outcome == "not_measured"
    assert "did not answer" in v.explanation
    v = judge(crit())
    assert v.outcome == "not_measured" and "no measurement of rtp.loss_pct" in v.explanation


def test_a_missing_subject_never_lets_a_criterion_pass():
    ms = [m(0.1, "switch-a"), m(None, "switch-b", reason="timeout after 2 s")]
    v = judge(crit(), ms)
    assert v.outcome == "not_measured"
    assert "switch-b: timeout after 2 s" in v.explanation
    # but a real failure elsewhere is still a failure
    v = judge(crit(), ms + [m(5.0, "switch-c")])
    assert v.outcome == "fail"
    # a device-level not-measured record counts as a missing subject too
    v = judge(crit(), [m(0.1, "switch-a")], nm=[NotMeasured("rtp.loss_pct", "wrong community", "switch-d")])
    assert v.outcome == "not_measured" and "switch-d: wrong community" in v.explanation


def test_aggregates():
    values = [m(float(x), f"call {x}") for x in range(1, 101)]  # 1..100
    assert judge(crit(op="<=", threshold=96.0, aggregate="p95"), values).outcome == "pass"   # p95 = 95.05
    v = judge(crit(op="<=", threshold=95.0, aggregate="p95"), values)
    assert v.outcome == "fail" and v.measured == pytest.approx(95.05)
    assert judge(crit(op="<=", threshold=50.5, aggregate="mean"), values).outcome == "pass"
    assert judge(crit(op=">=", threshold=2.0, aggregate="min"), values).outcome == "fail"


def test_labels_and_booleans():
    c = crit(metric="sip.dscp_received", op="in", threshold=[24, 26, 40], unit="dscp")
    ms = [m(24, "a", "sip.dscp_received", "dscp"), m(0, "b", "sip.dscp_received", "dscp")]
    v = judge(c, ms)
    assert v.outcome == "fail" and v.measured == 0 and v.subject == "b"
    c = crit(metric="ups.on_battery", op="==", threshold=False, unit="bool")
    assert judge(c, [m(False, "ups", "ups.on_battery", "bool")]).outcome == "pass"
    assert judge(c, [m(True, "ups", "ups.on_battery", "bool")]).outcome == "fail"


def test_select_filters_by_tags():
    c = crit(threshold=0.1, select={"path": "customer-edge"})
    ms = [m(0.5, "a", tags={"path": "client-edge"}), m(0.05, "b", tags={"path": "customer-edge"})]
    v = judge(c, ms)
    assert v.outcome == "pass" and v.subjects == 1


def series(values, step=1.0, weights=None, subject="call 1 up", start=1000.0, metric="rtp.loss_pct"):
    return Series(metric, "%", subject, "calls", start, step, values, weights)


def test_one_bad_window_fails_although_the_average_passes():
    # 60 s of clean audio with a 5 s burst of 4 % loss: average 0.33 %, but a 15 s window holds 1.33 %.
    values = [0.0] * 30 + [4.0] * 5 + [0.0] * 25
    weights = [50.0] * 60
    whole_run = sum(v * w for v, w in zip(values, weights)) / sum(weights)
    assert whole_run < 1.0
    c = crit(window_s=15.0)
    v = judge(c, [m(whole_run)], [series(values, weights=weights)])
    assert v.outcome == "fail"
    assert v.measured == pytest.approx(4.0 * 5 / 15)
    assert v.window is not None and v.window[1] - v.window[0] == pytest.approx(15.0)
    assert 1015.0 <= v.window[0] <= 1030.0


def test_windowed_loss_is_weighted_by_packets_not_an_average_of_percentages():
    # 1 s with 100 % loss of 1 packet, 14 s with 0 % of 50 packets each: 1/701, not 100/15
    values = [100.0] + [0.0] * 14
    weights = [1.0] + [50.0] * 14
    (w,) = windows(series(values, weights=weights), 15.0, "weighted_mean")
    assert w.value == pytest.approx(100.0 * 1 / 701)


def test_window_max_and_partial_runs():
    ws = windows(series([1.0, 5.0, 2.0, None, 3.0], metric="rtp.jitter_ms"), 2.0, "max")
    assert [w.value for w in ws] == [5.0, 5.0, 2.0, 3.0]
    (only,) = windows(series([1.0, 2.0]), 15.0, "mean")
    assert only.partial and only.value == 1.5
    c = crit(metric="rtp.jitter_ms", threshold=30.0, unit="ms", window_s=15.0)
    v = judge(c, [], [series([1.0, 2.0], metric="rtp.jitter_ms")])
    assert v.outcome == "pass" and "shorter than 15 s" in v.explanation


def test_window_shorter_than_samples_is_not_measured():
    with pytest.raises(WindowTooShort):
        windows(series([0.0] * 10), 0.2, "weighted_mean")
    v = judge(crit(window_s=0.2), [], [series([0.0] * 10)])
    assert v.outcome == "not_measured" and "finer samples" in v.explanation
    # 200 ms samples can answer a 200 ms question
    v = judge(crit(threshold=10.0, window_s=0.2), [], [series([0.0, 50.0, 0.0], step=0.2)])
    assert v.outcome == "fail" and v.measured == 50.0


def test_windowed_criterion_without_series_is_not_measured():
    v = judge(crit(window_s=15.0), [m(0.1)])
    assert v.outcome == "not_measured" and "time series" in v.explanation


def test_windowed_per_subject():
    good = series([0.0] * 20, weights=[50.0] * 20, subject="call 1 up")
    bad = series([0.0] * 10 + [3.0] * 10, weights=[50.0] * 20, subject="call 2 down")
    v = judge(crit(window_s=10.0), [], [good, bad])
    assert v.outcome == "fail" and v.subject == "call 2 down" and v.failing == 1 and v.subjects == 2


def test_errors_while_judging_become_error_verdicts():
    c = crit(op="<=", threshold=1.0)
    v = judge(c, [m("not a number")])
    assert v.outcome == "error"


def test_run_verdict():
    from readiness.model import Verdict

    def verdict(outcome):
        return Verdict("x", "m", outcome)

    assert run_verdict([verdict("pass"), verdict("warn")]) == "pass"
    assert run_verdict([verdict("pass"), verdict("fail"), verdict("not_measured")]) == "fail"
    assert run_verdict([verdict("pass"), verdict("not_measured")]) == "incomplete"
    assert run_verdict([verdict("pass"), verdict("error")]) == "incomplete"
    assert run_verdict([verdict("pass")], interrupted=True) == "incomplete"
    assert run_verdict([]) == "incomplete"
