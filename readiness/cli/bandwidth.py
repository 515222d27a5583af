"""`readiness bandwidth`: what voice calls take on the wire, and what the site's uplink leaves for data."""

from __future__ import annotations

import json

import click

from ..analysis import bandwidth as bw
from ..errors import ReadinessError


@click.command(short_help="Voice bitrate per call and in total, layer by layer, and what the uplink leaves for data.")
@click.option("--codec", default=None, metavar="CODEC",
              help="g711 (= pcmu), pcmu, pcma, g722, g729 or opus. Default: the site's calls.codec, else g711.")
@click.option("--calls", "n_calls", type=int, default=None,
              help="Concurrent calls. Default: the site's calls.concurrent, else 1.")
@click.option("--ptime", "ptime_ms", type=int, default=None,
              help="Packetisation interval in ms (10-120). Default: the site's calls.ptime_ms, else 20.")
@click.option("--vlan", is_flag=True, help="Voice frames carry an IEEE 802.1Q tag (4 B more; also set by uplink.vlan).")
@click.option("--srtp", is_flag=True, help="Media is SRTP: a 10 B authentication tag per packet (RFC 3711 "
              "HMAC-SHA1-80; also set by uplink.srtp).")
@click.option("--ipv6", is_flag=True, help="IPv6: a 40 B IP header instead of 20.")
@click.option("--site", "site_file", type=click.Path(dir_okay=False), metavar="SITE.yaml",
              help="Compare with the site's uplink: (up_mbps, down_mbps, data_headroom_mbps) and take calls, "
                   "codec and ptime from its calls: when not given.")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: per_call, total (ip_bps, ethernet_bps, wire_bps), voice_need_bps, uplink.")
def bandwidth(codec: str | None, n_calls: int | None, ptime_ms: int | None, vlan: bool, srtp: bool, ipv6: bool,
              site_file: str | None, as_json: bool) -> int:
    """The bitrate voice calls need, one direction (each call sends as much each way), layer by layer:

    \b
      IP        RTP payload + RTP 12 B (RFC 3550) + UDP 8 B + IP 20 B (IPv6 40 B),
                + 10 B SRTP authentication tag (RFC 3711) with --srtp
      Ethernet  IP + 18 B per frame (14 B header + 4 B FCS), + 4 B with an 802.1Q tag:
                the figure to plan a line with, and the voice need below
      on wire   Ethernet + 20 B per frame (preamble and SFD 8 B, inter-frame gap 12 B):
                what the calls take of an Ethernet link's raw rate

    Header sizes as Cisco doc 7934's header assumptions: G.711 at 20 ms is 87.2 kbit/s Ethernet, 95.2
    on the wire. Opus is variable bitrate: its figure holds at its nominal 32 kbit/s.

    With --site, the site file's uplink: says what is left for data in each direction once the
    voice need is served, and whether voice plus data_headroom_mbps fits the line.

    \b
    Example:  readiness bandwidth --codec g711 --calls 30 --vlan
    """
    up = down = None
    headroom = 0.0
    if site_file:
        from ..config import site as site_mod

        spec = site_mod.load(site_file)
        if spec.uplink is None:
            raise ReadinessError(f"{spec.file}: no uplink: section (up_mbps, down_mbps) to compare the voice need "
                                 "with")
        up, down, headroom = spec.uplink.up_mbps, spec.uplink.down_mbps, spec.uplink.data_headroom_mbps
        vlan, srtp = vlan or spec.uplink.vlan, srtp or spec.uplink.srtp
        if spec.calls is not None:
            codec = codec or spec.calls.codec
            n_calls = spec.calls.concurrent if n_calls is None else n_calls
            ptime_ms = spec.calls.ptime_ms if ptime_ms is None else ptime_ms
    plan = bw.plan(codec or "g711", 1 if n_calls is None else n_calls, 20 if ptime_ms is None else ptime_ms,
                   vlan=vlan, srtp=srtp, ipv6=ipv6, up_mbps=up, down_mbps=down, data_headroom_mbps=headroom)
    click.echo(json.dumps(plan.to_json(), indent=2) if as_json else render(plan, site_file))
    return 0


def render(plan: bw.Plan, site_file: str | None = None) -> str:
    c = plan.call
    lines = [f"{bw.LABELS.get(c.codec, c.codec)}, {c.ptime_ms} ms packets: {c.packets_per_s:g} packets/s, "
             f"payload {c.payload_bytes} B, IP packet {c.ip_packet_bytes} B ({'IPv6' if plan.ipv6 else 'IPv4'}"
             f"{', SRTP' if plan.srtp else ''}), Ethernet frame {c.ethernet_frame_bytes} B"
             f"{' (802.1Q)' if plan.vlan else ''}, on wire {c.wire_bytes} B",
             f"  per call, each direction:  IP {c.ip_bps / 1e3:.1f} kbit/s   Ethernet {c.ethernet_bps / 1e3:.1f} "
             f"kbit/s   on wire {c.wire_bps / 1e3:.1f} kbit/s"]
    if plan.calls > 1:
        lines.append(f"  {plan.calls} calls, each direction:  IP {_mbit(plan.total('ip'))}   Ethernet "
                     f"{_mbit(plan.total('ethernet'))}   on wire {_mbit(plan.total('wire'))}")
    if c.note():
        lines.append(f"  {c.note()}")
    if plan.directions:
        lines.append(f"Uplink{' (' + site_file + ')' if site_file else ''}: voice needs {_mbit(plan.voice_need_bps)} "
                     "each direction (Ethernet figure)")
        for d in plan.directions:
            lines.append(f"  {d.name:<4} {_mbit(d.line_bps)} line: " + _verdict(d))
    lines.append("Header sizes: Cisco doc 7934 header assumptions; RTP RFC 3550; SRTP RFC 3711.")
    return "\n".join(lines)


def _verdict(d: bw.Direction) -> str:
    if d.voice_bps > d.line_bps:
        return (f"nothing left for data; TOO SMALL: voice alone exceeds the line by "
                f"{_mbit(d.voice_bps - d.line_bps)}")
    left = f"{_mbit(d.left_for_data_bps)} left for data"
    if not d.fits:
        return (f"{left}; TOO SMALL: voice + data headroom ({_mbit(d.voice_bps)} + {_mbit(d.data_headroom_bps)}) "
                f"exceed the line by {_mbit(-d.spare_bps)}")
    if d.data_headroom_bps:
        return f"{left}, {_mbit(d.spare_bps)} beyond the data headroom of {_mbit(d.data_headroom_bps)}: fits"
    return left


def _mbit(bps: float) -> str:
    return f"{bps / 1e6:.2f} Mbit/s"
