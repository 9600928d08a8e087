"""A fact a source gains reaches the contract by itself, or the build refuses naming it (docs/pipeline.md
"Overlays correct, they do not restate"; pipeline/_accounting.py).

Each test changes one source document in a copy of the project (the ``project`` fixture), records its new
digest in the manifest, acknowledges the merge's disagreements (as a maintainer would, ``make
acknowledge``) and rebuilds. The families of change: a new field, a new enum value, a changed default, a
changed range, a removed field, on each kind of source: a relay page's transcription (000, 001), fal's page
(002) and the apifox exports (003, 004).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from kontext_contract._layout import Layout
from kontext_contract._openapi import fold
from kontext_contract.pipeline import (
    AccountingError,
    OverlayError,
    acknowledge,
    build,
    load_yaml,
    sha256_file,
)

INPUTS = ("KontextEditInput", "KontextMultiInput", "KontextTextToImageInput")
SOURCES = {
    "000": ("000-relay-a-kontext-multi.yaml", "/fal-ai/flux-pro/kontext/multi"),
    "001": ("001-relay-a-kontext.yaml", "/fal-ai/flux-pro/kontext"),
    "002": ("002-fal-kontext-multi.yaml", "/fal-ai/flux-pro/kontext/multi"),
    "003": ("003-chainhub-kontext-max-multi.yaml", "/fal-ai/flux-pro/kontext/max/multi"),
    "004": ("004-relay-b-kontext.yaml", "/BASE_URL/fal-ai/flux-pro/kontext"),
}
#: the contract's submit of the endpoint each source describes
COMPONENT = {"000": "KontextMultiInput", "001": "KontextEditInput", "002": "KontextMultiInput"}
COMPONENT |= {"003": "KontextMultiInput", "004": "KontextEditInput"}


def _body_path(sid: str) -> str:
    return f'$.paths["{SOURCES[sid][1]}"].post.requestBody.content["application/json"].schema'


def change_source(project: Layout, sid: str, edit: Callable[[dict[str, Any]], None]) -> None:
    """Edit the request body schema of source ``sid`` and record the file's new digest in the manifest."""
    path = project.sources_dir / SOURCES[sid][0]
    old_digest = sha256_file(path)
    doc = load_yaml(path)
    edit(doc["paths"][SOURCES[sid][1]]["post"]["requestBody"]["content"]["application/json"]["schema"])
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    manifest = project.manifest.read_text(encoding="utf-8")
    assert old_digest in manifest
    project.manifest.write_text(manifest.replace(old_digest, sha256_file(path)), encoding="utf-8")


def rebuild(project: Layout) -> dict[str, Any]:
    """``make acknowledge`` then ``make spec`` (in memory): the contract."""
    acknowledge(project)
    contract: dict[str, Any] = build(project).contract
    return contract


def field(contract: dict[str, Any], component: str, name: str) -> dict[str, Any]:
    return fold(contract, contract["components"]["schemas"][component]["properties"][name])


def refusal(project: Layout) -> str:
    """``make acknowledge`` (which only reads the merge) then ``make spec``: the build's refusal."""
    acknowledge(project)
    with pytest.raises((AccountingError, OverlayError)) as caught:
        build(project)
    return str(caught.value)


def test_the_committed_contract_accounts_for_every_source_fact(layout: Layout) -> None:
    result = build(layout)
    assert result.accounting is not None
    kinds = {f.kind for f in result.accounting.kept}
    assert {"property", "type", "enum", "default", "range", "required"} <= kinds
    dropped = {(f.source, f.field) for f, _ in result.accounting.dropped}
    assert ("001-relay-a-kontext.yaml", "aspect_ratio.default") in dropped
    assert ("004-relay-b-kontext.yaml", "header Authorization") in dropped
    assert all(d.reason for _, d in result.accounting.dropped)


# --------------------------------------------------------------------------- the scenario


def test_a_new_input_and_a_new_enum_value_on_fals_page_reach_the_contract(project: Layout) -> None:
    def edit(schema: dict[str, Any]) -> None:
        schema["properties"]["style"] = {"type": "string", "description": "A style."}
        schema["properties"]["aspect_ratio"]["enum"].append("5:4")

    change_source(project, "002", edit)
    contract = rebuild(project)
    for component in INPUTS:  # one input shape for the family (docs/sources.md §3.3)
        assert field(contract, component, "style")["type"] == "string"
        assert "5:4" in field(contract, component, "aspect_ratio")["enum"]
    assert "style" not in contract["components"]["schemas"]["KontextMultiInput"].get("required", [])


# --------------------------------------------------------------------------- new field, each source kind


@pytest.mark.parametrize("sid", ["000", "002", "003", "004"])
def test_a_new_field_reaches_every_input(project: Layout, sid: str) -> None:
    change_source(
        project,
        sid,
        lambda s: s["properties"].update({"negative_prompt": {"type": "string", "maxLength": 500}}),
    )
    contract = rebuild(project)
    for component in INPUTS:
        assert field(contract, component, "negative_prompt") == {"type": "string", "maxLength": 500}


def test_a_new_required_field_is_required(project: Layout) -> None:
    def edit(schema: dict[str, Any]) -> None:
        schema["properties"]["mask_url"] = {"type": "string"}
        schema["required"].append("mask_url")

    change_source(project, "002", edit)
    contract = rebuild(project)
    assert "mask_url" in contract["components"]["schemas"]["KontextMultiInput"]["required"]


# --------------------------------------------------------------------------- new enum value


@pytest.mark.parametrize(
    ("sid", "name", "value"), [("000", "safety_tolerance", "7"), ("004", "output_format", "webp")]
)
def test_a_new_enum_value_of_a_relay_reaches_the_contract(
    project: Layout, sid: str, name: str, value: str
) -> None:
    change_source(project, sid, lambda s: s["properties"][name]["enum"].append(value))
    contract = rebuild(project)
    assert value in field(contract, COMPONENT[sid], name)["enum"]


# --------------------------------------------------------------------------- changed default / range


def test_a_changed_default_on_fals_page_reaches_the_contract(project: Layout) -> None:
    change_source(project, "002", lambda s: s["properties"]["sync_mode"].update(default=True))
    contract = rebuild(project)
    for component in INPUTS:
        assert field(contract, component, "sync_mode")["default"] is True


def test_fal_changing_a_default_the_relays_still_state_names_the_relays_until_recorded(
    project: Layout,
) -> None:
    change_source(project, "002", lambda s: s["properties"]["guidance_scale"].update(default=4.5))
    message = refusal(project)
    for sid in ("001", "004"):
        assert f"{SOURCES[sid][0]} states default guidance_scale.default = 3.5" in message
        assert f"{_body_path(sid)}.properties.guidance_scale.default" in message
    assert "the contract (POST /fal-ai/flux-pro/kontext) has default 4.5" in message
    # the maintainer records what the outdated relay pages state, with the reason
    path = project.overlays_dir / "020-inputs.overlay.yaml"
    doc = load_yaml(path)
    action = next(a for a in doc["actions"] if a["target"].endswith(".properties.guidance_scale"))
    action["x-drops"] = [
        {
            "source": SOURCES[sid][0],
            "path": f"{_body_path(sid)}.properties.guidance_scale.default",
            "value": 3.5,
            "reason": "made for the test: fal's page says 4.5",
        }
        for sid in ("001", "004")
    ]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    contract = build(project).contract
    for component in INPUTS:
        assert field(contract, component, "guidance_scale")["default"] == 4.5


def test_a_changed_range_on_fals_page_reaches_the_contract(project: Layout) -> None:
    change_source(project, "002", lambda s: s["properties"]["num_images"].update(maximum=8))
    contract = rebuild(project)
    for component in INPUTS:
        assert field(contract, component, "num_images")["maximum"] == 8


@pytest.mark.parametrize(
    ("sid", "name", "attribute", "value"),
    [
        ("004", "num_images", "default", 2),  # apifox export: fal's page (more trusted) says 1
        ("001", "guidance_scale", "maximum", 30),  # relay page: fal's page says 20
        ("003", "guidance_scale", "minimum", 0),  # apifox export: fal's page says 1
    ],
)
def test_a_relay_fact_outranked_by_fals_page_is_refused_by_name(
    project: Layout, sid: str, name: str, attribute: str, value: Any
) -> None:
    change_source(project, sid, lambda s: s["properties"][name].update({attribute: value}))
    message = refusal(project)
    assert SOURCES[sid][0] in message
    assert f"{name}.{attribute} = {value}" in message
    assert f"{_body_path(sid)}.properties.{name}.{attribute}" in message
    assert "x-drops" in message and "what to do" in message


def test_a_relay_range_fal_does_not_state_reaches_the_contract(project: Layout) -> None:
    change_source(project, "003", lambda s: s["properties"]["prompt"].update(maxLength=2000))
    contract = rebuild(project)
    for component in INPUTS:
        assert field(contract, component, "prompt")["maxLength"] == 2000


# --------------------------------------------------------------------------- removed field


def test_a_field_only_fal_states_leaves_the_contract_when_fal_removes_it(project: Layout) -> None:
    change_source(project, "002", lambda s: s["properties"].pop("enhance_prompt"))
    contract = rebuild(project)
    for component in INPUTS:
        assert "enhance_prompt" not in contract["components"]["schemas"][component]["properties"]


def test_a_field_removed_from_one_source_stays_while_others_state_it(project: Layout) -> None:
    change_source(project, "001", lambda s: s["properties"].pop("seed"))
    contract = rebuild(project)
    assert field(contract, "KontextEditInput", "seed")["type"] == "integer"


def test_a_field_an_overlay_corrects_gone_from_every_source_is_refused_by_name(project: Layout) -> None:
    for sid in SOURCES:
        if sid != "003":  # seed 003 has no sync_mode
            change_source(project, sid, lambda s: s["properties"].pop("sync_mode"))
    message = refusal(project)
    assert "020-inputs.overlay.yaml" in message
    assert "properties.sync_mode" in message and "matches nothing" in message


# --------------------------------------------------------------------------- the x-drops records


def test_a_changed_value_that_an_overlay_drops_is_refused_naming_the_record(project: Layout) -> None:
    change_source(project, "001", lambda s: s["properties"]["aspect_ratio"].update(default="4:3"))
    message = refusal(project)
    assert "020-inputs.overlay.yaml" in message and "x-drops" in message
    assert "001-relay-a-kontext.yaml" in message and "aspect_ratio.default" in message
    assert '"4:3"' in message and '"1:1"' in message


def test_a_record_that_drops_a_kept_fact_is_refused(project: Layout) -> None:
    path = project.overlays_dir / "020-inputs.overlay.yaml"
    doc = load_yaml(path)
    action = next(a for a in doc["actions"] if "x-drops" in a and a["target"].endswith(".default"))
    kept = copy.deepcopy(action["x-drops"][0])
    kept["path"] = kept["path"].replace("aspect_ratio.default", "guidance_scale.default")
    kept["value"] = 3.5
    action["x-drops"].append(kept)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(AccountingError, match="keeps it: remove the record"):
        build(project)


@pytest.mark.parametrize(
    "record",
    [
        {"source": "999-nowhere.yaml", "path": "$.paths"},
        {"source": "001-relay-a-kontext.yaml"},
        {"source": "001-relay-a-kontext.yaml", "path": "$.paths", "because": "x"},
        {"source": "001-relay-a-kontext.yaml", "path": "$.paths[?"},
        {"source": "001-relay-a-kontext.yaml", "path": "$.nothing.here"},
    ],
)
def test_a_malformed_record_is_refused_naming_the_overlay(project: Layout, record: dict[str, Any]) -> None:
    path = project.overlays_dir / "020-inputs.overlay.yaml"
    doc = load_yaml(path)
    next(a for a in doc["actions"] if "x-drops" in a)["x-drops"].append(record)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(OverlayError) as caught:
        build(project)
    assert "020-inputs.overlay.yaml" in str(caught.value) and "x-drops" in str(caught.value)


def test_an_overlay_restating_a_removed_fact_is_caught(project: Layout) -> None:
    """Removing a source fact an overlay drops without record: the accounting names the source fact."""
    path = project.overlays_dir / "020-inputs.overlay.yaml"
    doc = load_yaml(path)
    doc["actions"].append(
        {
            "target": "$.components.schemas.KontextMultiInput.properties.num_images.maximum",
            "description": "Test: drops a fact without a record. Source: made for the test.",
            "remove": True,
        }
    )
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(AccountingError) as caught:
        build(project)
    message = str(caught.value)
    assert "002-fal-kontext-multi.yaml states range num_images.maximum = 4" in message
    assert f"{_body_path('002')}.properties.num_images.maximum" in message
