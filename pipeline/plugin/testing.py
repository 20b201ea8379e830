"""Test kit for connector authors: a programmable HTTP server on loopback, and a connector on a real checkpoint.

    from pipeline.plugin import FeedServer, Reply, connector_for_test, read_all

    with FeedServer() as server:
        server.route("/feed.xml", Reply(body=feed_bytes, headers={"Content-Type": "application/rss+xml"}, etag='"v1"'))
        connector = connector_for_test("rss", {"url": server.url("/feed.xml")}, tmp_path)
        articles = read_all(connector)           # read everything, commit it as the runtime would
        assert server.requests_to("/feed.xml")[-1].headers.get("If-None-Match") is None

Routes answer with a `Reply`, a list of replies (one per request, the last one repeats),
or a callable `(RecordedRequest) -> Reply`. Every request is recorded with its headers, and
`peak` is the most requests the server ever had in flight at once (politeness tests).
No network beyond loopback (`FeedServer(host="127.0.0.7")` for a second host name); nothing
here needs pytest.
"""

from __future__ import annotations

import gzip as gzip_module
import ipaddress
import mimetypes
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pipeline.article import Article
from pipeline.checkpoint import Checkpoint, CheckpointFiles, Record, checkpoint_key
from pipeline.deadletter import DeadLetter
from pipeline.plugin.connector import Connector, ConnectorContext, Yielded, as_record
from pipeline.plugin.registry import build_connector
from pipeline.settings import LimitSettings

__all__ = [
    "FeedServer", "Reply", "RecordedRequest", "connector_for_test", "read_all", "commit", "articles_only", "http_date",
]


def http_date(timestamp: float | None = None) -> str:
    """An HTTP date (for Last-Modified, Retry-After)."""
    return formatdate(timestamp if timestamp is not None else time.time(), usegmt=True)


@dataclass
class Reply:
    """One programmed response.

    `etag` / `last_modified` make the server answer 304 to a matching conditional GET;
    `gzip` compresses the body; `delay` sleeps before the status line is sent (timeouts).
    """

    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    delay: float = 0.0

    @classmethod
    def redirect(cls, location: str, status: int = 301) -> "Reply":
        return cls(status=status, headers={"Location": location})

    @classmethod
    def file(cls, path: str | Path, content_type: str | None = None, **kwargs: Any) -> "Reply":
        """Serve a file, with a content type guessed from its name unless given."""
        path = Path(path)
        guessed = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        headers = {"Content-Type": guessed, **kwargs.pop("headers", {})}
        return cls(body=path.read_bytes(), headers=headers, **kwargs)


@dataclass
class RecordedRequest:
    """What the server saw: method, path (with query), headers (a case-insensitive lookup via `header`),
    and when it arrived (`time.monotonic()`)."""

    method: str
    path: str
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-reply (timeout tests) is expected, not worth a traceback."""


Responder = Reply | list[Reply] | Callable[[RecordedRequest], Reply]


class FeedServer:
    """A threaded HTTP server on a loopback address (127.0.0.1 unless told) with programmable routes.

    Use it as a context manager. `host` must be in 127.0.0.0/8; `port` 0 picks a free one.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"FeedServer binds loopback addresses only, not {host}")
        self._routes: dict[str, Responder] = {}
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.peak = 0
        self._httpd = _QuietServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def route(self, path: str, responder: Responder) -> "FeedServer":
        """Answer requests to `path` (the query string is part of the match if given)."""
        with self._lock:
            self._routes[path] = responder
            self._served[path] = 0
        return self

    def serve_file(self, path: str, file: str | Path, content_type: str | None = None, **kwargs: Any) -> "FeedServer":
        return self.route(path, Reply.file(file, content_type, **kwargs))

    def redirect(self, path: str, location: str, status: int = 301) -> "FeedServer":
        return self.route(path, Reply.redirect(location, status))

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path or r.path.split("?")[0] == path]

    def count(self, path: str) -> int:
        return len(self.requests_to(path))

    def start(self) -> "FeedServer":
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="feed-server", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> "FeedServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _reply_for(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            path = request.path if request.path in self._routes else request.path.split("?")[0]
            responder = self._routes.get(path)
            served = self._served.get(path, 0)
            self._served[path] = served + 1
        if responder is None:
            return Reply(status=404, body=b"not found", headers={"Content-Type": "text/plain"})
        if isinstance(responder, list):
            return responder[min(served, len(responder) - 1)]
        if callable(responder):
            return responder(request)
        return responder


def _handler_for(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            request = RecordedRequest("GET", self.path, dict(self.headers.items()))
            with server._lock:
                server.in_flight += 1
                server.peak = max(server.peak, server.in_flight)
            try:
                self._send(server._reply_for(request), request)
            finally:
                with server._lock:
                    server.in_flight -= 1

        def _send(self, reply: Reply, request: RecordedRequest) -> None:
            if reply.delay:
                time.sleep(reply.delay)
            status, body = reply.status, reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
            headers = dict(reply.headers)
            if reply.etag:
                headers["ETag"] = reply.etag
            if reply.last_modified:
                headers["Last-Modified"] = reply.last_modified
            if status == 200 and _not_modified(reply, request):
                status, body = 304, b""
            if reply.gzip and body:
                body = gzip_module.compress(body)
                headers["Content-Encoding"] = "gzip"
            headers.setdefault("Content-Length", str(len(body)))
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if body:
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test); nothing to report

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read `server.requests` instead."""

    return Handler


def _not_modified(reply: Reply, request: RecordedRequest) -> bool:
    if reply.etag and request.header("If-None-Match"):
        return reply.etag in [tag.strip() for tag in request.header("If-None-Match").split(",")]
    if reply.last_modified and request.header("If-Modified-Since"):
        return request.header("If-Modified-Since") == reply.last_modified
    return False


def connector_for_test(
    connector_type: str | type[Connector],
    options: dict[str, Any],
    data_dir: str | Path,
    *,
    name: str = "test",
    limits: LimitSettings | None = None,
) -> Connector:
    """A connector built the way the runtime builds it, with a real checkpoint file under `data_dir`.

    `connector_type` is a type name (an installed connector) or a Connector class (a plugin
    under test that is not installed). Build a second one on the same `data_dir` to simulate a restart.
    """
    data_dir = Path(data_dir)
    type_name = connector_type if isinstance(connector_type, str) else connector_type.type
    context = ConnectorContext(
        data_dir=data_dir,
        limits=limits or LimitSettings(),
        checkpoint=Checkpoint(CheckpointFiles(data_dir), checkpoint_key(type_name, name)),
    )
    connector = build_connector(connector_type, name, options, context)
    connector.setup()
    return connector


def commit(connector: Connector, delivered: Iterable[Yielded]) -> None:
    """Commit the checkpoint changes of `delivered`, as the runtime does once they are safe downstream."""
    connector.context.checkpoint.commit(as_record(item).checkpoint for item in delivered)


def read_all(connector: Connector, *, commit: bool = True) -> list[Article | DeadLetter]:
    """The Articles and DeadLetters of one whole `read()`; then, unless told not to, commit what it carried."""
    records: list[Record] = [as_record(item) for item in connector.read()]
    if commit:
        connector.context.checkpoint.commit(record.checkpoint for record in records)
    return [record.value for record in records if record.value is not None]


def articles_only(records: Iterable[Article | DeadLetter]) -> list[Article]:
    """The Articles among `records` (DeadLetters left out)."""
    return [r for r in records if isinstance(r, Article)]
