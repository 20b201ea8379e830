"""The Kibana saved objects in config/kibana/ checked statically: Kibana cannot run here.

The objects are hand-written in the older export format Kibana migrates forward on import
(core 8.8.0, per-type migration versions of the 7.x line, legacy `visualization`s with a
visState). These tests hold them to what an import needs: one JSON object per LF-ended line,
every reference resolving to an object in the file, every data-view link made through
`indexRefName` + references, and every field they name present in the index template.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline.settings import ElasticsearchSettings, load_settings
from tests.conftest import REPO

KIBANA_DIR = REPO / "config" / "kibana"
TEMPLATE = REPO / "config" / "elasticsearch" / "news-articles.template.json"
VERSIONS = REPO / "scripts" / "versions.env"

AGGREGATABLE = {"keyword", "date", "date_nanos", "long", "integer", "short", "byte", "double", "float", "boolean", "ip"}
# What a dashboard's attributes may hold: Kibana validates them with `unknowns: 'forbid'`.
DASHBOARD_ATTRIBUTES = {
    "title", "description", "kibanaSavedObjectMeta", "timeRestore", "timeFrom", "timeTo",
    "refreshInterval", "controlGroupInput", "panelsJSON", "optionsJSON", "hits", "version",
}
LEGACY_VIS_TYPES = {"histogram", "horizontal_bar", "line", "area", "pie", "table", "tagcloud", "metric", "markdown"}
GRID_COLUMNS = 48


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _pins() -> dict[str, str]:
    pins = {}
    for line in VERSIONS.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pins[key.strip()] = value.strip()
    return pins


def _ndjson_files() -> list[Path]:
    return sorted(KIBANA_DIR.glob("*.ndjson"))


def _objects() -> list[dict]:
    objects = []
    for path in _ndjson_files():
        for line in path.read_text(encoding="utf-8").split("\n"):
            if line:
                objects.append(json.loads(line))
    return objects


def _mapping_fields() -> dict[str, dict]:
    """Every field path the index template maps: `{path: {"type": ..., "nested": bool}}`, multi-fields included."""
    fields: dict[str, dict] = {}

    def walk(properties: dict, prefix: str, nested: bool) -> None:
        for name, spec in properties.items():
            path = prefix + name
            kind = spec.get("type", "object")
            fields[path] = {"type": kind, "nested": nested}
            for sub, sub_spec in spec.get("fields", {}).items():
                fields[f"{path}.{sub}"] = {"type": sub_spec.get("type", "object"), "nested": nested}
            if "properties" in spec:
                walk(spec["properties"], path + ".", nested or kind == "nested")

    template = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    walk(template["template"]["mappings"]["properties"], "", False)
    return fields


def _kql_fields(query: str, prefix: str = "") -> list[str]:
    """Field names a KQL query names, with `parent:{ child:... }` nested groups expanded."""
    names = []
    position = 0
    pattern = re.compile(r"([A-Za-z_@][\w.@]*)\s*:\s*(\{)?")
    while match := pattern.search(query, position):
        field = prefix + match.group(1)
        names.append(field)
        if match.group(2):
            depth, end = 1, match.end()
            while depth and end < len(query):
                depth += {"{": 1, "}": -1}.get(query[end], 0)
                end += 1
            names += _kql_fields(query[match.end() : end - 1], field + ".")
            position = end
        else:
            position = match.end()
    return names


def _search_source(obj: dict) -> dict | None:
    meta = obj["attributes"].get("kibanaSavedObjectMeta") or {}
    return json.loads(meta["searchSourceJSON"]) if "searchSourceJSON" in meta else None


def _by_type(kind: str) -> list[dict]:
    return [obj for obj in _objects() if obj["type"] == kind]


OBJECTS = _objects()
FIELDS = _mapping_fields()


def _ids(objs):
    return [f"{obj['type']}:{obj['id']}" for obj in objs]


# -- the file itself ----------------------------------------------------------------------------


def test_there_is_an_ndjson_file_to_import():
    assert [path.name for path in _ndjson_files()] == ["newswire.ndjson"]


@pytest.mark.parametrize("path", _ndjson_files(), ids=lambda p: p.name)
def test_ndjson_is_one_object_per_lf_line(path):
    raw = path.read_bytes()
    assert b"\r" not in raw, f"{path.name} has CR characters: Kibana's import wants LF line endings"
    assert raw.endswith(b"\n") and not raw.endswith(b"\n\n"), "end with exactly one newline"
    lines = raw.decode("utf-8").split("\n")[:-1]
    for number, line in enumerate(lines, 1):
        assert line.strip(), f"line {number} is blank"
        obj = json.loads(line)
        assert isinstance(obj, dict), f"line {number} is not a JSON object"
        assert {"type", "id", "attributes", "references"} <= obj.keys(), f"line {number} lacks type/id/attributes/references"


def test_objects_have_unique_ids_and_titles():
    keys = _ids(OBJECTS)
    assert len(keys) == len(set(keys))
    titles = [obj["attributes"]["title"] for obj in OBJECTS]
    assert len(titles) == len(set(titles))


def test_the_expected_objects_are_there():
    kinds = {}
    for obj in OBJECTS:
        kinds.setdefault(obj["type"], []).append(obj["id"])
    assert len(kinds["index-pattern"]) == 1
    assert len(kinds["search"]) >= 2
    assert len(kinds["visualization"]) >= 5
    assert len(kinds["dashboard"]) == 1


# -- versions: old enough to be migrated forward, never newer than the pinned Kibana ---------------


@pytest.mark.parametrize("obj", OBJECTS, ids=_ids(OBJECTS))
def test_migration_versions_are_importable_into_the_pinned_kibana(obj):
    kibana = _version(_pins()["ELASTICSEARCH_VERSION"])
    core = _version(obj["coreMigrationVersion"])
    own = _version(obj["typeMigrationVersion"])
    # Newer than the running Kibana is refused; an export from before the previous major is not supported.
    assert core <= kibana and own <= kibana
    assert core[0] >= kibana[0] - 1, "Kibana imports exports of the same or the previous major only"
    assert "migrationVersion" not in obj, "use typeMigrationVersion (the 8.8+ export format), not both"


# -- references -------------------------------------------------------------------------------


@pytest.mark.parametrize("obj", OBJECTS, ids=_ids(OBJECTS))
def test_every_reference_resolves_to_an_object_in_the_file(obj):
    present = {(other["type"], other["id"]) for other in OBJECTS}
    names = [ref["name"] for ref in obj["references"]]
    assert len(names) == len(set(names)), "reference names must be unique within an object"
    for ref in obj["references"]:
        assert (ref["type"], ref["id"]) in present, f"{ref} points at nothing in config/kibana"


@pytest.mark.parametrize("obj", [o for o in OBJECTS if _search_source(o) is not None], ids=lambda o: f"{o['type']}:{o['id']}")
def test_search_sources_reach_the_data_view_through_index_ref_name(obj):
    source = _search_source(obj)
    refs = {ref["name"]: ref for ref in obj["references"]}
    assert "index" not in source, "a literal index id breaks on import; use indexRefName + references"
    if obj["type"] in ("search", "visualization"):
        assert "indexRefName" in source, f"{obj['id']} must name its data view"
    if "indexRefName" in source:
        ref = refs.get(source["indexRefName"])
        assert ref is not None, f"indexRefName {source['indexRefName']!r} has no reference"
        assert ref["type"] == "index-pattern"
    for search_filter in source.get("filter", []):
        meta = search_filter.get("meta", {})
        assert "index" not in meta
        if "indexRefName" in meta:
            assert refs[meta["indexRefName"]]["type"] == "index-pattern"


def test_dashboard_panels_are_references_panel_0_and_on():
    (dashboard,) = _by_type("dashboard")
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    refs = {ref["name"]: ref for ref in dashboard["references"]}
    assert [panel["panelRefName"] for panel in panels] == [f"panel_{n}" for n in range(len(panels))]
    for panel in panels:
        assert "id" not in panel and "type" not in panel, "the 7.x format keeps ids in references only"
        assert refs[panel["panelRefName"]]["type"] in ("visualization", "search")
        grid = panel["gridData"]
        assert grid["i"] == panel["panelIndex"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= GRID_COLUMNS and grid["h"] > 0
    assert len({panel["panelIndex"] for panel in panels}) == len(panels)
    shown = {refs[panel["panelRefName"]]["id"] for panel in panels}
    every_view = {obj["id"] for obj in OBJECTS if obj["type"] in ("visualization", "search")}
    assert shown == every_view, "every saved search and visualization is on the dashboard"


def test_dashboard_attributes_are_ones_kibana_accepts():
    (dashboard,) = _by_type("dashboard")
    attributes = dashboard["attributes"]
    assert set(attributes) <= DASHBOARD_ATTRIBUTES
    json.loads(attributes["optionsJSON"])
    assert set(attributes["refreshInterval"]) == {"pause", "value"}


# -- fields exist in the index template --------------------------------------------------------


def test_data_view_covers_the_alias_with_published_at_as_time_field():
    (data_view,) = _by_type("index-pattern")
    assert data_view["attributes"]["title"] == ElasticsearchSettings().index
    assert data_view["attributes"]["title"] == load_settings(REPO / "config" / "newswire.yaml").elasticsearch.index
    time_field = data_view["attributes"]["timeFieldName"]
    assert time_field == "published_at"
    assert FIELDS[time_field]["type"] == "date"


@pytest.mark.parametrize("search", _by_type("search"), ids=lambda o: o["id"])
def test_saved_search_columns_sort_and_query_name_mapped_fields(search):
    attributes = search["attributes"]
    for column in attributes["columns"]:
        assert column in FIELDS, f"column {column!r} is not in the index template"
        assert FIELDS[column]["type"] not in ("object", "nested"), f"column {column!r} is an object"
    for field, direction in attributes["sort"]:
        assert direction in ("asc", "desc")
        assert FIELDS[field]["type"] in AGGREGATABLE, f"cannot sort on {field!r}"
    query = _search_source(search)["query"]
    assert query["language"] in ("kuery", "lucene")
    for field in _kql_fields(query["query"]):
        assert field in FIELDS, f"query names {field!r}, which is not mapped"


def test_the_quotes_search_shows_quote_text_and_speaker():
    columns = {column for search in _by_type("search") for column in search["attributes"]["columns"]}
    assert {"quotes.text", "quotes.speaker"} <= columns
    latest = [s for s in _by_type("search") if {"title", "people", "speakers"} <= set(s["attributes"]["columns"])]
    assert latest, "a saved search of the latest articles with columns title, people, speakers"


@pytest.mark.parametrize("vis", _by_type("visualization"), ids=lambda o: o["id"])
def test_visualizations_aggregate_on_mapped_aggregatable_fields(vis):
    state = json.loads(vis["attributes"]["visState"])
    assert state["type"] in LEGACY_VIS_TYPES
    assert state["title"] == vis["attributes"]["title"]
    json.loads(vis["attributes"]["uiStateJSON"])
    agg_ids = [agg["id"] for agg in state["aggs"]]
    assert len(agg_ids) == len(set(agg_ids))
    assert any(agg["schema"] == "metric" for agg in state["aggs"])
    for agg in state["aggs"]:
        field = agg["params"].get("field")
        if field is not None:
            assert field in FIELDS, f"{field!r} is not in the index template"
            assert FIELDS[field]["type"] in AGGREGATABLE, f"{field!r} ({FIELDS[field]['type']}) cannot be aggregated"
            assert not FIELDS[field]["nested"], f"{field!r} is inside a nested object: legacy visualizations cannot reach it"
        order_by = agg["params"].get("orderBy")
        if order_by and order_by not in ("_key", "custom"):
            assert order_by in agg_ids
    for series in state["params"].get("seriesParams", []):
        assert series["data"]["id"] in agg_ids
    for field in _kql_fields(_search_source(vis)["query"]["query"]):
        assert field in FIELDS


def test_there_is_a_visualization_for_each_entity_list_and_for_time():
    fields = set()
    for vis in _by_type("visualization"):
        fields |= {agg["params"].get("field") for agg in json.loads(vis["attributes"]["visState"])["aggs"]}
    assert {"published_at", "people", "organizations", "places", "speakers"} <= fields


def test_kql_field_extraction_understands_nested_groups():
    assert _kql_fields("quotes:{ text:* and speaker:\"Antony Blinken\" } or people:Blinken") == [
        "quotes", "quotes.text", "quotes.speaker", "people",
    ]
    assert _kql_fields("") == []


def test_stories_are_counted_beside_their_copies():
    """Issue 15: a "stories vs copies" view and a count of unique stories (a cardinality of story_id)."""
    counted = {}
    for vis in _by_type("visualization"):
        aggs = json.loads(vis["attributes"]["visState"])["aggs"]
        unique = {agg["params"].get("field") for agg in aggs if agg["type"] == "cardinality"}
        if "story_id" in unique:
            counted[vis["id"]] = {agg["type"] for agg in aggs}
    assert {"newswire-stories-vs-copies", "newswire-unique-stories"} <= set(counted)
    assert all("count" in kinds for kinds in counted.values()), "stories shown beside the copies they count"
    assert FIELDS["story_id"]["type"] == "keyword"
    stories = [s for s in _by_type("search") if "copies" in s["attributes"]["columns"]]
    assert stories and "copies" in _kql_fields(_search_source(stories[0])["query"]["query"])

