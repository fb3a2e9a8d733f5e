"""The one error table (api/errors.py) that REST and GraphQL both answer from.

The e2e tests pin the answers through the two APIs; this pins the table itself, including
that a subclass answers as its nearest listed base and that GraphQL leaves untranslated what
has no code.
"""

from __future__ import annotations

import pytest

from api.errors import ERRORS, answer_for
from api.graphql.errors import ApiError, translated
from api.security import Forbidden, Principal, Unauthenticated
from application.errors import (
    AlreadyExists,
    ApprovalRequired,
    ConcurrencyExhausted,
    Conflict,
    Expired,
    IdempotencyKeyReused,
    InvalidCommand,
    NotFound,
    NotPermitted,
    ReadModelsBehind,
    Refused,
)
from domain.errors import InvalidIban, NotReversible

EXPECTED = [
    (InvalidCommand("bad"), 422, "BAD_USER_INPUT"),
    (InvalidIban("bad"), 422, "BAD_USER_INPUT"),
    (NotReversible("twice"), 422, "BAD_USER_INPUT"),
    (NotFound("none"), 404, "NOT_FOUND"),
    (AlreadyExists("there"), 409, "ALREADY_EXISTS"),
    (Conflict("no"), 409, "CONFLICT"),
    (IdempotencyKeyReused("differs"), 409, "CONFLICT"),
    (Expired("late"), 409, "EXPIRED"),
    (ApprovalRequired("ask"), 409, "APPROVAL_REQUIRED"),
    (NotPermitted("user:a", "approve"), 403, "FORBIDDEN"),
    (Refused("self"), 403, "REFUSED"),
    (ConcurrencyExhausted("busy"), 503, "UNAVAILABLE"),
    (ReadModelsBehind("behind"), 503, "UNAVAILABLE"),
]


@pytest.mark.parametrize(("error", "status", "code"), EXPECTED, ids=lambda v: repr(v)[:40])
def test_each_error_has_one_status_and_one_code(error: Exception, status: int, code: str) -> None:
    answer = answer_for(error)
    assert answer is not None
    assert (answer.status, answer.code) == (status, code)
    with pytest.raises(ApiError) as raised, translated():
        raise error
    assert raised.value.extensions == {"code": code}
    suffix = "; try again" if isinstance(error, ConcurrencyExhausted) else ""
    assert str(raised.value) == f"{error}{suffix}"


def test_graphql_lets_through_what_carries_its_own_code() -> None:
    forbidden = Forbidden(Principal(name="user:a"), "accounts:read")
    with pytest.raises(Forbidden), translated():
        raise forbidden
    assert forbidden.extensions["code"] == "FORBIDDEN"
    answer = answer_for(forbidden)
    assert answer is not None
    assert (answer.status, answer.code) == (403, None)
    with pytest.raises(Unauthenticated), translated():
        raise Unauthenticated("no token")


def test_anything_else_is_unexpected() -> None:
    assert answer_for(RuntimeError("boom")) is None
    with pytest.raises(RuntimeError), translated():
        raise RuntimeError("boom")
    assert all(isinstance(cls, type) for cls in ERRORS)
