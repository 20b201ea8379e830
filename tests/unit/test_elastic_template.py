"""The index template file and its rendering for an alias (no network)."""

from __future__ import annotations

import json

import pytest

from pipeline.article import EnrichedArticle, Quote
from pipeline.errors import ConfigError
from pipeline.index.elastic_setup import template_checksum
from pipeline.index.elastic_stories import INDEX_ONLY_FIELDS
from pipeline.index.elastic_template import TEMPLATE_PATH, index_name, load_template, mapping_version_of


def test_template_file_is_a_composable_template_for_the_default_alias():
    raw = json.loads(TEMPLATE_PATH.read_text(encoding="utf-8"))
    assert raw["index_patterns"] == ["news-articles-*"]
    assert isinstance(raw["_meta"]["version"], int)
    settings = raw["template"]["settings"]["index"]
    assert settings["number_of_shards"] == 1 and settings["number_of_replicas"] == 0


def test_render_derives_pattern_name_priority_and_version_from_the_alias():
    template = load_template()
    rendered = template.render("news-articles-test1")
    assert rendered["name"] == "news-articles-test1"
    assert rendered["index_patterns"] == ["news-articles-test1-*"]
    assert rendered["version"] == template.version
    assert rendered["template"]["mappings"]["_meta"]["version"] == template.version
    # a longer alias overlapping a shorter one's pattern must not tie on priority
    assert rendered["priority"] > template.render("news-articles")["priority"]


def test_rendering_does_not_share_state_between_aliases():
    template = load_template()
    first = template.render("a")
    first["template"]["mappings"]["properties"]["title"]["analyzer"] = "changed"
    assert template.render("b")["template"]["mappings"]["properties"]["title"]["analyzer"] == "english"


def test_every_article_field_is_mapped():
    """A field the model gains without a mapping change would be refused by `dynamic: strict`."""
    template = load_template()
    # Beside the article, the index keeps what story identity needs (pipeline.index.elastic_stories).
    assert set(EnrichedArticle.model_fields) | INDEX_ONLY_FIELDS == set(template.mappings["properties"])
    assert not INDEX_ONLY_FIELDS & set(EnrichedArticle.model_fields)
    props = template.mappings["properties"]
    assert props["story_id"]["type"] == "keyword" and props["story_bands"]["type"] == "keyword"
    assert props["story_fingerprint"] == {"type": "object", "enabled": False}, "stored for verification, never indexed"
    assert props["sources"]["properties"] == props["source"]["properties"]
    assert props["entities"]["type"] == "nested" and props["quotes"]["type"] == "nested"
    assert set(props["entities"]["properties"]) == {"name", "label", "mentions", "aliases"}
    assert set(props["quotes"]["properties"]) == set(Quote.model_fields)
    assert {"kind", "cue", "attribution"} <= set(props["quotes"]["properties"])
    for facet in ("people", "organizations", "places", "speakers"):
        assert props[facet]["type"] == "keyword"
        assert props[facet]["fields"]["words"]["type"] == "text"
    assert props["title"]["analyzer"] == props["body"]["analyzer"] == "english"
    assert template.mappings["dynamic"] == "strict"


def test_index_name_and_mapping_version():
    assert index_name("news-articles", 3) == "news-articles-v3"
    assert mapping_version_of({"_meta": {"version": 2}}) == 2
    assert mapping_version_of({}) is None


def test_checksum_changes_with_the_mapping():
    template = load_template()
    one = template.render("x")
    two = template.render("x")
    assert template_checksum(one) == template_checksum(two)
    two["template"]["mappings"]["properties"]["id"]["type"] = "text"
    assert template_checksum(one) != template_checksum(two)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "not valid JSON"),
        ('{"_meta": {"version": 0}, "template": {"mappings": {}}}', "_meta.version"),
        ('{"_meta": {"version": 1}}', "template.mappings"),
    ],
)
def test_broken_template_files_are_config_errors(tmp_path, content, message):
    path = tmp_path / "t.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_template(path)
