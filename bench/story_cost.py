"""What story grouping adds to an enrich worker's CPU per article, as a ratio measured in one run.

    python -m bench.story_cost [--count N] [--indexed M]

Same articles (bench/corpus.py, ~520 words each), same process, CPU time (`time.process_time`):

- enrichment: `Enricher.enrich` in batches of 64 (spaCy model loaded and warmed first);
- story step: `fingerprint(body)` (words, shingles, MinHash, band keys), then the lookup in a
  `StoryBook` already holding M other articles of the same template-made corpus (so candidates
  and exact containment checks really happen), then `add`;
- language: `detect_language(title, body)`, reported beside it.

The lookup in Elasticsearch (phase 2) is a network round trip per batch, not worker CPU; the
CPU it adds is the same candidate verification measured here. Target: story step ≤ 5 % of
enrichment CPU per article (issue 15). Tests never assert on time; this prints the ratio.
"""

from __future__ import annotations

import argparse
import json
import time

from bench.corpus import generate

__all__ = ["main"]

TARGET = 0.05


def _cpu_per_article(work, items) -> float:
    start = time.process_time()
    for item in items:
        work(item)
    return (time.process_time() - start) / max(len(items), 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.story_cost", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=128, help="articles measured")
    parser.add_argument("--indexed", type=int, default=2000, help="articles already in the story book")
    args = parser.parse_args(argv)

    from pipeline.article import Article
    from pipeline.enrich import Enricher
    from pipeline.stories.fingerprint import fingerprint
    from pipeline.stories.grouping import StoryBook
    from pipeline.stories.language import detect_language

    articles = [Article(id=f"bench/{a.slug}", title=a.title, body=a.body) for a in generate(args.count)]
    book = StoryBook()
    for n, earlier in enumerate(generate(args.indexed, seed=7)):
        book.add(f"indexed/{n}", None, fingerprint(earlier.body))
    detect_language("warm up", "the language model loads on first use")

    enricher = Enricher()
    enricher.warm_up()
    enricher.enrich(articles[:2])
    batches = [articles[i : i + 64] for i in range(0, len(articles), 64)]
    enrich_cpu = _cpu_per_article(enricher.enrich, batches) * len(batches) / len(articles)

    candidates = []

    def story_step(article: Article) -> None:
        found = fingerprint(article.body)
        candidates.append(len(book.candidates(found)) if found else 0)
        book.add(article.id, None, found)

    story_cpu = _cpu_per_article(story_step, articles)
    language_cpu = _cpu_per_article(lambda a: detect_language(a.title, a.body), articles)
    ratio = story_cpu / enrich_cpu
    result = {
        "articles": len(articles), "indexed": args.indexed,
        "enrich_cpu_ms": round(enrich_cpu * 1000, 2), "story_cpu_ms": round(story_cpu * 1000, 3),
        "language_cpu_ms": round(language_cpu * 1000, 3), "candidates_per_article": round(sum(candidates) / len(articles), 2),
        "story_over_enrich": round(ratio, 4), "language_over_enrich": round(language_cpu / enrich_cpu, 4),
    }
    print(f"{'step':<34} {'CPU ms/article':>14} {'of enrichment':>13}")
    print(f"{'enrichment (Enricher.enrich)':<34} {result['enrich_cpu_ms']:>14.2f} {'100 %':>13}")
    print(f"{'story step (fingerprint + lookup)':<34} {result['story_cpu_ms']:>14.3f} {ratio:>12.1%}")
    print(f"{'language (detect_language)':<34} {result['language_cpu_ms']:>14.3f} {result['language_over_enrich']:>12.1%}")
    print(f"candidates checked per article: {result['candidates_per_article']} (book of {args.indexed})")
    print(f"target story step <= {TARGET:.0%} of enrichment: {'met' if ratio <= TARGET else 'MISSED'}")
    print(json.dumps(result))
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
