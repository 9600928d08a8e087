"""``make demo``: the main job on the real inputs, with one summary at the end.

Stages (each prints one block; a failure stops the demo with exit status 1):
1. the contract: sources -> merge -> overlays -> contract and provider documents, written if changed;
2. the typed client: regenerated into a temporary folder and compared with ``generated/``.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from pathlib import Path

import click

from . import codegen
from ._layout import Layout
from .spec import BuildResult, SpecError, build


def _seeds_folder(layout: Layout) -> Path | None:
    folder = layout.root.parent / "shared" / "seeds"
    return folder if folder.is_dir() else None


def _contract_stage(layout: Layout) -> BuildResult:
    click.secho(
        "== 1. Contract: openapi/sources/ -> merge -> overlays/ -> openapi/kontext.openapi.yaml", bold=True
    )
    result = build(layout)
    seeds = _seeds_folder(layout)
    for source in result.manifest.sources:
        provenance = ""
        if seeds is not None and (seeds / source.published_name).is_file():
            digest = hashlib.sha256((seeds / source.published_name).read_bytes()).hexdigest()
            provenance = (
                "matches the published text"
                if digest == source.published_sha256
                else "PUBLISHED TEXT CHANGED"
            )
        repair = f", repaired ({len(source.repair.edits)} lines)" if source.repair else ""
        endpoints = ", ".join(e.endpoint_id for e in source.endpoints)
        click.echo(f"  source {source.id} [{source.provider:8}] {endpoints}{repair}  {provenance}")
    kinds = Counter(d.kind for d in result.disagreements)
    click.echo(
        f"  merge: {len(result.disagreements)} disagreements between the sources, all acknowledged and resolved: "
        + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
    )
    per_file = Counter(a.overlay for a in result.applied)
    click.echo(
        f"  overlays: {len(result.applied)} actions applied in {len(per_file)} files ("
        + ", ".join(f"{name.split('.')[0]} {n}" for name, n in sorted(per_file.items()))
        + "); provider documents: "
        + ", ".join(f"{name} {len(actions)}" for name, actions in sorted(result.provider_applied.items()))
    )
    ops = result.operations()
    click.echo(f"  contract: {len(ops)} operations, {len(result.contract['components']['schemas'])} schemas")
    for method, path, operation_id in ops:
        click.echo(f"    {method:4} {path:60} {operation_id}")
    changed = result.write()
    click.echo(
        "  outputs: " + (f"{len(changed)} files updated" if changed else "identical to the committed files")
    )
    return result


def _client_stage(layout: Layout) -> None:
    click.secho(
        "== 2. Typed client: regenerate (openapi-python-client, pinned) and compare with generated/",
        bold=True,
    )
    started = time.perf_counter()
    diff = codegen.check(layout)
    elapsed = time.perf_counter() - started
    if diff:
        raise click.ClickException(
            f"generated/ is stale ({len(diff.changed)} changed, {len(diff.only_expected)} missing, "
            f"{len(diff.only_actual)} extra files): run `make client`"
        )
    modules = len(list((layout.generated_dir / "kontext_api").rglob("*.py")))
    click.echo(f"  generated/: current, byte for byte ({modules} modules, regenerated in {elapsed:.1f} s)")


def run_demo(layout: Layout) -> None:
    """Run every stage; raises click.ClickException (exit 1) on the first failure."""
    started = time.perf_counter()
    try:
        result = _contract_stage(layout)
    except SpecError as exc:
        raise click.ClickException(exc.render()) from None
    _client_stage(layout)
    click.secho(
        f"== Summary: {len(result.operations())} contract operations; {len(result.disagreements)} merge "
        f"disagreements found and resolved; {len(result.applied)} overlay actions applied "
        f"(+{sum(len(a) for a in result.provider_applied.values())} for {len(result.providers)} provider documents); "
        f"client current. ({time.perf_counter() - started:.1f} s)",
        bold=True,
    )
