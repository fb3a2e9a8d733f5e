"""The notifications read models: deliveries and their attempts, with their queries
(read_model.py)."""
