"""The path checks as rows, one per check, in the report's language: what was checked, the result, the
particulars and against whom. The report's table and the console print the same rows."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..details import path as path_details
from ..results import RunResults
from .language import Language
from .reasons import localize


@dataclass
class PathRows:
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    bad: list[bool] = field(default_factory=list)
    note: str = ""

    def add(self, row: list[str], bad: bool) -> None:
        self.rows.append(row)
        self.bad.append(bad)


def path_rows(results: RunResults, lang: Language) -> PathRows | None:
    v = path_details.view(results.details)
    if v is None:
        return None
    out = PathRows([lang.pick("Prüfung", "Check"), lang.pick("Ergebnis", "Result"),
                    lang.pick("Einzelheiten", "Particulars"), lang.pick("Gegenstelle", "Far end")])
    _sip_alg(v, lang, out)
    _mtu(v, lang, out)
    _ports(v, lang, out)
    _nat_binding(v, lang, out)
    _options(v, lang, out)
    _dns(v, lang, out)
    _tls(v, lang, out)
    _srtp(v, lang, out)
    if v.sip_alg:
        out.note = lang.pick("SIP-ALG: ein INVITE je Transport; die Gegenstelle meldet signiert, was ankam (Via, Contact, "
                             "From, SDP o=/c=/m=) und von welcher Adresse.", "SIP ALG: one INVITE per transport; the far "
                             "end reports, signed, what arrived (Via, Contact, From, SDP o=/c=/m=) and from where.")
    return out


def _sip_alg(v: path_details.PathView, lang: Language, out: PathRows) -> None:
    target = (v.sip_alg or {}).get("target", "")
    for transport, t in v.transports().items():
        name = f"SIP/{transport.upper()}"
        if t.get("error"):
            out.add([name, localize(t["error"], lang), "", target], True)
            continue
        changes = "; ".join(f"{c['field']}: {c['sent']} → {c['received']}" for c in t.get("rewritten", []))
        nat = (lang.pick("NAT: Gegenstelle sieht {a}", "NAT: the far end sees {a}", a=t.get("seen_from", ""))
               if t.get("nat") else lang.pick("kein NAT", "no NAT"))
        result = (lang.pick("umgeschrieben (SIP-ALG)", "rewritten (SIP ALG)") if t.get("rewritten")
                  else lang.pick("unverändert", "unchanged"))
        out.add([name, result, f"{changes}; {nat}" if changes else nat, target], bool(t.get("rewritten")))


def _mtu(v: path_details.PathView, lang: Language, out: PathRows) -> None:
    m = v.mtu
    if not m:
        return
    name = lang.pick("Paketgröße (MTU, Fragmente)", "Packet size (MTU, fragments)")
    if m.get("path_mtu") is None:
        out.add([name, localize(m.get("error") or "not measured", lang), "", m.get("target", "")], True)
    else:
        size = lang.number(m["path_mtu"])
        result = (lang.pick("MTU mindestens {s} B", "MTU at least {s} B", s=size) if m.get("at_least")
                  else lang.pick("MTU {s} B", "MTU {s} B", s=size))
        frags = (lang.pick("Fragmente kommen an", "fragments pass") if m.get("fragments_pass")
                 else lang.pick("Fragmente werden verworfen", "fragments are dropped"))
        out.add([name, result, frags, m.get("target", "")], not m.get("fragments_pass"))
    invite = m.get("large_invite") or {}
    if invite:
        result = (lang.pick("beantwortet", "answered") if invite.get("answered")
                  else localize(invite.get("error") or "no answer", lang))
        out.add([lang.pick("Großes INVITE (UDP)", "Large INVITE (UDP)"), result,
                 lang.pick("{b} B, alle Codecs angeboten", "{b} B, every codec offered", b=lang.number(invite.get("bytes"))),
                 m.get("target", "")], not invite.get("answered"))


def _ports(v: path_details.PathView, lang: Language, out: PathRows) -> None:
    p = v.ports
    if not p:
        return
    name = lang.pick("Ports (Firewall)", "Ports (firewall)")
    target = p[0].get("target", "")
    if len(p) == 1 and p[0]["port"] is None:
        out.add([name, localize(p[0].get("note") or "not measured", lang), "", target], True)
        return
    rows = p
    def state(r: dict) -> str:
        if r["open_up"] is None:
            return lang.pick("nicht geprüft", "not checked")
        if not r["open_up"]:
            return lang.pick("hin gesperrt", "blocked outbound")
        return lang.pick("offen", "open") if r["open_down"] else lang.pick("zurück gesperrt", "blocked inbound")
    closed = [r for r in rows if r["open_up"] is False or r["open_down"] is False]
    result = (lang.pick("alle {n} offen", "all {n} open", n=len(rows)) if not closed
              else lang.pick("{c} von {n} gesperrt", "{c} of {n} blocked", c=len(closed), n=len(rows)))
    particulars = "; ".join(f"{r['transport'].upper()} {r['port']}: {state(r)}" for r in rows)
    out.add([name, result, particulars, target], bool(closed))


def _nat_binding(v: path_details.PathView, lang: Language, out: PathRows) -> None:
    b = v.nat_binding
    if not b:
        return
    name = lang.pick("NAT-Bindung (UDP, Ruhezeit)", "NAT binding (UDP, idle)")
    tried = ", ".join(lang.number(a["idle_s"]) for a in b.get("attempts", []))
    if b.get("timeout_s") is None:
        out.add([name, localize(b.get("error") or "not measured", lang), "", b.get("target", "")], True)
        return
    s = lang.number(b["timeout_s"])
    if b.get("at_least"):
        result = lang.pick("hält mindestens {s} s", "lives at least {s} s", s=s)
    else:
        result = lang.pick("hält {s} s, vergessen nach {f} s", "lives {s} s, forgotten after {f} s", s=s,
                           f=lang.number(b.get("forgotten_after_s")))
    particulars = lang.pick("versucht: {t} s", "tried: {t} s", t=tried)
    if b.get("keepalive_s") is not None:
        particulars += "; " + lang.pick("Keep-Alive der Telefone alle {k} s", "phones' keep-alive every {k} s",
                                        k=lang.number(b["keepalive_s"]))
    out.add([name, result, particulars, b.get("target", "")], b.get("keepalive_ok") is False)


def _options(v: path_details.PathView, lang: Language, out: PathRows) -> None:
    o = v.options
    if not o:
        return
    if not o.get("answered"):
        out.add(["SIP OPTIONS", localize(o.get("error") or "no answer", lang), "", o.get("target", "")], True)
        return
    result = lang.pick("{a} von {n} beantwortet", "{a} of {n} answered", a=o["answered"], n=o["sent"])
    particulars = lang.pick("Antwortzeit Median {m} ms, höchstens {x} ms; Status {s}",
                            "response time median {m} ms, at most {x} ms; status {s}",
                            m=lang.number(o.get("rtt_ms_median"), 1), x=lang.number(o.get("rtt_ms_max"), 1),
                            s=", ".join(str(x) for x in o.get("statuses", [])))
    out.add(["SIP OPTIONS", result, particulars, o.get("target", "")], o["answered"] < o["sent"])


def _dns(v: path_details.PathView, lang: Language, out: PathRows) -> None:
    d = v.dns
    if not d:
        return
    name = lang.pick("DNS (NAPTR/SRV)", "DNS (NAPTR/SRV)")
    server = d.get("nameserver", "")
    if d.get("error") and not d.get("targets"):
        out.add([name, localize(d["error"], lang), "", f"{d.get('domain', '')} ({server})"], True)
        return
    targets = "; ".join(f"{t['transport'].upper()} {t['host']}:{t['port']} "
                        f"({lang.pick('Prio', 'prio')} {t['priority']}, {', '.join(t.get('addresses') or []) or '–'})"
                        for t in d.get("targets", []))
    problems = " ".join(localize(p, lang) for p in d.get("problems", []))
    result = lang.pick("in Ordnung", "consistent") if d.get("ok") else lang.pick("Mängel", "problems")
    out.add([name, result, f"{targets}. {problems}".strip() if problems else targets,
             f"{d.get('domain', '')} ({server})"], not d.get("ok"))


def _tls(v: path_details.PathView, lang: Language, out: PathRows) -> None:
    t = v.tls
    if not t:
        return
    name, where = "SIP/TLS", f"{t.get('server_name', '')} ({t.get('host', '')}:{t.get('port', '')})"
    if t.get("days_left") is None:
        out.add([name, localize(t.get("error") or "no certificate seen", lang), "", where], True)
        return
    result = (lang.pick("Zertifikat vertrauenswürdig", "certificate trusted") if t.get("trusted") and not t.get("error")
              else lang.pick("nicht vertrauenswürdig: {w}", "not trusted: {w}",
                             w=localize(t.get("verify_error") or t.get("error") or "", lang)))
    particulars = lang.pick("{v}, {c}; gültig bis {d} (noch {n} Tage); {san}",
                            "{v}, {c}; valid until {d} ({n} days left); {san}",
                            v=t.get("version", ""), c=t.get("cipher", ""), d=lang.date(t.get("not_after")) if t.get("not_after") else "–",
                            n=lang.number(t["days_left"], 0), san=", ".join(t.get("san", [])))
    out.add([name, result, particulars, where], not t.get("trusted") or bool(t.get("error")))


def _srtp(v: path_details.PathView, lang: Language, out: PathRows) -> None:
    s = v.srtp
    if not s:
        return
    if s.get("accepted") is None:
        out.add(["SRTP", localize(s.get("why") or "not measured", lang), "", s.get("target", "")], True)
        return
    result = (lang.pick("angenommen ({x})", "accepted ({x})", x=s.get("suite", "")) if s["accepted"]
              else lang.pick("abgelehnt", "refused"))
    out.add(["SRTP", result, lang.pick("angeboten: {o}", "offered: {o}", o=", ".join(s.get("offered", [])))
             + ("" if s["accepted"] else f"; {localize(s.get('why', ''), lang)}"), s.get("target", "")],
            not s["accepted"])
