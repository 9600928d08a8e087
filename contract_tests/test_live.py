"""Live mode (``make contract-live PROVIDER=...``): skipped unless KONTEXT_LIVE=1 and the provider's key are
set; and the tests that keep it safe, which run with the offline suite: the skip reasons, the dry run, the
paid-call cap, and a canary key that must never reach a report (the mock on loopback stands in for fal)."""

from __future__ import annotations

import io
import json
import os
import secrets as pysecrets
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from kontext_contract.contract import ContractModel
from kontext_contract.mock import MockConfig, MockServer

from ._harness import ROOT
from ._live import LiveSettings, plan, run_live, skip_reason


@pytest.mark.live
def test_live_provider(capsys: pytest.CaptureFixture[str]) -> None:
    settings = LiveSettings.from_env()
    reason = skip_reason(settings)
    if reason is not None:
        if settings.required:  # a nightly job whose secret expired must not stay green
            pytest.exit(
                f"error: KONTEXT_LIVE=1 but {reason}; KONTEXT_LIVE=optional skips instead", returncode=2
            )
        pytest.skip(reason)
    out = io.StringIO()
    try:
        sent = run_live(settings, out)
    finally:
        with capsys.disabled():
            print("\n" + out.getvalue())
    assert sent <= settings.max_paid


def test_live_mode_required_or_optional() -> None:
    """KONTEXT_LIVE=1 (make contract-live) must go live; KONTEXT_LIVE=optional may skip."""
    required = LiveSettings.from_env({"KONTEXT_LIVE": "1"})
    optional = LiveSettings.from_env({"KONTEXT_LIVE": "optional"})
    assert required.enabled and required.required
    assert optional.enabled and not optional.required
    assert not LiveSettings.from_env({}).required
    assert "FAL_KEY" in str(skip_reason(optional))


def test_live_mode_skips_with_a_reason() -> None:
    assert "KONTEXT_LIVE=1" in str(skip_reason(LiveSettings.from_env({})))
    no_key = LiveSettings.from_env({"KONTEXT_LIVE": "1", "KONTEXT_LIVE_PROVIDER": "fal"})
    assert "FAL_KEY" in str(skip_reason(no_key))
    relay = LiveSettings.from_env(
        {"KONTEXT_LIVE": "1", "KONTEXT_LIVE_PROVIDER": "relay-a", "RELAY_A_KEY": "k" * 8}
    )
    assert "KONTEXT_LIVE_BASE_URL" in str(skip_reason(relay))
    chainhub = LiveSettings.from_env(
        {"KONTEXT_LIVE": "1", "KONTEXT_LIVE_PROVIDER": "chainhub", "CHAINHUB_KEY": "k" * 8}
    )
    assert skip_reason(chainhub) is None  # its document names its host


def test_plan_is_capped_cheap_and_positive() -> None:
    env = {"KONTEXT_LIVE": "1", "FAL_KEY": "id:secret", "KONTEXT_LIVE_MAX_SUBMITS": "2"}
    calls = plan(LiveSettings.from_env(env))
    model = ContractModel.load("fal")
    queue, run = model.provider.queue_base_url, model.provider.run_base_url
    assert len(calls) == 2
    for call in calls:
        assert call.body.get("num_images") == 1
        assert call.url.startswith(f"{queue}/")  # submits first
    everything = plan(LiveSettings.from_env({**env, "KONTEXT_LIVE_MAX_SUBMITS": "1000"}))
    runs = [e for e in model.endpoints.values() if e.run is not None]
    # a submit per endpoint and a run per endpoint that has one: each paid, each planned once
    assert len(everything) == len(model.endpoints) + len(runs)
    assert {call.url for call in everything} >= {f"{run}/{model.run_path(e.endpoint_id)}" for e in runs}


def test_dry_run_prints_the_plan_and_sends_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the dry run sent a request")

    monkeypatch.setattr(requests.Session, "send", refuse)
    canary = "canary-" + pysecrets.token_hex(8)
    env = {
        "KONTEXT_LIVE": "1",
        "KONTEXT_LIVE_DRY_RUN": "1",
        "FAL_KEY": canary,
        "KONTEXT_LIVE_REPORTS": str(tmp_path),
    }
    out = io.StringIO()
    assert run_live(LiveSettings.from_env(env), out) == 0
    text = out.getvalue()
    assert "3 paid call(s), cap 3" in text and "nothing was sent" in text
    assert text.count("POST https://queue.fal.run/fal-ai/flux-pro/kontext") >= 1
    assert canary not in text and "[REDACTED]" in text
    assert canary not in (tmp_path / "contract-live-plan.txt").read_text()


def _live_subprocess(tmp_path: Path, server: MockServer, canary: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "KONTEXT_LIVE": "1",
        "KONTEXT_LIVE_PROVIDER": "fal",
        "FAL_KEY": canary,
        "KONTEXT_LIVE_BASE_URL": server.base_url,
        "KONTEXT_LIVE_RUN_BASE_URL": server.base_url + "/run",
        "KONTEXT_LIVE_MAX_SUBMITS": "2",
        "KONTEXT_LIVE_REPORTS": str(tmp_path),
        "KONTEXT_CONTRACT_SUMMARY": str(tmp_path / "summary.md"),
        "HYPOTHESIS_PROFILE": "live",
    }
    env.pop("KONTEXT_LIVE_DRY_RUN", None)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "contract_tests/test_live.py",
        "-m",
        "live",
        "-p",
        "no:cacheprovider",
    ]
    command += ["-q", "-s", f"--junitxml={tmp_path / 'junit.xml'}"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("accepted", [True, False], ids=["provider-accepts", "provider-refuses"])
def test_canary_key_never_reaches_a_report(tmp_path: Path, accepted: bool) -> None:
    """The live mode against the mock on loopback standing in for fal, with a canary key: the key must not
    appear in the output, the JUnit XML, the summary, the plan or the cassette, whether the run passes or
    fails (the stand-in accepting another key makes every paid call fail with 401)."""
    canary = f"canary-{pysecrets.token_hex(6)}:{pysecrets.token_hex(10)}"
    key = canary if accepted else "other-id:other-secret"
    with MockServer(MockConfig(provider="fal", key=key, deterministic=True, queue_delay=0.1)) as server:
        code, output = _live_subprocess(tmp_path, server, canary)
        stats = requests.get(server.base_url + "/_mock/stats", timeout=10).json()
    assert (code == 0) == accepted, output[-3000:]
    assert stats["submits_total"] == (2 if accepted else 0), stats  # the cap; a refused key runs nothing
    reports = [tmp_path / name for name in ("junit.xml", "summary.md", "contract-live-plan.txt")]
    reports += [tmp_path / "contract-live-cassette.json"]
    for path in reports:
        assert path.is_file(), path
        assert canary not in path.read_text(encoding="utf-8"), f"the key leaked into {path.name}"
    assert canary not in output
    cassette = json.loads((tmp_path / "contract-live-cassette.json").read_text(encoding="utf-8"))
    assert cassette and all("[REDACTED]" in c["request"]["headers"]["Authorization"] for c in cassette)
