"""The Kafka bus: client configuration, topics, producing with acknowledgement, dead letters.

Settings are converted explicitly to kafka-python's own config here and nowhere else.
Every failure to reach the broker becomes a ServiceUnavailable with one clear line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from pipeline.article import Article
from pipeline.deadletter import DeadLetter
from pipeline.errors import ServiceError, ServiceUnavailable
from pipeline.settings import Settings

__all__ = [
    "group_for",
    "client_config",
    "make_producer",
    "make_consumer",
    "ensure_topics",
    "Outbox",
    "partitions",
    "next_offsets",
    "read_topic",
    "end_offsets",
    "committed_offsets",
    "caught_up",
]

logger = logging.getLogger(__name__)

RETRY_BASE_SECONDS, RETRY_CAP_SECONDS = 0.5, 30.0  # backoff for a poll, a batch or a commit the broker did not take

# Topics and producers accept records this large (the broker's own default is 1 MiB): an
# enriched article repeats its quotes, so a body at the 2 MiB limit needs room.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


def group_for(settings: Settings, role: str) -> str:
    """`newswire-enrich` and `newswire-sink` by default (kafka.group_prefix changes the prefix)."""
    return f"{settings.kafka.group_prefix}-{role}"


def client_config(settings: Settings) -> dict:
    """kafka-python keyword arguments shared by producers, consumers and the admin client."""
    kafka = settings.kafka
    config = {
        "bootstrap_servers": [s.strip() for s in (kafka.bootstrap_servers or "").split(",") if s.strip()],
        "client_id": kafka.client_id,
        "security_protocol": kafka.security_protocol,
        "request_timeout_ms": kafka.request_timeout_ms,
        "bootstrap_timeout_ms": kafka.bootstrap_timeout_ms,
    }
    if kafka.sasl_mechanism:
        config["sasl_mechanism"] = kafka.sasl_mechanism
        config["sasl_plain_username"] = kafka.sasl_username
        if kafka.sasl_password is not None:
            config["sasl_plain_password"] = kafka.sasl_password.get_secret_value()
    if kafka.ssl_cafile:
        config["ssl_cafile"] = kafka.ssl_cafile
    if kafka.security_protocol.upper().endswith("SSL"):
        config["ssl_check_hostname"] = kafka.ssl_check_hostname
    return config


def _unreachable(settings: Settings, error: Exception) -> ServiceUnavailable:
    return ServiceUnavailable(f"Kafka at {settings.kafka.bootstrap_servers} is unreachable: {error}")


def make_producer(settings: Settings) -> KafkaProducer:
    """acks=all, idempotent, retries without reordering."""
    try:
        return KafkaProducer(
            **client_config(settings),
            acks="all",
            enable_idempotence=True,
            retries=2_147_483_647,
            max_in_flight_requests_per_connection=5,
            linger_ms=5,
            delivery_timeout_ms=120_000,
            max_request_size=MAX_MESSAGE_BYTES,
        )
    except (KafkaError, OSError) as e:
        raise _unreachable(settings, e) from None


def make_consumer(settings: Settings, group: str | None, topics: Sequence[str] = (), **overrides) -> KafkaConsumer:
    """A consumer that never commits by itself: the worker commits after its output is safe."""
    config = dict(
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.nlp.batch_size,
        max_poll_interval_ms=600_000,
        fetch_max_bytes=16 * 1024 * 1024,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    config.update(overrides)
    try:
        consumer = KafkaConsumer(**client_config(settings), **config)
    except (KafkaError, OSError) as e:
        raise _unreachable(settings, e) from None
    if topics:
        consumer.subscribe(list(topics))
    return consumer


COMPACTED = {"cleanup.policy": "compact", "max.message.bytes": str(MAX_MESSAGE_BYTES)}


def ensure_topics(settings: Settings, names: Sequence[str] | None = None) -> list[str]:
    """Create newswire's topics if missing (all of them, or `names`); returns what was done.

    The articles, enriched and dead-letter topics delete old records; the fleet's feed list and
    state changelog are compacted (the latest record of each key is kept for good).
    """
    topics = settings.topics
    compacted = {topics.feeds, topics.feed_state}
    names = list(names) if names is not None else [topics.articles, topics.enriched, topics.deadletter, *sorted(compacted)]
    try:
        admin = KafkaAdminClient(**client_config(settings))
    except (KafkaError, OSError) as e:
        raise _unreachable(settings, e) from None
    done = []
    try:
        existing = set(admin.list_topics())
        for name in names:
            if name in existing:
                done.append(f"topic {name} exists")
                continue
            try:
                configs = COMPACTED if name in compacted else {"max.message.bytes": str(MAX_MESSAGE_BYTES)}
                topic = NewTopic(name, topics.partitions, topics.replication_factor, topic_configs=dict(configs))
                admin.create_topics([topic], timeout_ms=30_000)
                kind = ", compacted" if name in compacted else ""
                done.append(f"topic {name} created ({topics.partitions} partitions{kind})")
            except TopicAlreadyExistsError:
                done.append(f"topic {name} exists")
    except KafkaError as e:
        raise ServiceError(f"cannot create topics on Kafka at {settings.kafka.bootstrap_servers}: {e}") from None
    finally:
        admin.close()
    return done


@dataclass
class Outbox:
    """Produces a batch, then waits until the broker acknowledged every record of it."""

    producer: KafkaProducer
    settings: Settings

    def send_articles(self, topic: str, articles: Iterable[Article]) -> list:
        """Produce articles keyed by id. Text that is not valid Unicode (a lone surrogate) is sent as
        it is, surrogates passed through: the consumer's decode step dead-letters it, nothing crashes."""
        return [
            self.producer.send(topic, key=_utf8(a.id), value=_utf8(a.to_json()))
            for a in articles
        ]

    def send_deadletters(self, letters: Iterable[DeadLetter]) -> list:
        topic = self.settings.topics.deadletter
        return [
            self.producer.send(
                topic,
                key=_utf8(letter.article_id) if letter.article_id else None,
                value=_utf8(letter.to_json()),
            )
            for letter in letters
        ]

    def confirm(self, futures: list, timeout: float = 120.0) -> None:
        """Flush and check every send; raise ServiceUnavailable if any was not acknowledged."""
        try:
            self.producer.flush(timeout=timeout)
            for future in futures:
                future.get(timeout=timeout)
        except KafkaError as e:
            raise ServiceUnavailable(f"Kafka did not acknowledge a batch: {e}") from None


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def partitions(consumer: KafkaConsumer, topic: str) -> list[TopicPartition]:
    """Every partition of `topic`, in order."""
    return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]


def next_offsets(records: Iterable) -> dict[TopicPartition, OffsetAndMetadata]:
    """The offsets to commit once `records` are safe: one past the highest record of each partition."""
    last: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        last[tp] = max(last.get(tp, -1), record.offset)
    return {tp: OffsetAndMetadata(offset + 1, "", -1) for tp, offset in last.items()}


def read_topic(settings: Settings, topic: str, group: str | None, limit: int | None = None) -> tuple[KafkaConsumer, list]:
    """Records of `topic` from the group's position (or the beginning) to its end now, oldest first.

    Returns the consumer too (assigned, not subscribed): the caller commits through it and closes it.
    """
    consumer = make_consumer(settings, group, consumer_timeout_ms=2000)
    try:
        assigned = partitions(consumer, topic)
        if not assigned:
            return consumer, []
        consumer.assign(assigned)
        ends = consumer.end_offsets(assigned)
        if group is None:
            consumer.seek_to_beginning(*assigned)
        records: list = []
        while any(consumer.position(tp) < ends[tp] for tp in assigned):
            for batch in consumer.poll(timeout_ms=1000).values():
                records.extend(batch)
            if limit and len(records) >= limit:
                break
        return consumer, sorted(records, key=lambda r: (r.timestamp, r.partition, r.offset))[:limit]
    except Exception:
        consumer.close()
        raise


def end_offsets(consumer: KafkaConsumer, topic: str) -> dict[TopicPartition, int]:
    return consumer.end_offsets(partitions(consumer, topic))


def committed_offsets(consumer: KafkaConsumer, topic: str) -> dict[TopicPartition, int]:
    return {tp: consumer.committed(tp) or 0 for tp in partitions(consumer, topic)}


def caught_up(consumer: KafkaConsumer, topic: str, targets: dict[TopicPartition, int]) -> bool:
    """Has the consumer's group committed at least `targets` on every partition?"""
    committed = committed_offsets(consumer, topic)
    return all(committed.get(tp, 0) >= end for tp, end in targets.items())
