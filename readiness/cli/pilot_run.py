"""`readiness run --repeat`: the options of a scheduled pilot checked, the schedule run, the pilot
summarised."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable

import click

from .. import store
from ..config.site import SiteSpec
from ..progress import Progress
from ..units import parse_duration_s
from .run_options import conduct


def pilot_run(start: Callable[[Path, Progress], Path], site: SiteSpec, profile: str, every: str, count: int | None,
              until: str | None, out: str, json_out: str | None, quiet: bool) -> int:
    from ..reports import pilot_document
    from ..schedule import repeat

    try:
        every_s = parse_duration_s(every)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--repeat") from None
    if every_s <= 0:
        raise click.BadParameter("a period longer than 0", param_hint="--repeat")
    end = None
    if until:
        try:
            end = dt.datetime.fromisoformat(until).timestamp()
        except ValueError:
            raise click.BadParameter(f"{until!r}: write YYYY-MM-DDTHH:MM (local time)", param_hint="--until") from None
    if count is None and end is None:
        raise click.UsageError("--repeat needs --count N or --until YYYY-MM-DDTHH:MM")
    folder = Path(out) / f"pilot-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{store.slug(profile)}-{store.slug(site.site)}"
    folder.mkdir(parents=True, exist_ok=False)
    say = (lambda text: None) if quiet else (lambda text: click.echo(f"pilot: {text}", err=True))
    made: list[Path] = []

    def once() -> Path | None:
        before = set(folder.iterdir())
        conduct(start, str(folder), False, None, True)
        new = sorted(set(folder.iterdir()) - before)
        if new:
            made.append(new[-1])
        return new[-1] if new else None

    say(f"runs every {every}, into {folder}")
    repeat(once, every_s, count, end, say)
    if not made:
        raise click.ClickException("no run was made")
    return pilot_document.write([folder], ["html", "md", "json"], None, folder, json_out, quiet)
