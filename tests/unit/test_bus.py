"""Producing: an article whose text is not valid Unicode is sent as it is and dead-lettered by the consumer, never a crash."""

from __future__ import annotations

import pytest

from pipeline.article import Article, parse_article
from pipeline.errors import InvalidArticle
from pipeline.runtime.bus import Outbox
from pipeline.settings import Settings


class RecordingProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    def send(self, topic: str, key: bytes, value: bytes) -> None:
        self.sent.append((topic, key, value))


def test_a_lone_surrogate_travels_and_the_decode_step_refuses_it():
    producer = RecordingProducer()
    Outbox(producer, Settings()).send_articles("news.articles", [Article(id="bad", title="T", body="A \ud800 B")])
    [(topic, key, value)] = producer.sent
    assert (topic, key) == ("news.articles", b"bad")
    with pytest.raises(InvalidArticle, match="not UTF-8"):
        parse_article(value)
