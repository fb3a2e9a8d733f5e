# ruff: noqa: E501, RUF001 -- a table of labelled pairs: one pair a line, names in their own scripts
"""Labelled name pairs for Verification of Payee matching: the payer's name, the account's
names, and the outcome a person reading both would expect under the scheme's guidance.

``PAIRS`` are pinned by tests/unit/test_vop_matching.py (each must give its outcome).
``KNOWN_MISSES`` are labelled the same way but answered differently today (nicknames,
name variants that only a reference list could know, collisions of the spelling folds); the
test pins today's answer so a change is noticed, and benchmarks/vop_matching.py counts them
against the accuracy, so it is not 100 % by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.vop import AccountHolder, HolderKind, IdentifierScheme, OrganisationId, Outcome

N = HolderKind.NATURAL
L = HolderKind.LEGAL
MTCH, CMTC, NMTC, NOAP = (
    Outcome.MATCH,
    Outcome.CLOSE_MATCH,
    Outcome.NO_MATCH,
    Outcome.NOT_APPLICABLE,
)


def lei(value: str) -> OrganisationId:
    return OrganisationId(IdentifierScheme.LEI, value)


def vat(value: str) -> OrganisationId:
    return OrganisationId(IdentifierScheme.VAT, value)


def reg(value: str) -> OrganisationId:
    return OrganisationId(IdentifierScheme.NATIONAL, value)


@dataclass(frozen=True)
class LabelledPair:
    label: str  # "<group>: <what it shows>"
    requested: str | None
    name: str
    expected: Outcome
    kind: HolderKind = N
    further: tuple[str, ...] = ()
    identifiers: tuple[OrganisationId, ...] = ()
    requested_id: OrganisationId | None = None
    today: Outcome | None = None  # KNOWN_MISSES only: what the matcher answers today

    @property
    def group(self) -> str:
        return self.label.split(":", 1)[0]

    def holder(self) -> AccountHolder:
        return AccountHolder(self.kind, self.name, self.further, self.identifiers)


P = LabelledPair

PAIRS: tuple[LabelledPair, ...] = (
    # ---------------------------------------------------------------- normalisation rules
    P("case: upper case", "HANS SCHMIDT", "Hans Schmidt", MTCH),
    P("case: lower case", "marie dubois", "Marie Dubois", MTCH),
    P("case: mixed", "jOHN sMITH", "John Smith", MTCH),
    P("diacritics: German umlaut dropped", "Jurgen Muller", "Jürgen Müller", MTCH),
    P("diacritics: German umlaut as ue", "Juergen Mueller", "Jürgen Müller", MTCH),
    P("diacritics: ue vs u", "Hans Mueller", "Hans Muller", MTCH),
    P("diacritics: oe for ö", "Gerhard Schroeder", "Gerhard Schröder", MTCH),
    P("diacritics: ae for ä", "Baerbel Jaeger", "Bärbel Jäger", MTCH),
    P("diacritics: ß as ss", "Klaus Strauss", "Klaus Strauß", MTCH),
    P("diacritics: French accents", "Helene Lefevre", "Hélène Lefèvre", MTCH),
    P("diacritics: cedilla", "Francois Garcon", "François Garçon", MTCH),
    P("diacritics: Spanish ñ", "Jose Munoz", "José Muñoz", MTCH),
    P("diacritics: Spanish accents", "Maria Jose Gonzalez", "María José González", MTCH),
    P("diacritics: Portuguese tilde", "Joao Simoes", "João Simões", MTCH),
    P("diacritics: Portuguese ç", "Goncalo Araujo", "Gonçalo Araújo", MTCH),
    P("diacritics: Italian grave", "Nicolo Pellicano", "Nicolò Pellicanò", MTCH),
    P("diacritics: Polish ł", "Lukasz Wojcik", "Łukasz Wójcik", MTCH),
    P("diacritics: Polish ż ś ć", "Zofia Zolnierczyk-Sniadecka", "Zofia Żołnierczyk-Śniadecka", MTCH),
    P("diacritics: Danish ø as oe", "Soeren Joergensen", "Søren Jørgensen", MTCH),
    P("diacritics: Danish ø as o", "Soren Jorgensen", "Søren Jørgensen", MTCH),
    P("diacritics: Norwegian å as aa", "Haakon Aasen", "Håkon Åsen", MTCH),
    P("diacritics: Swedish å ä ö", "Asa Angstrom", "Åsa Ångström", MTCH),
    P("diacritics: Danish æ", "Aeblo Haekkerup", "Æblø Hækkerup", MTCH),
    P("diacritics: Icelandic ð þ", "Thordis Gudmundsdottir", "Þórdís Guðmundsdóttir", MTCH),
    P("diacritics: Czech háček", "Jiri Dvorak", "Jiří Dvořák", MTCH),
    P("diacritics: Romanian ș ț", "Stefan Tiriac", "Ștefan Țiriac", MTCH),

    P("transliteration: Cyrillic", "Ivan Petrov", "Иван Петров", MTCH),
    P("transliteration: Bulgarian", "Georgi Ivanov", "Георги Иванов", MTCH),
    P("punctuation: hyphenated first name", "Jean Pierre Martin", "Jean-Pierre Martin", MTCH),
    P("punctuation: apostrophe", "Sean OBrien", "Seán O'Brien", MTCH),
    P("punctuation: apostrophe spaced", "Sean O Brien", "Seán O'Brien", MTCH),
    P("punctuation: Italian apostrophe", "Marco D Angelo", "Marco D'Angelo", MTCH),
    P("punctuation: comma surname first", "Schmidt, Hans", "Hans Schmidt", MTCH),
    P("punctuation: dots and extra spaces", "  Anna   Maria.  Rossi ", "Anna Maria Rossi", MTCH),
    P("punctuation: typographic apostrophe", "Conor O’Neill", "Conor O'Neill", MTCH),
    P("spacing: particles joined", "Jan Vandenberg", "Jan van den Berg", MTCH),
    P("spacing: Spanish particles", "Juan Delacruz", "Juan de la Cruz", MTCH),
    P("spacing: Dutch tussenvoegsel", "Pieter de Vries", "Pieter De Vries", MTCH),
    P("spacing: compound given name", "Marieclaire Dupont", "Marie-Claire Dupont", MTCH),
    P("titles: English Mr", "Mr John Smith", "John Smith", MTCH),
    P("titles: English Mrs on account", "Emily Clarke", "Mrs Emily Clarke", MTCH),
    P("titles: Dr and Prof", "Prof. Dr. Karl Weber", "Karl Weber", MTCH),
    P("titles: German Herr", "Herr Thomas Becker", "Thomas Becker", MTCH),
    P("titles: German Frau", "Frau Sabine Koch", "Sabine Koch", MTCH),
    P("titles: German Dipl.-Ing.", "Dipl.-Ing. Uwe Hoffmann", "Uwe Hoffmann", MTCH),
    P("titles: French Mme", "Mme Claire Moreau", "Claire Moreau", MTCH),
    P("titles: French Monsieur", "Monsieur Paul Girard", "Paul Girard", MTCH),
    P("titles: French M. with given name", "M. Paul Girard", "Paul Girard", MTCH),
    P("titles: Spanish Sr.", "Sr. Antonio Ruiz", "Antonio Ruiz", MTCH),
    P("titles: Spanish Sra.", "Sra. Carmen Ortiz", "Carmen Ortiz", MTCH),
    P("titles: Italian Dott.", "Dott. Luca Bianchi", "Luca Bianchi", MTCH),
    P("titles: Italian Sig.ra", "Sig.ra Giulia Romano", "Giulia Romano", MTCH),
    P("titles: Dutch Dhr.", "Dhr. Jeroen Bakker", "Jeroen Bakker", MTCH),
    P("titles: Dutch Mevr.", "Mevr. Sanne Visser", "Sanne Visser", MTCH),
    P("titles: Polish Pani", "Pani Agnieszka Nowak", "Agnieszka Nowak", MTCH),
    P("titles: Portuguese Sra.", "Sra. Ana Costa", "Ana Costa", MTCH),
    P("titles: generational suffix", "Robert Miller Jr.", "Robert Miller", MTCH),
    P("titles: roman numeral", "Henry Ford III", "Henry Ford", MTCH),
    P("token order: surname first", "Smith John", "John Smith", MTCH),
    P("token order: Hungarian order", "Nagy Istvan", "István Nagy", MTCH),
    P("token order: three names reversed", "Garcia Lopez Maria", "María García López", MTCH),
    P("token order: comma and reorder", "Kowalski, Jan", "Jan Kowalski", MTCH),
    # ---------------------------------------------------------------- natural persons: rules
    P("initials: first name", "J. Smith", "John Smith", CMTC),
    P("initials: no dot", "J Smith", "John Smith", CMTC),
    P("initials: on the account", "John Smith", "J. Smith", CMTC),
    P("initials: German", "H. Schmidt", "Hans Schmidt", CMTC),
    P("initials: French", "J.-P. Martin", "Jean-Pierre Martin", CMTC),
    P("initials: Polish", "K. Wiśniewska", "Katarzyna Wiśniewska", CMTC),
    P("initials: middle initial", "John F. Kennedy", "John Fitzgerald Kennedy", CMTC),
    P("initials: French M. alone", "M. Dupont", "Michel Dupont", CMTC),
    P("initials: a connector letter (Portuguese e)", "E. Santos", "Eduardo Santos", CMTC),
    P("initials: a connector letter (Spanish y)", "Y. Torres", "Yolanda Torres", CMTC),
    P("initials: a connector letter (Polish i)", "I. Nowak", "Irena Nowak", CMTC),
    P("initials: only initials", "J. S.", "John Smith", NMTC),
    P("initials: wrong initial", "P. Smith", "John Smith", NMTC),
    P("initials: initial and wrong surname", "J. Smyth-Jones", "John Smith", NMTC),
    P("middle names: missing middle", "John Smith", "John Michael Smith", MTCH),
    P("middle names: missing two", "Anna Schulz", "Anna Maria Luise Schulz", MTCH),
    P("middle names: extra in request", "John Michael Smith", "John Smith", MTCH),
    P("middle names: Spanish second surname", "Juan Garcia", "Juan García Pérez", MTCH),
    P("middle names: Portuguese several surnames", "Ana Costa", "Ana Maria Silva Costa", MTCH),
    P("middle names: Dutch second given", "Pieter Jansen", "Pieter Johannes Jansen", MTCH),
    P("middle names: surname only", "Smith", "John Smith", NMTC),
    P("middle names: more asked than held", "Anna Weber Escrow Services Ltd", "Anna Weber", CMTC),
    P("middle names: two more asked than held", "Anna Maria Luise Weber", "Anna Weber", CMTC),
    P("middle names: a legal form asked of a person", "Anna Weber GmbH", "Anna Weber", CMTC),
    P("middle names: given name only", "Marie", "Marie Dubois", NMTC),
    P("typo: one letter in given name", "Jon Smith", "John Smith", CMTC),
    P("typo: one letter in surname", "John Smyth", "John Smith", CMTC),
    P("typo: transposition", "Hnas Schmidt", "Hans Schmidt", CMTC),
    P("typo: Polish ending", "Anna Kowalski", "Anna Kowalska", CMTC),
    P("typo: double letter", "Pieter Janssen", "Pieter Jansen", CMTC),
    P("typo: long name one letter", "Alexander Schwarzenegger", "Alexander Schwarzeneger", CMTC),
    P("typo: Italian vowel", "Giuseppe Esposita", "Giuseppe Esposito", CMTC),
    P("typo: French missing letter", "Stephane Lefebre", "Stéphane Lefebvre", CMTC),
    P("no match: other surname", "Maria Schmidt", "Maria Schneider", NMTC),
    P("no match: other person", "Peter Müller", "Klaus Fischer", NMTC),
    P("no match: Italian surnames", "Laura Rossi", "Laura Russo", NMTC),
    P("no match: French", "Camille Bernard", "Camille Laurent", NMTC),

    P("no match: Dutch", "Daan de Jong", "Daan de Boer", NMTC),
    P("no match: Polish", "Piotr Zielinski", "Piotr Szymanski", NMTC),
    P("no match: Nordic", "Lars Nilsson", "Lars Johansson", NMTC),

    P("no match: company for a person", "Bäckerei Müller GmbH", "Hans Müller", NMTC),
    # ---------------------------------------------------------------- joint accounts
    P("joint: one holder of two", "Jane Smith", "John Smith", MTCH, further=("Jane Smith",)),
    P("joint: the other holder", "John Smith", "John Smith", MTCH, further=("Jane Smith",)),
    P("joint: both with &", "John & Jane Smith", "John Smith", MTCH, further=("Jane Smith",)),
    P("joint: both reversed", "Jane and John Smith", "John Smith", MTCH, further=("Jane Smith",)),
    P("joint: one field, one holder", "Jane Smith", "John and Jane Smith", MTCH),
    P("joint: one field, both", "Jane & John Smith", "John and Jane Smith", MTCH),
    P("joint: German und", "Petra Wagner", "Klaus und Petra Wagner", MTCH),
    P("joint: French et", "Marie Dubois", "Paul et Marie Dubois", MTCH),
    P("joint: Spanish y", "Lucia Ortega", "Pablo y Lucia Ortega", MTCH),
    P("joint: Dutch en", "Sanne de Vries", "Bram en Sanne de Vries", MTCH),
    P("joint: Swedish och", "Karin Berg", "Erik och Karin Berg", MTCH),
    P("joint: Italian e", "Giulia Conti", "Marco e Giulia Conti", MTCH),
    P("joint: different surnames", "Lena Vogel", "Max Bauer", MTCH, further=("Lena Vogel",)),
    P("joint: both, different surnames", "Max Bauer & Lena Vogel", "Max Bauer", MTCH, further=("Lena Vogel",)),
    P("joint: one holder with typo", "Lena Vogl", "Max Bauer", CMTC, further=("Lena Vogel",)),
    P("joint: both, one initial", "Max Bauer & L. Vogel", "Max Bauer", CMTC, further=("Lena Vogel",)),
    P("joint: stranger", "Eva Richter", "Max Bauer", NMTC, further=("Lena Vogel",)),
    P("joint: y inside one name", "Jose Ortega Gasset", "José Ortega y Gasset", MTCH),
    P("joint: titles of both", "Mr and Mrs Smith", "John Smith", NMTC, further=("Jane Smith",)),
    # ---------------------------------------------------------------- trading names (natural)
    P("trading: sole trader's trading name", "Blumen Anna", "Anna Schulz", MTCH, further=("Blumen Anna",)),
    P("trading: legal name of a sole trader", "Anna Schulz", "Anna Schulz", MTCH, further=("Blumen Anna",)),
    # ---------------------------------------------------------------- legal persons: legal forms
    P("legal form: GmbH", "Müller Bau", "Müller Bau GmbH", MTCH, L),
    P("legal form: GmbH spelled out", "Müller Bau Gesellschaft mit beschränkter Haftung", "Müller Bau GmbH", MTCH, L),
    P("legal form: AG", "Siemens", "Siemens AG", MTCH, L),
    P("legal form: Aktiengesellschaft", "Siemens Aktiengesellschaft", "Siemens AG", MTCH, L),
    P("legal form: GmbH & Co. KG", "Schmidt Logistik GmbH & Co. KG", "Schmidt Logistik", MTCH, L),
    P("legal form: KG vs GmbH", "Schmidt Logistik KG", "Schmidt Logistik GmbH", MTCH, L),
    P("legal form: OHG", "Weber & Sohn OHG", "Weber und Sohn", MTCH, L),
    P("legal form: UG haftungsbeschränkt", "Startup Nord UG (haftungsbeschränkt)", "Startup Nord", MTCH, L),
    P("legal form: e.K.", "Blumenhaus Lange e.K.", "Blumenhaus Lange", MTCH, L),
    P("legal form: SE", "Allianz SE", "Allianz", MTCH, L),
    P("legal form: S.A.", "Banco Santander S.A.", "Banco Santander SA", MTCH, L),
    P("legal form: Sociedad Anónima", "Telefonica Sociedad Anonima", "Telefónica S.A.", MTCH, L),
    P("legal form: S.L.", "Construcciones Ruiz S.L.", "Construcciones Ruiz", MTCH, L),
    P("legal form: S.à r.l.", "Acme Luxembourg S.à r.l.", "ACME Luxembourg SARL", MTCH, L),
    P("legal form: SARL", "Boulangerie Petit S.A.R.L.", "Boulangerie Petit", MTCH, L),
    P("legal form: SAS", "Dupont et Fils SAS", "Dupont & Fils", MTCH, L),
    P("legal form: S.p.A.", "Ferrari S.p.A.", "Ferrari SpA", MTCH, L),
    P("legal form: S.r.l.", "Pasta Fresca S.r.l.", "Pasta Fresca SRL", MTCH, L),
    P("legal form: B.V.", "Bakker Transport B.V.", "Bakker Transport BV", MTCH, L),
    P("legal missing word: Dutch", "Philips N.V.", "Koninklijke Philips", CMTC, L),
    P("legal form: Naamloze Vennootschap", "Heineken Naamloze Vennootschap", "Heineken N.V.", MTCH, L),
    P("legal form: sp. z o.o.", "Kowalski Sp. z o.o.", "Kowalski spółka z o.o.", MTCH, L),
    P("legal form: sp. z o.o. bare", "Kowalski", "Kowalski Sp. z o.o.", MTCH, L),
    P("legal form: Polish S.A.", "Orlen Spółka Akcyjna", "Orlen S.A.", MTCH, L),
    P("legal form: Lda", "Vinhos do Porto Lda", "Vinhos do Porto, Lda.", MTCH, L),
    P("legal form: Oy", "Nokia Oyj", "Nokia", MTCH, L),
    P("legal form: AB", "Volvo AB", "Volvo", MTCH, L),
    P("legal form: AB (publ)", "Ericsson AB (publ)", "Ericsson", MTCH, L),
    P("legal form: A/S", "Maersk A/S", "Maersk", MTCH, L),
    P("legal form: ApS", "Hygge Design ApS", "Hygge Design", MTCH, L),
    P("legal form: ASA", "Equinor ASA", "Equinor", MTCH, L),
    P("legal form: Ltd", "Acme Widgets Ltd", "Acme Widgets Limited", MTCH, L),
    P("legal form: PLC", "Tesco PLC", "Tesco", MTCH, L),
    P("legal form: the", "The Irish Bakery Ltd", "Irish Bakery", MTCH, L),
    P("legal form: & and", "Marks and Spencer", "Marks & Spencer plc", MTCH, L),
    # ---------------------------------------------------------------- legal persons: rules
    P("legal order: tokens reordered", "Bau Müller GmbH", "Müller Bau GmbH", MTCH, L),
    P("legal case: upper", "DEUTSCHE TELEKOM AG", "Deutsche Telekom AG", MTCH, L),
    P("legal typo: one letter", "Deutsche Telecom", "Deutsche Telekom AG", CMTC, L),
    P("legal typo: French", "Societe Generalle", "Société Générale S.A.", CMTC, L),
    P("legal missing word", "Deutsche Bahn", "Deutsche Bahn Fernverkehr AG", CMTC, L),
    P("legal missing word: Italian", "Banca Intesa", "Banca Intesa Sanpaolo S.p.A.", CMTC, L),
    P("legal acronym", "IBM", "International Business Machines Corporation", CMTC, L),
    P("legal acronym: German", "BMW", "Bayerische Motoren Werke AG", CMTC, L),
    P("legal acronym: two letters are too cheap a guess", "SB", "Schneider Bau GmbH", NMTC, L),
    P("legal no match: other company", "Volkswagen", "Bayerische Motoren Werke AG", NMTC, L),
    P("legal no match: similar sector", "Schmidt Logistik", "Schneider Spedition GmbH", NMTC, L),
    P("legal no match: Spanish", "Iberdrola", "Endesa S.A.", NMTC, L),
    P("legal no match: Dutch", "Albert Heijn", "Jumbo Supermarkten B.V.", NMTC, L),
    P("legal no match: person for a company", "Hans Müller", "Müller Bau GmbH", NMTC, L),
    P("legal spacing", "Coca Cola", "Coca-Cola Company", MTCH, L),
    P("legal spacing: joined", "Blue Sky Solutions", "BlueSky Solutions Ltd", MTCH, L),
    P("legal transliteration", "Alpha Bank", "Άλφα Τράπεζα", NMTC, L),
    P("legal transliteration: Greek name", "Alfa Trapeza", "Άλφα Τράπεζα", MTCH, L),
    # ---------------------------------------------------------------- trading names (legal)
    P("trading: trading name", "Café Central", "Gastro Wien GmbH", MTCH, L, ("Café Central",)),
    P("trading: legal name with trading name held", "Gastro Wien", "Gastro Wien GmbH", MTCH, L, ("Café Central",)),
    P("trading: trading name typo", "Cafe Centrale", "Gastro Wien GmbH", CMTC, L, ("Café Central",)),
    P("trading: brand for a company", "Zara", "Industria de Diseño Textil S.A.", MTCH, L, ("Zara", "Inditex")),
    P("trading: unknown brand", "Mango", "Industria de Diseño Textil S.A.", NMTC, L, ("Zara", "Inditex")),
    # ---------------------------------------------------------------- identifiers
    P("identifier: LEI match", None, "Deutsche Bank AG", MTCH, L, (), (lei("7LTWFZYICNSX8D621K86"),), lei("7LTWFZYICNSX8D621K86")),
    P("identifier: LEI lower case", None, "Deutsche Bank AG", MTCH, L, (), (lei("7LTWFZYICNSX8D621K86"),), lei("7ltwfzyicnsx8d621k86")),
    P("identifier: LEI mismatch", None, "Deutsche Bank AG", NMTC, L, (), (lei("7LTWFZYICNSX8D621K86"),), lei("529900T8BM49AURSDO55")),
    P("identifier: LEI decides over a wrong name", "Commerzbank", "Deutsche Bank AG", MTCH, L, (), (lei("7LTWFZYICNSX8D621K86"),), lei("7LTWFZYICNSX8D621K86")),
    P("identifier: LEI mismatch beats the right name", "Deutsche Bank", "Deutsche Bank AG", NMTC, L, (), (lei("7LTWFZYICNSX8D621K86"),), lei("529900T8BM49AURSDO55")),
    P("identifier: VAT with prefix", None, "Müller Bau GmbH", MTCH, L, (), (vat("DE123456789"),), vat("DE 123 456 789")),
    P("identifier: VAT without prefix", None, "Müller Bau GmbH", MTCH, L, (), (vat("DE123456789"),), vat("123456789")),
    P("identifier: VAT other", None, "Müller Bau GmbH", NMTC, L, (), (vat("DE123456789"),), vat("DE987654321")),
    P("identifier: national registration", None, "Müller Bau GmbH", MTCH, L, (), (reg("HRB 12345 B"),), reg("HRB12345B")),
    P("identifier: KRS", None, "Kowalski Sp. z o.o.", MTCH, L, (), (reg("KRS 0000123456"),), reg("0000123456")),
    P("identifier: none held, name used", "Müller Bau", "Müller Bau GmbH", MTCH, L, (), (), lei("7LTWFZYICNSX8D621K86")),
    P("identifier: none held, no name", None, "Müller Bau GmbH", NOAP, L, (), (), lei("7LTWFZYICNSX8D621K86")),
    P("identifier: other scheme held, no name", None, "Müller Bau GmbH", NOAP, L, (), (vat("DE123456789"),), lei("7LTWFZYICNSX8D621K86")),
    P("identifier: natural person, name used", "Hans Müller", "Hans Müller", MTCH, N, (), (), lei("7LTWFZYICNSX8D621K86")),
    # ---------------------------------------------------------------- not applicable
    P("noap: no name on the account", "Hans Müller", "", NOAP),
    P("noap: blank name on the account", "Anna Rossi", "   ", NOAP),
    P("noap: no requested name", None, "Hans Müller", NOAP),
    P("noap: empty requested name", "", "Hans Müller", NOAP),
    P("noap: punctuation only", "...", "Hans Müller", NOAP),
    P("noap: legal, no name on the account", "Müller Bau", "", NOAP, L),
)  # fmt: skip

KNOWN_MISSES: tuple[LabelledPair, ...] = (
    P("no match: Portuguese surnames alike", "Tiago Ferreira", "Tiago Pereira Santos", NMTC, today=CMTC),
    P("no match: Spanish surname one letter apart", "Lucia Fernandez", "Lucia Hernandez Ruiz", NMTC, today=CMTC),
    P("transliteration: Greek ου as oy", "Eleni Papadopoulou", "Ελένη Παπαδοπούλου", MTCH, today=CMTC),
    P("nickname: English", "Bob Smith", "Robert Smith", CMTC, today=NMTC),
    P("nickname: German", "Sepp Huber", "Josef Huber", CMTC, today=NMTC),
    P("nickname: Spanish", "Pepe Garcia", "José García", CMTC, today=NMTC),
    P("name variant: Italian/English", "Joseph Rossi", "Giuseppe Rossi", CMTC, today=NMTC),
    P("fold collision: Michael/Michal", "Michael Nowak", "Michał Nowak", CMTC, today=MTCH),
    P("fold collision: Rafael/Rafal", "Rafael Kowalski", "Rafał Kowalski", CMTC, today=MTCH),
    P("phonetic: Meier/Mayer", "Hans Mayer", "Hans Meier", CMTC, today=NMTC),
    P("missing surname: given names only", "Anna Maria", "Anna Maria Rossi", CMTC, today=MTCH),
)  # fmt: skip
