"""Entity mentions: spaCy's entity spans cleaned and labelled by their context.

Cleaning strips determiners, titles ("Dr.", "Prime Minister"), possessives ("Tel Aviv's"),
a place that owns the name ("Nigeria's National Commission"), a capitalised common word that
opens a sentence ("Novelist Hanna Berg"), and drops fragments of titles ("State" in
"Secretary of State", "Defense" in "Defense Secretary"). The label is corrected from the
words inside the name ("Skyward Airlines" is an organisation) and around it ("east of
Khan Younis" is a place, "Olena Kravets, a pensioner" a person).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from pipeline.enrich.names import (
    COUNTRY_ABBREVIATIONS,
    DEPARTMENT_WORDS,
    ENTITY_LABELS,
    KINSHIP_WORDS,
    ORG_FIRST_WORDS,
    ORG_NOUNS,
    PERSON_NOUNS,
    PLACE_CUE_WORDS,
    PLACE_LABELS,
    PLACE_NOUNS,
    TITLE_CONNECTORS,
    TITLE_HEADS,
    TITLE_WORDS,
    gender_of_first_name,
    is_org_word,
    is_place_word,
    known_places,
)
from pipeline.enrich.name_spans import POST_NOMINALS, is_particle, one_token_entity, organisation_span, person_name_span, person_shaped
from pipeline.enrich.segments import Segment

__all__ = ["Mention", "SUBJECT_DEPS", "ACRONYM_RE", "clean_mention", "extend_first_name", "outermost", "subject_roles", "word_tables"]

_POSSESSIVES = {"'s", "’s", "'", "’", "s'", "s’"}
_DETERMINERS = {"the", "a", "an", "this", "that"}
ACRONYM_RE = re.compile(r"^(?:[A-Z]\.?){2,6}$")
SUBJECT_DEPS = {"nsubj", "nsubjpass"}
_LOWER_WORD_RE = re.compile(r"\b[a-z]+\b")
_CAPITALISED_WORD_RE = re.compile(r"\b[A-Z]\w*")
_APPOSITION_POS = {"DET", "ADJ", "NOUN", "PROPN", "NUM", "PART"}
_SCORE_RE = re.compile(r"^\d+[-–:]\d+$")  # "Portsmouth 2-1"


@dataclass
class Mention:
    """One cleaned entity mention; `start`/`end` are body positions (negative in the title)."""

    start: int
    end: int
    text: str
    label: str
    segment: int
    first_token: int
    last_token: int  # exclusive
    is_subject: bool
    titles: tuple[str, ...] = ()
    main_subject: bool = False  # the subject of its sentence's main verb, not of a clause inside it
    by_context: bool = False  # the label comes from the words around the mention, not the model
    after_locative: bool = False  # "in X", "at X", "near X": where places stand


def word_tables(text: str) -> tuple[set[str], Counter[str]]:
    """The lower-case words of a text, and how often each capitalised word occurs."""
    return set(_LOWER_WORD_RE.findall(text)), Counter(_CAPITALISED_WORD_RE.findall(text))


def clean_mention(
    segment: Segment, span, lowercase_words: set[str], capitalised: Counter[str], places: set[str],
    headline_end: int = 0,
) -> Mention | None:
    """The mention of a spaCy entity span with determiners, titles and possessives removed."""
    label = span.label_
    if label not in ENTITY_LABELS:
        return None
    doc = segment.doc
    first, last = span.start, span.end
    for index in range(first, last):
        token = doc[index]
        if token.is_space or "\n" in token.text or token.text in ("(", "[", "|"):
            last = index
            break
        if "\n" in token.whitespace_:
            last = index + 1
            break
    for index in range(first + 1, last - 1):
        if doc[index].lower_ in ("'s", "’s") and doc[first:index].text in places:
            first = index + 1  # "Nigeria's National Commission": the owner is a place named elsewhere
            break
    if first > span.start - 1 and doc[first].lower_ in _POSSESSIVES and first > 0 and doc[first - 1].is_title:
        first -= 1  # "King" + "'s College London" split by the model
    while first < last and (doc[first].lower_ in _DETERMINERS or doc[first].is_punct):
        first += 1
    while last > first and (doc[last - 1].lower_ in _POSSESSIVES or doc[last - 1].is_punct or (
        last - first > 1 and _SCORE_RE.match(doc[last - 1].text)
    )):
        last -= 1
    if last - first >= 4 and doc[last - 1].like_num and doc[last - 2].text in "-–" and doc[last - 3].like_num:
        last -= 3  # "Portsmouth 2 - 1"
    if label == "PERSON":
        for index in range(first + 2, last - 1):
            if doc[index].lower_ == "of" and doc[index + 1].is_title:
                last = index  # "Tom Sanders of King's College"
                break
    if doc[first].idx < headline_end:  # a headline in title case: capitals do not end a name there
        for index in range(first + 1, last):
            if doc[index].lower_ in lowercase_words and not doc[index].is_punct:
                last = index  # "Bernie Sanders Promises Action On Immigration" -> "Bernie Sanders"
                break
    # A capitalised common word opening a sentence or a headline ("Novelist Hanna Berg").
    if first < last and _sentence_initial(doc, first) and doc[first].lower_ in lowercase_words:
        if last - first == 1:
            return None  # "Monsoon rains kill dozens": a common word, capitalised by position
        if label == "PERSON" or capitalised[doc[last - 1].text] > 1:
            first += 1  # "Novelist Hanna Berg", "Carmaker Vellmann" (but not "World Athletics")
    titles: list[str] = []
    if label == "PERSON":
        while last - first > 1 and (_is_title(doc[first]) or (
            titles and doc[first].lower_ in TITLE_CONNECTORS and _is_title(doc[first + 1])
        )):
            if _is_title(doc[first]):
                titles.append(doc[first].lower_.rstrip("."))
            first += 1
        back = span.start - 1
        while back >= 0 and back >= span.start - 4:
            token = doc[back]
            if _is_title(token) and token.text[:1].isupper():
                titles.append(token.lower_.rstrip("."))
            elif not (token.lower_ in TITLE_CONNECTORS and titles and back >= 1 and _is_title(doc[back - 1])):
                break  # "of" in "Secretary of State" belongs to the office; any other word ends it
            back -= 1
    if first >= last:
        return None
    text = doc[first:last].text.strip()
    if len(text) < 2 or not any(ch.isalpha() for ch in text) or not any(ch.isupper() for ch in text):
        return None
    if label != "PERSON" and _is_title_fragment(doc, first, last):
        return None
    if label == "PERSON" and last - first == 1 and doc[first].text in KINSHIP_WORDS:
        return None
    if label == "PERSON" and last - first == 1 and first > 0 and doc[first - 1].lower_ in ("the", "a", "an"):
        return None  # "the Welshman", "a Brazilian": a person's origin, not a name
    if label != "PERSON" and last - first >= 2 and _titled_name(doc, first, last):
        titles.append(doc[first].lower_.rstrip("."))  # "Mayor Sofia Reyes" tagged as a work of art
        first += 1
        label = "PERSON"
        text = doc[first:last].text.strip()
    context_label = _label_by_context(doc, first, last, label, places)
    if last - first >= 3 and doc[last - 1].text.isupper() and doc[last - 1].lower_ in POST_NOMINALS and all(
            doc[i].is_title and doc[i].is_alpha for i in range(first, last - 1)):
        last -= 1  # "Eleanor Whitcombe KC", whatever the model's label: letters after a person's name
        context_label = "PERSON"
    if context_label == "PERSON":
        first, last = person_name_span(doc, first, last, lowercase_words)
        first = extend_first_name(doc, first, last, lowercase_words)
        text = doc[first:last].text.strip()
    elif context_label == "ORG" or context_label in PLACE_LABELS:
        widened = organisation_span(doc, first, last, lowercase_words)
        if widened[1] > last:  # "Centre" + "for Digital Rights and Markets", "Palace" + "of Justice"
            context_label = context_label if is_place_word(doc[first].text) and context_label in PLACE_LABELS else (
                "FAC" if is_place_word(doc[first].text) else "ORG")
            first, last = widened
            text = doc[first:last].text.strip()
    start = segment.body_pos(doc[first].idx)
    end = segment.body_pos(doc[last - 1].idx + len(doc[last - 1].text))
    is_subject, main_subject = subject_roles(doc, first, last)
    return Mention(
        start, end, text, context_label, segment.number, first, last, is_subject, tuple(titles), main_subject,
        by_context=context_label != label,
        after_locative=first > 0 and doc[first - 1].lower_ in _LOCATIVES,
    )


def subject_roles(doc, first: int, last: int) -> tuple[bool, bool]:
    """(the mention is a subject, it is the subject of its sentence's main verb). A name hanging from
    the subject counts: "Rosalind Treharne KC told" (from "KC"), "the minister, X, said" (apposition)."""
    subject = main = False
    for i in range(first, last):
        token = doc[i]
        if token.dep_ in ("appos", "compound") and not first <= token.head.i < last and token.head.i <= last + 1:
            token = token.head
        if token.dep_ in SUBJECT_DEPS:
            subject = True
            main = main or token.head.dep_ == "ROOT"
    return subject, main


def outermost(mentions: list[Mention]) -> list[Mention]:
    """The mentions not inside a longer one: a name widened over its neighbours ("Natalia" +
    "Arboleda-Quintero") swallows the neighbours' own mentions."""
    return [m for m in mentions if not any(
        o is not m and o.first_token <= m.first_token and m.last_token <= o.last_token
        and o.last_token - o.first_token > m.last_token - m.first_token for o in mentions)]


def extend_first_name(doc, first: int, last: int, lowercase_words: set[str]) -> int:
    """'Amara' + 'Raghunathan' when the model tagged only the surname."""
    if first == 0:
        return first
    before = doc[first - 1]
    if " " in doc[first:last].text:  # "Ana" + "Liza Manalastas-Jorda": a second given name
        if (len(doc[first:last].text.split()) == 2 and gender_of_first_name(before.text) is not None
                and gender_of_first_name(doc[first].text) is not None and not before.ent_type_
                and before.is_title and not _sentence_initial(doc, first - 1)):
            return first - 1
        return first
    if (
        (before.pos_ == "PROPN" or gender_of_first_name(before.text) is not None)
        and before.is_title and before.is_alpha
        and (not before.ent_type_ or one_token_entity(before))
        and not _is_title(before) and before.lower_ not in lowercase_words
    ):
        return first - 1
    return first


_LOCATIVES = frozenset({"in", "at", "near", "from", "outside", "across", "around", "into", "toward", "towards"})
_HONORIFICS = frozenset({"mr.", "mrs.", "ms.", "dr.", "sen.", "rep.", "gov.", "mayor", "senator", "president"})
_HONORIFICS_SHORT = frozenset({"mr", "mrs", "ms", "dr"})  # British style, without the period


def _titled_name(doc, first: int, last: int) -> bool:
    """A title and then a person's name: "Mayor Sofia Reyes", "Dr. Okafor" (not "General Electric")."""
    title, rest = doc[first], doc[first + 1:last].text.split()
    if not all(w[:1].isupper() and w.replace("-", "").isalpha() for w in rest) or any(is_org_word(w) for w in rest):
        return False
    if title.lower_ in _HONORIFICS or title.lower_.rstrip(".") in _HONORIFICS_SHORT:
        return True
    return _is_title(title) and (gender_of_first_name(rest[0]) is not None or person_shaped(rest)) and len(rest) >= 2


def _first_name_person(doc, first: int, last: int) -> bool:
    """A known first name and a surname, all capitalised, no place or organisation word: a person
    whatever the model says ("Marta Okafor" tagged as a place)."""
    words = doc[first:last].text.split()
    if not any(is_org_word(w) or is_place_word(w) for w in words) and person_shaped(words):
        return True
    return (
        2 <= len(words) <= 4 and gender_of_first_name(words[0]) is not None
        and all(w[:1].isupper() and w.replace("-", "").isalpha() for w in words)
        and not any(is_org_word(w) or is_place_word(w) for w in words)
    )


def _sentence_initial(doc, index: int) -> bool:
    return index == 0 or doc[index].is_sent_start or doc[index - 1].is_space or doc[index - 1].text in ('"', "“", "‘")


def _is_title(token) -> bool:
    return token.lower_.rstrip(".") in TITLE_WORDS


def _is_title_fragment(doc, first: int, last: int) -> bool:
    """'State' in 'Secretary of State', 'Defense' in 'Defense Secretary', 'State' in 'State-owned'."""
    while first < last - 1 and doc[first].text in COUNTRY_ABBREVIATIONS:
        first += 1
    if not all(doc[i].text in DEPARTMENT_WORDS for i in range(first, last)):
        return False
    if last < len(doc) and (doc[last].lower_ in TITLE_HEADS or doc[last].text == "-"):
        return True
    if first >= 2 and doc[first - 1].lower_ in {"of", "for"} and doc[first - 2].lower_ in TITLE_HEADS:
        return True
    return False


def _label_by_context(doc, first: int, last: int, label: str, places: set[str]) -> str:
    """Correct the model's PERSON / ORG / place label from the words inside and around the mention."""
    words = [doc[i].text for i in range(first, last)]
    if label not in ("PERSON", "ORG") and label not in PLACE_LABELS:
        if label in ("WORK_OF_ART", "PRODUCT", "EVENT", "LAW") and any(is_org_word(w) for w in words):
            return "ORG"
        if label == "NORP" and last - first == 1 and doc[first].dep_ == "pobj" and doc[first].tag_ == "NNP" \
                and not doc[first].lower_.endswith("s"):
            return "GPE"  # "the governments of Punjab", "in Punjab": a place, not a people
        return label
    if len(words) > 1 and is_place_word(words[-1]):
        return label if label in PLACE_LABELS else "LOC"
    if len(words) > 1 and (is_org_word(words[-1]) or words[0] in ORG_FIRST_WORDS):
        return "ORG"
    if label != "PERSON" and (_person_context(doc, first, last) or _owned_by_place(doc, first, last, places)
                              or _first_name_person(doc, first, last)):
        return "PERSON"
    if label not in PLACE_LABELS and (_place_context(doc, first, last) or " ".join(words) in known_places()):
        return "GPE"
    if label != "ORG" and _org_context(doc, first, last):
        return "ORG"
    return label


def _place_context(doc, first: int, last: int) -> bool:
    """A name that sits where places sit: 'east of X', 'near X', 'X lighthouse', 'X, the largest city'."""
    if first >= 1 and doc[first - 1].lower_ in {"near", "outside", "toward", "towards"}:
        return True
    if (
        first >= 1 and doc[first - 1].lower_ == "in" and last - first == 1
        and (last >= len(doc) or doc[last].text in (",", ".", ";"))
    ):
        return True  # "In Beijing, ...", "a briefing in Copenhagen."
    if first >= 2 and doc[first - 1].lower_ == "of" and doc[first - 2].lower_ in PLACE_CUE_WORDS:
        return True
    if last < len(doc) and doc[last].lower_ in PLACE_NOUNS and doc[last].text.islower():
        return True
    return _apposition_has(doc, last, PLACE_NOUNS)


def _person_context(doc, first: int, last: int) -> bool:
    """A name next to a person's role or age: 'Its chief executive, X', 'X, 62,', 'X, a farmer'."""
    if not all(doc[i].text[:1].isupper() and doc[i].is_alpha or doc[i].text == "-" for i in range(first, last)):
        return False
    before = first - 1
    if before >= 0 and doc[before].text == ",":
        before -= 1
    if before >= 0 and doc[before].lower_ in PERSON_NOUNS and doc[before].text.islower():
        return True
    if last + 1 < len(doc) and doc[last].text == "," and doc[last + 1].like_num:
        return True
    if first >= 2 and is_particle(doc[first - 1]) and doc[first - 1].is_lower and doc[first - 2].is_title \
            and doc[first - 2].is_alpha and not doc[first - 2].ent_type_:
        return True  # "Marites dela Peña-Ilagan", "Joost ter Horst": a given name, a particle, a surname
    back = first - 1
    while back >= 0 and first - back <= 3 and doc[back].lower_ in (",", "as", "only", "is", "was"):
        back -= 1
    if back < first - 1 and back >= 0 and doc[back].lower_ == "name":
        return True  # "gave her name only as Shirin", "her first name, Tanya,"
    if first >= 1 and doc[first - 1].pos_ == "ADP":
        return False  # "In Beijing, a spokesperson said": a fronted place, not an apposition
    return _apposition_has(doc, last, PERSON_NOUNS)


def _owned_by_place(doc, first: int, last: int, places: set[str]) -> bool:
    """'Ethiopia's Tigst Assefa': a two- or three-word name owned by a place is a person."""
    if not 2 <= last - first <= 3 or first < 2 or doc[first - 1].lower_ not in ("'s", "’s"):
        return False
    words = [doc[i].text for i in range(first, last)]
    if any(is_org_word(w) or is_place_word(w) or not (w[:1].isupper() and w.isalpha()) for w in words):
        return False
    return doc[first - 2].text in places


def _org_context(doc, first: int, last: int) -> bool:
    """'German carmaker X', 'X, the world's largest copper producer' (but not 'X, a company director')."""
    if first >= 1 and doc[first - 1].lower_ in ORG_NOUNS and doc[first - 1].is_lower:
        return True
    return _apposition_has(doc, last, ORG_NOUNS) and not _apposition_has(doc, last, PERSON_NOUNS)


def _apposition_has(doc, last: int, nouns: frozenset[str]) -> bool:
    if last >= len(doc) or doc[last].text != ",":
        return False
    for index in range(last + 1, min(last + 8, len(doc))):
        token = doc[index]
        if token.is_punct and token.text not in ("'s", "-"):
            return False
        if token.pos_ not in _APPOSITION_POS and token.text != "-":
            return False
        if token.lower_ in nouns and token.pos_ == "NOUN" and token.text.islower():
            following = doc[index + 1] if index + 1 < len(doc) else None
            return following is None or not (following.lower_ in ("'s", "’s") or (following.pos_ == "NOUN" and following.is_lower))
    return False
