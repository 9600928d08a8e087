"""Provider compatibility checks: is a provider really fal-compatible, per the contract?

A battery of named checks (Schemathesis-style: one small function, one rule, one line of output), run
against one provider (fal, a relay, or the embedded mock) and compared with its provider document
``openapi/providers/{provider}.openapi.yaml``. See docs/checks.md for every check, the JSON report and the
exit statuses, and docs/compatibility.md for the matrix over the documented providers.

    from kontext_contract.checks import Options, Target, run_checks
    from kontext_contract.checks import embedded_mock, mock_target
    from kontext_contract.contract import ContractModel

    contract = ContractModel.load("relay-a").require()
    with embedded_mock("relay-a") as server:
        report = run_checks(mock_target(contract, server), Options(endpoints=(contract.default_endpoint(),)))
    for result in report.results:
        print(result.line())

Record and replay (docs/checks.md "Record and replay")::

    recorder = Recorder()
    report = run_checks(target, options, wrap=recorder.wrap)
    write_har(Path("run.har"), recording_document(recorder, target, options, report, Redactor(key)))
    again = replay(load_har(Path("run.har")))      # offline, against the current contract

Command line: ``kontext-contract check`` and ``kontext-contract matrix``.
"""

from ._checks import ALL_CHECKS
from ._context import Check, Context, Options, Scenario
from ._har import Recorder, Recording, RecordingProblem, load_har, write_har
from ._html import render_html, render_matrix_html
from ._http import MissingEvidence
from ._matrix import (
    MatrixRow,
    embedded_mock,
    embedded_mock_config,
    matrix_from_recordings,
    mock_target,
    render_matrix,
    run_matrix,
    run_relays,
)
from ._model import Evidence, Outcome, Report, Result
from ._replay import recording_document, replay
from ._report import render_json, render_junit, render_markdown, write_reports
from ._runner import CHECKS_BY_NAME, Plan, Target, plan_run, run_checks
from ._scenarios import SCENARIOS
from ._targets import RelaySpec, RelaysProblem, load_relays, relay_target

__all__ = [
    "ALL_CHECKS",
    "CHECKS_BY_NAME",
    "SCENARIOS",
    "Check",
    "Context",
    "Evidence",
    "MatrixRow",
    "MissingEvidence",
    "Options",
    "Outcome",
    "Plan",
    "Recorder",
    "Recording",
    "RecordingProblem",
    "RelaySpec",
    "RelaysProblem",
    "Report",
    "Result",
    "Scenario",
    "Target",
    "embedded_mock",
    "embedded_mock_config",
    "load_har",
    "load_relays",
    "matrix_from_recordings",
    "mock_target",
    "plan_run",
    "recording_document",
    "relay_target",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_matrix",
    "render_matrix_html",
    "replay",
    "run_checks",
    "run_matrix",
    "run_relays",
    "write_har",
    "write_reports",
]
