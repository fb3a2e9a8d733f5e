"""What a GraphQL document will cost, computed from its text before anything runs.

The estimate counts the fields a document resolves. A field counts once for every time it is
resolved: at the top once, below a connection's ``edges`` once per item of the page, so page
sizes multiply along nested connections. A connection's page is its ``first`` argument (the
variable's value, or the variable's default) or :data:`~api.graphql.common.DEFAULT_PAGE` when
absent, at most :data:`~api.graphql.common.MAX_PAGE` (a larger one is refused when it runs); a
list of objects that is not a connection (``statusHistory``, ``lines`` ...) counts as
:data:`LIST_ESTIMATE` items. Fragments, inline fragments and aliases count like the fields
they stand for; introspection fields (``__schema``, ``__type``) count one each (they are bounded
by the schema and switched off in production).

``{ a0: accounts(first: 100) { edges { node { postings(first: 100) { edges { node {
transaction { debtor { account { postings(first: 100) { edges { node { recordedAt } } } } } }
} } } } } } }`` costs 2,060,302: 1,000,000 posting nodes with a ``recordedAt`` each at the
bottom. Two limits apply (:class:`~api.graphql.budget.GraphQLBudget`): the document's total
cost, and the page of any connection inside a list (its ``first`` multiplies everything below
it by the number of items above it). Either is refused with ``QUERY_TOO_EXPENSIVE``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    is_list_type,
    is_non_null_type,
)
from graphql.type.definition import GraphQLInterfaceType, GraphQLOutputType
from strawberry.extensions import SchemaExtension

from api.graphql.common import DEFAULT_PAGE, MAX_PAGE

LIST_ESTIMATE = DEFAULT_PAGE
"""Items assumed for a list of objects that is not a paginated connection."""
TOO_EXPENSIVE = "QUERY_TOO_EXPENSIVE"


@dataclass
class Estimate:
    """The cost of one operation and the nested pages above the allowed size."""

    cost: int = 0
    oversized: list[str] = field(default_factory=list)


class CostAnalysis:
    """Walks one operation of a parsed document against the schema (see the module docstring)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        max_nested_page: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.max_nested_page = max_nested_page

    def operation(self, node: OperationDefinitionNode) -> Estimate:
        root = {
            OperationType.QUERY: self.schema.query_type,
            OperationType.MUTATION: self.schema.mutation_type,
            OperationType.SUBSCRIPTION: self.schema.subscription_type,
        }[node.operation]
        defaults = {d.variable.name.value: d.default_value for d in node.variable_definitions or ()}
        estimate = Estimate()
        if root is not None:
            self._selection(node.selection_set, root, 1, estimate, defaults, frozenset())
        return estimate

    def _selection(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType,
        times: int,
        estimate: Estimate,
        defaults: Mapping[str, Any],
        seen: frozenset[str],
    ) -> None:
        for node, on_type in self._fields(selection_set, parent, seen):
            name = node.name.value
            estimate.cost += times
            fields = getattr(on_type, "fields", None)
            if name.startswith("__") or not fields or name not in fields:
                continue  # introspection, or an unknown field (validation reports it)
            definition = fields[name]
            target = get_named_type(definition.type)
            if not isinstance(target, GraphQLObjectType | GraphQLInterfaceType):
                continue  # a leaf: scalars and enums, single or in a list
            below = times
            if self._is_connection(definition.type, definition.args):
                page = self._page(node, defaults)
                if times > 1 and page > self.max_nested_page:
                    where = node.alias.value if node.alias else name
                    estimate.oversized.append(
                        f"{where}: first {page} is above {self.max_nested_page}, the largest "
                        "page of a connection inside a list"
                    )
                # A larger first is refused by the resolver (BAD_USER_INPUT); never more items.
                items = min(page, MAX_PAGE)
                self._connection(node, target, times, items, estimate, defaults, seen)
                continue
            if _is_list(definition.type):
                below = times * LIST_ESTIMATE
            self._selection(node.selection_set, target, below, estimate, defaults, seen)

    def _connection(
        self,
        node: FieldNode,
        connection: GraphQLNamedType,
        times: int,
        page: int,
        estimate: Estimate,
        defaults: Mapping[str, Any],
        seen: frozenset[str],
    ) -> None:
        """Inside a connection only ``edges`` repeat (``page`` times); ``pageInfo`` does not."""
        for inner, on_type in self._fields(node.selection_set, connection, seen):
            estimate.cost += times
            inner_name = inner.name.value
            fields = getattr(on_type, "fields", None)
            if inner_name.startswith("__") or not fields or inner_name not in fields:
                continue
            target = get_named_type(fields[inner_name].type)
            if isinstance(target, GraphQLObjectType | GraphQLInterfaceType):
                below = times * page if inner_name == "edges" else times
                self._selection(inner.selection_set, target, below, estimate, defaults, seen)

    def _fields(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType, seen: frozenset[str]
    ) -> Iterator[tuple[FieldNode, GraphQLNamedType]]:
        """The fields of a selection, fragments expanded (each with the type it is read on)."""
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                on_type = self._type_condition(selection.type_condition, parent)
                yield from self._fields(selection.selection_set, on_type, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue  # unknown or cyclic: validation reports it
                on_type = self._type_condition(fragment.type_condition, parent)
                yield from self._fields(fragment.selection_set, on_type, seen | {name})

    def _type_condition(self, condition: Any, parent: GraphQLNamedType) -> GraphQLNamedType:
        if condition is None:
            return parent
        found = self.schema.get_type(condition.name.value)
        return found if found is not None else parent

    @staticmethod
    def _is_connection(output: GraphQLOutputType, args: Mapping[str, Any]) -> bool:
        target = get_named_type(output)
        fields = getattr(target, "fields", None) or {}
        return "first" in args and "edges" in fields and not _is_list(output)

    def _page(self, node: FieldNode, defaults: Mapping[str, Any]) -> int:
        """The ``first`` this field asks for; the default page when absent or not a number."""
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            value: Any = argument.value
            if isinstance(value, VariableNode):
                name = value.name.value
                if name in self.variables:
                    return _as_page(self.variables[name])
                value = defaults.get(name)  # the variable's default, a literal (or None)
            if isinstance(value, IntValueNode):
                return _as_page(value.value)
            return DEFAULT_PAGE
        return DEFAULT_PAGE


def _is_list(output: GraphQLOutputType) -> bool:
    inner = output.of_type if is_non_null_type(output) else output  # type: ignore[union-attr]
    return is_list_type(inner)


def _as_page(raw: object) -> int:
    if raw is None:
        return DEFAULT_PAGE
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        return DEFAULT_PAGE
    try:
        return max(0, int(raw))
    except ValueError:
        return DEFAULT_PAGE


def cost_errors(
    analysis: CostAnalysis,
    operations: list[OperationDefinitionNode],
    operation_name: str | None,
    max_cost: int,
) -> list[GraphQLError]:
    """``QUERY_TOO_EXPENSIVE`` errors for the operation that would run (all of them when the
    document does not say which; validation or execution refuses that case anyway)."""
    chosen = [
        op
        for op in operations
        if operation_name is None or (op.name is not None and op.name.value == operation_name)
    ]
    errors: list[GraphQLError] = []
    extensions = {"code": TOO_EXPENSIVE}
    for op in chosen:
        estimate = analysis.operation(op)
        for problem in estimate.oversized:
            errors.append(GraphQLError(problem, nodes=[op], extensions=dict(extensions)))
        if estimate.cost > max_cost:
            errors.append(
                GraphQLError(
                    f"query cost {estimate.cost} exceeds the limit {max_cost}: ask for smaller "
                    "pages (first) or fewer nested connections",
                    nodes=[op],
                    extensions={**extensions, "cost": estimate.cost, "limit": max_cost},
                )
            )
    return errors


class CostLimiter(SchemaExtension):
    """Adds a validation rule that refuses a document above the cost or nested-page limits.

    As a validation rule it runs with the other document checks, before any resolver; unlike
    graphql-core's own rules it sees the request's variables and operation name (from the
    execution context this extension is given).
    """

    def __init__(self, *, max_cost: int, max_nested_page: int) -> None:
        self.max_cost = max_cost
        self.max_nested_page = max_nested_page

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        limiter = self
        variables = dict(context.variables or {})
        operation_name = context.operation_name

        class CostRule(ValidationRule):
            def __init__(self, validation: ValidationContext) -> None:
                super().__init__(validation)
                document = validation.document
                fragments = {
                    d.name.value: d
                    for d in document.definitions
                    if isinstance(d, FragmentDefinitionNode)
                }
                operations = [
                    d for d in document.definitions if isinstance(d, OperationDefinitionNode)
                ]
                analysis = CostAnalysis(
                    validation.schema, fragments, variables, limiter.max_nested_page
                )
                for error in cost_errors(analysis, operations, operation_name, limiter.max_cost):
                    validation.report_error(error)

        context.validation_rules = (*context.validation_rules, CostRule)
        yield
