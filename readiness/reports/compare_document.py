"""The one place a comparison is made and written: both runs judged from their folders, the
comparison built, each format written, the console summary printed, the exit status decided."""

from __future__ import annotations

import json
from pathlib import Path

from .. import results as results_mod
from .. import store
from ..analysis.run_comparison import compare
from ..errors import ReadinessError
from .comparison import html, markdown, print_console
from .derived import emit
from .language import Language
from .plots import overlay
from .protocol import report_language


def write(before_dir: Path, after_dir: Path, formats: list[str], lang_code: str | None, out_dir: Path | None,
          json_out: str | None, quiet: bool) -> int:
    runs = []
    for d in (before_dir, after_dir):
        try:
            runs.append(results_mod.load(d))
        except store.RunFolderError as e:
            raise ReadinessError(str(e)) from None
    before, after = runs
    comp = compare(before, after)
    lang = Language(lang_code or report_language(after))
    texts = {"html": lambda: html(comp, lang, overlay.plots(before, after, lang)), "md": lambda: markdown(comp, lang),
             "json": lambda: json.dumps(comp.to_json(), ensure_ascii=False, indent=2) + "\n"}
    emit("compare", out_dir or after_dir, texts, formats, json_out, quiet, lambda out: print_console(comp, out))
    return 1 if comp.worse else 0
