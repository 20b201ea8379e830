"""Hostile servers that answer too slowly on purpose: every request ends within its total deadline.

A per-read timeout is not a deadline: a server that sends the status line and then one header
line every few milliseconds, or a body one byte at a time, never lets a read time out. The
fetch layer gives each request 3 × `limits.http_timeout` in all and cuts it off after that,
with one SourceUnreachable line; other hosts are served meanwhile.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest

from pipeline.errors import SourceUnreachable
from pipeline.plugin import FeedServer, Reply
from pipeline.plugin.http import Fetcher, HostPoliteness
from pipeline.settings import LimitSettings

DRIP = 0.05  # seconds between two trickled bytes: far below any read timeout used here
HANG_GUARD = 20.0  # a fetch still running after this long has hung: the test fails instead of the suite


class TrickleServer:
    """A raw TCP server on loopback: reads each request's head, then runs `script(connection, stop)`."""

    def __init__(self, script: Callable[[socket.socket, threading.Event], None], host: str = "127.0.0.1") -> None:
        self.script = script
        self.stop = threading.Event()
        self.listener = socket.create_server((host, 0))
        self.listener.settimeout(0.1)
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def url(self, path: str = "/feed.xml") -> str:
        host, port = self.listener.getsockname()[:2]
        return f"http://{host}:{port}{path}"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = connection.recv(4096)
                if not chunk:
                    return
                head += chunk
            try:
                self.script(connection, self.stop)
            except OSError:
                pass  # the client hung up: what we wanted

    def __enter__(self) -> "TrickleServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(timeout=5)


def _drip(connection: socket.socket, stop: threading.Event, pieces) -> None:
    for piece in pieces:
        if stop.wait(DRIP):
            return
        connection.sendall(piece)


def headers_forever(connection, stop):
    connection.sendall(b"HTTP/1.1 200 OK\r\n")
    _drip(connection, stop, (f"X-Drip-{n}: {n}\r\n".encode() for n in range(10**9)))


def status_line_forever(connection, stop):
    _drip(connection, stop, [b"H", b"T", b"T", b"P", b"/", b"1", b".", b"1", b" "] + [b"2"] * 10**6)


def body_forever(connection, stop):
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 10000000\r\n\r\n")
    _drip(connection, stop, (b"<" for _ in range(10**9)))


def chunks_forever(connection, stop):
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nTransfer-Encoding: chunked\r\n\r\n")
    _drip(connection, stop, (b"1\r\n<\r\n" for _ in range(10**9)))


def _fetch_with_guard(url: str, limits: LimitSettings) -> BaseException | None:
    """Fetch in a thread; the error it ended with (None on success). Fails the test if it hangs."""
    outcome: list[BaseException | None] = []

    def fetch() -> None:
        try:
            Fetcher(limits, host_delay=0, politeness=HostPoliteness()).get(url)
            outcome.append(None)
        except BaseException as e:  # noqa: BLE001 - the test inspects whatever came out
            outcome.append(e)

    thread = threading.Thread(target=fetch, daemon=True)
    thread.start()
    thread.join(HANG_GUARD)
    assert not thread.is_alive(), f"fetching {url} hung past {HANG_GUARD}s"
    return outcome[0]


@pytest.mark.parametrize("script", [headers_forever, status_line_forever, body_forever, chunks_forever],
                         ids=["header-lines", "status-line", "body", "chunked-body"])
def test_a_trickling_server_is_cut_off_at_the_deadline_with_one_line(script):
    limits = LimitSettings(http_timeout=0.4)  # deadline 1.2 s; each trickled byte comes every 0.05 s
    with TrickleServer(script) as server:
        error = _fetch_with_guard(server.url(), limits)
    assert isinstance(error, SourceUnreachable), error
    message = str(error)
    assert "\n" not in message and "within 1.2s" in message, message


def test_other_hosts_are_served_while_one_trickles():
    limits = LimitSettings(http_timeout=0.4)
    with TrickleServer(headers_forever) as slow, FeedServer(host="127.0.0.4") as quick:
        quick.route("/feed.xml", Reply(body=b"<rss/>"))
        results: dict[str, object] = {}
        finished: dict[str, float] = {}

        def fetch(name, url):
            try:
                results[name] = Fetcher(limits, host_delay=0).get(url).content
            except SourceUnreachable as e:
                results[name] = e
            finished[name] = time.monotonic()

        threads = [threading.Thread(target=fetch, args=("slow", slow.url())),
                   threading.Thread(target=fetch, args=("quick", quick.url("/feed.xml")))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(HANG_GUARD)
        assert results["quick"] == b"<rss/>"
        assert isinstance(results["slow"], SourceUnreachable)
        assert finished["quick"] < finished["slow"], "the quick host waited for the trickling one"
