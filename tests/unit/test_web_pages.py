"""The HTML pages: untrusted text shown as text, only http(s) links, quotes and entities marked at their offsets, stories."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from starlette.testclient import TestClient

from pipeline.article import EnrichedArticle, Entity, Quote
from pipeline.index.embedded import EmbeddedIndex
from pipeline.search import SearchHit
from pipeline.web import create_app
from pipeline.web.markup import body_passages, safe_link, snippet_pieces
from pipeline.web.results import group_stories
from tests import index_reads

HOSTILE_TITLE = '<script>document.title="pwned"</script><img src=x onerror=alert(1)> & "quotes"'
HOSTILE_BODY = 'Mallory "<b>said</b> this with <i>tags</i> in it" at the <a href=javascript:alert(1)>meeting</a>.'


def hostile_article() -> EnrichedArticle:
    said = "<b>said</b> this with <i>tags</i> in it"
    start = HOSTILE_BODY.index(said)
    speaker = '"><script>alert(2)</script>'
    return EnrichedArticle(
        id='hostile/"><svg onload=alert(3)>', title=HOSTILE_TITLE, body=HOSTILE_BODY, url="javascript:alert(4)",
        source={"connector": "files", "name": "<em>source</em>"}, language='"en',
        entities=[Entity(name=speaker, label="PERSON", mentions=1, aliases=["Mallory"])],
        quotes=[Quote(text=said, speaker=speaker, speaker_label="PERSON", start=start, end=start + len(said))],
        people=[speaker], speakers=[speaker],
    )


@pytest.fixture
def client(tmp_path):
    path = tmp_path / "index.sqlite"
    with EmbeddedIndex(path) as index:
        index.write([*index_reads.corpus(), hostile_article()])
    with TestClient(create_app(lambda: EmbeddedIndex(path))) as test_client:
        yield test_client


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


# The elements the templates write; anything else in a page came from the data.
OUR_ELEMENTS = {
    "html", "head", "meta", "title", "link", "script", "body", "a", "header", "form", "div", "label", "input", "span",
    "button", "nav", "main", "aside", "section", "h1", "h2", "ul", "ol", "li", "article", "p", "time", "mark", "dl",
    "dt", "dd", "blockquote", "details", "summary", "q",
}


def _no_live_markup(page: str) -> None:
    """Every element and attribute in the page is one the templates write; every link is ours or http(s)."""
    parser = _Elements()
    parser.feed(page)
    for tag, attrs in parser.elements:
        assert tag in OUR_ELEMENTS, f"<{tag}> came from the data"
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        if tag == "script":
            assert attrs == {"src": "/static/newswire.js", "defer": None}
        for name in ("href", "src", "cite", "action"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith(("/", "#", "https://", "http://")) or value == "data:,", (tag, name, value)


@pytest.mark.parametrize(
    "path",
    [
        "/?q=meeting",
        "/quotes?q=meeting",
        "/article?id=hostile/%22%3E%3Csvg%20onload%3Dalert(3)%3E",
        "/speaker?name=%22%3E%3Cscript%3Ealert(2)%3C%2Fscript%3E",
        "/?person=%22%3E%3Cscript%3Ealert(2)%3C%2Fscript%3E",
    ],
)
def test_untrusted_text_is_shown_as_text_everywhere(client, path):
    answer = client.get(path)
    assert answer.status_code == 200
    _no_live_markup(answer.text)
    shown = html.unescape(re.sub(r"<[^>]+>", "", answer.text))
    assert HOSTILE_TITLE in shown or "/speaker" in path or "person=" in path


def test_the_hostile_title_reads_back_as_the_same_text(client):
    page = client.get("/?q=meeting").text
    heading = re.search(r'<h2 id="result-1" class="title"><a href="([^"]*)">(.*?)</a></h2>', page)
    assert heading and html.unescape(heading.group(2)) == HOSTILE_TITLE
    assert client.get(html.unescape(heading.group(1))).status_code == 200, "the article link takes the hostile id back whole"


def test_only_http_links_are_rendered_as_links():
    assert safe_link("https://example.org/a?b=1") == "https://example.org/a?b=1"
    assert safe_link("http://example.org") == "http://example.org"
    for bad in ("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "//evil.example/x", "/local", "ftp://x.org/f",
                "https:///nohost", "http://exa\nmple.org", None, ""):
        assert safe_link(bad) is None, bad


def test_snippet_marks_become_pieces_and_stray_marks_are_dropped():
    marks = ("\ue000", "\ue001")
    assert snippet_pieces("a \ue000Blinken\ue001 said [x]", marks) == [("a ", False), ("Blinken", True), (" said [x]", False)]
    assert snippet_pieces("\ue001odd \ue000open", marks) == [("odd ", False), ("open", True)]


def test_the_article_page_marks_quotes_at_their_offsets_and_entities_in_place(client):
    page = client.get("/article", params={"id": "reads/blinken"}).text
    quote = re.search(r'<span class="quote" id="quote-0"><mark class="quote-text">(.*?)</mark><a class="said-by" href="([^"]+)">(.*?)</a>', page)
    assert quote and re.sub(r"<[^>]+>", "", quote.group(1)) == "We are working on a ceasefire every day,"
    assert quote.group(3) == "Antony Blinken" and html.unescape(quote.group(2)) == "/speaker?name=Antony+Blinken"
    assert '<a class="entity entity-person" href="/?person=Antony+Blinken" title="PERSON: Antony Blinken">Antony Blinken</a>' in page
    assert '<a class="entity entity-person" href="/?person=Antony+Blinken" title="PERSON: Antony Blinken">Blinken</a>' in page
    assert '<a class="entity entity-place" href="/?place=Washington" title="GPE: Washington">Washington</a>' in page
    text = re.sub(r"<[^>]+>", "", re.search(r'<div class="body">(.*?)</div>', page, re.S).group(1))
    assert html.unescape(text).replace("Antony BlinkenAntony Blinken", "") .count("ceasefire") == 1


def test_quotes_whose_offsets_do_not_hold_their_text_stay_unmarked():
    body = 'He said "one two three four" and "five six seven eight".'
    good = Quote(text="one two three four", start=body.index("one"), end=body.index("one") + 18)
    shifted = Quote(text="five six seven eight", start=0, end=20)
    overlapping = Quote(text="two three four", start=body.index("two"), end=body.index("two") + 14)
    article = EnrichedArticle(id="a", title="t", body=body, quotes=[good, shifted, overlapping])
    passages = body_passages(article)
    assert [p.number for p in passages if p.quote] == [0]
    assert "".join(piece.text for passage in passages for piece in passage.pieces) == body


class StoryArticle(EnrichedArticle):
    """An article as issue 15 will index it: with its story and the copy count of the story's first article."""

    story_id: str | None = None
    copies: int | None = None


def test_copies_of_one_story_are_one_result_with_the_copies_listed():
    first = StoryArticle(id="wire/1", title="Port strike", body="b", story_id="wire/1", copies=3)
    copy = StoryArticle(id="paper/1", title="Port strike (copy)", body="b", story_id="wire/1")
    other = StoryArticle(id="other", title="Other", body="b", story_id="other")
    stories = group_stories([SearchHit(first, 2.0, story_copies=3), SearchHit(other, 1.5), SearchHit(copy, 1.0)])
    assert [(s.lead.article.id, [c.id for c in s.copies], s.size) for s in stories] == [
        ("wire/1", ["paper/1"], 3), ("other", [], 1),
    ]
    plain = group_stories([SearchHit(EnrichedArticle(id="x", title="", body="b"), 1.0)])
    assert plain[0].size == 1 and plain[0].copies == []


def test_the_results_page_lists_the_copies_of_a_story(tmp_path):
    path = tmp_path / "index.sqlite"
    with EmbeddedIndex(path) as index:
        index.write(index_reads.corpus())

    class StoryIndex(EmbeddedIndex):  # the articles carry story_id, as they will once issue 15 lands
        def search(self, query):
            return [
                SearchHit(StoryArticle(**{**hit.article.model_dump(), "story_id": "story-1" if hit.article.language == "en" else None}),
                          hit.score, hit.snippets)
                for hit in super().search(query)
            ]

    with TestClient(create_app(lambda: StoryIndex(path))) as client:
        page = client.get("/").text
        results = client.get("/api/search").json()["results"]
    assert page.count('class="result"') == 2 and "3 copies of this story" in page
    assert [(r["id"], r["story"]["copies"], [o["id"] for o in r["story"]["others"]]) for r in results] == [
        ("reads/blinken", 3, ["reads/harbour", "reads/late"]), ("reads/marches", 1, []),
    ]


def test_the_speaker_page_lists_one_speakers_quotes_by_month(client):
    page = client.get("/speaker", params={"name": "Antony Blinken"}).text
    assert "2 quotes over time" in page and '<h2 id="month-1">2024-05' in page
    assert page.count('<li class="quote quote-direct">') == 2 and "David Cameron" not in re.sub(r"<p class=\"summary\">.*?</p>", "", page, flags=re.S)


def test_a_facet_link_narrows_and_the_filter_can_be_removed(client):
    page = client.get("/", params={"q": "Blinken"}).text
    link = re.search(r'<section class="facet" data-facet="speaker">.*?<a href="([^"]+)"[^>]*>Antony Blinken</a>', page, re.S)
    narrowed = client.get(html.unescape(link.group(1))).text
    assert html.unescape(link.group(1)) == "/?q=Blinken&speaker=Antony+Blinken"
    assert re.search(r"\b1 article\b", narrowed) and narrowed.count('<li class="quote quote-direct">') == 2, "only his quotes are shown"
    assert 'href="/?q=Blinken" aria-label="Remove the filter Speakers: Antony Blinken"' in narrowed


def test_pages_link_to_the_next_and_previous_page_keeping_the_search(client):
    first = client.get("/", params={"source": "wire", "limit": 1}).text
    assert re.search(r'<a rel="next" href="/\?source=wire&amp;limit=1&amp;offset=1">Next</a>', first)
    last = client.get("/", params={"source": "wire", "limit": 1, "offset": 2}).text
    assert 'rel="next"' not in last and re.search(r'<a rel="prev" href="/\?source=wire&amp;limit=1&amp;offset=1">Previous</a>', last)
