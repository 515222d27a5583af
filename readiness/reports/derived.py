"""What the documents made from several runs (a comparison, a pilot) share: their page style, their
plots as figures, and where they go (their formats written into a folder as NAME.html/.md/.json, the
JSON also to --json OUT or stdout, the console summary unless quiet). One place, so `compare` and
`pilot` look and behave alike."""

from __future__ import annotations

import sys
from html import escape
from pathlib import Path
from typing import Callable, Sequence

from . import fonts
from .console import console
from .plots import Plot


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


_CSS = (f"body{{font-family:'{fonts.FAMILY}','DejaVu Sans',sans-serif;margin:2em auto;padding:0 1.5em;"
        "max-width:60rem;color:#222;line-height:1.4}table{border-collapse:collapse;margin:1em 0}"
        "th,td{border:1px solid #bbb;padding:.3em .6em;text-align:left}th{background:#eee}"
        "tr.worse td{background:#fde2e2}.note{color:#8a5a00}"
        "figure.plot{margin:1.2em 0 1.8em;break-inside:avoid}figure.plot svg{width:100%;height:auto}"
        f"figure.plot svg text{{font-family:'{fonts.FAMILY}','DejaVu Sans',sans-serif}}"
        "figcaption{font-size:.9rem;margin-bottom:.3rem}")


def page_css() -> str:
    """The style of a page made from several runs (a comparison, a pilot): the report's font inlined,
    tables, and the plots scaled to the text column."""
    return fonts.css() + _CSS


def figures(plots: Sequence[Plot]) -> str:
    """Plots as figures, title and caption above the inline SVG, as the acceptance report shows them."""
    return "".join(f"<figure class='plot' id='plot-{escape(p.key)}'><figcaption><b>{escape(p.title)}</b> – "
                   f"{escape(p.caption)}</figcaption>{p.svg}</figure>" for p in plots)
