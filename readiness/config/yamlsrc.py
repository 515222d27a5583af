"""YAML loading that remembers the line of every key and item, so errors can say FILE:LINE."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[Any, ...]


@dataclass
class Source:
    """A parsed YAML file: its data, and the 1-based line of every path (key or list item) in it."""

    file: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, path: Path_) -> int:
        """Line of the deepest known prefix of `path` (a pydantic error location, say)."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def where(self, path: Path_) -> str:
        return f"{self.file}:{self.line(path)}"


def display_path(path: str | Path) -> str:
    """How a config file is named in messages: relative to the working folder when inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


class YamlProblem(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def load(path: str | Path, display: str | None = None) -> Source:
    """Parse one YAML file. Raises YamlProblem with 'FILE:LINE: ...' messages."""
    name = display or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlProblem([f"{name}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise YamlProblem([f"{name}: cannot read: {e}"]) from None
    return loads(text, name)


def loads(text: str, name: str) -> Source:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 1
        what = e.problem or e.context or "syntax error"
        raise YamlProblem([f"{name}:{line}: YAML syntax error: {what}"]) from None
    except yaml.YAMLError as e:
        raise YamlProblem([f"{name}:1: YAML syntax error: {e}"]) from None
    if node is None:
        raise YamlProblem([f"{name}:1: the file is empty"])
    src = Source(name, None, {(): node.start_mark.line + 1})
    problems: list[str] = []
    constructor = yaml.SafeLoader("")
    src.data = _build(node, (), src, problems, constructor)
    if problems:
        raise YamlProblem(problems)
    return src


def _build(node: yaml.Node, path: Path_, src: Source, problems: list[str], ctor: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _build(key_node, path, src, problems, ctor)
            line = key_node.start_mark.line + 1
            if not isinstance(key, (str, int, float, bool)):
                problems.append(f"{src.file}:{line}: a key must be a plain word, not {type(key).__name__}")
                continue
            if key in out:
                problems.append(f"{src.file}:{line}: duplicate key {key!r} "
                                f"(first at line {src.lines[path + (key,)]})")
                continue
            src.lines[path + (key,)] = line
            out[key] = _build(value_node, path + (key,), src, problems, ctor)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            src.lines[path + (i,)] = item.start_mark.line + 1
            items.append(_build(item, path + (i,), src, problems, ctor))
        return items
    try:
        return ctor.construct_object(node, deep=True)
    except yaml.YAMLError as e:
        problems.append(f"{src.file}:{node.start_mark.line + 1}: {e}")
        return None
