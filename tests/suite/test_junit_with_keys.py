"""The contract suite run the way a fal user's shell runs it: with FAL_KEY (and the pair) set and a JUnit
report asked for (``make contract``). A skip's report is a (path, line, reason) tuple that junitxml asserts
on; the key scrubbing must keep that shape (it turned it into a string: INTERNALERROR in append_skipped)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CANARY = "canary-fal-key-7f3a9c:canary-secret-41d2"


def test_the_suite_with_fal_keys_set_writes_its_junit_report(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    env = {
        **os.environ,
        "FAL_KEY": CANARY,
        "FAL_KEY_ID": "canary-fal-key-7f3a9c",
        "FAL_KEY_SECRET": "canary-secret-41d2",
        "HYPOTHESIS_PROFILE": "ci",
    }
    env.pop("KONTEXT_LIVE", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "contract_tests/test_live.py",
            # the canary tests start a pytest of their own each; make contract runs them (and the whole suite)
            "--deselect",
            "contract_tests/test_live.py::test_canary_key_never_reaches_a_report",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            f"--junitxml={report}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert "INTERNALERROR" not in output, output[-3000:]
    assert result.returncode == 0, output[-3000:]
    xml = report.read_text(encoding="utf-8")
    assert "<skipped" in xml and "KONTEXT_LIVE=1" in xml  # the live test is skipped, with its reason
    for secret in ("canary-fal-key-7f3a9c", "canary-secret-41d2"):
        assert secret not in xml and secret not in output


def _live(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FAL_KEY", "KONTEXT_LIVE"))}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "contract_tests/test_live.py::test_live_provider",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "live",
            f"--junitxml={tmp_path / 'live.xml'}",
        ],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_live_mode_without_a_key_fails_naming_the_variable(tmp_path: Path) -> None:
    """make contract-live (KONTEXT_LIVE=1) with no key: exit 2 naming FAL_KEY, not a green '1 skipped'."""
    result = _live({"KONTEXT_LIVE": "1", "KONTEXT_LIVE_PROVIDER": "fal"}, tmp_path)
    assert result.returncode == 2, result.stdout[-2000:]
    assert "FAL_KEY" in result.stdout + result.stderr


def test_live_mode_optional_skips(tmp_path: Path) -> None:
    result = _live({"KONTEXT_LIVE": "optional", "KONTEXT_LIVE_PROVIDER": "fal"}, tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "1 skipped" in result.stdout and "FAL_KEY" in result.stdout + result.stderr
