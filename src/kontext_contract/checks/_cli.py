"""``kontext-contract check`` and ``kontext-contract matrix``.

Exit status of ``check``: 0 compatible (every check PASS or SKIP); 1 incompatibilities found (a FAIL);
2 usage or connection error (bad option, no key, unreachable base URL, a key rejected with every scheme,
HTML or garbage where the contract expects JSON, a provider document lacking what a check needs);
130 interrupted by Ctrl-C. Reports asked for are written after every check, so an interrupted or stopped
run leaves a report marked ``"complete": false``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import click

from .._cli_options import check_url as _check_url
from .._cli_options import report_json_option, report_md_option, root_option
from ..client._providers import Secret
from ..contract import ContractError, ContractModel, providers
from ._checks import ALL_CHECKS
from ._context import Check, Options
from ._matrix import embedded_mock, mock_target, render_matrix, run_matrix
from ._model import Report, Result
from ._report import write_reports
from ._runner import Target, plan_run, run_checks

__all__ = ["check_command", "matrix_command"]

_DRY_RUN_BASE = "http://embedded-mock.invalid"


def _providers() -> list[str]:
    return list(providers())


def _key_from_env(contract: ContractModel, key_env: str | None, *, required: bool) -> Secret | None:
    """The key: ``$key_env``, else the provider document's ``key_env`` (or its ``key_env_pair`` joined with
    ``:``, docs/sources.md §3.4)."""
    names: list[str] = []
    if key_env:
        names.append(f"${key_env}")
        value = os.environ.get(key_env)
        if value:
            return Secret(value)
    else:
        if contract.provider.key_env:
            names.append(f"${contract.provider.key_env}")
            value = os.environ.get(contract.provider.key_env)
            if value:
                return Secret(value)
        pair = contract.provider.key_env_pair
        if pair:
            names.append(f"${pair[0]} + ${pair[1]}")
            if os.environ.get(pair[0]) and os.environ.get(pair[1]):
                return Secret(f"{os.environ[pair[0]]}:{os.environ[pair[1]]}")
    if required:
        shown = " or ".join(names) or "a key variable"
        raise click.UsageError(f"no key: set {shown} (or name the variable with --key-env)")
    return None


def _exit_status(report: Report) -> int:
    if report.interrupted:
        return 130
    if report.error:
        return 2
    return 0 if report.compatible else 1


class _Progress:
    """A rich progress bar on stdout while the checks run (only when stdout is a terminal); result lines
    are printed above it."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled
        self.total = total
        self._progress: Any = None
        self._task: Any = None

    @contextmanager
    def running(self) -> Iterator[_Progress]:
        if not self.enabled:
            yield self
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(file=sys.stdout)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            self._progress = progress
            self._task = progress.add_task("checks", total=self.total)
            yield self
        self._progress = None

    def start(self, check: Check, endpoint: str | None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=check.name)

    def line(self, text: str) -> None:
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
            self._progress.advance(self._task)
        else:
            click.echo(text)


@click.command("check")
@click.option(
    "--base-url", default=None, help="The provider's queue base URL. Default: start the embedded mock."
)
@click.option(
    "--auth",
    type=click.Choice(["key", "bearer"], case_sensitive=False),
    default=None,
    help="Authorization scheme: key (fal's 'Key <FAL_KEY>') or bearer (relays). Default: the provider document's.",
)
@click.option(
    "--key-env",
    default=None,
    metavar="VAR",
    help="Environment variable holding the key. Default: the provider document's x-provider.auth.key_env "
    "(FAL_KEY, RELAY_A_KEY, CHAINHUB_KEY, RELAY_B_KEY); with the embedded mock, the mock then accepts that key "
    "instead of its own.",
)
@click.option(
    "--provider",
    default="fal",
    show_default=True,
    help="Provider document with the expectations (openapi/providers/NAME.openapi.yaml): "
    + ", ".join(providers())
    + ".",
)
@click.option(
    "--endpoint",
    "endpoints",
    multiple=True,
    metavar="ID",
    help="Endpoint id to check (repeatable). Default: the first the provider documents.",
)
@click.option(
    "--max-paid-submits",
    type=click.IntRange(0),
    default=5,
    show_default=True,
    help="Hard cap on submits that run the model; checks that would need more are SKIP.",
)
@click.option(
    "--dry-run", is_flag=True, help="Print every planned request and the most paid submits; send nothing."
)
@report_json_option("the report (rewritten after every check)")
@report_md_option("the report (rewritten after every check)")
@click.option(
    "--junit",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="PATH",
    help="Also write the report as JUnit XML here (one test case per check).",
)
@click.option(
    "--run-base-url",
    default=None,
    help="The synchronous API's base URL (fal: https://fal.run). Default: the provider document's when "
    "--base-url is its documented queue URL; {mock}/run for the embedded mock.",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(0.0),
    default=0.5,
    show_default=True,
    help="Seconds between status polls at first.",
)
@click.option(
    "--wait-timeout",
    type=click.FloatRange(0.0, min_open=True),
    default=600.0,
    show_default=True,
    help="Seconds a request may take to complete.",
)
@click.option(
    "--http-timeout",
    "request_timeout",
    type=click.FloatRange(0.0, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds one HTTP request may wait for the provider (connect, each read); a request with its "
    "retries never takes longer than --wait-timeout.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar (default: when stdout is a terminal).",
)
@root_option
def check_command(
    base_url: str | None,
    auth: str | None,
    key_env: str | None,
    provider: str,
    endpoints: tuple[str, ...],
    max_paid_submits: int,
    dry_run: bool,
    report_json: Path | None,
    report_md: Path | None,
    junit: Path | None,
    run_base_url: str | None,
    poll_interval: float,
    wait_timeout: float,
    request_timeout: float,
    progress: bool | None,
    root: Path | None,
) -> None:
    """Check one provider against the contract with a battery of named checks (docs/checks.md).

    Each check prints one line: PASS, FAIL or SKIP, its name, and the evidence (what was sent, what the
    contract expects, what came back). Live use costs money: every submit that runs the model counts
    against --max-paid-submits; --dry-run shows what would be sent. The key is never printed.

    Exit status: 0 compatible, 1 incompatibilities found, 2 usage or connection error, 130 interrupted.
    """
    try:
        contract = ContractModel.load(provider).require()
    except ContractError as exc:
        message = str(exc)
        if "known providers" not in message:  # the document's own problem
            message += f" (known providers: {', '.join(_providers()) or 'none found'})"
        raise click.BadParameter(message, param_hint="--provider") from None
    chosen = tuple(dict.fromkeys(endpoints)) or (contract.default_endpoint(),)
    for endpoint in chosen:
        if endpoint not in contract.endpoints:
            raise click.BadParameter(
                f"{endpoint!r} is not an endpoint of {contract.source}; it has: {', '.join(contract.endpoints)}",
                param_hint="--endpoint",
            )
    for option, url in (("--base-url", base_url), ("--run-base-url", run_base_url)):
        if url is not None:
            _check_url(option, url)
    scheme = {"key": "Key", "bearer": "Bearer"}[auth.lower()] if auth else contract.provider.auth_scheme
    options = Options(
        endpoints=chosen,
        max_paid_submits=max_paid_submits,
        poll_interval=poll_interval if base_url else min(poll_interval, 0.001),
        wait_timeout=wait_timeout,
        request_timeout=request_timeout,
    )
    if (
        base_url is not None
        and base_url.rstrip("/") == (contract.provider.queue_base_url or "")
        and run_base_url is None
    ):
        run_base_url = contract.provider.run_base_url if contract.provider.sync_api else None
    # the real run needs a key for a live provider, and for the embedded mock when --key-env names one
    key_needed = base_url is not None or key_env is not None
    if dry_run:
        _dry_run(contract, base_url, run_base_url, key_env, scheme, options, key_needed=key_needed)
        return
    if key_needed and _key_from_env(contract, key_env, required=False) is None:
        _no_key(contract, key_env, base_url, options, report_json, report_md, junit)
    with ExitStack() as stack:
        if base_url is None:
            mock_key = _key_from_env(contract, key_env, required=True) if key_env else None
            try:
                server = stack.enter_context(embedded_mock(provider, mock_key.reveal() if mock_key else None))
            except ValueError as exc:
                raise click.UsageError(f"the embedded mock has no profile {provider!r}: {exc}") from None
            target = mock_target(contract, server, scheme=scheme)
            if run_base_url is not None:
                target = Target(contract, target.base_url, run_base_url, target.key, scheme, mock=True)
        else:
            key = _key_from_env(contract, key_env, required=True)
            assert key is not None
            target = Target(contract, base_url, run_base_url, key, scheme)
        code = _run(target, options, report_json, report_md, junit, progress)
    sys.exit(code)


def _key_names(contract: ContractModel, key_env: str | None) -> str:
    """The variables a key is read from, as the messages show them (``$FAL_KEY or $FAL_KEY_ID + ...``)."""
    if key_env:
        return f"${key_env}"
    facts = contract.provider
    names = [f"${facts.key_env}"] if facts.key_env else []
    if facts.key_env_pair:
        names.append(f"${facts.key_env_pair[0]} + ${facts.key_env_pair[1]}")
    return " or ".join(names) or "a key variable"


def _no_key(
    contract: ContractModel,
    key_env: str | None,
    base_url: str | None,
    options: Options,
    report_json: Path | None,
    report_md: Path | None,
    junit: Path | None,
) -> None:
    """No key for a run that needs one: write the reports asked for, marked incomplete with the reason
    (docs/checks.md "Exit status"), then exit 2. Nothing is sent."""
    message = f"no key: set {_key_names(contract, key_env)} (or name the variable with --key-env)"
    if report_json or report_md or junit:
        report = Report(
            contract.name, base_url or "(embedded mock)", list(options.endpoints), options.max_paid_submits
        )
        report.error = message + "; nothing was sent"
        try:
            write_reports(report, str, json_path=report_json, md_path=report_md, junit_path=junit)
            message += "; reports written, marked incomplete"
        except OSError as exc:
            message += f"; cannot write a report: {exc}"
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _dry_run(
    contract: ContractModel,
    base_url: str | None,
    run_base_url: str | None,
    key_env: str | None,
    scheme: str,
    options: Options,
    *,
    key_needed: bool,
) -> None:
    """Print the plan. When the real run would need a key and none is set, the plan still prints (nothing
    is sent either way), the Authorization line says the key is missing, and the exit status is the real
    run's: 2, so that a dry run used as a pre-flight in CI fails exactly when the run would."""
    found = _key_from_env(contract, key_env, required=False)
    key = found or Secret("dry-run")
    base = base_url or _DRY_RUN_BASE
    if base_url is None and contract.provider.sync_api and run_base_url is None:
        run_base_url = base + "/run"
    try:
        plan = plan_run(Target(contract, base, run_base_url, key, scheme, mock=base_url is None), options)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    where = base_url or "the embedded mock (started on a free loopback port; shown as embedded-mock.invalid)"
    click.echo(f"dry run: nothing is sent. Provider {contract.name} ({contract.source}) at {where}")
    if found is None and key_needed:
        shown = f"{scheme} <missing: {_key_names(contract, key_env)} not set>"
    elif found is None:
        shown = f"{scheme} <the embedded mock's own test key>"
    else:
        shown = f"{scheme} ****"
    click.echo(f"Authorization: {shown} ; endpoints: {', '.join(options.endpoints)}")
    for line in plan.lines:
        click.echo(line)
    click.echo(f"checks: {len(ALL_CHECKS)} ({', '.join(c.name for c in ALL_CHECKS)})")
    click.echo(
        f"paid submits: at most {plan.max_paid_submits} (cap --max-paid-submits {options.max_paid_submits}; "
        f"all checks would need {plan.wanted_paid_submits})"
    )
    if found is None and key_needed:
        click.echo(
            f"error: no key: set {_key_names(contract, key_env)} (or name the variable with --key-env); "
            "the real run would stop here, before sending anything",
            err=True,
        )
        sys.exit(2)


def _run(
    target: Target,
    options: Options,
    report_json: Path | None,
    report_md: Path | None,
    junit: Path | None,
    progress: bool | None,
) -> int:
    redact = _redactor(target.key)
    enabled = sys.stdout.isatty() if progress is None else progress
    total = sum(1 if c.scope == "provider" else len(options.endpoints) for c in ALL_CHECKS)
    display = _Progress(enabled, total)
    where = "the embedded mock" if target.mock else target.base_url
    click.echo(
        f"checking {target.contract.name} at {where}: {total} checks, endpoints {', '.join(options.endpoints)}, "
        f"at most {options.max_paid_submits} paid submits"
    )

    paths = {"json_path": report_json, "md_path": report_md, "junit_path": junit}
    empty = Report(target.contract.name, target.base_url, list(options.endpoints), options.max_paid_submits)
    try:  # a report that cannot be written is a usage error, found before anything is spent
        write_reports(empty, redact, **paths)
    except OSError as exc:
        raise click.UsageError(f"cannot write a report: {exc}") from None

    def written(report: Report, result: Result) -> None:
        display.line(result.line())
        try:
            write_reports(report, redact, **paths)
        except OSError as exc:  # keep checking; the final write below tries again
            click.echo(f"warning: cannot write a report: {exc}", err=True)

    with display.running():
        report = run_checks(target, options, on_start=display.start, on_result=written)
    try:
        write_reports(report, redact, **paths)
    except OSError as exc:
        click.echo(f"error: cannot write a report: {exc}", err=True)
        return 2
    counts = report.counts()
    summary = (
        f"{counts['pass']} pass, {counts['fail']} fail, {counts['skip']} skip; "
        f"paid submits {report.paid_submits}/{report.max_paid_submits}"
    )
    if report.error:
        click.echo(f"error: {redact(report.error)}", err=True)
        click.echo(
            f"INCOMPLETE: {summary}"
            + ("; reports written, marked incomplete" if report_json or report_md or junit else "")
        )
    else:
        # the verdict carries the checks that could not run: a SKIP never reads as a PASS
        verdict = report.verdict()
        head, _, rest = verdict.partition(";")
        click.echo(f"{head.upper()};{rest}. {summary}" if rest else f"{head.upper()}: {summary}")
    return _exit_status(report)


def _redactor(key: Secret) -> Any:
    from ._http import Redactor

    return Redactor(key.reveal()).text


@click.command("matrix")
@click.option(
    "--report-md",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="PATH",
    help="Where to write the compatibility page as Markdown (default: docs/compatibility.md in the project).",
)
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Do not write: exit 1 if --report-md differs from a fresh run.",
)
@root_option
def matrix_command(report_md: Path | None, check_only: bool, root: Path | None) -> None:
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
    except ContractError as exc:
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
