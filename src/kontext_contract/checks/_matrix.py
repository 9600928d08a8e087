"""The embedded mock as a check target, and the compatibility matrix (``make matrix``).

The matrix runs every check against the mock's emulation of each documented provider (``fal``,
``relay-a``, ``chainhub``, ``relay-b``: ``MockConfig(provider=...)``, which follows each provider
document's ``x-provider``) and writes a Markdown table, checks x providers. The mock runs in deterministic
mode (sequential ids, fixed seeds, a virtual clock), so the page is the same on every run and machine: it
holds no date, time, port or timing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..client._providers import Secret
from ..contract import ContractModel, providers
from ..mock import MockConfig, MockServer
from ._checks import ALL_CHECKS
from ._context import Options
from ._model import Report, Result
from ._runner import Target, run_checks

__all__ = [
    "MatrixRow",
    "embedded_mock",
    "embedded_mock_config",
    "matrix_from_recordings",
    "mock_target",
    "render_matrix",
    "run_matrix",
    "run_relays",
]


def embedded_mock_config(provider: str, key: str | None = None) -> MockConfig:
    """How the embedded mock runs: deterministic, 1 s in the queue and 0.5 s in progress on its virtual
    clock (which advances 0.1 s per request it handles), so every queue state is seen without sleeping."""
    return MockConfig(provider=provider, key=key, deterministic=True, queue_delay=1.0, processing_delay=0.5)


@contextmanager
def embedded_mock(provider: str, key: str | None = None) -> Iterator[MockServer]:
    """The mock emulating ``provider``, served on a free loopback port for the duration of the block.

    Args:
        provider: one of the mock's profiles (``fal``, ``relay-a``, ``chainhub``, ``relay-b``).
        key: the key it accepts (default: the mock's own test key for the profile's scheme).

    Raises:
        ValueError: an unknown profile.
        OSError, RuntimeError: the server could not start.
    """
    with MockServer(embedded_mock_config(provider, key)) as server:
        yield server


def mock_target(contract: ContractModel, server: MockServer, *, scheme: str | None = None) -> Target:
    """The embedded mock as a target: its base URL, its synchronous API at ``{base}/run`` when the
    provider document declares one (docs/contract.md "How the contract holds two hosts"), its key."""
    run = server.base_url + "/run" if contract.provider.sync_api else None
    return Target(
        contract=contract,
        base_url=server.base_url,
        run_base_url=run,
        key=Secret(server.state.key),
        scheme=scheme or contract.provider.auth_scheme,
        mock=True,
    )


@dataclass(frozen=True)
class MatrixRow:
    """One provider's column: its contract and the report of the checks against its emulation."""

    contract: ContractModel
    report: Report


def run_matrix(
    names: Sequence[str] | None = None,
    *,
    on_provider: Callable[[str], None] | None = None,
) -> list[MatrixRow]:
    """Run every check against the mock's emulation of each provider (its default endpoint, no cap on
    paid submits since the mock costs nothing).

    Raises:
        ContractError: a provider document lacks what the checks need.
    """
    rows: list[MatrixRow] = []
    for name in providers() if names is None else names:
        if on_provider is not None:
            on_provider(name)
        contract = ContractModel.load(name).require()
        options = Options(
            endpoints=(contract.default_endpoint(),), max_paid_submits=1000, poll_interval=0.001
        )
        with embedded_mock(name) as server:
            report = run_checks(mock_target(contract, server), options)
        rows.append(MatrixRow(contract, report))
    return rows


def matrix_from_recordings(
    paths: Sequence[Path], *, on_provider: Callable[[str], None] | None = None
) -> list[MatrixRow]:
    """The matrix's columns from recordings (``check --record``), each replayed against the current
    contract (:func:`~._replay.replay`): offline and free. One column per file, in the order given.

    Raises:
        RecordingProblem: a file is not a recording.
        ContractError: a recorded provider has no document in the current project.
    """
    from ._har import load_har
    from ._replay import replay

    rows: list[MatrixRow] = []
    for path in paths:
        recording = load_har(path)
        if on_provider is not None:
            on_provider(str(recording.meta.get("name")))
        report = replay(recording)
        rows.append(MatrixRow(ContractModel.load(str(recording.meta.get("provider"))).require(), report))
    return rows


def run_relays(
    relays: Sequence[Any], *, max_paid_submits: int = 5, on_provider: Callable[[str], None] | None = None
) -> list[MatrixRow]:
    """Columns for undocumented relays (``relays.yaml``, :func:`~._targets.load_relays`), checked live: each
    costs up to ``max_paid_submits`` paid submits. A relay whose key variable is not set gets an incomplete
    column saying which variable to set; nothing is sent to it."""
    from ._targets import relay_endpoints, relay_target

    rows: list[MatrixRow] = []
    contract = ContractModel.load("fal").require()
    for spec in relays:
        if on_provider is not None:
            on_provider(spec.name)
        options = Options(endpoints=tuple(relay_endpoints(spec, contract)), max_paid_submits=max_paid_submits)
        key = spec.key()
        if key is None:
            report = Report(spec.name, spec.base_url, list(options.endpoints), max_paid_submits)
            report.document = contract.source
            report.error = f"no key: set ${spec.key_env}; nothing was sent"
        else:
            report = run_checks(relay_target(spec, key, contract), options)
        rows.append(MatrixRow(contract, report))
    return rows


def _result(report: Report, name: str) -> Result | None:
    return next((r for r in report.results if r.name == name), None)


#: what the default matrix page says its columns are
MOCK_ORIGIN = (
    "What `kontext-contract check` finds when it runs against the embedded mock's emulation of each\n"
    "documented provider. The emulation follows each provider document's `x-provider` facts\n"
    "(`openapi/providers/{provider}.openapi.yaml`): auth scheme, where the submit's queue URLs point,\n"
    "whether there is a synchronous API, extra submit fields. So the matrix shows what each provider's own\n"
    "documents say it does (docs/sources.md §2, docs/contract.md §2.14), not a live measurement; run\n"
    "`kontext-contract check --base-url URL ...` against a provider for that. Check names and rules:\n"
    "[checks.md](checks.md)."
)


def render_matrix(
    rows: Sequence[MatrixRow], *, command: str = "make matrix", origin: str = MOCK_ORIGIN
) -> str:
    """The matrix page: a legend, the table (one row per check, one column per provider), why each FAIL
    and SKIP, and which documented deviation each check detects. Deterministic for deterministic reports.
    ``origin`` is the paragraph saying where the columns come from (the mock's emulations by default; the
    recordings replayed, or live relays, otherwise)."""
    names = [row.report.provider for row in rows]
    out = [
        "# Compatibility matrix",
        "",
        f"<!-- Written by `{command}` (kontext-contract matrix --report-md docs/compatibility.md). Do not edit. -->",
        "",
        *origin.split("\n"),
        "",
        "Legend: **PASS** the provider follows the rule. **FAIL** it does not: a client written for fal",
        "breaks or leaks its key there. **SKIP** the rule does not apply or could not be observed (the reason",
        "is listed below the table).",
        "",
        "| check | " + " | ".join(f"`{n}`" for n in names) + " |",
        "|---|" + "---|" * len(names),
        "| *endpoint checked* | " + " | ".join(f"`{', '.join(r.report.endpoints)}`" for r in rows) + " |",
    ]
    for check in ALL_CHECKS:
        cells = []
        for row in rows:
            result = _result(row.report, check.name)
            cells.append(result.status.upper() if result else "-")
        out.append(f"| [`{check.name}`](checks.md#{check.name}) | " + " | ".join(cells) + " |")
    verdicts = []
    for row in rows:
        report = row.report
        if not report.complete:
            verdicts.append("incomplete")
        else:
            verdicts.append("**compatible**" if report.compatible else f"**{len(report.failures)} FAIL**")
    out.append("| *verdict* | " + " | ".join(verdicts) + " |")
    out += ["", "## Why each FAIL and SKIP", ""]
    any_note = False
    for row in rows:
        for result in row.report.results:
            if result.status != "pass":
                any_note = True
                out.append(
                    f"- `{row.report.provider}` {result.status.upper()} `{result.name}`: {result.evidence.text()}"
                )
        if row.report.error:
            any_note = True
            out.append(f"- `{row.report.provider}` stopped: {row.report.error}")
    if not any_note:
        out.append("Every check passed on every provider.")
    out += [
        "",
        "## Documented deviations and the checks that detect them",
        "",
        "Each provider document lists its `x-provider.known_deviations`. Those about the wire are detected by",
        "a check; those about the documents alone (a field a page forgets to list) cannot be seen in answers.",
        "",
        "| provider | deviation | detected by |",
        "|---|---|---|",
    ]
    for row in rows:
        deviations = [dict(d) for d in row.contract.provider.known_deviations]
        if not deviations:
            out.append(f"| `{row.report.provider}` | none | - |")
        for deviation in deviations:
            ident = str(deviation.get("id", "?"))
            detectors = [c.name for c in ALL_CHECKS if ident in c.detects]
            found = (
                ", ".join(f"`{d}`" for d in detectors)
                if detectors
                else "in the documents only: not emulated on the wire, no check can see it in the mock"
            )
            out.append(f"| `{row.report.provider}` | `{ident}` | {found} |")
    return "\n".join(out) + "\n"
