"""The fraud context's use cases: online features, model screening, cases and their escalation;
app.py is the eventsourcing Application, ports.py what it needs (the ledger's held payments)."""
