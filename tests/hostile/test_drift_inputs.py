"""Drift commands on broken input: ``sources check --from DIR`` with a broken download (a binary file named
like a source, a folder where a file should be, an oversized file, an empty or wrong folder) is an error
(exit 2) naming the file and what was expected, never a traceback nor a silent "nothing changed"; ``diff``
refuses a built contract that is stale (an overlay edited since ``make spec``), since it would miss the edit.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from kontext_contract._layout import Layout
from kontext_contract.cli import main
from kontext_contract.drift import _sources_check
from tests.conftest import ROOT

TRANSCRIBED = "004-relay-b-kontext.yaml"
PUBLISHED = "004_a1c3006d7d08389f.txt"


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def _downloads(layout: Layout, tmp_path: Path) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir()
    for path in layout.sources_dir.glob("0*.yaml"):
        shutil.copy(path, folder / path.name)
    return folder


def _binary(name: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        (folder / name).write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
        return folder / name

    return make


def _latin1(folder: Path) -> Path:
    path = folder / TRANSCRIBED
    path.write_bytes(path.read_bytes().replace("默认".encode(), "d\xe9faut".encode("latin-1"), 1) + b"\xe9")
    return path


def _directory(folder: Path) -> Path:
    (folder / TRANSCRIBED).unlink()
    (folder / TRANSCRIBED).mkdir()
    return folder / TRANSCRIBED


def _huge(folder: Path) -> Path:
    path = folder / PUBLISHED
    with path.open("wb") as fh:
        fh.truncate(_sources_check.MAX_SOURCE_BYTES + 1)  # sparse: no memory, no disk
    return path


BROKEN_FILES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "binary transcribed source": (_binary(TRANSCRIBED), "not UTF-8 text"),
    "binary published page": (_binary(PUBLISHED), "not UTF-8 text"),
    "Latin-1 transcribed source": (_latin1, "not UTF-8 text"),
    "a folder named like a source": (_directory, "not a file"),
    "an oversized published page": (_huge, "too large"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_FILES))
def test_a_broken_file_in_the_folder_is_named(project: Layout, tmp_path: Path, case: str) -> None:
    make, fragment = BROKEN_FILES[case]
    folder = _downloads(project, tmp_path)
    bad = make(folder)
    code, out, err = _invoke("sources", "check", "--from", str(folder), "--root", str(project.root))
    assert code == 2, out + err
    assert f"error: {bad}" in err and fragment in err and "expected:" in err
    assert "Traceback" not in out + err and "nothing changed" not in out


def _empty(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def _wrong(tmp_path: Path) -> Path:
    folder = tmp_path / "wrong"
    folder.mkdir()
    (folder / "index.html").write_text("<html>rate limited</html>", encoding="utf-8")
    (folder / "openapi.yaml").write_text("openapi: 3.0.3\n", encoding="utf-8")
    return folder


def _a_file(tmp_path: Path) -> Path:
    path = tmp_path / "download.zip"
    path.write_bytes(b"PK\x03\x04")
    return path


BAD_FOLDERS: dict[str, tuple[Callable[[Path], Path], list[str]]] = {
    "empty folder": (_empty, ["none of the expected files", "an empty folder", PUBLISHED, TRANSCRIBED]),
    "wrong folder": (_wrong, ["none of the expected files", "2 other file(s): index.html, openapi.yaml"]),
    "a file, not a folder": (_a_file, ["not a folder", "found:    a file"]),
    "missing folder": (lambda tmp: tmp / "nope", ["not a folder", "found:    nothing"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FOLDERS))
def test_an_empty_or_wrong_folder_is_an_error_not_nothing_changed(
    project: Layout, tmp_path: Path, case: str
) -> None:
    make, fragments = BAD_FOLDERS[case]
    folder = make(tmp_path)
    code, out, err = _invoke("sources", "check", "--from", str(folder), "--root", str(project.root))
    assert code == 2, out + err
    assert "nothing changed" not in out and "Traceback" not in out + err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in:\n{err}"


def test_a_partial_folder_still_works(project: Layout, tmp_path: Path) -> None:
    """One expected file is enough: the others are reported as not provided, not as an error."""
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(project.sources_dir / TRANSCRIBED, folder / TRANSCRIBED)
    code, out, err = _invoke("sources", "check", "--from", str(folder), "--root", str(project.root))
    assert code == 0, out + err
    assert "not-provided" in out and "nothing changed" in out


# -- diff against a stale built contract ---------------------------------------------------------------------


def _narrow_guidance(project: Layout) -> None:
    """A maintainer's overlay (made for the test) narrows guidance_scale to 1-10, recording the source's
    maximum 20 it replaces (the build refuses a source fact that reaches neither the contract nor a record)."""
    source = "$.paths['/fal-ai/flux-pro/kontext/multi'].post.requestBody.content['application/json']"
    (project.overlays_dir / "099-narrow-guidance.overlay.yaml").write_text(
        "overlay: 1.0.0\n"
        "info: {title: made for the test, version: 1.0.0}\n"
        "actions:\n"
        "  - target: \"$.components.schemas['KontextEditInput','KontextMultiInput','KontextTextToImageInput']"
        '.properties.guidance_scale"\n'
        "    description: 'Made for the test: a narrower range. Source: seed 002.'\n"
        "    update: {maximum: 10}\n"
        "    x-drops:\n"
        "      - source: 002-fal-kontext-multi.yaml\n"
        f'        path: "{source}.schema.properties.guidance_scale.maximum"\n'
        "        value: 20\n"
        "        reason: made for the test\n",
        encoding="utf-8",
    )


def test_diff_refuses_a_stale_contract_then_reports_the_edit_after_make_spec(
    project: Layout, tmp_path: Path
) -> None:
    old = tmp_path / "old.yaml"
    shutil.copy(project.contract, old)
    _narrow_guidance(project)
    code, out, err = _invoke("diff", str(old), str(project.contract))
    assert code == 2, out + err
    assert "the contract is stale" in err and "run make spec" in err
    assert f"project: {project.root}" in err
    assert "0 breaking" not in out  # no misleading "nothing changed"
    assert _invoke("spec", "build", "--root", str(project.root))[0] == 0
    code, out, err = _invoke("diff", str(old), str(project.contract))
    assert code == 1, out + err
    assert "guidance_scale.maximum: 20 -> 10" in out


def test_diff_refuses_a_stale_provider_document_too(project: Layout, tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    target = project.provider_document("fal")
    shutil.copy(target, old)
    _narrow_guidance(project)
    code, _, err = _invoke("diff", str(old), str(target))
    assert code == 2 and "the contract is stale" in err and "fal.openapi.yaml" in err


def test_diff_says_when_the_project_does_not_build(project: Layout, tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    shutil.copy(project.contract, old)
    (project.overlays_dir / "099-bad.overlay.yaml").write_text("not: [an overlay", encoding="utf-8")
    code, _, err = _invoke("diff", str(old), str(project.contract))
    assert code == 2
    assert "cannot tell whether" in err and "099-bad.overlay.yaml" in err


def test_diff_of_files_outside_a_project_is_unaffected(project: Layout, tmp_path: Path) -> None:
    old, new = tmp_path / "a.openapi.yaml", tmp_path / "b.openapi.yaml"
    shutil.copy(project.contract, old)
    shutil.copy(project.contract, new)
    code, out, err = _invoke("diff", str(old), str(new))
    assert code == 0 and "project:" not in err and "0 breaking" in out


# -- diff --base REF, and make diff passing its status through ---------------------------------------------------------


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def test_diff_base_exits_1_on_a_breaking_change_and_2_on_a_bad_ref(project: Layout) -> None:
    _git(project.root, "init", "-q")
    _git(project.root, "add", "-A")
    _git(project.root, "commit", "-qm", "base")
    code, out, err = _invoke("diff", "--base", "HEAD", "--root", str(project.root))
    assert code == 0, out + err
    assert "HEAD:openapi/kontext.openapi.yaml" in out and "0 breaking" in out
    _narrow_guidance(project)
    assert _invoke("spec", "build", "--root", str(project.root))[0] == 0
    code, out, err = _invoke("diff", "--base", "HEAD", "--root", str(project.root))
    assert code == 1, out + err
    assert "guidance_scale.maximum: 20 -> 10" in out
    code, out, err = _invoke("diff", "--base", "no-such-ref", "--root", str(project.root))
    assert code == 2 and "--base no-such-ref" in err and "no openapi/kontext.openapi.yaml" in err
    code, _, err = _invoke("diff", "--base", "HEAD", "a.yaml", "b.yaml", "--root", str(project.root))
    assert code == 2


def _make_diff(project: Layout, base: str) -> subprocess.CompletedProcess[str]:
    """``make diff`` in the copy, with this checkout's venv (its stamp file made for the test, so that make
    never installs anything)."""
    for name in ("Makefile", "pyproject.toml", "requirements.lock"):
        shutil.copy(ROOT / name, project.root / name)
    (project.root / ".stamp-made-for-the-test").touch()
    return subprocess.run(
        [
            "make",
            "--no-print-directory",
            "diff",
            f"BASE={base}",
            f"VENV={ROOT / '.venv'}",
            "STAMP=.stamp-made-for-the-test",
        ],
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_diff_passes_the_status_through(project: Layout) -> None:
    """GNU make exits 2 when a recipe fails; ``make diff`` alone still exits 0, 1 or 2 as the command does."""
    _git(project.root, "init", "-q")
    _git(project.root, "add", "-A")
    _git(project.root, "commit", "-qm", "base")
    done = _make_diff(project, "HEAD")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 breaking" in done.stdout and "no breaking change since HEAD" in done.stdout
    _narrow_guidance(project)
    done = _make_diff(project, "HEAD")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "guidance_scale.maximum: 20 -> 10" in done.stdout and "BREAKING changes since HEAD" in done.stdout
    done = _make_diff(project, "no-such-ref")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--base no-such-ref" in done.stderr and "kontext-contract diff exit 2" in done.stderr
