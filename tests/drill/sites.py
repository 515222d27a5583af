"""A drill's site file for the tests: a responder, its key and the drill: section."""

from __future__ import annotations

from pathlib import Path


def write_site(path: Path, responder_port: int, key: Path, targets: list[int], head: str = "site: Filiale Köln\n",
               **drill: str) -> Path:
    """`targets`: ports on 127.0.0.1 in failover order; `drill`: the drill: section's fields as written."""
    fields = "".join(f"  {k}: {v}\n" for k, v in drill.items())
    uris = ", ".join(f"sip:test@127.0.0.1:{p}" for p in targets)
    path.write_text(f"{head}responder: {{address: 127.0.0.1:{responder_port}, key: file:{key}}}\ncalls: {{}}\n"
                    f"drill:\n{fields}  targets: [{uris}]\n", encoding="utf-8")
    return path
