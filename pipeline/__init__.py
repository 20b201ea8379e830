"""newswire: feeds and files in, entities and quotes out, searchable in Elasticsearch."""

__version__ = "0.1.0"
