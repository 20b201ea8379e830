"""Score enrichment on a local copy of PolNeAR: direct quotes, indirect quotes, speakers, per sieve.

    .venv/bin/python eval/polnear.py PATH [--split train|dev] [--sieves a,b,...] [--limit N] [-v]

PATH is a PolNeAR checkout (or its data/ folder); only the train and dev splits are read. The
corpus has no licence, so nothing of it is committed: no text, no annotation, no excerpt. With
`-v` the problems are printed to the terminal for the person tuning on train; never paste them
into the repository.

What is measured (eval/polnear_data.py derives the gold from the annotation):
- direct quotes: runs of at least four words in double quote marks. A run an annotated content
  holds is gold; precision = predicted direct quotes matching a gold run / those matching a gold
  run or nothing (a prediction matching a run the annotation leaves out is counted apart), recall
  = gold runs found. A match overlaps by 80 % of the longer span, as in eval/score.py.
- the speaker of a found direct quote, when the annotated source holds a name: right when it
  names the source's head name (same words, the surname, or the acronym).
- indirect quotes: attributions whose content lies mostly outside quote marks. Content overlap
  F1 counts characters (spaces aside): precision = predicted indirect characters inside a gold
  indirect content / predicted indirect characters outside direct contents; recall = gold
  characters covered. The speaker of the prediction overlapping a gold content most (at least
  half of the shorter) is scored like a direct quote's.
- per sieve: how many scored quotes each sieve attributed (coverage) and how many right (precision).
An article annotated by several annotators is scored against each, each weighing 1/n.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: eval/polnear.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eval.matching import match_spans, trim  # noqa: E402
from eval.polnear_data import (  # noqa: E402
    MIN_WORDS,
    Annotation,
    PolnearArticle,
    load_split,
    mid_sentence_capitals,
    names_match,
    quote_runs,
    source_name,
)
from pipeline.article import Article, EnrichedArticle, Quote  # noqa: E402
from pipeline.enrich import Enricher  # noqa: E402

__all__ = ["TARGETS", "Tally", "score_article", "score_split", "main"]

TARGETS = {
    "direct_recall": 0.98, "direct_precision": 0.95, "direct_speaker": 0.92,
    "indirect_f1": 0.70, "indirect_speaker": 0.85,
}
OVERLAP = 0.8
_LOWER_RE = re.compile(r"\b[a-z]+\b")


@dataclass
class Tally:
    """Weighted counts over the scored articles (an article's annotators share its weight of 1)."""

    counts: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    sieves: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # (kind, sieve) -> [scored, right]
    problems: list[str] = field(default_factory=list)

    def add(self, key: str, amount: float) -> None:
        self.counts[key] += amount

    def sieve(self, kind: str, name: str | None, right: bool, weight: float) -> None:
        entry = self.sieves.setdefault((kind, name or "-"), [0.0, 0.0])
        entry[0] += weight
        entry[1] += weight if right else 0.0

    def ratio(self, part: str, whole: str) -> float:
        return self.counts[part] / self.counts[whole] if self.counts[whole] else 1.0

    @property
    def direct_recall(self) -> float:
        return self.ratio("direct_found", "direct_gold")

    @property
    def direct_precision(self) -> float:
        matched = self.counts["direct_found"]
        whole = matched + self.counts["direct_false"]
        return matched / whole if whole else 1.0

    @property
    def direct_speaker(self) -> float:
        return self.ratio("direct_speaker_right", "direct_speaker_named")

    @property
    def indirect_precision(self) -> float:
        return self.ratio("indirect_overlap", "indirect_predicted_chars")

    @property
    def indirect_recall(self) -> float:
        return self.ratio("indirect_covered", "indirect_gold_chars")

    @property
    def indirect_f1(self) -> float:
        p, r = self.indirect_precision, self.indirect_recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def indirect_speaker(self) -> float:
        return self.ratio("indirect_speaker_right", "indirect_speaker_named")

    def failures(self) -> list[str]:
        return [f"{key} {getattr(self, key):.3f} < {target}" for key, target in TARGETS.items() if getattr(self, key) < target]


def _mask(length: int, spans) -> bytearray:
    mask = bytearray(length)
    for start, end in spans:
        mask[start:end] = b"\x01" * (end - start)
    return mask


def _chars(body: str, start: int, end: int, *masks: bytearray, without: bytearray | None = None) -> int:
    """Non-space characters of body[start:end] inside every mask (and outside `without`)."""
    return sum(
        1 for i in range(start, end)
        if not body[i].isspace() and all(m[i] for m in masks) and not (without is not None and without[i])
    )


def score_article(article: PolnearArticle, enriched: EnrichedArticle, tally: Tally, verbose: bool = False) -> None:
    """Add one article's figures, against each of its annotators, to `tally`."""
    body = article.body
    weight = 1.0 / len(article.annotations)
    lower_words = (set(_LOWER_RE.findall(body)), mid_sentence_capitals(body))
    runs = quote_runs(body)
    marks = _mask(len(body), [(r.start, r.end) for r in runs])
    direct = [q for q in enriched.quotes if (q.kind if hasattr(q, "kind") else "direct") == "direct"]
    indirect = [q for q in enriched.quotes if getattr(q, "kind", "direct") == "indirect"]
    for annotation in article.annotations:
        _score_direct(article, annotation, runs, direct, lower_words, weight, tally, verbose)
        _score_indirect(article, annotation, marks, indirect, lower_words, weight, tally, verbose)


def _score_direct(article, annotation: Annotation, runs, predicted: list[Quote], lower_words, weight, tally, verbose):
    body = article.body
    units = [r for r in runs if r.words >= MIN_WORDS]
    owners = []
    for run in units:
        best, best_chars = None, 0
        for attribution in annotation.attributions:
            chars = sum(max(0, min(run.end, e) - max(run.start, s)) for s, e in attribution.content)
            if chars > best_chars:
                best, best_chars = attribution, chars
        owners.append(best if best_chars * 2 >= run.end - run.start else None)
    spans = [trim(body, q.start, q.end) for q in predicted]
    matched = match_spans([(u.start, u.end) for u in units], spans, OVERLAP)
    used = set(matched.values())
    for ui, (unit, owner) in enumerate(zip(units, owners)):
        if owner is None:
            tally.add("direct_left_out", weight)
            tally.add("direct_left_out_predicted", weight if ui in matched else 0.0)
            continue
        tally.add("direct_gold", weight)
        if ui not in matched:
            if verbose:
                tally.problems.append(f"{article.name}: missed direct {body[unit.start:unit.end][:70]!r}")
            continue
        tally.add("direct_found", weight)
        quote = predicted[matched[ui]]
        named = source_name(owner.source_text, *lower_words)
        tally.add(f"direct_source_{named.kind}", weight)
        if named.kind != "named":
            continue
        right = any(names_match(quote.speaker, name) for name in named.names)
        tally.add("direct_speaker_named", weight)
        tally.add("direct_speaker_right", weight if right else 0.0)
        tally.sieve("direct", getattr(quote, "attribution", None), right, weight)
        if verbose and not right:
            tally.problems.append(
                f"{article.name}: direct speaker {quote.speaker!r} [{getattr(quote, 'attribution', None)}] "
                f"want {named.name!r} (source {owner.source_text[:60]!r}) quote {quote.text[:50]!r}"
            )
    for pi, quote in enumerate(predicted):
        if pi not in used:
            tally.add("direct_false", weight)
            if verbose:
                tally.problems.append(f"{article.name}: extra direct {quote.text[:70]!r}")


def _score_indirect(article, annotation: Annotation, marks, predicted: list[Quote], lower_words, weight, tally, verbose):
    body = article.body
    gold, direct_contents = [], []
    for attribution in annotation.attributions:
        size = sum(e - s for s, e in attribution.content)
        quoted = sum(sum(marks[s:e]) for s, e in attribution.content)
        (direct_contents if quoted * 2 >= size else gold).append(attribution)
    gold_mask = _mask(len(body), [span for a in gold for span in a.content])
    direct_mask = _mask(len(body), [span for a in direct_contents for span in a.content])
    predicted_mask = _mask(len(body), [(q.start, q.end) for q in predicted])
    tally.add("indirect_gold", weight * len(gold))
    tally.add("indirect_gold_chars", weight * _chars(body, 0, len(body), gold_mask))
    tally.add("indirect_covered", weight * _chars(body, 0, len(body), gold_mask, predicted_mask))
    tally.add("indirect_predicted_chars", weight * _chars(body, 0, len(body), predicted_mask, without=direct_mask))
    tally.add("indirect_overlap", weight * _chars(body, 0, len(body), predicted_mask, gold_mask))
    tally.add("indirect_predicted", weight * len(predicted))
    for attribution in gold:
        size = sum(_chars(body, s, e, gold_mask) for s, e in attribution.content) or 1
        best, best_shared = None, 0
        for quote in predicted:
            shared = sum(_chars(body, max(s, quote.start), min(e, quote.end), gold_mask) for s, e in attribution.content)
            if shared > best_shared:
                best, best_shared = quote, shared
        own = _chars(body, best.start, best.end, predicted_mask) if best is not None else 0
        if best is None or best_shared * 2 < min(size, own or 1):
            if verbose:
                text = " ".join(body[s:e] for s, e in attribution.content)
                tally.problems.append(f"{article.name}: missed indirect [{attribution.cue_text}] {text[:70]!r}")
            continue
        tally.add("indirect_found", weight)
        named = source_name(attribution.source_text, *lower_words)
        if named.kind != "named":
            continue
        right = any(names_match(best.speaker, name) for name in named.names)
        tally.add("indirect_speaker_named", weight)
        tally.add("indirect_speaker_right", weight if right else 0.0)
        tally.sieve("indirect", best.attribution, right, weight)
        if verbose and not right:
            tally.problems.append(
                f"{article.name}: indirect speaker {best.speaker!r} [{best.attribution}] want {named.name!r} "
                f"(source {attribution.source_text[:60]!r}) content {best.text[:50]!r}"
            )


def score_split(root: Path, split: str, enricher: Enricher, limit: int | None = None, verbose: bool = False) -> Tally:
    """Enrich every article of a split and score it."""
    articles = load_split(root, split)[:limit]
    tally = Tally()
    for at in range(0, len(articles), 32):
        batch = articles[at:at + 32]
        outputs = enricher.enrich([Article(id=a.name, title=a.title, body=a.body) for a in batch])
        for article, output in zip(batch, outputs):
            if not isinstance(output, EnrichedArticle):
                tally.problems.append(f"{article.name}: enrichment failed: {getattr(output, 'reason', '?')}")
                output = EnrichedArticle(id=article.name, title=article.title, body=article.body)
            score_article(article, output, tally, verbose)
    tally.add("articles", len(articles))
    return tally


def report_lines(tally: Tally, split: str) -> list[str]:
    c = tally.counts
    lines = [
        f"PolNeAR {split}: {c['articles']:.0f} articles",
        f"  direct quotes:   recall {tally.direct_recall:.3f} ({c['direct_found']:.1f}/{c['direct_gold']:.1f})  "
        f"precision {tally.direct_precision:.3f} ({c['direct_false']:.1f} false)  "
        f"left out by the annotation {c['direct_left_out']:.1f} (predicted {c['direct_left_out_predicted']:.1f})",
        f"  direct speakers: {tally.direct_speaker:.3f} ({c['direct_speaker_right']:.1f}/{c['direct_speaker_named']:.1f} "
        f"named sources; not scored: {c['direct_source_owner']:.1f} owner-only, {c['direct_source_none']:.1f} unnamed)",
        f"  indirect quotes: content P {tally.indirect_precision:.3f} R {tally.indirect_recall:.3f} "
        f"F1 {tally.indirect_f1:.3f}  (found {c['indirect_found']:.1f}/{c['indirect_gold']:.1f} contents, "
        f"{c['indirect_predicted']:.1f} predicted)",
        f"  indirect speakers: {tally.indirect_speaker:.3f} "
        f"({c['indirect_speaker_right']:.1f}/{c['indirect_speaker_named']:.1f} named sources)",
        "  per sieve (kind, sieve: coverage of scored speakers, precision):",
    ]
    for kind in ("direct", "indirect"):
        total = sum(v[0] for (k, _), v in tally.sieves.items() if k == kind) or 1.0
        for (k, name), (scored, right) in sorted(tally.sieves.items(), key=lambda item: -item[1][0]):
            if k == kind:
                lines.append(f"    {kind:<8} {name:<22} coverage {scored / total:6.3f}  precision "
                             f"{right / scored if scored else 0:.3f}  ({right:.1f}/{scored:.1f})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="a local PolNeAR copy (or its data/ folder)")
    parser.add_argument("--split", choices=("train", "dev"), default="dev")
    parser.add_argument("--sieves", default=None, help="comma-separated attribution sieves to run (default: all)")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N articles")
    parser.add_argument("--model", default=None)
    parser.add_argument("--verbose", "-v", action="store_true", help="print every miss (to the terminal only)")
    args = parser.parse_args(argv)
    options = {}
    if args.sieves is not None:
        options["sieves"] = [s for s in args.sieves.split(",") if s]
    enricher = Enricher(model=args.model, **options)
    try:
        tally = score_split(args.path, args.split, enricher, args.limit, args.verbose)
    except (FileNotFoundError, ValueError) as e:
        print(f"polnear: {e}", file=sys.stderr)
        return 2
    if args.verbose:
        print("\n".join(tally.problems))
    print("\n".join(report_lines(tally, args.split)))
    missed = tally.failures()
    for line in missed:
        print(f"TARGET MISSED: {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
