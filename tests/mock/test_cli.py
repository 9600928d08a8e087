"""``kontext-contract mock``: prints its base URL, profile and key; serves; never logs the key."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import httpx
from click.testing import CliRunner

from kontext_contract.cli import main

from .conftest import T2I


def _start(*args: str) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kontext_contract.cli", "mock", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if "stats:" in line:
            break
    return proc, lines


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


def test_prints_base_url_profile_and_key_and_serves():
    proc, lines = _start("--provider", "fal", "--queue-delay", "0.01")
    try:
        text = "\n".join(lines)
        match = re.search(r"mock on (http://127\.0\.0\.1:\d+)", text)
        assert match, text
        assert "provider profile: fal" in text
        assert "Authorization: Key mock-key-id:mock-key-secret" in text
        base = match.group(1)
        response = httpx.post(
            f"{base}/{T2I}",
            json={"prompt": "p"},
            headers={"Authorization": "Key mock-key-id:mock-key-secret"},
        )
        assert response.status_code == 200
    finally:
        rest = _stop(proc)
    assert f"POST /{T2I}" in rest  # the access log is on


def test_a_custom_key_is_never_printed_or_logged():
    secret = "id:sk-private-0123456789"
    proc, lines = _start("--provider", "chainhub", "--key", secret)
    try:
        base = re.search(r"mock on (http://[\d.:]+)", "\n".join(lines)).group(1)  # type: ignore[union-attr]
        ok = httpx.post(f"{base}/{T2I}", json={"prompt": "p"}, headers={"Authorization": f"Bearer {secret}"})
        bad = httpx.post(
            f"{base}/{T2I}", json={"prompt": "p"}, headers={"Authorization": f"Bearer {secret}x"}
        )
        assert (ok.status_code, bad.status_code) == (200, 401)
        assert secret not in ok.text + bad.text
    finally:
        rest = _stop(proc)
    output = "\n".join(lines) + rest
    assert "Authorization: Bearer <the --key value" in output
    assert "sk-private" not in output


def test_usage_errors():
    runner = CliRunner()
    result = runner.invoke(main, ["mock", "--provider", "nope"])
    assert result.exit_code == 2
    result = runner.invoke(main, ["mock", "--fault-429", "2"])
    assert result.exit_code == 2


def test_webhook_key_and_faults_options(tmp_path):
    from kontext_contract.mock._signing import WebhookSigner

    signer = WebhookSigner.generate()
    key = tmp_path / "hook.pem"
    key.write_bytes(signer.pem())
    proc, lines = _start(
        "--webhook-key", str(key), "--webhook-fault", "duplicate", "--webhook-retry-compression", "10"
    )
    try:
        base = next(m.group(1) for line in lines if (m := re.search(r"mock on (http://\S+)", line)))
        assert any(signer.kid in line for line in lines)
        assert httpx.get(f"{base}/.well-known/jwks.json").json() == signer.jwks()
    finally:
        out = _stop(proc)
    assert "PRIVATE KEY" not in out + "\n".join(lines)


def test_a_bad_webhook_key_or_fault_is_a_usage_error(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n")
    result = CliRunner().invoke(main, ["mock", "--port", "0", "--webhook-key", str(bad)])
    assert result.exit_code == 2 and str(bad) in result.output and "not a key" not in result.output
    result = CliRunner().invoke(main, ["mock", "--port", "0", "--webhook-fault", "late"])
    assert result.exit_code == 2 and "--webhook-fault" in result.output


def test_a_port_in_use_is_a_usage_error_naming_the_address():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["mock", "--port", str(port)])
    assert result.exit_code == 2, result.output
    assert f"--host/--port: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "2 usage error" in CliRunner().invoke(main, ["mock", "--help"]).output
