"""The ledger context's use cases: accounts, payments (booking, holds, reversals), approved
changes; app.py is the eventsourcing Application, ports.py what it needs from outside."""
