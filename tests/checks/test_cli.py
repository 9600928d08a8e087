"""`kontext-contract check` as a user runs it: the live path over a real socket (the mock standing in for a
provider, through the same options a live user passes), the paid-submit cap, the dry run, and bad input:
an unreachable URL, a wrong key, a provider answering HTML or garbage, usage errors."""

from __future__ import annotations

import json
import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from kontext_contract.checks import ALL_CHECKS
from kontext_contract.cli import main
from kontext_contract.contract import ContractModel
from kontext_contract.mock import MockConfig, MockServer

from .conftest import serve

FAL_KEY = "live-test-id:live-test-secret"
RELAY_KEY = "live-relay-key-0123"


def invoke(args: list[str], env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, ["check", *args], env=env, catch_exceptions=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def plain_server(status: int, content_type: str, body: bytes) -> Iterator[str]:
    """A loopback HTTP server answering every request with the same bytes (a web page, or garbage)."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def live_config(provider: str, key: str) -> MockConfig:
    """The mock as a live provider would be: wall-clock delays, random ids."""
    return MockConfig(provider=provider, key=key, queue_delay=0.15, processing_delay=0.1)


def test_live_path_fal_over_a_real_socket(tmp_path: Path) -> None:
    with serve(config=live_config("fal", FAL_KEY)) as server:
        result = invoke(
            [
                "--base-url", server.base_url,
                "--auth", "key",
                "--key-env", "MY_FAL_KEY",
                "--provider", "fal",
                "--run-base-url", server.base_url + "/run",
                "--poll-interval", "0.02",
                "--report-json", str(tmp_path / "r.json"),
                "--report-md", str(tmp_path / "r.md"),
                "--junit", str(tmp_path / "r.xml"),
            ],
            env={"MY_FAL_KEY": FAL_KEY},
        )  # fmt: skip
        stats = server.state.stats()
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.split(" ", 1)[0] in ("PASS", "FAIL", "SKIP")]
    assert len(lines) == len(ALL_CHECKS) and all(line.startswith("PASS ") for line in lines), result.output
    assert "COMPATIBLE" in result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["compatible"] and report["complete"] and report["paid_submits"] == 5
    assert set(report) >= {"provider", "base_url", "compatible", "complete", "checks", "paid_submits"}
    assert {tuple(sorted(c)) for c in report["checks"]} == {
        ("endpoint", "evidence", "line", "name", "paid_submits", "status")
    }
    # what the provider saw: 4 paid submits + the invalid one, and one synchronous run
    assert stats["submits_total"] == 5 and stats["runs_total"] == 1
    suite = ET.parse(tmp_path / "r.xml").getroot()
    assert suite.get("tests") == str(len(ALL_CHECKS)) and suite.get("failures") == "0"
    assert "**compatible**" in (tmp_path / "r.md").read_text()


def test_live_path_relay_over_a_real_socket(tmp_path: Path) -> None:
    contract = ContractModel.load("relay-a").require()
    predicted = {
        c.name for c in ALL_CHECKS if {d["id"] for d in contract.provider.known_deviations} & set(c.detects)
    }
    with serve(config=live_config("relay-a", RELAY_KEY)) as server:
        result = invoke(
            ["--base-url", server.base_url, "--auth", "bearer", "--key-env", "RELAY_KEY", "--provider", "relay-a",
             "--poll-interval", "0.02", "--report-json", str(tmp_path / "r.json")],
            env={"RELAY_KEY": RELAY_KEY},
        )  # fmt: skip
    assert result.exit_code == 1, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert {c["name"] for c in report["checks"] if c["status"] == "fail"} == predicted
    assert report["complete"] and not report["compatible"]


def test_the_paid_submit_cap_is_hard(tmp_path: Path) -> None:
    with serve("fal") as server:
        result = invoke(
            ["--base-url", server.base_url, "--run-base-url", server.base_url + "/run", "--key-env", "K",
             "--max-paid-submits", "2", "--poll-interval", "0.001", "--report-json", str(tmp_path / "r.json")],
            env={"K": server.state.key},
        )  # fmt: skip
        stats = server.state.stats()
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["paid_submits"] == 2
    assert stats["submits_total"] - 1 + stats["runs_total"] == 2  # minus the invalid input, which is free
    skips = {c["name"]: c["evidence"]["reason"] for c in report["checks"] if c["status"] == "skip"}
    assert set(skips) == {
        "repeated_submit_accepted",
        "same_seed_same_image",
        "sync_mode_data_uris",
        "sync_run_offered",
    }
    assert skips.pop("same_seed_same_image") == "depends on repeated_submit_accepted which was skipped"
    assert all("--max-paid-submits 2" in reason for reason in skips.values())
    assert result.exit_code == 0  # skips are not incompatibilities


def test_no_paid_submits_at_all(tmp_path: Path) -> None:
    with serve("fal") as server:
        result = invoke(
            ["--base-url", server.base_url, "--key-env", "K", "--max-paid-submits", "0", "--poll-interval", "0.001",
             "--report-json", str(tmp_path / "r.json")],
            env={"K": server.state.key},
        )  # fmt: skip
        stats = server.state.stats()
    assert result.exit_code == 0, result.output
    assert stats["submits_total"] == 1 and stats["runs_total"] == 0  # the invalid input only
    report = json.loads((tmp_path / "r.json").read_text())
    ran = {c["name"] for c in report["checks"] if c["status"] == "pass"}
    assert ran == {
        "auth_scheme_accepted",
        "wrong_auth_scheme_rejected",
        "result_404_unknown_id",
        "cancel_unknown_404",
        "invalid_input_accepted_at_submit",
        "invalid_input_422_detail",
    }


def test_dry_run_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve("fal") as server:
        result = invoke(
            ["--base-url", server.base_url, "--run-base-url", server.base_url + "/run", "--key-env", "K",
             "--dry-run", "--max-paid-submits", "3"],
            env={"K": server.state.key},
        )  # fmt: skip
        stats = server.state.stats()
    assert result.exit_code == 0, result.output
    assert stats["submits_total"] == 0 and stats["runs_total"] == 0 and not any(stats["calls"].values())
    out = result.output
    assert f"POST {server.base_url}/fal-ai/flux-pro/kontext" in out
    assert "paid submits: at most 3 (cap --max-paid-submits 3; all checks would need 5)" in out
    assert "scenario sync_mode [fal-ai/flux-pro/kontext]: not sent (over the cap" in out

    # the embedded mock is not even started, and no request leaves the process
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a dry run sent a request or started a server")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)
    monkeypatch.setattr(MockServer, "start", refuse)
    result = invoke(["--dry-run", "--provider", "chainhub"])
    assert result.exit_code == 0, result.output
    assert (
        "scenario run [fal-ai/flux-pro/kontext/max/multi]: not sent (the chainhub provider document"
        in result.output
    )
    assert "paid submits: at most 4" in result.output


def test_unreachable_base_url_exits_2_with_an_incomplete_report(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = invoke(["--base-url", url, "--key-env", "K", "--poll-interval", "0.01", "--report-json", str(tmp_path / "r.json")],
                    env={"K": "some-key"})  # fmt: skip
    assert result.exit_code == 2
    assert f"error: cannot reach {url}" in result.output and "ConnectError" in result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["complete"] is False and report["compatible"] is False and "cannot reach" in report["error"]


@pytest.mark.parametrize(
    ("content_type", "body", "shown"),
    [
        ("text/html", b"<!DOCTYPE html><html><body>Welcome to nginx!</body></html>", "text/html (not JSON)"),
        ("application/json", b"\x00\x01 garbage {{{", "application/json (not JSON)"),
    ],
)
def test_html_or_garbage_exits_2_with_a_clear_message(content_type: str, body: bytes, shown: str) -> None:
    with plain_server(200, content_type, body) as url:
        result = invoke(["--base-url", url, "--key-env", "K"], env={"K": "some-key"})
    assert result.exit_code == 2
    assert shown in result.output
    assert (
        "where the contract expects JSON" in result.output
        and "is --base-url the provider's API base URL?" in result.output
    )


def test_a_wrong_key_exits_2_and_spends_nothing() -> None:
    with serve("fal") as server:
        result = invoke(
            ["--base-url", server.base_url, "--key-env", "K"], env={"K": "wrong-id:wrong-secret-4242"}
        )
        stats = server.state.stats()
    assert result.exit_code == 2
    assert "the key was rejected with both schemes" in result.output
    assert "wrong-secret-4242" not in result.output and "wrong-id:" not in result.output
    assert stats["submits_total"] == 0


def test_a_key_accepted_only_with_the_other_scheme_is_an_incompatibility() -> None:
    result = invoke(["--auth", "bearer"])  # the embedded fal mock takes Key only
    assert result.exit_code == 1, result.output
    fails = [line for line in result.output.splitlines() if line.startswith("FAIL")]
    assert len(fails) == 1 and fails[0].startswith("FAIL auth_scheme_accepted")
    assert "the key is accepted with Key instead" in fails[0]
    assert "SKIP wrong_auth_scheme_rejected: depends on auth_scheme_accepted which failed" in result.output


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--provider", "nope"], {}, "no provider document"),
        (["--endpoint", "fal-ai/flux-1"], {}, "is not an endpoint of"),
        (
            ["--base-url", "http://127.0.0.1:9"],
            {"FAL_KEY": "", "FAL_KEY_ID": "", "FAL_KEY_SECRET": ""},
            "no key: set $FAL_KEY or $FAL_KEY_ID + $FAL_KEY_SECRET",
        ),
        (
            ["--base-url", "ftp://example.com", "--key-env", "K"],
            {"K": "k"},
            "must be an absolute http:// or https:// URL",
        ),
        (["--key-env", "UNSET_VARIABLE_XYZ"], {}, "no key: set $UNSET_VARIABLE_XYZ"),
        (["--report-json", "/proc/no-such-folder/r.json"], {}, "cannot write a report"),
    ],
)
def test_usage_errors_exit_2(args: list[str], env: dict[str, str], message: str) -> None:
    result = CliRunner().invoke(main, ["check", *args], env=env)
    assert result.exit_code == 2, result.output
    assert message in result.output
