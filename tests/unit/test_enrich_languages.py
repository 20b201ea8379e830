"""The enrich step detects each article's language and runs the English entities and quotes on English only."""

from __future__ import annotations

from pipeline.article import Article
from pipeline.runtime.steps import enrich_step, with_language

FRENCH = Article(
    id="fr", title="Les mineurs de Lens sont remontés sains et saufs",
    body="Les secouristes ont ramené à la surface les douze mineurs bloqués depuis mardi. "
         "Le préfet Jean Dupont a salué le travail des équipes venues de toute la région.",
)
ENGLISH = Article(
    id="en", title="Miners rescued after two days underground",
    body="Rescuers brought the twelve miners to the surface on Thursday. Jane Porter, the governor, praised the teams.",
)


def test_each_article_gets_the_language_of_its_text():
    assert with_language(FRENCH).language == "fr"
    assert with_language(ENGLISH).language == "en"
    # The text decides over a feed's declaration; a declaration is kept (as its ISO 639-1 code) only when the text is too short.
    assert with_language(FRENCH.model_copy(update={"language": "en-US"})).language == "fr"
    assert with_language(Article(id="s", title="Q3", body="Ok.", language="de-AT")).language == "de"
    assert with_language(Article(id="s", title="Q3", body="Ok.", language="english")).language is None


def test_other_languages_are_indexed_without_english_entities_or_quotes(fake_enricher):
    passed = enrich_step(fake_enricher, [FRENCH, ENGLISH])
    assert [a.id for a in passed.articles] == ["fr", "en"] and not passed.dead
    french, english = passed.articles
    assert french.language == "fr" and french.entities == [] and french.people == [] and french.quotes == []
    assert fake_enricher.calls == [1], "only the English article went through the English pipeline"
    assert english.language == "en" and english.people == ["Jane Porter"]


def test_an_unclear_language_is_read_as_english(fake_enricher):
    brief = Article(id="b", title="", body="Jane Porter: ok.")
    [enriched] = enrich_step(fake_enricher, [brief]).articles
    assert enriched.language is None and enriched.people == ["Jane Porter"]
