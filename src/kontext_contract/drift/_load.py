"""Loading a contract document for comparison: parsed and validated, or a clear error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..pipeline import SpecError, load_yaml, validate_openapi

__all__ = ["ContractLoadError", "load_contract"]


class ContractLoadError(SpecError):
    """The file is missing, not YAML/JSON, or not a valid OpenAPI document."""


def load_contract(path: Path) -> dict[str, Any]:
    """Parse ``path`` and validate it as OpenAPI 3.

    Raises:
        ContractLoadError: naming the file and the place of the first problem.
    """
    doc = load_yaml(path, error=ContractLoadError)
    if not isinstance(doc, dict) or "openapi" not in doc:
        raise ContractLoadError(
            "not an OpenAPI document",
            file=path,
            expected="a mapping with an 'openapi' version and 'paths'",
            found=type(doc).__name__ if not isinstance(doc, dict) else f"keys {sorted(doc)[:8]}",
        )
    try:
        validate_openapi(doc, name=path, produced_by="its author")
    except SpecError as exc:
        raise ContractLoadError(
            exc.message, file=path, location=exc.location, expected=exc.expected, found=exc.found
        ) from None
    return doc
