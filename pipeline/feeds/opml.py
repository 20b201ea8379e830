"""OPML import: every feed (`<outline xmlUrl=...>`) of a reader's export becomes an `rss` connector.

The config file is edited as text, not re-dumped, so its comments and layout survive:
new entries are appended to the `connectors:` list in its own style
(`- {type: rss, name: ..., url: ...}`). Feeds already configured (same URL) are skipped;
names come from the outline's title, made unique. The result is re-read and checked
before it atomically replaces the file.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import yaml
from lxml import etree

from pipeline.plugin.http import check_url, redact
from pipeline.errors import ConfigError, SourceRejected
from pipeline.settings import read_yaml

__all__ = ["OpmlFeed", "read_opml", "import_opml"]

logger = logging.getLogger(__name__)


class OpmlFeed:
    """One feed of an OPML file: its title and URL."""

    def __init__(self, title: str, url: str) -> None:
        self.title = title
        self.url = url

    def __repr__(self) -> str:
        return f"OpmlFeed({self.title!r}, {redact(self.url)!r})"


def read_opml(opml_path: str | Path) -> list[OpmlFeed]:
    """The http(s) feeds of an OPML file, in document order (nested folders included)."""
    path = Path(opml_path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise SourceRejected(f"cannot read OPML file {path}: {e.strerror or e}") from None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as e:
        where = "" if "line" in str(e.msg) else f" (line {e.lineno})"
        raise SourceRejected(f"{path} is not valid OPML: {e.msg}{where}") from None
    if not isinstance(root.tag, str) or etree.QName(root).localname.lower() != "opml":
        raise SourceRejected(f"{path} is not OPML (its root element is <{etree.QName(root).localname}>)")
    feeds: list[OpmlFeed] = []
    for outline in root.iter("{*}outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url:
            continue
        try:
            check_url(url)
        except SourceRejected as e:
            logger.warning("skipped OPML outline file=%s reason=%s", path, e)
            continue
        title = (outline.get("title") or outline.get("text") or "").strip()
        feeds.append(OpmlFeed(title, url))
    if not feeds:
        raise SourceRejected(f"{path} holds no feeds (no <outline> with an http(s) xmlUrl)")
    return feeds


def _slug(title: str, url: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    base = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    if not base:
        base = re.sub(r"[^a-z0-9]+", "-", (re.sub(r"^https?://", "", url.lower()))).strip("-")
    return base[:60].strip("-") or "feed"


def _unique_name(base: str, taken: set[str]) -> str:
    name, number = base, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    taken.add(name)
    return name


def _same_feed(url: str) -> str:
    return redact(url).strip().rstrip("/").lower()


def _read_config(path: Path) -> tuple[str, dict[str, Any]]:
    if not path.exists():
        return "", {}
    data = read_yaml(path)
    connectors = data.get("connectors") or []
    if not isinstance(connectors, list):
        raise ConfigError(f"config file {path}: key 'connectors' must be a list")
    return path.read_text(encoding="utf-8"), data


def _entry_line(connector: dict[str, str]) -> str:
    return yaml.safe_dump(connector, default_flow_style=True, sort_keys=False, width=10_000).strip()


def _insert(text: str, existing: list[Any], lines: list[str]) -> str:
    """`text` with `lines` added as items of its top-level `connectors:` list, keeping everything else."""
    document = yaml.compose(text) if text.strip() else None
    value = None
    if isinstance(document, yaml.MappingNode):
        for key, node in document.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "connectors":
                value = (key, node)
    if value is None:  # no connectors key yet: add one at the end
        return text + ("" if not text or text.endswith("\n") else "\n") + "connectors:\n" + "".join(
            f"  - {line}\n" for line in lines)
    key, node = value
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        last = node.value[-1]
        end = max(_scalar_ends(last), default=last.end_mark.index)
        line_end = text.find("\n", end)
        line_end = len(text) if line_end == -1 else line_end
        start = node.value[0].start_mark.index
        dash = text.rfind("-", 0, start)
        indent = dash - (text.rfind("\n", 0, dash) + 1)
        added = "".join(f"\n{' ' * indent}- {line}" for line in lines)
        return text[:line_end] + added + text[line_end:]
    # Empty, null or flow-style list (`connectors: []`): rewrite just that value as a block list.
    block = "".join(f"\n  - {line}" for line in [_entry_line(item) for item in existing] + lines)
    start = key.end_mark.index
    colon = text.index(":", start)
    end = node.end_mark.index if node.end_mark.index > colon else colon + 1
    return text[: colon + 1] + block + text[end:]


def _scalar_ends(node: yaml.Node) -> list[int]:
    if isinstance(node, yaml.ScalarNode):
        return [node.end_mark.index]
    children = node.value if isinstance(node, yaml.SequenceNode) else [p for pair in node.value for p in pair]
    return [end for child in children for end in _scalar_ends(child)]


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def import_opml(opml_path: str | Path, config_path: str | Path) -> list[str]:
    """Add each feed of the OPML file as an `rss` connector to the YAML config; the names added.

    Existing connectors are kept and a feed whose URL is already configured is not added twice.
    """
    config_path = Path(config_path)
    feeds = read_opml(opml_path)
    text, data = _read_config(config_path)
    existing = [c for c in data.get("connectors") or [] if isinstance(c, dict)]
    taken = {str(c.get("name")) for c in existing}
    configured = {_same_feed(str(c["url"])) for c in existing if c.get("url")}
    new: list[dict[str, str]] = []
    for feed in feeds:
        if _same_feed(feed.url) in configured:
            continue
        configured.add(_same_feed(feed.url))
        new.append({"type": "rss", "name": _unique_name(_slug(feed.title, feed.url), taken), "url": feed.url})
    if not new:
        return []
    updated = _insert(text, data.get("connectors") or [], [_entry_line(c) for c in new])
    try:
        check = yaml.safe_load(updated) or {}
        ok = check.get("connectors") == (data.get("connectors") or []) + new and {
            k: v for k, v in check.items() if k != "connectors"} == {k: v for k, v in data.items() if k != "connectors"}
    except yaml.YAMLError:
        ok = False
    if not ok:  # an unusual layout: fall back to a plain dump (comments are lost, the data is not)
        logger.warning("config layout not understood, rewriting it file=%s", config_path)
        updated = yaml.safe_dump({**data, "connectors": (data.get("connectors") or []) + new}, sort_keys=False)
    _write_atomically(config_path, updated)
    logger.info("imported feeds file=%s config=%s added=%d", opml_path, config_path, len(new))
    return [c["name"] for c in new]
