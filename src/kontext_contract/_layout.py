"""Where the project's files are: one small object instead of paths typed again in every module."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Layout", "find_root"]

_MARKER = Path("openapi") / "sources" / "manifest.yaml"
_PACKAGED = (
    Path(__file__).resolve().parent / "_data"
)  # the wheel's copy of openapi/ (pyproject force-include)


def find_root(start: Path | None = None) -> Path:
    """Return the project root: ``$KONTEXT_CONTRACT_ROOT`` if set, else the first folder at or above
    ``start`` (default: the current directory), then above this file, that holds
    ``openapi/sources/manifest.yaml``; else the copy of ``openapi/`` packaged in the wheel
    (``kontext_contract/_data``), which is enough to read the contract and provider documents.

    Raises:
        FileNotFoundError: no such folder; the message names the places searched.
    """
    env = os.environ.get("KONTEXT_CONTRACT_ROOT")
    if env:
        return Path(env).resolve()
    tried: list[Path] = []
    for base in (start or Path.cwd(), Path(__file__).resolve().parent):
        for folder in (base.resolve(), *base.resolve().parents):
            if (folder / _MARKER).is_file():
                return folder
            tried.append(folder)
    if (_PACKAGED / _MARKER).is_file():
        return _PACKAGED
    raise FileNotFoundError(
        f"no project root found: expected {_MARKER} in the current directory or one above it "
        f"(searched from {start or Path.cwd()}); set KONTEXT_CONTRACT_ROOT to the project folder"
    )


@dataclass(frozen=True)
class Layout:
    """The project's folders and files, all relative to ``root``."""

    root: Path

    @classmethod
    def discover(cls, start: Path | None = None) -> Layout:
        return cls(find_root(start))

    @property
    def sources_dir(self) -> Path:
        return self.root / "openapi" / "sources"

    @property
    def manifest(self) -> Path:
        return self.sources_dir / "manifest.yaml"

    @property
    def acknowledged(self) -> Path:
        return self.root / "openapi" / "merge-acknowledged.yaml"

    @property
    def build_dir(self) -> Path:
        return self.root / "openapi" / "build"

    @property
    def merged(self) -> Path:
        return self.build_dir / "merged.openapi.yaml"

    @property
    def merge_report_json(self) -> Path:
        return self.build_dir / "merge-report.json"

    @property
    def merge_report_md(self) -> Path:
        return self.build_dir / "merge-report.md"

    @property
    def overlay_log(self) -> Path:
        return self.build_dir / "overlay-actions.json"

    @property
    def contract(self) -> Path:
        return self.root / "openapi" / "kontext.openapi.yaml"

    @property
    def providers_dir(self) -> Path:
        return self.root / "openapi" / "providers"

    def provider_document(self, provider: str) -> Path:
        return self.providers_dir / f"{provider}.openapi.yaml"

    @property
    def overlays_dir(self) -> Path:
        return self.root / "overlays"

    @property
    def provider_overlays_dir(self) -> Path:
        return self.overlays_dir / "providers"

    @property
    def generated_dir(self) -> Path:
        return self.root / "generated"

    @property
    def client_config(self) -> Path:
        return self.root / "openapi-python-client.yaml"
