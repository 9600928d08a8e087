"""The source documents and their manifest (``openapi/sources/manifest.yaml``).

The manifest records, per source: its id, file, provider, origin, the endpoints (and the published
method + path of each) it describes, the SHA-256 of the text as published and of the file kept here,
and any textual repair made to it. The build refuses a source whose bytes no longer match.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import ManifestError, SourceError
from ._validate import validate_openapi
from ._yamlio import load_yaml

__all__ = ["Endpoint", "Manifest", "Repair", "Source", "load_manifest", "sha256_file"]


#: the kinds of source document the merge reads (manifest ``kind``)
SOURCE_KINDS = ("document", "fal-openapi")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Endpoint:
    """One operation a source describes: the endpoint id it is about, and the method + path it published."""

    endpoint_id: str
    method: str
    path: str


@dataclass(frozen=True)
class RepairEdit:
    line: int
    published: str
    repaired: str


@dataclass(frozen=True)
class Repair:
    """The smallest textual repair that makes a published document parse, recorded line by line."""

    description: str
    edits: tuple[RepairEdit, ...]

    def apply(self, published: str) -> str:
        """Apply the recorded edits to the published text.

        Raises:
            ValueError: a line does not hold the published text the repair expects.
        """
        lines = published.split("\n")
        for edit in self.edits:
            if lines[edit.line - 1] != edit.published:
                raise ValueError(
                    f"line {edit.line}: expected {edit.published!r}, found {lines[edit.line - 1]!r}"
                )
            lines[edit.line - 1] = edit.repaired
        return "\n".join(lines)


@dataclass(frozen=True)
class Source:
    id: str
    file: Path
    provider: str
    origin: str
    form: str
    published_name: str
    published_sha256: str
    sha256: str
    endpoints: tuple[Endpoint, ...]
    repair: Repair | None = None
    kind: str = "document"
    """``document`` (a page transcribed, or an export kept as published) or ``fal-openapi`` (fal's
    per-endpoint OpenAPI, kept byte for byte as downloaded; docs/pipeline.md "Intake")."""
    url: str | None = None
    """where ``sources fetch`` downloads the published document (fal-openapi: the per-endpoint URL)."""

    def load(self) -> dict[str, Any]:
        """Check the file against its recorded SHA-256, then parse it.

        Raises:
            SourceError: missing, changed since the manifest was written, not parseable YAML, or not valid
                OpenAPI (a node of the wrong type, a ``$ref`` that points at nothing or loops).
        """
        if not self.file.is_file():
            raise SourceError(
                f"source {self.id} listed in the manifest is missing",
                file=self.file,
                expected="the file named by the manifest",
                found="no such file",
            )
        actual = sha256_file(self.file)
        if actual != self.sha256:
            raise SourceError(
                f"source {self.id} no longer matches its recorded SHA-256; if the change is deliberate, "
                "review it and record the new digest in openapi/sources/manifest.yaml",
                file=self.file,
                location="sha256",
                expected=self.sha256,
                found=actual,
            )
        doc = load_yaml(self.file)
        if not isinstance(doc, dict) or "paths" not in doc:
            raise SourceError(
                "not an OpenAPI document",
                file=self.file,
                expected="a mapping with 'openapi' and 'paths'",
                found=type(doc).__name__
                if not isinstance(doc, dict)
                else f"keys {sorted(str(k) for k in doc)}",
            )
        # the merge reads the operations' structure: a source must be valid OpenAPI (every published one is,
        # after its recorded repair), with references that can be followed
        validate_openapi(doc, name=self.file, produced_by=f"source {self.id}", error=SourceError)
        return doc


@dataclass(frozen=True)
class Manifest:
    path: Path
    sources: tuple[Source, ...]
    precedence: tuple[str, ...]
    endpoint_specific_fields: frozenset[str] = field(default_factory=frozenset)
    inputs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """input component name -> the endpoint ids whose request body it is (manifest ``merge.inputs``)."""
    enums: dict[str, str] = field(default_factory=dict)
    """input field -> the component its enum is stated in (manifest ``merge.enums``)."""

    def rank(self, source_id: str) -> int:
        """0 for the most trusted source."""
        return self.precedence.index(source_id)

    def by_id(self, source_id: str) -> Source:
        for s in self.sources:
            if s.id == source_id:
                return s
        raise KeyError(source_id)


def _req(mapping: Any, key: str, where: str, path: Path, kind: type = str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise ManifestError(
            f"missing field {key!r}",
            file=path,
            location=where,
            expected=f"{key}: <{kind.__name__}>",
            found="nothing",
        )
    value = mapping[key]
    if not isinstance(value, kind):
        raise ManifestError(
            f"field {key!r} has the wrong type",
            file=path,
            location=f"{where}.{key}",
            expected=kind.__name__,
            found=repr(value),
        )
    return value


def load_manifest(path: Path) -> Manifest:
    """Read and check the manifest.

    Raises:
        ManifestError: a field is missing or of the wrong type, an id repeats, or the precedence list
            does not name every source exactly once.
        SourceError: the manifest itself does not parse.
    """
    data = load_yaml(path, error=ManifestError)
    merge = _req(data, "merge", "$", path, dict)
    precedence = tuple(str(x) for x in _req(merge, "precedence", "$.merge", path, list))
    specific = frozenset(str(x) for x in merge.get("endpoint_specific_fields", []))
    inputs: dict[str, tuple[str, ...]] = {}
    for name, endpoint_ids in (merge.get("inputs") or {}).items():
        if not isinstance(endpoint_ids, list) or not all(isinstance(e, str) for e in endpoint_ids):
            raise ManifestError(
                "an input component lists the endpoint ids whose request body it is",
                file=path,
                location=f"$.merge.inputs.{name}",
                expected="a list of endpoint ids",
                found=repr(endpoint_ids)[:200],
            )
        inputs[str(name)] = tuple(endpoint_ids)
    enums = {str(k): str(v) for k, v in (merge.get("enums") or {}).items()}
    sources: list[Source] = []
    for i, raw in enumerate(_req(data, "sources", "$", path, list)):
        where = f"$.sources[{i}]"
        published = _req(raw, "published", where, path, dict)
        endpoints = tuple(
            Endpoint(
                endpoint_id=_req(e, "endpoint_id", f"{where}.endpoints[{j}]", path),
                method=_req(e, "method", f"{where}.endpoints[{j}]", path).lower(),
                path=_req(e, "path", f"{where}.endpoints[{j}]", path),
            )
            for j, e in enumerate(_req(raw, "endpoints", where, path, list))
        )
        repair = None
        if raw.get("repair"):
            r = raw["repair"]
            repair = Repair(
                description=_req(r, "description", f"{where}.repair", path),
                edits=tuple(
                    RepairEdit(
                        line=_req(e, "line", f"{where}.repair.edits[{j}]", path, int),
                        published=_req(e, "published", f"{where}.repair.edits[{j}]", path),
                        repaired=_req(e, "repaired", f"{where}.repair.edits[{j}]", path),
                    )
                    for j, e in enumerate(_req(r, "edits", f"{where}.repair", path, list))
                ),
            )
        sources.append(
            Source(
                id=str(_req(raw, "id", where, path)),
                file=path.parent / _req(raw, "file", where, path),
                provider=_req(raw, "provider", where, path),
                origin=_req(raw, "origin", where, path),
                form=_req(raw, "form", where, path),
                published_name=_req(published, "name", f"{where}.published", path),
                published_sha256=_req(published, "sha256", f"{where}.published", path),
                sha256=_req(raw, "sha256", where, path),
                endpoints=endpoints,
                repair=repair,
                kind=str(raw.get("kind", "document")),
                url=str(raw["url"]) if raw.get("url") else None,
            )
        )
    for i, s in enumerate(sources):
        if s.kind not in SOURCE_KINDS:
            raise ManifestError(
                "unknown source kind",
                file=path,
                location=f"$.sources[{i}].kind",
                expected=" or ".join(SOURCE_KINDS),
                found=repr(s.kind),
            )
    ids = [s.id for s in sources]
    if len(set(ids)) != len(ids):
        raise ManifestError(
            "source ids repeat", file=path, location="$.sources[*].id", expected="unique ids", found=str(ids)
        )
    if sorted(precedence) != sorted(ids):
        raise ManifestError(
            "the precedence list must name every source exactly once",
            file=path,
            location="$.merge.precedence",
            expected=str(sorted(ids)),
            found=str(list(precedence)),
        )
    return Manifest(
        path=path,
        sources=tuple(sources),
        precedence=precedence,
        endpoint_specific_fields=specific,
        inputs=inputs,
        enums=enums,
    )
