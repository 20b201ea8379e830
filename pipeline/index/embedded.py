"""The embedded search index: SQLite with FTS5 in one file under data_dir.

One row per article id (so re-running never duplicates), the newest `version` from the
owning source wins (`pipeline.index.ownership`: another source only joins `sources`), BM25
ranking with the title weighted over the body, entity filters over the people,
organizations, places and speakers lists (pipeline.search.FACETS), one hit per story unless
every copy is asked for. The reads (search, counts, facets, scans) are in `embedded_reads`,
the stories (band keys, story ids, copy counts) in `embedded_stories`.
It implements the `pipeline.index.Index` contract: a batch is one transaction, and an
article SQLite refuses (text that is not valid Unicode) fails alone, with its reason.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path

from pipeline.article import EnrichedArticle
from pipeline.errors import ServiceError, StorageError
from pipeline.index import Index, StoryMark, WriteResult, WriteStatus, embedded_reads
from pipeline.index.embedded_reads import fts_query, stored_article
from pipeline.index.embedded_stories import EmbeddedStories, migrate, stamp
from pipeline.index.ownership import joined_sources, may_replace, outlet_of
from pipeline.search import FACETS, Facets, SearchHit, SearchQuery
from pipeline.urls import canonical_url

__all__ = ["EmbeddedIndex", "fts_query"]

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    version INTEGER NOT NULL,
    published_at TEXT,
    document TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS articles_text USING fts5(
    title, body, tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS facets (
    article INTEGER NOT NULL REFERENCES articles(rowid) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    value TEXT NOT NULL COLLATE NOCASE
);
CREATE INDEX IF NOT EXISTS facets_by_value ON facets(kind, value);
CREATE INDEX IF NOT EXISTS facets_by_article ON facets(article);
"""

# SQLite result codes (low byte of the extended code) that mean the disk, not the article, refused:
# the batch is not safe and nothing of it is committed.
_DISK_ERRORS = frozenset({sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN})


def _disk_error(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _DISK_ERRORS


class EmbeddedIndex(Index):
    """An on-disk full-text index of EnrichedArticles."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._stories: EmbeddedStories | None = None

    def open(self) -> "EmbeddedIndex":
        if self._db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=30.0)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA foreign_keys=ON")
                db.executescript(_SCHEMA)
                embedded_reads.add_read_columns(db)
                migrate(db)
            except (sqlite3.DatabaseError, OSError) as e:
                raise ServiceError(f"embedded index {self.path} cannot be opened: {getattr(e, 'strerror', None) or e}") from None
            self._db = db
        return self

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
            self._stories = None

    @property
    def db(self) -> sqlite3.Connection:
        return self.open()._db  # type: ignore[return-value]

    @property
    def stories(self) -> EmbeddedStories:
        if self._stories is None:
            self._stories = EmbeddedStories(self.db)
        return self._stories

    def setup(self) -> list[str]:
        """Create the file and its tables, or bring an older file up to date (idempotent)."""
        self.open()
        return [f"embedded index ready at {self.path}"]

    def refresh(self) -> None:
        """Nothing to do: a committed write is searchable at once."""

    def write(
        self,
        articles: Sequence[EnrichedArticle],
        stop: threading.Event | None = None,
        marks: Sequence[StoryMark | None] | None = None,
    ) -> list[WriteResult]:
        """Index a batch in one transaction; one WriteResult per article, same order.

        An older version never replaces a newer one (`stale`), another source never replaces
        the owner's article (`joined`); an article SQLite refuses is rolled back alone
        (`failed`, with the reason) and the rest of the batch is kept.
        """
        try:
            return self._write(articles, list(marks) if marks is not None else [None] * len(articles))
        except sqlite3.Error as e:
            if not _disk_error(e):
                raise
            self._reset()
            raise StorageError(f"embedded index {self.path} cannot be written: {e}") from None

    def _reset(self) -> None:
        """After a disk error the connection's transaction state is unknown: start a new one next time."""
        try:
            self.close()
        except sqlite3.Error:
            self._db = None

    def _write(self, articles: Sequence[EnrichedArticle], marks: list[StoryMark | None]) -> list[WriteResult]:
        results = []
        now = datetime.now(timezone.utc)
        with self.db:
            self.db.execute("BEGIN")  # the batch's transaction; each article is a savepoint inside it
            for article, mark in zip(articles, marks):
                self.db.execute("SAVEPOINT article")
                try:
                    status = self._upsert(article, mark, now)
                except (sqlite3.Error, UnicodeError, ValueError) as e:
                    if isinstance(e, sqlite3.Error) and _disk_error(e):
                        raise
                    self.db.execute("ROLLBACK TO article")
                    reason = f"the embedded index refused the article: {type(e).__name__}: {' '.join(str(e).split())[:200]}"
                    logger.warning("not indexable id=%s reason=%s", article.id, reason)
                    results.append(WriteResult(article.id, "failed", reason))
                else:
                    results.append(WriteResult(article.id, status))
                self.db.execute("RELEASE article")
        return results

    def _upsert(self, article: EnrichedArticle, mark: StoryMark | None, now: datetime) -> WriteStatus:
        db = self.db
        row = db.execute(
            "SELECT rowid, version, document, seen_at, story_id, story_seen_at, copies FROM articles WHERE id = ?",
            (article.id,),
        ).fetchone()
        stored = json.loads(row[2]) if row is not None else {}
        sources = joined_sources(stored.get("sources") or [], article.source)
        if row is not None and not may_replace(article, stored.get("source")):
            if sources != stored.get("sources"):
                stored["sources"] = sources
                db.execute("UPDATE articles SET document = ? WHERE rowid = ?", (json.dumps(stored, ensure_ascii=False), row[0]))
            return "joined"
        if row is not None and row[1] > article.version:
            return "stale"
        seen_at = row[3] if row is not None else stamp(mark.seen_at if mark else now)
        story_id = article.story_id or (row[4] if row is not None else None) or article.id
        story_seen_at = stamp(mark.story_seen_at) if mark else (row[5] if row is not None else seen_at)
        copies = (row[6] if row is not None and row[6] else 1) if story_id == article.id else None
        document = article.model_copy(update={"story_id": None, "copies": None}).to_dict()  # the columns hold them
        document["sources"] = sources
        columns = {
            "version": article.version, "published_at": _date(article), "document": json.dumps(document, ensure_ascii=False),
            "canonical_url": canonical_url(article.url), "outlet": outlet_of(article),
            "seen_at": seen_at, "story_id": story_id, "story_seen_at": story_seen_at, "copies": copies,
            "fingerprint": json.dumps(mark.fingerprint) if mark and mark.fingerprint else None,
        }
        if row is not None:
            rowid = row[0]
            db.execute("DELETE FROM articles_text WHERE rowid = ?", (rowid,))
            db.execute("DELETE FROM facets WHERE article = ?", (rowid,))
            db.execute("DELETE FROM story_bands WHERE article = ?", (rowid,))
            db.execute(f"UPDATE articles SET {', '.join(f'{c} = ?' for c in columns)} WHERE rowid = ?", (*columns.values(), rowid))
        else:
            names = ", ".join(["id", *columns])
            rowid = db.execute(
                f"INSERT INTO articles ({names}) VALUES ({', '.join('?' * (len(columns) + 1))})", (article.id, *columns.values())
            ).lastrowid
        db.execute("INSERT INTO articles_text (rowid, title, body) VALUES (?, ?, ?)", (rowid, article.title, article.body))
        db.executemany(
            "INSERT INTO facets (article, kind, value) VALUES (?, ?, ?)",
            [(rowid, kind, value) for kind in FACETS.values() for value in set(getattr(article, kind))],
        )
        if mark is not None:
            db.executemany("INSERT INTO story_bands (band, article) VALUES (?, ?)", [(key, rowid) for key in set(mark.band_keys)])
        return "indexed"

    def get(self, article_id: str) -> EnrichedArticle | None:
        row = self.db.execute("SELECT document, story_id, copies FROM articles WHERE id = ?", (article_id,)).fetchone()
        return stored_article(*row) if row else None

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """Best matches first, one per story (its best copy) unless `query.copies`; without text, the newest."""
        hits = embedded_reads.search(self.db, query)
        told = self.stories.outlets([hit.article.story_id or hit.article.id for hit in hits])
        for hit in hits:
            hit.story_copies, hit.story_outlets = told.get(hit.article.story_id or hit.article.id, (1, []))
        return hits

    def count(self, query: SearchQuery | None = None) -> int:
        if query is None:
            return self.db.execute("SELECT count(*) FROM articles").fetchone()[0]
        return embedded_reads.count(self.db, query)

    def facets(self, query: SearchQuery, size: int = 10) -> Facets:
        return embedded_reads.facets(self.db, query, size)

    def scan(self, query: SearchQuery, page_size: int = 500) -> Iterator[EnrichedArticle]:
        yield from embedded_reads.scan(self.db, query, page_size)


def _date(article: EnrichedArticle) -> str | None:
    moment = article.published_at or article.fetched_at
    return moment.isoformat() if moment else None

