"""The pipeline on the real inputs: deterministic, committed, valid, and complete."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from openapi_spec_validator import validate

from kontext_contract._layout import Layout
from kontext_contract.pipeline import build, load_acknowledged, load_manifest
from scripts.extract_published_yaml import FENCE
from tests.conftest import SEEDS


@pytest.fixture(scope="module")
def result(layout: Layout) -> Any:
    return build(layout)


def test_build_is_deterministic(layout: Layout, result: Any) -> None:
    again = build(layout)
    assert again.outputs == result.outputs


def test_committed_outputs_are_current(result: Any) -> None:
    stale = [str(p) for p in result.stale_outputs()]
    assert stale == [], f"run `make spec`: {stale}"


def test_every_document_is_valid_openapi(result: Any) -> None:
    for doc in [result.contract, result.merge.document, *result.providers.values()]:
        validate(doc)


def test_every_disagreement_is_acknowledged_and_none_is_stale(layout: Layout, result: Any) -> None:
    acknowledged = load_acknowledged(layout)
    assert {d.id for d in result.disagreements} == set(acknowledged)
    assert result.stale_acknowledgements == []


def test_sources_match_their_manifest_digests(layout: Layout) -> None:
    manifest = load_manifest(layout.manifest)
    for source in manifest.sources:
        assert hashlib.sha256(source.file.read_bytes()).hexdigest() == source.sha256, source.file


@pytest.mark.skipif(
    not SEEDS.is_dir(), reason="the published pages (000_5adf154d86130281.txt ...) are not beside this clone"
)
def test_sources_still_match_what_was_published(layout: Layout) -> None:
    manifest = load_manifest(layout.manifest)
    for source in manifest.sources:
        published = (SEEDS / source.published_name).read_text(encoding="utf-8")
        assert hashlib.sha256(published.encode()).hexdigest() == source.published_sha256, (
            source.published_name
        )
        fenced = FENCE.search(published)
        if fenced is None:  # a prose page, transcribed by hand: its provenance is the digest above
            assert source.repair is None
            continue
        kept = fenced.group(1)
        if source.repair is not None:
            kept = source.repair.apply(kept)
        assert source.file.read_text(encoding="utf-8") == kept, (
            f"{source.file} is not the published YAML (+ recorded repair)"
        )


def test_the_recorded_repair_is_the_smallest_that_parses(layout: Layout) -> None:
    import yaml

    source = next(s for s in load_manifest(layout.manifest).sources if s.repair is not None)
    text = source.file.read_text(encoding="utf-8").split("\n")
    for edit in source.repair.edits:  # type: ignore[union-attr]
        assert text[edit.line - 1] == edit.repaired
        assert edit.repaired.replace("'", "") == edit.published.replace("'", "")  # only quotes added
        unrepaired = list(text)
        unrepaired[edit.line - 1] = edit.published
        with pytest.raises(yaml.YAMLError):
            yaml.safe_load("\n".join(unrepaired))


# Each disagreement between documents that docs/sources.md §2 names, as the merge report must list it.
SOURCE_DISAGREEMENTS = {
    "2.2 /BASE_URL/ path prefix": "path:fal-ai/flux-pro/kontext:path",
    "2.3 header parameters": "parameter:parameter.header.Authorization",
    "2.3 Content-Type header": "parameter:parameter.header.Content-Type",
    "2.4 tags": "tags:tags",
    "2.7/2.8 response shape": "response-shape:response.200.shape",
    "2.8 003 example logs": "example:response.200.example.logs",
    "2.9 guidance range": "range:request.guidance_scale.maximum",
    "2.9 num_images range": "range:request.num_images.maximum",
    "2.9 sync_mode default": "default:request.sync_mode.default",
    "2.10 safety_tolerance prose": "description:request.safety_tolerance.description",
    "2.11 aspect_ratio default": "default:request.aspect_ratio.default",
    "2.12 enhance_prompt missing": "missing-field:request.enhance_prompt",
    "2.12 seed missing in 003": "missing-field:request.seed",
    "2.13 auth": "auth:security",
    "2.14 queue URL app": "example:response.200.example.status_url",
}


@pytest.mark.parametrize("fact", sorted(SOURCE_DISAGREEMENTS))
def test_merge_report_lists_the_documented_disagreements(result: Any, fact: str) -> None:
    ids = {d.id: d for d in result.disagreements}
    assert SOURCE_DISAGREEMENTS[fact] in ids, fact


def test_disagreement_values_and_winner(result: Any) -> None:
    d = {d.id: d for d in result.disagreements}
    path = d["path:fal-ai/flux-pro/kontext:path"]
    assert path.values == {"004": "/BASE_URL/fal-ai/flux-pro/kontext", "001": "/fal-ai/flux-pro/kontext"}
    urls = d["example:response.200.example.status_url"].values
    assert "fal-ai/flux-1/requests" in urls["000"] and "fal-ai/flux-pro/requests" in urls["003"]
    rng = d["range:request.guidance_scale.maximum"]
    assert rng.winner == "002" and rng.winner_value == 20
    assert d["auth:security"].values["003"] == ["http/bearer"] and d["auth:security"].values["004"] == []


def test_report_files_name_every_disagreement(layout: Layout, result: Any) -> None:
    text = layout.merge_report_md.read_text(encoding="utf-8")
    for dis in result.disagreements:
        assert f"`{dis.id}`" in text
