"""Enrichment: named entities and direct quotes with their speakers, with spaCy.

Contract used by the runtimes (embedded and Kafka) and the CLI:

    enricher = Enricher(model=None, batch_size=64)   # cheap; nothing loaded yet
    enricher.warm_up()                               # loads spaCy once; ModelError if missing
    results = enricher.enrich(articles)              # list[EnrichedArticle | EnrichFailure],
                                                     # same length and order as `articles`
"""

from pipeline.enrich.enricher import Enricher, EnrichFailure

__all__ = ["Enricher", "EnrichFailure"]
