"""The stories of the embedded index: band keys, story ids and copy counts in the same SQLite file.

    articles      + canonical_url, outlet, seen_at, story_id, story_seen_at, copies, fingerprint
    story_bands   (band key, article): the LSH lookup, one row per band key of an article

One process writes an embedded index, so there is no race to settle: a merge is one UPDATE.
`migrate` brings a file written by an older newswire up to date when it is opened (schema
version in `PRAGMA user_version`): every article it holds becomes the first copy of its own
story, with its canonical URL, so an article arriving again under its new, canonical id
finds its old row (`lookup`).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timezone

from pipeline.article import EnrichedArticle, parse_enriched
from pipeline.errors import InvalidArticle
from pipeline.index import Indexed, StoryCandidate, StoryStore
from pipeline.index.ownership import joined_sources, outlet_of
from pipeline.urls import canonical_url

__all__ = ["SCHEMA_VERSION", "EmbeddedStories", "migrate", "stamp"]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2

_COLUMNS = (
    ("canonical_url", "TEXT"), ("outlet", "TEXT"), ("seen_at", "TEXT"), ("story_id", "TEXT"),
    ("story_seen_at", "TEXT"), ("copies", "INTEGER"), ("fingerprint", "TEXT"),
)
_STORY_SCHEMA = """
CREATE INDEX IF NOT EXISTS articles_by_canonical_url ON articles(canonical_url);
CREATE INDEX IF NOT EXISTS articles_by_story ON articles(story_id);
CREATE TABLE IF NOT EXISTS story_bands (
    band TEXT NOT NULL,
    article INTEGER NOT NULL REFERENCES articles(rowid) ON DELETE CASCADE,
    PRIMARY KEY (band, article)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS story_bands_by_article ON story_bands(article);
"""


def stamp(moment: datetime) -> str:
    """A UTC timestamp as text that sorts as time does."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _moment(text: str | None) -> datetime:
    return datetime.fromisoformat(text) if text else datetime.max.replace(tzinfo=timezone.utc)


def migrate(db: sqlite3.Connection) -> None:
    """Bring the schema to SCHEMA_VERSION and fill the story columns of older rows (idempotent)."""
    if db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
        return
    with db:
        present = {row[1] for row in db.execute("PRAGMA table_xinfo(articles)")}
        for name, kind in _COLUMNS:
            if name not in present:
                db.execute(f"ALTER TABLE articles ADD COLUMN {name} {kind}")
        db.executescript(_STORY_SCHEMA)
        older = db.execute("SELECT rowid, id, document FROM articles WHERE story_id IS NULL").fetchall()
        now = stamp(datetime.now(timezone.utc))
        for rowid, article_id, document in older:
            stored = json.loads(document)
            try:
                article = parse_enriched(stored)
            except InvalidArticle:
                article = None
            seen = (article.fetched_at or article.published_at) if article else None
            seen_at = stamp(seen) if seen else now
            stored["sources"] = joined_sources(stored.get("sources") or [], article.source if article else None)
            db.execute(
                "UPDATE articles SET canonical_url = ?, outlet = ?, seen_at = ?, story_id = ?, "
                "story_seen_at = ?, copies = 1, document = ? WHERE rowid = ?",
                (canonical_url(article.url) if article else None, outlet_of(article) if article else None,
                 seen_at, article_id, seen_at,
                 json.dumps(stored, ensure_ascii=False), rowid),
            )
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    if older:
        logger.info("embedded index upgraded schema=%d articles=%d", SCHEMA_VERSION, len(older))


class EmbeddedStories(StoryStore):
    """The StoryStore of an EmbeddedIndex (see the module docstring)."""

    single_writer = True

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def lookup(self, articles: Sequence[EnrichedArticle]) -> list[Indexed | None]:
        found: list[Indexed | None] = []
        select = "SELECT id, seen_at, story_id, story_seen_at FROM articles"
        for article in articles:
            row = self.db.execute(f"{select} WHERE id = ?", (article.id,)).fetchone()
            link = canonical_url(article.url)
            if row is None and link:
                row = self.db.execute(f"{select} WHERE canonical_url = ? ORDER BY seen_at, id LIMIT 1", (link,)).fetchone()
            found.append(Indexed(row[0], _moment(row[1]), row[2] or row[0], _moment(row[3] or row[1])) if row else None)
        return found

    def candidates(self, band_keys: Sequence[Sequence[str]], exclude: Sequence[str], size: int) -> list[list[StoryCandidate]]:
        found = []
        for keys, article_id in zip(band_keys, exclude):
            keys = sorted(set(keys))
            if not keys:
                found.append([])
                continue
            # Count shared keys on the (band, article) key alone, then read only the articles that made the cut.
            rows = self.db.execute(
                "SELECT a.id, a.story_id, a.story_seen_at, a.fingerprint, s.shared FROM ("
                f"SELECT article, count(*) AS shared FROM story_bands WHERE band IN ({', '.join('?' * len(keys))}) "
                "GROUP BY article ORDER BY shared DESC, article LIMIT ?) s "
                "JOIN articles a ON a.rowid = s.article WHERE a.id != ? ORDER BY s.shared DESC, a.rowid",
                (*keys, size + 1, article_id),
            ).fetchall()[:size]
            found.append([
                StoryCandidate(i, story or i, _moment(seen), json.loads(fingerprint) if fingerprint else None, shared)
                for i, story, seen, fingerprint, shared in rows
            ])
        return found

    def merge(self, into: str, into_seen_at: datetime, stories: Sequence[str]) -> int:
        moving = [story for story in dict.fromkeys(stories) if story != into]
        if not moving:
            return 0
        with self.db:
            root = self.db.execute("SELECT story_id, story_seen_at FROM articles WHERE id = ?", (into,)).fetchone()
            if root is not None and root[0] and root[0] != into:  # `into` joined an earlier story since: follow it
                moving.append(into)
                into, into_seen_at = root[0], _moment(root[1])
            moved = self.db.execute(
                f"UPDATE articles SET story_id = ?, story_seen_at = ?, copies = NULL WHERE story_id IN ({', '.join('?' * len(moving))})",
                (into, stamp(into_seen_at), *moving),
            ).rowcount
        logger.info("stories merged into=%s from=%s copies=%d", into, ",".join(moving), moved)
        return moved

    def recount(self, story_ids: Sequence[str]) -> dict[str, int]:
        counts = {}
        with self.db:
            for story in dict.fromkeys(story_ids):
                (count,) = self.db.execute("SELECT count(*) FROM articles WHERE story_id = ?", (story,)).fetchone()
                if count:
                    self.db.execute("UPDATE articles SET copies = ? WHERE id = ? AND story_id = id", (count, story))
                    counts[story] = count
        return counts

    def outlets(self, story_ids: Sequence[str]) -> dict[str, tuple[int, list[str]]]:
        """Per story: its number of copies and its outlets, first seen first."""
        told: dict[str, tuple[int, list[str]]] = {}
        wanted = list(dict.fromkeys(story_ids))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self.db.execute(
                f"SELECT story_id, outlet FROM articles WHERE story_id IN ({', '.join('?' * len(chunk))}) ORDER BY seen_at, rowid",
                chunk,
            ).fetchall()
            for story, outlet in rows:
                count, outlets = told.get(story, (0, []))
                told[story] = (count + 1, outlets if not outlet or outlet in outlets else [*outlets, outlet])
        return told
