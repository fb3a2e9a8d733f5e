"""Helpers for the projection tests (no tests here): a ledger with a stepping clock,
its read-model engine, projector and queries, and a dump of every read-model row."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from schwifty import IBAN
from sqlalchemy import Engine, select

from adapters.persistence import (
    DatabaseConfig,
    ensure_schema,
    event_store_env,
    read_model_engine,
)
from application.ledger.app import LedgerApplication
from application.ledger.commands import OpenAccount, Party, PaymentInstruction, SubmissionResult
from application.ledger.screening import AmountLimits, RulesScreening
from domain.iban import Iban
from domain.money import Money
from projections.queries import LedgerQueries
from projections.runner.projector import Projector
from projections.runner.registry import READ_MODEL_TABLES
from projections.runner.sources import EventSource

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# review above 1000 EUR (-> HELD), decline above 5000 EUR
LIMITS = AmountLimits(review_above={"EUR": Decimal("1000")}, decline_above={"EUR": Decimal("5000")})


def iban(n: int, country: str = "DE") -> str:
    """The n-th valid test IBAN of ``country`` (DE: ours by default; FR for outsiders)."""
    if country == "DE":
        return str(
            IBAN.generate("DE", bank_code="37040044", account_code=str(1_000_000 + n)).compact
        )
    return str(
        IBAN.generate("FR", bank_code="2004101005", account_code=f"{500000 + n:011d}").compact
    )


class SteppingClock:
    """Returns START + 1 s, + 2 s, ... one step per call; remembers every instant."""

    def __init__(self, start: datetime = START, step: timedelta = timedelta(seconds=1)) -> None:
        self.now = start
        self.step = step
        self.instants: list[datetime] = []

    def __call__(self) -> datetime:
        self.now += self.step
        self.instants.append(self.now)
        return self.now


@dataclass
class Ledger:
    database: DatabaseConfig
    app: LedgerApplication
    engine: Engine
    clock: SteppingClock
    source: EventSource
    projector: Projector
    queries: LedgerQueries
    extra_engines: list[Engine] = field(default_factory=list)

    def open(self, number: int, overdraft: str = "0", currency: str = "EUR") -> str:
        key = iban(number)
        self.app.open_account(
            OpenAccount(Iban(key), f"Holder {number}", currency, Decimal(overdraft))
        )
        return key

    def payment(
        self,
        external_id: str,
        debtor: str,
        creditor: str,
        amount: str,
        currency: str = "EUR",
        channel: str = "MOBILE",
    ) -> PaymentInstruction:
        return PaymentInstruction(
            external_id=external_id,
            channel=channel,
            debtor=Party(Iban(debtor), "Debtor"),
            creditor=Party(Iban(creditor), "Creditor"),
            amount=Money.parse(amount, currency),
            reference=f"ref {external_id}",
            metadata={"deviceId": "d-1"},
        )

    def pay(
        self, external_id: str, debtor: str, creditor: str, amount: str, **kw: Any
    ) -> SubmissionResult:
        return self.app.submit_payment(self.payment(external_id, debtor, creditor, amount, **kw))

    def projector_for(self, engine: Engine | None = None, **kw: Any) -> Projector:
        return Projector(engine or self.engine, [self.source], **kw)

    def dump(self, engine: Engine | None = None) -> dict[str, list[tuple[Any, ...]]]:
        return dump_tables(engine or self.engine)

    def close(self) -> None:
        self.engine.dispose()
        for engine in self.extra_engines:
            engine.dispose()
        self.app.close()


def dump_tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every read-model table (tracking excluded), sorted, JSON as text."""
    result: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in READ_MODEL_TABLES:
            rows = [tuple(_comparable(v) for v in row) for row in conn.execute(select(table)).all()]
            result[table.name] = sorted(rows, key=repr)
    return result


def _comparable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def make_ledger(database: DatabaseConfig, clock: SteppingClock | None = None) -> Ledger:
    clock = clock or SteppingClock()
    app = LedgerApplication(
        env=event_store_env(database, "ledger"), clock=clock, screening=RulesScreening(LIMITS)
    )
    engine = read_model_engine(database)
    source = EventSource(app)
    projector = Projector(engine, [source])
    projector.create_tables()
    return Ledger(database, app, engine, clock, source, projector, LedgerQueries(engine))


@contextmanager
def fresh_like(database: DatabaseConfig, base: Path) -> Iterator[DatabaseConfig]:
    """A new empty store on the same backend as ``database`` (own schema / own directory)."""
    name = uuid.uuid4().hex[:12]
    if database.url is None:
        yield DatabaseConfig(data_dir=base / name)
        return
    config = DatabaseConfig(data_dir=base / name, url=database.url, schema=f"h_{name}")
    ensure_schema(config)
    try:
        yield config
    finally:
        with psycopg.connect(database.url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{config.schema}" CASCADE')
