"""`readiness run`, `readiness report`, `readiness demo`: acceptance runs and their stored results."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import site as site_mod
from ..reports.document import DEFAULT_FORMATS, FORMATS
from ..reports.protocol import Options
from .run_options import conduct, finish, load_profile, run_outputs


@click.command(short_help="Run an acceptance test at a site.")
@click.option("--site", "site_file", required=True, type=click.Path(dir_okay=False),
              help="Site file (YAML): what is at this site and where the far ends are.")
@click.option("--profile", "profile_name", help="Profile name or file; default: the site file's `profile:`.")
@click.option("--only", multiple=True, metavar="PROBE", help="Run only these probes (calls, iperf, snmp, capture).")
@click.option("--repeat", "every", metavar="DURATION", help="A pilot phase: run again every DURATION (e.g. 15m), "
              "each run its own folder in one pilot folder, then summarise them (readiness pilot).")
@click.option("--count", type=click.IntRange(1), help="With --repeat: this many runs.")
@click.option("--until", metavar="YYYY-MM-DDTHH:MM", help="With --repeat: no run starts after this local time.")
@run_outputs
@click.pass_context
def run(ctx: click.Context, site_file: str, profile_name: str | None, only: tuple[str, ...], every: str | None,
        count: int | None, until: str | None, out: str, no_keep: bool, json_out: str | None, quiet: bool) -> int:
    """Run an acceptance test: measure the site, judge it against the profile, store the run.

    Results are written as they arrive (events.jsonl), so Ctrl-C keeps what was measured; the run is
    then marked incomplete. Exit 0 all criteria passed, 1 a criterion failed, 2 could not run or
    incomplete.
    """
    site = site_mod.load(site_file)
    name = profile_name or site.profile
    if not name:
        raise click.UsageError("no profile: give --profile NAME or put `profile:` in the site file")
    profile = load_profile(name)
    from ..runner import execute

    def start(parent: Path, progress) -> Path:
        return execute(profile, site, parent, progress, only=only or None, debug=ctx.obj.get("debug", False))

    if every is None:
        if count or until:
            raise click.UsageError("--count and --until go with --repeat")
        return conduct(start, out, no_keep, json_out, quiet, formats=DEFAULT_FORMATS)
    from .pilot_run import pilot_run

    return pilot_run(start, site, profile.name, every, count, until, out, json_out, quiet)


@click.command(short_help="The acceptance protocol of a stored run (HTML, PDF, JUnit, Markdown).")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--format", "formats", default="html", show_default=True, metavar="LIST",
              help="Comma-separated: html, pdf, junit, md, json (results.json is always rewritten).")
@click.option("--lang", type=click.Choice(["de", "en"]),
              help="Language of the report; default German when the site file says `language: de` or the "
                   "site's name or address is German, else English.")
@click.option("--customer", help="Customer name on the cover (default: the site file's `customer:`).")
@click.option("--technician", help="Technician on the cover and the signature line.")
@click.option("--logo", type=click.Path(dir_okay=False), help="Image (PNG, SVG, JPEG) for the cover.")
@click.option("--json", "json_out", is_flag=False, flag_value="-", default=None, metavar="[OUT]",
              help="Write the run document to OUT; without OUT or with '-', print it instead of the tables.")
@click.option("--quiet", "-q", is_flag=True, help="No table.")
def report(run_dir: str, formats: str, lang: str | None, customer: str | None, technician: str | None,
           logo: str | None, json_out: str | None, quiet: bool) -> int:
    """Judge RUN_DIR again from its events.jsonl and write its acceptance protocol into the folder:
    report.html (one file, works offline, prints as the PDF), report.pdf, report.junit.xml for CI,
    report.md for a ticket, results.json.

    Works on the folder of any command (run, calls, snmp audit, capture, analyze, demo), also one cut
    short by Ctrl-C, a crash or kill -9 (the protocol says "unvollständig" / "incomplete"). Missing
    evidence files or damaged log lines are listed on the cover. Exit status as the run's verdict
    (0 passed, 1 a criterion failed, 2 incomplete), or 2 when a format could not be written.
    """
    wanted = tuple(f.strip().lower() for f in formats.split(",") if f.strip())
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise click.BadParameter(f"{', '.join(unknown) or formats!r}: choose from {', '.join(FORMATS)}",
                                 param_hint="--format")
    options = Options(lang=lang, customer=customer, technician=technician, logo=Path(logo) if logo else None)
    return finish(Path(run_dir), json_out, quiet, formats=("json", *wanted), options=options)


@click.command(short_help="Full acceptance run against a local lab, then a failover drill.")
@click.option("--drill/--no-drill", default=True, show_default=True,
              help="After the acceptance run, a failover drill (the primary SBC fails while calls are up).")
@run_outputs
def demo(drill: bool, out: str, no_keep: bool, json_out: str | None, quiet: bool) -> int:
    """Full acceptance run against a lab started on this machine (loopback), then cleaned up.

    Starts a far-end responder, iperf3 servers, an SNMP agent serving demo switch and UPS walks and
    whatever else the probes need; runs the cloud-pbx-single-site profile; prints the verdict (the
    exit status is its). Then a failover drill in its own run folder: two responders as primary and
    secondary SBC, the primary killed while 4 calls are up: its calls are dropped, new calls fail
    over to the secondary; judged by the multi-site-sd-wan profile's failover criteria.
    """
    from ..lab.demo import run_demo, run_demo_drill

    status = conduct(run_demo, out, no_keep, json_out, quiet, formats=DEFAULT_FORMATS)
    if not drill or json_out:                # the JSON is the acceptance run's; the drill is its own run
        return status
    click.echo("\nFailover drill: the primary SBC fails while calls are up (a second run)")
    conduct(run_demo_drill, out, no_keep, None, quiet, formats=DEFAULT_FORMATS)
    return status
