"""The embedded index's reads: search, counts, facet counts and full scans over one SQLite connection.

Every read starts from one selection of the matching articles (`selection`): FTS5 `MATCH`
for the text, the facets table for entity filters, and two generated columns of `articles`
(`source_name`, `language`, read from the stored document) plus `published_utc` for the
source, language and date filters. `add_read_columns` adds those columns and their indexes
to an index written before they existed (idempotent, once per file).
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterator
from datetime import timedelta

from pipeline.article import EnrichedArticle, parse_enriched
from pipeline.errors import InvalidArticle
from pipeline.search import FACET_OPTIONS, FACETS, FIELD_FILTERS, FacetCount, Facets, SearchHit, SearchQuery

__all__ = ["fts_query", "add_read_columns", "selection", "search", "count", "facets", "scan"]

logger = logging.getLogger(__name__)

_WORD = re.compile(r'"[^"]*"|[^\s"]+')

# Generated columns of `articles` (name → declaration), read from the stored document.
_READ_COLUMNS = {
    "source_name": "TEXT GENERATED ALWAYS AS (json_extract(document, '$.source.name')) VIRTUAL",
    "language": "TEXT GENERATED ALWAYS AS (json_extract(document, '$.language')) VIRTUAL",
    "published_utc": "TEXT GENERATED ALWAYS AS (datetime(published_at)) VIRTUAL",
}
# Each field column twice: as spelled (counting facets reads the index, never the documents)
# and in any case (the filters). The facets table's own index on (kind, value) is in any case.
_READ_INDEXES = """
CREATE INDEX IF NOT EXISTS articles_by_source ON articles(source_name);
CREATE INDEX IF NOT EXISTS articles_by_source_nocase ON articles(source_name COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS articles_by_language ON articles(language);
CREATE INDEX IF NOT EXISTS articles_by_language_nocase ON articles(language COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS articles_by_date ON articles(published_utc);
"""
_COUNTING_INDEXES = {"source_name": "articles_by_source", "language": "articles_by_language"}
# SearchQuery's field filters → the generated column each one reads.
_FIELD_COLUMNS = {"source": "source_name", "language": "language"}
assert set(_FIELD_COLUMNS) == set(FIELD_FILTERS)


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


def add_read_columns(db: sqlite3.Connection) -> None:
    """Add the generated columns and indexes the reads use, where missing (an index from before them)."""
    present = {row[1] for row in db.execute("PRAGMA table_xinfo(articles)")}
    missing = [name for name in _READ_COLUMNS if name not in present]
    for name in missing:
        db.execute(f"ALTER TABLE articles ADD COLUMN {name} {_READ_COLUMNS[name]}")
    if missing:
        logger.info("embedded index columns added columns=%s", ",".join(missing))
    db.executescript(_READ_INDEXES)


def selection(query: SearchQuery) -> tuple[str, list[object]] | None:
    """`FROM … WHERE …` selecting the articles (as `a`) that match `query`, and its parameters.

    None when the text holds no searchable word (nothing can match).
    """
    match = fts_query(query.text)
    if query.text.strip() and not match:
        return None
    where: list[str] = []
    params: list[object] = []
    if match:
        source = "articles_text JOIN articles a ON a.rowid = articles_text.rowid"
        where.append("articles_text MATCH ?")
        params.append(match)
    else:
        source = "articles a"
    filters = query.filters()
    for option, kind in FACETS.items():
        if option in filters:
            where.append(
                "a.rowid IN (SELECT article FROM facets WHERE kind = ? AND "
                "(value = ? OR (' ' || lower(value) || ' ') LIKE ('% ' || lower(?) || ' %')))"
            )
            params += [kind, filters[option], filters[option]]
    for option, column in _FIELD_COLUMNS.items():
        if option in filters:
            where.append(f"a.{column} = ? COLLATE NOCASE")
            params.append(filters[option])
    if query.since:
        where.append("a.published_utc >= ?")
        params.append(f"{query.since.isoformat()} 00:00:00")
    if query.until:
        where.append("a.published_utc < ?")
        params.append(f"{(query.until + timedelta(days=1)).isoformat()} 00:00:00")
    return source + (" WHERE " + " AND ".join(where) if where else ""), params


def search(db: sqlite3.Connection, query: SearchQuery) -> list[SearchHit]:
    """One page of hits: best matches first (BM25, title weighted 3:1); without text, the newest."""
    selected = selection(query)
    if selected is None:
        return []
    source, params = selected
    if query.text.strip():
        sql = (
            "SELECT a.document, -bm25(articles_text, 3.0, 1.0), snippet(articles_text, 1, ?, ?, ' … ', 24) "
            f"FROM {source} ORDER BY bm25(articles_text, 3.0, 1.0)"
        )
        params = [*query.marks, *params]
    else:
        sql = f"SELECT a.document, 0.0, '' FROM {source} ORDER BY a.published_utc DESC, a.rowid DESC"
    rows = db.execute(sql + " LIMIT ? OFFSET ?", [*params, query.limit, query.offset]).fetchall()
    return [
        SearchHit(parse_enriched(document), float(score), [snippet] if snippet else [])
        for document, score, snippet in rows
    ]


def count(db: sqlite3.Connection, query: SearchQuery) -> int:
    selected = selection(query)
    if selected is None:
        return 0
    source, params = selected
    return db.execute(f"SELECT count(*) FROM {source}", params).fetchone()[0]


def facets(db: sqlite3.Connection, query: SearchQuery, size: int) -> Facets:
    """The `size` most frequent values of every facet among the matches (one statement, the matches read once).

    Values are counted as spelled and ordered by count, then by name in code-point order, as
    Elasticsearch's `terms` aggregation does; the filters still match them in any case. An
    article's values are stored once each (as spelled), so counting rows counts articles.
    """
    found: Facets = {option: [] for option in FACET_OPTIONS}
    selected = selection(query)
    if selected is None:
        return found
    source, params = selected
    everything = source == "articles a" and not params  # no text, no filter: count over the whole index
    among = "" if everything else "rowid IN hits AND "
    option_of = {kind: option for option, kind in FACETS.items()}
    per_field = " UNION ALL ".join(
        f"SELECT '{option}', {column}, count(*) FROM articles INDEXED BY {_COUNTING_INDEXES[column]} "
        f"WHERE {among}{column} IS NOT NULL GROUP BY {column}"
        for option, column in _FIELD_COLUMNS.items()
    )
    sql = (
        f"WITH hits AS MATERIALIZED (SELECT a.rowid FROM {source}), "
        "counted(kind, value, n) AS ("
        f"SELECT kind, value, count(*) FROM facets {'' if everything else 'WHERE article IN hits '}"
        "GROUP BY kind, value COLLATE BINARY "
        f"UNION ALL {per_field}) "
        "SELECT kind, value, n FROM (SELECT kind, value, n, "
        "row_number() OVER (PARTITION BY kind ORDER BY n DESC, value COLLATE BINARY) AS place FROM counted) "
        "WHERE place <= ? ORDER BY kind, place"
    )
    for kind, value, n in db.execute(sql, [*params, size]):
        found[option_of.get(kind, kind)].append(FacetCount(value, n))
    return found


def scan(db: sqlite3.Connection, query: SearchQuery, page_size: int) -> Iterator[EnrichedArticle]:
    """Every match once, in rowid order, from one cursor (one read transaction: a consistent snapshot)."""
    selected = selection(query)
    if selected is None:
        return
    source, params = selected
    cursor = db.execute(f"SELECT a.id, a.document FROM {source}", params)
    try:
        while rows := cursor.fetchmany(page_size):
            for article_id, document in rows:
                try:
                    yield parse_enriched(document)
                except InvalidArticle as e:
                    logger.warning("embedded scan skipped id=%s reason=%r", article_id, str(e))
    finally:
        cursor.close()
