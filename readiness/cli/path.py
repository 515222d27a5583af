"""`readiness path`: what the way to the provider does to SIP (a run of the path probe)."""

from __future__ import annotations

import click

from ..model import Criterion
from .calls import _dscp, _secret
from .run_options import SECRET_HELP, conduct, run_outputs

# Judged when the profile says nothing of it: the path must hand SIP over as it was sent.
NO_SIP_ALG = Criterion(
    id="no-sip-alg", metric="path.sip_rewritten", op="==", threshold=False, unit="bool", threshold_text="no",
    description="the path leaves our INVITE's Via, Contact, From and SDP addresses as sent",
    source="RFC 3261 and RFC 4566 carry addresses in the message; a SIP ALG that rewrites them breaks calls "
           "through NAT-aware SBCs, and providers ask for it to be switched off")


@click.command(short_help="What the path to a readiness responder does to SIP: SIP ALG, NAT.")
@click.option("--to", "target", required=True, metavar="sip:test@HOST[:PORT]", help="A readiness responder.")
@click.option("--key", "key_ref", metavar="REF", help=f"The responder's key: {SECRET_HELP}.")
@click.option("--key-file", type=click.Path(dir_okay=False), help="Same as --key file:PATH.")
@click.option("--transport", "transports", default="udp,tcp", show_default=True,
              help="SIP transports to check, one after another.")
@click.option("--sip-dscp", default="CS3", show_default=True, help="DSCP on SIP.")
@run_outputs
def path(target: str, key_ref: str | None, key_file: str | None, transports: str, sip_dscp: str, out: str,
         no_keep: bool, json_out: str | None, quiet: bool) -> int:
    """Send one authenticated INVITE per transport to a readiness responder and hang up when it is
    answered. The responder's 200 OK says, signed with the key, what arrived: the top Via, Contact,
    From and the SDP o=, c= and m= lines, and the source address it saw. Whatever differs from what
    was sent, the path changed: "SIP ALG detected: Contact 10.0.0.5 -> 198.51.100.7". A different
    source address alone is a NAT, which is fine.

    Exit 0 when nothing was rewritten, 1 when the path rewrote SIP, 2 when it could not be checked.
    """
    from ..config import options
    from ..config import profile as profile_mod
    from ..config.site import Markings
    from ..runner import execute, probe_criteria

    key = _secret(key_ref, "--key", file=key_file)
    if key is None:
        raise click.UsageError("give the responder's key: --key env:VAR or --key file:PATH")
    kinds = [t.strip().lower() for t in transports.split(",") if t.strip()]
    for k in kinds:
        if k not in ("udp", "tcp"):
            raise click.BadParameter(f"{k!r}: udp and/or tcp", param_hint="--transport")
    site = options.path_site(target, key=key, transports=kinds,
                             markings=Markings(signalling=[_dscp(sip_dscp, "--sip-dscp")]))
    profile = profile_mod.load("voice-baseline")
    criteria = probe_criteria(profile.criteria, ["path"])
    if not any(c.metric == "path.sip_rewritten" for c in criteria):
        criteria.append(NO_SIP_ALG)
    return conduct(lambda parent, progress: execute(profile, site, parent, progress, command="path",
                                                    criteria=criteria), out, no_keep, json_out, quiet)
