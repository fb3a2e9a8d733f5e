"""Per-request DataLoaders: a list that resolves related objects makes one batched query.

Keys are ``(id, as_of)`` so that everything under an ``asOf`` query is answered as recorded at
that instant. Loaders are created per request (in :class:`~api.graphql.context.LedgerContext`),
so their cache never outlives one response. Batches run through
:func:`~api.graphql.execution.offload`, like every other blocking read of a resolver.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

from strawberry.dataloader import DataLoader

from api.graphql.execution import offload
from projections.ledger.views import AccountView, StatusChange, TransactionView
from projections.queries import LedgerQueries

AsOfKey = tuple[str, datetime | None]
V = TypeVar("V")


def _by_as_of(keys: Iterable[AsOfKey]) -> dict[datetime | None, list[str]]:
    groups: dict[datetime | None, list[str]] = defaultdict(list)
    for key, as_of in keys:
        if key not in groups[as_of]:
            groups[as_of].append(key)
    return groups


class Loaders:
    """The loaders of one request; :attr:`batches` counts batched calls (tests read it)."""

    def __init__(self, queries: LedgerQueries) -> None:
        self.queries = queries
        self.batches: Counter[str] = Counter()
        self.status_history: DataLoader[AsOfKey, list[StatusChange]] = DataLoader(
            load_fn=self._load_status_history
        )
        self.transactions: DataLoader[AsOfKey, TransactionView | None] = DataLoader(
            load_fn=self._load_transactions
        )
        self.accounts: DataLoader[AsOfKey, AccountView | None] = DataLoader(
            load_fn=self._load_accounts
        )

    async def _batched(
        self, name: str, keys: list[AsOfKey], fetch: Callable[[], dict[AsOfKey, V]], missing: V
    ) -> list[V]:
        self.batches[name] += 1
        found = await offload(fetch)
        return [found.get(key, missing) for key in keys]

    async def _load_status_history(self, keys: list[AsOfKey]) -> list[list[StatusChange]]:
        def fetch() -> dict[AsOfKey, list[StatusChange]]:
            found: dict[AsOfKey, list[StatusChange]] = {}
            for as_of, ids in _by_as_of(keys).items():
                history = self.queries.status_history(ids, as_of=as_of)
                for tx_id in ids:
                    found[(tx_id, as_of)] = list(history.get(tx_id, []))
            return found

        return await self._batched("status_history", keys, fetch, [])

    async def _load_transactions(self, keys: list[AsOfKey]) -> list[TransactionView | None]:
        def fetch() -> dict[AsOfKey, TransactionView | None]:
            found: dict[AsOfKey, TransactionView | None] = {}
            for as_of, ids in _by_as_of(keys).items():
                if as_of is None:
                    views = self.queries.transactions_by_ids(ids)
                    for tx_id in ids:
                        found[(tx_id, None)] = views.get(tx_id)
                else:
                    for tx_id in ids:
                        found[(tx_id, as_of)] = self.queries.transaction(tx_id, as_of=as_of)
            return found

        return await self._batched("transactions", keys, fetch, None)

    async def _load_accounts(self, keys: list[AsOfKey]) -> list[AccountView | None]:
        def fetch() -> dict[AsOfKey, AccountView | None]:
            found: dict[AsOfKey, AccountView | None] = {}
            for as_of, account_keys in _by_as_of(keys).items():
                views = self.queries.accounts_by_keys(account_keys, as_of=as_of)
                for key in account_keys:
                    found[(key, as_of)] = views.get(key)
            return found

        return await self._batched("accounts", keys, fetch, None)
