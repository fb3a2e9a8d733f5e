"""The notifications context's use cases: rules evaluated over the event logs, deliveries sent
with retries; app.py is the eventsourcing Application, ports.py its channels and stores."""
