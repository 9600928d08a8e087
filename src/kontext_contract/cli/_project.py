"""What the pipeline commands (spec, codegen, diff, sources, demo) share: the project they work on, and
how a pipeline error ends the command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from .._layout import Layout
from ..pipeline import SpecError

__all__ = ["building", "fail", "project_layout"]


def project_layout(root: Path | None) -> Layout:
    """The project a pipeline command works on (``--root``, ``$KONTEXT_CONTRACT_ROOT``, or found from the
    current folder upward; never the clone the package was installed from), said on stderr.

    Raises:
        click.UsageError: no project there (exit 2), naming where it looked.
    """
    try:
        layout = Layout.discover(root=root)
    except FileNotFoundError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"project: {layout.root}", err=True)
    return layout


def building() -> None:
    """Progress: a build takes a few seconds (more on a busy machine)."""
    click.echo("building the contract: sources -> merge -> overlays -> validate ...", err=True)


def fail(exc: SpecError) -> NoReturn:
    """Bad input to the pipeline (a source, an overlay, the manifest): the error names the file; exit 2."""
    click.echo(f"error: {exc.render()}", err=True)
    sys.exit(2)
