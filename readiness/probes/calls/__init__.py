"""Synthetic call load: SIP signalling (sip/), RTP media, the far-end responder and the load orchestrator."""
