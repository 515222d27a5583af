"""Per metric, the words a customer reads: what is checked (title), the quantity in a sentence
(noun, with its article), what a failure means for calls (effect), and what to do about it (measure).

Measures may name `{where}` (the subject that failed, in words), `{vlan}` (the site's voice VLAN) and
`{threshold}` (the requirement's value with unit); `findings` fills them. Every metric of the
catalogue has an entry; a test holds the table to that.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Words:
    title_de: str
    title_en: str
    noun_de: str              # with its article: "die Sprachqualität"
    noun_en: str              # "the voice quality"
    measure_de: str
    measure_en: str
    effect_de: str = ""       # what a failure means for calls, one clause
    effect_en: str = ""
    plural: bool = False      # noun_de is plural ("die Fehlerzähler lagen ...")

    def noun(self, code: str, article: bool = True) -> str:
        text = self.noun_de if code == "de" else self.noun_en
        if article:
            return text
        first, _, rest = text.partition(" ")
        return rest if first.lower() in ("der", "die", "das", "the") and rest else text


# Shared wordings: several metrics call for the same repair.
_GENERATOR_DE = ("Messung mit weniger gleichzeitigen Anrufen oder auf einem weniger ausgelasteten Messrechner "
                 "wiederholen (Energiesparmodus aus, kabelgebunden)")
_GENERATOR_EN = ("Repeat the test with fewer concurrent calls or on a less loaded test computer (power saving off, "
                 "wired)")
_RESPONDER_DE = ("Gegenstelle (readiness responder) auf einem weniger ausgelasteten Rechner betreiben oder die Messung "
                 "mit weniger gleichzeitigen Anrufen wiederholen")
_RESPONDER_EN = "Run the far end (readiness responder) on a less loaded computer, or repeat with fewer concurrent calls"
_UNSURE_DE = "die Messwerte des Netzes sind nicht belastbar, das Netz wird dafür nicht verantwortlich gemacht"
_UNSURE_EN = "the network's values are not conclusive and are not held against it"
_LOSS_DE = ("Überlastete oder fehlerhafte Strecke suchen (Schnittstellenfehler, Auslastung am WAN-Übergang); "
            "Sprache (EF) in eine Prioritäts-Warteschlange legen und den Uplink unterhalb seiner Bandbreite shapen")
_LOSS_EN = ("Find the congested or faulty link (interface errors, utilisation at the WAN edge); put voice (EF) in a "
            "priority queue and shape the uplink below its bandwidth")
_JITTER_DE = ("Sprache (EF) am WAN-Übergang und auf den Switches in die Prioritäts-Warteschlange legen; "
              "Bulk-Verkehr shapen, damit Sprachpakete nicht hinter großen Paketen warten")
_JITTER_EN = ("Put voice (EF) in the priority queue at the WAN edge and on the switches; shape bulk traffic so "
              "voice packets do not wait behind large ones")
_DELAY_DE = ("Weg zur Gegenstelle verkürzen (näherer Rechenzentrums-Standort des Anbieters, kein Umweg über VPN), "
             "Puffer durch Shaping statt Warteschlangen vermeiden, Jitter-Puffer der Telefone kleiner einstellen")
_DELAY_EN = ("Shorten the path to the far end (a nearer provider data centre, no detour through a VPN), avoid "
             "queueing by shaping, set the phones' jitter buffer smaller")
_REMARK_DE = ("Ein Gerät auf dem Weg (Provider-/WAN-Übergang oder ein Switch) setzt die Markierung EF zurück: "
              "dort DSCP vertrauen (trust dscp) oder Sprache wieder als EF markieren; beim Provider die "
              "Sprachklasse beauftragen")
_REMARK_EN = ("A device on the path (the provider/WAN edge or a switch) re-marks EF: configure it to trust DSCP or "
              "to mark voice as EF again; order the voice class from the provider")
_QUALITY_DE = "Gesprächspartner hören Aussetzer oder verzerrte Sprache"
_QUALITY_EN = "callers hear dropouts or distorted speech"
_DELAY_EFFECT_DE = "Gesprächspartner fallen einander ins Wort, Echo wird hörbar"
_DELAY_EFFECT_EN = "callers talk over each other and echo becomes audible"
_IPERF_DE = ("Strecke zum iperf3-Server prüfen: Auslastung, Schnittstellenfehler, QoS-Prioritäts-Warteschlange für "
             "EF am WAN-Übergang")
_IPERF_EN = "Check the path to the iperf3 server: utilisation, interface errors, a QoS priority queue for EF at the WAN edge"
_LOAD_DE = ("Unter Last leidet die Sprache: QoS am Engpass (meist der Internet-Uplink) einrichten, Sprache (EF) "
            "priorisieren und den Uplink knapp unter seiner Bandbreite shapen")
_LOAD_EN = ("Voice suffers under load: set up QoS at the bottleneck (usually the internet uplink), prioritise voice "
            "(EF) and shape the uplink just below its bandwidth")
_UPS_DE = "Akkus der USV tauschen oder die USV für die geforderte Laufzeit von {threshold} auslegen (Last verringern, Akkuerweiterung)"
_UPS_EN = "Replace the UPS batteries or size the UPS for the required runtime of {threshold} (reduce the load, add battery packs)"
_LLDP_DE = ("LLDP-MED auf den Telefonports einschalten und die Sprach-Netzwerkrichtlinie setzen: Voice-VLAN {vlan}, "
            "Priorität 5, DSCP EF")
_LLDP_EN = "Enable LLDP-MED on the phone ports with a voice network policy: voice VLAN {vlan}, priority 5, DSCP EF"
_NO_ANSWER_DE = "Gesprächspartner hören sich nicht oder nur einseitig"
_NO_ANSWER_EN = "callers do not hear each other, or only one way"
_POWER_DE = "Bei einem Stromausfall fallen die Telefone aus"
_POWER_EN = "phones go dark in a power cut"

W = Words
MEASURES: dict[str, Words] = {
    # --- calls --------------------------------------------------------------------------------------
    "call.answered_pct": W("Angenommene Testanrufe", "Test calls answered", "der Anteil angenommener Anrufe",
                           "the share of answered calls",
                           "SIP-Registrierung und Trunk beim Anbieter prüfen, Firewall/NAT für SIP und RTP freigeben "
                           "(SIP-ALG abschalten), Rufnummer und Ziel der Testanrufe prüfen",
                           "Check the SIP registration and the trunk at the provider, open the firewall/NAT for SIP and "
                           "RTP (turn off the SIP ALG), check the number and target of the test calls",
                           "ein Teil der Anrufe kommt nicht zustande", "some calls do not connect"),
    "call.failed": W("Fehlgeschlagene Testanrufe", "Failed test calls", "die Zahl fehlgeschlagener Anrufe",
                     "the number of failed calls",
                     "Ursachen der Fehlschläge im Anrufprotokoll prüfen: SIP-Registrierung, Trunk, Firewall/NAT, "
                     "Kapazität des Anschlusses",
                     "Check the causes in the call log: SIP registration, trunk, firewall/NAT, the line's capacity",
                     "ein Teil der Anrufe kommt nicht zustande", "some calls do not connect"),
    "call.setup_ms": W("Rufaufbauzeit (INVITE bis 200 OK)", "Call setup time (INVITE to 200 OK)",
                       "die Rufaufbauzeit", "the call setup time",
                       "Antwortzeit der Telefonanlage bzw. des Anbieters und DNS-Auflösung prüfen; SIP-Weg ohne Umwege",
                       "Check the PBX's or provider's response time and DNS resolution; keep the SIP path direct",
                       "Anrufer warten lange auf das Gespräch", "callers wait long for the call to connect"),
    "call.post_dial_delay_ms": W("Wahlverzug (INVITE bis Freiton)", "Post-dial delay (INVITE to ringback)",
                                 "der Wahlverzug", "the post-dial delay",
                                 "Antwortzeit der Telefonanlage bzw. des Anbieters und DNS-Auflösung prüfen",
                                 "Check the PBX's or provider's response time and DNS resolution",
                                 "Anrufer hören lange nichts nach dem Wählen", "callers hear nothing for long after dialling"),
    "call.mos": W("Sprachqualität (MOS) je Anruf und Richtung", "Voice quality (MOS) per call and direction",
                  "die Sprachqualität", "the voice quality",
                  "Ursache in Paketverlust, Jitter und Laufzeit dieser Richtung suchen (siehe dort); Sprache (EF) "
                  "durchgängig priorisieren", "Look for the cause in this direction's loss, jitter and delay (see "
                  "there); prioritise voice (EF) end to end", _QUALITY_DE, _QUALITY_EN),
    "call.mos_drop": W("Verlust an Sprachqualität (MOS) unter Last je Anruf und Richtung",
                       "Voice quality (MOS) lost under load per call and direction",
                       "der MOS-Verlust unter Last", "the MOS lost under load", _LOAD_DE, _LOAD_EN,
                       "bei Downloads oder Backups werden Gespräche hörbar schlechter",
                       "calls get audibly worse during downloads or backups"),
    "call.r_factor": W("Übertragungsgüte (R-Faktor) je Anruf und Richtung",
                       "Transmission rating (R factor) per call and direction", "der R-Faktor", "the R factor",
                       "Ursache in Paketverlust, Jitter und Laufzeit dieser Richtung suchen; Sprache (EF) durchgängig "
                       "priorisieren", "Look for the cause in this direction's loss, jitter and delay; prioritise "
                       "voice (EF) end to end", _QUALITY_DE, _QUALITY_EN),
    "call.mouth_to_ear_ms": W("Mund-zu-Ohr-Verzögerung", "Mouth-to-ear delay", "die Mund-zu-Ohr-Verzögerung",
                              "the mouth-to-ear delay", _DELAY_DE, _DELAY_EN, _DELAY_EFFECT_DE, _DELAY_EFFECT_EN),
    "call.capacity_calls": W("Gleichzeitige Gespräche in guter Qualität", "Concurrent calls at good quality",
                             "die Zahl gleichzeitiger Gespräche", "the number of concurrent calls",
                             "Bandbreite des Anschlusses erhöhen oder Sprache priorisieren; Codec mit geringerer "
                             "Bitrate prüfen", "Increase the line's bandwidth or prioritise voice; consider a codec "
                             "with a lower bit rate", "zu Spitzenzeiten leidet die Sprachqualität",
                             "voice quality suffers at peak times"),
    "rtp.loss_pct": W("Paketverlust der Sprache je Richtung", "Voice packet loss per direction", "der Paketverlust",
                      "the packet loss", _LOSS_DE, _LOSS_EN, _QUALITY_DE, _QUALITY_EN),
    "rtp.burst_ratio": W("Häufung der Paketverluste (Burst-Ratio)", "Clustering of packet loss (burst ratio)",
                         "die Burst-Ratio", "the burst ratio", _LOSS_DE, _LOSS_EN,
                         "Gesprächspartner hören Lücken von mehreren Silben", "callers hear gaps of several syllables"),
    "rtp.burst_density_pct": W("Verlustdichte in Verlustphasen", "Loss density in bursts", "die Verlustdichte",
                               "the burst density", _LOSS_DE, _LOSS_EN,
                               "Gesprächspartner hören Lücken von mehreren Silben", "callers hear gaps of several syllables"),
    "rtp.jitter_ms": W("Laufzeitschwankung (Jitter) je Richtung", "Delay variation (jitter) per direction",
                       "der Jitter", "the jitter", _JITTER_DE, _JITTER_EN, _QUALITY_DE, _QUALITY_EN),
    "rtp.rtt_ms": W("Umlaufzeit der Sprachpakete", "Media round-trip time", "die Umlaufzeit", "the round-trip time",
                    _DELAY_DE, _DELAY_EN, _DELAY_EFFECT_DE, _DELAY_EFFECT_EN),
    "rtp.one_way_delay_ms": W("Netzlaufzeit je Richtung", "Network one-way delay per direction", "die Netzlaufzeit",
                              "the one-way delay", _DELAY_DE, _DELAY_EN, _DELAY_EFFECT_DE, _DELAY_EFFECT_EN),
    "rtp.reorder_pct": W("Vertauschte Sprachpakete", "Voice packets out of order", "der Anteil vertauschter Pakete",
                         "the share of reordered packets",
                         "Lastverteilung über mehrere Wege (ECMP, Bonding, SD-WAN) für Sprache auf einen Weg festlegen",
                         "Pin voice to one path where traffic is balanced over several (ECMP, bonding, SD-WAN)",
                         _QUALITY_DE, _QUALITY_EN),
    "rtp.duplicate_pct": W("Doppelt empfangene Sprachpakete", "Duplicate voice packets",
                           "der Anteil doppelter Pakete", "the share of duplicate packets",
                           "Schleifen oder gespiegelte Ports auf dem Weg suchen (Spanning Tree, Port-Mirroring)",
                           "Look for loops or mirrored ports on the path (spanning tree, port mirroring)",
                           "Bandbreite wird verschwendet, Telefone können stocken", "bandwidth is wasted, phones may stutter"),
    "rtp.dscp_received": W("Markierung der Sprache am Ziel (DSCP)", "Voice marking at the far end (DSCP)",
                           "die empfangene Markierung", "the marking received", _REMARK_DE, _REMARK_EN,
                           "Sprache wird bei Last nicht bevorzugt", "voice is not preferred under load"),
    "rtp.dscp_remarked_pct": W("Unterwegs umgeschriebene Sprachmarkierung (DSCP)", "Voice marking re-written on the way (DSCP)",
                               "der Anteil umgeschriebener Pakete", "the share of re-marked packets",
                               _REMARK_DE, _REMARK_EN, "Sprache wird bei Last nicht bevorzugt",
                               "voice is not preferred under load"),
    "rtp.schedule_error_ms": W("Sendetakt des Messgeräts", "Sending schedule of the test device",
                               "die Sendetakt-Abweichung", "the schedule error",
                               "Messung auf einem weniger ausgelasteten Messrechner wiederholen (Energiesparmodus aus, "
                               "kabelgebunden)", "Repeat the test on a less loaded test computer (power saving off, wired)",
                               "die Messwerte dieser Messung sind unsicher", "this test's values are uncertain"),
    "generator.slip_max_ms": W("Sendetakt des Messgeräts (größte Abweichung)", "Sending schedule of the test device "
                               "(largest slip)", "die größte Abweichung vom Sendetakt", "the largest slip",
                               _GENERATOR_DE, _GENERATOR_EN, _UNSURE_DE, _UNSURE_EN),
    "generator.late_packets": W("Verspätet gesendete Pakete des Messgeräts", "Packets the test device sent late",
                                "die Zahl verspäteter Pakete", "the number of late packets",
                                _GENERATOR_DE, _GENERATOR_EN, _UNSURE_DE, _UNSURE_EN),
    "generator.hold_max_ms": W("Antwortzeit der Gegenstelle (readiness responder)", "Hold time of the far end "
                               "(readiness responder)", "die längste Haltezeit", "the longest hold",
                               _RESPONDER_DE, _RESPONDER_EN, _UNSURE_DE, _UNSURE_EN),
    "generator.late_replies": W("Verspätete Antworten der Gegenstelle", "Late replies of the far end",
                                "die Zahl verspäteter Antworten", "the number of late replies",
                                _RESPONDER_DE, _RESPONDER_EN, _UNSURE_DE, _UNSURE_EN),
    "sip.dscp_received": W("Markierung der Signalisierung (SIP-DSCP)", "Signalling marking (SIP DSCP)",
                           "die SIP-Markierung", "the SIP marking",
                           "SIP am Telefon bzw. an der Telefonanlage als CS3 markieren und auf dem Weg die Markierung "
                           "vertrauen (trust dscp)", "Mark SIP as CS3 at the phones or PBX and trust the marking on the way",
                           "Anrufe können bei Last verzögert aufgebaut werden", "calls may set up late under load"),
    # --- iperf3 -------------------------------------------------------------------------------------
    "iperf.jitter_ms": W("Jitter von Sprachpaketen (iperf3)", "Jitter of voice-sized packets (iperf3)", "der Jitter",
                         "the jitter", _IPERF_DE, _IPERF_EN, _QUALITY_DE, _QUALITY_EN),
    "iperf.loss_pct": W("Verlust von Sprachpaketen (iperf3)", "Loss of voice-sized packets (iperf3)",
                        "der Paketverlust", "the packet loss", _IPERF_DE, _IPERF_EN, _QUALITY_DE, _QUALITY_EN),
    "iperf.throughput_mbps": W("Übertragungsrate der Strecke (iperf3 TCP)", "Link throughput (iperf3 TCP)",
                               "die Übertragungsrate", "the throughput",
                               "Gebuchte Bandbreite beim Anbieter prüfen, Duplex und Auslastung des Uplinks prüfen",
                               "Check the bandwidth ordered from the provider, the uplink's duplex and utilisation",
                               "für die geplanten Gespräche reicht die Bandbreite nicht", "the bandwidth is too small for the planned calls"),
    "path.sip_rewritten": W("SIP unterwegs zum Anbieter umgeschrieben (SIP-ALG)",
                            "SIP rewritten on the way to the provider (SIP ALG)", "das SIP-ALG", "the SIP ALG",
                            "SIP-ALG (SIP-Helper, SIP-Transformation) am Router/der Firewall abschalten: {where}",
                            "Switch off the SIP ALG (SIP helper, SIP transformation) on the router/firewall: {where}",
                            "Anrufe bleiben stumm, brechen ab oder eingehende Anrufe kommen nicht an",
                            "calls have no audio, drop, or incoming calls do not arrive"),
    "path.nat": W("NAT auf dem Weg zum Anbieter", "NAT on the way to the provider", "die Adressumsetzung (NAT)",
                  "the NAT", "Nichts zu tun: NAT ist üblich; den Keep-Alive-Abstand an die NAT-Bindung anpassen",
                  "Nothing to do: NAT is common; set the keep-alive interval to the NAT binding's lifetime",
                  "", ""),
    "path.large_invite_ok": W("Große SIP-Nachrichten über UDP", "Large SIP messages over UDP",
                              "die Zustellung großer INVITEs", "the delivery of large INVITEs",
                              "IP-Fragmente an Router/Firewall durchlassen oder SIP über TCP/TLS einrichten; "
                              "die Codec-Liste der Telefone kürzen",
                              "Let IP fragments pass the router/firewall, or use SIP over TCP/TLS; shorten the "
                              "phones' codec list", "Anrufe von Telefonen mit langer Codec-Liste scheitern",
                              "calls from phones with a long codec list fail"),
    "path.fragments_pass": W("IP-Fragmente auf dem Weg zum Anbieter", "IP fragments on the way to the provider",
                             "die Weiterleitung von Fragmenten", "the forwarding of fragments",
                             "Router/Firewall so einstellen, dass IP-Fragmente weitergeleitet werden",
                             "Set the router/firewall to forward IP fragments",
                             "SIP-Nachrichten über der MTU gehen verloren", "SIP messages above the MTU are lost"),
    "path.mtu_bytes": W("Pfad-MTU zum Anbieter", "Path MTU to the provider", "die Pfad-MTU", "the path MTU",
                        "MTU von VPN/PPPoE prüfen; MSS-Clamping am Router einstellen",
                        "Check the VPN/PPPoE MTU; set MSS clamping on the router", "", ""),
    "path.ports_closed": W("Ports für Sprache in der Firewall", "Voice ports in the firewall",
                           "die Freigabe der Ports", "the ports' clearance",
                           "In der Firewall den RTP-Portbereich des Anbieters und die SIP-Ports in beide Richtungen "
                           "freigeben: {where}", "Open the provider's RTP port range and the SIP ports in the "
                           "firewall, both ways: {where}", "Gespräche bleiben einseitig stumm oder kommen nicht "
                           "zustande", "calls have one-way audio or do not connect"),
    "path.nat_timeout_s": W("Lebensdauer der NAT-Bindung (UDP)", "Lifetime of the NAT binding (UDP)",
                            "die NAT-Bindung", "the NAT binding",
                            "UDP-Timeout des Routers/der Firewall für SIP auf mindestens 120 s setzen oder die "
                            "Telefone häufiger Keep-Alives senden lassen (kürzer als die Bindung lebt)",
                            "Set the router's/firewall's UDP timeout for SIP to at least 120 s, or have the phones "
                            "send keep-alives more often (shorter than the binding lives)",
                            "eingehende Anrufe erreichen die Telefone nach einer Ruhepause nicht",
                            "incoming calls do not reach the phones after a quiet spell"),
    "sip.options_answered_pct": W("Erreichbarkeit des SBC (SIP OPTIONS)", "SBC reachability (SIP OPTIONS)",
                                  "die Erreichbarkeit des SBC", "the SBC's reachability",
                                  "Adresse und Port des SBC, Firewall-Freigaben für SIP und die Route zum Anbieter prüfen",
                                  "Check the SBC's address and port, the firewall's SIP rules and the route to the provider",
                                  "Telefone und Telefonanlage halten den Anschluss für gestört",
                                  "phones and PBX consider the trunk down"),
    "sip.options_rtt_ms": W("Antwortzeit des SBC (SIP OPTIONS)", "SBC response time (SIP OPTIONS)",
                            "die Antwortzeit", "the response time",
                            "Weg zum SBC prüfen (Auslastung, Umwege über VPN); beim Anbieter die Antwortzeit des SBC anfragen",
                            "Check the path to the SBC (utilisation, VPN detours); ask the provider about the SBC's response time",
                            "Rufaufbau dauert länger", "calls take longer to set up"),
    "dns.sip_ok": W("DNS-Einträge des Anbieters (NAPTR/SRV)", "The provider's DNS records (NAPTR/SRV)",
                    "die DNS-Auflösung", "the DNS resolution",
                    "Fehlende oder widersprüchliche Einträge beim Anbieter melden; am Standort den DNS-Server prüfen, "
                    "der NAPTR/SRV beantworten muss: {where}",
                    "Report missing or inconsistent records to the provider; check that the site's DNS server answers "
                    "NAPTR/SRV: {where}",
                    "Telefone finden den SIP-Server nicht oder nicht den Ausweich-Server",
                    "phones do not find the SIP server, or not its backup"),
    "srtp.accepted": W("Verschlüsselte Sprache (SRTP)", "Encrypted voice (SRTP)", "die SRTP-Annahme",
                       "the SRTP acceptance", "SRTP (SDES, AES_CM_128_HMAC_SHA1_80) am SBC bzw. beim Anbieter "
                       "freischalten; auf dem Weg nichts, das SDP umschreibt (SIP-ALG aus)",
                       "Enable SRTP (SDES, AES_CM_128_HMAC_SHA1_80) at the SBC or with the provider; nothing on the "
                       "way that rewrites SDP (SIP ALG off)", "verschlüsselte Anrufe kommen nicht zustande",
                       "encrypted calls fail to set up"),
    "tls.trusted": W("Zertifikat des SIP/TLS-Servers", "Certificate of the SIP/TLS server",
                     "das Zertifikat", "the certificate",
                     "Zertifikat des SBC erneuern bzw. mit vollständiger Kette einer öffentlichen CA und dem richtigen "
                     "Namen ausstellen lassen: {where}",
                     "Renew the SBC's certificate, with the full chain of a public CA and the right name: {where}",
                     "verschlüsselte Anrufe (TLS) kommen nicht zustande", "encrypted calls (TLS) fail to set up"),
    "tls.cert_days_left": W("Restlaufzeit des TLS-Zertifikats", "TLS certificate validity left",
                            "die Restlaufzeit", "the validity left",
                            "Zertifikat rechtzeitig vor Ablauf erneuern: {where}",
                            "Renew the certificate before it expires: {where}",
                            "nach Ablauf kommen verschlüsselte Anrufe nicht mehr zustande",
                            "once it expires, encrypted calls fail"),
    "iperf.capacity_spare_mbps": W("Freie Bandbreite nach Sprache und Datenbedarf (iperf3 TCP)",
                                   "Bandwidth left after voice and data (iperf3 TCP)", "die freie Bandbreite",
                                   "the bandwidth left",
                                   "Mehr Bandbreite beim Anbieter buchen oder weniger gleichzeitige Gespräche planen; "
                                   "Duplex und Auslastung des Uplinks prüfen",
                                   "Order more bandwidth from the provider or plan fewer concurrent calls; check the "
                                   "uplink's duplex and utilisation",
                                   "für die geplanten Gespräche und die Daten reicht die Bandbreite nicht",
                                   "the bandwidth is too small for the planned calls and the data"),
    "iperf.loaded_jitter_ms": W("Jitter von Sprachpaketen unter Last", "Jitter of voice-sized packets under load",
                                "der Jitter unter Last", "the jitter under load", _LOAD_DE, _LOAD_EN,
                                "bei Downloads oder Backups leidet die Sprachqualität",
                                "voice quality suffers during downloads or backups"),
    "iperf.loaded_loss_pct": W("Verlust von Sprachpaketen unter Last", "Loss of voice-sized packets under load",
                               "der Paketverlust unter Last", "the packet loss under load", _LOAD_DE, _LOAD_EN,
                               "bei Downloads oder Backups leidet die Sprachqualität",
                               "voice quality suffers during downloads or backups"),
    # --- SNMP ---------------------------------------------------------------------------------------
    "device.reachable": W("Gerät per SNMP erreichbar", "Device reachable over SNMP", "die Erreichbarkeit",
                          "the reachability",
                          "Adresse, SNMP-Zugangsdaten und Freigabe (ACL, Firewall) am Gerät prüfen: {where}",
                          "Check the address, the SNMP credentials and the access list/firewall of the device: {where}",
                          "das Gerät konnte nicht geprüft werden", "the device could not be checked"),
    "poe.headroom_w": W("PoE-Reserve für die geplanten Telefone", "PoE headroom for the planned phones",
                        "die PoE-Reserve", "the PoE headroom",
                        "PoE-Budget überschritten: zweites Netzteil einsetzen, Telefone auf mehrere Switches verteilen "
                        "oder einen Switch mit größerem PoE-Budget einsetzen ({where})",
                        "PoE budget exceeded: add a second power supply, spread the phones over several switches or "
                        "use a switch with a larger PoE budget ({where})",
                        "nicht alle geplanten Telefone bekommen Strom", "not every planned phone gets power"),
    "poe.usage_pct": W("PoE-Auslastung", "PoE usage", "die PoE-Auslastung", "the PoE usage",
                       "PoE-Last verteilen oder Netzteil mit größerem PoE-Budget einsetzen ({where})",
                       "Spread the PoE load or fit a power supply with a larger PoE budget ({where})",
                       "weitere Telefone bekommen keinen Strom", "further phones get no power"),
    "vlan.voice_vlan_present": W("Voice-VLAN auf dem Switch vorhanden", "Voice VLAN present on the switch",
                                 "das Voice-VLAN", "the voice VLAN",
                                 "Voice-VLAN {vlan} auf dem Switch anlegen und zu den Uplinks durchreichen ({where})",
                                 "Create voice VLAN {vlan} on the switch and carry it to the uplinks ({where})",
                                 "Telefone landen im Daten-VLAN ohne Priorisierung",
                                 "phones end up in the data VLAN without priority"),
    "vlan.voice_ports_missing": W("Voice-VLAN auf den Telefonports", "Voice VLAN on the phone ports",
                                  "die Zahl der Telefonports ohne Voice-VLAN", "the number of phone ports without the voice VLAN",
                                  "Voice-VLAN {vlan} auf diesen Ports tagged konfigurieren: {where}",
                                  "Configure voice VLAN {vlan} tagged on these ports: {where}",
                                  "Telefone an diesen Ports landen im Daten-VLAN ohne Priorisierung",
                                  "phones on these ports end up in the data VLAN without priority"),
    "lldp.voice_policy": W("LLDP-MED-Sprachrichtlinie für Telefone", "LLDP-MED voice policy for phones",
                           "die LLDP-MED-Sprachrichtlinie", "the LLDP-MED voice policy", _LLDP_DE, _LLDP_EN,
                           "Telefone finden ihr Voice-VLAN nicht selbst", "phones do not learn their voice VLAN"),
    "if.half_duplex_ports": W("Ports im Halbduplex-Betrieb", "Ports running half duplex",
                              "die Zahl der Halbduplex-Ports", "the number of half-duplex ports",
                              "Autonegotiation auf beiden Seiten einschalten oder beide Seiten fest auf Vollduplex "
                              "stellen; Kabel prüfen ({where})", "Turn on autonegotiation on both ends or set both ends "
                              "to full duplex; check the cable ({where})", "Sprachpakete kollidieren und kommen zu spät",
                              "voice packets collide and arrive late"),
    "if.error_ports": W("Ports mit Fehlern oder verworfenen Paketen", "Ports with errors or discards",
                        "die Zahl fehlerhafter Ports", "the number of ports with errors",
                        "Kabel, Steckverbinder und Transceiver prüfen; bei verworfenen Paketen die Auslastung und QoS "
                        "des Ports prüfen ({where})", "Check cables, connectors and transceivers; for discards check the "
                        "port's utilisation and QoS ({where})", "Sprachpakete gehen verloren", "voice packets get lost"),
    "if.errors_during_test": W("Neue Schnittstellenfehler während des Tests", "Interface errors during the test",
                               "die Zahl neuer Fehler", "the number of new errors",
                               "Kabel und Transceiver dieser Ports prüfen; verworfene Pakete deuten auf Überlast: QoS "
                               "prüfen ({where})", "Check the cables and transceivers of these ports; discards point to "
                               "overload: check QoS ({where})", "Sprachpakete gehen verloren", "voice packets get lost"),
    "ups.runtime_min": W("Überbrückungszeit der USV", "UPS runtime", "die Überbrückungszeit", "the UPS runtime",
                         _UPS_DE, _UPS_EN, _POWER_DE, _POWER_EN),
    "ups.charge_pct": W("Ladezustand der USV-Akkus", "UPS battery charge", "der Ladezustand", "the battery charge",
                        "Akkus laden lassen und erneut prüfen; lädt der Akku nicht, Akkus tauschen",
                        "Let the batteries charge and check again; replace them if they do not charge",
                        _POWER_DE, _POWER_EN),
    "ups.on_battery": W("USV am Netz (nicht im Akkubetrieb)", "UPS on mains (not on battery)", "die USV",
                        "the UPS", "Stromversorgung der USV prüfen (Sicherung, Steckdose, Eingangsspannung)",
                        "Check the UPS's power input (fuse, socket, input voltage)",
                        "die USV kann den nächsten Stromausfall nicht überbrücken",
                        "the UPS cannot bridge the next power cut"),
    "ups.output_source": W("Ausgangsquelle der USV", "UPS output source", "die Ausgangsquelle der USV",
                           "the UPS output source",
                           "USV aus dem Bypass bzw. Akkubetrieb in den Normalbetrieb bringen; Störungsmeldung der USV prüfen",
                           "Bring the UPS back from bypass or battery to normal operation; check its fault log",
                           "die USV schützt die Geräte derzeit nicht", "the UPS does not protect the equipment now"),
    "ups.load_pct": W("Last der USV", "UPS load", "die USV-Last", "the UPS load",
                      "Last auf mehrere USVs verteilen oder eine größere USV einsetzen",
                      "Spread the load over several UPSs or use a larger UPS", _POWER_DE, _POWER_EN),
    # --- captures -----------------------------------------------------------------------------------
    "capture.media_dscp_ok_pct": W("Markierung der Sprachpakete im Mitschnitt (DSCP EF)",
                                   "Marking of captured voice packets (DSCP EF)", "der Anteil richtig markierter Sprachpakete",
                                   "the share of correctly marked voice packets", _REMARK_DE, _REMARK_EN,
                                   "Sprache wird bei Last nicht bevorzugt", "voice is not preferred under load"),
    "capture.signalling_dscp_ok_pct": W("Markierung der Signalisierung im Mitschnitt (SIP)",
                                        "Marking of captured signalling (SIP)", "der Anteil richtig markierter SIP-Pakete",
                                        "the share of correctly marked SIP packets",
                                        "SIP an Telefonen bzw. Telefonanlage als CS3 markieren; Switches der Markierung "
                                        "vertrauen lassen (trust dscp)", "Mark SIP as CS3 at the phones or PBX; let the "
                                        "switches trust the marking", "Anrufe können bei Last verzögert aufgebaut werden",
                                        "calls may set up late under load"),
    "capture.voice_pcp_ok_pct": W("Priorität der Sprache im VLAN-Tag (802.1p)", "Voice priority in the VLAN tag (802.1p)",
                                  "der Anteil richtig priorisierter Sprachrahmen", "the share of correctly prioritised voice frames",
                                  "Telefone bzw. LLDP-MED-Richtlinie auf Priorität 5 stellen; Switches der CoS vertrauen lassen",
                                  "Set the phones or the LLDP-MED policy to priority 5; let the switches trust CoS",
                                  "Sprache wird im LAN bei Last nicht bevorzugt", "voice is not preferred in the LAN under load"),
    "capture.rtp_loss_pct": W("Paketverlust im Mitschnitt", "Packet loss in the capture", "der Paketverlust",
                              "the packet loss", _LOSS_DE, _LOSS_EN, _QUALITY_DE, _QUALITY_EN),
    "capture.rtp_jitter_ms": W("Jitter im Mitschnitt", "Jitter in the capture", "der Jitter", "the jitter",
                               _JITTER_DE, _JITTER_EN, _QUALITY_DE, _QUALITY_EN),
    "capture.rtp_mos": W("Sprachqualität (MOS) der mitgeschnittenen Gespräche", "Voice quality (MOS) of the captured calls",
                         "die Sprachqualität", "the voice quality",
                         "Ursache in Paketverlust und Jitter dieses Stroms suchen; Sprache (EF) durchgängig priorisieren",
                         "Look for the cause in this stream's loss and jitter; prioritise voice (EF) end to end",
                         _QUALITY_DE, _QUALITY_EN),
    "lldp.voice_vlan": W("Per LLDP-MED gemeldetes Voice-VLAN", "Voice VLAN advertised over LLDP-MED",
                         "das gemeldete Voice-VLAN", "the advertised voice VLAN", _LLDP_DE, _LLDP_EN,
                         "Telefone landen im falschen VLAN", "phones end up in the wrong VLAN"),
    "lldp.voice_dscp": W("Per LLDP-MED gemeldete Sprachmarkierung", "Voice DSCP advertised over LLDP-MED",
                         "die gemeldete Markierung", "the advertised DSCP", _LLDP_DE, _LLDP_EN,
                         "Telefone markieren Sprache falsch", "phones mark voice wrongly"),
    "lldp.voice_priority": W("Per LLDP-MED gemeldete Priorität (802.1p)", "802.1p priority advertised over LLDP-MED",
                             "die gemeldete Priorität", "the advertised priority", _LLDP_DE, _LLDP_EN,
                             "Telefone priorisieren Sprache falsch", "phones prioritise voice wrongly"),
    "lldp.location_present": W("Standortangabe per LLDP-MED (Notruf)", "Location advertised over LLDP-MED (emergency calls)",
                                "die Standortangabe", "the location",
                                "Standort (Adresse oder ELIN) als LLDP-MED-Location auf den Telefonports hinterlegen",
                                "Configure the location (civic address or ELIN) as LLDP-MED location on the phone ports",
                                "Notrufe übermitteln keinen genauen Standort", "emergency calls carry no exact location"),
    "cdp.voice_vlan": W("Per CDP gemeldetes Voice-VLAN", "Voice VLAN advertised over CDP", "das gemeldete Voice-VLAN",
                        "the advertised voice VLAN",
                        "Voice-VLAN {vlan} auf den Telefonports konfigurieren (switchport voice vlan)",
                        "Configure voice VLAN {vlan} on the phone ports (switchport voice vlan)",
                        "Telefone landen im falschen VLAN", "phones end up in the wrong VLAN"),
    # --- failover -----------------------------------------------------------------------------------
    "failover.media_gap_ms": W("Sprachunterbrechung bei Umschaltung", "Media gap during failover",
                               "die Sprachunterbrechung", "the media gap",
                               "Erkennung des Ausfalls beschleunigen (BFD, kürzere Timer) und die Umschaltung des "
                               "Zweitwegs prüfen", "Detect the failure faster (BFD, shorter timers) and check the "
                               "switch-over to the backup path", "bei einem Leitungsausfall reißen Gespräche ab",
                               "calls break off when a line fails"),
    "failover.recovery_s": W("Wiederherstellungszeit nach Ausfall", "Recovery time after a failure",
                             "die Wiederherstellungszeit", "the recovery time",
                             "Erkennung des Ausfalls beschleunigen (BFD, kürzere Timer), Zweitweg vorab aufbauen",
                             "Detect the failure faster (BFD, shorter timers), keep the backup path established",
                             "bei einem Leitungsausfall reißen Gespräche ab", "calls break off when a line fails"),
    "failover.calls_dropped": W("Bei Umschaltung abgebrochene Gespräche", "Calls dropped during failover",
                                "die Zahl abgebrochener Gespräche", "the number of dropped calls",
                                "Umschaltung so einrichten, dass Adresse und NAT-Zuordnung der Sprache erhalten bleiben "
                                "(SIP-Session-Timer, Re-Registrierung prüfen)", "Set up the failover so voice keeps its "
                                "address and NAT binding (check SIP session timers and re-registration)",
                                "bei einem Leitungsausfall reißen Gespräche ab", "calls break off when a line fails"),
}


def words(metric: str) -> Words | None:
    return MEASURES.get(metric)
