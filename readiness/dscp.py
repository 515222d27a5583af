"""DSCP code point names and numbers (RFC 2474 class selectors, RFC 2597 AF, RFC 3246 EF, RFC 5865 VA)."""

from __future__ import annotations

NAMES: dict[str, int] = {
    "CS0": 0, "DF": 0, "BE": 0,
    "CS1": 8, "CS2": 16, "CS3": 24, "CS4": 32, "CS5": 40, "CS6": 48, "CS7": 56,
    "AF11": 10, "AF12": 12, "AF13": 14,
    "AF21": 18, "AF22": 20, "AF23": 22,
    "AF31": 26, "AF32": 28, "AF33": 30,
    "AF41": 34, "AF42": 36, "AF43": 38,
    "EF": 46,   # RFC 3246; RFC 4594 telephony class
    "VA": 44,   # RFC 5865 voice admit
}

_PREFERRED = {0: "CS0", 46: "EF", 44: "VA"}


def parse(value: str | int) -> int:
    """'EF' / 'ef' / 46 / '46' / '0x2e' -> 46. Raises ValueError for anything else."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a DSCP")
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if text.upper() in NAMES:
            return NAMES[text.upper()]
        try:
            number = int(text, 0)
        except ValueError:
            raise ValueError(f"{value!r} is not a DSCP name (EF, CS3, AF41, ...) or number 0-63") from None
    if not 0 <= number <= 63:
        raise ValueError(f"DSCP {number} is outside 0-63")
    return number


def name(number: int) -> str:
    """46 -> 'EF'; a code point without a name is shown as its number."""
    if number in _PREFERRED:
        return _PREFERRED[number]
    for label, n in NAMES.items():
        if n == number:
            return label
    return str(number)


def to_tos(dscp: int) -> int:
    return (dscp & 0x3F) << 2
