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
  `html_to_text`, `fit_id`, `describe_validation_error`;
- the test kit: `FeedServer`, `Reply`, `connector_for_test`, `read_all`, `commit`,
  `articles_only`, `http_date`.

A connector is found by its `type` through the `newswire.connectors` entry points
(docs/connectors.md walks through one).
"""

from pipeline.article import Article, Source, describe_validation_error, fit_id
from pipeline.checkpoint import Record
from pipeline.deadletter import DeadLetter
from pipeline.errors import (
    ConfigError,
    SourceError,
    SourceRejected,
    SourceUnreachable,
    backoff_delay,
)
from pipeline.plugin.connector import Connector, ConnectorContext, ConnectorOptions, PollReport, Yielded
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
    "describe_validation_error",
    "FeedServer",
    "Reply",
    "RecordedRequest",
    "connector_for_test",
    "read_all",
    "commit",
    "articles_only",
    "http_date",
]
