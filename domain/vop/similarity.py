"""Comparing two normalised names: the rules, in order, and the similarity score.

Both names are token lists from :func:`domain.vop.names.normal_tokens`; tokens are compared
through :func:`domain.vop.names.comparison_key`. Nothing here depends on the order of the
tokens of either name (the acronym and spacing rules included), so "Smith John" is "John
Smith".

1. **exact** / **token order** / **spacing**: the same tokens, in the same or another order,
   or the same letters with spaces elsewhere ("Van der Berg" / "Vanderberg", "O Brien" /
   "O'Brien") -> MTCH, score 100.
2. **alignment**: each token of the shorter name is paired with a token of the longer one
   (best pairs first; a pair's score is the rapidfuzz ratio of the two tokens, 100 when they
   are equal, ``INITIAL_PAIR_SCORE`` when one is the other's initial). The score is the mean
   pair score weighted by token length. Tokens of the longer name left unpaired are
   **missing names** (middle names, a second surname): for a natural person they cost nothing
   if the shorter name has two tokens at least (a single name never identifies a person);
   for a legal person they cap the outcome at CMTC (a longer business name is often another
   entity: "Deutsche Bahn" / "Deutsche Bahn Fernverkehr"). A pair made by an **initial**
   ("J. Smith" / "John Smith") caps the outcome at CMTC, and counts only when another token
   is equal (so "J. S." never discloses "John Smith").
3. **acronym** (legal persons): one name is a single token made of the initials of the
   other's tokens ("IBM" / "International Business Machines") -> CMTC.
4. **similarity**: rapidfuzz's ``token_sort_ratio`` of the whole names.

The best of these decides: score >= the match threshold is MTCH, >= the close-match
threshold CMTC, otherwise NMTC (before the caps above).
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from domain.vop.names import HolderKind, comparison_key, strip_legal_forms
from domain.vop.outcomes import Outcome, Rule, Thresholds

# An initial paired with a name starting with it ("J" / "John"): high, but the outcome is capped.
INITIAL_PAIR_SCORE = 90.0


@dataclass(frozen=True, slots=True)
class Comparison:
    """What comparing two names gave: the outcome, its score (0-100) and the deciding rule."""

    outcome: Outcome
    score: float
    rule: Rule

    @property
    def rank(self) -> tuple[int, float]:
        """Orders comparisons: a better outcome first, then a higher score."""
        return self.outcome.rank, self.score


def classify(score: float, thresholds: Thresholds) -> Outcome:
    """The outcome a score gives against the thresholds."""
    if score >= thresholds.match:
        return Outcome.MATCH
    if score >= thresholds.close_match:
        return Outcome.CLOSE_MATCH
    return Outcome.NO_MATCH


def _capped(outcome: Outcome) -> Outcome:
    return Outcome.CLOSE_MATCH if outcome is Outcome.MATCH else outcome


def _composes(pieces: list[str], wholes: list[str]) -> bool:
    """Whether the ``pieces`` (all of them) concatenate, in some grouping and order, to the
    ``wholes``: the same name spaced differently. Sorted, so the input order never matters."""
    if len(pieces) <= len(wholes) or len("".join(pieces)) != len("".join(wholes)):
        return False

    def cover(rest: str, available: tuple[str, ...]) -> tuple[str, ...] | None:
        if not rest:
            return available
        for index, piece in enumerate(available):
            if rest.startswith(piece):
                left = cover(rest[len(piece) :], available[:index] + available[index + 1 :])
                if left is not None:
                    return left
        return None

    available: tuple[str, ...] | None = tuple(sorted(pieces))
    for whole in sorted(wholes, key=lambda w: (-len(w), w)):
        assert available is not None
        available = cover(whole, available)
        if available is None:
            return False
    return available == ()


def _is_initial(short: str, long: str) -> bool:
    return len(short) == 1 and len(long) > 1 and long.startswith(short)


def _pair_score(left: str, right: str) -> tuple[float, bool]:
    """A token pair's score, and whether it is an initial paired with a name."""
    if left == right:
        return 100.0, False
    if _is_initial(left, right) or _is_initial(right, left):
        return INITIAL_PAIR_SCORE, True
    return fuzz.ratio(left, right), False


def _align(shorter: list[str], longer: list[str]) -> tuple[float, bool, bool]:
    """Greedy pairing, best pairs first (ties broken by the tokens, never by position).

    Returns the length-weighted mean pair score, whether an initial was used, and whether
    a pair of equal (non-initial) tokens exists."""
    candidates = sorted(
        (
            (-score, a, b, initial, i, j)
            for i, a in enumerate(shorter)
            for j, b in enumerate(longer)
            for score, initial in (_pair_score(a, b),)
        ),
    )
    used_short: set[int] = set()
    used_long: set[int] = set()
    total = weight = 0.0
    initials = equal = False
    for negative, a, b, initial, i, j in candidates:
        if i in used_short or j in used_long:
            continue
        used_short.add(i)
        used_long.add(j)
        size = max(len(a), len(b))
        total += -negative * size
        weight += size
        initials = initials or initial
        equal = equal or (a == b and len(a) > 1)
    return (total / weight if weight else 0.0), initials, equal


ACRONYM_MIN_LETTERS = 3
"""An acronym of two letters is one of 676 guesses: too cheap a way to learn a company's name."""


def _acronym(left: list[str], right: list[str]) -> bool:
    for short, long in ((left, right), (right, left)):
        sized = len(short) == 1 and len(long) >= ACRONYM_MIN_LETTERS and len(short[0]) == len(long)
        if sized and sorted(short[0]) == sorted(word[0] for word in long):
            return True
    return False


def _aligns(requested: list[str], held: list[str], kind: HolderKind) -> bool:
    """Whether the token alignment may decide: a natural person needs two names on the shorter
    side (a single name never identifies a person); a company one (``Philips`` /
    ``Koninklijke Philips``: close, the payer is shown the name)."""
    return min(len(requested), len(held)) >= (2 if kind is HolderKind.NATURAL else 1)


def _more_asked(requested: list[str], held: list[str]) -> bool:
    """Whether the payer named more than the account holds beyond one extra name (a middle
    name the account lacks), or a legal form: "Anna Weber Escrow Services Ltd" and "Anna
    Weber GmbH" are close to Anna Weber's account at most, never a match, since a match tells
    the payer the account is the business they named."""
    extra = len(requested) - len(held)
    return extra > 1 or (extra > 0 and strip_legal_forms(requested) != requested)


def compare(
    requested: list[str], held: list[str], kind: HolderKind, thresholds: Thresholds
) -> Comparison:
    """Compare a requested name with one of the account's names (both normalised tokens)."""
    left = [comparison_key(t) for t in requested]
    right = [comparison_key(t) for t in held]
    if left == right:
        return Comparison(Outcome.MATCH, 100.0, Rule.EXACT)
    if sorted(left) == sorted(right):
        return Comparison(Outcome.MATCH, 100.0, Rule.TOKEN_ORDER)
    if _composes(left, right) or _composes(right, left):
        return Comparison(Outcome.MATCH, 100.0, Rule.SPACING)
    whole = fuzz.token_sort_ratio(" ".join(left), " ".join(right), processor=None)
    found = [Comparison(classify(whole, thresholds), whole, Rule.SIMILARITY)]
    shorter, longer = sorted((left, right), key=len)
    if _aligns(left, right, kind):
        score, initials, equal = _align(shorter, longer)
        missing = len(longer) > len(shorter)
        if not initials or equal:
            outcome = classify(score, thresholds)
            if initials or (missing and kind is HolderKind.LEGAL) or _more_asked(left, right):
                outcome = _capped(outcome)
            rule = Rule.INITIALS if initials else Rule.MISSING_NAME if missing else Rule.SIMILARITY
            found.append(Comparison(outcome, score, rule))
    if kind is HolderKind.LEGAL and _acronym(left, right):
        found.append(
            Comparison(Outcome.CLOSE_MATCH, max(whole, thresholds.close_match), Rule.ACRONYM)
        )
    best = max(found, key=lambda c: c.rank)
    return Comparison(best.outcome, round(best.score, 1), best.rule)
