"""OpenAPI Overlay 1.0.0, applied with RFC 9535 JSONPath (python-jsonpath, strict mode).

Semantics (Overlay Specification 1.0.0, https://spec.openapis.org/overlay/v1.0.0.html):
- actions run in order; each ``target`` selects nodes of the document as it is at that moment;
- ``update`` on an object is merged into it: objects are merged recursively, any other value (scalar or
  array) replaces the one of the same name; ``update`` on an array appends the value to it;
- ``remove: true`` deletes the selected nodes from their parents.

Project rules, stricter than the specification (each failure names the overlay file, the action index
and the target):
- every action has a ``description`` saying what was wrong, with a ``Source:`` naming the public source
  of the fact it applies;
- a target that matches nothing fails; an action that leaves the document unchanged fails;
- ``update`` and ``remove`` together, or neither, fail; so does an ``update`` on a scalar;
- an ``update`` on an array holding that item already changes nothing (no duplicate is appended): it fails.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonpath
import jsonschema

from ._errors import OverlayError
from ._yamlio import load_yaml

__all__ = ["OVERLAY_SCHEMA", "AppliedAction", "Overlay", "apply_overlay", "json_path", "load_overlay"]

# The structure of an Overlay 1.0.0 document (its section 4), as JSON Schema.
OVERLAY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["overlay", "info", "actions"],
    "properties": {
        "overlay": {"type": "string", "pattern": r"^1\.0\.\d+$"},
        "info": {
            "type": "object",
            "required": ["title", "version"],
            "properties": {"title": {"type": "string"}, "version": {"type": "string"}},
        },
        "extends": {"type": "string"},
        "actions": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["target"],
                "properties": {
                    "target": {"type": "string", "minLength": 1},
                    "description": {"type": "string"},
                    "update": {},
                    "remove": {"type": "boolean"},
                },
                "patternProperties": {"^x-": {}},
                "additionalProperties": False,
            },
        },
    },
    "patternProperties": {"^x-": {}},
    "additionalProperties": False,
}

_ENV = jsonpath.JSONPathEnvironment(strict=True)  # RFC 9535 only: no non-standard syntax
_VALIDATOR = jsonschema.Draft202012Validator(OVERLAY_SCHEMA)


@dataclass(frozen=True)
class AppliedAction:
    """What one action did: for the build log and the demo summary."""

    overlay: str
    index: int
    target: str
    description: str
    kind: str  # "update" | "remove"
    matched: tuple[str, ...]  # normalized paths of the nodes it changed

    def as_dict(self) -> dict[str, Any]:
        return {
            "overlay": self.overlay,
            "index": self.index,
            "target": self.target,
            "kind": self.kind,
            "matched": list(self.matched),
            "description": self.description,
        }


@dataclass(frozen=True)
class Overlay:
    path: Path
    document: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def actions(self) -> list[dict[str, Any]]:
        actions: list[dict[str, Any]] = self.document["actions"]
        return actions


def json_path(parts: Any) -> str:
    """The JSONPath of a node from its keys and indices: ``$.paths["/x"].post.parameters[0]``."""
    out = "$"
    for part in parts:
        out += (
            f"[{part}]"
            if isinstance(part, int)
            else f".{part}"
            if str(part).isidentifier()
            else f"[{json.dumps(part)}]"
        )
    return out


def load_overlay(path: Path) -> Overlay:
    """Parse an overlay file and check it against the Overlay 1.0.0 structure and the project rules.

    Raises:
        OverlayError: not YAML, not an Overlay document (the message gives the JSONPath of the first
            problem), an action without a ``description`` citing a ``Source:``, or a target that is not
            RFC 9535 JSONPath.
    """
    doc = load_yaml(path, error=OverlayError)
    errors = sorted(_VALIDATOR.iter_errors(doc), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        first = errors[0]
        raise OverlayError(
            "not a valid Overlay 1.0.0 document",
            file=path,
            location=json_path(first.absolute_path),
            expected=f"{first.validator}: {json.dumps(first.validator_value, ensure_ascii=False)[:200]}",
            found=first.message[:300],
        )
    for index, action in enumerate(doc["actions"]):
        where = f"actions[{index}] (target {action['target']!r})"
        description = action.get("description", "")
        if not description.strip():
            raise OverlayError(
                "every action needs a description of what was wrong and its source",
                file=path,
                location=where,
                expected="description: <what was wrong> Source: <public source>",
                found="no description",
            )
        if "Source:" not in description:
            raise OverlayError(
                "the action's description does not cite its source",
                file=path,
                location=where,
                expected="a 'Source: ...' naming a fal documentation page, the official client's source or a seed document",
                found=repr(description[:120]),
            )
        if ("update" in action) == bool(action.get("remove", False)):
            raise OverlayError(
                "an action must either update or remove",
                file=path,
                location=where,
                expected="exactly one of 'update' or 'remove: true'",
                found="both" if "update" in action else "neither",
            )
        try:
            _ENV.compile(action["target"])
        except jsonpath.JSONPathError as exc:
            raise OverlayError(
                "the target is not an RFC 9535 JSONPath",
                file=path,
                location=f"actions[{index}].target",
                expected="a JSONPath query such as $.paths['/x'].post",
                found=f"{action['target']!r}: {str(exc).splitlines()[0]}",
            ) from None
    return Overlay(path=path, document=doc)


def _merge_into(target: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _fingerprint(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str)


def apply_overlay(
    document: dict[str, Any], overlay: Overlay, *, problems: list[OverlayError] | None = None
) -> tuple[dict[str, Any], list[AppliedAction]]:
    """Apply every action of ``overlay`` to a copy of ``document``.

    Args:
        problems: when given (drift reports), an action whose target matches nothing or that changes
            nothing is recorded here and skipped instead of raising.

    Returns:
        the new document and one record per applied action.

    Raises:
        OverlayError: a target matches nothing, an action changes nothing, an update selects a scalar,
            or a remove selects the root. The message names the overlay file, action index and target.
    """
    doc = copy.deepcopy(document)
    applied: list[AppliedAction] = []
    for index, action in enumerate(overlay.actions):
        target = action["target"]
        where = f"actions[{index}] (target {target!r})"
        matches = list(_ENV.compile(target).finditer(doc))
        if not matches:
            error = OverlayError(
                "the target matches nothing in the document",
                file=overlay.path,
                location=where,
                expected="at least one node",
                found="no node; the document this overlay was written for has changed, or the target is wrong",
            )
            if problems is None:
                raise error
            problems.append(error)
            continue
        before = _fingerprint(doc)
        if action.get("remove", False):
            # remove array items from the highest index down so earlier indices stay valid
            for match in sorted(matches, key=lambda m: [(-p if isinstance(p, int) else 0) for p in m.parts]):
                if not match.parts:
                    raise OverlayError("cannot remove the document root", file=overlay.path, location=where)
                parent: Any = doc
                for part in match.parts[:-1]:
                    parent = parent[part]
                del parent[match.parts[-1]]
            kind = "remove"
        else:
            update = action["update"]
            for match in matches:
                node = match.obj
                if isinstance(node, dict):
                    if not isinstance(update, dict):
                        raise OverlayError(
                            "an update on an object must be an object",
                            file=overlay.path,
                            location=f"{where} -> {json_path(match.parts)}",
                            expected="a mapping to merge",
                            found=type(update).__name__,
                        )
                    _merge_into(node, update)
                elif isinstance(node, list):
                    if update not in node:  # an item the array already holds changes nothing (below)
                        node.append(copy.deepcopy(update))
                else:
                    raise OverlayError(
                        "update targets must be objects or arrays",
                        file=overlay.path,
                        location=f"{where} -> {json_path(match.parts)}",
                        expected="an object or an array",
                        found=f"{type(node).__name__} {node!r}"[:200],
                    )
            kind = "update"
        if _fingerprint(doc) == before:
            error = OverlayError(
                "the action changes nothing: the document already says this; remove the action",
                file=overlay.path,
                location=where,
                expected="a change to the document",
                found="the same document",
            )
            if problems is None:
                raise error
            problems.append(error)  # nothing changed, so nothing to undo
            continue
        applied.append(
            AppliedAction(
                overlay=overlay.name,
                index=index,
                target=target,
                description=" ".join(action["description"].split()),
                kind=kind,
                matched=tuple(json_path(m.parts) for m in matches),
            )
        )
    return doc, applied
