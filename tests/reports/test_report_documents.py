"""The documents `readiness report` writes, checked the way their readers meet them: the HTML in a real
headless Chromium (DOM, layout, screenshot, console), the PDF through poppler, the JUnit file through
junitparser, the Markdown as text. Runs come from fixture_runs; the CLI runs as a subprocess."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import lxml.html
import pytest
from junitparser import JUnitXml
from PIL import Image

from tests.conftest import need_tool

from . import fixture_runs

ALL = "html,pdf,junit,md,json"
FILES = ("report.html", "report.pdf", "report.junit.xml", "report.md", "results.json")
PHONE, DESKTOP = 390, 1280


def report(run_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([need_tool("readiness"), "report", str(run_dir), *args], capture_output=True,
                          text=True, timeout=120, cwd=run_dir.parent)


def results_doc(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text(encoding="utf-8"))


def verdict_status(doc: dict) -> int:
    return {"pass": 0, "fail": 1}.get(doc["verdict"], 2)        # the documented exit rule


def page(path: Path):
    return lxml.html.fromstring(path.read_text(encoding="utf-8"))


def text_of(root, element_id: str) -> str:
    return " ".join(root.get_element_by_id(element_id).text_content().split())


def pdftotext(path: Path) -> str:
    return subprocess.run([need_tool("pdftotext"), "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    run_dir = fixture_runs.write(tmp_path_factory.mktemp("mixed") / "run", "mixed")
    return run_dir, report(run_dir, "--format", ALL, "-q")


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    run_dir = fixture_runs.write(tmp_path_factory.mktemp("interrupted") / "run", "interrupted")
    return run_dir, report(run_dir, "--format", "html,pdf,junit", "-q")


@pytest.fixture(scope="module")
def criterion_ids(mixed) -> list[str]:
    return [c["id"] for c in results_doc(mixed[0])["criteria"]]


def test_mixed_run_writes_every_document_and_exits_with_its_verdict(mixed):
    run_dir, done = mixed
    assert done.returncode == verdict_status(results_doc(run_dir)) == 1, done.stderr
    assert all((run_dir / f).stat().st_size > 0 for f in FILES)


# --- the HTML in a real browser --------------------------------------------------------------------------

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--host-resolver-rules=MAP * ~NOTFOUND")         # offline: no host name resolves
CONSOLE = re.compile(r":CONSOLE\b|Uncaught")   # Chromium logs every console message as [..:INFO:CONSOLE:n]


def chromium(tmp: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="profile-", dir=tmp)
    return subprocess.run([need_tool("chromium"), *FLAGS, f"--user-data-dir={profile}", *args, url],
                          capture_output=True, text=True, timeout=60, check=True)


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if CONSOLE.search(line)]


@pytest.fixture(scope="module")
def dom(mixed, tmp_path_factory):
    """The page as Chromium built it from a file:// URL, and Chromium's log."""
    done = chromium(tmp_path_factory.mktemp("dom"), (mixed[0] / "report.html").as_uri(),
                    f"--window-size={DESKTOP},4000", "--enable-logging=stderr", "--v=0", "--dump-dom")
    return lxml.html.fromstring(done.stdout), done.stderr


def test_browser_shows_the_verdict_findings_and_one_row_per_criterion(dom, criterion_ids):
    root, _ = dom
    assert text_of(root, "verdict").startswith("Ergebnis nicht abgenommen")
    assert len(root.xpath("//*[@id='findings']//tbody/tr")) == 7
    assert [tr.get("id") for tr in root.xpath("//*[@id='criteria']//tbody/tr")] == [f"c-{i}" for i in criterion_ids]
    assert len(criterion_ids) == 33
    for section in ("cover", "summary", "findings", "not-measured", "criteria", "signatures"):
        assert root.xpath(f"//*[@id='{section}']"), section
    assert root.xpath("//*[@id='incomplete']") == []        # the run finished


def test_browser_gets_every_plot_as_inline_svg(dom):
    figures = dom[0].xpath("//figure[contains(@class, 'plot')]")
    assert {f.get("id") for f in figures} == {"plot-rtp.jitter_ms", "plot-rtp.loss_pct", "plot-mos-cdf", "plot-poe",
                                              "plot-ups-runtime", "plot-markings", "plot-nat-binding"}
    assert all(len(f.xpath("./svg")) == 1 for f in figures)


def test_page_is_self_contained_without_script_or_remote_resources(dom):
    root, _ = dom
    assert root.xpath("//script | //link | //iframe | //object | //embed") == []
    refs = [v for el in root.iter() if isinstance(el.tag, str)
            for k, v in el.attrib.items() if k in ("src", "href", "xlink:href", "srcset", "poster", "data")]
    assert refs and not [r for r in refs if re.match(r"\s*(https?:)?//", r, re.I)]
    assert all(img.get("src", "").startswith("data:") for img in root.iter("img"))
    styles = " ".join(root.xpath("//style/text() | //@style"))
    assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import", styles, re.I)


def test_page_logs_nothing_to_the_console(dom):
    assert console_lines(dom[1]) == []


def test_console_check_sees_errors_on_a_broken_page(tmp_path):
    # the proof that the check above can fail: Chromium's dbus/gpu noise never matches, a page's error does
    bad = tmp_path / "bad.html"
    bad.write_text('<!doctype html><p>x</p><script>console.error("boom"); nosuch();</script>', encoding="utf-8")
    lines = console_lines(chromium(tmp_path, bad.as_uri(), "--enable-logging=stderr", "--v=0", "--dump-dom").stderr)
    assert any('"boom"' in line for line in lines) and any("Uncaught ReferenceError" in line for line in lines)


# Headless Chromium will not make a window narrower than 500 px, so the page is measured and shot inside an
# iframe of the wanted width (srcdoc: same origin, so the harness may read the frame's layout).
HARNESS = """<!doctype html><html><body style="margin:0">
<iframe id="f" style="border:0;width:WIDTHpx;height:4000px" srcdoc="PAGE"></iframe><pre id="probe"></pre>
<script>
addEventListener('load', function () {
  var f = document.getElementById('f'), out = {width: f.contentWindow.innerWidth, narrow: [], spills: []};
  f.contentDocument.querySelectorAll('#findings td:not(:first-child), #criteria td').forEach(function (cell) {
    var r = cell.getBoundingClientRect(), text = cell.textContent.trim().slice(0, 40);
    if (!text) return;                            // an empty cell (no evidence) may fold away
    if (r.width < 40) out.narrow.push(Math.round(r.width) + ' px: ' + text);
    cell.querySelectorAll('*').forEach(function (el) {
      if (el.getBoundingClientRect().right > r.right + 1) out.spills.push(el.textContent.trim().slice(0, 40));
    });
  });
  document.getElementById('probe').textContent = JSON.stringify(out);
});
</script></body></html>"""


@pytest.fixture(scope="module")
def harness(mixed, tmp_path_factory):
    tmp, text = tmp_path_factory.mktemp("harness"), (mixed[0] / "report.html").read_text(encoding="utf-8")

    def at(width: int) -> Path:
        path = tmp / f"harness-{width}.html"
        if not path.exists():
            path.write_text(HARNESS.replace("WIDTH", str(width)).replace("PAGE", html.escape(text, quote=True)),
                            encoding="utf-8")
        return path
    return at


@pytest.fixture(scope="module")
def layout(harness, tmp_path_factory):
    tmp, seen = tmp_path_factory.mktemp("layout"), {}

    def at(width: int) -> dict:
        if width not in seen:
            out = chromium(tmp, harness(width).as_uri(), f"--window-size={max(width, 500)},4000", "--dump-dom").stdout
            seen[width] = json.loads(lxml.html.fromstring(out).get_element_by_id("probe").text_content())
            assert seen[width]["width"] == width         # the page really was laid out at that width
        return seen[width]
    return at


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_screenshot_is_not_blank(width, mixed, harness, tmp_path):
    shot = tmp_path / f"shot-{width}.png"
    url = (mixed[0] / "report.html").as_uri() if width == DESKTOP else harness(width).as_uri()
    chromium(tmp_path, url, f"--window-size={max(width, 500)},4000", f"--screenshot={shot}")
    with Image.open(shot) as im:
        assert im.size == (max(width, 500), 4000)
        colours = im.convert("RGB").crop((0, 0, width, 4000)).getcolors(1 << 24)
    assert len(colours) > 50                              # text, the red verdict box, tags, plots


def test_desktop_tables_keep_their_text_inside_the_cells(layout):
    assert layout(DESKTOP)["spills"] == []


def test_phone_tables_give_every_column_room(layout):
    assert layout(PHONE)["narrow"] == []


# --- the PDF ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pdf_text(mixed) -> str:
    return pdftotext(mixed[0] / "report.pdf")


def body_before_appendix(text: str) -> str:
    """The protocol's own wording: the appendix quotes the profiles' YAML, which is English."""
    assert "Bedingungen und Anhang" in text
    return text.split("Bedingungen und Anhang")[0]


def whole_words(words, text: str) -> list[str]:
    return [w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text, re.I)]


def test_pdf_is_german_on_cover_findings_and_signatures(pdf_text):
    for word in ("Abnahmeprotokoll", "nicht abgenommen", "Mängelliste", "Testfirma GmbH", "Köln", "Unterschriften"):
        assert word in pdf_text, word


def test_pdf_numbers_every_page_as_k_of_n(pdf_text):
    pages = [p for p in pdf_text.split("\f") if p.strip()]
    assert len(pages) >= 3
    for k, text in enumerate(pages, 1):
        assert re.search(rf"(?<!\d){k} / {len(pages)}(?!\d)", text), f"page {k}"


# Words of our template and findings in English; none is part of a standard's name in the sources column
# (-layout text wraps those across lines, so they cannot simply be cut out).
TEMPLATE_EN = ("Findings", "Criteria", "passed", "failed", "not measured", "Measured", "Required", "Signature",
               "Signatures", "Summary", "warning", "warnings", "Result", "Customer", "Technician", "Test window",
               "Evidence", "Recommended measure", "Conditions", "Contractor", "Incomplete", "accepted", "must",
               "should", "direction", "Test calls", "Place, date")


def test_pdf_has_no_english_template_words_before_the_appendix(pdf_text):
    assert whole_words(TEMPLATE_EN, body_before_appendix(pdf_text)) == []


def test_pdf_has_no_english_sentences_from_probe_messages(pdf_text):
    assert whole_words(("is", "the", "of", "and", "busy"), body_before_appendix(pdf_text)) == []


def test_pdf_renders_pages_with_content(mixed, tmp_path):
    subprocess.run([need_tool("pdftoppm"), "-r", "40", "-png", str(mixed[0] / "report.pdf"), str(tmp_path / "p")],
                   check=True, timeout=60)
    pngs = sorted(tmp_path.glob("p-*.png"))
    assert len(pngs) >= 3
    with Image.open(pngs[0]) as first:
        assert len(first.convert("RGB").getcolors(1 << 24)) > 20


# --- language, interrupted and damaged runs ----------------------------------------------------------------

def test_lang_en_writes_the_english_protocol(mixed, tmp_path):
    run_dir = tmp_path / "run"                              # the same run; the German documents stay as they are
    shutil.copytree(mixed[0], run_dir, ignore=shutil.ignore_patterns("report.*", "results.json"))
    assert report(run_dir, "--lang", "en", "-q").returncode == 1
    root = page(run_dir / "report.html")
    text = " ".join(root.text_content().split())
    assert root.get("lang") == "en" and "not accepted" in text_of(root, "verdict")
    assert root.xpath("//*[@id='findings']/h2/text()") == ["Findings"]
    german = ("Mängelliste", "Unterschriften", "Zusammenfassung", "Kriterien", "bestanden")
    assert [w for w in german if w in text] == []


def test_interrupted_run_exits_2_and_says_unvollstaendig(interrupted):
    run_dir, done = interrupted
    assert done.returncode == 2, done.stderr
    root = page(run_dir / "report.html")
    assert root.xpath("//*[@id='incomplete']")
    assert root.xpath("//*[@id='verdict']//span[@class='word']/text()") == ["unvollständig"]
    assert "unvollständig" in pdftotext(run_dir / "report.pdf")


def test_log_cut_in_its_last_line_still_renders_and_the_cover_says_so(tmp_path):
    run_dir = fixture_runs.write(tmp_path / "run", "mixed")
    log = run_dir / "events.jsonl"
    os.truncate(log, log.stat().st_size - 40)               # a kill while the last line was being written
    done = report(run_dir, "-q")
    doc = results_doc(run_dir)
    assert doc["damaged_lines"] == 1 and doc["complete"] is False      # the cut line was run_finished
    assert done.returncode == verdict_status(doc) == 2
    assert "1 Zeile(n) des Protokolls waren beschädigt" in text_of(page(run_dir / "report.html"), "cover")


def test_log_of_a_newer_format_is_read_for_what_is_known_and_the_cover_says_so(tmp_path):
    run_dir = fixture_runs.write(tmp_path / "run", "mixed")
    log = run_dir / "events.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    first = json.loads(lines[0])
    assert first["type"] == "run_started" and first["schema"] == "readiness.events/1"
    first["schema"] = "readiness.events/7"
    lines[0] = json.dumps(first) + "\n"
    lines.insert(1, '{"seq": 0, "t": 1796112000.5, "type": "hologram", "record": {"x": 1}}\n')  # unknown to us
    log.write_text("".join(lines), encoding="utf-8")
    done = report(run_dir, "-q")
    assert done.returncode == 1                              # the same verdict as before: nothing known was lost
    cover = text_of(page(run_dir / "report.html"), "cover")
    assert "Das Messprotokoll hat das Format readiness.events/7" in cover


def test_cover_names_the_evidence_files_missing_from_the_folder(mixed):
    cover = text_of(page(mixed[0] / "report.html"), "cover")
    paths = [a["path"] for a in results_doc(mixed[0])["artefacts"]]
    assert f"{len(paths)} Nachweisdatei(en) fehlen" in cover and all(p in cover for p in paths)


def test_evidence_file_put_back_is_no_longer_named(tmp_path):
    run_dir = fixture_runs.write(tmp_path / "run", "mixed")
    pcap = run_dir / "artefacts/capture/capture.pcapng"
    pcap.parent.mkdir(parents=True)
    pcap.write_bytes(b"\x0a\x0d\x0d\x0a")
    report(run_dir, "-q")
    cover = text_of(page(run_dir / "report.html"), "cover")
    assert "4 Nachweisdatei(en) fehlen" in cover and "capture.pcapng" not in cover


def test_missing_logo_is_said_on_the_cover_and_the_report_still_written(tmp_path):
    run_dir = fixture_runs.write(tmp_path / "run", "mixed")
    done = report(run_dir, "--logo", str(tmp_path / "nope.png"), "-q")
    assert done.returncode == verdict_status(results_doc(run_dir)) == 1
    root = page(run_dir / "report.html")
    assert f"Logo {tmp_path / 'nope.png'} nicht lesbar (Datei nicht vorhanden)" in text_of(root, "cover")
    assert root.xpath("//img[@class='logo']") == []


def test_png_logo_is_inlined_on_the_cover(tmp_path):
    run_dir = fixture_runs.write(tmp_path / "run", "mixed")
    logo = tmp_path / "logo.png"
    Image.new("RGB", (24, 12), (200, 30, 30)).save(logo)
    assert report(run_dir, "--logo", str(logo), "-q").returncode == 1
    [src] = page(run_dir / "report.html").xpath("//*[@id='cover']//img[@class='logo']/@src")
    assert src.startswith("data:image/png;base64,")
    assert base64.b64decode(src.split(",", 1)[1]) == logo.read_bytes()


# --- JUnit and Markdown --------------------------------------------------------------------------------------

def test_junit_totals_and_cases_match_the_criteria(mixed, criterion_ids):
    xml = JUnitXml.fromfile(str(mixed[0] / "report.junit.xml"))
    assert (xml.tests, xml.failures, xml.skipped, xml.errors) == (33, 4, 9, 0)
    cases = [case for suite in xml for case in suite]
    assert sorted(c.name for c in cases) == sorted(criterion_ids)
    assert Counter(type(r).__name__ for c in cases for r in c.result) == {"Failure": 4, "Skipped": 9}


def test_junit_of_an_interrupted_run_has_a_run_suite_with_one_error(interrupted):
    xml = JUnitXml.fromfile(str(interrupted[0] / "report.junit.xml"))
    [run] = [s for s in xml if s.name == "run"]
    assert (run.tests, run.errors) == (1, 1)
    assert [type(r).__name__ for c in run for r in c.result] == ["Error"]
    assert xml.errors == 1


def test_markdown_has_title_findings_and_one_table_row_per_criterion(mixed):
    lines = (mixed[0] / "report.md").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# Abnahmeprotokoll") and "## Mängelliste" in lines
    start = lines.index("## Kriterien") + 2
    table = [line for line in lines[start:start + 40] if line.startswith("|")]
    header, rule, rows = table[0], table[1], table[2:]
    assert header.startswith("| Kriterium") and rule.startswith("|---")
    assert len(rows) == 33 and all(r.startswith("| ") for r in rows)
    outcomes = Counter(r.strip("| ").rsplit(" | ", 1)[-1] for r in rows)
    assert outcomes == {"bestanden": 17, "nicht bestanden": 4, "Warnung": 3, "nicht gemessen": 4,
                        "entfällt": 5}


# --- refusals ------------------------------------------------------------------------------------------------

def test_unknown_format_is_refused_with_one_line_naming_it(mixed):
    done = report(mixed[0], "--format", "html,docx")
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "Error" in line]
    assert len(errors) == 1 and "docx" in errors[0] and "Traceback" not in done.stderr


def test_folder_that_is_not_a_run_is_refused_in_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    done = report(empty)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a run folder" in lines[0] and "Traceback" not in done.stderr
    assert list(empty.iterdir()) == []
