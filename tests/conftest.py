"""Fixtures shared by every tier: a fake enricher for stage tests, a config written to a temp folder."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml

from pipeline.article import Article, EnrichedArticle, Entity
from pipeline.enrich import EnrichFailure

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
EVAL_REPORT = pytest.StashKey[list]()
STORY_REPORT = pytest.StashKey[list]()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Print the scorers' figures (enrichment; story grouping) whenever their tests ran."""
    sections = [
        (EVAL_REPORT, "enrichment scores: development set and held-out set (eval/score.py)"),
        (STORY_REPORT, "story grouping on eval/stories (eval/stories.py)"),
    ]
    for key, title in sections:
        lines = config.stash.get(key, None)
        if lines:
            terminalreporter.section(title)
            for line in lines:
                terminalreporter.write_line(line)


class FakeEnricher:
    """Stands in for spaCy in stage tests: capitalised word pairs are PERSONs; a body with 'POISON' fails."""

    def __init__(self) -> None:
        self.warmed = 0
        self.calls: list[int] = []

    def warm_up(self) -> None:
        self.warmed += 1

    def enrich(self, articles: Sequence[Article]) -> list[EnrichedArticle | EnrichFailure]:
        self.calls.append(len(articles))
        results: list[EnrichedArticle | EnrichFailure] = []
        for article in articles:
            if "POISON" in article.body:
                results.append(EnrichFailure(article, "poisoned body"))
                continue
            names = sorted(set(re.findall(r"\b[A-Z][a-z]+ [A-Z][a-z]+\b", article.body)))
            results.append(
                EnrichedArticle(
                    **article.model_dump(),
                    entities=[Entity(name=n, label="PERSON", mentions=1, aliases=[n]) for n in names],
                    people=names,
                )
            )
        return results


@pytest.fixture(autouse=True)
def _polite_from_scratch():
    """Every test starts with a host gate that remembers no Retry-After of an earlier test (all share 127.0.0.1)."""
    from pipeline.plugin.hosts import SHARED_POLITENESS

    SHARED_POLITENESS.forget()
    yield


@pytest.fixture(scope="session")
def enricher():
    """The real enrichment stage with the installed English model, loaded once per test session."""
    from pipeline.enrich import Enricher

    loaded = Enricher()
    loaded.warm_up()
    return loaded


def enrich_text(enricher, body: str, title: str = "") -> EnrichedArticle:
    """Enrich one body; every quote's offsets must point at its text."""
    result = enricher.enrich([Article(id="t", title=title, body=body)])[0]
    assert isinstance(result, EnrichedArticle), result
    for quote in result.quotes:
        assert body[quote.start:quote.end] == quote.text
    return result


@pytest.fixture
def fake_enricher() -> FakeEnricher:
    return FakeEnricher()


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a newswire.yaml under tmp_path (data_dir inside it by default) and return its path."""

    def write(**settings) -> Path:
        settings.setdefault("data_dir", str(tmp_path / "data"))
        path = tmp_path / "newswire.yaml"
        path.write_text(yaml.safe_dump(settings), encoding="utf-8")
        return path

    return write
