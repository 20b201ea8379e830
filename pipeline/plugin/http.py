"""A small, polite HTTP fetch layer on httpx, shared by the feed and full-text fetches.

Polite means: at most `per_host` requests in flight to one host name and their starts
`host_delay` apart (pipeline.plugin.hosts), an honest User-Agent, conditional GET (ETag /
Last-Modified), gzip, Retry-After honoured on 429 and 503, a streamed size limit, http and
https only, and at most `max_redirects` redirects, followed by hand so that a permanent move
(301, 308) can be reported and the caller can update the URL it keeps.

Bounded means: every request runs on the shared asyncio loop under a total deadline of
3 × `limits.http_timeout` for connecting, the status line, the headers and the body together
(a server that trickles header lines or the body forever is cut off; per-read timeouts alone
are not a deadline). `Fetcher.get` is synchronous: the calling thread waits on a future.

Failures are the project's one-line errors:

    SourceUnreachable   timeout, deadline, refused connection, 5xx          (retriable)
    └── Throttled       429 / 503: the host asked us to wait `retry_after` seconds
    SourceRejected      4xx, an unusable URL or Location, not http(s), too big, too many redirects
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Annotated, Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import httpx
from pydantic import AfterValidator

from pipeline import __version__
from pipeline.errors import NewswireError, SourceRejected, SourceUnreachable, Throttled, visible
from pipeline.plugin.hosts import SHARED_IO, SHARED_POLITENESS, HostPoliteness, IoLoop
from pipeline.settings import LimitSettings

__all__ = [
    "HttpUrl",
    "USER_AGENT",
    "FetchResult",
    "Fetcher",
    "Prefetch",
    "HostPoliteness",
    "Throttled",
    "check_url",
    "host_of",
    "parse_retry_after",
    "redact",
]

logger = logging.getLogger(__name__)

USER_AGENT = f"newswire/{__version__} (+https://github.com/newswire)"
PERMANENT_REDIRECTS = frozenset({301, 308})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
THROTTLE_STATUSES = frozenset({429, 503})
DEFAULT_RETRY_AFTER = 60.0
MAX_RETRY_AFTER = 24 * 3600.0
DEADLINE_FACTOR = 3.0
_CREDENTIALS = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@")
_NOT_IN_HOST = re.compile(r"[\s<>\"{}|\\^`%]")


def redact(url: str) -> str:
    """The URL without user:password, fit for logs and error messages (control characters escaped)."""
    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return visible(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return visible(urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment)))
    except ValueError:  # a port out of range, a broken IPv6 literal: still never show credentials
        return visible(_CREDENTIALS.sub(r"\1", url))


def check_url(url: str) -> str:
    """`url` if it is a usable absolute http(s) URL; SourceRejected otherwise (never another exception)."""
    text = url.strip()
    if visible(text) != text:
        raise SourceRejected(f"URL holds control characters: {redact(text)}")
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError as e:
        raise SourceRejected(f"unusable URL ({e}): {redact(text)}") from None
    try:
        parts.port  # noqa: B018 (raises ValueError for a port out of range or not a number)
    except ValueError:
        raise SourceRejected(f"port out of range (0-65535) in {redact(text)}") from None
    if parts.scheme.lower() not in ("http", "https"):
        scheme = parts.scheme or "no scheme"
        raise SourceRejected(f"only http and https URLs can be fetched, not {visible(scheme)}: {redact(text)}")
    if not host:
        raise SourceRejected(f"URL has no host: {redact(text)}")
    if not _usable_host(host):
        raise SourceRejected(f"URL has an unusable host name: {redact(text)}")
    return text


def _usable_host(host: str) -> bool:
    """A host name DNS could resolve: no spaces or URL punctuation, at most 253 characters, labels of 1-63."""
    if ":" in host:  # an IPv6 literal (urlsplit already checked the brackets)
        return True
    if len(host) > 253 or _NOT_IN_HOST.search(host):
        return False
    return all(0 < len(label) <= 63 for label in host.rstrip(".").split("."))


def host_of(url: str) -> str:
    """The host name a URL points at (lower case, no port): the unit of politeness. '' when there is none."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _valid_url(url: str) -> str:
    try:  # a configured port out of range is a config error at start, not a failure at every poll
        return check_url(url)
    except SourceRejected as e:
        raise ValueError(str(e)) from None


HttpUrl = Annotated[str, AfterValidator(_valid_url)]
"""An http(s) URL in a connector's options: `url: HttpUrl` rejects other schemes as a config error."""


def parse_retry_after(value: str | None, default: float = DEFAULT_RETRY_AFTER) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), capped at a day."""
    if not value:
        return default
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return default
        seconds = moment.timestamp() - time.time()
    if seconds != seconds:  # NaN
        return default
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


@dataclass
class FetchResult:
    """A response read whole (within the size limit), or a 304."""

    url: str
    status: int
    headers: httpx.Headers
    content: bytes = b""
    moved_to: str | None = None
    location: str | None = None  # a redirect's Location, as sent (checked by the fetcher, never by httpx)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def max_age(self) -> float | None:
        """Cache-Control max-age in seconds (capped at a day), or None."""
        for directive in self.headers.get("cache-control", "").split(","):
            name, _, value = directive.strip().partition("=")
            if name.lower() == "max-age":
                try:
                    return min(max(float(value.strip().strip('"')), 0.0), MAX_RETRY_AFTER)
                except ValueError:
                    return None
        return None


@dataclass
class Prefetch:
    """A fetch under way on the I/O loop (see `Fetcher.start`)."""

    io: IoLoop
    future: Any

    def result(self) -> FetchResult:
        """Wait for it; its errors are raised as `get` raises them."""
        return self.io.result(self.future)

    def when_done(self, callback) -> None:
        """Call `callback()` (on the I/O loop's thread) once the answer is in, or the fetch failed."""
        self.future.add_done_callback(lambda _future: callback())


class Fetcher:
    """GET with the limits of `LimitSettings`, politely, on the shared I/O loop (see the module docstring)."""

    def __init__(
        self,
        limits: LimitSettings | None = None,
        *,
        host_delay: float = 1.0,
        max_redirects: int = 5,
        retries: int = 1,
        max_retry_wait: float = 10.0,
        user_agent: str = USER_AGENT,
        politeness: HostPoliteness | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        io: IoLoop | None = None,
    ) -> None:
        self.limits = limits or LimitSettings()
        self.host_delay = host_delay
        self.max_redirects = max_redirects
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        self.user_agent = user_agent
        self.politeness = politeness or SHARED_POLITENESS
        self.io = io or SHARED_IO
        self.transport = transport

    @property
    def deadline(self) -> float:
        """Seconds one request may take in all: connect, status line, headers and body."""
        return DEADLINE_FACTOR * self.limits.http_timeout

    def close(self) -> None:
        """Nothing to release: the connection pool is shared by the process."""

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str, **options: Any) -> FetchResult:
        """Fetch `url`, following redirects; retry a 429/503 whose Retry-After is short enough.

        Keywords as for `fetch`: `etag`, `last_modified` (conditional GET), `headers`, `auth`.
        """
        return self.io.run(self.fetch(url, **options))

    def start(self, url: str, **options: Any) -> "Prefetch":
        """Begin fetching `url` now, without waiting: `.result()` later gives what `get` would have."""
        return Prefetch(self.io, self.io.submit(self.fetch(url, **options)))

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> FetchResult:
        """`get` for a caller already on the I/O loop (the calling thread of `get` waits for this)."""
        url = check_url(url)
        parts = urlsplit(url)
        if parts.username is not None:  # user:password@ in the URL: send as auth, never log it
            auth = auth or (unquote(parts.username), unquote(parts.password or ""))
            url = redact(url)
        attempt = 0
        while True:
            try:
                return await self._follow(url, etag, last_modified, headers, auth)
            except Throttled as e:
                attempt += 1
                if attempt > self.retries or e.retry_after > self.max_retry_wait:
                    raise
                logger.info("throttled, retrying url=%s wait=%.1f attempt=%d", redact(url), e.retry_after, attempt)
            except NewswireError:
                raise
            except Exception as e:  # noqa: BLE001 - whatever a hostile server provokes is one line, never a traceback
                logger.debug("unexpected fetch failure url=%s", redact(url), exc_info=True)
                raise SourceUnreachable(f"fetching {redact(url)} failed: {type(e).__name__}: {_reason(e)}") from None

    async def _follow(self, url, etag, last_modified, extra_headers, auth) -> FetchResult:
        origin = urlsplit(url).netloc
        current, moved_to, permanent_so_far = url, None, True
        for _hop in range(self.max_redirects + 1):
            headers = {"User-Agent": self.user_agent, **dict(extra_headers or {})}
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            # Credentials go only to the host they were configured for.
            hop_auth = auth if urlsplit(current).netloc == origin else None
            result = await self._once(current, headers, hop_auth)
            if result.status not in REDIRECTS:
                result.moved_to = moved_to
                return result
            target = _location(result, current)
            permanent_so_far = permanent_so_far and result.status in PERMANENT_REDIRECTS
            if permanent_so_far:
                moved_to = target
            logger.debug("redirect url=%s to=%s status=%d", redact(current), redact(target), result.status)
            current = target
        raise SourceRejected(f"more than {self.max_redirects} redirects fetching {redact(url)}")

    async def _once(self, url: str, headers: dict[str, str], auth: tuple[str, str] | None) -> FetchResult:
        shown = redact(url)
        host = host_of(url)
        client = self.io.client(self.limits.verify_tls, self.transport)
        async with self.politeness.turn(host, self.host_delay, self.max_retry_wait):
            try:
                async with asyncio.timeout(self.deadline):
                    result = await self._exchange(client, url, headers, auth, shown)
            except TimeoutError:
                raise SourceUnreachable(f"{shown} did not send its whole answer within {self.deadline:g}s") from None
            except httpx.TimeoutException:
                raise SourceUnreachable(f"timed out after {self.limits.http_timeout:g}s fetching {shown}") from None
            except httpx.ConnectError as e:
                raise SourceUnreachable(f"cannot connect to {shown}: {_reason(e)}") from None
            except httpx.DecodingError:
                raise SourceRejected(f"{shown} sent a body that does not decode (bad gzip?)") from None
            except (httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeError, ValueError) as e:
                raise SourceRejected(f"unusable URL {shown}: {_reason(e)}") from None
            except httpx.HTTPError as e:
                raise SourceUnreachable(f"fetching {shown} failed: {_reason(e)}") from None
        logger.debug("fetched url=%s status=%d bytes=%d", shown, result.status, len(result.content))
        return result

    async def _exchange(self, client: httpx.AsyncClient, url: str, headers: dict[str, str],
                        auth: tuple[str, str] | None, shown: str) -> FetchResult:
        limit = self.limits.max_fetch_bytes
        async with client.stream("GET", url, headers=headers, auth=auth, timeout=self.limits.http_timeout) as response:
            status = response.status_code
            if status in THROTTLE_STATUSES:
                wait = parse_retry_after(response.headers.get("retry-after"))
                self.politeness.hold_off(host_of(url), wait)
                raise Throttled(f"HTTP {status} from {shown}: asked to retry in {wait:.0f}s", wait)
            if status >= 500:
                raise SourceUnreachable(f"HTTP {status} {visible(response.reason_phrase)} from {shown}")
            if status >= 400:
                hint = " (check username and password)" if status in (401, 403) else ""
                raise SourceRejected(f"HTTP {status} {visible(response.reason_phrase)} from {shown}{hint}")
            result = FetchResult(url=str(response.url), status=status, headers=response.headers,
                                 location=response.extensions.get("location"))
            if status == 304 or status in REDIRECTS:
                return result
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise SourceRejected(f"{shown} is {declared} bytes, over the limit of {limit} bytes")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise SourceRejected(f"{shown} is over the limit of {limit} bytes")
                chunks.append(chunk)
            result.content = b"".join(chunks)
            return result


def _location(result: FetchResult, current: str) -> str:
    """Where a redirect points, as a checked absolute URL; SourceRejected for a missing or unusable Location."""
    location = result.location
    if not location:
        raise SourceRejected(f"HTTP {result.status} redirect without a Location from {redact(current)}")
    try:
        target = urljoin(current, location.strip())
    except ValueError as e:
        raise SourceRejected(f"HTTP {result.status} redirect to an unusable Location ({e}) from {redact(current)}") from None
    try:
        return check_url(target)
    except SourceRejected as e:
        raise SourceRejected(f"HTTP {result.status} redirect from {redact(current)} rejected: {e}") from None


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return visible(text[-1])[:300] if text else type(error).__name__
