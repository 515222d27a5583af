"""Synthetic call load. The caller side is at this level: the load (load), each direction's packets
(directions), per-call scoring (scoring), the run's records (records), the capacity search (capacity)
and the probe (probe). Below: SIP signalling (sip/), the caller's media (media/), byte formats
(wire/), UDP I/O (io/), the far end (farend/), and the C sources of the per-packet loops (csrc/)."""
