"""`readiness pilot PILOT_DIR | RUN_DIR...`: a pilot phase's sign-off over many runs."""

from __future__ import annotations

from pathlib import Path

import click

from .run_options import derived_formats, derived_outputs


@click.command(short_help="A pilot phase over many runs: pass rate per criterion, availability, the verdict.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@derived_outputs("pilot", "readiness.pilot/1", "the pilot folder (or the current folder)")
def pilot(paths: tuple[str, ...], formats: str, lang: str | None, out: str | None, json_out: str | None,
          quiet: bool) -> int:
    """Summarise a pilot phase: every run (a pilot folder's run folders, or the run folders given) is a
    test window, judged again from its events.jsonl. Per criterion the pass rate and the worst window;
    the availability (share of complete windows in which every must-criterion passed) and the longest
    run of failed windows, against the profile's `pilot:` rule (default: 99 %, 2 in a row). Incomplete
    runs are counted apart, never as passes; runs of other sites or profiles are summarised apart.

    Exit 0 when the phase passed, 1 when it failed, 2 when there is nothing complete to judge.
    """
    from ..reports import pilot_document

    return pilot_document.write([Path(p) for p in paths], derived_formats(formats), lang,
                                Path(out) if out else None, json_out, quiet)
