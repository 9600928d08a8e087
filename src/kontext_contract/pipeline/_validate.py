"""Every built document (and every source) must be valid OpenAPI (openapi-spec-validator).

The validator runs in three steps, so that a hostile or broken document gives an error naming the place,
never a traceback from inside the validator:

1. the structure: the document against the OpenAPI 3.0/3.1 JSON Schema (a path item that is a string, a
   ``components.schemas`` that is null ...), since the validator's semantic walk assumes that structure and
   raises ``KeyError``/``TypeError`` on it;
2. the references (:func:`check_references`): every ``$ref`` is local (``#/...``), points at a node, and
   no schema refers to itself without descending into a property or an item (``A: {$ref: B}``,
   ``B: {$ref: A}``, or ``A: {allOf: [{$ref: A}]}``: validating any value against it would never end, and
   openapi-spec-validator recurses until Python's stack is exhausted);
3. the semantic walk (parameters, defaults against their schemas ...), guarded: anything it still raises
   becomes a :class:`ValidationFailed` naming the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

from ._errors import SpecError, ValidationFailed

__all__ = ["check_references", "validate_openapi"]

# JSON Schema keywords that apply a subschema to the *same* value: a cycle through only these never ends
_IN_PLACE = ("allOf", "anyOf", "oneOf")
_IN_PLACE_ONE = ("not", "if", "then", "else")
# a $ref chain longer than this is refused as well (no real document comes near it)
_MAX_CHAIN = 64


def _path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f"[{json.dumps(str(part))}]"
    return out


def _refs(node: Any, parts: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every ``$ref`` value in ``node`` with the path of the object holding it (iterative: no recursion
    limit on deep documents)."""
    stack: list[tuple[tuple[Any, ...], Any]] = [(parts, node)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            if "$ref" in value:
                yield where, value["$ref"]
            for key, sub in value.items():
                if key != "$ref" and isinstance(sub, (dict, list)):
                    stack.append(((*where, key), sub))
        elif isinstance(value, list):
            for i, sub in enumerate(value):
                if isinstance(sub, (dict, list)):
                    stack.append(((*where, i), sub))


def _pointer(ref: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/")] if ref != "#" else []


def _resolve(document: Any, ref: str) -> tuple[bool, Any]:
    node = document
    for part in _pointer(ref):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def _in_place_refs(node: Any) -> list[str]:
    """The ``$ref`` s a schema applies to the same value: its own, and those inside
    allOf/anyOf/oneOf/not/if/then/else (followed through inline subschemas)."""
    out: list[str] = []
    stack = [node]
    while stack:
        value = stack.pop()
        if not isinstance(value, dict):
            continue
        if isinstance(value.get("$ref"), str):
            out.append(value["$ref"])
        for key in _IN_PLACE:
            if isinstance(value.get(key), list):
                stack.extend(value[key])
        for key in _IN_PLACE_ONE:
            if isinstance(value.get(key), dict):
                stack.append(value[key])
    return out


def check_references(
    document: Any, *, file: Path | str, produced_by: str, error: type[SpecError] = ValidationFailed
) -> None:
    """Refuse a document whose ``$ref`` s cannot all be followed to an end.

    Args:
        document: the parsed document.
        file: the file named in the error.
        produced_by: what made the document (a source, an overlay file and action), named in the error.
        error: the error class to raise (``SourceError`` for a source).

    Raises:
        ``error``: a ``$ref`` that is not a string, not local (``#/...``: the contract is self-contained),
            points at nothing, or takes part in a loop that never descends into a property or an item;
            the location is the JSONPath of the object holding the ``$ref``, the message the loop.
    """
    refs = list(_refs(document))
    for where, ref in refs:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise error(
                f"a $ref that is not a local reference ({produced_by})",
                file=file,
                location=_path(where) + '["$ref"]',
                expected="'#/components/...' (the document must be self-contained)",
                found=repr(ref)[:200],
            )
        found, _ = _resolve(document, ref)
        if not found:
            raise error(
                f"a $ref points at nothing ({produced_by})",
                file=file,
                location=_path(where) + '["$ref"]',
                expected=f"a node at {ref}",
                found="nothing",
            )
    # loops: a depth-first walk (iterative, three colours) over "applies to the same value" edges
    edges: dict[str, list[str]] = {}
    for ref in sorted({r for _, r in refs}):
        edges[ref] = [r for r in _in_place_refs(_resolve(document, ref)[1]) if isinstance(r, str)]
    finished: set[str] = set()
    for start in edges:
        if start in finished:
            continue
        trail: list[str] = [start]
        iterators = [iter(edges.get(start, []))]
        while iterators:
            nxt = next(iterators[-1], None)
            if nxt is None:
                finished.add(trail.pop())
                iterators.pop()
                continue
            if nxt in finished:
                continue
            if nxt in trail:
                loop = [*trail[trail.index(nxt) :], nxt]
                raise error(
                    "a $ref loop: a schema refers to itself without descending into a property or an item, "
                    f"so no value can ever be checked against it ({produced_by})",
                    file=file,
                    location=_path(_pointer(nxt)),
                    expected="every $ref chain to end at a schema",
                    found=" -> ".join(loop),
                )
            if len(trail) >= _MAX_CHAIN:
                raise error(
                    f"a $ref chain longer than {_MAX_CHAIN} ({produced_by})",
                    file=file,
                    location=_path(_pointer(start)),
                    expected=f"at most {_MAX_CHAIN} references applied to one value",
                    found=" -> ".join(trail[:6]) + " -> ...",
                )
            trail.append(nxt)
            iterators.append(iter(edges.get(nxt, [])))


def _report(
    errors: list[Any], *, version: str, name: Path | str, produced_by: str, error: type[SpecError]
) -> None:
    first = min(errors, key=lambda e: len(list(e.absolute_path)))
    deepest = first
    while getattr(deepest, "context", None):
        deepest = min(deepest.context, key=lambda e: len(list(e.absolute_path)))
    lines = str(deepest.message).splitlines()
    rule = next((ln.strip() for ln in str(deepest).splitlines() if ln.startswith("Failed validating")), None)
    raise error(
        f"the document is not valid OpenAPI {version} (produced by {produced_by}); {len(errors)} problem(s), the first:",
        file=name,
        location=_path(list(deepest.absolute_path) if deepest is not first else list(first.absolute_path)),
        expected=rule or "a valid OpenAPI document",
        found=lines[0][:300] if lines else "?",
    )


def validate_openapi(
    document: Any, *, name: Path | str, produced_by: str, error: type[SpecError] = ValidationFailed
) -> None:
    """Validate ``document`` as OpenAPI 3.0 or 3.1.

    Args:
        name: the file the document is (a source) or is meant for (an output), named in the error.
        produced_by: what made it (e.g. the overlay file and action applied last), named in the error.
        error: the error class to raise (``SourceError`` for a source, ``ValidationFailed`` by default).

    Raises:
        ``error``: with the JSONPath of the first problem, what the specification expects there and what
            was found: a reference that cannot be followed (:func:`check_references`), a node of the wrong
            type, or a semantic problem. Nothing else escapes (not even a ``RecursionError``).
    """
    if not isinstance(document, dict):
        raise error(
            f"not an OpenAPI document (produced by {produced_by})",
            file=name,
            expected="a mapping with 'openapi', 'info' and 'paths'",
            found=type(document).__name__,
        )
    version = str(document.get("openapi", ""))
    validator_cls = OpenAPIV31SpecValidator if version.startswith("3.1") else OpenAPIV30SpecValidator
    try:
        errors = list(validator_cls.schema_validator.iter_errors(document))
    except (
        RecursionError,
        Exception,
    ):  # e.g. a document nested deeper than the stack: the walk below says so
        errors = []
    if errors:
        _report(errors, version=version, name=name, produced_by=produced_by, error=error)
    check_references(document, file=name, produced_by=produced_by, error=error)
    try:
        errors = list(validator_cls(document).iter_errors())
    except (RecursionError, Exception) as exc:  # the validator's own walk gave up: say where, not how
        raise error(
            f"openapi-spec-validator could not check the document (produced by {produced_by})",
            file=name,
            expected="a document the validator can walk",
            found=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}",
        ) from None
    if errors:
        _report(errors, version=version, name=name, produced_by=produced_by, error=error)
