"""A deliberately broken mock (an ASGI wrapper changing one status code, field or header) makes the check
that owns that rule FAIL, and only that one (checks that follow from it say SKIP)."""

from __future__ import annotations

from typing import Any

import pytest

from kontext_contract.checks._scenarios import UNKNOWN_ID

from .conftest import Rewrite, Scope, json_rewrite, run_against, statuses


def _path(scope: Scope) -> str:
    return str(scope["path"])


def _drop(field: str, when: str | None = None) -> Any:
    def change(body: Any) -> Any:
        if isinstance(body, dict) and (when is None or body.get("status") == when):
            body.pop(field, None)
        return body

    return change


def _status(new: int, where: Any) -> Rewrite:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes | None) -> Any:
        return (new if where(scope, status) else status), headers, body

    return rewrite


def _header(name: str, value: str | None, where: Any) -> Rewrite:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes | None) -> Any:
        if where(scope, status):
            headers = {k: v for k, v in headers.items() if k != name}
            if value is not None:
                headers[name] = value
        return status, headers, body

    return rewrite


def _first_image_only(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("images"), list):
        body["images"] = body["images"][:1]
        body["has_nsfw_concepts"] = body["has_nsfw_concepts"][:1]
    return body


def _is_result(scope: Scope) -> bool:
    parts = _path(scope).strip("/").split("/")
    return len(parts) == 4 and parts[2] == "requests" and scope["method"] == "GET"


CASES: dict[str, tuple[Rewrite, str]] = {
    "pending status answers 200": (
        _status(200, lambda s, code: _path(s).endswith("/status") and code == 202),
        "status_codes_by_state",
    ),
    "queued status without queue_position": (
        json_rewrite(lambda s, code: _path(s).endswith("/status"), _drop("queue_position", "IN_QUEUE")),
        "queue_position_while_queued",
    ),
    "unknown result id answers 400": (
        _status(400, lambda s, code: _is_result(s) and UNKNOWN_ID in _path(s)),
        "result_404_unknown_id",
    ),
    "result without x-fal-request-id": (
        _header("x-fal-request-id", None, lambda s, code: _is_result(s) and code == 200),
        "request_id_header_present",
    ),
    "status stream served as JSON": (
        _header("content-type", "application/json", lambda s, code: _path(s).endswith("/stream")),
        "status_stream_offered",
    ),
    "one image fewer than num_images": (
        json_rewrite(lambda s, code: _is_result(s) and code == 200, _first_image_only),
        "num_images_honoured",
    ),
    "cancel of a completed request answers 200": (
        _status(200, lambda s, code: _path(s).endswith("/cancel") and code == 400),
        "cancel_completed_400",
    ),
    "logs=true ignored": (
        json_rewrite(
            lambda s, code: _path(s).endswith("/status") and b"logs=true" in s.get("query_string", b""),
            lambda body: {**body, "logs": None},
        ),
        "logs_flag_accepted",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_broken_answer_fails_the_check_that_owns_the_rule(case: str) -> None:
    rewrite, check = CASES[case]
    report = run_against("fal", rewrite)
    assert report.complete, report.error
    assert statuses(report, "fail") == {check}, [r.line() for r in report.results if r.status == "fail"]
    line = next(r.line() for r in report.results if r.name == check)
    assert line.startswith(f"FAIL {check}")


def test_a_broken_submit_answer_skips_what_depends_on_it() -> None:
    rewrite = json_rewrite(
        lambda s, code: s["method"] == "POST" and code == 200 and not _path(s).startswith("/run/"),
        _drop("queue_position"),
    )
    report = run_against("fal", rewrite)
    failed = statuses(report, "fail")
    assert "submit_response_schema" in failed
    assert "invalid_input_accepted_at_submit" in failed  # the same submit answer, for the invalid input
    skipped = {r.name: r.evidence.reason for r in report.results if r.status == "skip"}
    assert skipped["queue_urls_own_host"] == "depends on submit_response_schema which failed"
    assert skipped["invalid_input_422_detail"] == "depends on invalid_input_accepted_at_submit which failed"
    assert skipped["num_images_honoured"] == "depends on result_output_schema which was skipped"
    # the paid scenarios behind a failed submit are not run at all
    assert report.paid_submits == 2  # the main submit, and the synchronous run (it needs no submit answer)
