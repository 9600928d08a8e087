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

Command line: ``kontext-contract check`` and ``kontext-contract matrix``.
"""

from ._checks import ALL_CHECKS
from ._context import Check, Context, Options, Scenario
from ._matrix import MatrixRow, embedded_mock, embedded_mock_config, mock_target, render_matrix, run_matrix
from ._model import Evidence, Outcome, Report, Result
from ._report import render_json, render_junit, render_markdown, write_reports
from ._runner import CHECKS_BY_NAME, Plan, Target, plan_run, run_checks
from ._scenarios import SCENARIOS

__all__ = [
    "ALL_CHECKS",
    "CHECKS_BY_NAME",
    "SCENARIOS",
    "Check",
    "Context",
    "Evidence",
    "MatrixRow",
    "Options",
    "Outcome",
    "Plan",
    "Report",
    "Result",
    "Scenario",
    "Target",
    "embedded_mock",
    "embedded_mock_config",
    "mock_target",
    "plan_run",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_matrix",
    "run_checks",
    "run_matrix",
    "write_reports",
]
