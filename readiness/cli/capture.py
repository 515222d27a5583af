"""`readiness capture` and `readiness analyze`: record packets on site, and read what they say. Both are
runs of the capture probe alone, judged by default against the capture-markings profile."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import profile as profile_mod
from ..config import site as site_mod
from ..config.site import Markings
from .run_options import conduct, run_outputs

DEFAULT_PROFILE = "capture-markings"


def _markings(site_file: str | None) -> Markings:
    return site_mod.load(site_file).markings if site_file else Markings()


def _run(name: str, command: str, site_file: str | None, profile_name: str | None, out: str, no_keep: bool,
         json_out: str | None, quiet: bool, **capture: object) -> int:
    from ..config import options
    from ..runner import execute, probe_criteria

    site = options.capture_site(markings=_markings(site_file), name=name, **capture)
    profile = profile_mod.load(profile_name or DEFAULT_PROFILE)
    criteria = probe_criteria(profile.criteria, ["capture"])
    return conduct(lambda parent, progress: execute(profile, site, parent, progress, command=command,
                                                    criteria=criteria), out, no_keep, json_out, quiet)


@click.command(short_help="Capture on an interface, then analyse the packets.")
@click.option("--interface", "-i", required=True, help="Interface to capture on (the phone port or a mirror port).")
@click.option("--duration", "-d", default="60 s", show_default=True,
              help="How long to capture ('60 s', '5 min'); Ctrl-C stops early (the run is then incomplete).")
@click.option("--filter", "-f", "bpf", help="BPF capture filter, e.g. 'udp or ether proto 0x88cc'.")
@click.option("--snaplen", type=click.IntRange(64, 262144), help="Bytes kept per packet (default: all).")
@click.option("--site", "site_file", type=click.Path(exists=True, dir_okay=False),
              help="Site file: its `markings:` say which DSCP and 802.1p priority to expect.")
@click.option("--profile", "profile_name", help=f"Profile whose capture criteria to judge (default {DEFAULT_PROFILE}).")
@run_outputs
def capture(interface: str, duration: str, bpf: str | None, snaplen: int | None, site_file: str | None,
            profile_name: str | None, out: str, no_keep: bool, json_out: str | None, quiet: bool) -> int:
    """Record packets with dumpcap into the run folder (artefacts/capture/capture.pcapng), then analyse
    them like `readiness analyze`.

    Run it while calls or `readiness run` are going on. Exit 0: the markings are as expected;
    1: media or signalling carry other markings; 2: could not capture, stopped with Ctrl-C (what was
    captured is still analysed), or no voice stream seen. Without SIP or 802.1Q tags those criteria
    are not applicable.
    """
    return _run(f"capture on {interface}", "capture", site_file, profile_name, out, no_keep, json_out, quiet,
                interface=interface, duration=duration, filter=bpf, snaplen=snaplen)


@click.command(short_help="Analyse a pcap/pcapng file: RTP, SIP, LLDP/CDP, DSCP.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--site", "site_file", type=click.Path(exists=True, dir_okay=False),
              help="Site file: its `markings:` say which DSCP and 802.1p priority to expect.")
@click.option("--profile", "profile_name", help=f"Profile whose capture criteria to judge (default {DEFAULT_PROFILE}).")
@run_outputs
def analyze(file: str, site_file: str | None, profile_name: str | None, out: str, no_keep: bool,
            json_out: str | None, quiet: bool) -> int:
    """Analyse FILE (pcap or pcapng): every RTP stream (found by SIP/SDP, else heuristically) with
    packets, loss, max delta, jitter, DSCP, VLAN/PCP and MOS, beside what the receiver's RTCP reports
    said (loss, jitter, round trip, XR VoIP metrics); T.38 fax after a re-INVITE; SIP calls with setup
    time and status;
    LLDP-MED / CDP voice VLAN, priority, DSCP and location; DSCP and 802.1Q histograms and the
    packets that break the expected markings (EF on media, CS3/AF31/CS5 on SIP unless --site says).

    Exit 0: the markings are as expected; 1: media or signalling carry other markings; 2: the file
    could not be read, or holds no voice stream. Without SIP or 802.1Q tags those criteria are not
    applicable.
    """
    path = Path(file).resolve()
    return _run(f"capture {path.name}", "analyze", site_file, profile_name, out, no_keep, json_out, quiet,
                file=str(path))
