"""SIP signalling for synthetic calls (RFC 3261, 3264, 2617/7616) on one asyncio loop.

Public API (what the call load and the responder use):

- `UserAgent(SipConfig, Credentials)`: `call(target, offer, headers=...)` -> `Call`;
  `await call.wait()` -> `CallOutcome` (answered, status, cause, setup_ms, post_dial_delay_ms);
  `call.remote_media` (`MediaInfo`: address, port, payload type, clock, ptime); `call.hangup()`,
  `call.cancel()`, `call.reinvite()`; `options()` and `register()` -> `RequestOutcome`.
- `UserAgentServer(decide, SipConfig, UasLimits)`: `decide(IncomingCall)` returns `Accept(answer)`
  or `Reject(status)`; `listen("udp"|"tcp"|"tls", host, port)`.
- `sdp.offer()`, `sdp.answer()`, `sdp.negotiated()`; `SipConfig.dscp` marks all signalling;
  `CallOutcome.dscp_received` / `IncomingCall.dscp_received` say what DSCP arrived (UDP).
- `Timers` (T1/T2/T4) for the RFC 3261 retransmission timers.
"""

from . import sdp
from .digest import Credentials
from .endpoint import RequestFailed, SipConfig
from .sdp import MediaInfo, SessionDescription
from .in_dialog import Session
from .transaction import Timers
from .flow import DEFAULT_SIGNALLING_DSCP, TransportStats
from .transport import TransportLimits
from .uac import Call, CallOutcome, RequestOutcome, UserAgent, cause_for_status
from .uas import Accept, IncomingCall, Reject, UasLimits, UasStats, UserAgentServer

__all__ = ["sdp", "Credentials", "RequestFailed", "SipConfig", "MediaInfo", "SessionDescription", "Session",
           "Timers", "DEFAULT_SIGNALLING_DSCP", "TransportLimits", "TransportStats", "Call", "CallOutcome",
           "RequestOutcome", "UserAgent", "cause_for_status", "Accept", "IncomingCall", "Reject", "UasLimits",
           "UasStats", "UserAgentServer"]
