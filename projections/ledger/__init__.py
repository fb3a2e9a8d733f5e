"""The ledger's read models: accounts (with history, postings, holds) and transactions (with
status changes): tables.py, the projections accounts.py and transactions.py, views.py and the
queries (account_queries.py, transaction_queries.py), and the read ports other contexts use
(transactions.payment_facts for the fraud projection, period_reader.py for reconciliation)."""
