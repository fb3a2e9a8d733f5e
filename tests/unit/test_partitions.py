"""domain.ledger.partitions: the account -> partition hash and the rendezvous assignment.

* ``partition_of`` is stable (pinned values: a change would re-home every account; the same
  answer in a process with another ``PYTHONHASHSEED``), deterministic, in range, insensitive
  to an IBAN's notation, and spreads random IBANs evenly (a chi-square bound over 20,000
  IBANs drawn with a fixed seed: the same draw every run, so the bound never flakes).
* Rendezvous: a member joining takes only partitions (nothing moves between the others), a
  member leaving gives only its own, and shares are near ``P/N``.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.ledger.partitions import (
    assignment,
    normalise_key,
    owner_of,
    partition_of,
    share_of,
)
from tests.builders import COUNTRIES, iban

ROOT = Path(__file__).resolve().parents[2]

PINNED = {
    ("DE89370400440532013000", 64): 63,
    ("GB82WEST12345698765432", 64): 39,
    ("clearing:EUR", 64): 54,
    ("DE89370400440532013000", 1000): 487,
    ("clearing:EUR", 1000): 182,
}

keys = st.text(min_size=1, max_size=40).filter(lambda s: bool("".join(s.split())))
counts = st.integers(min_value=1, max_value=100_000)


def test_known_keys_keep_their_partitions() -> None:
    assert {k: partition_of(*k) for k in PINNED} == PINNED


def test_another_process_with_another_hash_seed_agrees() -> None:
    code = (
        "import json, sys; from domain.ledger.partitions import partition_of; "
        "print(json.dumps([partition_of(k, n) for k, n in json.loads(sys.argv[1])]))"
    )
    environment = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(list(PINNED))],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
    ).stdout
    assert json.loads(out) == list(PINNED.values())


@given(key=keys, partitions=counts)
def test_deterministic_and_in_range(key: str, partitions: int) -> None:
    first = partition_of(key, partitions)
    assert 0 <= first < partitions
    assert partition_of(key, partitions) == first


@given(number=st.integers(min_value=1, max_value=999_999), country=st.sampled_from(COUNTRIES))
def test_an_iban_in_print_form_lands_with_its_compact_form(number: int, country: str) -> None:
    compact = iban(country, number)
    printed = " ".join(compact[i : i + 4] for i in range(0, len(compact), 4)).lower()
    assert normalise_key(printed) == compact
    assert partition_of(printed, 64) == partition_of(compact, 64)


def test_random_ibans_spread_evenly_over_64_partitions() -> None:
    draw = random.Random(20261207)
    samples, partitions = 20_000, 64
    found = [0] * partitions
    for _ in range(samples):
        key = iban(draw.choice(COUNTRIES), draw.randrange(1, 1_000_000))
        found[partition_of(key, partitions)] += 1
    expected = samples / partitions
    chi_square = sum((n - expected) ** 2 / expected for n in found)
    # 63 degrees of freedom: P(chi2 > 103.4) = 0.001 for a uniform hash
    assert chi_square < 103.4, (chi_square, found)
    assert min(found) > expected * 0.75 and max(found) < expected * 1.25


@pytest.mark.parametrize("bad", [0, -1, True, 2.0])
def test_a_partition_count_must_be_a_positive_integer(bad: object) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        partition_of("DE89370400440532013000", bad)  # type: ignore[arg-type]


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        partition_of(" \t", 64)


members = st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=8, unique=True)


@given(before=members, joining=st.text(min_size=1, max_size=12))
def test_a_joining_member_takes_partitions_and_nothing_else_moves(
    before: list[str], joining: str
) -> None:
    if joining in before:
        return
    old = assignment(before, 64)
    new = assignment([*before, joining], 64)
    moved = {p for p in old if old[p] != new[p]}
    assert all(new[p] == joining for p in moved)
    assert moved == share_of(joining, before, 64)


@given(after=members, leaving=st.text(min_size=1, max_size=12))
def test_a_leaving_member_gives_only_its_own_partitions(after: list[str], leaving: str) -> None:
    if leaving in after:
        return
    old = assignment([*after, leaving], 64)
    new = assignment(after, 64)
    assert {p for p in old if old[p] != new[p]} == {p for p in old if old[p] == leaving}


def test_shares_are_near_fair() -> None:
    for n in (2, 3, 4, 8):
        names = [f"ingestion-{i}" for i in range(n)]
        shares = [len(share_of(m, names, 1024)) for m in names]
        assert sum(shares) == 1024
        assert max(shares) < 1024 / n * 1.3 and min(shares) > 1024 / n * 0.7, shares


def test_every_process_agrees_on_the_owner_whatever_the_order() -> None:
    names = ["b", "a", "c"]
    assert all(owner_of(p, names) == owner_of(p, reversed(names)) for p in range(64))
    with pytest.raises(ValueError):
        owner_of(0, [])
