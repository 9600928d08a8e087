"""Where fal's own publications disagree (the contract's ``x-fal-publications-disagree``), a provider that does
what one of them says is not called incompatible without saying so: a FAIL of a check the disagreement
names carries a note naming both sides, and a cancel answered as the contract's other success passes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kontext_contract._layout import Layout
from kontext_contract.checks._runner import CHECKS_BY_NAME, disagreement_note
from kontext_contract.checks._scenarios import UNKNOWN_ID
from kontext_contract.pipeline import load_yaml

from .conftest import Rewrite, Scope, run_against, statuses

NOTE = "note: fal's publications disagree on"


def _rewrite(where: Any, status: int, body: Any) -> Rewrite:
    def rewrite(scope: Scope, code: int, headers: dict[str, str], raw: bytes | None) -> Any:
        if raw is None or not where(scope, code):
            return code, headers, raw
        return status, {**headers, "content-type": "application/json"}, json.dumps(body).encode()

    return rewrite


def _is_cancel(scope: Scope) -> bool:
    return str(scope["path"]).endswith("/cancel")


@pytest.fixture(scope="module")
def entries() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = load_yaml(Layout.discover().contract)["x-fal-publications-disagree"]
    return found


def test_every_disagreement_names_real_checks_and_both_sides(entries: list[dict[str, Any]]) -> None:
    assert {e["id"] for e in entries} == {
        "queue-paths",
        "status-codes",
        "logs-shape",
        "url-fields-required",
        "cancel",
    }
    for entry in entries:
        assert set(entry["checks"]) <= set(CHECKS_BY_NAME), entry["id"]
        assert entry["contract_sources"] and entry["otherwise_sources"], entry["id"]
        assert any("types.gen.ts" in s for s in entry["otherwise_sources"]), entry["id"]


def test_the_note_names_both_sides(entries: list[dict[str, Any]]) -> None:
    document = {"x-fal-publications-disagree": entries}
    note = disagreement_note(document, "status_codes_by_state")
    assert "libs/client/src/types/image/types.gen.ts state 200 in every state" in note
    assert "the contract follows fal docs Queue" in note and note.endswith(": status-codes)")
    assert disagreement_note(document, "result_404_unknown_id") == ""
    assert disagreement_note({}, "status_codes_by_state") == ""


def test_pending_status_200_fails_and_says_which_publication_says_so() -> None:
    """fal's per-endpoint OpenAPI lists only 200 for status: the FAIL stays (the contract follows the
    docs: 202 while pending) and says so."""
    rewrite = _rewrite(
        lambda s, code: str(s["path"]).endswith("/status") and code == 202, 200, {"status": "IN_QUEUE"}
    )
    report = run_against("fal", rewrite)
    line = next(r.line() for r in report.results if r.name == "status_codes_by_state")
    assert line.startswith("FAIL status_codes_by_state") and NOTE + " the status code" in line
    assert "types.gen.ts" in line
    as_json = next(r.as_dict() for r in report.results if r.name == "status_codes_by_state")
    assert "types.gen.ts" in as_json["evidence"]["note"]


def test_a_fail_outside_the_disagreements_has_no_note() -> None:
    rewrite = _rewrite(
        lambda s, code: UNKNOWN_ID in str(s["path"]) and not _is_cancel(s) and s["method"] == "GET",
        400,
        {"detail": "nope"},
    )
    report = run_against("fal", rewrite)
    failed = {r.name: r.line() for r in report.results if r.status == "fail"}
    assert "result_404_unknown_id" in failed
    assert all("note:" not in line for line in failed.values())


@pytest.mark.parametrize("body", [{"success": True}, {"status": "OK"}])
def test_cancel_answered_200_is_the_contracts_other_success(body: dict[str, Any]) -> None:
    """fal's per-endpoint OpenAPI: cancel 200 {success?}; the cancel reference page: status OK."""
    report = run_against("fal", _rewrite(lambda s, code: _is_cancel(s) and code == 202, 200, body))
    assert report.complete, report.error
    result = next(r for r in report.results if r.name == "cancel_unfinished_202")
    assert result.status == "pass", result.line()
    assert "or 200 CancelAccepted" in result.line()
    assert not statuses(report, "fail")


def test_cancel_200_with_a_wrong_body_still_fails() -> None:
    report = run_against(
        "fal",
        _rewrite(lambda s, code: _is_cancel(s) and code == 202, 200, {"status": "CANCELLED", "success": 1}),
    )
    result = next(r for r in report.results if r.name == "cancel_unfinished_202")
    # no fal publication states this answer: the note says so, and cites no publication for it
    assert result.status == "fail" and NOTE not in result.line()
    assert 'note: 200 {"status":"CANCELLED","success":1} is stated by no fal publication' in result.line()


def test_a_found_value_no_publication_states_is_said_so_briefly() -> None:
    """relay-a's request URLs name the app fal-ai/flux-1: neither the contract's reading nor the other
    publications' (endpoint level) states it."""
    report = run_against("relay-a")
    line = next(r.line() for r in report.results if r.name == "request_urls_app")
    note = line.split("; note: ", 1)[1]
    assert note.startswith("/fal-ai/flux-1/requests/{request_id} is stated by no fal publication")
    assert "types.gen.ts" not in note and len(note) < 280


def test_endpoint_level_urls_cite_the_publications_that_state_them() -> None:
    def endpoint_level(scope: Scope, code: int, headers: dict[str, str], raw: bytes | None) -> Any:
        if raw is None or scope["method"] != "POST" or code != 200:
            return code, headers, raw
        body = json.loads(raw)
        for name in ("response_url", "status_url", "cancel_url"):
            body[name] = body[name].replace(
                "/fal-ai/flux-pro/requests/", "/fal-ai/flux-pro/kontext/requests/"
            )
        return code, headers, json.dumps(body).encode()

    report = run_against("fal", endpoint_level)
    line = next(r.line() for r in report.results if r.name == "request_urls_app")
    assert line.startswith("FAIL") and NOTE + " where the request operations live" in line
    assert "types.gen.ts" in line
