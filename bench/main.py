"""The benchmark: every contender over the same corpus, on this machine, in one run.

    bench/run [--quick] [--count N]

Contenders, each in its own process(es), one after the other:
  spacy      the limit: nlp.pipe over the bodies (same model and batch size as newswire)
  naive      per article nlp() + one Elasticsearch index request
  embedded   newswire's EmbeddedRuntime over the corpus folder, one enrichment process per core
  embedded_1p  the same, enrichment in the runtime's own process (nlp.processes: 1)
  nlp_cost   CPU per article: the full nlp.pipe, NER alone, the Enricher; each component's share
  kafka_1w   newswire on Kafka + Elasticsearch: connectors, one enrich worker, one sink worker
  kafka_2w   the same with two enrich workers
  peer_quix  a Quix Streams app running the same Enricher in `apply`, with Quix's ElasticsearchSink
and the latency of kafka_1w at half its measured throughput. Prints a table and writes
bench/results/latest.json and latest.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

from bench.corpus import generate, word_count, write_folder, write_jsonl
from bench.procs import PYTHON, REPO, MemoryWatch, clean_env, start
from bench.report import evaluate, print_table, write_chart
from bench.services import Services
from bench.streaming import Pipeline, cleanup, run_latency, run_newswire, run_peer, stop

RESULTS = REPO / "bench" / "results"
WORK = REPO / "bench" / "work"


def machine_context() -> dict:
    import psutil

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": cpu, "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def run_single(name: str, corpus: Path, jsonl: Path, home: Path, es: str, log_dir: Path) -> dict:
    """One of the single-process contenders in its own process."""
    out = home / f"{name}.json"
    command = [str(PYTHON), "-m", "bench.contenders", name, "--corpus", str(corpus), "--jsonl", str(jsonl),
               "--out", str(out), "--es", es, "--index", f"{home.name}-naive"]
    watch = MemoryWatch()
    load = os.getloadavg()[0]
    try:
        item = start(watch, name, command, log_dir / f"{name}.log")
        code = item.process.wait()
    finally:
        watch.close()
    if code != 0:
        raise RuntimeError(f"{name} exited with {code}; see {item.log}")
    result = json.loads(out.read_text(encoding="utf-8"))
    result["peak_rss_mb"] = {name: result["peak_rss_mb"]}
    if result.get("worker_peak_rss_mb"):
        result["peak_rss_mb"]["enrich workers"] = result["worker_peak_rss_mb"]
    result["cpu_seconds"] = {name: round(result["cpu_seconds"], 2)}
    result["load_average_before"] = round(load, 2)
    return result


def run_nlp_cost(jsonl: Path, home: Path, log_dir: Path, limit: int) -> dict:
    """bench.nlp_cost in its own process over the first `limit` articles."""
    subset, out = home / "nlp_cost.jsonl", home / "nlp_cost.json"
    subset.write_text("".join(jsonl.read_text(encoding="utf-8").splitlines(keepends=True)[:limit]), encoding="utf-8")
    with open(log_dir / "nlp_cost.log", "w", encoding="utf-8") as log:
        code = subprocess.run([str(PYTHON), "-m", "bench.nlp_cost", "--jsonl", str(subset), "--out", str(out)],
                              cwd=REPO, env=clean_env(), stdout=log, stderr=subprocess.STDOUT).returncode
    if code != 0:
        raise RuntimeError(f"nlp_cost exited with {code}; see {log_dir / 'nlp_cost.log'}")
    return json.loads(out.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200 articles, a short latency run")
    parser.add_argument("--count", type=int, help="number of articles (default 2000, 200 with --quick)")
    parser.add_argument("--only", help="comma-separated contenders to run (for development)")
    parser.add_argument("--flush-interval", type=float,
                        help="experiment: the sink's elasticsearch.flush_interval (default: newswire's own)")
    args = parser.parse_args(argv)
    count = args.count or (200 if args.quick else 2000)
    latency_articles, latency_seconds = (40, 60.0) if args.quick else (300, 240.0)
    only = set(args.only.split(",")) if args.only else None
    wanted = lambda name: only is None or name in only  # noqa: E731

    run_id = f"bench-{time.strftime('%Y%m%d-%H%M%S')}"
    home = WORK / run_id
    corpus, jsonl = home / "corpus", home / "corpus.jsonl"
    articles = list(generate(count))
    write_folder(articles, corpus)
    write_jsonl(articles, jsonl)
    words = sum(word_count(a.body) for a in articles)
    print(f"bench: {count} articles, {words} words, corpus in {corpus}", file=sys.stderr, flush=True)

    context = machine_context()
    context.update({"articles": count, "words": words, "batch_size": 64, "run_id": run_id, "quick": args.quick})
    es_extra = {"flush_interval": args.flush_interval} if args.flush_interval else {}
    if es_extra:
        context["elasticsearch_overrides"] = es_extra
    results: dict[str, dict] = {}
    errors: dict[str, str] = {}
    latency: dict = {}
    services = Services.open()
    context.update({"kafka": services.kafka, "elasticsearch": services.elasticsearch,
                    "services_started_by_bench": services.started})
    timeout = 180 + 3.0 * count

    def attempt(name: str, action) -> None:
        if not wanted(name):
            return
        print(f"bench: running {name} ...", file=sys.stderr, flush=True)
        began = time.monotonic()
        try:
            results[name] = action()
            rate = results[name]["articles"] / results[name]["seconds"]
            print(f"bench: {name}: {rate:.2f} articles/s ({time.monotonic() - began:.0f}s)", file=sys.stderr, flush=True)
        except Exception as e:
            errors[name] = f"{type(e).__name__}: {e}"
            traceback.print_exc()

    nlp_cost: dict = {}
    if wanted("nlp_cost"):
        print("bench: running nlp_cost ...", file=sys.stderr, flush=True)
        try:
            nlp_cost.update(run_nlp_cost(jsonl, home, home, min(count, 100)))
        except Exception as e:
            errors["nlp_cost"] = f"{type(e).__name__}: {e}"
            traceback.print_exc()
    try:
        for name in ("spacy", "naive", "embedded", "embedded_1p"):
            attempt(name, lambda name=name: run_single(name, corpus, jsonl, home, services.elasticsearch, home))

        def kafka_one() -> dict:
            pipeline = Pipeline(f"{run_id}-k1", services.kafka, services.elasticsearch, corpus, home / "kafka_1w",
                                elasticsearch=es_extra)
            try:
                result, consumers, watch = run_newswire(pipeline, count, 1, timeout, keep_running=True)
                try:
                    rate = result["articles"] / result["seconds"] / 2
                    sample = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
                    print(f"bench: latency at {rate:.2f} articles/s ...", file=sys.stderr, flush=True)
                    latency.update(run_latency(pipeline, sample[:latency_articles], rate, latency_seconds))
                except Exception as e:
                    errors["latency"] = f"{type(e).__name__}: {e}"
                    traceback.print_exc()
                finally:
                    for item in consumers:
                        stop(item)
                    watch.close()
                result["peak_rss_mb"] = watch.peaks_mb()
                return result
            finally:
                cleanup(pipeline)

        def kafka_two() -> dict:
            pipeline = Pipeline(f"{run_id}-k2", services.kafka, services.elasticsearch, corpus, home / "kafka_2w",
                                elasticsearch=es_extra)
            try:
                return run_newswire(pipeline, count, 2, timeout)[0]
            finally:
                cleanup(pipeline)

        def peer() -> dict:
            pipeline = Pipeline(f"{run_id}-quix", services.kafka, services.elasticsearch, corpus, home / "peer_quix")
            try:
                return run_peer(pipeline, count, timeout)
            finally:
                cleanup(pipeline)

        attempt("kafka_1w", kafka_one)
        attempt("kafka_2w", kafka_two)
        attempt("peer_quix", peer)
    finally:
        services.close()

    context["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    summary = evaluate(results, latency, errors, context, nlp_cost)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print_table(summary)
    try:
        write_chart(summary, RESULTS / "latest.png")
    except Exception as e:  # the numbers matter more than the picture
        print(f"bench: chart not written: {e}", file=sys.stderr)
    print(f"\nwrote {RESULTS / 'latest.json'} and {RESULTS / 'latest.png'}; logs under {home}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
