"""`kontext-contract sources update` (`make update`): fetch -> check -> apply -> acknowledge -> spec -> client ->
diff, against a loopback server serving documents made for the test (tests/fixtures/made-for-test/). The run
is the recipe of docs/pipeline.md "fal changed a field": the first intake of fal's per-endpoint documents
stops for an overlay review, the person's overlay edit and --yes let it through, and then a field fal changes
reaches the contract and the generated client by itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from kontext_contract._layout import Layout
from kontext_contract.cli import main
from kontext_contract.pipeline import load_manifest, load_yaml
from tests.conftest import ROOT
from tests.drift._falserver import document_for, fal_server


def _update(project: Layout, base: str, *extra: str) -> tuple[Result, str]:
    summary = project.root / "summary.md"
    result = CliRunner().invoke(
        main,
        ["sources", "update", "--root", str(project.root), "--summary-md", str(summary), *extra],
        env={"KONTEXT_FAL_OPENAPI_URL": f"{base}/ok/openapi.json"},
    )
    return result, summary.read_text(encoding="utf-8") if summary.exists() else ""


def _review_overlays(project: Layout) -> None:
    """What the person does after the first intake stopped (the summary names each): drop the two actions fal's
    documents made redundant, and record the queue-status facts of fal's documents the contract corrects."""
    path = project.overlays_dir / "020-inputs.overlay.yaml"
    doc = load_yaml(path)
    redundant = {"$.components.schemas.KontextEditInput.required", "$.paths.*.post.requestBody"}
    doc["actions"] = [a for a in doc["actions"] if a["target"] not in redundant]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    path = project.overlays_dir / "040-queue.overlay.yaml"
    doc = load_yaml(path)
    action = next(a for a in doc["actions"] if a["target"] == "$.paths.*.post.responses")
    fal_sources = [s.file.name for s in load_manifest(project.manifest).sources if s.kind == "fal-openapi"]
    assert len(fal_sources) == 6
    status = "$.components.schemas.QueueStatus.properties"
    action["x-drops"] = [
        {"source": name, "path": path_, "reason": "made for the test: the contract's queue status"}
        for name in fal_sources
        for path_ in (f"{status}.logs.type", f"{status}.metrics", f"{status}.metrics.type")
    ]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_fal_changed_a_field_from_fetch_to_the_generated_client(project: Layout) -> None:
    shutil.copytree(ROOT / "generated", project.generated_dir)
    contract_before = project.contract.read_text(encoding="utf-8")
    edits: list[Any] = [None]

    def edit(doc: dict[str, Any]) -> None:
        if edits[0] is not None:
            edits[0](doc)

    with fal_server(edit) as (base, _):
        # 1. the first intake: six new sources, applied; two overlay actions are now redundant: stop
        first, summary = _update(project, base)
        assert first.exit_code == 1, first.output
        assert "## Contract update from fal's publications" in summary and "### Needs review" in summary
        assert "020-inputs.overlay.yaml at actions[10]" in summary and "changes nothing" in summary
        manifest = load_manifest(project.manifest)
        fal = [s for s in manifest.sources if s.kind == "fal-openapi"]
        assert {s.endpoints[0].endpoint_id for s in fal} == {
            "fal-ai/flux-pro/kontext",
            "fal-ai/flux-pro/kontext/max",
            "fal-ai/flux-pro/kontext/multi",
            "fal-ai/flux-pro/kontext/max/multi",
            "fal-ai/flux-pro/kontext/text-to-image",
            "fal-ai/flux-pro/kontext/max/text-to-image",
        }
        edit_source = next(s for s in fal if s.endpoints[0].endpoint_id == "fal-ai/flux-pro/kontext")
        assert edit_source.file.read_bytes() == document_for("fal-ai/flux-pro/kontext")  # byte for byte
        assert edit_source.url and "endpoint_id=fal-ai%2Fflux-pro%2Fkontext" in edit_source.url
        assert manifest.precedence[0] in {s.id for s in fal}  # fal's own machine-readable document first
        assert project.contract.read_text(encoding="utf-8") == contract_before

        # 2. after the overlay review, the disagreements wait for --yes
        _review_overlays(project)
        waiting, summary = _update(project, base)
        assert waiting.exit_code == 1, waiting.output
        assert "NEW disagreement" in summary and "--yes" in summary
        done, summary = _update(project, base, "--yes")
        assert done.exit_code == 0, done.output
        assert "| spec |" in summary and "| client |" in summary and "| diff |" in summary

        # 3. fal changes a field: a new aspect ratio on every endpoint
        edits[0] = lambda doc: doc["components"]["schemas"]["FluxProKontextInput"]["properties"][
            "aspect_ratio"
        ]["enum"].append("5:4")
        changed, summary = _update(project, base, "--yes")
    assert changed.exit_code == 0, changed.output
    assert "### Facts: 6 new, 0 changed, 0 removed" in summary
    assert (
        "| new | 010-fal-openapi-fal-ai--flux-pro--kontext.json | enum `aspect_ratio.enum` | 5:4 |" in summary
    )
    assert "non-breaking" in summary and "5:4" in summary
    contract = load_yaml(project.contract)
    assert "5:4" in contract["components"]["schemas"]["AspectRatio"]["enum"]
    generated = "\n".join(
        p.read_text(encoding="utf-8") for p in (project.generated_dir).rglob("aspect_ratio*.py")
    )
    assert '"5:4"' in generated
    accounting = json.loads(project.fact_accounting.read_text(encoding="utf-8"))
    assert any(f["value"] == "5:4" for f in accounting["kept"])


def test_update_names_a_bad_download_and_changes_nothing(project: Layout) -> None:
    manifest_before = project.manifest.read_text(encoding="utf-8")
    with fal_server() as (base, _):
        result = CliRunner().invoke(
            main,
            ["sources", "update", "--root", str(project.root)],
            env={"KONTEXT_FAL_OPENAPI_URL": f"{base}/503/openapi.json"},
        )
    assert result.exit_code == 2
    assert "answered 503" in result.output
    assert project.manifest.read_text(encoding="utf-8") == manifest_before
    assert sorted(p.name for p in project.sources_dir.iterdir()) == sorted(
        p.name for p in (ROOT / "openapi" / "sources").iterdir()
    )


def test_check_from_a_fetched_folder_reports_new_sources_and_facts(layout: Layout, tmp_path: Path) -> None:
    from kontext_contract.drift._fetch import fal_openapi_name
    from kontext_contract.drift._sources_check import check_sources

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / fal_openapi_name("fal-ai/flux-pro/kontext")).write_bytes(
        document_for("fal-ai/flux-pro/kontext")
    )
    report = check_sources(layout, folder)
    new = [s for s in report.sources if s.status == "new"]
    assert [s.file for s in new] == ["005-fal-openapi-fal-ai--flux-pro--kontext.json"]
    assert {f.source for f in report.new_facts} == {"005-fal-openapi-fal-ai--flux-pro--kontext.json"}
    assert any(f.field == "image_url" and f.kind == "property" for f in report.new_facts)
    assert report.needs_attention and report.overlay_problems
    assert not report.applied


def test_check_refuses_a_fetched_file_that_is_not_openapi(layout: Layout, tmp_path: Path) -> None:
    from kontext_contract.drift._sources_check import SourcesFolderError, check_sources

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "fal-openapi.fal-ai--flux-pro--kontext.json").write_text("<html></html>", encoding="utf-8")
    try:
        check_sources(layout, folder)
    except SourcesFolderError as exc:
        assert "fal-openapi.fal-ai--flux-pro--kontext.json" in str(exc) and "not JSON" in str(exc)
    else:
        raise AssertionError("an HTML file named like a fetched document was taken")
