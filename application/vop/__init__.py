"""The vop context's use cases: the Verification of Payee responder (responder.py: a request
in, an answer per entry out, every check an event), the check events' aggregate lives in
domain/vop/checks.py, and ports.py is what the context needs (the account directory)."""
