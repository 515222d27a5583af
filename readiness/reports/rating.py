"""An E-model rating as text: R, MOS and every impairment term (`readiness mos`)."""

from __future__ import annotations

from ..analysis.call_rating import CallRating
from ..analysis.emodel import satisfaction


def render(rating: CallRating) -> str:
    r = rating.result
    codec = rating.codec.upper() + ("" if rating.plc else " without PLC")
    lines = [f"E-model (ITU-T G.107 06/2015, narrowband), codec {codec}"
             + (" - ESTIMATE (no ITU-T codec values)" if rating.estimate else ""),
             f"  R {r.R:6.1f}   MOS {r.MOS:.2f}   ({satisfaction(r.R)})", ""]
    if rating.network_delay_ms is not None:
        ta = (f"{r.Ta_ms:.1f} ms = network {rating.network_delay_ms:g} + jitter buffer {rating.jitter_buffer_ms:g}"
              f" + ptime {rating.ptime_ms:g} + lookahead {rating.lookahead_ms:g}")
    else:
        ta = f"{r.Ta_ms:.1f} ms (as given)"
    rows = [
        ("Ro", r.Ro, "basic signal-to-noise ratio"),
        ("Is", r.Is, "simultaneous impairments (loudness, sidetone, quantisation)"),
        ("Id", r.Id, f"delay: talker echo {r.Idte:.2f} + listener echo {r.Idle:.2f} + pure delay {r.Idd:.2f}"),
        ("Ie_eff", r.Ie_eff, f"codec and loss: Ie {r.Ie:g}, Bpl {r.Bpl:g}, Ppl {r.Ppl:g} %, BurstR {r.BurstR:g}"),
        ("A", r.A, "advantage factor"),
    ]
    lines.append(f"  mouth-to-ear Ta {ta}")
    lines.append("  R = Ro - Is - Id - Ie_eff + A")
    lines += [f"  {name:<7}{value:7.2f}  {what}" for name, value, what in rows]
    lines += [f"  note: {n}" for n in rating.notes]
    return "\n".join(lines)
