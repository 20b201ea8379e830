"""Entities of one article: spaCy's mentions cleaned, merged into real-world entities, labelled.

Cleaning strips determiners, titles ("Dr.", "Prime Minister") and possessives ("Tel Aviv's"),
and drops fragments of titles ("State" in "Secretary of State"). Merging puts a surname with
the full name it belongs to ("Blinken" -> "Antony Blinken") and an acronym with its expansion
("World Health Organization (WHO)"). An entity's label is its mentions' majority after a few
context cues ("east of Khan Younis" is a place, whatever the model said).
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from dataclasses import dataclass, field

from pipeline.enrich.names import (
    ACRONYM_STOPWORDS,
    CANONICAL_NAMES,
    DEPARTMENT_WORDS,
    DIRECTION_WORDS,
    ENTITY_LABELS,
    ORG_FIRST_WORDS,
    ORG_NOUNS,
    ORG_WORDS,
    PERSON_NOUNS,
    PLACE_LABELS,
    PLACE_NOUNS,
    PLACE_WORDS,
    TITLE_HEADS,
    TITLE_WORDS,
    gender_of_first_name,
    gender_of_title,
)
from pipeline.enrich.segments import Segment

__all__ = ["Mention", "EntityCluster", "EntityIndex", "build_entity_index", "normalize_name"]

_POSSESSIVES = {"'s", "’s", "'", "’", "s'", "s’"}
_DETERMINERS = {"the", "a", "an", "this", "that"}
_ACRONYM_RE = re.compile(r"^(?:[A-Z]\.?){2,6}$")
_SUBJECT_DEPS = {"nsubj", "nsubjpass"}
_LOWER_WORD_RE = re.compile(r"\b[a-z]+\b")
_CAPITALISED_WORD_RE = re.compile(r"\b[A-Z]\w*")
_APPOSITION_POS = {"DET", "ADJ", "NOUN", "PROPN", "NUM", "PART"}
_SCORE_RE = re.compile(r"^\d+[-–:]\d+$")  # "Portsmouth 2-1"
_KINSHIP = {"Mum", "Mom", "Mummy", "Mommy", "Dad", "Daddy", "Mother", "Father", "Grandma", "Grandpa", "Granny", "Nan"}
_COUNTRY_PREFIXES = {"U.S.", "US", "UK", "U.K.", "EU"}


@lru_cache(maxsize=4096)
def normalize_name(text: str) -> str:
    """Key under which two surface forms count as the same name."""
    text = " ".join(text.replace("’", "'").replace("‘", "'").split()).casefold()
    if text.startswith("the "):
        text = text[4:]
    return text


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
    by_context: bool = False  # the label comes from the words around the mention, not the model


@dataclass
class EntityCluster:
    """One real-world entity of the article and all of its mentions."""

    number: int
    mentions: list[Mention] = field(default_factory=list)
    name: str = ""
    label: str = ""
    aliases: list[str] = field(default_factory=list)
    titles: set[str] = field(default_factory=set)
    gender: str | None = None
    gender_from_title: bool = False  # "Mr."/"Ms." is sure; a first name only suggests

    @property
    def first_start(self) -> int:
        return min(m.start for m in self.mentions)

    def label_votes(self) -> Counter[str]:
        """Mentions per label; a label read from the context counts twice."""
        votes: Counter[str] = Counter()
        for mention in self.mentions:
            votes[mention.label] += 2 if mention.by_context else 1
        return votes


class EntityIndex:
    """The entities of one article and lookups from tokens and names to them."""

    def __init__(self) -> None:
        self.clusters: list[EntityCluster] = []
        self._by_token: dict[tuple[int, int], EntityCluster] = {}
        self._by_alias: dict[str, EntityCluster] = {}

    def at_token(self, segment: int, token: int) -> EntityCluster | None:
        return self._by_token.get((segment, token))

    def by_name(self, text: str) -> EntityCluster | None:
        return self._by_alias.get(normalize_name(text))

    def add(self, cluster: EntityCluster) -> None:
        self.clusters.append(cluster)
        self._register(cluster)

    def _register(self, cluster: EntityCluster) -> None:
        for mention in cluster.mentions:
            for token in range(mention.first_token, mention.last_token):
                self._by_token[(mention.segment, token)] = cluster
        for alias in [cluster.name, *cluster.aliases]:
            self._by_alias.setdefault(normalize_name(alias), cluster)
        if cluster.label == "PERSON" and " " in cluster.name:
            self._by_alias.setdefault(normalize_name(cluster.name.split()[-1]), cluster)

    def reindex(self) -> None:
        self._by_token.clear()
        self._by_alias.clear()
        for cluster in self.clusters:
            self._register(cluster)


def _clean(
    segment: Segment, span, lowercase_words: set[str], capitalised: Counter[str], places: set[str]
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
    # A capitalised common word opening a sentence or a headline ("Novelist Hanna Berg").
    if first < last and _sentence_initial(doc, first) and doc[first].lower_ in lowercase_words:
        if last - first == 1:
            return None  # "Monsoon rains kill dozens": a common word, capitalised by position
        if label == "PERSON" or capitalised[doc[last - 1].text] > 1:
            first += 1  # "Novelist Hanna Berg", "Carmaker Vellmann" (but not "World Athletics")
    titles: list[str] = []
    if label == "PERSON":
        while last - first > 1 and _is_title(doc[first]):
            titles.append(doc[first].lower_.rstrip("."))
            first += 1
        back = span.start - 1
        while back >= 0 and back >= span.start - 4 and _is_title(doc[back]) and doc[back].text[:1].isupper():
            titles.append(doc[back].lower_.rstrip("."))
            back -= 1
    if first >= last:
        return None
    text = doc[first:last].text.strip()
    if len(text) < 2 or not any(ch.isalpha() for ch in text) or not any(ch.isupper() for ch in text):
        return None
    if label != "PERSON" and _is_title_fragment(doc, first, last):
        return None
    if label == "PERSON" and last - first == 1 and doc[first].text in _KINSHIP:
        return None
    context_label = _label_by_context(doc, first, last, label, places)
    start = segment.body_pos(doc[first].idx)
    end = segment.body_pos(doc[last - 1].idx + len(doc[last - 1].text))
    is_subject = any(
        doc[i].dep_ in _SUBJECT_DEPS or (doc[i].dep_ == "appos" and doc[i].head.dep_ in _SUBJECT_DEPS)
        for i in range(first, last)
    )
    return Mention(
        start, end, text, context_label, segment.number, first, last, is_subject, tuple(titles),
        by_context=context_label != label,
    )


def _sentence_initial(doc, index: int) -> bool:
    return index == 0 or doc[index].is_sent_start or doc[index - 1].is_space or doc[index - 1].text in ('"', "“", "‘")


def _is_title(token) -> bool:
    return token.lower_.rstrip(".") in TITLE_WORDS


def _is_title_fragment(doc, first: int, last: int) -> bool:
    """'State' in 'Secretary of State', 'Defense' in 'Defense Secretary', 'State' in 'State-owned'."""
    while first < last - 1 and doc[first].text in _COUNTRY_PREFIXES:
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
        if label in ("WORK_OF_ART", "PRODUCT", "EVENT", "LAW") and any(w in ORG_WORDS for w in words):
            return "ORG"
        return label
    if len(words) > 1 and words[-1] in PLACE_WORDS:
        return label if label in PLACE_LABELS else "LOC"
    if len(words) > 1 and (words[-1] in ORG_WORDS or words[0] in ORG_FIRST_WORDS):
        return "ORG"
    if label != "PERSON" and (_person_context(doc, first, last) or _owned_by_place(doc, first, last, places)):
        return "PERSON"
    if label not in PLACE_LABELS and _place_context(doc, first, last):
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
    if first >= 2 and doc[first - 1].lower_ == "of" and doc[first - 2].lower_ in DIRECTION_WORDS:
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
    if first >= 1 and doc[first - 1].pos_ == "ADP":
        return False  # "In Beijing, a spokesperson said": a fronted place, not an apposition
    return _apposition_has(doc, last, PERSON_NOUNS)


def _owned_by_place(doc, first: int, last: int, places: set[str]) -> bool:
    """'Ethiopia's Tigst Assefa': a two- or three-word name owned by a place is a person."""
    if not 2 <= last - first <= 3 or first < 2 or doc[first - 1].lower_ not in ("'s", "’s"):
        return False
    words = [doc[i].text for i in range(first, last)]
    if any(w in ORG_WORDS or w in PLACE_WORDS or not (w[:1].isupper() and w.isalpha()) for w in words):
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


def _initials(text: str) -> str:
    words = re.split(r"[\s\-]+", text)
    return "".join(w[0] for w in words if w and w.lower() not in ACRONYM_STOPWORDS and w[0].isalpha()).upper()


def _majority_label(cluster: EntityCluster) -> str:
    votes = cluster.label_votes()
    place_votes = sum(votes[label] for label in PLACE_LABELS)
    best_count = max(max(votes.values()), place_votes)
    longest = max(cluster.mentions, key=lambda m: (len(m.text.split()), -m.start))
    if votes.get(longest.label, 0) == best_count or (
        longest.label in PLACE_LABELS and place_votes == best_count
    ):
        label = longest.label
    else:
        label = max(votes, key=lambda k: (votes[k], -min(m.start for m in cluster.mentions if m.label == k)))
    if label not in PLACE_LABELS and place_votes > votes.get(label, 0):
        label = max(PLACE_LABELS, key=lambda k: votes.get(k, 0))
    return label


def _canonical_name(cluster: EntityCluster) -> str:
    for mention in cluster.mentions:
        canonical = CANONICAL_NAMES.get(normalize_name(mention.text).replace("the ", "", 1))
        if canonical:
            return canonical
    forms = Counter(m.text for m in cluster.mentions)
    first_seen = {}
    for mention in sorted(cluster.mentions, key=lambda m: m.start):
        first_seen.setdefault(mention.text, mention.start)
    multi = [f for f in forms if len(f.split()) > 1 and not _ACRONYM_RE.match(f)]
    pool = multi or list(forms)
    return max(pool, key=lambda f: (forms[f], len(f), -first_seen[f]))


def _merge(into: EntityCluster, other: EntityCluster) -> None:
    into.mentions.extend(other.mentions)
    into.titles |= other.titles


def build_entity_index(segments: list[Segment], body: str) -> EntityIndex:
    """Clean, merge and label the entities spaCy found in the article's segments."""
    groups: dict[str, EntityCluster] = {}
    acronyms: list[tuple[Mention, str]] = []
    for segment in segments:
        lowercase_words = _lowercase_words(segment.text)
        capitalised = Counter(_CAPITALISED_WORD_RE.findall(segment.text))
        ents = segment.doc.ents
        places = {e.text for e in ents if e.label_ in PLACE_LABELS}
        for span in ents:
            mention = _clean(segment, span, lowercase_words, capitalised, places)
            if mention is None:
                continue
            key = normalize_name(mention.text)
            key = normalize_name(CANONICAL_NAMES.get(key, key))
            cluster = groups.setdefault(key, EntityCluster(number=len(groups)))
            cluster.mentions.append(mention)
            cluster.titles.update(mention.titles)
            acronym = _parenthesised_acronym(segment, mention)
            if acronym:
                acronyms.append((mention, acronym))

    clusters = list(groups.values())
    for cluster in clusters:
        cluster.label = _majority_label(cluster)
    clusters = _merge_acronyms(clusters, acronyms, groups)
    clusters = _merge_surnames(clusters)

    index = EntityIndex()
    for cluster in clusters:
        _finish(cluster)
        index.add(cluster)
    _count_untagged(index, segments)
    for cluster in index.clusters:
        _finish(cluster)
    index.clusters.sort(key=lambda c: c.first_start)
    index.reindex()
    return index


def _finish(cluster: EntityCluster) -> None:
    cluster.mentions.sort(key=lambda m: m.start)
    cluster.label = _majority_label(cluster)
    cluster.name = _canonical_name(cluster)
    seen: dict[str, None] = {}
    for mention in cluster.mentions:
        seen.setdefault(mention.text, None)
    cluster.aliases = list(seen)
    if cluster.label == "PERSON":
        gender = None
        for title in cluster.titles:
            gender = gender or gender_of_title(title)
        cluster.gender_from_title = gender is not None
        cluster.gender = gender or gender_of_first_name(cluster.name.split()[0])


def _parenthesised_acronym(segment: Segment, mention: Mention) -> str | None:
    doc, after = segment.doc, mention.last_token
    if after + 2 < len(doc) and doc[after].text == "(" and doc[after + 2].text == ")":
        candidate = doc[after + 1].text
        if _ACRONYM_RE.match(candidate):
            return candidate
    return None


def _merge_acronyms(
    clusters: list[EntityCluster], acronyms: list[tuple[Mention, str]], groups: dict[str, EntityCluster]
) -> list[EntityCluster]:
    expansion: dict[str, EntityCluster] = {}
    owner = {id(m): c for c in clusters for m in c.mentions}
    for mention, acronym in acronyms:
        cluster = owner[id(mention)]
        expansion.setdefault(acronym.replace(".", ""), cluster)
        cluster.titles.add(f"acronym:{acronym}")
    for cluster in clusters:
        if cluster.label == "PERSON" or len(cluster.mentions[0].text.split()) < 2:
            continue
        initials = _initials(cluster.mentions[0].text)
        if len(initials) >= 2:
            expansion.setdefault(initials, cluster)
    merged: list[EntityCluster] = []
    for cluster in clusters:
        text = cluster.mentions[0].text
        target = expansion.get(text.replace(".", "")) if _ACRONYM_RE.match(text) else None
        if target is not None and target is not cluster:
            _merge(target, cluster)
            continue
        merged.append(cluster)
    return merged


def _merge_surnames(clusters: list[EntityCluster]) -> list[EntityCluster]:
    """Merge short forms into the one full name they belong to.

    A person's surname or first name ("Blinken", "Mao", "Stefan") joins the full name it
    ends or starts; an organisation's short form ("Skyward", "Commission") joins the one
    longer organisation name it starts or ends. Ambiguous short forms take the latest
    full name mentioned before them; case is ignored ("Van Dijk" is "Pieter van Dijk").
    """
    full_names = [c for c in clusters if any(len(m.text.split()) > 1 for m in c.mentions)]
    by_part: dict[tuple[str, str, tuple[str, ...]], list[EntityCluster]] = {}
    for full in full_names:
        kind = "PERSON" if full.label == "PERSON" else "ORG" if full.label == "ORG" else None
        if kind is None:
            continue
        for form in {m.text for m in full.mentions}:
            words = tuple(form.casefold().split())
            for size in range(1, len(words)):
                for key in ((kind, "end", words[-size:]), (kind, "start", words[:size])):
                    owners = by_part.setdefault(key, [])
                    if full not in owners:
                        owners.append(full)
    kept: list[EntityCluster] = []
    for cluster in clusters:
        words = tuple(cluster.mentions[0].text.casefold().split())
        target = None
        if len(words) <= 2 and all(len(m.text.split()) == len(words) for m in cluster.mentions):
            target = _short_form_target(cluster, words, by_part)
        if target is None or target is cluster:
            kept.append(cluster)
            continue
        _merge(target, cluster)
    return kept


def _short_form_target(
    cluster: EntityCluster, words: tuple[str, ...], by_part: dict[tuple[str, str, tuple[str, ...]], list[EntityCluster]]
) -> EntityCluster | None:
    if _person_like(cluster):
        candidates = by_part.get(("PERSON", "end", words), [])
        if not candidates and len(words) == 1:
            candidates = by_part.get(("PERSON", "start", words), [])
            if len(candidates) > 1:
                return None
        if candidates:
            return _latest_before(cluster, candidates)
    if cluster.label in ("ORG", "PERSON"):
        candidates = by_part.get(("ORG", "start", words), []) + by_part.get(("ORG", "end", words), [])
        unique = list({id(c): c for c in candidates if c is not cluster}.values())
        if len(unique) == 1:
            return unique[0]
    return None


def _latest_before(cluster: EntityCluster, candidates: list[EntityCluster]) -> EntityCluster:
    candidates = [c for c in candidates if c is not cluster] or candidates
    first = cluster.first_start
    before = [f for f in candidates if f.first_start <= first]
    return max(before, key=lambda f: f.first_start) if before else min(candidates, key=lambda f: f.first_start)


def _person_like(cluster: EntityCluster) -> bool:
    """A short form that may be a surname: mostly tagged PERSON, an ORG, or a subject."""
    votes = cluster.label_votes()
    return (
        votes.get("PERSON", 0) * 2 >= sum(votes.values())
        or cluster.label == "ORG"
        or any(m.is_subject for m in cluster.mentions)
    )


def _lowercase_words(text: str) -> set[str]:
    return set(_LOWER_WORD_RE.findall(text))


def _count_untagged(index: EntityIndex, segments: list[Segment]) -> None:
    """Count surnames and acronyms the model did not tag as mentions of their entity."""
    single: dict[str, EntityCluster] = {}
    for cluster in index.clusters:
        for alias in cluster.aliases:
            if " " not in alias and (cluster.label == "PERSON" or _ACRONYM_RE.match(alias)):
                single.setdefault(alias, cluster)
        if cluster.label == "PERSON" and " " in cluster.name:
            single.setdefault(cluster.name.split()[-1], cluster)
        for title in cluster.titles:
            if title.startswith("acronym:"):
                single.setdefault(title.split(":", 1)[1], cluster)
    if not single:
        return
    words = "|".join(re.escape(w) for w in sorted(single, key=len, reverse=True))
    pattern = re.compile(r"(?<!\w)(?:" + words + r")(?!\w)")
    for segment in segments:
        doc = segment.doc
        for match in pattern.finditer(segment.text):
            span = doc.char_span(match.start(), match.end())
            if span is None or len(span) != 1:
                continue
            token = span[0]
            word = match.group()
            if index.at_token(segment.number, token.i) is not None:
                continue
            if token.pos_ != "PROPN" and not _ACRONYM_RE.match(word):
                continue
            cluster = single[word]
            start = segment.body_pos(token.idx)
            mention = Mention(start, start + len(word), word, cluster.label, segment.number,
                              token.i, token.i + 1, token.dep_ in _SUBJECT_DEPS)
            cluster.mentions.append(mention)
            index._by_token[(segment.number, token.i)] = cluster
