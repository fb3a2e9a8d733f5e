"""What the vop context needs from the outside world, as ``typing.Protocol``: the account
directory (the ledger's customer accounts and their holders, read from the read model
:mod:`projections.vop.directory` and wired by the composition root) and, for the requester
side, the other PSPs' responders (:class:`PayeePsps`, an HTTP adapter in ``adapters/vop``).

The directory's entries are plain values (:class:`DirectoryEntry`), so the responder never
imports the ledger: holder type and identifier schemes are the strings the ledger records
(``NATURAL``/``LEGAL``; ``LEI``/``VAT``/``NATIONAL``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
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


@dataclass(frozen=True, slots=True)
class PeerQuestion:
    """What we ask another PSP's responder about one of its accounts, for our payer."""

    request_id: str  # our reference (the check's id, a UUID), the X-Request-ID we send
    requested_at: datetime
    iban: str  # the payee's IBAN (compact, upper case, valid)
    name: str | None
    identifier: tuple[str, str] | None  # (LEI | VAT | NATIONAL, value)
    payee_bic: str | None  # the payee's PSP when the payer's app knows it


@dataclass(frozen=True, slots=True)
class PeerAnswer:
    """Another PSP's answer, checked: an outcome, a NOAP reason, the name shown with CMTC."""

    outcome: str  # MTCH | CMTC | NMTC | NOAP
    reason: str | None = None
    matched_name: str | None = None


class PayeePsps(Protocol):
    """The other PSPs' VoP responders (the outbound side: routing, HTTP, timeouts).

    Never raises and never waits longer than its own bounded timeout: None when no responder
    is routed for the payee, or it did not answer in time, failed, or answered something that
    is not a VoP answer (the requester records NOAP ``PSP_UNAVAILABLE``)."""

    def ask(self, question: PeerQuestion) -> PeerAnswer | None: ...
