"""``python -m benchmarks.scale_out``: does booking throughput grow with ingestion processes?

The measurement of issue 14, kept as a command so the baseline and every later design are
measured the same way: N real ``ledger serve --role ingestion`` processes (N = 1 and 2 by
default) drain a pre-loaded RabbitMQ queue of JSON payments into one PostgreSQL, for two
mixes of payments, with pgbench tpcb-like (1 and 4 clients) on the same server in the same
run as the yardstick. Every run ends with the exactly-once and conservation checks; a failed
check makes the command exit non-zero. The throughput targets are shown (PASS/FAIL), never
asserted.

Modules: :mod:`.workload` (the mixes), :mod:`.processes` (the role processes and the
broker), :mod:`.drain` (one run), :mod:`.checks` (exactly once, conservation),
:mod:`.report` (the tables), :mod:`.__main__` (the command).
"""
