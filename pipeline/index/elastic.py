"""The Elasticsearch index: the sink's writes and `newswire search`, behind the configured alias.

Same search contract as the embedded index: full text over title (boosted) and body,
entity filters matching a whole name (any case) or a run of whole words in it
(`--person Blinken` finds "Antony Blinken"), snippets marked with `[`…`]`, newest first
without text. Writes are per-article results (see `elastic_bulk`); `setup()` installs the
template, the versioned index and the alias (see `elastic_setup`); facet counts, full scans and
the source, language and date filters are in `elastic_reads`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch, helpers

from pipeline.article import EnrichedArticle, parse_enriched
from pipeline.errors import InvalidArticle, ServiceError, ServiceUnavailable, backoff_delay
from pipeline.index import Index, StoryMark, WriteResult, elastic_reads
from pipeline.index.elastic_bulk import BulkWriter, describe_error
from pipeline.index.elastic_rollover import locate, prune, roll_over, rollover_conditions
from pipeline.index.elastic_setup import setup_index
from pipeline.index.elastic_stories import HIDDEN_FIELDS, ElasticStories, plan_writes, story_outlets, upgrade_document
from pipeline.index.elastic_template import IndexTemplate, load_template
from pipeline.search import FACETS, Facets, SearchHit, SearchQuery
from pipeline.settings import ElasticsearchSettings

__all__ = ["ElasticIndex", "build_search", "simple_query_text"]

logger = logging.getLogger(__name__)

TITLE_BOOST = 3

_TOKEN = re.compile(r'"[^"]*"?|[^\s"]+')


def simple_query_text(text: str) -> str:
    """User text to a `simple_query_string` query: words and "quoted phrases", all required; `OR` kept.

    Every operator character other than the phrase quotes is removed, so what the user
    typed is searched for as words and can never be a syntax error.
    """
    parts: list[str] = []
    for token in _TOKEN.findall(text):
        if token == "OR":
            if parts and parts[-1] != "|":
                parts.append("|")
            continue
        words = re.findall(r"\w+", token)
        if not words:
            continue
        parts.append('"' + " ".join(words) + '"' if token.startswith('"') and len(words) > 1 else " ".join(words))
    while parts and parts[-1] == "|":
        parts.pop()
    return " ".join(parts)


def _entity_filter(field: str, name: str) -> dict[str, Any]:
    """A whole name in any case, or a run of whole words inside one name of `field`."""
    return {
        "bool": {
            "should": [
                {"term": {field: {"value": name, "case_insensitive": True}}},
                {"match_phrase": {f"{field}.words": {"query": name}}},
            ],
            "minimum_should_match": 1,
        }
    }


def build_search(query: SearchQuery) -> dict[str, Any] | None:
    """The search request body for `query`, or None when its text holds no searchable word."""
    filters = [
        _entity_filter(field, value.strip())
        for option, field in FACETS.items()
        if (value := getattr(query, option)) and value.strip()
    ]
    filters += elastic_reads.field_filters(query)
    body: dict[str, Any] = {"size": query.limit, "from": query.offset, "track_total_hits": False, "source_excludes": HIDDEN_FIELDS}
    if not query.copies:
        body["collapse"] = {"field": "story_id"}  # one hit per story: its best-matching copy
    if query.text.strip():
        text = simple_query_text(query.text)
        if not text:
            return None
        body["query"] = {
            "bool": {
                "must": [
                    {
                        "simple_query_string": {
                            "query": text,
                            "fields": [f"title^{TITLE_BOOST}", "body"],
                            "default_operator": "and",
                            "flags": "OR|PHRASE|WHITESPACE",
                            "lenient": True,
                        }
                    }
                ],
                "filter": filters,
            }
        }
        body["highlight"] = {
            "pre_tags": [query.marks[0]],
            "post_tags": [query.marks[1]],
            "encoder": "default",
            "fields": {
                "body": {"fragment_size": 160, "number_of_fragments": 1, "no_match_size": 0},
                "title": {"number_of_fragments": 0},
            },
        }
    else:
        body["query"] = {"bool": {"filter": filters}} if filters else {"match_all": {}}
        body["sort"] = [
            {"published_at": {"order": "desc", "missing": "_last"}},
            {"fetched_at": {"order": "desc", "missing": "_last"}},
            {"id": {"order": "asc"}},
        ]
    return body


def _hosts_text(hosts: Sequence[str] | None) -> str:
    return ", ".join(hosts or []) or "(no hosts)"


class ElasticIndex(Index):
    """Articles in Elasticsearch behind the configured alias (the `pipeline.index.Index` contract).

    Open with `with ElasticIndex(settings) as index:`.
    """

    def __init__(self, settings: ElasticsearchSettings, template: IndexTemplate | None = None) -> None:
        self.settings = settings
        self.alias = settings.index
        self._template = template
        self._client: Elasticsearch | None = None
        self._next_rollover_check = 0.0  # monotonic; the first write asks

    # -- connection -------------------------------------------------------------------------

    def open(self) -> "ElasticIndex":
        """Build the client (no request is sent yet); ServiceError if no hosts are configured."""
        if self._client is None:
            if not self.settings.hosts:
                raise ServiceError("Elasticsearch is not configured: set elasticsearch.hosts")
            self._client = Elasticsearch(**self.client_options())
        return self

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for `Elasticsearch(...)`, secrets unwrapped only here."""
        s = self.settings
        options: dict[str, Any] = {
            "hosts": list(s.hosts or []),
            "request_timeout": s.request_timeout,
            "max_retries": 2,  # the transport's own quick retries; `write` keeps retrying with backoff on top
            "retry_on_timeout": True,
            "verify_certs": s.verify_certs,
        }
        if s.ca_certs:
            options["ca_certs"] = s.ca_certs
        if s.api_key is not None:
            options["api_key"] = s.api_key.get_secret_value()
        elif s.username and s.password is not None:
            options["basic_auth"] = (s.username, s.password.get_secret_value())
        return options

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __repr__(self) -> str:
        return f"ElasticIndex(hosts={_hosts_text(self.settings.hosts)!r}, alias={self.alias!r})"

    @property
    def client(self) -> Elasticsearch:
        return self.open()._client  # type: ignore[return-value]

    @property
    def template(self) -> IndexTemplate:
        if self._template is None:
            # The configured file (relative to the working directory, as in the container's /app);
            # from a source checkout run elsewhere, the checkout's own copy.
            configured = self.settings.template
            self._template = load_template(configured if configured.is_file() else None)
        return self._template

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn client exceptions into newswire's ServiceUnavailable / ServiceError, one line each."""
        where = f"Elasticsearch at {_hosts_text(self.settings.hosts)}"
        try:
            yield
        except TransportError as e:
            raise ServiceUnavailable(f"{where} is unreachable: {describe_error(e)}") from None
        except ApiError as e:
            status = e.meta.status if e.meta is not None else None
            reason = describe_error(e)
            if status in (401, 403):
                raise ServiceError(f"{where} refused to {doing} ({status}): {reason} — check username/password or api_key") from None
            if status == 404:
                raise ServiceError(f"{where}: cannot {doing}: {reason} — run `newswire setup` first") from None
            if status == 429 or (isinstance(status, int) and status >= 500):
                raise ServiceUnavailable(f"{where} cannot {doing} right now ({status}): {reason}") from None
            raise ServiceError(f"{where} refused to {doing} ({status}): {reason}") from None

    # -- setup and writes ---------------------------------------------------------------------

    def setup(self) -> list[str]:
        """Install the template, the versioned index and the alias (idempotent); one line per thing done."""
        with self._errors("set up the index"):
            lines = setup_index(self.client, self.alias, self.template, self.settings.bulk_max_docs, upgrade=upgrade_document)
        return lines + self.rollover()

    def rollover(self, force: bool = False) -> list[str]:
        """Roll the write index over if a configured threshold is met (or always, `force`); one line if it did."""
        with self._errors("roll the index over"):
            rolled = roll_over(self.client, self.alias, rollover_conditions(self.settings), force=force)
        return [f"rolled alias {self.alias} over to {rolled}"] if rolled else []

    def prune(self, older_than: float, apply: bool = False) -> list[str]:
        """Delete (`apply`) or list the indices behind the alias older than `older_than` seconds (see elastic_rollover)."""
        with self._errors("prune old indices"):
            return prune(self.client, self.alias, older_than, datetime.now(timezone.utc), apply)

    def _maybe_roll_over(self) -> None:
        """After a write, at most every `rollover_check_interval`: a failure only waits for the next check."""
        if not rollover_conditions(self.settings) or time.monotonic() < self._next_rollover_check:
            return
        self._next_rollover_check = time.monotonic() + self.settings.rollover_check_interval
        try:
            self.rollover()
        except ServiceError as e:
            logger.warning("elasticsearch rollover check failed alias=%s reason=%r (next check later)", self.alias, str(e))

    @property
    def stories(self) -> ElasticStories:
        return ElasticStories(lambda: self.client, self.alias, self._errors)

    def write(
        self,
        articles: Sequence[EnrichedArticle],
        stop: threading.Event | None = None,
        marks: Sequence[StoryMark | None] | None = None,
    ) -> list[WriteResult]:
        """Index a batch; one WriteResult per article, same order. Retries until done or `stop` is set.

        Another source's article is only joined (see `elastic_stories.plan_writes`). Raises
        ServiceUnavailable when stopped before every article settled (commit nothing),
        ServiceError when the cluster refuses us altogether (credentials, missing alias).
        """
        if not articles:
            return []
        writer = BulkWriter(self._send, self.alias, describe_target=f"Elasticsearch at {_hosts_text(self.settings.hosts)}",
                            retarget=self._retarget)
        planned = self._plan(articles, marks or [None] * len(articles), stop)
        with self._errors("index articles"):
            sent = [p for p, plan in enumerate(planned) if plan.action is not None]
            written = writer.write([articles[p] for p in sent], stop, [planned[p].action for p in sent]) if sent else []  # type: ignore[misc]
        results = [WriteResult(article.id, "joined") for article in articles]
        for position, result in zip(sent, written):
            joined = planned[position].joins and result.status == "indexed"
            results[position] = WriteResult(result.article_id, "joined", result.reason) if joined else result
        self._maybe_roll_over()
        return results

    def _retarget(self, actions: list[dict[str, Any]]) -> None:
        where = locate(self.client, self.alias, [action["_id"] for action in actions])
        for action in actions:
            action["_index"] = where.get(action["_id"], self.alias)

    def _plan(self, articles: Sequence[EnrichedArticle], marks: Sequence[StoryMark | None], stop: threading.Event | None):
        """What to send for each article (it reads what is indexed first), retried with backoff like the bulk itself
        until the node answers or `stop` is set."""
        attempt = 0
        while True:
            try:
                with self._errors("read what is indexed"):
                    return plan_writes(self.client, self.alias, articles, marks, datetime.now(timezone.utc))
            except ServiceUnavailable as e:
                attempt += 1
                delay = backoff_delay(attempt, 0.5, 30.0)
                logger.warning("elasticsearch read before write retry alias=%s attempt=%d delay_s=%.2f reason=%r", self.alias, attempt, delay, str(e))
                if stop.wait(delay) if stop is not None else (time.sleep(delay) or False):
                    raise ServiceUnavailable(
                        f"Elasticsearch at {_hosts_text(self.settings.hosts)}: stopped with {len(articles)} of {len(articles)} "
                        f"articles not yet indexed after {attempt} attempts (last error: {e})"
                    ) from None

    def _send(self, actions: list[dict[str, Any]]) -> Iterator[tuple[bool, dict[str, Any]]]:
        """Send in order; actions through the alias require it (never auto-create an index named like it),
        actions to an index by name (an older one after a rollover) go as they are."""
        start = 0
        while start < len(actions):
            through_alias = actions[start]["_index"] == self.alias
            end = start
            while end < len(actions) and (actions[end]["_index"] == self.alias) == through_alias:
                end += 1
            yield from self._send_run(actions[start:end], through_alias)
            start = end

    def _send_run(self, actions: list[dict[str, Any]], require_alias: bool) -> Iterable[tuple[bool, dict[str, Any]]]:
        # No transport-level retries here: the writer's own loop retries with backoff and
        # looks at `stop` between attempts, so a hung node costs at most one request_timeout.
        return helpers.streaming_bulk(
            self.client.options(max_retries=0),
            actions,
            chunk_size=self.settings.bulk_max_docs,
            max_chunk_bytes=self.settings.bulk_max_bytes,
            raise_on_error=False,
            raise_on_exception=False,
            max_retries=0,
            yield_ok=True,
            require_alias=require_alias,
            refresh="wait_for",  # visible to the next story lookup of any sink when the write returns
        )

    # -- reads ----------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Make everything written so far searchable."""
        with self._errors("refresh the index"):
            self.client.indices.refresh(index=self.alias)

    def count(self, query: SearchQuery | None = None) -> int:
        body = build_search(query) if query is not None else {"query": {"match_all": {}}}
        if body is None:
            return 0
        with self._errors("count articles"):
            return int(self.client.count(index=self.alias, query=body["query"])["count"])

    def facets(self, query: SearchQuery, size: int = 10) -> Facets:
        body = build_search(query)
        if body is None:
            return elastic_reads.empty_facets()
        with self._errors("count facets"):
            return elastic_reads.facets(self.client, self.alias, body["query"], size)

    def scan(self, query: SearchQuery, page_size: int = 500) -> Iterator[EnrichedArticle]:
        body = build_search(query)
        if body is not None:
            yield from elastic_reads.scan(self.client, self.alias, body["query"], page_size, guard=self._errors)

    def get(self, article_id: str) -> EnrichedArticle | None:
        """The article `article_id`, in whichever index behind the alias it lives (a search: a get needs one index)."""
        with self._errors("read an article"):
            hits = self.client.search(index=self.alias, query={"ids": {"values": [article_id]}}, size=1,
                                      source_excludes=HIDDEN_FIELDS, track_total_hits=False)["hits"]["hits"]
        return parse_enriched(hits[0]["_source"]) if hits else None

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """Best matches first, one per story (collapsed on `story_id`) unless `query.copies`; without text, the newest."""
        body = build_search(query)
        if body is None:
            return []
        with self._errors("search"):
            response = self.client.search(index=self.alias, **body)
        hits = []
        for hit in response["hits"]["hits"]:
            try:
                article = parse_enriched(hit["_source"])
            except InvalidArticle as e:
                logger.warning("elasticsearch search skipped id=%s reason=%r", hit.get("_id"), str(e))
                continue
            highlight = hit.get("highlight") or {}
            snippets = list(highlight.get("body") or highlight.get("title") or [])
            hits.append(SearchHit(article, float(hit.get("_score") or 0.0), snippets))
        with self._errors("count the copies of stories"):
            told = story_outlets(self.client, self.alias, [hit.article.story_id or hit.article.id for hit in hits])
        for hit in hits:
            hit.story_copies, hit.story_outlets = told.get(hit.article.story_id or hit.article.id, (1, []))
        return hits

