"""The audit chain's link function: every field and the order of events change the hashes."""

from __future__ import annotations

import dataclasses
import hashlib
from uuid import UUID

import pytest
from eventsourcing.persistence import Notification

from projections.audit.chain import chain_hash, event_hash, genesis, make_link

ORIGINATOR = UUID("6c1a4b8e-0d0f-4f5c-9a57-2f8f3f7f1a01")


def notification(**changes: object) -> Notification:
    base = Notification(
        id=7,
        originator_id=ORIGINATOR,
        originator_version=3,
        topic="domain.account:Account.Debited",
        state=b'{"amount":"125.40"}',
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_genesis_is_fixed_and_differs_per_context() -> None:
    assert genesis("ledger") == hashlib.sha256(b"backoffice-ledger:ledger").hexdigest()
    assert genesis("ledger") != genesis("fraud")


def test_the_link_follows_from_the_previous_hash_and_the_event_hash() -> None:
    link = make_link("ledger", notification(), genesis("ledger"))
    assert link.event_hash == event_hash(notification())
    assert link.chain_hash == chain_hash(genesis("ledger"), link.event_hash)
    assert (link.position, link.originator_id, link.originator_version) == (7, str(ORIGINATOR), 3)
    assert len(link.chain_hash) == 64
    int(link.chain_hash, 16)


@pytest.mark.parametrize(
    "changes",
    [
        {"id": 8},
        {"originator_id": UUID("6c1a4b8e-0d0f-4f5c-9a57-2f8f3f7f1a02")},
        {"originator_version": 4},
        {"topic": "domain.account:Account.Credited"},
        {"state": b'{"amount":"125.41"}'},
        {"state": b'{"amount":"125.40"} '},  # even a change that decodes alike
        {"state": b""},
    ],
    ids=["id", "originator", "version", "topic", "state", "state-whitespace", "state-empty"],
)
def test_any_field_change_changes_the_event_and_chain_hash(changes: dict[str, object]) -> None:
    before = make_link("ledger", notification(), genesis("ledger"))
    after = make_link("ledger", notification(**changes), genesis("ledger"))
    assert after.event_hash != before.event_hash
    assert after.chain_hash != before.chain_hash


def test_field_boundaries_are_unambiguous() -> None:
    """Moving bytes from one field to the next is not the same event (length prefixes)."""
    one = notification(topic="topic.a", state=b"bc")
    other = notification(topic="topic.ab", state=b"c")
    assert event_hash(one) != event_hash(other)
    assert event_hash(notification(id=12, originator_version=3)) != event_hash(
        notification(id=1, originator_version=23)
    )


def test_the_previous_hash_changes_the_link() -> None:
    first = make_link("ledger", notification(), genesis("ledger"))
    assert make_link("ledger", notification(), genesis("fraud")).chain_hash != first.chain_hash
    assert make_link("ledger", notification(), first.chain_hash).chain_hash != first.chain_hash


def test_the_chain_is_order_sensitive() -> None:
    a = notification(id=1, originator_version=1, state=b"a")
    b = notification(id=2, originator_version=2, state=b"b")

    def head(events: list[Notification]) -> str:
        previous = genesis("ledger")
        for event in events:
            previous = make_link("ledger", event, previous).chain_hash
        return previous

    assert head([a, b]) != head([b, a])
    assert head([a, b]) != head([b])
    assert head([a, b]) == head([a, b])


def test_a_string_originator_id_hashes_like_its_uuid() -> None:
    """SQLite hands back text ids, PostgreSQL UUIDs: both hash alike."""
    assert event_hash(notification(originator_id=str(ORIGINATOR))) == event_hash(notification())
