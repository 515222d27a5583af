"""A first plain HTML summary of a run: verdict, every criterion with its evidence, what was not measured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ..units import format_value

SUMMARY = "summary.html"

_env = Environment(loader=PackageLoader("readiness.reports", "templates"),
                   autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
_env.filters["fmt"] = lambda value, unit: format_value(value, unit)


def render(results: dict[str, Any]) -> str:
    return _env.get_template("summary.html.j2").render(r=results)


def write(run_dir: Path, results: dict[str, Any]) -> Path:
    path = Path(run_dir) / SUMMARY
    path.write_text(render(results), encoding="utf-8")
    return path
