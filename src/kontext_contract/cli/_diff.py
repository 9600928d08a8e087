"""``kontext-contract diff``: classify the changes between two contracts for a client."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from .._layout import Layout
from ..pipeline import SpecError, build
from ._options import report_json_option, report_md_option, root_option
from ._project import project_layout

__all__ = ["command"]


@click.command("diff")
@click.argument("old", type=click.Path(path_type=Path), required=False)
@click.argument("new", type=click.Path(path_type=Path), required=False)
@click.option(
    "--base",
    metavar="REF",
    default=None,
    help="Take OLD from a git ref of the project (its openapi/kontext.openapi.yaml there), instead of a file.",
)
@report_json_option("the changes")
@report_md_option("the changes")
@root_option
def command(
    old: Path | None,
    new: Path | None,
    base: str | None,
    report_json: Path | None,
    report_md: Path | None,
    root: Path | None,
) -> None:
    """Classify every change from the contract OLD to NEW for a client: breaking or not, with its JSONPath.

    With --base REF, OLD is the project's contract at that git ref and the one argument, if any, is NEW:
    `kontext-contract diff --base origin/main` is what `make diff BASE=origin/main` runs after `make spec`
    (both exit as below).

    A file that is a built output of a project (openapi/kontext.openapi.yaml, openapi/providers/*) must be
    what that project's sources and overlays build now: a stale one (an overlay edited since `make spec`)
    is refused, since the diff would miss the edit. NEW defaults to the project's contract
    (openapi/kontext.openapi.yaml under --root). The text report goes to stdout; --report-json and
    --report-md also write it as JSON or Markdown.

    Exit status: 0 no breaking change, 1 breaking changes, 2 usage error (a document missing, not valid
    OpenAPI, a stale built contract, a git ref without the contract).
    """
    if base is not None:
        if new is not None:
            raise click.UsageError("--base takes the place of OLD: give at most one file (NEW)")
        layout = project_layout(root)
        with _at_ref(layout.root, base) as old_file:
            _diff(old_file, old or layout.contract, report_json, report_md, shown=f"{base}:{_CONTRACT}")
        return
    if old is None:
        raise click.UsageError("give OLD (a contract file) or --base REF")
    if new is None:
        new = project_layout(root).contract
    _diff(old, new, report_json, report_md)


_CONTRACT = "openapi/kontext.openapi.yaml"


@contextmanager
def _at_ref(root: Path, ref: str) -> Iterator[Path]:
    """The project's contract at git ref ``ref``, as a temporary file (removed afterwards).

    Raises:
        SystemExit: 2, naming the ref, when git cannot show the contract there.
    """
    proc = subprocess.run(
        ["git", "show", f"{ref}:{_CONTRACT}"], cwd=root, capture_output=True, check=False, timeout=60
    )
    if proc.returncode != 0:
        reason = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        click.echo(
            f"error: --base {ref}: no {_CONTRACT} at that git ref in {root}"
            + (f" ({reason[-1]})" if reason else ""),
            err=True,
        )
        sys.exit(2)
    with tempfile.TemporaryDirectory(prefix="kontext-diff-") as folder:
        path = Path(folder) / "base.openapi.yaml"
        path.write_bytes(proc.stdout)
        yield path


def _diff(
    old: Path, new: Path, report_json: Path | None, report_md: Path | None, *, shown: str | None = None
) -> None:
    """Print (and write) the classified changes from ``old`` to ``new``; exit 1 on a breaking one."""
    from ..drift import ContractLoadError, diff_documents, load_contract
    from ..drift._report import render_changes
    from ..pipeline import write_atomic

    for path in (old, new):
        _refuse_stale(path)
    try:
        changes = diff_documents(load_contract(old), load_contract(new))
    except ContractLoadError as exc:
        click.echo(f"error: {exc.render()}", err=True)
        sys.exit(2)
    label = shown or str(old)
    click.echo(render_changes(changes, "text", old=label, new=str(new)), nl=False)
    for target, fmt in ((report_json, "json"), (report_md, "markdown")):
        if target is not None:
            write_atomic(target, render_changes(changes, fmt, old=label, new=str(new)))
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
