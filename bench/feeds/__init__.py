"""bench/feeds: one sweep of a 2,000-feed fleet against a farm of loopback feed servers.

    python -m bench.feeds [--count 2000] [--baseline] [--no-kafka] [--out bench/results/feeds.json]

See bench/README.md ("Feed fleet") for what is measured and how; farm.py is the feed farm,
sweep.py one in-process sweep, kafka.py the connectors workers on Kafka.
"""
