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

# Loaded on first use (PEP 562): a capture analysis reads SIP with `message` alone and need not load
# the user agent's transports and transactions.
_WHERE = {"sdp": "", "Credentials": "digest", "RequestFailed": "endpoint", "SipConfig": "endpoint",
          "MediaInfo": "sdp", "SessionDescription": "sdp", "Session": "in_dialog", "Timers": "transaction",
          "DEFAULT_SIGNALLING_DSCP": "flow", "TransportStats": "flow", "TransportLimits": "transport",
          "Call": "uac", "CallOutcome": "uac", "RequestOutcome": "uac", "UserAgent": "uac",
          "cause_for_status": "uac", "Accept": "uas", "IncomingCall": "uas", "Reject": "uas", "UasLimits": "uas",
          "UasStats": "uas", "UserAgentServer": "uas"}


def __getattr__(name: str) -> object:
    import importlib

    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_WHERE[name] or name}")
    return module if not _WHERE[name] else getattr(module, name)


__all__ = ["sdp", "Credentials", "RequestFailed", "SipConfig", "MediaInfo", "SessionDescription", "Session",
           "Timers", "DEFAULT_SIGNALLING_DSCP", "TransportLimits", "TransportStats", "Call", "CallOutcome",
           "RequestOutcome", "UserAgent", "cause_for_status", "Accept", "IncomingCall", "Reject", "UasLimits",
           "UasStats", "UserAgentServer"]
