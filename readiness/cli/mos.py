"""`readiness mos`: what-if E-model scores (ITU-T G.107) with every impairment term."""

from __future__ import annotations

import json

import click

from ..analysis.call_rating import rate_call, rate_mouth_to_ear
from ..errors import ReadinessError
from ..reports.rating import render


@click.command(short_help="What-if E-model (G.107) R and MOS, with every impairment term.")
@click.option("--codec", default="g711", show_default=True,
              help="g711 (= pcmu), pcmu, pcma, g722, g729 or opus. G.722 and Opus have no ITU-T values: "
                   "the score is flagged as an estimate.")
@click.option("--one-way-ms", type=float, required=True,
              help="One-way delay in ms. Mouth-to-ear (what the listener experiences) unless --network.")
@click.option("--network", is_flag=True,
              help="--one-way-ms is the network delay only; readiness adds jitter buffer, ptime and the "
                   "codec's lookahead to get mouth-to-ear (ITU-T G.107 Ta).")
@click.option("--jitter-buffer-ms", type=float, default=None,
              help="Jitter-buffer nominal depth in ms (with --network; default 40).")
@click.option("--ptime-ms", type=float, default=20.0, show_default=True, help="Packetisation interval (with --network).")
@click.option("--loss-pct", type=float, default=0.0, show_default=True, help="Packet loss in percent (0-100).")
@click.option("--discard-pct", type=float, default=0.0, show_default=True,
              help="Jitter-buffer discards in percent, added to loss.")
@click.option("--burst-ratio", type=float, default=1.0, show_default=True,
              help="BurstR: 1 = random loss, above 1 = losses come in bursts.")
@click.option("--plc/--no-plc", default=True, show_default=True,
              help="The receiver conceals lost packets (G.711 Appendix I). --no-plc only for G.711.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: r, mos, terms {Ro, Is, Id, Ie_eff, Ta_ms, ...}.")
def mos(codec: str, one_way_ms: float, network: bool, jitter_buffer_ms: float | None, ptime_ms: float,
        loss_pct: float, discard_pct: float, burst_ratio: float, plc: bool, as_json: bool) -> int:
    """E-model R and MOS (ITU-T G.107 06/2015, narrowband) for a delay, loss and codec.

    \b
    --one-way-ms is the MOUTH-TO-EAR delay: "what if one-way is 120 ms" means what the listener
    hears 120 ms after the talker speaks, codec and jitter buffer included. To start from a network
    delay (ping/2, the calls probe's one-way delay) add --network, and readiness builds
        mouth-to-ear = network + jitter buffer + ptime + codec lookahead.
    Echo delays are taken as T = mouth-to-ear, Tr = 2 x mouth-to-ear; other inputs are the
    G.107 Table 3 defaults. Codec values (Ie, Bpl) are ITU-T G.113 Appendix I.

    \b
    Example:  readiness mos --codec g711 --one-way-ms 120 --loss-pct 1 --burst-ratio 1.5
    """
    if jitter_buffer_ms is not None and not network:
        raise ReadinessError("--jitter-buffer-ms only applies with --network (then --one-way-ms is the network "
                             "delay); without --network, --one-way-ms already is mouth-to-ear")
    if network:
        rating = rate_call(codec, one_way_ms, 40.0 if jitter_buffer_ms is None else jitter_buffer_ms, loss_pct,
                           burst_ratio, ptime_ms, plc, discard_pct)
    else:
        rating = rate_mouth_to_ear(codec, one_way_ms, loss_pct, burst_ratio, plc, discard_pct)
    if as_json:
        click.echo(json.dumps(rating.to_json(), indent=2))
    else:
        click.echo(render(rating))
    return 0

