"""A generator of realistic French and Caledonian populations with known duplicates.

Each person gets a ``cluster`` number; a duplicate is another record of the same person,
with what front desks really do to an identity: the maiden name given as family name or
the usage name forgotten, a compound name cut in half, particles glued or apart, accents
dropped, one typo, given and family names swapped, a birth-date error (one digit, day
and month swapped, unknown day), another e-mail or phone. Namesakes (same names, another
birth date) are distinct people and must not be merged. Used by ``dedup.py`` and
``search.py``; reproducible by seed. Every e-mail address is on example.nc.

With ``with_contacts`` (``dedup.py``), each person also gets a postal address (New
Caledonia, or France for some of those born there) and, two times in three, a
social-security number: a NIR (with its key) for those born in France, a 7-digit number
of the Caledonian scheme for the others. A quarter of the persons share the home of
someone drawn before (a household; three times in five under the same family name), and
a child of a household born after 2000 carries, one time in three, the number of the
person whose home it shares (a child on a parent's card). A duplicate keeps the address
(65 %), has it with a typo (10 %) or has moved (25 %); keeps the number (55 %), drops it
(35 %) or has one digit wrong (10 %). These draws come from a second random stream, so
that without contacts a seed gives the population it always gave (``search.py``'s).

    PYTHONPATH=. .venv/bin/python scripts/bench/population.py --persons 1000 > people.jsonl
"""

import argparse
import json
import random
import sys
import unicodedata
from datetime import date, timedelta

from gru.identity.communes import nc_communes

FAMILY_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
    "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Faure", "Rousseau",
    "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas", "Perrin", "Morin", "Mathieu", "Clément",
    "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin", "Masson", "Sanchez", "Gérard", "Nguyen",
    "Boyer", "Denis", "Lemaire", "Duval", "Joly", "Gautier", "Roger", "Roche", "Roy", "Noël", "Meyer", "Lucas",
    "Tein", "Wamytan", "Gorodey", "Tuihalamaka", "Vaimua", "Wahetra", "Kaloi", "Hnawia", "Poigoune",
    "Wabealo", "Tjibaou", "Ukeiwé", "Lalié", "Naisseline", "Wéa", "Kaouha", "Néaoutyine", "Goa", "Tidjine",
    "Pidjot", "Wetta", "Hmeun", "Kasarhérou", "Bouanou", "Tchoeaoua", "Poithily", "Trolue", "Wamo",
    "Takahashi", "Sato", "Falelavaki", "Mulikihaamea", "Taofifénua", "Tran", "Pham", "Lê", "Vo",
    "de la Croix", "Le Goff", "Le Gall", "de Saint-Quentin", "d'Arcy", "Van der Berg", "Du Bois",
)
GIVEN_NAMES = {
    "M": ("Jean", "Pierre", "Michel", "André", "Philippe", "Louis", "Alain", "Jacques", "Bernard", "Marc",
          "Éric", "Nicolas", "François", "Hugo", "Lucas", "Théo", "Raphaël", "Jules", "Noa", "Kylian",
          "Soane", "Petelo", "Wapae", "Sioni", "Kalolo", "Wassissi", "Yann", "Paul", "Éloi", "Régis",
          "Jean-Pierre", "Jean-Marc", "Jean-Claude"),
    "F": ("Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Françoise", "Martine", "Christine",
          "Sophie", "Léa", "Chloé", "Emma", "Inès", "Manon", "Jade", "Louise", "Zoé", "Hélène", "Élise",
          "Maëva", "Malia", "Sina", "Tiare", "Mélia", "Kaliane", "Wénéwé", "Aiko", "Naoko",
          "Marie-Claire", "Anne-Sophie", "Marie-Hélène"),
}
# A long tail of made-up names, French-, Kanak- and Polynesian-sounding, so that a large
# base has about as many namesakes as a real one (a few very common names, many rare).
_FR_HEADS = ("Ber", "Cha", "Dé", "Fau", "Gui", "Lam", "Mar", "Per", "Rou", "Tho", "Vau", "Bou", "Cou", "Fer",
             "Gar", "Lec", "Mon", "Pel", "Ril", "Sau", "Ché", "Bri", "Dra", "Flo", "Gre", "Jou", "Lau", "Mé")
_FR_MIDDLES = ("", "", "an", "el", "ou", "ar", "il", "é", "in", "or")
_FR_TAILS = ("nard", "vet", "lin", "chet", "ret", "ssier", "mont", "geot", "rand", "quet", "zel", "bert", "dieu",
             "lat", "nier", "vier", "chon", "tel", "roux", "ville", "court", "rieux", "gnac", "mas")
_OC_HEADS = ("Wa", "Ka", "Hna", "Tji", "Poi", "Né", "Go", "Wé", "Tchi", "Ué", "Tui", "Fale", "Mulik", "Tao",
             "Vai", "Sio", "Kalé", "Tali", "Fono", "Lolo", "Pwa", "Xo", "Drö", "Haw")
_OC_TAILS = ("mytan", "louma", "wia", "baou", "gouné", "aoutyine", "rodey", "ahoua", "tein", "kaï", "halamaka",
             "lavaki", "ihaamea", "fifénua", "mua", "kalo", "uvea", "tonga", "nyi", "wéné")
LONG_TAIL = tuple(dict.fromkeys(
    [head + middle + tail for head in _FR_HEADS for middle in _FR_MIDDLES for tail in _FR_TAILS]
    + [head + tail for head in _OC_HEADS for tail in _OC_TAILS]))
NC_COMMUNES = tuple(f"988{number:02d}" for number in range(1, 34))
STREETS = ("rue", "avenue", "allée", "boulevard", "route", "impasse", "chemin", "promenade")
STREET_NAMES = ("Jules Ferry", "de la République", "Paul Doumer", "du Général de Gaulle", "Anatole France",
                "des Cocotiers", "des Flamboyants", "Jean Jaurès", "du Port", "de Sébastopol", "Georges Clemenceau",
                "des Tamanous", "Victor Hugo", "du Maréchal Foch", "Pasteur", "des Banians", "Higginson",
                "Édouard Unger", "de l'Alma", "du Mont Coffyn", "Bonaparte", "des Niaoulis", "Auer", "Frédéric Surleau")
FRENCH_TOWNS = (("75011", "Paris"), ("69003", "Lyon"), ("13005", "Marseille"), ("33000", "Bordeaux"),
                ("31000", "Toulouse"), ("44000", "Nantes"), ("34000", "Montpellier"), ("29200", "Brest"))
OTHER_PLACES = ("75056", "69123", "13055", "33063", "31555", "98613", "98735")
KEYBOARD = "azertyuiopqsdfghjklmwxcvbn"


def strip_accents(text):
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


class Population:
    """``persons`` distinct people, ``duplicate_rate`` of them with 1 to 3 more records."""

    def __init__(self, seed=7, with_contacts=False):
        self.random = random.Random(seed)
        self.extra = random.Random(seed * 7919 + 1)
        self.with_contacts = with_contacts
        self.homes = []

    def person(self):
        pick = self.random
        sex = pick.choice("MF")
        family = self.family_name()
        if pick.random() < 0.08:
            family = f"{family}-{pick.choice(FAMILY_NAMES[:60])}"
        given = " ".join(pick.sample(GIVEN_NAMES[sex], pick.choice((1, 1, 1, 2, 2, 3))))
        born = date(1925, 1, 1) + timedelta(days=pick.randrange(36_000))
        record = {"family_name": family, "given_names": given, "sex": sex, "birth_date": born.isoformat(),
                  "birth_place": pick.choice(NC_COMMUNES) if pick.random() < 0.75 else pick.choice(OTHER_PLACES)}
        if sex == "F" and pick.random() < 0.35:
            record["usage_name"] = self.family_name()
        if pick.random() < 0.6:
            record["email"] = f"{strip_accents(given.split()[0]).lower()}.{pick.randrange(10**6)}@example.nc"
        return record

    def add_contacts(self, record):
        """Address and social-security number, from the second random stream."""
        pick = self.extra
        if self.homes and pick.random() < 0.25:
            home, head = pick.choice(self.homes)
            record["postal_address"] = home
            if pick.random() < 0.6:  # one family name in the household
                record["family_name"] = head["family_name"]
            if record["birth_date"] >= "2000" and head.get("social_security_number") and pick.random() < 1 / 3:
                record["social_security_number"] = head["social_security_number"]
        else:
            record["postal_address"] = self.address(born_in_france=record["birth_place"] in OTHER_PLACES[:5])
            self.homes.append((record["postal_address"], record))
        if "social_security_number" not in record and pick.random() < 2 / 3:
            record["social_security_number"] = self.social_security_number(record)
        return record

    def address(self, born_in_france=False):
        pick = self.extra
        line = f"{pick.randrange(1, 120)} {pick.choice(STREETS)} {pick.choice(STREET_NAMES)}"
        if born_in_france and pick.random() < 0.5:
            postal_code, town = pick.choice(FRENCH_TOWNS)
            return {"lines": [line], "postal_code": postal_code, "commune_name": town, "country": "FR"}
        commune = pick.choice(nc_communes())
        return {"lines": [line], "postal_code": commune["postal_codes"][0], "commune_insee": commune["insee"],
                "country": "NC"}

    def social_security_number(self, record):
        """A NIR (INSEE: sex, year and month of birth, birth commune, order number, key
        97 - n mod 97) for a person born in France, else a 7-digit Caledonian number."""
        pick = self.extra
        if record["birth_place"] not in OTHER_PLACES[:5]:
            return f"{pick.randrange(10**7):07d}"
        year, month = record["birth_date"][2:4], record["birth_date"][5:7]
        body = f"{1 if record['sex'] == 'M' else 2}{year}{month}{record['birth_place']}{pick.randrange(1, 1000):03d}"
        return f"{body}{97 - int(body) % 97:02d}"

    def vary_contacts(self, record, other):
        pick = self.extra
        move, number = pick.random(), pick.random()
        if move < 0.25:
            other["postal_address"] = self.address()
        elif move < 0.35:
            address = dict(record["postal_address"])
            address["lines"] = [self.typo(address["lines"][0])]
            other["postal_address"] = address
        if record.get("social_security_number"):
            if number < 0.35:
                other.pop("social_security_number", None)
            elif number < 0.45:
                digits = list(record["social_security_number"])
                index = pick.randrange(len(digits) - 2)
                digits[index] = str((int(digits[index]) + pick.randrange(1, 10)) % 10)
                other["social_security_number"] = "".join(digits)
        return other

    def family_name(self):
        """One of the common names (Martin, Wamytan...) one time in ten, else one of the
        long tail: in France the hundred most frequent surnames are borne by about 7 % of
        people; here the 110 common ones by 10 %."""
        if self.random.random() < 0.10:
            return self.random.choice(FAMILY_NAMES)
        return self.random.choice(LONG_TAIL)

    def typo(self, text):
        pick = self.random
        letters = [index for index, char in enumerate(text) if char.isalpha()]
        if len(letters) < 4:
            return text
        index = pick.choice(letters[1:])
        operation = pick.choice(("substitute", "delete", "insert", "transpose"))
        if operation == "substitute":
            return text[:index] + pick.choice(KEYBOARD) + text[index + 1:]
        if operation == "delete":
            return text[:index] + text[index + 1:]
        if operation == "insert":
            return text[:index] + pick.choice(KEYBOARD) + text[index:]
        if index + 1 < len(text):
            return text[:index] + text[index + 1] + text[index] + text[index + 2:]
        return text

    def variant(self, record):
        """Another record of the same person, with one or two front-desk alterations."""
        pick = self.random
        other = dict(record)
        other.pop("email", None) if pick.random() < 0.5 else None
        for _ in range(pick.choice((1, 1, 2))):
            change = pick.choice(("typo", "typo", "accents", "maiden", "compound", "particle", "swap",
                                  "date", "given", "case"))
            if change == "typo":
                key = pick.choice(("family_name", "given_names"))
                other[key] = self.typo(other[key])
            elif change == "accents":
                other = {key: strip_accents(value) if isinstance(value, str) else value for key, value in other.items()}
            elif change == "maiden" and record.get("usage_name"):
                if pick.random() < 0.5:  # known under her usage name only
                    other["family_name"] = record["usage_name"]
                    other.pop("usage_name", None)
                else:
                    other.pop("usage_name", None)
            elif change == "compound" and "-" in other["family_name"]:
                other["family_name"] = pick.choice(other["family_name"].split("-"))
            elif change == "particle" and " " in other["family_name"]:
                other["family_name"] = other["family_name"].replace(" ", "").replace("'", "")
            elif change == "swap":
                other["family_name"], other["given_names"] = other["given_names"], other["family_name"]
            elif change == "date":
                other["birth_date"] = self.date_error(other["birth_date"])
            elif change == "given" and " " in other["given_names"]:
                other["given_names"] = other["given_names"].split()[0]
            elif change == "case":
                other["family_name"] = other["family_name"].upper()
        return other

    def date_error(self, iso):
        pick = self.random
        year, month, day = iso.split("-")
        kind = pick.choice(("digit", "swap", "unknown_day"))
        if kind == "swap" and int(day) <= 12 and day != month:
            return f"{year}-{day}-{month}"
        if kind == "unknown_day":
            return f"{year}-{month}-00"
        digits = list(year + month + day)
        for _ in range(10):
            index = pick.choice((2, 3, 5, 7))
            digits[index] = str(pick.randrange(10))
            candidate = "".join(digits)
            try:
                date(int(candidate[:4]), int(candidate[4:6]), int(candidate[6:]))
            except ValueError:
                digits = list(year + month + day)
                continue
            if candidate != year + month + day and int(candidate[:4]) <= 2020:
                return f"{candidate[:4]}-{candidate[4:6]}-{candidate[6:]}"
        return iso

    def generate(self, persons, duplicate_rate=0.1, namesake_rate=0.02):
        """``[(cluster, record)]``, shuffled: records of one cluster are one person."""
        pick, rows = self.random, []
        for cluster in range(persons):
            record = self.person()
            if self.with_contacts:
                self.add_contacts(record)
            rows.append((cluster, record))
            if pick.random() < duplicate_rate:
                for _ in range(pick.choice((1, 1, 1, 2, 3))):
                    variant = self.variant(record)
                    rows.append((cluster, self.vary_contacts(record, variant) if self.with_contacts else variant))
        for number in range(int(persons * namesake_rate)):  # same names, another person
            cluster, record = rows[pick.randrange(len(rows))]
            namesake = {**self.person(), "family_name": record["family_name"], "given_names": record["given_names"]}
            if self.with_contacts:
                namesake.pop("social_security_number", None)
                self.add_contacts(namesake)
            rows.append((persons + number, namesake))
        pick.shuffle(rows)
        return rows


def true_pairs(rows):
    """Pairs of row indexes that are one person."""
    by_cluster = {}
    for index, (cluster, _record) in enumerate(rows):
        by_cluster.setdefault(cluster, []).append(index)
    return {(a, b) for members in by_cluster.values() for i, a in enumerate(members) for b in members[i + 1:]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--duplicate-rate", type=float, default=0.1)
    arguments = parser.parse_args()
    for cluster, record in Population(arguments.seed).generate(arguments.persons, arguments.duplicate_rate):
        sys.stdout.write(json.dumps({"cluster": cluster, **record}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
