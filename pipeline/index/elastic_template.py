"""The Elasticsearch index template: read from `config/elasticsearch/`, rendered for one alias.

The file names the default alias's pattern (`news-articles-*`); at install time the
pattern, the template name and the priority are derived from the configured alias so
that several aliases (one per test, one per tenant) live side by side on one cluster.
The mapping's version is the file's `_meta.version`; the index behind the alias is
`<alias>-v<version>`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError

__all__ = ["TEMPLATE_PATH", "IndexTemplate", "load_template", "index_name", "mapping_version_of"]

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "config" / "elasticsearch" / "news-articles.template.json"

_BASE_PRIORITY = 100


def index_name(alias: str, version: int) -> str:
    """The concrete index behind `alias` for mapping version `version`."""
    return f"{alias}-v{version}"


def mapping_version_of(mapping: dict[str, Any]) -> int | None:
    """The `_meta.version` an existing index's mapping carries, or None if it has none."""
    version = (mapping.get("_meta") or {}).get("version")
    return version if isinstance(version, int) else None


@dataclass(frozen=True)
class IndexTemplate:
    """The template file's content: the version and the index body shared by the template and the index."""

    version: int
    settings: dict[str, Any]
    mappings: dict[str, Any]
    description: str = ""

    def render(self, alias: str) -> dict[str, Any]:
        """Keyword arguments for `indices.put_index_template` serving `alias`.

        The priority grows with the alias length: when one alias is a prefix of another
        (`news-articles` and `news-articles-test1`) their patterns overlap, and
        Elasticsearch refuses overlapping templates of equal priority; the longer, more
        specific alias wins for its own indices.
        """
        return {
            "name": alias,
            "index_patterns": [f"{alias}-*"],
            "priority": _BASE_PRIORITY + len(alias),
            "version": self.version,
            "meta": {"version": self.version, "managed_by": "newswire", "description": self.description},
            "template": {"settings": copy.deepcopy(self.settings), "mappings": self.index_mappings()},
        }

    def index_mappings(self) -> dict[str, Any]:
        """The mapping of a new versioned index, carrying `_meta.version`."""
        mappings = copy.deepcopy(self.mappings)
        mappings["_meta"] = {"version": self.version, "managed_by": "newswire"}
        return mappings

    def index_settings(self) -> dict[str, Any]:
        return copy.deepcopy(self.settings)


def load_template(path: Path | None = None) -> IndexTemplate:
    """Read and check the template file; a broken file is a ConfigError naming it."""
    if path is None:
        return _load_default()
    return _read(Path(path))


@lru_cache(maxsize=1)
def _load_default() -> IndexTemplate:
    return _read(TEMPLATE_PATH)


def _read(path: Path) -> IndexTemplate:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read index template {path}: {e.strerror or e}") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"index template {path} is not valid JSON: {e.msg} at line {e.lineno}") from None
    meta = raw.get("_meta") if isinstance(raw, dict) else None
    version = meta.get("version") if isinstance(meta, dict) else None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError(f"index template {path}: _meta.version must be a positive integer")
    body = raw.get("template")
    if not isinstance(body, dict) or not isinstance(body.get("mappings"), dict):
        raise ConfigError(f"index template {path}: template.mappings is missing")
    return IndexTemplate(
        version=version,
        settings=body.get("settings") or {},
        mappings=body["mappings"],
        description=str(meta.get("description", "")),
    )
