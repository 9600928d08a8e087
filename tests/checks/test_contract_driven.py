"""The checks read the contract, never a retyped copy: a changed provider document changes what they expect;
a document lacking what a check needs stops the run with a clear error (exit status 2); a scenario that
cannot follow an answer fails its checks without ending the run; the JSON, Markdown and JUnit reports."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from typing import Any

from click.testing import CliRunner

from kontext_contract._layout import Layout
from kontext_contract.checks import (
    Options,
    mock_target,
    render_json,
    render_junit,
    render_markdown,
    run_checks,
)
from kontext_contract.checks._scenarios import REPEAT
from kontext_contract.cli import main
from kontext_contract.contract import ContractModel, load_document

from .conftest import serve, statuses


def changed_contract(change: Any) -> ContractModel:
    loaded = ContractModel.load("fal").require()
    document = copy.deepcopy(loaded.document)
    change(document)
    reference = load_document(Layout.shipped().contract)
    return ContractModel.from_document(document, reference=reference, source="changed fal document")


def run_with(contract: ContractModel) -> Any:
    with serve("fal") as server:
        options = Options(endpoints=(contract.default_endpoint(),), poll_interval=0.001)
        return run_checks(mock_target(contract, server), options)


def test_a_new_required_output_field_fails_the_output_check() -> None:
    def require_more(document: dict[str, Any]) -> None:
        schema = document["components"]["schemas"]["KontextEditOutput"]
        schema["properties"]["watermark"] = {"type": "string"}
        schema["required"].append("watermark")

    report = run_with(changed_contract(require_more))
    assert report.complete
    assert statuses(report, "fail") == {"result_output_schema", "sync_run_offered"}
    line = next(r.line() for r in report.results if r.name == "result_output_schema")
    assert "'watermark' is a required property" in line


def test_a_status_code_moved_in_the_contract_moves_the_expectation() -> None:
    def pending_is_203(document: dict[str, Any]) -> None:
        responses = document["paths"]["/fal-ai/flux-pro/requests/{request_id}/status"]["get"]["responses"]
        responses["203"] = responses.pop("202")

    report = run_with(changed_contract(pending_is_203))
    assert statuses(report, "fail") == {"status_codes_by_state"}
    line = next(r.line() for r in report.results if r.name == "status_codes_by_state")
    assert "expected COMPLETED 200, IN_QUEUE 203, IN_PROGRESS 203" in line and "-> 202" in line


def test_a_contract_lacking_what_a_check_needs_stops_the_run() -> None:
    def drop_not_found(document: dict[str, Any]) -> None:
        for item in document["paths"].values():
            cancel = (item.get("put") or {}).get("responses", {})
            if "404" in cancel:
                cancel["404"].pop("x-fal-status", None)  # which code answers NOT_FOUND: no longer stated

    report = run_with(changed_contract(drop_not_found))
    assert not report.complete and report.error is not None
    assert "states no status code answering NOT_FOUND" in report.error
    assert [r.name for r in report.results] == [
        "auth_scheme_accepted",
        "wrong_auth_scheme_rejected",
        "result_404_unknown_id",
    ]


def test_a_scenario_that_cannot_follow_fails_its_checks_and_the_run_goes_on() -> None:
    def boom(ctx: Any) -> Any:
        raise TypeError("an answer of a shape nobody expected")

    original = REPEAT.run
    object.__setattr__(REPEAT, "run", boom)
    try:
        contract = ContractModel.load("fal").require()
        report = run_with(contract)
    finally:
        object.__setattr__(REPEAT, "run", original)
    assert report.complete
    assert statuses(report, "fail") == {"repeated_submit_accepted"}
    assert "repeated_submit_accepted" in next(
        r.evidence.reason for r in report.results if r.name == "same_seed_same_image"
    )
    result = next(r for r in report.results if r.name == "repeated_submit_accepted")
    assert result.evidence.got == "scenario repeat stopped: TypeError: an answer of a shape nobody expected"


def test_the_embedded_mock_takes_the_key_named_by_key_env() -> None:
    key = "user-key-id:user-key-secret-31337"
    result = CliRunner().invoke(main, ["check", "--key-env", "MY_KEY"], env={"MY_KEY": key})
    assert result.exit_code == 0, result.output
    assert "COMPATIBLE" in result.output and "user-key-secret-31337" not in result.output


def test_reports_render_every_result() -> None:
    contract = ContractModel.load("relay-b").require()
    with serve("relay-b") as server:
        options = Options(endpoints=(contract.default_endpoint(),), poll_interval=0.001, max_paid_submits=1)
        report = run_checks(mock_target(contract, server), options)
    text = render_json(report)
    assert text.endswith("\n") and '"compatible": false' in text and '"paid_submits": 1' in text
    markdown = render_markdown(report)
    assert "NOT compatible (2 failed)" in markdown
    assert markdown.count("\n| ") == len(report.results) + 1  # header + one row per check
    suite = ET.fromstring(render_junit(report))
    assert suite.get("failures") == "2" and suite.get("skipped") == str(len(statuses(report, "skip")))
    names = {case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None}
    assert names == {"queue_urls_own_host", "request_urls_app"}
