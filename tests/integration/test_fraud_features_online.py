"""Online fraud features (#16, must show 3): every feature recorded with a decision equals
the one recomputed offline from the event log, across batches and a restart; and a model
trained on fewer features keeps scoring in its own feature order."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from uuid import uuid4

import lightgbm as lgb
import pytest

from adapters.fraud.artifacts import ArtifactStore
from adapters.fraud.dataset import build_dataset
from adapters.fraud.scoring import LightGBMModel
from adapters.persistence import DatabaseConfig
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.settings import Settings
from application.fraud.features import ledger_feed, replay_features
from domain.causation import caused_by
from domain.fraud.features import FEATURES
from domain.fraud.features.base import NAMES as BASE_FEATURES
from tests.builders import FakeClock, iban, payment
from tests.fraud_support import install_models, trained_models  # noqa: F401 - fixture
from tests.integration.test_fraud_screening import (
    ANALYST,
    funded,
    register_and_promote,
    screened_events,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_container(database: DatabaseConfig, clock: FakeClock, trained_models) -> Iterator:  # noqa: F811
    built: list[Container] = []

    def make(**overrides) -> tuple[Container, list[str]]:
        versions = install_models(trained_models, database.data_dir)
        settings = Settings().with_database(database).updated(fraud=overrides)
        container = bootstrap(settings, clock=clock)
        built.append(container)
        return container, versions

    yield make
    for container in built:
        container.close()


def test_every_feature_online_equals_offline_across_a_restart_and_batches(make_container, clock):
    """Must show 3 of #16: for every feature (the habit, recurring, graph and payee-check
    ones too) the values recorded online equal the ones replayed offline from the log:
    standing orders, an escalation to a new payee, a redirected invoice, a burst of small
    payments by many debtors, payments to a customer account, a VoP check id, two channels;
    some in batches, and half of them by a second process whose state was rebuilt from
    the log (a restart)."""
    first, (version,) = make_container(review_score=Decimal("0.99"))
    register_and_promote(first, version)
    customers = [funded(first, "30000") for _ in range(3)]
    landlord, shop, supplier, scammer, redirect = (iban(c) for c in ("FR", "NL", "DE", "FR", "NL"))
    devices = [{"deviceId": "d-1", "ip": "10.0.0.1"}, {"deviceId": "d-7", "ip": "10.9.9.9"}]

    def pay(ledger, debtor, creditor, amount, step=0, **extra):
        return payment(
            debtor=debtor,
            creditor=creditor,
            amount=amount,
            metadata=devices[step % 2],
            channel=("MOBILE", "WEB")[step % 2 if step % 5 else 0],
            requestedAt=clock.now.isoformat(),
            **extra,
        )

    def week(ledger, n):
        for who in (0, 1):  # standing orders: same amount, every 7 days
            ledger.submit_payment(pay(ledger, customers[who], landlord, "850.00"))
        clock.advance(3600 * 3)
        ledger.submit_payment(pay(ledger, customers[0], shop, f"{20 + 7 * n}.{n:02d}", n))
        ledger.submit_payment(pay(ledger, customers[2], customers[1], f"{15 + n}.00", n + 1))
        clock.advance(3600 * 24 * 7 - 3600 * 3)

    for n in range(4):
        week(first.ledger, n)
    for n, amount in enumerate(("100.00", "400.00", "1600.00")):  # escalating to a new payee
        first.ledger.submit_payment(pay(first.ledger, customers[2], scammer, amount, n))
        clock.advance(3600 * 20)
    second, _ = make_container(review_score=Decimal("0.99"))  # a restart: state from the log
    assert second.warm_up() > 0
    ledger = second.ledger
    week(ledger, 4)
    # a batch: one just below the reporting threshold, one refused (no funds), then small
    # payments of many debtors to one shop within minutes
    ledger.submit_payments(
        [
            pay(ledger, customers[0], supplier, "9500.00", 1),
            pay(ledger, customers[2], shop, "99999.00"),
        ]
        + [pay(ledger, customers[i % 3], shop, f"{1 + i}.50", i) for i in range(7)]
    )
    clock.advance(600)
    ledger.submit_payments(  # the redirected invoice: the landlord's amount to a new IBAN
        [
            pay(ledger, customers[1], redirect, "850.00", 1, vopCheckId=str(uuid4())),
            pay(ledger, customers[1], redirect, "850.00", 2),
        ]
    )
    clock.advance(3600 * 24 * 7 - 600)
    week(ledger, 5)
    events = [event for _, event in ledger_feed(ledger)(0, 1_000_000)]
    recorded = {
        str(e.originator_id): e.features
        for e in events
        if type(e).__name__ == "Screened" and getattr(e, "features", None)
    }
    assert len(recorded) >= 40
    offline = replay_features(events)
    for tx_id, features in recorded.items():
        assert offline[tx_id] == features, tx_id
    constant = [n for n in FEATURES if len({f[n] for f in recorded.values()}) < 2]
    assert constant == []  # every feature took at least two values: the test covers it
    assert max(Decimal(f["recurring_payee"]) for f in recorded.values()) == 1
    assert max(Decimal(f["new_payee_recurring_amount"]) for f in recorded.values()) == 1


def test_a_model_trained_on_fewer_features_scores_in_its_own_feature_order(
    make_container,
    database,
    trained_models,  # noqa: F811
):
    """A model trained before the habit features (the first twenty, in their order) keeps
    scoring: the vector is built in the model's own order; every feature is still recorded."""
    names = list(BASE_FEATURES[::-1])  # another order than FEATURES, to be sure it is used
    dataset = build_dataset(trained_models.parent / "data")
    params = {"objective": "binary", "num_leaves": 7, "verbose": -1, "seed": 1}
    train_set = lgb.Dataset(dataset.columns(names), dataset.y, feature_name=names)
    booster = lgb.train(params, train_set, num_boost_round=15)
    container, _ = make_container(review_score=Decimal("0.99"))
    artifact = ArtifactStore(database.data_dir / "models").save(
        booster.model_to_string(), {"features": names}
    )
    debtor = funded(container)
    with caused_by(ANALYST):
        container.fraud.register_model(artifact.version, {"features": names})
        container.fraud.promote(artifact.version, "the model of last year")
    result = container.ledger.submit_payment(payment(debtor=debtor, amount="2500.00"))
    event = screened_events(container)[result.transaction_id]
    assert event.model_version == artifact.version
    assert list(event.features) == list(FEATURES)
    assert {top["feature"] for top in event.top_features} <= set(names)
    row = [float(Decimal(event.features[name])) for name in names]
    expected, _ = LightGBMModel(artifact).explain(row)
    assert event.score == Decimal(f"{expected:.6f}")
