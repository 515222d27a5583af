"""`readiness snmp audit` and `readiness snmp snapshot`: the infrastructure audit over SNMP on its own."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import site as site_mod
from ..errors import ReadinessError
from .run_options import SECRET_HELP, conduct, load_profile, progress_for, run_outputs

DEFAULT_PROFILE = "site-lan"


@click.group()
def snmp() -> None:
    """Audit switches and UPSes over SNMP.

    Voice VLAN, PoE budget, interfaces, LLDP-MED voice policy and UPS runtime, judged against the
    site plan and a profile. Secrets (community, v3 keys) are read from environment variables or files, never from the
    command line.
    """


@snmp.command()
@click.option("--site", "site_file", type=click.Path(dir_okay=False), help="Site file with an snmp: section.")
@click.option("--device", "devices", multiple=True, metavar="NAME", help="Only these devices of the site file.")
@click.option("--host", help="One device without a site file: HOST[:PORT].")
@click.option("--role", type=click.Choice(["switch", "ups"]), help="With --host: what the device is.")
@click.option("--community", metavar="REF", help=f"With --host, SNMPv2c community: {SECRET_HELP}.")
@click.option("--v3-user", metavar="USER", help="With --host: SNMPv3 user (authPriv with --auth-key/--priv-key).")
@click.option("--auth-protocol", type=click.Choice(["SHA", "SHA224", "SHA256", "SHA384", "SHA512", "MD5"]),
              default="SHA256", show_default=True)
@click.option("--auth-key", metavar="REF", help=f"SNMPv3 authentication key: {SECRET_HELP}.")
@click.option("--priv-protocol", type=click.Choice(["AES128", "AES192", "AES256", "DES"]), default="AES128",
              show_default=True)
@click.option("--priv-key", metavar="REF", help=f"SNMPv3 privacy key: {SECRET_HELP}.")
@click.option("--voice-vlan", type=int, help="With --host: the planned voice VLAN.")
@click.option("--phone-ports", multiple=True, metavar="PORTS", help="With --host: phone ports (Gi1/0/1-24, ifIndex).")
@click.option("--uplink-ports", multiple=True, metavar="PORTS", help="With --host: uplinks on the voice path.")
@click.option("--phones", type=int, help="With --host: phones planned on this switch (PoE headroom).")
@click.option("--poe-class", type=click.IntRange(0, 8), default=2, show_default=True, help="PoE class of the phones.")
@click.option("--timeout", default="2 s", show_default=True, help="With --host: per request.")
@click.option("--retries", type=click.IntRange(0, 10), default=1, show_default=True, help="With --host.")
@click.option("--profile", "profile_name", help="Profile whose SNMP criteria to judge "
              "(default: the site file's profile, else site-lan).")
@run_outputs
def audit(site_file: str | None, devices: tuple[str, ...], host: str | None, role: str | None,
          community: str | None, v3_user: str | None, auth_protocol: str, auth_key: str | None,
          priv_protocol: str, priv_key: str | None, voice_vlan: int | None, phone_ports: tuple[str, ...],
          uplink_ports: tuple[str, ...], phones: int | None, poe_class: int, timeout: str, retries: int,
          profile_name: str | None, out: str, no_keep: bool, json_out: str | None, quiet: bool) -> int:
    """Judge every switch and UPS against the plan: a run of the SNMP probe alone.

    Polls all devices concurrently and prints, per device, what it found and each criterion's
    verdict. Either --site SITE.yaml, or --host HOST[:PORT] --role switch|ups with --community REF or
    --v3-user USER --auth-key REF --priv-key REF. Exit 0 all passed, 1 a criterion failed,
    2 something could not be measured or run.
    """
    from ..config import options
    from ..probes.snmp.audit import role_of
    from ..runner import execute, probe_criteria

    if bool(site_file) == bool(host):
        raise click.UsageError("give either --site SITE.yaml or --host HOST[:PORT] --role ROLE")
    if host:
        if not role:
            raise click.UsageError("--host needs --role switch|ups")
        if not community and not v3_user:
            raise click.UsageError("--host needs --community REF or --v3-user USER")
        site = options.snmp_site(host, role, community=options.secret(community, "--community"), user=v3_user,
                                 auth_protocol=auth_protocol, auth_key=options.secret(auth_key, "--auth-key"),
                                 priv_protocol=priv_protocol, priv_key=options.secret(priv_key, "--priv-key"),
                                 timeout=timeout, retries=retries, voice_vlan=voice_vlan, phone_ports=phone_ports,
                                 uplink_ports=uplink_ports, phones=phones, poe_class=poe_class)
    else:
        site = site_mod.load(site_file)  # type: ignore[arg-type]
        if devices:
            if site.snmp is None:
                raise ReadinessError(f"{site.file}: the site file has no snmp: section")
            site.snmp.only = list(devices)
    profile = load_profile(profile_name or site.profile or DEFAULT_PROFILE, base_ok=True)
    # The counters during the test need traffic between two polls: only `readiness run` has it.
    criteria = probe_criteria(profile.criteria, ["snmp"], leave_out=["if.errors_during_test"])
    if host:  # one device: criteria about the other kind of device do not apply
        criteria = [c for c in criteria if role_of(c.metric) in (role, None)]
    return conduct(lambda parent, progress: execute(profile, site, parent, progress, command="snmp audit",
                                                    criteria=criteria), out, no_keep, json_out, quiet)


@snmp.command()
@click.option("--site", "site_file", required=True, type=click.Path(dir_okay=False), help="Site file.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder to write the snapshot to.")
@click.option("--device", "devices", multiple=True, metavar="NAME", help="Only these devices.")
@click.option("--json", "as_json", is_flag=True, help="Print the snapshot index as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress.")
def snapshot(site_file: str, out: str, devices: tuple[str, ...], as_json: bool, quiet: bool) -> int:
    """Store the raw SNMP values of every device.

    One .snmprec per device plus snapshot.json. Evidence behind verdicts and the base of before/after comparisons; snmpsim can serve the files
    again. Exit 0 if every device answered, 2 otherwise.
    """
    from ..probes.snmp import snapshot as snapshot_mod

    site = site_mod.load(site_file)
    if devices and site.snmp is not None:
        site.snmp.only = list(devices)
    with progress_for("-" if as_json else None, quiet) as progress:
        index, polled = snapshot_mod.take(site, Path(out), progress)
    if as_json:
        click.echo(index.read_text())
    elif not quiet:
        for p in polled:
            state = f"{len(p.walk)} values" if p.reachable else f"not reachable: {p.error}"
            problems = f" ({len(p.walk.problems)} tables incomplete)" if p.walk.problems else ""
            click.echo(f"{p.target.label:<20} {p.target.role:<7} {state}{problems}")
        click.echo(f"Snapshot: {index}")
    return 0 if all(p.reachable for p in polled) else 2

