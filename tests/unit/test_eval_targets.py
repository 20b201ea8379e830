"""The enrichment stage against its targets: the development set (eval/articles) and the held-out set
(eval/heldout, written blind and never tuned on). CI prints both and gates on the held-out one and the seed."""

from __future__ import annotations

import pytest

from eval.score import HELDOUT_DIR, HELDOUT_TARGETS, TARGETS, load_labelled, report_lines, score
from tests.conftest import EVAL_REPORT

# Held-out figures measured when issue 16 landed (see its report). They may not fall: a change that
# loses ground on text nobody tuned on fails here, whatever it gains on the development set.
HELDOUT_FLOORS = {"quote_f1": 0.97, "speaker_accuracy": 0.79, "entity_f1": 0.79}
# Issue 16's held-out targets not met yet, with the figure measured. Each is an expected failure that
# turns into a real failure (strict) the day it is met, so that this list gets shorter, never longer.
HELDOUT_NOT_YET_MET = {"speaker_accuracy": 0.803, "entity_f1": 0.806}
# The development set grew by 30 articles (300-329) written blind, from the same kind of news as the
# held-out set, for the next round of tuning; with them the set misses its own targets. Floors at the
# figures measured when they were added, and the misses as strict expected failures, as above.
DEVELOPMENT_FLOORS = {"speaker_accuracy": 0.74, "entity_f1": 0.81}
DEVELOPMENT_NOT_YET_MET = {"speaker_accuracy": 0.746, "entity_f1": 0.818}


def _expected_to_fail(measures, not_yet_met):
    """`measures` as test parameters; those in `not_yet_met` marked as strict expected failures."""
    return [
        pytest.param(m, marks=pytest.mark.xfail(strict=True, reason=f"issue 16 target not met yet: {not_yet_met[m]}"))
        if m in not_yet_met else m
        for m in sorted(measures)
    ]


@pytest.fixture(scope="module")
def report(request):
    result = score(enricher=request.getfixturevalue("enricher"))
    request.config.stash.setdefault(EVAL_REPORT, []).extend(report_lines(result))  # printed at the end of the run
    return result


@pytest.fixture(scope="module")
def heldout(request):
    result = score(HELDOUT_DIR, enricher=request.getfixturevalue("enricher"))
    assert result.heldout
    lines = request.config.stash.setdefault(EVAL_REPORT, [])
    lines.extend(["", *report_lines(result)])  # aggregate figures only: no article of the held-out set is shown
    return result


def test_labelled_set_is_large_enough():
    labelled = load_labelled()
    assert len(labelled) >= 31  # 30 written for the eval plus the seed
    assert any(item.name.startswith("000_") for item in labelled)


@pytest.mark.parametrize("measure", sorted(DEVELOPMENT_FLOORS))
def test_development_does_not_fall(report, measure):
    assert getattr(report, measure) >= DEVELOPMENT_FLOORS[measure], report.failures()


@pytest.mark.parametrize("measure", _expected_to_fail(["quote_f1", "speaker_accuracy", "entity_f1"], DEVELOPMENT_NOT_YET_MET))
def test_development_target(report, measure):
    assert getattr(report, measure) >= TARGETS[measure], report.failures()


def test_seed_article(report):
    seed = report.seed
    assert seed is not None
    assert [got for got, _ in seed.speakers] == ["antony blinken", "antony blinken"]
    assert seed.entity_f1 >= TARGETS["seed_entity_f1"]


def test_heldout_set_is_there_and_large_enough():
    assert len(load_labelled(HELDOUT_DIR)) >= 30


@pytest.mark.parametrize("measure", sorted(HELDOUT_FLOORS))
def test_heldout_does_not_fall(heldout, measure):
    assert getattr(heldout, measure) >= HELDOUT_FLOORS[measure]


@pytest.mark.parametrize("measure", _expected_to_fail(HELDOUT_TARGETS, HELDOUT_NOT_YET_MET))
def test_heldout_target(heldout, measure):
    assert getattr(heldout, measure) >= HELDOUT_TARGETS[measure]
