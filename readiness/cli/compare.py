"""`readiness compare RUN_A RUN_B`: before/after, what a change did."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(short_help="Before/after: two stored runs side by side, what changed and whether for the better.")
@click.argument("before", type=click.Path(exists=True, file_okay=False))
@click.argument("after", type=click.Path(exists=True, file_okay=False))
@click.option("--format", "formats", default="html,md,json", show_default=True, metavar="LIST",
              help="Comma-separated: html, md, json.")
@click.option("--lang", type=click.Choice(["de", "en"]), help="Language; default: as the later run's report.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Folder for compare.html/.md/.json; default: the AFTER run's folder.")
@click.option("--json", "json_out", is_flag=False, flag_value="-", default=None, metavar="[OUT]",
              help="Write the comparison (schema readiness.compare/1) to OUT; '-' prints it.")
@click.option("--quiet", "-q", is_flag=True, help="No tables.")
def compare(before: str, after: str, formats: str, lang: str | None, out: str | None, json_out: str | None,
            quiet: bool) -> int:
    """Compare two runs of a site: every criterion and metric before and after with the change and its
    direction, criteria whose verdict changed, and the SNMP snapshots' differences (ports up/down,
    duplex, VLANs, ports without the voice VLAN, PoE, UPS, erroring ports). Each run is judged again
    from its own events.jsonl.

    Exit 0 when no criterion's verdict got worse, 1 when one did, 2 when a run cannot be read.
    """
    from ..reports import compare_document

    kinds = [f.strip().lower() for f in formats.split(",") if f.strip()]
    for k in kinds:
        if k not in ("html", "md", "json"):
            raise click.BadParameter(f"{k!r}: html, md or json", param_hint="--format")
    return compare_document.write(Path(before), Path(after), kinds, lang, Path(out) if out else None, json_out,
                                  quiet)
