"""`readiness profiles ...`: list, show, validate profiles; print the JSON Schema and the metric catalogue."""

from __future__ import annotations

import json

import click

from .. import metrics as metric_catalog
from ..config import profile as profile_mod
from ..config import schema
from ..errors import ConfigError
from ..units import format_value
from .checking import check_files


@click.group(short_help="List, show and validate profiles.")
def profiles() -> None:
    """List, show and validate acceptance profiles."""


@profiles.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_(as_json: bool) -> int:
    """List the shipped profiles."""
    rows = []
    for path in profile_mod.available():
        try:
            p = profile_mod.load(str(path))
            rows.append({"name": p.name, "title": p.title, "criteria": len(p.criteria), "abstract": p.abstract,
                         "file": p.file})
        except ConfigError as e:
            rows.append({"name": path.stem, "title": f"INVALID: {e.problems[0]}", "criteria": 0, "abstract": False,
                         "file": str(path)})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        tag = " (base)" if r["abstract"] else ""
        click.echo(f"{r['name']:<26} {r['criteria']:>3} criteria  {r['title']}{tag}")
    return 0


@profiles.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the resolved profile as JSON.")
def show(name: str, as_json: bool) -> int:
    """Show profile NAME (or a file) resolved: inherited criteria included, each with its origin."""
    p = profile_mod.load(name)
    if as_json:
        click.echo(json.dumps({"name": p.name, "title": p.title, "description": p.description, "file": p.file,
                               "extends_chain": p.chain, "criteria": [c.to_json() for c in p.criteria]}, indent=2))
        return 0
    click.echo(f"{p.name}: {p.title}")
    if p.description:
        click.echo(p.description.strip())
    click.echo(f"file: {p.file}" + (f"  (extends {' -> '.join(p.chain[1:])})" if len(p.chain) > 1 else ""))
    click.echo("")
    for c in p.criteria:
        need = f"{c.op} {format_value(c.threshold, c.unit)}"
        window = f" in any {c.window_s:g} s" if c.window_s else ""
        agg = f" [{c.aggregate}]" if c.aggregate != "each" else ""
        sel = f" where {c.select}" if c.select else ""
        opt = " (optional: not applicable when there is nothing to judge)" if c.optional else ""
        click.echo(f"  {c.id:<28} {c.severity:<6} {c.metric} {need}{window}{agg}{sel}{opt}")
        click.echo(f"  {'':<28} source: {c.source}   ({c.origin})")
    return 0


@profiles.command()
@click.argument("files", nargs=-1, required=True)
def validate(files: tuple[str, ...]) -> int:
    """Check profile FILES (or names). Prints FILE:LINE: problem for every problem; exit 2 if any."""
    return check_files(files, profile_mod.load, lambda p: f"{p.file}: ok ({len(p.criteria)} criteria)")


@profiles.command("schema")
def schema_() -> int:
    """Print the JSON Schema of profile files (also shipped as profiles/profile.schema.json)."""
    click.echo(json.dumps(schema.profile_schema(), indent=2))
    return 0


@profiles.command("metrics")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def metrics_(as_json: bool) -> int:
    """List every metric a criterion can name, with its unit and the probe that measures it."""
    rows = [{"metric": m.name, "unit": m.unit, "probe": m.probe, "window": m.window, "description": m.description}
            for m in metric_catalog.METRICS.values()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        click.echo(f"{r['metric']:<32} {r['unit']:<6} {r['probe']:<9} {r['description']}")
    return 0
