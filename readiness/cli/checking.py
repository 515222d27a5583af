"""Checking config files from the command line: `profiles validate` and `site validate` alike."""

from __future__ import annotations

from typing import Callable, Iterable, TypeVar

import click

from ..errors import ConfigError

T = TypeVar("T")


def check_files(files: Iterable[str], load: Callable[[str], T], describe: Callable[[T], str]) -> int:
    """Load each file; print 'FILE: ok (...)' or every 'FILE:LINE: problem' on stderr. Exit 2 if any failed."""
    bad = 0
    for f in files:
        try:
            click.echo(describe(load(f)))
        except ConfigError as e:
            bad += 1
            for problem in e.problems:
                click.echo(problem, err=True)
    return 2 if bad else 0
