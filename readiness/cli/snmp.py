"""`readiness snmp audit` and `readiness snmp snapshot`: the infrastructure audit over SNMP on its own."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..config import profile as profile_mod
from ..config import site as site_mod
from ..errors import ReadinessError
from ..progress import NullProgress, RichProgress
from ..results import exit_status

SECRET_HELP = "env:VARIABLE or file:PATH (never the value itself)"


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
@click.option("--json", "json_out", metavar="OUT", help="Write the audit as JSON to OUT ('-': stdout).")
@click.option("--quiet", "-q", is_flag=True, help="No progress, no tables.")
def audit(site_file: str | None, devices: tuple[str, ...], host: str | None, role: str | None,
          community: str | None, v3_user: str | None, auth_protocol: str, auth_key: str | None,
          priv_protocol: str, priv_key: str | None, voice_vlan: int | None, phone_ports: tuple[str, ...],
          uplink_ports: tuple[str, ...], phones: int | None, poe_class: int, timeout: str, retries: int,
          profile_name: str | None, json_out: str | None, quiet: bool) -> int:
    """Judge every switch and UPS against the plan.

    Polls all devices concurrently and prints, per device, what it found and each criterion's
    verdict. Either --site SITE.yaml, or --host HOST[:PORT] --role switch|ups with --community REF or
    --v3-user USER --auth-key REF --priv-key REF. Exit 0 all passed, 1 a criterion failed,
    2 something could not be measured or run.
    """
    from ..probes.snmp.standalone import DEFAULT_PROFILE, audit_site, one_device_site

    if bool(site_file) == bool(host):
        raise click.UsageError("give either --site SITE.yaml or --host HOST[:PORT] --role ROLE")
    if host:
        if not role:
            raise click.UsageError("--host needs --role switch|ups")
        if not community and not v3_user:
            raise click.UsageError("--host needs --community REF or --v3-user USER")
        site = one_device_site(host, role, community, v3_user, auth_protocol, auth_key, priv_protocol, priv_key,
                               timeout, retries, voice_vlan, phone_ports, uplink_ports, phones, poe_class)
    else:
        site = site_mod.load(site_file)  # type: ignore[arg-type]
    profile = profile_mod.load(profile_name or site.profile or DEFAULT_PROFILE)
    progress = NullProgress() if quiet or json_out == "-" else RichProgress()
    try:
        result = audit_site(site, profile, devices or None, progress, only_present_roles=bool(host))
    finally:
        progress.close()
    doc = result.to_json()
    if json_out == "-":
        click.echo(json.dumps(doc, indent=2, default=str))
    elif json_out:
        _write(Path(json_out), doc)
    if not quiet and json_out != "-":
        from ..probes.snmp.console import print_audit

        print_audit(result)
        if json_out:
            click.echo(f"JSON: {json_out}")
    return exit_status(result.verdict)


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
    from ..probes.snmp.standalone import take_snapshot

    site = site_mod.load(site_file)
    progress = NullProgress() if quiet or as_json else RichProgress()
    try:
        index, polled = take_snapshot(site, Path(out), devices or None, progress)
    finally:
        progress.close()
    if as_json:
        click.echo(index.read_text())
    elif not quiet:
        for p in polled:
            state = f"{len(p.walk)} values" if p.reachable else f"not reachable: {p.error}"
            problems = f" ({len(p.walk.problems)} tables incomplete)" if p.walk.problems else ""
            click.echo(f"{p.target.label:<20} {p.target.role:<7} {state}{problems}")
        click.echo(f"Snapshot: {index}")
    return 0 if all(p.reachable for p in polled) else 2


def _write(path: Path, doc: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2, default=str))
    except OSError as e:
        raise ReadinessError(f"cannot write {path}: {e.strerror or e}") from None
