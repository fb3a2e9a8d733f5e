"""What the demo's customers and counterparties are made of: countries with their currency
and weight, currency scales, first and last names per country, employers, merchants,
utilities and landlords per currency."""

from __future__ import annotations

from decimal import Decimal

# (country, currency, weight); amounts of the non-EUR currencies are scaled by SCALE.
COUNTRIES: tuple[tuple[str, str, int], ...] = (
    ("DE", "EUR", 20),
    ("FR", "EUR", 14),
    ("NL", "EUR", 10),
    ("ES", "EUR", 10),
    ("IT", "EUR", 10),
    ("AT", "EUR", 6),
    ("BE", "EUR", 6),
    ("IE", "EUR", 4),
    ("FI", "EUR", 4),
    ("PT", "EUR", 4),
    ("PL", "PLN", 6),
    ("SE", "SEK", 6),
)
SCALE = {"EUR": Decimal(1), "PLN": Decimal("4.3"), "SEK": Decimal("11.5")}
LEGAL_FORMS = {
    "DE": "GmbH",
    "FR": "SARL",
    "NL": "B.V.",
    "ES": "S.L.",
    "IT": "S.r.l.",
    "AT": "GmbH",
    "BE": "BV",
    "IE": "Ltd",
    "FI": "Oy",
    "PT": "Lda",
    "PL": "sp. z o.o.",
    "SE": "AB",
}
"""The legal form of the demo's companies, by country (Verification of Payee strips them)."""
TRADES = ("Consulting", "Bau", "Design", "Handel", "Logistik", "Software")
"""What the demo's companies and sole traders do (their trading names)."""
HOME = {"EUR": ("DE", "FR", "NL", "ES", "IT", "AT", "BE"), "PLN": ("PL",), "SEK": ("SE",)}

FIRST_NAMES = {
    "DE": ["Max", "Anna", "Lukas", "Sophie", "Jonas", "Lena", "Felix", "Marie"],
    "FR": ["Marie", "Louis", "Camille", "Hugo", "Chloé", "Lucas", "Léa", "Gabriel"],
    "NL": ["Daan", "Emma", "Sem", "Julia", "Lars", "Sanne", "Bram", "Fleur"],
    "ES": ["Lucía", "Hugo", "Martina", "Pablo", "Carmen", "Javier", "Elena", "Diego"],
    "IT": ["Giulia", "Lorenzo", "Sofia", "Matteo", "Aurora", "Leonardo", "Chiara", "Marco"],
    "AT": ["Paul", "Laura", "Elias", "Hannah", "Tobias", "Valentina", "David", "Lea"],
    "BE": ["Noah", "Olivia", "Arthur", "Louise", "Jules", "Mila", "Victor", "Elise"],
    "IE": ["Jack", "Grace", "Conor", "Aoife", "Seán", "Niamh", "Cian", "Saoirse"],
    "FI": ["Eino", "Aino", "Väinö", "Helmi", "Onni", "Ella", "Leo", "Sofia"],
    "PT": ["João", "Maria", "Tiago", "Beatriz", "Rodrigo", "Inês", "Duarte", "Leonor"],
    "PL": ["Jan", "Zofia", "Jakub", "Julia", "Antoni", "Maja", "Szymon", "Hanna"],
    "SE": ["Erik", "Astrid", "Oskar", "Elsa", "Hugo", "Ebba", "Nils", "Saga"],
}
LAST_NAMES = {
    "DE": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Mustermann", "Becker"],
    "FR": ["Martin", "Bernard", "Dupont", "Moreau", "Laurent", "Lefebvre", "Girard"],
    "NL": ["de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit"],
    "ES": ["García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez"],
    "IT": ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo"],
    "AT": ["Gruber", "Huber", "Bauer", "Wagner", "Pichler", "Steiner", "Moser"],
    "BE": ["Peeters", "Janssens", "Maes", "Dubois", "Lambert", "Claes", "Wouters"],
    "IE": ["Murphy", "Kelly", "O'Sullivan", "Walsh", "Byrne", "Ryan", "O'Brien"],
    "FI": ["Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Hämäläinen", "Laine"],
    "PT": ["Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues"],
    "PL": ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński"],
    "SE": ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson"],
}
EMPLOYERS = {
    "EUR": ["Siemens AG", "TotalEnergies SE", "Philips NV", "Iberdrola SA", "Enel SpA"],
    "PLN": ["PKN Orlen SA", "PZU SA"],
    "SEK": ["Volvo Car AB", "Ericsson AB"],
}
MERCHANTS = {
    "EUR": [
        "REWE Markt GmbH",
        "Carrefour SA",
        "Albert Heijn BV",
        "Mercadona SA",
        "Esselunga SpA",
        "Zalando SE",
        "IKEA Deutschland",
        "Deutsche Bahn AG",
        "SNCF Voyageurs",
        "Shell Station",
    ],
    "PLN": ["Biedronka", "Żabka Polska", "Allegro.pl"],
    "SEK": ["ICA Sverige AB", "Systembolaget", "SJ AB"],
}
UTILITIES = {
    "EUR": ["Stadtwerke München", "EDF", "Vattenfall Europe", "Vodafone GmbH", "Orange SA"],
    "PLN": ["PGE Obrót", "Orange Polska"],
    "SEK": ["Fortum Sverige", "Telia Sverige"],
}
LANDLORDS = {
    "EUR": ["Vonovia SE", "Gecina SA", "Hausverwaltung Berger", "Immobiliare Sole"],
    "PLN": ["Dom Development"],
    "SEK": ["Stockholmshem AB"],
}
