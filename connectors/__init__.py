"""The built-in connectors: `files` and `rss`.

They are plugins like any other: they import only `pipeline.plugin`, and the runtime finds
them through the `newswire.connectors` entry points declared in pyproject.toml.
"""
