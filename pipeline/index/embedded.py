"""The embedded search index: SQLite with FTS5 in one file under data_dir.

One row per article id (so re-running never duplicates), the newest `version` wins,
BM25 ranking with the title weighted over the body, and entity filters over
the people, organizations, places and speakers lists (pipeline.search.FACETS).
The reads (search, counts, facets, scans) are in `embedded_reads`.
It implements the `pipeline.index.Index` contract: a batch is one transaction, and an
article SQLite refuses (text that is not valid Unicode) fails alone, with its reason.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from pipeline.article import EnrichedArticle, parse_enriched
from pipeline.errors import ServiceError
from pipeline.index import Index, WriteResult, embedded_reads
from pipeline.index.embedded_reads import fts_query
from pipeline.search import FACETS, Facets, SearchHit, SearchQuery

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

class EmbeddedIndex(Index):
    """An on-disk full-text index of EnrichedArticles."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None

    def open(self) -> "EmbeddedIndex":
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                db = sqlite3.connect(self.path, timeout=30.0)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA foreign_keys=ON")
                db.executescript(_SCHEMA)
                embedded_reads.add_read_columns(db)
            except sqlite3.DatabaseError as e:
                raise ServiceError(f"embedded index {self.path} cannot be opened: {e}") from None
            self._db = db
        return self

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        return self.open()._db  # type: ignore[return-value]

    def setup(self) -> list[str]:
        """Create the file and its tables (idempotent)."""
        self.open()
        return [f"embedded index ready at {self.path}"]

    def refresh(self) -> None:
        """Nothing to do: a committed write is searchable at once."""

    def write(self, articles: Sequence[EnrichedArticle], stop: threading.Event | None = None) -> list[WriteResult]:
        """Index a batch in one transaction; one WriteResult per article, same order.

        An older version never replaces a newer one (`stale`); an article SQLite refuses is
        rolled back alone (`failed`, with the reason) and the rest of the batch is kept.
        """
        results = []
        with self.db:
            self.db.execute("BEGIN")  # the batch's transaction; each article is a savepoint inside it
            for article in articles:
                self.db.execute("SAVEPOINT article")
                try:
                    written = self._upsert(article)
                except (sqlite3.Error, UnicodeError, ValueError) as e:
                    self.db.execute("ROLLBACK TO article")
                    reason = f"the embedded index refused the article: {type(e).__name__}: {' '.join(str(e).split())[:200]}"
                    logger.warning("not indexable id=%s reason=%s", article.id, reason)
                    results.append(WriteResult(article.id, "failed", reason))
                else:
                    results.append(WriteResult(article.id, "indexed" if written else "stale"))
                self.db.execute("RELEASE article")
        return results

    def _upsert(self, article: EnrichedArticle) -> int:
        db = self.db
        row = db.execute("SELECT rowid, version FROM articles WHERE id = ?", (article.id,)).fetchone()
        if row is not None:
            if row[1] > article.version:
                return 0
            db.execute("DELETE FROM articles_text WHERE rowid = ?", (row[0],))
            db.execute("DELETE FROM facets WHERE article = ?", (row[0],))
            db.execute(
                "UPDATE articles SET version = ?, published_at = ?, document = ? WHERE rowid = ?",
                (article.version, _date(article), article.to_json(), row[0]),
            )
            rowid = row[0]
        else:
            rowid = db.execute(
                "INSERT INTO articles (id, version, published_at, document) VALUES (?, ?, ?, ?)",
                (article.id, article.version, _date(article), article.to_json()),
            ).lastrowid
        db.execute("INSERT INTO articles_text (rowid, title, body) VALUES (?, ?, ?)", (rowid, article.title, article.body))
        db.executemany(
            "INSERT INTO facets (article, kind, value) VALUES (?, ?, ?)",
            [(rowid, kind, value) for kind in FACETS.values() for value in set(getattr(article, kind))],
        )
        return 1

    def get(self, article_id: str) -> EnrichedArticle | None:
        row = self.db.execute("SELECT document FROM articles WHERE id = ?", (article_id,)).fetchone()
        return parse_enriched(row[0]) if row else None

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """Best matches first; without text, the newest articles that pass the filters."""
        return embedded_reads.search(self.db, query)

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

