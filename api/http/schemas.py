"""REST models shared by the routers: camelCase on the wire, money, the error body, and the
error responses every route documents. Each resource's own models live in its router."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from api.presentation import format_amount


class CamelModel(BaseModel):
    """Fields are snake_case in Python and camelCase on the wire (either is accepted in)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class MoneyOut(CamelModel):
    amount: str = Field(examples=["125.40"], description="Decimal string at the currency's scale")
    currency: str = Field(examples=["EUR"])


# Every error body: {"detail": "<readable message>"} (api/http/errors.py). No docstring: it
# would become the model's description in the published OpenAPI document.
class ErrorOut(BaseModel):
    detail: str


def money(amount: Decimal, currency: str) -> MoneyOut:
    return MoneyOut(amount=format_amount(amount, currency), currency=currency)


HARDENING_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorOut, "description": "Body larger than `LEDGER_MAX_BODY_BYTES`"},
    429: {
        "model": ErrorOut,
        "description": "Rate limit of the principal reached; retry after `Retry-After` seconds",
        "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
    },
    500: {"model": ErrorOut, "description": "Unexpected; `detail` names the correlation id"},
}
"""What any ``/v1`` route may answer: body limit, rate limit, unexpected error."""

V1_RESPONSES: dict[int | str, dict[str, Any]] = {403: {"model": ErrorOut}, **HARDENING_RESPONSES}
"""The answers every ``/v1`` router documents for all its routes."""

INPUT_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Body is not JSON"},
    422: {"model": ErrorOut, "description": "Invalid input; `detail` says what is wrong"},
}
"""What a route that takes a body answers when the body is wrong."""
