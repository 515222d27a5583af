"""The shape the project holds itself to, checked on the package as it is: data flows one way (probes
never import acceptance), no import circles (imports inside functions and under TYPE_CHECKING count),
no module over 600 lines, and no text a customer reads cites our own reference files."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from ..conftest import REPO

PACKAGE = REPO / "readiness"


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package modules `name` imports, anywhere in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for t in targets:
            while t and t not in known and "." in t:
                t = t.rpartition(".")[0]
            if t in known and t != name and not name.startswith(t + "."):
                found.add(t)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return out


def test_the_circle_finder_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_in_the_package():
    edges = graph()
    assert len(edges) > 100                        # the walk really saw the package
    assert circles(edges) == []


def test_probes_never_import_acceptance_or_reports():
    edges = graph()
    probes = [m for m in edges if m.startswith("readiness.probes")]
    assert probes
    wrong = {m: sorted(t for t in edges[m] if t.startswith(("readiness.acceptance", "readiness.reports",
                                                             "readiness.results", "readiness.runner")))
             for m in probes}
    assert {m: t for m, t in wrong.items() if t} == {}


def test_reports_never_run_probes():
    edges = graph()
    wrong = {m: sorted(t for t in edges[m] if t.startswith(("readiness.probes", "readiness.runner", "readiness.lab")))
             for m in edges if m.startswith("readiness.reports")}
    assert {m: t for m, t in wrong.items() if t} == {}


def test_no_module_over_600_lines():
    long = {str(p.relative_to(REPO)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 600}
    assert long == {}


OWN_FILES = re.compile(r"standards\.md|peers\.md|environment\.md|placeholder", re.IGNORECASE)


def test_texts_a_customer_reads_cite_the_standards_themselves():
    texts = {str(p.relative_to(REPO)): p.read_text() for p in
             [*(REPO / "profiles").glob("*.yaml"), *(PACKAGE / "reports" / "templates").glob("*"),
              PACKAGE / "metrics.py"]}
    for args in (["profiles", "metrics"], ["profiles", "list"], ["--help"], ["mos", "--help"], ["calls", "--help"],
                 ["snmp", "audit", "--help"], ["analyze", "--help"], ["capture", "--help"], ["run", "--help"]):
        p = subprocess.run([sys.executable, "-m", "readiness", *args], cwd=REPO, capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 0, (args, p.stderr)
        texts[" ".join(args)] = p.stdout
    for name in [p.stem for p in (REPO / "profiles").glob("*.yaml")]:
        p = subprocess.run([sys.executable, "-m", "readiness", "profiles", "show", name], cwd=REPO,
                           capture_output=True, text=True, timeout=60)
        texts[f"profiles show {name}"] = p.stdout
    cited = {where: sorted(set(OWN_FILES.findall(text))) for where, text in texts.items() if OWN_FILES.search(text)}
    assert cited == {}
