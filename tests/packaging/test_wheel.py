"""Installed from a wheel, the package carries the contract and finds it without the repository."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kontext_contract import _layout
from kontext_contract._layout import Layout


def test_wheel_ships_the_contract_and_provider_documents(layout: Layout, tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        str(tmp_path),
        str(layout.root),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    wheel = next(tmp_path.glob("kontext_contract-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "kontext_contract/_data/openapi/kontext.openapi.yaml" in names
    assert "kontext_contract/_data/openapi/sources/manifest.yaml" in names
    for provider in ("fal", "relay-a", "chainhub", "relay-b"):
        assert f"kontext_contract/_data/openapi/providers/{provider}.openapi.yaml" in names
    assert "kontext_contract/client/__init__.py" in names
    # the generated client ships in the same wheel (one version with the contract beside it), typed
    assert {"kontext_api/__init__.py", "kontext_api/py.typed", "kontext_api/api/queue/__init__.py"} <= names
    assert "kontext_contract/py.typed" in names  # PEP 561: type checkers read the installed package


def test_a_library_reads_the_packaged_copy_and_a_pipeline_command_finds_no_project_elsewhere(
    layout: Layout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packaged = tmp_path / "site-packages" / "kontext_contract" / "_data"
    (packaged / "openapi" / "sources").mkdir(parents=True)
    (packaged / "openapi" / "sources" / "manifest.yaml").write_text("merge: {}\n")
    (packaged / "openapi" / "kontext.openapi.yaml").write_text("openapi: 3.0.3\n")
    monkeypatch.delenv("KONTEXT_CONTRACT_ROOT", raising=False)
    monkeypatch.setattr(_layout, "_PACKAGED", packaged)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert Layout.shipped().contract == packaged / "openapi" / "kontext.openapi.yaml"
    with pytest.raises(FileNotFoundError, match="no project found here"):
        _layout.find_root(elsewhere)
