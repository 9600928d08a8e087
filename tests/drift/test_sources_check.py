"""`kontext-contract sources check --from DIR`: changed sources, new disagreements, stale overlay
actions, the contract diff; nothing written without --apply."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kontext_contract._layout import Layout
from kontext_contract.cli import main
from kontext_contract.drift._sources_check import check_sources
from tests.conftest import SEEDS


def _downloads(layout: Layout, tmp_path: Path) -> Path:
    """A folder of newer copies, as transcribed sources named as in openapi/sources/."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    for path in layout.sources_dir.glob("0*.yaml"):
        shutil.copy(path, folder / path.name)
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def _snapshot(layout: Layout) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in (layout.root / "openapi").rglob("*") if p.is_file()}


def test_identical_copies_need_nothing(project: Layout, tmp_path: Path) -> None:
    report = check_sources(project, _downloads(project, tmp_path))
    assert {s.status for s in report.sources} == {"unchanged"}
    assert not report.needs_attention and not report.contract_changes


def test_a_changed_default_and_range_are_changed_disagreements(project: Layout, tmp_path: Path) -> None:
    folder = _downloads(project, tmp_path)
    _edit(
        folder / "004-relay-b-kontext.yaml", "default: 3.5\n", "default: 4.0\n                  maximum: 10\n"
    )
    before = _snapshot(project)
    report = check_sources(project, folder)
    assert [s.status for s in report.sources if s.id == "004"] == ["changed"]
    changed = {d.id: d.values for _, d in report.changed_disagreements}
    assert changed["default:request.guidance_scale.default"]["004"] == 4.0
    assert changed["range:request.guidance_scale.maximum"]["004"] == 10
    assert report.needs_attention
    assert _snapshot(project) == before  # nothing written without --apply


def test_a_stale_overlay_action_is_reported_not_fatal(project: Layout, tmp_path: Path) -> None:
    folder = _downloads(project, tmp_path)
    # both relays' exports drop their operation-level security: 010's removal now matches nothing
    _edit(
        folder / "004-relay-b-kontext.yaml",
        "      security: []\n      x-apifox-folder",
        "      x-apifox-folder",
    )
    _edit(
        folder / "003-chainhub-kontext-max-multi.yaml",
        "      security:\n        - bearer: []\n      x-apifox-folder",
        "      x-apifox-folder",
    )
    report = check_sources(project, folder)
    assert any(
        "010-structure.overlay.yaml" in p and "$.paths.*.post.security" in p and "matches nothing" in p
        for p in report.overlay_problems
    )
    assert report.build_error is None and report.needs_attention


def test_a_removed_field_shows_in_the_contract_diff(project: Layout, tmp_path: Path) -> None:
    folder = _downloads(project, tmp_path)
    _edit(
        folder / "001-relay-a-kontext.yaml",
        "required:\n                - prompt\n",
        "required:\n                - prompt\n                - seed\n",
    )
    report = check_sources(project, folder)
    assert any(d.id == "required:request.seed.required" for d in report.new_disagreements)
    # the overlays restate the input schema from fal's facts, so the contract itself does not move
    assert report.contract_changes == []


def test_apply_writes_sources_and_digests_then_the_build_asks_for_review(
    project: Layout, tmp_path: Path
) -> None:
    folder = _downloads(project, tmp_path)
    _edit(folder / "004-relay-b-kontext.yaml", "default: 3.5\n", "default: 4.0\n")
    result = CliRunner().invoke(
        main, ["sources", "check", "--from", str(folder), "--apply", "--root", str(project.root)]
    )
    assert result.exit_code == 1, result.output
    assert "wrote openapi/sources/004-relay-b-kontext.yaml" in result.output
    assert "default: 4.0" in (project.sources_dir / "004-relay-b-kontext.yaml").read_text(encoding="utf-8")
    build = CliRunner().invoke(main, ["spec", "build", "--root", str(project.root)])
    assert (
        build.exit_code == 2 and "CHANGED default:request.guidance_scale.default" in build.output
    )  # digest ok, review pending


def test_missing_folder_exits_2(project: Layout, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["sources", "check", "--from", str(tmp_path / "nope"), "--root", str(project.root)]
    )
    assert result.exit_code == 2 and "not a folder" in result.output


@pytest.mark.skipif(
    not SEEDS.is_dir(), reason="the published pages (000_5adf154d86130281.txt ...) are not beside this clone"
)
def test_published_pages(project: Layout, tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    shutil.copytree(SEEDS, folder)
    for page in folder.iterdir():
        page.chmod(0o644)
    assert {s.status for s in check_sources(project, folder).sources} == {"unchanged"}
    # an export changes: its YAML block is taken, the recorded repair re-applied
    _edit(folder / "003_1a68e0816fa4ae1f.txt", "description: Prompt words", "description: Prompt text")
    # a prose page changes: it needs a person to transcribe it
    _edit(folder / "000_5adf154d86130281.txt", "Enum Values:\njpeg", "Enum Values:\nwebp\njpeg")
    report = check_sources(project, folder)
    by_id = {s.id: s for s in report.sources}
    assert by_id["003"].status == "changed" and "repair still applies" in by_id["003"].detail
    assert by_id["000"].status == "needs-transcription"
    assert report.changed_disagreements and report.needs_attention
