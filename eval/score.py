"""Score the enrichment stage against the labelled articles in eval/articles/.

Run: `.venv/bin/python -m eval.score [--verbose] [--dir eval/articles] [--model NAME]`.
Prints one row per article and the overall figures; exits 1 when a target is missed.

Matching rules (see eval/README.md):
- Quotes: a gold quote's span is where its text occurs in the body. Both spans are trimmed
  of surrounding whitespace, punctuation and quote marks; a predicted and a gold quote match
  when their overlap is at least 80% of the longer of the two (one-to-one, best overlap
  first). Predicted quotes matching an optional quote are neither right nor wrong.
- Speakers: accuracy over matched quotes; names compared after normalisation; a gold
  speaker of null must be predicted as null.
- Entities: scored classes are PERSON, ORG and place (GPE, LOC and FAC all count as place);
  other labels (NORP, EVENT, PRODUCT, ...) are not scored. A prediction matches a gold entity
  of the same class whose name or one of whose aliases equals the predicted name after
  normalisation (case, curly apostrophes, a leading "the", a trailing possessive, whitespace). Predictions named in
  optional_entities are ignored. Micro-averaged over all articles.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.article import Article, EnrichedArticle
from pipeline.enrich import Enricher

__all__ = ["TARGETS", "ArticleScore", "Report", "load_labelled", "score", "main"]

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = REPO_ROOT / "eval" / "articles"
SEED_NAME = "000_8b8c846030eca38d"
OVERLAP = 0.8
TARGETS = {"quote_f1": 0.95, "speaker_accuracy": 0.90, "entity_f1": 0.90, "seed_entity_f1": 0.90}
_EDGE = " \t\r\n.,;:!?…\"'“”‘’«»—–-"
_CLASSES = {"PERSON": "PERSON", "ORG": "ORG", "GPE": "place", "LOC": "place", "FAC": "place"}


@dataclass
class Labelled:
    name: str
    article: Article
    gold: dict


@dataclass
class ArticleScore:
    name: str
    quote_tp: int = 0
    quote_fp: int = 0
    quote_fn: int = 0
    speaker_right: int = 0
    speaker_total: int = 0
    entity_tp: int = 0
    entity_fp: int = 0
    entity_fn: int = 0
    problems: list[str] = field(default_factory=list)
    speakers: list[tuple[str | None, str | None]] = field(default_factory=list)

    @property
    def quote_f1(self) -> float:
        return _f1(self.quote_tp, self.quote_fp, self.quote_fn)

    @property
    def entity_f1(self) -> float:
        return _f1(self.entity_tp, self.entity_fp, self.entity_fn)


@dataclass
class Report:
    articles: list[ArticleScore]

    def total(self, attribute: str) -> int:
        return sum(getattr(a, attribute) for a in self.articles)

    @property
    def quote_precision(self) -> float:
        return _ratio(self.total("quote_tp"), self.total("quote_tp") + self.total("quote_fp"))

    @property
    def quote_recall(self) -> float:
        return _ratio(self.total("quote_tp"), self.total("quote_tp") + self.total("quote_fn"))

    @property
    def quote_f1(self) -> float:
        return _f1(self.total("quote_tp"), self.total("quote_fp"), self.total("quote_fn"))

    @property
    def speaker_accuracy(self) -> float:
        return _ratio(self.total("speaker_right"), self.total("speaker_total"))

    @property
    def entity_precision(self) -> float:
        return _ratio(self.total("entity_tp"), self.total("entity_tp") + self.total("entity_fp"))

    @property
    def entity_recall(self) -> float:
        return _ratio(self.total("entity_tp"), self.total("entity_tp") + self.total("entity_fn"))

    @property
    def entity_f1(self) -> float:
        return _f1(self.total("entity_tp"), self.total("entity_fp"), self.total("entity_fn"))

    @property
    def seed(self) -> ArticleScore | None:
        return next((a for a in self.articles if a.name == SEED_NAME), None)

    def failures(self) -> list[str]:
        """The targets this report misses, as readable lines (empty when all are met)."""
        missed = []
        if self.quote_f1 < TARGETS["quote_f1"]:
            missed.append(f"quote F1 {self.quote_f1:.3f} < {TARGETS['quote_f1']}")
        if self.speaker_accuracy < TARGETS["speaker_accuracy"]:
            missed.append(f"speaker accuracy {self.speaker_accuracy:.3f} < {TARGETS['speaker_accuracy']}")
        if self.entity_f1 < TARGETS["entity_f1"]:
            missed.append(f"entity F1 {self.entity_f1:.3f} < {TARGETS['entity_f1']}")
        seed = self.seed
        if seed is None:
            missed.append("seed article not found")
        else:
            if seed.entity_f1 < TARGETS["seed_entity_f1"]:
                missed.append(f"seed entity F1 {seed.entity_f1:.3f} < {TARGETS['seed_entity_f1']}")
            wrong = [s for s in seed.speakers if s != ("antony blinken", "antony blinken")]
            if len(seed.speakers) != 2 or wrong or seed.quote_fn:
                missed.append(f"seed quotes not both found and attributed to Antony Blinken: {seed.speakers}")
        return missed


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else 1.0


def normalize_name(name: str | None) -> str | None:
    if name is None:
        return None
    text = " ".join(name.replace("’", "'").replace("‘", "'").split()).casefold()
    text = text[4:] if text.startswith("the ") else text
    for possessive in ("'s", "'"):
        text = text.removesuffix(possessive)
    return text


def _read_article(path: Path, name: str) -> Article:
    lines = path.read_text(encoding="utf-8").split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    title = lines[first].strip() if first < len(lines) else ""
    body = "\n".join(lines[first + 1:]).strip("\n")
    return Article(id=name, title=title, body=body)


def load_labelled(directory: Path = DEFAULT_DIR) -> list[Labelled]:
    """The labelled articles: each `NAME.gold.json` with its text (`file` in the gold, or NAME.txt)."""
    labelled = []
    for gold_path in sorted(directory.glob("*.gold.json")):
        name = gold_path.name.removesuffix(".gold.json")
        gold = json.loads(gold_path.read_text(encoding="utf-8"))
        text_path = directory / f"{name}.txt"
        if not text_path.exists() and gold.get("file"):
            text_path = REPO_ROOT / gold["file"]
        labelled.append(Labelled(name, _read_article(text_path, name), gold))
    return labelled


def _trim(body: str, start: int, end: int) -> tuple[int, int]:
    while start < end and body[start] in _EDGE:
        start += 1
    while end > start and body[end - 1] in _EDGE:
        end -= 1
    return start, end


def _locate(body: str, texts: list[str], name: str) -> list[tuple[int, int]]:
    spans, cursor = [], 0
    for text in texts:
        at = body.find(text, cursor)
        if at < 0:
            at = body.find(text)
        if at < 0:
            raise ValueError(f"{name}: gold quote not found in the body: {text[:60]!r}")
        spans.append(_trim(body, at, at + len(text)))
        cursor = at + 1
    return spans


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> float:
    shared = min(a[1], b[1]) - max(a[0], b[0])
    longest = max(a[1] - a[0], b[1] - b[0])
    return shared / longest if shared > 0 and longest > 0 else 0.0


def _score_quotes(result: ArticleScore, body: str, gold: dict, enriched: EnrichedArticle) -> None:
    gold_quotes = gold.get("quotes", [])
    optional = [q["text"] if isinstance(q, dict) else q for q in gold.get("optional_quotes", [])]
    gold_spans = _locate(body, [q["text"] for q in gold_quotes], result.name)
    optional_spans = _locate(body, optional, result.name)
    predicted = [(_trim(body, q.start, q.end), q) for q in enriched.quotes]

    pairs = sorted(
        ((_overlap(g, p[0]), gi, pi) for gi, g in enumerate(gold_spans) for pi, p in enumerate(predicted)),
        reverse=True,
    )
    matched_gold: dict[int, int] = {}
    matched_pred: set[int] = set()
    for ratio, gi, pi in pairs:
        if ratio < OVERLAP:
            break
        if gi in matched_gold or pi in matched_pred:
            continue
        matched_gold[gi] = pi
        matched_pred.add(pi)

    for pi, (span, quote) in enumerate(predicted):
        if pi in matched_pred:
            continue
        if any(_overlap(span, o) >= OVERLAP for o in optional_spans):
            continue
        result.quote_fp += 1
        result.problems.append(f"  extra quote   {quote.text[:70]!r} (speaker {quote.speaker})")
    for gi, gold_quote in enumerate(gold_quotes):
        if gi not in matched_gold:
            result.quote_fn += 1
            result.problems.append(f"  missed quote  {gold_quote['text'][:70]!r}")
            continue
        result.quote_tp += 1
        quote = predicted[matched_gold[gi]][1]
        expected, got = normalize_name(gold_quote.get("speaker")), normalize_name(quote.speaker)
        result.speaker_total += 1
        result.speakers.append((got, expected))
        if expected == got:
            result.speaker_right += 1
        else:
            result.problems.append(
                f"  wrong speaker {quote.speaker!r} instead of {gold_quote.get('speaker')!r}: {quote.text[:50]!r}"
            )


def _score_entities(result: ArticleScore, gold: dict, enriched: EnrichedArticle) -> None:
    gold_entities = []
    for entity in gold.get("entities", []):
        names = {normalize_name(entity["name"])} | {normalize_name(a) for a in entity.get("aliases", [])}
        gold_entities.append((entity["name"], _CLASSES.get(entity["type"], entity["type"]), names))
    optional = {normalize_name(n) for n in gold.get("optional_entities", [])}
    matched: set[int] = set()
    for entity in enriched.entities:
        kind = _CLASSES.get(entity.label)
        if kind is None:
            continue
        name = normalize_name(entity.name)
        hit = next(
            (i for i, (_, k, names) in enumerate(gold_entities) if i not in matched and k == kind and name in names),
            None,
        )
        if hit is not None:
            matched.add(hit)
            result.entity_tp += 1
        elif name in optional:
            continue
        else:
            result.entity_fp += 1
            result.problems.append(f"  extra entity  {entity.name!r} {entity.label}")
    for i, (name, kind, _) in enumerate(gold_entities):
        if i not in matched:
            result.entity_fn += 1
            result.problems.append(f"  missed entity {name!r} {kind}")


def score(directory: Path = DEFAULT_DIR, model: str | None = None, enricher: Enricher | None = None) -> Report:
    """Enrich every labelled article and score it against its gold."""
    labelled = load_labelled(directory)
    enricher = enricher or Enricher(model=model)
    outputs = enricher.enrich([item.article for item in labelled])
    scores = []
    for item, output in zip(labelled, outputs):
        result = ArticleScore(item.name)
        if not isinstance(output, EnrichedArticle):
            result.problems.append(f"  enrichment failed: {getattr(output, 'reason', '?')}")
            output = EnrichedArticle(**item.article.model_dump())
        _score_quotes(result, item.article.body, item.gold, output)
        _score_entities(result, item.gold, output)
        scores.append(result)
    return Report(scores)


def report_lines(report: Report, verbose: bool = False) -> list[str]:
    """The per-article table and the overall figures, as printed by the scorer and by the test run."""
    lines = [f"{'article':<28} {'quotes tp/fp/fn':>15} {'qF1':>5} {'speaker':>8} {'ents tp/fp/fn':>14} {'eF1':>5}"]
    for a in report.articles:
        lines.append(
            f"{a.name[:28]:<28} {a.quote_tp:>5}/{a.quote_fp}/{a.quote_fn:<5} {a.quote_f1:5.2f} "
            f"{a.speaker_right:>3}/{a.speaker_total:<4} {a.entity_tp:>5}/{a.entity_fp}/{a.entity_fn:<5} {a.entity_f1:5.2f}"
        )
        if verbose:
            lines.extend(a.problems)
    lines.append("")
    lines.append(
        f"overall: quotes P {report.quote_precision:.3f} R {report.quote_recall:.3f} F1 {report.quote_f1:.3f} | "
        f"speaker accuracy {report.speaker_accuracy:.3f} ({report.total('speaker_right')}/{report.total('speaker_total')}) | "
        f"entities P {report.entity_precision:.3f} R {report.entity_recall:.3f} F1 {report.entity_f1:.3f}"
    )
    seed = report.seed
    if seed is not None:
        lines.append(f"seed: quotes F1 {seed.quote_f1:.3f}, speakers {[s for s, _ in seed.speakers]}, entity F1 {seed.entity_f1:.3f}")
    return lines


def _print_report(report: Report, verbose: bool) -> None:
    print("\n".join(report_lines(report, verbose)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="folder of NAME.txt + NAME.gold.json")
    parser.add_argument("--model", default=None, help="spaCy pipeline to use (default: the installed English one)")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every missed or extra item")
    args = parser.parse_args(argv)
    report = score(args.dir, args.model)
    _print_report(report, args.verbose)
    missed = report.failures()
    for line in missed:
        print(f"TARGET MISSED: {line}")
    if not missed:
        print("all targets met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
