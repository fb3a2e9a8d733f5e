"""Which PSP's Verification of Payee responder answers for a payee: ``LEDGER_VOP_ROUTES``.

The text is ``KEY=URL`` entries separated by commas or white space, each URL the base of a
responder (``https://vop.psp-a.example``; the adapter appends ``/v1/vop/payee-verifications``):

* a key that is a BIC (8 or 11 letters and digits, the first six letters: ``COBADEFF``,
  ``COBADEFFXXX``) routes by the payee's BIC, when the payer's app sends it (an 8-character
  key matches every branch of the institution);
* any other key is an IBAN prefix without the check digits: the country code and the start
  of the BBAN, usually the bank code (``DE37040044``: German IBANs of bank code 37040044,
  ``NLABNA``: Dutch IBANs of ABN AMRO, ``NL``: every Dutch IBAN). The longest matching
  prefix wins.

A BIC route wins over an IBAN route. ``none`` (or unset) routes nothing: every payee that is
not ours is NOAP ``PSP_UNAVAILABLE``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

_BIC = re.compile(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
_IBAN_PREFIX = re.compile(r"[A-Z]{2}[A-Z0-9]{0,30}")


@dataclass(frozen=True)
class VopRoutes:
    """The routes, parsed: by BIC and by IBAN prefix (longest first)."""

    by_bic: dict[str, str] = field(default_factory=dict)
    by_iban: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.by_bic or self.by_iban)

    def route(self, iban: str, bic: str | None = None) -> str | None:
        """The base URL of the responder for ``iban`` (compact, upper case), or None."""
        if bic is not None:
            bic = bic.upper()
            found = self.by_bic.get(bic) or self.by_bic.get(bic[:8])
            if found is not None:
                return found
        bban = iban[:2] + iban[4:]  # the country code and the BBAN, without check digits
        for prefix, url in self.by_iban:
            if bban.startswith(prefix):
                return url
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
        key, sep, url = item.partition("=")
        key = key.strip().upper()
        parts = urlsplit(url.strip())
        if not sep or parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(f"{item!r} must look like KEY=https://host[/path]")
            continue
        target = url.strip().rstrip("/")
        table = by_bic if _BIC.fullmatch(key) else by_iban
        if table is by_iban and not _IBAN_PREFIX.fullmatch(key):
            problems.append(f"{key!r} is neither a BIC nor an IBAN prefix (country + bank code)")
            continue
        if key in table:
            problems.append(f"{key} is routed twice")
            continue
        table[key] = target
    if problems:
        raise ValueError("; ".join(problems))
    ranked = tuple(sorted(by_iban.items(), key=lambda pair: len(pair[0]), reverse=True))
    return VopRoutes(by_bic, ranked)
