"""RTP for test calls: packets (RFC 3550), per-call streams and the one sender loop they share."""
