"""The stage loop both runtimes share: checkpoint changes are committed only after a batch's output is safe."""

from __future__ import annotations

import threading

import pytest

from pipeline.checkpoint import Checkpoint, CheckpointFiles, Record
from pipeline.errors import ServiceUnavailable
from pipeline.plugin import Article, Connector, ConnectorContext
from pipeline.runtime.loop import RunReport, read_batches, run_connectors


class Wire(Connector):
    """Five stories; each record carries `{"sent": {id: 1}}`, and a last record `{"done": true}`."""

    type = "wire"

    def read(self):
        sent = self.checkpoint.get("sent") or {}
        for number in range(5):
            story = f"story-{number}"
            if story not in sent:
                yield Record(Article(id=story, title=story, body="Body."), {"sent": {story: 1}})
        yield Record(checkpoint={"done": True})


def wire(tmp_path) -> Connector:
    checkpoint = Checkpoint(CheckpointFiles(tmp_path), "wire-test")
    return Wire("test", Wire.Options(), ConnectorContext(data_dir=tmp_path, checkpoint=checkpoint))


def test_batches_carry_their_changes_and_the_last_one_may_hold_only_changes(tmp_path):
    batches = list(read_batches(wire(tmp_path), size=2))
    assert [len(b) for b in batches] == [2, 2, 1]
    assert batches[0].changes == [{"sent": {"story-0": 1}}, {"sent": {"story-1": 1}}]
    assert batches[-1].changes == [{"sent": {"story-4": 1}}, {"done": True}]
    for batch in batches:
        batch.commit()
    [quiet] = list(read_batches(wire(tmp_path), size=2))  # nothing new: one batch of changes only
    assert len(quiet) == 0 and quiet.changes == [{"done": True}]


def test_only_delivered_batches_are_committed_and_the_rest_is_read_again(tmp_path):
    delivered: list[str] = []

    def output(batch):
        if len(delivered) >= 2:
            raise ServiceUnavailable("the broker went away")
        delivered.extend(a.id for a in batch.articles)
        return RunReport(read=len(batch.articles), indexed=len(batch.articles))

    report = run_connectors([wire(tmp_path)], output, batch_size=2, once=False, stop=_stop_after(1))
    assert report.indexed == 2 and delivered == ["story-0", "story-1"]
    restarted = wire(tmp_path)
    assert dict(restarted.checkpoint) == {"sent": {"story-0": 1, "story-1": 1}}, "nothing undelivered was committed"
    assert [a.id for b in read_batches(restarted, size=10) for a in b.articles] == ["story-2", "story-3", "story-4"]


def test_once_raises_what_was_not_delivered(tmp_path):
    def output(batch):
        raise ServiceUnavailable("the broker went away")

    with pytest.raises(ServiceUnavailable):
        run_connectors([wire(tmp_path)], output, batch_size=2, once=True, stop=threading.Event())
    assert dict(wire(tmp_path).checkpoint) == {}


def test_a_change_is_a_json_merge_patch(tmp_path):
    checkpoint = Checkpoint(CheckpointFiles(tmp_path), "k")
    checkpoint.commit([{"seen": {"a": "1", "b": "2"}, "etag": '"v1"'}, {"seen": {"a": None, "c": "3"}, "etag": None}])
    assert dict(Checkpoint(CheckpointFiles(tmp_path), "k").view) == {"seen": {"b": "2", "c": "3"}}
    with pytest.raises(TypeError):
        checkpoint.view["etag"] = "x"  # the connector's view is read-only


def _stop_after(seconds: float) -> threading.Event:
    stop = threading.Event()
    threading.Timer(seconds, stop.set).start()
    return stop
