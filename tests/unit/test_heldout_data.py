"""The labelled evaluation sets are well-formed: the held-out set (eval/heldout) and the development set
(eval/articles). Articles and gold files pair up, every gold file parses and follows eval/README.md, and
every labelled quote occurs verbatim in its article.

These check the data only (no newswire code), so a typo in a label shows up here rather than
as a mysterious miss in the scores.
"""

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HELDOUT = REPO / "eval" / "heldout"
DEVELOPMENT = REPO / "eval" / "articles"
SETS = {"heldout": HELDOUT, "development": DEVELOPMENT}
GOLD_KEYS = {"file", "quotes", "optional_quotes", "indirect_quotes", "entities", "optional_entities"}
ENTITY_TYPES = {"PERSON", "ORG", "LOC"}

golds = [pytest.param(gold, id=f"{name}/{gold.name}") for name, folder in SETS.items() for gold in sorted(folder.glob("*.gold.json"))]


def _article_of(gold: Path) -> Path:
    """The labelled text: NAME.txt beside the gold file, or the file the gold names (the seed lives in seeds/)."""
    beside = gold.with_name(gold.name.removesuffix(".gold.json") + ".txt")
    return beside if beside.exists() else REPO / json.loads(gold.read_text(encoding="utf-8"))["file"]


@pytest.mark.parametrize("folder", SETS.values(), ids=SETS.keys())
def test_every_article_has_a_gold_file_and_every_gold_file_an_article(folder: Path):
    articles = {p.name.removesuffix(".txt") for p in folder.glob("*.txt")}
    labelled = {p.name.removesuffix(".gold.json") for p in folder.glob("*.gold.json")}
    assert articles, f"no articles found in {folder}"
    elsewhere = {name for name in labelled - articles if _article_of(folder / f"{name}.gold.json").exists()}
    assert articles == labelled - elsewhere, {"without gold": articles - labelled, "without article": labelled - articles - elsewhere}


@pytest.mark.parametrize("gold_path", golds)
def test_gold_file_follows_the_annotation_format(gold_path: Path):
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    assert set(gold) == GOLD_KEYS
    assert gold["file"] == _article_of(gold_path).relative_to(REPO).as_posix()
    for quote in gold["quotes"] + gold["indirect_quotes"]:
        assert set(quote) >= {"text", "speaker"}, quote
        assert quote["speaker"] is None or quote["speaker"].strip(), quote
    for quote in gold["indirect_quotes"]:
        assert quote.get("cue"), quote
    names = [entity["name"] for entity in gold["entities"]]
    assert len(names) == len(set(names)), "an entity is listed twice"
    assert all(entity["type"] in ENTITY_TYPES for entity in gold["entities"])


@pytest.mark.parametrize("gold_path", golds)
def test_article_has_a_title_line_then_a_blank_line_then_the_body(gold_path: Path):
    lines = _article_of(gold_path).read_text(encoding="utf-8").split("\n")
    assert lines[0].strip() and lines[1] == "" and lines[2].strip()


@pytest.mark.parametrize("gold_path", golds)
def test_every_labelled_quote_occurs_verbatim_in_its_article(gold_path: Path):
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    text = _article_of(gold_path).read_text(encoding="utf-8")
    labelled = gold["quotes"] + gold["optional_quotes"] + gold["indirect_quotes"]
    missing = [quote["text"] for quote in labelled if quote["text"] not in text]
    assert not missing
