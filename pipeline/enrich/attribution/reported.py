"""Reported speech: indirect quotes with their speaker, read from the parse around a reporting cue.

"Blinken said Israel must do more to protect civilians" reports what Blinken said without
quoting him. The content is the clause the cue governs, as it stands in the body, without a
leading "that" and the final punctuation; the speaker is the cue's subject, resolved like a
direct quote's. A clause that lies mostly inside quote marks is a direct quote's business and
is left alone; so is a clause inside another reported clause. Like the Gender Gap Tracker's
syntactic quotes, this reuses the dependency parse, and only of sentences holding a cue.
"""

from __future__ import annotations

from pipeline.enrich.attribution.base import IndirectQuote, Reads, ReportedSieve
from pipeline.enrich.attribution.context import SUBJECT_DEPS, ArticleView, Finding
from pipeline.enrich.attribution.resolve import SpeakerResolver, subject_of
from pipeline.enrich.cues import ACCORDING
from pipeline.enrich.segments import Segment

__all__ = ["ReportedClauseSieve", "ReportedInvertedSieve", "AccordingToClauseSieve", "REPORTED_SIEVES"]

MIN_CONTENT_WORDS = 3
# A clause this much inside quote marks is the quote itself ("He said: "…""): a direct quote's
# business. A clause partly quoted ("said the plan was "a start, not a solution"") is reported speech.
MAX_QUOTED_SHARE = 0.9
_TRAILING = frozenset({".", ",", ";", ":", "—", "–", "-"})
_CLAUSE_DEPS = frozenset({"ccomp"})
_INVERTED_DEPS = frozenset({"parataxis", "ccomp", "advcl"})
_SEPARATORS = frozenset({",", "—", "–"})
_CLAUSE_SUBJECTS = frozenset({"nsubj", "nsubjpass", "expl", "csubj", "csubjpass"})


def _cue_tokens(view: ArticleView):
    """(segment, token, lemma) for every reporting verb in the body outside quote marks."""
    for segment in view.segments:
        for token in segment.doc:
            if segment.token_body_start(token.i) < 0:
                continue  # the headline
            lemma = view.cues.verb_lemma(token)
            if lemma and not view.in_quote(segment.token_body_start(token.i)):
                yield segment, token, lemma


def _content(view: ArticleView, segment: Segment, first: int, last: int, taken: list[tuple[int, int]]) -> tuple[int, int] | None:
    """Body span of tokens first..last (inclusive) as reported content, or None when it is not one."""
    doc = segment.doc
    while first <= last and (doc[first].is_punct or doc[first].is_space or (doc[first].lower_ == "that" and doc[first].dep_ == "mark")):
        first += 1
    while last >= first and (doc[last].text in _TRAILING or doc[last].is_space):
        last -= 1
    for index in range(first + 1, last):  # "she wanted to return: "This city …"": the quote is its own
        if doc[index].text in (":", "—") and doc[index + 1].text in _OPENING_MARKS:
            last = index - 1
            break
    if last < first or sum(1 for t in doc[first:last + 1] if t.is_alpha) < MIN_CONTENT_WORDS:
        return None
    text = doc[first:last + 1].text
    if last + 1 < len(doc) and doc[last + 1].text in _CLOSING_MARKS and _opens_more(text):
        last += 1  # the quote mark closing a phrase inside the content, hung elsewhere by the parser
    start = segment.token_body_start(first)
    end = segment.body_pos(doc[last].idx + len(doc[last].text))
    if view.quoted_chars(start, end) > MAX_QUOTED_SHARE * (end - start):
        return None  # a direct quote with its cue ("He said: "…""), not reported speech
    if any(s <= start and end <= e for s, e in taken):
        return None  # inside a clause already reported
    return start, end


_CLOSING_MARKS = frozenset({'"', "”", "’", "'"})
_OPENING_MARKS = frozenset({'"', "“", "‘", "'"})


def _opens_more(text: str) -> bool:
    """More quote marks open than close in `text` (a quoted phrase left without its closing mark)."""
    return text.count("“") + text.count("‘") > text.count("”") + text.count("’") or text.count('"') % 2 == 1


_QUESTION_WORDS = frozenset({"whether", "if", "what", "who", "whom", "whose", "which", "why", "how", "when", "where"})


def _question_or_denial(verb, clause) -> bool:
    """'asked what she would miss', 'asked whether …', 'did not say whether …': a question or a refusal
    reports no content (but "said if he wins, …" does: that "if" opens a condition inside the content)."""
    if any(c.dep_ == "neg" for c in verb.children):
        return True
    if any(c.dep_ == "mark" and c.lower_ in ("whether", "if") for c in clause.children):
        return True
    first = clause.left_edge
    return first.lower_ in _QUESTION_WORDS and first.lower_ not in ("if", "when")


def _before_verb(verb) -> list:
    return [t for t in verb.sent if t.i <= verb.i]


def _core_edges(verb) -> tuple[int, int]:
    """First and last token of the short attribution ("Blinken said", "said Blinken on Thursday"):
    the verb and its children, without the clause it reports and the punctuation around it."""
    left = right = verb.i
    for child in verb.children:
        if child.dep_ in ("ccomp", "parataxis", "punct", "cc", "conj"):
            continue
        left, right = min(left, child.left_edge.i), max(right, child.right_edge.i)
    return left, right


def _complement(verb) -> tuple[object, int, int] | None:
    """The clause a reporting verb governs after it, as (its root, first token, last token): its
    complements (`ccomp`; a misparse may split one clause into two), or a "that" clause the parser hung
    on a noun after the verb as a relative clause ("told reporters outside the gates that morale …")."""
    clauses = [c for c in verb.children if c.dep_ in _CLAUSE_DEPS and c.i > verb.i]
    if clauses:
        return clauses[0], min(c.left_edge.i for c in clauses), max(c.right_edge.i for c in clauses)
    for token in verb.subtree:
        if token.i > verb.i and token.dep_ == "relcl" and any(
            c.dep_ == "mark" and c.lower_ == "that" for c in token.children
        ) and any(c.dep_ in SUBJECT_DEPS for c in token.children):
            return token, token.left_edge.i, token.right_edge.i
    return None


class ReportedClauseSieve(ReportedSieve):
    """A reporting verb and the clause it governs after it: `Blinken said Israel must do more`,
    `Trump told Fox News that he would win`; the speaker is the verb's subject."""

    name = "reported_clause"
    reads = Reads(entities=True, pos=True, parse=frozenset({"cue"}))

    def extract(self, view: ArticleView, resolver: SpeakerResolver, taken):
        found = []
        for segment, verb, _ in _cue_tokens(view):
            complement = _complement(verb)
            if complement is None:
                continue
            clause, first, last = complement
            if not any(t.dep_ in _CLAUSE_SUBJECTS for t in segment.doc[first:last + 1]):
                continue  # "what it says will be …": a clause without its own subject is not reported speech
            if _question_or_denial(verb, clause):
                continue
            span = _content(view, segment, first, last, taken)
            if span is None:
                continue
            window = _before_verb(verb)
            subject = subject_of(verb, resolver.readable(verb, segment))
            if subject is not None:
                slot = resolver.resolve(subject, segment)
            else:
                slot = resolver.first_nominal([t for t in window if t.i < verb.i][::-1], segment)
            found.append(IndirectQuote(*span, Finding(slot.speaker if slot else None, verb.text, self.name)))
            taken.append(span)
        return found


class ReportedInvertedSieve(ReportedSieve):
    """A clause with its attribution after it or inside it: `Israel must do more, Blinken said.`,
    `On top of safe areas, Blinken said, it would be important to…`; the verb needs its own subject."""

    name = "reported_inverted"
    reads = Reads(entities=True, pos=True, parse=frozenset({"cue"}))

    def extract(self, view: ArticleView, resolver: SpeakerResolver, taken):
        found = []
        for segment, verb, _ in _cue_tokens(view):
            subjects = [c for c in verb.children if c.dep_ in SUBJECT_DEPS]
            if not subjects:
                continue
            bounds = self._content_bounds(verb)
            if bounds is None:
                continue
            span = _content(view, segment, *bounds, taken)
            if span is None:
                continue
            slot = resolver.resolve(subjects[0], segment)
            found.append(IndirectQuote(*span, Finding(slot.speaker, verb.text, self.name)))
            taken.append(span)
        return found

    @staticmethod
    def _content_bounds(verb) -> tuple[int, int] | None:
        """Token range of the clause the verb's short attribution follows or interrupts."""
        doc = verb.doc
        left, right = _core_edges(verb)
        before = [c for c in verb.children if c.dep_ == "ccomp" and c.i < verb.i]
        if before:  # "Ensuring X was also key, Blinken said."  (the clause parsed as the verb's complement)
            clause = before[0]
            if left > 0 and doc[left - 1].text in _SEPARATORS:
                return clause.left_edge.i, left - 1
            return None
        head = verb.head
        if verb.dep_ not in _INVERTED_DEPS or head is verb or head.pos_ not in ("VERB", "AUX"):
            return None
        if any(c.dep_ in ("ccomp", "dobj") for c in verb.children):
            return None
        if head.i < verb.i:  # "Israel must do more, Blinken said."
            if left == 0 or doc[left - 1].text not in _SEPARATORS:
                return None
            return head.left_edge.i, left - 1
        if right + 1 >= len(doc) or doc[right + 1].text not in _SEPARATORS:  # "…, Blinken said, it would be…"
            return None
        return right + 1, head.right_edge.i


class AccordingToClauseSieve(ReportedSieve):
    """`According to X, CLAUSE` and `CLAUSE, according to X`: the clause, spoken by X."""

    name = "according_to_clause"
    reads = Reads(entities=True, pos=True, parse=frozenset({"cue"}))

    def extract(self, view: ArticleView, resolver: SpeakerResolver, taken):
        found = []
        for segment in view.segments:
            doc = segment.doc
            for token in doc:
                if not view.cues.is_according(token) or segment.token_body_start(token.i) < 0:
                    continue
                if view.in_quote(segment.token_body_start(token.i)):
                    continue
                head = token.head
                if head is token or head.pos_ not in ("VERB", "AUX"):
                    continue
                if token.i < head.i:
                    first, last = token.right_edge.i + 1, head.right_edge.i
                else:
                    first, last = head.left_edge.i, token.left_edge.i - 1
                span = _content(view, segment, first, last, taken)
                if span is None:
                    continue
                slot = resolver.according_to(token, segment)
                if slot is None:
                    continue
                found.append(IndirectQuote(*span, Finding(slot.speaker, ACCORDING, self.name)))
                taken.append(span)
        return found


REPORTED_SIEVES = (ReportedClauseSieve, ReportedInvertedSieve, AccordingToClauseSieve)
