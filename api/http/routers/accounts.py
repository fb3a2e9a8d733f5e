"""REST ``/v1/accounts``: open a customer account, read one back (optionally ``asOf``).

The write runs inside ``caused_by(Causation(actor=<principal>, correlation_id=<the
request's>, channel="REST"))`` so every event it records names who caused it; the read comes
from the read model only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import AwareDatetime, ConfigDict, Field
from pydantic.alias_generators import to_camel

from api.http.deps import AsOf, ContainerDep, causation, require
from api.http.schemas import (
    INPUT_ERROR_RESPONSES,
    V1_RESPONSES,
    CamelModel,
    ErrorOut,
    MoneyOut,
    money,
)
from api.presentation import account_key, account_view, open_account_command, utc
from api.runtime.logs import get_logger
from api.security import Permission, Principal
from application.errors import NotFound
from domain.causation import caused_by
from projections.ledger.views import AccountView

log = get_logger("api.http.routers.accounts")

router = APIRouter(prefix="/v1", tags=["accounts"], responses=V1_RESPONSES)

AccountsReader = Annotated[Principal, Depends(require(Permission.ACCOUNTS_READ))]
AccountsWriter = Annotated[Principal, Depends(require(Permission.ACCOUNTS_WRITE))]


class IdentifierIn(CamelModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    scheme: str = Field(max_length=16, description="LEI, VAT or NATIONAL")
    value: str = Field(max_length=64, description="The identifier, e.g. an LEI of 20 characters")


class OpenAccountIn(CamelModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "iban": "DE89370400440532013000",
                    "holderName": "Max Mustermann",
                    "currency": "EUR",
                    "overdraftLimit": "500.00",
                    "holderType": "NATURAL",
                    "furtherNames": ["Erika Mustermann"],
                }
            ]
        },
    )

    iban: str
    holder_name: str = Field(min_length=1, max_length=140)
    currency: str = Field(min_length=3, max_length=3)
    overdraft_limit: str | None = Field(
        default=None, description='Decimal string such as "500.00"; default 0'
    )
    holder_type: str | None = Field(
        default=None, max_length=16, description="NATURAL (default) or LEGAL person"
    )
    further_names: list[str] | None = Field(
        default=None, max_length=10, description="Joint holders, trading names"
    )
    identifiers: list[IdentifierIn] | None = Field(
        default=None, max_length=10, description="A legal person's LEI, VAT, NATIONAL ids"
    )


class AccountOut(CamelModel):
    id: str = Field(description="IBAN (customer accounts) or internal code like clearing:EUR")
    iban: str | None
    holder_name: str
    currency: str
    status: str
    type: str
    balance: MoneyOut
    available_balance: MoneyOut
    held: MoneyOut
    overdraft_limit: MoneyOut | None
    opened_at: AwareDatetime
    updated_at: AwareDatetime


def account_out(view: AccountView) -> AccountOut:
    limit = view.overdraft_limit
    return AccountOut(
        id=view.key,
        iban=view.iban,
        holder_name=view.holder_name,
        currency=view.currency,
        status=view.status,
        type=view.type,
        balance=money(view.balance, view.currency),
        available_balance=money(view.available, view.currency),
        held=money(view.held, view.currency),
        overdraft_limit=money(limit, view.currency) if limit is not None else None,
        opened_at=utc(view.opened_at),
        updated_at=utc(view.updated_at),
    )


@router.post(
    "/accounts",
    status_code=201,
    response_model=AccountOut,
    summary="Open a customer account",
    responses={
        **INPUT_ERROR_RESPONSES,
        409: {
            "model": ErrorOut,
            "description": "IBAN already has an account, or the overdraft limit is above "
            "LEDGER_OVERDRAFT_APPROVAL_ABOVE (open it lower; GraphQL requestOverdraftLimit)",
        },
    },
)
def open_account(
    body: OpenAccountIn,
    request: Request,
    response: Response,
    container: ContainerDep,
    principal: AccountsWriter,
) -> AccountOut:
    command = open_account_command(
        body.iban,
        body.holder_name,
        body.currency,
        body.overdraft_limit,
        holder_type=body.holder_type,
        further_names=body.further_names,
        identifiers=[(i.scheme, i.value) for i in body.identifiers or ()],
    )
    with caused_by(causation(request, principal)):
        # 409 above the overdraft ceiling: a second person approves (requestOverdraftLimit)
        account = container.ledger_changes.open_account_directly(command)
    response.headers["Location"] = f"/v1/accounts/{account.key}"
    log.info("account opened", account=account.key, currency=account.currency)
    return account_out(account_view(account))


@router.get(
    "/accounts/{account_id}",
    response_model=AccountOut,
    summary="An account from the read model (optionally as recorded at `asOf`)",
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def get_account(
    account_id: Annotated[str, Path(description="IBAN or internal code such as clearing:EUR")],
    container: ContainerDep,
    _principal: AccountsReader,
    as_of: AsOf = None,
) -> AccountOut:
    key = account_key(account_id)
    view = container.queries.account(key, as_of=as_of)
    if view is None:
        when = f" as of {as_of.isoformat()}" if as_of else ""
        raise NotFound(f"no account {key}{when}")
    return account_out(view)
