"""The vop read models: the account directory (directory.py: the ledger's customer accounts
with their holder details, for matching) and its lookups (queries.py)."""
