"""Why something was not measured, in the report's language. Probes and the acceptance write their
reasons in English (logs and `--json` stay English); a German report shows them in German.

`localize(reason, lang)` passes English through unchanged and translates German by a table of fixed
sentences and patterns. A reason nobody has translated yet is still shown, quoted after a German
lead-in ("Meldung des Messprogramms: „…“"), so the page stays German and nothing is hidden.
Raw tool output inside a reason (an error text of iperf3, an SNMP agent) is quoted, not translated.
"""

from __future__ import annotations

import re
from typing import Callable

from .language import Language
from .subjects import where_text

UNKNOWN_DE = "Meldung des Messprogramms: „{0}“"

# SIP call outcome classes (RFC 3261 section 21 status classes, and transport failures)
CAUSES = {
    "timeout": "Zeitüberschreitung", "refused": "Verbindung abgelehnt", "dns": "Name nicht auflösbar",
    "unreachable": "Ziel nicht erreichbar", "auth": "Anmeldung verlangt (401/407)",
    "client-error": "vom Ziel abgelehnt (4xx)", "server-error": "Serverfehler (5xx)",
    "global-failure": "überall abgelehnt (6xx)", "redirected": "umgeleitet (3xx)", "cancelled": "abgebrochen",
    "failed": "fehlgeschlagen", "answered": "angenommen", "none": "keine",
}
_HINTS = {
    "wrong community, wrong address, or SNMP blocked": "falsche Community, falsche Adresse oder SNMP gesperrt",
    "wrong address, SNMP blocked, or a wrong privacy key":
        "falsche Adresse, SNMP gesperrt oder falscher Privacy-Schlüssel",
}
_FIXED = {
    "not measured": "nicht gemessen",
    "not measured on this direction": "in dieser Richtung nicht gemessen",
    "no value": "kein Wert",
    "no samples": "keine Messwerte",
    "not scored": "nicht bewertet",
    "cancelled": "abgebrochen",
    "no call was placed": "es wurde kein Anruf aufgebaut",
    "no media measured": "keine Sprachdaten gemessen",
    "no round trip measured": "keine Umlaufzeit gemessen",
    "the far end sent no RTP": "die Gegenstelle hat keine RTP-Pakete gesendet",
    "the far end sent no RTCP receiver report about our stream":
        "die Gegenstelle hat keinen RTCP-Empfängerbericht zu unserem Sprachstrom gesendet",
    "a third-party far end does not report the DSCP it received (only a readiness responder does)":
        "eine fremde Gegenstelle meldet die empfangene DSCP-Markierung nicht (nur ein readiness-Responder tut das)",
    "a third-party far end does not stamp how long it held our packets (a readiness responder does)":
        "eine fremde Gegenstelle stempelt nicht, wie lange sie unsere Pakete hielt (ein readiness-Responder tut das)",
    "the sender's schedule was not measured": "der Sendetakt des Testgeräts wurde nicht gemessen",
    "no delay measured (no RTT from the far end), so no E-model rating":
        "keine Laufzeit gemessen (keine Umlaufzeit von der Gegenstelle), daher keine E-Modell-Bewertung",
    "the final response's DSCP was not read": "die DSCP-Markierung der SIP-Antwort wurde nicht gelesen",
    "the far end does not report the DSCP our INVITE arrived with (a readiness responder with a key does)":
        "die Gegenstelle meldet nicht, mit welcher DSCP-Markierung unser INVITE ankam (nur ein readiness-Responder "
        "mit Schlüssel tut das)",
    "the capacity is searched with calls.find_capacity (readiness calls --find-capacity)":
        "die Kapazität wird in einer eigenen Messung ermittelt (readiness calls --find-capacity)",
    "no voice RTP stream in the capture": "im Mitschnitt war kein Sprachstrom (RTP)",
    "no SIP message in the capture": "im Mitschnitt war keine SIP-Nachricht",
    # the path checks
    "no readiness responder with a key at the far end": "keine readiness-Gegenstelle mit Schlüssel am anderen Ende",
    "the NAT binding test needs a readiness responder with a key":
        "die Prüfung der NAT-Bindung braucht eine readiness-Gegenstelle mit Schlüssel",
    "the MTU test needs a readiness responder with a key":
        "die MTU-Prüfung braucht eine readiness-Gegenstelle mit Schlüssel",
    "switched off in the site file (path_checks.nat_binding: false)":
        "in der Standortdatei abgeschaltet (path_checks.nat_binding: false)",
    "switched off in the site file (path_checks.mtu: false)": "in der Standortdatei abgeschaltet (path_checks.mtu: false)",
    "no SBC to ping (path_checks.options)": "kein SBC zum Anpingen angegeben (path_checks.options)",
    "the site file names no provider domain (path_checks.dns_domain)":
        "die Standortdatei nennt keine SIP-Domain des Anbieters (path_checks.dns_domain)",
    "the site file names no SIP/TLS far end (path_checks.tls)":
        "die Standortdatei nennt keine SIP/TLS-Gegenstelle (path_checks.tls)",
    "the site file names no ports to check (path_checks.rtp_ports, sip_ports)":
        "die Standortdatei nennt keine zu prüfenden Ports (path_checks.rtp_ports, sip_ports)",
    "no answer from the far end": "keine Antwort von der Gegenstelle",
    "no answer over UDP from the far end (does the path drop UDP?)":
        "keine Antwort der Gegenstelle über UDP (verwirft der Weg UDP?)",
    "no answer": "keine Antwort",
    "no certificate seen": "kein Zertifikat erhalten",
    "no port could be checked": "kein Port konnte geprüft werden",
    "the site file asks for no SRTP check (path_checks.srtp)":
        "die Standortdatei verlangt keine SRTP-Prüfung (path_checks.srtp)",
    "the SRTP check needs a readiness responder with a key":
        "die SRTP-Prüfung braucht eine readiness-Gegenstelle mit Schlüssel",
    "voice frames were not 802.1Q-tagged where captured (access port, or the capture strips tags)":
        "die Sprachrahmen waren am Mitschnittpunkt nicht 802.1Q-getaggt (Access-Port, oder der Mitschnitt entfernt "
        "die Tags)",
    "RTP clock rate unknown": "RTP-Taktrate unbekannt",
    "no LLDP frame was seen during the capture (switches send one every 30 s by default: capture longer, or the "
    "port does not run LLDP)": "während des Mitschnitts kam kein LLDP-Rahmen (Switches senden standardmäßig alle "
                              "30 s einen: länger mitschneiden, oder LLDP ist am Port aus)",
    "no CDP frame was seen during the capture (CDP is sent every 60 s by default)":
        "während des Mitschnitts kam kein CDP-Rahmen (CDP wird standardmäßig alle 60 s gesendet)",
    "the switch sends LLDP but no LLDP-MED voice network policy":
        "der Switch sendet LLDP, aber keine LLDP-MED-Sprachrichtlinie",
    "the switch's LLDP-MED voice policy is flagged unknown (not configured)":
        "die LLDP-MED-Sprachrichtlinie des Switches ist als unbekannt markiert (nicht konfiguriert)",
    "the switch sends CDP without a voice VLAN": "der Switch sendet CDP ohne Voice-VLAN",
    "no PoE MIB answered (POWER-ETHERNET-MIB or Cisco's extension): not a PoE switch?":
        "keine PoE-MIB hat geantwortet (POWER-ETHERNET-MIB oder Ciscos Erweiterung): kein PoE-Switch?",
    "the switch reports PoE ports but no main PSE (budget and consumption)":
        "der Switch meldet PoE-Ports, aber kein PoE-Netzteil (Budget und Verbrauch)",
    "the device has no UPS-MIB, APC PowerNet-MIB or XUPS-MIB values":
        "das Gerät liefert keine Werte der UPS-MIB, APC-PowerNet-MIB oder XUPS-MIB",
    "the switch exposes neither Q-BRIDGE-MIB nor CISCO-VTP-MIB VLAN tables":
        "der Switch liefert weder Q-BRIDGE-MIB- noch CISCO-VTP-MIB-VLAN-Tabellen",
    "no SNMP snapshot was taken before the traffic": "vor dem Testverkehr wurde kein SNMP-Stand erfasst",
    "no switch answered SNMP before the traffic": "vor dem Testverkehr hat kein Switch auf SNMP geantwortet",
    "no port on the voice path to compare": "kein Port auf dem Sprachweg zum Vergleichen",
    "the site file gives no voice_vlan": "die Standortdatei nennt kein Voice-VLAN (voice_vlan)",
    "the site file lists no phone_ports for any switch":
        "die Standortdatei nennt für keinen Switch Telefonports (phone_ports)",
    "no VLAN data": "keine VLAN-Daten",
    "no LLDP data": "keine LLDP-Daten",
    "PSE budget or consumption unreadable": "PoE-Budget oder Verbrauch nicht lesbar",
    "the site file gives no phones: (count, poe_class)":
        "die Standortdatei nennt keine geplanten Telefone (phones: count, poe_class)",
    "SNMPv3 time window mismatch (agent clock or engine boots)":
        "SNMPv3-Zeitfenster passt nicht (Uhr des Agenten oder Engine-Boots)",
    "the agent answered but has no system group (sysDescr)": "der Agent antwortet, hat aber keine System-Gruppe (sysDescr)",
    "the site file has no calls: section": "die Standortdatei hat keinen Abschnitt calls:",
    "calls: has no target and the site file has no responder:":
        "calls: nennt kein Ziel und die Standortdatei hat keinen Abschnitt responder:",
    "the site file has no snmp: devices": "die Standortdatei nennt keine SNMP-Geräte (snmp:)",
    "the site file has no iperf: section": "die Standortdatei hat keinen Abschnitt iperf:",
    "the site file has no capture: section": "die Standortdatei hat keinen Abschnitt capture:",
    # the failover drill (probes/drill, analysis/failover.py)
    "the site file has no drill: section": "die Standortdatei hat keinen Abschnitt drill:",
    "a drill needs calls: or a responder: to call": "ein Umschalttest braucht calls: oder responder: als Ziel",
    "a failover drill runs with `readiness drill` (someone pulls the cable while it runs)":
        "ein Umschalttest läuft eigens mit „readiness drill“ (währenddessen wird eine Leitung getrennt)",
    "no held call was answered": "kein gehaltenes Gespräch wurde angenommen",
    "no test calls were placed (new calls every 0 s)": "es wurden keine Testanrufe aufgebaut (neue Anrufe alle 0 s)",
    "the far end hung up (BYE)": "die Gegenstelle hat aufgelegt (BYE)",
    "the dialog was lost: our BYE at the end got no answer":
        "die SIP-Verbindung war verloren: unser BYE am Ende blieb unbeantwortet",
    "no media came back": "keine Sprachdaten zurück",
    "back to the primary": "zurück zum ersten Ziel",
    "the run stopped before it finished (killed or crashed)":
        "der Lauf endete vorzeitig (abgebrochen oder abgestürzt)",
    "stopped by SIGTERM": "vom System beendet (SIGTERM)",
    "interrupted (Ctrl-C)": "von Hand abgebrochen (Strg+C)",
    "stopped by Ctrl-C": "von Hand abgebrochen (Strg+C)",
}
_OPS = {"<=": "höchstens", "<": "unter", ">=": "mindestens", ">": "über", "==": "gleich", "!=": "ungleich",
        "in": "eines von", "not_in": "keines von"}
_KINDS = {"call directions": "Anrufrichtungen", "calls": "Anrufen", "subjects": "Prüfpunkten"}


def _q(text: str) -> str:
    return f"„{text.strip()}“"


def _num(text: str) -> str:
    return text.replace(".", ",")


def _causes(text: str) -> str:
    """'refused: 4, timeout: 2' -> 'Verbindung abgelehnt: 4, Zeitüberschreitung: 2'."""
    parts = []
    for part in text.split(", "):
        name, sep, count = part.partition(": ")
        parts.append(f"{CAUSES.get(name, name)}{sep}{count}")
    return ", ".join(parts)


def _cause(cause: str, detail: str | None) -> str:
    return CAUSES.get(cause, cause) + (f" ({_q(detail)})" if detail else "")


def _directions(text: str) -> str:
    """'up, down' -> 'Richtung ↑, ↓'."""
    return "Richtung " + ", ".join({"up": "↑", "down": "↓"}.get(d, d) for d in text.split(", "))


def _subject(text: str) -> str:
    return where_text(text, Language("de"))


# (pattern, German) in order; a callable gets the match and the translator for nested reasons.
_Rule = tuple[re.Pattern[str], Callable[[re.Match[str], Callable[[str], str]], str]]
_RULES: list[_Rule] = [(re.compile(p, re.S), f) for p, f in [
    (r"(\d+) of (\d+) (call directions|calls|subjects): (.+)",
     lambda m, t: f"{m[1]} von {m[2]} {_KINDS[m[3]]}: {t(m[4])}"),
    (r"(\d+) (subject|statistic)\(s\) met (\S+) (.+?), but not all were measured: (.+)",
     lambda m, t: f"{m[1]} {'Prüfpunkte' if m[2] == 'subject' else 'Werte'} erfüllten {_OPS.get(m[3], m[3])} "
                  f"{_num(m[4])}, aber nicht alle wurden gemessen: {t(m[5])}"),
    (r"(.+) \(\+(\d+) more\)", lambda m, t: f"{t(m[1])} (+{m[2]} weitere)"),
    (r"(\S+) is not installed \(Debian/Ubuntu: (apt-get install \S+)\)",
     lambda m, t: f"{m[1]} ist auf dem Messrechner nicht installiert (Debian/Ubuntu: {m[2]})"),
    (r"(\S+) is not installed \((pip install \S+)\)",
     lambda m, t: f"{m[1]} ist auf dem Messrechner nicht installiert ({m[2]})"),
    (r"iperf3 server (\S+) is busy.*",
     lambda m, t: f"der iperf3-Server {m[1]} war mit einem anderen Test belegt; Messung später wiederholen"),
    (r"iperf3 server (\S+) is not reachable: (.+)",
     lambda m, t: f"der iperf3-Server {m[1]} ist nicht erreichbar: {_q(m[2])}"),
    (r"iperf3 against (\S+): (.+)", lambda m, t: f"iperf3 gegen {m[1]}: {_q(m[2])}"),
    (r"the load did not run: (.+)", lambda m, t: f"die Hintergrundlast lief nicht: {t(m[1])}"),
    (r"call not answered: ([\w-]+)(?: \((.+)\))?", lambda m, t: f"Anruf nicht angenommen: {_cause(m[1], m[2])}"),
    (r"call not answered \((\d+)\): the far end reports what it received only in its 200 OK",
     lambda m, t: f"Anruf nicht angenommen (SIP {m[1]}): die Gegenstelle meldet die empfangene Markierung nur in "
                  f"ihrer Antwort 200 OK"),
    (r"no call reached the far end: (.+)", lambda m, t: f"kein Anruf hat die Gegenstelle erreicht: {_causes(m[1])}"),
    (r"no final response \(([\w-]+)\)", lambda m, t: f"keine abschließende SIP-Antwort ({_cause(m[1], None)})"),
    (r"SIP over (\w+): the DSCP of received SIP is read on UDP only",
     lambda m, t: f"SIP über {m[1]}: die Markierung empfangener SIP-Nachrichten wird nur bei UDP gelesen"),
    (r"(.+?): no answer within ([\d.]+) s x (\d+) tries \((.+)\)",
     lambda m, t: f"{m[1]}: keine Antwort innerhalb von {_num(m[2])} s bei {m[3]} Versuchen "
                  f"({_HINTS.get(m[4], m[4])})"),
    (r"(.+?): cannot resolve the address: (.+)", lambda m, t: f"{m[1]}: Adresse nicht auflösbar: {_q(m[2])}"),
    (r"(.+?): the agent's answer is malformed: (.+)", lambda m, t: f"{m[1]}: fehlerhafte Antwort des Agenten: {_q(m[2])}"),
    (r"(.+?): the agent answered (\w+) at variable (\d+)",
     lambda m, t: f"{m[1]}: der Agent meldet {m[2]} bei Variable {m[3]}"),
    (r"(.+?): the agent does not know SNMPv3 user (.+)",
     lambda m, t: f"{m[1]}: der Agent kennt den SNMPv3-Benutzer {m[2]} nicht"),
    (r"(.+?): SNMPv3 authentication failed for user (.+?) \(wrong auth key or protocol, site file says (.+)\)",
     lambda m, t: f"{m[1]}: SNMPv3-Anmeldung für Benutzer {m[2]} fehlgeschlagen (falscher Schlüssel oder falsches "
                  f"Verfahren, laut Standortdatei {m[3]})"),
    (r"(.+?): SNMPv3 decryption failed \(wrong privacy key or protocol, site file says (.+)\)",
     lambda m, t: f"{m[1]}: SNMPv3-Entschlüsselung fehlgeschlagen (falscher Privacy-Schlüssel oder falsches "
                  f"Verfahren, laut Standortdatei {m[2]})"),
    (r"(.+?): the agent refuses security level (\S+) for user (.+)",
     lambda m, t: f"{m[1]}: der Agent lehnt die Sicherheitsstufe {m[2]} für Benutzer {m[3]} ab"),
    (r"credentials: (.+)", lambda m, t: f"SNMP-Zugangsdaten: {_q(m[1])}"),
    (r"the site file's snmp: section lists no (\w+) \(role: \w+\)",
     lambda m, t: f"die Standortdatei nennt unter snmp: kein Gerät der Rolle {m[1]}"),
    (r"phone ports cannot be named: (.+)", lambda m, t: f"Telefonports nicht bestimmbar: {t(m[1])}"),
    (r"counters unreadable on (.+)", lambda m, t: f"Zähler nicht lesbar an {m[1]}"),
    (r"(\S+) (?:unknown|not available)", lambda m, t: f"{m[1]} nicht verfügbar"),
    (r"the (\S+) probe could not load: (.+)",
     lambda m, t: f"die Messung {m[1]} konnte nicht geladen werden: {_q(m[2])}"),
    (r"this version of readiness has no '(\S+)' probe yet",
     lambda m, t: f"diese readiness-Version hat noch keine Messung {m[1]}"),
    (r"skipped: (--only \S+)", lambda m, t: f"ausgelassen ({m[1]})"),
    (r"no measurement of \S+(?: with .+)? in this run \(probe '(\S+)' did not report it\)",
     lambda m, t: f"in diesem Lauf nicht gemessen (die Messung {m[1]} hat keinen Wert geliefert)"),
    (r"\S+ was measured only as totals; a ([\d.]+) s window needs its time series",
     lambda m, t: f"nur als Gesamtwert gemessen; ein Fenster von {_num(m[1])} s braucht den Zeitverlauf"),
    (r"the series has one value per ([\d.]+) s; a ([\d.]+) s window needs finer samples",
     lambda m, t: f"die Messreihe hat einen Wert je {_num(m[1])} s; ein Fenster von {_num(m[2])} s braucht "
                  f"feinere Werte"),
    (r"the far end refused the test \((.+)\): check the responder key",
     lambda m, t: f"die Gegenstelle lehnte die Prüfung ab ({m[1]}): Schlüssel der Gegenstelle prüfen"),
    (r"the call was not answered: (.+)", lambda m, t: f"der Anruf wurde nicht angenommen: {_q(m[1])}"),
    (r"no answer from the DNS server (\S+) within ([\d.]+) s",
     lambda m, t: f"keine Antwort vom DNS-Server {m[1]} innerhalb von {_num(m[2])} s"),
    (r"(\S+) does not exist \(NXDOMAIN\)", lambda m, t: f"{m[1]} existiert nicht (NXDOMAIN)"),
    (r"no TLS handshake with (\S+) within ([\d.]+) s",
     lambda m, t: f"kein TLS-Verbindungsaufbau mit {m[1]} innerhalb von {_num(m[2])} s"),
    (r"connection refused by (\S+)", lambda m, t: f"Verbindung von {m[1]} abgelehnt"),
    (r"certificate has expired", lambda m, t: "das Zertifikat ist abgelaufen"),
    (r"self-signed certificate", lambda m, t: "selbst signiertes Zertifikat"),
    (r"Hostname mismatch, certificate is not valid for '(.+)'",
     lambda m, t: f"falscher Name: das Zertifikat gilt nicht für „{m[1]}“"),
    (r"media did not come back \((.+)\)",
     lambda m, t: f"die Sprachdaten kamen nicht zurück ({_directions(m[1])})"),
    (r"the dialog was lost: our BYE at the end got (\d+)",
     lambda m, t: f"die SIP-Verbindung war verloren: unser BYE am Ende wurde mit {m[1]} beantwortet"),
    (r"the media of (\d+) held call\(s\) reached the far end from a new address after an outage \(a NAT's new "
     r"mapping\): the calls went another way",
     lambda m, t: f"die Sprachdaten von {m[1]} gehaltenen Gesprächen kamen nach einer Unterbrechung von einer neuen "
                  f"Adresse bei der Gegenstelle an (neue Zuordnung eines NAT): die Gespräche liefen über einen anderen "
                  f"Weg"),
    (r"the far end saw our calls come from (\d+) addresses \((.+)\): the traffic took another way out \(a backup "
     r"line's NAT\)",
     lambda m, t: f"die Gegenstelle sah unsere Anrufe von {m[1]} Adressen kommen ({m[2]}): der Verkehr ging über "
                  f"einen anderen Ausgang (das NAT einer Ersatzleitung)"),
    (r"another drill is running \(it listens on (.+)\): --mark reaches that one",
     lambda m, t: f"ein anderer Umschalttest läuft bereits (er hört auf {m[1]}): --mark erreicht jenen"),
    (r"marks from another shell are off: cannot listen on (.+?): (.+)",
     lambda m, t: f"Markierungen aus einer anderen Shell sind aus: {m[1]} nicht nutzbar ({_q(m[2])})"),
    (r"could not judge: (.+)", lambda m, t: f"nicht bewertbar (interner Fehler): {_q(m[1])}"),
    (r"(call \d+(?: up| down)?|iperf3 (?:up|down)|voice-\w+|capacity-\w+): (.+)",
     lambda m, t: f"{_subject(m[1])}: {t(m[2])}"),
]]


def _german(reason: str) -> str | None:
    """The German text, or None if no rule knows it."""
    text = reason.strip()
    if text in _FIXED:
        return _FIXED[text]
    for pattern, build in _RULES:
        m = pattern.fullmatch(text)
        if m:
            return build(m, _nested)
    if "; " in text:                      # reasons joined by the acceptance or a walk: each on its own
        parts = [_german(p) for p in text.split("; ")]
        if all(parts):
            return "; ".join(p for p in parts if p)
    return None


def _nested(reason: str) -> str:
    """A reason inside another: translated if known, else quoted as it came."""
    return _german(reason) or _q(reason)


def localize(reason: str, lang: Language) -> str:
    """The reason in the report's language, starting with a capital letter."""
    if not reason:
        return reason
    if lang.code != "de":
        return reason
    text = _german(reason)
    if text is None:
        return UNKNOWN_DE.format(reason.strip())
    first = text.split(" ", 1)[0]
    if any(ch.isdigit() for ch in first) or first in _PROGRAMS:
        return text                           # a program's name keeps its spelling: "iperf3", "tshark"
    return text[0].upper() + text[1:]


_PROGRAMS = {"tshark", "dumpcap", "snmpbulkwalk", "snmpget", "snmpsim", "baresip", "kamailio", "sipsak", "pdftotext"}


def known(reason: str) -> bool:
    """True if the German table knows this reason (tests use it on the probes' reasons)."""
    return _german(reason) is not None


_PER_METRIC = re.compile(r"no measurement of \S+(?: with .+)? in this run \(probe '(\S+)' did not report it\)")


def general(reason: str) -> str:
    """The reason without the metric it was written for, so one probe's silence groups as one gap:
    "no measurement of iperf.loss_pct in this run (probe 'iperf' ...)" -> "... probe 'iperf' ..."."""
    m = _PER_METRIC.fullmatch(reason.strip())
    return f"no measurement in this run (probe '{m[1]}' did not report it)" if m else reason
