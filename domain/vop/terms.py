"""The word lists the name normalisation removes: titles, connectors, legal forms.

Legal forms come from the ``cleanco`` library (MIT; its ``termdata`` lists the legal forms of
some 80 countries, the list vendors of business-name cleaning share) plus the European forms
it lacks, maintained here (``EXTRA_LEGAL_FORMS``: S.à r.l., SE, OHG, UG, Oy, A/S, sp. z o.o.
variants, the spelled-out German, French, Spanish, Italian, Dutch, Polish, Portuguese and Nordic
forms). The lists are raw spellings; :mod:`domain.vop.names` normalises them with the same
rules as the names they are compared with, so ``S.à r.l.``, ``S.A.R.L.`` and ``SARL`` are one
form.

Titles and generational suffixes are removed from natural persons' names only; legal forms
from legal persons' names only; connectors ("and", "&", "und", "et", "y", ...) from both, and
they separate the holders of a joint account.
"""

from __future__ import annotations

from cleanco import termdata

# Forms of address and academic titles, as written in the EU languages the scheme meets most.
# "M." (Monsieur) is not here: a lone "M" is as often an initial, and the matching rules treat
# an extra token or an initial as such. "Don" and "Dona" are given names too, so not here.
TITLES = frozenset(
    {
        # English
        "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "rev",
        # German, Austrian
        "herr", "frau", "fraulein", "dipl", "ing", "mag", "dkfm", "hr", "fr",
        # French
        "mme", "mlle", "monsieur", "madame", "mademoiselle", "mm", "mmes",
        # Spanish, Portuguese
        "sr", "sra", "srta", "sres", "senor", "senora", "senorita", "exmo", "exma", "eng",
        # Italian
        "sig", "sigra", "signor", "signore", "signora", "signorina", "dott", "dottssa",
        "dottoressa", "avv", "geom", "rag",
        # Dutch
        "dhr", "mevr", "mw", "drs", "ir",
        # Polish
        "pan", "pani", "panstwo",
        # Nordic
        "fru",
    }
)  # fmt: skip

# Generational and similar suffixes of a person's name ("Jr.", "Sen.", "II").
SUFFIXES = frozenset({"jr", "jnr", "junior", "sr", "snr", "senior", "sen", "ii", "iii", "iv"})

# Words joining the holders of a joint account, or parts of a business name ("Marks and
# Spencer", "Dupont et Fils"). "&" and "+" are turned into "and" before tokenising.
CONNECTORS = frozenset(
    {
        "and",  # English
        "und",  # German
        "et",  # French
        "y",  # Spanish
        "e",  # Italian, Portuguese
        "en",  # Dutch
        "i",  # Polish, Catalan
        "og",  # Danish, Norwegian
        "och",  # Swedish
        "ja",  # Finnish
    }
)

# Words without meaning in a business name's comparison.
LEGAL_FILLERS = frozenset({"the"})

# European legal forms that cleanco's term data lacks (raw spellings; normalised on use).
EXTRA_LEGAL_FORMS = (
    # German, Austrian, Swiss
    "ohg", "ug", "ug (haftungsbeschränkt)", "e.k.", "e.kfm.", "e.v.", "gbr", "mbh", "kgaa",
    "gmbh & co. kg", "gmbh & co. kgaa", "ag & co. kg", "se & co. kg", "eg", "partg", "partgmbb",
    "gesmbh", "ges.m.b.h.", "aktiengesellschaft", "kommanditgesellschaft",
    "gesellschaft mit beschränkter haftung", "offene handelsgesellschaft", "genossenschaft",
    # European company forms
    "se", "sce", "eeig", "ewiv",
    # French, Belgian, Luxembourgish
    "s.à r.l.", "sàrl", "sarl", "s.a.s.", "sas", "sasu", "eurl", "sci", "snc", "sca", "scop",
    "société anonyme", "société à responsabilité limitée", "société par actions simplifiée",
    "srl", "sc", "scrl", "sprlu", "bv", "asbl",
    # Spanish
    "s.l.", "s.l.u.", "slu", "s.a.u.", "sau", "s.coop.", "s.c.", "sociedad anónima",
    "sociedad limitada", "sociedad de responsabilidad limitada", "s.r.l.",
    # Italian
    "s.p.a.", "spa", "s.r.l.s.", "srls", "s.a.s.", "s.n.c.", "s.c.a.r.l.", "scarl", "soc. coop.",
    "società per azioni", "società a responsabilità limitata",
    # Dutch, Belgian
    "b.v.", "n.v.", "v.o.f.", "c.v.", "cv", "besloten vennootschap", "naamloze vennootschap",
    "coöperatie u.a.", "u.a.", "bvba", "comm.v.",
    # Polish
    "sp. z o.o.", "sp. z o. o.", "spółka z o.o.", "spółka z ograniczoną odpowiedzialnością",
    "s.a.", "spółka akcyjna", "sp.j.", "sp.k.", "s.k.a.", "sp. p.", "spółka jawna",
    "spółka komandytowa",
    # Portuguese
    "lda", "lda.", "limitada", "unipessoal lda", "unipessoal, lda.", "s.g.p.s.", "sgps",
    # Nordic
    "oy", "oyj", "ab", "ab (publ)", "publ", "aktiebolag", "a/s", "as", "asa", "aps", "i/s",
    "k/s", "p/s", "ivs", "amba", "a.m.b.a.", "osakeyhtiö", "aktieselskab", "anpartsselskab",
    "ehf", "hf", "ky", "tmi", "hb", "kb",
    # English-speaking
    "ltd", "ltd.", "limited", "plc", "llp", "lp", "llc", "inc", "inc.", "corp", "co", "company",
    "dac", "clg", "uc", "cic",
    # Central and Eastern Europe
    "d.o.o.", "s.r.o.", "a.s.", "kft", "kft.", "zrt", "zrt.", "nyrt", "nyrt.", "bt", "oü",
    "uab", "sia", "ad", "ead", "ood", "eood", "d.d.",
)  # fmt: skip


def raw_legal_forms() -> tuple[str, ...]:
    """Every legal form spelling: cleanco's term data, then ours."""
    found: list[str] = []
    for table in (termdata.terms_by_type, termdata.terms_by_country):
        for terms in table.values():
            found.extend(str(term) for term in terms)
    found.extend(EXTRA_LEGAL_FORMS)
    return tuple(dict.fromkeys(found))
