"""`readiness run`, `readiness report`, `readiness demo`: acceptance runs and their stored results."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .. import results as results_mod
from ..config import profile as profile_mod
from ..config import site as site_mod
from ..errors import ReadinessError
from ..progress import NullProgress, RichProgress
from ..reports.console import print_summary
from ..store import RunFolderError

DEFAULT_OUT = Path("reports")


def _finish(run_dir: Path, as_json: bool, quiet: bool) -> int:
    try:
        results = results_mod.finalise(run_dir)
    except RunFolderError as e:
        raise ReadinessError(str(e)) from None
    if as_json:
        click.echo(json.dumps(results, indent=2, default=str))
    elif not quiet:
        print_summary(results)
        click.echo(f"Run folder: {run_dir}  (results.json, summary.html, events.jsonl)")
    return results_mod.exit_status(results["verdict"])


@click.command(short_help="Run an acceptance test at a site.")
@click.option("--site", "site_file", required=True, type=click.Path(dir_okay=False),
              help="Site file (YAML): what is at this site and where the far ends are.")
@click.option("--profile", "profile_name", help="Profile name or file; default: the site file's `profile:`.")
@click.option("--out", "out", type=click.Path(file_okay=False), default=str(DEFAULT_OUT), show_default=True,
              help="Folder to create the run folder in.")
@click.option("--only", multiple=True, metavar="PROBE", help="Run only these probes (calls, iperf, snmp, capture).")
@click.option("--json", "as_json", is_flag=True, help="Print results.json to stdout instead of a table.")
@click.option("--quiet", "-q", is_flag=True, help="No progress, no table.")
@click.pass_context
def run(ctx: click.Context, site_file: str, profile_name: str | None, out: str, only: tuple[str, ...],
        as_json: bool, quiet: bool) -> int:
    """Run an acceptance test: measure the site, judge it against the profile, store the run.

    Results are written as they arrive (events.jsonl), so Ctrl-C keeps what was measured;
    the run is then marked incomplete. Exit 0 pass, 1 a criterion failed, 2 incomplete or error.
    """
    site = site_mod.load(site_file)
    name = profile_name or site.profile
    if not name:
        raise click.UsageError("no profile: give --profile NAME or put `profile:` in the site file")
    profile = profile_mod.load(name)
    if profile.abstract:
        raise ReadinessError(f"profile {profile.name} is a base for other profiles; pick one that extends it")
    from ..runner import execute

    progress = NullProgress() if (quiet or as_json) else RichProgress()
    try:
        run_dir = execute(profile, site, Path(out), progress, only=only or None, debug=ctx.obj.get("debug", False))
    finally:
        progress.close()
    return _finish(run_dir, as_json, quiet)


@click.command(short_help="Rebuild a stored run's results and summary.")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print results.json to stdout instead of a table.")
@click.option("--quiet", "-q", is_flag=True, help="No table.")
def report(run_dir: str, as_json: bool, quiet: bool) -> int:
    """Rebuild results.json and summary.html of RUN_DIR from its events.jsonl.

    Works on any run folder, also one cut short by Ctrl-C, a crash or kill -9 (marked incomplete).
    """
    return _finish(Path(run_dir), as_json, quiet)


@click.command(short_help="Full acceptance run against a local lab.")
@click.option("--out", "out", type=click.Path(file_okay=False), default=str(DEFAULT_OUT), show_default=True,
              help="Folder to create the run folder in.")
@click.option("--json", "as_json", is_flag=True, help="Print results.json to stdout instead of a table.")
@click.option("--quiet", "-q", is_flag=True, help="No progress, no table.")
def demo(out: str, as_json: bool, quiet: bool) -> int:
    """Full acceptance run against a lab started on this machine (loopback), then cleaned up.

    Starts a far-end responder, iperf3 servers, an SNMP agent serving demo switch and UPS walks and
    whatever else the probes need; runs the cloud-pbx-single-site profile; prints the verdict.
    """
    from ..lab.demo import run_demo

    progress = NullProgress() if (quiet or as_json) else RichProgress()
    try:
        run_dir = run_demo(Path(out), progress)
    finally:
        progress.close()
    return _finish(run_dir, as_json, quiet)
