"""``kontext-contract codegen``: the typed client in generated/ (``client`` is its old name, kept hidden
for one release: it clashed with the image command ``generate``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from .. import codegen as _codegen
from .._layout import Layout
from ._options import root_option
from ._project import project_layout

__all__ = ["command", "old_name"]

T = TypeVar("T")


def _run(job: Callable[[Layout], T], root: Path | None, what: str) -> T:
    """Run the generator on the project; its failure exits 1 with the generator's message."""
    layout = project_layout(root)
    click.echo(f"{what} (openapi-python-client, a few seconds)...", err=True)
    try:
        return job(layout)
    except _codegen.CodegenError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


@click.group("codegen")
def command() -> None:
    """The typed client in generated/ (openapi-python-client, pinned): regenerate it, or check it is current.

    Exit status: 0 success; 1 generation failed or generated/ is stale; 2 usage error.
    """


@command.command("generate")
@root_option
def codegen_generate(root: Path | None) -> None:
    """Regenerate generated/ from openapi/kontext.openapi.yaml.

    Exit status: 0 regenerated (or already current); 1 openapi-python-client failed; 2 usage error.
    """
    changed = _run(_codegen.generate, root, "regenerating generated/")
    click.echo("generated/ regenerated" if changed else "generated/ already current")


@command.command("check")
@root_option
def codegen_check(root: Path | None) -> None:
    """Regenerate into a temporary folder; fail on any difference from generated/.

    Exit status: 0 current; 1 generated/ differs (or generation failed); 2 usage error.
    """
    diff = _run(_codegen.check, root, "regenerating into a temporary folder")
    if diff:
        click.echo("error: generated/ is not what `make client` produces from the contract:", err=True)
        for name in diff.changed:
            click.echo(f"  changed: generated/{name}", err=True)
        for name in diff.only_expected:
            click.echo(f"  missing: generated/{name}", err=True)
        for name in diff.only_actual:
            click.echo(f"  extra:   generated/{name}", err=True)
        if diff.diff_excerpt:
            click.echo(diff.diff_excerpt, err=True)
        click.echo("Run `make client` and commit; never edit generated/ by hand.", err=True)
        sys.exit(1)
    click.echo("generated/ is current: byte for byte what the contract generates")


@click.group("client", hidden=True, commands=dict(command.commands))
def old_name() -> None:
    """The old name of codegen (hidden; kept for one release): the same subcommands.

    Exit status: 0 success; 1 generation failed or generated/ is stale; 2 usage error.
    """
    click.echo(
        "note: `kontext-contract client` is now `kontext-contract codegen`; the old name goes in the next release",
        err=True,
    )
