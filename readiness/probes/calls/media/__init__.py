"""The caller's RTP media: one stream per call (stream), the timing wheel that sends for all of them
(scheduler), the shared sockets of reflected calls (shared_port; its loops in C: shared_port_c), the
records they share (stream_types), per-call trace files (trace) and the engine's own process
(media_process)."""
