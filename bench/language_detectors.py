"""Compare language detectors on short news text: accuracy, CPU per text, load time, memory.

    python -m bench.language_detectors DETECTOR [MODE]     DETECTOR: py3langid | lingua | langdetect

How py3langid was chosen for `pipeline.stories.language` (issue 15). Run each detector in its
own process (memory is the process's peak RSS); the ones that are not newswire dependencies
have to be installed first, in a scratch environment:
`pip install lingua-language-detector langdetect py3langid`. The texts are
eval/language/snippets.jsonl: 65 original news titles with a first sentence, 12 languages,
15 of them English with foreign names and places (the case that must not go wrong: English
taken for another language would lose its entities and quotes).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

SNIPPETS = Path(__file__).resolve().parent.parent / "eval" / "language" / "snippets.jsonl"


def _detector(name: str, mode: str):
    if name == "lingua":
        from lingua import LanguageDetectorBuilder

        builder = LanguageDetectorBuilder.from_all_languages()
        builder = builder.with_low_accuracy_mode() if mode == "low" else builder
        detector = builder.build()
        return lambda text: (lambda found: found.iso_code_639_1.name.lower() if found else None)(detector.detect_language_of(text))
    if name == "langdetect":
        from langdetect import DetectorFactory, detect
        from langdetect.lang_detect_exception import LangDetectException

        DetectorFactory.seed = 0  # langdetect is random without it

        def run(text: str) -> str | None:
            try:
                return detect(text)
            except LangDetectException:
                return None

        return run
    if name == "py3langid":
        from pipeline.stories.language import detect_language

        return lambda text: detect_language("", text)
    raise SystemExit(f"unknown detector {name!r}")


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if not args:
        raise SystemExit(__doc__)
    name, mode = args[0], (args[1] if len(args) > 1 else "")
    rows = [json.loads(line) for line in SNIPPETS.read_text(encoding="utf-8").splitlines()]
    started = time.perf_counter()
    detect = _detector(name, mode)
    detect("a first text loads the model")
    loaded = time.perf_counter() - started
    print(f"{name} {mode}: ready in {loaded:.2f} s")
    for field in ("title", "title + first sentence"):
        texts = [(row["lang"], row["title"] if field == "title" else f"{row['title']}\n{row['body']}") for row in rows]
        cpu = time.process_time()
        answers = [(lang, detect(text)) for lang, text in texts]
        cpu = (time.process_time() - cpu) / len(texts) * 1000
        right = sum(1 for lang, got in answers if got == lang)
        english_lost = sum(1 for lang, got in answers if lang == "en" and got not in ("en", None))
        unknown = sum(1 for _, got in answers if got is None)
        print(f"  {field:<24} accuracy {right / len(texts):.3f}  unknown {unknown:>2}  English taken for another {english_lost:>2}  {cpu:.2f} ms/text")
    print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
