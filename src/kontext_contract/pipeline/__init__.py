"""The contract pipeline: ``openapi/sources/`` -> merge -> ``overlays/`` -> ``openapi/kontext.openapi.yaml``.

Public surface: :func:`build` (everything in memory), :func:`acknowledge`, the error classes, and
the building blocks (:func:`load_manifest`, :func:`merge_sources`, :func:`load_overlay`,
:func:`apply_overlay`, :func:`validate_openapi`) for tests and tools.
"""

from ._accounting import AccountingResult, Drop, SourceFact, account_facts, source_facts
from ._build import BuildResult, acknowledge, build, load_acknowledged
from ._errors import (
    AccountingError,
    ManifestError,
    MergeError,
    OverlayError,
    SourceError,
    SpecError,
    ValidationFailed,
)
from ._merge import ABSENT, Disagreement, MergeResult, merge_sources
from ._overlay import AppliedAction, Overlay, apply_overlay, load_overlay
from ._sources import Manifest, Source, load_manifest, sha256_file
from ._validate import validate_openapi
from ._yamlio import dump_json, dump_yaml, load_yaml, write_atomic

__all__ = [
    "ABSENT",
    "AccountingError",
    "AccountingResult",
    "AppliedAction",
    "BuildResult",
    "Disagreement",
    "Drop",
    "Manifest",
    "ManifestError",
    "MergeError",
    "MergeResult",
    "Overlay",
    "OverlayError",
    "Source",
    "SourceError",
    "SourceFact",
    "SpecError",
    "ValidationFailed",
    "account_facts",
    "acknowledge",
    "apply_overlay",
    "build",
    "dump_json",
    "dump_yaml",
    "load_acknowledged",
    "load_manifest",
    "load_overlay",
    "load_yaml",
    "merge_sources",
    "sha256_file",
    "source_facts",
    "validate_openapi",
    "write_atomic",
]
