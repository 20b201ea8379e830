"""Where enriched articles are indexed and searched: the embedded SQLite index or Elasticsearch."""
