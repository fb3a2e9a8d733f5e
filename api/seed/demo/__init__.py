"""``ledger demo``: realistic demo data, booked through the real use cases.

Customer accounts with valid IBANs of several EU countries (EUR, plus PLN in Poland and SEK in
Sweden), salaries coming in from employers elsewhere, card, utility and rent payments going
out, transfers between customers, and the unhappy paths a backoffice sees: payments to unknown
accounts, a frozen account, insufficient funds, a currency mismatch, screening declines, large
payments held for review (some released, some rejected, some still waiting), reversals and
settlements. Everything is deterministic for a given ``seed``; external ids derive from it, so
running the same seed twice books nothing twice.

Backoffice users and maker-checker: two admins, ``alice`` and ``bob``, are provisioned (the
console bootstrap); alice requests roles for olga (operator), fred (fraud_analyst), carl
(compliance), audrey (auditor), vic (viewer) and rita (reconciler) and bob approves them.
Accounts are frozen by olga's request and carl's approval, and one request (olga asking to
lift a freeze) is left pending for a checker.

Payments are booked in batches through ``submit_payments`` (one commit per batch).

The modules: :mod:`.seed` (the entry point, :func:`seed_demo`, and the decisions taken after
booking), :mod:`.staff` (backoffice users, maker-checker freezes), :mod:`.plan` (the payments
to book), :mod:`.generator` (IBANs, amounts, ids and customers from the seed),
:mod:`.catalogue` (countries, names, counterparties) and :mod:`.report` (what a run did).
"""

from api.seed.demo.report import DemoReport
from api.seed.demo.seed import seed_demo

__all__ = ["DemoReport", "seed_demo"]
