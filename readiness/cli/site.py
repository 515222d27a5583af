"""`readiness site ...`: validate site files, print their JSON Schema."""

from __future__ import annotations

import json

import click

from ..config import schema
from ..config import site as site_mod
from ..errors import ConfigError


@click.group(short_help="Validate site files.")
def site() -> None:
    """Validate site files (what is at the customer's site)."""


@site.command()
@click.argument("files", nargs=-1, required=True)
def validate(files: tuple[str, ...]) -> int:
    """Check site FILES. Prints FILE:LINE: problem for every problem; exit 2 if any."""
    bad = 0
    for f in files:
        try:
            s = site_mod.load(f)
            click.echo(f"{s.file}: ok ({s.site})")
        except ConfigError as e:
            bad += 1
            for problem in e.problems:
                click.echo(problem, err=True)
    return 2 if bad else 0


@site.command("schema")
def schema_() -> int:
    """Print the JSON Schema of site files (also shipped as profiles/site.schema.json)."""
    click.echo(json.dumps(schema.site_schema(), indent=2))
    return 0
