"""A SIP end to run inside a test namespace: `uas` answers until SIGTERM, `call` places one call.

    python3 -m tests.calls.sip.node uas --host 10.77.0.2 --ready FILE [--dscp N] [--cert C --key K]
    python3 -m tests.calls.sip.node call --target URI --out FILE [--dscp N] [--cafile C] [--hold S]

Both write JSON: the UAS its bound ports (ready file) and, at exit, its stats to stdout; the caller
its CallOutcome, the INVITE transmission times and the BYE status.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import ssl
from dataclasses import asdict

from readiness.probes.calls.sip import SipConfig, UserAgent, UserAgentServer

from .conftest import answering, pcmu_offer


async def uas(args) -> None:
    tls = None
    if args.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.cert, args.key)
    seen: list = []
    server = UserAgentServer(answering(address=args.host, seen=seen), SipConfig(dscp=args.dscp, tls_server=tls))
    ports = {"udp": (await server.listen("udp", args.host, 5060))[1],
             "tcp": (await server.listen("tcp", args.host, 5060))[1]}
    if tls:
        ports["tls"] = (await server.listen("tls", args.host, 5061))[1]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    with open(args.ready, "w") as fh:
        json.dump(ports, fh)
    await stop.wait()
    stats = asdict(server.stats)
    await server.close()
    print(json.dumps({"stats": stats, "malformed": server.endpoint.transports.stats.malformed,
                      "invite_dscp": [[c.source.transport, c.dscp_received] for c in seen]}))


async def call(args) -> None:
    tls = ssl.create_default_context(cafile=args.cafile) if args.cafile else None
    cfg = SipConfig(transport=args.transport, dscp=args.dscp, tls_client=tls)
    async with UserAgent(cfg) as ua:
        c = ua.call(args.target, pcmu_offer(address=args.media_host))
        out = await c.wait(60)
        sent = c.invite_transmissions_ns
        bye = None
        if out.answered:
            await asyncio.sleep(args.hold)
            bye = await c.hangup()
    result = {"answered": out.answered, "status": out.status, "cause": out.cause, "detail": out.detail,
              "setup_ms": out.setup_ms, "retransmissions": out.retransmissions,
              "invite_sent_s": [(t - sent[0]) / 1e9 for t in sent], "bye": bye,
              "dscp_received": out.dscp_received}
    with open(args.out, "w") as fh:
        json.dump(result, fh)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["uas", "call"])
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--ready")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--dscp", type=int, default=24)
    p.add_argument("--target")
    p.add_argument("--transport", default="udp")
    p.add_argument("--cafile")
    p.add_argument("--media-host", default="127.0.0.1")
    p.add_argument("--hold", type=float, default=0.2)
    p.add_argument("--out")
    args = p.parse_args()
    asyncio.run(asyncio.wait_for(uas(args) if args.role == "uas" else call(args), 120))


if __name__ == "__main__":
    main()
