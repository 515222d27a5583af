"""A run's documents, written into its folder: results.json (the judged run, schema readiness.run/1),
report.html (the acceptance protocol), and on request report.pdf, report.junit.xml and report.md.
`render` judges the folder from its log once and writes every format from that one judgement;
`write_json` puts the run document where a command's `--json` asked."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import results as results_mod
from .. import store
from ..errors import ReadinessError
from ..results import RunResults

if TYPE_CHECKING:
    from .protocol import Options, Protocol

FILES = {"json": store.RESULTS, "html": "report.html", "pdf": "report.pdf", "junit": "report.junit.xml",
         "md": "report.md"}
FORMATS = tuple(FILES)
DEFAULT_FORMATS = ("json", "html")


@dataclass
class Rendering:
    results: RunResults
    written: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)     # one line per format that could not be written
    json_text: str | None = None                           # results.json as written (for --json OUT)


def render(run_dir: Path, formats: tuple[str, ...] = DEFAULT_FORMATS, options: Options | None = None) -> Rendering:
    """Judge the run folder from its events.jsonl and write the formats asked for. A format that fails
    is a line in `problems`; the others are still written. Only a folder that cannot be read raises."""
    run_dir = Path(run_dir)
    try:
        results = results_mod.load(run_dir)
    except store.RunFolderError as e:
        raise ReadinessError(str(e)) from None
    out = Rendering(results)
    # results.json first: it is the run's record, whatever happens to the documents made from it
    def write_results(path: Path) -> None:
        out.json_text = store.json_line(results.to_json())
        store.write_text(path, out.json_text)

    _write(out, "json", write_results, run_dir)
    wanted = [f for f in FORMATS if f in formats and f != "json"]
    if not wanted:
        return out
    # the report modules (matplotlib, jinja2) load only for a document: results.json alone needs none
    from . import html, markdown
    from .protocol import build

    try:
        protocol = build(results, options)
    except Exception as e:   # noqa: BLE001 - a rendering bug must not cost the run its results.json
        out.problems.append(f"report: could not be assembled ({type(e).__name__}: {e})")
        return out
    page: list[str] = []

    def html_text() -> str:
        if not page:
            page.append(html.render(protocol))
        return page[0]

    writers = {"html": lambda p: p.write_text(html_text(), encoding="utf-8"),
               "pdf": lambda p: _pdf(p, html_text(), run_dir),
               "junit": lambda p: p.write_text(_junit(protocol), encoding="utf-8"),
               "md": lambda p: p.write_text(markdown.render(protocol), encoding="utf-8")}
    for name in wanted:
        _write(out, name, writers[name], run_dir)
    return out


def finalise(run_dir: Path) -> RunResults:
    """Judge the run folder and (re)write results.json and report.html, as every command does at its end."""
    return render(run_dir).results


def _write(out: Rendering, name: str, write, run_dir: Path) -> None:
    path = run_dir / FILES[name]
    try:
        write(path)
    except ReadinessError as e:
        out.problems.append(f"{name}: {e}")
    except OSError as e:
        out.problems.append(f"{name}: cannot write {path}: {e.strerror or e}")
    except Exception as e:   # noqa: BLE001 - one broken format must not stop the others
        out.problems.append(f"{name}: could not be rendered ({type(e).__name__}: {e})")
    else:
        out.written.append(path)


def _pdf(path: Path, text: str, run_dir: Path) -> None:
    from . import pdf          # WeasyPrint loads in about a second: only when a PDF is asked for

    pdf.write(path, text, run_dir)


def _junit(protocol: Protocol) -> str:
    from . import junit

    return junit.render(protocol)


def write_json(results: RunResults, out: str, text: str | None = None) -> None:
    """The run document to OUT; '-' is standard output, indented for a person, a file in one line
    (json.dumps without indent is the C encoder, several times faster; `text`: that line, made already)."""
    if out == "-":
        sys.stdout.write(json.dumps(results.to_json(), indent=2, default=str) + "\n")
        sys.stdout.flush()
        return
    try:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((text or store.json_line(results.to_json())) + "\n", encoding="utf-8")
    except OSError as e:
        raise ReadinessError(f"cannot write {out}: {e.strerror or e}") from None
