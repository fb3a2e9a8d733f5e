"""No "Did you mean ...?" where introspection is off.

graphql-core completes an error about an unknown field, argument, type or enum value with the
names it resembles ("Cannot query field 'acount' on type 'Query'. Did you mean 'account'?").
With introspection disabled that is a way to read the schema anyway, name by name. graphql-core
3.3 can leave the suggestions out (``hide_suggestions``) but strawberry does not pass it on, so:

- :class:`HideSuggestions` runs the document validation itself, with ``hide_suggestions``
  (strawberry skips its own validation when an extension has already run it);
- the schema passes ``hide_suggestions`` to graphql-core's execution too (variable values:
  ``Did you mean 'OPEN'?`` for an enum, an input field's name);
- and, as a last net for any message built elsewhere, a trailing "Did you mean ...?" is cut
  from every error of the response.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from graphql import GraphQLError, validate
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

SUGGESTION = re.compile(r"\s*Did you mean\b[^?]*\?", re.DOTALL)


def without_suggestions(message: str) -> str:
    return SUGGESTION.sub("", message)


class HideSuggestions(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if context.pre_execution_errors is None and document is not None:
            context.pre_execution_errors = validate(
                context.schema._schema,
                document,
                (*context.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule),
                hide_suggestions=True,
            )
        yield

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors: list[GraphQLError] = list(getattr(result, "errors", None) or [])
        for error in errors:
            error.message = without_suggestions(error.message)
