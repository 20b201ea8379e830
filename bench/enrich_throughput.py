"""Enrichment throughput: spaCy's own `nlp.pipe` against `Enricher.enrich` over the same texts.

    .venv/bin/python bench/enrich_throughput.py [--quick] [--copies N] [--rounds R] [--synthetic N]

Both run in this process on the same loaded pipeline (the one `Enricher.warm_up()` loads),
the same texts (each article's title, a blank line, its body) and the same batch size, in
alternating rounds (which goes first alternates too); the best round of each counts. The ratio enrich/spaCy is the share of
spaCy's speed the whole stage keeps (target >= 0.90). It is computed from this process's CPU
time, which other programs on a shared machine disturb far less than wall-clock time; the
wall-clock rates and ratio are printed too.
For reference it also times a plain `spacy.load()` of the same package with every component.

Texts: the labelled articles in eval/articles/ repeated `--copies` times, or `--synthetic N`
articles from bench/corpus.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pipeline.article import Article  # noqa: E402
from pipeline.enrich import Enricher  # noqa: E402
from pipeline.enrich.nlp import find_english_model  # noqa: E402

TARGET_RATIO = 0.90


def eval_articles(copies: int) -> list[Article]:
    from eval.score import load_labelled

    base = [item.article for item in load_labelled()]
    return [
        Article(id=f"{a.id}#{n}", title=a.title, body=a.body) for n in range(copies) for a in base
    ]


def synthetic_articles(count: int) -> list[Article]:
    from bench.corpus import generate

    return [Article(id=a.slug, title=a.title, body=a.body) for a in generate(count)]


def _timed(run) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds of this process) that `run()` took."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run: 4 copies, 4 rounds")
    parser.add_argument("--copies", type=int, default=None, help="copies of the eval articles (default 16)")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 6)")
    parser.add_argument("--synthetic", type=int, default=0, help="use N articles from bench/corpus.py instead")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--model", default=None)
    args = parser.parse_args(argv)
    copies = args.copies or (4 if args.quick else 16)
    rounds = args.rounds or (4 if args.quick else 6)

    articles = synthetic_articles(args.synthetic) if args.synthetic else eval_articles(copies)
    texts = [f"{a.title}\n\n{a.body}" if a.title.strip() else a.body for a in articles]
    enricher = Enricher(model=args.model, batch_size=args.batch_size)
    enricher.warm_up()
    nlp = enricher.nlp
    list(nlp.pipe(texts[:8], batch_size=args.batch_size))  # warm caches before timing
    enricher.enrich(articles[:8])

    spacy_times, enrich_times = [], []
    for number in range(rounds):  # alternate which goes first, so neither always runs on a warmer machine
        runs = [
            (spacy_times, lambda: list(nlp.pipe(texts, batch_size=args.batch_size))),
            (enrich_times, lambda: enricher.enrich(articles)),
        ]
        for times, run in runs if number % 2 == 0 else runs[::-1]:
            times.append(_timed(run))
    spacy_wall, spacy_cpu = (len(texts) / min(t[k] for t in spacy_times) for k in (0, 1))
    enrich_wall, enrich_cpu = (len(articles) / min(t[k] for t in enrich_times) for k in (0, 1))
    ratio = enrich_cpu / spacy_cpu

    import spacy

    full = spacy.load(args.model or find_english_model())
    full_cpu = len(texts) / _timed(lambda: list(full.pipe(texts, batch_size=args.batch_size)))[1]

    words = sum(len(t.split()) for t in texts)
    print(f"articles: {len(articles)} ({words / len(articles):.0f} words each), batch size {args.batch_size}, "
          f"rounds {rounds}, pipeline {','.join(nlp.pipe_names)}")
    print("                                 CPU time        wall clock")
    print(f"spaCy nlp.pipe (same pipeline):  {spacy_cpu:8.1f} art/s   {spacy_wall:8.1f} art/s")
    print(f"Enricher.enrich:                 {enrich_cpu:8.1f} art/s   {enrich_wall:8.1f} art/s")
    print(f"ratio enrich / nlp.pipe:         {ratio:8.3f}        {enrich_wall / spacy_wall:8.3f}   (target >= {TARGET_RATIO})")
    print(f"for reference, spacy.load() with every component: {full_cpu:.1f} art/s CPU "
          f"(enrich / that = {enrich_cpu / full_cpu:.3f})")
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
