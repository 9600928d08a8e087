"""A contract change turns a replay's verdict where a recorded answer no longer conforms, and only there; the
line says which change. The change is made as a maintainer makes it: an overlay in a copy of the project and
``kontext-contract spec build`` there (as tests/propagation does), then the recording made under the
committed contract is replayed against the copy's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kontext_contract import _layout
from kontext_contract.checks import Report
from kontext_contract.checks._har import load_har
from kontext_contract.checks._replay import replay

from .test_record_replay import record

ROOT = Path(__file__).resolve().parents[2]


def _copy_with(tmp: Path, name: str, actions: list[dict[str, Any]]) -> Path:
    copy = tmp / name
    for folder in ("openapi", "overlays"):
        shutil.copytree(ROOT / folder, copy / folder)
    overlay = {"overlay": "1.0.0", "info": {"title": name, "version": "1.0.0"}, "actions": actions}
    (copy / "overlays" / "090-replay-test.overlay.yaml").write_text(yaml.safe_dump(overlay, sort_keys=False))
    env = {**os.environ, _layout.ENV_ROOT: str(copy)}
    proc = subprocess.run(
        [sys.executable, "-m", "kontext_contract.cli", "spec", "build"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return copy


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Report]:
    har = tmp_path_factory.mktemp("rec") / "fal.har"
    return har, record("fal", har)


@pytest.fixture(scope="module")
def stricter_submit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The submit's answer must carry a field no recorded answer has."""
    return _copy_with(
        tmp_path_factory.mktemp("copies"),
        "stricter-submit",
        [
            {
                "target": "$.components.schemas.QueueStatusInQueue.properties",
                "description": "Replay test (made for the test): a field the queue status must carry. Source: tests/checks.",
                "update": {"eta_seconds": {"type": "integer", "description": "Made for the test."}},
            },
            {
                "target": "$.components.schemas.QueueStatusInQueue.required",
                "description": "Replay test (made for the test): the new field is required. Source: tests/checks.",
                "update": "eta_seconds",
            },
        ],
    )


@pytest.fixture(scope="module")
def wording_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy_with(
        tmp_path_factory.mktemp("copies"),
        "wording-only",
        [
            {
                "target": "$.components.schemas.QueueStatusInQueue",
                "description": "Replay test (made for the test): a description changes, nothing else. Source: tests/checks.",
                "update": {"description": "A request waiting in the queue (reworded for the test)."},
            }
        ],
    )


@pytest.fixture()
def under() -> Iterator[Any]:
    def use(copy: Path) -> None:
        _layout.use_contract_from(copy)

    yield use
    _layout.use_contract_from(None)


def test_a_stricter_contract_turns_the_replay_and_says_which_change(
    recorded: tuple[Path, Report], stricter_submit: Path, under: Any
) -> None:
    har, live = recorded
    assert live.compatible
    under(stricter_submit)
    again = replay(load_har(har))
    assert again.replay is not None and again.replay["contract_changed"]
    assert any("eta_seconds" in c for c in again.replay["contract_changes"])
    by_name = {r.name: r for r in again.results}
    submit = by_name["submit_response_schema"]
    assert submit.status == "fail" and "eta_seconds" in submit.evidence.got
    line = submit.line()
    assert (
        "contract change: PASS when recorded;" in line
        and "QueueStatusInQueue" in line
        and "eta_seconds" in line
    )
    before = {r.name: r.status for r in live.results}
    for result in again.results:
        if result.status != before[result.name]:
            assert result.evidence.change.startswith(f"{before[result.name].upper()} when recorded"), (
                result.line()
            )
        else:
            assert not result.evidence.change, result.line()
    assert not again.compatible
    # a check no recorded answer of which is touched by the change keeps its verdict
    assert by_name["result_404_unknown_id"].status == "pass"


def test_a_change_of_wording_turns_nothing(
    recorded: tuple[Path, Report], wording_only: Path, under: Any
) -> None:
    har, live = recorded
    under(wording_only)
    again = replay(load_har(har))
    assert again.replay is not None and again.replay["contract_changed"]
    assert [(r.name, r.status) for r in again.results] == [(r.name, r.status) for r in live.results]
    assert not any(r.evidence.change for r in again.results)
