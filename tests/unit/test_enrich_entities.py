"""Entities with the real spaCy pipeline: merging, cleaning, labels, keyword lists, the seed article."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.article import Article, EnrichedArticle
from tests.conftest import enrich_text as enrich

SEED = Path(__file__).resolve().parents[2] / "seeds" / "000_8b8c846030eca38d.txt"


def by_name(result: EnrichedArticle) -> dict[str, tuple[str, int, list[str]]]:
    return {e.name: (e.label, e.mentions, e.aliases) for e in result.entities}


@pytest.fixture(scope="module")
def seed(enricher) -> tuple[Article, EnrichedArticle]:
    lines = SEED.read_text(encoding="utf-8").split("\n")
    article = Article(id="seed", title=lines[0], body="\n".join(lines[1:]).strip("\n"))
    result = enricher.enrich([article])[0]
    assert isinstance(result, EnrichedArticle)
    return article, result


def test_seed_quotes_are_both_antony_blinken(seed):
    article, result = seed
    quotes = [q for q in result.quotes if q.kind == "direct"]
    assert len(quotes) == 2
    assert all(q.speaker == "Antony Blinken" and q.speaker_label == "PERSON" for q in quotes)
    assert quotes[0].text.startswith("As we stand here almost a week")
    assert quotes[1].text.endswith("Prime Minister Netanyahu earlier today")
    for quote in result.quotes:
        assert article.body[quote.start:quote.end] == quote.text


def test_seed_entities(seed):
    _, result = seed
    names = by_name(result)
    for name in ("Antony Blinken", "David Cameron", "Kamala Harris", "Lloyd Austin", "Netanyahu"):
        assert names[name][0] == "PERSON", name
    assert names["Hamas"][0] == "ORG"
    for place in ("Israel", "Gaza", "Tel Aviv", "Washington", "Khan Younis"):
        assert names[place][0] in ("GPE", "LOC", "FAC"), place
    assert "Blinken" not in names and "Tel Aviv's" not in names
    assert "State" not in names and "Defense" not in names


def test_surname_merges_with_full_name_and_counts_mentions(enricher):
    body = (
        "U.S. Secretary of State Antony Blinken visited Cairo on Monday. "
        "Blinken met officials there. Later, Blinken flew home."
    )
    label, mentions, aliases = by_name(enrich(enricher, body))["Antony Blinken"]
    assert label == "PERSON"
    assert mentions == 3
    assert set(aliases) == {"Antony Blinken", "Blinken"}


def test_acronym_merges_with_its_expansion(enricher):
    body = (
        "The World Health Organization (WHO) warned on Thursday that cases had risen. "
        "The WHO said Romania reported the largest increase."
    )
    names = by_name(enrich(enricher, body))
    assert names["World Health Organization"][0] == "ORG"
    assert "WHO" in names["World Health Organization"][2]
    assert "WHO" not in names


def test_possessives_and_titles_are_stripped(enricher):
    body = (
        "Dr. Anika Patel will lead the programme, Prime Minister Keir Starmer said. "
        "Tel Aviv's mayor and London's mayor were not consulted about Dr. Patel's plan."
    )
    names = by_name(enrich(enricher, body))
    assert names["Anika Patel"][0] == "PERSON"
    assert names["Keir Starmer"][0] == "PERSON"
    assert "Tel Aviv" in names and "London" in names
    assert not any("'s" in n or "’s" in n or n.startswith(("Dr", "Prime")) for n in names)


def test_title_fragments_are_not_entities(enricher):
    body = (
        "Secretary of State Antony Blinken and Defense Secretary Lloyd Austin met "
        "Health Secretary Wes Streeting in London."
    )
    names = by_name(enrich(enricher, body))
    assert {"Antony Blinken", "Lloyd Austin", "Wes Streeting"} <= set(names)
    assert not {"State", "Defense", "Health"} & set(names)


def test_place_labelled_by_context(enricher):
    body = "Residents reported fierce battles east of Khan Younis, southern Gaza's largest city."
    label = by_name(enrich(enricher, body))["Khan Younis"][0]
    assert label in ("GPE", "LOC", "FAC")


def test_organisation_labelled_by_its_name_and_apposition(enricher):
    body = (
        "Skyward Airlines cancelled 1,200 flights on Friday. "
        "Lumora, the San Francisco software company, said it would cut 400 jobs."
    )
    names = by_name(enrich(enricher, body))
    assert names["Skyward Airlines"][0] == "ORG"
    assert names["Lumora"][0] == "ORG"


def test_keyword_lists(enricher):
    body = (
        "Chief executive Priya Raman of Lumora spoke in New York on Monday. "
        '"We grew too fast and I take full responsibility for it," Raman said.'
    )
    result = enrich(enricher, body)
    assert "Priya Raman" in result.people
    assert "New York" in result.places
    assert result.speakers == ["Priya Raman"]
    assert set(result.people) <= {e.name for e in result.entities}


def test_first_name_the_model_missed_joins_the_surname(enricher):
    body = (
        "Amara Raghunathan, chief executive of the World Health Organization, spoke on Monday. "
        "Raghunathan said the numbers would improve."
    )
    names = by_name(enrich(enricher, body))
    assert names["Amara Raghunathan"][0] == "PERSON"
    assert "Raghunathan" not in names


def test_headline_common_word_is_not_an_entity(enricher):
    result = enrich(enricher, "Monsoon rains killed 38 people in Nepal, officials said. The monsoon began early.",
                    title="Monsoon rains kill dozens in Nepal")
    names = by_name(result)
    assert "Monsoon" not in names
    assert names["Nepal"][0] in ("GPE", "LOC")
