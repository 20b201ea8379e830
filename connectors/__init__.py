"""Sources of articles: one module per kind, a small base class, a registry."""

from connectors.base import Connector, ConnectorContext, ConnectorOptions, Record
from connectors.checkpoint import Checkpoint, MemoryCheckpoint
from connectors.registry import build_connector, connector_class, known_types, register

__all__ = [
    "Connector",
    "ConnectorContext",
    "ConnectorOptions",
    "Record",
    "Checkpoint",
    "MemoryCheckpoint",
    "build_connector",
    "connector_class",
    "known_types",
    "register",
]
