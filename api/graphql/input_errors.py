"""Input values GraphQL refuses before running anything, reported as ``BAD_USER_INPUT`` with
the argument named.

graphql-core reports an argument value a scalar cannot parse (``asOf: "0001-01-01T00:00:00+01:00"``)
as a validation error with neither a code nor the argument's name: for a literal only its
position, for a variable only ``$name``. :func:`mark_input_errors` gives such errors the code
``BAD_USER_INPUT`` and prefixes the argument path (``filter.from``) found in the document.
Only errors caused by a scalar's ``ValueError`` are touched (our scalars raise it with a
readable reason); every other validation error stays as graphql-core wrote it.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    BREAK,
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    Node,
    ObjectFieldNode,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    visit,
)

BAD_USER_INPUT = "BAD_USER_INPUT"


def _caused_by_value_error(error: GraphQLError) -> bool:
    cause: BaseException | None = error.original_error
    for _ in range(5):  # a variable's error wraps the value's error once
        if cause is None:
            return False
        if isinstance(cause, ValueError) and not isinstance(cause, GraphQLError):
            return True
        cause = cause.original_error if isinstance(cause, GraphQLError) else None
    return False


def _argument_path(ancestors: Any) -> str:
    names = [
        node.name.value for node in ancestors if isinstance(node, ArgumentNode | ObjectFieldNode)
    ]
    return ".".join(names)


class _ArgumentsOf(Visitor):
    """Argument paths of one literal node, or of every use of one variable."""

    def __init__(self, node: Node | None, variable: str | None) -> None:
        super().__init__()
        self.node = node
        self.variable = variable
        self.found: list[str] = []

    def enter(self, node: Node, _key: Any, parent: Any, _path: Any, ancestors: Any) -> Any:
        lineage = [*ancestors, parent]  # ``ancestors`` stops above the parent
        if self.node is not None and node is self.node:
            self.found.append(_argument_path(lineage))
            return BREAK
        if isinstance(node, VariableDefinitionNode):
            return False  # the definition itself is no use of the variable
        if (
            self.variable is not None
            and isinstance(node, VariableNode)
            and node.name.value == self.variable
        ):
            path = _argument_path(lineage)
            if path and path not in self.found:
                self.found.append(path)
        return None


def argument_names(error: GraphQLError, document: DocumentNode | None) -> list[str]:
    """The argument paths the value of ``error`` was given for (empty when unknown)."""
    if document is None or not error.nodes:
        return []
    node = error.nodes[0]
    if isinstance(node, VariableDefinitionNode):
        finder = _ArgumentsOf(None, node.variable.name.value)
    else:
        finder = _ArgumentsOf(node, None)
    visit(document, finder)
    return [name for name in finder.found if name]


def mark_input_errors(errors: list[GraphQLError], document: DocumentNode | None) -> None:
    """Give argument values refused by a scalar the code and the argument's name (in place)."""
    for error in errors:
        if error.path is not None or (error.extensions or {}).get("code"):
            continue
        if not _caused_by_value_error(error):
            continue
        names = argument_names(error, document)
        if names:
            error.message = f"{', '.join(names)}: {error.message}"
        error.extensions = {**(error.extensions or {}), "code": BAD_USER_INPUT}
