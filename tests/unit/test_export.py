"""`newswire export`: JSON lines, CSV and Parquet read back equal the index; formulas neutralised; memory flat."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import datetime, timedelta, timezone

import pyarrow.parquet as pq
import pytest

from pipeline.article import EnrichedArticle, Entity, Quote, parse_enriched
from pipeline.cli import main
from pipeline.export import LIST_SEPARATOR, TABLES, neutralise_formula, open_writer, restore_formula, write_all
from pipeline.index.embedded import EmbeddedIndex
from pipeline.search import SearchQuery
from tests import index_reads


def formula_article() -> EnrichedArticle:
    """Text a spreadsheet would run: a title, a quote, a speaker and an alias that start like formulas."""
    body = 'Sales fell. "-5 percent was the drop in sales this year," said @handle on Monday.'
    quote = "-5 percent was the drop in sales this year,"
    start = body.index(quote)
    return EnrichedArticle(
        id="formula/1", title='=HYPERLINK("http://evil.example","click")', body=body,
        published_at=datetime(2024, 3, 1, 8, 30, tzinfo=timezone(timedelta(hours=2))),
        source={"connector": "files", "name": "+sheet"},
        entities=[Entity(name="@handle", label="PERSON", mentions=1, aliases=["+44 handle", "'=quoted"])],
        quotes=[Quote(text=quote, speaker="@handle", speaker_label="PERSON", start=start, end=start + len(quote))],
        people=["@handle"], speakers=["@handle"],
    )


@pytest.fixture
def index(tmp_path):
    with EmbeddedIndex(tmp_path / "index.sqlite") as opened:
        opened.write([*index_reads.corpus(), formula_article()])
        yield opened


def _export(index, what: str, format_name: str, query: SearchQuery | None = None) -> bytes:
    query = query or SearchQuery()
    stream = io.BytesIO()
    write_all(index.scan(query, page_size=2), open_writer(format_name, TABLES[what], stream, speaker=query.speaker))
    return stream.getvalue()


def _expected(index, what: str) -> list[dict]:
    """The rows of the table, straight from the index (times in UTC, as Parquet keeps them)."""
    rows = [row for article in index.scan(SearchQuery()) for row in TABLES[what].rows(article, None)]
    return [{k: v.astimezone(timezone.utc) if isinstance(v, datetime) else v for k, v in row.items()} for row in rows]


def _from_csv(what: str, data: bytes) -> list[dict]:
    """Read an export's CSV back into typed rows: formulas restored, lists split, times parsed."""
    kinds = {column.name: column.kind for column in TABLES[what].columns}
    rows = []
    for record in csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")):
        row = {}
        for name, cell in record.items():
            kind = kinds[name]
            if kind in ("text", "json", "texts"):
                cell = restore_formula(cell)
            if kind == "texts":
                row[name] = cell.split(LIST_SEPARATOR) if cell else []
            elif kind == "int":
                row[name] = int(cell)
            elif kind == "time":
                row[name] = datetime.fromisoformat(cell).astimezone(timezone.utc) if cell else None
            else:
                row[name] = cell or None
        rows.append(row)
    return rows


@pytest.mark.parametrize("what", list(TABLES))
def test_csv_reads_back_equal_to_the_index(index, what):
    data = _export(index, what, "csv")
    header = data.decode("utf-8").splitlines()[0].split(",")
    assert header == TABLES[what].names
    assert _from_csv(what, data) == _expected(index, what)


@pytest.mark.parametrize("what", list(TABLES))
def test_parquet_reads_back_equal_to_the_index(index, what):
    table = pq.read_table(io.BytesIO(_export(index, what, "parquet")))
    assert table.column_names == TABLES[what].names
    assert table.to_pylist() == _expected(index, what)


def test_json_lines_of_articles_are_the_articles_and_of_quotes_one_per_line(index):
    lines = _export(index, "articles", "jsonl").decode("utf-8").splitlines()
    assert [parse_enriched(line) for line in lines] == list(index.scan(SearchQuery()))
    quotes = [json.loads(line) for line in _export(index, "quotes", "jsonl").decode("utf-8").splitlines()]
    assert len(quotes) == 6 and quotes[-1]["published_at"] == "2024-03-01T08:30:00+02:00"


def test_the_quotes_table_has_one_row_per_quote_with_its_article_and_offsets(index):
    rows = _from_csv("quotes", _export(index, "quotes", "csv", SearchQuery(speaker="Antony Blinken")))
    assert [row["text"] for row in rows] == ["We are working on a ceasefire every day,", "The gap between intent and results remains,"]
    first = rows[0]
    assert (first["article_id"], first["url"], first["source"], first["speaker"], first["speaker_label"], first["kind"]) == (
        "reads/blinken", "https://example.org/blinken", "wire", "Antony Blinken", "PERSON", "direct",
    )
    assert index_reads.BLINKEN_BODY[first["start"]:first["end"]] == first["text"]
    assert first["published_at"] == datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)


def test_spreadsheet_formulas_are_neutralised_in_csv(index):
    text = _export(index, "quotes", "csv", SearchQuery(text="sales")).decode("utf-8")
    cells = next(csv.DictReader(io.StringIO(text)))
    assert cells["text"] == "'-5 percent was the drop in sales this year," and cells["speaker"] == "'@handle"
    assert cells["source"] == "'+sheet" and cells["start"] == "13", "numbers are numbers, not neutralised"
    article = next(csv.DictReader(io.StringIO(_export(index, "articles", "csv", SearchQuery(text="sales")).decode("utf-8"))))
    assert article["title"].startswith("'=HYPERLINK(")
    for cell in (*cells.values(), *article.values()):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


@pytest.mark.parametrize("text", ["=1+1", "+44", "-5", "@SUM(A1)", "\tx", "\rx", "'=x", "''@x", "'plain", "plain", "", "a=b", "'"])
def test_neutralising_is_undone_exactly_and_leaves_other_text_alone(text):
    safe = neutralise_formula(text)
    assert restore_formula(safe) == text
    assert not safe.startswith(("=", "+", "-", "@", "\t", "\r"))
    if not text.lstrip("'").startswith(("=", "+", "-", "@", "\t", "\r")):
        assert safe == text


def test_the_command_writes_the_file_whole_or_not_at_all(index, tmp_path, write_config, capsys):
    config = write_config(data_dir=str(index.path.parent))
    target = tmp_path / "quotes.csv"
    assert main(["export", "-c", str(config), "--what", "quotes", "--format", "csv", "-o", str(target), "--speaker", "Blinken"]) == 0
    assert len(_from_csv("quotes", target.read_bytes())) == 2
    assert "exported 2 quotes row(s) from 1 article(s)" in capsys.readouterr().err
    missing = tmp_path / "no" / "such" / "dir" / "out.parquet"
    assert main(["export", "-c", str(config), "--format", "parquet", "-o", str(missing)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("newswire: error: cannot write") and "Traceback" not in error
    assert not missing.parent.exists() and list(tmp_path.glob("**/*.part")) == []


def test_an_export_before_anything_is_indexed_says_so(tmp_path, write_config, capsys):
    config = write_config(data_dir=str(tmp_path / "empty"))
    assert main(["export", "-c", str(config), "-o", str(tmp_path / "x.jsonl")]) == 1
    assert "nothing is indexed yet" in capsys.readouterr().err


def _synthetic(count: int) -> list[EnrichedArticle]:
    body = "Words of a synthetic article about the harbour and its trade. " * 40
    return [
        EnrichedArticle(
            id=f"synthetic/{n:06d}", title=f"Article {n}", body=body, fetched_at=datetime(2024, 1, 1, tzinfo=timezone.utc),
            quotes=[Quote(text="the harbour and its trade", speaker="Ann Lee", speaker_label="PERSON", start=30, end=55)],
            entities=[Entity(name="Ann Lee", label="PERSON", mentions=1)], people=["Ann Lee"], speakers=["Ann Lee"],
        )
        for n in range(count)
    ]


def _peak_bytes_of_export(path, format_name: str, what: str) -> int:
    with EmbeddedIndex(path) as index:
        tracemalloc.start()
        try:
            write_all(index.scan(SearchQuery()), open_writer(format_name, TABLES[what], _Sink()))
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


class _Sink(io.RawIOBase):
    """A stream that keeps nothing (the export's own memory is measured, not its output)."""

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        return len(data)


@pytest.fixture(scope="module")
def synthetic_indexes(tmp_path_factory) -> dict[int, object]:
    """Two embedded indexes, of 1,500 and of 6,000 synthetic articles."""
    paths = {}
    for count in (1500, 6000):
        paths[count] = tmp_path_factory.mktemp("synthetic") / "index.sqlite"
        articles = _synthetic(count)
        with EmbeddedIndex(paths[count]) as index:
            for start in range(0, count, 500):
                index.write(articles[start:start + 500])
    return paths


@pytest.mark.parametrize("format_name, what", [("csv", "articles"), ("parquet", "articles"), ("jsonl", "quotes")])
def test_memory_does_not_grow_with_the_number_of_articles(synthetic_indexes, format_name, what):
    peaks = {count: _peak_bytes_of_export(path, format_name, what) for count, path in synthetic_indexes.items()}
    # Kept in memory, 4x the articles would need 4x the bytes (~3 kB each); streamed, the peak stays put.
    assert peaks[6000] < 1.3 * peaks[1500], peaks
