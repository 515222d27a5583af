"""HTTP digest authentication for SIP (RFC 3261 22, RFC 2617, RFC 7616, RFC 8760): MD5, SHA-256
and their -sess variants, with or without qop=auth, for 401 (Authorization) and 407
(Proxy-Authorization) challenges.

The password lives only in `Credentials` (not in its repr) and in the hash input; nothing here
logs, formats or raises with it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

from .message import Response

_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
# Preference when a server offers several challenges: the stronger hash first (RFC 8760 2.4).
_PREFERENCE = ("SHA-256", "SHA-256-SESS", "MD5", "MD5-SESS")


class DigestError(ValueError):
    """A challenge we cannot answer (unknown algorithm, only qop=auth-int, malformed)."""


@dataclass(frozen=True)
class Credentials:
    """A SIP account. Give the password from SecretRef.resolve(); it never appears in a repr."""

    username: str
    password: str = field(repr=False)
    realm: str | None = None          # answer only this realm's challenges, when set


@dataclass(frozen=True)
class Challenge:
    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False
    proxy: bool = False               # from Proxy-Authenticate (407)

    @property
    def header_name(self) -> str:
        return "Proxy-Authorization" if self.proxy else "Authorization"


def parse_params(text: str) -> dict[str, str]:
    """'realm="a, b", nonce=x, qop="auth"' -> {'realm': 'a, b', 'nonce': 'x', 'qop': 'auth'}."""
    out: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t,":
            i += 1
        eq = text.find("=", i)
        if eq < 0:
            break
        name = text[i:eq].strip().lower()
        i = eq + 1
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            i += 1
            chars = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(text[i])
                i += 1
            if i >= n:
                raise DigestError("unterminated quoted string in challenge")
            i += 1
            value = "".join(chars)
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            value = text[i:end].strip()
            i = end
        if name:
            out[name] = value
    return out


def parse_challenge(value: str, proxy: bool = False) -> Challenge:
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise DigestError(f"unsupported authentication scheme {scheme[:20]!r}")
    p = parse_params(rest)
    if "realm" not in p or "nonce" not in p:
        raise DigestError("digest challenge without realm or nonce")
    qop = tuple(q.strip().lower() for q in p.get("qop", "").split(",") if q.strip())
    return Challenge(p["realm"], p["nonce"], p.get("algorithm", "MD5").upper(), qop, p.get("opaque"),
                     p.get("stale", "").lower() == "true", proxy)


def challenges(resp: Response) -> list[Challenge]:
    """Every digest challenge in a 401/407 we know how to answer, best first. Raises DigestError
    (with the reason) when there are challenges but none we can answer."""
    proxy = resp.status == 407
    name = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
    found, problems = [], []
    for value in resp.headers.get_all(name):
        try:
            ch = parse_challenge(value, proxy)
        except DigestError as e:
            problems.append(str(e))
            continue
        if ch.algorithm not in _PREFERENCE:
            problems.append(f"unsupported digest algorithm {ch.algorithm[:20]}")
        elif ch.qop and "auth" not in ch.qop:
            problems.append(f"unsupported qop {','.join(ch.qop)[:30]}")
        else:
            found.append(ch)
    if not found:
        raise DigestError("; ".join(problems) or f"{resp.status} without a {name} challenge")
    return sorted(found, key=lambda c: _PREFERENCE.index(c.algorithm))


def _h(algorithm: str, text: str) -> str:
    return _HASHES[algorithm.removesuffix("-SESS")](text.encode("utf-8")).hexdigest()


def response_value(ch: Challenge, creds: Credentials, method: str, uri: str, cnonce: str, nc: int) -> str:
    """The request-digest of RFC 7616 3.4.1 (RFC 2617 3.2.2 when there is no qop)."""
    alg = ch.algorithm
    ha1 = _h(alg, f"{creds.username}:{ch.realm}:{creds.password}")
    if alg.endswith("-SESS"):
        ha1 = _h(alg, f"{ha1}:{ch.nonce}:{cnonce}")
    ha2 = _h(alg, f"{method}:{uri}")
    if "auth" in ch.qop:
        return _h(alg, f"{ha1}:{ch.nonce}:{nc:08x}:{cnonce}:auth:{ha2}")
    return _h(alg, f"{ha1}:{ch.nonce}:{ha2}")


def authorization(ch: Challenge, creds: Credentials, method: str, uri: str, nc: int = 1,
                  cnonce: str | None = None) -> str:
    """The Authorization / Proxy-Authorization header value answering `ch`."""
    cnonce = cnonce or os.urandom(8).hex()
    digest = response_value(ch, creds, method, uri, cnonce, nc)
    parts = [f'username="{_quote(creds.username)}"', f'realm="{_quote(ch.realm)}"',
             f'nonce="{_quote(ch.nonce)}"', f'uri="{_quote(uri)}"', f'response="{digest}"',
             f"algorithm={ch.algorithm}"]
    if "auth" in ch.qop:
        parts += [f'cnonce="{cnonce}"', "qop=auth", f"nc={nc:08x}"]
    if ch.opaque is not None:
        parts.append(f'opaque="{_quote(ch.opaque)}"')
    return "Digest " + ", ".join(parts)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
