"""The scheduling policy: adaptive intervals, failure classes and their capped backoff, Retry-After as a floor."""

from __future__ import annotations

import random

import pytest

from pipeline.errors import SourceRejected, SourceUnreachable, Throttled
from pipeline.feeds.schedule import HARD, NOT_MODIFIED, OK, SOFT, THROTTLED, Bounds, Outcome, classify, items_since, plan

BOUNDS = Bounds(min_interval=600, max_interval=86400, start_interval=3600, max_backoff=86400)
NOW = 1_700_000_000.0


def run(outcomes, *, pinned=None, bounds=BOUNDS, previous=None):
    """Apply outcomes one after another, an hour apart; the documents after each."""
    document, documents = dict(previous or {}), []
    for n, outcome in enumerate(outcomes):
        document = plan(document, outcome, pinned=pinned, bounds=bounds, now=NOW + 3600 * n, rng=random.Random(n))
        documents.append(document)
    return documents


def delays(documents):
    return [d["next_due"] - d["last_fetch"] for d in documents]


def test_a_feed_with_new_items_at_every_poll_is_polled_more_often_down_to_the_minimum():
    documents = run([Outcome(OK, new=2, listed=20)] * 12)
    intervals = [d["interval"] for d in documents]
    assert intervals == sorted(intervals, reverse=True) and intervals[0] < 3600
    assert intervals[-1] == 600
    assert all(d["status"] == "ok" and d["failures"] == 0 for d in documents)


def test_a_feed_that_turns_over_half_its_entries_is_polled_twice_as_often_at_once():
    [document] = run([Outcome(OK, new=12, listed=20)])
    assert document["interval"] == 1800


def test_a_quiet_feed_is_polled_less_often_up_to_the_maximum():
    documents = run([Outcome(NOT_MODIFIED)] * 30)
    intervals = [d["interval"] for d in documents]
    assert intervals == sorted(intervals) and intervals[0] > 3600 and intervals[-1] == 86400
    assert documents[-1]["status"] == "not_modified"


def test_ttl_max_age_are_lower_bounds_capped_at_the_maximum():
    [asked] = run([Outcome(OK, new=20, listed=20, requested=7200)])
    assert asked["interval"] == 1800 and asked["next_due"] - asked["last_fetch"] == 7200
    [absurd] = run([Outcome(OK, requested=30 * 86400)])
    assert absurd["next_due"] - absurd["last_fetch"] == 86400


def test_a_configured_interval_pins_it_but_the_feed_may_still_ask_for_more():
    assert set(delays(run([Outcome(OK, new=5, listed=5), Outcome(NOT_MODIFIED)] * 3, pinned=120))) == {120}
    assert delays(run([Outcome(OK, requested=900)], pinned=120)) == [900]


@pytest.mark.parametrize("error, kind", [
    (SourceRejected("HTTP 404 Not Found"), HARD),
    (SourceRejected("is an HTML page, not a feed"), HARD),
    (SourceUnreachable("timed out after 20s"), SOFT),
    (SourceUnreachable("HTTP 502 Bad Gateway"), SOFT),
    (SourceUnreachable("cannot connect: Name or service not known"), SOFT),
    (Throttled("HTTP 429", 120), THROTTLED),
    (Throttled("HTTP 503", 60), THROTTLED),
    (RuntimeError("a connector's bug"), SOFT),
])
def test_failures_are_classified(error, kind):
    assert classify(error) == kind
    assert classify(None) == OK and classify(None, not_modified=True) == NOT_MODIFIED


def test_soft_failures_back_off_from_the_interval_doubling_and_capped():
    documents = run([Outcome(SOFT, error="timed out")] * 12, previous={"interval": 3600})
    waits = delays(documents)
    assert 3600 <= waits[0] <= 3600 * 1.25 and 7200 <= waits[1] <= 7200 * 1.25 and 14400 <= waits[2] <= 14400 * 1.25
    assert all(86400 <= w <= 86400 * 1.25 for w in waits[5:]), "capped at max_backoff (plus jitter)"
    last = documents[-1]
    assert last["status"] == "failing" and last["failure"] == SOFT and last["failures"] == 12
    assert last["failing_since"] == NOW and last["last_error"] == "timed out"
    assert last["interval"] == 3600, "the interval a failing feed returns to is kept"


def test_hard_failures_back_off_faster_than_soft_ones():
    hard = delays(run([Outcome(HARD, error="HTTP 404")], previous={"interval": 3600}))[0]
    soft = delays(run([Outcome(SOFT, error="HTTP 500")], previous={"interval": 3600}))[0]
    assert hard >= 4 * 3600 > soft


def test_throttled_waits_at_least_retry_after_capped_at_a_day():
    [short] = run([Outcome(THROTTLED, retry_after=900, error="HTTP 429")], pinned=60)
    assert short["status"] == "throttled" and short["throttled_until"] == NOW + 900
    assert short["next_due"] - short["last_fetch"] == 900
    [long] = run([Outcome(THROTTLED, retry_after=10 * 86400, error="HTTP 503")], pinned=60)
    assert long["throttled_until"] == NOW + 86400 and long["next_due"] - NOW == 86400
    [unsaid] = run([Outcome(THROTTLED, error="HTTP 429")], pinned=600)
    assert 600 <= unsaid["next_due"] - NOW <= 750  # no Retry-After: the backoff alone


def test_a_success_ends_the_failure_streak_and_keeps_counting_items():
    documents = run([Outcome(OK, new=3, listed=10), Outcome(SOFT, error="x"), Outcome(SOFT, error="y"),
                     Outcome(OK, new=2, listed=10)])
    assert documents[2]["failures"] == 2 and documents[2]["failing_since"] == NOW + 3600
    recovered = documents[-1]
    assert (recovered["status"], recovered["failures"], recovered["failing_since"], recovered["last_error"]) == ("ok", 0, None, None)
    assert items_since(recovered["found"], NOW - 1) == 5
    assert items_since(recovered["found"], NOW + 3 * 3600) == 2


def test_items_older_than_a_day_are_forgotten():
    documents = run([Outcome(OK, new=4, listed=10)] + [Outcome(NOT_MODIFIED)] * 30)
    assert items_since(documents[-1]["found"], 0) == 0
