"""``kontext-contract spec``: the contract pipeline (build, check, acknowledge)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .._layout import Layout
from ..pipeline import BuildResult, SpecError, acknowledge, build
from ._options import root_option
from ._project import building, fail, project_layout

__all__ = ["command"]


def _build(layout: Layout) -> BuildResult:
    """Build the project's contract, or exit 2 naming the bad input."""
    building()
    try:
        return build(layout)
    except SpecError as exc:
        fail(exc)


@click.group("spec")
def command() -> None:
    """The contract pipeline: openapi/sources/ -> merge -> overlays/ -> openapi/kontext.openapi.yaml.

    Exit status: 0 success; 1 a stale output; 2 usage error or bad input (a source, overlay or manifest
    that does not build).
    """


@command.command("build")
@root_option
def spec_build(root: Path | None) -> None:
    """Build the contract and provider documents and write them (only if every stage succeeds).

    Exit status: 0 built; 2 usage error or bad input (a source, the merge or an overlay failed: the message
    names the file and JSONPath).
    """
    layout = project_layout(root)
    result = _build(layout)
    changed = result.write()
    t = result.timings
    click.echo(
        f"contract: {len(result.operations())} operations, {len(result.disagreements)} merge disagreements "
        f"(all acknowledged), {len(result.applied)} overlay actions, {len(result.providers)} provider documents "
        f"[merge {t['merge'] * 1000:.0f} ms, overlays {t['overlays'] * 1000:.0f} ms, validate {t['validate'] * 1000:.0f} ms]"
    )
    for path in changed:
        click.echo(f"  wrote {path.relative_to(layout.root)}")
    for ident in result.stale_acknowledgements:
        click.echo(f"  note: acknowledged disagreement {ident} no longer occurs; `make acknowledge` drops it")


@command.command("check")
@root_option
def spec_check(root: Path | None) -> None:
    """Fail if the committed contract, provider documents or reports differ from a fresh build.

    Exit status: 0 current; 1 stale; 2 usage error or bad input (the build failed).
    """
    layout = project_layout(root)
    result = _build(layout)
    stale = result.stale_outputs()
    if stale:
        for path in stale:
            click.echo(
                f"error: {path.relative_to(layout.root)} is not what the sources and overlays build; run `make spec`",
                err=True,
            )
        sys.exit(1)
    click.echo(f"contract up to date: {len(result.outputs)} files match a fresh build")


@command.command("acknowledge")
@root_option
def spec_acknowledge(root: Path | None) -> None:
    """Record the current merge disagreements as reviewed (openapi/merge-acknowledged.yaml).

    Exit status: 0 written; 2 usage error or bad input (the build failed before the merge).
    """
    layout = project_layout(root)
    building()
    try:
        total, changed = acknowledge(layout)
    except SpecError as exc:
        fail(exc)
    click.echo(
        f"{total} disagreements acknowledged ({changed} new or changed): review `git diff {layout.acknowledged.relative_to(layout.root)}`"
    )
