"""``kontext-contract matrix``: every check against the mock's emulation of each documented provider."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..checks._contract import ContractProblem
from ..checks._matrix import render_matrix, run_matrix
from ._options import report_md_option, root_option

__all__ = ["command"]


@click.command("matrix")
@report_md_option(
    "the compatibility page",
    help="Where to write the compatibility page as Markdown (default: docs/compatibility.md in the project).",
)
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Do not write: exit 1 if --report-md differs from a fresh run.",
)
@root_option
def command(report_md: Path | None, check_only: bool, root: Path | None) -> None:
    """Run every check against the mock's emulation of each documented provider (fal, relay-a, chainhub,
    relay-b) and write the compatibility matrix (checks x providers) as Markdown.

    Exit status: 0 written (or current with --check); 1 --check found it stale; 2 usage error (no project,
    or a provider document lacks what the checks need).
    """
    from .. import _layout
    from ..pipeline import write_atomic

    try:
        project = _layout.find_root(root=root)
    except FileNotFoundError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"project: {project}", err=True)
    output = report_md if report_md is not None else project / "docs" / "compatibility.md"
    _layout.use_contract_from(project)  # the checks and the embedded mock read this project's documents
    try:
        rows = run_matrix(
            on_provider=lambda name: click.echo(f"checking the mock's {name} emulation", err=True)
        )
    except ContractProblem as exc:
        click.echo(f"error: the contract: {exc}", err=True)
        sys.exit(2)
    finally:
        _layout.use_contract_from(None)
    text = render_matrix(rows)
    for row in rows:
        counts = row.report.counts()
        click.echo(
            f"{row.report.provider:9} {counts['pass']:2} pass {counts['fail']:2} fail {counts['skip']:2} skip"
            + ("" if row.report.complete else f"  INCOMPLETE: {row.report.error}")
        )
    if check_only:
        current = output.read_text(encoding="utf-8") if output.is_file() else ""
        if current != text:
            click.echo(f"error: {output} is not what the checks give now; run `make matrix`", err=True)
            sys.exit(1)
        click.echo(f"{output} is current")
        return
    changed = write_atomic(output, text)
    click.echo(f"{'wrote' if changed else 'unchanged:'} {output}")
