"""`kontext-contract diff`: each kind of change on a pair of small documents, and the CLI's exit codes."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kontext_contract._layout import Layout
from kontext_contract.cli import main
from kontext_contract.drift import diff_documents
from kontext_contract.pipeline import dump_yaml

BASE: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1", "x-provider": {"name": "p"}},
    "servers": [{"url": "https://queue.example"}],
    "security": [{"k": []}],
    "paths": {
        "/gen": {
            "post": {
                "operationId": "gen",
                "parameters": [
                    {
                        "name": "X-Prio",
                        "in": "header",
                        "schema": {"type": "string", "enum": ["normal", "low"]},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/In"}}},
                },
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Out"}}},
                    },
                    "422": {"description": "bad"},
                },
            }
        }
    },
    "components": {
        "securitySchemes": {"k": {"type": "apiKey", "in": "header", "name": "Authorization"}},
        "schemas": {
            "In": {
                "type": "object",
                "required": ["prompt"],
                "properties": {
                    "prompt": {"type": "string", "x-media": "image"},
                    "n": {"type": "integer", "minimum": 1, "maximum": 4, "default": 1},
                    "fmt": {"allOf": [{"$ref": "#/components/schemas/Fmt"}], "default": "jpeg"},
                },
            },
            "Fmt": {"type": "string", "enum": ["jpeg", "png"]},
            "Out": {
                "type": "object",
                "required": ["images", "seed"],
                "properties": {
                    "images": {"type": "array", "items": {"type": "string"}},
                    "seed": {"type": "integer"},
                    "state": {"type": "string", "enum": ["OK", "ERR"]},
                },
            },
        },
    },
}


def _mutate(fn: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    fn(doc)
    return doc


S = "components"
CASES: dict[str, tuple[Callable[[dict[str, Any]], None], bool, str, str]] = {
    # name: (mutation, breaking, kind, path)
    "operation removed": (
        lambda d: d["paths"].pop("/gen"),
        True,
        "operation-removed",
        '$.paths["/gen"].post',
    ),
    "operation added": (
        lambda d: d["paths"].__setitem__("/new", {"get": {"responses": {"200": {"description": "x"}}}}),
        False,
        "operation-added",
        '$.paths["/new"].get',
    ),
    "output field removed": (
        lambda d: d[S]["schemas"]["Out"]["properties"].pop("seed"),
        True,
        "output-field-removed",
        "$.components.schemas.Out.properties.seed",
    ),
    "output type changed": (
        lambda d: d[S]["schemas"]["Out"]["properties"]["seed"].update(type="string"),
        True,
        "response-type-changed",
        "$.components.schemas.Out.properties.seed.type",
    ),
    "output field added": (
        lambda d: d[S]["schemas"]["Out"]["properties"].__setitem__("extra", {"type": "string"}),
        False,
        "output-field-added",
        "$.components.schemas.Out.properties.extra",
    ),
    "output no longer required": (
        lambda d: d[S]["schemas"]["Out"].update(required=["images"]),
        True,
        "output-field-optional",
        "$.components.schemas.Out.properties.seed",
    ),
    "response enum widened": (
        lambda d: d[S]["schemas"]["Out"]["properties"]["state"]["enum"].append("MAYBE"),
        True,
        "response-enum-widened",
        "$.components.schemas.Out.properties.state.enum",
    ),
    "input made required": (
        lambda d: d[S]["schemas"]["In"]["required"].append("n"),
        True,
        "input-field-required",
        "$.components.schemas.In.properties.n",
    ),
    "input optional again": (
        lambda d: d[S]["schemas"]["In"].update(required=[]),
        False,
        "input-field-optional",
        "$.components.schemas.In.properties.prompt",
    ),
    "required input added": (
        lambda d: (
            d[S]["schemas"]["In"]["properties"].__setitem__("image_url", {"type": "string"}),
            d[S]["schemas"]["In"]["required"].append("image_url"),
        ),
        True,
        "input-field-added-required",
        "$.components.schemas.In.properties.image_url",
    ),
    "optional input added": (
        lambda d: d[S]["schemas"]["In"]["properties"].__setitem__("seed", {"type": "integer"}),
        False,
        "input-field-added",
        "$.components.schemas.In.properties.seed",
    ),
    "enum narrowed": (
        lambda d: d[S]["schemas"]["Fmt"]["enum"].remove("png"),
        True,
        "request-enum-narrowed",
        "$.components.schemas.Fmt.enum",
    ),
    "enum widened": (
        lambda d: d[S]["schemas"]["Fmt"]["enum"].append("webp"),
        False,
        "request-enum-widened",
        "$.components.schemas.Fmt.enum",
    ),
    "range narrowed": (
        lambda d: d[S]["schemas"]["In"]["properties"]["n"].update(maximum=2),
        True,
        "request-range-narrowed",
        "$.components.schemas.In.properties.n.maximum",
    ),
    "range widened": (
        lambda d: d[S]["schemas"]["In"]["properties"]["n"].update(maximum=8),
        False,
        "request-range-widened",
        "$.components.schemas.In.properties.n.maximum",
    ),
    "status code removed": (
        lambda d: d["paths"]["/gen"]["post"]["responses"].pop("422"),
        True,
        "status-code-removed",
        '$.paths["/gen"].post.responses["422"]',
    ),
    "status code added": (
        lambda d: d["paths"]["/gen"]["post"]["responses"].__setitem__("429", {"description": "slow"}),
        False,
        "status-code-added",
        '$.paths["/gen"].post.responses["429"]',
    ),
    "media type removed": (
        lambda d: d["paths"]["/gen"]["post"]["responses"]["200"]["content"].__setitem__(
            "text/plain", d["paths"]["/gen"]["post"]["responses"]["200"]["content"].pop("application/json")
        ),
        True,
        "media-type-removed",
        '$.paths["/gen"].post.responses["200"].content["application/json"]',
    ),
    "auth changed": (
        lambda d: d[S]["securitySchemes"].update(k={"type": "http", "scheme": "bearer"}),
        True,
        "auth-changed",
        "$.components.securitySchemes",
    ),
    "parameter made required": (
        lambda d: d["paths"]["/gen"]["post"]["parameters"][0].update(required=True),
        True,
        "parameter-required",
        '$.paths["/gen"].post.parameters[0].required',
    ),
    "description changed": (
        lambda d: d[S]["schemas"]["In"]["properties"]["prompt"].update(description="words"),
        False,
        "description-changed",
        "$.components.schemas.In.properties.prompt.description",
    ),
    "extension added": (
        lambda d: d["paths"]["/gen"]["post"]["parameters"][0].update({"x-invalid": "unspecified"}),
        False,
        "extension-added",
        '$.paths["/gen"].post.parameters[0]["x-invalid"]',
    ),
    "extension changed": (
        lambda d: d[S]["schemas"]["In"]["properties"]["prompt"].update({"x-media": "video"}),
        False,
        "extension-changed",
        '$.components.schemas.In.properties.prompt["x-media"]',
    ),
    "extension removed": (
        lambda d: d["info"].pop("x-provider"),
        False,
        "extension-removed",
        '$.info["x-provider"]',
    ),
    "parameter description changed": (
        lambda d: d["paths"]["/gen"]["post"]["parameters"][0].update(description="the queue priority"),
        False,
        "description-changed",
        '$.paths["/gen"].post.parameters[0].description',
    ),
    "operation summary changed": (
        lambda d: d["paths"]["/gen"]["post"].update(summary="Generate"),
        False,
        "summary-changed",
        '$.paths["/gen"].post.summary',
    ),
    "default changed": (
        lambda d: d[S]["schemas"]["In"]["properties"]["n"].update(default=2),
        False,
        "request-default-changed",
        "$.components.schemas.In.properties.n.default",
    ),
    "body made required": (
        lambda d: d["paths"]["/gen"]["post"]["requestBody"].update(required=False),
        False,
        "request-body-optional",
        '$.paths["/gen"].post.requestBody.required',
    ),
}


def test_identical_documents_have_no_changes() -> None:
    assert diff_documents(BASE, copy.deepcopy(BASE)) == []


def test_schema_description_is_reported_once() -> None:
    """The schema pass and the annotation walk both see a schema's description: one change."""
    changes = diff_documents(BASE, _mutate(lambda d: d[S]["schemas"]["Out"].update(description="output")))
    assert [(c.kind, c.path) for c in changes] == [
        ("description-changed", "$.components.schemas.Out.description")
    ]


def test_values_are_not_walked_for_annotations() -> None:
    """A description inside an example value is data, not an annotation of the contract."""
    doc = _mutate(lambda d: d[S]["schemas"]["Out"].update(example={"description": "a", "x-y": 1}))
    changed = _mutate(lambda d: d[S]["schemas"]["Out"].update(example={"description": "b", "x-y": 2}))
    assert [c.kind for c in diff_documents(doc, changed)] == ["example-changed"]


def test_inline_enum_equals_the_same_enum_by_allof_reference() -> None:
    inline = _mutate(
        lambda d: d[S]["schemas"]["In"]["properties"].__setitem__(
            "fmt", {"type": "string", "enum": ["jpeg", "png"], "default": "jpeg"}
        )
    )
    assert diff_documents(BASE, inline) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_kind_of_change_is_classified(case: str) -> None:
    mutation, breaking, kind, path = CASES[case]
    changes = diff_documents(BASE, _mutate(mutation))
    found = [(c.breaking, c.kind, c.path) for c in changes]
    assert (breaking, kind, path) in found, found
    if not breaking:
        assert not any(c.breaking for c in changes), found


def test_cli_exit_codes_and_formats(tmp_path: Path) -> None:
    old, new, same = tmp_path / "old.yaml", tmp_path / "new.yaml", tmp_path / "same.yaml"
    old.write_text(dump_yaml(BASE))
    same.write_text(dump_yaml(BASE))
    new.write_text(dump_yaml(_mutate(lambda d: d[S]["schemas"]["Out"]["properties"].pop("seed"))))
    runner = CliRunner()
    assert runner.invoke(main, ["diff", str(old), str(same)]).exit_code == 0
    result = runner.invoke(
        main,
        [
            "diff",
            str(old),
            str(new),
            "--report-json",
            str(tmp_path / "r.json"),
            "--report-md",
            str(tmp_path / "r.md"),
        ],
    )
    assert result.exit_code == 1
    assert "breaking" in result.output  # the text report on stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["breaking"] == 1 and report["changes"][0]["kind"] == "output-field-removed"
    markdown = (tmp_path / "r.md").read_text()
    assert "| **breaking** | output-field-removed | `$.components.schemas.Out.properties.seed`" in markdown


def test_cli_new_defaults_to_the_project_contract(layout: Layout) -> None:
    result = CliRunner().invoke(main, ["diff", str(layout.contract), "--root", str(layout.root)])
    assert result.exit_code == 0, result.output
    assert str(layout.contract) in result.output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("openapi: [unclosed", "does not parse as YAML"),
        ("just: a mapping\n", "not an OpenAPI document"),
        ("openapi: 3.0.3\ninfo: {title: t}\npaths: {}\n", "not valid OpenAPI"),
    ],
)
def test_malformed_contract_exits_2_naming_the_file(tmp_path: Path, content: str, expected: str) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(dump_yaml(BASE))
    bad.write_text(content)
    result = CliRunner().invoke(main, ["diff", str(good), str(bad)])
    assert result.exit_code == 2
    assert str(bad) in result.output and expected in result.output


def test_missing_file_exits_2(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(dump_yaml(BASE))
    result = CliRunner().invoke(main, ["diff", str(good), str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "file not found" in result.output


def test_the_merged_sources_to_contract_diff_is_breaking(layout: Any) -> None:
    from kontext_contract.drift import load_contract

    changes = diff_documents(load_contract(layout.merged), load_contract(layout.contract))
    kinds = {c.kind for c in changes if c.breaking}
    assert {"input-field-added-required", "request-body-required", "auth-changed"} <= kinds


def test_every_kind_tested_here_is_documented(layout: Any) -> None:
    """docs/checks.md lists the stable kind names users key on; each kind these tests produce is there."""
    doc = (layout.root / "docs" / "checks.md").read_text(encoding="utf-8")
    missing = sorted({kind for _m, _b, kind, _p in CASES.values() if f"`{kind}`" not in doc})
    assert not missing
