"""`readiness capture` and `readiness analyze`: record packets on site, and read what they say."""

from __future__ import annotations

from pathlib import Path

import click

from ..probes.capture import session


@click.command(short_help="Capture on an interface, then analyse the packets.")
@click.option("--interface", "-i", required=True, help="Interface to capture on (the phone port or a mirror port).")
@click.option("--duration", "-d", default="60 s", show_default=True,
              help="How long to capture ('60 s', '5 min'); Ctrl-C stops early and still analyses.")
@click.option("--filter", "-f", "bpf", help="BPF capture filter, e.g. 'udp or ether proto 0x88cc'.")
@click.option("--out", "-o", type=click.Path(file_okay=False), default="captures", show_default=True,
              help="Folder for the pcapng file.")
@click.option("--site", "site_file", type=click.Path(exists=True, dir_okay=False),
              help="Site file: its `markings:` say which DSCP and 802.1p priority to expect.")
@click.option("--json", "json_out", metavar="OUT", help="Write the analysis as JSON to OUT ('-' for stdout).")
@click.option("--snaplen", type=click.IntRange(64, 262144), help="Bytes kept per packet (default: all).")
def capture(interface: str, duration: str, bpf: str | None, out: str, site_file: str | None,
            json_out: str | None, snaplen: int | None) -> int:
    """Record packets with dumpcap into a pcapng file, then analyse it like `readiness analyze`.

    Run it while calls or `readiness run` are going on. Exit 0: analysed and the markings are as
    expected; 1: media or signalling carry other markings than expected; 2: could not capture.
    """
    return session.capture_command(interface, duration, bpf, Path(out), site_file, json_out, snaplen)


@click.command(short_help="Analyse a pcap/pcapng file: RTP, SIP, LLDP/CDP, DSCP.")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--site", "site_file", type=click.Path(exists=True, dir_okay=False),
              help="Site file: its `markings:` say which DSCP and 802.1p priority to expect.")
@click.option("--json", "json_out", metavar="OUT", help="Write the analysis as JSON to OUT ('-' for stdout).")
@click.option("--quiet", "-q", is_flag=True, help="No table (with --json).")
def analyze(file: str, site_file: str | None, json_out: str | None, quiet: bool) -> int:
    """Analyse FILE (pcap or pcapng): every RTP stream (found by SIP/SDP, else heuristically) with
    packets, loss, max delta, jitter, DSCP, VLAN/PCP and MOS; SIP calls with setup time and status;
    LLDP-MED / CDP voice VLAN, priority, DSCP and location; DSCP and 802.1Q histograms and the
    packets that break the expected markings (EF on media, CS3/AF31/CS5 on SIP unless --site says).

    Exit 0: analysed and the markings are as expected; 1: media or signalling carry other markings;
    2: the file could not be read.
    """
    return session.analyze_command(Path(file), site_file, json_out, quiet)
