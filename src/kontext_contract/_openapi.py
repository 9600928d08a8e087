"""Small helpers for reading OpenAPI documents, shared by the pipeline, the mock, the checks and the tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["resolve_ref"]


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
