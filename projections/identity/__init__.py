"""The identity read models: backoffice users and change requests, with their queries
(read_model.py)."""
