"""Verification of Payee name matching (domain.vop): the labelled pairs and its properties.

The table (tests/vop_pairs.py) covers each normalisation rule, each outcome, natural and legal
persons, joint accounts and trading names, in German, French, Spanish, Italian, Dutch, Polish,
Portuguese and Nordic names. ``benchmarks/vop_matching.py`` prints the accuracy over it.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.vop import (
    AccountHolder,
    HolderKind,
    IdentifierScheme,
    OrganisationId,
    Outcome,
    Rule,
    Thresholds,
    match_payee,
    normalise_name,
)
from domain.vop.names import comparison_key, split_persons, strip_legal_forms, tokens
from domain.vop.outcomes import InvalidThresholds
from domain.vop.terms import CONNECTORS
from tests.vop_pairs import KNOWN_MISSES, PAIRS, LabelledPair

pytestmark = pytest.mark.unit


def _check(pair: LabelledPair) -> Outcome:
    return match_payee(pair.holder(), pair.requested, pair.requested_id).outcome


# ------------------------------------------------------------------------- the table


def test_the_table_is_large_and_covers_what_the_issue_asks():
    assert len(PAIRS) >= 150
    outcomes = Counter(pair.expected for pair in PAIRS)
    assert all(outcomes[o] >= 10 for o in (Outcome.MATCH, Outcome.CLOSE_MATCH, Outcome.NO_MATCH))
    assert outcomes[Outcome.NOT_APPLICABLE] >= 5
    groups = {pair.group for pair in PAIRS}
    for group in ("case", "diacritics", "transliteration", "punctuation", "titles", "legal form"):
        assert group in groups
    for group in ("token order", "initials", "middle names", "joint", "trading", "identifier"):
        assert group in groups
    assert {pair.kind for pair in PAIRS} == {HolderKind.NATURAL, HolderKind.LEGAL}
    assert len({pair.label for pair in PAIRS + KNOWN_MISSES}) == len(PAIRS) + len(KNOWN_MISSES)


@pytest.mark.parametrize("pair", PAIRS, ids=lambda pair: pair.label)
def test_labelled_pair(pair: LabelledPair):
    assert _check(pair) is pair.expected


@pytest.mark.parametrize("pair", KNOWN_MISSES, ids=lambda pair: pair.label)
def test_known_miss_is_still_answered_as_today(pair: LabelledPair):
    """Known limitations (nicknames, spelling folds): pinned so a change is noticed; when one
    starts giving its labelled outcome, move it to PAIRS."""
    assert pair.today is not None and pair.today is not pair.expected
    assert _check(pair) is pair.today


# ------------------------------------------------------------------------- the result


def test_a_close_match_discloses_the_holders_name_and_nothing_else_does():
    holder = AccountHolder(HolderKind.NATURAL, "John Smith")
    close = match_payee(holder, "J. Smith")
    assert (close.outcome, close.rule, close.disclosed_name) == (
        Outcome.CLOSE_MATCH,
        Rule.INITIALS,
        "John Smith",
    )
    for name in ("John Smith", "Peter Brown", ""):
        assert match_payee(holder, name).disclosed_name is None


def test_a_close_match_on_a_trading_name_discloses_that_name():
    holder = AccountHolder(HolderKind.LEGAL, "Gastro Wien GmbH", ("Café Central",))
    result = match_payee(holder, "Cafe Centrale")
    assert (result.outcome, result.disclosed_name) == (Outcome.CLOSE_MATCH, "Café Central")


def test_joint_holders_matched_together_name_the_rule():
    holder = AccountHolder(HolderKind.NATURAL, "Max Bauer", ("Lena Vogel",))
    result = match_payee(holder, "Max Bauer & L. Vogel")
    assert (result.outcome, result.rule) == (Outcome.CLOSE_MATCH, Rule.JOINT_HOLDERS)
    assert result.disclosed_name == "Max Bauer, Lena Vogel"


def test_more_persons_asked_for_than_the_account_has_is_at_best_a_close_match():
    result = match_payee(AccountHolder(HolderKind.NATURAL, "John Smith"), "John & Mary Smith")
    assert result.outcome is Outcome.CLOSE_MATCH
    assert result.disclosed_name == "John Smith"


def test_identifier_rules_and_scores():
    lei = OrganisationId(IdentifierScheme.LEI, "7LTWFZYICNSX8D621K86")
    holder = AccountHolder(HolderKind.LEGAL, "Deutsche Bank AG", identifiers=(lei,))
    hit = match_payee(holder, identifier=lei)
    assert (hit.outcome, hit.rule, hit.score) == (Outcome.MATCH, Rule.IDENTIFIER, 100.0)
    other = OrganisationId(IdentifierScheme.VAT, "DE811907980")
    assert match_payee(holder, identifier=other).rule is Rule.NO_IDENTIFIER_DATA


def test_thresholds_are_parameters():
    holder = AccountHolder(HolderKind.NATURAL, "John Smith")
    assert match_payee(holder, "Jon Smith").outcome is Outcome.CLOSE_MATCH
    lenient = Thresholds(match=90, close_match=70)
    assert match_payee(holder, "Jon Smith", thresholds=lenient).outcome is Outcome.MATCH
    strict = Thresholds(match=99, close_match=97)
    assert match_payee(holder, "Jon Smith", thresholds=strict).outcome is Outcome.NO_MATCH
    for bad in ((80, 90), (101, 50), (50, -1)):
        with pytest.raises(InvalidThresholds):
            Thresholds(*bad)


def test_the_result_is_immutable():
    result = match_payee(AccountHolder(HolderKind.NATURAL, "John Smith"), "John Smith")
    with pytest.raises(AttributeError):
        result.outcome = Outcome.NO_MATCH  # type: ignore[misc]


# ------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("raw", "kind", "normalised"),
    [
        ("Prof. Dr. Jürgen Müller-Lüdenscheidt", HolderKind.NATURAL, "jurgen muller ludenscheidt"),
        ("Mme Hélène d'Orléans", HolderKind.NATURAL, "helene dorleans"),
        ("Mr", HolderKind.NATURAL, "mr"),
        ("Müller Bau GmbH & Co. KG", HolderKind.LEGAL, "muller bau"),
        ("ACME Luxembourg S.à r.l.", HolderKind.LEGAL, "acme luxembourg"),
        ("Kowalski Sp. z o.o.", HolderKind.LEGAL, "kowalski"),
        ("The Irish Bakery Ltd", HolderKind.LEGAL, "irish bakery"),
        ("GmbH", HolderKind.LEGAL, "gmbh"),
        ("Straße & Söhne", HolderKind.LEGAL, "strasse sohne"),
        # one-letter connectors written as initials stay (with their full stop)
        ("John E. Smith", HolderKind.NATURAL, "john e. smith"),
        ("Maria I Kowalska", HolderKind.NATURAL, "maria i. kowalska"),
        ("JOSE ORTEGA Y GASSET", HolderKind.NATURAL, "jose ortega gasset"),
        ("Maria e João Silva", HolderKind.NATURAL, "maria joao silva"),
    ],
)
def test_normalise_name(raw: str, kind: HolderKind, normalised: str):
    assert normalise_name(raw, kind) == normalised


def test_an_identifier_alone_never_tells_a_person_from_a_company():
    lei = OrganisationId(IdentifierScheme.LEI, "7LTWFZYICNSX8D621K86")
    person = AccountHolder(HolderKind.NATURAL, "Hans Müller")
    company = AccountHolder(HolderKind.LEGAL, "Müller Bau GmbH")
    asked = [match_payee(holder, identifier=lei) for holder in (person, company)]
    assert {(r.outcome, r.rule) for r in asked} == {
        (Outcome.NOT_APPLICABLE, Rule.NO_IDENTIFIER_DATA)
    }


def test_a_connector_letter_written_as_an_initial_is_an_initial():
    emma = AccountHolder(HolderKind.NATURAL, "Emma Smith")
    assert match_payee(emma, "E. Smith").outcome is Outcome.CLOSE_MATCH
    assert match_payee(emma, "Y. Smith").outcome is Outcome.NO_MATCH


def test_german_and_nordic_spellings_share_a_comparison_key():
    assert comparison_key("mueller") == comparison_key("muller")
    assert comparison_key("aasen") == comparison_key("asen")
    assert comparison_key("schroeder") == comparison_key("schroder")


def test_split_persons():
    assert split_persons("John and Jane Smith") == [["john", "smith"], ["jane", "smith"]]
    assert split_persons("Maria y Juan García López") == [
        ["maria", "garcia", "lopez"],
        ["juan", "garcia", "lopez"],
    ]
    assert split_persons("José Ortega y Gasset") is None
    assert split_persons("John Smith") is None


# ------------------------------------------------------------------------- properties

LETTERS = "abcdefghijklmnoprstuvwyzäöüßéèàçñøåłśżõãíóú"
# Connectors ("og", "och", "en", ...) separate the persons of a joint account, so their place
# in a name matters: the words of the order properties are never connectors.
WORDS = st.text(alphabet=LETTERS, min_size=2, max_size=10).filter(
    lambda word: not set(tokens(word)) & CONNECTORS
)
PERSON = st.lists(WORDS, min_size=1, max_size=4).map(" ".join)


def _strip_diacritics(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# The properties run derandomized: the same cases every run, so CI is deterministic (random
# exploration: 20,000 extra cases were run by hand when these were written).
@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(max_size=60), st.sampled_from(list(HolderKind)))
def test_normalisation_is_idempotent(text: str, kind: HolderKind):
    once = normalise_name(text, kind)
    assert normalise_name(once, kind) == once


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(max_size=60), st.sampled_from(list(HolderKind)))
def test_a_name_always_matches_itself(text: str, kind: HolderKind):
    outcome = match_payee(AccountHolder(kind, text), text).outcome
    expected = Outcome.MATCH if normalise_name(text, kind).strip() else Outcome.NOT_APPLICABLE
    assert outcome is expected


@settings(max_examples=300, deadline=None, derandomize=True)
@given(PERSON, PERSON, st.randoms(use_true_random=False))
def test_token_order_never_changes_the_outcome(requested: str, held: str, rnd: random.Random):
    holder = AccountHolder(HolderKind.NATURAL, held)
    words = requested.split()
    rnd.shuffle(words)
    assert match_payee(holder, " ".join(words)).outcome is match_payee(holder, requested).outcome


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.lists(WORDS, min_size=1, max_size=3),
    PERSON,
    st.sampled_from(["GmbH", "S.A.", "B.V.", "sp. z o.o.", "Oy", ""]),
    st.randoms(use_true_random=False),
)
def test_token_order_of_a_business_name_never_changes_the_outcome(
    body: list[str], held: str, form: str, rnd: random.Random
):
    """Word order within the name; a legal form is recognised at the end only, so the body's
    words in either order must not end in one ("Aa Ab" ends in the Swedish "AB")."""
    holder = AccountHolder(HolderKind.LEGAL, held + " AG")
    shuffled = list(body)
    rnd.shuffle(shuffled)
    for words in (body, shuffled):
        words_tokens = tokens(" ".join(words))
        assume(strip_legal_forms(["x", *words_tokens]) == ["x", *words_tokens])
    first = match_payee(holder, " ".join([*body, form])).outcome
    assert match_payee(holder, " ".join([*shuffled, form])).outcome is first


@settings(max_examples=300, deadline=None, derandomize=True)
@given(PERSON, PERSON, st.sampled_from(list(HolderKind)))
def test_case_and_diacritics_never_change_the_outcome(requested: str, held: str, kind: HolderKind):
    holder = AccountHolder(kind, held)
    outcome = match_payee(holder, requested).outcome
    for variant in (requested.upper(), requested.lower(), _strip_diacritics(requested)):
        assert match_payee(holder, variant).outcome is outcome
