"""`newswire run --once` over a feed set: one document per article however many feeds list it, stories in search.

Three feeds of one outlet ("top stories", "world", "politics") list the same three articles,
each through another variant of its link; a partner outlet's feed carries syndicated copies of
two of them under its own URLs. The real command, the real model, the embedded index.
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from pipeline.plugin import FeedServer, Reply
from tests.unit.test_cli import newswire
from tests.unit.test_story_step import SET

STORIES = ["mine-rescue", "quake-antalya", "drug-approval"]
VARIANTS = {  # how each feed links the outlet's articles
    "top": "https://www.daily.example/news/{slug}?utm_source=top&utm_medium=rss",
    "world": "https://daily.example/news/{slug}/",
    "politics": "https://m.daily.example/news/{slug}#comments",
}
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def feed(items: list[tuple[str, str, str]]) -> bytes:
    entries = "".join(
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
        f"<description>{escape(body)}</description><pubDate>Fri, 03 May 2024 06:00:00 GMT</pubDate></item>"
        for title, link, body in items
    )
    return f"<rss version='2.0'><channel><title>Feed</title>{entries}</channel></rss>".encode()


def search(config, *args) -> list[dict]:
    result = newswire("search", "-c", str(config), "--json", "--limit", "100", *args)
    assert result.returncode == 0, result.stderr.decode()
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def test_the_same_articles_in_three_feeds_index_once_and_copies_make_stories(tmp_path):
    partner_copies = {"mine-rescue": "mine-rescue/broadcaster", "quake-antalya": "quake-antalya/regional-print"}
    assert set(partner_copies.values()) <= set(SET)
    with FeedServer() as server:
        for name, pattern in VARIANTS.items():
            items = [(SET[f"{s}/wire"]["title"], pattern.format(slug=s), SET[f"{s}/wire"]["body"]) for s in STORIES]
            server.route(f"/{name}.xml", Reply(body=feed(items), headers=RSS))
        partner = [(SET[c]["title"], f"https://partner.example/{c}", SET[c]["body"]) for c in partner_copies.values()]
        server.route("/partner.xml", Reply(body=feed(partner), headers=RSS))
        config = tmp_path / "newswire.yaml"
        connectors = "".join(
            f"  - {{type: rss, name: {name}, url: '{server.url(f'/{name}.xml')}'}}\n" for name in [*VARIANTS, "partner"]
        )
        config.write_text(f"data_dir: {tmp_path / 'data'}\nconnectors:\n{connectors}", encoding="utf-8")
        run = newswire("run", "--once", "-c", str(config))
        assert run.returncode == 0, run.stderr.decode()
        assert "read 11 article(s), indexed 11" in run.stderr.decode()

    every = search(config, "--copies")
    assert len(every) == 5, [a["id"] for a in every]  # 3 articles of the outlet, 2 partner copies
    outlet = {a["id"]: a for a in every if a["id"].startswith("https://daily.example/")}
    assert sorted(outlet) == sorted(f"https://daily.example/news/{s}" for s in STORIES)
    for article in outlet.values():
        assert [s["name"] for s in article["sources"]] == list(VARIANTS), "every feed it came through, first way in first"
        assert article["source"]["name"] == "top"

    stories = search(config)
    assert len(stories) == 3, "one hit per story"
    by_story = {hit["story_id"]: hit for hit in stories}
    for slug in partner_copies:
        hit = by_story[f"https://daily.example/news/{slug}"]
        assert hit["story_copies"] == 2 and hit["story_outlets"] == ["daily.example", "partner.example"]
    assert by_story["https://daily.example/news/drug-approval"]["story_copies"] == 1
    assert all(hit["story_id"] for hit in every)

    shown = newswire("search", "-c", str(config), "miners", "shaft").stdout.decode()
    assert shown.startswith("1. ") and "\n2. " not in shown, "the two copies are one hit"
    assert "2 copies of this story: daily.example, partner.example" in shown
    listed = newswire("search", "-c", str(config), "--copies", "miners", "shaft").stdout.decode()
    assert "\n2. " in listed and "\n3. " not in listed, "--copies lists both"
