"""A JSON Feed 1.1 connector for newswire, loaded through the `newswire.connectors` entry point."""

from newswire_jsonfeed.connector import JsonFeedConnector, JsonFeedOptions

__all__ = ["JsonFeedConnector", "JsonFeedOptions"]
