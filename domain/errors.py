"""Domain errors.

Every guard in the domain raises one of these, never ``assert``. Errors that
mean "this payment cannot be booked" carry a :class:`RejectionReason` so the
application can record the rejection on the transaction instead of failing.
"""

from __future__ import annotations

from enum import StrEnum


class RejectionReason(StrEnum):
    """Why a transaction was rejected; recorded on the ``Rejected`` event."""

    UNKNOWN_ACCOUNT = "UNKNOWN_ACCOUNT"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    ACCOUNT_FROZEN = "ACCOUNT_FROZEN"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"
    SAME_ACCOUNT = "SAME_ACCOUNT"
    SCREENING_DECLINED = "SCREENING_DECLINED"
    OPERATOR_REJECTED = "OPERATOR_REJECTED"


class DomainError(Exception):
    """Base class of every error the domain raises on purpose."""


class InvalidMoney(DomainError, ValueError):
    """An amount or currency that is not acceptable (float, bad scale, unknown code)."""


class InvalidIban(DomainError, ValueError):
    """A string that is not a valid IBAN."""


class InvalidAccountCode(DomainError, ValueError):
    """An internal account code that is not of the form ``<kind>:<CCY>``."""


class InvalidHolderDetails(DomainError, ValueError):
    """Account holder details that are not acceptable; the message names the field."""


class InvalidTransition(DomainError):
    """A lifecycle transition that the current status does not allow."""


class NotReversible(InvalidTransition):
    """A reversal of a transaction that is itself a reversal: a reversal is a correction and
    is never corrected by another (that would move money again, unscreened, as often as asked);
    a wrong reversal is put right by a new, screened payment."""


class AccountStateError(DomainError):
    """An account operation that its status or balance forbids (closing with funds...)."""


class PostingRefused(DomainError):
    """A debit, credit or hold that an account refuses; carries the rejection reason."""

    def __init__(self, reason: RejectionReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


class UnbalancedPostings(DomainError):
    """A set of postings whose amounts do not sum to zero."""
