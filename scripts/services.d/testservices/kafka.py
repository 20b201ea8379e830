"""The test Kafka broker: one KRaft node in combined mode (broker and controller) on loopback.

Readiness is checked with Kafka's own wire protocol (ApiVersions, then Metadata listing this broker),
so no client library is needed.
"""

from __future__ import annotations

import base64
import shutil
import socket
import struct
import subprocess
import uuid
from pathlib import Path

from .build import Jdk
from .common import ServiceError, spawn

__all__ = ["JVM_OPTIONS", "configure", "prepare", "launch", "probe"]

JVM_OPTIONS = ["-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
               "-Dorg.slf4j.simpleLogger.showDateTime=true",
               "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSS",
               "-Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients.NetworkClient=warn"]


def _properties(port: int, controller_port: int, data: Path, extra: dict[str, str] | None = None) -> str:
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data),
        "num.partitions": "1",
        # One broker: every internal topic has one replica, and one partition where that is allowed.
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "true",
        **(extra or {}),
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def configure(workdir: Path, port: int, controller_port: int, extra: dict[str, str] | None = None) -> Path:
    """Write server.properties (`extra` broker settings win over ours); returns it. Keeps the log dir."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "server.properties"
    config.write_text(_properties(port, controller_port, workdir / "data", extra))
    return config


def prepare(jdk: Jdk, lib: Path, workdir: Path, port: int, controller_port: int,
            extra: dict[str, str] | None = None) -> Path:
    """Write server.properties and format a fresh KRaft log dir; returns the properties file."""
    shutil.rmtree(workdir / "data", ignore_errors=True)
    config = configure(workdir, port, controller_port, extra)
    cluster_id = "-"
    while cluster_id.startswith("-"):  # as Kafka's own Uuid.randomUuid(): never looks like an option
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    log = workdir / "format.log"
    command = [str(jdk.java), "-Xmx256m", "-cp", str(lib / "*"), "kafka.tools.StorageTool",
               "format", "-t", cluster_id, "-c", str(config)]
    with log.open("wb") as out:
        try:
            result = subprocess.run(command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, timeout=120)
        except subprocess.TimeoutExpired:
            raise ServiceError("Kafka storage format did not finish within 120 s", log) from None
    if result.returncode != 0:
        raise ServiceError(f"Kafka storage format failed (exit {result.returncode})", log)
    return config


def launch(jdk: Jdk, lib: Path, workdir: Path, config: Path, log: Path, append: bool = False) -> int:
    """Start the broker on its configured log dir (a restart finds its topics and offsets there)."""
    command = [str(jdk.java), *JVM_OPTIONS, "-cp", str(lib / "*"), "kafka.Kafka", str(config)]
    return spawn(command, log, workdir, append)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = sock.recv(remaining)
        if not chunk:
            raise ConnectionError("broker closed the connection")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _request(sock: socket.socket, api_key: int, version: int, correlation: int, body: bytes) -> bytes:
    client_id = b"newswire-services"
    message = struct.pack(">hhih", api_key, version, correlation, len(client_id)) + client_id + body
    sock.sendall(struct.pack(">i", len(message)) + message)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    response = _recv_exact(sock, size)
    if struct.unpack(">i", response[:4])[0] != correlation:
        raise ConnectionError("response does not match the request")
    return response[4:]


def _metadata_version(api_versions: bytes) -> int:
    error, count = struct.unpack(">hi", api_versions[:6])
    if error:
        raise ConnectionError(f"ApiVersions error code {error}")
    for i in range(count):
        key, low, high = struct.unpack(">hhh", api_versions[6 + 6 * i: 12 + 6 * i])
        if key == 3:  # Metadata; v4..v8 share the non-flexible layout parsed below
            if low > 8 or high < 4:
                raise ConnectionError(f"broker offers Metadata v{low}-v{high}, probe speaks v4-v8")
            return max(low, 4)
    raise ConnectionError("broker does not offer the Metadata API")


def _broker_ports(metadata: bytes) -> list[int]:
    offset = 4  # throttle_time_ms
    (count,) = struct.unpack_from(">i", metadata, offset)
    offset += 4
    ports = []
    for _ in range(count):
        _node_id, host_len = struct.unpack_from(">ih", metadata, offset)
        offset += 6 + host_len
        (port, rack_len) = struct.unpack_from(">ih", metadata, offset)
        offset += 6 + max(rack_len, 0)
        ports.append(port)
    return ports


def probe(port: int, timeout: float = 5.0) -> str | None:
    """None if the broker answers ApiVersions and lists itself in Metadata, else why not."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            version = _metadata_version(_request(sock, 18, 0, 1, b""))
            # topics = null (all), allow_auto_topic_creation = false; v8 adds two more booleans.
            body = struct.pack(">ib", -1, 0) + (b"\x00\x00" if version >= 8 else b"")
            ports = _broker_ports(_request(sock, 3, version, 2, body))
    except (OSError, ConnectionError, struct.error) as e:
        return str(e) or type(e).__name__
    if port not in ports:
        return "broker is not registered yet"
    return None
