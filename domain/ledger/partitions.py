"""Which virtual partition an account belongs to, and which member owns a partition.

Accounts map to ``P`` virtual partitions (``P`` fixed in configuration); at any time one
process writes a partition (``adapters.partitions`` leases them, docs/scale-out.md). Both
mappings here are pure and *stable*: the same on every process, host, Python version and
release, because they are SHA-256 of UTF-8 text and never Python's ``hash()`` (salted per
process). Changing either function re-homes accounts, so tests pin known values.

* :func:`partition_of`: the first 8 bytes of ``sha256(normalised key)``, big-endian, modulo
  ``P``. The key is normalised first (whitespace removed, upper case), so an IBAN written in
  print form (``de89 3704 ...``) and its compact form land in the same partition.
* :func:`owner_of` / :func:`assignment`: rendezvous (highest-random-weight) hashing: each
  partition goes to the member with the highest ``weight(member, partition)``. When a member
  joins it takes exactly the partitions where it now weighs most (about ``P/N``) and no
  partition moves between the others; when one leaves only its own partitions move.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

_WEIGHT_SEPARATOR = "\x1f"


def normalise_key(account_key: str) -> str:
    """``account_key`` without whitespace, in upper case (an IBAN's compact form)."""
    normalised = "".join(account_key.split()).upper()
    if not normalised:
        raise ValueError("an account key must not be empty")
    return normalised


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def _check_count(partitions: int) -> None:
    if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
        raise ValueError(f"the number of partitions must be a positive integer, got {partitions!r}")


def partition_of(account_key: str, partitions: int) -> int:
    """The partition (``0 .. partitions-1``) of the account ``account_key``."""
    _check_count(partitions)
    return _hash64(normalise_key(account_key)) % partitions


def weight(member: str, partition: int) -> int:
    """Rendezvous weight of ``member`` for ``partition`` (64 bits)."""
    return _hash64(f"{member}{_WEIGHT_SEPARATOR}{partition}")


def owner_of(partition: int, members: Iterable[str]) -> str:
    """The member that owns ``partition`` among ``members`` (the highest weight; ties, which
    take a 64-bit collision, go to the larger member name so every process agrees)."""
    candidates = set(members)
    if not candidates:
        raise ValueError("no member to own the partition")
    return max(candidates, key=lambda m: (weight(m, partition), m))


def assignment(members: Iterable[str], partitions: int) -> Mapping[int, str]:
    """Every partition's owner among ``members``."""
    _check_count(partitions)
    candidates = frozenset(members)
    return {p: owner_of(p, candidates) for p in range(partitions)}


def share_of(member: str, members: Iterable[str], partitions: int) -> frozenset[int]:
    """The partitions ``member`` owns when ``members`` (which should include it) are live."""
    owners = assignment({*members, member}, partitions)
    return frozenset(p for p, owner in owners.items() if owner == member)
