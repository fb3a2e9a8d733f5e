"""Name normalisation for Verification of Payee, as EPC288-23 recommends and vendors do.

A name becomes a list of tokens:

1. **Transliteration and diacritics**: ``anyascii`` (ISC) turns every script into ASCII
   (``Müller`` -> ``Muller``, ``Łukasz`` -> ``Lukasz``, ``ß`` -> ``ss``, ``Дмитрий`` ->
   ``Dmitriy``), then the text is lower-cased (case never matters).
2. **Punctuation**: apostrophes vanish (``O'Brien`` -> ``obrien``, ``D'Angelo`` ->
   ``dangelo``); every other character that is not a letter or digit separates tokens
   (``Jean-Pierre`` -> ``jean pierre``, ``S.A.`` -> ``s a``); ``&`` and ``+`` read as "and".
3. **Words without meaning for the comparison**: connectors ("and", "und", "et", "y", "e",
   "en", "i", "og", "och", "ja") for everyone; titles and generational suffixes (Mr, Mrs, Dr,
   Prof, Herr, Frau, Mme, Sr., Sra., Dott., Dhr., Pani, Jr., III, ...) for natural persons;
   "the" and **legal forms** at the end of a legal person's name (GmbH, AG, S.A., S.à r.l.,
   Ltd, B.V., S.p.A., sp. z o.o., Oy, A/S, "GmbH & Co. KG", ...; see :mod:`domain.vop.terms`).
   A step that would leave nothing removes nothing ("Mr" alone stays "mr"). A one-letter
   connector written as an initial in a person's name (``John E. Smith``, ``Maria I
   Kowalska`` in a name that is not all capitals) is an initial, not a connector;
   :func:`normalise_name` writes such an initial with its full stop (``john e. smith``), so
   normalising again keeps it.

Normalisation is idempotent: a normalised name normalises to itself.

German, Danish and Norwegian spellings of the same letter (ü/ue/u, ö/oe/o, ä/ae/a, ø/oe/o,
å/aa/a) are equal in the comparison, not in the normalised name: :func:`comparison_key` folds
a token so that ``Müller``, ``Mueller`` and ``Muller`` compare equal (and, as a cost,
``Michael`` and ``Michal``, ``Rafael`` and ``Rafal``).
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from anyascii import anyascii

from domain.vop.terms import (
    CONNECTORS,
    LEGAL_FILLERS,
    SUFFIXES,
    TITLES,
    raw_legal_forms,
)


class HolderKind(StrEnum):
    """Whom the account belongs to: the rules for titles, legal forms and splitting differ."""

    NATURAL = "natural"
    LEGAL = "legal"


_APOSTROPHES = re.compile(r"['`]")
_SEPARATORS = re.compile(r"[^a-z0-9]+")
_WORDS = re.compile(r"[A-Za-z0-9]+")
_FOLD_E = re.compile(r"([aou])e+")
_FOLD_A = re.compile(r"a+")

_PERSON_WORDS = CONNECTORS | TITLES | SUFFIXES
_BUSINESS_WORDS = CONNECTORS | LEGAL_FILLERS


def _ascii(text: str) -> str:
    ascii_text = anyascii(unicodedata.normalize("NFKC", text))
    return _APOSTROPHES.sub("", ascii_text.replace("&", " and ").replace("+", " and "))


def tokens(text: str) -> list[str]:
    """The text transliterated, lower-cased and split at punctuation and spaces."""
    return _SEPARATORS.sub(" ", _ascii(text).lower()).split()


def _initial_positions(text: str) -> frozenset[int]:
    """Which of ``tokens(text)`` are one-letter connectors written as initials.

    "e", "y" and "i" join names in Portuguese, Spanish and Polish, and are initials too. One
    followed by a full stop ("E.") is an initial; so is a capital one ("John E Smith") unless
    the whole name is in capitals ("JOSE ORTEGA Y GASSET", where the case says nothing).
    """
    ascii_text = _ascii(text)
    case_tells = any(c.islower() for c in ascii_text)
    found = set()
    for position, word in enumerate(_WORDS.finditer(ascii_text)):
        letter = word.group()
        if len(letter) != 1 or letter.lower() not in CONNECTORS:
            continue
        dotted = ascii_text[word.end() : word.end() + 1] == "."
        if dotted or (case_tells and letter.isupper()):
            found.add(position)
    return frozenset(found)


def _without(
    words: list[str], dropped: frozenset[str], kept_positions: frozenset[int] = frozenset()
) -> list[str]:
    """``words`` less those in ``dropped`` (except at ``kept_positions``), unless that leaves
    nothing."""
    kept = [w for i, w in enumerate(words) if w not in dropped or i in kept_positions]
    return kept or words


def _legal_form_table() -> tuple[frozenset[tuple[str, ...]], frozenset[str], int]:
    sequences: set[tuple[str, ...]] = set()
    for raw in raw_legal_forms():
        form = tuple(_without(tokens(raw), CONNECTORS))
        if form and not all(word in CONNECTORS for word in form):
            sequences.add(form)
    joined = frozenset("".join(form) for form in sequences)
    sequences.update((word,) for word in joined)
    return frozenset(sequences), joined, max(len(form) for form in sequences)


_LEGAL_FORMS, _LEGAL_FORMS_JOINED, _LONGEST_FORM = _legal_form_table()


def _legal_suffix_length(words: list[str]) -> int:
    """How many trailing words are a legal form (0 if none; never all of ``words``)."""
    for size in range(min(_LONGEST_FORM, len(words) - 1), 0, -1):
        tail = words[-size:]
        if tuple(tail) in _LEGAL_FORMS:
            return size
        # dotted abbreviations split into letters: "S.à r.l." -> s a r l, "B.V." -> b v
        if size > 1 and all(len(w) <= 2 for w in tail) and "".join(tail) in _LEGAL_FORMS_JOINED:
            return size
    return 0


def strip_legal_forms(words: list[str]) -> list[str]:
    """Trailing legal forms removed, repeatedly ("GmbH & Co. KG"), keeping one word at least."""
    words = list(words)
    while (size := _legal_suffix_length(words)) > 0:
        del words[-size:]
    return words


def normal_tokens(text: str, kind: HolderKind) -> list[str]:
    """The name's tokens after every normalisation rule for ``kind``."""
    words = tokens(text)
    if kind is HolderKind.NATURAL:
        initials = _initial_positions(text) if len(words) > 1 else frozenset()
        return _without(words, _PERSON_WORDS, initials)
    return strip_legal_forms(_without(words, _BUSINESS_WORDS))


def normalise_name(text: str, kind: HolderKind = HolderKind.NATURAL) -> str:
    """The normalised name as one string (tokens joined by single spaces; a one-letter
    connector kept as an initial carries its full stop, so the result normalises to itself)."""
    words = normal_tokens(text, kind)
    if kind is HolderKind.LEGAL:
        return " ".join(words)
    return " ".join(f"{w}." if len(w) == 1 and w in CONNECTORS else w for w in words)


def comparison_key(token: str) -> str:
    """A token with the German/Nordic vowel spellings folded: mueller, muller -> muller."""
    return _FOLD_A.sub("a", _FOLD_E.sub(r"\1", token))


def split_persons(text: str) -> list[list[str]] | None:
    """A natural person's name field split into its holders, or None if it names one person.

    "John and Jane Smith" -> [john smith], [jane smith]: a holder given by a first name only
    takes the last holder's surname(s). The split is kept only if every holder then has two
    names at least, so "José Ortega y Gasset" stays one person.
    """
    parts: list[list[str]] = [[]]
    for word in tokens(text):
        if word in CONNECTORS:
            if parts[-1]:
                parts.append([])
        else:
            parts[-1].append(word)
    honorifics = TITLES | SUFFIXES
    parts = [kept for kept in ([w for w in p if w not in honorifics] for p in parts) if kept]
    if len(parts) < 2 or len(parts[-1]) < 2:
        return None
    surname = parts[-1][1:]
    persons = [part + surname if len(part) == 1 else part for part in parts]
    return persons if all(len(person) >= 2 for person in persons) else None
