"""Byte formats of test calls: the RTP header (rtp), RTCP (rtcp), the test stamp a reflected packet
carries (stamps) and the INVITE's authentication token (calltoken). No sockets, no clocks."""
