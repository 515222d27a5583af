"""The report's plots: which exist for a run, that they speak the report's language, show the breaches,
are valid SVG that can share one HTML page, and stay fast for an hour of 100 calls."""

from __future__ import annotations

import dataclasses
import re
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from readiness import results as results_mod
from readiness import store
from readiness.model import Measurement, Series
from readiness.reports.language import Language
from readiness.reports.plots import Plot, plots
from readiness.reports.plots import svg as svg_mod
from readiness.reports.plots.timeseries import MAX_POINTS, envelope

from . import fixture_runs

SVG = "{http://www.w3.org/2000/svg}"
DE, EN = Language("de"), Language("en")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    return results_mod.load(fixture_runs.write(tmp_path_factory.mktemp("mixed"), "mixed"))


@pytest.fixture(scope="module")
def german(mixed) -> dict[str, Plot]:
    return {p.key: p for p in plots(mixed, DE)}


def texts(plot: Plot) -> str:
    root = ET.fromstring(plot.svg)
    # a number and its unit are joined by a no-break space; the tests read it as a space
    return " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text")).replace("\xa0", " ")


def caption(plot: Plot) -> str:
    return plot.caption.replace("\xa0", " ")


def test_the_mixed_run_has_every_plot_in_its_section(german):
    sections = {k: p.section for k, p in german.items()}
    assert sections == {"rtp.jitter_ms": "calls", "rtp.loss_pct": "calls", "mos-cdf": "calls", "poe": "snmp",
                        "ups-runtime": "snmp", "markings": "capture", "nat-binding": "path"}
    for p in german.values():
        assert p.title and p.caption and p.svg.startswith("<svg ")


def test_every_svg_parses_and_ids_are_unique_across_the_page(german):
    seen: set[str] = set()
    for p in german.values():
        assert "<?xml" not in p.svg and "<!DOCTYPE" not in p.svg and "<metadata" not in p.svg
        root = ET.fromstring(p.svg)
        ids = {e.get("id") for e in root.iter() if e.get("id")}
        assert ids and not ids & seen, p.key
        seen |= ids
        # every reference finds its target inside the same SVG
        refs = set(re.findall(r'url\(#([^)]+)\)', p.svg)) | set(re.findall(r'href="#([^"]+)"', p.svg))
        assert refs <= ids, (p.key, refs - ids)


def test_german_plots_speak_german_with_decimal_commas(german):
    every = " ".join(texts(p) for p in german.values())
    assert "Zeit" in every and "Richtung" in every and "Anforderung" in every
    english = re.compile(r"\b(time|direction|worst|requirement|calls|share|power|runtime|median of|expected|"
                         r"marking|packets|local)\b", re.IGNORECASE)
    assert english.findall(every) == []
    loss = texts(german["rtp.loss_pct"])
    assert "0,2" in loss and "0.2" not in loss           # tick numbers in the German form
    # the text stays <text> in the report's font (its HTML embeds "Readiness Sans"; DejaVu Sans elsewhere)
    assert "font-family: 'Readiness Sans', 'DejaVu Sans', sans-serif" in german["mos-cdf"].svg


def test_english_plots_speak_english(mixed):
    every = " ".join(texts(p) for p in plots(mixed, EN))
    assert "Time" in every and "Direction" in every and "requirement" in every
    assert not re.search(r"\b(Zeit|Richtung|Anrufe|Anforderung)\b", every)


def test_breaches_are_drawn_where_the_requirement_was_missed(german):
    red = svg_mod.BREACH.lower()
    assert red in german["rtp.loss_pct"].svg.lower()         # call 3 down lost 12 % for 4 s
    assert "verfehlt" in caption(german["rtp.loss_pct"]) and "4 s" in caption(german["rtp.loss_pct"])
    assert red not in german["rtp.jitter_ms"].svg.lower()    # the jitter stayed under 30 ms
    assert "eingehalten" in german["rtp.jitter_ms"].caption
    assert red in german["mos-cdf"].svg.lower() and "1 von 8" in caption(german["mos-cdf"])
    assert red in german["poe"].svg.lower()                  # -12 W reserve, a must
    assert svg_mod.WARN.lower() in german["ups-runtime"].svg.lower()   # 9 of 15 min, a should
    assert "15 min" in texts(german["ups-runtime"])


def test_plots_are_the_same_on_every_run(mixed, german):
    again = {p.key: p.svg for p in plots(mixed, DE)}
    assert again == {k: p.svg for k, p in german.items()}


def test_a_run_without_series_has_no_time_plots_and_no_error(mixed):
    keys = [p.key for p in plots(dataclasses.replace(mixed, series=[]), DE)]
    assert keys == ["mos-cdf", "poe", "ups-runtime", "markings", "nat-binding"]
    empty = dataclasses.replace(mixed, series=[], measurements=[], details={})
    assert plots(empty, DE) == []


def test_the_interrupted_run_still_plots(tmp_path):
    run = results_mod.load(fixture_runs.write(tmp_path, "interrupted"))
    assert {"rtp.loss_pct", "mos-cdf"} <= {p.key for p in plots(run, DE)}


def test_details_give_the_poe_budget_and_the_dscp_classes_seen(mixed):
    details = {"devices": [{"name": "access-switch", "reachable": True,
                            "poe": {"budget_w": 370.0, "consumption_w": 300.0, "headroom_w": -12.0}}],
               "capture": {"file": "capture.pcapng", "packets": 100},
               "markings": {"expected": {"media": "EF", "signalling": ["CS3"]},
                            "dscp": {"voice_media": {"EF": 40, "CS0": 60}, "signalling": {"CS3": 10}},
                            "media_dscp_ok_pct": 40.0, "media_packets": 100}}
    got = {p.key: p for p in plots(dataclasses.replace(mixed, details=details), DE)}
    poe = texts(got["poe"])
    assert "PoE-Budget" in poe and "über dem Budget" in poe and "Reserve -12 W" in poe
    marks = texts(got["markings"])
    assert "EF 40 %" in marks and "CS0 60 %" in marks and "Mitschnitt SIP (DSCP)" in marks


def test_tick_numbers_take_the_decimals_the_step_needs():
    f = svg_mod.NumberFormatter(DE)
    f.set_locs([0.0, 2.5, 5.0])
    assert [f(x) for x in (0.0, 2.5, 5.0)] == ["0,0", "2,5", "5,0"]
    f.set_locs([0.0, 1000.0, 2000.0])
    assert f(2000.0) == "2.000"


def test_the_envelope_keeps_peaks_and_caps_points():
    t = np.arange(3600.0)
    y = np.zeros(3600)
    y[1234] = 50.0                         # one second of a burst in an hour
    y[2000:2010] = np.nan
    te, ye = envelope(t, y)
    assert len(te) <= MAX_POINTS and np.nanmax(ye) == 50.0 and 1234.0 in te


def big_run(mixed, calls: int = 100, seconds: int = 3600):
    """An hour of 100 calls: per-second jitter and loss for both directions and the RTT of each call."""
    rng = np.random.default_rng(7)
    t0 = fixture_runs.T0
    series, ms = [], []
    for i in range(1, calls + 1):
        for d in ("up", "down"):
            tags = {"direction": d, "call": str(i)}
            jitter = (1.0 + rng.gamma(2.0, 0.5, seconds)).round(2)
            loss = np.where(rng.random(seconds) < 0.002, 5.0, 0.0)
            if i == 42 and d == "down":
                jitter[1800:1805] = 45.0
                loss[1800:1805] = 20.0
            series.append(Series("rtp.jitter_ms", "ms", f"call {i} {d}", "calls", t0, 1.0, jitter.tolist(), None,
                                 tags))
            series.append(Series("rtp.loss_pct", "%", f"call {i} {d}", "calls", t0, 1.0, loss.tolist(),
                                 [50.0] * seconds, tags))
            ms.append(Measurement("call.mos", float(4.4 - rng.random() * 0.6), "MOS", f"call {i} {d}", "calls",
                                  t0, t0 + seconds, tags))
        rtt = (30 + rng.normal(0, 2, seconds)).tolist()
        rtt[100:110] = [None] * 10                 # a gap: no RTT measured for ten seconds
        series.append(Series("rtp.rtt_ms", "ms", f"call {i}", "calls", t0, 1.0, rtt, None, {"call": str(i)}))
    others = [m for m in mixed.measurements if m.metric != "call.mos"]
    return dataclasses.replace(mixed, series=series, measurements=others + ms)


def test_an_hour_of_100_calls_plots_in_a_few_seconds(mixed):
    run = big_run(mixed)
    started = time.perf_counter()
    got = plots(run, DE)
    took = time.perf_counter() - started
    print(f"\n{len(run.series)} series x 3600 samples: {len(got)} plots in {took:.2f} s, "
          f"{sum(len(p.svg) for p in got) / 1024:.0f} KiB of SVG")
    assert took < 30.0, took          # a bound against a hang: the speed figure is bench_report.py's
    keys = [p.key for p in got]
    assert keys[:3] == ["rtp.jitter_ms", "rtp.loss_pct", "rtp.rtt_ms"]
    by_key = {p.key: p for p in got}
    assert "100 Anrufe" in caption(by_key["rtp.jitter_ms"]) and "Richtung ↓: 5 s" in caption(by_key["rtp.jitter_ms"])
    assert "beide Richtungen" in texts(by_key["rtp.rtt_ms"])
    for p in got:
        assert len(p.svg) < 400_000, p.key                 # capped lines, not 3,600 points per call
        ET.fromstring(p.svg)


def test_a_windowed_criterion_frames_the_window_that_decided_it(mixed):
    # call 3 down loses 12 % from second 20 to 24; judged per 15 s window, the worst window starts there
    loss = next(c for c in mixed.criteria if c.metric == "rtp.loss_pct")
    start = fixture_runs.T0 + 20
    windowed = dataclasses.replace(loss, window="15 s", worst_window=(
        store.utc_iso(start), store.utc_iso(start + 15)))
    run = dataclasses.replace(mixed, criteria=[windowed if c is loss else c for c in mixed.criteria])
    plot = next(p for p in plots(run, DE) if p.key == "rtp.loss_pct")
    assert "schlechtestes 15-s-Fenster" in texts(plot)
    assert "schlechtestes" not in texts(next(p for p in plots(mixed, DE) if p.key == "rtp.loss_pct"))
