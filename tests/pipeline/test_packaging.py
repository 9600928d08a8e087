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


def test_root_falls_back_to_the_packaged_copy(
    layout: Layout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packaged = tmp_path / "site-packages" / "kontext_contract" / "_data"
    (packaged / "openapi").mkdir(parents=True)
    (packaged / "openapi" / "sources").mkdir()
    (packaged / "openapi" / "sources" / "manifest.yaml").write_text("merge: {}\n")
    monkeypatch.delenv("KONTEXT_CONTRACT_ROOT", raising=False)
    monkeypatch.setattr(_layout, "_PACKAGED", packaged)
    monkeypatch.setattr(_layout, "__file__", str(packaged.parent / "_layout.py"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert _layout.find_root(elsewhere) == packaged
    assert Layout.discover(elsewhere).contract == packaged / "openapi" / "kontext.openapi.yaml"
