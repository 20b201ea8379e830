"""docker-compose.yml, .env and the Dockerfile checked without a Docker engine.

`docker-compose config` validates the file (Debian's `docker-compose` package; its absence
is a failure, not a skip). The rest reads the YAML: the NEWSWIRE_ variables the services set
are settings newswire reads, the commands they run are `newswire` commands, Kafka gets the
complete configuration the apache/kafka image needs, the enricher can be scaled, and the
versions are the ones scripts/versions.env pins.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from pipeline.cli import build_parser
from pipeline.settings import ENV_PREFIX, Settings, load_settings
from tests.conftest import REPO

COMPOSE = REPO / "docker-compose.yml"
DOTENV = REPO / ".env"
VERSIONS = REPO / "scripts" / "versions.env"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"

INSTALL_HINT = "install it with: sudo apt-get install -y --no-install-recommends docker-compose"
WORKERS = {"connectors": "connectors", "enricher": "enrich", "sink": "sink"}
KAFKA_REQUIRED = (
    "KAFKA_NODE_ID",
    "KAFKA_PROCESS_ROLES",
    "KAFKA_LISTENERS",
    "KAFKA_ADVERTISED_LISTENERS",
    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
    "KAFKA_CONTROLLER_QUORUM_VOTERS",
    "KAFKA_CONTROLLER_LISTENER_NAMES",
    "KAFKA_INTER_BROKER_LISTENER_NAME",
    "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
    "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS",
)


def _env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep and key == key.strip() and " " not in key, f"{path.name}: not KEY=value: {line!r}"
            values[key] = value
    return values


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _services() -> dict[str, dict]:
    return _compose()["services"]


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {key: str(value) for key, value in env.items()}


def _newswire_services() -> dict[str, dict]:
    return {name: s for name, s in _services().items() if "build" in s or str(s.get("image", "")).startswith("newswire")}


def _depends(service: dict) -> dict[str, str]:
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        return {name: "service_started" for name in depends}
    return {name: spec.get("condition", "service_started") for name, spec in depends.items()}


def _compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    pytest.fail(f"docker-compose is not installed, so docker-compose.yml cannot be validated; {INSTALL_HINT}")


# -- the file validates ---------------------------------------------------------------------------


def test_compose_file_validates_with_docker_compose():
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_") and k not in _env_file(DOTENV)}
    result = subprocess.run(
        [*_compose_command(), "--project-directory", str(REPO), "-f", str(COMPOSE), "config"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
    )
    assert result.returncode == 0, f"docker-compose config rejected docker-compose.yml:\n{result.stderr}"
    resolved = yaml.safe_load(result.stdout)["services"]
    pins = _env_file(VERSIONS)
    assert resolved["kafka"]["image"] == f"apache/kafka:{pins['KAFKA_VERSION']}"
    es = pins["ELASTICSEARCH_VERSION"]
    assert resolved["elasticsearch"]["image"] == f"docker.elastic.co/elasticsearch/elasticsearch:{es}"
    assert resolved["kibana"]["image"] == f"docker.elastic.co/kibana/kibana:{es}"
    assert resolved["kibana-setup"]["image"] == f"docker.elastic.co/kibana/kibana:{es}"
    assert set(resolved) == set(_services())


# -- versions: one source of truth ----------------------------------------------------------------


def test_dotenv_pins_exactly_what_scripts_versions_env_pins():
    pins = _env_file(VERSIONS)
    assert {"KAFKA_VERSION", "ELASTICSEARCH_VERSION"} <= pins.keys()
    dotenv = _env_file(DOTENV)
    for key, value in pins.items():
        assert dotenv.get(key) == value, f".env has {key}={dotenv.get(key)}, scripts/versions.env has {value}: copy it over"


def test_images_take_their_versions_from_the_pins_only():
    services = _services()
    assert re.fullmatch(r"apache/kafka:\$\{KAFKA_VERSION(:\?[^}]*)?\}", services["kafka"]["image"])
    for name, repo in (("elasticsearch", "elasticsearch/elasticsearch"), ("kibana", "kibana/kibana"), ("kibana-setup", "kibana/kibana")):
        assert re.fullmatch(rf"docker\.elastic\.co/{repo}:\$\{{ELASTICSEARCH_VERSION(:\?[^}}]*)?\}}", services[name]["image"]), name


# -- the services --------------------------------------------------------------------------------


def test_the_stack_has_every_service():
    assert {"kafka", "elasticsearch", "kibana", "kibana-setup", "setup", "connectors", "enricher", "sink"} <= set(_services())
    assert set(WORKERS) | {"setup"} == set(_newswire_services())


@pytest.mark.parametrize("name", sorted(_newswire_services()))
def test_newswire_environment_variables_are_settings_newswire_reads(name, monkeypatch):
    env = _environment(_services()[name])
    ours = {k: v for k, v in env.items() if k.startswith(ENV_PREFIX)}
    assert ours, f"{name} is configured through NEWSWIRE_ variables"
    assert ours == env, f"{name}: configuration goes through NEWSWIRE_ variables only"
    for key in list(os.environ):
        if key.startswith(ENV_PREFIX):
            monkeypatch.delenv(key)
    for key, value in ours.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(REPO)  # the image's working directory holds config/newswire.yaml, as the repo does
    settings = load_settings()  # raises ConfigError for an unknown NEWSWIRE_ variable or a bad value
    for key in ours:
        if key == ENV_PREFIX + "CONFIG":
            continue
        model, value = Settings, settings
        for part in key[len(ENV_PREFIX):].lower().split("__"):
            assert part in model.model_fields, f"{name}: {key} maps to no setting ({part!r})"
            model = model.model_fields[part].annotation
            value = getattr(value, part)
            model = getattr(value, "__class__", model)
    assert settings.distributed
    assert settings.kafka.bootstrap_servers == "kafka:19092"
    assert settings.elasticsearch.hosts == ["http://elasticsearch:9200"]
    if name in WORKERS:
        assert settings.metrics.port == 9464


def test_an_unknown_newswire_variable_would_be_caught(monkeypatch):
    from pipeline.errors import ConfigError

    monkeypatch.chdir(REPO)
    monkeypatch.setenv("NEWSWIRE_KAFKA__BOOTSTRAP", "kafka:19092")
    with pytest.raises(ConfigError):
        load_settings()


@pytest.mark.parametrize("name", sorted(_newswire_services()))
def test_services_run_newswire_commands_that_exist(name):
    service = _services()[name]
    command = service["command"]
    assert isinstance(command, list), "exec form: the image's ENTRYPOINT is `newswire`"
    assert "entrypoint" not in service
    args = build_parser().parse_args(command)
    if name in WORKERS:
        assert args.command == "worker" and args.role == WORKERS[name]
    else:
        assert args.command == "setup"


def test_the_image_runs_newswire():
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r'^ENTRYPOINT \["newswire"\]$', text, re.M)
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^newswire = "pipeline\.cli:main"$', pyproject, re.M)


def test_kafka_has_the_complete_kraft_configuration_and_advertises_the_service_name():
    kafka = _services()["kafka"]
    env = _environment(kafka)
    missing = [key for key in KAFKA_REQUIRED if not env.get(key)]
    assert not missing, f"the apache/kafka image drops its defaults once any KAFKA_ variable is set; missing {missing}"
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    listeners = dict(item.split("://", 1) for item in env["KAFKA_LISTENERS"].split(","))
    advertised = dict(item.split("://", 1) for item in env["KAFKA_ADVERTISED_LISTENERS"].split(","))
    protocols = dict(item.split(":", 1) for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert {"PLAINTEXT", "PLAINTEXT_HOST", "CONTROLLER"} <= listeners.keys() <= protocols.keys()
    assert advertised["PLAINTEXT"] == "kafka:19092", "containers must be told the service name, not localhost"
    assert advertised["PLAINTEXT_HOST"] == "localhost:9092"
    assert "CONTROLLER" not in advertised
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] == "PLAINTEXT"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:{listeners['CONTROLLER'].rsplit(':', 1)[1]}"
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"):
        assert env[key] == "1"
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"
    assert any(volume.endswith(":/var/lib/kafka/data") for volume in kafka["volumes"])
    assert "127.0.0.1:9092:9092" in kafka["ports"]
    assert "kafka-broker-api-versions.sh --bootstrap-server localhost:9092" in " ".join(kafka["healthcheck"]["test"])
    for name, service in _newswire_services().items():
        assert _environment(service)["NEWSWIRE_KAFKA__BOOTSTRAP_SERVERS"] == f"kafka:{listeners['PLAINTEXT'].rsplit(':', 1)[1]}", name


def test_elasticsearch_and_kibana_are_a_single_dev_node_of_one_version():
    services = _services()
    es = services["elasticsearch"]
    env = _environment(es)
    assert env["discovery.type"] == "single-node"
    assert env["xpack.security.enabled"] == "false"
    assert re.search(r"-Xms\S+", env["ES_JAVA_OPTS"]) and re.search(r"-Xmx\S+", env["ES_JAVA_OPTS"])
    assert es.get("mem_limit") or es.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory")
    assert "wait_for_status=yellow" in " ".join(es["healthcheck"]["test"])
    assert any(volume.endswith(":/usr/share/elasticsearch/data") for volume in es["volumes"])
    kibana = services["kibana"]
    assert _environment(kibana)["ELASTICSEARCH_HOSTS"] == "http://elasticsearch:9200"
    assert "127.0.0.1:5601:5601" in kibana["ports"] and "127.0.0.1:9200:9200" in es["ports"]


@pytest.mark.parametrize("name", ["enricher", "connectors"])
def test_enricher_and_connectors_scale_out(name):
    services = _services()
    worker = services[name]
    assert "container_name" not in worker and "ports" not in worker and "hostname" not in worker
    assert not any("container_name" in service for service in services.values())
    partitions = int(_environment(worker).get("NEWSWIRE_TOPICS__PARTITIONS", Settings().topics.partitions))
    assert partitions >= 3
    assert int(_environment(services["kafka"]).get("KAFKA_NUM_PARTITIONS", "1")) >= 3


def test_connectors_replicas_share_the_fleet_through_kafka(monkeypatch):
    """Every replica runs the same command and config: ownership comes from the consumer group, state from the
    changelog topic, so nothing in a replica's own volume decides which feeds it polls."""
    service = _services()["connectors"]
    env = _environment(service)
    for key in list(os.environ):
        if key.startswith(ENV_PREFIX):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(REPO)
    settings = load_settings()
    topics = settings.topics
    assert topics.feeds and topics.feed_state and topics.feeds != topics.feed_state
    assert settings.fleet.session_timeout_ms <= 30_000, "a dead replica's feeds move within a rebalance"
    from pipeline.runtime.ownership import CONNECTORS_ROLE
    from pipeline.runtime.bus import group_for

    assert group_for(settings, CONNECTORS_ROLE) == "newswire-connectors"
    assert build_parser().parse_args(service["command"]).role == "connectors"


def test_startup_order_waits_on_health_and_on_setup():
    services = _services()
    for name in WORKERS:
        assert _depends(services[name]) == {
            "kafka": "service_healthy",
            "elasticsearch": "service_healthy",
            "setup": "service_completed_successfully",
        }, name
        assert services[name]["restart"] == "unless-stopped"
        assert services[name].get("healthcheck")
    assert _depends(services["setup"]) == {"kafka": "service_healthy", "elasticsearch": "service_healthy"}
    assert _depends(services["kibana"]) == {"elasticsearch": "service_healthy"}
    assert _depends(services["kibana-setup"]) == {"kibana": "service_healthy"}
    for name, service in services.items():
        for other, condition in _depends(service).items():
            assert other in services, f"{name} depends on unknown {other}"
            if condition == "service_healthy":
                assert services[other].get("healthcheck"), f"{name} waits for {other} to be healthy, which has no healthcheck"
    for one_shot in ("setup", "kibana-setup"):
        assert services[one_shot]["restart"] == "no"


def test_volumes_seeds_and_checkpoints():
    compose = _compose()
    declared = set(compose["volumes"])
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} mounts undeclared volume {source}"
            else:
                assert (REPO / source).exists(), f"{name} mounts {source}, which does not exist"
    connectors = compose["services"]["connectors"]
    data_dir = _environment(connectors)["NEWSWIRE_DATA_DIR"]
    assert f"newswire-data:{data_dir}" in connectors["volumes"]
    assert "./seeds:/app/seeds:ro" in connectors["volumes"]
    assert "./config/kibana:/newswire/kibana:ro" in compose["services"]["kibana-setup"]["volumes"]


# -- the Kibana import script -------------------------------------------------------------------


def _import_script(objects_dir: Path) -> str:
    service = _services()["kibana-setup"]
    assert service["entrypoint"] == ["/bin/bash", "-c"]
    (script,) = service["command"]
    return script.replace("$$", "$").replace("/newswire/kibana", str(objects_dir))


def _run_import(tmp_path: Path, answer: str, curl_status: int = 0) -> subprocess.CompletedProcess:
    objects = tmp_path / "kibana"
    objects.mkdir()
    shutil.copy(REPO / "config" / "kibana" / "newswire.ndjson", objects)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    curl = bin_dir / "curl"
    curl.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path}/curl.args"\nprintf \'%s\' \'{answer}\'\nexit {curl_status}\n')
    curl.chmod(curl.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["bash", "-c", _import_script(objects)], capture_output=True, text=True, env=env, timeout=30)


def test_kibana_setup_posts_every_ndjson_with_the_xsrf_header(tmp_path):
    result = _run_import(tmp_path, '{"successCount":9,"success":true,"warnings":[]}')
    assert result.returncode == 0, result.stderr
    args = (tmp_path / "curl.args").read_text().splitlines()
    assert "http://kibana:5601/api/saved_objects/_import?overwrite=true" in args
    assert args[args.index("-X") + 1] == "POST"
    assert args[args.index("-H") + 1] == "kbn-xsrf: true"
    assert args[args.index("--form") + 1] == f"file=@{tmp_path}/kibana/newswire.ndjson"


def test_kibana_setup_fails_unless_kibana_says_success(tmp_path):
    result = _run_import(tmp_path, '{"successCount":0,"success":false,"errors":[{"id":"x"}]}')
    assert result.returncode != 0 and "failed" in result.stderr


def test_kibana_setup_fails_when_kibana_does_not_answer(tmp_path):
    result = _run_import(tmp_path, "", curl_status=7)
    assert result.returncode != 0 and "did not answer" in result.stderr


# -- the image ----------------------------------------------------------------------------------


def test_dockerfile_is_slim_non_root_and_layers_dependencies_first():
    text = DOCKERFILE.read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines()]
    assert re.match(r"FROM python:3\.11-slim", next(line for line in lines if line.startswith("FROM")))
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    deps = next(i for i, line in enumerate(lines) if 'pip install -c constraints.txt ".[model]"' in line)
    source = next(i for i, line in enumerate(lines) if line.startswith("COPY pipeline/"))
    assert deps < source, "install dependencies before copying the source, so code changes reuse the layer"
    assert "spacy.load(" in text, "the build proves the spaCy model loads"
    ignored = {line.strip().rstrip("/") for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()}
    assert {".venv", "data", ".cache", "tests", ".git"} <= ignored
