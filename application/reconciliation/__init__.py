"""The reconciliation context's use cases: statements imported and matched against the ledger,
breaks resolved; app.py is the eventsourcing Application, ports.py the ledger side it reads."""
