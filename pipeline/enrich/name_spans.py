"""Where a name really starts and ends, when the model cut it short.

The small English model was trained mostly on English names and cuts others at the words it
does not expect: particles ("Ana Cláudia dos Santos Ferreira" tagged as "Santos Ferreira",
"Joost ter Horst" as "Horst", "Kai-Uwe von der" without "Heydt"), and organisation names
joined by "and" or "&" ("Canada Mortgage and Housing Corporation" as two names, "Orion &
Crest" without "Infrastructure"). These functions widen a mention's token range back to the
whole name, reading only the tokens around it. The name particles come from the nameparser
library (its list of surname prefixes), not from a list of our own.
"""

from __future__ import annotations

import logging

from nameparser.config import CONSTANTS

from pipeline.enrich.names import ORG_FIRST_WORDS, PERSON_TITLES, TITLE_WORDS, is_org_word, is_place_word

__all__ = ["PARTICLES", "POST_NOMINALS", "person_name_span", "organisation_span", "person_shaped", "is_particle", "one_token_entity"]

logger = logging.getLogger(__name__)

# Surname particles ("van", "der", "dos", "ter", "Ní", "Ó"), lower case. nameparser's prefixes
# without the ones that open place names or are English words ("San", "St", "bar").
_NOT_PARTICLES = frozenset({"san", "santa", "st", "ste", "bar", "bat", "bon", "do", "op", "te", "het", "heer", "vel"})
PARTICLES = frozenset(p for p in CONSTANTS.prefixes if p.isalpha() and p not in _NOT_PARTICLES)
# Letters written after a name for an honour or a rank ("QC", "MBE", "MP"), lower case: nameparser's
# suffix acronyms, and "KC" (King's Counsel since 2022), which it lacks.
# Two-letter ones are left out ("PA", "MD" are also US states) but for the counsel's and the member's.
POST_NOMINALS = frozenset(a for a in CONSTANTS.suffix_acronyms if len(a) > 2 and a.isalpha()) | {"kc", "qc", "mp"}
# Words that join the parts of one organisation's name ("Health Information and Quality Authority").
_ORG_JOINERS = frozenset({"and", "&"})
# Words after an organisation's head noun that its name goes on with ("Commission for ...", "Mission to the EU").
_ORG_OF = frozenset({"for", "of", "to", "on"})
_MAX_GIVEN_NAMES = 2


def _glued(doc, index: int) -> bool:
    """`doc[index]` is written against both neighbours ("Kai-Uwe": the "-")."""
    return index > 0 and not doc[index - 1].whitespace_ and not doc[index].whitespace_


def is_particle(token) -> bool:
    return token.lower_ in PARTICLES


def one_token_entity(token) -> bool:
    """`token` is a whole entity of its own ("Natalia" tagged as a place), not part of a longer one."""
    doc = token.doc
    return token.ent_iob_ == "B" and (token.i + 1 >= len(doc) or doc[token.i + 1].ent_iob_ != "I") \
        and token.ent_type_ not in ("DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT", "QUANTITY", "NORP")


def name_word(token, lowercase_words: set[str]) -> bool:
    """A capitalised word that may be part of a person's name: not a title, not a common word
    capitalised by its position, not part of a date or number."""
    text = token.text
    return (
        text[:1].isupper() and any(ch.isalpha() for ch in text)
        and all(ch.isalpha() or ch in "'’-" for ch in text)
        and token.lower_.rstrip(".") not in TITLE_WORDS and token.lower_ not in lowercase_words
        and (token.ent_type_ in ("", "PERSON") or one_token_entity(token))
        and not is_particle(token)
    )


def person_name_span(doc, first: int, last: int, lowercase_words: set[str]) -> tuple[int, int]:
    """The tokens of a person's whole name around `doc[first:last]`."""
    while last - first > 1 and doc[last - 1].text.isupper() and doc[last - 1].lower_ in POST_NOMINALS:
        last -= 1  # "Rosalind Treharne KC"
    # Right: "Kai-Uwe von der" + "Heydt", "Lorena Villaseñor" + "de la Garza", "Giulia" + "Dell'Acqua".
    end = last
    while end < len(doc):
        after = end
        while after < len(doc) and is_particle(doc[after]) and after - end < 3:
            after += 1
        if (after > end or is_particle(doc[end - 1])) and after < len(doc) and name_word(doc[after], lowercase_words):
            end = after + 1
            continue
        if doc[end].text == "-" and _glued(doc, end) and end + 1 < len(doc) and name_word(doc[end + 1], lowercase_words):
            end += 2
            continue
        break
    if end == last and last - first == 1 and last < len(doc) and doc[last].pos_ == "PROPN" \
            and name_word(doc[last], lowercase_words) and not doc[last].ent_type_:
        end = last + 1  # a first name, then a surname the model left out ("Giulia" + "Dell'Acqua")
    # Left: "dos Santos Ferreira" <- "Ana Cláudia", "ter Horst" <- "Joost", "Hendrik" <- "Jan-".
    start = first
    given = 0
    while start > 0:
        before = start
        while before > 0 and is_particle(doc[before - 1]) and start - before < 3:
            before -= 1
        crossed = before < start or is_particle(doc[start])
        if crossed and before > 0 and name_word(doc[before - 1], lowercase_words) and given < _MAX_GIVEN_NAMES:
            start = before - 1
            given += 1
            continue
        if given and given < _MAX_GIVEN_NAMES and name_word(doc[start - 1], lowercase_words) \
                and not doc[start - 1].is_sent_start:
            start -= 1
            given += 1
            continue
        if start >= 2 and doc[start - 1].text == "-" and _glued(doc, start - 1) and name_word(doc[start - 2], lowercase_words):
            start -= 2
            continue
        break
    return start, end


def organisation_span(doc, first: int, last: int, lowercase_words: set[str]) -> tuple[int, int]:
    """The tokens of an organisation's whole name (or a building's: "Palace of Justice"): after its head noun
    ("Commission for Air Quality Management"), across "and"/"&" when the name goes on to a word
    that makes it an organisation ("Canada Mortgage and Housing Corporation"), and on over the
    capitalised words that end an "&" name ("Orion & Crest" + "Infrastructure")."""
    end = last
    has_ampersand = any(doc[i].text == "&" for i in range(first, last))
    while end + 1 < len(doc) and doc[end].lower_ in _ORG_JOINERS and (
            doc[end].text == "&" or not (is_org_word(doc[end - 1].text) or is_place_word(doc[end - 1].text))):
        # ("Swansea City and Bristol Rovers" are two clubs only when the first name ends like a name)
        run = end + 1
        while run < len(doc) and _org_name_word(doc[run], lowercase_words) and run - end <= 4:
            run += 1
        if run == end + 1:
            break
        if doc[end].text == "&" or is_org_word(doc[run - 1].text):
            has_ampersand = has_ampersand or doc[end].text == "&"
            end = run
            continue
        break
    head = doc[end - 1].text
    if end + 1 < len(doc) and doc[end].lower_ in _ORG_OF and (is_org_word(head) or head in ORG_FIRST_WORDS
                                                              or (end - first == 1 and is_place_word(head))):
        run = end + 1 + (doc[end + 1].lower_ == "the")
        stop = run
        while stop < len(doc) and stop - run < 5 and (_org_name_word(doc[stop], lowercase_words) or (
                doc[stop].lower_ in _ORG_JOINERS and stop + 1 < len(doc) and _org_name_word(doc[stop + 1], lowercase_words))):
            stop += 1
        if stop > run and doc[stop - 1].text[:1].isupper():
            end = stop  # "Commission" + "for Air Quality Management", "Centre" + "for Digital Rights and Markets"
    if has_ampersand:
        while end < len(doc) and end - last < 3 and _org_name_word(doc[end], lowercase_words) and not doc[end].ent_type_:
            end += 1
    return first, end


def _org_name_word(token, lowercase_words: set[str]) -> bool:
    text = token.text
    return (text[:1].isupper() and text.replace(".", "").replace("-", "").isalnum()
            and token.lower_.rstrip(".") not in PERSON_TITLES and not token.is_sent_start
            and token.ent_type_ not in ("DATE", "TIME", "PERSON", "GPE", "CARDINAL", "MONEY"))


def person_shaped(words: list[str]) -> bool:
    """Two or three capitalised words ending in a double-barrelled surname ("Jakob Vestergaard-Hale"):
    the shape of a person's name whatever the model says."""
    if not 2 <= len(words) <= 3:
        return False
    parts = words[-1].split("-")
    return (
        len(parts) == 2 and all(p[:1].isupper() and p.replace("'", "").isalpha() for p in parts)
        and all(w[:1].isupper() and w.replace("-", "").isalpha() for w in words[:-1])
    )
