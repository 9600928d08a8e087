"""Standard tools read all of every built document (docs/contract.md "Where fal's own publications
disagree", status stream; overlays/080-fal-publications.overlay.yaml):

- a raw Schemathesis CLI run (``st run … --phases stateful --checks response_schema_conformance``, nothing
  of this project's configuration) over each provider document, against the mock's matching profile over a
  real socket, reports no failure, in particular no ST108 "SSE event violates schema": the status stream's
  schema is the schema of one event, as Schemathesis reads an event stream;
- no component is left that nothing refers to (what Redocly CLI's ``no-unused-components`` reports): a
  ``$ref`` inside an ``x-`` extension does not count, as standard tools do not follow those.

The Schemathesis run is the CLI from ``.venv`` in a subprocess (bounded: ``--max-examples 3``, a fixed seed,
a 240-second timeout), not an in-process equivalent: the point is what the tool does out of the box.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from kontext_contract._layout import Layout
from kontext_contract.mock import MockConfig, MockServer
from kontext_contract.mock._config import default_key
from kontext_contract.pipeline import load_yaml

PROVIDERS = ("fal", "relay-a", "chainhub", "relay-b")
#: the stateful phase over the queue operations ends in the status stream often enough with this seed and
#: bound that every provider document's stream is read (asserted below through the mock's counters)
ST_ARGS = ("--include-tag", "queue", "--phases", "stateful", "--checks", "response_schema_conformance")
ST_BOUND = ("--max-examples", "3", "--seed", "424242")
ST_TIMEOUT = 240.0
COMPONENT_KINDS = (
    "schemas",
    "parameters",
    "responses",
    "headers",
    "requestBodies",
    "callbacks",
    "links",
    "examples",
)


def _st() -> Path:
    """The Schemathesis CLI of the interpreter running the tests (the pinned one in .venv)."""
    found = Path(sys.executable).with_name("st")
    if not found.exists():
        pytest.fail(f"no Schemathesis CLI next to {sys.executable}: run `make setup`")
    return found


@pytest.mark.parametrize("provider", PROVIDERS)
def test_raw_schemathesis_stateful_run_reports_no_st108(layout: Layout, provider: str) -> None:
    document: dict[str, Any] = load_yaml(layout.provider_document(provider))
    scheme = str(document["info"]["x-provider"]["auth"]["scheme"])
    with MockServer(MockConfig(provider=provider)) as server:
        try:
            done = subprocess.run(
                [
                    str(_st()),
                    "run",
                    str(layout.provider_document(provider)),
                    "--url",
                    server.base_url,
                    *ST_ARGS,
                    *ST_BOUND,
                    "-H",
                    f"Authorization: {scheme} {default_key(scheme)}",
                    "--no-color",
                ],
                capture_output=True,
                text=True,
                timeout=ST_TIMEOUT,
                cwd=layout.root,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"st run over {provider}'s document took more than {ST_TIMEOUT} s: {exc}")
        calls = server.state.stats()["calls"]
    output = done.stdout + done.stderr
    assert "ST108" not in output, output[-3000:]
    assert done.returncode == 0, output[-3000:]
    streamed = {name: n for name, n in calls.items() if "stream" in name}
    assert sum(streamed.values()) > 0, f"the run never read the status stream: {calls}"


#: maps whose keys are names (a header may be called ``x-fal-request-id``), not fields of an object
NAME_MAPS = frozenset(
    {"headers", "properties", "patternProperties", "examples", "links", "callbacks", "paths"}
)


def _refs(node: Any, parent: str = "") -> Iterator[str]:
    """Every local ``$ref`` under ``node``, not descending into ``x-`` extensions (an ``x-`` key of a map of
    names, such as a header called ``x-fal-request-id``, is a name, not an extension)."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if isinstance(key, str) and key.startswith("x-") and parent not in NAME_MAPS:
                continue
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/"):
                yield value
            else:
                yield from _refs(value, str(key))
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item, parent)


def unused_components(document: Mapping[str, Any]) -> list[str]:
    """``components/<kind>/<name>`` entries no reference reaches from outside ``components`` (paths,
    callbacks, security requirements), following references through the components they reach; security
    schemes count as used when a security requirement names them."""
    components = document.get("components") or {}
    roots = {key: value for key, value in document.items() if key != "components"}
    seen: set[str] = set()
    todo = list(_refs(roots))
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        todo.extend(_refs((components.get(kind) or {}).get(name)))
    unused = [
        f"components/{kind}/{name}"
        for kind in COMPONENT_KINDS
        for name in components.get(kind) or {}
        if f"#/components/{kind}/{name}" not in seen
    ]
    requirements = list(document.get("security") or [])
    for item in (document.get("paths") or {}).values():
        for operation in item.values() if isinstance(item, Mapping) else []:
            if isinstance(operation, Mapping):
                requirements.extend(operation.get("security") or [])
    named = {name for requirement in requirements for name in requirement}
    unused += [
        f"components/securitySchemes/{name}"
        for name in components.get("securitySchemes") or {}
        if name not in named
    ]
    return unused


def _documents(layout: Layout) -> list[Path]:
    return [layout.contract, *(layout.provider_document(p) for p in PROVIDERS)]


def test_no_component_is_unused(layout: Layout) -> None:
    for path in _documents(layout):
        assert unused_components(load_yaml(path)) == [], path.name


def test_the_unused_component_finder_finds_one() -> None:
    """The finder is not blind: a component reached only from an extension, or from nothing, is unused."""
    document = {
        "paths": {"/a": {"get": {"responses": {"200": {"$ref": "#/components/responses/Ok"}}}}},
        "x-note": {"$ref": "#/components/schemas/OnlyInExtension"},
        "webhooks": {
            "h": {"post": {"responses": {"200": {"headers": {"x-id": {"$ref": "#/components/headers/Id"}}}}}}
        },
        "security": [{"key": []}],
        "components": {
            "responses": {
                "Ok": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}
            },
            "schemas": {"A": {"type": "object"}, "OnlyInExtension": {"type": "string"}, "Nothing": {}},
            "securitySchemes": {"key": {"type": "apiKey"}, "other": {"type": "apiKey"}},
            "headers": {"Id": {"schema": {"type": "string"}}},
        },
    }
    assert unused_components(document) == [
        "components/schemas/OnlyInExtension",
        "components/schemas/Nothing",
        "components/securitySchemes/other",
    ]
