"""``kontext-contract sources``: newer published copies of the source documents against the manifest."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..pipeline import SpecError
from ._intake import sources_fetch, sources_update
from ._options import report_json_option, root_option
from ._project import project_layout

__all__ = ["command"]


@click.group("sources")
def command() -> None:
    """The source documents: fetch fal's publications, check newer copies against the manifest, update.

    Exit status: 0 nothing needs a person; 1 something does; 2 usage error.
    """


@command.command("check")
@click.option(
    "--from",
    "from_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder of newer copies: published pages named as in the manifest (e.g. 003_1a68e0816fa4ae1f.txt) "
    "or transcribed sources named as in openapi/sources/.",
)
@click.option(
    "--apply", is_flag=True, help="Write the changed sources and their digests into openapi/sources/."
)
@report_json_option("the report")
@root_option
def sources_check(from_dir: Path, apply: bool, report_json: Path | None, root: Path | None) -> None:
    """Which sources changed, and what the change would do: new disagreements, stale overlay actions, the
    contract diff. Nothing is modified without --apply.

    Exit status: 0 nothing needs a person, 1 something does, 2 usage error: the folder cannot be used (missing, empty,
    none of the expected files, or a file named like a source that is not UTF-8 text).
    """
    from ..drift._sources_check import check_sources
    from ..pipeline import dump_json, write_atomic

    layout = project_layout(root)
    click.echo("comparing the sources and rebuilding the contract from them ...", err=True)
    try:
        report = check_sources(layout, from_dir, apply=apply)
    except SpecError as exc:
        click.echo(f"error: {exc.render()}", err=True)
        sys.exit(2)
    counts: dict[str, int] = {}
    for status in report.sources:
        counts[status.status] = counts.get(status.status, 0) + 1
    click.echo(
        f"sources: {len(report.sources)} in the manifest; "
        + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    )
    for status in report.sources:
        click.echo(f"  {status.id} {status.status:19} {status.detail}")
    if report.build_error:
        click.echo(f"rebuild failed:\n  {report.build_error}")
    if report.new_disagreements or report.changed_disagreements:
        click.echo(
            f"merge: {len(report.new_disagreements)} new and {len(report.changed_disagreements)} changed disagreement(s)"
        )
        for d in report.new_disagreements:
            click.echo(f"  NEW {d.id}: " + ", ".join(f"{k}={v!r}" for k, v in sorted(d.values.items())))
        for old, d in report.changed_disagreements:
            click.echo(f"  CHANGED {d.id}: acknowledged {old['values']!r}, now {d.values!r}")
    for ident in report.gone_disagreements:
        click.echo(f"  gone: {ident} no longer occurs")
    if report.overlay_problems:
        click.echo(
            f"overlays: {len(report.overlay_problems)} action(s) no longer match or no longer change anything"
        )
        for problem in report.overlay_problems:
            click.echo("  " + problem.splitlines()[0])
    breaking = sum(c.breaking for c in report.contract_changes)
    if report.contract_changes:
        click.echo(
            f"contract diff: {breaking} breaking, {len(report.contract_changes) - breaking} non-breaking"
        )
        for change in report.contract_changes:
            click.echo(f"  {change.line()}")
    for path in report.applied:
        click.echo(f"  wrote {path}")
    if report_json is not None:
        write_atomic(report_json, dump_json(report.as_dict()))
    if report.needs_attention:
        click.echo(
            "result: needs a person (review, change overlays if needed, `make spec`, `make acknowledge`)"
        )
        sys.exit(1)
    click.echo("result: " + ("changes are harmless" if report.changed else "nothing changed"))


command.add_command(sources_fetch)
command.add_command(sources_update)
