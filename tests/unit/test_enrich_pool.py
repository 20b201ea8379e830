"""Enrichment in worker processes (pipeline.runtime.enrich_pool) keeps the embedded run's guarantees.

The workers are real spawned processes. Most tests give them the FakeEnricher (through a
module-level factory, which is what a worker can import); one compares the real model's output
in two workers with the same model in process. A worker that kills itself on a marked article
stands for a crash (SIGKILL, out of memory): the batch is not committed, and the next run (or the
next round of a continuous run) indexes every article exactly once.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from pipeline.article import Article, EnrichedArticle
from pipeline.index.embedded import EmbeddedIndex
from pipeline.runtime.deadletters import DeadLetterFile, deadletter_path
from pipeline.runtime.embedded import EmbeddedRuntime
from pipeline.runtime.enrich_pool import EnrichPool, EnrichWorkerLost, enrich_processes
from pipeline.runtime.indexes import index_path
from pipeline.runtime.steps import enrich_step
from pipeline.search import SearchQuery
from pipeline.settings import load_settings
from tests.conftest import SEEDS, FakeEnricher

CRASH_MARK = "TEST_ENRICH_POOL_CRASH_MARK"


class CrashingEnricher(FakeEnricher):
    """The FakeEnricher, except that the first worker to see 'CRASH' in a body kills its own process."""

    def enrich(self, articles):
        mark = Path(os.environ[CRASH_MARK])
        if any("CRASH" in article.body for article in articles) and not mark.exists():
            mark.write_text(str(os.getpid()), encoding="utf-8")
            os.kill(os.getpid(), signal.SIGKILL)
        return super().enrich(articles)


def fake_enricher_for(nlp):
    return FakeEnricher()


def crashing_enricher_for(nlp):
    return CrashingEnricher()


@pytest.fixture
def wire(tmp_path):
    """Twelve stories, one of them (in the second batch of four) marked to crash its worker once."""
    folder = tmp_path / "wire"
    folder.mkdir()
    for number in range(12):
        marked = " CRASH" if number == 6 else ""
        (folder / f"story{number:02}.txt").write_text(
            f"Story {number}\nMaria Lopez spoke about item {number} in Lisbon.{marked}", encoding="utf-8"
        )
    (folder / "poison.txt").write_text("Poison\nThis body has POISON in it.", encoding="utf-8")
    return folder


def settings_for(write_config, folder, processes=2):
    return load_settings(write_config(
        connectors=[{"type": "files", "name": "wire", "path": str(folder), "interval": 1}],
        nlp={"batch_size": 4, "pipe_batch_size": 2, "processes": processes},
    ))


def index_counts(settings) -> tuple[int, list[str]]:
    with EmbeddedIndex(index_path(settings)) as index:
        return index.count(), sorted(hit.article.id for hit in index.search(SearchQuery(limit=100)))


def test_processes_default_to_the_cores_this_process_may_use(write_config, wire):
    assert enrich_processes(settings_for(write_config, wire, processes=None)) == len(os.sched_getaffinity(0))
    assert enrich_processes(settings_for(write_config, wire, processes=3)) == 3


def test_two_workers_index_every_article_and_dead_letter_the_poison(write_config, wire, tmp_path, monkeypatch):
    (wire / "story06.txt").write_text("Story 6\nMaria Lopez spoke about item 6 in Lisbon.", encoding="utf-8")
    settings = settings_for(write_config, wire)
    pool = EnrichPool(settings, make=fake_enricher_for)
    report = EmbeddedRuntime(settings, pool=pool).run(once=True)
    assert (report.read, report.indexed, report.dead) == (13, 12, 1)
    count, ids = index_counts(settings)
    assert count == 12 and ids == [f"wire/story{n:02}.txt" for n in range(12)]
    letters = DeadLetterFile(deadletter_path(settings)).read()
    assert [(d.stage, d.reason, d.article_id) for d in letters] == [("enrich", "poisoned body", "wire/poison.txt")]


def test_a_worker_killed_mid_run_loses_nothing_and_doubles_nothing(write_config, wire, tmp_path, monkeypatch):
    mark = tmp_path / "crashed"
    monkeypatch.setenv(CRASH_MARK, str(mark))
    settings = settings_for(write_config, wire)
    with pytest.raises(EnrichWorkerLost, match="enrichment worker process died"):
        EmbeddedRuntime(settings, pool=EnrichPool(settings, make=crashing_enricher_for)).run(once=True)
    assert mark.exists()
    count, _ = index_counts(settings)
    assert 3 <= count < 12  # the first batch (poison.txt, story00-02) is committed; the crashed one is not

    again = EmbeddedRuntime(settings, pool=EnrichPool(settings, make=crashing_enricher_for)).run(once=True)
    count, ids = index_counts(settings)
    assert count == 12 and ids == [f"wire/story{n:02}.txt" for n in range(12)]
    assert (again.read, again.indexed, again.dead) == (9, 9, 0)  # the committed batch is not read again
    letters = DeadLetterFile(deadletter_path(settings)).read()
    assert [d.article_id for d in letters] == ["wire/poison.txt"]


def test_a_continuous_run_starts_new_workers_and_reads_the_batch_again(write_config, wire, tmp_path, monkeypatch):
    mark = tmp_path / "crashed"
    monkeypatch.setenv(CRASH_MARK, str(mark))
    settings = settings_for(write_config, wire)
    stop = threading.Event()
    indexed = []

    def progress(connector, report):
        indexed.append(report.indexed)
        if sum(indexed) >= 12:
            stop.set()

    runtime = EmbeddedRuntime(settings, progress=progress, pool=EnrichPool(settings, make=crashing_enricher_for))
    waker = threading.Timer(300.0, stop.set)  # a safety net: the test fails on the counts, never hangs
    waker.start()
    try:
        runtime.run(once=False, stop=stop)
    finally:
        waker.cancel()
    assert mark.exists()
    count, ids = index_counts(settings)
    assert count == 12 and ids == [f"wire/story{n:02}.txt" for n in range(12)]
    assert sum(indexed) == 12


def test_two_workers_enrich_exactly_as_one_process_does(enricher, write_config, wire):
    articles = [
        Article(id=f"seed-{n}", title=path.read_text(encoding="utf-8").split("\n", 1)[0],
                body=path.read_text(encoding="utf-8").split("\n", 1)[1])
        for n, path in enumerate(sorted(SEEDS.glob("*.txt")))
    ]
    articles += [Article(id="quote", title="Talks", body='"We will not back down," Maria Lopez, the mayor, said in Lisbon.')]
    articles = articles * 3  # more chunks than workers
    settings = settings_for(write_config, wire)
    with EnrichPool(settings) as pool:
        pool.warm_up()
        parts = list(pool.enrich(articles))
    from_workers = [a for part in parts for a in part.articles]
    in_process = enrich_step(enricher, articles).articles
    assert all(isinstance(a, EnrichedArticle) for a in from_workers)
    assert [a.model_dump() for a in from_workers] == [a.model_dump() for a in in_process]
    assert any(a.quotes for a in from_workers) and any(a.entities for a in from_workers)
