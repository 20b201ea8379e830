"""The fingerprint of an article body: word shingles, their MinHash signature and LSH band keys.

Syndicated copies of one wire story differ in ways that must not matter: a new headline (the
title is left out), a dateline (`WASHINGTON (AP) —`, dropped), a trimmed ending, credit and
promotion lines (`boilerplate.txt`), re-split paragraphs and typographic quotes (the text is
read as one stream of casefolded words, punctuation ignored) and small edits (each costs only
the few shingles around it). What is left is a set of overlapping `SHINGLE_WORDS`-word
shingles, each hashed to 32 bits with BLAKE2b.

datasketch's MinHash turns the set into `layout.bands * layout.rows` minimum hash values; the
signature is cut into bands and each band hashed (BLAKE2b again) into a band key such as
`v1-07-3fa2c4e19b0d5e6f`. Two bodies share a band key with probability 1-(1-J^rows)^bands for
Jaccard similarity J, so band keys stored with a document (a keyword field) and looked up with
an Elasticsearch `terms` query find the candidates; `grouping.same_story` then checks them.

Everything is deterministic: no Python `hash()`, datasketch's permutations come from its fixed
seed, and the key scheme is versioned (`KEY_VERSION`) so that keys made with other parameters
never match.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

__all__ = [
    "KEY_VERSION",
    "SHINGLE_WORDS",
    "MIN_WORDS",
    "BandLayout",
    "LAYOUT",
    "Fingerprint",
    "story_words",
    "shingles",
    "fingerprint",
    "band_keys",
]

KEY_VERSION = "v1"
SHINGLE_WORDS = 5
MIN_WORDS = 40  # shorter bodies (briefs, feed summaries) are too thin to tell copies from coincidences
MINHASH_SCHEME = "affine32"
MINHASH_SEED = 1

_WORD = re.compile(r"\w+")
_PARAGRAPHS = re.compile(r"\n\s*\n|\n")
_DATELINE = re.compile(
    r"""^\s*(?:
        [A-Z][A-Z.'’\- ]{1,40}(?:,\s*[A-Z][\w.'’\- ]{1,30}){0,2}\s*(?:\([^)\n]{1,40}\))?   # WASHINGTON (AP)
        | [^\n()]{1,60}\((?:AP|Reuters|AFP|dpa|UPI|Bloomberg)\)                            # Nairobi, Kenya (AP)
    )\s*[—–-]{1,2}\s+""",
    re.VERBOSE,
)
_BOILERPLATE_MAX_WORDS = 40


@dataclass(frozen=True)
class BandLayout:
    """How a MinHash signature is cut for LSH: `bands` bands of `rows` values each."""

    bands: int
    rows: int

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows

    def candidate_probability(self, jaccard: float) -> float:
        """The chance that two bodies with this Jaccard similarity share at least one band key."""
        return 1.0 - (1.0 - jaccard**self.rows) ** self.bands


LAYOUT = BandLayout(bands=64, rows=2)


@dataclass(frozen=True)
class Fingerprint:
    """What story grouping keeps of a body: shingle hashes, their number, MinHash signature, band keys.

    A fingerprint read back from an index (`from_stored`) has no shingle set, only the
    signature and the count; `grouping.containment` then estimates from the signature.
    """

    shingles: frozenset[int]
    shingle_count: int
    signature: tuple[int, ...]
    band_keys: tuple[str, ...]

    def estimated_jaccard(self, other: Fingerprint) -> float:
        """The MinHash estimate of the Jaccard similarity: the share of equal signature values."""
        if len(self.signature) != len(other.signature) or not self.signature:
            return 0.0
        same = sum(1 for a, b in zip(self.signature, other.signature) if a == b)
        return same / len(self.signature)

    def to_stored(self) -> dict[str, Any]:
        """What an index keeps with the article, as JSON values.

        `band_keys` is the one field to index (keyword, for the `terms` lookup); `signature`,
        `shingle_count` and `shingles` (the sorted 32-bit hashes, base64: ~2.7 kB for 500
        words) are stored only, so that a candidate is verified exactly without re-reading
        its body.
        """
        packed = np.asarray(sorted(self.shingles), dtype="<u4").tobytes()
        return {"band_keys": list(self.band_keys), "signature": list(self.signature),
                "shingle_count": self.shingle_count, "shingles": base64.b64encode(packed).decode("ascii")}

    @classmethod
    def from_stored(cls, stored: dict[str, Any], layout: BandLayout | None = None) -> Fingerprint:
        """Rebuild a fingerprint from `to_stored()` output, or from a part of it.

        Shingles are optional (without them checks estimate from the signature); so are the
        signature and the band keys (an index that verifies on the shingles keeps only those
        and the count: the keys are its own field). Band keys missing beside a signature are
        recomputed from it.
        """
        signature = tuple(int(v) for v in stored.get("signature") or ())
        packed = base64.b64decode(stored.get("shingles") or "")
        shingles = frozenset(np.frombuffer(packed, dtype="<u4").tolist())
        if "band_keys" in stored:
            keys = tuple(stored["band_keys"])
        else:
            keys = band_keys(signature, layout or LAYOUT) if signature else ()
        return cls(shingles=shingles, shingle_count=int(stored["shingle_count"]), signature=signature, band_keys=keys)


@lru_cache(maxsize=1)
def _boilerplate() -> tuple[re.Pattern[str], ...]:
    text = resources.files(__package__).joinpath("boilerplate.txt").read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines()]
    return tuple(re.compile(line, re.IGNORECASE) for line in lines if line and not line.startswith("#"))


def _is_boilerplate(paragraph: str) -> bool:
    if len(paragraph.split()) >= _BOILERPLATE_MAX_WORDS:
        return False
    return any(pattern.match(paragraph) for pattern in _boilerplate())


def story_words(body: str) -> list[str]:
    """The body as casefolded words, without dateline, credit, copyright and promotion lines."""
    paragraphs = [p.strip() for p in _PARAGRAPHS.split(unicodedata.normalize("NFKC", body))]
    kept = [p for p in paragraphs if p and not _is_boilerplate(p)]
    if kept:
        kept[0] = _DATELINE.sub("", kept[0], count=1)
    return _WORD.findall(" ".join(kept).casefold())


def shingles(words: list[str], size: int = SHINGLE_WORDS) -> frozenset[int]:
    """32-bit BLAKE2b hashes of every run of `size` consecutive words."""
    runs = (" ".join(words[i : i + size]) for i in range(max(len(words) - size + 1, 0)))
    return frozenset(int.from_bytes(hashlib.blake2b(run.encode("utf-8"), digest_size=4).digest(), "little") for run in runs)


@lru_cache(maxsize=8)
def _permutations(num_perm: int) -> Any:
    from datasketch import MinHash  # imports scipy: loaded on first use, not with the CLI

    return MinHash(num_perm=num_perm, seed=MINHASH_SEED, scheme=MINHASH_SCHEME).permutations


def _already_hashed(value: int) -> int:
    return value


def band_keys(signature: tuple[int, ...], layout: BandLayout = LAYOUT) -> tuple[str, ...]:
    """One key per band: `<version>-<band>-<BLAKE2b of the band's values>`."""
    keys = []
    for band in range(layout.bands):
        values = np.asarray(signature[band * layout.rows : (band + 1) * layout.rows], dtype="<u4")
        digest = hashlib.blake2b(values.tobytes(), digest_size=8, person=KEY_VERSION.encode()).hexdigest()
        keys.append(f"{KEY_VERSION}-{band:02d}-{digest}")
    return tuple(keys)


def fingerprint(body: str, *, size: int = SHINGLE_WORDS, layout: BandLayout = LAYOUT) -> Fingerprint | None:
    """The body's fingerprint; None when it has fewer than MIN_WORDS words after cleaning."""
    words = story_words(body)
    if len(words) < max(MIN_WORDS, size):
        return None
    hashed = shingles(words, size)
    from datasketch import MinHash

    minhash = MinHash(
        num_perm=layout.num_perm,
        seed=MINHASH_SEED,
        scheme=MINHASH_SCHEME,
        hashfunc=_already_hashed,
        permutations=_permutations(layout.num_perm),
    )
    minhash.update_batch(sorted(hashed))
    signature = tuple(int(v) for v in minhash.hashvalues)
    return Fingerprint(shingles=hashed, shingle_count=len(hashed), signature=signature, band_keys=band_keys(signature, layout))
