"""The key stays secret and at home; an interrupted run keeps what it wrote.

- a canary key never appears in stdout, stderr, a report, a log record or an error, even when the provider
  echoes the Authorization header back in its answers;
- the key is never sent to another host: queue URLs on a foreign host are rebased, images on a foreign host
  are fetched without it;
- Ctrl-C (a real SIGINT to the CLI) leaves the reports written so far, marked incomplete, exit status 130.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from kontext_contract.checks import Options, mock_target, run_checks
from kontext_contract.checks import _scenarios as scenarios
from kontext_contract.checks._http import Session
from kontext_contract.cli import main
from kontext_contract.contract import ContractModel
from kontext_contract.mock import MockConfig

from .conftest import Scope, serve

CANARY_ID = "canaryid7f3a91"
CANARY_SECRET = "canarysecret9c1e77d2"
CANARY = f"{CANARY_ID}:{CANARY_SECRET}"


def echo_authorization(scope: Scope, status: int, headers: dict[str, str], body: bytes | None) -> Any:
    """A provider that leaks: every JSON answer and a response header repeat the Authorization it got."""
    sent = next((bytes(v).decode() for k, v in scope["headers"] if bytes(k).lower() == b"authorization"), "")
    headers = {**headers, "x-echo": sent}
    if body is not None and headers.get("content-type", "").startswith("application/json"):
        data = json.loads(body)
        if isinstance(data, dict):
            data["echo"] = sent
            if isinstance(data.get("detail"), str):
                data["detail"] += f" (you sent {sent})"
        body = json.dumps(data).encode()
    return status, headers, body


def assert_no_canary(text: str, where: str) -> None:
    for secret in (CANARY, CANARY_ID, CANARY_SECRET):
        assert secret not in text, f"the key leaked into {where}"


def test_a_canary_key_never_leaks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    reports = {name: tmp_path / name for name in ("r.json", "r.md", "r.xml")}
    config = MockConfig(provider="fal", key=CANARY, deterministic=True, queue_delay=1.0, processing_delay=0.5)
    with serve(config=config, rewrite=echo_authorization) as server:
        args = ["check", "--base-url", server.base_url, "--run-base-url", server.base_url + "/run", "--auth", "key",
                "--key-env", "CANARY_KEY", "--poll-interval", "0.001", "--report-json", str(reports["r.json"]),
                "--report-md", str(reports["r.md"]), "--junit", str(reports["r.xml"])]  # fmt: skip
        result = CliRunner().invoke(main, args, env={"CANARY_KEY": CANARY})
        # and with the canary as a wrong key: the error message quotes the provider's echo
        wrong = CliRunner().invoke(main, [*args[:8], "WRONG"], env={"WRONG": "canaryid7f3a91:wrong"})
    assert result.exit_code == 0, result.output
    assert "echo" in reports["r.json"].read_text()  # the echo reached the evidence, redacted
    assert "****" in reports["r.json"].read_text()
    assert_no_canary(result.output, "stdout/stderr")
    for path in reports.values():
        assert_no_canary(path.read_text(), path.name)
    assert_no_canary("\n".join(r.getMessage() for r in caplog.records), "the log")
    assert wrong.exit_code == 2
    assert_no_canary(wrong.output, "the wrong-key message")
    assert CANARY_ID not in str(wrong.exception or "")


class Recorder(httpx.BaseTransport):
    """Records (method, URL, Authorization) of every request; answers for the fake image host itself."""

    def __init__(self, mock_base: str) -> None:
        self.inner = httpx.HTTPTransport()
        self.mock_base = mock_base
        self.sent: list[tuple[str, str, str | None]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, str(request.url), request.headers.get("authorization")))
        if request.url.host == "images.example":
            data = httpx.get(self.mock_base + request.url.path).content  # what a CDN would serve
            return httpx.Response(200, headers={"content-type": "image/png"}, content=data)
        return self.inner.handle_request(request)


def images_elsewhere(scope: Scope, status: int, headers: dict[str, str], body: bytes | None) -> Any:
    if body is not None and b"/_mock/files/" in body:
        body = re.sub(rb"http://127\.0\.0\.1:\d+/_mock/files/", b"https://images.example/_mock/files/", body)
    return status, headers, body


def test_the_key_never_goes_to_another_host() -> None:
    contract = ContractModel.load("relay-a").require()
    with serve("relay-a", images_elsewhere) as server:
        recorder = Recorder(server.base_url)
        options = Options(endpoints=(contract.default_endpoint(),), poll_interval=0.001, max_paid_submits=10)
        report = run_checks(mock_target(contract, server), options, transport=recorder)
    assert report.complete
    own = server.base_url
    with_key = [(m, u) for m, u, auth in recorder.sent if auth is not None]
    assert with_key and all(u.startswith(own + "/") for _, u in with_key)
    assert not any("queue.fal.run" in u for _, u, _ in recorder.sent)  # the relay's foreign URLs were rebased
    assert any(u.startswith(own + "/fal-ai/flux-1/requests/") for _, u in with_key)  # ... and followed
    fetched = [(u, auth) for _, u, auth in recorder.sent if "images.example" in u]
    assert fetched and all(auth is None for _, auth in fetched)  # images on a CDN: no key
    failed = {r.name for r in report.results if r.status == "fail"}
    assert failed == {"queue_urls_own_host", "request_urls_app"}


def test_ctrl_c_in_process_keeps_results_and_cancels_open_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    contract = ContractModel.load("fal").require()

    def interrupted(ctx: Any, run: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(scenarios, "_poll", interrupted)
    with serve("fal") as server:
        options = Options(endpoints=(contract.default_endpoint(),), poll_interval=0.001)
        report = run_checks(mock_target(contract, server), options)
        cancelled = server.state.counters["cancelled"]
    assert report.interrupted and not report.complete and not report.compatible
    # the provider-wide checks ran before; the invalid input's poll was interrupted (it is not paid); the
    # interrupt came before the main request was submitted, so there was nothing to cancel
    assert [r.name for r in report.results] == [
        "auth_scheme_accepted",
        "wrong_auth_scheme_rejected",
        "result_404_unknown_id",
        "cancel_unknown_404",
    ]
    assert cancelled == 0

    # interrupted while the paid main request waits in the queue: it is cancelled, and counted
    def stream_interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.undo()
    monkeypatch.setattr(Session, "stream", stream_interrupted)
    with serve("fal") as server:
        options = Options(endpoints=(contract.default_endpoint(),), poll_interval=0.001)
        report = run_checks(mock_target(contract, server), options)
        cancelled = server.state.counters["cancelled"]
    assert report.interrupted and report.error is not None
    assert "asked to cancel 1 unfinished request(s)" in report.error
    assert cancelled == 1
    assert report.paid_submits == 1 and report.as_dict()["paid_submits"] == 1
    assert "submit_response_schema" not in {r.name for r in report.results}  # it never finished


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
def test_ctrl_c_from_the_terminal_leaves_a_partial_report(tmp_path: Path) -> None:
    report_path = tmp_path / "r.json"
    md_path = tmp_path / "r.md"
    config = MockConfig(provider="fal", queue_delay=0.0, processing_delay=60.0)
    with serve(config=config) as server:
        env = {**os.environ, "K": server.state.key, "PYTHONUNBUFFERED": "1"}
        cli = Path(sys.executable).parent / "kontext-contract"
        process = subprocess.Popen(
            [str(cli), "check", "--base-url", server.base_url, "--key-env", "K", "--poll-interval", "0.05",
             "--report-json", str(report_path), "--report-md", str(md_path)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if report_path.is_file() and len(json.loads(report_path.read_text())["checks"]) >= 4:
                break  # the provider-wide checks are written; the invalid input is now waiting 60 s
            time.sleep(0.05)
        else:
            process.kill()
            pytest.fail("no report after 30 s")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 130, (out, err)
    report = json.loads(report_path.read_text())
    assert report["complete"] is False and report["interrupted"] is True and report["compatible"] is False
    assert [c["status"] for c in report["checks"]] == ["pass"] * 4
    assert "interrupted" in err and "INCOMPLETE" in out
    assert "INCOMPLETE (interrupted (Ctrl-C))" in md_path.read_text()
