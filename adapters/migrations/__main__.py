"""``python -m adapters.migrations revision "what changes"``: write the next revision.

Alembic's autogenerate compares :func:`adapters.migrations.target_metadata` (the tables as the
code defines them) with a scratch SQLite database upgraded to the current head, and writes
``versions/v<NNNN>_<slug>.py`` with the differences as ``op.*`` calls. Review and edit it:
autogenerate renders our column types as ``projections.tables.Amount()`` and so on, which a
revision must not import (it would change when the code does); write them out as the
baseline does (``sa.Numeric(38, 8).with_variant(sa.String(48), "sqlite")``...).
``--empty`` writes a revision without comparing (data migrations, triggers).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from adapters.migrations import alembic_config, head, upgrade


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adapters.migrations")
    commands = parser.add_subparsers(dest="command", required=True)
    revision = commands.add_parser("revision", help="write the next revision")
    revision.add_argument("message", help='what the revision changes, e.g. "add rm_limits"')
    revision.add_argument("--empty", action="store_true", help="no autogenerate")
    commands.add_parser("head", help="print the head revision")
    args = parser.parse_args(argv)
    if args.command == "head":
        print(head())
        return 0
    next_id = f"{int(head()) + 1:04d}"
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'head.sqlite'}")
        try:
            upgrade(engine)
            with engine.begin() as connection:
                command.revision(
                    alembic_config(connection),
                    message=args.message,
                    autogenerate=not args.empty,
                    rev_id=next_id,
                )
        finally:
            engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
