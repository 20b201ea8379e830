"""`newswire serve`: the search page and its JSON API over the configured index, on loopback by default."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import socket
import sys

from pipeline.commands import add_config_option
from pipeline.commands.console import configure_logging
from pipeline.errors import ConfigError, ServiceError
from pipeline.runtime.indexes import open_index
from pipeline.settings import Settings, load_settings

__all__ = ["add_parser", "listen", "allowed_hosts", "build_server"]

logger = logging.getLogger(__name__)

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
MAX_CONNECTIONS = 64  # beyond this many at once the server answers 503 instead of queueing without bound


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="the search page and its JSON API (binds 127.0.0.1 unless told otherwise)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    add_config_option(parser)
    parser.set_defaults(func=run)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str) -> list[str] | None:
    """On loopback only loopback names are accepted in the Host header (no DNS rebinding); else any."""
    return sorted({*LOOPBACK_NAMES, host.strip("[]")}) if _is_loopback(host) else None


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; a ConfigError naming the address when it cannot be had."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535, not {port}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as e:
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.setblocking(False)
    return sock


def _check_index(settings: Settings) -> str:
    """Fail now when the embedded index was never written; only warn when Elasticsearch does not answer yet."""
    with open_index(settings, must_exist=True) as index:
        if not settings.elasticsearch.hosts:
            return f"the embedded index ({index.count()} articles)"
        try:
            return f"Elasticsearch alias {settings.elasticsearch.index} ({index.count()} articles)"
        except ServiceError as e:
            logger.warning("%s; the page says so until it answers", e)
            return f"Elasticsearch alias {settings.elasticsearch.index}"


def build_server(settings: Settings, host: str):
    """The uvicorn server of the application over `settings`' index (not started)."""
    import uvicorn

    from pipeline.web import create_app

    app = create_app(lambda: open_index(settings, must_exist=True), allowed_hosts=allowed_hosts(host))
    config = uvicorn.Config(
        app,
        log_config=None,  # newswire's own logging set-up
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_graceful_shutdown=5,
    )
    return uvicorn.Server(config)


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level or "WARNING")
    settings = load_settings(args.config)
    what = _check_index(settings)
    sock = listen(args.host, args.port)
    host, port = sock.getsockname()[:2]
    if not _is_loopback(args.host):
        logger.warning("listening on %s: anyone who can reach this address can read the index", args.host)
    shown = f"[{host}]" if ":" in host else host
    print(f"newswire: serving {what} at http://{shown}:{port}/ (Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        build_server(settings, args.host).run(sockets=[sock])
    except KeyboardInterrupt:  # Ctrl-C is how a server is stopped: uvicorn has shut down cleanly by now
        pass
    finally:
        sock.close()
    print("newswire: stopped serving", file=sys.stderr)
    return 0
