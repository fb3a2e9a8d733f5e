"""eventsourcing's PostgreSQL event store, with every libpq parameter of the database URL.

eventsourcing 9.5's ``PostgresFactory`` builds its psycopg pool from ``POSTGRES_DBNAME``,
``POSTGRES_HOST``, ``POSTGRES_PORT``, ``POSTGRES_USER`` and ``POSTGRES_PASSWORD`` only: no
``sslmode``, ``sslrootcert``, ``target_session_attrs``... :class:`LibpqPostgresFactory` is that
factory plus one setting, :data:`LIBPQ_PARAMS` (a libpq ``key=value`` string), whose
parameters it adds to the pool's connection keywords before the pool opens. Several hosts
need nothing more: ``POSTGRES_HOST=h1,h2`` and ``POSTGRES_PORT=5432,5433`` are libpq lists.
Selected by ``PERSISTENCE_MODULE`` = :data:`LIBPQ_FACTORY_TOPIC`.
"""

from __future__ import annotations

from collections.abc import Mapping

from eventsourcing.persistence import InfrastructureFactoryError
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment, EnvType
from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict, make_conninfo

LIBPQ_PARAMS = "POSTGRES_LIBPQ_PARAMS"
LIBPQ_FACTORY_TOPIC = "adapters.pg_event_store:LibpqPostgresFactory"
_TAKEN_BY_EVENTSOURCING = frozenset({"host", "port", "user", "password", "dbname"})


def libpq_extra(params: Mapping[str, str]) -> str:
    """The parameters of ``params`` that eventsourcing does not take from ``POSTGRES_*``, as
    a libpq ``key=value`` string (quoted as libpq wants)."""
    return make_conninfo(
        "", **{k: v for k, v in params.items() if k not in _TAKEN_BY_EVENTSOURCING}
    )


class LibpqPostgresFactory(PostgresFactory):
    """``PostgresFactory`` whose pool also gets the parameters in :data:`LIBPQ_PARAMS`."""

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        raw = self.env.get(LIBPQ_PARAMS) or ""
        try:
            extra = conninfo_to_dict(raw)
        except ProgrammingError as error:
            raise InfrastructureFactoryError(f"{LIBPQ_PARAMS}: {error}") from None
        taken = _TAKEN_BY_EVENTSOURCING & extra.keys()
        if taken:
            raise InfrastructureFactoryError(
                f"{LIBPQ_PARAMS}: {', '.join(sorted(taken))} belong in POSTGRES_* settings"
            )
        kwargs = self.datastore.pool.kwargs
        if not isinstance(kwargs, dict):  # pragma: no cover - eventsourcing passes a dict
            raise InfrastructureFactoryError("eventsourcing's pool takes no keyword dict")
        kwargs.update(extra)  # the pool opens on first use, so every connection has them
