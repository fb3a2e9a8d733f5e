"""The ``ledger`` command: main.py builds the parser and dispatches, one module per command
group, shared helpers in common.py."""
