"""Path checks towards the provider: what the way to the far end does to SIP (an ALG, a NAT)."""
