"""Only the NLP enrichment reads: the slimmed attribute ruler gives every token what the whole ruler gives.

The development set's articles, the seed and some bench corpus articles go through the
pipeline twice, with the whole attribute ruler and with the slim one (tag table as an array
lookup, only the patterns that set a part of speech, tag or dependency); every token's part of
speech, tag, dependency, head, entity and sentence start must be the same.
"""

from __future__ import annotations

import pytest

from bench.corpus import generate
from eval.score import load_labelled
from pipeline.enrich.nlp import TAG_POS, load_pipeline
from tests.conftest import SEEDS


def what_enrichment_reads(doc) -> list[tuple]:
    return [(t.text, t.pos_, t.tag_, t.dep_, t.head.i, t.ent_iob_, t.ent_type_, t.is_sent_start) for t in doc]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    found = [f"{item.article.title}\n\n{item.article.body}" for item in load_labelled()]
    found += [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))]
    found += [f"{a.title}\n\n{a.body}" for a in generate(10)]
    found += ["", "   \n\n  ", "I ain't gonna say it's done, y'all."]
    return found


def test_the_slim_ruler_reads_the_same_as_the_whole_one(texts):
    whole, slim = load_pipeline(None, slim=False), load_pipeline(None)
    assert TAG_POS in slim.pipe_names and TAG_POS not in whole.pipe_names
    assert len(slim.get_pipe("attribute_ruler").patterns) < len(whole.get_pipe("attribute_ruler").patterns)
    differing = [
        text[:60] for text, a, b in zip(texts, whole.pipe(texts, batch_size=8), slim.pipe(texts, batch_size=8))
        if what_enrichment_reads(a) != what_enrichment_reads(b)
    ]
    assert differing == []
    spaces = slim("Talks resumed.\n\nThey ended.")
    assert [t.pos_ for t in spaces if t.is_space] == ["SPACE"] and spaces[0].pos_ == "NOUN"
