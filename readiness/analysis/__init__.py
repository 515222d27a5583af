"""Jitter, loss, bursts, reordering and the E-model: the one place readiness computes them.

Probes (calls, capture) measure packets and hand them here; reports and acceptance read the results.

* `rtp_stats.RtpStreamAnalyser`: live, per packet, O(1) memory per stream -> `StreamStats`
* `rtp_bulk.analyse_arrays` / `analyse_streams`: the same numbers from numpy arrays (captures)
* `rtp_chunks.RtpChunks`, `wireshark_chunks.WiresharkChunks`: the vectorised engines behind the bulk
  path, fed chunk by chunk so a long capture's memory does not grow (same numbers again)
* `wireshark_rtp`: the `tshark -z rtp,streams` rules (jitter mode "wireshark")
* `loss_bursts`: RFC 3611 burst/gap (Gmin 16) and Gilbert p, q, BurstR
* `intervals.IntervalStats`: per-second / per-200-ms loss, jitter, late packets -> `Series`
* `clock_rate`: which RTP clock to use (SDP, payload type, inferred from the timestamps)
* `emodel`: ITU-T G.107 R, MOS and every term; `call_rating`: mouth-to-ear build for calls
"""
