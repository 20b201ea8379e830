"""What a hostile HTML page costs `extract_page`, bounded and unbounded, measured in one run.

    python -m bench.html_extraction [--megabytes 20] [--unbounded-megabytes 1]

Each page shape runs in its own process (peak memory is that process's `VmHWM`): a flat page
of tiny elements, a page of links, a table, long distinct paragraphs, one huge text node. Each is
made at `--megabytes` (the files connector's default file limit is 20 MiB) and passed to
`extract_page` as newswire calls it (bounded: refused or extracted), and made at
`--unbounded-megabytes` and passed straight to trafilatura (what the same page cost before the
bound; the unbounded cost grows faster than the size, so the big size is not run unbounded).
The ratio is the two per megabyte; then the biggest page of the shape the bound lets through,
extracted (the worst case that is accepted). Tests never assert on time; this prints it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time

__all__ = ["main", "page"]

SHAPES = ("tiny elements", "links", "table", "paragraphs", "one text node")


def page(shape: str, size: int) -> str:
    """An HTML page of about `size` characters made of one hostile shape."""
    if shape == "tiny elements":
        unit = "<div><span>word</span></div>"
    elif shape == "links":
        unit = '<a href="https://example.org/x">link</a> '
    elif shape == "table":
        unit = "<tr><td>a</td><td>b</td></tr>"
    elif shape == "paragraphs":
        unit = "<p>" + "Officials said the harbour would reopen on Tuesday after the storm. " * 15 + "</p>"
    else:
        unit = "lorem ipsum dolor "
    body = "".join(unit.replace("harbour", f"harbour {n}") for n in range(size // len(unit)))
    wrapper = {"table": "<table>{}</table>", "one text node": "<p>{}</p>"}.get(shape, "{}")
    return "<html><body><article>" + wrapper.format(body) + "</article></body></html>"

def at_bound(shape: str, start: int) -> int:
    """The size of (about) the biggest page of `shape` the bound still lets through: shrink by 10 % until it passes."""
    from pipeline.errors import SourceRejected
    from pipeline.plugin.html import check_page_size

    size = start
    while size > 1000:
        try:
            check_page_size(page(shape, size))
            return size
        except SourceRejected:
            size = int(size * 0.9)
    return size


def _measure(shape: str, size: int, bounded: bool, results) -> None:
    import trafilatura

    from pipeline.errors import SourceRejected
    from pipeline.plugin.html import extract_page

    html = page(shape, size)
    started = time.monotonic()
    try:
        if bounded:
            found = extract_page(html)
            outcome = f"extracted {len(found.text)} chars" if found else "no text"
        else:
            found = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, include_tables=False)
            outcome = "extracted" if found else "no text"
    except SourceRejected as e:
        outcome = f"refused: {e}"
    results.put((time.monotonic() - started, _peak_megabytes(), outcome))


def _peak_megabytes() -> float:
    """This process's peak RSS (`VmHWM`: reset by exec, unlike ru_maxrss, which a spawned child inherits)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _run(shape: str, size: int, bounded: bool) -> tuple[float, float, str]:
    results = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(target=_measure, args=(shape, size, bounded, results))
    process.start()
    process.join()
    return results.get() if not results.empty() else (float("nan"), float("nan"), f"exit {process.exitcode}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.html_extraction", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=20.0)
    parser.add_argument("--unbounded-megabytes", type=float, default=1.0)
    args = parser.parse_args(argv)
    big, small = int(args.megabytes * 1_000_000), int(args.unbounded_megabytes * 1_000_000)
    print(f"{'shape':<14} {'bounded ' + str(args.megabytes) + ' MB':>22} {'unbounded ' + str(args.unbounded_megabytes) + ' MB':>24}"
          f"  s/MB ratio  {'largest page let through':>30}  outcome")
    for shape in SHAPES:
        b_time, b_mem, outcome = _run(shape, big, True)
        u_time, u_mem, _ = _run(shape, small, False)
        edge = at_bound(shape, big)
        e_time, e_mem, e_outcome = _run(shape, edge, True)
        ratio = (u_time / args.unbounded_megabytes) / max(b_time / args.megabytes, 1e-9)
        print(f"{shape:<14} {b_time:8.2f} s {b_mem:7.0f} MB {u_time:10.2f} s {u_mem:7.0f} MB {ratio:10.0f}x"
              f"  {edge / 1e6:5.1f} MB {e_time:6.2f} s {e_mem:6.0f} MB  {outcome[:40]} | {e_outcome[:30]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
