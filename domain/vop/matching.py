"""The VoP decision: the payer's name (or organisation identifier) against an account holder.

:func:`match_payee` answers with a :class:`MatchResult`: the outcome code (MTCH, CMTC, NMTC,
NOAP), the similarity score, the rule that decided and, for CMTC only, the account holder's
name to disclose to the payer. Pure and deterministic: no I/O, no clock.

* **Identifier first** (legal persons): if the request carries an identifier and the holder
  has one under the same scheme, equality decides (MTCH or NMTC), whatever the name. Without
  one under that scheme the name is checked, and without a name the answer is NOAP.
* **Names**: the requested name is compared (:func:`domain.vop.similarity.compare`) with
  every name of the account (the legal name, then the further names: joint holders, trading
  names) and the best comparison wins: a match of any one holder is a match.
* **Joint accounts** (natural persons): a name field naming several holders ("John and Jane
  Smith") is also split into persons; a request naming several persons ("Jane & John Smith")
  is answered by pairing each requested person with a different holder, the weakest pair
  deciding (rule ``joint_holders``), or by an account name naming several holders as a whole,
  never by one holder's name alone.
* **NOAP** when there is nothing to compare: no name on the account, or nothing left of the
  requested name after normalisation. Whether the account exists or is closed is the
  caller's decision (also NOAP), before any matching.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.vop.identifiers import OrganisationId
from domain.vop.names import HolderKind, normal_tokens, split_persons
from domain.vop.outcomes import DEFAULT_THRESHOLDS, Outcome, Rule, Thresholds
from domain.vop.similarity import Comparison, compare


@dataclass(frozen=True, slots=True)
class AccountHolder:
    """What the directory knows of an account's holder, for matching."""

    kind: HolderKind
    name: str
    further_names: tuple[str, ...] = ()  # joint holders, trading names
    identifiers: tuple[OrganisationId, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The legal name, then the further names, blank ones left out."""
        return tuple(n for n in (self.name, *self.further_names) if n.strip())


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The answer to one check."""

    outcome: Outcome
    score: float  # 0-100; 100 for rule matches and identifier matches, 0 for NOAP
    rule: Rule
    disclosed_name: str | None = None  # the account holder's name, given with CMTC only


@dataclass(frozen=True, slots=True)
class _Candidate:
    tokens: list[str]
    source: str  # the account's name as held, disclosed on CMTC
    persons: int = 1  # how many holders these tokens name


def match_payee(
    holder: AccountHolder,
    name: str | None = None,
    identifier: OrganisationId | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> MatchResult:
    """The VoP outcome for a payer's ``name`` and/or ``identifier`` against ``holder``."""
    if identifier is not None:
        held = [i for i in holder.identifiers if i.scheme is identifier.scheme]
        if held and holder.kind is HolderKind.LEGAL:
            same = any(identifier.same_as(i) for i in held)
            outcome = Outcome.MATCH if same else Outcome.NO_MATCH
            return MatchResult(outcome, 100.0 if same else 0.0, Rule.IDENTIFIER)
        if not (name and name.strip()):
            # a natural person holds no organisation identifier: the same answer as a
            # company without one under that scheme, so the answer never tells the kinds apart
            return MatchResult(Outcome.NOT_APPLICABLE, 0.0, Rule.NO_IDENTIFIER_DATA)
    requested = normal_tokens(name or "", holder.kind)
    candidates = _candidates(holder)
    if not requested or not candidates:
        return MatchResult(Outcome.NOT_APPLICABLE, 0.0, Rule.NO_NAME_DATA)
    joint = _joint(name or "", holder, thresholds) if holder.kind is HolderKind.NATURAL else None
    if joint is not None:
        # several persons asked for: never answered by one holder's name alone
        candidates = [c for c in candidates if c.persons > 1]
    results = [
        (compare(requested, c.tokens, holder.kind, thresholds), c.source) for c in candidates
    ]
    if joint is not None:
        results.append(joint)
    # the best outcome, then a pairing of the persons named, then the best score
    best, source = max(
        results,
        key=lambda pair: (pair[0].outcome.rank, pair[0].rule is Rule.JOINT_HOLDERS, pair[0].score),
    )
    disclosed = source if best.outcome is Outcome.CLOSE_MATCH else None
    return MatchResult(best.outcome, best.score, best.rule, disclosed)


def _candidates(holder: AccountHolder) -> list[_Candidate]:
    found: list[_Candidate] = []
    for source in holder.names:
        words = normal_tokens(source, holder.kind)
        split = split_persons(source) if holder.kind is HolderKind.NATURAL else None
        if words:
            found.append(_Candidate(words, source, len(split) if split else 1))
        found.extend(_Candidate(person, source) for person in split or ())
    if holder.kind is HolderKind.NATURAL and len(holder.names) > 1:
        combined = [w for source in holder.names for w in normal_tokens(source, holder.kind)]
        found.append(_Candidate(combined, ", ".join(holder.names), len(holder.names)))
    return found


def _holders(holder: AccountHolder) -> list[_Candidate]:
    """Each holder of a natural persons' account as a person of their own."""
    persons: list[_Candidate] = []
    for source in holder.names:
        split = split_persons(source)
        if split:
            persons.extend(_Candidate(p, source) for p in split)
        elif words := normal_tokens(source, HolderKind.NATURAL):
            persons.append(_Candidate(words, source))
    return persons


def _joint(
    name: str, holder: AccountHolder, thresholds: Thresholds
) -> tuple[Comparison, str] | None:
    """Several requested persons, each paired with a different holder; the weakest decides.

    A requested person left without a holder (more persons asked for than the account has)
    counts as a close match: the holders there are get disclosed, never matched."""
    requested = split_persons(name)
    persons = _holders(holder)
    if requested is None or not persons:
        return None
    table = sorted(
        (
            (compare(r, p.tokens, HolderKind.NATURAL, thresholds), i, j)
            for i, r in enumerate(requested)
            for j, p in enumerate(persons)
        ),
        key=lambda row: (row[0].rank, -row[1], -row[2]),
        reverse=True,
    )
    taken_r: set[int] = set()
    taken_p: set[int] = set()
    chosen: list[Comparison] = []
    sources: list[str] = []
    for comparison, i, j in table:
        if i in taken_r or j in taken_p:
            continue
        taken_r.add(i)
        taken_p.add(j)
        chosen.append(comparison)
        if persons[j].source not in sources:
            sources.append(persons[j].source)
    unpaired = len(requested) - len(chosen)
    chosen.extend([Comparison(Outcome.CLOSE_MATCH, 0.0, Rule.JOINT_HOLDERS)] * unpaired)
    weakest = min(chosen, key=lambda c: c.rank)
    return Comparison(weakest.outcome, weakest.score, Rule.JOINT_HOLDERS), ", ".join(sources)
