"""The benchmark's corpus generator: reproducible, news-shaped articles (no timing here)."""

import json
import re

from bench.corpus import CorpusArticle, generate, word_count, write_folder, write_jsonl


def _sample(count: int = 60, seed: int = 7) -> list[CorpusArticle]:
    return list(generate(count, seed))


def test_same_seed_same_articles_other_seed_other_articles():
    first, again, other = _sample(), _sample(), _sample(seed=8)
    assert [a.text for a in first] == [a.text for a in again]
    assert [a.text for a in first] != [a.text for a in other]


def test_articles_are_about_five_hundred_words_with_unique_titles_and_slugs():
    articles = _sample(200)
    counts = [word_count(a.body) for a in articles]
    assert min(counts) >= 430 and max(counts) <= 600
    assert 480 <= sum(counts) / len(counts) <= 560
    assert len({a.slug for a in articles}) == len(articles)
    assert all(a.title and "\n" not in a.title for a in articles)


def test_every_article_quotes_named_people_and_names_organizations_and_places():
    for article in _sample():
        assert article.quotes >= 3
        assert article.body.count('"') % 2 == 0
        quoted = re.findall(r'"([^"]+)"', article.body)
        assert all(len(q.split()) >= 4 for q in quoted)
        assert len(article.people) >= 2 and all(name in article.body for name in article.people)
        assert article.organizations and all(org in article.body for org in article.organizations)
        assert article.places and all(place in article.body for place in article.places)


def test_folder_and_json_lines_hold_the_same_articles(tmp_path):
    articles = _sample(5)
    paths = write_folder(articles, tmp_path / "txt")
    lines = write_jsonl(articles, tmp_path / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(paths) == len(lines) == 5
    for path, line, article in zip(paths, lines, articles):
        title, blank, *body = path.read_text(encoding="utf-8").split("\n")
        assert (title, blank) == (article.title, "")
        record = json.loads(line)
        assert record == {"id": f"bench/{path.name}", "title": article.title, "body": article.body}
        assert "\n".join(body).strip() == article.body
