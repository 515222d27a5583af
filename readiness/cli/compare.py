"""`readiness compare RUN_A RUN_B`: before/after, what a change did."""

from __future__ import annotations

from pathlib import Path

import click

from .run_options import derived_formats, derived_outputs


@click.command(short_help="Before/after: two stored runs side by side, what changed and whether for the better.")
@click.argument("before", type=click.Path(exists=True, file_okay=False))
@click.argument("after", type=click.Path(exists=True, file_okay=False))
@derived_outputs("compare", "readiness.compare/1", "the AFTER run's folder")
def compare(before: str, after: str, formats: str, lang: str | None, out: str | None, json_out: str | None,
            quiet: bool) -> int:
    """Compare two runs of a site: every criterion and metric before and after with the change and its
    direction, criteria whose verdict changed, the SNMP snapshots' differences (ports up/down, duplex,
    VLANs, ports without the voice VLAN, PoE, UPS, erroring ports) and the captures' markings. Each run
    is judged again from its own events.jsonl.

    Exit 0 when no criterion's verdict got worse, 1 when one did, 2 when a run cannot be read.
    """
    from ..reports import compare_document

    return compare_document.write(Path(before), Path(after), derived_formats(formats), lang,
                                  Path(out) if out else None, json_out, quiet)
