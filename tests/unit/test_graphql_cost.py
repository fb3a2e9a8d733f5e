"""The GraphQL cost estimate (api/graphql/cost.py), its limits from the environment
(api/graphql/budget.py), the execution gate (api/graphql/execution.py) on its own, and the
garbage-collector settings of a serving process (api/runtime/tuning.py)."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
from typing import Any

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from api.graphql.budget import GraphQLBudget
from api.graphql.cost import TOO_EXPENSIVE, CostAnalysis, cost_errors
from api.graphql.execution import DeadlineExceeded, ExecutionGate, TooManyConcurrent, offload
from api.graphql.schema import build_schema
from api.runtime.settings import Settings, SettingsError
from api.runtime.tuning import FULL_COLLECTION_EVERY, SWITCH_INTERVAL, tune_for_latency

SCHEMA = build_schema()._schema

LEVEL = "postings(first:100){edges{node{transaction{debtor{account{%s}}}}}}"
ATTACK_ALIAS = (
    "accounts(first:100){edges{node{"
    + LEVEL % "postings(first:100){edges{node{recordedAt}}}"
    + "}}}"
)
ATTACK = "{ " + " ".join(f"a{i}: {ATTACK_ALIAS}" for i in range(3)) + " }"


def estimate(document: str, variables: dict[str, Any] | None = None, nested: int = 200) -> Any:
    doc = parse(document)
    fragments = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    analysis = CostAnalysis(SCHEMA, fragments, variables or {}, nested)
    return analysis.operation(operations[0])


def cost(document: str, variables: dict[str, Any] | None = None) -> int:
    value: int = estimate(document, variables).cost
    return value


# --------------------------------------------------------------------------- the estimate


def test_the_pentest_query_costs_millions() -> None:
    # Per alias: 1,000,000 posting nodes and as many recordedAt at the bottom, 10,000 of each
    # of the six fields in the middle, 100 in the first level, accounts and edges once.
    one = 2 + 3 * 100 + 6 * 10_000 + 2 * 1_000_000
    assert cost("{ a0: " + ATTACK_ALIAS + " }") == one == 2_060_302
    assert cost(ATTACK) == 3 * one


def test_a_page_multiplies_only_what_is_below_edges() -> None:
    assert cost("{ accounts(first: 7) { pageInfo { hasNextPage } edges { node { id } } } }") == (
        1 + 1 + 1 + 1 + 7 + 7
    )


def test_first_comes_from_a_variable_its_default_or_the_default_page() -> None:
    query = "query($n: Int = 7) { accounts(first: $n) { edges { node { id } } } }"
    assert cost(query, {"n": 100}) == 2 + 200
    assert cost(query) == 2 + 14  # the variable's default
    assert cost(query, {"n": None}) == 2 + 40  # null: the resolver's default page (20)
    assert cost("{ accounts { edges { node { id } } } }") == 2 + 40
    assert cost("query($n: Int) { accounts(first: $n) { edges { node { id } } } }") == 2 + 40


def test_a_first_above_the_maximum_counts_as_the_maximum() -> None:
    # It is refused when it runs (BAD_USER_INPUT naming first), never served larger.
    assert cost("{ accounts(first: 10000) { edges { cursor } } }") == 2 + 200


def test_fragments_inline_fragments_and_aliases_count_like_fields() -> None:
    postings = "postings { edges { node { recordedAt } } }"
    plain = f"{{ accounts(first: 5) {{ edges {{ node {{ id {postings} }} }} }} }}"
    spread = """
    { accounts(first: 5) { edges { ...E } } }
    fragment E on AccountEdge { node { ... on Account { id ...P } } }
    fragment P on Account { postings { edges { node { recordedAt } } } }
    """
    assert cost(spread) == cost(plain) == 2 + 5 * 4 + 100 * 2
    one = "accounts(first: 5) { edges { node { id } } }"
    twice = f"{{ x: {one} y: {one} }}"
    assert cost(twice) == 2 * (2 + 10)


def test_lists_that_are_not_connections_count_as_a_page() -> None:
    query = '{ transaction(id: "x") { statusHistory { status at } ruleHits } }'
    assert cost(query) == 1 + 1 + 20 * 2 + 1


def test_introspection_counts_one_per_field() -> None:
    assert cost("{ __schema { types { name fields { name } } } __typename }") == 2


def test_a_connection_inside_a_list_may_ask_only_a_small_page() -> None:
    inner = "{ accounts(first: 2) { edges { node { postings(first: %d) { edges { cursor } } } } } }"
    assert estimate(inner % 50, nested=50).oversized == []
    found = estimate(inner % 51, nested=50).oversized
    assert found == [
        "postings: first 51 is above 50, the largest page of a connection inside a list"
    ]
    # Not inside a list: one account's postings may use the whole page.
    single = '{ account(id: "x") { postings(first: 200) { edges { cursor } } } }'
    assert estimate(single, nested=50).oversized == []
    # The alias names the place.
    aliased = "{ accounts { edges { node { p: postings(first: 60) { edges { cursor } } } } } }"
    assert estimate(aliased, nested=50).oversized[0].startswith("p: first 60")


def test_cost_errors_name_the_cost_and_the_limit() -> None:
    doc = parse(ATTACK)
    operations = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    errors = cost_errors(CostAnalysis(SCHEMA, {}, {}, 200), operations, None, 50_000)
    assert [e.message.split(":")[0] for e in errors] == [
        "query cost 6180906 exceeds the limit 50000"
    ]
    assert errors[0].extensions == {"code": TOO_EXPENSIVE, "cost": 6_180_906, "limit": 50_000}


def test_only_the_operation_that_runs_is_estimated() -> None:
    doc = parse("query Cheap { trialBalance { asOf } } query Dear " + ATTACK)
    operations = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    analysis = CostAnalysis(SCHEMA, {}, {}, 200)
    assert cost_errors(analysis, operations, "Cheap", 50_000) == []
    assert len(cost_errors(analysis, operations, "Dear", 50_000)) == 1


# --------------------------------------------------------------------------- settings


def test_the_budget_has_defaults_and_comes_from_the_environment() -> None:
    assert Settings.from_env({}).graphql.budget == GraphQLBudget(
        max_cost=50_000, max_nested_page=50, deadline_seconds=10.0, max_concurrent=4, workers=8
    )
    budget = Settings.from_env(
        {
            "LEDGER_GRAPHQL_MAX_COST": "1000",
            "LEDGER_GRAPHQL_MAX_NESTED_PAGE": "10",
            "LEDGER_GRAPHQL_DEADLINE_SECONDS": "2.5",
            "LEDGER_GRAPHQL_MAX_CONCURRENT": "2",
            "LEDGER_GRAPHQL_WORKERS": "3",
        }
    ).graphql.budget
    assert budget == GraphQLBudget(1000, 10, 2.5, 2, 3)


def test_an_invalid_budget_is_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(
            {
                "LEDGER_GRAPHQL_MAX_COST": "lots",
                "LEDGER_GRAPHQL_MAX_NESTED_PAGE": "500",
                "LEDGER_GRAPHQL_DEADLINE_SECONDS": "nan",
                "LEDGER_GRAPHQL_MAX_CONCURRENT": "0",
            }
        )
    problems = " | ".join(caught.value.problems)
    for name in (
        "LEDGER_GRAPHQL_MAX_COST: must be an integer",
        "LEDGER_GRAPHQL_MAX_NESTED_PAGE: must be between 1 and 200",
        "LEDGER_GRAPHQL_DEADLINE_SECONDS: must be between",
        "LEDGER_GRAPHQL_MAX_CONCURRENT: must be between 1 and",
    ):
        assert name in problems


# --------------------------------------------------------------------------- the gate


def test_an_execution_runs_off_the_callers_loop_with_one_io_thread() -> None:
    gate = ExecutionGate(deadline_seconds=5, max_concurrent=1, workers=1)
    server_thread = threading.get_ident()

    async def execute() -> tuple[int, set[int]]:
        loop_thread = threading.get_ident()
        workers = await asyncio.gather(*(offload(threading.get_ident) for _ in range(5)))
        return loop_thread, set(workers)

    loop_thread, workers = asyncio.run(gate.run("user:a", execute))
    assert loop_thread != server_thread
    assert len(workers) == 1  # one database connection at a time
    assert not workers & {loop_thread, server_thread}


def test_offload_outside_an_execution_uses_a_thread() -> None:
    async def main() -> bool:
        return await offload(threading.get_ident) != threading.get_ident()

    assert asyncio.run(main())


def test_the_deadline_cancels_an_execution() -> None:
    gate = ExecutionGate(deadline_seconds=0.05, max_concurrent=1, workers=1)
    finished = []

    async def forever() -> None:
        await asyncio.sleep(3600)
        finished.append(True)

    with pytest.raises(DeadlineExceeded, match=r"deadline of 0\.05 s"):
        asyncio.run(gate.run("user:a", forever))
    assert finished == []
    assert gate.running("user:a") == 0


def test_a_principal_gets_only_so_many_executions_at_once() -> None:
    gate = ExecutionGate(deadline_seconds=5, max_concurrent=2, workers=4)

    async def main() -> list[str]:
        release = asyncio.Event()
        loop = asyncio.get_running_loop()
        started = asyncio.Semaphore(0)

        async def hold() -> str:
            loop.call_soon_threadsafe(started.release)
            while not release.is_set():  # set from the server's loop below
                await asyncio.sleep(0.01)
            return "done"

        running = [asyncio.create_task(gate.run("user:a", hold)) for _ in range(2)]
        for _ in running:
            await started.acquire()
        assert gate.running("user:a") == 2
        with pytest.raises(TooManyConcurrent, match="at most 2 at a time"):
            await gate.run("user:a", hold)
        other = asyncio.create_task(gate.run("user:b", hold))  # someone else is not held up
        await started.acquire()
        release.set()
        results = [*await asyncio.gather(*running), await other]
        assert gate.running("user:a") == 0
        return results

    assert asyncio.run(main()) == ["done"] * 3


def test_a_serving_process_is_tuned_for_latency() -> None:
    before = gc.get_threshold()
    interval = sys.getswitchinterval()
    try:
        tune_for_latency()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (before[0], before[1], FULL_COLLECTION_EVERY)
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
        sys.setswitchinterval(interval)
