"""The Overlay 1.0.0 engine on small documents: semantics and the project's strict rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kontext_contract.pipeline import OverlayError, apply_overlay, load_overlay, write_atomic
from kontext_contract.pipeline._yamlio import dump_yaml


def _overlay(tmp_path: Path, actions: list[dict[str, Any]]) -> Any:
    path = tmp_path / "o.overlay.yaml"
    path.write_text(
        dump_yaml({"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": actions})
    )
    return load_overlay(path)


DOC = {
    "info": {"title": "a", "x": {"keep": 1}},
    "tags": [{"name": "a"}],
    "paths": {"/p": {"get": {"x-n": 1}, "put": {"x-n": 2}}},
}


def test_update_merges_objects_recursively_and_replaces_scalars_and_arrays(tmp_path: Path) -> None:
    ov = _overlay(
        tmp_path,
        [{"target": "$.info", "description": "d Source: s", "update": {"title": "b", "x": {"new": 2}}}],
    )
    doc, applied = apply_overlay(DOC, ov)
    assert doc["info"] == {"title": "b", "x": {"keep": 1, "new": 2}}
    assert DOC["info"]["title"] == "a"  # the input is not modified
    assert applied[0].matched == ("$.info",) and applied[0].kind == "update"


def test_update_on_an_array_appends(tmp_path: Path) -> None:
    ov = _overlay(tmp_path, [{"target": "$.tags", "description": "d Source: s", "update": {"name": "b"}}])
    doc, _ = apply_overlay(DOC, ov)
    assert doc["tags"] == [{"name": "a"}, {"name": "b"}]


def test_remove_with_a_filter_and_wildcards(tmp_path: Path) -> None:
    ov = _overlay(
        tmp_path, [{"target": "$.paths.*[?@['x-n'] == 2]", "description": "d Source: s", "remove": True}]
    )
    doc, applied = apply_overlay(DOC, ov)
    assert doc["paths"] == {"/p": {"get": {"x-n": 1}}}
    assert applied[0].matched == ('$.paths["/p"].put',)


def test_remove_several_array_items_keeps_the_others(tmp_path: Path) -> None:
    doc_in = {"a": [1, 2, 3, 4]}
    ov = _overlay(
        tmp_path, [{"target": "$.a[?@ > 1 && @ < 4]", "description": "d Source: s", "remove": True}]
    )
    assert apply_overlay(doc_in, ov)[0] == {"a": [1, 4]}


def test_update_on_a_scalar_fails(tmp_path: Path) -> None:
    ov = _overlay(tmp_path, [{"target": "$.info.title", "description": "d Source: s", "update": {"x": 1}}])
    with pytest.raises(OverlayError, match="update targets must be objects or arrays"):
        apply_overlay(DOC, ov)


def test_update_and_remove_together_fail(tmp_path: Path) -> None:
    with pytest.raises(OverlayError, match="either update or remove"):
        _overlay(tmp_path, [{"target": "$.info", "description": "d Source: s", "update": {}, "remove": True}])


def test_actions_see_the_document_as_left_by_the_previous_one(tmp_path: Path) -> None:
    ov = _overlay(
        tmp_path,
        [
            {"target": "$.paths", "description": "d Source: s", "update": {"/q": {"get": {}}}},
            {"target": "$.paths['/q'].get", "description": "d Source: s", "update": {"operationId": "q"}},
        ],
    )
    assert apply_overlay(DOC, ov)[0]["paths"]["/q"] == {"get": {"operationId": "q"}}


def test_write_atomic_replaces_whole_files_and_reports_unchanged(tmp_path: Path) -> None:
    target = tmp_path / "out" / "f.yaml"
    assert write_atomic(target, "a\n") is True
    assert write_atomic(target, "a\n") is False
    assert write_atomic(target, "b\n") is True
    assert target.read_text() == "b\n"
    assert [p.name for p in target.parent.iterdir()] == ["f.yaml"]
