"""Dead letters in both modes: where they are kept, listing them, and replaying them after a fix.

    embedded:     data_dir/deadletter.jsonl (one DeadLetter JSON per line); replay re-runs the
                  enrich and index steps and rewrites the file with what is still dead
    distributed:  the dead-letter topic; replay sends each payload back to the topic it failed
                  from (news.enriched for the sink, else news.articles) and commits the
                  replay group's offsets, so a letter is replayed once
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from pipeline.article import parse_article
from pipeline.deadletter import DeadLetter
from pipeline.enrich import Enricher
from pipeline.errors import InvalidArticle
from pipeline.runtime.indexes import open_index
from pipeline.runtime.steps import make_enricher, enrich_step, index_step
from pipeline.settings import Settings

__all__ = ["DeadLetterFile", "deadletter_path", "read_deadletters", "replay_deadletters", "REPLAY_GROUP"]

logger = logging.getLogger(__name__)

REPLAY_GROUP = "deadletter-replay"  # with kafka.group_prefix: `newswire-deadletter-replay`


def deadletter_path(settings: Settings) -> Path:
    return settings.data_dir / "deadletter.jsonl"


class DeadLetterFile:
    """The embedded mode's dead-letter store: one JSON line per record in `data_dir/deadletter.jsonl`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def append(self, letters: Iterable[DeadLetter]) -> int:
        lines = [letter.to_json() + "\n" for letter in letters]
        if lines:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.writelines(lines)
                handle.flush()
                os.fsync(handle.fileno())
        return len(lines)

    def read(self) -> list[DeadLetter]:
        if not self.path.exists():
            return []
        letters = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    letters.append(DeadLetter.model_validate_json(line))
                except ValueError:
                    continue  # a torn last line after a crash
        return letters

    def replace(self, letters: Iterable[DeadLetter]) -> None:
        """Rewrite the store with `letters` (what is still dead after a replay)."""
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(letter.to_json() + "\n" for letter in letters), encoding="utf-8")
        os.replace(tmp, self.path)


def read_deadletters(settings: Settings, limit: int | None = None) -> list[DeadLetter]:
    """Every dead letter, oldest first (the topic when Kafka is configured, else the file)."""
    if not settings.distributed:
        letters = DeadLetterFile(deadletter_path(settings)).read()
        return letters[:limit] if limit else letters
    from pipeline.runtime.bus import read_topic

    consumer, records = read_topic(settings, settings.topics.deadletter, None, limit)
    consumer.close()
    letters = []
    for record in records:
        try:
            letters.append(DeadLetter.model_validate_json(record.value))
        except ValueError:
            letters.append(DeadLetter.of("decode", "unreadable dead letter", record.value, topic=record.topic,
                                         partition=record.partition, offset=record.offset))
    return letters


def replay_deadletters(settings: Settings, enricher: Enricher | None = None) -> tuple[int, int]:
    """Send the dead letters through again; returns (replayed, still dead or skipped)."""
    if settings.distributed:
        return _replay_topic(settings)
    return _replay_file(settings, enricher or make_enricher(settings))


def _replay_file(settings: Settings, enricher: Enricher) -> tuple[int, int]:
    """Re-run every replayable letter through the enrich and index steps; keep the rest.

    The store is rewritten only after the replay is indexed, so a crash midway loses nothing
    (replaying again is harmless: the ids make it overwrite).
    """
    store = DeadLetterFile(deadletter_path(settings))
    letters = store.read()
    articles, kept = [], []
    for letter in letters:
        try:
            articles.append(parse_article(letter.payload_bytes()))
        except InvalidArticle:
            kept.append(letter)
    if not articles:
        return 0, len(kept)
    enricher.warm_up()
    enriched = enrich_step(enricher, articles)
    with open_index(settings) as index:
        indexed, refused = index_step(index, enriched.articles)
        index.refresh()
    store.replace(kept + enriched.dead + refused + store.read()[len(letters):])
    return indexed, len(kept) + len(enriched.dead) + len(refused)


def _replay_topic(settings: Settings) -> tuple[int, int]:
    """Produce each letter not replayed before back to the topic it failed from; commit the replay group."""
    from pipeline.runtime.bus import Outbox, group_for, make_producer, next_offsets, read_topic

    consumer, records = read_topic(settings, settings.topics.deadletter, group_for(settings, REPLAY_GROUP))
    producer = make_producer(settings)
    futures, replayed, skipped = [], 0, 0
    try:
        for record in records:
            try:
                letter = DeadLetter.model_validate_json(record.value)
                payload = letter.payload_bytes()
                article = parse_article(payload)
            except (ValueError, InvalidArticle):
                skipped += 1
                continue
            target = settings.topics.enriched if letter.stage == "sink" else settings.topics.articles
            futures.append(producer.send(target, key=article.id.encode("utf-8"), value=payload))
            replayed += 1
        Outbox(producer, settings).confirm(futures)
        if records:
            consumer.commit(next_offsets(records))
    finally:
        producer.close(timeout=30)
        consumer.close(autocommit=False)
    return replayed, skipped
