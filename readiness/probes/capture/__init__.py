"""Capture checks: record packets (live.py), read pcap/pcapng fast (pcap.py, layers.py), find RTP streams
(streams.py) and SIP calls (sip_calls.py), decode LLDP/CDP (discovery.py), count markings
(markings.py), and put it all together offline (analyze.py) or as the run's background probe (probe.py).
"""
