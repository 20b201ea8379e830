"""The feed farm: thousands of feeds on distinct loopback addresses, served by one asyncio process.

    python -m bench.feeds.farm --count 2000 --plan PLAN.json

Each host address (127.20.x.y) listens on one port; most hosts carry one feed, a few carry 30.
Of the feeds, 5 % answer only after 60 s, 3 % sit on an address nobody listens on (connection
refused), 2 % answer 429 with Retry-After, and the rest list 5-20 entries (ETag, 304 on a match).
The farm counts requests per feed and the most requests it ever had in flight to one host, and
serves those counts on a control port (GET /stats, GET /reset) on 127.0.0.1. The plan (every feed's
URL and kind, and the control URL) is written to PLAN.json once every address listens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import socket
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SLOW, REFUSED, THROTTLED, NORMAL = "slow", "refused", "throttled", "normal"
SHARED_HOSTS = 5  # hosts carrying 30 feeds each
FEEDS_PER_SHARED_HOST = 30
SLOW_SECONDS = 60.0
SEED = 20_260_101


@dataclass
class Feed:
    host: str
    path: str
    kind: str
    body: bytes = b""
    etag: str = ""


def address(n: int) -> str:
    return f"127.20.{n // 250}.{n % 250 + 1}"


def plan(count: int, rng: random.Random) -> list[Feed]:
    """`count` feeds: a few shared hosts first, then one host each; the odd kinds on hosts of their own."""
    shared = min(SHARED_HOSTS * FEEDS_PER_SHARED_HOST, count // 4)
    feeds = [Feed(address(n // FEEDS_PER_SHARED_HOST), f"/feed{n % FEEDS_PER_SHARED_HOST}.xml", NORMAL)
             for n in range(shared)]
    first_single = (shared + FEEDS_PER_SHARED_HOST - 1) // FEEDS_PER_SHARED_HOST
    singles = [Feed(address(first_single + n), "/feed.xml", NORMAL) for n in range(count - shared)]
    special = rng.sample(range(len(singles)), round(0.10 * count))
    slow, refused = round(0.05 * count), round(0.03 * count)
    for rank, index in enumerate(special):
        singles[index].kind = SLOW if rank < slow else REFUSED if rank < slow + refused else THROTTLED
    feeds += singles
    for number, feed in enumerate(feeds):
        entries = rng.randint(5, 20)
        items = "".join(
            f"<item><guid>urn:bench:{number}:{k}</guid><title>Harbour council story {k} of feed {number}</title>"
            f"<link>http://{feed.host}/story/{number}/{k}</link>"
            f"<pubDate>Mon, 0{1 + k % 9} Jan 2024 10:00:00 GMT</pubDate>"
            f"<description>The council met on Tuesday to discuss item {k}. &quot;We will act,&quot; the mayor said, "
            f"and the harbour master agreed that the ferry timetable for the coming weeks would change again.</description></item>"
            for k in range(entries)
        )
        feed.body = (f"<?xml version='1.0'?><rss version='2.0'><channel><title>Feed {number}</title>"
                     f"<link>http://{feed.host}/</link>{items}</channel></rss>").encode()
        feed.etag = f'"v{number}"'
    return feeds


class Farm:
    def __init__(self, feeds: list[Feed], port: int) -> None:
        self.port = port
        self.routes = {(f.host, f.path): f for f in feeds if f.kind != REFUSED}
        self.requests: Counter = Counter()
        self.in_flight: Counter = Counter()
        self.peaks: Counter = Counter()

    async def serve(self, host: str) -> asyncio.base_events.Server:
        return await asyncio.start_server(lambda r, w: self.connection(host, r, w), host, self.port,
                                          reuse_address=True, backlog=256)

    async def connection(self, host: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else "/"
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                await self.answer(host, path, headers, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def answer(self, host: str, path: str, headers: dict[str, str], writer: asyncio.StreamWriter) -> None:
        feed = self.routes.get((host, path))
        self.requests[f"{host}{path}"] += 1
        self.in_flight[host] += 1
        self.peaks[host] = max(self.peaks[host], self.in_flight[host])
        try:
            if feed is None:
                status, extra, body = "404 Not Found", {}, b"no such feed"
            elif feed.kind == THROTTLED:
                status, extra, body = "429 Too Many Requests", {"Retry-After": "3600"}, b""
            else:
                if feed.kind == SLOW:
                    await asyncio.sleep(SLOW_SECONDS)
                if headers.get("if-none-match") == feed.etag:
                    status, extra, body = "304 Not Modified", {"ETag": feed.etag}, b""
                else:
                    status, extra, body = "200 OK", {"ETag": feed.etag, "Content-Type": "application/rss+xml"}, feed.body
            head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n" + "".join(
                f"{k}: {v}\r\n" for k, v in extra.items()) + "\r\n"
            writer.write(head.encode("latin-1") + body)
            await writer.drain()
        finally:
            self.in_flight[host] -= 1

    def stats(self) -> dict:
        return {"requests": dict(self.requests), "peaks": dict(self.peaks),
                "peak": max(self.peaks.values(), default=0), "served": sum(self.requests.values())}

    def reset(self) -> None:
        self.requests.clear()
        self.peaks.clear()

    async def control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.decode("latin-1").split(" ")[1]
            if path == "/reset":
                self.reset()
            body = json.dumps(self.stats()).encode()
            writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
            await writer.drain()
        finally:
            writer.close()


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


async def main(count: int, plan_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # one listening socket per host, plus connections
    feeds = plan(count, random.Random(SEED))
    port = free_port(feeds[0].host)
    farm = Farm(feeds, port)
    hosts = sorted({f.host for f in feeds if f.kind != REFUSED})
    servers = [await farm.serve(host) for host in hosts]
    control = await asyncio.start_server(farm.control, "127.0.0.1", 0)
    control_port = control.sockets[0].getsockname()[1]
    document = {
        "control": f"http://127.0.0.1:{control_port}",
        "hosts": len({f.host for f in feeds}),
        "feeds": [{"url": f"http://{f.host}:{port}{f.path}", "kind": f.kind, "host": f.host} for f in feeds],
        "open_files": {"soft_before": soft, "now": hard},
    }
    tmp = plan_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document), encoding="utf-8")
    tmp.replace(plan_path)
    await asyncio.gather(*(server.serve_forever() for server in [*servers, control]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--plan", type=Path, required=True)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.count, arguments.plan))
