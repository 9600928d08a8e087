"""``kontext-contract check`` against hostile or broken providers, over real loopback sockets:

- a relay answering 5xx to unknown request ids: a FAIL of the checks that asked (``auth_scheme_accepted``,
  the unknown-id checks), the run goes on; a provider failing *everything* is an outage (exit 2, said so in
  the report) before any paid submit;
- a status stream sending bytes but never a newline (fast: the line buffer is bounded; slow: the deadline
  is checked per chunk), and a provider that accepts connections and never answers (``--http-timeout``,
  and every call bounded by ``--wait-timeout``);
- no key: the dry run says it is missing and exits as the real run (2); the real run writes its reports,
  marked incomplete;
- a provider completing at once: the verdict line carries the checks that could not run.

Every test is bounded in time: the servers stop on their own, and the runs have short timeouts.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kontext_contract.checks import Options, mock_target, run_checks
from kontext_contract.checks._matrix import embedded_mock_config
from kontext_contract.checks._scenarios import UNKNOWN_ID
from kontext_contract.cli import main
from kontext_contract.contract import ContractModel
from kontext_contract.mock import MockConfig, MockServer

from .conftest import silent_server

CANARY = "canary-id-31337:canary-secret-31337"
Scope = MutableMapping[str, Any]


def _invoke(args: list[str], env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["check", *args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert CANARY not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


class _Wrap:
    """An ASGI wrapper around the mock: ``answer(scope)`` returns an async callable that answers the request
    itself, or None to let the mock answer."""

    def __init__(self, app: Any, answer: Any) -> None:
        self.app = app
        self.mock = app.mock
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        own = self.answer(scope) if scope["type"] == "http" else None
        if own is None:
            await self.app(scope, receive, send)
        else:
            await own(send, receive)


@contextmanager
def _mock(answer: Any, config: MockConfig | None = None) -> Iterator[MockServer]:
    server = MockServer(config or embedded_mock_config("fal", CANARY))
    server.app = _Wrap(server.app, answer)  # type: ignore[assignment]
    with server:
        yield server


def _server_error(send: Any, receive: Any) -> Any:
    async def answer(send: Any) -> None:
        body = b"<html><body>500 Internal Server Error</body></html>"
        await send(
            {"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"text/html")]}
        )
        await send({"type": "http.response.body", "body": body})

    return answer(send)


def _run(server: MockServer, **options: Any) -> Any:
    contract = ContractModel.load("fal").require()
    options.setdefault("poll_interval", 0.001)
    options.setdefault("max_paid_submits", 100)
    return run_checks(
        mock_target(contract, server), Options(endpoints=(contract.default_endpoint(),), **options)
    )


# -- 5xx ---------------------------------------------------------------------------------------------------


def _unknown_ids_500(scope: Scope) -> Any:
    return _server_error if UNKNOWN_ID in scope["path"] else None


def test_a_5xx_on_the_auth_probe_is_a_finding_and_the_run_goes_on() -> None:
    with _mock(_unknown_ids_500) as server:
        report = _run(server)
        submits = server.state.stats()["submits_total"]
    assert report.complete and report.error is None
    by_name = {r.name: r for r in report.results}
    assert by_name["auth_scheme_accepted"].status == "fail"
    assert "500" in by_name["auth_scheme_accepted"].evidence.got
    assert "cannot be told" in by_name["auth_scheme_accepted"].evidence.got
    assert by_name["wrong_auth_scheme_rejected"].status == "skip"
    assert by_name["result_404_unknown_id"].status == "fail"
    assert by_name["cancel_unknown_404"].status == "fail"
    # everything else was checked, and passes: the relay works for real requests
    assert by_name["submit_response_schema"].status == "pass"
    assert by_name["result_output_schema"].status == "pass"
    assert submits > 1


def test_a_5xx_on_one_probe_exits_1_not_2() -> None:
    with _mock(_unknown_ids_500) as server:
        code, out, err = _invoke(
            ["--base-url", server.base_url, "--key-env", "CANARY_KEY", "--poll-interval", "0.01"],
            env={"CANARY_KEY": CANARY},
        )
    assert code == 1, out + err
    assert "FAIL auth_scheme_accepted" in out and "try again later" not in out + err


def _everything_500(scope: Scope) -> Any:
    return _server_error


def test_a_provider_failing_everything_is_an_outage_and_nothing_is_paid(tmp_path: Path) -> None:
    report_path = tmp_path / "r.json"
    with _mock(_everything_500) as server:
        code, out, err = _invoke(
            ["--base-url", server.base_url, "--key-env", "CANARY_KEY", "--report-json", str(report_path)],
            env={"CANARY_KEY": CANARY},
        )
    assert code == 2, out + err
    assert "outage" in err and "server error" in err
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["complete"] is False and report["error"].startswith("outage")
    assert report["paid_submits"] == 0  # stopped before the first paid submit


def test_an_outage_with_no_paid_submit_allowed_is_still_an_outage() -> None:
    with _mock(_everything_500) as server:
        report = _run(server, max_paid_submits=0)
    assert not report.complete and report.error is not None and report.error.startswith("outage")


# -- a stream without newlines -----------------------------------------------------------------------------


def _stream(chunk: bytes, pause: float, total: int) -> Any:
    """A status stream answer that sends ``chunk`` every ``pause`` seconds, never a newline, and stops after
    ``total`` bytes (so the server thread always ends)."""

    def answer(scope: Scope) -> Any:
        if not scope["path"].endswith("/stream"):
            return None

        async def send_all(send: Any, receive: Any) -> None:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")],
                }
            )
            sent = 0
            while sent < total:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                sent += len(chunk)
                try:  # the pause, or the checker hanging up, whichever comes first
                    message = await asyncio.wait_for(receive(), timeout=max(pause, 0.001))
                except TimeoutError:
                    continue
                if message["type"] == "http.disconnect":
                    return
            await send({"type": "http.response.body", "body": b""})

        return send_all

    return answer


def _stream_trace(report: Any) -> str:
    result = next(r for r in report.results if r.name == "status_stream_offered")
    return result.line()


def test_a_flood_without_newlines_is_cut_off_at_the_line_bound() -> None:
    from kontext_contract.checks._http import MAX_STREAM_LINE

    flood = _stream(b"x" * 65536, 0.0, 64 * MAX_STREAM_LINE)
    with _mock(flood) as server:
        started = time.monotonic()
        report = _run(server, wait_timeout=30.0)
        elapsed = time.monotonic() - started
    assert report.complete, report.error
    assert elapsed < 25  # bounded by the line limit, long before the 16 MiB the server would send
    assert "status_stream_offered" in {r.name for r in report.results if r.status == "fail"}
    assert f"a line longer than {MAX_STREAM_LINE} bytes" in _stream_trace(report)


def test_a_trickle_without_newlines_ends_at_the_wait_timeout() -> None:
    trickle = _stream(b"y", 0.02, 50 * 60)  # 50 bytes/s for at most 60 s
    with _mock(trickle) as server:
        started = time.monotonic()
        report = _run(server, wait_timeout=3.0)
        elapsed = time.monotonic() - started
    assert report.complete, report.error
    assert elapsed < 3.0 + 10  # per chunk, not per line: not the server's 60 s
    assert "still open after 3 s" in _stream_trace(report)


def test_check_wait_timeout_ends_a_trickling_stream() -> None:
    trickle = _stream(b"z", 0.05, 20 * 90)
    with _mock(trickle) as server:
        started = time.monotonic()
        code, out, _ = _invoke(
            ["--base-url", server.base_url, "--key-env", "CANARY_KEY", "--wait-timeout", "2", "--poll-interval", "0.01"],
            env={"CANARY_KEY": CANARY},
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert elapsed < 2 + 10, (elapsed, out)
    assert code == 1 and "FAIL status_stream_offered" in out


# -- a provider that never answers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "bound"),
    [
        (["--http-timeout", "0.5", "--wait-timeout", "600"], 0.5 * 3 + 2),  # three attempts of 0.5 s
        (["--http-timeout", "60", "--wait-timeout", "1.5"], 1.5),  # the total bound wins
    ],
)
def test_a_silent_provider_ends_within_the_timeouts(tmp_path: Path, options: list[str], bound: float) -> None:
    report_path = tmp_path / "r.json"
    with silent_server() as url:
        started = time.monotonic()
        code, out, err = _invoke(
            ["--base-url", url, "--key-env", "CANARY_KEY", "--report-json", str(report_path), *options],
            env={"CANARY_KEY": CANARY},
        )
        elapsed = time.monotonic() - started
    assert code == 2, out + err
    assert elapsed < bound + 5, elapsed
    assert "no answer after" in err and "--http-timeout" in err
    assert json.loads(report_path.read_text(encoding="utf-8"))["complete"] is False


def test_request_timeout_is_validated() -> None:
    code, _, err = _invoke(["--http-timeout", "0", "--dry-run"])
    assert code == 2 and "--http-timeout" in err


# -- no key ------------------------------------------------------------------------------------------------

NO_KEY = {"RELAY_KEY_UNSET": None, "FAL_KEY": None, "FAL_KEY_ID": None, "FAL_KEY_SECRET": None}


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["--base-url", "https://relay.example", "--auth", "bearer", "--key-env", "RELAY_KEY_UNSET"], "$RELAY_KEY_UNSET"),
        (["--base-url", "https://queue.fal.run"], "$FAL_KEY or $FAL_KEY_ID + $FAL_KEY_SECRET"),
        (["--key-env", "RELAY_KEY_UNSET"], "$RELAY_KEY_UNSET"),  # the embedded mock, told to take that key
    ],
)  # fmt: skip
def test_a_dry_run_without_the_key_says_so_and_exits_as_the_run_would(args: list[str], shown: str) -> None:
    code, out, err = _invoke([*args, "--dry-run"], env=NO_KEY)
    assert code == 2, out + err
    assert "Authorization: " in out and f"<missing: {shown} not set>" in out
    assert "****" not in out.split("Authorization: ")[1].splitlines()[0]  # no pretend key
    assert f"no key: set {shown}" in err and "the real run would stop here" in err
    assert "paid submits: at most" in out  # the plan is still shown
    real, _, real_err = _invoke(args, env=NO_KEY)
    assert real == code and f"no key: set {shown}" in real_err


def test_a_dry_run_against_the_embedded_mock_needs_no_key() -> None:
    code, out, _ = _invoke(["--dry-run"], env=NO_KEY)
    assert code == 0 and "the embedded mock's own test key" in out


def test_a_dry_run_with_the_key_shows_it_masked() -> None:
    code, out, _ = _invoke(
        ["--base-url", "https://relay.example", "--key-env", "K", "--dry-run"], env={"K": CANARY}
    )
    assert code == 0 and "Authorization: Key ****" in out  # fal's scheme; the canary is checked by _invoke


def test_a_run_without_the_key_writes_its_reports_marked_incomplete(tmp_path: Path) -> None:
    paths = {name: tmp_path / name for name in ("r.json", "r.md", "r.xml")}
    code, out, err = _invoke(
        ["--base-url", "http://127.0.0.1:9", "--key-env", "RELAY_KEY_UNSET", "--report-json", str(paths["r.json"]),
         "--report-md", str(paths["r.md"]), "--junit", str(paths["r.xml"])],
        env=NO_KEY,
    )  # fmt: skip
    assert code == 2, out + err
    assert "no key: set $RELAY_KEY_UNSET" in err and "reports written, marked incomplete" in err
    report = json.loads(paths["r.json"].read_text(encoding="utf-8"))
    assert report["complete"] is False and report["compatible"] is False
    assert "no key" in report["error"] and report["checks"] == [] and report["paid_submits"] == 0
    assert "INCOMPLETE (no key" in paths["r.md"].read_text(encoding="utf-8")
    assert 'name="run"' in paths["r.xml"].read_text(encoding="utf-8")


# -- a provider that completes at once ---------------------------------------------------------------------


def test_the_verdict_carries_the_checks_that_could_not_run(tmp_path: Path) -> None:
    instant = MockConfig(provider="fal", key=CANARY, deterministic=True)  # no time in the queue
    report_md = tmp_path / "r.md"
    with MockServer(instant) as server:
        code, out, err = _invoke(
            ["--base-url", server.base_url, "--key-env", "CANARY_KEY", "--poll-interval", "0.01", "--report-md", str(report_md)],
            env={"CANARY_KEY": CANARY},
        )  # fmt: skip
    assert code == 0, out + err
    skipped = [line.split()[1] for line in out.splitlines() if line.startswith("SKIP ")]
    assert skipped  # the point of the test: some checks could not run
    verdict = next(line for line in out.splitlines() if line.startswith("COMPATIBLE"))
    assert verdict.startswith(f"COMPATIBLE; {len(skipped)} checks could not run: ")
    for name in skipped:
        assert name in verdict
    assert f"compatible; {len(skipped)} checks could not run" in report_md.read_text(encoding="utf-8")


# -- answers without end -----------------------------------------------------------------------------------


def _endless_or_bomb(kind: str, suffix: str) -> Any:
    """An answer to every GET whose path ends with ``suffix``: an endless JSON-looking body (until the
    checker hangs up), or a gzip body of 64 KiB that decodes to 64 MiB."""
    bomb = gzip.compress(b" " * (64 * 1024 * 1024), compresslevel=9)

    def answer(scope: Scope) -> Any:
        if scope["method"] != "GET" or not scope["path"].endswith(suffix):
            return None

        async def endless(send: Any, receive: Any) -> None:
            headers = [(b"content-type", b"application/json")]
            if kind == "gzip-bomb":
                headers += [(b"content-encoding", b"gzip"), (b"content-length", str(len(bomb)).encode())]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": bomb})
                return
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b'{"status": "', "more_body": True})
            for _ in range(100_000):  # 6.5 GB at most: no checker that reads it whole ends
                await send({"type": "http.response.body", "body": b" " * 65536, "more_body": True})
                try:
                    message = await asyncio.wait_for(receive(), timeout=0.0001)
                except TimeoutError:
                    continue
                if message["type"] == "http.disconnect":
                    return

        return endless

    return answer


@pytest.mark.parametrize("kind", ["endless", "gzip-bomb"])
@pytest.mark.parametrize("suffix", ["/status", "/requests/{id}"])
def test_an_answer_without_end_is_read_to_the_bound_and_judged(
    kind: str, suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A status or a result answered by an endless body or a gzip bomb: the checks read at most
    ``MAX_DOWNLOAD`` bytes of it (256 KiB here) and judge what they read: a result not JSON is a FAIL and
    the run goes on; statuses never JSON end the run as "not a queue API". Before, ``check`` held an
    endless result in memory until the server gave up, then said it could not reach the provider."""
    from kontext_contract.checks import _http

    monkeypatch.setattr(_http, "MAX_DOWNLOAD", 256 * 1024)
    answer = _endless_or_bomb(kind, "/status")
    if suffix != "/status":
        inner = _endless_or_bomb(kind, "")

        def answer(scope: Scope) -> Any:  # the result: a GET on the request's own path
            path = scope["path"]
            if (
                scope["method"] == "GET"
                and "/requests/" in path
                and path.rsplit("/", 1)[-1]
                not in (
                    "status",
                    "stream",
                    "cancel",
                )
            ):
                return inner(scope)
            return None

    with _mock(answer) as server:
        started = time.monotonic()
        report = _run(server, wait_timeout=20.0)
        elapsed = time.monotonic() - started
    assert elapsed < 60, f"{elapsed:.0f} s"
    if suffix == "/status":  # every status is unreadable: not a queue API, said before any paid submit
        assert not report.complete and report.paid_submits == 0
        assert "(not JSON)" in str(report.error) and "is --base-url the provider's API" in str(report.error)
    else:
        assert report.complete, report.error
        failed = [r for r in report.results if r.status == "fail"]
        assert any("not JSON" in r.line() for r in failed), [r.line() for r in report.results]
