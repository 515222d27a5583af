"""The before/after page's plots: each time series both runs have, the medians across calls of both runs
over each other from each run's start, with the requirement; the MOS of both runs as two cumulative
distributions; in the report's language, in a page Chromium renders; capped for two hours of 100 calls."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from readiness import results as results_mod
from readiness import store
from readiness.reports.language import Language
from readiness.reports.plots import overlay

from . import fixture_runs
from .test_pilot_plots import captions, svgs, texts
from .test_plots import big_run
from .test_report_documents import chromium

DAY = 86400.0
KEYS = ["overlay-rtp.jitter_ms", "overlay-rtp.loss_pct", "overlay-mos-cdf"]


def compare(before, after, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "readiness", "compare", str(before), str(after), "-q", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compare")
    before = fixture_runs.write(tmp / "before", "pass", run_id="before")
    after = fixture_runs.write(tmp / "after", "mixed", start=fixture_runs.T0 + DAY, run_id="after")
    for lang, out in (("de", tmp / "de"), ("en", tmp / "en")):
        done = compare(before, after, "--lang", lang, "--out", str(out), "--format", "html")
        assert done.returncode == 1, done.stderr              # the mixed run is worse
    return tmp, {lang: (tmp / lang / "compare.html").read_text(encoding="utf-8") for lang in ("de", "en")}


def test_the_page_overlays_both_runs_after_the_criteria(pages):
    _, page = pages
    found = svgs(page["de"])
    assert list(found) == KEYS
    for key, svg in found.items():
        words = texts(svg)
        assert "vorher" in words and "nachher" in words, key
        ET.fromstring(svg)
    ids = re.findall(r'\bid="([^"]+)"', page["de"])
    assert len(ids) == len(set(ids))
    assert page["de"].index("id='criteria'") < page["de"].index("id='plots'") < page["de"].index("id='snmp'")
    assert not re.search(r"<(script|link|iframe|img)\b", page["de"])


def test_german_overlays_speak_german_with_decimal_commas(pages):
    _, page = pages
    found = svgs(page["de"])
    every = " ".join(texts(s) for s in found.values())
    assert "Zeit seit Beginn des jeweiligen Laufs (s)" in every and "Richtung ↓" in every
    assert "Anforderung: höchstens 1 %" in every and "Median über 4 Anrufe" in every
    assert "vorher (01.12.2026 09:00)" in every and "nachher (02.12.2026 09:00)" in every
    assert not re.search(r"\b(before|after|time|direction|worst|requirement|median of|calls|share)\b", every, re.I)
    loss = texts(found["overlay-rtp.loss_pct"])
    assert re.search(r"\b0,2\b", loss) and "0.2" not in loss
    assert re.search(r"\b4,2\b", texts(found["overlay-mos-cdf"]))
    said = captions(page["de"])
    assert "blau vorher, orange nachher" in said and "darunter vorher 0 von 8, nachher 1 von 8" in said


def test_english_overlays_speak_english(pages):
    _, page = pages
    every = " ".join(texts(s) for s in svgs(page["en"]).values())
    assert "before (1 Dec 2026, 09:00)" in every and "after (2 Dec 2026, 09:00)" in every
    assert "Time since the start of each run (s)" in every and "requirement: at most 1 %" in every
    assert not re.search(r"\b(vorher|nachher|Zeit|Richtung|Anforderung|Anrufe)\b", every)


def test_chromium_renders_the_compare_page(pages, tmp_path):
    tmp, _ = pages
    shot = tmp_path / "compare.png"
    chromium(tmp_path, (tmp / "de" / "compare.html").as_uri(), "--window-size=1200,4000", f"--screenshot={shot}")
    assert shot.stat().st_size > 10_000
    with Image.open(shot) as im:
        assert im.size == (1200, 4000) and im.convert("L").getextrema()[0] < 100


def test_runs_with_nothing_in_common_have_no_overlay(tmp_path):
    run = results_mod.load(fixture_runs.write(tmp_path / "r", "pass"))
    bare = dataclasses.replace(run, series=[], measurements=[])
    assert overlay.plots(run, bare, Language("de")) == []
    assert [p.key for p in overlay.plots(run, run, Language("de"))] == KEYS


def test_two_hours_of_100_calls_overlay_in_a_few_seconds(tmp_path):
    mixed = results_mod.load(fixture_runs.write(tmp_path / "m", "mixed"))
    before = big_run(mixed)
    after = dataclasses.replace(big_run(mixed, seconds=7200), started=store.utc_iso(fixture_runs.T0))
    started = time.perf_counter()
    got = overlay.plots(before, after, Language("de"))
    took = time.perf_counter() - started
    print(f"\n2 x 100 calls (1 h and 2 h): {len(got)} overlays in {took:.2f} s")
    assert took < 30.0, took          # a bound against a hang: the speed figure is bench_report.py's
    assert [p.key for p in got] == ["overlay-rtp.jitter_ms", "overlay-rtp.loss_pct", "overlay-rtp.rtt_ms",
                                    "overlay-mos-cdf"]
    for p in got:
        assert len(p.svg) < 400_000, p.key          # envelopes, not 7,200 points a line
        ET.fromstring(p.svg)
    assert "Zeit seit Beginn des jeweiligen Laufs (min)" in texts(got[0].svg)
