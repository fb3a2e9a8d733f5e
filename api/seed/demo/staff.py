"""The demo's backoffice users and their maker-checker requests.

Two admins, ``alice`` and ``bob``, are provisioned (the console bootstrap); alice requests
roles for the staff and bob approves them. Accounts are frozen by olga's request and carl's
approval, and one request (olga asking to lift a freeze) is left pending for a checker.
"""

from __future__ import annotations

from api.runtime.bootstrap import Container
from api.seed.demo.generator import Customer
from api.seed.demo.report import DemoReport
from application.errors import ApplicationError, Conflict
from application.identity.principals import Requester
from domain.causation import Causation, caused_by
from domain.identity.permissions import ChangeKind, permissions_of

DEMO_ADMINS = ("alice", "bob")
DEMO_STAFF: tuple[tuple[str, str, str], ...] = (
    ("olga", "Olga Operator", "operator"),
    ("fred", "Fred Fraud", "fraud_analyst"),
    ("carl", "Carl Compliance", "compliance"),
    ("audrey", "Audrey Auditor", "auditor"),
    ("vic", "Vic Viewer", "viewer"),
    ("rita", "Rita Reconciler", "reconciler"),
)


def as_user(container: Container, name: str, seed: int, step: str) -> tuple[Causation, Requester]:
    """The causation and requester of backoffice user ``name`` (roles as granted now)."""
    entry = container.identity.lookup(name)
    roles = set(entry.roles) if entry is not None and entry.active else set()
    principal = f"user:{name}"
    causation = Causation(actor=principal, correlation_id=f"demo-{seed}-{step}", channel="CLI")
    return causation, Requester(principal, permissions_of(roles))


def seed_users(container: Container, seed: int, report: DemoReport) -> None:
    """Two admins by the console bootstrap; every other role by alice's request and bob's
    approval (a re-run finds the roles granted and asks for nothing)."""
    identity = container.identity
    bootstrap = Causation(actor="service:demo", correlation_id=f"demo-{seed}-users", channel="CLI")
    with caused_by(bootstrap):
        for name in DEMO_ADMINS:
            identity.provision_user(name, ["admin"], f"{name.title()} Admin")
    for name, display, role in DEMO_STAFF:
        entry = identity.lookup(name)
        if entry is None:
            causation, alice = as_user(container, "alice", seed, f"register-{name}")
            with caused_by(causation):
                identity.register_user(name, display, alice)
        elif role in entry.roles:
            report.users.append(name)
            continue
        causation, alice = as_user(container, "alice", seed, f"grant-{name}")
        try:
            with caused_by(causation):
                request = identity.request_change(
                    ChangeKind.GRANT_ROLE, name, {"role": role}, alice
                )
        except Conflict:
            continue  # already pending from an interrupted run
        causation, bob = as_user(container, "bob", seed, f"approve-{name}")
        with caused_by(causation):
            identity.approve(request.id, bob)
        report.approved += 1
        report.users.append(name)


def freeze_account(container: Container, customer: Customer, report: DemoReport) -> None:
    """Olga (operator) asks for the freeze, Carl (compliance) approves it."""
    identity = container.identity
    olga_causation, olga = as_user(container, "olga", 0, f"freeze-{customer.iban}")
    carl_causation, carl = as_user(container, "carl", 0, f"approve-freeze-{customer.iban}")
    try:
        with caused_by(olga_causation):
            request = identity.request_change(
                ChangeKind.FREEZE_ACCOUNT,
                customer.iban,
                {"reason": "Suspicious activity reported by customer"},
                olga,
            )
        with caused_by(carl_causation):
            done = identity.approve(request.id, carl)
    except ApplicationError:
        return  # already frozen (a re-run of the same seed)
    if done.status.value == "EXECUTED":
        report.frozen.append(customer.iban)
        report.approved += 1


def leave_one_pending(container: Container, seed: int, report: DemoReport) -> None:
    """Olga asks to lift the first freeze; nobody approves it yet (a checker's queue)."""
    if not report.frozen:
        return
    causation, olga = as_user(container, "olga", seed, "unfreeze-pending")
    try:
        with caused_by(causation):
            request = container.identity.request_change(
                ChangeKind.UNFREEZE_ACCOUNT,
                report.frozen[0],
                {"reason": "Customer confirmed the payments in branch"},
                olga,
            )
    except ApplicationError:
        return
    report.pending.append(str(request.id))
