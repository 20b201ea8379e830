"""Reading a local copy of PolNeAR (BRAT attribution annotations) into what eval/polnear.py scores.

PolNeAR (github.com/networkdynamics/PolNeAR) has no licence: nothing of it is committed here;
these functions read a copy the user points at. Layout: `data/<split>/text/NAME.txt` (the
title line, a blank line, the body) and `data/<split>/attributions/NAME_<annotator>.ann`, one
file per annotator (most articles have one, a few have six). An `.ann` file holds text-bound
spans (`T3<TAB>Content 115 290;300 400<TAB>words`, offsets into the whole file, fragments
separated by `;`) and events tying them into attributions
(`E1<TAB>Attribution:T4 Content:T3 Cue:T2 Source:T1`; `Attribution-no-source` has no source).

From the annotation the scorer derives:
- direct-quote units: runs of at least four words between double quote marks, paired by a
  rule of their own (not newswire's quote finder), and whether an annotated content holds
  them (then its source is the expected speaker) or the annotation leaves them out;
- indirect contents: attributions whose content is mostly outside quote marks;
- the head name of a source ("Kellyanne Conway" in "Trump's campaign manager Kellyanne
  Conway", "Trump Hotels" in "a spokeswoman for Trump Hotels"), or the finding that the source
  names nobody ("a source", "he") or names only an owner ("the Clinton campaign", "Trump aides").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Attribution", "Annotation", "PolnearArticle", "QuoteRun", "SourceName", "load_split",
           "quote_runs", "source_name", "names_match", "mid_sentence_capitals", "SPLITS"]

SPLITS = ("train", "dev")  # the test split is never read: it is kept to judge the result independently
MIN_WORDS = 4
_WORD_RE = re.compile(r"\w+(?:['’]\w+)*")
Spans = list[tuple[int, int]]


@dataclass
class Attribution:
    """One annotated attribution, spans in body offsets (title spans dropped)."""

    source: Spans
    cue: Spans
    content: Spans
    source_text: str = ""
    cue_text: str = ""


@dataclass
class Annotation:
    annotator: str
    attributions: list[Attribution]


@dataclass
class PolnearArticle:
    name: str
    title: str
    body: str
    annotations: list[Annotation] = field(default_factory=list)


def _fragments(field_text: str) -> Spans:
    spans = []
    for part in field_text.split(" ", 1)[1].split(";"):
        start, end = part.split()
        spans.append((int(start), int(end)))
    return spans


def _read_ann(path: Path, body_offset: int, body_length: int) -> list[Attribution]:
    spans: dict[str, tuple[str, Spans]] = {}
    events: list[dict[str, list[str]]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if line.startswith("T") and len(parts) >= 2:
            spans[parts[0]] = (parts[1].split(" ", 1)[0], _fragments(parts[1]))
        elif line.startswith("E") and len(parts) >= 2:
            roles: dict[str, list[str]] = {}
            for item in parts[1].split():
                role, _, ref = item.partition(":")
                roles.setdefault(re.sub(r"\d+$", "", role), []).append(ref)
            events.append(roles)

    def body_spans(refs: list[str]) -> Spans:
        found = []
        for ref in refs:
            for start, end in spans.get(ref, ("", []))[1]:
                start, end = max(start - body_offset, 0), min(end - body_offset, body_length)
                if end > start:
                    found.append((start, end))
        return sorted(found)

    return [
        Attribution(body_spans(e.get("Source", [])), body_spans(e.get("Cue", [])), body_spans(e.get("Content", [])))
        for e in events
        if e.get("Content")
    ]


def _split_title(text: str) -> tuple[str, str, int]:
    first, _, rest = text.partition("\n")
    body = rest.lstrip("\n")
    return first.strip(), body, len(text) - len(body)


def load_split(root: Path, split: str) -> list[PolnearArticle]:
    """The articles of one split with every annotator's attributions; `root` is the copy or its data/ folder."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)} (the test split is never scored here)")
    data = root / "data" if (root / "data").is_dir() else root
    folder = data / split
    if not (folder / "text").is_dir():
        raise FileNotFoundError(f"no PolNeAR {split} split under {data} (expected {folder}/text/)")
    articles = []
    for text_path in sorted((folder / "text").glob("*.txt")):
        name = text_path.stem
        title, body, offset = _split_title(text_path.read_text(encoding="utf-8"))
        article = PolnearArticle(name, title, body)
        for ann in sorted((folder / "attributions").glob(f"{name}_*.ann")):
            attributions = _read_ann(ann, offset, len(body))
            for attribution in attributions:
                attribution.source_text = " ".join(body[s:e] for s, e in attribution.source)
                attribution.cue_text = " ".join(body[s:e] for s, e in attribution.cue)
            article.annotations.append(Annotation(ann.stem.rsplit("_", 1)[1], attributions))
        if article.annotations:
            articles.append(article)
    return articles


@dataclass(frozen=True)
class QuoteRun:
    """Words between a pair of double quote marks (or from an opening mark to the paragraph's end)."""

    start: int
    end: int
    words: int


_MARK_RE = re.compile(r"''|``|‘‘|’’|[\"“”„‘’']")
_OPEN_AFTER = set("([{—–-/") | set("\"“”„‘’'`")
_CLOSE_BEFORE = set(".,;:!?)]}—–-…/") | set("\"“”„‘’'`")


def _flanks(body: str, start: int, end: int) -> tuple[bool, bool]:
    before = body[start - 1] if start > 0 else " "
    after = body[end] if end < len(body) else " "
    left = not after.isspace() and (before.isspace() or before in _OPEN_AFTER)
    right = not before.isspace() and (after.isspace() or after in _CLOSE_BEFORE)
    return left, right


def quote_runs(body: str) -> list[QuoteRun]:
    """Every run of words between quote marks, paragraph by paragraph.

    Double marks (straight, curly, and the doubled `''` / ‘‘ / ’’ of some wires) pair by
    flanking: a mark with a space before opens, one with a space or punctuation after closes.
    Single marks open a run only outside a double one, and are skipped between letters
    (apostrophes); a plural possessive ("voters’ concerns") closes only when no later mark
    can. An opening mark left unclosed runs to the end of its paragraph (a quote over several
    paragraphs opens each of them).
    """
    runs = []
    for paragraph in re.finditer(r"[^\n]+", body):
        marks = []
        for match in _MARK_RE.finditer(paragraph.group()):
            start, end = paragraph.start() + match.start(), paragraph.start() + match.end()
            single = match.group() in "‘’'"
            before = body[start - 1] if start > 0 else " "
            after = body[end] if end < len(body) else " "
            if single and before.isalnum() and after.isalnum():
                continue  # an apostrophe inside a word
            left, right = _flanks(body, start, end)
            if match.group() in ("“", "‘", "``", "‘‘", "„"):
                left = left or not right
            if match.group() in ("”", "’", "’’"):
                right = right or not left
            possessive = single and before in "sS" and after == " " and body[end + 1:end + 2].islower()
            marks.append((start, end, single, left, right, possessive))
        opened = None
        for index, (start, end, single, left, right, possessive) in enumerate(marks):
            if opened is None:
                if left:
                    opened = (end, single)
                continue
            if single != opened[1]:
                continue  # a nested quote or an apostrophe inside the run
            if right:
                if possessive and any(m[2] and m[4] and not m[5] for m in marks[index + 1:]):
                    continue
                runs.append(_run(body, opened[0], start))
                opened = None
            elif left and not single:
                opened = (end, single)  # the earlier double mark never closed
        if opened is not None:
            runs.append(_run(body, opened[0], paragraph.end()))
    return [r for r in runs if r.end > r.start]


def _run(body: str, start: int, end: int) -> QuoteRun:
    while start < end and body[start] in " \t":
        start += 1
    while end > start and body[end - 1] in " \t,;:":
        end -= 1
    return QuoteRun(start, end, len(_WORD_RE.findall(body[start:end])))


# --- the name a source holds ----------------------------------------------------------

_FUNCTION_WORDS = frozenset(
    """the a an he she they it we i you his her their its our my this that these those some many
    one both other others most all several two three four officials sources another each
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday""".split()
)
_TITLES = frozenset(
    """mr mrs ms dr sen senator rep gov president vice secretary gen lt col sgt adm rev capt cmdr maj
    former presumptive nominee candidate mayor judge justice attorney general speaker leader
    chairman chairwoman chair director professor prof press spokesman spokeswoman spokesperson ceo""".split()
)
# Party and group words: a run ending in one ("one New Hampshire Democrat") describes, it does not name.
_GROUP_WORDS = frozenset(
    """republican republicans democrat democrats democratic american americans conservative
    conservatives liberal liberals evangelical evangelicals muslim muslims christian christians
    latino latinos hispanic hispanics gop""".split()
)
_WORD_RUN_RE = re.compile(r"[A-Z][\w’'.-]*(?:\s+(?:(?:de|van|von|der|bin|al|la|le|du|del|da)\s+)?[A-Z][\w’'.-]*)*")
_PREPOSITIONS = frozenset({"for", "of", "at", "with", "from", "in", "on", "by", "to"})
# Lower-case words after a name that do not make it a modifier ("Stacy Baker of Columbia", "Trump said").
_NOT_A_NOUN = frozenset(
    """of for at with from in on by to and or but who whom whose which that said says told wrote
    added is was has had have will would also who's himself herself""".split()
)


@dataclass(frozen=True)
class SourceName:
    """What a source names: `kind` is "named", "owner" (a name modifying a noun) or "none";
    `names` are the head names (several when the source is "Trump and Ryan")."""

    kind: str
    names: tuple[str, ...] = ()

    @property
    def name(self) -> str | None:
        return self.names[0] if self.names else None


def _name_pieces(run: str, at_start: bool, sentence_initial_common: set[str],
                 mid_sentence: set[str] | None = None) -> list[tuple[str, bool]]:
    """A run of capitalised words cut at possessives and titles: (name, ends in a possessive) pieces."""
    pieces, words = [], []
    for word in run.split():
        bare = word.lower().rstrip(".")
        if bare in _TITLES or bare in _FUNCTION_WORDS:
            words = []  # what follows a title is the name ("Navy Capt. Jeff Davis")
            continue
        if at_start and not pieces and not words and (
            word.lower() in sentence_initial_common or (mid_sentence is not None and word not in mid_sentence)
        ):
            continue  # "Aides said": capitalised only because it opens the sentence
        possessive = re.search(r"(?:'s|’s|s'|s’)$", word)
        words.append(re.sub(r"(?:'s|’s|')$|(?<=s)’$", "", word))
        if possessive:
            pieces.append((" ".join(words), True))
            words = []
    if words:
        pieces.append((" ".join(words), False))
    return pieces


def source_name(source: str, sentence_initial_common: set[str], mid_sentence: set[str] | None = None) -> SourceName:
    """The head name of an annotated source, chosen without newswire's rules.

    Candidates are runs of capitalised words cut at titles and possessives, minus a capitalised
    first word the article also uses in lower case; what is in quote marks or brackets is left
    out. A name followed by a possessive or a lower-case noun only modifies ("Trump's aides",
    "the Clinton campaign"), as does one ending in a party or group word ("an Iowa Democrat");
    a name after a preposition ("a spokeswoman for Trump Hotels") is the body spoken for and
    counts only when no other name is there.
    """
    text = re.sub(r"\([^)]*\)|“[^”]*”|\"[^\"]*\"|'[^']*'", lambda m: " " * len(m.group()), source)
    heads, bodies, owners = [], [], []
    heads_end = 0
    for match in _WORD_RUN_RE.finditer(text):
        pieces = _name_pieces(match.group(), match.start() == 0, sentence_initial_common, mid_sentence)
        after = text[match.end():].lstrip()
        next_word = re.match(r"[a-z][\w’'-]*", after)
        before = text[:match.start()].split()
        for number, (name, possessive) in enumerate(pieces):
            name = name.rstrip(".,")
            if not name or not re.search(r"[A-Za-z]", name):
                continue
            last = number == len(pieces) - 1
            modifies = possessive or name.split()[-1].lower() in _GROUP_WORDS or (
                last and next_word is not None and next_word.group() not in _NOT_A_NOUN
            )
            if modifies:
                owners.append(name)
            elif number == 0 and before and before[-1].lower() in _PREPOSITIONS:
                bodies.append(name)
            elif not heads or re.fullmatch(r"\s*(?:and|&)\s*", text[heads_end:match.start()]):
                heads.append(name)  # a second head only when joined by "and" ("Trump and Ryan")
                heads_end = match.end()
    if heads:
        return SourceName("named", tuple(heads))
    if bodies:
        return SourceName("named", (bodies[-1],))
    if owners:
        return SourceName("owner", (owners[0],))
    return SourceName("none")


def mid_sentence_capitals(body: str) -> set[str]:
    """Capitalised words the body uses after a lower-case word or a comma: names, not sentence openers."""
    return set(re.findall(r"(?<=[a-z,;] )([A-Z][\w’'-]*)", body))


def _name_words(name: str) -> list[str]:
    words = re.sub(r"[’']s\b", "", name.replace("’", "'")).casefold().replace(".", " ").split()
    words = [w for w in words if w not in _TITLES and w not in ("jr", "sr", "ii", "iii") and len(w) > 1]
    return words[1:] if words and words[0] == "the" else words


def names_match(predicted: str | None, expected: str) -> bool:
    """Whether a predicted speaker names the expected source: the same words, the surname, or the acronym."""
    if not predicted:
        return False
    got, want = _name_words(predicted), _name_words(expected)
    if not got or not want:
        return False
    if got == want or got[-len(want):] == want or want[-len(got):] == got:
        return True
    if len(want) == 1 and (want[0] == got[0] or want[0] == "".join(w[0] for w in got if w not in ("of", "and", "for"))):
        return True
    if len(got) == 1 and got[0] == "".join(w[0] for w in want if w not in ("of", "and", "for")):
        return True
    return got[0] == want[0] and got[-1] == want[-1]
