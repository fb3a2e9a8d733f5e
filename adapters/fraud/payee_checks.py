"""The fraud screening's :class:`~application.fraud.ports.PayeeChecks` port on the vop
context's read model ``rm_vop_checks`` (one primary-key lookup, no write-side replay, in
every process role: ingestion does not build the vop context). A check the projector has not
reached yet reads as unknown: the payment is screened without waiting for it."""

from __future__ import annotations

from application.fraud.ports import PayeeCheck
from projections.vop.checks import VopCheckQueries


class ReadModelPayeeChecks:
    """Looks a VoP check up by id in the read model."""

    def __init__(self, queries: VopCheckQueries) -> None:
        self.queries = queries

    def payee_check(self, check_id: str) -> PayeeCheck | None:
        view = self.queries.check(check_id)
        if view is None:
            return None
        return PayeeCheck(
            view.outcome,
            view.iban,
            direction=view.direction,
            requester=view.requester,
            payer_iban=view.payer_iban,
        )
