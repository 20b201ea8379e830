"""Reporting cues: which tokens report speech ("said", "told", "according to"), matched by lemma.

`data/reporting_verbs.txt` lists lemmas ("say", "warn"). Their inflected forms come from a
small table built once per loaded pipeline from spaCy's own lemma tables: for each lemma the
regular forms (-s, -ed, -ing, with the usual spelling changes) and the irregular forms spaCy's
exception table gives ("said", "told", "wrote") are lemmatized by spaCy's rule lemmatizer, and
the forms it maps back to the lemma are kept. The lemmatizer is loaded for this but never run
over articles, so matching a token is one dictionary look-up.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pipeline.enrich.wordlists import word_list

if TYPE_CHECKING:
    from spacy.language import Language

__all__ = ["REPORTING_VERBS", "ACCORDING", "CueLexicon", "regular_forms"]

logger = logging.getLogger(__name__)

REPORTING_VERBS = word_list("reporting_verbs")
# Lemmas whose forms report speech whatever part of speech the tagger gives them ("said" as an adjective).
_ANY_TAG = frozenset({"say", "tell", "add", "ask"})
ACCORDING = "according to"


def regular_forms(lemma: str) -> set[str]:
    """Candidate inflections of a verb lemma: -s/-es/-ies, -d/-ed/-ied, -ing, doubled consonants."""
    forms = {lemma, lemma + "s", lemma + "es", lemma + "ed", lemma + "d", lemma + "ing"}
    if lemma.endswith("y"):
        forms |= {lemma[:-1] + "ies", lemma[:-1] + "ied"}
    if lemma.endswith("e"):
        forms.add(lemma[:-1] + "ing")
    if lemma.endswith("ie"):
        forms.add(lemma[:-2] + "ying")
    if len(lemma) > 2 and lemma[-1] not in "aeiouwxy" and lemma[-2] in "aeiou" and lemma[-3] not in "aeiou":
        forms |= {lemma + lemma[-1] + "ed", lemma + lemma[-1] + "ing"}  # "quip" -> "quipped"
    return forms


class CueLexicon:
    """Inflected form -> lemma for the reporting verbs; `verb_lemma(token)` says whether a token reports speech."""

    def __init__(self, forms: dict[str, str]) -> None:
        self.forms = forms

    @classmethod
    def from_rules(cls, lemmas: frozenset[str] = REPORTING_VERBS) -> CueLexicon:
        """The regular forms only, unchecked: for a pipeline without a lemmatizer."""
        return cls({form: lemma for lemma in sorted(lemmas) for form in regular_forms(lemma)})

    @classmethod
    def from_pipeline(cls, nlp: Language, lemmas: frozenset[str] = REPORTING_VERBS) -> CueLexicon:
        """Forms checked by the pipeline's rule lemmatizer, irregular ones from its exception table."""
        if "lemmatizer" not in nlp.component_names:
            logger.info("no lemmatizer in the pipeline; reporting verbs matched by regular forms only")
            return cls.from_rules(lemmas)
        from spacy.tokens import Doc

        lemmatizer = nlp.get_pipe("lemmatizer")
        candidates: dict[str, set[str]] = {lemma: regular_forms(lemma) for lemma in lemmas}
        try:
            exceptions = lemmatizer.lookups.get_table("lemma_exc")["verb"]
        except (KeyError, ValueError):
            exceptions = {}
        for form, form_lemmas in exceptions.items():
            for lemma in form_lemmas:
                if lemma in candidates:
                    candidates[lemma].add(form)
        words = sorted({form for forms in candidates.values() for form in forms})
        doc = Doc(nlp.vocab, words=words, pos=["VERB"] * len(words))
        try:
            lemmatizer(doc)
        except Exception:  # an odd lemmatizer must not stop enrichment
            logger.warning("lemmatizer failed on reporting verbs; using regular forms", exc_info=True)
            return cls.from_rules(lemmas)
        checked = {token.text: token.lemma_ for token in doc}
        forms = {}
        for lemma in sorted(lemmas):
            for form in candidates[lemma]:
                if checked.get(form) == lemma or form == lemma:
                    forms.setdefault(form, lemma)
        return cls(forms)

    def verb_lemma(self, token) -> str | None:
        """The reporting verb's lemma when `token` is one used as a verb, else None."""
        lemma = self.forms.get(token.lower_)
        if lemma is None:
            return None
        if lemma in _ANY_TAG or token.pos_ in ("VERB", "AUX") or token.tag_.startswith("VB"):
            return lemma
        return None

    def is_according(self, token) -> bool:
        """'according' of 'according to'."""
        doc = token.doc
        return token.lower_ == "according" and token.i + 1 < len(doc) and doc[token.i + 1].lower_ == "to"
