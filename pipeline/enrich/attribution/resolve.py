"""From a speaker slot to an entity: the second stage of attribution (CoreNLP's mention -> speaker).

A sieve finds the words that name a quote's speaker; `SpeakerResolver` says which entity of
the article they stand for:
- a name: the entity at the token, or the one its apposition, compound or, for a spokesperson,
  its "for" phrase names ("a spokeswoman for Trump Hotels, Jennifer Rodstrom", "a Commission
  spokesperson", "a spokeswoman for Trump Hotels");
- "he"/"she": a person who is the subject of the last sentences first, by gender when known;
  "they"/"it": the organisation or place last named as a subject;
- "the ministry": the organisation named before whose name holds the noun;
- "the Republican lawmaker": the person named before whose titles or roles mean that office
  ("Rep. X", "X, a lawmaker"), else the one person who was the subject just before;
- a capitalised name the model missed: a new person, proposed to the label-corrections step.
A slot naming nobody in particular ("a resident said") resolves to no entity, but is a slot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.enrich.attribution.context import OBJECT_DEPS, SUBJECT_DEPS, ArticleView
from pipeline.enrich.entities import EntityCluster, Mention
from pipeline.enrich.names import (
    NAME_SUFFIXES,
    ORG_FIRST_WORDS,
    ORG_NOUNS,
    PERSON_NOUNS,
    PLACE_LABELS,
    ROLE_SYNONYMS,
    SPOKESPERSON_NOUNS,
    TITLE_WORDS,
    is_org_word,
    is_place_word,
    plural,
)
from pipeline.enrich.name_spans import POST_NOMINALS
from pipeline.enrich.segments import Segment

__all__ = ["Slot", "SpeakerResolver"]

_MALE = frozenset({"he", "him"})
_FEMALE = frozenset({"she", "her"})
_PLURAL = frozenset({"they", "them"})
_INDEFINITE = frozenset({"a", "an", "one", "another", "some", "several", "many", "two", "three"})
# Entity types that never speak: a capitalised "Wednesday" is not a name.
_NOT_SPEAKERS = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT", "QUANTITY"})
_PARTY_TAG = re.compile(r"\(\s*([DRI])\s*-")
_PARTIES = {"D": "democrat", "R": "republican", "I": "independent"}
ORG_NOUN_FORMS = ORG_NOUNS | {plural(w) for w in ORG_NOUNS}


@dataclass(frozen=True)
class Slot:
    """A speaker slot the text fills; `speaker` is None when it names nobody the article knows."""

    speaker: EntityCluster | None


def name_shaped(cluster: EntityCluster) -> bool:
    """Two or three capitalised words, like a person's name ("Isla MacLeod"), none of which makes it an
    organisation or a place ("Ghana Cocoa Board")."""
    words = cluster.name.split()
    return 2 <= len(words) <= 3 and all(w[:1].isupper() and w.replace("-", "").isalpha() for w in words) \
        and not any(is_org_word(w) or is_place_word(w) for w in words)


def subject_of(verb, allowed):
    """The subject of a reporting verb, or of the clause it hangs from ('..., calling it "..."',
    'X criticized the accord …, saying …'); the one nearest the verb when there are several (a
    dateline such as "LONDON (Reuters) -" can be parsed as a second subject). `allowed(token)` says
    which tokens may be read (the same sentence, outside quote marks)."""
    current = verb
    for _ in range(3):
        subjects = [c for c in current.children if c.dep_ in SUBJECT_DEPS and allowed(c)]
        if subjects:
            return min(subjects, key=lambda c: abs(c.i - current.i))
        if current.head is current or current.dep_ not in ("advcl", "xcomp", "conj", "ccomp") or not allowed(current.head):
            return None
        current = current.head
    return None


def _demonym(token) -> bool:
    """A capitalised word for where a person comes from: "Welshman", "Brazilian" (spaCy's NORP)."""
    return token.text[:1].isupper() and (token.ent_type_ == "NORP" or token.lower_.endswith(("man", "woman")))


class SpeakerResolver:
    def __init__(self, view: ArticleView) -> None:
        self.view = view
        self._roles: dict[int, set[str]] = {}

    # --- slots next to a cue --------------------------------------------------------
    def speaker_of_verb(self, verb, window: list, segment: Segment) -> Slot | None:
        """The speaker of a reporting verb: its subject, else the nominal next to it."""
        if self.view.cues.is_according(verb):
            return self.according_to(verb, segment)
        subject = subject_of(verb, self.readable(verb, segment))
        if subject is not None:
            return self.resolve(subject, segment)
        before = [t for t in window if t.i < verb.i][::-1]
        after = [t for t in window if t.i > verb.i]
        found = self.first_nominal(before, segment)
        if found is None and verb.lower_ not in ("told", "tells", "tell", "telling"):  # "told Y" names the listener
            found = self.first_nominal(after, segment)
        return found

    def readable(self, verb, segment: Segment):
        """The test `subject_of` applies: a token of the verb's sentence that is outside quote marks."""
        sentence = verb.sent
        return lambda token: (sentence.start <= token.i < sentence.end
                              and not self.view.in_quote(segment.token_body_start(token.i)))

    def according_to(self, according, segment: Segment) -> Slot | None:
        """The speaker of "according to X": the object of "to" ("according to a study" names nobody)."""
        doc = according.doc
        to = doc[according.i + 1] if according.i + 1 < len(doc) else None
        objects = [c for c in to.children if c.dep_ == "pobj"] if to is not None else []
        if objects:
            return self.resolve(objects[0], segment)
        return self.first_nominal(list(doc[according.i + 2:according.right_edge.i + 1]), segment)

    def first_nominal(self, tokens: list, segment: Segment) -> Slot | None:
        """The first token that can name a speaker: an entity, a name, a pronoun, a role or an organisation."""
        for token in tokens:
            if token.dep_ in OBJECT_DEPS or token.ent_type_ in _NOT_SPEAKERS:
                continue  # "in Paris", "told reporters": objects do not speak
            if self.view.entity_at(segment, token.i):
                return self.resolve(token, segment)
            word = token.lower_.rstrip(".")
            if token.pos_ == "PROPN" and word in TITLE_WORDS:
                continue
            if token.pos_ in ("PROPN", "PRON") or (
                token.pos_ == "NOUN" and (word in ORG_NOUNS or word in PERSON_NOUNS or word in TITLE_WORDS)
            ):
                return self.resolve(token, segment)
        return None

    def resolve(self, token, segment: Segment) -> Slot:
        """The entity a speaker token stands for, through the parse around it."""
        age = self.age_of(token)
        if age is not None:
            return self.person_of_age(age, segment.token_body_start(token.i))
        if token.lower_ in ("who", "which", "that") and token.head.dep_ == "relcl" and token.head.head is not token:
            return self.resolve(token.head.head, segment)  # "Rep. Glenn Tisdale, who called the bill ...": the antecedent
        cluster = self.view.entity_at(segment, token.i)
        determiners = [c.lower_ for c in token.children if c.dep_ in ("det", "nummod")]
        if "the" in determiners and token.lower_ in ROLE_SYNONYMS:  # "the Missouri Democrat": a person named before
            modifiers = {c.lower_ for c in token.children if c.dep_ in ("compound", "amod")}
            return Slot(self.noun_phrase(token.lower_, modifiers, determiners, segment.token_body_start(token.i)))
        if cluster is None:
            related = [c for c in token.children if c.dep_ in ("appos", "compound", "flat", "nmod")]
            related.sort(key=lambda c: c.dep_ != "appos")
            if token.lower_ in SPOKESPERSON_NOUNS:  # "a spokeswoman for Trump Hotels": the body speaks
                related += [g for c in token.children if c.dep_ == "prep" and c.lower_ in ("for", "of", "at")
                            for g in c.children if g.dep_ == "pobj"]
            cluster = next((found for c in related if (found := self._entity_near(c, segment)) is not None), None)
            word = token.lower_.rstrip(".")
            if "the" in determiners and word not in ORG_NOUNS and (word in TITLE_WORDS or word in PERSON_NOUNS) and (
                    cluster is None or cluster.label in PLACE_LABELS):  # "the Alberta MP said", "the minister told"
                return Slot(self.noun_phrase(word, set(), determiners, segment.token_body_start(token.i)))
        if cluster is not None:
            return Slot(cluster)
        position = segment.token_body_start(token.i)
        if token.pos_ == "PRON":
            return Slot(self.pronoun(token.lower_, position))
        if "the" in determiners and _demonym(token) and not self.view.by_name(token.text):
            # "the Welshman said", "the Brazilian said": the person named before, like "the lawmaker"
            return Slot(self.person_pronoun(None, position))
        if token.pos_ == "PROPN" or (token.text[:1].isupper() and token.is_alpha and self.view.by_name(token.text)):
            words = [c for c in token.children if c.dep_ in ("compound", "flat") and c.i < token.i] + [token]
            joined = self._joined_name(token)
            return Slot(self.proper_name(joined or sorted(words, key=lambda t: t.i), segment))
        determiners = [c.lower_ for c in token.children if c.dep_ in ("det", "nummod")]
        modifiers = {c.lower_ for c in token.children if c.dep_ in ("compound", "amod")}
        return Slot(self.noun_phrase(token.lower_, modifiers, determiners, position))

    def resolve_words(self, tokens: list, segment: Segment) -> Slot:
        """The entity a run of adjacent words names ("Pieter van Dijk", "she", "the company"), without the
        parse. A name's entity is read from its last words first ("UC-AFT President Bob Samuels"); in a
        noun phrase only the head counts ("the American ambassador" is not "American")."""
        head = tokens[-1]
        position = segment.token_body_start(tokens[0].i)
        age = self.age_of(head)
        if age is not None:
            return self.person_of_age(age, position)
        if head.pos_ == "PRON":
            return Slot(self.pronoun(head.lower_, position))
        if tokens[0].lower_ == "the" and _demonym(head) and not self.view.entity_at(segment, head.i) \
                and not self.view.by_name(head.text):
            return Slot(self.person_pronoun(None, position))  # "the Welshman said"
        if head.pos_ == "PROPN" or head.ent_type_:
            for token in reversed(tokens):
                cluster = self.view.entity_at(segment, token.i)
                if cluster is not None:
                    return Slot(cluster)
            return Slot(self.proper_name([t for t in tokens if t.pos_ == "PROPN"], segment))
        cluster = self.view.entity_at(segment, head.i)
        if cluster is not None:
            return Slot(cluster)
        determiners = [t.lower_ for t in tokens if t.pos_ in ("DET", "NUM")]
        modifiers = {t.lower_ for t in tokens[:-1] if t.pos_ in ("ADJ", "NOUN", "PROPN")}
        return Slot(self.noun_phrase(head.lower_, modifiers, determiners, position))

    @staticmethod
    def age_of(token) -> str | None:
        """'58' when `token` is the "old" of "the 58-year-old" (tokenized 58 - year - old)."""
        doc, i = token.doc, token.i
        if token.lower_ == "old" and i >= 4 and doc[i - 1].text == doc[i - 3].text == "-" and doc[i - 2].lower_ == "year":
            return doc[i - 4].text if doc[i - 4].like_num else None
        return None

    def person_of_age(self, age: str, position: int) -> Slot:
        """'the 58-year-old said': the person named before as "X, 58,"."""
        for _, cluster in self.view.mentions_before(position):
            if self.view.label_of(cluster) == "PERSON" and f"age:{age}" in self.roles(cluster):
                return Slot(cluster)
        return Slot(None)

    @staticmethod
    def _joined_name(token) -> list | None:
        """'The Hostages and Missing Families Forum': a name the parser split at "and" into two conjuncts,
        when the words run on without a gap and the last one makes it an organisation."""
        conjuncts = [c for c in token.children if c.dep_ == "conj" and c.pos_ == "PROPN" and c.i > token.i]
        if not conjuncts:
            return None
        words = list(token.doc[token.i:conjuncts[0].i + 1])
        if all(t.pos_ == "PROPN" or t.lower_ in ("and", "&") for t in words) and is_org_word(words[-1].text):
            return words
        return None

    def _entity_near(self, token, segment: Segment) -> EntityCluster | None:
        found = self.view.entity_at(segment, token.i)
        if found is None:
            found = next((f for c in token.children if c.dep_ in ("compound", "flat")
                          and (f := self.view.entity_at(segment, c.i)) is not None), None)
        return found

    # --- pronouns ---------------------------------------------------------------------
    def pronoun(self, word: str, position: int) -> EntityCluster | None:
        if word in _MALE or word in _FEMALE:
            return self.person_pronoun("m" if word in _MALE else "f", position)
        if word in _PLURAL or word == "it":
            for mention, cluster in self.view.mentions_before(position):
                if mention.is_subject and (self.view.label_of(cluster) == "ORG" or cluster.label in PLACE_LABELS):
                    return cluster
        return None

    def person_pronoun(self, gender: str | None, position: int) -> EntityCluster | None:
        """The person 'he' or 'she' points at: a subject of the last sentences first, the nearest person next.

        A gender known from a title ("Ms.") rules a person out; one guessed from a first name
        only makes the person a second choice.
        """
        view = self.view
        floor = view.sentence_floor(position, 2)
        subjects: list[EntityCluster] = []  # subjects of a main verb first ("X, whose mother Y lived there, said")
        main_subjects: list[EntityCluster] = []
        others: list[EntityCluster] = []
        shaped = None
        for mention, cluster in view.mentions_before(position):
            if mention.start < 0:
                continue  # the headline is not where a body's pronoun points
            label = view.label_of(cluster)
            if label != "PERSON" or (mention.by_context and mention.label != "PERSON"):
                if shaped is None and label != "PERSON" and name_shaped(cluster):
                    shaped = cluster
                continue
            if gender is not None and cluster.gender not in (None, gender) and cluster.gender_from_title:
                continue
            if mention.start >= floor and mention.main_subject:
                subjects.insert(sum(1 for _ in main_subjects), cluster)
                main_subjects.append(cluster)
            elif mention.start >= floor and mention.is_subject:
                subjects.append(cluster)
            else:
                others.append(cluster)
        for pool in (subjects, others):
            for cluster in pool:
                if gender is None or cluster.gender in (None, gender):
                    return cluster
            if pool:
                return pool[0]
        if shaped is not None:
            return view.propose(shaped, "PERSON", "'he'/'she' points at it")
        return None

    # --- names and nouns ----------------------------------------------------------------
    def proper_name(self, words: list, segment: Segment) -> EntityCluster | None:
        """A capitalised name: the entity under that name or its surname, else a new entity.

        Titles inside the name are dropped ("Army Capt. Christian Pardo"), and so are suffixes
        ("Emanuel Cleaver II"). A new entity is an organisation when a word of its name or its
        apposition says so ("Affirm, one of the firms named"), else a person.
        """
        titled = [at for at, t in enumerate(words) if t.lower_.rstrip(".") in TITLE_WORDS]
        if titled and titled[-1] < len(words) - 1:
            words = words[titled[-1] + 1:]
        while len(words) > 1 and (words[-1].lower_.rstrip(".") in NAME_SUFFIXES
                                  or words[-1].text.isupper() and words[-1].lower_ in POST_NOMINALS):
            words = words[:-1]  # "Emanuel Cleaver II", "Eleanor Whitcombe KC"
        if not words:
            return None
        doc = words[0].doc
        name = " ".join(doc[words[0].i:words[-1].i + 1].text.split()) if len(words) > 1 else words[0].text
        found = self.view.by_name(name) or self.view.by_name(name.split()[-1]) or self.view.by_name(words[-1].text)
        if found is not None:
            return found
        if (not all(t.text[:1].isupper() and t.text.replace("-", "").isalpha() or t.lower_ in ("and", "&", "of")
                    for t in words)
                or words[-1].lower_ in TITLE_WORDS or any(t.ent_type_ in _NOT_SPEAKERS for t in words)):
            return None
        label = "ORG" if any(is_org_word(t.text) or t.text in ORG_FIRST_WORDS for t in words) else "PERSON"
        if words[0].i > 0 and words[0].doc[words[0].i - 1].lower_ == "the":
            label = "ORG"  # "the Presidency said", "the Kremlin said": people's names take no article
        for child in words[-1].children:
            if child.dep_ == "appos":
                nouns = [t.lower_ for t in child.subtree if t.pos_ == "NOUN"]
                if any(n in ORG_NOUN_FORMS for n in nouns) and not any(n in PERSON_NOUNS for n in nouns):
                    label = "ORG"
        start = segment.token_body_start(words[0].i)
        mention = Mention(start, start + len(name), name, label, segment.number, words[0].i, words[-1].i + 1, True)
        return self.view.new_entity(name, mention, label)

    def noun_phrase(self, head: str, modifiers: set[str], determiners: list[str], position: int) -> EntityCluster | None:
        """'the ministry' -> the ministry named before; 'the lawmaker' -> the lawmaker named before."""
        if any(d in _INDEFINITE for d in determiners):
            return None
        view = self.view
        before = list(view.mentions_before(position))
        if head in ORG_NOUNS:
            return self._organisation(head, modifiers, before)
        for _, cluster in before:  # "the museum" -> the British Museum named before
            if view.label_of(cluster) == "ORG" and head in (w.lower() for w in cluster.name.split()[1:]):
                return cluster
        if head in TITLE_WORDS or head in PERSON_NOUNS or head in ROLE_SYNONYMS:
            wanted = {head} | ROLE_SYNONYMS.get(head, frozenset())
            for _, cluster in before:
                if view.label_of(cluster) == "PERSON" and wanted & self.roles(cluster):
                    return cluster
            if "the" in determiners:  # "the Alberta MP said": the one person who was the subject just before
                floor = view.sentence_floor(position, 2)
                recent = [(m, c) for m, c in before if m.start >= max(floor, 0) and view.label_of(c) == "PERSON"]
                for wanted_main in (True, False):
                    people = {id(c): c for m, c in recent if (m.main_subject if wanted_main else m.is_subject)}
                    if len(people) == 1:
                        return next(iter(people.values()))
        return None

    def _organisation(self, head: str, modifiers: set[str], before) -> EntityCluster | None:
        view = self.view
        best = None
        for _, cluster in before:
            if view.label_of(cluster) != "ORG":
                continue
            words = {w.lower() for w in cluster.name.split()}
            if head in words and modifiers <= words:
                return cluster
            if head in words and best is None:
                best = cluster
        if best is not None:
            return best
        for _, cluster in before:
            if view.label_of(cluster) == "ORG":
                return cluster
        for mention, cluster in before:
            if (mention.is_subject and view.label_of(cluster) == "PERSON" and not cluster.titles
                    and cluster.gender is None and not self.roles(cluster)):
                return view.propose(cluster, "ORG", "'the agency said' points at it")
        return None

    def roles(self, cluster: EntityCluster) -> set[str]:
        """The titles and role nouns written next to a person's mentions ("Rep.", "psychologist X", "X, a lawmaker")."""
        known = self._roles.get(id(cluster))
        if known is not None:
            return known
        roles = {t for t in cluster.titles if not t.startswith("acronym:")}
        for mention in cluster.mentions:
            if not 0 <= mention.segment < len(self.view.segments):
                continue
            doc = self.view.segments[mention.segment].doc
            before = doc[mention.first_token - 1] if mention.first_token > 0 else None
            if before is not None and before.is_lower and before.lower_ in PERSON_NOUNS:
                roles.add(before.lower_)
            after = doc[mention.last_token:mention.last_token + 4].text
            party = _PARTY_TAG.match(after)
            if party:  # "Rep. Emanuel Cleaver II (D-Mo.)"
                roles.add(_PARTIES[party.group(1)])
            if mention.last_token + 2 < len(doc) and doc[mention.last_token].text == "," and doc[
                mention.last_token + 1
            ].like_num and doc[mention.last_token + 2].text in (",", ")", "."):
                roles.add(f"age:{doc[mention.last_token + 1].text}")  # "Marta Okafor, 58, …"
            if mention.last_token < len(doc) and doc[mention.last_token].text == ",":
                for token in doc[mention.last_token + 1:mention.last_token + 8]:
                    if token.is_punct:
                        break
                    if token.is_lower and token.lower_ in PERSON_NOUNS:
                        roles.add(token.lower_)
                        break
        self._roles[id(cluster)] = roles
        return roles
