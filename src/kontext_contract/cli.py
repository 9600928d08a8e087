"""The ``kontext-contract`` command line.

Exit status: 0 success; 1 the check failed (drift, a stale output, generated/ not current); 2 bad input
(a source, overlay or manifest that does not build: the message names the file and the place) or a usage
error. Every subcommand spells the same thing the same way (``_cli_options``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import codegen
from ._cli_options import report_json_option, report_md_option, root_option
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


def _building() -> None:
    """Progress: a build takes a few seconds (more on a busy machine)."""
    click.echo("building the contract: sources -> merge -> overlays -> validate ...", err=True)


def _fail(exc: SpecError) -> None:
    """Bad input to the pipeline (a source, an overlay, the manifest): the error names the file; exit 2."""
    click.echo(f"error: {exc.render()}", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kontext-contract")
def main() -> None:
    """One contract for FLUX.1 Kontext [pro]: build it, generate its client, check providers against it.

    Every subcommand: --root DIR is the project folder it reads, --base-url the provider's base URL,
    --report-json/--report-md/--junit PATH the report files; its --help lists its exit statuses.

    Exit status: 0 success; 1 the check or job failed; 2 usage error or bad input (the message names the
    option, file or field).
    """


@main.group()
def spec() -> None:
    """The contract pipeline: openapi/sources/ -> merge -> overlays/ -> openapi/kontext.openapi.yaml.

    Exit status: 0 success; 1 a stale output; 2 usage error or bad input (a source, overlay or manifest
    that does not build).
    """


_root_option = root_option


@spec.command("build")
@_root_option
def spec_build(root: Path | None) -> None:
    """Build the contract and provider documents and write them (only if every stage succeeds).

    Exit status: 0 built; 2 usage error or bad input (a source, the merge or an overlay failed: the message
    names the file and JSONPath).
    """
    layout = _layout(root)
    _building()
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
    """Fail if the committed contract, provider documents or reports differ from a fresh build.

    Exit status: 0 current; 1 stale; 2 usage error or bad input (the build failed).
    """
    layout = _layout(root)
    _building()
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
    """Record the current merge disagreements as reviewed (openapi/merge-acknowledged.yaml).

    Exit status: 0 written; 2 usage error or bad input (the build failed before the merge).
    """
    layout = _layout(root)
    _building()
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
    """The main job: build the contract from the five documents, verify the client, print a summary.

    Runs in a checkout (it regenerates the client and runs the contract suite of contract_tests/).

    Exit status: 0 every stage passed; 1 a stage failed (the message says which); 2 usage error.
    """
    from ._demo import run_demo

    run_demo(_layout(root))


@main.command("diff")
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path), required=False)
@report_json_option("the changes")
@report_md_option("the changes")
@_root_option
def diff_command(
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
    from .drift import ContractLoadError, diff_documents, load_contract
    from .drift._report import render_changes
    from .pipeline import write_atomic

    if new is None:
        new = _layout(root).contract
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


@main.group()
def sources() -> None:
    """The source documents: check newer published copies against the manifest.

    Exit status: 0 nothing needs a person; 1 something does; 2 usage error.
    """


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
@report_json_option("the report")
@_root_option
def sources_check(from_dir: Path, apply: bool, report_json: Path | None, root: Path | None) -> None:
    """Which sources changed, and what the change would do: new disagreements, stale overlay actions, the
    contract diff. Nothing is modified without --apply.

    Exit status: 0 nothing needs a person, 1 something does, 2 usage error: the folder cannot be used (missing, empty,
    none of the expected files, or a file named like a source that is not UTF-8 text).
    """
    from .drift._sources_check import check_sources
    from .pipeline import dump_json, write_atomic

    layout = _layout(root)
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


@main.group()
def client() -> None:
    """The typed client in generated/ (openapi-python-client, pinned).

    Exit status: 0 success; 1 generation failed or generated/ is stale; 2 usage error.
    """


@client.command("generate")
@_root_option
def client_generate(root: Path | None) -> None:
    """Regenerate generated/ from openapi/kontext.openapi.yaml.

    Exit status: 0 regenerated (or already current); 1 openapi-python-client failed; 2 usage error.
    """
    layout = _layout(root)
    click.echo("regenerating generated/ (openapi-python-client, a few seconds)...", err=True)
    try:
        changed = codegen.generate(layout)
    except codegen.CodegenError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo("generated/ regenerated" if changed else "generated/ already current")


@client.command("check")
@_root_option
def client_check(root: Path | None) -> None:
    """Regenerate into a temporary folder; fail on any difference from generated/.

    Exit status: 0 current; 1 generated/ differs (or generation failed); 2 usage error.
    """
    layout = _layout(root)
    click.echo("regenerating into a temporary folder (openapi-python-client, a few seconds)...", err=True)
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

from .client._requests_cli import requests_group  # noqa: E402

main.add_command(requests_group)


from .checks._cli import check_command  # noqa: E402

main.add_command(check_command)

from .checks._cli import matrix_command  # noqa: E402

main.add_command(matrix_command)

if __name__ == "__main__":  # pragma: no cover
    main()
