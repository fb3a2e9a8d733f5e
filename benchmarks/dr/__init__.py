"""The database failover drill of issue #19 (``scripts/dr-drill.sh``, ``python -m benchmarks.dr``).

A STOMP load of payments runs into ``ledger serve --role ingestion`` processes whose
``LEDGER_DATABASE_URL`` names both nodes of the local pg_auto_failover cluster
(``scripts/ha-cluster.sh``) with ``target_session_attrs=read-write``; the primary node is
SIGKILLed mid-load and the failover engine promotes the standby. The drill measures RPO
(acknowledged payments missing afterwards, and the replication lag at the kill) and RTO (the
kill to the first payment booked on the new primary), and checks exactly-once and
conservation at the end (:mod:`benchmarks.scale_out.checks`).
"""
