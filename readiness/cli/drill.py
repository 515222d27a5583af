"""`readiness drill`: a failover drill (calls held while someone pulls the primary line), and
`readiness drill --mark TEXT`, which gives a running drill a mark from another shell."""

from __future__ import annotations

from pathlib import Path

import click

from ..config.site import Markings
from .calls import _secret
from .run_options import SECRET_HELP, conduct, load_profile, run_outputs


@click.command(short_help="Failover drill: did calls survive, how long was media gone, when did new calls work.")
@click.option("--site", "site_file", type=click.Path(exists=True, dir_okay=False),
              help="Site file: its drill: section (targets, calls, duration) and calls:/responder:.")
@click.option("--to", "targets", multiple=True, metavar="SIP_URI",
              help="Without a site file: a target, several times in failover order (primary first).")
@click.option("--key", "key_ref", metavar="REF", help=f"The responder's key: {SECRET_HELP}.")
@click.option("--key-file", type=click.Path(dir_okay=False), help="Same as --key file:PATH.")
@click.option("--profile", "profile_name", help="Profile whose failover criteria judge the drill "
              "(default: the site file's, else multi-site-sd-wan).")
@click.option("--calls", "n_calls", type=click.IntRange(1, 2000), help="Calls held for the whole drill [20].")
@click.option("--duration", type=float, help="Seconds the drill holds its calls [300].")
@click.option("--new-calls-every", type=float, help="Seconds between short new test calls, 0: none [2].")
@click.option("--failover-timeout", type=float, help="Seconds without an answer before the next target [4].")
@click.option("--dns-server", metavar="HOST[:PORT]",
              help="DNS server for a target given as a domain (sip:user@example.com: SRV, RFC 3263).")
@click.option("--transport", type=click.Choice(["udp", "tcp", "tls"]), default="udp", show_default=True)
@click.option("--mark", "mark_text", metavar="TEXT",
              help="Do not drill: give the drill running on this machine a mark (\"primary pulled\").")
@run_outputs
def drill(site_file: str | None, targets: tuple[str, ...], key_ref: str | None, key_file: str | None,
          profile_name: str | None, n_calls: int | None, duration: float | None, new_calls_every: float | None,
          failover_timeout: float | None, dns_server: str | None, transport: str, mark_text: str | None, out: str, no_keep: bool,
          json_out: str | None, quiet: bool) -> int:
    """Hold --calls calls for --duration seconds while someone fails the primary line (pulls the WAN
    cable, fails over the SBC, powers off a switch), and place a short new test call every
    --new-calls-every seconds beside them, to the targets in failover order as a phone does (the
    next one on a timeout, 503 or 408; the primary again 30 s after it failed).

    Press Enter when you pull the cable and when you put it back (or run `readiness drill --mark
    TEXT` in another shell); marks are optional: outages are found from the media itself. For
    each outage: start, end, media gap per call and direction (exact to a packet: the last packet
    before and the first after), calls survived and dropped, the time until new calls worked again,
    and quality before, during and after; which address the far end saw our calls come from
    (a backup line's NAT shows as a second one). Against `readiness responder` (give its key).

    Exit 0 when the profile's failover criteria pass, 1 when one fails, 2 when the drill could not run.
    """
    from ..config import options
    from ..config import site as site_mod
    from ..probes.drill import marks
    from ..runner import execute, probe_criteria

    if mark_text is not None:
        if not marks.send(mark_text.encode("utf-8"), marks.socket_path()):
            click.echo(f"readiness: no drill is running on this machine for this user ({marks.socket_path()})",
                       err=True)
            return 2
        if not quiet:
            click.echo(f"mark given: {mark_text}")
        return 0
    given = {k: v for k, v in (("calls", n_calls), ("duration", None if duration is None else f"{duration:g} s"),
                                ("new_calls_every", None if new_calls_every is None else f"{new_calls_every:g} s"),
                                ("failover_timeout", None if failover_timeout is None else f"{failover_timeout:g} s"),
                                ("dns_server", dns_server))
             if v is not None}
    if site_file and targets:
        raise click.UsageError("give --site or --to, not both (the site file's drill.targets lists them)")
    if site_file:
        site = options.with_drill(site_mod.load(site_file), **given)
    elif targets:
        key = _secret(key_ref, "--key", file=key_file)
        site = options.drill_site(list(targets), key=key, markings=Markings(), transport=transport, **given)
    else:
        raise click.UsageError("give --site SITE.yaml, or --to sip:... (several times in failover order)")
    profile = load_profile(profile_name or site.profile or "multi-site-sd-wan")
    criteria = probe_criteria(profile.criteria, ["drill"])
    return conduct(lambda parent, progress: execute(profile, site, parent, progress, only=["drill"], command="drill",
                                                    criteria=criteria), out, no_keep, json_out, quiet)
