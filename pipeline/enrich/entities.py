"""Entities of one article: cleaned mentions merged into real-world entities, and labelled.

Mentions with the same name are one entity; then a surname or first name joins the full
name it belongs to ("Blinken" -> "Antony Blinken"), an acronym its expansion ("World Health
Organization (WHO)"), an organisation's short form its full name ("Skyward" -> "Skyward
Airlines"). An entity's label is its mentions' majority, a label read from the context
counting double; its name is its fullest frequent form.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from pipeline.enrich.headlines import headline_cased, headline_mention
from pipeline.enrich.mentions import (
    ACRONYM_RE,
    SUBJECT_DEPS,
    Mention,
    clean_mention,
    extend_first_name,
    outermost,
    subject_roles,
    word_tables,
)
from pipeline.enrich.names import (
    ACRONYM_STOPWORDS,
    CANONICAL_NAMES,
    NAME_SUFFIXES,
    PLACE_LABELS,
    gender_of_first_name,
    gender_of_title,
    is_place_word,
)
from pipeline.enrich.name_spans import PARTICLES
from pipeline.enrich.segments import Segment

__all__ = ["Mention", "EntityCluster", "EntityIndex", "build_entity_index", "normalize_name", "surname"]


@lru_cache(maxsize=4096)
def normalize_name(text: str) -> str:
    """Key under which two surface forms count as the same name."""
    text = " ".join(text.replace("’", "'").replace("‘", "'").split()).casefold()
    if text.startswith("the "):
        text = text[4:]
    return text


def surname(name: str) -> str:
    """The last word of a person's name, a generational suffix aside ("Emanuel Cleaver II" -> "Cleaver")."""
    words = name.split()
    while len(words) > 1 and words[-1].lower().rstrip(".") in NAME_SUFFIXES:
        words.pop()
    if not words:
        return name
    first = len(words) - 1
    while first > 1 and words[first - 1].lower() in PARTICLES:
        first -= 1  # "Jan-Hendrik van der Merwe" -> "van der Merwe"
    return " ".join(words[first:])


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
    fixed_label: str | None = None  # set when short forms were merged into this full name
    gender_from_title: bool = False  # "Mr."/"Ms." is sure; a first name only suggests

    @property
    def first_start(self) -> int:
        return min(m.start for m in self.mentions)

    def label_votes(self) -> Counter[str]:
        """Mentions per label, weighed by their words ("Margaret Holloway" outweighs a stray "Holloway");
        a label read from the context counts twice."""
        votes: Counter[str] = Counter()
        for mention in self.mentions:
            votes[mention.label] += min(len(mention.text.split()), 3) * (2 if mention.by_context else 1)
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
            self._by_alias.setdefault(normalize_name(surname(cluster.name)), cluster)

    def reindex(self) -> None:
        self._by_token.clear()
        self._by_alias.clear()
        for cluster in self.clusters:
            self._register(cluster)


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
    multi = [f for f in forms if len(f.split()) > 1 and not ACRONYM_RE.match(f)]
    if cluster.label == "PERSON":  # "van der Merwe" is the surname of "Jan-Hendrik van der Merwe"
        multi = [f for f in multi if not any(o != f and o.endswith(" " + f) for o in multi)]
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
        headline_end = -segment.offset if segment.offset < 0 and headline_cased(segment.text[:-segment.offset]) else 0
        lowercase_words, capitalised = word_tables(segment.text)
        ents = segment.doc.ents
        places = {e.text for e in ents if e.label_ in PLACE_LABELS}
        mentions = []
        for span in ents:
            mention = clean_mention(segment, span, lowercase_words, capitalised, places, headline_end)
            if mention is not None and segment.doc[mention.first_token].idx < headline_end:
                mention = headline_mention(segment, mention, body)
            if mention is not None:
                mentions.append(mention)
        for mention in outermost(mentions):
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
    cluster.label = cluster.fixed_label or _majority_label(cluster)
    cluster.name = _canonical_name(cluster)
    if cluster.label == "PERSON" and _unnamed_place(cluster):
        cluster.label = "GPE"
    if cluster.label == "PERSON" and all(ACRONYM_RE.match(m.text) and len(m.text) >= 3 for m in cluster.mentions):
        cluster.label = "ORG"  # "LSEG", "JAXA": people are not written as acronyms
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


def _unnamed_place(cluster: EntityCluster) -> bool:
    """A one-word "person" that only ever stands where places stand ("in Goma", "near Suba"), never
    acts, has no title and is no known first name: the model's guess for an unfamiliar place."""
    return (
        " " not in cluster.name and not cluster.titles and gender_of_first_name(cluster.name) is None
        and any(m.after_locative for m in cluster.mentions) and not any(m.is_subject for m in cluster.mentions)
    )


def _parenthesised_acronym(segment: Segment, mention: Mention) -> str | None:
    doc, after = segment.doc, mention.last_token
    if after + 2 < len(doc) and doc[after].text == "(" and doc[after + 2].text == ")":
        candidate = doc[after + 1].text
        if ACRONYM_RE.match(candidate):
            return candidate
        if candidate.isalpha() and candidate[:1].isupper() and len(candidate) >= 3 \
                and candidate.upper() == _initials(mention.text):
            return candidate  # "Health Information and Quality Authority (Hiqa)": an acronym written as a word
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
    worded = {acronym for _, acronym in acronyms if not ACRONYM_RE.match(acronym)}
    merged: list[EntityCluster] = []
    for cluster in clusters:
        text = cluster.mentions[0].text
        target = expansion.get(text.replace(".", "")) if ACRONYM_RE.match(text) or text in worded else None
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
        kind = "PERSON" if full.label == "PERSON" else "ORG" if full.label == "ORG" else (
            "PLACE" if full.label in PLACE_LABELS else None)
        if kind is None:
            continue
        for form in {m.text for m in full.mentions}:
            words = _name_words(form)
            inner = [(kind, "inner", (w,)) for w in words[1:-1] if kind == "PERSON" and w not in PARTICLES]
            for size in range(1, len(words)):
                for key in ((kind, "end", words[-size:]), (kind, "start", words[:size]), *inner):
                    owners = by_part.setdefault(key, [])
                    if full not in owners:
                        owners.append(full)
    kept: list[EntityCluster] = []
    for cluster in clusters:
        words = tuple(cluster.mentions[0].text.casefold().split())
        target = None
        if (len([w for w in words if w not in PARTICLES]) <= 2 or "&" in words) and all(len(m.text.split()) == len(words) for m in cluster.mentions):
            target = _short_form_target(cluster, words, by_part)
        if target is None or target is cluster:
            kept.append(cluster)
            continue
        target.fixed_label = target.label  # the short forms' own labels were the model's slips
        _merge(target, cluster)
    return kept


def _name_words(name: str) -> tuple[str, ...]:
    """The words of a name without a generational suffix ("Emanuel Cleaver II" -> emanuel, cleaver)."""
    words = name.casefold().split()
    while len(words) > 1 and words[-1].rstrip(".") in NAME_SUFFIXES:
        words.pop()
    return tuple(words)


def _short_form_target(
    cluster: EntityCluster, words: tuple[str, ...], by_part: dict[tuple[str, str, tuple[str, ...]], list[EntityCluster]]
) -> EntityCluster | None:
    if _person_like(cluster):
        candidates = by_part.get(("PERSON", "end", words), [])
        if not candidates and len(words) == 1 and len(by_part.get(("PERSON", "inner", words), [])) == 1:
            candidates = by_part[("PERSON", "inner", words)]  # "Villaseñor" of "Lorena Villaseñor de la Garza"
        if not candidates and len(words) == 1:
            candidates = by_part.get(("PERSON", "start", words), [])
            if len(candidates) > 1:
                return None
        if candidates:
            return _latest_before(cluster, candidates)
    if cluster.label in PLACE_LABELS and len(words) == 1:  # "Thwaites" -> "Thwaites Glacier"
        unique = [c for c in by_part.get(("PLACE", "start", words), []) if c is not cluster
                  and _ends_in_place_word(c.mentions[0].text)]
        if len(unique) == 1:
            return unique[0]
    if cluster.label in ("ORG", "PERSON"):
        candidates = by_part.get(("ORG", "start", words), []) + by_part.get(("ORG", "end", words), [])
        unique = list({id(c): c for c in candidates if c is not cluster}.values())
        if len(unique) == 1:
            return unique[0]
    return None


def _ends_in_place_word(name: str) -> bool:
    """'Thwaites Glacier', 'Miyazaki Prefecture': a name whose last word says it is a place."""
    last = name.split()[-1]
    return last[:1].isupper() and is_place_word(last)


def _latest_before(cluster: EntityCluster, candidates: list[EntityCluster]) -> EntityCluster:
    candidates = [c for c in candidates if c is not cluster] or candidates
    first = cluster.first_start
    before = [f for f in candidates if f.first_start <= first]
    return max(before, key=lambda f: f.first_start) if before else min(candidates, key=lambda f: f.first_start)


def _person_like(cluster: EntityCluster) -> bool:
    """A short form that may be a surname: mostly tagged PERSON, an ORG, a subject, or a one-word
    place that a full name ends with (the caller checks that) and that never follows "in"/"at"
    ("According to Blinken" tagged as a place)."""
    votes = cluster.label_votes()
    return (
        votes.get("PERSON", 0) * 2 >= sum(votes.values())
        or cluster.label == "ORG"
        or any(m.is_subject for m in cluster.mentions)
        or (len(cluster.mentions[0].text.split()) == 1 and not any(m.after_locative for m in cluster.mentions))
    )


def _count_untagged(index: EntityIndex, segments: list[Segment]) -> None:
    """Count surnames and acronyms the model did not tag as mentions of their entity."""
    single: dict[str, EntityCluster] = {}
    for cluster in index.clusters:
        for alias in cluster.aliases:
            if " " not in alias and (cluster.label == "PERSON" or ACRONYM_RE.match(alias)):
                single.setdefault(alias, cluster)
        if cluster.label == "PERSON" and " " in cluster.name:
            single.setdefault(surname(cluster.name), cluster)
        for title in cluster.titles:
            if title.startswith("acronym:"):
                single.setdefault(title.split(":", 1)[1], cluster)
    if not single:
        return
    words = "|".join(re.escape(w) for w in sorted(single, key=len, reverse=True))
    pattern = re.compile(r"(?<!\w)(?:" + words + r")(?!\w)")
    for segment in segments:
        doc = segment.doc
        lowercase_words, _ = word_tables(segment.text)
        for match in pattern.finditer(segment.text):
            span = doc.char_span(match.start(), match.end())
            if span is None or (len(span) != 1 and " " in span.text):  # "Abrahams-Petersen" is three tokens
                continue
            token = span[-1]
            word = match.group()
            if any(index.at_token(segment.number, t.i) is not None for t in span):
                continue
            if token.pos_ != "PROPN" and not ACRONYM_RE.match(word):
                continue
            cluster = single[word]
            first = span.start
            if cluster.label == "PERSON" and " " not in cluster.name:
                first = extend_first_name(doc, span.start, token.i + 1, lowercase_words)
            start = segment.body_pos(doc[first].idx)
            text = doc[first:token.i + 1].text
            subject, main = subject_roles(doc, first, token.i + 1)
            mention = Mention(start, start + len(text), text, cluster.label, segment.number,
                              first, token.i + 1, subject, main_subject=main)
            cluster.mentions.append(mention)
            for position in range(first, token.i + 1):
                index._by_token[(segment.number, position)] = cluster
