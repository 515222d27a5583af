"""The one place a comparison is made and written: both runs judged from their folders, the
comparison built, each format written, the console summary printed, the exit status decided."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .. import results as results_mod
from .. import store
from ..analysis.run_comparison import compare
from ..errors import ReadinessError
from .comparison import html, markdown, print_console
from .console import console
from .language import Language
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
    out_dir = out_dir or after_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    writers = {"html": lambda: html(comp, lang), "md": lambda: markdown(comp, lang),
               "json": lambda: json.dumps(comp.to_json(), ensure_ascii=False, indent=2) + "\n"}
    for kind in formats:
        (out_dir / f"compare.{kind}").write_text(writers[kind](), encoding="utf-8")
    if json_out == "-":
        sys.stdout.write(writers["json"]())
    elif json_out:
        Path(json_out).write_text(writers["json"](), encoding="utf-8")
    if not quiet and json_out != "-":
        print_console(comp, console())
    return 1 if comp.worse else 0
