"""``kontext-contract diff``: classify the changes between two contracts for a client."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .._layout import Layout
from ..pipeline import SpecError, build
from ._options import report_json_option, report_md_option, root_option
from ._project import project_layout

__all__ = ["command"]


@click.command("diff")
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path), required=False)
@report_json_option("the changes")
@report_md_option("the changes")
@root_option
def command(
    old: Path, new: Path | None, report_json: Path | None, report_md: Path | None, root: Path | None
) -> None:
    """Classify every change from the contract OLD to NEW for a client: breaking or not, with its JSONPath.

    A file that is a built output of a project (openapi/kontext.openapi.yaml, openapi/providers/*) must be
    what that project's sources and overlays build now: a stale one (an overlay edited since `make spec`)
    is refused, since the diff would miss the edit. NEW defaults to the project's contract
    (openapi/kontext.openapi.yaml under --root). The text report goes to stdout; --report-json and
    --report-md also write it as JSON or Markdown.

    Exit status: 0 no breaking change, 1 breaking changes, 2 usage error (a document missing, not valid
    OpenAPI, or a stale built contract).
    """
    from ..drift import ContractLoadError, diff_documents, load_contract
    from ..drift._report import render_changes
    from ..pipeline import write_atomic

    if new is None:
        new = project_layout(root).contract
    for path in (old, new):
        _refuse_stale(path)
    try:
        changes = diff_documents(load_contract(old), load_contract(new))
    except ContractLoadError as exc:
        click.echo(f"error: {exc.render()}", err=True)
        sys.exit(2)
    click.echo(render_changes(changes, "text", old=str(old), new=str(new)), nl=False)
    for target, fmt in ((report_json, "json"), (report_md, "markdown")):
        if target is not None:
            write_atomic(target, render_changes(changes, fmt, old=str(old), new=str(new)))
    sys.exit(1 if any(c.breaking for c in changes) else 0)


def _refuse_stale(path: Path) -> None:
    """Exit 2 when ``path`` is a built output of the project holding it and a fresh build differs."""
    resolved = path.resolve()
    owner = next(
        (f for f in resolved.parents if (f / "openapi" / "sources" / "manifest.yaml").is_file()), None
    )
    if owner is None or not resolved.name.endswith(".openapi.yaml"):
        return
    layout = Layout(owner)
    try:
        result = build(layout)
    except SpecError as exc:
        click.echo(f"project: {layout.root}", err=True)
        click.echo(
            f"error: cannot tell whether {path} is current: the sources and overlays do not build:\n"
            f"{exc.render()}",
            err=True,
        )
        sys.exit(2)
    if resolved not in {p.resolve() for p in result.outputs}:
        return
    click.echo(f"project: {layout.root}", err=True)
    if resolved in {p.resolve() for p in result.stale_outputs()}:
        click.echo(
            f"error: the contract is stale: {path} is not what the sources and overlays of {layout.root} build "
            "now (edited since the last `make spec`); run make spec, then diff again",
            err=True,
        )
        sys.exit(2)
