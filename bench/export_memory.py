"""Export memory against index size: `newswire export` over synthetic embedded indexes of growing size.

    .venv/bin/python -m bench.export_memory --sizes 10000 100000 1000000 --work /tmp/export-bench

Builds (once, kept under --work) an embedded index of N synthetic articles each with two quotes
and three entities, then runs the real command — `newswire export --what W --format F -o FILE`
— as a child process per size and format, and reports the child's peak resident memory
(`wait4` rusage) and its rate. Streaming means the peak stays flat while N grows 100-fold.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from pipeline.article import EnrichedArticle, Entity, Quote
from pipeline.index.embedded import EmbeddedIndex

SENTENCES = (
    "The council met on {day} to discuss the harbour budget for the coming year.",
    '"We cannot keep the ferry running on promises," said Ann Lee, the harbour master.',
    "Officials from the Port Authority said the vote would come after the summer.",
    '"Every crossing we cancel costs the island a day of trade," Ben Okafor told reporters.',
    "Residents in Valletta and Gozo have asked for a timetable before the winter storms.",
)


def synthetic(number: int) -> EnrichedArticle:
    day = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=number)
    body = " ".join(sentence.format(day=day.strftime("%A %d %B")) for sentence in SENTENCES) + f" Item {number}."
    quotes = []
    for text, speaker in (("We cannot keep the ferry running on promises,", "Ann Lee"),
                          ("Every crossing we cancel costs the island a day of trade,", "Ben Okafor")):
        start = body.index(text)
        quotes.append(Quote(text=text, speaker=speaker, speaker_label="PERSON", start=start, end=start + len(text)))
    return EnrichedArticle(
        id=f"synthetic/{number:08d}", title=f"Harbour budget, item {number}", body=body, published_at=day, fetched_at=day,
        language="en", source={"connector": "files", "name": f"source-{number % 7}"},
        entities=[Entity(name="Ann Lee", label="PERSON", mentions=1), Entity(name="Ben Okafor", label="PERSON", mentions=1),
                  Entity(name="Port Authority", label="ORG", mentions=1)],
        quotes=quotes, people=["Ann Lee", "Ben Okafor"], organizations=["Port Authority"], places=["Valletta", "Gozo"],
        speakers=["Ann Lee", "Ben Okafor"],
    )


def build(path: Path, size: int) -> None:
    if path.exists():
        return
    partial = path.with_suffix(".building")
    partial.unlink(missing_ok=True)
    started = time.monotonic()
    with EmbeddedIndex(partial) as index:
        for start in range(0, size, 5000):
            index.write([synthetic(n) for n in range(start, min(size, start + 5000))])
    for suffix in ("-wal", "-shm"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    partial.rename(path)
    print(f"built {size} articles in {time.monotonic() - started:.0f} s ({path.stat().st_size / 1e6:.0f} MB)", file=sys.stderr)


def export(data_dir: Path, what: str, format_name: str, output: Path) -> tuple[float, float]:
    """Peak RSS (MB) and wall seconds of one `newswire export` child process."""
    config = data_dir.parent / f"{data_dir.name}.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(data_dir)}), encoding="utf-8")
    command = [sys.executable, "-m", "pipeline.cli", "export", "-c", str(config), "--what", what, "--format", format_name, "-o", str(output)]
    started = time.monotonic()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.monotonic() - started
    if status != 0:
        raise SystemExit(f"export failed: {child.stderr.read().decode()}")
    return usage.ru_maxrss / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--work", type=Path, default=Path("bench/results/export-memory"))
    parser.add_argument("--formats", nargs="+", default=["jsonl", "csv", "parquet"])
    parser.add_argument("--what", nargs="+", default=["articles", "quotes"])
    args = parser.parse_args()
    print("articles  what      format   peak RSS   seconds   articles/s")
    for size in args.sizes:
        data_dir = args.work / f"index-{size}"
        data_dir.mkdir(parents=True, exist_ok=True)
        build(data_dir / "index.sqlite", size)
        for what in args.what:
            for format_name in args.formats:
                output = args.work / f"out-{size}.{what}.{format_name}"
                peak, seconds = export(data_dir, what, format_name, output)
                output.unlink()
                print(f"{size:>8}  {what:<8}  {format_name:<7}  {peak:6.0f} MB  {seconds:8.1f}  {size / seconds:10.0f}", flush=True)


if __name__ == "__main__":
    main()
