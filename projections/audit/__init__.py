"""The audit read models: every event of every context (trail.py, read by queries.py) and the
tamper-evidence hash chain over the stored events (chain.py, verified by chain_verify.py)."""
