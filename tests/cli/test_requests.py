"""`generate` with its journal, and `kontext-contract requests list | show | resume | forget`, against the
mock over a real socket; the README's kill-and-resume lines run as written."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kontext_contract.cli import main
from kontext_contract.client import Client, Endpoint, Intent, Journal, Provider
from kontext_contract.mock import MockConfig, MockServer

ROOT = Path(__file__).resolve().parents[2]
KEY = "mock-key-id:mock-key-secret"


@pytest.fixture
def server() -> Iterator[MockServer]:
    with MockServer(MockConfig(queue_delay=0.01, processing_delay=0.02)) as srv:
        yield srv


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"FAL_KEY": KEY}, catch_exceptions=False)


def submits(server: MockServer) -> int:
    return int(server.state.stats()["submits_total"])


def test_generate_records_and_reuses(server: MockServer, tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite3"
    first = cli(
        "generate", "a fox", "--base-url", server.base_url, "--out", str(tmp_path), "--journal", str(journal)
    )
    assert first.exit_code == 0, first.output
    assert f"recorded in {journal}" in first.output
    [entry] = Journal(journal).entries()
    assert entry.state == "completed" and len(entry.files) == 1
    assert Path(entry.files[0]).is_file() and entry.files[0] in first.stdout
    again = cli(
        "generate",
        "a fox",
        "--base-url",
        server.base_url,
        "--out",
        str(tmp_path),
        "--journal",
        str(journal),
        "--reuse",
    )
    assert again.exit_code == 0, again.output
    assert submits(server) == 1  # the journal's result, not a new submit
    assert Path(again.stdout.strip().splitlines()[-1]).name == Path(entry.files[0]).name


def test_generate_uses_the_default_journal(server: MockServer, tmp_path: Path) -> None:
    default = Path(os.environ["KONTEXT_JOURNAL"])  # tests/conftest.py: never the real home
    result = cli("generate", "a fox", "--base-url", server.base_url, "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert len(Journal(default).entries()) == 1
    off = cli("generate", "a cat", "--base-url", server.base_url, "--out", str(tmp_path), "--no-journal")
    assert off.exit_code == 0 and "recorded in" not in off.output
    assert len(Journal(default).entries()) == 1
    both = cli("generate", "a cat", "--base-url", server.base_url, "--no-journal", "--reuse")
    assert both.exit_code == 2 and "--reuse needs a journal" in both.output


@pytest.mark.parametrize("broken", ["garbage", "schema"])
def test_generate_with_a_bad_journal_sends_nothing(server: MockServer, tmp_path: Path, broken: str) -> None:
    journal = tmp_path / "j.sqlite3"
    if broken == "garbage":
        journal.write_bytes(b"garbage" * 1000)
    else:
        Journal(journal).close()
        with sqlite3.connect(journal) as conn:
            conn.execute("PRAGMA user_version = 7")
    result = cli(
        "generate", "a fox", "--base-url", server.base_url, "--out", str(tmp_path), "--journal", str(journal)
    )
    assert result.exit_code == 2, result.output
    assert f"journal {journal}" in result.output and (
        "move it aside" in result.output or "schema 7" in result.output
    )
    assert submits(server) == 0


def test_list_show_resume_forget(server: MockServer, tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite3"
    with Client(Provider.mock(server.base_url), journal=journal) as client:
        pending = client.submit(Endpoint.KONTEXT_TEXT_TO_IMAGE, {"prompt": "left behind"})
        done = client.subscribe(Endpoint.KONTEXT_TEXT_TO_IMAGE, {"prompt": "finished"})
    with Journal(journal) as j:  # and one whose answer was never read (its process died during the submit)
        ambiguous = j.record_intent(
            Intent("queue", Endpoint.KONTEXT_TEXT_TO_IMAGE.value, "0" * 64, "mock-fal", server.base_url)
        )
        j.record_outcome(ambiguous, "ambiguous", error={"message": "killed"})
    listed = cli("requests", "list", "--journal", str(journal), "--json")
    assert listed.exit_code == 0, listed.output
    entries = json.loads(listed.stdout)
    assert [e["state"] for e in entries] == ["pending", "completed", "ambiguous"]
    for entry in entries:
        assert {"request_id", "endpoint_id", "provider", "state", "created_at", "updated_at", "files"} <= set(
            entry
        )
    table = cli("requests", "list", "--journal", str(journal)).stdout
    assert table.index(pending.request_id) < table.index("ambiguous (1)") < table.index(ambiguous[:12])
    shown = cli("requests", "show", pending.request_id, "--journal", str(journal))
    assert shown.exit_code == 0 and "pending" in shown.stdout and "requests resume" in shown.stdout
    assert cli("requests", "show", "nope", "--journal", str(journal)).exit_code == 2

    out = tmp_path / "out"
    before = submits(server)
    resumed = cli("requests", "resume", "--all", "--journal", str(journal), "--out", str(out))
    assert resumed.exit_code == 0, resumed.output
    assert "ambiguous, not resent" in resumed.output and "idempotency key" in resumed.output
    [saved] = out.iterdir()
    assert saved.name.startswith(pending.request_id) and str(saved) in resumed.stdout
    assert submits(server) == before
    one = cli("requests", "resume", ambiguous[:10], "--journal", str(journal))
    assert one.exit_code == 1 and "may have been billed" in one.output
    again = cli("requests", "resume", pending.request_id, "--journal", str(journal))  # completed: recorded
    assert again.exit_code == 0 and submits(server) == before
    assert cli("requests", "resume", "--journal", str(journal)).exit_code == 2  # neither ID nor --all

    forgot = cli("requests", "forget", ambiguous, "--journal", str(journal))
    assert forgot.exit_code == 0, forgot.output
    states = [
        e["state"] for e in json.loads(cli("requests", "list", "--journal", str(journal), "--json").stdout)
    ]
    assert states == ["completed", "completed"]
    assert done.seed is not None


def _readme_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", readme, flags=re.S)
    return next(b for b in blocks if "requests resume --all" in b)


def test_readme_generate_survives_a_kill(tmp_path: Path) -> None:
    """The README's lines, as written, but on a free port and with a 2 s job instead of 5 s."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    block = _readme_block().replace("8765", str(port)).replace("--processing-delay 5", "--processing-delay 2")
    stats = f"http://127.0.0.1:{port}/_mock/stats"
    script = (
        "set -eu\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n"
        + block
        + f"\n\"{sys.executable}\" -c \"import httpx; print(httpx.get('{stats}').json()['submits_total'], 'submits')\"\n"
    )
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("1 submits"), done.stdout
    assert "pending" in done.stdout
    [image] = (tmp_path / "out").iterdir()
    assert image.suffix == ".jpg"
    [entry] = Journal(os.environ["KONTEXT_JOURNAL"]).entries()
    assert entry.state == "completed" and entry.files == (str(image.absolute()),)


def test_resume_out_never_overwrites_a_different_file_without_force(
    server: MockServer, tmp_path: Path
) -> None:
    """`requests resume --out` names files as generate does and keeps its rule: the same image again is
    kept; a different file of that name is refused (exit 2, naming it and --force); --force replaces it."""
    journal = tmp_path / "j.sqlite3"
    out = tmp_path / "out"
    first = cli(
        "generate", "a fox", "--base-url", server.base_url, "--out", str(out), "--journal", str(journal)
    )
    assert first.exit_code == 0, first.output
    [entry] = Journal(journal).entries()
    saved = Path(entry.files[0])
    same = cli("requests", "resume", entry.id, "--journal", str(journal), "--out", str(out))
    assert same.exit_code == 0 and str(saved) in same.stdout, same.output  # identical bytes: kept
    saved.write_bytes(b"someone else's file")
    refused = cli("requests", "resume", entry.id, "--journal", str(journal), "--out", str(out))
    assert refused.exit_code == 2, refused.output
    assert f"{saved} exists: not overwritten" in refused.output and "--force" in refused.output
    assert saved.read_bytes() == b"someone else's file"
    forced = cli("requests", "resume", entry.id, "--journal", str(journal), "--out", str(out), "--force")
    assert forced.exit_code == 0, forced.output
    assert saved.read_bytes() != b"someone else's file"
