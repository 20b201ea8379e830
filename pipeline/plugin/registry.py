"""Connector types by name, found through the `newswire.connectors` entry points.

Every connector, the built-in `files` and `rss` included, is declared the same way in its
distribution's metadata, so the runtime never imports a connector module by name:

    [project.entry-points."newswire.connectors"]
    mysource = "mypackage.connector:MySourceConnector"
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from pydantic import ValidationError

from pipeline.article import describe_validation_error
from pipeline.errors import ConfigError
from pipeline.plugin.connector import Connector, ConnectorContext

__all__ = ["connector_class", "known_types", "build_connector", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "newswire.connectors"

logger = logging.getLogger(__name__)
_registry: dict[str, type[Connector]] = {}


def _load() -> dict[str, type[Connector]]:
    if _registry:
        return _registry
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in _registry:
            continue  # the same distribution seen twice on the path (an editable install beside a build)
        try:
            cls = entry.load()
        except Exception as e:  # a broken plugin must not take the others down
            logger.warning("connector plugin failed to load entry_point=%s error=%s", entry.value, e)
            continue
        if getattr(cls, "type", None) != entry.name:
            cls.type = entry.name
        _registry[entry.name] = cls
    return _registry


def known_types() -> list[str]:
    return sorted(_load())


def connector_class(type_name: str) -> type[Connector]:
    try:
        return _load()[type_name]
    except KeyError:
        raise ConfigError(
            f"unknown connector type '{type_name}' (known: {', '.join(known_types())})"
        ) from None


def build_connector(
    connector: str | type[Connector], name: str, options: dict, context: ConnectorContext
) -> Connector:
    """Validate a connector's config block against its own options model and build it.

    `connector` is a type name, or a Connector class (a plugin under test that is not installed).
    """
    cls = connector_class(connector) if isinstance(connector, str) else connector
    try:
        parsed = cls.Options.model_validate(options)
    except ValidationError as e:
        raise ConfigError(f"connector '{name}' ({cls.type}): {describe_validation_error(e, key='key', limit=1)}") from None
    return cls(name, parsed, context)
