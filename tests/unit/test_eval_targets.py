"""The enrichment stage meets issue 5's targets on the labelled articles in eval/articles/."""

from __future__ import annotations

import pytest

from eval.score import TARGETS, load_labelled, report_lines, score
from tests.conftest import EVAL_REPORT


@pytest.fixture(scope="module")
def report(request):
    result = score()
    request.config.stash[EVAL_REPORT] = report_lines(result)  # printed at the end of the run
    return result


def test_labelled_set_is_large_enough():
    labelled = load_labelled()
    assert len(labelled) >= 31  # 30 written for the eval plus the seed
    assert any(item.name.startswith("000_") for item in labelled)


def test_quote_f1(report):
    assert report.quote_f1 >= TARGETS["quote_f1"], report.failures()


def test_speaker_accuracy(report):
    assert report.speaker_accuracy >= TARGETS["speaker_accuracy"], report.failures()


def test_entity_f1(report):
    assert report.entity_f1 >= TARGETS["entity_f1"], report.failures()


def test_seed_article(report):
    seed = report.seed
    assert seed is not None
    assert [got for got, _ in seed.speakers] == ["antony blinken", "antony blinken"]
    assert seed.entity_f1 >= TARGETS["seed_entity_f1"]


def test_no_target_missed(report):
    assert report.failures() == []
