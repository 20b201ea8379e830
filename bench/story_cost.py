"""What story grouping adds to an enrich worker's CPU per article, as a ratio measured in one run.

    python -m bench.story_cost [--count N] [--indexed M]

Same articles (bench/corpus.py, ~520 words each), same process, CPU time (`time.process_time`):

- enrichment: `Enricher.enrich` in batches of 64 (spaCy model loaded and warmed first);
- story step: what `index_step` adds around the write, the runtime's own code
  (pipeline.runtime.stories): `assign_stories` (ids looked up, every body fingerprinted,
  candidates sharing band keys read from the index, each verified on its exact shingles) and
  `settle_stories` (the second look after the write, merges, copy counts), in batches of 64
  against an embedded index already holding M other articles of the same template-made corpus
  (so candidates and exact checks really happen). The write itself is not counted: it is the
  index step's with or without stories. With Elasticsearch the lookups are one `_msearch` per
  batch served by the node; the worker's CPU is the same fingerprinting and verification;
- language: `detect_language(title, body)`, reported beside it.

Target: story step <= 5 % of enrichment CPU per article (issue 15). Tests never assert on time;
this prints the ratio.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
    parser.add_argument("--indexed", type=int, default=2000, help="articles already in the index")
    parser.add_argument("--elasticsearch", metavar="URL", default=None,
                        help="measure the sink's CPU against this Elasticsearch node instead (a throw-away alias, deleted after)")
    args = parser.parse_args(argv)

    from pipeline.article import Article, EnrichedArticle
    from pipeline.enrich import Enricher
    from pipeline.runtime.steps import index_step
    from pipeline.runtime.stories import assign_stories, settle_stories
    from pipeline.stories.language import detect_language

    articles = [Article(id=f"bench/{a.slug}", title=a.title, body=a.body) for a in generate(args.count)]
    detect_language("warm up", "the language model loads on first use")

    enricher = Enricher()
    enricher.warm_up()
    enricher.enrich(articles[:2])
    batches = [articles[i : i + 64] for i in range(0, len(articles), 64)]
    enrich_cpu = _cpu_per_article(enricher.enrich, batches) * len(batches) / len(articles)

    candidates: list[int] = []
    story_cpu = 0.0
    with tempfile.TemporaryDirectory() as folder, _index(args.elasticsearch, Path(folder)) as index:
        index.setup()
        earlier = [EnrichedArticle(id=f"indexed/{n}", title=a.title, body=a.body) for n, a in enumerate(generate(args.indexed, seed=7))]
        for start in range(0, len(earlier), 256):
            index_step(index, earlier[start : start + 256])
        for batch in batches:
            enriched = [EnrichedArticle(**a.model_dump()) for a in batch]
            started = time.process_time()
            prepared = assign_stories(index, enriched)
            story_cpu += time.process_time() - started
            results = index.write(prepared.articles, marks=prepared.marks)
            started = time.process_time()
            settle_stories(index, prepared, results)
            story_cpu += time.process_time() - started
            candidates += [sum(1 for pair in prepared.verdicts if pair[0] == a.id) for a in prepared.articles]
    story_cpu /= len(articles)
    index_kind = "elasticsearch" if args.elasticsearch else "embedded"

    language_cpu = _cpu_per_article(lambda a: detect_language(a.title, a.body), articles)
    ratio = story_cpu / enrich_cpu
    result = {
        "articles": len(articles), "indexed": args.indexed, "index": index_kind,
        "enrich_cpu_ms": round(enrich_cpu * 1000, 2), "story_cpu_ms": round(story_cpu * 1000, 3),
        "language_cpu_ms": round(language_cpu * 1000, 3), "candidates_per_article": round(sum(candidates) / len(articles), 2),
        "story_over_enrich": round(ratio, 4), "language_over_enrich": round(language_cpu / enrich_cpu, 4),
    }
    print(f"{'step':<34} {'CPU ms/article':>14} {'of enrichment':>13}")
    print(f"{'enrichment (Enricher.enrich)':<34} {result['enrich_cpu_ms']:>14.2f} {'100 %':>13}")
    print(f"{'story step (assign + settle)':<34} {result['story_cpu_ms']:>14.3f} {ratio:>12.1%}")
    print(f"{'language (detect_language)':<34} {result['language_cpu_ms']:>14.3f} {result['language_over_enrich']:>12.1%}")
    print(f"candidates verified per article: {result['candidates_per_article']} ({index_kind} index of {args.indexed})")
    print(f"target story step <= {TARGET:.0%} of enrichment: {'met' if ratio <= TARGET else 'MISSED'}")
    print(json.dumps(result))
    return 0 if ratio <= TARGET else 1


@contextmanager
def _index(elasticsearch: str | None, folder: Path) -> Iterator[Any]:
    """The embedded index in `folder`, or a throw-away alias on the Elasticsearch node at `elasticsearch`."""
    if elasticsearch is None:
        from pipeline.index.embedded import EmbeddedIndex

        with EmbeddedIndex(folder / "index.sqlite") as index:
            yield index
        return
    from elasticsearch import Elasticsearch

    from pipeline.index.elastic import ElasticIndex
    from pipeline.settings import ElasticsearchSettings

    settings = ElasticsearchSettings(hosts=[elasticsearch], index=f"bench-stories-{uuid.uuid4().hex[:8]}", request_timeout=60)
    try:
        with ElasticIndex(settings) as index:
            yield index
    finally:
        with Elasticsearch([elasticsearch]) as client:
            names = list(client.indices.get(index=f"{settings.index}-*").body)
            if names:
                client.indices.delete(index=",".join(names))
            client.options(ignore_status=404).indices.delete_index_template(name=settings.index)


if __name__ == "__main__":
    raise SystemExit(main())
