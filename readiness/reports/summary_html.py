"""A first plain HTML summary of a run: verdict, every criterion with its evidence, what was not measured."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from ..results import RunResults
from ..units import format_value
from .text import required, verdict_word

SUMMARY = "summary.html"

_env = Environment(loader=PackageLoader("readiness.reports", "templates"),
                   autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
_env.filters["fmt"] = lambda value, unit: format_value(value, unit)
_env.filters["required"] = required
_env.filters["verdict"] = verdict_word


def render(results: RunResults) -> str:
    return _env.get_template("summary.html.j2").render(r=results)


def write(run_dir: Path, results: RunResults) -> Path:
    path = Path(run_dir) / SUMMARY
    path.write_text(render(results), encoding="utf-8")
    return path
