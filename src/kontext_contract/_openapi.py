"""Small helpers for reading OpenAPI documents, shared by the pipeline, the mock, the checks and the tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "CONTENT_KEYWORDS",
    "event_data_schema",
    "fold",
    "json_schema",
    "resolve_ref",
    "to_json_schema",
    "with_content_keywords",
]


def resolve_ref(doc: Mapping[str, Any], node: Any, *, max_depth: int = 32) -> Any:
    """Follow local ``$ref`` s (``#/components/schemas/X``, JSON Pointer escapes ``~1`` and ``~0``) from
    ``node`` until a node without one, at most ``max_depth`` hops.

    Returns:
        the node reached; ``None`` when a reference points at nothing (openapi-spec-validator rejects such
        a document, so only unvalidated input, e.g. a source before the merge, can hold one). A node that
        is not a local reference is returned as it is.
    """
    for _ in range(max_depth):
        if not (
            isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/")
        ):
            return node
        target: Any = doc
        for part in node["$ref"][2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, Mapping) else None
        node = target
    return node


_REF_PREFIX = "#/components/schemas/"
_DROP = {"discriminator", "example", "examples", "xml", "externalDocs", "readOnly", "writeOnly", "deprecated"}


def to_json_schema(node: Any) -> Any:
    """One OpenAPI 3.0 schema node as JSON Schema 2020-12: ``#/components/schemas/X`` refs become
    ``#/$defs/X``; ``nullable`` becomes a ``null`` type (and a ``None`` enum member); boolean
    ``exclusiveMinimum``/``exclusiveMaximum`` become the 2020-12 numeric form; annotations that do not
    validate (``x-*``, examples, discriminator, ...) are dropped. Property *names* are never translated."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP or key.startswith("x-") or key == "nullable":
            continue
        if key == "$ref" and isinstance(value, str) and value.startswith(_REF_PREFIX):
            out[key] = "#/$defs/" + value[len(_REF_PREFIX) :]
        elif key in ("properties", "patternProperties", "$defs", "definitions") and isinstance(value, dict):
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        else:
            out[key] = to_json_schema(value)
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = out.get(bound)
        if isinstance(flag, bool):
            del out[bound]
            if flag and limit in out:
                out[bound] = out.pop(limit)
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif "type" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def json_schema(schema: Any, components: Mapping[str, Any]) -> dict[str, Any]:
    """Translate one OpenAPI 3.0 schema (which may ``$ref`` ``components.schemas``) to a self-contained
    JSON Schema 2020-12 document whose ``$defs`` hold the translated component schemas.
    """
    root = to_json_schema(schema) if isinstance(schema, dict) else {}
    root = dict(root)
    root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    root["$defs"] = {name: to_json_schema(sub) for name, sub in components.items()}
    return root


def fold(doc: Mapping[str, Any], schema: Any, _depth: int = 0) -> dict[str, Any]:
    """A property or object schema with its ``$ref`` and ``allOf`` members folded into one mapping (the
    outer keys win; ``properties`` and ``required`` are united): ``{allOf: [$ref AspectRatio], description}``
    gives the enum of AspectRatio too. ``{}`` for a reference to nothing."""
    node = resolve_ref(doc, schema)
    if not isinstance(node, Mapping) or _depth > 32:
        return {}
    out: dict[str, Any] = {}
    members: list[Any] = node["allOf"] if isinstance(node.get("allOf"), list) else []
    for part in [
        *(fold(doc, sub, _depth + 1) for sub in members),
        {k: v for k, v in node.items() if k != "allOf"},
    ]:
        for key, value in part.items():
            if key == "properties" and isinstance(value, Mapping):
                out.setdefault("properties", {}).update(value)
            elif key == "required" and isinstance(value, list):
                out["required"] = sorted({*out.get("required", []), *map(str, value)})
            else:
                out[key] = value
    return out


#: The OpenAPI 3.0.3 extensions the contract uses for the JSON Schema keywords OpenAPI 3.1 has for the
#: content of a string (``contentMediaType``, ``contentSchema``); docs/contract.md §3.1, status stream.
CONTENT_KEYWORDS = {"x-contentMediaType": "contentMediaType", "x-contentSchema": "contentSchema"}


def event_data_schema(doc: Mapping[str, Any], event_schema: Any) -> Any:
    """The schema of each event's ``data`` in a ``text/event-stream`` answer whose ``schema`` is
    ``event_schema`` (the schema of one event object ``{data, event?, id?, retry?}``, as Schemathesis reads
    an event stream's schema, or an ``anyOf``/``oneOf`` holding it): the ``contentSchema`` of its ``data``
    property, or the contract's 3.0.3 form ``x-contentSchema``.

    Returns:
        the (possibly ``$ref``) schema of the JSON in ``data``, or ``None`` when the event schema states none.
    """
    event = resolve_ref(doc, event_schema)
    if not isinstance(event, Mapping):
        return None
    for branch in [*(event.get("anyOf") or []), *(event.get("oneOf") or [])]:
        found = event_data_schema(doc, branch)
        if found is not None:
            return found
    props = event.get("properties")
    data = resolve_ref(doc, props.get("data")) if isinstance(props, Mapping) else None
    if not isinstance(data, Mapping):
        return None
    return data.get("contentSchema", data.get("x-contentSchema"))


def with_content_keywords(node: Any) -> Any:
    """A copy of an OpenAPI document (or any node of one) in which the contract's ``x-contentMediaType`` and
    ``x-contentSchema`` are the JSON Schema keywords ``contentMediaType`` and ``contentSchema`` (what
    OpenAPI 3.1 writes), so that a tool that reads those keywords (Schemathesis checks each Server-Sent
    Event's ``data`` against them) sees them. Nothing else changes."""
    if isinstance(node, list):
        return [with_content_keywords(item) for item in node]
    if not isinstance(node, Mapping):
        return node
    return {CONTENT_KEYWORDS.get(key, key): with_content_keywords(value) for key, value in node.items()}
