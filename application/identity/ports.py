"""What the identity context needs from the outside world, as ``typing.Protocol``: someone
to carry out the approved changes of other contexts (implemented by the ledger's
:class:`~application.ledger.changes.LedgerChanges`, wired by the composition root).

The clock is the shared :data:`~application.unit_of_work.Clock`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class ChangeExecutor(Protocol):
    """Carries out approved changes of other contexts (the ledger's freeze, unfreeze and
    reversal) for the identity context's maker-checker, which never imports them.

    Both methods raise :class:`~application.errors.ApplicationError` (``NotFound``,
    ``Conflict`` ...) to refuse.
    """

    def check(self, kind: str, subject: str, params: Mapping[str, str]) -> dict[str, str]:
        """Before a request is made: that ``subject`` exists and the change applies now;
        returns facts to record with the request (a reversal's amount and currency)."""
        ...

    def execute(
        self, kind: str, subject: str, params: Mapping[str, str], *, request_id: str
    ) -> str:
        """Make the approved change of request ``request_id``; returns a one-line outcome.

        Idempotent per request: when the change of ``request_id`` has already taken effect
        (a second approve of the same request, on another replica or after a crash), it
        returns the outcome without changing anything again."""
        ...
