"""The peer: a Quix Streams application doing newswire's enrichment, with Quix's Elasticsearch sink.

Runs in its own virtual environment (`bench/.venv-peer`, see requirements-peer.txt: Quix
Streams pins versions of pydantic that newswire's environment does not use), with this
repository on PYTHONPATH so `apply` calls the same `Enricher` newswire's workers call: the
same spaCy pipeline and the same entity, quote and speaker passes, one record at a time, as
a Quix `apply` callback receives them. The sink is Quix's own `ElasticsearchSink` (bulk
per checkpoint, message key as `_id`, dynamic mapping).

    python bench/peer_app.py --broker HOST:PORT --topic T --group G --es URL --index I --state-dir DIR [--commit-interval S]
"""

from __future__ import annotations

import argparse
import logging

from quixstreams import Application
from quixstreams.sinks.community.elasticsearch import ElasticsearchSink

from pipeline.article import parse_article
from pipeline.enrich import EnrichFailure, Enricher


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--broker", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--es", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--commit-interval", type=float, default=1.0)
    parser.add_argument("--state-dir", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    enricher = Enricher()
    enricher.warm_up()

    def enrich(value: dict) -> dict | None:
        result = enricher.enrich([parse_article(value)])[0]
        if isinstance(result, EnrichFailure):
            return None
        return result.to_dict()

    app = Application(
        broker_address=args.broker,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        commit_interval=args.commit_interval,
        state_dir=args.state_dir,
    )
    articles = app.topic(args.topic, value_deserializer="json")
    sdf = app.dataframe(articles)
    sdf = sdf.apply(enrich).filter(lambda value: value is not None)
    sdf.sink(ElasticsearchSink(url=args.es, index=args.index))
    logging.getLogger("bench.peer").info("peer ready, running")
    app.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
