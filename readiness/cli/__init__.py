"""The `readiness` command. Thin: each command parses options, calls one function, sets the exit status.

Exit status everywhere: 0 all passed, 1 a criterion failed, 2 could not run (usage, config, missing
tool, incomplete run). Errors are one line on stderr; --debug adds the traceback.
"""

from __future__ import annotations

import sys
import traceback

import click

from .. import __version__
from ..errors import ConfigError, ReadinessError


class _Commands(click.Group):
    """Imports a command's module only when that command runs (or help lists them all): `readiness
    analyze` need not load the report, SNMP and call modules first (about 0.3 s of start-up)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [entry.partition(":")[2] for entry in COMMANDS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        import importlib

        for entry in COMMANDS:
            module, _, name = entry.partition(":")
            if name == cmd_name:
                return getattr(importlib.import_module(f"{__name__}.{module}"), name)
        return None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="readiness")
@click.option("--debug", is_flag=True, help="Show tracebacks and probe internals.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Is this network ready for voice? readiness places real calls, measures jitter and loss with
    iperf3, audits switches and UPSes over SNMP and checks captures, then judges everything against
    an acceptance profile and writes a report that says pass or fail, with the evidence.

    Start with `readiness demo`: a full acceptance run against a lab it starts on this machine.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


# "module:command" under readiness.cli; a command group adds its line here.
COMMANDS = [
    "runs:demo",
    "runs:run",
    "runs:report",
    "profiles:profiles",
    "site:site",
    "mos:mos",
    "snmp:snmp",
    "capture:capture",
    "capture:analyze",
    "calls:calls",
    "calls:responder",
    "bandwidth:bandwidth",
    "iperf:iperf",
    "path:path",
    "compare:compare",
    "pilot:pilot",
    "drill:drill",
]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        status = cli.main(args=args, prog_name="readiness", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("readiness: aborted", err=True)
        sys.exit(2)
    except ConfigError as e:
        for problem in e.problems:
            click.echo(problem, err=True)
        sys.exit(2)
    except ReadinessError as e:
        if debug:
            traceback.print_exc()
        click.echo(f"readiness: error: {e}", err=True)
        sys.exit(e.exit_status)
    except KeyboardInterrupt:
        click.echo("readiness: interrupted", err=True)
        sys.exit(2)
    except Exception as e:
        if debug:
            traceback.print_exc()
        click.echo(f"readiness: internal error: {type(e).__name__}: {e} (run with --debug for details)", err=True)
        sys.exit(2)
    sys.exit(status if isinstance(status, int) else 0)
