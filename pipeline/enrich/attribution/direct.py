"""The sieves that find the speaker of a direct quote, in the order they run by default.

Local sieves (one quote's own sentence): `trigram`, `dependency`, `according_to`, `colon`,
`narration_subject`.
Context sieves (borrow from the quotes and sentences around): `paragraph_chain`,
`previous_quote`, `previous_sentence`.
"""

from __future__ import annotations

from pipeline.enrich.attribution.base import QuoteSieve, QuoteSite, Reads, quote_site
from pipeline.enrich.attribution.context import OBJECT_DEPS, SUBJECT_DEPS, ArticleView, Finding
from pipeline.enrich.attribution.resolve import SpeakerResolver
from pipeline.enrich.cues import ACCORDING
from pipeline.enrich.entities import EntityCluster
from pipeline.enrich.names import ORG_NOUNS, PERSON_NOUNS, TITLE_WORDS
from pipeline.enrich.quotes import QuoteSpan

__all__ = ["TrigramSieve", "DependencySieve", "AccordingToSieve", "ColonSieve", "NarrationSubjectSieve", "ParagraphChainSieve",
           "PreviousQuoteSieve", "PreviousSentenceSieve", "DIRECT_SIEVES"]

_EARLY_TOKENS = 8
_PRONOUNS = frozenset({"he", "she", "they", "it"})
_LEADING_MARKS = frozenset({",", "—", "–", "-"})


def _site(view: ArticleView, quote: QuoteSpan, cache: dict) -> QuoteSite | None:
    key = (quote.open, quote.close)
    if key not in cache:
        cache[key] = quote_site(view, quote)
    return cache[key]


def _continues_after(site: QuoteSite) -> bool:
    """The sentence goes on after the closing mark (`," she said`), so what follows may attribute it."""
    return bool(site.post) and not site.terminal and (site.comma_close or site.post[0].text in _LEADING_MARKS)


def _ends_phrase(tokens: list, index: int) -> bool:
    """Nothing after the speaker's words binds to them: the end, punctuation other than a possessive,
    or a word that is not a noun ("said Blinken on Thursday", but not "said the board's chairwoman")."""
    if index >= len(tokens):
        return True
    token = tokens[index]
    if token.lower_ in ("'s", "’s", "'", "’"):
        return False
    if token.text in ("-", "–") and not tokens[index - 1].whitespace_:
        return False  # "Los Angeles-based attorney X": the place only modifies
    return token.is_punct or token.pos_ not in ("NOUN", "PROPN", "PART")


def _noun_phrase_ends(tokens: list, index: int) -> bool:
    """After "said the company": the sentence ends, or a comma not followed by a name (which would be the
    speaker: "said the American ambassador at the time, John E. Herbst")."""
    if index >= len(tokens) or tokens[index].text in (".", ";", "!", "?"):
        return True
    if tokens[index].text != ",":
        return False
    following = tokens[index + 1] if index + 1 < len(tokens) else None
    return following is None or not (following.pos_ == "PROPN" or following.ent_type_)


def _speaker_words(tokens: list, start: int, step: int) -> tuple[list, int]:
    """The words naming a speaker that begin at `tokens[start]` going `step` (+1 or -1), and the index
    just past them: a name (titles and a role before it skipped: "county commissioner Duane Flowers"),
    a pronoun, or a noun phrase whose head is a role or organisation noun ("the company", "a
    resident"). Going forward the words must end the phrase. No words: ([], start)."""
    index = start
    if step > 0:  # "said Rep. Emanuel Cleaver II", "said county commissioner Duane Flowers"
        role = index
        while role < len(tokens) and tokens[role].pos_ in ("DET", "ADJ", "NOUN", "PROPN") and not (
            tokens[role].pos_ == "PROPN" and tokens[role].lower_.rstrip(".") not in TITLE_WORDS
        ):
            role += 1
        if role > index and role < len(tokens) and tokens[role].pos_ == "PROPN" and (
            tokens[role - 1].lower_.rstrip(".") in TITLE_WORDS | PERSON_NOUNS
        ):
            index = role
    if not 0 <= index < len(tokens):
        return [], start
    first = tokens[index]
    if step < 0 and SpeakerResolver.age_of(first) and index >= 4:  # "the 58-year-old said"
        return tokens[index - 4:index + 1], index - 5
    if step > 0 and index + 5 < len(tokens) and SpeakerResolver.age_of(tokens[index + 5]):
        return tokens[index:index + 6], index + 6
    if first.pos_ == "PRON":
        return ([first], index + step) if first.lower_ in _PRONOUNS else ([], start)
    run = []
    if first.pos_ == "PROPN" or first.ent_type_:
        while 0 <= index < len(tokens):
            token = tokens[index]
            inside = token.pos_ == "PROPN" or (token.ent_iob_ == "I" if step > 0 else bool(token.ent_type_))
            if not inside or (step > 0 and run and token.ent_iob_ == "B"):
                break
            run.append(token)
            index += step
            if step < 0 and token.ent_iob_ == "B":
                break
        if step > 0 and not _ends_phrase(tokens, index):
            return [], start
        return sorted(run, key=lambda t: t.i), index
    while 0 <= index < len(tokens) and tokens[index].pos_ in ("DET", "ADJ", "NOUN", "PROPN", "NUM"):
        run.append(tokens[index])
        index += step
    if step > 0 and not _noun_phrase_ends(tokens, index):
        return [], start
    run.sort(key=lambda t: t.i)
    if run and run[-1].pos_ == "NOUN" and run[-1].lower_ in ORG_NOUNS | PERSON_NOUNS | TITLE_WORDS:
        return run, index
    return [], start


class _SiteSieve(QuoteSieve):
    """A local sieve that reads the words around the quote in its sentence (`at_site`)."""

    def attribute(self, number, quotes, findings, view, resolver):
        site = _site(view, quotes[number], view.sites)
        return self.at_site(site, view, resolver) if site is not None else None

    def at_site(self, site: QuoteSite, view: ArticleView, resolver: SpeakerResolver) -> Finding | None:
        raise NotImplementedError


class TrigramSieve(_SiteSieve):
    """A name, pronoun or role right next to a reporting verb right next to the quote (CoreNLP's trigram
    patterns): `"…," Blinken said`, `"…," said Pieter van Dijk, a crane operator`, `"…," she told
    reporters`, `"…," the company said`, `Harris said: "…"`. Reads no parse: token order, tags, entities."""

    name = "trigram"
    reads = Reads(entities=True, pos=True)

    def at_site(self, site, view, resolver):
        cues = view.cues
        if _continues_after(site):
            tokens = [t for t in site.post]
            while tokens and tokens[0].text in _LEADING_MARKS:
                tokens.pop(0)
            if tokens and cues.verb_lemma(tokens[0]):  # QVC: said Blinken
                words, _ = _speaker_words(tokens, 1, +1)
                if words:
                    return Finding(resolver.resolve_words(words, site.segment).speaker, tokens[0].text, self.name)
            words, end = _speaker_words(tokens, 0, +1)  # QCV: Blinken said
            after = _skip_aside(tokens[end:]) if words else []
            if after and cues.verb_lemma(after[0]):
                return Finding(resolver.resolve_words(words, site.segment).speaker, after[0].text, self.name)
        tokens = list(site.pre)
        while tokens and tokens[-1].text in (":", ",", "that"):
            tokens.pop()
        if tokens and cues.verb_lemma(tokens[-1]):  # CVQ: Harris said: "…"
            words, _ = _speaker_words(tokens, len(tokens) - 2, -1)
            if words and words[-1].i == tokens[-1].i - 1:
                return Finding(resolver.resolve_words(words, site.segment).speaker, tokens[-1].text, self.name)
        return None


def _words(tokens: list) -> list:
    return [t for t in tokens if not (t.is_punct or t.is_space)]


def _skip_aside(tokens: list) -> list:
    """Drop a bracketed aside or one adverb between a name and its verb ("Cleaver (D-Mo.) said", "Blinken also said")."""
    if tokens and tokens[0].text == "(":
        for at, token in enumerate(tokens[:8]):
            if token.text == ")":
                return tokens[at + 1:]
        return tokens
    if tokens and tokens[0].pos_ == "ADV":
        return tokens[1:]
    return tokens


class DependencySieve(_SiteSieve):
    """The reporting verb nearest the quote in its sentence, and that verb's subject in the dependency
    parse (or the clause it hangs from): `"…," Marsh told reporters outside the courthouse`, `She warned
    that "…"`, `"…," said Jeffrey Bewkes, the chief executive of Time Warner`."""

    name = "dependency"
    reads = Reads(entities=True, pos=True, parse=frozenset({"quote"}))

    def at_site(self, site, view, resolver):
        cues = view.cues
        if _continues_after(site):
            for token in [t for t in site.post if not t.is_punct][:_EARLY_TOKENS]:
                if cues.verb_lemma(token):
                    slot = resolver.speaker_of_verb(token, site.post, site.segment)
                    if slot is not None:
                        return Finding(slot.speaker, token.text, self.name)
                    break
        for token in reversed(site.pre):
            if cues.verb_lemma(token):
                slot = resolver.speaker_of_verb(token, site.pre, site.segment)
                if slot is not None:
                    return Finding(slot.speaker, token.text, self.name)
                break
        if site.post and not site.terminal:
            for token in site.post:
                if cues.verb_lemma(token):
                    subjects = [c for c in token.children if c.dep_ in SUBJECT_DEPS and c in site.post]
                    if subjects:
                        return Finding(resolver.resolve(subjects[0], site.segment).speaker, token.text, self.name)
        return None


class AccordingToSieve(_SiteSieve):
    """"According to X" before or after the quote in its sentence: `According to Altman, "…"`."""

    name = "according_to"
    reads = Reads(entities=True, pos=True, parse=frozenset({"quote"}))

    def at_site(self, site, view, resolver):
        for window in (site.post if _continues_after(site) else [], site.pre):
            for token in window:
                if view.cues.is_according(token):
                    slot = resolver.according_to(token, site.segment)
                    if slot is not None and slot.speaker is not None:
                        return Finding(slot.speaker, ACCORDING, self.name)
        return None


class ColonSieve(_SiteSieve):
    """A sentence that introduces the quote with a colon and no reporting verb: the subject of the words
    before the colon (`Harris was blunt when asked about the opposition: "…"`)."""

    name = "colon"
    reads = Reads(entities=True, pos=True, parse=frozenset({"quote"}))

    def at_site(self, site, view, resolver):
        if not site.pre or site.pre[-1].text != ":":
            return None
        subjects = [t for t in site.pre if t.dep_ in SUBJECT_DEPS]
        slot = resolver.first_nominal(subjects or site.pre, site.segment)
        return Finding(slot.speaker, None, self.name) if slot is not None else None


class NarrationSubjectSieve(_SiteSieve):
    """A quoted phrase inside a sentence of narration with no reporting verb next to it: the subject of
    the sentence, when it stands outside the quote (`Paul Ryan described the safety net as "a hammock
    that lulls able-bodied people"`)."""

    name = "narration_subject"
    reads = Reads(entities=True, pos=True, parse=frozenset({"quote"}))

    def at_site(self, site, view, resolver):
        if not (_words(site.pre) or _words(site.post)):
            return None
        tokens = _words(site.pre) or _words(site.post)
        root = tokens[0].sent.root
        allowed = resolver.readable(root, site.segment)
        if not allowed(root):
            return None
        subjects = [c for c in root.children if c.dep_ in SUBJECT_DEPS and allowed(c)]
        if not subjects:
            return None
        slot = resolver.resolve(subjects[0], site.segment)
        return Finding(slot.speaker, None, self.name) if slot.speaker is not None else None


class ParagraphChainSieve(QuoteSieve):
    """A quote over several paragraphs (each opens with a mark, only the last closes) has one speaker:
    the one found for any of its parts."""

    name = "paragraph_chain"
    reads = Reads()
    local = False

    def attribute(self, number, quotes, findings, view, resolver):
        chain = quotes[number].chain
        for other, finding in zip(quotes, findings):
            if other.chain == chain and finding is not None and other is not quotes[number]:
                return Finding(finding.speaker, finding.cue, self.name)
        return None


class PreviousQuoteSieve(QuoteSieve):
    """A quote with no attribution of its own continues the quote before it, in the same or the
    previous paragraph (a speaker's words broken by narration)."""

    name = "previous_quote"
    reads = Reads()
    local = False

    def attribute(self, number, quotes, findings, view, resolver):
        site = _site(view, quotes[number], view.sites)
        if site is not None and (_words(site.pre) or _words(site.post)):
            return None  # a quote inside narration is not a speaker's words going on
        previous = number - 1
        if previous >= 0 and quotes[previous].paragraph >= quotes[number].paragraph - 1 and findings[previous]:
            found = findings[previous]
            return Finding(found.speaker, None, self.name)
        return None


class PreviousSentenceSieve(QuoteSieve):
    """An unattributed quote after a sentence about a person: that sentence's subject person, or its
    pronoun subject, or the first person in it who is not an object ("Speaking in Lisbon, Dmitri
    Osei, a spokesperson, said he understood the anger. "…"")."""

    name = "previous_sentence"
    reads = Reads(entities=True, pos=True, parse=frozenset({"previous"}))
    local = False

    def attribute(self, number, quotes, findings, view, resolver):
        speaker = _previous_sentence_person(view, resolver, quotes[number])
        return Finding(speaker, None, self.name) if speaker is not None else None


def _previous_sentence_person(view: ArticleView, resolver: SpeakerResolver, quote: QuoteSpan) -> EntityCluster | None:
    floor = view.sentence_floor(quote.open, 1)
    people = []
    for mention, cluster in view.mentions_before(quote.open):
        if mention.start < floor:
            break
        if view.label_of(cluster) == "PERSON" and mention.start >= 0:
            people.append((mention, cluster))
    for mention, cluster in people:
        if mention.is_subject:
            return cluster
    segment = view.segment_of(quote.open)
    if segment is not None:
        span = segment.doc.char_span(max(0, segment.doc_pos(floor)), segment.doc_pos(quote.open), alignment_mode="expand")
        for token in span if span is not None else ():
            if token.dep_ in SUBJECT_DEPS and token.lower_ in ("he", "she", "him", "her"):
                return resolver.pronoun(token.lower_, segment.token_body_start(token.i))
    for mention, cluster in reversed(people):
        doc = view.segments[mention.segment].doc
        if doc[mention.last_token - 1].dep_ not in OBJECT_DEPS:
            return cluster
    return None


DIRECT_SIEVES = (TrigramSieve, DependencySieve, AccordingToSieve, ColonSieve, NarrationSubjectSieve,
                 ParagraphChainSieve, PreviousQuoteSieve, PreviousSentenceSieve)
