"""A small, polite HTTP fetch layer on httpx, shared by the feed and full-text fetches.

Polite means: one request at a time per host and a delay between two of them, an honest
User-Agent, conditional GET (ETag / Last-Modified), gzip, Retry-After honoured on 429 and
503, a streamed size limit, timeouts, http and https only, and at most `max_redirects`
redirects, followed by hand so that a permanent move (301, 308) can be reported and the
caller can update the URL it keeps. Failures are the project's one-line errors:

    SourceUnreachable   timeout, refused connection, 5xx        (retriable)
    └── Throttled       429 / 503: the host asked us to wait `retry_after` seconds
    SourceRejected      4xx, not http(s), too big, too many redirects
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Annotated
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import httpx
from pydantic import AfterValidator

from pipeline import __version__
from pipeline.errors import SourceRejected, SourceUnreachable
from pipeline.settings import LimitSettings

__all__ = [
    "HttpUrl",
    "USER_AGENT",
    "FetchResult",
    "Fetcher",
    "HostPoliteness",
    "Throttled",
    "check_url",
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


class Throttled(SourceUnreachable):
    """The host answered 429 or 503 (or asked earlier to be left alone): try again in `retry_after` s."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def redact(url: str) -> str:
    """The URL without user:password, fit for logs and error messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def check_url(url: str) -> str:
    """`url` if it is an absolute http(s) URL; SourceRejected otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        scheme = parts.scheme or "no scheme"
        raise SourceRejected(f"only http and https URLs can be fetched, not {scheme}: {redact(url)}")
    if not parts.hostname:
        raise SourceRejected(f"URL has no host: {redact(url)}")
    return url.strip()


def _valid_url(url: str) -> str:
    try:
        checked = check_url(url)
    except SourceRejected as e:
        raise ValueError(str(e)) from None
    try:  # a configured port out of range is a config error at start, not a failure at every poll
        urlsplit(checked).port  # noqa: B018
    except ValueError:
        raise ValueError(f"port out of range (0-65535) in {redact(checked)}") from None
    return checked


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
        except (TypeError, ValueError, IndexError):
            return default
        seconds = moment.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _host_key(url: str) -> str:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return f"{(parts.hostname or '').lower()}:{parts.port or default}"


@dataclass
class _HostState:
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_request: float = float("-inf")
    not_before: float = 0.0


class HostPoliteness:
    """One request at a time per host, `delay` seconds apart, and no request while a host asked us to wait.

    One instance is shared by every fetcher of the process (see `Fetcher`), so two feeds on
    the same host, and the full-text fetches of their articles, queue behind each other.
    """

    def __init__(self) -> None:
        self._hosts: dict[str, _HostState] = {}
        self._guard = threading.Lock()

    def _state(self, url: str) -> _HostState:
        with self._guard:
            return self._hosts.setdefault(_host_key(url), _HostState())

    @contextmanager
    def turn(self, url: str, delay: float, max_wait: float):
        """Hold the host's turn for one request; raise Throttled if it asked for a longer wait than `max_wait`."""
        state = self._state(url)
        with state.lock:
            now = time.monotonic()
            wait = max(state.not_before - now, state.last_request + delay - now, 0.0)
            if state.not_before - now > max_wait:
                remaining = state.not_before - now
                raise Throttled(f"{_host_key(url)} asked to wait {remaining:.0f}s before the next request", remaining)
            if wait > 0:
                time.sleep(wait)
            try:
                yield
            finally:
                state.last_request = time.monotonic()

    def hold_off(self, url: str, seconds: float) -> None:
        """Remember that the host asked for no request in the next `seconds`."""
        state = self._state(url)
        state.not_before = max(state.not_before, time.monotonic() + seconds)


SHARED_POLITENESS = HostPoliteness()


@dataclass
class FetchResult:
    """A response read whole (within the size limit), or a 304."""

    url: str
    status: int
    headers: httpx.Headers
    content: bytes = b""
    moved_to: str | None = None

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


class Fetcher:
    """GET with the limits of `LimitSettings`, politely; one httpx client per fetcher."""

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
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.limits = limits or LimitSettings()
        self.host_delay = host_delay
        self.max_redirects = max_redirects
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        self.politeness = politeness or SHARED_POLITENESS
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.limits.http_timeout),
            verify=self.limits.verify_tls,
            follow_redirects=False,
            headers={"User-Agent": user_agent},
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> FetchResult:
        """Fetch `url`, following redirects; retry a 429/503 whose Retry-After is short enough."""
        parts = urlsplit(url)
        if parts.username is not None:  # user:password@ in the URL: send as auth, never log it
            auth = auth or (unquote(parts.username), unquote(parts.password or ""))
            url = redact(url)
        attempt = 0
        while True:
            try:
                return self._follow(url, etag, last_modified, headers, auth)
            except Throttled as e:
                attempt += 1
                if attempt > self.retries or e.retry_after > self.max_retry_wait:
                    raise
                logger.info("throttled, retrying url=%s wait=%.1f attempt=%d", redact(url), e.retry_after, attempt)

    def _follow(self, url, etag, last_modified, extra_headers, auth) -> FetchResult:
        origin = urlsplit(check_url(url)).netloc
        current, moved_to, permanent_so_far = url, None, True
        for hop in range(self.max_redirects + 1):
            headers = dict(extra_headers or {})
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            # Credentials go only to the host they were configured for.
            hop_auth = auth if urlsplit(current).netloc == origin else None
            result = self._once(current, headers, hop_auth)
            if result.status not in REDIRECTS:
                result.moved_to = moved_to
                return result
            location = result.headers.get("location")
            if not location:
                raise SourceRejected(f"HTTP {result.status} redirect without a Location from {redact(current)}")
            target = check_url(urljoin(current, location))
            permanent_so_far = permanent_so_far and result.status in PERMANENT_REDIRECTS
            if permanent_so_far:
                moved_to = target
            logger.debug("redirect url=%s to=%s status=%d", redact(current), redact(target), result.status)
            current = target
        raise SourceRejected(f"more than {self.max_redirects} redirects fetching {redact(url)}")

    def _once(self, url: str, headers: dict[str, str], auth: tuple[str, str] | None) -> FetchResult:
        limit = self.limits.max_fetch_bytes
        shown = redact(url)
        with self.politeness.turn(url, self.host_delay, self.max_retry_wait):
            started = time.monotonic()
            try:
                with self._client.stream("GET", url, headers=headers, auth=auth) as response:
                    status = response.status_code
                    if status in THROTTLE_STATUSES:
                        wait = parse_retry_after(response.headers.get("retry-after"))
                        self.politeness.hold_off(url, wait)
                        raise Throttled(f"HTTP {status} from {shown}: asked to retry in {wait:.0f}s", wait)
                    if status >= 500:
                        raise SourceUnreachable(f"HTTP {status} {response.reason_phrase} from {shown}")
                    if status >= 400:
                        hint = " (check username and password)" if status in (401, 403) else ""
                        raise SourceRejected(f"HTTP {status} {response.reason_phrase} from {shown}{hint}")
                    result = FetchResult(url=str(response.url), status=status, headers=response.headers)
                    if status == 304 or status in REDIRECTS:
                        return result
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > limit:
                        raise SourceRejected(f"{shown} is {declared} bytes, over the limit of {limit} bytes")
                    chunks, size = [], 0
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > limit:
                            raise SourceRejected(f"{shown} is over the limit of {limit} bytes")
                        if time.monotonic() - started > 3 * self.limits.http_timeout:
                            raise SourceUnreachable(f"{shown} took over {3 * self.limits.http_timeout:.0f}s to send")
                        chunks.append(chunk)
                    result.content = b"".join(chunks)
            except httpx.TimeoutException:
                raise SourceUnreachable(f"timed out after {self.limits.http_timeout:g}s fetching {shown}") from None
            except httpx.ConnectError as e:
                raise SourceUnreachable(f"cannot connect to {shown}: {_reason(e)}") from None
            except httpx.DecodingError:
                raise SourceRejected(f"{shown} sent a body that does not decode (bad gzip?)") from None
            except httpx.HTTPError as e:
                raise SourceUnreachable(f"fetching {shown} failed: {_reason(e)}") from None
        logger.debug("fetched url=%s status=%d bytes=%d", shown, status, len(result.content))
        return result


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[-1] if text else type(error).__name__
