"""Session fixtures for the integration tier: a real Kafka broker and a real Elasticsearch node.

If NEWSWIRE_KAFKA__BOOTSTRAP_SERVERS and NEWSWIRE_ELASTICSEARCH__HOSTS are both set (a docker compose
stack, or services you started yourself), the tests use them and start nothing. Otherwise the
session runs `scripts/services start --lease <pid>` once (reusing a running pair) and
`scripts/services release --lease <pid>` at the end, which stops them if no other test session
uses them and nobody started them by hand. A service that cannot start fails the tests with its
log tail; nothing is skipped.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.service_instance import ServiceInstance

REPO = Path(__file__).resolve().parents[2]
SERVICES = REPO / "scripts" / "services"
KAFKA_ENV = "NEWSWIRE_KAFKA__BOOTSTRAP_SERVERS"
ES_ENV = "NEWSWIRE_ELASTICSEARCH__HOSTS"
# Cold starts fetch jars with maven first; scripts/services has its own, shorter, per-wait timeouts.
START_TIMEOUT = float(os.environ.get("TEST_SERVICES_START_TIMEOUT", "1200"))


@dataclass(frozen=True)
class Services:
    kafka_bootstrap: str
    es_hosts: str
    leased: bool


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "integration: talks to the real Kafka broker and Elasticsearch node started by scripts/services"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/integration is an integration test, marked or not."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.integration)


def _run_services(command: str, timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, str(SERVICES), command, "--lease", str(os.getpid())],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as e:
        stderr = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        pytest.fail(f"scripts/services {command} did not finish within {timeout:.0f} s\n{stderr}", pytrace=False)


def _parse_addresses(stdout: str) -> dict[str, str]:
    found = {}
    for line in stdout.splitlines():
        name, sep, value = line.partition("=")
        if sep and name in (KAFKA_ENV, ES_ENV):
            found[name] = value.strip()
    return found


def _start() -> Services:
    env_kafka, env_es = os.environ.get(KAFKA_ENV), os.environ.get(ES_ENV)
    if env_kafka and env_es:
        return Services(env_kafka.split(",")[0].strip(), env_es.split(",")[0].strip(), leased=False)
    result = _run_services("start", START_TIMEOUT)
    if result.returncode != 0:
        pytest.fail(f"scripts/services start failed (exit {result.returncode}):\n{result.stderr}", pytrace=False)
    addresses = _parse_addresses(result.stdout)
    if set(addresses) != {KAFKA_ENV, ES_ENV}:
        pytest.fail(f"scripts/services start printed no addresses:\n{result.stdout}\n{result.stderr}", pytrace=False)
    return Services(addresses[KAFKA_ENV], addresses[ES_ENV], leased=True)


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    running = _start()
    try:
        yield running
    finally:
        if running.leased:
            result = _run_services("release", 120)
            if result.returncode != 0:
                print(f"scripts/services release failed:\n{result.stderr}", file=sys.stderr)


@pytest.fixture(scope="session")
def kafka_bootstrap(services: Services) -> str:
    """host:port of the test Kafka broker, e.g. 127.0.0.1:40577."""
    return services.kafka_bootstrap


@pytest.fixture(scope="session")
def es_hosts(services: Services) -> str:
    """URL of the test Elasticsearch node, e.g. http://127.0.0.1:41621."""
    return services.es_hosts


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A name no other test uses, valid as a Kafka topic and as an index or alias name: t-<test>-<random>."""
    test = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower().removeprefix("test_")).strip("-")
    return f"t-{test[:60].rstrip('-')}-{secrets.token_hex(4)}"


@pytest.fixture
def service_instance(unique_name: str):
    """Start a Kafka broker and/or Elasticsearch node of the test's own (to kill, restart or reconfigure):
    `service_instance("kafka")`, `service_instance("elasticsearch", es_settings={...})`. Removed afterwards."""
    started: list[ServiceInstance] = []
    stem, token = unique_name[:-9][:48].rstrip("-"), unique_name[-8:]

    def start(*services: str, **options) -> ServiceInstance:
        instance = ServiceInstance.start(f"{stem}-{token}-{len(started)}", services or ("kafka", "elasticsearch"), **options)
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.remove()
