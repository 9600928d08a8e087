"""Every built document must be valid OpenAPI (openapi-spec-validator)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

from ._errors import ValidationFailed

__all__ = ["validate_openapi"]


def _path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f"[{json.dumps(str(part))}]"
    return out


def validate_openapi(document: dict[str, Any], *, name: Path | str, produced_by: str) -> None:
    """Validate ``document`` as OpenAPI 3.0 or 3.1.

    Args:
        name: the output file the document is meant for (named in the error).
        produced_by: what made it (e.g. the last overlay file applied), named in the error.

    Raises:
        ValidationFailed: with the JSONPath of the first problem, what the specification expects there
            and what was found.
    """
    version = str(document.get("openapi", ""))
    validator_cls = OpenAPIV31SpecValidator if version.startswith("3.1") else OpenAPIV30SpecValidator
    errors = list(validator_cls(document).iter_errors())
    if not errors:
        return
    first = min(errors, key=lambda e: len(list(e.absolute_path)))
    deepest = first
    while getattr(deepest, "context", None):
        deepest = min(deepest.context, key=lambda e: len(list(e.absolute_path)))
    lines = str(deepest.message).splitlines()
    rule = next((ln.strip() for ln in str(deepest).splitlines() if ln.startswith("Failed validating")), None)
    raise ValidationFailed(
        f"the built document is not valid OpenAPI {version} (produced by {produced_by}); {len(errors)} problem(s), the first:",
        file=name,
        location=_path(list(deepest.absolute_path) if deepest is not first else list(first.absolute_path)),
        expected=rule or "a valid OpenAPI document",
        found=lines[0][:300] if lines else "?",
    )
