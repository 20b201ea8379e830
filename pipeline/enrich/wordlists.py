"""The word lists enrichment consults, read once from the data files in pipeline/enrich/data/.

Each `NAME.txt` holds one entry a line; lines starting with `#` are comments, and the first
comments say what the list is for and where it comes from. `NAME.tsv` files map a variant to
a canonical form, tab-separated. Entries are kept exactly as written (case matters: some lists
hold capitalised words, most lower-case ones); tests/unit/test_enrich_wordlists.py fails on
duplicates and on entries that belong in another list.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["DATA_DIR", "word_list", "word_table", "list_names", "entries"]

DATA_DIR = Path(__file__).resolve().parent / "data"


def entries(path: Path) -> list[str]:
    """The entries of a data file in file order (comments and blank lines left out), duplicates kept."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


@cache
def word_list(name: str) -> frozenset[str]:
    """The words of `data/NAME.txt`."""
    return frozenset(entries(DATA_DIR / f"{name}.txt"))


@cache
def word_table(name: str) -> dict[str, str]:
    """The variant -> canonical mapping of `data/NAME.tsv`."""
    table = {}
    for line in entries(DATA_DIR / f"{name}.tsv"):
        variant, _, canonical = line.partition("\t")
        table[variant.strip()] = canonical.strip()
    return table


def list_names() -> list[str]:
    """Names of every word list (`.txt`) in the data folder."""
    return sorted(path.stem for path in DATA_DIR.glob("*.txt"))
