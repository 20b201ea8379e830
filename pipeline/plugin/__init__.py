"""Everything a connector needs, in one import: the public API for connector authors.

    from pipeline.plugin import Article, Connector, ConnectorOptions, HttpUrl, Record, Source

The built-in connectors (`files`, `rss`) import only this module, like any third-party one;
the rest of `pipeline` is internal and may move. What is here:

- the records: `Article`, `Source`, `DeadLetter`, and `Record` (a value with the checkpoint
  change that delivering it makes true);
- the base: `Connector`, `ConnectorOptions`, `ConnectorContext`, `HttpUrl` for URL options,
  `PollReport` (what a read tells the fleet's scheduler);
- the errors a connector raises: `SourceError`, `SourceUnreachable` (retriable), `Throttled`,
  `SourceRejected`, `ConfigError`, and `backoff_delay` for its own retries;
- the kit: `Fetcher` (polite, limited HTTP), `redact`, `check_url`, `host_of`, `extract_page`,
  `html_to_text`, `fit_id`, `load_json`, `describe_validation_error`; `walk_folder` (a folder read without
  following links, regular files only, bounded), `printable_name`, `special_filesystem`;
  and the article identity of a link: `canonical_url` (tracking parameters, `www.`/`m.` hosts,
  AMP forms ... removed) and `article_id_for` (the canonical link, a GUID only when there is none);
- the test kit: `FeedServer`, `Reply`, `connector_for_test`, `read_all`, `commit`,
  `articles_only`, `http_date`.

A connector is found by its `type` through the `newswire.connectors` entry points
(docs/connectors.md walks through one).
"""

from pipeline.article import Article, Source, describe_validation_error, fit_id, load_json
from pipeline.checkpoint import Record
from pipeline.deadletter import DeadLetter
from pipeline.errors import (
    ConfigError,
    SourceError,
    SourceRejected,
    SourceUnreachable,
    backoff_delay,
)
from pipeline.plugin.connector import MAX_INTERVAL, Connector, ConnectorContext, ConnectorOptions, PollReport, Yielded
from pipeline.plugin.folder import FolderEntry, printable_name, special_filesystem, walk_folder
from pipeline.plugin.html import Page, extract_page, html_to_text, tidy_text
from pipeline.plugin.http import Fetcher, FetchResult, HttpUrl, Prefetch, Throttled, check_url, host_of, redact
from pipeline.plugin.testing import (
    FeedServer,
    RecordedRequest,
    Reply,
    articles_only,
    commit,
    connector_for_test,
    http_date,
    read_all,
)
from pipeline.urls import article_id_for, canonical_url

__all__ = [
    "Article",
    "Source",
    "DeadLetter",
    "Record",
    "Yielded",
    "Connector",
    "ConnectorContext",
    "ConnectorOptions",
    "PollReport",
    "MAX_INTERVAL",
    "HttpUrl",
    "ConfigError",
    "SourceError",
    "SourceRejected",
    "SourceUnreachable",
    "Throttled",
    "backoff_delay",
    "Fetcher",
    "FetchResult",
    "Prefetch",
    "check_url",
    "host_of",
    "redact",
    "Page",
    "extract_page",
    "html_to_text",
    "tidy_text",
    "fit_id",
    "load_json",
    "describe_validation_error",
    "FolderEntry",
    "walk_folder",
    "printable_name",
    "special_filesystem",
    "canonical_url",
    "article_id_for",
    "FeedServer",
    "Reply",
    "RecordedRequest",
    "connector_for_test",
    "read_all",
    "commit",
    "articles_only",
    "http_date",
]
