"""Typed settings, read once at the edge: `config/newswire.yaml` plus `NEWSWIRE_` environment overrides.

Nesting in environment variables uses `__`: `NEWSWIRE_KAFKA__BOOTSTRAP_SERVERS=kafka:19092`.
Unknown keys and wrong types are a ConfigError naming the key. Relative paths are
relative to the current directory. Secrets are `SecretStr`: never printed or logged.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, YamlConfigSettingsSource
from pydantic_settings.exceptions import SettingsError

from pipeline.article import describe_validation_error
from pipeline.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG",
    "Settings",
    "KafkaSettings",
    "TopicSettings",
    "ElasticsearchSettings",
    "NlpSettings",
    "LimitSettings",
    "FleetSettings",
    "ConnectorSettings",
    "load_settings",
    "read_yaml",
]

DEFAULT_CONFIG = Path("config/newswire.yaml")
ENV_PREFIX = "NEWSWIRE_"
MAX_CONFIG_BYTES = 16 * 1024 * 1024  # thousands of feeds fit; a config is never bigger

# Bounded numbers: a timeout of `.inf`, a limit of 10**30 or a batch of a billion is a config error,
# not a hang or an overflow later. Milliseconds go to Kafka's Java client (an int32).
Seconds = Annotated[float, Field(gt=0, le=24 * 3600, allow_inf_nan=False)]
PollSeconds = Annotated[float, Field(gt=0, le=7 * 24 * 3600, allow_inf_nan=False)]  # a poll interval: at most a week
Milliseconds = Annotated[int, Field(gt=0, le=2**31 - 1)]
Bytes = Annotated[int, Field(gt=0, le=2**31)]
Count = Annotated[int, Field(gt=0, le=1_000_000)]


def _port_in_range(address: str) -> str:
    """A `host:port` or URL whose port is out of range is refused here, not deep inside a client."""
    try:
        urlsplit(address if "://" in address else f"//{address}").port  # noqa: B018
    except ValueError:
        raise ValueError(f"port out of range (0-65535) in {address!r}") from None
    return address


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class KafkaSettings(_Section):
    """Kafka client settings; `bootstrap_servers: null` means embedded mode (no Kafka)."""

    bootstrap_servers: str | None = None
    client_id: str = "newswire"
    group_prefix: str = "newswire"  # consumer groups are <prefix>-enrich and <prefix>-sink
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_check_hostname: bool = True
    request_timeout_ms: Milliseconds = 30_000
    bootstrap_timeout_ms: Milliseconds = 30_000  # how long to try reaching the broker at start
    max_poll_records: Count = 64

    @field_validator("bootstrap_servers")
    @classmethod
    def _ports(cls, value: str | None) -> str | None:
        for address in (value or "").split(","):
            if address.strip():
                _port_in_range(address.strip())
        return value


class TopicSettings(_Section):
    articles: str = "news.articles"
    enriched: str = "news.enriched"
    deadletter: str = "news.deadletter"
    feeds: str = "news.feeds"  # the feed list, compacted, keyed by feed: the connectors workers' partitions
    feed_state: str = "news.feeds.state"  # connector and feed checkpoints, compacted, co-partitioned with feeds
    partitions: int = Field(default=6, ge=1, le=10_000)
    replication_factor: int = Field(default=1, ge=1, le=100)


class ElasticsearchSettings(_Section):
    """Elasticsearch client settings; `hosts: null` means the embedded index under data_dir."""

    hosts: list[str] | None = None
    index: str = "news-articles"
    template: Path = Path("config/elasticsearch/news-articles.template.json")
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    verify_certs: bool = True
    ca_certs: str | None = None
    request_timeout: Seconds = 30.0
    bulk_max_docs: Count = 500
    bulk_max_bytes: Bytes = 5 * 1024 * 1024
    flush_interval: Seconds = 1.0
    # Rollover of the write index behind the alias (none set: one index grows for ever); see elastic_rollover
    rollover_max_docs: Annotated[int, Field(gt=0)] | None = None
    rollover_max_primary_shard_size: Annotated[int, Field(gt=0)] | None = None  # bytes (Media Cloud: 50 GB)
    rollover_max_age: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None  # seconds since the index was made
    rollover_check_interval: Seconds = 60.0  # how often a sink asks the node whether to roll over
    retention: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None  # seconds; `newswire index prune` deletes older indices

    @field_validator("hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [host.strip() for host in value.split(",") if host.strip()] or None
        return value

    @field_validator("hosts")
    @classmethod
    def _ports(cls, value: list[str] | None) -> list[str] | None:
        for host in value or []:
            _port_in_range(host)
        return value


class NlpSettings(_Section):
    model: str | None = None
    batch_size: int = Field(default=64, gt=0, le=100_000)  # articles per batch: consumer poll, enrich, produce, commit
    pipe_batch_size: int = Field(default=8, gt=0, le=10_000)  # texts per nlp.pipe step; spaCy's memory grows with it
    # Processes that enrich in the embedded runtime (each loads the model); null = one per core, 1 = in process.
    processes: int | None = Field(default=None, gt=0, le=256)
    # Speaker-attribution sieves in order; null = all. The names are checked by the Enricher
    # (pipeline.enrich sits above settings in the layers), which refuses an unknown one with a ConfigError.
    sieves: list[str] | None = None

    @field_validator("sieves", mode="before")
    @classmethod
    def _split_sieves(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value


class LimitSettings(_Section):
    """Limits on everything read from outside."""

    max_body_bytes: Bytes = 2 * 1024 * 1024
    max_file_bytes: Bytes = 20 * 1024 * 1024
    max_fetch_bytes: Bytes = 20 * 1024 * 1024
    max_record_bytes: Bytes = 8 * 1024 * 1024  # a Kafka record a worker accepts
    http_timeout: float = Field(default=20.0, gt=0, le=600, allow_inf_nan=False)
    verify_tls: bool = True


class FleetSettings(_Section):
    """The connectors tier as a fleet: reads in flight, politeness per host name, poll interval bounds (seconds)."""

    concurrency: int = Field(default=256, ge=1, le=100_000)  # feed polls in flight at once (fetching, or being read)
    read_threads: int = Field(default=32, ge=1, le=1024)  # threads reading answers (parse, full-text pages) at once
    per_host: int = Field(default=2, ge=1, le=1000)  # requests in flight to one host name, feed polls and full text alike
    min_interval: PollSeconds = 600.0  # an adaptive feed is polled at most this often...
    max_interval: PollSeconds = 86400.0  # ...and at least this often
    start_interval: PollSeconds = 3600.0  # a new feed's interval before it adapts
    max_backoff: PollSeconds = 86400.0  # a failing feed is retried at least this often
    session_timeout_ms: int = Field(default=10_000, ge=6_000, le=1_800_000)  # a dead connectors worker's feeds move after this

    @model_validator(mode="after")
    def _ordered(self) -> "FleetSettings":
        if self.min_interval > self.max_interval:
            raise ValueError("min_interval must not be above max_interval")
        return self


class MetricsSettings(_Section):
    port: int | None = Field(default=None, ge=0, le=65535)
    stall_after: Seconds = 120.0


class ConnectorSettings(BaseModel):
    """One configured connector; keys beyond `type` and `name` are checked by the connector's own model."""

    model_config = ConfigDict(extra="allow")

    type: str
    name: str = Field(min_length=1)

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Settings(BaseSettings):
    """Everything newswire reads from its configuration."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    data_dir: Path = Path("data")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topics: TopicSettings = Field(default_factory=TopicSettings)
    elasticsearch: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)
    nlp: NlpSettings = Field(default_factory=NlpSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    fleet: FleetSettings = Field(default_factory=FleetSettings)
    connectors: list[ConnectorSettings] = Field(default_factory=list)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file is the lowest source: the environment overrides it. `yaml_file` is set by
        # load_settings on a subclass; a plain `Settings()` reads defaults and the environment only.
        return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls))

    @property
    def distributed(self) -> bool:
        """True when Kafka is configured: the stages talk through topics."""
        return bool(self.kafka.bootstrap_servers)


def read_yaml(path: Path) -> dict[str, Any]:
    """A config file's mapping; ConfigError naming the file (and the line) when it is unreadable.

    Binary, oversized, non-UTF-8 and deeply nested files are refused with one line too.
    """
    try:
        if path.is_file() and path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"config file {path} is over {MAX_CONFIG_BYTES} bytes: not a config file")
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror or e}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file {path} is over {MAX_CONFIG_BYTES} bytes: not a config file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"config file {path} is not UTF-8 text (bad byte at offset {e.start})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"config file {path} is not valid YAML{where}") from None
    except RecursionError:
        raise ConfigError(f"config file {path} is nested too deeply") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings")
    return data


def _describe(error: ValidationError) -> str:
    detail = error.errors()[0]
    env_name = ENV_PREFIX + "__".join(str(p) for p in detail["loc"]).upper()
    hint = f" (set by environment variable {env_name})" if env_name in os.environ else ""
    return describe_validation_error(error, key="config key", limit=1) + hint


def _check_environment() -> None:
    """A NEWSWIRE_ variable that names no setting is a typo: say so instead of ignoring it."""
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields} | {ENV_PREFIX + "CONFIG"}
    for name in sorted(os.environ):
        if name.startswith(ENV_PREFIX) and name.split("__")[0] not in known:
            raise ConfigError(f"environment variable {name}: unknown setting")


def load_settings(path: str | Path | None = None) -> Settings:
    """Read the config file and the environment, once.

    Without `path`: `$NEWSWIRE_CONFIG`, else `config/newswire.yaml` if present, else defaults.
    """
    _check_environment()
    if path is None and os.environ.get(ENV_PREFIX + "CONFIG"):
        path = os.environ[ENV_PREFIX + "CONFIG"]
    if path is None:
        path = DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None
    if path is not None:
        read_yaml(Path(path))  # a clear ConfigError for a missing, unreadable or non-mapping file
    from_file = type(Settings.__name__, (Settings,), {
        "__module__": __name__,
        "model_config": SettingsConfigDict(yaml_file=path),
    })
    try:
        return from_file()
    except ValidationError as e:
        raise ConfigError(_describe(e)) from None
    except SettingsError as e:
        raise ConfigError(_describe_source_error(e)) from None
    except RecursionError:
        raise ConfigError("configuration is nested too deeply") from None


def _describe_source_error(error: SettingsError) -> str:
    """pydantic-settings could not parse a value (an environment variable that should be JSON)."""
    found = re.search(r'field "([^"]+)"', str(error))
    if found and "Env" in str(error):
        name = ENV_PREFIX + found.group(1).upper()
        return f"environment variable {name} is not valid JSON (a list or mapping is expected there)"
    return " ".join(str(error).split())
