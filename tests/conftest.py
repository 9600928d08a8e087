"""Shared fixtures: the project's layout, and a disposable copy of the pipeline's inputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kontext_contract._layout import Layout

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(autouse=True)
def _journal_outside_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test writes the per-user request journal (``generate`` keeps one by default): every test, and
    every process it starts, gets its own through $KONTEXT_JOURNAL."""
    monkeypatch.setenv("KONTEXT_JOURNAL", str(tmp_path_factory.mktemp("journal") / "journal.sqlite3"))


@pytest.fixture(scope="session")
def layout() -> Layout:
    return Layout(ROOT)


@pytest.fixture
def project(tmp_path: Path) -> Layout:
    """A copy of the pipeline's inputs and committed outputs, safe to break."""
    for folder in ("openapi", "overlays"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "openapi-python-client.yaml", tmp_path / "openapi-python-client.yaml")
    return Layout(tmp_path)
