"""The reconciliation read models: imported statements and their breaks (read_model.py: tables
and projection) and their views and queries (queries.py)."""
