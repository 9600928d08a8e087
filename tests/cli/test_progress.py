"""Every wait longer than about 2 s shows progress: generate repeats its status line while nothing
changes; the demo prints a line every few seconds while the contract suite runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from kontext_contract import _demo
from kontext_contract.cli import _generate as _cli


def test_generate_repeats_its_status_while_nothing_changes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = [100.0]
    monkeypatch.setattr(_cli, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    progress = _cli._Progress(heartbeat=2.0)
    progress(SimpleNamespace(status="IN_QUEUE", queue_position=3, logs=None))  # type: ignore[arg-type]
    clock[0] += 1.0
    progress.tick()
    assert capsys.readouterr().err.splitlines() == ["[   0.0 s] in queue, position 3"]
    clock[0] += 1.5
    progress.tick()
    clock[0] += 2.0
    progress.tick()
    assert capsys.readouterr().err.splitlines() == [
        "[   2.5 s] still in queue, position 3",
        "[   4.5 s] still in queue, position 3",
    ]
    progress(SimpleNamespace(status="COMPLETED", queue_position=None, logs=None))  # type: ignore[arg-type]
    clock[0] += 10.0
    progress.tick()  # nothing is waited for any more
    assert capsys.readouterr().err.splitlines() == ["[   4.5 s] completed"]


def test_generate_shows_progress_before_the_first_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = [0.0]
    monkeypatch.setattr(_cli, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    progress = _cli._Progress(heartbeat=2.0)
    clock[0] = 2.0
    progress.tick()
    assert "still waiting for the provider" in capsys.readouterr().err


def test_the_demo_shows_the_suite_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    child = "import sys, time\nfor _ in range(5):\n    sys.stdout.write('.'); sys.stdout.flush(); time.sleep(0.2)\nprint(' [100%]')\n"
    done = _demo._run_with_progress([sys.executable, "-c", child], tmp_path, {}, every=0.05)
    assert isinstance(done, subprocess.CompletedProcess) and done.returncode == 0
    assert done.stdout == "..... [100%]\n"
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.startswith("  ... ") for line in lines)
    assert any("tests done" in line for line in lines)
