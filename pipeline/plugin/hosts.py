"""Where every HTTP request of the process waits its turn: one asyncio loop, one politeness gate per host name.

    IoLoop          one thread running asyncio for every fetch of the process: one connection pool
                    and one TLS context for thousands of feeds; a caller thread blocks on a future,
                    not on a socket, and a request is cancelled whole when its deadline passes
    HostPoliteness  at most `per_host` requests in flight to one host name, request starts to one
                    host at least `delay` seconds apart, first come first served (many feeds on one
                    host are served in turn, not in a burst), and no request while a host asked us
                    to wait (Retry-After)

Both are shared by default (`SHARED_IO`, `SHARED_POLITENESS`), so feed polls and the full-text
page fetches of their articles queue behind each other whatever connector or thread makes them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from pipeline.errors import SourceUnreachable, Throttled

__all__ = ["IoLoop", "HostPoliteness", "SHARED_IO", "SHARED_POLITENESS", "DEFAULT_PER_HOST"]

logger = logging.getLogger(__name__)

DEFAULT_PER_HOST = 2
# Idle connections kept for reuse: httpcore looks through all of them for every request, so a big
# pool costs more CPU than the handshakes it saves when thousands of feeds sit on different hosts.
KEEPALIVE = 16
T = TypeVar("T")


class IoLoop:
    """An asyncio loop on a daemon thread, started on first use, with one httpx.AsyncClient per TLS setting."""

    def __init__(self, name: str = "newswire-http") -> None:
        self.name = name
        self._guard = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._clients: dict[tuple[bool, int], httpx.AsyncClient] = {}
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        """A forked child has no loop thread: start a new one when it first fetches."""
        self._guard = threading.Lock()
        self._loop, self._thread, self._clients = None, None, {}

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._guard:
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=serve, name=self.name, daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the loop and wait for its result (raised as it was raised)."""
        return self.result(self.submit(coroutine))

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future:
        """Start `coroutine` on the loop now; its future's callbacks run on the loop's thread."""
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("IoLoop.submit called from its own thread: await the coroutine instead")
        return asyncio.run_coroutine_threadsafe(coroutine, self._running_loop())

    @staticmethod
    def result(future: concurrent.futures.Future) -> Any:
        """Wait for a submitted coroutine's result; a cancelled one (newswire is stopping) is SourceUnreachable."""
        try:
            return future.result()
        except (asyncio.CancelledError, concurrent.futures.CancelledError):
            raise SourceUnreachable("the request was cancelled (newswire is stopping)") from None

    def client(self, verify: bool, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
        """The shared client for a TLS setting (a test transport gets its own). Call on the loop."""
        key = (verify, id(transport) if transport is not None else 0)
        client = self._clients.get(key)
        if client is None:
            client = httpx.AsyncClient(
                verify=verify,
                follow_redirects=False,
                transport=transport,
                event_hooks={"response": [_keep_location]},
                # Concurrency is bounded by the fleet and the host gate, not by the pool.
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=KEEPALIVE, keepalive_expiry=5.0),
            )
            self._clients[key] = client
        return client

    def cancel_all(self) -> None:
        """Cancel every request in flight (the process is stopping): their callers get SourceUnreachable."""
        loop = self._loop
        if loop is None or not loop.is_running():
            return

        def cancel() -> None:
            for task in asyncio.all_tasks(loop):
                task.cancel()

        loop.call_soon_threadsafe(cancel)


async def _keep_location(response: httpx.Response) -> None:
    """Take the Location header away from httpx (which would parse it, and fail on a hostile one) and
    keep it in `response.extensions["location"]`: the fetch layer checks redirects itself."""
    location = response.headers.get("location")
    if location is not None:
        response.extensions["location"] = location
        del response.headers["location"]


@dataclass
class _Host:
    slots: asyncio.Semaphore
    spacing: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_start: float = float("-inf")
    not_before: float = 0.0
    in_flight: int = 0
    peak: int = 0


class HostPoliteness:
    """The per-host gate (see the module docstring); its waiting happens on the IoLoop, in arrival order."""

    def __init__(self, per_host: int = DEFAULT_PER_HOST) -> None:
        self.per_host = max(1, int(per_host))
        self._hosts: dict[str, _Host] = {}

    def _state(self, host: str) -> _Host:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _Host(asyncio.Semaphore(self.per_host))
        return state

    def _check_hold(self, host: str, state: _Host, max_wait: float) -> None:
        remaining = state.not_before - time.monotonic()
        if remaining > max_wait:
            raise Throttled(f"{host} asked to wait {remaining:.0f}s before the next request", remaining)

    @asynccontextmanager
    async def turn(self, host: str, delay: float, max_wait: float) -> AsyncIterator[None]:
        """Hold one of the host's slots for a request; raise Throttled if it asked for a longer wait than `max_wait`."""
        state = self._state(host)
        self._check_hold(host, state, max_wait)
        async with state.slots:
            async with state.spacing:
                self._check_hold(host, state, max_wait)  # a 429 may have come in while we queued
                wait = max(state.last_start + delay, state.not_before) - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                state.last_start = time.monotonic()
            state.in_flight += 1
            state.peak = max(state.peak, state.in_flight)
            try:
                yield
            finally:
                state.in_flight -= 1

    def forget(self) -> None:
        """Drop what the gate knows about every host (a test starts from a clean slate)."""
        self._hosts = {}

    def hold_off(self, host: str, seconds: float) -> None:
        """Remember that the host asked for no request in the next `seconds`."""
        state = self._state(host)
        state.not_before = max(state.not_before, time.monotonic() + seconds)

    def held_for(self, host: str) -> float:
        """Seconds the host still asked us to wait (0 when it did not)."""
        state = self._hosts.get(host)
        return max(0.0, state.not_before - time.monotonic()) if state else 0.0

    def in_flight(self, host: str) -> int:
        state = self._hosts.get(host)
        return state.in_flight if state else 0

    def peak(self, host: str | None = None) -> int:
        """The most requests ever in flight to `host` at once (to any one host when None)."""
        if host is not None:
            state = self._hosts.get(host)
            return state.peak if state else 0
        return max((state.peak for state in self._hosts.values()), default=0)


SHARED_IO = IoLoop()
SHARED_POLITENESS = HostPoliteness()
