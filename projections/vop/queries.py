"""Lookups in the account directory (:mod:`projections.vop.directory`): what the responder's
:class:`~application.vop.ports.AccountDirectory` port reads, by IBAN, in one query per chunk."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from sqlalchemy import Engine, RowMapping, select

from application.vop.ports import DirectoryEntry
from projections.base import chunked
from projections.vop.directory import rm_vop_directory

_D = rm_vop_directory


def entry_of(row: RowMapping | Mapping[str, Any]) -> DirectoryEntry:
    return DirectoryEntry(
        iban=str(row["iban"]),
        holder_type=str(row["holder_type"]),
        legal_name=str(row["legal_name"]),
        further_names=tuple(str(n) for n in row["further_names"] or ()),
        identifiers=tuple((str(i["scheme"]), str(i["value"])) for i in row["identifiers"] or ()),
        status=str(row["status"]),
    )


class DirectoryQueries:
    """The account directory on the read-model database; satisfies ``AccountDirectory``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def entries(self, ibans: Collection[str]) -> dict[str, DirectoryEntry]:
        return {iban: entry for iban, (_, entry) in self.entries_with_ids(ibans).items()}

    def entries_with_ids(self, ibans: Collection[str]) -> dict[str, tuple[str, DirectoryEntry]]:
        """By IBAN: the account's id (what the ledger's events name) and its entry."""
        wanted = sorted(set(ibans))
        found: dict[str, tuple[str, DirectoryEntry]] = {}
        if not wanted:
            return found
        columns = (_D.c.account_id, _D.c.iban, _D.c.holder_type, _D.c.legal_name)
        query = select(*columns, _D.c.further_names, _D.c.identifiers, _D.c.status)
        with self.engine.connect() as conn:
            for chunk in chunked(wanted):
                for row in conn.execute(query.where(_D.c.iban.in_(chunk))).mappings():
                    entry = entry_of(row)
                    found[entry.iban] = (str(row["account_id"]), entry)
        return found

    def all_with_ids(self, limit: int) -> Iterator[tuple[str, DirectoryEntry]]:
        """Up to ``limit`` entries with their accounts' ids (a cache's preload), streamed."""
        columns = (_D.c.account_id, _D.c.iban, _D.c.holder_type, _D.c.legal_name)
        query = select(*columns, _D.c.further_names, _D.c.identifiers, _D.c.status).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execution_options(stream_results=True, yield_per=5_000).execute(query)
            for row in rows.mappings():
                yield str(row["account_id"]), entry_of(row)

    def entry(self, iban: str) -> DirectoryEntry | None:
        return self.entries([iban]).get(iban)
