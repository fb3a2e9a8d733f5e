"""The fraud read models: screenings, the case queue and escalations (read_model.py: tables and
projection), their queries (queries.py), and what the projection needs of the ledger (ports.py)."""
