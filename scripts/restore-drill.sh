#!/usr/bin/env bash
# The backup and point-in-time restore drill (issue #19, docs/operations.md §8): a PostgreSQL
# instance of its own archiving its WAL to a local directory (standing in for S3), a base
# backup, an anchor exported with `ledger audit head`, a tampered event; two point-in-time
# restores: before the incident `ledger audit verify --anchor` passes, after it it fails.
#
#   scripts/restore-drill.sh [--port 6570] [--payments 500] [--dir DIR --keep]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
cd "$repo"
PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" exec "$python" -m benchmarks.dr.restore "$@"
