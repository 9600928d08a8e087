"""Hostile and broken pipeline inputs: every shape of a bad source or overlay gives exit 2 and an error naming
the file (and, for an overlay, the action index and its target), never a traceback, and writes nothing.

The classes: ``$ref`` loops (a schema referring to itself directly, through another, or through
allOf/anyOf/oneOf/not), references to nothing or to other files, and nodes of the wrong type (a path item, an
operation, ``paths``, ``components``, ``responses`` turned into a string, a list, a number or null), in a
source or put there by an overlay (the contract's or a provider's).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from kontext_contract._layout import Layout
from kontext_contract.cli import main
from kontext_contract.pipeline import SpecError, ValidationFailed, validate_openapi

SOURCE = "002-fal-kontext-multi.yaml"
TIMINGS = "    Timings:\n      type: object"
HEAD = "overlay: 1.0.0\ninfo: {title: t, version: '1'}\nactions:\n"


def _outputs(layout: Layout) -> dict[Path, bytes]:
    files = [layout.contract, *layout.providers_dir.glob("*.yaml"), *layout.build_dir.glob("*")]
    return {p: p.read_bytes() for p in files}


def _edit_source(layout: Layout, old: str, new: str) -> None:
    """Change source 002 and record its new digest, as a reviewer would: only the content is bad."""
    path = layout.sources_dir / SOURCE
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    lines = layout.manifest.read_text(encoding="utf-8").split("\n")
    entry = next(i for i, line in enumerate(lines) if line.strip() == f"file: {SOURCE}")
    for i in range(entry, len(lines)):
        if lines[i].startswith("    sha256:"):
            lines[i] = f"    sha256: {digest}"
            break
    layout.manifest.write_text("\n".join(lines), encoding="utf-8")


def _action(target: str, update: str) -> str:
    return f"  - target: {target}\n    description: 'hostile. Source: test'\n    update: {update}\n"


def _overlay(name: str, *actions: str) -> Callable[[Layout], None]:
    def write(layout: Layout) -> None:
        (layout.overlays_dir / name).write_text(HEAD + "".join(actions), encoding="utf-8")

    return write


def _provider_overlay(provider: str, *actions: str) -> Callable[[Layout], None]:
    def write(layout: Layout) -> None:
        path = layout.provider_overlays_dir / f"{provider}.overlay.yaml"
        path.write_text(path.read_text(encoding="utf-8") + "".join(actions), encoding="utf-8")

    return write


def _source(old: str, new: str) -> Callable[[Layout], None]:
    return lambda layout: _edit_source(layout, old, new)


def _ref(name: str) -> str:
    return f"$ref: '#/components/schemas/{name}'"


# (breaker, fragments the message must hold)
SOURCE_CASES: dict[str, tuple[Callable[[Layout], None], list[str]]] = {
    "schema refers to itself": (
        _source(TIMINGS, f"    Timings:\n      {_ref('Timings')}"),
        ["$ref loop", '$["components"]["schemas"]["Timings"]', "Timings -> #/components/schemas/Timings"],
    ),
    "A -> B -> A": (
        _source(TIMINGS, f"    Timings:\n      {_ref('B')}\n    B:\n      {_ref('Timings')}"),
        ["$ref loop", "#/components/schemas/B -> #/components/schemas/Timings -> #/components/schemas/B"],
    ),
    "allOf itself": (
        _source(TIMINGS, f"    Timings:\n      allOf:\n        - {_ref('Timings')}"),
        ["$ref loop"],
    ),
    "anyOf B, B oneOf A": (
        _source(
            TIMINGS,
            f"    Timings:\n      anyOf:\n        - {_ref('B')}\n    B:\n      oneOf:\n        - {_ref('Timings')}",
        ),
        ["$ref loop"],
    ),
    "not itself": (_source(TIMINGS, f"    Timings:\n      not:\n        {_ref('Timings')}"), ["$ref loop"]),
    "reference to nothing": (
        _source(TIMINGS, "    Timings2:\n      type: object"),
        ["$ref points at nothing", '["timings"]["$ref"]', "a node at #/components/schemas/Timings"],
    ),
    "reference to another file": (
        _source(TIMINGS, "    Timings:\n      $ref: 'http://127.0.0.1:9/evil.yaml#/T'"),
        ["not a local reference", "http://127.0.0.1:9/evil.yaml#/T"],
    ),
    "paths is a number": (_source("paths:\n", "paths: 3\nx-was-paths:\n"), ['$["paths"]', "not of type"]),
    "operation is a number": (
        _source("    post:\n", "    post: 4\n    x-was-post:\n"),
        ['["post"]', "4 is not of type"],
    ),
    "components.schemas is a list": (
        _source("  schemas:\n", "  schemas: [1]\n  x-was-schemas:\n"),
        ['$["components"]["schemas"]', "not of type"],
    ),
}

OVERLAY_CASES: dict[str, tuple[Callable[[Layout], None], list[str]]] = {
    "path item becomes a string": (
        _overlay("099-bad.overlay.yaml", _action("$.paths", "{'/fal-ai/flux-pro/kontext': oops}")),
        ["099-bad.overlay.yaml actions[0] (target '$.paths')", '$["paths"]["/fal-ai/flux-pro/kontext"]'],
    ),
    "paths becomes a list": (
        _overlay("099-bad.overlay.yaml", _action("$", "{paths: [1, 2]}")),
        ["099-bad.overlay.yaml actions[0] (target '$')", '$["paths"]', "not of type"],
    ),
    "operation becomes a number": (
        _overlay("099-bad.overlay.yaml", _action("$.paths['/fal-ai/flux-pro/kontext']", "{post: 5}")),
        ["099-bad.overlay.yaml actions[0]", '["post"]'],
    ),
    "responses become a string": (
        _overlay(
            "099-bad.overlay.yaml", _action("$.paths['/fal-ai/flux-pro/kontext'].post", "{responses: x}")
        ),
        ["099-bad.overlay.yaml actions[0]", '["responses"]'],
    ),
    "components become a string": (
        _overlay("099-bad.overlay.yaml", _action("$", "{components: x}")),
        ["099-bad.overlay.yaml actions[0]", '$["components"]'],
    ),
    "schemas become null": (
        _overlay("099-bad.overlay.yaml", _action("$.components", "{schemas: null}")),
        ["099-bad.overlay.yaml actions[0]", '$["components"]["schemas"]'],
    ),
    "a schema refers to itself": (
        _overlay("099-bad.overlay.yaml", _action("$.components.schemas", "{Loop: {" + _ref("Loop") + "}}")),
        ["099-bad.overlay.yaml actions[0]", "$ref loop", "Loop -> #/components/schemas/Loop"],
    ),
    "the breaking action is the third of four": (
        _overlay(
            "099-bad.overlay.yaml",
            _action("$.info", "{x-a: 1}"),
            _action("$.info", "{x-b: 1}"),
            _action("$.paths", "{'/fal-ai/flux-pro/kontext': 7}"),
            _action("$.info", "{x-c: 1}"),
        ),
        ["099-bad.overlay.yaml actions[2] (target '$.paths')"],
    ),
    "an early overlay breaks what later ones target": (
        _overlay("005-bad.overlay.yaml", _action("$", "{paths: [1, 2]}")),
        ["005-bad.overlay.yaml actions[0]", '$["paths"]'],
    ),
    "a provider overlay turns a path item into a string": (
        _provider_overlay("fal", _action("$.paths", "{'/fal-ai/flux-pro/kontext': oops}")),
        ["fal.openapi.yaml", "overlays/providers/fal.overlay.yaml actions[", "(target '$.paths')"],
    ),
}


def _run(project: Layout) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["spec", "build", "--root", str(project.root)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize("case", sorted(SOURCE_CASES))
def test_a_bad_source_names_the_source(project: Layout, case: str) -> None:
    breaker, fragments = SOURCE_CASES[case]
    before = _outputs(project)
    breaker(project)
    code, output = _run(project)
    assert code == 2, output
    assert "Traceback" not in output and "RecursionError" not in output
    assert f"openapi/sources/{SOURCE}" in output and "source 002" in output
    for fragment in fragments:
        assert fragment in output, f"{fragment!r} not in:\n{output}"
    assert _outputs(project) == before


@pytest.mark.parametrize("case", sorted(OVERLAY_CASES))
def test_a_bad_overlay_names_the_file_the_action_and_its_target(project: Layout, case: str) -> None:
    breaker, fragments = OVERLAY_CASES[case]
    before = _outputs(project)
    breaker(project)
    code, output = _run(project)
    assert code == 2, output
    assert "Traceback" not in output and "KeyError" not in output
    assert "matches nothing" not in output  # the cause is named, not a later overlay's symptom
    for fragment in fragments:
        assert fragment in output, f"{fragment!r} not in:\n{output}"
    assert _outputs(project) == before


def test_a_schema_recursive_through_a_property_is_valid_and_builds(project: Layout) -> None:
    """The loop rule is precise: a tree (a schema whose property is the schema) can be checked, so it stays."""
    _edit_source(
        project,
        TIMINGS,
        f"    Timings:\n      type: object\n      properties:\n        child:\n          {_ref('Timings')}",
    )
    code, output = _run(project)
    assert code == 0, output


def _nested(depth: int) -> dict[str, object]:
    node: dict[str, object] = {"type": "object"}
    for _ in range(depth):
        node = {"type": "object", "properties": {"x": node}}
    return node


def test_a_document_nested_past_the_stack_is_an_error_not_a_recursion_error() -> None:
    document = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {},
        "components": {"schemas": {"Deep": _nested(sys.getrecursionlimit() * 2)}},
    }
    try:
        validate_openapi(document, name="deep.yaml", produced_by="a test")
    except SpecError as exc:  # refused with the file named: fine; the point is nothing else escapes
        assert isinstance(exc, ValidationFailed) and "deep.yaml" in exc.render()


@pytest.mark.parametrize("document", [None, [], "openapi", 3])
def test_a_document_that_is_not_a_mapping_is_refused(document: object) -> None:
    with pytest.raises(ValidationFailed, match="not an OpenAPI document"):
        validate_openapi(document, name="x.yaml", produced_by="a test")
