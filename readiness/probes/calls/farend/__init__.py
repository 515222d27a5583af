"""The far end of test calls (`readiness responder`): the SIP side that answers (responder) and the
reflector that sends each stamped media packet back (reflector; its loop in C: reflector_c)."""
