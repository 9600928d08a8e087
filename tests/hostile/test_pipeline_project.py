"""Which project a command works on: the pipeline commands find one (``--root``, ``$KONTEXT_CONTRACT_ROOT``,
or the current folder upward) and say which on stderr; from an unrelated folder they fail (exit 2) instead
of building the clone the package was installed from. The library (client, mock, checks) reads the contract
it ships with, whatever the current folder or the environment says."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from kontext_contract import _layout
from kontext_contract._layout import Layout
from kontext_contract.cli import main

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Ran:
    """The command line in this process (click's runner: stdout and stderr apart), run in ``cwd``."""
    environment: dict[str, str | None] = {_layout.ENV_ROOT: None}
    environment.update(env or {})
    here = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args), env=environment)
    finally:
        os.chdir(here)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


def _snapshot(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in (root / "openapi").rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "command",
    [
        ["spec", "build"],
        ["spec", "check"],
        ["spec", "acknowledge"],
        ["codegen", "check"],
        ["sources", "check", "--from", "."],
        ["matrix", "--check"],
    ],
)
def test_a_pipeline_command_outside_a_project_fails_and_builds_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    before = _snapshot(ROOT)
    result = _cli(*command, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no project found here" in result.stderr and "--root" in result.stderr
    assert str(tmp_path) in result.stderr
    assert "Traceback" not in result.stderr
    assert _snapshot(ROOT) == before  # the installed-from clone was not touched


def test_the_project_used_is_said_on_stderr(project: Layout, tmp_path: Path) -> None:
    by_option = _cli("spec", "check", "--root", str(project.root), cwd=tmp_path)
    assert by_option.returncode == 0, by_option.stderr
    assert f"project: {project.root}" in by_option.stderr
    inside = project.root / "overlays"
    by_search = _cli("spec", "check", cwd=inside)
    assert by_search.returncode == 0 and f"project: {project.root}" in by_search.stderr
    by_env = _cli("spec", "check", cwd=tmp_path, env={_layout.ENV_ROOT: str(project.root)})
    assert by_env.returncode == 0 and f"project: {project.root}" in by_env.stderr


@pytest.mark.parametrize("how", ["--root", "env"])
def test_a_chosen_folder_that_is_not_a_project_is_refused_by_name(tmp_path: Path, how: str) -> None:
    folder = tmp_path / "not-a-project"
    folder.mkdir()
    if how == "--root":
        result = _cli("spec", "build", "--root", str(folder), cwd=ROOT)
        assert "--root" in result.stderr
    else:
        result = _cli("spec", "build", cwd=ROOT, env={_layout.ENV_ROOT: str(folder)})
        assert "$KONTEXT_CONTRACT_ROOT" in result.stderr
    assert result.returncode == 2
    assert f"{folder} " in result.stderr and "openapi/sources/manifest.yaml" in result.stderr


def _decoy(tmp_path: Path) -> Path:
    """A folder that looks like a project, with a provider document and a contract that are garbage."""
    decoy = tmp_path / "decoy"
    (decoy / "openapi" / "sources").mkdir(parents=True)
    (decoy / "openapi" / "providers").mkdir()
    (decoy / "openapi" / "sources" / "manifest.yaml").write_text("merge: {}\n", encoding="utf-8")
    (decoy / "openapi" / "kontext.openapi.yaml").write_text("decoy: true\n", encoding="utf-8")
    (decoy / "openapi" / "providers" / "fal.openapi.yaml").write_text("decoy: true\n", encoding="utf-8")
    return decoy


def test_the_library_reads_the_contract_it_ships_with_not_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoy = _decoy(tmp_path)
    monkeypatch.chdir(decoy)
    monkeypatch.setenv(_layout.ENV_ROOT, str(decoy))
    assert _layout.find_root() == decoy  # a pipeline command here would use the decoy, and say so
    shipped = Layout.shipped()
    assert shipped.root == ROOT  # an editable install: the checkout the package is imported from
    from kontext_contract.client import Provider
    from kontext_contract.client._endpoints import catalog
    from kontext_contract.contract import ContractModel

    assert ContractModel.load("fal").require().default_endpoint()  # the decoy's document would not even load
    assert Provider.from_document("fal", key="canary-id:canary-secret").queue_base_url.startswith("https://")
    assert len(catalog().endpoints) == 6


def test_a_wheel_reads_its_packaged_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    packaged = tmp_path / "site-packages" / "kontext_contract" / "_data"
    (packaged / "openapi").mkdir(parents=True)
    (packaged / "openapi" / "kontext.openapi.yaml").write_text("openapi: 3.0.3\n", encoding="utf-8")
    monkeypatch.setattr(_layout, "_PACKAGED", packaged)
    monkeypatch.chdir(_decoy(tmp_path))
    assert Layout.shipped().root == packaged


def test_a_broken_install_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_layout, "_PACKAGED", tmp_path / "nothing")
    monkeypatch.setattr(
        _layout, "__file__", str(tmp_path / "site-packages" / "kontext_contract" / "_layout.py")
    )
    with pytest.raises(FileNotFoundError, match="no contract"):
        _layout.shipped_root()
