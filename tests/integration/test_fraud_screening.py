"""The fraud model behind the screening port: registry, promoted model, online features.

* with no promoted model the rules decide, exactly as before;
* promoting and rolling back are audited events, and scoring uses the promoted model;
* the skew test: the features recorded with each decision equal the features recomputed
  offline from the ledger's event log.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from adapters.persistence import DatabaseConfig
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.settings import Settings
from application.errors import Conflict
from application.fraud.features import ledger_feed, replay_features
from domain.causation import Causation, caused_by
from domain.fraud.features import FEATURES
from tests.builders import FakeClock, iban, open_command, payment
from tests.fraud_support import install_models, trained_models  # noqa: F401 - fixture

ANALYST = Causation(actor="user:mlops", correlation_id="corr-promote", channel="CLI")


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


def screened_events(container: Container) -> dict[str, object]:
    events = [event for _, event in ledger_feed(container.ledger)(0, 1_000_000)]
    return {str(e.originator_id): e for e in events if type(e).__name__ == "Screened"}


def funded(container: Container, amount: str = "50000") -> str:
    key = iban("DE")
    container.ledger.open_account(open_command(key))
    result = container.ledger.submit_payment(
        payment(debtor=iban("FR"), creditor=key, amount=amount)
    )
    assert result.status == "POSTED"
    return key


def register_and_promote(container: Container, version: str) -> None:
    assert container.fraud is not None
    with caused_by(ANALYST):
        container.fraud.register_model(version, {"features": list(FEATURES)})
        container.fraud.promote(version, "better recall")


def test_without_a_promoted_model_the_rules_decide_as_before(make_container):
    container, _ = make_container()
    debtor = funded(container)
    small = container.ledger.submit_payment(payment(debtor=debtor, amount="25.00"))
    large = container.ledger.submit_payment(payment(debtor=debtor, amount="12000.00"))
    assert (small.status, large.status) == ("POSTED", "HELD")
    screened = screened_events(container)
    event = screened[small.transaction_id]
    assert event.score is None and event.model_version is None
    assert getattr(event, "features", None) is None


def test_scoring_uses_the_promoted_model_and_records_its_explanation(make_container):
    container, (version,) = make_container()
    debtor = funded(container)
    register_and_promote(container, version)
    result = container.ledger.submit_payment(payment(debtor=debtor, amount="25.00"))
    event = screened_events(container)[result.transaction_id]
    assert event.model_version == version
    assert Decimal(0) <= event.score <= Decimal(1)
    assert list(event.features) == list(FEATURES)
    assert all(isinstance(v, str) and Decimal(v) == Decimal(v) for v in event.features.values())
    assert len(event.top_features) == 5
    assert {"feature", "value", "contribution"} == set(event.top_features[0])
    assert event.top_features[0]["value"] == event.features[event.top_features[0]["feature"]]


def test_thresholds_turn_scores_into_review_and_decline(make_container):
    container, (version,) = make_container(review_score=Decimal("0"), decline_score=Decimal("1"))
    debtor = funded(container)
    register_and_promote(container, version)
    held = container.ledger.submit_payment(payment(debtor=debtor, amount="25.00"))
    assert held.status == "HELD"
    assert "model-score-review" in screened_events(container)[held.transaction_id].rule_hits
    strict, _ = make_container(review_score=Decimal("0"), decline_score=Decimal("0"))
    declined = strict.ledger.submit_payment(payment(debtor=debtor, amount="26.00"))
    assert (declined.status, declined.reason) == ("REJECTED", "SCREENING_DECLINED")


def test_a_blocklisted_creditor_is_declined_with_or_without_a_model(make_container):
    bad = iban("NL")
    container, _ = make_container(blocklist=(bad,))
    debtor = funded(container)
    result = container.ledger.submit_payment(payment(debtor=debtor, creditor=bad, amount="5.00"))
    assert (result.status, result.reason) == ("REJECTED", "SCREENING_DECLINED")
    assert screened_events(container)[result.transaction_id].rule_hits == [
        "blocklisted-creditor-iban"
    ]


def test_promotion_and_rollback_are_audited_and_switch_the_scoring_model(make_container):
    container, (version,) = make_container()
    fraud = container.fraud
    assert fraud is not None
    debtor = funded(container)
    register_and_promote(container, version)
    scored = container.ledger.submit_payment(payment(debtor=debtor, amount="30.00"))
    assert screened_events(container)[scored.transaction_id].model_version == version
    with caused_by(ANALYST), pytest.raises(Conflict):
        fraud.promote(version, "again")
    with caused_by(ANALYST):
        fraud.rollback("false positives in production")
    assert fraud.promoted_version() is None
    unscored = container.ledger.submit_payment(payment(debtor=debtor, amount="31.00"))
    assert screened_events(container)[unscored.transaction_id].model_version is None
    with caused_by(ANALYST), pytest.raises(Conflict):
        fraud.rollback("nothing left")
    container.projector.catch_up()
    trail = container.queries.audit_trail(None, None, None, 100, None)
    kinds = [(e.event_type, e.actor) for _, e in trail.edges if e.stream_type == "ModelRegistry"]
    assert [k for k, _ in kinds] == [
        "ModelRegistry.Started",
        "ModelRegistry.ModelRegistered",
        "ModelRegistry.ModelPromoted",
        "ModelRegistry.ModelRolledBack",
    ]
    assert {actor for _, actor in kinds} == {"user:mlops"}


def test_online_features_equal_the_features_recomputed_from_the_event_log(make_container, clock):
    """No training/serving skew: the recorded features are what replaying the log gives."""
    container, (version,) = make_container(review_score=Decimal("0.97"))
    ledger = container.ledger
    register_and_promote(container, version)
    customers = [funded(container, "3000") for _ in range(3)]
    payees = [iban("FR"), iban("NL"), customers[2]]
    meta = [{"deviceId": "d-1", "ip": "10.0.0.1"}, {"deviceId": "d-2", "ip": "10.0.0.9"}]
    for step in range(12):
        clock.advance(600 + 97 * step)
        ledger.submit_payment(
            payment(
                debtor=customers[step % 2],
                creditor=payees[step % 3],
                amount=f"{10 + step * 45}.{step:02d}",
                metadata=meta[step % 2],
                requestedAt=clock.now.isoformat(),
            )
        )
    clock.advance(30)
    # One batch: later payments must see earlier ones of the same commit; some are refused.
    batch = [
        payment(
            debtor=customers[0],
            creditor=payees[i % 2],
            amount=amount,
            metadata=meta[1],
            requestedAt=clock.now.isoformat(),
        )
        for i, amount in enumerate(["5.00", "2900.00", "2900.00", "7.50", "1.99"])
    ]
    results = ledger.submit_payments(batch)
    assert "REJECTED" in {r.status for r in results}
    clock.advance(3600 * 5)
    ledger.submit_payment(
        payment(
            debtor=customers[0],
            creditor=payees[1],
            amount="4.00",
            metadata=meta[0],
            requestedAt=clock.now.isoformat(),
        )
    )
    recorded = {
        tx_id: event.features
        for tx_id, event in screened_events(container).items()
        if getattr(event, "features", None)
    }
    assert len(recorded) >= 15
    events = [event for _, event in ledger_feed(ledger)(0, 1_000_000)]
    offline = replay_features(events)
    for tx_id, features in recorded.items():
        assert offline[tx_id] == features, tx_id
    velocity = [Decimal(f["debtor_tx_1h"]) for f in recorded.values()]
    assert max(velocity) >= 4  # the batch's payments saw one another


def test_a_new_process_warms_its_features_up_from_the_log(make_container):
    first, (version,) = make_container()
    debtor = funded(first)
    register_and_promote(first, version)
    for amount in ("10.00", "20.00", "30.00"):
        first.ledger.submit_payment(payment(debtor=debtor, amount=amount))
    second, _ = make_container()
    assert second.warm_up() > 0
    state = second.ledger.screening.online.state
    assert state.debtors[debtor].count == 3
    assert second.warm_up() == 0  # already at the head


def test_a_promoted_model_that_cannot_load_holds_payments_until_it_loads_again(
    make_container, database
):
    """Missing or altered artifact: payments are held (never approved unscored), and the
    load is retried at every refresh, so restoring the artifact recovers without restart."""
    container, (version,) = make_container()
    debtor = funded(container)
    register_and_promote(container, version)
    folder = database.data_dir / "models" / version
    hidden = folder.with_name("hidden")
    folder.rename(hidden)
    selector = container.ledger.screening.selector
    selector.invalidate()
    held = container.ledger.submit_payment(payment(debtor=debtor, amount="25.00"))
    assert held.status == "HELD"
    event = screened_events(container)[held.transaction_id]
    assert "model-unavailable" in event.rule_hits and event.model_version is None
    incoming = container.ledger.submit_payment(payment(creditor=debtor, amount="5.00"))
    assert incoming.status == "POSTED"  # the model scores outgoing payments only
    hidden.rename(folder)
    selector.invalidate()  # the next refresh
    scored = container.ledger.submit_payment(payment(debtor=debtor, amount="26.00"))
    event = screened_events(container)[scored.transaction_id]
    assert scored.status == "POSTED" and event.model_version == version
    assert "model-unavailable" not in event.rule_hits


def test_an_altered_artifact_is_retried_at_every_refresh(make_container, database):
    container, (version,) = make_container()
    funded(container)
    register_and_promote(container, version)
    model_file = database.data_dir / "models" / version / "model.txt"
    original = model_file.read_text(encoding="utf-8")
    model_file.write_text(original + "\n", encoding="utf-8")
    now = [0.0]
    selector = container.ledger.screening.selector
    selector._monotonic = lambda: now[0]
    selector.invalidate()
    assert selector.current() is None and "sha256" in selector.failed
    model_file.write_text(original, encoding="utf-8")
    assert selector.current() is None  # not refreshed yet
    now[0] += 2.0
    assert selector.current() is not None and selector.failed is None


def test_a_batch_starting_with_a_payment_refused_before_screening_records_offline_features(
    make_container,
):
    """[A->A, A->FR] in one batch: the self-payment is refused before screening, and the
    scored payment after it must count it exactly as the offline replay does."""
    container, (version,) = make_container(review_score=Decimal("0.99"))
    debtor = funded(container)
    register_and_promote(container, version)
    results = container.ledger.submit_payments(
        [
            payment(debtor=debtor, creditor=debtor, amount="10.00"),
            payment(debtor=debtor, creditor=iban("FR"), amount="11.00"),
        ]
    )
    assert results[0].status == "REJECTED"
    recorded = screened_events(container)[results[1].transaction_id].features
    offline = replay_features(e for _, e in ledger_feed(container.ledger)(0, 1_000_000))
    assert recorded == offline[results[1].transaction_id]
    assert Decimal(recorded["debtor_history"]) == 1
    assert Decimal(recorded["rejections_24h"]) == 1


def test_a_payment_dated_ahead_by_the_client_does_not_move_the_feature_windows(
    make_container, clock
):
    """``requestedAt`` is the client's; the windows run on the ledger's recording time."""
    container, (version,) = make_container(review_score=Decimal("0.99"))
    debtor = funded(container)
    register_and_promote(container, version)
    ahead = (clock.now + timedelta(days=3)).isoformat()
    container.ledger.submit_payment(payment(debtor=debtor, amount="40.00", requestedAt=ahead))
    clock.advance(60)
    later = container.ledger.submit_payment(
        payment(debtor=debtor, amount="41.00", requestedAt=clock.now.isoformat())
    )
    recorded = screened_events(container)[later.transaction_id].features
    assert Decimal(recorded["debtor_tx_1h"]) == Decimal(recorded["debtor_tx_24h"]) == 1
    offline = replay_features(e for _, e in ledger_feed(container.ledger)(0, 1_000_000))
    assert offline[later.transaction_id] == recorded


def test_model_metrics_are_registered_as_decimal_strings(make_container):
    container, (version,) = make_container()
    details = {"metrics": {"roc_auc": 0.9995, "curve": [0.1, 1e-07]}, "rows": 7}
    with caused_by(ANALYST):
        container.fraud.register_model(version, details)
    (registered,) = [
        e for _, e in ledger_feed(container.fraud)(0, 1000) if type(e).__name__ == "ModelRegistered"
    ]
    assert registered.details == {
        "metrics": {"roc_auc": "0.9995", "curve": ["0.1", "0.0000001"]},
        "rows": 7,
    }
