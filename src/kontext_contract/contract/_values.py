"""A schema-valid value taken from the schema itself, for output fields whose meaning no code knows.

When the contract gains a required output field (a new property of ``KontextOutput``, say), the mock must
still answer outputs the contract allows. :func:`value_for` gives, in this order: the schema's ``default``,
its first ``enum`` member, its ``example``, else the smallest value of its type that meets its bounds
(``minimum``, ``minLength``, ``minItems``, required properties). The caller checks the value against the
schema (:class:`~kontext_contract.contract.SchemaValidator`) and refuses the contract when it does not fit.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

from .._openapi import resolve_ref

__all__ = ["NoValue", "value_for"]


class NoValue(Exception):
    """No value can be taken from the schema (e.g. a ``not`` or a ``pattern`` with no example)."""


def _first_type(node: Mapping[str, Any]) -> str | None:
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return str(kind) if isinstance(kind, str) else None


def value_for(doc: Mapping[str, Any], schema: Any, *, depth: int = 0) -> Any:
    """A value of ``schema`` (OpenAPI 3.0, ``$ref`` s resolved against ``doc``).

    Raises:
        NoValue: the schema gives nothing to build a value from, or nests deeper than 16 levels.
    """
    if depth > 16:
        raise NoValue("the schema nests deeper than 16 levels")
    node = resolve_ref(doc, schema)
    if not isinstance(node, Mapping):
        raise NoValue(f"not a schema: {node!r}")
    if "default" in node:
        return copy.deepcopy(node["default"])
    if isinstance(node.get("enum"), list) and node["enum"]:
        return copy.deepcopy(node["enum"][0])
    if "example" in node:
        return copy.deepcopy(node["example"])
    for combinator in ("allOf", "anyOf", "oneOf"):
        members = node.get(combinator)
        if isinstance(members, list) and members:
            if combinator != "allOf":
                return value_for(doc, members[0], depth=depth + 1)
            merged: dict[str, Any] = {}
            for member in members:
                part = resolve_ref(doc, member)
                if isinstance(part, Mapping):
                    merged.update({k: v for k, v in part.items() if k not in ("properties", "required")})
                    merged.setdefault("properties", {}).update(part.get("properties") or {})
                    merged["required"] = [*merged.get("required", []), *(part.get("required") or [])]
            rest = {k: v for k, v in node.items() if k != "allOf"}
            return value_for(doc, {**merged, **rest}, depth=depth + 1)
    kind = _first_type(node) or ("object" if "properties" in node else None)
    if kind == "string":
        if "pattern" in node or node.get("format") not in (None, "uri", "date-time"):
            raise NoValue(f"a string with pattern/format {node.get('pattern') or node.get('format')!r}")
        if node.get("format") == "uri":
            return "https://example.invalid/"
        if node.get("format") == "date-time":
            return "2025-01-01T00:00:00Z"
        return "x" * int(node.get("minLength", 0) or 0)
    if kind in ("integer", "number"):
        low = node.get("minimum")
        if low is None:
            value: float = 0
        elif node.get("exclusiveMinimum") is True:
            value = math.floor(low) + 1 if kind == "integer" else low + 1e-6
        else:
            value = math.ceil(low) if kind == "integer" else low
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return False
    if kind == "array":
        count = int(node.get("minItems", 0) or 0)
        return [value_for(doc, node.get("items", {}), depth=depth + 1) for _ in range(count)]
    if kind == "object":
        props = node.get("properties") or {}
        return {
            str(name): value_for(doc, props.get(name, {}), depth=depth + 1)
            for name in node.get("required") or []
        }
    if node.get("nullable") is True:
        return None
    raise NoValue(f"no type, default, enum or example in {dict(node)!r}"[:200])
