"""A Kafka broker or Elasticsearch node of one test's own, to kill, restart or reconfigure.

A thin layer over `scripts/services ... --instance NAME` (docs/test-services.md): the instance has its
own ports and data, so a test that kills it never touches the pair other test sessions share. Use
the `service_instance` fixture, which removes the instance after the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVICES = REPO / "scripts" / "services"
TIMEOUT = float(os.environ.get("TEST_SERVICES_START_TIMEOUT", "1200"))


class InstanceError(AssertionError):
    """scripts/services failed; the message holds its stderr (the log tail that explains it)."""


def _settings(flag: str, settings: dict[str, object] | None) -> list[str]:
    return [part for key, value in (settings or {}).items() for part in (flag, f"{key}={value}")]


def _services(command: str, name: str, *args: str) -> str:
    try:
        result = subprocess.run(
            [sys.executable, str(SERVICES), command, "--instance", name, *args],
            cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as e:
        raise InstanceError(f"scripts/services {command} --instance {name} did not finish within {TIMEOUT:.0f} s") from e
    if result.returncode != 0:
        raise InstanceError(f"scripts/services {command} --instance {name} failed (exit {result.returncode}):\n{result.stderr}")
    return result.stdout


@dataclass
class ServiceInstance:
    """A running instance: its addresses, and the calls that stop, start and restart its services."""

    name: str
    addresses: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        name: str,
        services: tuple[str, ...] = ("kafka", "elasticsearch"),
        *,
        es_settings: dict[str, object] | None = None,
        kafka_settings: dict[str, object] | None = None,
        lease: int | None = None,
    ) -> "ServiceInstance":
        args = [part for service in services for part in ("--service", service)]
        args += _settings("--es-setting", es_settings) + _settings("--kafka-setting", kafka_settings)
        args += ["--lease", str(lease if lease is not None else os.getpid())]
        instance = cls(name)
        instance._read(_services("start", name, *args))
        return instance

    def _read(self, stdout: str) -> None:
        for line in stdout.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                self.addresses[key] = value.strip()

    @property
    def kafka_bootstrap(self) -> str:
        """host:port of the instance's broker."""
        return self.addresses["NEWSWIRE_KAFKA__BOOTSTRAP_SERVERS"]

    @property
    def es_hosts(self) -> str:
        """URL of the instance's node."""
        return self.addresses["NEWSWIRE_ELASTICSEARCH__HOSTS"]

    def stop(self, service: str | None = None, *, hard: bool = False) -> None:
        """SIGTERM (`hard`: SIGKILL) one service, or all; its port and data stay for `resume`."""
        _services("stop", self.name, *(["--service", service] if service else []), *(["--hard"] if hard else []))

    def resume(self, service: str | None = None) -> None:
        """Start the stopped service(s) again on the same port and data; returns when they answer."""
        self._read(_services("start", self.name, *(["--service", service] if service else [])))

    def restart(self, service: str | None = None, *, hard: bool = False, es_settings: dict[str, object] | None = None) -> None:
        """Stop then start again on the same port and data; `es_settings` replace the node's own."""
        args = (["--service", service] if service else []) + (["--hard"] if hard else [])
        self._read(_services("restart", self.name, *args, *_settings("--es-setting", es_settings)))

    def remove(self) -> None:
        """Stop everything and delete the instance's data and logs."""
        _services("remove", self.name)
