"""Where an enrich worker's time and memory go, without Kafka: pyinstrument over `Enricher.enrich`.

    python -m bench.profile_enrich [--count N] [--batch-size B] [--spacy-batch S]

Prints the share of time in spaCy's `nlp.pipe` against newswire's own passes (entities,
quotes, speakers, the EnrichedArticle model, its JSON), pyinstrument's call tree, and the
peak RSS, for newswire's batch size and for a smaller batch inside spaCy.
"""

from __future__ import annotations

import argparse
import resource
import time

from bench.corpus import generate

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_enrich", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64, help="articles per enrich() call (nlp.batch_size)")
    parser.add_argument("--spacy-batch", type=int, help="docs per spaCy batch inside enrich() (default: the same)")
    parser.add_argument("--tree", action="store_true", help="print pyinstrument's call tree")
    args = parser.parse_args(argv)

    from pyinstrument import Profiler

    from pipeline.article import Article
    from pipeline.enrich import Enricher

    articles = [Article(id=f"bench/{a.slug}", title=a.title, body=a.body) for a in generate(args.count)]
    enricher = Enricher(batch_size=args.batch_size)
    enricher.warm_up()
    if args.spacy_batch:
        enricher.batch_size = args.spacy_batch  # only nlp.pipe reads it; the calls below keep args.batch_size
    enricher.enrich(articles[:2])
    profiler = Profiler(interval=0.005)
    started, cpu = time.perf_counter(), time.process_time()
    profiler.start()
    for start in range(0, len(articles), args.batch_size):
        for result in enricher.enrich(articles[start:start + args.batch_size]):
            result.to_json() if hasattr(result, "to_json") else None
    profiler.stop()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    session = profiler.last_session
    total = session.duration or 1.0

    def share(name: str) -> float:
        frames = []

        def walk(frame) -> None:
            if frame.function == name:
                frames.append(frame.time)
                return
            for child in frame.children:
                walk(child)

        walk(profiler.last_session.root_frame())
        return sum(frames) / total

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{len(articles)} articles, enrich() batches of {args.batch_size}, spaCy batches of "
          f"{args.spacy_batch or args.batch_size}: {seconds:.1f} s wall, {cpu:.1f} s CPU, "
          f"{len(articles) / cpu:.2f} articles per CPU-second, peak RSS {peak:.0f} MB")
    # spaCy's and thinc's Cython frames do not chain to their Python callers, so most of
    # nlp.pipe's time shows at the root of the tree: what is not newswire's is spaCy's.
    own = share("enrich_parsed") + share("to_json")
    print(f"  newswire's own passes (enrich_parsed + to_json) {100 * own:5.1f} % of the time; "
          f"spaCy/thinc (nlp.pipe, incl. Cython frames at the root) ~{100 * (1 - own):5.1f} %")
    for name in ("build_entity_index", "find_quotes", "attribute_quotes", "cinit"):
        print(f"    {name:<22} {100 * share(name):5.1f} %")
    if args.tree:
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
