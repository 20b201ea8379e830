"""Language detection on short news text (eval/language/snippets.jsonl, 12 languages)."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.stories.language import detect_language

SNIPPETS = Path(__file__).resolve().parents[2] / "eval" / "language" / "snippets.jsonl"


def _snippets() -> list[dict]:
    return [json.loads(line) for line in SNIPPETS.read_text(encoding="utf-8").splitlines()]


def test_title_and_first_sentence_are_enough() -> None:
    rows = _snippets()
    assert len({row["lang"] for row in rows}) >= 10
    wrong = [(row["lang"], detect_language(row["title"], row["body"]), row["title"]) for row in rows]
    wrong = [item for item in wrong if item[0] != item[1]]
    assert len(wrong) <= len(rows) * 0.05, wrong


def test_english_with_foreign_names_is_never_taken_for_another_language() -> None:
    for row in _snippets():
        if row["lang"] == "en":
            assert detect_language(row["title"], row["body"]) in ("en", None), row["title"]


def test_a_bare_title_is_either_right_or_unknown_mostly() -> None:
    answers = [(row["lang"], detect_language(row["title"], "")) for row in _snippets()]
    wrong = [a for a in answers if a[1] is not None and a[1] != a[0]]
    assert len(wrong) <= 3, wrong


def test_too_little_text_is_unknown() -> None:
    assert detect_language("", "") is None
    assert detect_language("12:30", "—") is None


def test_codes_are_iso_639_1() -> None:
    for row in _snippets():
        code = detect_language(row["title"], row["body"])
        assert code is None or (len(code) == 2 and code.isalpha() and code.islower())
