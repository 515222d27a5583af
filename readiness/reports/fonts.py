"""The report's font, inlined: DejaVu Sans (shipped with matplotlib, so always installed), cut down to
the characters a German or English report uses, as WOFF in a data: URI. The HTML then looks the same
offline, in an e-mail client, in Chromium and in WeasyPrint's PDF, and stays small (about 40 KiB a
face instead of 700 KiB)."""

from __future__ import annotations

import base64
import functools
import io
from pathlib import Path

import matplotlib
from fontTools import subset
from fontTools.ttLib import TTFont

FAMILY = "Readiness Sans"
_FACES = {"normal": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}
# Basic Latin, Latin-1 (ä ö ü ß é ...), Latin Extended-A, general punctuation (– „ “ …), €, arrows,
# ≤ ≥ ≠ and the check marks the tables use.
_UNICODES = ("U+0020-007E,U+00A0-00FF,U+0100-017F,U+2010-2027,U+2030-205E,U+20AC,U+2190-2199,"
             "U+2212,U+2248,U+2260,U+2264,U+2265,U+2713,U+2717,U+25CF")


@functools.lru_cache(maxsize=None)
def face(weight: str) -> str:
    """A data: URI of one face (normal or bold)."""
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / _FACES[weight]
    font = TTFont(path)
    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = ["kern", "liga"]
    options.name_IDs = []
    options.drop_tables += ["FFTM"]      # FontForge's timestamps: nothing a reader needs
    sub = subset.Subsetter(options)
    sub.populate(unicodes=subset.parse_unicodes(_UNICODES))
    sub.subset(font)
    buf = io.BytesIO()
    font.flavor = "woff"
    font.save(buf)
    return "data:font/woff;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def css() -> str:
    """@font-face rules for the report's font family."""
    return "\n".join(
        f'@font-face {{ font-family: "{FAMILY}"; font-weight: {weight}; src: url("{face(weight)}") format("woff"); }}'
        for weight in _FACES)
