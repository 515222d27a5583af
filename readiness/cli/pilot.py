"""`readiness pilot PILOT_DIR | RUN_DIR...`: a pilot phase's sign-off over many runs."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(short_help="A pilot phase over many runs: pass rate per criterion, availability, the verdict.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--format", "formats", default="html,md,json", show_default=True, metavar="LIST",
              help="Comma-separated: html, md, json.")
@click.option("--lang", type=click.Choice(["de", "en"]), help="Language; default: as the latest run's report.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Folder for pilot.html/.md/.json; default: the pilot folder (or the current folder).")
@click.option("--json", "json_out", is_flag=False, flag_value="-", default=None, metavar="[OUT]",
              help="Write the summary (schema readiness.pilot/1) to OUT; '-' prints it.")
@click.option("--quiet", "-q", is_flag=True, help="No tables.")
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

    kinds = [f.strip().lower() for f in formats.split(",") if f.strip()]
    for k in kinds:
        if k not in ("html", "md", "json"):
            raise click.BadParameter(f"{k!r}: html, md or json", param_hint="--format")
    return pilot_document.write([Path(p) for p in paths], kinds, lang, Path(out) if out else None, json_out, quiet)
