"""Every check against the mock's emulation of each documented provider: fal passes everything, each relay
fails exactly the checks its documented deviations predict; the committed matrix and docs are current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kontext_contract.checks import ALL_CHECKS, SCENARIOS, MatrixRow, render_matrix, run_matrix
from kontext_contract.mock import PROVIDERS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rows() -> dict[str, MatrixRow]:
    return {row.report.provider: row for row in run_matrix()}


def expected_failures(row: MatrixRow) -> set[str]:
    """The checks a provider should fail: those that detect one of its x-provider.known_deviations."""
    deviations = {str(d["id"]) for d in row.contract.provider.known_deviations}
    return {c.name for c in ALL_CHECKS if deviations & set(c.detects)}


def test_every_provider_ran_every_check(rows: dict[str, MatrixRow]) -> None:
    assert list(rows) == list(PROVIDERS)
    for row in rows.values():
        assert row.report.complete, row.report.error
        assert [r.name for r in row.report.results] == [c.name for c in ALL_CHECKS]


def test_fal_passes_every_check(rows: dict[str, MatrixRow]) -> None:
    report = rows["fal"].report
    assert [r.line() for r in report.results if r.status != "pass"] == []
    assert report.compatible
    assert report.paid_submits == sum(s.paid for s in SCENARIOS)


@pytest.mark.parametrize("provider", ["relay-a", "chainhub", "relay-b"])
def test_relays_fail_exactly_what_their_deviations_predict(rows: dict[str, MatrixRow], provider: str) -> None:
    row = rows[provider]
    predicted = expected_failures(row)
    assert predicted, "every documented relay has a deviation a check detects"
    failed = {r.name for r in row.report.results if r.status == "fail"}
    assert failed == predicted
    skipped = {r.name: r.evidence.reason for r in row.report.results if r.status == "skip"}
    # no synchronous API is documented for the relays: not a deviation, a SKIP that says why
    assert set(skipped) == {"sync_run_offered"}
    assert "sync_api: false" in skipped["sync_run_offered"]
    assert not row.report.compatible


def test_foreign_queue_urls_fail_with_the_leak_explained(rows: dict[str, MatrixRow]) -> None:
    result = next(r for r in rows["relay-a"].report.results if r.name == "queue_urls_own_host")
    assert "https://queue.fal.run" in result.evidence.got
    assert "rebased" in result.evidence.got
    app = next(r for r in rows["relay-a"].report.results if r.name == "request_urls_app")
    assert (
        "/fal-ai/flux-1/requests/" in app.evidence.got
        and "/fal-ai/flux-pro/requests/" in app.evidence.expected
    )
    chainhub_app = next(r for r in rows["chainhub"].report.results if r.name == "request_urls_app")
    assert chainhub_app.status == "pass"  # chainhub's URLs have the right app, only the wrong host


def test_committed_matrix_is_current(rows: dict[str, MatrixRow]) -> None:
    """docs/compatibility.md is what `make matrix` writes now (deterministic: no date, port or timing)."""
    text = render_matrix(list(rows.values()))
    assert not re.search(r"127\.0\.0\.1|:\d{4,5}/|\b20\d\d-\d\d-\d\d\b", text)
    committed = (ROOT / "docs" / "compatibility.md").read_text(encoding="utf-8")
    assert committed == text, "docs/compatibility.md is stale: run `make matrix`"


def test_every_check_is_documented() -> None:
    doc = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    for check in ALL_CHECKS:
        assert f"### `{check.name}`" in doc, f"docs/checks.md does not document {check.name}"
        assert check.rule and check.source
        assert check.rule.replace("``", "`") in doc, f"docs/checks.md has an old rule for {check.name}"
        assert check.source in doc
    for scenario in SCENARIOS:
        assert f"`{scenario.name}`" in doc


def test_check_names_are_stable_identifiers() -> None:
    names = [c.name for c in ALL_CHECKS]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]+", n) for n in names)
    known = set(names)
    for check in ALL_CHECKS:
        assert set(check.depends_on) <= known
        # a dependency runs before the checks that depend on it
        assert all(names.index(d) < names.index(check.name) for d in check.depends_on)
