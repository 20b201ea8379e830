"""Dead letters in both modes: where they are kept, listing them, and replaying them after a fix.

    embedded:     data_dir/deadletter.jsonl (one DeadLetter JSON per line); replay re-runs the
                  enrich and index steps and rewrites the file with what is still dead
    distributed:  the dead-letter topic; replay sends each payload back to the topic it failed
                  from (news.enriched for the sink, else news.articles) and commits the
                  replay group's offsets, so a letter is replayed once
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from pipeline.article import parse_article
from pipeline.deadletter import DeadLetter
from pipeline.enrich import Enricher
from pipeline.errors import InvalidArticle, StorageError
from pipeline.runtime.indexes import open_index
from pipeline.runtime.lock import DataDirLock
from pipeline.runtime.steps import make_enricher, enrich_step, index_step
from pipeline.settings import Settings

__all__ = ["DeadLetterFile", "deadletter_path", "read_deadletters", "replay_deadletters", "REPLAY_GROUP"]

logger = logging.getLogger(__name__)

REPLAY_GROUP = "deadletter-replay"  # with kafka.group_prefix: `newswire-deadletter-replay`


def deadletter_path(settings: Settings) -> Path:
    return settings.data_dir / "deadletter.jsonl"


class DeadLetterFile:
    """The embedded mode's dead-letter store: one JSON line per record in `data_dir/deadletter.jsonl`.

    Reading never fails on the store's own content: a line that is not a dead letter (torn by a
    crash, a byte that is not UTF-8, a hand edit) is listed as a `decode` letter holding that line,
    and the good lines around it are read. An append starts on a line of its own, so a torn line
    never swallows the next letter. A letter equal to one already kept (same stage, article, reason,
    source and payload) is not kept twice: an unreadable file polled every 30 s is one letter.
    `resolve` drops the letters an index write made obsolete. Writes that the disk refuses are a
    StorageError: the batch is not safe, nothing is committed.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._keys: set[str] | None = None
        self._ids: set[str] = set()

    @staticmethod
    def _key(letter: DeadLetter) -> str:
        fields = [letter.stage, letter.article_id, letter.reason, letter.source, letter.payload]
        return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode("utf-8", "backslashreplace")).hexdigest()

    def _known(self) -> set[str]:
        if self._keys is None:
            letters = self.read()
            self._keys = {self._key(letter) for letter in letters}
            self._ids = {letter.article_id for letter in letters if letter.article_id}
        return self._keys

    def append(self, letters: Iterable[DeadLetter]) -> int:
        """Keep `letters` (those not kept already); returns how many were written."""
        known = self._known()
        fresh = []
        for letter in letters:
            key = self._key(letter)
            if key not in known:
                known.add(key)
                fresh.append(letter)
        if not fresh:
            return 0
        data = "".join(letter.to_json() + "\n" for letter in fresh).encode("utf-8", "backslashreplace")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab+") as handle:
                end = handle.seek(0, os.SEEK_END)
                if end and os.pread(handle.fileno(), 1, end - 1) != b"\n":
                    data = b"\n" + data  # the last line was torn: end it, do not extend it
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as e:
            for letter in fresh:
                known.discard(self._key(letter))
            raise StorageError(f"cannot write dead letters to {self.path}: {e.strerror or e}") from None
        self._ids.update(letter.article_id for letter in fresh if letter.article_id)
        return len(fresh)

    def read(self, limit: int | None = None) -> list[DeadLetter]:
        """The letters, oldest first (at most `limit`); damaged lines as `decode` letters holding the line."""
        if not self.path.exists():
            return []
        letters: list[DeadLetter] = []
        try:
            with self.path.open("rb") as handle:
                for number, line in enumerate(handle, start=1):
                    if limit is not None and len(letters) >= limit:
                        break
                    if line.strip():
                        letters.append(self._letter(line, number))
        except OSError as e:
            raise StorageError(f"cannot read dead letters from {self.path}: {e.strerror or e}") from None
        return letters

    def _letter(self, line: bytes, number: int) -> DeadLetter:
        try:
            return DeadLetter.model_validate_json(line)
        except ValueError as e:
            detail = e.errors()[0]["msg"] if isinstance(e, ValidationError) else str(e)
            reason = f"line {number} of {self.path.name} is not a dead letter (torn or damaged): {' '.join(detail.split())[:200]}"
            return DeadLetter.of("decode", reason, line.rstrip(b"\r\n"))

    def replace(self, letters: Iterable[DeadLetter]) -> None:
        """Rewrite the store with `letters` (what is still dead after a replay or a resolve)."""
        kept = list(letters)
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_bytes("".join(letter.to_json() + "\n" for letter in kept).encode("utf-8", "backslashreplace"))
            os.replace(tmp, self.path)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"cannot rewrite dead letters in {self.path}: {e.strerror or e}") from None
        self._keys = {self._key(letter) for letter in kept}
        self._ids = {letter.article_id for letter in kept if letter.article_id}

    def resolve(self, article_ids: Iterable[str], sources: Iterable[tuple[str, str]] = ()) -> int:
        """Drop the letters made obsolete by a write: those of articles now indexed, and the source
        failures (no article, no payload) of connectors that now deliver. Returns how many went."""
        self._known()
        indexed = set(article_ids) & self._ids
        delivering = set(sources)
        if not indexed and not delivering:
            return 0

        def obsolete(letter: DeadLetter) -> bool:
            if letter.article_id:
                return letter.article_id in indexed
            source = (letter.source.get("connector"), letter.source.get("name"))
            return letter.stage == "connector" and not letter.payload and source in delivering

        letters = self.read()
        kept = [letter for letter in letters if not obsolete(letter)]
        if len(kept) == len(letters):
            return 0
        self.replace(kept)
        logger.info("dead letters resolved count=%d", len(letters) - len(kept))
        return len(letters) - len(kept)


def read_deadletters(settings: Settings, limit: int | None = None) -> list[DeadLetter]:
    """Every dead letter, oldest first (the topic when Kafka is configured, else the file)."""
    if not settings.distributed:
        return DeadLetterFile(deadletter_path(settings)).read(limit)
    from pipeline.runtime.bus import read_topic

    consumer, records = read_topic(settings, settings.topics.deadletter, None, limit)
    consumer.close()
    letters = []
    for record in records:
        try:
            letters.append(DeadLetter.model_validate_json(record.value or b""))
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
    (replaying again is harmless: the ids make it overwrite). It holds the data_dir lock: a run
    appending letters meanwhile would otherwise lose them in the rewrite.
    """
    with DataDirLock(settings.data_dir, "newswire deadletter replay"):
        store = DeadLetterFile(deadletter_path(settings))
        letters = store.read()
        articles, kept = [], []
        for letter in letters:
            try:
                articles.append(parse_article(letter.payload_bytes()))
            except (InvalidArticle, ValueError):  # ValueError: a damaged base64 payload
                kept.append(letter)
        if not articles:
            return 0, len(kept)
        enricher.warm_up()
        enriched = enrich_step(enricher, articles)
        with open_index(settings) as index:
            indexed, refused = index_step(index, enriched.articles)
            index.refresh()
        store.replace(kept + enriched.dead + refused)
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
                letter = DeadLetter.model_validate_json(record.value or b"")
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
