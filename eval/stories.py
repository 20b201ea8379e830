"""Score story grouping ("same story as an earlier article") on the labelled set eval/stories/.

Run: `.venv/bin/python -m eval.stories [--sweep] [--estimated] [--verbose]`.
Prints one row per wire story and the pairwise figures of each split; exits 1 when a
target is missed on either split.

How it is scored (see eval/stories/README.md): the articles of one split go, in order of
(published_at, id), through `pipeline.stories.grouping.StoryBook` — LSH band keys find
candidates, `same_story` verifies them — exactly as an index would see them arrive. Every
pair of articles in the split is then a true positive (same gold story, same predicted story),
a false positive (different gold stories grouped together) or a false negative (one gold story
split apart). Precision = tp / (tp + fp), recall = tp / (tp + fn).

`--sweep` runs the development split at a range of thresholds and prints the threshold the
code should use: the middle of the widest run of thresholds with the best F1 on the
development split. That is how `SAME_STORY_THRESHOLD` was chosen; the test split is never
used for it. `--estimated` verifies on MinHash estimates (what an index that stores only
the signature can do) instead of exact shingle sets.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import combinations
from pathlib import Path

from pipeline.stories.fingerprint import Fingerprint, fingerprint
from pipeline.stories.grouping import SAME_STORY_THRESHOLD, StoryBook, containment

__all__ = ["TARGETS", "LabelledArticle", "SplitReport", "load", "group", "score", "sweep", "choose_threshold", "report_lines", "main"]

SET = Path(__file__).resolve().parent / "stories" / "articles.jsonl"
TARGETS = {"precision": 0.98, "recall": 0.95}
SPLITS = ("dev", "test")


@dataclass(frozen=True)
class LabelledArticle:
    id: str
    title: str
    body: str
    published_at: datetime
    story: str
    kind: str
    split: str


@dataclass
class SplitReport:
    """Pairwise figures of one split, with the articles and what they were grouped into."""

    split: str
    articles: list[LabelledArticle]
    predicted: dict[str, str]
    tp: int = 0
    fp: int = 0
    fn: int = 0
    closest_other: tuple[float, str, str] = (0.0, "", "")
    weakest_copy: tuple[float, str, str] = (1.0, "", "")

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp + self.fp + self.fn else 1.0

    def failures(self) -> list[str]:
        """The targets this split misses, as readable lines (empty when all are met)."""
        return [f"{self.split}: pairwise {name} {getattr(self, name):.3f} < {target}"
                for name, target in TARGETS.items() if getattr(self, name) < target]


def load(path: Path = SET, split: str | None = None) -> list[LabelledArticle]:
    """The labelled articles (of one split, or all)."""
    articles = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if split and row["split"] != split:
            continue
        when = datetime.fromisoformat(row["published_at"].replace("Z", "+00:00"))
        articles.append(LabelledArticle(row["id"], row["title"], row["body"], when, row["story"], row["kind"], row["split"]))
    return articles


def _fingerprints(articles: list[LabelledArticle], estimated: bool) -> dict[str, Fingerprint | None]:
    prints = {a.id: fingerprint(a.body) for a in articles}
    if estimated:
        return {key: replace(value, shingles=frozenset()) if value else None for key, value in prints.items()}
    return prints


def group(articles: list[LabelledArticle], threshold: float = SAME_STORY_THRESHOLD, estimated: bool = False,
          prints: dict[str, Fingerprint | None] | None = None) -> dict[str, str]:
    """Article id → predicted story id, the articles taken in order of (published_at, id)."""
    prints = prints if prints is not None else _fingerprints(articles, estimated)
    book = StoryBook(threshold=threshold)
    for article in sorted(articles, key=lambda a: (a.published_at, a.id)):
        book.add(article.id, article.published_at, prints[article.id])  # seen in order of publication
    return book.story_ids()


def _count_pairs(report: SplitReport) -> SplitReport:
    for a, b in combinations(report.articles, 2):
        gold = a.story == b.story
        predicted = report.predicted[a.id] == report.predicted[b.id]
        report.tp += gold and predicted
        report.fp += predicted and not gold
        report.fn += gold and not predicted
    return report


def _margins(report: SplitReport, prints: dict[str, Fingerprint | None]) -> SplitReport:
    """The most similar pair of different stories, and the copy least similar to its story's earlier copies."""
    ordered = sorted(report.articles, key=lambda a: (a.published_at, a.id))
    for n, article in enumerate(ordered):
        mine = prints[article.id]
        earlier = [(containment(mine, prints[e.id]), e) for e in ordered[:n] if mine and prints[e.id]]
        for value, other in earlier:
            if other.story != article.story and value > report.closest_other[0]:
                report.closest_other = (value, other.id, article.id)
        same = [value for value, other in earlier if other.story == article.story]
        if same and max(same) < report.weakest_copy[0]:
            report.weakest_copy = (max(same), article.story, article.id)
    return report


def score(split: str, threshold: float = SAME_STORY_THRESHOLD, estimated: bool = False, path: Path = SET) -> SplitReport:
    """Group one split, count its pairs and find its closest calls."""
    articles = load(path, split)
    prints = _fingerprints(articles, estimated)
    report = SplitReport(split, articles, group(articles, threshold, prints=prints))
    return _margins(_count_pairs(report), prints)


def sweep(split: str = "dev", thresholds: list[float] | None = None, estimated: bool = False, path: Path = SET) -> list[SplitReport]:
    """The split grouped at each threshold (fingerprints made once)."""
    articles = load(path, split)
    prints = _fingerprints(articles, estimated)
    steps = thresholds or [round(0.05 * i, 2) for i in range(2, 20)]
    reports = []
    for threshold in steps:
        report = _count_pairs(SplitReport(split, articles, group(articles, threshold, prints=prints)))
        reports.append((threshold, report))
    return reports


def choose_threshold(reports: list[tuple[float, SplitReport]]) -> float:
    """The middle of the widest run of consecutive thresholds that reach the best F1."""
    best = max(report.f1 for _, report in reports)
    runs, current = [], []
    for threshold, report in reports:
        if report.f1 == best:
            current.append(threshold)
        elif current:
            runs.append(current)
            current = []
    runs.append(current) if current else None
    widest = max(runs, key=len)
    return round((widest[0] + widest[-1]) / 2, 3)


def report_lines(reports: list[SplitReport], verbose: bool = False) -> list[str]:
    """One row per multi-copy gold story, then the pairwise figures per split."""
    lines = [f"{'story':<24} {'split':<5} {'copies':>6} {'grouped':>7} {'groups':>6} {'wrongly joined':>14}"]
    for report in reports:
        members: dict[str, list[LabelledArticle]] = defaultdict(list)
        for article in report.articles:
            members[article.story].append(article)
        by_predicted: dict[str, set[str]] = defaultdict(set)
        for article in report.articles:
            by_predicted[report.predicted[article.id]].add(article.story)
        for story, copies in members.items():
            if len(copies) < 2:
                continue
            groups = {report.predicted[a.id] for a in copies}
            largest = max(sum(1 for a in copies if report.predicted[a.id] == g) for g in groups)
            strangers = sorted({other for g in groups for other in by_predicted[g] if other != story})
            lines.append(f"{story[:24]:<24} {report.split:<5} {len(copies):>6} {largest:>7} {len(groups):>6} {len(strangers):>14}")
            if verbose:
                lines.extend(f"    joined with {other}" for other in strangers)
                lines.extend(f"    split off: {a.id}" for a in copies if len(groups) > 1 and report.predicted[a.id] != copies[0].id)
        singles_joined = sum(1 for a in report.articles if len(members[a.story]) == 1 and report.predicted[a.id] != a.id)
        lines.append(f"{'(single articles joined)':<24} {report.split:<5} {'':>6} {'':>7} {'':>6} {singles_joined:>14}")
    lines.append("")
    for report in reports:
        lines.append(
            f"{report.split}: {len(report.articles)} articles, pairwise precision {report.precision:.3f} "
            f"recall {report.recall:.3f} F1 {report.f1:.3f} (tp {report.tp} fp {report.fp} fn {report.fn}) "
            f"at containment >= {SAME_STORY_THRESHOLD}"
        )
        value, first, second = report.closest_other
        lines.append(f"  closest different stories: {value:.3f} ({first} ~ {second})")
        value, story, copy = report.weakest_copy
        lines.append(f"  weakest copy: {value:.3f} ({copy} to the best earlier copy of {story})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", action="store_true", help="measure thresholds on the development split")
    parser.add_argument("--estimated", action="store_true", help="verify on MinHash estimates, not exact shingle sets")
    parser.add_argument("--verbose", "-v", action="store_true", help="name every wrongly joined or split-off article")
    args = parser.parse_args(argv)
    if args.sweep:
        reports = sweep(estimated=args.estimated)
        print(f"{'threshold':>9} {'precision':>9} {'recall':>7} {'F1':>6}   (development split)")
        for threshold, report in reports:
            print(f"{threshold:>9.2f} {report.precision:>9.3f} {report.recall:>7.3f} {report.f1:>6.3f}")
        print(f"chosen threshold: {choose_threshold(reports)} (middle of the widest run of best F1)")
        return 0
    reports = [score(split, estimated=args.estimated) for split in SPLITS]
    print("\n".join(report_lines(reports, args.verbose)))
    missed = [line for report in reports for line in report.failures()]
    for line in missed:
        print(f"target missed: {line}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
