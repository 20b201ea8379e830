"""A plain registry from connector `type` name to class, plus the `newswire.connectors` entry points.

Built-in connectors register themselves with `@register`; third-party packages declare

    [project.entry-points."newswire.connectors"]
    mysource = "mypackage.connector:MySourceConnector"
"""

from __future__ import annotations

import logging
from importlib import import_module
from importlib.metadata import entry_points

from pydantic import ValidationError

from connectors.base import Connector, ConnectorContext
from pipeline.errors import ConfigError

__all__ = ["register", "connector_class", "known_types", "build_connector", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "newswire.connectors"
BUILTIN_MODULES = ("connectors.files", "connectors.rss")

logger = logging.getLogger(__name__)
_registry: dict[str, type[Connector]] = {}
_loaded = False


def register(cls: type[Connector]) -> type[Connector]:
    """Class decorator: make `cls` available under `cls.type`."""
    existing = _registry.get(cls.type)
    if existing is not None and existing is not cls:
        raise ConfigError(f"connector type '{cls.type}' is registered twice ({existing.__module__}, {cls.__module__})")
    _registry[cls.type] = cls
    return cls


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in BUILTIN_MODULES:
        try:
            import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = entry.load()
        except Exception as e:  # a broken plugin must not take the built-ins down
            logger.warning("connector plugin failed to load entry_point=%s error=%s", entry.value, e)
            continue
        if getattr(cls, "type", None) != entry.name:
            cls.type = entry.name
        register(cls)


def known_types() -> list[str]:
    _load()
    return sorted(_registry)


def connector_class(type_name: str) -> type[Connector]:
    _load()
    try:
        return _registry[type_name]
    except KeyError:
        raise ConfigError(
            f"unknown connector type '{type_name}' (known: {', '.join(known_types())})"
        ) from None


def build_connector(type_name: str, name: str, options: dict, context: ConnectorContext) -> Connector:
    """Validate a connector's config block against its own options model and build it."""
    cls = connector_class(type_name)
    try:
        parsed = cls.Options.model_validate(options)
    except ValidationError as e:
        # An unknown key usually explains a missing one (a typo): name it first.
        detail = sorted(e.errors(), key=lambda d: d["type"] != "extra_forbidden")[0]
        key = ".".join(str(part) for part in detail["loc"]) or "options"
        message = "unknown key" if detail["type"] == "extra_forbidden" else detail["msg"]
        raise ConfigError(f"connector '{name}' ({type_name}): key '{key}': {message}") from None
    return cls(name, parsed, context)
