"""Build the labelled story set eval/stories/articles.jsonl from the hand-written sources.

Run: `.venv/bin/python -m eval.syndicate` (rewrites the file; it is committed, so the set a
figure was measured on stays fixed even if this script changes).

The sources (eval/stories/source/*.yaml, all original text) hold 20 wire stories, each with
alternative headlines, a local-angle paragraph, a follow-up and a same-topic "twin" about a
different event, plus 45 unrelated briefs. The 37 labelled articles of eval/articles/ join
the unrelated set. The syndicated copies are made by scripted edits that mirror what outlets
do to wire copy; each `OUTLETS` profile is one kind of subscriber:

- regional print daily: own headline, agency tag dropped from the dateline, short paragraphs
  merged, ending trimmed to ~60 %, house style (`%`, no `Dr.` full stop), credit line;
- web portal: one sentence per paragraph, typographic quotes, a "Read more:" line mid-story,
  a copyright footer;
- local paper: its own local-angle paragraph on top, an "updated" note, ending trimmed to ~70 %;
- aggregator: dateline stripped, straight quotes, a photo caption scraped into the body,
  "Related coverage:" links at the end;
- broadcaster site: US spelling, "said on Wednesday" → "said Wednesday", a middle paragraph
  cut, credit line;
- partner agency: heavy trim to ~45 %, small wording edits, its own credit line;
- rewrite desk: a hand-rewritten lede (eval/stories/source/rewrites.yaml) on the first ~60 % of
  the rest, a middle paragraph cut, paragraphs merged, US spelling, curly quotes, credit line.

Story i gets 3 + i % 4 copies (3 to 6): the rewrite desk's, then the profiles above in an
order rotated by i. Follow-ups
reuse two of their story's paragraphs verbatim (`<<Pn>>` in the source). Stories with an even
index (and their copies, follow-up and twin) and every other unrelated article form the
development split; the rest is the test split.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import yaml

__all__ = ["OUTLETS", "build", "main"]

ROOT = Path(__file__).resolve().parent
SOURCES = ROOT / "stories" / "source"
OUTPUT = ROOT / "stories" / "articles.jsonl"
ARTICLES = ROOT / "articles"

_SENTENCE = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’]))(?<!Dr\.)(?<!Gov\.)(?<!St\.)\s+(?=[\"“A-Z0-9])")
_AGENCY = re.compile(r"\s*\((?:AP|Reuters|AFP)\)")
_WEEKDAY = re.compile(r"\b(said|announced|told reporters) on (Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")
_US_SPELLING = {"centre": "center", "kilometres": "kilometers", "metres": "meters", "programme": "program",
                "organisation": "organization", "labour": "labor", "neighbourhoods": "neighborhoods", "travelling": "traveling"}
_SMALL_EDITS = {" about ": " around ", " said ": " stated ", " more than ": " over ", " began ": " started "}
_NAMES = ["Maria Lopez", "Tom Hadley", "Anika Sharma", "Pierre Duval", "Kofi Mensah", "Lena Vogt", "Ahmed Saleh", "Yuki Tanaka"]
_CITIES = ["Rome", "Nairobi", "Chicago", "Paris", "Istanbul", "Berlin", "Mumbai", "Lisbon"]


def _paragraphs(body: str) -> list[str]:
    return [p.strip() for p in body.strip().split("\n\n") if p.strip()]


def _join(paragraphs: list[str]) -> str:
    return "\n\n".join(paragraphs)


def _trim(paragraphs: list[str], share: float) -> list[str]:
    return paragraphs[: max(3, round(len(paragraphs) * share))]


def _merge_pairs(paragraphs: list[str]) -> list[str]:
    return [" ".join(paragraphs[i : i + 2]) for i in range(0, len(paragraphs), 2)]


def _one_sentence_each(paragraphs: list[str]) -> list[str]:
    return [sentence for p in paragraphs for sentence in _SENTENCE.split(p)]


def _curly(text: str) -> str:
    text = re.sub(r'"(?=\w)', "“", text)
    return text.replace('"', "”").replace("'", "’")


def _straight(text: str) -> str:
    return text.translate(str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"}))


def _replace_words(text: str, table: dict[str, str], limit: int = 99) -> str:
    for old, new in table.items():
        text = text.replace(old, new, limit)
    return text


def _credit(n: int, agency: str) -> str:
    name, city = _NAMES[n % len(_NAMES)], _CITIES[n % len(_CITIES)]
    if agency == "Reuters":
        return f"(Reporting by {name}; Editing by {_NAMES[(n + 3) % len(_NAMES)]})"
    return f"{agency} writer {name} in {city} contributed to this report."


def _regional_print(story: dict, n: int) -> str:
    paragraphs = _trim(story["paragraphs"], 0.6)
    paragraphs[0] = _AGENCY.sub("", paragraphs[0], count=1)
    paragraphs = _merge_pairs(paragraphs)
    text = _replace_words(_join(paragraphs), {" percent": "%", "Dr. ": "Dr "})
    return text + "\n\n" + _credit(n, story["agency"])


def _web_portal(story: dict, n: int) -> str:
    sentences = _one_sentence_each(story["paragraphs"])
    middle = len(sentences) // 2
    sentences.insert(middle, f"Read more: {story['other_headline']}")
    text = _curly(_join(sentences))
    return text + f"\n\nCopyright 2026 {story['agency_name']}. All rights reserved. This material may not be published, broadcast, rewritten or redistributed."


def _local_paper(story: dict, n: int) -> str:
    paragraphs = _trim(story["paragraphs"], 0.7)
    return _join(["This story has been updated with more details.", story["local_lede"], *paragraphs])


def _aggregator(story: dict, n: int) -> str:
    paragraphs = list(story["paragraphs"])
    paragraphs[0] = paragraphs[0][len(story["dateline"]) :].strip()
    paragraphs.insert(2, f"Photo: A scene from the story. ({story['agency']} Photo/{_NAMES[(n + 1) % len(_NAMES)]})")
    related = f"Related coverage:\n{story['other_headline']}\n{story['third_headline']}"
    return _straight(_join(paragraphs)) + "\n\n" + related


def _broadcaster(story: dict, n: int) -> str:
    paragraphs = list(story["paragraphs"])
    del paragraphs[len(paragraphs) // 2]
    text = _WEEKDAY.sub(r"\1 \2", _replace_words(_join(paragraphs), _US_SPELLING))
    return text + "\n\n" + _credit(n + 2, story["agency"])


def _rewrite_desk(story: dict, n: int) -> str:
    paragraphs = [story["rewritten_lede"], *_trim(story["paragraphs"][1:], 0.6)]
    del paragraphs[len(paragraphs) // 2]
    text = _curly(_replace_words(_join(_merge_pairs(paragraphs[:2]) + paragraphs[2:]), _US_SPELLING))
    return text + "\n\n" + _credit(n + 4, story["agency"])


def _partner_agency(story: dict, n: int) -> str:
    paragraphs = _trim(story["paragraphs"], 0.45)
    text = _replace_words(_join(paragraphs), _SMALL_EDITS, limit=1)
    return text + f"\n\n{_NAMES[(n + 5) % len(_NAMES)]} contributed reporting."


OUTLETS: list[tuple[str, Callable[[dict, int], str]]] = [
    ("regional-print", _regional_print),
    ("web-portal", _web_portal),
    ("local-paper", _local_paper),
    ("aggregator", _aggregator),
    ("broadcaster", _broadcaster),
    ("partner-agency", _partner_agency),
]
REWRITE_DESK = ("rewrite-desk", _rewrite_desk)


def _record(id_: str, title: str, body: str, published: datetime | str, story: str, kind: str, split: str, made: str) -> dict:
    when = published if isinstance(published, str) else published.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"id": id_, "title": title, "body": body, "published_at": when, "story": story,
            "kind": kind, "split": split, "made": made}


def _published(value: object) -> datetime:
    text = value if isinstance(value, str) else value.strftime("%Y-%m-%dT%H:%M:%SZ")  # type: ignore[attr-defined]
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def _story_records(index: int, source: dict, rewrites: dict[str, str]) -> list[dict]:
    key, split = source["key"], ("dev" if index % 2 == 0 else "test")
    agency = _AGENCY.search(source["dateline"] + " ")
    agency_tag = agency.group(0).strip(" ()") if agency else "AP"
    paragraphs = _paragraphs(source["body"])
    paragraphs[0] = f"{source['dateline']} {paragraphs[0]}"
    story = {
        "paragraphs": paragraphs, "dateline": source["dateline"], "agency": agency_tag,
        "agency_name": {"AP": "The Associated Press", "Reuters": "Reuters", "AFP": "Agence France-Presse"}[agency_tag],
        "local_lede": source["local_lede"], "rewritten_lede": rewrites[key], "other_headline": source["headlines"][1], "third_headline": source["headlines"][2],
    }
    start = _published(source["published"])
    records = [_record(f"{key}/wire", source["title"], _join(paragraphs), start, key, "wire", split, "original")]
    count = 3 + index % 4
    rotated = OUTLETS[index % len(OUTLETS) :] + OUTLETS[: index % len(OUTLETS)]
    for n, (outlet, make) in enumerate([REWRITE_DESK, *rotated[: count - 1]]):
        headline = source["headlines"][n % len(source["headlines"])]
        when = start + timedelta(minutes=23 * (n + 1))
        records.append(_record(f"{key}/{outlet}", headline, make(story, index + n), when, key, "copy", split, f"script: {outlet}"))
    follow = source["followup"]
    body = re.sub(r"<<P(\d+)>>", lambda m: _paragraphs(source["body"])[int(m.group(1)) - 1], follow["body"].strip())
    records.append(_record(f"{key}/followup", follow["title"], body, _published(follow["published"]), f"{key}/followup",
                           "followup", split, f"hand, reuses two paragraphs of {key}"))
    twin = source["twin"]
    records.append(_record(f"{key}/twin", twin["title"], twin["body"].strip(), _published(twin["published"]), f"{key}/twin",
                           "unrelated", split, f"hand, same topic as {key}, another event"))
    return records


def _eval_articles() -> list[dict]:
    records = []
    for n, path in enumerate(sorted(ARTICLES.glob("[0-9]*.txt"))):
        title, _, body = path.read_text(encoding="utf-8").partition("\n\n")
        when = datetime(2026, 1, 1) + timedelta(days=n * 9, hours=n)
        records.append(_record(f"articles/{path.stem}", title.strip(), body.strip(), when, f"articles/{path.stem}",
                               "unrelated", "dev" if n % 2 == 0 else "test", "eval/articles (original, hand)"))
    return records


def build() -> list[dict]:
    """Every labelled article: wire originals, copies, follow-ups, twins and unrelated articles."""
    stories, unrelated = [], []
    for path in sorted(SOURCES.glob("stories-*.yaml")):
        stories.extend(yaml.safe_load(path.read_text(encoding="utf-8")))
    rewrites = yaml.safe_load((SOURCES / "rewrites.yaml").read_text(encoding="utf-8"))
    records = [record for index, source in enumerate(stories) for record in _story_records(index, source, rewrites)]
    unrelated = yaml.safe_load((SOURCES / "unrelated.yaml").read_text(encoding="utf-8"))
    for n, item in enumerate(unrelated):
        records.append(_record(f"unrelated/{item['key']}", item["title"], item["body"].strip(), _published(item["published"]),
                               f"unrelated/{item['key']}", "unrelated", "dev" if n % 2 == 0 else "test", "hand"))
    return records + _eval_articles()


def main() -> int:
    records = build()
    with OUTPUT.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    kinds: dict[str, int] = {}
    for record in records:
        kinds[record["kind"]] = kinds.get(record["kind"], 0) + 1
    print(f"wrote {len(records)} articles to {OUTPUT.relative_to(ROOT.parent)}: {kinds}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
