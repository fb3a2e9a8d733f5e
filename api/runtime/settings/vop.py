"""``LEDGER_VOP_*``: Verification of Payee (docs/vop.md): the matching thresholds, the size of
a bulk request and the rate limit per requesting PSP; the group commit of the checks' events
and the in-process directory cache; on the requester side, which PSP answers for a payee
(the routes), our BIC, the token and the timeout of those calls."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import InstanceOf, ValidationInfo, field_validator

from adapters.vop.peers import MAX_CONCURRENT
from adapters.vop.routes import VopRoutes, parse_routes, plain_http_hosts
from api.runtime.settings import parsing
from api.runtime.settings.base import Section, env
from application.vop.responder import MAX_BULK_ENTRIES
from domain.vop.outcomes import CLOSE_MATCH_THRESHOLD, MATCH_THRESHOLD, Thresholds

DEFAULT_VOP_RATE_PER_SECOND = 50.0
_BIC = re.compile(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")


def _bic(raw: str) -> str:
    value = raw.upper()
    if not _BIC.fullmatch(value):
        raise ValueError(f"not a BIC (8 or 11 letters and digits), got {raw!r}")
    return value


DEFAULT_VOP_BURST = 200
DEFAULT_PAYER_RATE_PER_SECOND = 0.5
DEFAULT_PAYER_BURST = 10
DEFAULT_COMMIT_BATCH_SIZE = 500
DEFAULT_COMMIT_MAX_WAIT_MS = 0.0
DEFAULT_CACHE_SIZE = 200_000
DEFAULT_CACHE_POLL_SECONDS = 0.5


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value not in {"true", "1", "yes", "on", "false", "0", "no", "off"}:
        raise ValueError(f"must be true or false, got {value!r}")
    return value in {"true", "1", "yes", "on"}


class VopSettings(Section):
    """How names match, how big a bulk request may be, and how fast a PSP may ask."""

    match_threshold: Annotated[float, parsing.bounded(0, 100, whole=False)] = env(
        "LEDGER_VOP_MATCH_THRESHOLD",
        MATCH_THRESHOLD,
        "similarity score (0-100, rapidfuzz's scale) from which a name is a match (`MTCH`)",
    )
    close_match_threshold: Annotated[float, parsing.bounded(0, 100, whole=False)] = env(
        "LEDGER_VOP_CLOSE_MATCH_THRESHOLD",
        CLOSE_MATCH_THRESHOLD,
        "similarity score from which a name is a close match (`CMTC`, the holder's name shown "
        "to the payer); at most the match threshold",
        cross_check=True,
    )
    bulk_max_entries: Annotated[int, parsing.integer(1, 10_000)] = env(
        "LEDGER_VOP_BULK_MAX_ENTRIES",
        MAX_BULK_ENTRIES,
        "entries of one bulk request (`POST /v1/vop/payee-verifications/bulk`); more is "
        "refused with **422**",
    )
    rate_limit_per_second: Annotated[float, parsing.rate()] = env(
        "LEDGER_VOP_RATE_LIMIT_PER_SECOND",
        DEFAULT_VOP_RATE_PER_SECOND,
        "sustained checks per second per requesting PSP (each entry of a bulk request counts; "
        "on top of `LEDGER_RATE_LIMIT_PER_SECOND`); above it **429** with `Retry-After`; "
        "`0` turns it off",
    )
    rate_limit_burst: Annotated[int, parsing.integer(0)] = env(
        "LEDGER_VOP_RATE_LIMIT_BURST",
        DEFAULT_VOP_BURST,
        "checks a requesting PSP may make at once before the sustained rate applies; with the "
        "limit on, at least `LEDGER_VOP_BULK_MAX_ENTRIES` (a bulk request takes one per entry; "
        "a smaller burst is refused at startup); `0` turns the limit off",
        cross_check=True,
    )

    routes: Annotated[InstanceOf[VopRoutes], parsing.when_text(parse_routes)] = env(
        "LEDGER_VOP_ROUTES",
        VopRoutes,
        "requester side: which PSP's VoP responder answers for a payee that is not ours, as "
        "`KIND:KEY=URL` entries separated by commas: `iban:` and an IBAN prefix without check "
        "digits (`iban:DE37040044`: country and bank code; the longest wins), or `bic:` and "
        "the payee's BIC (`bic:COBADEFF`; used only when no IBAN route matches and the BIC is "
        "of the IBAN's country); the URL the responder's base (`/v1/vop/payee-verifications` "
        "is appended), without user information, query or fragment. Unset: such payees are "
        "`NOAP` `PSP_UNAVAILABLE`",
        shown="unset",
    )
    bic: Annotated[str | None, parsing.when_text(_bic)] = env(
        "LEDGER_VOP_BIC",
        None,
        "our BIC, sent as `requestingAgent` when we ask another PSP; required with "
        "`LEDGER_VOP_ROUTES`",
        cross_check=True,
    )
    peer_token: str | None = env(
        "LEDGER_VOP_PEER_TOKEN",
        None,
        "bearer token sent to the other PSPs' responders (unset: no `Authorization` header); "
        "refused with a route over plain `http` to a host other than the loopback",
        secret=True,
    )
    peer_timeout_seconds: Annotated[float, parsing.bounded(0.01, 10, whole=False)] = env(
        "LEDGER_VOP_PEER_TIMEOUT_SECONDS",
        1.0,
        "deadline of a whole call to another PSP's responder (each single wait is bounded by "
        "it too, so a trickling peer is cut off at worst one wait after it); beyond it the "
        "check is `NOAP` `PSP_UNAVAILABLE`, never an error",
    )

    @field_validator("peer_token")
    @classmethod
    def _no_token_in_clear(cls, token: str | None, info: ValidationInfo) -> str | None:
        routes = info.data.get("routes")
        if token and routes:
            hosts = plain_http_hosts(routes)
            if hosts:
                raise ValueError(
                    "not sent over plain http: LEDGER_VOP_ROUTES routes to "
                    + ", ".join(hosts)
                    + " without https (only the loopback may be http)"
                )
        return token

    @field_validator("bic")
    @classmethod
    def _bic_with_routes(cls, bic: str | None, info: ValidationInfo) -> str | None:
        routes = info.data.get("routes")
        if routes and bic is None:
            raise ValueError("required when LEDGER_VOP_ROUTES is set")
        return bic

    commit_batch_size: Annotated[int, parsing.integer(1, 10_000)] = env(
        "LEDGER_VOP_COMMIT_BATCH_SIZE",
        DEFAULT_COMMIT_BATCH_SIZE,
        "checks of concurrent requests written in one event-store commit at most (group "
        "commit); a bulk request larger than this is still one commit of its own",
    )
    commit_max_wait_ms: Annotated[float, parsing.bounded(0, 1000, whole=False)] = env(
        "LEDGER_VOP_COMMIT_MAX_WAIT_MS",
        DEFAULT_COMMIT_MAX_WAIT_MS,
        "how long the group commit waits for more checks when it has fewer than the batch "
        "size (milliseconds); `0`: it takes only what is waiting (requests that arrive while "
        "a commit is in flight still share the next)",
    )
    directory_cache_size: Annotated[int, parsing.integer(0, 10_000_000)] = env(
        "LEDGER_VOP_DIRECTORY_CACHE_SIZE",
        DEFAULT_CACHE_SIZE,
        "accounts the responder keeps in its in-process directory cache (least recently "
        "used out first; about 650 B each, docs/capacity.md §6 for the pod memory); `0` turns "
        "the cache off",
    )
    directory_cache_preload: Annotated[bool, parsing.when_text(_flag)] = env(
        "LEDGER_VOP_DIRECTORY_CACHE_PRELOAD",
        True,
        "fill the directory cache with the directory (up to its size) when the process starts, "
        "so that a new pod answers from memory at once",
    )
    directory_cache_poll_seconds: Annotated[float, parsing.positive_seconds()] = env(
        "LEDGER_VOP_DIRECTORY_CACHE_POLL_SECONDS",
        DEFAULT_CACHE_POLL_SECONDS,
        "how often the directory cache follows the projection of the ledger's account events "
        "and drops the accounts changed; a cached entry is stale at most the projector's lag "
        "plus this",
    )

    @field_validator("rate_limit_burst")
    @classmethod
    def _bulk_fits_the_burst(cls, burst: int, info: ValidationInfo) -> int:
        """A bulk request is charged one token per entry: a burst below the bulk size would
        either refuse every full bulk request or, charged less, undercount the PSP's checks."""
        entries = info.data.get("bulk_max_entries")
        rate = info.data.get("rate_limit_per_second")
        if entries is not None and rate and burst > 0 and burst < entries:
            raise ValueError(
                f"must be at least LEDGER_VOP_BULK_MAX_ENTRIES ({entries}) while the per-PSP "
                "limit is on (each entry of a bulk request takes a token): raise it, lower "
                "LEDGER_VOP_BULK_MAX_ENTRIES, or turn the limit off with 0"
            )
        return burst

    @field_validator("close_match_threshold")
    @classmethod
    def _not_above_match(cls, close: float, info: ValidationInfo) -> float:
        match = info.data.get("match_threshold")
        if match is not None and close > match:
            raise ValueError(f"must not be above LEDGER_VOP_MATCH_THRESHOLD ({match:g})")
        return close

    def thresholds(self) -> Thresholds:
        return Thresholds(match=self.match_threshold, close_match=self.close_match_threshold)

    @property
    def rate_limited(self) -> bool:
        return self.rate_limit_per_second > 0 and self.rate_limit_burst > 0

    # The requester side's own limits (POST /v1/vop/checks), apart from the responder's.
    request_rate_limit_per_second: Annotated[float, parsing.rate()] = env(
        "LEDGER_VOP_REQUEST_RATE_LIMIT_PER_SECOND",
        DEFAULT_VOP_RATE_PER_SECOND,
        "requester side: sustained checks per second per channel (`POST /v1/vop/checks`, on "
        "top of `LEDGER_RATE_LIMIT_PER_SECOND`; each may call another PSP); above it **429** "
        "with `Retry-After`; `0` turns it off",
    )
    request_rate_limit_burst: Annotated[int, parsing.integer(0)] = env(
        "LEDGER_VOP_REQUEST_RATE_LIMIT_BURST",
        DEFAULT_VOP_BURST,
        "checks a channel may make at once before its sustained rate applies; `0` turns the "
        "limit off",
    )
    payer_rate_limit_per_second: Annotated[float, parsing.rate()] = env(
        "LEDGER_VOP_PAYER_RATE_LIMIT_PER_SECOND",
        DEFAULT_PAYER_RATE_PER_SECOND,
        "requester side: sustained checks per second per payer account (`payerAccount.iban`, "
        "whichever channel asks): against probing many payees' names from one account; "
        "above it **429** with `Retry-After`; `0` turns it off",
    )
    payer_rate_limit_burst: Annotated[int, parsing.integer(0)] = env(
        "LEDGER_VOP_PAYER_RATE_LIMIT_BURST",
        DEFAULT_PAYER_BURST,
        "checks of one payer account at once before its sustained rate applies; `0` turns "
        "the limit off",
    )
    peer_max_concurrent: Annotated[int, parsing.integer(1, 1000)] = env(
        "LEDGER_VOP_PEER_MAX_CONCURRENT",
        MAX_CONCURRENT,
        "calls to other PSPs' responders under way at once per process; one more is not "
        "queued but answered `NOAP` `PSP_UNAVAILABLE` at once (a slow PSP cannot take every "
        "request thread)",
    )

    @property
    def request_rate_limited(self) -> bool:
        return self.request_rate_limit_per_second > 0 and self.request_rate_limit_burst > 0

    @property
    def payer_rate_limited(self) -> bool:
        return self.payer_rate_limit_per_second > 0 and self.payer_rate_limit_burst > 0
