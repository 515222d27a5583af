"""`readiness site ...`: validate site files, print their JSON Schema."""

from __future__ import annotations

import json

import click

from ..config import schema
from ..config import site as site_mod
from .checking import check_files


@click.group(short_help="Validate site files.")
def site() -> None:
    """Validate site files (what is at the customer's site)."""


@site.command()
@click.argument("files", nargs=-1, required=True)
def validate(files: tuple[str, ...]) -> int:
    """Check site FILES. Prints FILE:LINE: problem for every problem; exit 2 if any."""
    return check_files(files, site_mod.load, lambda s: f"{s.file}: ok ({s.site})")


@site.command("schema")
def schema_() -> int:
    """Print the JSON Schema of site files (also shipped as profiles/site.schema.json)."""
    click.echo(json.dumps(schema.site_schema(), indent=2))
    return 0
