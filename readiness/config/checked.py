"""Validate a parsed YAML Source against a pydantic model; every problem becomes 'FILE:LINE: what'."""

from __future__ import annotations

import difflib
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .yamlsrc import Source

M = TypeVar("M", bound=BaseModel)

_TYPE_WORDS = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping (key: value lines)",
    "list_type": "a list (lines starting with '- ')",
    "model_type": "a mapping (key: value lines)",
    "model_attributes_type": "a mapping (key: value lines)",
}


def validate(model: type[M], src: Source) -> tuple[M | None, list[str]]:
    """Return (instance, []) or (None, problems), problems sorted by line."""
    try:
        return model.model_validate(src.data), []
    except ValidationError as e:
        found = []
        for err in e.errors(include_url=False):
            loc = tuple(err["loc"])
            found.append((src.line(loc), f"{src.where(loc)}: {_describe(model, err, loc)}"))
        found.sort(key=lambda p: p[0])
        return None, [p for _, p in _unique(found)]


def _unique(items: list[tuple[int, str]]) -> list[tuple[int, str]]:
    seen, out = set(), []
    for line, text in items:
        if text not in seen:
            seen.add(text)
            out.append((line, text))
    return out


def _describe(model: type[BaseModel], err: dict[str, Any], loc: tuple) -> str:
    kind = err["type"]
    where = _dotted(loc)
    if kind == "extra_forbidden":
        key = loc[-1]
        allowed = _allowed_keys(model, loc[:-1])
        hint = difflib.get_close_matches(str(key), allowed, n=1)
        more = f" (did you mean {hint[0]!r}?)" if hint else (f" (allowed: {', '.join(allowed)})" if allowed else "")
        return f"unknown key {key!r}{more}"
    if kind == "missing":
        return f"missing required key {loc[-1]!r}"
    if kind in _TYPE_WORDS:
        return f"{where}: expected {_TYPE_WORDS[kind]}, got {err.get('input')!r}"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    elif msg.startswith("Assertion failed, "):
        msg = msg[len("Assertion failed, "):]
    return f"{where}: {msg}" if where else msg


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the (nested) model at `loc`, for 'did you mean' hints."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        current = _inner_model(fields[part].annotation)
        if current is None:
            return []
    fields = getattr(current, "model_fields", None)
    return sorted(f.alias or n for n, f in fields.items()) if fields else []


def _inner_model(annotation: Any) -> Any:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
