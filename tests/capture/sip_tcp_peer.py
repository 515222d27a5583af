"""One end of the SIP-over-TCP capture test, run inside a namespace: `server HOST PORT SCRIPT` or
`client HOST PORT SCRIPT`. SCRIPT is JSON: [delay_s, "tcp", text] writes text on the connection (each
write is its own send; the kernel splits it at the path's MSS), [delay_s, "rtp", [local_port, host,
port, ssrc, count]] sends count G.711 RTP packets 20 ms apart over UDP."""

import json
import socket
import struct
import sys
import time

role, host, port, script = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
if role == "server":
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(1)
    conn, _ = ls.accept()
else:
    conn = socket.create_connection((host, port), timeout=10)
conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for delay, kind, what in script:
    time.sleep(delay)
    if kind == "tcp":
        conn.sendall(what.encode())
        continue
    local, dst, dport, ssrc, count = what
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("", local))
    for seq in range(count):
        u.sendto(struct.pack(">BBHII", 0x80, 0, seq, 160 * seq, ssrc) + b"\xff" * 160, (dst, dport))
        time.sleep(0.02)
    u.close()
time.sleep(0.3)
conn.close()
