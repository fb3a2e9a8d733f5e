"""GraphQL for the vop context: the recorded Verification of Payee checks, for compliance.

``vopChecks(filter, first, after)`` lists them newest first (keyset pages; the page is
bounded like every connection's, so the cost limiter bounds the query) and ``vopCheck(id)``
reads one; both need ``vop:read`` and read the ``rm_vop_checks`` read model only.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from uuid import UUID

import strawberry

from api.graphql.common import Connection, connection, page_size, paginate
from api.graphql.context import LedgerContext
from api.graphql.errors import bad_input, checked, in_thread
from api.security import Permission
from application.errors import InvalidCommand
from application.vop.requests import head_office
from domain.errors import DomainError
from domain.iban import Iban
from projections.vop.checks import VopCheckFilter, VopCheckQueries, VopCheckView

Info = strawberry.Info[LedgerContext, None]


_BIC = re.compile(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")


@strawberry.enum(description="A VoP answer (EPC codes)")
class VopOutcome(Enum):
    MTCH = "MTCH"
    CMTC = "CMTC"
    NMTC = "NMTC"
    NOAP = "NOAP"


@strawberry.enum(description="RESPONDER: we answered another PSP; REQUESTER: we asked one")
class VopDirection(Enum):
    RESPONDER = "RESPONDER"
    REQUESTER = "REQUESTER"


@strawberry.type(description="An organisation identifier given instead of a name")
class VopIdentifier:
    scheme: str
    value: str


@strawberry.type(description="One Verification of Payee check, as recorded (its event)")
class VopCheck:
    id: strawberry.ID
    direction: VopDirection
    requester: str = strawberry.field(
        description="RESPONDER: the requesting PSP's BIC; REQUESTER: our calling principal"
    )
    request_id: str = strawberry.field(description="The requester's reference")
    entry: int = strawberry.field(description="The entry's position in a bulk request")
    iban: str
    requested_name: str | None = strawberry.field(description="The name the payer gave")
    requested_identifier: VopIdentifier | None
    outcome: VopOutcome
    reason: str | None = strawberry.field(description="Why NOAP")
    disclosed_name: str | None = strawberry.field(description="The holder's name shown (CMTC)")
    score: str = strawberry.field(description="Similarity 0-100 (rule matches 100)")
    rule: str | None = strawberry.field(description="The matching rule that decided")
    latency_micros: int = strawberry.field(description="From receipt to the decided answer")
    requested_at: datetime = strawberry.field(description="The PSP's request timestamp")
    received_at: datetime
    recorded_at: datetime
    actor: str = strawberry.field(description="The principal that asked")
    payer_iban: str | None = strawberry.field(
        description="REQUESTER: the payer's account, when the channel named it"
    )

    @classmethod
    def of(cls, view: VopCheckView) -> VopCheck:
        identifier = view.requested_identifier
        return cls(
            id=strawberry.ID(view.id),
            direction=VopDirection(view.direction),
            requester=view.requester,
            request_id=view.request_id,
            entry=view.entry,
            iban=view.iban,
            requested_name=view.requested_name,
            requested_identifier=(
                VopIdentifier(scheme=identifier["scheme"], value=identifier["value"])
                if identifier is not None
                else None
            ),
            outcome=VopOutcome(view.outcome),
            reason=view.reason,
            disclosed_name=view.disclosed_name,
            score=view.score,
            rule=view.rule,
            latency_micros=view.latency_us,
            requested_at=view.requested_at,
            received_at=view.received_at,
            recorded_at=view.recorded_at,
            actor=view.actor,
            payer_iban=view.payer_iban,
        )


@strawberry.input(description="All given conditions hold")
class VopCheckFilterInput:
    iban: str | None = None
    requester: str | None = strawberry.field(
        default=None,
        description="Who asked: a PSP's BIC for RESPONDER checks (any case), our channel's "
        "principal for REQUESTER checks (as it is, e.g. service:mobile)",
    )
    outcome: VopOutcome | None = None
    direction: VopDirection | None = None
    recorded_from: datetime | None = strawberry.field(default=None, name="from")
    recorded_to: datetime | None = strawberry.field(default=None, name="to")


def _filter(given: VopCheckFilterInput | None) -> VopCheckFilter:
    if given is None:
        return VopCheckFilter()
    iban = None
    if given.iban is not None and given.iban.strip():
        try:
            iban = Iban(given.iban).value
        except DomainError as error:
            raise bad_input(f"filter.iban: {error}") from None
    if (
        given.recorded_from is not None
        and given.recorded_to is not None
        and given.recorded_from > given.recorded_to
    ):
        raise bad_input("filter.from is after filter.to")
    requester = given.requester.strip() if given.requester else None
    if requester and _BIC.fullmatch(requester.upper()):
        # a BIC, as recorded (head office form); a principal (service:mobile) is kept as it is
        requester = head_office(requester.upper())
    return VopCheckFilter(
        iban=iban,
        requester=requester or None,
        outcome=given.outcome.value if given.outcome is not None else None,
        direction=given.direction.value if given.direction is not None else None,
        recorded_from=given.recorded_from,
        recorded_to=given.recorded_to,
    )


def _check_uuid(raw: str) -> UUID:
    try:
        return UUID(raw.strip())
    except ValueError:
        raise InvalidCommand(f"id: {raw!r} is not a UUID") from None


def vop_check_queries(info: Info) -> VopCheckQueries:
    return info.context.container.vop_checks


@strawberry.type
class VopQuery:
    @strawberry.field(description="Recorded Verification of Payee checks, newest first")
    async def vop_checks(
        self,
        info: Info,
        filter: VopCheckFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[VopCheck]:
        info.context.authorize(Permission.VOP_READ)
        wanted = _filter(filter)
        queries = vop_check_queries(info)
        page = await in_thread(paginate, queries.checks, wanted, page_size(first), after=after)
        return connection(page, VopCheck.of)

    @strawberry.field(description="One recorded Verification of Payee check by id")
    async def vop_check(self, info: Info, id: strawberry.ID) -> VopCheck | None:
        info.context.authorize(Permission.VOP_READ)
        check_id = str(checked(_check_uuid, str(id)))
        view = await in_thread(vop_check_queries(info).check, check_id)
        return VopCheck.of(view) if view is not None else None


__all__ = ["VopCheck", "VopQuery"]
