"""Deny by default, proven by walking the API as it describes itself.

GraphQL: every root query and mutation, with every field below it that a selection can reach,
is run by an anonymous caller (401), by a principal without roles, and by every role of the
permission matrix. Whatever permission a refusal names, the role must lack it; every field the
role's permissions cover must answer without a refusal. REST: the same for every route of the
OpenAPI document. Nothing in here lists the operations: new ones are walked automatically.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.runtime.bootstrap import Container
from api.security import Principal
from domain.identity.permissions import HUMAN_ROLES, ROLE_PERMISSIONS, SERVICE_ROLES
from tests.builders import iban
from tests.e2e.conftest import SUPERUSER, client_as, fund, open_account, pay, project

PUBLIC_PATHS = {"/healthz", "/readyz", "/metrics"}
UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"
MAX_DEPTH = 7

INTROSPECTION = """
fragment Ref on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
{ __schema {
    queryType { name } mutationType { name }
    types { kind name
      fields { name args { name defaultValue type { ...Ref } } type { ...Ref } }
      inputFields { name defaultValue type { ...Ref } }
      enumValues { name } } } }
"""


def named(ref: dict[str, Any]) -> tuple[str, bool]:
    """The named type under NON_NULL/LIST wrappers, and whether the outer type is required."""
    required = ref["kind"] == "NON_NULL"
    while ref.get("ofType"):
        ref = ref["ofType"]
    return ref["name"], required


def is_list(ref: dict[str, Any]) -> bool:
    while ref is not None:
        if ref["kind"] == "LIST":
            return True
        ref = ref.get("ofType")
    return False


class Walker:
    """Builds an operation for each root field from the introspected schema."""

    def __init__(self, schema: dict[str, Any], ids: dict[str, str]) -> None:
        self.types = {t["name"]: t for t in schema["types"]}
        self.query = schema["queryType"]["name"]
        self.mutation = schema["mutationType"]["name"]
        self.ids = ids

    def literal(self, ref: dict[str, Any], arg: str, owner: str) -> str:
        name, _ = named(ref)
        kind = self.types[name]["kind"]
        if is_list(ref):
            return f"[{self.literal(ref_of(ref), arg, owner)}]"
        if kind == "ENUM":
            return str(self.types[name]["enumValues"][0]["name"])
        if kind == "INPUT_OBJECT":
            fields = [
                f"{f['name']}: {self.literal(f['type'], f['name'], name)}"
                for f in self.types[name]["inputFields"]
                if named(f["type"])[1] and f["defaultValue"] is None
            ]
            return "{" + ", ".join(fields) + "}"
        if name == "Int":
            return "1"
        if name == "Boolean":
            return "false"
        if name == "DateTime":
            return '"2026-01-01T00:00:00Z"'
        if name == "JSON":
            return "{}"
        value = self.ids.get(f"{owner}.{arg}") or self.ids.get(arg) or "x"
        return f'"{value}"'

    def selection(self, type_name: str, depth: int, seen: frozenset[str]) -> str:
        t = self.types[type_name]
        if t["kind"] in {"SCALAR", "ENUM"}:
            return ""
        if t["kind"] in {"UNION", "INTERFACE"}:
            return "{ __typename }"
        parts = []
        for field in t["fields"]:
            if any(named(a["type"])[1] and a["defaultValue"] is None for a in field["args"]):
                continue  # needs arguments we cannot invent for a nested field
            child, _ = named(field["type"])
            if self.types[child]["kind"] in {"SCALAR", "ENUM"}:
                parts.append(field["name"])
            elif depth < MAX_DEPTH and child not in seen:
                inner = self.selection(child, depth + 1, seen | {child})
                if inner:
                    parts.append(f"{field['name']} {inner}")
        return "{ " + " ".join(["__typename", *parts]) + " }"

    def guarded_type(self, root_field: str) -> str:
        """The type a root field hands out (the node type of a connection)."""
        root = self.types[self.query]
        field = next(f for f in root["fields"] if f["name"] == root_field)
        name, _ = named(field["type"])
        edges = {f["name"]: f for f in self.types[name].get("fields") or []}.get("edges")
        if edges is not None:
            edge, _ = named(edges["type"])
            node = next(f for f in self.types[edge]["fields"] if f["name"] == "node")
            name, _ = named(node["type"])
        return name

    def operations(self) -> Iterator[tuple[str, str, str]]:
        """(kind, root field, document) for every root field."""
        for kind, root in (("query", self.query), ("mutation", self.mutation)):
            for field in self.types[root]["fields"]:
                args = [
                    f"{a['name']}: {self.literal(a['type'], a['name'], field['name'])}"
                    for a in field["args"]
                    if named(a["type"])[1] or f"{field['name']}.{a['name']}" in self.ids
                ]
                target, _ = named(field["type"])
                chosen = self.selection(target, 1, frozenset({target}))
                call = field["name"] + (f"({', '.join(args)})" if args else "")
                yield kind, field["name"], f"{kind} {{ {call} {chosen} }}"


def ref_of(ref: dict[str, Any]) -> dict[str, Any]:
    while ref["kind"] != "LIST":
        ref = ref["ofType"]
    return dict(ref["ofType"])


def leaks(
    data: Any, guarded: dict[str, set[str]], granted: frozenset[str], path: str = ""
) -> list[str]:
    """Paths in ``data`` where an object of a guarded type reached a role lacking its permission."""
    found: list[str] = []
    if isinstance(data, list):
        for index, item in enumerate(data):
            found += leaks(item, guarded, granted, f"{path}[{index}]")
    elif isinstance(data, dict):
        needed = guarded.get(str(data.get("__typename")), set())
        if needed - granted:
            found.append(f"{path}: {data['__typename']} needs {sorted(needed - granted)}")
        for key, value in data.items():
            found += leaks(value, guarded, granted, f"{path}.{key}")
    return found


def refusals(body: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """(path, permission) of every FORBIDDEN error of a GraphQL response."""
    found = []
    for error in body.get("errors") or []:
        extensions = error.get("extensions") or {}
        if extensions.get("code") == "FORBIDDEN":
            found.append((tuple(error.get("path") or ()), str(extensions.get("permission"))))
    return found


ROLES = sorted(ROLE_PERMISSIONS)


@pytest.fixture
def seeded(client: TestClient, container: Container) -> dict[str, str]:
    """An account, a posted payment and a payment held for review (with its fraud case)."""
    account = open_account(client)
    posted = fund(client, account, "20000.00")
    held = pay(client, debtor=account, creditor=iban("FR"), amount="15000.00")
    assert held["status"] == "HELD", held
    project(container)
    return {
        "account.id": account,
        "transaction.id": posted,
        "fraudCase.id": held["transactionId"],
        "id": UNKNOWN_ID,
        "iban": account,
        "report.name": "trial_balance",  # the report walked (each report needs reports:read)
    }


@pytest.fixture
def walker(client: TestClient, seeded: dict[str, str]) -> Walker:
    response = client.post("/graphql", json={"query": INTROSPECTION})
    assert response.status_code == 200, response.text
    return Walker(response.json()["data"]["__schema"], seeded)


def run(client: TestClient, document: str) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": document})
    assert response.status_code == 200, (document, response.text)
    body: dict[str, Any] = response.json()
    return body


def test_every_graphql_field_and_mutation_is_refused_without_a_token(
    container: Container, walker: Walker
) -> None:
    operations = list(walker.operations())
    assert len(operations) >= 15
    with TestClient(create_app(container)) as anonymous:
        for _kind, name, document in operations:
            response = anonymous.post("/graphql", json={"query": document})
            assert response.status_code == 401, (name, response.text)


def test_every_graphql_field_and_mutation_needs_its_permission(
    container: Container, walker: Walker
) -> None:
    operations = list(walker.operations())
    required: dict[str, str] = {}
    nobody = Principal("user:nobody", frozenset())
    with client_as(container, nobody) as client:
        for _kind, name, document in operations:
            body = run(client, document)
            at_root = [p for path, p in refusals(body) if path == (name,)]
            assert at_root, f"{name} answered a principal without roles: {body}"
            required[name] = at_root[0]
    guarded: dict[str, set[str]] = {}
    for kind, name, _document in operations:
        if kind == "query":
            guarded.setdefault(walker.guarded_type(name), set()).add(required[name])
    nested_refusals = 0
    for role in ROLES:
        kind = "service" if role in SERVICE_ROLES else "user"
        principal = Principal(f"{kind}:{role}-holder", frozenset({role}), kind)  # type: ignore[arg-type]
        granted = ROLE_PERMISSIONS[role]
        with client_as(container, principal) as client:
            if kind == "service":  # GraphQL is for people: every operation refused whole
                for _kind, name, document in operations:
                    response = client.post("/graphql", json={"query": document})
                    assert response.status_code == 403, (role, name, response.text)
                continue
            for _kind, name, document in operations:
                body = run(client, document)
                refused = refusals(body)
                for path, permission in refused:
                    assert permission not in granted, (role, name, path, permission, body)
                root_refused = any(path == (name,) for path, _ in refused)
                assert root_refused == (required[name] not in granted), (role, name, body)
                nested_refusals += sum(1 for path, _ in refused if len(path) > 1)
                leaked = leaks(body.get("data"), guarded, granted)
                assert not leaked, (role, name, leaked)
    assert nested_refusals, "no nested field was ever refused: the walk did not reach them"
    assert set(required.values()) <= set().union(*ROLE_PERMISSIONS.values())


def test_every_rest_route_needs_its_permission(
    container: Container, seeded: dict[str, str]
) -> None:
    with TestClient(create_app(container)) as anonymous:
        spec = anonymous.get("/openapi.json").json()
        routes = [
            (method.upper(), path)
            for path, methods in spec["paths"].items()
            for method in methods
            if path not in PUBLIC_PATHS
        ]
        assert len(routes) >= 4
        concrete = {
            path: path.replace("{account_id}", seeded["account.id"])
            .replace("{transaction_id}", seeded["transaction.id"])
            .replace("{name}", "trial_balance")
            for _method, path in routes
        }
        for method, path in routes:
            assert anonymous.request(method, concrete[path], json={}).status_code == 401, path
    required: dict[tuple[str, str], str] = {}
    with client_as(container, Principal("user:nobody", frozenset())) as nobody:
        for method, path in routes:
            response = nobody.request(method, concrete[path], json={})
            assert response.status_code == 403, (method, path, response.text)
            required[(method, path)] = response.json()["detail"].rsplit(" ", 1)[-1]
    for role in ROLES:
        kind = "service" if role in SERVICE_ROLES else "user"
        principal = Principal(f"{kind}:{role}-holder", frozenset({role}), kind)  # type: ignore[arg-type]
        with client_as(container, principal) as client:
            for method, path in routes:
                response = client.request(method, concrete[path], json={})
                allowed = required[(method, path)] in ROLE_PERMISSIONS[role]
                assert (response.status_code == 403) != allowed, (role, method, path, response.text)
    assert set(required.values()) <= set().union(*ROLE_PERMISSIONS.values())


def test_people_and_services_hold_disjoint_roles() -> None:
    assert not set(HUMAN_ROLES) & set(SERVICE_ROLES)
    assert SUPERUSER.roles == frozenset(ROLE_PERMISSIONS)
