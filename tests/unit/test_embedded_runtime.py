import threading

import pytest

from pipeline.index.embedded import EmbeddedIndex
from pipeline.runtime.deadletters import DeadLetterFile, deadletter_path, replay_deadletters
from pipeline.runtime.embedded import EmbeddedRuntime
from pipeline.runtime.indexes import index_path
from pipeline.search import SearchQuery
from pipeline.settings import load_settings


@pytest.fixture
def news(tmp_path):
    folder = tmp_path / "news"
    folder.mkdir()
    for number in range(7):
        (folder / f"story{number}.txt").write_text(
            f"Story {number}\nMaria Lopez spoke about item {number} in Lisbon.", encoding="utf-8"
        )
    (folder / "poison.txt").write_text("Poison\nThis body has POISON in it.", encoding="utf-8")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02")
    return folder


def settings_for(write_config, folder, batch_size=3):
    return load_settings(
        write_config(connectors=[{"type": "files", "name": "news", "path": str(folder)}], nlp={"batch_size": batch_size})
    )


def indexed_ids(settings):
    with EmbeddedIndex(index_path(settings)) as index:
        return sorted(hit.article.id for hit in index.search(SearchQuery(limit=100)))


def test_run_indexes_every_article_in_batches_and_dead_letters_the_rest(write_config, news, fake_enricher):
    settings = settings_for(write_config, news)
    report = EmbeddedRuntime(settings, enricher=fake_enricher).run(once=True)
    assert (report.read, report.indexed, report.dead) == (8, 7, 2)
    assert fake_enricher.warmed == 1 and max(fake_enricher.calls) <= 3
    assert indexed_ids(settings) == sorted(f"news/story{n}.txt" for n in range(7))
    letters = DeadLetterFile(deadletter_path(settings)).read()
    assert sorted((d.stage, d.reason) for d in letters) == [
        ("connector", "binary file (NUL bytes)"),
        ("enrich", "poisoned body"),
    ]
    with EmbeddedIndex(index_path(settings)) as index:
        assert [h.article.id for h in index.search(SearchQuery(person="Maria Lopez", text="item 3"))] == ["news/story3.txt"]


def test_running_twice_never_duplicates_and_reads_nothing_new(write_config, news, fake_enricher):
    settings = settings_for(write_config, news)
    EmbeddedRuntime(settings, enricher=fake_enricher).run(once=True)
    second = EmbeddedRuntime(settings, enricher=fake_enricher).run(once=True)
    assert (second.read, second.dead) == (0, 0)
    with EmbeddedIndex(index_path(settings)) as index:
        assert index.count() == 7


def test_a_crash_mid_run_loses_nothing_and_the_rerun_duplicates_nothing(write_config, news, fake_enricher):
    settings = settings_for(write_config, news)

    class CrashingEnricher(type(fake_enricher)):
        def enrich(self, articles):
            if len(self.calls) == 1:
                raise RuntimeError("killed mid-run")
            return super().enrich(articles)

    with pytest.raises(RuntimeError):
        EmbeddedRuntime(settings, enricher=CrashingEnricher()).run(once=True)
    assert indexed_ids(settings) == ["news/story0.txt"], "the first batch (binary, poison, story0) was committed"
    EmbeddedRuntime(settings, enricher=fake_enricher).run(once=True)
    assert indexed_ids(settings) == sorted(f"news/story{n}.txt" for n in range(7))


def test_a_changed_file_replaces_its_article(write_config, news, fake_enricher):
    settings = settings_for(write_config, news)
    EmbeddedRuntime(settings, enricher=fake_enricher).run(once=True)
    (news / "story1.txt").write_text("Story one, revised\nJoao Silva now tells it.", encoding="utf-8")
    report = EmbeddedRuntime(settings, enricher=fake_enricher).run(once=True)
    assert report.indexed == 1
    with EmbeddedIndex(index_path(settings)) as index:
        assert index.count() == 7 and index.get("news/story1.txt").people == ["Joao Silva"]


def test_stop_event_ends_a_continuous_run(write_config, news, fake_enricher):
    settings = settings_for(write_config, news)
    stop = threading.Event()
    runtime = EmbeddedRuntime(settings, enricher=fake_enricher, progress=lambda connector, report: stop.set())
    thread = threading.Thread(target=runtime.run, kwargs={"once": False, "stop": stop})
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert indexed_ids(settings) == ["news/story0.txt"], "stopped after the first batch, which was committed"


def test_replay_indexes_what_now_succeeds_and_keeps_the_rest(write_config, news, fake_enricher):
    settings = settings_for(write_config, news)
    EmbeddedRuntime(settings, enricher=fake_enricher).run(once=True)

    class Fixed(type(fake_enricher)):
        def enrich(self, articles):
            return super().enrich([a.model_copy(update={"body": a.body.replace("POISON", "cured")}) for a in articles])

    assert replay_deadletters(settings, enricher=Fixed()) == (1, 1), "the poisoned article indexes; the binary file cannot"
    assert "news/poison.txt" in indexed_ids(settings)
    assert [d.reason for d in DeadLetterFile(deadletter_path(settings)).read()] == ["binary file (NUL bytes)"]
    assert replay_deadletters(settings, enricher=Fixed()) == (0, 1)


def test_an_article_the_index_refuses_is_dead_lettered_and_the_rest_indexed(write_config, tmp_path, fake_enricher):
    folder = tmp_path / "refused"
    folder.mkdir()
    (folder / "wire.jsonl").write_text(
        '{"id": "ok-1", "title": "Fine", "body": "Maria Lopez spoke in Lisbon."}\n'
        '{"id": "bad", "title": "Broken", "body": "A lone surrogate \\ud800 from a broken producer."}\n'
        '{"id": "ok-2", "title": "Also fine", "body": "Joao Silva answered."}\n',
        encoding="utf-8",
    )
    settings = settings_for(write_config, folder)
    report = EmbeddedRuntime(settings, enricher=fake_enricher).run(once=True)
    assert (report.read, report.indexed, report.dead) == (3, 2, 1)
    assert indexed_ids(settings) == ["ok-1", "ok-2"]
    [letter] = DeadLetterFile(deadletter_path(settings)).read()
    assert letter.stage == "sink" and letter.article_id == "bad"
    assert letter.reason.startswith("the embedded index refused the article: UnicodeEncodeError")
    assert "\\ud800" in letter.payload_bytes().decode("utf-8", "surrogatepass").encode("unicode_escape").decode()
    again = EmbeddedRuntime(settings, enricher=fake_enricher).run(once=True)
    assert (again.read, again.dead) == (0, 0), "the file's checkpoint was committed: the refusal is not repeated"
