"""The reads of the Index contract on the embedded index (the same checks run on Elasticsearch in the integration tier)."""

from __future__ import annotations

import sqlite3

import pytest

from pipeline.index.embedded import EmbeddedIndex
from pipeline.search import SearchQuery
from tests import index_reads


@pytest.fixture
def index(tmp_path):
    with EmbeddedIndex(tmp_path / "index.sqlite") as opened:
        assert all(result.ok for result in opened.write(index_reads.corpus()))
        yield opened


@pytest.mark.parametrize("check", index_reads.ALL_CHECKS, ids=lambda check: check.__name__)
def test_embedded_reads(index, check):
    check(index)


def test_an_index_written_before_the_read_columns_gets_them_on_open(tmp_path):
    path = tmp_path / "old.sqlite"
    with EmbeddedIndex(path) as opened:
        opened.write(index_reads.corpus())
    db = sqlite3.connect(path)  # take the index back to the schema it had before the reads (no generated columns)
    db.executescript(
        "DROP INDEX articles_by_source; DROP INDEX articles_by_language; DROP INDEX articles_by_date;"
        "DROP INDEX articles_by_source_nocase; DROP INDEX articles_by_language_nocase;"
        "ALTER TABLE articles DROP COLUMN source_name; ALTER TABLE articles DROP COLUMN language;"
        "ALTER TABLE articles DROP COLUMN published_utc;"
    )
    db.close()
    with EmbeddedIndex(path) as reopened:
        assert reopened.count(SearchQuery(source="wire", language="en")) == 2
        index_reads.check_facets(reopened)


def test_a_scan_reads_a_snapshot_while_the_index_is_written(index):
    scan = index.scan(SearchQuery(), page_size=1)
    first = next(scan)
    with EmbeddedIndex(index.path) as writer:  # another connection, as a running pipeline would be
        writer.write([index_reads.corpus()[0].model_copy(update={"id": "reads/new"})])
    rest = [article.id for article in scan]
    assert sorted([first.id, *rest]) == sorted(article.id for article in index_reads.corpus())
    assert index.count() == 5
