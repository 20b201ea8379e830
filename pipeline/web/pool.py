"""One open index per worker thread of the server.

The pages and the API are plain functions that Starlette runs in its thread pool. A SQLite
connection must stay in the thread that opened it, so each thread opens its own index on
first use (for Elasticsearch that is a client, which sends nothing until asked). The pool
holds them weakly: the index of a thread that ends goes with it (SQLite and the HTTP pool
close when collected); those still open are closed when the server stops.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable

from pipeline.index import Index

__all__ = ["IndexPool"]

logger = logging.getLogger(__name__)


class IndexPool:
    """Opens `open_index()` once per thread and hands it out again to that thread."""

    def __init__(self, open_index: Callable[[], Index]) -> None:
        self._open_index = open_index
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: weakref.WeakSet[Index] = weakref.WeakSet()

    def get(self) -> Index:
        index = getattr(self._local, "index", None)
        if index is None:
            index = self._open_index().open()
            self._local.index = index
            with self._lock:
                self._opened.add(index)
        return index

    def close(self) -> None:
        with self._lock:
            opened, self._opened = list(self._opened), weakref.WeakSet()
        for index in opened:
            try:
                index.close()
            except Exception as e:  # a SQLite connection refuses to be closed from another thread; the process ends anyway
                logger.debug("index not closed index=%r reason=%r", index, str(e))
