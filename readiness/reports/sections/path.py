"""The path section: per transport whether the way to the responder rewrote SIP, and the NAT seen."""

from __future__ import annotations

from rich.console import Console

from ...results import RunResults

DETAIL = "path"


def console_section(results: RunResults):
    return print_path if DETAIL in results.details else None


def print_path(results: RunResults, out: Console) -> None:
    doc = results.details[DETAIL]
    for transport, t in doc.get("transports", {}).items():
        name = f"SIP/{transport.upper()}"
        if t.get("error"):
            out.print(f"[yellow]{name}: not checked: {t['error']}[/]", highlight=False)
            continue
        nat = f"NAT: the far end sees {t['seen_from']}" if t.get("nat") else "no NAT"
        if t.get("rewritten"):
            changes = "; ".join(f"{c['field']} {c['sent']} -> {c['seen']}" for c in t.get("changes", []))
            out.print(f"[red]{name}: SIP ALG detected, the path rewrote {changes}[/] ({nat})", highlight=False)
        else:
            out.print(f"{name}: no rewriting ({nat})", highlight=False)
