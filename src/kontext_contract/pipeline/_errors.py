"""The pipeline's errors. Each names the file, the place in it, what was expected and what was found."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AccountingError",
    "ManifestError",
    "MergeError",
    "OverlayError",
    "SourceError",
    "SpecError",
    "ValidationFailed",
]


class SpecError(Exception):
    """Base of every pipeline error.

    Attributes:
        file: the file at fault (a source, an overlay, the manifest, an output).
        location: where in it: a line:column, a JSONPath, an action index, a field.
        expected: what the pipeline needed there.
        found: what was there instead.
    """

    def __init__(
        self,
        message: str,
        *,
        file: Path | str | None = None,
        location: str | None = None,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.location = location
        self.expected = expected
        self.found = found
        self.message = message
        super().__init__(self.render())

    def render(self) -> str:
        where = self.file or "<unknown file>"
        if self.location:
            where += f" at {self.location}"
        text = f"{where}: {self.message}"
        if self.expected is not None:
            text += f"\n  expected: {self.expected}"
        if self.found is not None:
            text += f"\n  found:    {self.found}"
        return text


class SourceError(SpecError):
    """A source document is missing, does not parse, or no longer matches its recorded SHA-256."""


class ManifestError(SpecError):
    """``openapi/sources/manifest.yaml`` is missing a field or names something that is not there."""


class MergeError(SpecError):
    """The merge found disagreements between sources that no reviewed file acknowledges."""


class OverlayError(SpecError):
    """An overlay is not a valid Overlay 1.0.0 document, or one of its actions breaks the project's rules
    (a JSONPath syntax error, a target that matches nothing, an action that changes nothing)."""


class ValidationFailed(SpecError):
    """A built document is not a valid OpenAPI document."""


class AccountingError(SpecError):
    """A fact a source states reaches neither the contract nor an overlay action's ``x-drops`` record
    (docs/pipeline.md "Overlays correct, they do not restate")."""
