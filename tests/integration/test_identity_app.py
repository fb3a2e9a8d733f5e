"""The identity application on both backends: users, role changes by maker-checker,
ledger changes carried out on approval, expiry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from adapters.persistence import DatabaseConfig, event_store_env
from application.errors import (
    AlreadyExists,
    ApprovalRequired,
    Conflict,
    Expired,
    InvalidCommand,
    NotFound,
    NotPermitted,
    Refused,
)
from application.identity.app import IdentityApplication
from application.identity.principals import Requester, UserEntry
from application.ledger.app import LedgerApplication
from application.ledger.changes import LedgerChanges, ReversalThresholds
from domain.causation import Causation, caused_by
from domain.identity.permissions import ChangeKind, permissions_of
from domain.identity.requests import PendingRequests, RequestStatus
from domain.ledger.accounts import AccountStatus
from domain.ledger.transactions import TransactionStatus
from tests.builders import FakeClock, iban, make_app, open_command, payment

TTL = timedelta(hours=24)


def person(name: str, *roles: str) -> Requester:
    return Requester(f"user:{name}", permissions_of(set(roles)))


ALICE = person("alice", "admin")
BOB = person("bob", "admin")
OLGA = person("olga", "operator")
CARL = person("carl", "compliance")
VIC = person("vic", "viewer")


@dataclass
class World:
    identity: IdentityApplication
    ledger: LedgerApplication
    clock: FakeClock
    changes: LedgerChanges

    def reopen(self) -> IdentityApplication:
        return IdentityApplication(env=self.identity.env, clock=self.clock, executor=self.changes)


@pytest.fixture
def world(database: DatabaseConfig) -> Iterator[World]:
    clock = FakeClock()
    ledger = make_app(database, clock)
    changes = LedgerChanges(ledger, ReversalThresholds({"EUR": Decimal("500")}))
    identity = IdentityApplication(
        env=event_store_env(database, "identity"), clock=clock, approval_ttl=TTL, executor=changes
    )
    with caused_by(Causation(actor="user:root", channel="CLI")):
        identity.provision_user("alice", ["admin"], "Alice Admin")
        identity.provision_user("bob", ["admin"])
    try:
        yield World(identity, ledger, clock, changes)
    finally:
        identity.close()
        ledger.close()


def test_provision_and_lookup(world: World) -> None:
    app = world.identity
    assert app.lookup("alice") == UserEntry("alice", frozenset({"admin"}), True, "Alice Admin")
    assert app.lookup("ALICE") == app.lookup("alice")
    assert app.lookup("nobody") is None
    assert app.lookup("user:alice") is None  # the bare name only
    again = app.provision_user("alice", ["admin", "auditor"])
    assert again.roles == frozenset({"admin", "auditor"})
    with pytest.raises(InvalidCommand):
        app.provision_user("bob", ["channel"])


def test_register_suspend_reactivate(world: World) -> None:
    app = world.identity
    entry = app.register_user("Olga", "Olga Operator", ALICE)
    assert entry == UserEntry("olga", frozenset(), True, "Olga Operator")
    with pytest.raises(AlreadyExists):
        app.register_user("olga", None, BOB)
    with pytest.raises(NotPermitted):
        app.register_user("vic", None, VIC)
    with pytest.raises(InvalidCommand):
        app.register_user("o", None, ALICE)
    assert app.suspend_user("olga", "on leave", ALICE).active is False
    lookup = app.lookup("olga")
    assert lookup is not None and not lookup.active
    with pytest.raises(Conflict):
        app.suspend_user("olga", "again", ALICE)
    with pytest.raises(Refused):
        app.suspend_user("alice", "oops", ALICE)
    with pytest.raises(NotFound):
        app.suspend_user("nobody", "x", ALICE)
    assert app.reactivate_user("olga", "back", BOB).active is True


def test_role_grant_needs_a_second_admin(world: World) -> None:
    app = world.identity
    app.register_user("olga", None, ALICE)
    request = app.request_change(ChangeKind.GRANT_ROLE, "olga", {"role": "operator"}, ALICE)
    assert request.status is RequestStatus.PENDING
    assert request.expires_at == world.clock.now + TTL
    assert app.pending() == [request.id]
    with pytest.raises(Refused, match="cannot approve"):
        app.approve(request.id, ALICE)
    assert app.lookup("olga").roles == frozenset()  # type: ignore[union-attr]
    with pytest.raises(Conflict, match="already pending"):
        app.request_change(ChangeKind.GRANT_ROLE, "olga", {"role": "operator"}, BOB)
    world.clock.advance(60)
    done = app.approve(request.id, BOB)
    assert done.status is RequestStatus.EXECUTED
    assert done.outcome == "granted operator to olga"
    assert app.lookup("olga").roles == frozenset({"operator"})  # type: ignore[union-attr]
    assert app.pending() == []
    with pytest.raises(Conflict, match="not PENDING"):
        app.approve(request.id, BOB)
    stored = world.reopen().get_request(request.id)
    assert (stored.status, stored.decided_by) == (RequestStatus.EXECUTED, "user:bob")


def test_role_requests_are_checked(world: World) -> None:
    app = world.identity
    with pytest.raises(NotFound):
        app.request_change(ChangeKind.GRANT_ROLE, "ghost", {"role": "viewer"}, ALICE)
    with pytest.raises(InvalidCommand):
        app.request_change(ChangeKind.GRANT_ROLE, "bob", {"role": "ingestion"}, ALICE)
    with pytest.raises(Conflict, match="already holds"):
        app.request_change(ChangeKind.GRANT_ROLE, "bob", {"role": "admin"}, ALICE)
    with pytest.raises(Conflict, match="does not hold"):
        app.request_change(ChangeKind.REVOKE_ROLE, "bob", {"role": "viewer"}, ALICE)
    with pytest.raises(NotPermitted):
        app.request_change(ChangeKind.GRANT_ROLE, "bob", {"role": "viewer"}, OLGA)
    with pytest.raises(InvalidCommand):
        app.request_change("MAKE_ME_RICH", "bob", {}, ALICE)


def test_the_subject_cannot_approve_their_own_grant(world: World) -> None:
    app = world.identity
    app.provision_user("carol", ["admin"])
    request = app.request_change(ChangeKind.GRANT_ROLE, "carol", {"role": "auditor"}, ALICE)
    with pytest.raises(Refused, match="own roles"):
        app.approve(request.id, person("carol", "admin"))
    revoke = app.request_change(ChangeKind.REVOKE_ROLE, "bob", {"role": "admin"}, ALICE)
    assert app.approve(revoke.id, person("carol", "admin")).status is RequestStatus.EXECUTED
    assert app.lookup("bob").roles == frozenset()  # type: ignore[union-attr]


def test_approver_needs_the_approval_permission(world: World) -> None:
    app = world.identity
    app.register_user("olga", None, ALICE)
    request = app.request_change(ChangeKind.GRANT_ROLE, "olga", {"role": "viewer"}, ALICE)
    with pytest.raises(NotPermitted, match="users:approve"):
        app.approve(request.id, OLGA)
    with pytest.raises(NotPermitted):
        app.reject(request.id, "no", OLGA)
    with pytest.raises(NotFound):
        app.approve(uuid4(), BOB)


def test_reject_and_withdraw(world: World) -> None:
    app = world.identity
    app.register_user("olga", None, ALICE)
    first = app.request_change(ChangeKind.GRANT_ROLE, "olga", {"role": "viewer"}, ALICE)
    rejected = app.reject(first.id, "not needed", BOB)
    assert (rejected.status, rejected.reason, rejected.decided_by) == (
        RequestStatus.REJECTED,
        "not needed",
        "user:bob",
    )
    second = app.request_change(ChangeKind.GRANT_ROLE, "olga", {"role": "viewer"}, OLGA_MAKER)
    withdrawn = app.reject(second.id, "asked by mistake", OLGA_MAKER)
    assert (withdrawn.status, withdrawn.decided_by) == (RequestStatus.REJECTED, "user:maker")
    assert app.pending() == []


OLGA_MAKER = Requester("user:maker", frozenset({"users:manage"}))


def test_late_approval_records_expired_and_refuses(world: World) -> None:
    app = world.identity
    app.register_user("olga", None, ALICE)
    request = app.request_change(ChangeKind.GRANT_ROLE, "olga", {"role": "viewer"}, ALICE)
    world.clock.advance(TTL.total_seconds())
    with pytest.raises(Expired, match="expired"):
        app.approve(request.id, BOB)
    assert app.get_request(request.id).status is RequestStatus.EXPIRED
    assert app.lookup("olga").roles == frozenset()  # type: ignore[union-attr]
    assert app.pending() == []


def test_expire_due_marks_every_overdue_pending_request(world: World) -> None:
    app = world.identity
    for name in ("olga", "fred", "vic"):
        app.register_user(name, None, ALICE)
    early = app.request_change(ChangeKind.GRANT_ROLE, "olga", {"role": "viewer"}, ALICE)
    world.clock.advance(3600)
    late = app.request_change(ChangeKind.GRANT_ROLE, "fred", {"role": "viewer"}, ALICE)
    decided = app.request_change(ChangeKind.GRANT_ROLE, "vic", {"role": "viewer"}, ALICE)
    app.approve(decided.id, BOB)
    assert app.expire_due(world.clock.now) == 0
    assert app.expire_due(early.expires_at) == 1
    assert app.get_request(early.id).status is RequestStatus.EXPIRED
    assert app.get_request(late.id).status is RequestStatus.PENDING
    world.clock.advance(TTL.total_seconds())
    assert app.expire_due() == 1
    assert app.expire_due() == 0
    assert app.get_request(decided.id).status is RequestStatus.EXECUTED
    assert app.pending() == []


def test_freeze_takes_effect_only_on_approval(world: World) -> None:
    app, ledger = world.identity, world.ledger
    key = iban("DE")
    ledger.open_account(open_command(key))
    request = app.request_change(ChangeKind.FREEZE_ACCOUNT, key, {"reason": "fraud"}, OLGA)
    assert request.params == {"reason": "fraud", "currency": "EUR"}
    assert ledger.get_account(key).status == AccountStatus.OPEN
    with pytest.raises(Refused):
        app.approve(request.id, OLGA)
    with pytest.raises(NotPermitted, match="accounts:approve"):
        app.approve(request.id, VIC)
    with caused_by(Causation(actor="user:carl", channel="TEST")):
        done = app.approve(request.id, CARL)
    assert (done.status, done.outcome) == (RequestStatus.EXECUTED, f"account {key} frozen")
    assert ledger.get_account(key).status == AccountStatus.FROZEN
    with pytest.raises(Conflict, match="not OPEN"):
        app.request_change(ChangeKind.FREEZE_ACCOUNT, key, {"reason": "again"}, OLGA)
    with pytest.raises(NotFound):
        app.request_change(ChangeKind.FREEZE_ACCOUNT, iban("DE"), {"reason": "x"}, OLGA)
    ledger.open_internal_account("clearing:EUR")
    with pytest.raises(Conflict, match="internal"):
        app.request_change(ChangeKind.FREEZE_ACCOUNT, "clearing:EUR", {"reason": "x"}, OLGA)
    unfreeze = app.request_change(ChangeKind.UNFREEZE_ACCOUNT, key, {"reason": "cleared"}, CARL)
    assert app.approve(unfreeze.id, OLGA).status is RequestStatus.EXECUTED
    assert ledger.get_account(key).status == AccountStatus.OPEN


def test_a_ledger_change_that_cannot_be_made_is_recorded_as_failed(world: World) -> None:
    app, ledger = world.identity, world.ledger
    key = iban("DE")
    ledger.open_account(open_command(key))
    request = app.request_change(ChangeKind.FREEZE_ACCOUNT, key, {"reason": "fraud"}, OLGA)
    ledger.freeze_account(key, "meanwhile")  # someone froze it another way
    failed = app.approve(request.id, CARL)
    assert failed.status is RequestStatus.FAILED
    assert failed.reason is not None and "not OPEN" in failed.reason


def test_reversal_above_the_threshold_needs_approval(world: World) -> None:
    app, ledger, changes = world.identity, world.ledger, world.changes
    debtor, creditor = iban("DE"), iban("DE")
    ledger.open_account(open_command(debtor))
    ledger.open_account(open_command(creditor))
    ledger.submit_payment(payment(debtor=iban("NL"), creditor=debtor, amount="900.00"))
    small = ledger.submit_payment(payment(debtor=debtor, creditor=creditor, amount="500.00"))
    large = ledger.submit_payment(payment(debtor=debtor, creditor=creditor, amount="300.00"))
    changes.thresholds = ReversalThresholds({"EUR": Decimal("400")})
    small_id, large_id = UUID(small.transaction_id), UUID(large.transaction_id)
    with pytest.raises(ApprovalRequired, match="above 400 EUR"):
        changes.reverse_directly(small_id, "refund")
    assert changes.reverse_directly(large_id, "refund").status == "POSTED"
    request = app.request_change(
        ChangeKind.REVERSE_TRANSACTION, str(small_id), {"reason": "refund"}, OLGA
    )
    assert request.params == {"reason": "refund", "amount": "500.00", "currency": "EUR"}
    done = app.approve(request.id, person("otto", "operator"))
    assert done.status is RequestStatus.EXECUTED
    assert ledger.get_transaction(small_id).status == TransactionStatus.REVERSED
    with pytest.raises(Conflict, match="not POSTED"):
        app.request_change(ChangeKind.REVERSE_TRANSACTION, str(small_id), {"reason": "x"}, OLGA)
    with pytest.raises(InvalidCommand):
        app.request_change(ChangeKind.REVERSE_TRANSACTION, "nope", {"reason": "x"}, OLGA)


def test_thresholds_fail_closed_for_a_currency_without_one() -> None:
    thresholds = ReversalThresholds({"EUR": Decimal("400")})
    assert not thresholds.requires_approval(Decimal("400"), "EUR")
    assert thresholds.requires_approval(Decimal("400.01"), "EUR")
    assert thresholds.requires_approval(Decimal("0.01"), "NOK")
    assert thresholds.requires_approval(Decimal("5000000"), "NOK")
    assert "no approval threshold is configured for NOK" in thresholds.describe("NOK")


def test_state_survives_a_restart(world: World) -> None:
    app = world.identity
    app.register_user("olga", None, ALICE)
    request = app.request_change(ChangeKind.GRANT_ROLE, "olga", {"role": "viewer"}, ALICE)
    fresh = world.reopen()
    try:
        assert fresh.pending() == [request.id]
        fresh.approve(request.id, BOB)
        assert app.lookup("olga").roles == frozenset({"viewer"})  # type: ignore[union-attr]
    finally:
        fresh.close()


class SnapshotOften(IdentityApplication):
    name = "identity"  # eventsourcing names a subclass after itself otherwise
    snapshotting_intervals = {PendingRequests: 3}  # noqa: RUF012


def test_many_requests_through_the_snapshotted_index(world: World) -> None:
    app = SnapshotOften(env=world.identity.env, clock=world.clock, executor=world.changes)
    app.register_user("olga", None, ALICE)
    roles = ["viewer", "auditor", "reconciler"]
    for round_ in range(40):
        role = roles[round_ % 3]
        held = role in app.lookup("olga").roles  # type: ignore[union-attr]
        kind = ChangeKind.REVOKE_ROLE if held else ChangeKind.GRANT_ROLE
        request = app.request_change(kind, "olga", {"role": role}, ALICE)
        app.approve(request.id, BOB)
    fresh = world.reopen()
    try:
        assert fresh.pending() == []
        open_one = fresh.request_change(ChangeKind.GRANT_ROLE, "olga", {"role": "admin"}, ALICE)
        assert app.pending() == [open_one.id]
        assert app.snapshots is not None
        assert list(app.snapshots.get(PendingRequests.create_id()))  # snapshots were taken
        world.clock.advance(TTL.total_seconds())
        assert world.identity.expire_due() == 1
        assert fresh.pending() == []
    finally:
        fresh.close()
        app.close()


def test_an_approval_interrupted_before_execution_is_completed_by_approving_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, ledger = world.identity, world.ledger
    key = iban("DE")
    ledger.open_account(open_command(key))
    request = app.request_change(ChangeKind.FREEZE_ACCOUNT, key, {"reason": "fraud"}, OLGA)

    def outage(*_args: object, **_kwargs: object) -> str:
        raise RuntimeError("database went away")

    monkeypatch.setattr(world.changes, "execute", outage)
    with pytest.raises(RuntimeError):
        app.approve(request.id, CARL)
    assert app.get_request(request.id).status is RequestStatus.APPROVED
    assert ledger.get_account(key).status == AccountStatus.OPEN
    monkeypatch.undo()
    with pytest.raises(Conflict, match="approved by user:carl"):
        app.approve(request.id, person("otto", "operator"))
    done = app.approve(request.id, CARL)
    assert (done.status, done.decided_by) == (RequestStatus.EXECUTED, "user:carl")
    assert ledger.get_account(key).status == AccountStatus.FROZEN
    with pytest.raises(Conflict, match="not PENDING"):
        app.approve(request.id, CARL)


def test_an_approval_interrupted_after_the_ledger_change_is_recorded_as_executed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger froze the account, the process stopped before recording it: approving
    again recognises the freeze as this request's own (not "already FROZEN")."""
    app, ledger = world.identity, world.ledger
    key = iban("DE")
    ledger.open_account(open_command(key))
    request = app.request_change(ChangeKind.FREEZE_ACCOUNT, key, {"reason": "fraud"}, OLGA)
    real = world.changes.execute

    def crash_after(*args: object, **kwargs: object) -> str:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("process stopped")

    monkeypatch.setattr(world.changes, "execute", crash_after)
    with pytest.raises(RuntimeError):
        app.approve(request.id, CARL)
    monkeypatch.undo()
    assert app.get_request(request.id).status is RequestStatus.APPROVED
    assert ledger.get_account(key).status == AccountStatus.FROZEN
    done = app.approve(request.id, CARL)
    assert (done.status, done.outcome) == (RequestStatus.EXECUTED, f"account {key} frozen")
    frozen = [
        e for e in ledger.events.get(ledger.get_account(key).id) if type(e).__name__ == "Frozen"
    ]
    assert len(frozen) == 1
    assert frozen[0].reason == f"fraud (request {request.id})"  # type: ignore[attr-defined]


def test_a_reversal_executed_twice_for_one_request_reverses_once(world: World) -> None:
    app, ledger, changes = world.identity, world.ledger, world.changes
    debtor, creditor = iban("DE"), iban("DE")
    ledger.open_account(open_command(debtor))
    ledger.open_account(open_command(creditor))
    ledger.submit_payment(payment(debtor=iban("NL"), creditor=debtor, amount="900.00"))
    tx = ledger.submit_payment(payment(debtor=debtor, creditor=creditor, amount="600.00"))
    request = app.request_change(
        ChangeKind.REVERSE_TRANSACTION, tx.transaction_id, {"reason": "refund"}, OLGA
    )
    params = dict(app.get_request(request.id).params)
    kind = ChangeKind.REVERSE_TRANSACTION.value
    first = changes.execute(kind, tx.transaction_id, params, request_id=str(request.id))
    again = changes.execute(kind, tx.transaction_id, params, request_id=str(request.id))
    assert first == again
    original = ledger.get_transaction(UUID(tx.transaction_id))
    assert original.status == TransactionStatus.REVERSED
    # another request for the same, already reversed, transaction is refused
    with pytest.raises(Conflict, match=r"already reversed|not POSTED"):
        changes.execute(kind, tx.transaction_id, params, request_id=str(uuid4()))


def test_an_unfreeze_executed_again_finds_its_own_event_behind_later_postings(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from application.ledger import changes as ledger_changes

    app, ledger, changes = world.identity, world.ledger, world.changes
    key = iban("DE")
    ledger.open_account(open_command(key))
    ledger.freeze_account(key, "suspicious")
    request = app.request_change(ChangeKind.UNFREEZE_ACCOUNT, key, {"reason": "cleared"}, OLGA)
    assert app.approve(request.id, CARL).status is RequestStatus.EXECUTED
    for amount in ("1.00", "2.00", "3.00"):  # credits after the unfreeze
        ledger.submit_payment(payment(debtor=iban("NL"), creditor=key, amount=amount))
    monkeypatch.setattr(ledger_changes, "_PAGE", 2)  # the Unfrozen event is pages back
    kind = ChangeKind.UNFREEZE_ACCOUNT.value
    params = dict(app.get_request(request.id).params)
    again = changes.execute(kind, key, params, request_id=str(request.id))
    assert again == f"account {key} unfrozen"
    with pytest.raises(Conflict, match="not FROZEN"):  # another request is not this one
        changes.execute(kind, key, params, request_id=str(uuid4()))
    account_id = ledger.get_account(key).id
    unfrozen = [e for e in ledger.events.get(account_id) if type(e).__name__ == "Unfrozen"]
    assert len(unfrozen) == 1
