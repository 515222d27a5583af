"""SNMP audit of switches and UPSes: poll (client, poll), parse (switch, vlans, poe, lldp, ups), judge
against the site plan (audit), record (probe), store raw values (snapshot)."""
