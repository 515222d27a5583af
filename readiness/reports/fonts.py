"""The report's font, inlined: DejaVu Sans (shipped with matplotlib, so always installed), cut down to
the characters a German or English report uses, as WOFF in a data: URI. The HTML then looks the same
offline, in an e-mail client, in Chromium and in WeasyPrint's PDF, and stays small (about 40 KiB a
face instead of 700 KiB)."""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import os
from pathlib import Path

import matplotlib

FAMILY = "Readiness Sans"
_FACES = {"normal": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}
# Basic Latin, Latin-1 (ä ö ü ß é ...), Latin Extended-A, general punctuation (– „ “ …), €, arrows,
# ≤ ≥ ≠ and the check marks the tables use.
_UNICODES = ("U+0020-007E,U+00A0-00FF,U+0100-017F,U+2010-2027,U+2030-205E,U+20AC,U+2190-2199,"
             "U+2212,U+2248,U+2260,U+2264,U+2265,U+2713,U+2717,U+25CF")


@functools.lru_cache(maxsize=None)
def face(weight: str) -> str:
    """A data: URI of one face (normal or bold). Subsetting takes about 0.5 s a face, so the result is
    kept in the user's cache folder, keyed by the font file and the character set."""
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / _FACES[weight]
    try:
        stat = path.stat()
        key = hashlib.sha256(f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{_UNICODES}".encode()).hexdigest()[:16]
    except OSError:
        key = ""
    cached = _cache_dir() / f"{FAMILY.replace(' ', '-')}-{weight}-{key}.uri"
    if key:
        try:
            return cached.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            pass
    uri = _subset(path)
    if key:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(uri, encoding="ascii")
            os.replace(tmp, cached)      # another report writing the same file at once sees it whole
        except OSError:
            pass                         # a read-only home: subset every time
    return uri


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "readiness"


def _subset(path: Path) -> str:
    from fontTools import subset
    from fontTools.ttLib import TTFont

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
