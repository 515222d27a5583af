"""The acceptance protocol as one self-contained HTML file: font, plots and styles inline, so it works
offline and as an e-mail attachment; the print stylesheet makes the same file the PDF."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from . import fonts
from .protocol import Protocol


_env = Environment(loader=PackageLoader("readiness.reports", "templates"),
                   autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)


def _css_string(text: str) -> Markup:
    """A CSS string literal; every character that could end the string or the <style> is escaped."""
    return Markup('"' + "".join(c if c.isalnum() or c in " .,-_·()" else f"\\{ord(c):x} " for c in text) + '"')


_env.filters["css_string"] = _css_string


def render(protocol: Protocol) -> str:
    css = resources.files("readiness.reports").joinpath("templates/report.css").read_text(encoding="utf-8")
    header = protocol.lang.pick("Abnahmeprotokoll Sprachbereitschaft · {site}", "Voice readiness acceptance protocol"
                                " · {site}", site=protocol.site)
    return _env.get_template("report.html.j2").render(p=protocol, css=Markup(css), font_css=Markup(fonts.css()),
                                                         header=header)   # our own CSS: not to be escaped


def write(path: Path, protocol: Protocol) -> Path:
    path = Path(path)
    path.write_text(render(protocol), encoding="utf-8")
    return path
