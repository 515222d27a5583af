"""A run's documents: `finalise` judges a run folder from its log and writes results.json and the HTML
summary; `write_json` puts the run document where a command's `--json` asked."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .. import results as results_mod
from .. import store
from ..errors import ReadinessError
from ..results import RunResults
from . import summary_html


def finalise(run_dir: Path) -> RunResults:
    """Judge the run folder from its events.jsonl and (re)write results.json and summary.html."""
    try:
        results = results_mod.load(Path(run_dir))
    except store.RunFolderError as e:
        raise ReadinessError(str(e)) from None
    store.write_json(Path(run_dir) / store.RESULTS, results.to_json())
    summary_html.write(Path(run_dir), results)
    return results


def write_json(results: RunResults, out: str) -> None:
    """The run document to OUT; '-' is standard output."""
    text = json.dumps(results.to_json(), indent=2, default=str)
    if out == "-":
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        return
    try:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
    except OSError as e:
        raise ReadinessError(f"cannot write {out}: {e.strerror or e}") from None
