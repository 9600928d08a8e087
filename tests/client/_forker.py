"""A pre-imported parent that forks the processes of the journal's crash and concurrency tests
(tests/client/test_journal_processes.py). Made for those tests.

Importing the client and loading the contract take about a second of CPU; a hundred fresh interpreters
would spend the test's time there. This process imports once, then forks each run: every run is still
its own process, with its own client, connections and journal connection (all made after the fork),
killed with SIGKILL like any other.

Protocol, one JSON object per line on stdin, one answer per line on stdout:
    {"jobs": [{"job": {...}, "kill_after": SECONDS | null}, ...]}
    -> [{"pid": N, "killed": bool, "status": EXIT_STATUS | null, "seconds": S}, ...]
Each job is forked at once; each child is killed ``kill_after`` seconds after its fork unless it has
exited by then.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kontext_contract.client import AsyncClient, Client, Endpoint, Polling, Provider, RetryPolicy, catalog

POLLING = Polling(interval=0.005, max_interval=0.02)
RETRY = RetryPolicy(base_delay=0.01, max_delay=0.05)


def prompt_input(prompt: str) -> dict[str, Any]:
    return {"prompt": prompt}


def run_job(job: dict[str, Any]) -> None:
    """What a child does: ``subscribe`` one prompt, or ``many``: ``count`` subscribes (sync in threads, or
    async, gathered) on one client."""
    provider = Provider.mock(job["base"])
    if job.get("kind", "sync") == "async":

        async def main() -> None:
            async with AsyncClient(provider, journal=job["journal"], polling=POLLING, retry=RETRY) as client:
                await asyncio.gather(
                    *(
                        client.subscribe(Endpoint.KONTEXT_TEXT_TO_IMAGE, prompt_input(f"{job['prompt']}-{i}"))
                        for i in range(job.get("count", 1))
                    )
                )

        asyncio.run(main())
        return
    with Client(provider, journal=job["journal"], polling=POLLING, retry=RETRY) as client:
        count = job.get("count", 1)
        if count == 1 and not job.get("threads"):
            client.subscribe(Endpoint.KONTEXT_TEXT_TO_IMAGE, prompt_input(job["prompt"]))
            return
        with ThreadPoolExecutor(job.get("threads", 4)) as pool:
            list(
                pool.map(
                    lambda i: client.subscribe(
                        Endpoint.KONTEXT_TEXT_TO_IMAGE, prompt_input(f"{job['prompt']}-{i}")
                    ),
                    range(count),
                )
            )


def fork(job: dict[str, Any]) -> int:
    pid = os.fork()
    if pid == 0:  # the child: never return into the parent's loop
        code = 0
        try:
            run_job(job)
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            sys.stderr.flush()
            os._exit(code)
    return pid


def batch(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    started = time.monotonic()
    pids = [fork(item["job"]) for item in jobs]
    deadlines = {
        pid: None if item.get("kill_after") is None else started + float(item["kill_after"])
        for pid, item in zip(pids, jobs, strict=True)
    }
    results: dict[int, dict[str, Any]] = {}
    while len(results) < len(pids):
        now = time.monotonic()
        for pid in pids:
            if pid in results:
                continue
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                results[pid] = {
                    "pid": pid,
                    "killed": os.WIFSIGNALED(status),
                    "status": os.waitstatus_to_exitcode(status),
                    "seconds": now - started,
                }
                continue
            deadline = deadlines[pid]
            if deadline is not None and now >= deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                results[pid] = {"pid": pid, "killed": True, "status": -9, "seconds": now - started}
        time.sleep(0.0005)
    return [results[pid] for pid in pids]


def warm() -> None:
    """What every child would do first, done once before any fork: the contract loaded, the input
    validator compiled, the SSL context of httpx made (its certificates read)."""
    with Client(Provider.mock("http://127.0.0.1:9")) as client:
        core = client._core
        core.prepare(core.info(Endpoint.KONTEXT_TEXT_TO_IMAGE), prompt_input("warm"))


def main() -> None:
    catalog()
    warm()
    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        print(json.dumps(batch(json.loads(line)["jobs"])), flush=True)


if __name__ == "__main__":
    main()
