"""The machinery every settings section shares: how a section reads its variables, how a
bad value becomes a problem naming the variable, and what a reader learns from the others.

A section is a pydantic-settings :class:`Section` whose fields carry the exact variable name
as their alias (``env("LEDGER_PORT", 8000, "...")``). ``Section()`` is the defaults and never
looks at the process environment (tests build settings from nothing); :meth:`Section.read`
reads the given mapping through :class:`EnvironSource`, a pydantic-settings source: values
are stripped and an empty one counts as unset, as it always has.

Every value from the environment is text; the ``before`` validators of :mod:`.parsing` turn it
into the field's type with the messages the ledger always gave (``must be an integer, got
'x'``). A validator that finds a problem for another variable (a cross-check) raises
:class:`Problems` with whole ``LEDGER_...: ...`` lines.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Self

from pydantic import Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

PREFIX = "LEDGER_"


class SettingsError(ValueError):
    """One or more LEDGER_* variables are invalid; the message lists each problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))


class Problems(ValueError):
    """Raised by a validator: each line is a problem, either whole (``LEDGER_X: ...``) or a
    message the failing variable's name is put before."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Reading:
    """What one section's validation may know of the others while ``from_env`` reads."""

    production: bool = False
    stomp_configured: bool = False

    @property
    def development(self) -> bool:
        return not self.production


_READING: ContextVar[Reading | None] = ContextVar("settings_reading", default=None)


def reading() -> Reading:
    """The facts of the environment being read (development, no broker outside a read)."""
    return _READING.get() or Reading()


@contextmanager
def reading_with(facts: Reading) -> Iterator[None]:
    token = _READING.set(facts)
    try:
        yield
    finally:
        _READING.reset(token)


def env(
    name: str,
    default: Any = None,
    doc: str = "",
    *,
    shown: str | None = None,
    secret: bool = False,
    cross_check: bool = False,
) -> Any:
    """A field read from the variable ``name``. ``doc`` is its line in docs/configuration.md;
    ``shown`` is the default as the doc shows it (when the value itself does not say it);
    ``secret`` keeps the value out of ``repr``; ``cross_check`` runs the field's validators
    on the default too (they compare it with an earlier field)."""
    extra: dict[str, Any] = {"doc": doc}
    if shown is not None:
        extra["shown"] = shown
    options: dict[str, Any] = {
        "validation_alias": name,
        "json_schema_extra": extra,
        "repr": not secret,
        "validate_default": cross_check,
    }
    if callable(default):
        return Field(default_factory=default, **options)
    return Field(default, **options)


class EnvironSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (the process environment
    or a test's dict): exact names, values stripped, empty values unset."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = {k: v.strip() for k, v in environ.items() if k.startswith(PREFIX)}
        super().__init__(settings_cls, case_sensitive=True, env_ignore_empty=True)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name: value for name, value in self._environ.items() if value}

    def prepare_field_value(
        self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool
    ) -> Any:
        """The text as it is: no JSON decoding; each field's validators parse its text."""
        return value


class Section(BaseSettings):
    """One concern's settings. Frozen; equal when their values are equal."""

    model_config = SettingsConfigDict(
        case_sensitive=True,
        frozen=True,
        extra="forbid",  # a misspelt or old flat name is an error, not a silent default
        validate_by_name=True,
        validate_by_alias=True,
        arbitrary_types_allowed=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only what the caller passes: the environment is read by :meth:`read` alone."""
        return (init_settings,)

    @classmethod
    def read(cls, environ: Mapping[str, str], **given: Any) -> Self:
        """This section from ``environ`` (``given`` fields by name win); :class:`Problems`
        naming each bad variable."""
        values = EnvironSource(cls, environ)()
        try:
            return cls(**values, **given)
        except ValidationError as error:
            raise Problems(problems_of(error, cls)) from None

    @classmethod
    def variables(cls) -> list[str]:
        """The variables this section reads, in declaration order."""
        return [str(f.validation_alias) for f in cls.model_fields.values() if f.validation_alias]


def problems_of(error: ValidationError, model: type[BaseSettings]) -> list[str]:
    """Each error of a validation of ``model`` as ``LEDGER_X: message`` (a field's variable
    named even when the value checked was its default, e.g. by a cross-field check)."""
    problems: list[str] = []
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        field = model.model_fields.get(name)
        if field is not None and field.validation_alias:
            name = str(field.validation_alias)
        cause = (item.get("ctx") or {}).get("error")
        lines = cause.problems if isinstance(cause, Problems) else [str(cause or item["msg"])]
        problems.extend(line if line.startswith(PREFIX) else f"{name}: {line}" for line in lines)
    return problems
