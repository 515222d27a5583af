"""What every run command shares: the options for the run folder and its output, and the end of every
run (judge the folder, print, write the JSON, exit status). One place, so `run`, `calls`, `snmp audit`,
`capture` and `analyze` behave alike."""

from __future__ import annotations

import shutil
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import click

from ..config import profile as profile_mod
from ..config.profile import Profile
from ..errors import ReadinessError
from ..progress import NullProgress, Progress, RichProgress
from ..reports.document import DEFAULT_FORMATS, render, write_json
from ..results import exit_status

if TYPE_CHECKING:
    from ..reports.protocol import Options

DEFAULT_OUT = Path("reports")
SECRET_HELP = "env:VARIABLE or file:PATH (never the secret itself)"


def derived_outputs(name: str, schema: str, default_out: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--format, --lang, --out, --json [OUT], --quiet of a document made from several runs (compare, pilot)."""
    def add(f: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed([
            click.option("--format", "formats", default="html,md,json", show_default=True, metavar="LIST",
                         help="Comma-separated: html, md, json."),
            click.option("--lang", type=click.Choice(["de", "en"]), help="Language; default: as the latest run's report."),
            click.option("--out", type=click.Path(file_okay=False),
                         help=f"Folder for {name}.html/.md/.json; default: {default_out}."),
            click.option("--json", "json_out", is_flag=False, flag_value="-", default=None, metavar="[OUT]",
                         help=f"Write it (schema {schema}) to OUT; '-' prints it."),
            click.option("--quiet", "-q", is_flag=True, help="No tables."),
        ]):
            f = option(f)
        return f
    return add


def derived_formats(formats: str) -> list[str]:
    kinds = [f.strip().lower() for f in formats.split(",") if f.strip()]
    for k in kinds:
        if k not in ("html", "md", "json"):
            raise click.BadParameter(f"{k!r}: html, md or json", param_hint="--format")
    return kinds


def run_outputs(f: Callable[..., Any]) -> Callable[..., Any]:
    """--out, --no-keep, --json [OUT], --quiet."""
    for option in reversed([
        click.option("--out", "out", type=click.Path(file_okay=False), default=str(DEFAULT_OUT), show_default=True,
                     help="Folder to create the run folder in."),
        click.option("--no-keep", is_flag=True, help="Do not keep the run folder (print or --json only)."),
        click.option("--json", "json_out", is_flag=False, flag_value="-", default=None, metavar="[OUT]",
                     help="Write the run document (schema readiness.run/1) to OUT; without OUT or with '-', "
                          "print it instead of the tables."),
        click.option("--quiet", "-q", is_flag=True, help="No progress, no tables."),
    ]):
        f = option(f)
    return f


def load_profile(name: str, base_ok: bool = False) -> Profile:
    """A profile by name or file. A base profile (abstract) judges a one-probe command, never a whole run."""
    profile = profile_mod.load(name)
    if profile.abstract and not base_ok:
        raise ReadinessError(f"profile {profile.name} is a base for other profiles; pick one that extends it")
    return profile


@contextmanager
def run_place(out: str, no_keep: bool) -> Iterator[Path]:
    """The parent folder of the run folder; with --no-keep a temporary one, removed afterwards."""
    if not no_keep:
        yield Path(out)
        return
    tmp = Path(tempfile.mkdtemp(prefix="readiness-run-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def progress_for(json_out: str | None, quiet: bool) -> Iterator[Progress]:
    progress: Progress = NullProgress() if quiet or json_out == "-" else RichProgress()
    try:
        yield progress
    finally:
        progress.close()


def conduct(start: Callable[[Path, Progress], Path], out: str, no_keep: bool, json_out: str | None,
            quiet: bool, formats: tuple[str, ...] = ("json",)) -> int:
    """Start a run (`start(parent_folder, progress)` returns its folder), then finish it, writing
    `formats` into the folder: results.json always; the acceptance run and the demo add report.html
    (about 1.5 s of plots a one-probe command does not spend unless `readiness report` asks).

    While the run measures, SIGTERM stops it like Ctrl-C (runner.execute); before and after that, a
    SIGTERM is ignored, so a `kill` never leaves a run folder without its results. Ignored by a handler,
    not SIG_IGN: programs started meanwhile (iperf3, dumpcap, lab servers) would inherit SIG_IGN and
    then not stop when asked."""
    previous = signal.signal(signal.SIGTERM, _ignore)
    try:
        with run_place(out, no_keep) as parent:
            with progress_for(json_out, quiet) as progress:
                run_dir = start(parent, progress)
            return finish(run_dir, json_out, quiet, keep=not no_keep, formats=formats)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _ignore(signum: int, frame: object) -> None:
    return None


def finish(run_dir: Path, json_out: str | None, quiet: bool, keep: bool = True,
           formats: tuple[str, ...] = DEFAULT_FORMATS, options: Options | None = None) -> int:
    """Judge the stored run, write its documents and JSON, print it; the exit status of the run's
    verdict, or 2 when a document asked for could not be written."""
    rendering = render(run_dir, formats, options)
    results = rendering.results
    if json_out:
        write_json(results, json_out, rendering.json_text)
    if not quiet and json_out != "-":
        from ..reports.console import print_run      # rich and the section printers: only to print

        print_run(results)
        if keep:
            names = ", ".join(p.name for p in rendering.written)
            click.echo(f"Run folder: {run_dir}  ({names}, events.jsonl)")
            if "html" not in formats:
                click.echo(f"The acceptance protocol (HTML, PDF): readiness report {run_dir}")
    elif not results.complete:
        click.echo(f"readiness: incomplete: {results.interrupted_reason}", err=True)
    for problem in rendering.problems:
        click.echo(f"readiness: {problem}", err=True)
    return 2 if rendering.problems else exit_status(results.verdict)
