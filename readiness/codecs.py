"""Voice codecs: RTP clock, packet sizes and the E-model values (ITU-T G.113 Appendix I) for each.

Shared by the call generator (packet size and timing), iperf3 voice emulation (bitrate), the
capture analysis (clock rate for jitter) and the E-model (Ie, Bpl).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Codec:
    name: str
    payload_type: int          # static PT (RFC 3551) or the dynamic PT we offer
    encoding: str              # SDP rtpmap encoding name
    clock_rate: int            # RTP timestamp clock, Hz (G.722 uses 8000: RFC 3551 4.5.2)
    bitrate_bps: int           # codec bitrate
    ie: float                  # equipment impairment (G.113 App. I)
    bpl: float                 # packet-loss robustness
    lookahead_ms: float        # algorithmic delay, part of G.107's mouth-to-ear Ta (values as bgrewell/loom codec.go)
    itu_values: bool = True    # False: Ie/Bpl are not published by ITU-T; MOS is an estimate

    def payload_bytes(self, ptime_ms: int = 20) -> int:
        return self.bitrate_bps * ptime_ms // 8000

    def samples_per_packet(self, ptime_ms: int = 20) -> int:
        return self.clock_rate * ptime_ms // 1000


CODECS: dict[str, Codec] = {
    # G.711 with Appendix I PLC: Ie 0, Bpl 25.1 (ITU-T G.113 Appendix I). Phones conceal loss.
    "pcmu": Codec("pcmu", 0, "PCMU", 8000, 64000, 0.0, 25.1, 0.25),
    "pcma": Codec("pcma", 8, "PCMA", 8000, 64000, 0.0, 25.1, 0.25),
    # G.722: no ITU-T G.113 narrowband value was found: G.711 values as an estimate.
    "g722": Codec("g722", 9, "G722", 8000, 64000, 0.0, 25.1, 0.25, itu_values=False),
    # G.729A + VAD at 20 ms: Ie 11, Bpl 19 (ITU-T G.113 Appendix I, as loom and OPAL use it); lookahead 5 ms.
    "g729": Codec("g729", 18, "G729", 8000, 8000, 11.0, 19.0, 5.0),
    # Opus has no ITU-T Ie/Bpl; loom's provisional IeWB 5 / BplWB 15 is not narrowband-comparable,
    # so narrowband G.711-with-PLC values are used and the MOS is flagged as an estimate.
    "opus": Codec("opus", 111, "opus", 48000, 32000, 0.0, 25.1, 6.5, itu_values=False),
}

# G.711 without PLC, for what-if questions: Bpl 4.3 (ITU-T G.113 Appendix I).
G711_NO_PLC_BPL = 4.3


def get(name: str) -> Codec:
    try:
        return CODECS[name.lower()]
    except KeyError:
        raise KeyError(f"unknown codec {name!r} (known: {', '.join(CODECS)})") from None


STATIC_CLOCK_RATES = {0: 8000, 3: 8000, 4: 8000, 5: 8000, 6: 16000, 7: 8000, 8: 8000, 9: 8000, 10: 44100,
                      11: 44100, 12: 8000, 13: 8000, 14: 90000, 15: 8000, 16: 11025, 17: 22050, 18: 8000,
                      25: 90000, 26: 90000, 28: 90000, 31: 90000, 32: 90000, 33: 90000, 34: 90000}
"""RFC 3551 table 4/5 static payload types -> RTP clock rate."""
