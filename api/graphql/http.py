"""The GraphQL HTTP endpoint's body decoding: strict JSON, refusals as ``BAD_USER_INPUT``.

strawberry decodes the request body (and a GET's ``variables``) with a plain ``json.loads``: a
number of 10,000 digits raised ``ValueError`` and a body nested 100,000 deep ``RecursionError``,
both answered 500. :class:`StrictGraphQLRouter` decodes with
:func:`application.input_rules.decode_json` instead and refuses what it cannot accept with 400
``{"errors": [{"message": "<where>: <what>", "extensions": {"code": "BAD_USER_INPUT"}}]}``,
the field named by its path in the request (``variables.amount``), before anything runs. A
string with no UTF-8 form (a lone surrogate escape) is refused the same way: it could be
neither stored nor answered.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from strawberry.fastapi import GraphQLRouter

from application.input_rules import JsonRefused, decode_json, unsafe_values


class GraphQLRequestRefused(Exception):
    """A GraphQL request body that cannot be read; the message names where it is wrong."""


class StrictGraphQLRouter(GraphQLRouter[Any, Any]):
    """strawberry's FastAPI router with the strict JSON decoder (see the module doc)."""

    def decode_json(self, data: str | bytes) -> object:
        try:
            decoded = decode_json(data)
        except JsonRefused as error:
            raise GraphQLRequestRefused(f"request body is not valid JSON: {error}") from None
        problems = unsafe_values(decoded, "")
        if problems:
            raise GraphQLRequestRefused("; ".join(problems[:10]))
        return decoded


async def _refused(_request: Request, exc: Exception) -> JSONResponse:
    body = {"errors": [{"message": str(exc), "extensions": {"code": "BAD_USER_INPUT"}}]}
    return JSONResponse(body, status_code=400)


def install_request_refusals(app: FastAPI) -> None:
    """Answer :class:`GraphQLRequestRefused` with 400 and a GraphQL error body."""
    app.add_exception_handler(GraphQLRequestRefused, _refused)
