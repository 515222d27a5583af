"""UDP I/O of the media path: sockets that mark and report DSCP and kernel receive times (udpsock),
batched recvmmsg/sendmmsg into fixed buffers (mmsg), and the binding to the per-packet loops in C
(media_loops, built from ../csrc/)."""
