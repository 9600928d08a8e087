"""The ``kontext-contract`` command line.

Exit status: 0 success; 1 the check failed (drift, a stale output, generated/ not current); 2 bad input
(a source, overlay or manifest that does not build: the message names the file and the place) or a usage
error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import codegen
from ._layout import Layout
from .pipeline import SpecError, acknowledge, build


def _layout(root: Path | None) -> Layout:
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


def _fail(exc: SpecError) -> None:
    """Bad input to the pipeline (a source, an overlay, the manifest): the error names the file; exit 2."""
    click.echo(f"error: {exc.render()}", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kontext-contract")
def main() -> None:
    """One contract for FLUX.1 Kontext [pro]: build it, generate its client, check providers against it."""


@main.group()
def spec() -> None:
    """The contract pipeline: openapi/sources/ -> merge -> overlays/ -> openapi/kontext.openapi.yaml."""


_root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Project folder (default: $KONTEXT_CONTRACT_ROOT, else the first folder at or above the current "
    "one holding openapi/sources/manifest.yaml).",
)


@spec.command("build")
@_root_option
def spec_build(root: Path | None) -> None:
    """Build the contract and provider documents and write them (only if every stage succeeds)."""
    layout = _layout(root)
    try:
        result = build(layout)
    except SpecError as exc:
        _fail(exc)
        return
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


@spec.command("check")
@_root_option
def spec_check(root: Path | None) -> None:
    """Fail if the committed contract, provider documents or reports differ from a fresh build."""
    layout = _layout(root)
    try:
        result = build(layout)
    except SpecError as exc:
        _fail(exc)
        return
    stale = result.stale_outputs()
    if stale:
        for path in stale:
            click.echo(
                f"error: {path.relative_to(layout.root)} is not what the sources and overlays build; run `make spec`",
                err=True,
            )
        sys.exit(1)
    click.echo(f"contract up to date: {len(result.outputs)} files match a fresh build")


@spec.command("acknowledge")
@_root_option
def spec_acknowledge(root: Path | None) -> None:
    """Record the current merge disagreements as reviewed (openapi/merge-acknowledged.yaml)."""
    layout = _layout(root)
    try:
        total, changed = acknowledge(layout)
    except SpecError as exc:
        _fail(exc)
        return
    click.echo(
        f"{total} disagreements acknowledged ({changed} new or changed): review `git diff {layout.acknowledged.relative_to(layout.root)}`"
    )


@main.command()
@_root_option
def demo(root: Path | None) -> None:
    """The main job: build the contract from the five documents, verify the client, print a summary."""
    from ._demo import run_demo

    run_demo(_layout(root))


@main.command("diff")
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the report here.",
)
def diff_command(old: Path, new: Path, fmt: str, output: Path | None) -> None:
    """Classify every change from the contract OLD to NEW for a client: breaking or not, with its JSONPath.

    A file that is a built output of a project (openapi/kontext.openapi.yaml, openapi/providers/*) must be
    what that project's sources and overlays build now: a stale one (an overlay edited since `make spec`)
    is refused, since the diff would miss the edit.

    Exit status: 0 no breaking change, 1 breaking changes, 2 a document is missing, not valid OpenAPI, or
    a stale built contract.
    """
    from .drift import ContractLoadError, diff_documents, load_contract
    from .drift._report import render_changes

    for path in (old, new):
        _refuse_stale(path)
    try:
        changes = diff_documents(load_contract(old), load_contract(new))
    except ContractLoadError as exc:
        click.echo(f"error: {exc.render()}", err=True)
        sys.exit(2)
    text = render_changes(changes, fmt, old=str(old), new=str(new))
    click.echo(text, nl=False)
    if output is not None:
        from .pipeline import write_atomic

        write_atomic(output, text)
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


@main.group()
def sources() -> None:
    """The source documents: check newer published copies against the manifest."""


@sources.command("check")
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
@click.option("--report-json", type=click.Path(dir_okay=False, path_type=Path), default=None)
@_root_option
def sources_check(from_dir: Path, apply: bool, report_json: Path | None, root: Path | None) -> None:
    """Which sources changed, and what the change would do: new disagreements, stale overlay actions, the
    contract diff. Nothing is modified without --apply.

    Exit status: 0 nothing needs a person, 1 something does, 2 the folder cannot be used (missing, empty,
    none of the expected files, or a file named like a source that is not UTF-8 text).
    """
    from .drift._sources_check import check_sources
    from .pipeline import dump_json, write_atomic

    layout = _layout(root)
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


@main.group()
def client() -> None:
    """The typed client in generated/ (openapi-python-client, pinned)."""


@client.command("generate")
@_root_option
def client_generate(root: Path | None) -> None:
    """Regenerate generated/ from openapi/kontext.openapi.yaml."""
    layout = _layout(root)
    try:
        changed = codegen.generate(layout)
    except codegen.CodegenError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo("generated/ regenerated" if changed else "generated/ already current")


@client.command("check")
@_root_option
def client_check(root: Path | None) -> None:
    """Regenerate into a temporary folder; fail on any difference from generated/."""
    layout = _layout(root)
    try:
        diff = codegen.check(layout)
    except codegen.CodegenError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
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


from .mock._cli import mock_command  # noqa: E402

main.add_command(mock_command)

from .client._cli import generate_command  # noqa: E402

main.add_command(generate_command)


from .checks._cli import check_command  # noqa: E402

main.add_command(check_command)

from .checks._cli import matrix_command  # noqa: E402

main.add_command(matrix_command)

if __name__ == "__main__":  # pragma: no cover
    main()
