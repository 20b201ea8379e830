"""Tests against the real Kafka broker and Elasticsearch node (see tests/integration/conftest.py)."""
