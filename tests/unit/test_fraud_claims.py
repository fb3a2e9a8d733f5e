"""The fraud claim aggregate, its input checks, how claims and verdicts become training labels,
and the time split of a training set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.fraud.dataset import Dataset
from domain.fraud.claims import (
    ClaimFacts,
    ClaimLabel,
    ClaimResolution,
    ClaimStateError,
    ClaimStatus,
    InvalidClaim,
    LabelSource,
    claim_id,
    claim_stands,
    file_claim,
    merge_labels,
)

pytestmark = pytest.mark.unit

TX = "7b0c4f2e-3a1d-5c6b-9e8f-0a1b2c3d4e5f"
AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def facts(**overrides: object) -> ClaimFacts:
    values: dict[str, object] = {
        "transaction_id": TX,
        "kind": "scam_report",
        "channel": "mobile",
        "reference": " CLM-1 ",
        "reported_at": AT,
        "statement": "  paid a fake investment platform ",
        "typology": "Investment_Scam",
    }
    values.update(overrides)
    return ClaimFacts.of(**values)  # type: ignore[arg-type]


def test_facts_are_normalised() -> None:
    checked = facts()
    assert (checked.kind, checked.channel, checked.reference) == ("SCAM_REPORT", "MOBILE", "CLM-1")
    assert checked.statement == "paid a fake investment platform"
    assert checked.typology == "investment_scam"
    assert facts(typology="  ").typology is None


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"kind": "REFUND"}, "kind"),
        ({"channel": "mobile app"}, "channel"),
        ({"channel": ""}, "channel"),
        ({"reference": ""}, "claimReference"),
        ({"reference": "x" * 65}, "claimReference"),
        ({"reference": "a\nb"}, "claimReference"),
        ({"reported_at": datetime(2026, 12, 1)}, "reportedAt"),
        ({"reported_at": datetime(1066, 10, 14, tzinfo=UTC)}, "reportedAt"),
        ({"statement": "x" * 2001}, "statement"),
        ({"statement": "nul\x00byte"}, "statement"),
        ({"typology": "not a name"}, "typology"),
    ],
)
def test_a_wrong_field_is_named(override: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidClaim) as raised:
        facts(**override)
    assert raised.value.field == field
    assert str(raised.value).startswith(f"{field}: ")


def test_a_claim_is_filed_once_per_channel_and_reference() -> None:
    claim = file_claim(facts())
    assert claim.id == claim_id("MOBILE", "CLM-1")
    assert claim.id != claim_id("WEB", "CLM-1")
    assert claim.status is ClaimStatus.FILED
    assert claim.same_as(facts(statement="said otherwise on the retry"))
    assert not claim.same_as(facts(kind="CHARGEBACK"))
    assert not claim.same_as(facts(transaction_id="another"))
    (filed,) = claim.collect_events()
    assert type(filed).__name__ == "Filed"
    assert filed.transaction_id == TX  # type: ignore[attr-defined]


def test_a_claim_is_withdrawn_or_resolved_once() -> None:
    withdrawn = file_claim(facts())
    withdrawn.withdraw("customer found the card")
    assert withdrawn.status is ClaimStatus.WITHDRAWN
    with pytest.raises(ClaimStateError):
        withdrawn.withdraw("again")
    with pytest.raises(ClaimStateError):
        withdrawn.resolve(ClaimResolution.UPHELD, "")
    resolved = file_claim(facts())
    resolved.resolve(ClaimResolution.UPHELD, "money traced to a mule")
    assert (resolved.status, resolved.resolution) == (ClaimStatus.RESOLVED, "UPHELD")
    with pytest.raises(ClaimStateError):
        resolved.withdraw("too late")
    with pytest.raises(InvalidClaim) as raised:
        file_claim(facts()).withdraw("x" * 501)
    assert raised.value.field == "note"


def test_which_claims_stand() -> None:
    assert claim_stands("FILED", None)
    assert claim_stands("RESOLVED", "UPHELD")
    assert not claim_stands("RESOLVED", "REJECTED")
    assert not claim_stands("WITHDRAWN", None)


def test_labels_from_claims_and_verdicts() -> None:
    merged = merge_labels(
        {"a": 0, "b": 1, "c": 1, "d": 0},
        [
            ClaimLabel("a", stands=True),  # a chargeback after a false positive: fraud
            ClaimLabel("b", stands=False),  # withdrawn, but the analyst confirmed fraud
            ClaimLabel("e", stands=False),  # withdrawn, no verdict: not fraud
            ClaimLabel("f", stands=True),
            ClaimLabel("f", stands=False),  # one of two claims withdrawn: still fraud
        ],
    )
    assert merged == {
        "a": (1, LabelSource.CLAIM),
        "b": (1, LabelSource.VERDICT_FRAUD),
        "c": (1, LabelSource.VERDICT_FRAUD),
        "d": (0, LabelSource.VERDICT_LEGIT),
        "e": (0, LabelSource.CLAIM_WITHDRAWN),
        "f": (1, LabelSource.CLAIM),
    }


ids = st.sampled_from("abcdefgh")


@given(
    verdicts=st.dictionaries(ids, st.integers(0, 1)),
    claims=st.lists(st.builds(ClaimLabel, ids, st.booleans())),
)
def test_a_standing_claim_is_always_fraud_and_every_labelled_payment_is_there(
    verdicts: dict[str, int], claims: list[ClaimLabel]
) -> None:
    merged = merge_labels(verdicts, claims)
    assert set(merged) == set(verdicts) | {c.transaction_id for c in claims}
    for claim in claims:
        if claim.stands:
            assert merged[claim.transaction_id] == (1, LabelSource.CLAIM)
    for tx_id, verdict in verdicts.items():
        if not any(c.stands and c.transaction_id == tx_id for c in claims):
            assert merged[tx_id][0] == verdict


def dataset(times: list[datetime]) -> Dataset:
    n = len(times)
    return Dataset(
        x=np.arange(n, dtype=np.float64).reshape(n, 1),
        y=np.asarray([i % 2 for i in range(n)], dtype=np.int32),
        amounts=[Decimal(i) for i in range(n)],
        typologies=[str(i) for i in range(n)],
        times=times,
        source="test",
    )


def test_the_validation_is_the_last_period() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    shuffled = [start + timedelta(hours=h) for h in (5, 0, 9, 1, 8, 2, 7, 3, 6, 4)]
    ordered = dataset(shuffled).in_time_order()
    assert ordered.times == sorted(shuffled)
    assert ordered.typologies == ["1", "3", "5", "7", "9", "0", "8", "6", "4", "2"]
    assert ordered.x[:, 0].tolist() == [1, 3, 5, 7, 9, 0, 8, 6, 4, 2]
    cut, split_at = ordered.time_split(0.8)
    assert (cut, split_at) == (8, start + timedelta(hours=8))
    assert max(ordered.times[:cut]) < min(ordered.times[cut:])


def test_payments_of_one_instant_stay_on_one_side_of_the_split() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    times = [start] * 6 + [start + timedelta(hours=1)] * 4
    cut, split_at = dataset(times).time_split(0.8)
    assert (cut, split_at) == (6, start + timedelta(hours=1))
    same = dataset([start] * 5)
    assert same.time_split(0.8) == (4, start)  # one instant throughout: by rows
