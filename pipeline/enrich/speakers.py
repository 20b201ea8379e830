"""Who said each quote: attribution around the quote marks, then resolution to an entity.

For each quote the words outside quotes in its sentence are read: after the quote
(`," Blinken said`, `," said Blinken, the ...`, `," she told reporters`), before it
(`Blinken said: "`, `She warned that "`, `According to X, "`, `was blunt when asked: "`).
The reporting verb's subject (or the noun phrase next to it) is resolved to an entity:
names through the entity index, pronouns to the right earlier person (subjects first, by
gender when known), "the ministry" to the ministry named earlier. A quote left without
attribution takes the speaker of the quote before it (same or previous paragraph), and
the parts of a quote over several paragraphs share one speaker.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.enrich.entities import EntityCluster, EntityIndex, Mention
from pipeline.enrich.names import ORG_NOUNS, PERSON_NOUNS, REPORTING_VERBS, TITLE_WORDS
from pipeline.enrich.quotes import QuoteSpan
from pipeline.enrich.segments import Segment

__all__ = ["Attribution", "attribute_quotes"]

_ALWAYS_VERBS = frozenset({"said", "says", "told", "according", "added", "asked"})
_MALE = frozenset({"he", "him"})
_FEMALE = frozenset({"she", "her"})
_PLURAL = frozenset({"they", "them"})
_INDEFINITE = frozenset({"a", "an", "one", "another", "some", "several", "many", "two", "three"})
_SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass"})
_OBJECT_DEPS = frozenset({"pobj", "dobj", "iobj", "poss", "dative"})
_SENTENCE_END = frozenset({".", "!", "?"})
_EARLY_TOKENS = 8
_WINDOW_TOKENS = 40
_LOOK_BACK_MENTIONS = 200


@dataclass(frozen=True)
class Attribution:
    """The speaker of a quote: an entity, or None when the speaker is unnamed or unknown."""

    speaker: EntityCluster | None
    attributed: bool  # True when the text names a speaker slot, even an unnamed one


_UNATTRIBUTED = Attribution(None, False)


class _Article:
    """What attribution needs to know about one article."""

    def __init__(self, segments: list[Segment], index: EntityIndex, quotes: list[QuoteSpan]) -> None:
        self.segments = segments
        self.index = index
        self.regions = sorted((q.open, q.close) for q in quotes)
        self._region_starts = [r[0] for r in self.regions]
        self._sentence_starts: list[int] | None = None
        self.mentions = sorted(
            ((m, c) for c in index.clusters for m in c.mentions if not self.in_quote(m.start)),
            key=lambda pair: pair[0].start,
        )
        self._mention_starts = [m.start for m, _ in self.mentions]

    def in_quote(self, position: int) -> bool:
        at = bisect.bisect_right(self._region_starts, position) - 1
        return at >= 0 and self.regions[at][0] <= position < self.regions[at][1]

    def segment_of(self, position: int) -> Segment | None:
        for segment in self.segments:
            local = segment.doc_pos(position)
            if 0 <= local < segment.length:
                return segment
        return None

    @property
    def sentence_starts(self) -> list[int]:
        if self._sentence_starts is None:  # only pronouns and unattributed quotes need sentences
            starts = [segment.body_pos(sent.start_char) for segment in self.segments for sent in segment.doc.sents]
            self._sentence_starts = sorted(starts)
        return self._sentence_starts

    def sentence_floor(self, position: int, back: int) -> int:
        """Start of the sentence `back` sentences before the one holding `position`."""
        starts = self.sentence_starts
        at = bisect.bisect_right(starts, position) - 1
        at = max(0, at - back)
        return starts[at] if starts else 0

    def mentions_before(self, position: int) -> Iterator[tuple[Mention, EntityCluster]]:
        """Mentions outside quotes that start before `position`, latest first (a bounded look-back)."""
        end = bisect.bisect_left(self._mention_starts, position)
        for at in range(end - 1, max(-1, end - 1 - _LOOK_BACK_MENTIONS), -1):
            yield self.mentions[at]


def _name_shaped(cluster: EntityCluster) -> bool:
    """Two or three capitalised words, like a person's name ("Isla MacLeod")."""
    words = cluster.name.split()
    return 2 <= len(words) <= 3 and all(w[:1].isupper() and w.replace("-", "").isalpha() for w in words)


def _subject_of(verb, in_window: set[int]):
    """The subject of a reporting verb, or of the clause it hangs from ('..., calling it "..."')."""
    current = verb
    for _ in range(3):
        subjects = [c for c in current.children if c.dep_ in _SUBJECT_DEPS and c.i in in_window]
        if subjects:
            return subjects[0]
        if current.head is current or current.dep_ not in ("advcl", "xcomp", "conj", "ccomp") or current.head.i not in in_window:
            return None
        current = current.head
    return None


def _token_at(segment: Segment, position: int, side: str) -> int | None:
    doc = segment.doc
    local = segment.doc_pos(position)
    span = doc.char_span(local, local + 1, alignment_mode="expand")
    if span is None or len(span) == 0:
        return None
    return span.start if side == "start" else span.end - 1


def _is_boundary(token) -> bool:
    return token.text in _SENTENCE_END or ("\n" in token.text) or ("\n" in token.whitespace_ and token.is_space)


def _window(article: _Article, segment: Segment, start: int, step: int) -> list:
    """Tokens outside quotes from token `start` going `step` (+1/-1) until the sentence ends."""
    doc = segment.doc
    tokens = []
    index = start
    while 0 <= index < len(doc) and len(tokens) < _WINDOW_TOKENS:
        token = doc[index]
        if _is_boundary(token) or article.in_quote(segment.token_body_start(index)):
            break
        if step > 0 and "\n" in token.whitespace_:
            tokens.append(token)
            break
        tokens.append(token)
        index += step
    return tokens if step > 0 else tokens[::-1]


def _is_reporting_verb(token) -> bool:
    word = token.lower_
    if word not in REPORTING_VERBS:
        return False
    return word in _ALWAYS_VERBS or token.pos_ in ("VERB", "AUX") or token.tag_.startswith("VB")


class _Resolver:
    def __init__(self, article: _Article) -> None:
        self.article = article

    def speaker_of_verb(self, verb, window: list, segment: Segment) -> Attribution | None:
        in_window = {t.i for t in window}
        if verb.lower_ == "according":
            after = [t for t in window if t.i > verb.i + 1]
            return self.first_nominal(after, segment)
        subject = _subject_of(verb, in_window)
        if subject is not None:
            return self.resolve(subject, segment)
        before = [t for t in window if t.i < verb.i][::-1]
        after = [t for t in window if t.i > verb.i]
        return self.first_nominal(before, segment) or self.first_nominal(after, segment)

    def first_nominal(self, tokens: list, segment: Segment) -> Attribution | None:
        """The first token that can name a speaker: an entity, a name, a pronoun, a role or an organisation."""
        for token in tokens:
            if self.article.index.at_token(segment.number, token.i):
                return self.resolve(token, segment)
            word = token.lower_.rstrip(".")
            if token.pos_ == "PROPN" and word in TITLE_WORDS:
                continue
            if token.pos_ in ("PROPN", "PRON") or (
                token.pos_ == "NOUN" and (word in ORG_NOUNS or word in PERSON_NOUNS or word in TITLE_WORDS)
            ):
                return self.resolve(token, segment)
        return None

    def resolve(self, token, segment: Segment) -> Attribution:
        """The entity a speaker token stands for: its own entity, a name, a pronoun's person, a noun's organisation."""
        index = self.article.index
        cluster = index.at_token(segment.number, token.i)
        if cluster is None:  # "a Commission spokesperson", "the director, Nicholas Cullinan,"
            related = [c for c in token.children if c.dep_ in ("appos", "compound", "flat", "nmod")]
            related.sort(key=lambda c: c.dep_ != "appos")
            cluster = next(
                (found for c in related if (found := index.at_token(segment.number, c.i)) is not None), None
            )
        if cluster is not None:
            return Attribution(cluster, True)
        position = segment.token_body_start(token.i)
        word = token.lower_
        if token.pos_ == "PRON":
            return Attribution(self.pronoun(word, position), True)
        if token.pos_ == "PROPN":
            return Attribution(self.proper_name(token, segment), True)
        return Attribution(self.noun_phrase(token, position), True)

    def pronoun(self, word: str, position: int) -> EntityCluster | None:
        if word in _MALE or word in _FEMALE:
            return self.person_pronoun("m" if word in _MALE else "f", position)
        if word in _PLURAL or word == "it":
            for mention, cluster in self.article.mentions_before(position):
                if cluster.label == "ORG" and mention.is_subject:
                    return cluster
        return None

    def person_pronoun(self, gender: str, position: int) -> EntityCluster | None:
        """The person 'he' or 'she' points at: a subject of the last sentences first, the nearest person next.

        A gender known from a title ("Ms.") rules a person out; one guessed from a first name
        only makes the person a second choice.
        """
        floor = self.article.sentence_floor(position, 2)
        subjects: list[EntityCluster] = []
        others: list[EntityCluster] = []
        name_shaped = None
        for mention, cluster in self.article.mentions_before(position):
            if mention.start < 0:
                continue  # the headline is not where a body's pronoun points
            if cluster.label != "PERSON" or (mention.by_context and mention.label != "PERSON"):
                if name_shaped is None and cluster.label != "PERSON" and _name_shaped(cluster):
                    name_shaped = cluster
                continue
            if cluster.gender not in (None, gender) and cluster.gender_from_title:
                continue
            if mention.start >= floor and mention.is_subject:
                subjects.append(cluster)
            else:
                others.append(cluster)
        for pool in (subjects, others):
            for cluster in pool:
                if cluster.gender in (None, gender):
                    return cluster
            if pool:
                return pool[0]
        if name_shaped is not None:
            name_shaped.label = "PERSON"  # "she" points at it: the model's ORG was wrong
            return name_shaped
        return None

    def proper_name(self, token, segment: Segment) -> EntityCluster | None:
        index = self.article.index
        words = [c for c in token.children if c.dep_ in ("compound", "flat") and c.i < token.i] + [token]
        name = " ".join(t.text for t in sorted(words, key=lambda t: t.i))
        found = index.by_name(name) or index.by_name(token.text)
        if found is not None:
            return found
        if not all(t.text[:1].isupper() and t.text.isalpha() for t in words) or token.lower_ in TITLE_WORDS:
            return None
        cluster = EntityCluster(number=len(index.clusters))
        first = min(t.i for t in words)
        start = segment.token_body_start(first)
        cluster.mentions.append(
            Mention(start, start + len(name), name, "PERSON", segment.number, first, token.i + 1, True)
        )
        cluster.name, cluster.label, cluster.aliases = name, "PERSON", [name]
        index.add(cluster)
        return cluster

    def noun_phrase(self, token, position: int) -> EntityCluster | None:
        determiners = [c.lower_ for c in token.children if c.dep_ in ("det", "nummod")]
        if any(d in _INDEFINITE for d in determiners):
            return None
        head = token.lower_
        modifiers = {c.lower_ for c in token.children if c.dep_ in ("compound", "amod")}
        before = list(self.article.mentions_before(position))
        if head in ORG_NOUNS:
            best = None
            for _, cluster in before:
                if cluster.label != "ORG":
                    continue
                words = {w.lower() for w in cluster.name.split()}
                if head in words and modifiers <= words:
                    return cluster
                if head in words and best is None:
                    best = cluster
            if best is not None:
                return best
            for _, cluster in before:
                if cluster.label == "ORG":
                    return cluster
            for mention, cluster in before:
                if mention.is_subject and cluster.label == "PERSON" and not cluster.titles and cluster.gender is None:
                    cluster.label = "ORG"  # "the agency said" points at it: the model's PERSON was wrong
                    return cluster
            return None
        if head in TITLE_WORDS:
            for _, cluster in before:
                if cluster.label == "PERSON" and head in cluster.titles:
                    return cluster
        return None


def _attribute_one(article: _Article, resolver: _Resolver, quote: QuoteSpan, body: str) -> Attribution:
    segment = article.segment_of(quote.open)
    if segment is None:
        return _UNATTRIBUTED
    open_token = _token_at(segment, quote.open, "start")
    if open_token is None:
        return _UNATTRIBUTED
    pre = _window(article, segment, open_token - 1, -1)
    if quote.closed:
        close_token = _token_at(segment, max(quote.close - 1, quote.open), "end")
        after = close_token + 1 if close_token is not None else None
    else:  # an unclosed quote cut where its attribution starts
        after = _token_at(segment, quote.end, "start") if quote.close < len(body) else None
    post = _window(article, segment, after, +1) if after is not None else []

    inner_end = body[quote.start:quote.end].rstrip()
    terminal = inner_end.endswith(".") or inner_end.endswith("...")
    comma_close = quote.closed and body[quote.start:quote.close - 1].rstrip().endswith((",", "?", "!", "—", "-"))

    if post and not terminal and (comma_close or post[0].text in (",", "—")):
        content = [t for t in post if not t.is_punct][:_EARLY_TOKENS]
        for token in content:
            if _is_reporting_verb(token):
                found = resolver.speaker_of_verb(token, post, segment)
                if found is not None and (found.speaker is not None or token.lower_ != "according"):
                    return found
                break
    for token in reversed(pre):
        if _is_reporting_verb(token):
            found = resolver.speaker_of_verb(token, pre, segment)
            if found is not None:
                return found
            break
    if pre and pre[-1].text == ":":
        subjects = [t for t in pre if t.dep_ in _SUBJECT_DEPS]
        found = resolver.first_nominal(subjects or pre, segment)
        if found is not None:
            return found
    if post and not terminal:
        for token in post:
            if _is_reporting_verb(token):
                subjects = [c for c in token.children if c.dep_ in _SUBJECT_DEPS and c in post]
                if subjects:
                    return resolver.resolve(subjects[0], segment)
    return _UNATTRIBUTED


def _previous_sentence_subject(article: _Article, resolver: _Resolver, quote: QuoteSpan) -> EntityCluster | None:
    """Who the sentence before an unattributed quote is about: its subject person, or its pronoun subject,
    or the first person in it who is not an object ("Speaking in Lisbon, Dmitri Osei, a spokesperson, ...")."""
    floor = article.sentence_floor(quote.open, 1)
    people = []
    for mention, cluster in article.mentions_before(quote.open):
        if mention.start < floor:
            break
        if cluster.label == "PERSON" and mention.start >= 0:
            people.append((mention, cluster))
    for mention, cluster in people:
        if mention.is_subject:
            return cluster
    segment = article.segment_of(quote.open)
    if segment is not None:
        span = segment.doc.char_span(
            max(0, segment.doc_pos(floor)), segment.doc_pos(quote.open), alignment_mode="expand"
        )
        for token in span if span is not None else ():
            if token.dep_ in _SUBJECT_DEPS and token.lower_ in _MALE | _FEMALE:
                return resolver.pronoun(token.lower_, segment.token_body_start(token.i))
    for mention, cluster in reversed(people):
        doc = article.segments[mention.segment].doc
        if doc[mention.last_token - 1].dep_ not in _OBJECT_DEPS:
            return cluster
    return None


def attribute_quotes(
    segments: list[Segment], index: EntityIndex, quotes: list[QuoteSpan], body: str
) -> list[EntityCluster | None]:
    """The speaker entity of each quote (None when unnamed or unknown), in the quotes' order."""
    article = _Article(segments, index, quotes)
    resolver = _Resolver(article)
    found = [_attribute_one(article, resolver, quote, body) for quote in quotes]

    by_chain: dict[int, Attribution] = {}
    for quote, attribution in zip(quotes, found):
        if attribution.attributed:
            by_chain.setdefault(quote.chain, attribution)
    for number, quote in enumerate(quotes):
        if not found[number].attributed and quote.chain in by_chain:
            found[number] = by_chain[quote.chain]

    for number, quote in enumerate(quotes):
        if found[number].attributed:
            continue
        previous = number - 1
        if previous >= 0 and quotes[previous].paragraph >= quote.paragraph - 1 and found[previous].attributed:
            found[number] = found[previous]
            continue
        subject = _previous_sentence_subject(article, resolver, quote)
        if subject is not None:
            found[number] = Attribution(subject, True)
    return [a.speaker for a in found]
