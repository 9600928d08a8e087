"""Benchmarks of kontext_contract.client against the mock over loopback, side by side in one run.

1. Per-request overhead: ``Client.status`` / ``Client.result`` (typed models, retries, key checks)
   against raw ``httpx.Client.get(...).json()`` on the same mock URLs. Goal: within 1.2x.
2. Completion to result in hand: how long after the job's own duration (queue + processing time of
   the mock) ``subscribe`` returns, ours (status stream) vs ``fal_client.subscribe`` (polls every
   0.1 s). Goal: ours at least 5x faster.
3. 1,000 concurrent async subscribes: wall time and peak RSS of the client process (a fresh child
   process, so the number is the client's alone). Goal: under 200 MB. Then the same with a request
   journal (docs/client.md "When the process dies"), side by side.
4. The request journal's cost: ``subscribe`` with and without ``journal=`` (sync and async, interleaved
   rounds, medians). Goal: the journal adds at most 10% or 2 ms per subscribe, whichever is larger.

The mock runs in its own process (uvicorn) on 127.0.0.1 with a free port; every
loop is bounded. Run: ``make bench`` or ``.venv/bin/python bench/bench_client.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from kontext_contract.client import AsyncClient, Client, Endpoint, Provider

T2I = Endpoint.KONTEXT_TEXT_TO_IMAGE
KEY = "mock-key-id:mock-key-secret"


def serve_mock(port: int, processing_delay: float) -> None:
    """The mock under uvicorn on 127.0.0.1:``port`` (child process). uvicorn binds the socket itself, so
    asyncio sets TCP_NODELAY on each connection (a pre-bound ``socket.socket(AF_INET, SOCK_STREAM)``
    has proto 0 and does not get it: every keep-alive answer then waits ~40 ms for a delayed ACK)."""
    import uvicorn

    from kontext_contract.mock import MockConfig, create_app

    app = create_app(MockConfig(processing_delay=processing_delay))
    uvicorn.run(
        app, host="127.0.0.1", port=port, http="h11", loop="asyncio", access_log=False, log_level="warning"
    )


@contextmanager
def mock_server(processing_delay: float = 0.0) -> Iterator[str]:
    """The mock in a child process on a free loopback port; yields its base URL."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, __file__, "--serve-mock", str(port), "--delay", str(processing_delay)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):  # wait (at most ~20 s) until it accepts connections
            try:
                httpx.get(base + "/_mock/stats", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if proc.poll() is not None:
                    raise RuntimeError("the mock did not start") from None
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def per_call(fn: Callable[[], Any], n: int) -> tuple[float, float]:
    """Seconds per call of ``fn``: (wall time, CPU time of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        fn()
    return (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n


def bench_overhead(n: int, rounds: int) -> list[tuple[str, float, float, float, float]]:
    """Per call: (name, our wall, raw wall, our client CPU, raw client CPU), medians over rounds. The CPU
    time of the client process is the client's own cost, unaffected by the mock and by other load."""
    rows = []
    with mock_server() as base, Client(Provider.mock(base)) as ours, httpx.Client() as raw:
        handle = ours.submit(T2I, {"prompt": "bench"})
        ours.subscribe(T2I, {"prompt": "warm"})
        handle.get()
        rid = handle.request_id
        headers = {"Authorization": f"Key {KEY}"}
        status_url, result_url = handle.status_url, handle.response_url
        cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
            (
                "status",
                lambda: ours.status(T2I, rid),
                lambda: raw.get(status_url, params={"logs": "0"}, headers=headers).json(),
            ),
            ("result", lambda: ours.result(T2I, rid), lambda: raw.get(result_url, headers=headers).json()),
        ]
        for name, mine, theirs in cases:
            per_call(mine, 50), per_call(theirs, 50)  # warm up both
            ours_t: list[tuple[float, float]] = []
            raw_t: list[tuple[float, float]] = []
            for index in range(rounds):  # short interleaved rounds, alternating who goes first: both
                order = [(ours_t, mine), (raw_t, theirs)]  # see the same machine noise; medians
                for times, fn in order if index % 2 else order[::-1]:
                    times.append(per_call(fn, n))
            rows.append(
                (
                    name,
                    statistics.median(t[0] for t in ours_t),
                    statistics.median(t[0] for t in raw_t),
                    statistics.median(t[1] for t in ours_t),
                    statistics.median(t[1] for t in raw_t),
                )
            )
    return rows


def bench_completion(runs: int, delays: tuple[float, ...]) -> tuple[float, float]:
    """Median time past the job's own duration until ``subscribe`` returns, ours and fal-client's.
    Several job durations spread the completion over fal-client's 0.1 s polling phase (a duration
    that is a multiple of 0.1 s would flatter polling)."""
    import fal_client
    import fal_client.client as fal_module

    extra_ours, extra_fal = [], []
    for delay in delays:
        with mock_server(delay) as base:
            fal_module.QUEUE_URL_FORMAT = (
                base + "/"
            )  # fal-client hard-codes https hosts at import (docs/sources.md §3.6)
            fal_module.RUN_URL_FORMAT = base + "/run/"
            theirs = fal_client.SyncClient(key=KEY)
            with Client(Provider.mock(base)) as ours:
                ours.subscribe(T2I, {"prompt": "warm"})
                theirs.subscribe(str(T2I), {"prompt": "warm"})
                for i in range(runs):
                    started = time.perf_counter()
                    ours.subscribe(T2I, {"prompt": f"o{i}"})
                    extra_ours.append(time.perf_counter() - started - delay)
                    started = time.perf_counter()
                    theirs.subscribe(str(T2I), {"prompt": f"f{i}"})
                    extra_fal.append(time.perf_counter() - started - delay)
    return statistics.median(extra_ours), statistics.median(extra_fal)


async def _concurrent(base: str, count: int, journal: str | None = None) -> dict[str, Any]:
    async with AsyncClient(Provider.mock(base), journal=journal) as client:  # default limits: 100 connections
        cpu = time.process_time()
        started = time.perf_counter()
        outs = await asyncio.gather(
            *(client.subscribe(T2I, {"prompt": f"p{i}", "seed": i}) for i in range(count))
        )
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
    assert [o.seed for o in outs] == list(range(count))
    stats = httpx.get(base + "/_mock/stats").json()
    completed = None
    if journal is not None:
        from kontext_contract.client import Journal

        with Journal(journal, read_only=True) as j:
            completed = len(j.entries(["completed"]))
    return {
        "wall": wall,
        "cpu": cpu,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "submits": stats["submits_total"],
        "journaled": completed,
    }


def bench_concurrent(count: int, delay: float, journal: str | None = None) -> dict[str, Any]:
    with mock_server(delay) as base:
        command = [sys.executable, __file__, "--child-concurrent", base, "--count", str(count)]
        child = subprocess.run(
            command + (["--journal", journal] if journal else []),
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def bench_journal(
    n: int, rounds: int, folder: str
) -> dict[str, tuple[tuple[float, float], tuple[float, float]]]:
    """Per subscribe, without and with a journal: ((wall, client CPU), (wall, client CPU)) seconds,
    medians of interleaved rounds (the first round of each warms up), sync and async. The client CPU
    includes the journal's thread."""
    out: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {}
    with mock_server() as base:
        counter = iter(range(10**9))
        with (
            Client(Provider.mock(base)) as plain,
            Client(Provider.mock(base), journal=f"{folder}/sync.sqlite3") as kept,
        ):

            def sync_call(client: Client) -> Callable[[], Any]:
                return lambda: client.subscribe(T2I, {"prompt": f"s{next(counter)}"})

            out["sync"] = _interleaved(sync_call(plain), sync_call(kept), n, rounds)

        async def run_async() -> tuple[tuple[float, float], tuple[float, float]]:
            journal = f"{folder}/async.sqlite3"
            async with (
                AsyncClient(Provider.mock(base)) as plain,
                AsyncClient(Provider.mock(base), journal=journal) as kept,
            ):
                times: dict[int, list[tuple[float, float]]] = {0: [], 1: []}
                for index in range(rounds + 1):
                    order = [(0, plain), (1, kept)]
                    for which, client in order if index % 2 else order[::-1]:
                        wall, cpu = time.perf_counter(), time.process_time()
                        for _ in range(n):
                            await client.subscribe(T2I, {"prompt": f"a{next(counter)}"})
                        if index:
                            times[which].append(
                                ((time.perf_counter() - wall) / n, (time.process_time() - cpu) / n)
                            )
                return _medians(times[0]), _medians(times[1])

        out["async"] = asyncio.run(run_async())
    return out


def _medians(times: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def _interleaved(
    first: Callable[[], Any], second: Callable[[], Any], n: int, rounds: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    per_call(first, 10), per_call(second, 10)
    a: list[tuple[float, float]] = []
    b: list[tuple[float, float]] = []
    for index in range(rounds):
        order = [(a, first), (b, second)]
        for times, fn in order if index % 2 else order[::-1]:
            times.append(per_call(fn, n))
    return _medians(a), _medians(b)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    parser.add_argument("--child-concurrent", metavar="BASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--serve-mock", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--delay", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=1000, help="concurrent subscribes (default 1000)")
    parser.add_argument("--journal", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_mock:
        serve_mock(args.serve_mock, args.delay)
        return
    if args.child_concurrent:
        print(json.dumps(asyncio.run(_concurrent(args.child_concurrent, args.count, args.journal))))
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))  # children inherit it
    n, rounds, runs = (100, 6, 3) if args.quick else (200, 30, 8)
    print(f"kontext_contract.client benchmarks (loopback, mock in its own process, {os.cpu_count()} cores)")

    print(
        f"\n1. per-request cost, medians of {rounds} interleaved rounds of {n} calls (goal: within 1.2x of raw httpx)"
    )
    for name, ours_w, raw_w, ours_c, raw_c in bench_overhead(n, rounds):
        ratio = ours_w / raw_w
        print(
            f"   {name:<7} wall: ours {ours_w * 1e6:6.0f} us, raw httpx {raw_w * 1e6:6.0f} us, {ratio:4.2f}x "
            f"[{'ok' if ratio <= 1.2 else 'MISSED'}]   client CPU: ours {ours_c * 1e6:4.0f} us, raw "
            f"{raw_c * 1e6:4.0f} us, {ours_c / raw_c:4.2f}x"
        )

    delays = (0.305, 0.33, 0.355, 0.38)
    ours_extra, fal_extra = bench_completion(runs, delays)
    speedup = fal_extra / max(ours_extra, 1e-6)
    print(
        f"\n2. completion -> result in hand: median time past the job's duration, {runs * len(delays)} "
        f"subscribes each, jobs of {delays[0]}-{delays[-1]} s (goal: >= 5x)"
    )
    print(
        f"   ours (status stream) {ours_extra * 1000:6.1f} ms   fal_client.subscribe (polling) "
        f"{fal_extra * 1000:6.1f} ms   {speedup:4.1f}x faster  [{'ok' if speedup >= 5 else 'MISSED'}]"
    )

    count = 200 if args.quick else args.count
    result = bench_concurrent(count, 0.5)
    print(f"\n3. {count} concurrent async subscribes of a 0.5 s job (goal: peak RSS < 200 MB)")
    print(
        f"   wall {result['wall']:5.2f} s (client CPU {result['cpu']:4.2f} s; the rest is the mock)   peak RSS of the client process {result['rss_mb']:5.1f} MB   "
        f"submits seen by the mock {result['submits']}  [{'ok' if result['rss_mb'] < 200 else 'MISSED'}]"
    )
    with tempfile.TemporaryDirectory(prefix="bench-journal-") as folder:
        kept = bench_concurrent(count, 0.5, f"{folder}/concurrent.sqlite3")
        print(
            f"   with a journal: wall {kept['wall']:5.2f} s (client CPU {kept['cpu']:4.2f} s), {kept['wall'] / result['wall']:4.2f}x "
            f"the wall without; peak RSS {kept['rss_mb']:5.1f} MB; {kept['journaled']} entries completed in the journal  "
            f"[{'ok' if kept['journaled'] == count and kept['rss_mb'] < 200 else 'MISSED'}]"
        )

        jn, jrounds = (20, 4) if args.quick else (50, 12)
        print(
            f"\n4. subscribe with and without a journal, medians of {jrounds} interleaved rounds of {jn} "
            "(goal: the journal adds <= 10% or <= 2 ms, whichever is larger)"
        )
        for kind, ((without, cpu0), (with_, cpu1)) in bench_journal(jn, jrounds, folder).items():
            added = with_ - without
            allowed = max(0.10 * without, 0.002)
            print(
                f"   {kind:<5} without {without * 1000:5.2f} ms, with {with_ * 1000:5.2f} ms per subscribe: "
                f"{with_ / without:4.2f}x, +{added * 1000:5.2f} ms  [{'ok' if added <= allowed else 'MISSED'}]   "
                f"client CPU {cpu0 * 1000:4.2f} -> {cpu1 * 1000:4.2f} ms"
            )


if __name__ == "__main__":
    main()
