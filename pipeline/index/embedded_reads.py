"""The embedded index's reads: search, counts, facet counts and full scans over one SQLite connection.

Every read starts from one selection of the matching articles (`selection`): FTS5 `MATCH`
for the text, the facets table for entity filters, and two generated columns of `articles`
(`source_name`, `language`, read from the stored document) plus `published_utc` for the
source, language and date filters. `add_read_columns` adds those columns and their indexes
to an index written before they existed (idempotent, once per file). A search shows one hit per
story (the best copy of each, `story_id` a column kept by `embedded_stories`) unless every copy
is asked for; the story columns are laid over the stored document as it is read.
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

__all__ = ["fts_query", "add_read_columns", "selection", "stored_article", "search", "count", "facets", "scan"]

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
MAX_PAGE = 1_000_000  # bounds a page size or an offset (SQLite's integers overflow past 2**63)
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
                "(value = ? OR (' ' || lower(value) || ' ') LIKE ('% ' || lower(?) || ' %') ESCAPE '\\'))"
            )
            params += [kind, filters[option], _literal(filters[option])]
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


def _literal(value: str) -> str:
    """`value` for LIKE with every `%` and `_` (and the escape character) taken literally."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _bounded(number: int, low: int = 1) -> int:
    """A page size or offset SQLite can take (an absurd one is not an OverflowError)."""
    return min(max(int(number), low), MAX_PAGE)


def stored_article(document: str, story_id: str | None, copies: int | None) -> EnrichedArticle:
    """A stored article with its story as it is now (merges and recounts change the columns, not the document)."""
    article = parse_enriched(document)
    return article.model_copy(update={"story_id": story_id or article.id, "copies": copies})


def search(db: sqlite3.Connection, query: SearchQuery) -> list[SearchHit]:
    """One page of hits: best matches first (BM25, title weighted 3:1); without text, the newest.

    One hit per story (its best-placed copy) unless `query.copies`. The page is chosen first
    from the ranks alone; documents and snippets are read for that page only.
    """
    selected = selection(query)
    if selected is None:
        return []
    source, params = selected
    text = bool(query.text.strip())
    if text:
        ranked = f"SELECT a.rowid AS position, a.story_id AS story, -bm25(articles_text, 3.0, 1.0) AS score FROM {source}"
        order = "score DESC, position"
    else:
        ranked = f"SELECT a.rowid AS position, a.story_id AS story, 0.0 AS score, a.published_utc AS published FROM {source}"
        order = "published DESC, position DESC"
    if not query.copies:
        ranked = (f"SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY coalesce(story, position) ORDER BY {order}) AS best "
                  f"FROM ({ranked})) WHERE best = 1")
    page = db.execute(
        f"SELECT position, score FROM ({ranked}) ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, _bounded(query.limit), _bounded(query.offset, 0)],
    ).fetchall()
    if not page:
        return []
    wanted = ", ".join("?" * len(page))
    if text:
        rows = db.execute(
            "SELECT a.rowid, a.document, a.story_id, a.copies, snippet(articles_text, 1, ?, ?, ' … ', 24) "
            f"FROM articles_text JOIN articles a ON a.rowid = articles_text.rowid WHERE articles_text MATCH ? AND a.rowid IN ({wanted})",
            [*query.marks, fts_query(query.text), *(position for position, _ in page)],
        ).fetchall()
    else:
        rows = db.execute(
            f"SELECT rowid, document, story_id, copies, '' FROM articles WHERE rowid IN ({wanted})", [p for p, _ in page],
        ).fetchall()
    found = {rowid: (document, story, copies, snippet) for rowid, document, story, copies, snippet in rows}
    hits = []
    for position, score in page:
        document, story, copies, snippet = found[position]
        hits.append(SearchHit(stored_article(document, story, copies), float(score), [snippet] if snippet else []))
    return hits


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
    cursor = db.execute(f"SELECT a.id, a.document, a.story_id, a.copies FROM {source}", params)
    try:
        while rows := cursor.fetchmany(page_size):
            for article_id, document, story_id, copies in rows:
                try:
                    yield stored_article(document, story_id, copies)
                except InvalidArticle as e:
                    logger.warning("embedded scan skipped id=%s reason=%r", article_id, str(e))
    finally:
        cursor.close()
