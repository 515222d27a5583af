"""Dialog state (RFC 3261 12): identifiers, CSeq counters, remote target and route set, and the
building of requests inside a dialog (BYE, re-INVITE, ACK for 2xx).

In-dialog requests leave on the flow the dialog was made on. That is what RFC 5626 does for
connection-oriented flows, and it keeps working when the peer's Contact is an address we cannot
reach directly (an ephemeral TCP port, a NAT); requests still carry the RFC 12.2.1.1 Request-URI
and Route set, so a proxy on the path routes them as usual.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .message import Headers, Request, Response
from .flow import Flow
from .uri import NameAddr


@dataclass
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_party: str           # our From (UAC) / To (UAS) value, with our tag
    remote_party: str          # theirs, with their tag
    remote_target: str         # URI from the peer's Contact
    route_set: list[str] = field(default_factory=list)
    local_cseq: int = 1
    remote_cseq: int = 0
    flow: Flow | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def for_uac(cls, invite: Request, resp: Response, flow: Flow) -> "Dialog":
        """From the 2xx to our INVITE (12.1.2): route set is the Record-Route in reverse."""
        contacts = resp.headers.get_all("Contact")
        target = NameAddr.parse(contacts[0]).uri if contacts else invite.uri
        routes = list(reversed(resp.headers.get_all("Record-Route")))
        return cls(invite.call_id, invite.from_.tag, resp.to.tag, invite.headers.get("From") or "",
                   resp.headers.get("To") or "", target, routes, invite.cseq[0], 0, flow)

    @classmethod
    def for_uas(cls, invite: Request, local_tag: str, flow: Flow) -> "Dialog":
        """From an INVITE we answer (12.1.1): route set is the Record-Route in order."""
        contacts = invite.headers.get_all("Contact")
        target = NameAddr.parse(contacts[0]).uri if contacts else invite.from_.uri
        to = NameAddr.parse(invite.headers.get("To") or "").with_tag(local_tag)
        return cls(invite.call_id, local_tag, invite.from_.tag, str(to), invite.headers.get("From") or "",
                   target, invite.headers.get_all("Record-Route"), 0, invite.cseq[0], flow)

    def request(self, method: str, headers: Headers | None = None, body: bytes = b"",
                content_type: str | None = None, cseq: int | None = None) -> Request:
        """A request in this dialog without its Via (the endpoint adds it). ACK and CANCEL pass the
        INVITE's `cseq`; others take the next local CSeq (12.2.1.1)."""
        if cseq is None:
            self.local_cseq += 1
            cseq = self.local_cseq
        uri = self.remote_target
        routes = list(self.route_set)
        if routes and ";lr" not in routes[0]:
            # strict router (RFC 2543): its URI becomes the Request-URI, the target goes last
            uri = NameAddr.parse(routes[0]).uri
            routes = routes[1:] + [f"<{self.remote_target}>"]
        h = Headers([("From", self.local_party), ("To", self.remote_party), ("Call-ID", self.call_id),
                     ("CSeq", f"{cseq} {method}")])
        for r in routes:
            h.add("Route", r)
        if headers is not None:
            for name, value in headers:
                h.add(name, value)
        if body and content_type:
            h.add("Content-Type", content_type)
        return Request(method, uri, h, body)

    def accept_remote_cseq(self, req: Request) -> bool:
        """12.2.2: a lower CSeq than the last one is out of order (answer 500)."""
        number = req.cseq[0]
        if number < self.remote_cseq:
            return False
        self.remote_cseq = number
        return True
