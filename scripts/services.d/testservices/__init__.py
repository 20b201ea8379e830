"""Real Kafka and Elasticsearch for the test suite, from Maven Central jars (no Docker).

The command-line entry point is scripts/services; see docs/test-services.md.
"""
