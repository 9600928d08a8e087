"""The command line of record, replay, the HTML report and any relay: ``check --provider relay --name NAME
--base-url ... --auth bearer --key-env VAR --record ... --report-html ...``, then ``check --replay``; and
``matrix --recordings DIR --report-html``. No key in any file written, under a canary echo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from kontext_contract.cli import main

from ._relays import CANARY, CanaryEcho
from .test_record_replay import _server


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_an_undocumented_relay_recorded_and_replayed(tmp_path: Path) -> None:
    out = {k: tmp_path / f"r.{k}" for k in ("har", "json", "md", "xml", "html")}
    with _server("relay-a", CanaryEcho, key=CANARY) as server:
        result = invoke(
            "check",
            "--provider", "relay",
            "--name", "acme",
            "--base-url", server.base_url,
            "--auth", "bearer",
            "--key-env", "ACME_KEY",
            "--poll-interval", "0.001",
            "--no-progress",
            "--record", str(out["har"]),
            "--report-json", str(out["json"]),
            "--report-md", str(out["md"]),
            "--junit", str(out["xml"]),
            "--report-html", str(out["html"]),
            env={"ACME_KEY": CANARY},
        )  # fmt: skip
    assert result.exit_code == 1, result.output  # held to fal's document: foreign queue URLs FAIL
    first = result.output.splitlines()[0]
    assert first.startswith(f"checking acme at {server.base_url}:"), first
    assert CANARY not in result.output
    for path in out.values():
        text = path.read_text(encoding="utf-8")
        assert CANARY not in text, path.name
    assert out["md"].read_text().startswith("# Provider checks: acme\n")
    assert 'name="kontext-contract check acme"' in out["xml"].read_text()
    assert json.loads(out["json"].read_text())["provider"] == "acme"
    assert '<span id="provider">acme</span>' in out["html"].read_text()

    replayed = invoke("check", "--replay", str(out["har"]), "--report-html", str(tmp_path / "replay.html"))
    assert replayed.exit_code == 1, replayed.output
    assert replayed.output.splitlines()[0].startswith(f"replaying acme at {server.base_url} from ")
    assert "the contract is the recording's" in replayed.output
    live_lines = [ln for ln in result.output.splitlines() if ln.startswith(("PASS ", "FAIL ", "SKIP "))]
    replay_lines = [ln for ln in replayed.output.splitlines() if ln.startswith(("PASS ", "FAIL ", "SKIP "))]
    assert [ln.split(":", 1)[0] for ln in replay_lines] == [ln.split(":", 1)[0] for ln in live_lines]
    turned = invoke("check", "--replay", str(out["har"]), "--fail-on-turn")
    assert turned.exit_code == 0, turned.output  # nothing turned: the contract is the recording's


def test_relay_needs_its_name_base_url_and_key_variable() -> None:
    result = invoke("check", "--provider", "relay", "--base-url", "https://relay.example")
    assert result.exit_code == 2 and "needs --name, --key-env" in result.output


def test_replay_refuses_options_that_send(tmp_path: Path) -> None:
    har = tmp_path / "x.har"
    har.write_text("{}", encoding="utf-8")
    for extra in (["--base-url", "https://x.example"], ["--record", str(tmp_path / "y.har")], ["--dry-run"]):
        result = invoke("check", "--replay", str(har), *extra)
        assert result.exit_code == 2 and "cannot be combined" in result.output, extra
    bad = invoke("check", "--replay", str(har))
    assert bad.exit_code == 2 and "not a HAR file" in bad.output and str(har) in bad.output
    assert invoke("check", "--fail-on-turn").exit_code == 2


def test_the_matrix_from_committed_recordings(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    md, html = tmp_path / "m.md", tmp_path / "m.html"
    result = invoke(
        "matrix",
        "--recordings",
        str(root / "recordings" / "mock"),
        "--report-md",
        str(md),
        "--report-html",
        str(html),
    )
    assert result.exit_code == 0, result.output
    text = md.read_text(encoding="utf-8")
    assert "replays the recordings in" in text
    committed = (root / "docs" / "compatibility.md").read_text(encoding="utf-8")
    # the recordings of the mock's profiles give the committed matrix's verdicts
    table = [ln for ln in committed.splitlines() if ln.startswith("| [`")]
    replayed = [ln for ln in text.splitlines() if ln.startswith("| [`")]
    order = ["fal", "relay-a", "chainhub", "relay-b"]
    header = next(ln for ln in text.splitlines() if ln.startswith("| check |"))
    columns = [c.strip(" `") for c in header.split("|")[2:-1]]
    for mine, theirs in zip(replayed, table, strict=True):
        cells = dict(zip(columns, [c.strip() for c in mine.split("|")[2:-1]], strict=True))
        assert [cells[p] for p in order] == [c.strip() for c in theirs.split("|")[2:-1]], mine
    assert 'data-verdict="compatible"' in html.read_text(encoding="utf-8")


def test_generate_names_an_undocumented_relay(tmp_path: Path) -> None:
    key = "acme-generate-key-0123456789"
    with _server("relay-a", key=key) as server:
        result = CliRunner().invoke(
            main,
            ["generate", "a red fox", "--provider", "relay", "--name", "acme", "--auth", "bearer",
             "--base-url", server.base_url, "--key-env", "ACME_KEY", "--out", str(tmp_path), "--no-logs"],
            env={"ACME_KEY": key},
            catch_exceptions=False,
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"on acme ({server.base_url})" in result.output
    assert key not in result.output
