"""Where the project's files are: one small object instead of paths typed again in every module.

Two different questions, answered by two functions:

- :func:`shipped_root`: the contract a *library* reads (the client, the mock, the checks). It is the copy
  this package ships with: ``kontext_contract/_data/openapi/`` in a wheel, or, in an editable install, the
  ``openapi/`` of the checkout this package is imported from. It never depends on the current directory,
  so an installed client never reads an unrelated checkout's contract.
- :func:`find_root`: the *project* the pipeline commands work on (``spec build/check/acknowledge``,
  ``codegen generate/check``, ``sources check``, ``diff``, ``matrix``, ``demo``): ``--root``, else
  ``$KONTEXT_CONTRACT_ROOT``, else the first folder at or above the current one that holds
  ``openapi/sources/manifest.yaml``. There is no fallback: run from an unrelated folder, a pipeline
  command fails (exit 2) instead of silently building the clone the package was installed from. The
  commands print ``project: <path>`` on stderr.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ENV_ROOT", "Layout", "find_root", "shipped_root", "use_contract_from"]

ENV_ROOT = "KONTEXT_CONTRACT_ROOT"
_MARKER = Path("openapi") / "sources" / "manifest.yaml"
_CONTRACT = Path("openapi") / "kontext.openapi.yaml"
_PACKAGED = (
    Path(__file__).resolve().parent / "_data"
)  # the wheel's copy of openapi/ (pyproject force-include)
_selected: Path | None = None


def shipped_root() -> Path:
    """The folder holding the ``openapi/`` this package ships with (see the module docstring).

    Returns:
        ``kontext_contract/_data`` when the wheel's copy is there; else the checkout of an editable install
        (``<checkout>/src/kontext_contract/`` is this package); else, when a pipeline command selected a
        project with :func:`use_contract_from`, that project.

    Raises:
        FileNotFoundError: none of these holds ``openapi/kontext.openapi.yaml`` (a broken install); the
            message names the places looked at.
    """
    if _selected is not None:
        return _selected
    if (_PACKAGED / _CONTRACT).is_file():
        return _PACKAGED
    package = Path(__file__).resolve().parent
    checkout = package.parent.parent
    if package.parent.name == "src" and (checkout / _CONTRACT).is_file():
        return checkout
    raise FileNotFoundError(
        f"this installation of kontext_contract has no contract: expected {_PACKAGED / _CONTRACT} (a wheel) "
        f"or {checkout / _CONTRACT} (an editable install); reinstall the package"
    )


def use_contract_from(root: Path | None) -> None:
    """Make :func:`shipped_root` answer ``root`` for the rest of the process (None: the shipped copy again).

    Only the command line calls it, for a pipeline command that runs the library on a project's contract
    (``matrix``); a library never does.
    """
    global _selected
    _selected = root.resolve() if root is not None else None


def _project(folder: Path, why: str) -> Path:
    folder = folder.expanduser().resolve()
    if not (folder / _MARKER).is_file():
        raise FileNotFoundError(f"{folder} ({why}) is not a kontext-contract project: it has no {_MARKER}")
    return folder


def find_root(start: Path | None = None, *, root: Path | None = None) -> Path:
    """The project a pipeline command works on.

    Args:
        start: where to start searching upward (default: the current directory).
        root: an explicit project folder (``--root``); wins over everything.

    Returns:
        ``root``, else ``$KONTEXT_CONTRACT_ROOT``, else the first folder at or above ``start`` holding
        ``openapi/sources/manifest.yaml``.

    Raises:
        FileNotFoundError: ``root`` or ``$KONTEXT_CONTRACT_ROOT`` is not a project, or no folder at or above
            ``start`` is one; the message names where it looked and how to choose one.
    """
    if root is not None:
        return _project(root, "--root")
    env = os.environ.get(ENV_ROOT)
    if env:
        return _project(Path(env), f"${ENV_ROOT}")
    base = (start or Path.cwd()).resolve()
    for folder in (base, *base.parents):
        if (folder / _MARKER).is_file():
            return folder
    raise FileNotFoundError(
        f"no project found here: neither {base} nor a folder above it holds {_MARKER}; run the command "
        f"in a kontext-contract checkout, or pass --root PATH (or set {ENV_ROOT})"
    )


@dataclass(frozen=True)
class Layout:
    """The project's folders and files, all relative to ``root``."""

    root: Path

    @classmethod
    def discover(cls, start: Path | None = None, *, root: Path | None = None) -> Layout:
        """The project of a pipeline command (:func:`find_root`).

        Raises:
            FileNotFoundError: no project there.
        """
        return cls(find_root(start, root=root))

    @classmethod
    def shipped(cls) -> Layout:
        """The contract this package ships with, for the client, the mock and the checks
        (:func:`shipped_root`).

        Raises:
            FileNotFoundError: a broken install.
        """
        return cls(shipped_root())

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
    def fact_accounting(self) -> Path:
        return self.build_dir / "fact-accounting.json"

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
