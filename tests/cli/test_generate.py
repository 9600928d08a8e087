"""``kontext-contract generate`` against the mock and against servers that fail: a rejected key names its
variable and exits as ``check`` does (cli._exit), an unreachable provider fails fast naming the address,
saved files never collide nor overwrite (issue 20)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kontext_contract.cli import _exit
from kontext_contract.cli._generate import command as generate_command
from kontext_contract.mock import MockConfig, MockServer

CANARY = "canary-wrong:Zq7xK9sECRET"


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(MockConfig()) as running:
        yield running


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    environment = {"FAL_KEY": "mock-key-id:mock-key-secret", "FAL_KEY_ID": "", "FAL_KEY_SECRET": ""}
    return CliRunner().invoke(generate_command, list(args), env={**environment, **(env or {})})


class _Forbidden(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.dumps({"detail": "Forbidden: exhausted balance"}).encode()
        self.send_response(403)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def forbidding() -> Iterator[str]:
    """A server on 127.0.0.1 answering 403 to every submit (made for this test)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Forbidden)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    ("args", "env", "variable"),
    [
        ([], {"FAL_KEY": CANARY}, "$FAL_KEY"),
        (["--key-env", "MY_KONTEXT_KEY"], {"MY_KONTEXT_KEY": CANARY}, "$MY_KONTEXT_KEY"),
    ],
)
def test_a_rejected_key_names_its_variable_and_exits_as_check_does(
    server: MockServer, tmp_path: Path, args: list[str], env: dict[str, str], variable: str
) -> None:
    result = run(
        "a fox", "--base-url", server.base_url, "--no-journal", "--out", str(tmp_path), *args, env=env
    )
    assert result.exit_code == _exit.USAGE, result.output
    assert f"refused the key from {variable} (HTTP 401)" in result.output, result.output
    assert "--key-env" in result.output
    assert CANARY not in result.output and "Zq7xK9sECRET" not in result.output
    assert "Traceback" not in result.output
    assert not list(tmp_path.iterdir())


def test_a_forbidden_key_403_names_its_variable(forbidding: str, tmp_path: Path) -> None:
    result = run(
        "a fox", "--base-url", forbidding, "--no-journal", "--out", str(tmp_path), env={"FAL_KEY": CANARY}
    )
    assert result.exit_code == _exit.USAGE, result.output
    assert "refused the key from $FAL_KEY (HTTP 403" in result.output, result.output
    assert CANARY not in result.output


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed now: connections are refused


@pytest.mark.parametrize("use_run", [False, True], ids=["submit", "run"])
def test_an_unreachable_provider_fails_fast_naming_the_address(tmp_path: Path, use_run: bool) -> None:
    """A connect error before anything was sent: 3 attempts (2 short retries) within about 1.5 s, then exit 2
    (the table check shares) naming host:port; not 8 attempts over 21 s."""
    port = _closed_port()
    base = f"http://127.0.0.1:{port}"
    extra = ["--run", "--run-base-url", base + "/run"] if use_run else []
    started = time.monotonic()
    result = run("a fox", "--base-url", base, "--no-journal", "--out", str(tmp_path), *extra)
    elapsed = time.monotonic() - started
    assert result.exit_code == _exit.USAGE, result.output
    assert f"cannot reach fal at {base}" in result.output, result.output
    assert f"cannot connect to 127.0.0.1:{port}" in result.output, result.output
    assert "attempt 3 of 3" in result.output
    assert "3 attempt(s)" in result.output and "nothing was sent" in result.output
    assert result.output.count("retrying") == 2, result.output
    assert elapsed < 4.0, elapsed  # the bound is 1.5 s of retries (+ CLI start); 8 retries took 21 s
    assert "Traceback" not in result.output


def test_runs_never_collide_and_nothing_is_overwritten_without_force(
    server: MockServer, tmp_path: Path
) -> None:
    """Two --run in one folder save run-1-0.jpg and run-2-0.jpg; queue requests save {request_id}-0.jpg."""
    base = ["a fox", "--base-url", server.base_url, "--no-journal", "--out", str(tmp_path)]
    run_opts = ["--run", "--run-base-url", server.base_url + "/run"]
    first = run(*base, *run_opts)
    second = run(*base, *run_opts)
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert first.stdout.strip() != second.stdout.strip()
    assert {p.name for p in tmp_path.iterdir()} == {"run-1-0.jpg", "run-2-0.jpg"}
    queued = run(*base)
    assert queued.exit_code == 0, queued.output
    (saved,) = [Path(line) for line in queued.stdout.split()]
    assert saved.parent == tmp_path and saved.name.endswith("-0.jpg") and not saved.name.startswith("run")
    assert len(list(tmp_path.iterdir())) == 3


def test_an_existing_file_is_not_overwritten_without_force(
    server: MockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request id whose file exists (a provider reusing ids, a file of another tool): exit 2 naming the
    file and --force, the file untouched; with --force it is replaced."""
    from kontext_contract.cli import _generate

    monkeypatch.setattr(_generate, "_file_stem", lambda request_id: "same")
    target = tmp_path / "same-0.jpg"
    target.write_bytes(b"precious")
    base = ["a fox", "--base-url", server.base_url, "--no-journal", "--out", str(tmp_path)]
    refused = run(*base)
    assert refused.exit_code == _exit.USAGE, refused.output
    assert f"{target} exists: not overwritten" in refused.output and "--force" in refused.output
    assert "the images: " in refused.output  # no journal: the result's URLs, so nothing is lost
    assert target.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same-0.jpg"]  # no temporary file left
    forced = run(*base, "--force")
    assert forced.exit_code == 0, forced.output
    assert target.read_bytes() != b"precious"


def test_write_image_refuses_an_existing_file_atomically(tmp_path: Path) -> None:
    from kontext_contract.client._images import write_image

    target = tmp_path / "a.jpg"
    target.write_bytes(b"old")
    with pytest.raises(FileExistsError):
        write_image(b"new", target, "image/jpeg", overwrite=False)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["a.jpg"]
    assert write_image(b"new", tmp_path / "b", "image/png", overwrite=False).name == "b.png"
