"""``kontext-contract matrix``: every check against the mock's emulation of each documented provider."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..checks._matrix import render_matrix, run_matrix
from ..contract import ContractError
from ._options import report_html_option, report_md_option, root_option

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
@click.option(
    "--recordings",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    metavar="DIR",
    help="Build the columns from the recordings (*.har, check --record) in DIR, replayed against the current "
    "contract (offline, free), instead of the mock's emulations.",
)
@click.option(
    "--relays",
    "relays_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    metavar="FILE",
    help="Add a column per undocumented relay of this relays.yaml (name, base_url, auth, key_env), checked "
    "live: costs up to --max-paid-submits each.",
)
@click.option(
    "--max-paid-submits", type=click.IntRange(0), default=5, show_default=True, help="Per relay of --relays."
)
@report_html_option("the matrix")
@root_option
def command(
    report_md: Path | None,
    check_only: bool,
    recordings: Path | None,
    relays_file: Path | None,
    max_paid_submits: int,
    report_html: Path | None,
    root: Path | None,
) -> None:
    """Run every check against the mock's emulation of each documented provider (fal, relay-a, chainhub,
    relay-b) and write the compatibility matrix (checks x providers) as Markdown; or build it from
    recordings (--recordings DIR); and add undocumented relays (--relays relays.yaml).

    Exit status: 0 written (or current with --check); 1 --check found it stale; 2 usage error (no project,
    a provider document lacks what the checks need, a file that is not a recording or a relays.yaml).
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
    from ..checks._har import RecordingProblem
    from ..checks._matrix import MOCK_ORIGIN, matrix_from_recordings, run_relays
    from ..checks._targets import RelaysProblem, load_relays

    origin = MOCK_ORIGIN
    try:
        if recordings is not None:
            files = sorted(recordings.glob("*.har"))
            if not files:
                raise click.BadParameter(f"no *.har file in {recordings}", param_hint="--recordings")
            rows = matrix_from_recordings(
                files, on_provider=lambda name: click.echo(f"replaying the recording of {name}", err=True)
            )
            origin = (
                "What `kontext-contract check` finds when it replays the recordings in "
                f"`{recordings.as_posix()}` (`check --record`) against the current contract: offline, no request "
                "sent.\nEach column is named as its recording names the provider; a recording made against the "
                "embedded mock says so in its base URL column of the HTML page. Check names and rules:\n"
                "[checks.md](checks.md)."
            )
        else:
            rows = run_matrix(
                on_provider=lambda name: click.echo(f"checking the mock's {name} emulation", err=True)
            )
        if relays_file is not None:
            rows += run_relays(
                load_relays(relays_file),
                max_paid_submits=max_paid_submits,
                on_provider=lambda name: click.echo(f"checking the relay {name} (live)", err=True),
            )
            origin += "\nThe columns of the relays in " + f"`{relays_file.name}` are live runs against them."
    except (RecordingProblem, RelaysProblem) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except ContractError as exc:
        click.echo(f"error: the contract: {exc}", err=True)
        sys.exit(2)
    finally:
        _layout.use_contract_from(None)
    text = render_matrix(rows, origin=origin)
    if report_html is not None and not check_only:
        from ..checks._html import render_matrix_html, write_html

        write_html(report_html, render_matrix_html(rows, origin=origin.replace("\n", " ")))
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
