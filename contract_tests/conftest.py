"""Configuration of the contract suite: the ``live`` marker, the Hypothesis profile, the summary printed at
the end of the run (and written to ``reports/contract-summary.md``), the floor on generated cases, and the
redaction of provider keys from every report pytest writes (JUnit XML included)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import hypothesis
import pytest

from ._harness import PROFILES, RECORD, REPORTS, active_profile, run_seed
from ._redact import redact, secrets
from ._summary import render_summary

_STARTED = time.monotonic()
_IN_PROCESS_MODULE = "test_mock_asgi.py"
_collected_in_process: set[str] = set()
_run_in_process: set[str] = set()

for _name, _profile in PROFILES.items():
    # Hypothesis' own profile names ("ci" is loaded by Hypothesis itself when CI is set) are left alone.
    hypothesis.settings.register_profile(
        f"kontext-{_name}",
        deadline=None,
        print_blob=True,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "live: sends requests to a real provider (KONTEXT_LIVE=1 and a key; costs money)"
    )
    profile = active_profile()
    hypothesis.settings.load_profile(f"kontext-{profile.name}")
    # The mock warns about every webhook it refuses to send to a generated, non-loopback URL: expected here.
    logging.getLogger("kontext_contract.mock").setLevel(logging.ERROR)


def pytest_report_header(config: pytest.Config) -> list[str]:
    profile = active_profile()
    return [
        f"contract suite: profile {profile.name} (HYPOTHESIS_PROFILE), seed {run_seed()} "
        f"(KONTEXT_CONTRACT_SEED={run_seed()} reproduces this run)"
    ]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name == _IN_PROCESS_MODULE:
            _collected_in_process.add(item.nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Scrub every provider key (``x-provider.auth.key_env`` values) from what reporters see: the failure
    text, captured output and logs, before the terminal and the JUnit XML writer read them."""
    if report.when == "call" and report.nodeid in _collected_in_process and report.passed:
        _run_in_process.add(report.nodeid)
    keys = secrets()
    if not keys:
        return
    if isinstance(report.longrepr, tuple):  # a skip: (path, line, reason), the shape junitxml requires
        path, line, reason = report.longrepr
        report.longrepr = (path, line, redact(reason, keys))
    elif report.longrepr is not None:
        report.longrepr = redact(str(report.longrepr), keys)
    report.sections = [(title, redact(text, keys)) for title, text in report.sections]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int) -> None:
    if not RECORD.rows and not RECORD.routed:
        return
    profile = active_profile()
    elapsed = time.monotonic() - _STARTED
    text = render_summary(RECORD, profile=profile, seed=run_seed(), elapsed=elapsed)
    REPORTS.mkdir(parents=True, exist_ok=True)
    path = Path(os.environ.get("KONTEXT_CONTRACT_SUMMARY", REPORTS / "contract-summary.md"))
    path.write_text(redact(text, secrets()), encoding="utf-8")
    terminalreporter.write_sep("=", "contract suite summary")
    terminalreporter.write_line(redact(text, secrets()))
    terminalreporter.write_line(f"(written to {path})")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when the whole in-process suite ran but generated fewer cases than the profile's floor
    (the issue's 2,000 for ``ci``): a smaller number means the configuration lost coverage."""
    profile = active_profile()
    ran_all = bool(_collected_in_process) and _collected_in_process == _run_in_process
    cases = RECORD.cases_for("in-process")
    if ran_all and cases < profile.min_cases:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"FAILED: the in-process run generated {cases} cases, fewer than the {profile.min_cases} "
                f"the {profile.name} profile requires"
            )
