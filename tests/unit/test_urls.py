"""Canonical URLs and article ids: every URL-variant kind of issue 15 maps to one id."""

from __future__ import annotations

from importlib import resources

import pytest

from pipeline.article import MAX_ID_BYTES
from pipeline.urls import article_id_for, canonical_url, is_tracking_parameter

ARTICLE = "https://example.com/world/2024/05/03/harbour-strike-ends"


# Every way one article link reaches newswire (issue 15's URL-variant kinds); tests/unit/test_rss_ids.py
# runs the same list through a feed.
VARIANTS = [
    ("tracking: utm", f"{ARTICLE}?utm_source=rss&utm_medium=feed&utm_campaign=world"),
    ("tracking: click ids", f"{ARTICLE}?fbclid=IwAR0x&gclid=Cj0K&msclkid=abc"),
    ("tracking: newsletter", f"{ARTICLE}?mc_cid=1a2b&mc_eid=3c4d&_hsenc=p2A"),
    ("tracking: share tags", f"{ARTICLE}?smid=tw-share&CMP=share_btn_fb&ref=home"),
    ("www host", "https://www.example.com/world/2024/05/03/harbour-strike-ends"),
    ("mobile host", "https://m.example.com/world/2024/05/03/harbour-strike-ends"),
    ("amp host", "https://amp.example.com/world/2024/05/03/harbour-strike-ends"),
    ("amp path suffix", f"{ARTICLE}/amp"),
    ("amp path suffix with slash", f"{ARTICLE}/amp/"),
    ("amp path prefix", "https://example.com/amp/world/2024/05/03/harbour-strike-ends"),
    ("amp query switch", f"{ARTICLE}?amp=1"),
    ("amp bare switch", f"{ARTICLE}?amp"),
    ("amp outputType", f"{ARTICLE}?outputType=amp"),
    ("google amp cache", "https://www-example-com.cdn.ampproject.org/c/s/www.example.com/world/2024/05/03/harbour-strike-ends"),
    ("trailing slash", f"{ARTICLE}/"),
    ("fragment", f"{ARTICLE}#comments"),
    ("session id in path", f"{ARTICLE};jsessionid=0AB12CD34EF"),
    ("session id in query", f"{ARTICLE}?PHPSESSID=9f8e7d6c&sessionid=42"),
    ("default port", "https://example.com:443/world/2024/05/03/harbour-strike-ends"),
    ("http port 80", "http://example.com:80/world/2024/05/03/harbour-strike-ends"),
    ("host case", "https://EXAMPLE.Com/world/2024/05/03/harbour-strike-ends"),
    ("plain http", "http://example.com/world/2024/05/03/harbour-strike-ends"),
    ("dot segments", "https://example.com/world/2024/../2024/05/03/./harbour-strike-ends"),
    ("double slashes", "https://example.com//world/2024/05/03//harbour-strike-ends"),
    ("everything at once", "HTTP://WWW.Example.com:80/amp/world/2024/05/03/harbour-strike-ends/?utm_source=x#top"),
]


@pytest.mark.parametrize("kind, variant", VARIANTS)
def test_every_variant_kind_maps_to_the_article(kind: str, variant: str) -> None:
    assert canonical_url(variant) == ARTICLE, kind
    assert article_id_for(url=variant, guid="https://example.com/?p=991") == ARTICLE, kind


@pytest.mark.parametrize(
    "url, expected",
    [
    ("https://example.com/news.php?id=123&utm_source=rss", "https://example.com/news.php?id=123"),
    ("https://example.com/?p=456&fbclid=x", "https://example.com/?p=456"),
    ("https://example.com/view?story=gaza-talks&ref=rss", "https://example.com/view?story=gaza-talks"),
    ("https://example.com/a?cid=77", "https://example.com/a?cid=77"),
    ("https://example.com/article.pl?sid=24/05/03/1234", "https://example.com/article.pl?sid=24/05/03/1234"),
    ("https://example.com/show?articleId=9&page=2", "https://example.com/show?articleId=9&page=2"),
    ("https://example.com/n?b=2&a=1", "https://example.com/n?a=1&b=2"),
    ],
)
def test_parameters_that_select_the_article_are_kept(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_different_articles_keep_different_ids() -> None:
    assert canonical_url("https://example.com/news.php?id=1") != canonical_url("https://example.com/news.php?id=2")
    assert canonical_url("https://example.com/Story") != canonical_url("https://example.com/story")  # paths keep case
    assert canonical_url("https://news.example.com/a") != canonical_url("https://example.com/a")
    assert canonical_url("https://example.com:8443/a") == "https://example.com:8443/a"


def test_hash_bang_routes_and_root_paths() -> None:
    route = canonical_url("https://example.com/#!/story/12")
    assert route == canonical_url("https://example.com/?_escaped_fragment_=/story/12")
    assert route != canonical_url("https://example.com/#!/story/13")
    assert canonical_url("https://www.example.com") == "https://example.com/"


def test_user_info_never_reaches_the_id() -> None:
    assert canonical_url("https://editor:s3cret@example.com/a") == "https://example.com/a"


@pytest.mark.parametrize("url", [None, "", "   ", "urn:uuid:1234", "tag:example.com,2024:1", "ftp://example.com/a", "/relative/path", "https://"])
def test_non_web_urls_have_no_canonical_form(url: str | None) -> None:
    assert canonical_url(url) is None


def test_guid_only_when_there_is_no_link() -> None:
    feed = "https://example.com/feeds/world.xml"
    assert article_id_for(url=None, guid="42", feed_url=feed) == f"{feed}#42"  # bare GUID: qualified by its feed
    assert article_id_for(url="", guid="urn:uuid:5f1c", feed_url=feed) == "urn:uuid:5f1c"
    assert article_id_for(url=None, guid="https://www.example.com/a/?utm_source=rss") == "https://example.com/a"
    assert article_id_for(url="https://example.com/b", guid="urn:uuid:5f1c") == "https://example.com/b"
    assert article_id_for(url=None, guid=None, feed_url=feed) is None
    assert article_id_for(url="urn:not-a-link", guid="7", feed_url=feed) == f"{feed}#7"


def test_the_same_article_through_three_feeds_is_one_id() -> None:
    links = [
        "https://www.example.com/politics/budget-vote?utm_source=top-stories&utm_medium=rss",
        "https://example.com/politics/budget-vote/?utm_source=politics",
        "https://m.example.com/politics/budget-vote#main",
    ]
    assert len({article_id_for(url=link, guid=f"{n}") for n, link in enumerate(links)}) == 1


def test_long_links_are_cut_to_a_stable_id() -> None:
    link = "https://example.com/" + "x" * 2000
    first = article_id_for(url=link)
    assert first is not None and len(first.encode()) <= MAX_ID_BYTES
    assert first == article_id_for(url=link + "?utm_source=rss")


def test_tracking_parameter_file_has_no_duplicates_and_no_article_selectors() -> None:
    text = resources.files("pipeline").joinpath("tracking_parameters.txt").read_text(encoding="utf-8")
    names = [line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert len(names) == len(set(names))
    assert names, "the list is empty"
    for selector in ("id", "p", "cid", "sid", "story", "page", "article", "eid", "articleid", "storyid", "q"):
        assert not is_tracking_parameter(selector), selector
    assert is_tracking_parameter("UTM_Content") and is_tracking_parameter("ASPSESSIONIDQQGGQGCS")

