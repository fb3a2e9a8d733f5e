"""``ledger migrate``: create the schema, the event and read-model tables and the triggers."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from adapters.migration import SCHEMA_VERSION, migration_lock, record_migration
from adapters.migrations import IncompleteLegacySchema, head
from api.cli.common import EXIT_OK, EXIT_USAGE
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings


def add_parser(commands: Any) -> None:
    commands.add_parser(
        "migrate",
        help="create the event tables and read-model tables (idempotent)",
        description="Create the PostgreSQL schema, every context's event table and every "
        "read-model table that does not exist yet, and the append-only triggers on the event "
        "tables and the audit chain. Safe to run on every deploy (the Helm chart runs it as a "
        "pre-install/pre-upgrade hook).",
    )


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """The only place DDL runs for the long-running processes: create what is missing (the
    schema, event tables and read models), install the append-only triggers (tamper
    evidence), then record the schema version ``ledger serve`` checks before it starts.
    The other admin commands are one-off and create what they miss themselves
    (``bootstrap(migrate=True)``, under the same lock, re-entrant: the one held here covers
    the bootstrap below) but record no version."""
    with migration_lock(settings.database_config()):  # several at once: one after the other
        try:
            container = bootstrap(settings, migrate=True)
        except IncompleteLegacySchema as error:
            print(f"migrate: refused: {error}", file=sys.stderr)
            return EXIT_USAGE
        try:
            record_migration(container.read_engine)
            print(f"migrate: schema version {SCHEMA_VERSION}, read models at revision {head()}")
            heads = container.heads()
            backend = settings.database_config().label
            print(f"migrate: {backend} store ready; events per context: {heads}")
            return EXIT_OK
        finally:
            container.close()
