"""What a process runs: settings, the composition root (bootstrap, contexts), the roles and
their workers, logs, metrics, traces and process tuning."""
