"""Rollover names and thresholds (the node's part is in tests/integration/test_rollover.py)."""

from __future__ import annotations

import pytest

from pipeline.cli import main
from pipeline.index.elastic_rollover import next_index, rollover_conditions
from pipeline.settings import ElasticsearchSettings


def test_the_next_index_keeps_the_mapping_version_and_counts_up() -> None:
    assert next_index("news-articles-v3") == "news-articles-v3-000002"
    assert next_index("news-articles-v3-000002") == "news-articles-v3-000003"
    assert next_index("a-v12-000999") == "a-v12-001000"
    with pytest.raises(ValueError, match="not a newswire index name"):
        next_index("news-articles")


def test_thresholds_become_the_rollover_conditions() -> None:
    assert rollover_conditions(ElasticsearchSettings()) == {}
    configured = ElasticsearchSettings(rollover_max_docs=1000, rollover_max_primary_shard_size=50 * 2**30, rollover_max_age=86400.5)
    assert rollover_conditions(configured) == {"max_docs": 1000, "max_primary_shard_size": f"{50 * 2**30}b", "max_age": "86400s"}


@pytest.mark.parametrize("action", ["rollover", "prune"])
def test_the_index_commands_need_elasticsearch(tmp_path, capsys, action) -> None:
    config = tmp_path / "newswire.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\nelasticsearch: {{retention: 3600}}\n", encoding="utf-8")
    assert main(["index", action, "-c", str(config)]) == 2  # a config problem
    err = capsys.readouterr().err
    assert f"`newswire index {action}` works on Elasticsearch: set elasticsearch.hosts" in err and len(err.splitlines()) == 1, err


def test_prune_needs_a_retention(tmp_path, capsys) -> None:
    config = tmp_path / "newswire.yaml"
    config.write_text("elasticsearch: {hosts: ['http://127.0.0.1:9']}\n", encoding="utf-8")
    assert main(["index", "prune", "-c", str(config)]) == 2  # a config problem
    assert "needs elasticsearch.retention" in capsys.readouterr().err
