"""Where a document made from several runs goes (a comparison, a pilot): its formats written into a
folder as NAME.html/.md/.json, the JSON also to --json OUT or stdout, the console summary unless
quiet. One place, so `compare` and `pilot` behave alike."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from .console import console


def emit(name: str, out_dir: Path, texts: dict[str, Callable[[], str]], formats: list[str], json_out: str | None,
         quiet: bool, show: Callable[..., None]) -> None:
    """`texts`: format -> the document's text (json among them); `show(console)` prints the summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for kind in formats:
        (out_dir / f"{name}.{kind}").write_text(texts[kind](), encoding="utf-8")
    if json_out == "-":
        sys.stdout.write(texts["json"]())
    elif json_out:
        Path(json_out).write_text(texts["json"](), encoding="utf-8")
    if not quiet and json_out != "-":
        show(console())
