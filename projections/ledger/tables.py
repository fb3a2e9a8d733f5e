"""The ledger's read-model tables: accounts with their history, postings and holds, and
transactions with their status changes (see :mod:`projections.tables` for the column types).

``rm_accounts`` and ``rm_account_history`` (one row per account event, for "as of T") are
written by :mod:`projections.ledger.accounts` with ``rm_postings`` and ``rm_holds``; an
internal account's rows come from the transactions' legs, and their ``version`` is the
account's row sequence, not its aggregate's (:mod:`projections.ledger.internal_accounts`);
``rm_transactions`` and ``rm_transaction_status`` by :mod:`projections.ledger.transactions`.
Other contexts never read them directly: they go through the ledger's read ports
(:func:`projections.ledger.transactions.payment_facts`,
:class:`projections.ledger.period_reader.LedgerPeriodReader`).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from projections.tables import ID, Amount, JsonDoc, SortableAmount, UtcDateTime, metadata

KEY = String(64)  # IBAN (compact) or internal code

# --------------------------------------------------------------------------- accounts

rm_accounts = Table(
    "rm_accounts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("key", KEY, nullable=False, unique=True),
    Column("iban", String(34)),
    Column("holder_name", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("type", String(16), nullable=False),
    Column("balance", Amount, nullable=False),
    Column("held", Amount, nullable=False),
    Column("overdraft_limit", Amount),
    Column("debits_total", Amount, nullable=False),  # cumulative, positive
    Column("credits_total", Amount, nullable=False),  # cumulative, positive
    Column("opened_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_rm_accounts_status_key", "status", "key"),
    Index("ix_rm_accounts_currency_key", "currency", "key"),
)

rm_account_history = Table(
    "rm_account_history",
    metadata,
    Column("account_id", ID, primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("key", KEY, nullable=False),
    Column("iban", String(34)),
    Column("holder_name", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("type", String(16), nullable=False),
    Column("balance", Amount, nullable=False),
    Column("held", Amount, nullable=False),
    Column("overdraft_limit", Amount),
    Column("debits_total", Amount, nullable=False),
    Column("credits_total", Amount, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Index("ix_rm_account_history_asof", "account_id", "recorded_at", "version"),
)

rm_postings = Table(
    "rm_postings",
    metadata,
    Column("account_id", ID, primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("account_key", KEY, nullable=False),
    Column("transaction_id", ID, nullable=False),
    Column("amount", Amount, nullable=False),  # signed: negative = debit
    Column("balance_after", Amount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("booking_date", String(10)),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index("ix_rm_postings_asof", "account_id", "recorded_at", "version"),
    Index("ix_rm_postings_transaction", "transaction_id"),
    Index("ix_rm_postings_recorded", "recorded_at", "account_id", "version"),  # reports' journal
)

rm_holds = Table(
    "rm_holds",
    metadata,
    Column("transaction_id", ID, primary_key=True),
    Column("account_id", ID, primary_key=True),
    Column("amount", Amount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("placed_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),  # account version of the HoldPlaced event
    Index("ix_rm_holds_account", "account_id"),
)

# ----------------------------------------------------------------------- transactions

rm_transactions = Table(
    "rm_transactions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("external_id", String(64), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("amount", SortableAmount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("debtor_iban", String(34), nullable=False),
    Column("debtor_name", Text, nullable=False),
    Column("creditor_iban", String(34), nullable=False),
    Column("creditor_name", Text, nullable=False),
    Column("reference", Text, nullable=False),
    Column("requested_at", UtcDateTime),
    Column("received_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("rejection_reason", String(64)),
    Column("rejection_detail", Text),
    Column("screening_outcome", String(16)),
    Column("rule_hits", JsonDoc),
    Column("screening_score", String(64)),
    Column("model_version", String(128)),
    Column("booking_date", String(10)),
    Column("debit_account", KEY),  # key of the account debited when posted
    Column("credit_account", KEY),  # key of the account credited when posted
    Column("hold_account_id", ID),
    Column("settlement_reference", Text),
    Column("reverses", ID),
    Column("reversed_by", ID),
    Column("metadata", JsonDoc),
    Column("vop_check_id", ID),  # the VoP check the payer saw (revision 0006)
    Index("ix_rm_transactions_received", "received_at", "id"),
    Index("ix_rm_transactions_status", "status", "received_at", "id"),
    Index("ix_rm_transactions_channel", "channel", "received_at", "id"),
    Index("ix_rm_transactions_debtor", "debtor_iban", "received_at", "id"),
    Index("ix_rm_transactions_creditor", "creditor_iban", "received_at", "id"),
    Index("ix_rm_transactions_debit_account", "debit_account", "received_at", "id"),
    Index("ix_rm_transactions_credit_account", "credit_account", "received_at", "id"),
    Index("ix_rm_transactions_amount", "amount"),
)

rm_transaction_status = Table(
    "rm_transaction_status",
    metadata,
    Column("transaction_id", ID, primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),  # the event's version
    Column("status", String(16), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("reason", Text),
    Column("detail", Text),
)
