import pytest

from pipeline.errors import ConfigError
from pipeline.settings import load_settings


def test_defaults_come_from_the_shipped_config(monkeypatch, tmp_path):
    from tests.conftest import REPO

    settings = load_settings(REPO / "config" / "newswire.yaml")
    assert settings.kafka.bootstrap_servers is None and not settings.distributed
    assert settings.topics.articles == "news.articles" and settings.topics.partitions == 6
    assert settings.elasticsearch.index == "news-articles"
    assert [c.type for c in settings.connectors] == ["files"]


def test_environment_overrides_nested_keys(monkeypatch, write_config):
    path = write_config(kafka={"bootstrap_servers": None}, nlp={"batch_size": 8})
    monkeypatch.setenv("NEWSWIRE_KAFKA__BOOTSTRAP_SERVERS", "kafka:19092")
    monkeypatch.setenv("NEWSWIRE_ELASTICSEARCH__HOSTS", "http://es1:9200, http://es2:9200")
    settings = load_settings(path)
    assert settings.distributed and settings.kafka.bootstrap_servers == "kafka:19092"
    assert settings.elasticsearch.hosts == ["http://es1:9200", "http://es2:9200"]
    assert settings.nlp.batch_size == 8


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"kafka": {"bootstrap": "x"}}, "config key 'kafka.bootstrap': unknown key"),
        ({"colour": "blue"}, "config key 'colour': unknown key"),
        ({"nlp": {"batch_size": "many"}}, "config key 'nlp.batch_size'"),
        ({"topics": {"partitions": 0}}, "config key 'topics.partitions'"),
        ({"connectors": [{"type": "files"}]}, "config key 'connectors.0.name'"),
    ],
)
def test_bad_keys_and_types_name_the_key(write_config, settings, message):
    with pytest.raises(ConfigError) as caught:
        load_settings(write_config(**settings))
    assert message in str(caught.value)


def test_environment_typos_and_bad_values_are_errors(monkeypatch, write_config):
    path = write_config()
    monkeypatch.setenv("NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS", "x")
    with pytest.raises(ConfigError, match="NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS: unknown setting"):
        load_settings(path)
    monkeypatch.delenv("NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS")
    monkeypatch.setenv("NEWSWIRE_NLP__BATCH_SIZE", "lots")
    with pytest.raises(ConfigError, match="NEWSWIRE_NLP__BATCH_SIZE"):
        load_settings(path)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("kafka: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_settings(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(listy)


def test_secrets_are_never_shown(monkeypatch, write_config):
    monkeypatch.setenv("NEWSWIRE_ELASTICSEARCH__PASSWORD", "hunter2")
    settings = load_settings(write_config())
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())
    assert settings.elasticsearch.password.get_secret_value() == "hunter2"


def test_settings_built_directly_use_defaults_and_the_environment(monkeypatch):
    from pipeline.settings import Settings

    monkeypatch.setenv("NEWSWIRE_NLP__BATCH_SIZE", "5")
    settings = Settings()
    assert settings.nlp.batch_size == 5 and settings.kafka.bootstrap_servers is None
