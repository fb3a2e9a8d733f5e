"""The ``vop_directory`` projection: the account directory Verification of Payee matches
against, one row per customer account of the ledger.

``rm_vop_directory`` holds, per IBAN, the holder type (natural or legal person), the legal
name, the further names (joint holders, trading names), a legal person's identifiers (LEI,
VAT, national registration) and whether the account is OPEN or CLOSED (a frozen account is
OPEN here: it still receives credits, and the payer should be told whose it is). It follows
the ledger's ``Account`` events ``Opened`` (customer accounts only), ``HolderDetailsChanged``
and ``Closed``; every other account event leaves it as it is. An ``Opened`` of a log written
before holder details existed is a natural person without further names.

The rows come from event data only, so a rebuild writes what incremental processing wrote. A
batch loads the rows of the accounts it touches, applies its events in memory and writes
each row once (insert or update).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Connection, Integer, String, Table, Text, select

from domain.ledger.accounts import Account
from domain.ledger.holders import HolderDetails
from projections.base import Projection, ProjectionError, chunked, fail, insert_rows, update_by_key
from projections.events import Envelope
from projections.tables import ID, JsonDoc, UtcDateTime, metadata

rm_vop_directory = Table(
    "rm_vop_directory",
    metadata,
    Column("account_id", ID, primary_key=True),
    Column("iban", String(34), nullable=False, unique=True),
    Column("holder_type", String(16), nullable=False),  # NATURAL | LEGAL
    Column("legal_name", Text, nullable=False),
    Column("further_names", JsonDoc, nullable=False),  # ["Jane Smith", "Smith Consulting"]
    Column("identifiers", JsonDoc, nullable=False),  # [{"scheme": "LEI", "value": "..."}]
    Column("status", String(16), nullable=False),  # OPEN | CLOSED
    Column("opened_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),  # the account's version of the last change
)

_KINDS = frozenset({"Opened", "HolderDetailsChanged", "Closed"})


def _relevant(envelope: Envelope) -> bool:
    return isinstance(envelope.event, Account.Event) and envelope.kind in _KINDS


def _holder_columns(details: HolderDetails) -> dict[str, Any]:
    data = details.as_event()
    return {
        "holder_type": data["holder_type"],
        "further_names": data["further_names"],
        "identifiers": data["identifiers"],
    }


class VopDirectoryProjection(Projection):
    name = "vop_directory"
    tables = (rm_vop_directory,)

    def apply(self, conn: Connection, envelopes: Sequence[Envelope]) -> None:
        batch = [e for e in envelopes if _relevant(e)]
        if not batch:
            return
        ids = sorted({e.stream_id for e in batch if e.kind != "Opened"})
        rows: dict[str, dict[str, Any]] = {}
        for chunk in chunked(ids):
            found = conn.execute(
                select(rm_vop_directory).where(rm_vop_directory.c.account_id.in_(chunk))
            )
            for row in found.mappings():
                rows[row["account_id"]] = dict(row)
        existing = set(rows)
        for envelope in batch:
            try:
                self._apply(envelope, rows)
            except ProjectionError:
                raise
            except Exception as error:
                raise ProjectionError(self.name, envelope, error) from error
        new = [row for key, row in rows.items() if key not in existing]
        changed = [row for key, row in rows.items() if key in existing]
        if new:
            insert_rows(conn, rm_vop_directory, new)
        update_by_key(conn, rm_vop_directory, "account_id", changed)

    def _apply(self, envelope: Envelope, rows: dict[str, dict[str, Any]]) -> None:
        event = envelope.event
        account_id = envelope.stream_id
        if envelope.kind == "Opened":
            if str(event.account_type) != "CUSTOMER":
                return  # internal accounts have no holder: not in the directory
            if account_id in rows:
                raise fail(self.name, envelope, "account opened twice")
            rows[account_id] = {
                "account_id": account_id,
                "iban": str(event.key),
                "legal_name": str(event.holder_name),
                **_holder_columns(HolderDetails.of_event(getattr(event, "holder", None))),
                "status": "OPEN",
                "opened_at": envelope.recorded_at,
                "updated_at": envelope.recorded_at,
                "version": envelope.version,
            }
            return
        row = rows.get(account_id)
        if row is None:
            raise fail(self.name, envelope, f"{envelope.kind} of an account never opened")
        if envelope.kind == "HolderDetailsChanged":
            row["legal_name"] = str(event.holder_name)
            row.update(_holder_columns(HolderDetails.of_event(event.holder)))
        else:  # Closed
            row["status"] = "CLOSED"
        row["updated_at"] = envelope.recorded_at
        row["version"] = envelope.version
