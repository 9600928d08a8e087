"""The request journal across processes, over a real socket: the crash loop (100 runs, each killed with
SIGKILL at a random moment, then ``requests resume --all``), and 8 processes x 50 subscribes on one
journal. Counted by the mock's own record of what it accepted (``MockState.requests``, ``/_mock/stats``)."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kontext_contract.client import Client, Endpoint, Journal, Provider, canonical_digest
from kontext_contract.mock import MockConfig, MockServer

from ._forker import POLLING, RETRY, prompt_input

FORKER = Path(__file__).with_name("_forker.py")
ROOT = Path(__file__).resolve().parents[2]
#: seconds a mock request stays IN_QUEUE, then IN_PROGRESS: small and fixed, so a run takes ~0.1 s
QUEUE_DELAY, PROCESSING_DELAY = 0.02, 0.03
RUNS, PARALLEL = 100, 4


class Forker:
    """The pre-imported parent of the test's processes (``_forker.py``)."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, str(FORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline()
        assert "ready" in ready, ready

    def batch(self, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"jobs": jobs}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the forker died"
        answer: list[dict[str, Any]] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture
def server() -> Iterator[MockServer]:
    with MockServer(MockConfig(queue_delay=QUEUE_DELAY, processing_delay=PROCESSING_DELAY)) as srv:
        yield srv


@pytest.fixture
def forker() -> Iterator[Forker]:
    f = Forker()
    try:
        yield f
    finally:
        f.close()


def rows(path: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM requests").fetchall()
    finally:
        conn.close()


def submitted_digest(body: bytes) -> str:
    """The canonical digest of what the mock received: the same as the journal's of the validated input."""
    return canonical_digest(json.loads(body))


def test_crash_loop(server: MockServer, forker: Forker, tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    seed = int(os.environ.get("KONTEXT_CRASH_SEED", "17"))
    rng = random.Random(seed)
    # how long a run takes when not killed: kills are drawn from 0 (before the submit) to past its end
    # how long a run takes when not killed (4 at a time, after a first one that warms the mock): kills are
    # drawn from 0 (before the submit) to past the end of a run
    probe_journal = str(tmp_path / "probe.sqlite3")
    forker.batch([{"job": {"base": server.base_url, "journal": probe_journal, "prompt": "warm"}}])
    probe = forker.batch(
        [
            {"job": {"base": server.base_url, "journal": probe_journal, "prompt": f"probe {i}"}}
            for i in range(PARALLEL)
        ]
    )
    assert [p["status"] for p in probe] == [0] * PARALLEL, probe
    probe_ids = set(server.state.requests)
    span = max(p["seconds"] for p in probe) * 1.2
    prompts = [f"crash run {i}" for i in range(RUNS)]
    started = time.monotonic()
    outcomes: list[dict[str, Any]] = []
    for first in range(0, RUNS, PARALLEL):
        jobs = [
            {
                "job": {"base": server.base_url, "journal": str(journal), "prompt": prompt},
                "kill_after": rng.uniform(0.0, span),
            }
            for prompt in prompts[first : first + PARALLEL]
        ]
        outcomes += forker.batch(jobs)
    loop_seconds = time.monotonic() - started
    assert all(o["killed"] or o["status"] == 0 for o in outcomes), outcomes

    mock = server.state
    accepted = {rid: req for rid, req in mock.requests.items()}
    submits_before = mock.stats()["submits_total"]
    assert submits_before == len(accepted)
    with Journal(journal, read_only=True) as j:
        states_before = Counter(e.state for e in j.entries())

    resumed = subprocess.run(
        [
            str(Path(sys.executable).with_name("kontext-contract")),
            "requests",
            "resume",
            "--all",
            "--journal",
            str(journal),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "FAL_KEY": "mock-key-id:mock-key-secret", "KONTEXT_JOURNAL": str(journal)},
        cwd=tmp_path,
        timeout=120,
    )
    print(resumed.stdout[-2000:], resumed.stderr[-2000:])
    assert resumed.returncode in (0, 1), resumed.stderr

    after = mock.stats()["submits_total"]
    assert after == submits_before, "resume submitted again"
    with Journal(journal, read_only=True) as j:
        entries = {e.id: e for e in j.entries()}
    by_request = {e.request_id: e for e in entries.values() if e.request_id}
    assert len(by_request) == sum(1 for e in entries.values() if e.request_id), "duplicate request ids"
    ambiguous = {e.input_digest: e for e in entries.values() if e.state == "ambiguous"}
    matched_ambiguous = 0
    for rid, req in accepted.items():
        if rid in probe_ids:
            continue  # the probe run, in its own journal
        if rid in by_request:
            assert by_request[rid].state == "completed", by_request[rid]
        else:
            # accepted, but its answer was never read: the kill fell inside the submit's round trip
            assert submitted_digest(req.body) in ambiguous, f"request {rid} accepted by the mock is lost"
            matched_ambiguous += 1
    states = Counter(e.state for e in entries.values())
    assert set(states) <= {"completed", "ambiguous"}, states
    # every run that wrote an intent has its row: one row per prompt at most, none without a prompt
    digests = Counter(e.input_digest for e in entries.values())
    assert max(digests.values()) == 1
    run_digests = {canonical_digest(prompt_input(p)) for p in prompts}
    assert set(digests) <= run_digests

    # reuse: the completed ones come from the journal, not from a new submit
    with Client(Provider.mock(server.base_url), journal=journal, polling=POLLING, retry=RETRY) as client:
        for prompt in prompts[:20]:
            digest = canonical_digest(prompt_input(prompt))
            entry = next((e for e in entries.values() if e.input_digest == digest), None)
            if entry is not None and entry.state == "completed":
                out = client.subscribe(Endpoint.KONTEXT_TEXT_TO_IMAGE, prompt_input(prompt), reuse=True)
                assert out.to_dict() == entry.result
    assert mock.stats()["submits_total"] == submits_before, "reuse submitted again"

    killed = sum(o["killed"] for o in outcomes)
    print(
        f"crash loop (seed {seed}): {RUNS} runs in {loop_seconds:.1f} s (kills drawn in 0-{span:.3f} s), "
        f"{killed} killed; journal before resume "
        f"{dict(states_before)}; after: {dict(states)} ({len(entries)} rows); mock accepted "
        f"{len(accepted) - len(probe_ids & set(accepted))} submits, {len(by_request)} completed in the journal, "
        f"{matched_ambiguous} accepted with the answer unread (ambiguous), "
        f"{len(ambiguous) - matched_ambiguous} ambiguous never reached the mock; "
        f"{RUNS - len(entries)} killed before the intent; submits by resume and reuse: "
        f"{mock.stats()['submits_total'] - submits_before}"
    )


def test_eight_processes_share_one_journal(server: MockServer, forker: Forker, tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    jobs = [
        {
            "job": {
                "base": server.base_url,
                "journal": str(journal),
                "prompt": f"process {n}",
                "count": 50,
                "kind": "async" if n % 2 else "sync",
                "threads": 5,
            },
            "kill_after": 120,
        }
        for n in range(8)
    ]
    started = time.monotonic()
    results = forker.batch(jobs)
    print(f"8 processes x 50 subscribes on one journal: {time.monotonic() - started:.1f} s")
    assert [r["status"] for r in results] == [0] * 8, results
    found = rows(journal)
    assert len(found) == 400
    assert len({row["id"] for row in found}) == 400
    assert len({row["request_id"] for row in found}) == 400
    assert len({row["input_digest"] for row in found}) == 400
    assert {row["state"] for row in found} == {"completed"}
    assert {row["request_id"] for row in found} == set(server.state.requests)
    assert server.state.stats()["submits_total"] == 400
