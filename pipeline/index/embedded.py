"""The embedded search index: SQLite with FTS5 in one file under data_dir.

One row per article id (so re-running never duplicates), the newest `version` wins,
BM25 ranking with the title weighted over the body, and entity filters over
the people, organizations, places and speakers lists (pipeline.search.FACETS).
It implements the `pipeline.index.Index` contract: a batch is one transaction, and an
article SQLite refuses (text that is not valid Unicode) fails alone, with its reason.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from pipeline.article import EnrichedArticle, parse_enriched
from pipeline.errors import ServiceError, StorageError
from pipeline.index import Index, WriteResult
from pipeline.search import FACETS, SearchHit, SearchQuery

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
MAX_HITS = 10_000  # a search returns at most this many (Elasticsearch's default result window)
_DISK_ERRORS = frozenset({sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN})


def _disk_error(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _DISK_ERRORS


_WORD = re.compile(r'"[^"]*"|[^\s"]+')


def fts_query(text: str) -> str:
    """User text to a safe FTS5 query: every word or "quoted phrase" must match (implicit AND).

    `OR` between words is kept; every other character is quoted, so no input is a syntax error.
    """
    parts = []
    for token in _WORD.findall(text):
        if token == "OR" and parts and parts[-1] != "OR":
            parts.append("OR")
            continue
        inner = token.strip('"').replace('"', "")
        words = re.findall(r"\w+", inner)
        if words:
            parts.append('"' + " ".join(words) + '"')
    while parts and parts[-1] == "OR":
        parts.pop()
    return " ".join(parts)


class EmbeddedIndex(Index):
    """An on-disk full-text index of EnrichedArticles."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None

    def open(self) -> "EmbeddedIndex":
        if self._db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=30.0)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA foreign_keys=ON")
                db.executescript(_SCHEMA)
            except (sqlite3.DatabaseError, OSError) as e:
                raise ServiceError(f"embedded index {self.path} cannot be opened: {getattr(e, 'strerror', None) or e}") from None
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
        try:
            return self._write(articles)
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

    def _write(self, articles: Sequence[EnrichedArticle]) -> list[WriteResult]:
        results = []
        with self.db:
            self.db.execute("BEGIN")  # the batch's transaction; each article is a savepoint inside it
            for article in articles:
                self.db.execute("SAVEPOINT article")
                try:
                    written = self._upsert(article)
                except (sqlite3.Error, UnicodeError, ValueError) as e:
                    if isinstance(e, sqlite3.Error) and _disk_error(e):
                        raise
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

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM articles").fetchone()[0]

    def get(self, article_id: str) -> EnrichedArticle | None:
        row = self.db.execute("SELECT document FROM articles WHERE id = ?", (article_id,)).fetchone()
        return parse_enriched(row[0]) if row else None

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """Best matches first; without text, the newest articles that pass the filters."""
        where, params = [], []
        for option, kind in FACETS.items():
            value = getattr(query, option)
            if value:
                where.append(
                    "a.rowid IN (SELECT article FROM facets WHERE kind = ? AND "
                    "(value = ? OR (' ' || lower(value) || ' ') LIKE ('% ' || lower(?) || ' %') ESCAPE '\\'))"
                )
                params += [kind, value.strip(), _literal(value.strip())]
        match = fts_query(query.text)
        if match:
            sql = (
                "SELECT a.document, -bm25(articles_text, 3.0, 1.0), "
                "snippet(articles_text, 1, '[', ']', ' … ', 24) "
                "FROM articles_text JOIN articles a ON a.rowid = articles_text.rowid "
                "WHERE articles_text MATCH ?"
            )
            params.insert(0, match)
            where_sql = "".join(" AND " + clause for clause in where)
            sql += where_sql + " ORDER BY bm25(articles_text, 3.0, 1.0) LIMIT ?"
        elif query.text.strip():
            return []
        else:
            sql = "SELECT a.document, 0.0, '' FROM articles a"
            sql += (" WHERE " + " AND ".join(where)) if where else ""
            sql += " ORDER BY a.published_at DESC, a.rowid DESC LIMIT ?"
        params.append(min(max(int(query.limit), 1), MAX_HITS))
        rows = self.db.execute(sql, params).fetchall()
        return [
            SearchHit(parse_enriched(document), float(score), [snippet] if snippet else [])
            for document, score, snippet in rows
        ]


def _literal(value: str) -> str:
    """`value` for LIKE with every `%` and `_` (and the escape character) taken literally."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _date(article: EnrichedArticle) -> str | None:
    moment = article.published_at or article.fetched_at
    return moment.isoformat() if moment else None

