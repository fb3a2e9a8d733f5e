"""The vop context's outside world: the other PSPs' VoP responders over HTTP (routes.py:
which PSP answers for an IBAN or BIC; peers.py: the HTTP client of the requester side)."""
