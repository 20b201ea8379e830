"""Enrichment on every core: the enrich step in worker processes, for the embedded runtime.

    EnrichPool(settings)     `nlp.processes` workers (a ProcessPoolExecutor, spawn context), each
                             loading the spaCy pipeline once, in its initializer
    pool.warm_up()           starts every worker and waits until each has its model
    pool.enrich(articles)    the batch in chunks over the workers; yields the enrich step's
                             Passed for the chunks, in the batch's order, as soon as they are back

The embedded runtime indexes what has come back while the workers go on with the rest of the
batch, and commits the batch's checkpoint changes only once the whole batch is indexed: the
same at-least-once as in process, and the same order of index writes (story ids go to the copy
indexed first), so one process and many give the same index.

A worker that dies (killed, out of memory) breaks the pool: the batch raises EnrichWorkerLost,
a ServiceUnavailable, so nothing of it is committed and a continuous run reads it again next
time; the next batch starts a new pool. What the batch had indexed already is overwritten by
the same ids when it is read again. Each worker's maths libraries use one thread (the workers
are already one per core; more threads only spin against each other). Workers ignore SIGINT (the run's own stop finishes the
batch) and send their log records to this process, which logs them as its own.
"""

from __future__ import annotations

import logging
import logging.handlers
import math
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from pipeline.article import Article, EnrichedArticle
from pipeline.enrich import Enricher
from pipeline.errors import ModelError, ServiceUnavailable
from pipeline.runtime.steps import Passed, enrich_step, nlp_enricher
from pipeline.settings import NlpSettings, Settings

__all__ = ["EnrichPool", "EnrichWorkerLost", "enrich_processes"]

logger = logging.getLogger(__name__)

EnricherFactory = Callable[[NlpSettings], Enricher]  # a module-level function: the workers import it
_READY_TIMEOUT = 600.0  # seconds for every worker to load its model


class EnrichWorkerLost(ServiceUnavailable):
    """An enrichment worker process died; the batch it was enriching is read again."""


def enrich_processes(settings: Settings) -> int:
    """How many processes enrich: `nlp.processes`, or as many as this process may run on."""
    if settings.nlp.processes is not None:
        return settings.nlp.processes
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# In each worker process: its Enricher, or why it could not load one, and the start line it waits at.
_enricher: Enricher | None = None
_failure: ModelError | None = None
_barrier: threading.Barrier | None = None


def _start_worker(make: EnricherFactory, nlp: NlpSettings, records: multiprocessing.Queue, level: int,
                  barrier: threading.Barrier) -> None:
    global _enricher, _failure, _barrier
    _barrier = barrier
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(records)]
    root.setLevel(level)
    try:
        enricher = make(nlp)
        enricher.warm_up()
        _enricher = enricher
    except ModelError as e:
        _failure = e


def _enricher_here() -> Enricher:
    if _enricher is None:
        raise _failure or ModelError("the enrichment worker has no model")
    return _enricher


def _ready() -> int:
    """Holds a worker until every worker is up, so that each takes one of these tasks."""
    assert _barrier is not None
    try:
        _enricher_here()
        _barrier.wait(_READY_TIMEOUT)
    except (ModelError, threading.BrokenBarrierError):
        _barrier.abort()  # the other workers stop waiting
        raise _failure or ModelError("enrichment workers did not all start in time") from None
    return os.getpid()


def _enrich_chunk(articles: list[Article]) -> Passed[EnrichedArticle]:
    return enrich_step(_enricher_here(), articles)


_MATHS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def _one_maths_thread():
    """While workers start: one BLAS/OpenMP thread each, unless the environment says otherwise."""
    added = [name for name in _MATHS_THREADS if name not in os.environ]
    for name in added:
        os.environ[name] = "1"
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


class _Relay(logging.Handler):
    """Logs a worker's record through this process's logger of the same name."""

    def emit(self, record: logging.LogRecord) -> None:
        target = logging.getLogger(record.name)
        if target.isEnabledFor(record.levelno):
            target.handle(record)


def _merged(parts: list[Passed[EnrichedArticle]]) -> Passed[EnrichedArticle]:
    merged: Passed[EnrichedArticle] = Passed()
    for part in parts:
        merged.articles += part.articles
        merged.origins += part.origins
        merged.dead += part.dead
    return merged


class EnrichPool:
    """The enrich step over `processes` worker processes (see the module docstring)."""

    def __init__(self, settings: Settings, processes: int | None = None, make: EnricherFactory = nlp_enricher) -> None:
        self.nlp = settings.nlp
        self.processes = max(1, processes or enrich_processes(settings))
        self.chunk_size = max(1, settings.nlp.pipe_batch_size)
        self._make = make
        self._context = multiprocessing.get_context("spawn")
        self._executor: ProcessPoolExecutor | None = None
        self._records: multiprocessing.Queue | None = None
        self._listener: logging.handlers.QueueListener | None = None
        self._warm = False

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._records = self._context.Queue()
            self._listener = logging.handlers.QueueListener(self._records, _Relay())
            self._listener.start()
            self._executor = ProcessPoolExecutor(
                self.processes, mp_context=self._context, initializer=_start_worker,
                initargs=(self._make, self.nlp, self._records, logging.getLogger().getEffectiveLevel(),
                          self._context.Barrier(self.processes)),
            )
            logger.info("enrichment workers starting processes=%d", self.processes)
        return self._executor

    def warm_up(self) -> None:
        """Start every worker and wait until each has loaded its model; raises ModelError if one cannot."""
        if self._warm and self._executor is not None:
            return
        executor = self._start()
        try:
            with _one_maths_thread():  # the workers start on these submits
                futures = [executor.submit(_ready) for _ in range(self.processes)]
            pids = [f.result() for f in futures]
        except BrokenProcessPool as e:
            self._lost(e)
        self._warm = True
        logger.info("enrichment workers ready processes=%d pids=%s", len(pids), ",".join(map(str, pids)))

    def enrich(self, articles: Sequence[Article]) -> Iterator[Passed[EnrichedArticle]]:
        """The enrich step over `articles`, in chunks; each yield holds the next chunks that are back, in order."""
        if not articles:
            return
        size = min(self.chunk_size, math.ceil(len(articles) / self.processes))
        self.warm_up()
        executor = self._start()
        waiting: deque[Future[Passed[EnrichedArticle]]] = deque()
        try:
            for start in range(0, len(articles), size):
                waiting.append(executor.submit(_enrich_chunk, list(articles[start:start + size])))
            while waiting:
                parts = [waiting.popleft().result()]
                while waiting and waiting[0].done():
                    parts.append(waiting.popleft().result())
                yield _merged(parts)
        except BrokenProcessPool as e:
            self._lost(e)
        finally:
            for future in waiting:
                future.cancel()

    def _lost(self, error: BaseException) -> None:
        logger.error("enrichment worker died processes=%d error=%s (the batch is read again)", self.processes, error)
        self.close()
        raise EnrichWorkerLost(f"an enrichment worker process died ({error}); the batch is read again") from None

    def close(self) -> None:
        """Stop the workers (after their current chunk) and the log relay."""
        executor, self._executor, self._warm = self._executor, None, False
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
        records, self._records = self._records, None
        if records is not None:
            records.close()
            records.join_thread()

    def __enter__(self) -> "EnrichPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
