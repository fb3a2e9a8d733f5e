"""Which PSP's Verification of Payee responder answers for a payee: ``LEDGER_VOP_ROUTES``.

The text is ``KIND:KEY=URL`` entries separated by commas or white space, each URL the base of
a responder (``https://vop.psp-a.example``; the adapter appends
``/v1/vop/payee-verifications``). The kind is explicit, as an IBAN prefix can look like a BIC:

* ``iban:PREFIX`` routes by an IBAN prefix without the check digits: the country code and the
  start of the BBAN, usually the bank code (``iban:DE37040044``: German IBANs of bank code
  37040044, ``iban:NLABNA``: Dutch IBANs of ABN AMRO, ``iban:NL``: every Dutch IBAN). The
  longest matching prefix wins.
* ``bic:BIC`` (8 or 11 characters) routes by the payee's BIC, when the payer's app sends it
  and no IBAN route matches: the fallback, and only for a BIC of the IBAN's country (its
  characters 5-6), so a BIC the app sends cannot divert a payee that is routed by its IBAN.
  An 8-character key, or an 11-character one ending ``XXX`` (the head office, the same
  institution), matches every branch.

The URL is ``http`` or ``https`` with a host and an optional path: no user information,
query or fragment (credentials go in ``LEDGER_VOP_PEER_TOKEN``, which is never sent over
plain ``http`` to a host other than the loopback: see :func:`plain_http_hosts`). ``none``
(or unset) routes nothing: every payee that is not ours is NOAP ``PSP_UNAVAILABLE``.
Problems name the entry's key, never its URL (which could carry a secret).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

_BIC = re.compile(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
_IBAN_PREFIX = re.compile(r"[A-Z]{2}[A-Z0-9]{0,30}")


def institution(bic: str) -> str:
    """A BIC's institution key: its 8 characters (``XXX`` is the head office, the same)."""
    bic = bic.upper()
    return bic[:8] if len(bic) == 11 and bic.endswith("XXX") else bic


@dataclass(frozen=True)
class VopRoutes:
    """The routes, parsed: by IBAN prefix (longest first) and by BIC."""

    by_bic: dict[str, str] = field(default_factory=dict)
    by_iban: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.by_bic or self.by_iban)

    def route(self, iban: str, bic: str | None = None) -> str | None:
        """The base URL of the responder for ``iban`` (compact, upper case), or None: by
        IBAN prefix first, then by ``bic`` when it is of the IBAN's country."""
        bban = iban[:2] + iban[4:]  # the country code and the BBAN, without check digits
        for prefix, url in self.by_iban:
            if bban.startswith(prefix):
                return url
        if bic is not None and bic[4:6].upper() == iban[:2]:
            key = institution(bic)
            return self.by_bic.get(key) or self.by_bic.get(key[:8])
        return None

    def urls(self) -> set[str]:
        return set(self.by_bic.values()) | {url for _, url in self.by_iban}


def plain_http_hosts(routes: VopRoutes) -> list[str]:
    """The hosts routed over plain ``http`` that are not the loopback (a bearer token must
    not be sent there)."""
    hosts = set()
    for url in routes.urls():
        parts = urlsplit(url)
        if parts.scheme == "http" and not _loopback(parts.hostname or ""):
            hosts.add(parts.hostname or "")
    return sorted(hosts)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "must be a URL (https://host[:port][/path])"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be a URL (https://host[:port][/path])"
    if "@" in parts.netloc:
        return "must not carry user information (the token is LEDGER_VOP_PEER_TOKEN)"
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return "must not have a query or a fragment"
    return None


def parse_routes(text: str) -> VopRoutes:
    """``LEDGER_VOP_ROUTES`` as :class:`VopRoutes`; ValueError listing every bad entry."""
    if text.strip().lower() in ("", "none"):
        return VopRoutes()
    problems: list[str] = []
    by_bic: dict[str, str] = {}
    by_iban: dict[str, str] = {}
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        head, sep, url = item.partition("=")
        kind, colon, key = head.partition(":")
        kind, key = kind.strip().lower(), key.strip().upper()
        if not colon or kind not in ("bic", "iban"):
            problems.append(f"{head!r}: write bic:BIC=URL or iban:PREFIX=URL")
            continue
        problem = _url_problem(url.strip()) if sep else "must look like KIND:KEY=https://host"
        if problem is not None:
            problems.append(f"{kind}:{key}: {problem}")
            continue
        if kind == "bic":
            if not _BIC.fullmatch(key):
                problems.append(f"bic:{key}: not a BIC (8 or 11 letters and digits)")
                continue
            key, table = institution(key), by_bic
        else:
            if not _IBAN_PREFIX.fullmatch(key):
                problems.append(f"iban:{key}: not an IBAN prefix (country + start of the BBAN)")
                continue
            table = by_iban
        if key in table:
            problems.append(f"{kind}:{key} is routed twice")
            continue
        table[key] = url.strip().rstrip("/")
    if problems:
        raise ValueError("; ".join(problems))
    ranked = tuple(sorted(by_iban.items(), key=lambda pair: len(pair[0]), reverse=True))
    return VopRoutes(by_bic, ranked)
