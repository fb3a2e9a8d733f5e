"""Property: whatever the payments, batches, refusals, clock steps, channels, VoP check ids
and restarts, the features recorded online with each decision (every feature, the habit,
recurring and graph ones too) are the features recomputed offline from the ledger's event
log; on SQLite and on PostgreSQL."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.persistence import DatabaseConfig, ensure_schema
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings
from application.fraud.features import ledger_feed, replay_features
from domain.causation import Causation, caused_by
from tests.builders import FakeClock, iban, open_command, payment
from tests.conftest import TEST_DATABASE_URL, _drop_schema
from tests.fraud_support import install_models, trained_models  # noqa: F401 - fixture

CUSTOMERS = [iban("DE", 9100 + n) for n in range(3)]
EXTERNAL = [iban("FR", 9200 + n) for n in range(2)]
BLOCKED = iban("NL", 9300)

step = st.fixed_dictionaries(
    {
        "debtor": st.integers(0, 2),
        "creditor": st.integers(0, 5),  # 0-2 customers, 3-4 external, 5 blocklisted
        "amount": st.decimals(Decimal("0.50"), Decimal("2500"), places=2),
        "device": st.sampled_from(["d-1", "d-2", "d-9"]),
        "wait": st.sampled_from([0, 5, 300, 4000, 90000, 7 * 86400]),
        "batch": st.integers(1, 4),
        "channel": st.sampled_from(["MOBILE", "WEB"]),
        "vop": st.booleans(),  # an unknown check id: payee_check UNKNOWN
        "restart": st.integers(0, 4),  # 0: a new process takes over after this step
    }
)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(step, min_size=3, max_size=14))
def test_recorded_features_equal_the_replayed_ones(trained_models, backend, steps):  # noqa: F811
    root = Path(tempfile.mkdtemp(prefix="skew-"))
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        if backend == "sqlite":
            database = DatabaseConfig(data_dir=root / "var")
        else:
            database = DatabaseConfig(data_dir=root / "var", url=TEST_DATABASE_URL, schema=schema)
            ensure_schema(database)
        (version,) = install_models(trained_models, database.data_dir)
        clock = FakeClock()
        base = Settings().with_database(database)
        settings_ = base.updated(fraud={"blocklist": (BLOCKED,), "review_score": Decimal("0.9")})
        container = bootstrap(settings_, clock=clock)
        try:
            ledger = container.ledger
            for customer in CUSTOMERS:  # small balances: some payments are refused
                ledger.open_account(open_command(customer))
                ledger.submit_payment(payment(debtor=EXTERNAL[0], creditor=customer, amount="1500"))
            with caused_by(Causation("user:t", "c", "CLI")):
                container.fraud.register_model(version, {})
                container.fraud.promote(version, "test")
            creditors = [*CUSTOMERS, *EXTERNAL, BLOCKED]
            pending = []
            for item in steps:
                clock.advance(item["wait"])
                check = {"vopCheckId": str(uuid.uuid4())} if item["vop"] else {}
                pending.append(
                    payment(
                        debtor=CUSTOMERS[item["debtor"]],
                        # paying oneself is refused before screening (not scored, but
                        # counted by the features of the payments after it)
                        creditor=creditors[item["creditor"]],
                        amount=str(item["amount"]),
                        metadata={"deviceId": item["device"], "ip": "10.0.0.1"},
                        channel=item["channel"],
                        requestedAt=clock.now.isoformat(),
                        **check,
                    )
                )
                if len(pending) >= item["batch"]:
                    ledger.submit_payments(pending)
                    pending = []
                if item["restart"] == 0 and not pending:
                    # a restart: a new process rebuilds its state from the log, goes on
                    container.close()
                    container = bootstrap(settings_, clock=clock)
                    ledger = container.ledger
            if pending:
                ledger.submit_payments(pending)
            events = [e for _, e in ledger_feed(ledger)(0, 1_000_000)]
            recorded = {
                str(e.originator_id): e.features
                for e in events
                if type(e).__name__ == "Screened" and getattr(e, "features", None)
            }
            assert len(recorded) == sum(1 for i in steps if i["creditor"] != i["debtor"])
            offline = replay_features(events)
            assert {k: offline[k] for k in recorded} == recorded
        finally:
            container.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if backend == "postgres":
            _drop_schema(schema)
