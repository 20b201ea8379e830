"""OPML import into the YAML config (`feeds import --into-config`); the import into the fleet is in test_fleet_cli."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest
import yaml

from pipeline.feeds.opml import import_opml, read_opml
from pipeline.commands.feeds import add_parser, run_import
from pipeline.errors import ConfigError, SourceRejected
from pipeline.settings import load_settings

OPML = Path(__file__).resolve().parents[1] / "data" / "feeds" / "subscriptions.opml"

CONFIG = """\
# newswire configuration (comments must survive the import)
data_dir: data/                       # checkpoints

connectors:
  - {type: files, name: seeds, path: seeds/}
  - {type: rss, name: harbour-gazette, url: "https://harbour.example/feed.xml"}   # already here

nlp:
  batch_size: 64
"""


def test_read_opml_finds_nested_http_feeds_only():
    feeds = read_opml(OPML)
    assert [f.url for f in feeds] == [
        "https://harbour.example/feed.xml",
        "https://valley.example/rss",
        "https://harbour.example/world.xml",
        "https://unicode.example/atom",
        "http://untitled.example/feed/",
        "https://valley.example/rss",
    ]


def test_import_keeps_existing_connectors_comments_and_skips_duplicates(tmp_path):
    config = tmp_path / "newswire.yaml"
    config.write_text(CONFIG)
    added = import_opml(OPML, config)
    assert added == ["valley-times", "harbour-gazette-2", "unicode-co-news", "untitled-example-feed"]
    text = config.read_text()
    assert "# newswire configuration (comments must survive the import)" in text
    assert "# already here" in text and "# checkpoints" in text
    data = yaml.safe_load(text)
    assert data["nlp"] == {"batch_size": 64} and data["data_dir"] == "data/"
    assert data["connectors"][:2] == [
        {"type": "files", "name": "seeds", "path": "seeds/"},
        {"type": "rss", "name": "harbour-gazette", "url": "https://harbour.example/feed.xml"},
    ]
    assert data["connectors"][2:] == [
        {"type": "rss", "name": "valley-times", "url": "https://valley.example/rss"},
        {"type": "rss", "name": "harbour-gazette-2", "url": "https://harbour.example/world.xml"},
        {"type": "rss", "name": "unicode-co-news", "url": "https://unicode.example/atom"},
        {"type": "rss", "name": "untitled-example-feed", "url": "http://untitled.example/feed/"},
    ]
    # The result is a valid newswire config and importing again adds nothing.
    settings = load_settings(config)
    assert [c.name for c in settings.connectors][-1] == "untitled-example-feed"
    assert import_opml(OPML, config) == []
    assert config.read_text() == text


@pytest.mark.parametrize("config_text", ["", "data_dir: data/\n", "connectors: []\n", "connectors:\n", "connectors:\n- type: files\n  name: seeds\n  path: seeds/\n"])
def test_import_into_other_layouts(tmp_path, config_text):
    config = tmp_path / "newswire.yaml"
    config.write_text(config_text)
    added = import_opml(OPML, config)
    assert len(added) == 5
    connectors = yaml.safe_load(config.read_text())["connectors"]
    assert [c["name"] for c in connectors if c["type"] == "rss"] == added


def test_import_creates_a_missing_config(tmp_path):
    config = tmp_path / "config" / "newswire.yaml"
    assert len(import_opml(OPML, config)) == 5
    assert len(yaml.safe_load(config.read_text())["connectors"]) == 5


def test_bad_opml_is_a_one_line_error(tmp_path):
    config = tmp_path / "newswire.yaml"
    broken = tmp_path / "broken.opml"
    broken.write_text("<opml><body><outline xmlUrl='https://a.example/f'></body>")
    with pytest.raises(SourceRejected, match=r"broken.opml is not valid OPML: .*line 1"):
        import_opml(broken, config)
    empty = tmp_path / "empty.opml"
    empty.write_text("<opml version='2.0'><body><outline text='no feeds'/></body></opml>")
    with pytest.raises(SourceRejected, match="holds no feeds"):
        import_opml(empty, config)
    rss = tmp_path / "feed.opml"
    rss.write_text("<rss version='2.0'><channel/></rss>")
    with pytest.raises(SourceRejected, match="is not OPML"):
        import_opml(rss, config)
    with pytest.raises(SourceRejected, match="cannot read OPML file"):
        import_opml(tmp_path / "missing.opml", config)
    assert not config.exists()


def test_entities_are_not_expanded(tmp_path):
    evil = tmp_path / "evil.opml"
    evil.write_text('<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                    '<opml><body><outline title="&x;" xmlUrl="https://a.example/f"/></body></opml>')
    config = tmp_path / "newswire.yaml"
    with pytest.raises(SourceRejected, match="external entity"):
        import_opml(evil, config)
    assert not config.exists()


def test_bad_config_is_a_config_error(tmp_path):
    config = tmp_path / "newswire.yaml"
    config.write_text("connectors: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        import_opml(OPML, config)
    config.write_text("connectors: {type: rss}\n")
    with pytest.raises(ConfigError, match="'connectors' must be a list"):
        import_opml(OPML, config)


def test_feeds_import_into_config_command(tmp_path):
    config = tmp_path / "newswire.yaml"
    config.write_text(CONFIG)
    parser = argparse.ArgumentParser(prog="newswire")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["feeds", "import", str(OPML), "--into-config", "-c", str(config)])
    out = io.StringIO()
    assert args.func(args, out=out) == 0
    assert out.getvalue() == f"updated {config}: added 4 feeds: valley-times, harbour-gazette-2, unicode-co-news, untitled-example-feed\n"
    out = io.StringIO()
    assert run_import(args, out=out) == 0
    assert out.getvalue().startswith("no new feeds")


def test_feeds_import_uses_newswire_config_env(tmp_path, monkeypatch):
    config = tmp_path / "from-env.yaml"
    monkeypatch.setenv("NEWSWIRE_CONFIG", str(config))
    parser = argparse.ArgumentParser(prog="newswire")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["feeds", "import", str(OPML), "--into-config"])
    assert run_import(args, out=io.StringIO()) == 0
    assert config.exists()
