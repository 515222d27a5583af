"""The report's language: German or English words, numbers and dates (Babel's CLDR data: "4,38",
"1.234", "01.12.2026 14:05" in German; "4.38", "1,234", "12/1/2026, 2:05 PM" style in English).

Every text a report shows goes through one `Language`: `lang.pick(de, en, **values)` keeps both
wordings side by side in the renderer that uses them, so a German report cannot pick up an English
leftover from a table elsewhere. German comes first: the first customers are German-speaking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from babel.dates import format_datetime, get_timezone
from babel.numbers import format_decimal

from .. import dscp as dscp_mod

LANGUAGES = ("de", "en")

# Criterion outcomes and run verdicts in words; the run verdict is what a manager signs.
_OUTCOME = {
    "pass": ("bestanden", "passed"), "fail": ("nicht bestanden", "failed"), "warn": ("Warnung", "warning"),
    "not_measured": ("nicht gemessen", "not measured"), "not_applicable": ("entfällt", "not applicable"),
    "error": ("Fehler", "error"),
}
_ACCEPTANCE = {
    "accepted": ("abgenommen", "accepted"),
    "reservations": ("abgenommen unter Vorbehalt", "accepted with reservations"),
    "rejected": ("nicht abgenommen", "not accepted"),
    "incomplete": ("unvollständig", "incomplete"),
}
_UNIT = {"calls": ("Anrufe", "calls"), "ports": ("Ports", "ports"), "errors": ("Fehler", "errors"),
         "devices": ("Geräte", "devices"), "packets": ("Pakete", "packets"), "count": ("", ""),
         "min": ("min", "min"), "cps": ("Anrufe/s", "calls/s")}


@dataclass(frozen=True)
class Language:
    code: str                         # "de" or "en"
    tz: str = "Europe/Berlin"         # dates are shown in the site's time, not UTC

    @property
    def locale(self) -> str:
        return "de_DE" if self.code == "de" else "en_GB"

    def pick(self, de: str, en: str, **values: Any) -> str:
        """The text in this language, `{name}` filled from `values` (already formatted)."""
        text = de if self.code == "de" else en
        return text.format(**values) if values else text

    def number(self, value: float | int | None, digits: int | None = None) -> str:
        """A number with this language's separators; `digits` fixed decimals, else as `value_text` rounds."""
        if value is None:
            return "–"
        if isinstance(value, bool):
            return self.yes_no(value)
        if digits is not None:
            return format_decimal(value, format=f"#,##0.{'0' * digits}" if digits else "#,##0", locale=self.locale)
        v = float(value)
        if v == int(v) and abs(v) < 1e15:
            return format_decimal(int(v), locale=self.locale)
        if abs(v) >= 100:
            pattern = "#,##0"
        elif abs(v) >= 10:
            pattern = "#,##0.0"
        elif abs(v) < 0.01:
            return format_decimal(float(f"{v:.3g}"), format="0.#########", locale=self.locale) if v else "0"
        else:
            pattern = "#,##0.00"
        return format_decimal(v, format=pattern, locale=self.locale)

    def yes_no(self, value: bool) -> str:
        return self.pick("ja", "yes") if value else self.pick("nein", "no")

    def unit(self, unit: str) -> str:
        de, en = _UNIT.get(unit, (unit, unit))
        return de if self.code == "de" else en

    def value(self, value: Any, unit: str) -> str:
        """A measured value with its unit: '2,31 %', '148 ms', 'EF (46)', 'ja', '3 Ports'."""
        if value is None:
            return "–"
        if isinstance(value, list):
            return ", ".join(self.value(v, unit) for v in value)
        if unit == "dscp" and isinstance(value, int) and not isinstance(value, bool):
            label = dscp_mod.name(value)
            return label if label == str(value) else f"{label} ({value})"
        if unit == "bool" or isinstance(value, bool):
            return self.yes_no(bool(value))
        if unit in ("vlan", "text") or not isinstance(value, (int, float)):
            return str(value)
        text = self.number(value)
        shown = self.unit(unit)
        if shown in ("", "1"):
            return text
        return f"{text}\u00a0{shown}"          # a number and its unit never break apart

    def when(self, moment: str | float | None, seconds: bool = False) -> str:
        """An ISO timestamp or epoch seconds in the site's time: '01.12.2026 14:05'."""
        dt = _datetime(moment)
        if dt is None:
            return "–"
        fmt = ("dd.MM.yyyy HH:mm" if self.code == "de" else "d MMM yyyy, HH:mm") + (":ss" if seconds else "")
        return format_datetime(dt, fmt, tzinfo=get_timezone(self.tz), locale=self.locale)

    def span(self, start: str | float | None, end: str | float | None) -> str:
        """A time window: '01.12.2026 09:00 – 10:00' on one day, both dates when it spans two; seconds
        when it is shorter than two minutes."""
        a, b = _datetime(start), _datetime(end)
        if a is None:
            return "–"
        if b is None:
            return self.when(start)
        short = (b - a).total_seconds() < 120
        zone = get_timezone(self.tz)
        same_day = format_datetime(a, "yyyyMMdd", tzinfo=zone) == format_datetime(b, "yyyyMMdd", tzinfo=zone)
        tail = format_datetime(b, "HH:mm:ss" if short else "HH:mm", tzinfo=zone, locale=self.locale) if same_day \
            else self.when(end, seconds=short)
        return f"{self.when(start, seconds=short)} – {tail}"

    def date(self, moment: str | float | None) -> str:
        """The day in the site's time: '1. Dezember 2026' / '1 December 2026'."""
        dt = _datetime(moment)
        if dt is None:
            return "–"
        fmt = "d. MMMM yyyy" if self.code == "de" else "d MMMM yyyy"
        return format_datetime(dt, fmt, tzinfo=get_timezone(self.tz), locale=self.locale)

    def time(self, moment: str | float | None) -> str:
        dt = _datetime(moment)
        if dt is None:
            return "–"
        return format_datetime(dt, "HH:mm:ss", tzinfo=get_timezone(self.tz), locale=self.locale)

    def outcome(self, outcome: str) -> str:
        de, en = _OUTCOME.get(outcome, (outcome, outcome))
        return de if self.code == "de" else en

    def acceptance(self, kind: str) -> str:
        de, en = _ACCEPTANCE[kind]
        return de if self.code == "de" else en

    def duration(self, seconds: float | None) -> str:
        if seconds is None:
            return "–"
        if seconds < 1:
            return f"{self.number(round(seconds * 1000))}\u00a0ms"      # a 200 ms loss interval
        if seconds < 120:
            return f"{self.number(round(seconds))}\u00a0s"
        if seconds < 7200:
            return f"{self.number(round(seconds / 60))}\u00a0min"
        return f"{self.number(seconds / 3600, 1)}\u00a0h"


def _datetime(moment: str | float | None) -> datetime | None:
    if moment is None or moment == "":
        return None
    if isinstance(moment, (int, float)):
        return datetime.fromtimestamp(float(moment), timezone.utc)
    try:
        dt = datetime.fromisoformat(str(moment).replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


# What makes a site German without `language: de`: its letters, a German legal form, a street word.
_GERMAN = re.compile(r"[äöüÄÖÜß]|\b(GmbH|mbH|AG|KG|OHG|GbR|UG|e\.\s?K\.|e\.\s?V\.|Straße|Strasse|Str\.|Platz|Gasse)\b"
                     r"|\b\d{5}\s+[A-ZÄÖÜ][a-zäöüß]+")


def detect(language: str | None, *names: str | None) -> str:
    """The report language: the site file's `language:` if given, else German when the site's name or
    address reads German, else English."""
    if language in LANGUAGES:
        return language
    return "de" if any(n and _GERMAN.search(n) for n in names) else "en"
