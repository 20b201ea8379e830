"""The configured feeds as a list a person manages: OPML import into the config (the feed fleet lands here)."""
