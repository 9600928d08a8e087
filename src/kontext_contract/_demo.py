"""``make demo``: the main job on the real inputs, with one summary at the end.

Stages (each prints one block; a failure stops the demo with exit status 1):
1. the contract: sources -> merge -> overlays -> contract and provider documents, written if changed;
2. the typed client: regenerated into a temporary folder and compared with ``generated/``;
3. the embedded mock (fal profile) on loopback, and one request per endpoint through the client;
4. a short contract suite (Schemathesis, ``HYPOTHESIS_PROFILE=demo``) against the mock, every provider
   document against its emulation;
5. the compatibility checks against the mock's emulation of each documented provider (the matrix).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from . import codegen
from ._layout import Layout
from .pipeline import BuildResult, SpecError, build


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
    click.echo("  regenerating into a temporary folder...")
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


def _sample_image_uri() -> str:
    """A small PNG (640x480 pixels) as a data: URI, for the edit endpoints' image inputs."""
    from PIL import Image

    from .client import to_data_uri

    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (40, 120, 200)).save(buffer, format="PNG")
    return to_data_uri(buffer.getvalue(), content_type="image/png")


def _mock_stage() -> int:
    click.secho("== 3. Embedded mock and the typed client: one request per endpoint", bold=True)
    from .client import Client, Endpoint, Provider, catalog
    from .mock import MockConfig, MockServer

    image = _sample_image_uri()
    inputs: dict[str, dict[str, object]] = {
        "image_url": {"image_url": image},
        "image_urls": {"image_urls": [image, image]},
    }
    done = 0
    with MockServer(MockConfig(provider="fal", queue_delay=0.05, processing_delay=0.05)) as server:
        click.echo(
            f"  mock: {server.base_url} (provider profile fal; queue {server.base_url}, run {server.base_url}/run)"
        )
        with Client(Provider.mock(server.base_url)) as client:
            for endpoint in Endpoint:
                body: dict[str, object] = {
                    "prompt": "a lighthouse at dawn",
                    "seed": 7,
                    "aspect_ratio": "16:9",
                }
                # the image input is whatever else the contract's input schema requires
                schema = catalog().schemas[catalog().get(endpoint).input_schema]
                image_field = next((f for f in schema.get("required", []) if f != "prompt"), None)
                if image_field:
                    body.update(inputs[image_field])
                started = time.perf_counter()
                output = client.subscribe(endpoint, body)
                elapsed = (time.perf_counter() - started) * 1000
                first = output.images[0]
                size = f"{first.width}x{first.height}" if first.width and first.height else "?"
                click.echo(
                    f"  {endpoint.value:42} {len(output.images)} image {size} {first.content_type}, "
                    f"seed {output.seed}, {elapsed:.0f} ms (submit, status stream, result)"
                )
                done += 1
    return done


@dataclass
class _SuiteResult:
    cases: int
    checks: int
    failed: int
    ok: bool


_PYTEST_PROGRESS = re.compile(r"^([.FEsxX]+)\s*(?:\[\s*\d+%\])?$")


def _run_with_progress(
    cmd: list[str], cwd: Path, env: dict[str, str], every: float = 3.0
) -> subprocess.CompletedProcess[str]:
    """Run pytest, printing a progress line every ``every`` seconds (seconds so far, and tests done as
    counted from pytest's own progress characters), and return its output as ``subprocess.run`` would."""
    import threading

    started = time.perf_counter()
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        out: list[bytes] = []
        err: list[bytes] = []

        def drain(stream: Any, into: list[bytes]) -> None:
            while chunk := os.read(stream.fileno(), 4096):
                into.append(chunk)

        readers = [
            threading.Thread(target=drain, args=(proc.stdout, out), daemon=True),
            threading.Thread(target=drain, args=(proc.stderr, err), daemon=True),
        ]
        for reader in readers:
            reader.start()
        while True:
            try:
                proc.wait(timeout=every)
                break
            except subprocess.TimeoutExpired:
                text = b"".join(out).decode("utf-8", "replace")
                done = sum(
                    len(m[1]) for line in text.split("\n") if (m := _PYTEST_PROGRESS.match(line.strip()))
                )
                click.echo(
                    f"  ... {time.perf_counter() - started:4.0f} s, "
                    + (f"{done} tests done" if done else "collecting")
                )
        for reader in readers:
            reader.join()
    return subprocess.CompletedProcess(
        cmd,
        proc.returncode,
        b"".join(out).decode("utf-8", "replace"),
        b"".join(err).decode("utf-8", "replace"),
    )


def _suite_stage(layout: Layout) -> _SuiteResult:
    click.secho(
        "== 4. Contract suite (Schemathesis, profile demo) against the mock, each provider document",
        bold=True,
    )
    env = dict(os.environ, HYPOTHESIS_PROFILE="demo", PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "pytest", "contract_tests/test_mock_asgi.py", "-q", "-p", "no:cacheprovider"]
    proc = _run_with_progress(cmd, layout.root, env)
    summary = layout.root / "reports" / "contract-summary.md"
    text = summary.read_text(encoding="utf-8") if summary.is_file() else ""
    found = re.search(r"\*\*(\d+) cases\*\* sent, \*\*(\d+) checks\*\* run, \*\*(\d+) failed\*\*", text)
    last = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
    if found is None:
        raise click.ClickException(
            f"the contract suite did not report its counts: {last}\n{proc.stderr[-2000:]}"
        )
    result = _SuiteResult(int(found[1]), int(found[2]), int(found[3]), proc.returncode == 0)
    click.echo(
        f"  {result.cases} cases, {result.checks} checks, {result.failed} failed ({last}); "
        "full suite: make contract (reports/contract-summary.md)"
    )
    if not result.ok:
        raise click.ClickException(f"the contract suite failed:\n{proc.stdout[-3000:]}")
    return result


def _matrix_stage() -> list[tuple[str, str, str]]:
    click.secho(
        "== 5. Compatibility checks against the mock's emulation of each documented provider", bold=True
    )
    from .checks import ALL_CHECKS
    from .checks._matrix import run_matrix

    rows = run_matrix(on_provider=lambda name: click.echo(f"  checking the mock's {name} emulation..."))
    names = [row.report.provider for row in rows]
    click.echo("  " + f"{'check':34}" + "".join(f"{n:>10}" for n in names))
    for check in ALL_CHECKS:
        cells = []
        for row in rows:
            result = next((r for r in row.report.results if r.name == check.name), None)
            cells.append(result.status.upper() if result else "-")
        line = f"  {check.name:34}" + "".join(f"{c:>10}" for c in cells)
        click.secho(line, fg="red" if "FAIL" in cells else None)
    verdicts = []
    for row in rows:
        report = row.report
        verdict = "compatible" if report.compatible else f"{len(report.failures)} FAIL"
        verdicts.append((report.provider, verdict, ", ".join(r.name for r in report.failures)))
    click.echo("  " + f"{'verdict':34}" + "".join(f"{v:>10}" for _, v, _ in verdicts))
    click.echo(
        "  (docs/compatibility.md says why each FAIL and SKIP; check a live provider with kontext-contract check)"
    )
    return verdicts


def contract_line(result: BuildResult) -> str:
    """The summary's contract line: operations, merge disagreements, overlay actions (README shows it)."""
    return (
        f"  contract: {len(result.operations())} operations; {len(result.disagreements)} merge disagreements "
        f"found and resolved; {len(result.applied)} overlay actions applied "
        f"(+{sum(len(a) for a in result.provider_applied.values())} for {len(result.providers)} provider documents)"
    )


def run_demo(layout: Layout) -> None:
    """Run every stage; raises click.ClickException (exit 1) on the first failure."""
    started = time.perf_counter()
    try:
        result = _contract_stage(layout)
    except SpecError as exc:
        raise click.ClickException(exc.render()) from None
    _client_stage(layout)
    requests = _mock_stage()
    suite = _suite_stage(layout)
    verdicts = _matrix_stage()
    click.secho("== Summary", bold=True)
    for line in summary_lines(result, requests, suite, verdicts, time.perf_counter() - started):
        click.echo(line)


def summary_lines(
    result: BuildResult,
    requests: int,
    suite: _SuiteResult,
    verdicts: list[tuple[str, str, str]],
    seconds: float,
) -> list[str]:
    """The demo's closing summary (README.md shows one; tests/docs/test_readme.py compares them).

    Args:
        requests: requests sent through the client; suite: the contract suite's counts;
        verdicts: (provider, verdict, failing checks) per provider; seconds: the demo's wall time.
    """
    return [
        contract_line(result),
        f"  client: generated/ current; {requests} requests through the client against the embedded mock",
        f"  contract suite: {suite.cases} cases, {suite.checks} checks run, {suite.failed} failed",
        *(
            f"  {provider:9} {verdict}" + (f": {failures}" if failures else "")
            for provider, verdict, failures in verdicts
        ),
        f"  ({seconds:.1f} s)",
    ]
