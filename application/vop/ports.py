"""What the vop context needs from the outside world, as ``typing.Protocol``: the account
directory (the ledger's customer accounts and their holders, read from the read model
:mod:`projections.vop.directory` and wired by the composition root) and the clocks.

The directory's entries are plain values (:class:`DirectoryEntry`), so the responder never
imports the ledger: holder type and identifier schemes are the strings the ledger records
(``NATURAL``/``LEGAL``; ``LEI``/``VAT``/``NATIONAL``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """One customer account as Verification of Payee sees it."""

    iban: str
    holder_type: str  # NATURAL | LEGAL
    legal_name: str
    further_names: tuple[str, ...]  # joint holders, trading names
    identifiers: tuple[tuple[str, str], ...]  # (scheme, value)
    status: str  # OPEN | CLOSED (a frozen account is OPEN here: it still receives credits)


class AccountDirectory(Protocol):
    """Looks accounts up by IBAN (compact, upper case)."""

    def entries(self, ibans: Collection[str]) -> Mapping[str, DirectoryEntry]:
        """The entries of those of ``ibans`` that are in the directory (absent: unknown)."""
        ...
