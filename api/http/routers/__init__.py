"""The REST routers, one module per resource.

Each ``/v1`` router carries the prefix and the answers every ``/v1`` route documents (403,
body limit, rate limit, unexpected error) itself rather than being nested in a ``/v1`` router:
FastAPI puts the route of the router that declared it into the request scope, and the
request metrics and server spans name a request by that route's path (``/v1/accounts``, not
``/accounts``). The operations router (``/healthz``, ``/readyz``, ``/metrics``) stands apart
because the ingestion role serves only that one.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.http.routers import accounts, fraud_claims, ops, transactions, vop, vop_requests

v1_routers: tuple[APIRouter, ...] = (
    accounts.router,
    transactions.router,
    fraud_claims.router,
    vop.router,
    vop_requests.router,
)
"""Included by the app in this order."""

ops_router = ops.router

vop_router = vop.router
"""All the ``vop`` role serves beside the operations router."""

__all__ = ["ops_router", "v1_routers", "vop_router"]
