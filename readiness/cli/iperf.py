"""`readiness iperf`: iperf3 on its own, a run of the iperf probe: voice-sized UDP per direction, or
TCP capacity against what the planned calls need."""

from __future__ import annotations

import click

from ..model import Criterion
from .calls import CODECS, _dscp
from .run_options import conduct, run_outputs

LOADED = ("iperf.loaded_jitter_ms", "iperf.loaded_loss_pct")
VOICE = ("iperf.jitter_ms", "iperf.loss_pct")
CAPACITY = ("iperf.throughput_mbps", "iperf.capacity_spare_mbps")

# Capacity judged by a profile without a capacity criterion: does the link carry the planned calls' voice
# and the data headroom?
CAPACITY_ENOUGH = Criterion(
    id="capacity-enough", metric="iperf.capacity_spare_mbps", op=">=", threshold=0, unit="Mbps",
    threshold_text="0 Mbps", description="TCP capacity left after the planned calls' voice and the data headroom",
    source="voice bandwidth per call at Ethernet level (Cisco doc 7934 header assumptions; RTP RFC 3550)")


def _seconds(text: str) -> str:
    """A bare number is seconds, as --duration is in `readiness calls`."""
    try:
        return f"{float(text):g} s"
    except ValueError:
        return text


@click.command(short_help="iperf3 on its own: voice-sized UDP per direction, or TCP capacity against the calls.")
@click.option("--server", required=True, metavar="HOST[:PORT]", help="An iperf3 server (iperf3 -s; port 5201).")
@click.option("--mode", type=click.Choice(["voice", "capacity"]), default="voice", show_default=True,
              help="voice: UDP at the size and rate of N calls, marked --dscp; capacity: TCP throughput.")
@click.option("--direction", type=click.Choice(["up", "down", "both"]), default="both", show_default=True,
              help="up: this machine sends, down: the server sends (iperf3 -R).")
@click.option("--calls", "n_calls", type=click.IntRange(1, 1000), default=None,
              help="Calls to emulate (voice) or plan for (capacity); default: the site's calls.concurrent, else 10.")
@click.option("--codec", type=click.Choice(CODECS, case_sensitive=False), default=None,
              help="Codec of the calls (default: the site's, else pcmu).")
@click.option("--ptime", "ptime_ms", type=int, default=None, help="Packetisation, ms (default 20).")
@click.option("--duration", default="10 s", show_default=True, help="Length of each test (10 s, 1 min).")
@click.option("--busy-wait", default="30 s", show_default=True,
              help="How long to keep asking a server busy with another test (it serves one at a time).")
@click.option("--dscp", "media_dscp", default=None, help="DSCP on the voice UDP (default: the site's, else EF).")
@click.option("--site", "site_file", type=click.Path(dir_okay=False, exists=True),
              help="Take the planned calls, codec, markings and uplink (data headroom, VLAN, SRTP) from this site file.")
@click.option("--profile", "profile_name", default="voice-baseline", show_default=True,
              help="Profile whose iperf3 criteria judge the result.")
@run_outputs
def iperf(server: str, mode: str, direction: str, n_calls: int | None, codec: str | None, ptime_ms: int | None,
          duration: str, busy_wait: str, media_dscp: str | None, site_file: str | None, profile_name: str, out: str,
          no_keep: bool, json_out: str | None, quiet: bool) -> int:
    """Run iperf3 against --server as a run of its own.

    voice: one UDP stream per call at the codec's packet size and rate, marked --dscp; the receiver's
    jitter (RFC 3550, as iperf3 computes it) and loss per direction and per second. iperf3 only marks
    what it sends and does not report what arrived: the DSCP verdict per direction comes from
    `readiness calls` against a readiness responder.

    capacity: TCP throughput per direction (4 streams), against the bandwidth the planned calls need
    on the wire (Ethernet level: codec, ptime, 802.1Q tag and SRTP tag as the site's uplink says) plus
    the site's data headroom: iperf.capacity_spare_mbps is what is left.

    A busy server (another test running) is asked again every 2 s for --busy-wait. The run document
    (`--json`) holds `iperf` with `up` and `down` (packets, lost_packets, lost_pct, jitter_ms,
    bits_per_second, intervals), `capacity`, `server` and `iperf3_version`.

    Exit 0 when the profile's iperf3 criteria pass, 1 when one fails, 2 when iperf3 could not measure
    (no server, refused, busy, iperf3 missing) or something was not measured.
    """
    from ..config import options
    from ..config import profile as profile_mod
    from ..config import site as site_mod
    from ..config.site import Markings
    from ..runner import execute, probe_criteria

    base = site_mod.load(site_file) if site_file else None
    planned = n_calls or (base.calls.concurrent if base and base.calls else 10)
    markings = base.markings if base else Markings()
    if media_dscp:
        markings = Markings(media=_dscp(media_dscp, "--dscp"), signalling=markings.signalling)
    codec_name = (codec or (base.calls.codec if base and base.calls else "pcmu")).lower()
    site = options.iperf_site(
        server, mode=mode, markings=markings,
        uplink=base.uplink.model_dump() if base and base.uplink else None,
        duration=_seconds(duration), busy_wait=_seconds(busy_wait), direction=direction, voice_streams=planned,
        codec="pcmu" if codec_name == "g711" else codec_name,
        ptime_ms=ptime_ms or (base.calls.ptime_ms if base and base.calls else 20))
    profile = profile_mod.load(profile_name)
    criteria = probe_criteria(profile.criteria, ["iperf"],
                              leave_out=LOADED + (CAPACITY if mode == "voice" else VOICE))
    if mode == "capacity" and not any(c.metric == "iperf.capacity_spare_mbps" for c in criteria):
        criteria.append(CAPACITY_ENOUGH)
    return conduct(lambda parent, progress: execute(profile, site, parent, progress, command="iperf",
                                                    criteria=criteria), out, no_keep, json_out, quiet)
