"""The failover drill in the acceptance protocol: a real drill on loopback against two `readiness
responder` processes (primary and secondary SIP target from the site file's drill.targets), the
primary stopped mid-drill, so its held calls are hung up and the test calls fail over. Rendered as
HTML, PDF and Markdown in German (and English): the section's sentences, the outage table, the
timeline plot as parseable SVG, no English leftovers; and the plot stays fast for 2,000 calls."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import lxml.etree
import lxml.html
import pytest
from PIL import Image

from readiness.lab.responder_server import responder_process, write_key
from readiness.reports.language import Language
from readiness.reports.plots import drill as drill_plot
from tests.drill.sites import write_site
from tests.reports.test_report_documents import chromium, pdftotext, whole_words

ROOT = Path(__file__).resolve().parents[2]
# English words, and the lead-in of a reason nobody translated: none belongs in a German section
LEFTOVERS = ("the", "of", "and", "calls", "dropped", "held", "survived", "outage", "far end", "hung up", "Meldung")


@pytest.fixture(scope="module")
def drill_run(tmp_path_factory) -> tuple[Path, str]:
    """(run folder, the drill's console output)."""
    tmp = tmp_path_factory.mktemp("drill")
    # the marks' socket of this drill alone: another drill of this user (another test) has its own
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp))
    key = write_key(tmp / "key")
    site = tmp / "site.yaml"
    with responder_process(tmp, key) as (secondary, _):
        with responder_process(tmp, key) as (primary, _):
            write_site(site, primary, key, [primary, secondary], head="site: Filiale Köln\ncustomer: Müller GmbH\n",
                       calls="4", duration="12 s", new_calls_every="0.5 s", failover_timeout="1 s",
                       retry_primary="30 s")
            p = subprocess.Popen([sys.executable, "-m", "readiness", "drill", "--site", str(site), "--out",
                                  str(tmp / "runs")], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env=env)
            time.sleep(5)
            mark = subprocess.run([sys.executable, "-m", "readiness", "drill", "--mark", "Primär-SBC gestoppt"],
                                  cwd=ROOT, capture_output=True, text=True, timeout=20, env=env)
            assert mark.returncode == 0, mark.stderr
        # the primary is gone: its held calls got its BYE, the next test calls fail over to the secondary
        out, err = p.communicate(timeout=120)
    assert p.returncode == 1, err           # every held call dropped: failover.calls_dropped fails
    (run,) = (tmp / "runs").iterdir()
    done = subprocess.run([sys.executable, "-m", "readiness", "report", str(run), "--format", "html,pdf,md"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    return run, out


def section(run: Path, name: str = "report.html"):
    root = lxml.html.fromstring((run / name).read_text(encoding="utf-8"))
    return root, root.get_element_by_id("probe-drill")


def words(element) -> str:
    return " ".join(element.text_content().split())


def test_the_section_says_what_the_drill_found_in_german(drill_run):
    root, drill = section(drill_run[0])
    text = words(drill)
    assert drill.xpath("./h2")[0].text_content() == "Umschalttest"
    assert "4 Gespräche wurden während des Tests gehalten: 0 überstanden ihn, 4 brachen ab" in text
    assert "die Gegenstelle hat aufgelegt (BYE)" in text
    assert "Die Testanrufe wechselten einmal das SIP-Ziel" in text
    assert "derselben Adresse (127.0.0.1:" in text
    assert whole_words(LEFTOVERS, text) == []
    summary = words(root.get_element_by_id("summary"))
    assert "Beim Umschalttest überstanden 0 von 4 gehaltenen Gesprächen den Ausfall" in summary
    conditions = words(root.get_element_by_id("conditions"))
    assert "4 gehaltene Gespräche über 12 s, Codec PCMU, 20 ms je Paket; ein Testanruf alle 0,5 s (je 2 s " \
        "gehalten); nächstes SIP-Ziel nach 1 s ohne Antwort; Ziele in dieser Reihenfolge: sip:test@127.0.0.1:" \
        in conditions


def test_the_tables_show_the_outage_drops_failover_and_mark(drill_run):
    _, drill = section(drill_run[0])
    titles = [words(h) for h in drill.xpath(".//h3")]
    # a test call begun just before the stop whose media then died failed: timing, listed when it happens
    assert [t for t in titles if t != "Gescheiterte Testanrufe"] == [
        "Unterbrechungen", "Abgebrochene Gespräche", "Markierungen und Umschaltungen", "Absenderadressen"]
    heads = [words(th) for th in drill.xpath(".//h3[@id='table-drill-outages']/following-sibling::table[1]//th")]
    assert heads == ["#", "Beginn – Ende", "Richtung", "Längste", "Median", "Gespräche", "nicht zurück",
                     "Neue Anrufe wieder nach", "Markierung"]
    outage = [words(td) for td in drill.xpath(".//h3[@id='table-drill-outages']/following-sibling::table[1]//tbody/tr[1]/td")]
    assert outage[2] == "Signalisierung" and outage[-1] == "Primär-SBC gestoppt", outage
    events = words(drill.xpath(".//h3[@id='table-drill-events']/following-sibling::table[1]")[0])
    assert "„Primär-SBC gestoppt“" in events and "SIP-Ziel gewechselt" in events
    dropped = [words(td) for td in drill.xpath(".//h3[@id='table-drill-dropped']/following-sibling::table[1]//td")]
    assert dropped == ["Die Gegenstelle hat aufgelegt (BYE)", "4", "1, 2, 3, 4"]


def test_the_timeline_is_an_svg_with_its_calls_and_marks(drill_run):
    _, drill = section(drill_run[0])
    (figure,) = drill.xpath(".//figure[@id='plot-drill-timeline']")
    svg = lxml.etree.tostring(figure.xpath("./svg")[0])
    tree = lxml.etree.fromstring(svg)                        # well-formed on its own
    texts = [t.text or "" for t in tree.iter("{*}text", "text")]
    assert "Sekunden seit Beginn des Tests" in " ".join(texts)
    assert " Primär-SBC gestoppt" in texts and "gescheitert" in texts
    assert {"1", "2", "3", "4"} <= set(texts)                # a row per held call
    assert "alle 4" in words(figure.xpath("./figcaption")[0])


def test_the_pdf_has_the_section_and_no_english_before_the_appendix(drill_run):
    text = pdftotext(drill_run[0] / "report.pdf")
    body = text.split("Bedingungen und Anhang")[0]
    assert "Umschalttest" in body and "Unterbrechungen" in body and "Ablauf des Umschalttests" in body
    assert "Köln" in body and "Müller GmbH" in body
    assert whole_words(("is", "the", "of", "and", "calls", "dropped"), body) == []


def test_markdown_names_the_drill(drill_run):
    md = (drill_run[0] / "report.md").read_text(encoding="utf-8")
    assert "Beim Umschalttest überstanden 0 von 4" in md


def test_english_protocol(drill_run, tmp_path):
    run = tmp_path / "run"
    subprocess.run(["cp", "-r", str(drill_run[0]), str(run)], check=True)
    done = subprocess.run([sys.executable, "-m", "readiness", "report", str(run), "--format", "html",
                           "--lang", "en"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    _, drill = section(run)
    text = words(drill)
    assert drill.xpath("./h2")[0].text_content() == "Failover drill"
    assert "4 calls were held through the drill: 0 survived it, 4 were dropped (the far end hung up (BYE))" in text
    assert whole_words(("Gespräche", "Umschalttest", "Unterbrechungen", "und"), text) == []


def test_the_console_prints_the_drill_before_the_criteria(drill_run):
    out = drill_run[1]
    assert "4 calls were held through the drill" in out
    assert out.index("Outages") < out.index("Dropped calls") < out.index("failover-calls-survive")
    assert "Marks and target failovers" in out and "Source addresses" in out


def test_the_page_looks_like_a_page(drill_run, tmp_path):
    shot = tmp_path / "drill.png"
    page = tmp_path / "drill.html"
    page.write_text((drill_run[0] / "report.html").read_text(encoding="utf-8").replace(
        "</style>", "section:not(#probe-drill){display:none}</style>", 1), encoding="utf-8")
    chromium(Path(tempfile.mkdtemp(dir=tmp_path)), page.as_uri(), "--window-size=1280,1800", f"--screenshot={shot}")
    with Image.open(shot) as im:
        assert len(im.convert("RGB").getcolors(1 << 24)) > 50       # text, bars, shading


def _big_drill(calls: int) -> dict:
    """A drill detail as a 2,000-call drill would leave it: two outages, every call hit, a few never back."""
    t0 = 1_800_000_000.0
    outages = []
    for n, (start, length) in enumerate(((60.0, 2.0), (200.0, 1.0)), 1):
        for d in ("up", "down"):
            per_call = [{"call": c, "gap_ms": None if n == 2 and c % 97 == 0 else 1000 * length + c % 40}
                        for c in range(1, calls + 1)]
            outages.append({"outage": n, "start": t0 + start, "end": t0 + start + length + 0.05, "direction": d,
                            "gap_ms": 1000 * length + 39, "gap_ms_median": 1000 * length + 20,
                            "calls_affected": calls, "calls_not_back": sum(c["gap_ms"] is None for c in per_call),
                            "calls": per_call, "recovery_ms": 1000 * length + 150, "mark": "WAN 1 gezogen"})
    return {"outages": outages, "calls_held": calls, "calls_survived": calls - 20, "calls_dropped": 20,
            "dropped": [{"call": c, "why": "media did not come back (down, up)"} for c in range(97, calls, 97)],
            "recovery_ms": 2150.0, "new_calls": {"placed": 150, "worked": 140, "failed": 10, "failed_over": 0,
                                                 "calls": [{"call": 2000 + k, "t": t0 + 60 + k * 0.2,
                                                            "cause": "timeout", "target": "sip:x", "works": False}
                                                           for k in range(10)]},
            "sources": [{"source": "192.0.2.1:5060", "first": t0 + 1, "last": t0 + 59, "calls": 100},
                        {"source": "198.51.100.7:5060", "first": t0 + 63, "last": t0 + 299, "calls": 40}],
            "marks": [{"t": t0 + 59.5, "text": "WAN 1 gezogen", "source": "enter"}], "failovers": [],
            "phases": {}, "targets": ["sip:x"], "started": t0, "ended": t0 + 300.0, "settings": {}}


def test_two_thousand_calls_draw_fast_and_show_the_worst_sixty(tmp_path):
    results = SimpleNamespace(details={"drill": _big_drill(2000)})
    began = time.monotonic()
    (plot,) = drill_plot.plots(results, Language("de"))
    took = time.monotonic() - began
    assert took < 30.0, took          # a bound against a hang: the speed figure is bench_report.py's
    tree = lxml.etree.fromstring(plot.svg.encode())
    labels = {t.text for t in tree.iter("{*}text") if t.text and t.text.isdigit()}
    assert {"97", "194", "1940"} <= labels                 # the calls never back are among those shown
    assert "die 60 am stärksten betroffenen von 2.000" in plot.caption
