"""What the NLP costs, component by component: CPU per article of the full `nlp.pipe`, of NER alone,
of newswire's Enricher, and each component's share of the full pipeline.

    python -m bench.nlp_cost [--count N] [--jsonl FILE] [--rounds R] [--out RESULT.json]

All in this process over the same texts (title, blank line, body of bench/corpus.py articles),
the pipe batch newswire uses (`PIPE_BATCH_SIZE`), each after one warm-up call:

- full:     `spacy.load(model)` with every component the package enables (what a user's script
            runs), `nlp.pipe` over the texts;
- ner:      the same package with only `ner` enabled (it has its own embedding layer): the floor
            no pipeline that finds entities with this model can go under;
- enricher: `Enricher.enrich` in batches of `BATCH_SIZE` (spaCy and newswire's own passes);
- shares:   the full pipeline run one component at a time over the whole list of docs
            (`component.pipe`), each component's CPU over the sum.

CPU time (`time.process_time`) rather than wall-clock: it is what the ratio is about, and other
programs on a shared machine move it far less (not to nothing: a busy neighbour slows caches and
memory). So full, NER and Enricher run in alternating rounds and the best round of each counts.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench.contenders import BATCH_SIZE, PIPE_BATCH_SIZE

__all__ = ["main", "measure"]


def _cpu(work) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def _shares(nlp, texts: list[str]) -> dict[str, float]:
    """CPU seconds of the tokenizer and of each enabled component, run one after the other."""
    seconds = {"tokenizer": 0.0}
    started = time.process_time()
    docs = [nlp.make_doc(text) for text in texts]
    seconds["tokenizer"] = time.process_time() - started
    for name, component in nlp.pipeline:
        started = time.process_time()
        if hasattr(component, "pipe"):
            docs = list(component.pipe(docs, batch_size=PIPE_BATCH_SIZE))
        else:
            docs = [component(doc) for doc in docs]
        seconds[name] = time.process_time() - started
    return seconds


def measure(articles: list[dict], rounds: int = 2) -> dict:
    import spacy

    from pipeline.article import Article
    from pipeline.enrich import Enricher
    from pipeline.enrich.nlp import find_english_model

    texts = [f"{a['title']}\n\n{a['body']}" for a in articles]
    model = find_english_model()
    full = spacy.load(model)
    list(full.pipe(texts[:4], batch_size=PIPE_BATCH_SIZE))
    shares = _shares(full, texts)
    ner = spacy.load(model)
    ner.select_pipes(enable=["ner"])
    list(ner.pipe(texts[:4], batch_size=PIPE_BATCH_SIZE))
    enricher = Enricher(None, PIPE_BATCH_SIZE)
    enricher.warm_up()
    batch = [Article(id=a["id"], title=a["title"], body=a["body"]) for a in articles]
    enricher.enrich(batch[:2])
    full_cpu = ner_cpu = enricher_cpu = float("inf")
    for _ in range(max(1, rounds)):
        full_cpu = min(full_cpu, _cpu(lambda: list(full.pipe(texts, batch_size=PIPE_BATCH_SIZE))))
        enricher_cpu = min(enricher_cpu, _cpu(
            lambda: [enricher.enrich(batch[s:s + BATCH_SIZE]) for s in range(0, len(batch), BATCH_SIZE)]))
        ner_cpu = min(ner_cpu, _cpu(lambda: list(ner.pipe(texts, batch_size=PIPE_BATCH_SIZE))))
    total = sum(shares.values()) or 1.0
    n = len(articles)
    return {
        "articles": n,
        "rounds": max(1, rounds),
        "model": model,
        "full_pipes": list(shares)[1:],
        "enricher_pipes": enricher.nlp.pipe_names,
        "cpu_ms_per_article": {"full": 1000 * full_cpu / n, "ner_alone": 1000 * ner_cpu / n, "enricher": 1000 * enricher_cpu / n},
        "enricher_vs_full": full_cpu / enricher_cpu,
        "ner_alone_vs_full": full_cpu / ner_cpu,
        "component_share": {name: value / total for name, value in shares.items()},
    }


def report(result: dict) -> str:
    cost = result["cpu_ms_per_article"]
    lines = [
        f"NLP cost over {result['articles']} articles ({result['model']}), CPU ms per article:",
        f"  full nlp.pipe ({','.join(result['full_pipes'])}) {cost['full']:.0f}",
        f"  Enricher ({','.join(result['enricher_pipes'])}) {cost['enricher']:.0f}  "
        f"-> {result['enricher_vs_full']:.2f}x the full pipe (target >= 1.6x)",
        f"  NER alone (the floor) {cost['ner_alone']:.0f}  -> {result['ner_alone_vs_full']:.2f}x the full pipe",
        "  share of the full pipe's CPU: " + ", ".join(f"{k} {100 * v:.0f} %" for k, v in result["component_share"].items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.nlp_cost", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100, help="articles from bench/corpus.py (without --jsonl)")
    parser.add_argument("--jsonl", type=Path, help="Article JSON lines to measure instead")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; the best of each counts")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.jsonl:
        articles = [json.loads(line) for line in args.jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        from bench.corpus import generate

        articles = [{"id": f"bench/{a.slug}", "title": a.title, "body": a.body} for a in generate(args.count)]
    result = measure(articles, args.rounds)
    print(report(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
