"""Story identity: one id per article however it arrived, and syndicated copies grouped into stories.

A stage-layer package: it imports nothing from newswire but the core, so any runtime can use
it. (The canonical URL of an article link and the article id made from it live in the core,
`pipeline.urls`, where connectors reach them through `pipeline.plugin`.)

- `fingerprint`: MinHash signature and LSH band keys of an article body;
- `grouping`: whether two articles are the same story, and the in-memory story book;
- `language`: the language of an article (ISO 639-1), from a model shipped with its library.
"""
