"""The vop read models: the account directory (directory.py: the ledger's customer accounts
with their holder details, for matching) and its lookups (queries.py), and the recorded
checks for compliance (checks.py: table, projection and queries)."""
