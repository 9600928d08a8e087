"""``check --record`` and ``check --replay``: a run recorded as HAR 1.2 (opened by haralyzer, structured as
the spec says, the key nowhere in it), and its replay giving the live run's verdicts, offline, on every
profile of the mock and on a relay with planted deviations; evidence missing from a recording is SKIP with
the reason."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from haralyzer import HarEntry, HarParser

from kontext_contract._redact import Redactor
from kontext_contract.checks import Options, Report, mock_target, run_checks
from kontext_contract.checks._har import Recorder, RecordingProblem, load_har, write_har
from kontext_contract.checks._matrix import embedded_mock_config
from kontext_contract.checks._replay import recording_document, replay
from kontext_contract.contract import ContractModel
from kontext_contract.mock import PROVIDERS, MockServer

from ._relays import CANARY, CanaryEcho, PlantedRelay


@contextmanager
def _server(provider: str, wrapper: Any = None, key: str | None = None) -> Iterator[MockServer]:
    server = MockServer(embedded_mock_config(provider, key))
    if wrapper is not None:
        server.app = wrapper(server.app)
    with server:
        yield server


def record(
    provider: str, path: Path, *, wrapper: Any = None, key: str | None = None, max_body: int | None = None
) -> Report:
    """Run every check against the mock's ``provider`` profile (behind ``wrapper``), recording to ``path``."""
    contract = ContractModel.load(provider).require()
    options = Options(endpoints=(contract.default_endpoint(),), max_paid_submits=100, poll_interval=0.001)
    recorder = Recorder() if max_body is None else Recorder(max_body)
    with _server(provider, wrapper, key) as server:
        target = mock_target(contract, server)
        report = run_checks(target, options, wrap=recorder.wrap)
    write_har(path, recording_document(recorder, target, options, report, Redactor(target.key.reveal())))
    return report


def verdicts(report: Report) -> list[tuple[str, str | None, str]]:
    return [(r.name, r.endpoint, r.status) for r in report.results]


def no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"a replay sent {request.method} {request.url}")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_replay_of_a_fresh_recording_gives_the_live_verdicts(provider: str, tmp_path: Path) -> None:
    har = tmp_path / f"{provider}.har"
    live = record(provider, har)
    assert live.complete, live.error
    again = replay(load_har(har))
    assert again.complete, again.error
    assert verdicts(again) == verdicts(live)
    assert [r.line() for r in again.results] == [r.line() for r in live.results]
    assert again.provider == live.provider and again.base_url == live.base_url
    assert again.paid_submits == 0 and again.replay is not None and not again.replay["contract_changed"]


def test_the_har_is_har_1_2_and_haralyzer_reads_it(tmp_path: Path) -> None:
    har = tmp_path / "fal.har"
    live = record("fal", har)
    data = json.loads(har.read_text(encoding="utf-8"))
    log = data["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "kontext-contract"
    assert log["pages"][0]["id"] == "run" and "fal" in log["pages"][0]["title"]
    for entry in log["entries"]:  # the fields HAR 1.2 requires (devtools refuse a file without them)
        assert {"startedDateTime", "time", "request", "response", "cache", "timings"} <= set(entry)
        assert {
            "method",
            "url",
            "httpVersion",
            "cookies",
            "headers",
            "queryString",
            "headersSize",
            "bodySize",
        } <= set(entry["request"])
        assert {
            "status",
            "statusText",
            "httpVersion",
            "cookies",
            "headers",
            "content",
            "redirectURL",
            "headersSize",
            "bodySize",
        } <= set(entry["response"])
        assert {"send", "wait", "receive"} <= set(entry["timings"]) and entry["time"] >= 0
        assert entry["startedDateTime"].endswith("Z")
    parser = HarParser(data)
    entries: list[HarEntry] = [e for page in parser.pages for e in page.entries]
    assert len(entries) == len(log["entries"]) > 40
    methods = {e.request.method for e in entries}
    assert {"GET", "POST", "PUT"} <= methods
    statuses = {e.response.status for e in entries}
    assert {200, 202, 400, 401, 404, 422} <= statuses
    # the images are in it, as base64 bodies of image types
    images = [e for e in log["entries"] if e["response"]["content"]["mimeType"].startswith("image/")]
    assert images and all(e["response"]["content"]["encoding"] == "base64" for e in images)
    # the status stream is in it as text
    assert any(e["response"]["content"]["mimeType"].startswith("text/event-stream") for e in log["entries"])
    assert log["_kontext"]["report"]["verdict"] == live.verdict()
    assert log["_kontext"]["name"] == "fal" and log["_kontext"]["contract"]["sha256"]


def test_the_key_never_reaches_the_recording_even_echoed(tmp_path: Path) -> None:
    """A relay echoing the Authorization header in a header, in every JSON body, in every stream event and
    in the text of a 401: the HAR holds none of it."""
    har = tmp_path / "echo.har"
    record("relay-a", har, wrapper=CanaryEcho, key=CANARY)
    text = har.read_text(encoding="utf-8")
    assert CANARY not in text
    data = json.loads(text)
    echoed = [
        h["value"]
        for e in data["log"]["entries"]
        for h in e["response"]["headers"]
        if h["name"].lower() == "x-echo-authorization"
    ]
    assert echoed and set(echoed) <= {"Bearer ****", "Key ****"}  # the echo was there, redacted
    streams = [
        e
        for e in data["log"]["entries"]
        if e["response"]["content"]["mimeType"].startswith("text/event-stream")
    ]
    assert streams and '"echo":"Bearer ****"' in streams[0]["response"]["content"]["text"]
    sent = {
        h["value"]
        for e in data["log"]["entries"]
        for h in e["request"]["headers"]
        if h["name"] == "authorization"
    }
    assert sent <= {"Bearer ****", "Key ****"}
    # and the key is nowhere in a replay's report either
    again = replay(load_har(har))
    assert CANARY not in json.dumps(again.as_dict())


def test_planted_relay_record_replay_and_the_two_new_checks(tmp_path: Path) -> None:
    har = tmp_path / "planted.har"
    live = record("relay-a", har, wrapper=PlantedRelay)
    failed = {r.name: r.line() for r in live.results if r.status == "fail"}
    assert "repeated_submit_accepted" in failed and "409" in failed["repeated_submit_accepted"]
    assert (
        "no_error_body_on_success" in failed
        and "an error reported as a success" in failed["no_error_body_on_success"]
    )
    assert "invalid_input_422_detail" in failed
    same = next(r for r in live.results if r.name == "same_seed_same_image")
    assert same.status == "skip" and "repeated_submit_accepted" in same.evidence.reason
    again = replay(load_har(har))
    assert verdicts(again) == verdicts(live)
    assert [r.line() for r in again.results] == [r.line() for r in live.results]


def test_the_new_checks_pass_on_every_profile(tmp_path: Path) -> None:
    for provider in PROVIDERS:
        report = record(provider, tmp_path / f"{provider}.har")
        status = {r.name: r.status for r in report.results}
        assert status["repeated_submit_accepted"] == "pass", provider
        assert status["no_error_body_on_success"] == "pass", provider


def test_a_replay_sends_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    har = tmp_path / "fal.har"
    record("fal", har)

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a replay opened a network transport")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)
    assert replay(load_har(har)).compatible


def test_evidence_missing_from_the_recording_is_skip_with_the_reason(tmp_path: Path) -> None:
    har = tmp_path / "fal.har"
    live = record("fal", har)
    data = json.loads(har.read_text(encoding="utf-8"))
    cut = copy.deepcopy(data)
    cut["log"]["entries"] = [
        e
        for e in cut["log"]["entries"]
        if not e["response"]["content"]["mimeType"].startswith("text/event-stream")
    ]
    shorter = tmp_path / "no-stream.har"
    shorter.write_text(json.dumps(cut), encoding="utf-8")
    again = replay(load_har(shorter))
    assert again.complete, again.error
    skipped = {r.name: r.evidence.reason for r in again.results if r.status == "skip"}
    assert (
        "status_stream_offered" in skipped
        and "the recording has no answer to GET /" in skipped["status_stream_offered"]
    )
    assert set(skipped) == {"status_stream_offered"}  # the rest of the request is still judged
    assert verdicts(again) == [
        (n, e, "skip" if n == "status_stream_offered" else s) for n, e, s in verdicts(live)
    ]


def test_images_over_the_bound_are_kept_as_digests_and_their_checks_skip(tmp_path: Path) -> None:
    har = tmp_path / "small.har"
    live = record("fal", har, max_body=4096)
    assert live.compatible
    data = json.loads(har.read_text(encoding="utf-8"))
    images = [e for e in data["log"]["entries"] if e["response"]["content"]["mimeType"].startswith("image/")]
    assert images and all(
        "text" not in e["response"]["content"] and len(e["response"]["content"]["_sha256"]) == 64
        for e in images
    )
    again = replay(load_har(har))
    status = {r.name: (r.status, r.evidence.reason) for r in again.results}
    for name in ("image_size_follows_aspect_ratio", "image_bytes_match_format", "same_seed_same_image"):
        assert status[name][0] == "skip" and "only the digest" in status[name][1], name
    assert not any(r.status == "fail" for r in again.results)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "not JSON"),
        (b"[" * 100_000, "not JSON"),  # nested past Python's recursion limit
        (b'{"log": {"version": "1.1", "entries": []}}', "expected '1.2'"),
        (b'{"log": {"version": "1.2", "entries": []}}', "check --record"),
        (b'{"nolog": 1}', "not a HAR file"),
    ],
)
def test_a_file_that_is_not_a_recording_is_refused_naming_it(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.har"
    path.write_bytes(content)
    with pytest.raises(RecordingProblem, match=message) as raised:
        load_har(path)
    assert str(path) in str(raised.value)


def test_a_recorded_body_nested_too_deeply_is_compared_as_text() -> None:
    """A request body in a recording that json cannot read (nested past the recursion limit) is compared
    as its text, so a replay says the checks send another body instead of crashing."""
    from kontext_contract.checks._har import _json_or_none

    deep = "[" * 100_000
    assert _json_or_none(deep) == deep and _json_or_none('{"a": 1}') == {"a": 1}
