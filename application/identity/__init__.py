"""The identity context's use cases: backoffice users, roles and maker-checker change requests;
app.py is the eventsourcing Application, ports.py what it needs (who carries out a change)."""
