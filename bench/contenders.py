"""The single-process contenders, each run in its own process by `bench.main`:

    spacy     the limit: `nlp.pipe` over the bodies, the pipeline and batch size newswire uses
    naive     what a user would write: for each article `nlp(text)`, a regex quote pass, and one
              Elasticsearch `index` request; searchable after a final refresh
    embedded  newswire's EmbeddedRuntime over the corpus folder (files connector, SQLite index),
              enriching in one process per core (`nlp.processes` unset, the default)
    embedded_1p  the same with `nlp.processes: 1` (enrichment in the runtime's own process)

    python -m bench.contenders NAME --corpus DIR --jsonl FILE --out RESULT.json [--es URL --index NAME]

The clock starts after the model is loaded (every contender loads the same one; the embedded
runtime's worker processes each load theirs first) and stops when the last article is parsed
(spacy) or searchable (naive, embedded). The result JSON holds the count, the seconds, the CPU
seconds (the embedded runtime's worker processes included, their model loading not) and the
process's peak RSS (and the workers', `worker_peak_rss_mb`).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import tempfile
import threading
import time
from pathlib import Path

import yaml

__all__ = ["main"]

BATCH_SIZE = 64  # articles per newswire batch (poll, enrich, commit)
# texts per nlp.pipe step, the same for spaCy alone as inside newswire's Enricher
PIPE_BATCH_SIZE = 8
_QUOTE = re.compile(r'["\u201c]([^"\u201c\u201d]+)["\u201d]')


def _articles(jsonl: Path) -> list[dict]:
    return [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]


def run_spacy(args: argparse.Namespace) -> dict:
    from pipeline.enrich.nlp import load_pipeline

    bodies = [a["body"] for a in _articles(args.jsonl)]
    nlp = load_pipeline(None)
    list(nlp.pipe(bodies[:4], batch_size=PIPE_BATCH_SIZE))  # first-call costs out of the timing
    started, cpu = time.perf_counter(), time.process_time()
    entities = sum(len(doc.ents) for doc in nlp.pipe(bodies, batch_size=PIPE_BATCH_SIZE))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"articles": len(bodies), "seconds": seconds, "cpu_seconds": cpu, "entities": entities, "pipes": nlp.pipe_names}


def run_naive(args: argparse.Namespace) -> dict:
    from elasticsearch import Elasticsearch

    from pipeline.enrich.nlp import load_pipeline

    articles = _articles(args.jsonl)
    nlp = load_pipeline(None)
    nlp("Warm up the pipeline once.")
    es = Elasticsearch(args.es, request_timeout=60)
    es.options(ignore_status=404).indices.delete(index=args.index)
    es.indices.create(index=args.index)
    started, cpu = time.perf_counter(), time.process_time()
    for article in articles:
        doc = nlp(article["title"] + "\n\n" + article["body"])
        entities = [{"text": ent.text, "label": ent.label_} for ent in doc.ents]
        quotes = [q for q in _QUOTE.findall(article["body"]) if len(q.split()) >= 4]
        es.index(index=args.index, id=article["id"], document={**article, "entities": entities, "quotes": quotes})
    es.indices.refresh(index=args.index)
    count = es.count(index=args.index)["count"]
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    es.indices.delete(index=args.index)
    es.close()
    return {"articles": len(articles), "seconds": seconds, "cpu_seconds": cpu, "searchable": count}


def _children_cpu() -> float:
    """CPU seconds of this process's children that have ended (and been waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _workers() -> list:
    import psutil

    return [p for p in psutil.Process().children(recursive=True) if "resource_tracker" not in " ".join(p.cmdline())]


def run_embedded(args: argparse.Namespace, processes: int | None = None) -> dict:
    from pipeline.index.embedded import EmbeddedIndex
    from pipeline.runtime.embedded import EmbeddedRuntime
    from pipeline.runtime.indexes import index_path
    from pipeline.search import SearchQuery
    from pipeline.settings import load_settings

    with tempfile.TemporaryDirectory(prefix="newswire-bench-") as home:
        config = Path(home) / "newswire.yaml"
        config.write_text(yaml.safe_dump({
            "data_dir": str(Path(home) / "data"),
            "nlp": {"batch_size": BATCH_SIZE, "pipe_batch_size": PIPE_BATCH_SIZE, "processes": processes},
            "connectors": [{"type": "files", "name": "bench", "path": str(args.corpus)}],
        }), encoding="utf-8")
        settings = load_settings(config)
        runtime = EmbeddedRuntime(settings)
        if runtime.pool is None:
            runtime.enricher.warm_up()
        else:
            runtime.pool.warm_up()
        workers = _workers()
        loading = sum(sum(w.cpu_times()[:2]) for w in workers)
        ended = _children_cpu()
        started, cpu = time.perf_counter(), time.process_time()
        peaks: dict[int, float] = {}

        done = threading.Event()

        def sample_peaks() -> None:  # the workers' high-water marks (VmHWM), until they end
            while not done.wait(0.5):
                for worker in workers:
                    try:
                        with open(f"/proc/{worker.pid}/status", encoding="ascii") as status:
                            for line in status:
                                if line.startswith("VmHWM:"):
                                    peaks[worker.pid] = int(line.split()[1]) / 1024
                    except OSError:
                        pass

        sampler = threading.Thread(target=sample_peaks, daemon=True)
        sampler.start()
        try:
            report = runtime.run(once=True)  # closes the pool: the workers have ended when it returns
        finally:
            done.set()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        cpu += _children_cpu() - ended - loading
        with EmbeddedIndex(index_path(settings)) as index:
            found = len(index.search(SearchQuery(text="said", limit=5)))
    return {"articles": report.read, "seconds": seconds, "cpu_seconds": cpu, "searchable": report.indexed, "dead": report.dead,
            "search_hits": found, "processes": 1 if runtime.pool is None else runtime.pool.processes,
            "worker_peak_rss_mb": round(max(peaks.values()), 1) if peaks else None}


CONTENDERS = {"spacy": run_spacy, "naive": run_naive, "embedded": run_embedded,
              "embedded_1p": lambda args: run_embedded(args, processes=1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.contenders", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=sorted(CONTENDERS))
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--jsonl", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--es")
    parser.add_argument("--index", default="bench-naive")
    args = parser.parse_args(argv)
    result = CONTENDERS[args.name](args)
    result["name"] = args.name
    result["articles_per_s"] = result["articles"] / result["seconds"] if result["seconds"] else None
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
