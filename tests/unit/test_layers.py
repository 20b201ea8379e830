"""The layers of docs/architecture.md hold: import-linter checks the contracts in pyproject.toml.

The negative cases copy the packages aside, add one forbidden import to the copy, and show
that the same contracts then fail and name it: the check can fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_the_layers_hold():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture(scope="module")
def copy_of_the_code(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("layers")
    for package in ("pipeline", "connectors"):
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.mark.parametrize(
    "module, forbidden, contract",
    [
        ("pipeline/index/embedded.py", "import pipeline.runtime.loop", "Layers"),
        ("pipeline/runtime/loop.py", "import connectors.rss", "pipeline never imports connectors"),
        ("connectors/files.py", "from pipeline.article import Article", "Connectors import only the public plugin module"),
        ("pipeline/commands/fetch.py", "import pipeline.cli", "Layers"),
        ("pipeline/enrich/enricher.py", "import pipeline.plugin", "do not need the connector kit"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(copy_of_the_code, module, forbidden, contract):
    path = copy_of_the_code / module
    original = path.read_text(encoding="utf-8")
    path.write_text(original + f"\n{forbidden}  # forbidden on purpose\n", encoding="utf-8")
    try:
        result = lint_imports(copy_of_the_code)
    finally:
        path.write_text(original, encoding="utf-8")
    assert result.returncode != 0, result.stdout
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(contract in line for line in broken), result.stdout
