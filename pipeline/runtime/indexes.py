"""The one place that chooses the index: Elasticsearch when `elasticsearch.hosts` is set, else the embedded one.

Every runtime and command that writes or searches opens its index here, so both modes
and every command agree on where the articles are.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import ServiceError
from pipeline.index import Index
from pipeline.settings import Settings

__all__ = ["open_index", "index_path"]


def index_path(settings: Settings) -> Path:
    """The embedded index's file under data_dir."""
    return settings.data_dir / "index.sqlite"


def open_index(settings: Settings, *, must_exist: bool = False) -> Index:
    """The configured index, not yet opened (use it as a context manager).

    `must_exist`: a ServiceError when the embedded index was never written (a search before any run).
    """
    if settings.elasticsearch.hosts:
        from pipeline.index.elastic import ElasticIndex

        return ElasticIndex(settings.elasticsearch)
    from pipeline.index.embedded import EmbeddedIndex

    path = index_path(settings)
    if must_exist and not path.exists():
        raise ServiceError(f"nothing is indexed yet under {settings.data_dir}: run `newswire run --once` first")
    return EmbeddedIndex(path)
