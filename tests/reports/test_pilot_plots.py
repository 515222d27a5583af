"""The pilot report's plots: the pass rate per day (per hour in a short pilot) next to the criteria, the
MOS, jitter and loss per day next to the days, as inline SVG that parses, in the report's language, in a
page Chromium renders; and a pilot of 100 runs draws in a few seconds."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from readiness import results as results_mod
from readiness import store
from readiness.analysis.pilot_summary import summarise
from readiness.reports.language import Language
from readiness.reports.plots import pilot as pilot_plots

from . import fixture_runs
from .test_report_documents import chromium

DAY, HOUR = 86400.0, 3600.0
SVG = "{http://www.w3.org/2000/svg}"
KEYS = ["pilot-trend", "pilot-mos", "pilot-jitter", "pilot-loss"]
PLAN = [("pass", 0), ("pass", HOUR), ("mixed", 2 * HOUR), ("pass", DAY), ("interrupted", DAY + HOUR),
        ("pass", 2 * DAY), ("mixed", 2 * DAY + HOUR), ("mixed", 2 * DAY + 2 * HOUR)]
# what a German plot must not say: the English words the plots would use
ENGLISH = re.compile(r"\b(pass rate|per day|per hour|availability|requirement|direction|incomplete|run|window|"
                     r"available|time|local|box|lowest|highest|every|values?)\b", re.IGNORECASE)


def write_pilot(folder: Path, plan: list[tuple[str, float]]) -> Path:
    for i, (kind, offset) in enumerate(plan):
        fixture_runs.write(folder / f"run-{i}", kind, start=fixture_runs.T0 + offset, run_id=f"w{i}")
    return folder


def pilot(*args: str) -> dict:
    p = subprocess.run([sys.executable, "-m", "readiness", "pilot", *args, "-q", "--json", "-"], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode in (0, 1), p.stderr
    return json.loads(p.stdout)


def svgs(page: str) -> dict[str, str]:
    """Each figure's inline SVG by the figure's id."""
    return dict(re.findall(r"<figure class='plot' id='plot-([^']+)'>.*?(<svg .*?</svg>)", page, re.S))


def texts(svg: str) -> str:
    root = ET.fromstring(svg)
    return " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text")).replace("\xa0", " ")


def captions(page: str) -> str:
    return " ".join(re.findall(r"<figcaption>(.*?)</figcaption>", page, re.S)).replace("\xa0", " ")


@pytest.fixture(scope="module")
def three_days(tmp_path_factory):
    folder = write_pilot(tmp_path_factory.mktemp("pilot") / "pilot", PLAN)
    doc = pilot(str(folder))
    english = folder.parent / "en"
    pilot(str(folder), "--lang", "en", "--out", str(english))
    return folder, doc, (folder / "pilot.html").read_text(encoding="utf-8"), \
        (english / "pilot.html").read_text(encoding="utf-8")


def test_the_json_has_the_trend_per_day_and_the_spread_per_day(three_days):
    _, doc, _, _ = three_days
    trend = doc["trend"]
    assert trend["step"] == "day" and [b["start"][:10] for b in trend["buckets"]] == [d["date"] for d in doc["days"]]
    loss = [b["pass_rate"]["rtp-loss"] for b in trend["buckets"]]
    assert loss == pytest.approx([100 * 2 / 3, 100.0, 100 / 3])
    # the interrupted run of day 2 is counted apart, never as a pass
    assert [(b["windows"], b["available"], b["incomplete"]) for b in trend["buckets"]] == [(3, 2, 0), (1, 1, 1),
                                                                                           (3, 1, 0)]
    first = doc["days"][0]["distributions"]
    assert set(first) == {"call.mos", "rtp.jitter_ms", "rtp.loss_pct"} and set(first["call.mos"]) == {"up", "down", "all"}
    mos = first["call.mos"]["all"]
    assert mos["n"] == 24 and mos["min"] == 3.61 and mos["min"] <= mos["p5"] <= mos["median"] <= mos["p95"] <= mos["max"]
    assert first["rtp.loss_pct"]["down"]["max"] == 2.4 and first["rtp.loss_pct"]["up"]["max"] == 0
    assert doc["days"][0]["mos_min"] == 3.61            # the keys that were there stay as they were


def test_the_page_holds_the_trend_by_the_criteria_and_the_spreads_by_the_days(three_days):
    _, _, page, _ = three_days
    found = svgs(page)
    assert list(found) == KEYS
    for key, svg in found.items():
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG}svg" and root.get("aria-label"), key
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))                     # four SVGs on one page, no id twice
    criteria, days = page.index("id='criteria'"), page.index("id='days'")
    trend = page.index("id='plot-pilot-trend'")
    assert criteria < trend < days < page.index("id='plot-pilot-mos'")
    assert not re.search(r"<(script|link|iframe|img)\b", page) and not re.search(r"(src|href)=['\"]?https?:", page)


def test_german_plots_speak_german_with_decimal_commas(three_days):
    _, _, page, _ = three_days
    found = svgs(page)
    every = " ".join(texts(s) for s in found.values())
    assert "Erfolgsquote je Tag" in every and "Verfügbarkeit" in every and "Anforderung" in every
    assert "Richtung ↑" in every and "Di. 01.12." in every and "2 von 3 verfügbar" in every
    assert "unvollständiger Lauf (nicht gewertet)" in texts(found["pilot-trend"])
    assert ENGLISH.findall(every) == []
    mos, loss = texts(found["pilot-mos"]), texts(found["pilot-loss"])
    assert re.search(r"\b4,2\b", mos) and "4.2" not in mos
    assert re.search(r"\b0,5\b", loss) and "0.5" not in loss
    said = captions(page)
    assert "5. bis zum 95. Perzentil" in said and "mindestens 4 MOS" in said and "höchstens 1 %" in said
    assert ENGLISH.findall(re.sub(r"<[^>]+>", " ", said)) == []


def test_english_plots_speak_english(three_days):
    _, _, _, page = three_days
    found = svgs(page)
    assert list(found) == KEYS
    every = " ".join(texts(s) for s in found.values())
    assert "Pass rate per day" in every and "availability" in every and "requirement" in every
    assert "Tue 1 Dec" in every and "Direction ↑" in every
    assert not re.search(r"\b(Erfolgsquote|Verfügbarkeit|Anforderung|Richtung|Tag|je|von)\b", every)
    assert "5th to the 95th percentile" in captions(page)


def test_chromium_renders_the_pilot_page(three_days, tmp_path):
    folder, _, _, _ = three_days
    shot = tmp_path / "pilot.png"
    chromium(tmp_path, (folder / "pilot.html").as_uri(), "--window-size=1200,4500", f"--screenshot={shot}")
    assert shot.stat().st_size > 10_000
    with Image.open(shot) as im:
        grey = im.convert("L")
        assert grey.size == (1200, 4500) and grey.getextrema()[0] < 100     # not a blank page


def test_a_pilot_shorter_than_two_days_trends_per_hour(tmp_path):
    plan = [("pass", 0), ("mixed", 2 * HOUR), ("interrupted", 3 * HOUR), ("pass", 5 * HOUR)]
    folder = write_pilot(tmp_path / "short", plan)
    doc = pilot(str(folder))
    assert doc["trend"]["step"] == "hour" and len(doc["trend"]["buckets"]) == 4
    assert [b["pass_rate"].get("rtp-loss") for b in doc["trend"]["buckets"]] == [100.0, 0.0, None, 100.0]
    trend = svgs((folder / "pilot.html").read_text(encoding="utf-8"))["pilot-trend"]
    words = texts(trend)
    assert "Erfolgsquote je Stunde" in words and "Ortszeit" in words and "09:00" in words


def many_runs(tmp_path: Path, n: int = 100) -> list[results_mod.RunResults]:
    """n test windows every 2 hours over about 8 days: the stored fixtures, shifted in time."""
    kinds = {k: results_mod.load(fixture_runs.write(tmp_path / k, k, calls=20)) for k in ("pass", "mixed",
                                                                                         "interrupted")}
    out = []
    for i in range(n):
        kind = "interrupted" if i % 17 == 5 else ("mixed" if i % 7 == 3 else "pass")
        r = kinds[kind]
        started = fixture_runs.T0 + i * 2 * HOUR
        out.append(dataclasses.replace(r, run_id=f"r{i}", started=store.utc_iso(started),
                                       finished=store.utc_iso(started + 65)))
    return out


def test_a_pilot_of_100_runs_draws_in_a_few_seconds(tmp_path):
    runs = many_runs(tmp_path)
    started = time.perf_counter()
    p = summarise(runs)
    plots = pilot_plots.plots(p, runs, Language("de"))
    took = time.perf_counter() - started
    print(f"\n100 runs of 20 calls: summary and {len(plots)} plots in {took:.2f} s")
    assert took < 30.0, took          # a bound against a hang: the speed figure is bench_report.py's
    assert [x.key for x in plots] == KEYS and p.trend_step == "day" and len(p.trend) == 9
    for x in plots:
        ET.fromstring(x.svg)
        assert len(x.svg) < 150_000, x.key
    assert len(re.findall(r"\d+ von \d+ verfügbar", texts(plots[0].svg))) == 9
