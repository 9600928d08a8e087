"""``kontext-contract check``: one provider against the contract, a battery of named checks.

Exit status (``cli._exit``, the table ``generate`` shares): 0 compatible (every check PASS or SKIP);
1 incompatibilities found (a FAIL); 2 usage or connection error (bad option, no key, unreachable base URL, a key rejected with every scheme,
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

from .._redact import Redactor
from ..checks._checks import ALL_CHECKS
from ..checks._context import Check, Options
from ..checks._matrix import embedded_mock, mock_target
from ..checks._model import Report, Result
from ..checks._report import write_reports
from ..checks._runner import Target, plan_run, run_checks
from ..client._providers import Secret
from ..contract import ContractError, ContractModel, providers
from . import _exit
from ._options import (
    base_url_option,
    junit_option,
    key_env_option,
    provider_option,
    report_html_option,
    report_json_option,
    report_md_option,
    root_option,
    run_base_url_option,
    seconds_option,
    wait_timeout_option,
)

__all__ = ["command"]

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
    """The report's exit status in the table ``generate`` shares (``cli._exit``)."""
    if report.interrupted:
        return _exit.INTERRUPTED
    if report.error:
        return _exit.USAGE
    return _exit.OK if report.compatible else _exit.FAILED


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
@base_url_option("start the embedded mock.")
@click.option(
    "--auth",
    type=click.Choice(["key", "bearer"], case_sensitive=False),
    default=None,
    help="Authorization scheme: key (fal's 'Key <FAL_KEY>') or bearer (relays). Default: the provider document's.",
)
@key_env_option("with the embedded mock, the mock then accepts that key instead of its own.")
@provider_option(
    extra="the expectations checked; or relay: a relay without one, held to fal's (needs --name, --base-url, --key-env)."
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
@junit_option("the report (one test case per check)")
@run_base_url_option(
    "the provider document's when --base-url is its documented queue URL; {mock}/run for the embedded mock."
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(0.0),
    default=0.5,
    show_default=True,
    help="Seconds between status polls at first.",
)
@wait_timeout_option(default=600.0, help="Seconds a request may take to complete.")
@seconds_option(
    "--http-timeout",
    dest="request_timeout",
    default=60.0,
    help="Seconds one HTTP request may wait for the provider (connect, each read); a request with its "
    "retries never takes longer than --wait-timeout.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar (default: when stdout is a terminal).",
)
@click.option(
    "--name",
    default=None,
    metavar="NAME",
    help="The name every line and report gives the provider. Required with --provider relay (a relay "
    "without a provider document, held to fal's); default: the provider document's name.",
)
@click.option(
    "--record",
    "record_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE.har",
    help="Record every exchange of the run as HAR 1.2 here (redacted; written atomically at the end).",
)
@click.option(
    "--record-max-body",
    type=click.IntRange(0),
    default=4 * 1024 * 1024,
    show_default=True,
    metavar="BYTES",
    help="The largest body --record stores; a larger one (an image) is kept as its SHA-256 and size.",
)
@click.option(
    "--replay",
    "replay_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE.har",
    help="Evaluate every check on a recording (--record) against the current contract: offline, "
    "deterministic, free. Excludes --base-url, --record and --dry-run.",
)
@click.option(
    "--fail-on-turn",
    is_flag=True,
    help="With --replay: exit 1 only when a verdict differs from the recorded run's (CI on contract changes).",
)
@report_html_option("the report (evidence, images, cost)")
@root_option
@_exit.documented
def command(
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
    name: str | None,
    record_path: Path | None,
    record_max_body: int,
    replay_path: Path | None,
    fail_on_turn: bool,
    report_html: Path | None,
    root: Path | None,
) -> None:
    """Check one provider against the contract with a battery of named checks (docs/checks.md).

    Each check prints one line: PASS, FAIL or SKIP, its name, and the evidence (what was sent, what the
    contract expects, what came back). Live use costs money: every submit that runs the model counts
    against --max-paid-submits; --dry-run shows what would be sent. The key is never printed.

    Any relay: --provider relay --name NAME --base-url URL --auth bearer|key --key-env VAR (held to fal's
    provider document). --record FILE.har keeps the run; --replay FILE.har evaluates it again, offline.

    With --replay --fail-on-turn, exit status 1 means a verdict turned since the recording.
    """
    if replay_path is not None:
        for option, value in (
            ("--base-url", base_url),
            ("--record", record_path),
            ("--dry-run", dry_run or None),
        ):
            if value is not None:
                raise click.UsageError(f"--replay sends nothing: it cannot be combined with {option}")
        _replay(replay_path, report_json, report_md, junit, report_html, progress, fail_on_turn)
        return
    if fail_on_turn:
        raise click.UsageError("--fail-on-turn goes with --replay")
    relay = provider == "relay"
    if relay:
        missing = [
            o for o, v in (("--name", name), ("--base-url", base_url), ("--key-env", key_env)) if not v
        ]
        if missing:
            raise click.UsageError(
                "--provider relay (a relay without a provider document) needs " + ", ".join(missing)
            )
        auth = auth or "bearer"
    try:
        from ..checks._targets import RELAY_DOCUMENT

        contract = ContractModel.load(RELAY_DOCUMENT if relay else provider).require()
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
        and not relay
    ):
        run_base_url = contract.provider.run_base_url if contract.provider.sync_api else None
    # the real run needs a key for a live provider, and for the embedded mock when --key-env names one
    key_needed = base_url is not None or key_env is not None
    if dry_run:
        _dry_run(contract, base_url, run_base_url, key_env, scheme, options, key_needed=key_needed, name=name)
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
            target = Target(
                contract, target.base_url, run_base_url or target.run_base_url, target.key, scheme, True, name
            )
        else:
            key = _key_from_env(contract, key_env, required=True)
            assert key is not None
            target = Target(contract, base_url, run_base_url, key, scheme, name=name)
        code = _run(
            target,
            options,
            report_json,
            report_md,
            junit,
            progress,
            report_html=report_html,
            record=(record_path, record_max_body) if record_path else None,
        )
    sys.exit(code)


def _replay(
    path: Path,
    report_json: Path | None,
    report_md: Path | None,
    junit: Path | None,
    report_html: Path | None,
    progress: bool | None,
    fail_on_turn: bool,
) -> None:
    """``check --replay``: every check on a recording, against the current contract; nothing is sent."""
    from ..checks._har import RecordingProblem, load_har
    from ..checks._replay import replay

    try:
        recording = load_har(path)
    except RecordingProblem as exc:
        raise click.BadParameter(str(exc), param_hint="--replay") from None
    meta = recording.meta
    endpoints = list((meta.get("options") or {}).get("endpoints") or [])
    click.echo(
        f"replaying {meta.get('name')} at {meta.get('base_url')} from {path} (recorded {meta.get('recorded_at')}): "
        f"endpoints {', '.join(endpoints)}; nothing is sent"
    )
    paths = {"json_path": report_json, "md_path": report_md, "junit_path": junit}

    def line(report: Report, result: Result) -> None:
        click.echo(result.line())

    try:
        report = replay(recording, on_result=line)
    except ContractError as exc:
        click.echo(f"error: the contract: {exc}", err=True)
        sys.exit(_exit.USAGE)
    try:
        write_reports(report, str, **paths)
        if report_html is not None:
            from ..checks._html import render_html, write_html

            write_html(report_html, render_html(report))
    except OSError as exc:
        click.echo(f"error: cannot write a report: {exc}", err=True)
        sys.exit(_exit.USAGE)
    turned = [r for r in report.results if r.evidence.change]
    changed = (report.replay or {}).get("contract_changed")
    counts = report.counts()
    click.echo(
        f"REPLAYED: {report.verdict()}. {counts['pass']} pass, {counts['fail']} fail, {counts['skip']} skip; "
        f"recorded: {(report.replay or {}).get('recorded_verdict')}; "
        + (
            f"the contract changed since the recording; {len(turned)} verdict(s) turned"
            if changed
            else "the contract is the recording's"
        )
    )
    if report.error:
        click.echo(f"error: {report.error}", err=True)
        sys.exit(_exit.USAGE)
    if fail_on_turn:
        sys.exit(_exit.FAILED if turned else _exit.OK)
    sys.exit(_exit_status(report))


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
    sys.exit(_exit.USAGE)


def _dry_run(
    contract: ContractModel,
    base_url: str | None,
    run_base_url: str | None,
    key_env: str | None,
    scheme: str,
    options: Options,
    *,
    key_needed: bool,
    name: str | None = None,
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
    click.echo(f"dry run: nothing is sent. Provider {name or contract.name} ({contract.source}) at {where}")
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
        sys.exit(_exit.USAGE)


def _run(
    target: Target,
    options: Options,
    report_json: Path | None,
    report_md: Path | None,
    junit: Path | None,
    progress: bool | None,
    *,
    report_html: Path | None = None,
    record: tuple[Path, int] | None = None,
) -> int:
    redact = _redactor(target.key)
    enabled = sys.stdout.isatty() if progress is None else progress
    total = sum(1 if c.scope == "provider" else len(options.endpoints) for c in ALL_CHECKS)
    display = _Progress(enabled, total)
    where = "the embedded mock" if target.mock else target.base_url
    click.echo(
        f"checking {target.shown_name} at {where}: {total} checks, endpoints {', '.join(options.endpoints)}, "
        f"at most {options.max_paid_submits} paid submits"
    )

    paths = {"json_path": report_json, "md_path": report_md, "junit_path": junit}
    empty = Report(target.shown_name, target.base_url, list(options.endpoints), options.max_paid_submits)
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

    recorder = None
    if record is not None:
        from ..checks._har import Recorder

        recorder = Recorder(record[1])
    with display.running():
        report = run_checks(
            target,
            options,
            on_start=display.start,
            on_result=written,
            wrap=recorder.wrap if recorder is not None else None,
        )
    try:
        write_reports(report, redact, **paths)
        if report_html is not None:
            from ..checks._html import render_html, write_html

            write_html(report_html, render_html(report, redact))
        if recorder is not None and record is not None:
            from ..checks._har import write_har
            from ..checks._replay import recording_document

            key_redactor = Redactor(target.key.reveal())
            write_har(record[0], recording_document(recorder, target, options, report, key_redactor))
            click.echo(f"recorded {len(recorder.entries)} exchanges to {record[0]}")
    except OSError as exc:
        click.echo(f"error: cannot write a report: {exc}", err=True)
        return _exit.USAGE
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
    from ..checks._http import Redactor

    return Redactor(key.reveal()).text
