"""Benchmark of the stateful mock (issue 3), standalone: ``.venv/bin/python bench/bench_mock.py``.

Side by side in one run, on the same contract (openapi/providers/fal.openapi.yaml), requests per second
and p50/p99 latency of submit + status against:

  (a) our mock (``kontext-contract mock``, no access log),
  (b) Stoplight Prism (``@stoplight/prism-cli``, installed with npm into bench/.cache/prism, git-ignored),
  (c) a bare Starlette endpoint returning a constant, served by the same uvicorn settings (the ceiling).

Then 100,000 submitted requests against a fresh mock and its peak RSS (VmHWM).

Each server runs in its own process; the load comes from this process through a minimal asyncio
HTTP/1.1 keep-alive client (so the client's own cost stays small). Loopback only, bounded in count and
time. Goals (issue 3): mock >= 3x Prism, >= 0.5x the ceiling; 100,000 requests under 300 MB RSS.

Options: ``--duration S`` (per target and round, default 4), ``--rounds N`` (mock and ceiling alternate,
the median round counts; default 3), ``--connections N`` (default 8), ``--requests N`` (memory run,
default 100000), ``--no-prism``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kontext_contract.contract import ContractModel

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache" / "prism"
PRISM_BIN = CACHE / "node_modules" / ".bin" / "prism"
PRISM_PACKAGE = "@stoplight/prism-cli@5"
DOCUMENT = ROOT / "openapi" / "providers" / "fal.openapi.yaml"
ENDPOINT = "fal-ai/flux-pro/kontext/max/multi"
KEY = "mock-key-id:mock-key-secret"
BODY = json.dumps({"prompt": "a red fox in the snow", "image_urls": ["https://example.com/fox.png"]}).encode()
MODEL = ContractModel.load("fal")

CEILING = r"""
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
U = "http://127.0.0.1/fal-ai/flux-pro/requests/c0nst"
SUBMIT = {"status": "IN_QUEUE", "request_id": "c0nst", "response_url": U, "status_url": U + "/status",
          "cancel_url": U + "/cancel", "queue_position": 0}
async def endpoint(request):
    await request.body()
    return JSONResponse(SUBMIT)
app = Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST", "PUT"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), http="auto", loop="auto", ws="none",
            access_log=False, log_level="warning", server_header=False)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- a minimal HTTP/1.1 keep-alive client -----------------------------------------------------------


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
        self.reader, self.writer, self.port = reader, writer, port

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, port)

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAuthorization: Key {KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        length, chunked = None, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readline()).strip().split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            return status, b"".join(parts)
        return status, await self.reader.readexactly(length or 0)

    def close(self) -> None:
        self.writer.close()


@dataclass
class Result:
    name: str
    pairs: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rps(self) -> float:
        return 2 * self.pairs / self.seconds

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def submit_and_status(conn: Connection) -> bool:
    status, body = await conn.request("POST", f"/{ENDPOINT}", BODY)
    if status != 200:
        return False
    # the contract's status path for the request (Prism answers examples, not URLs to follow)
    request_id = str(json.loads(body).get("request_id", "x"))
    status, _ = await conn.request("GET", MODEL.request_paths(ENDPOINT, request_id)["status_url"])
    return status in (200, 202)


async def load(name: str, port: int, duration: float, connections: int, warmup: float = 1.0) -> Result:
    latencies: list[float] = []
    counts = {"pairs": 0, "errors": 0}
    start_at = time.perf_counter() + warmup
    stop_at = start_at + duration

    async def worker() -> None:
        conn = await Connection.open(port)
        try:
            while True:
                t0 = time.perf_counter()
                if t0 >= stop_at:
                    return
                ok = await submit_and_status(conn)
                t1 = time.perf_counter()
                if t0 >= start_at:
                    if ok:
                        counts["pairs"] += 1
                        latencies.append(t1 - t0)
                    else:
                        counts["errors"] += 1
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return Result(name, counts["pairs"], duration, latencies, counts["errors"])


async def submit_many(port: int, total: int, connections: int, limit_seconds: float) -> tuple[int, float]:
    remaining = [total]
    done = [0]
    deadline = time.monotonic() + limit_seconds

    async def worker() -> None:
        conn = await Connection.open(port)
        try:
            while remaining[0] > 0 and time.monotonic() < deadline:
                remaining[0] -= 1
                status, _ = await conn.request("POST", f"/{ENDPOINT}", BODY)
                if status == 200:
                    done[0] += 1
        finally:
            conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return done[0], time.perf_counter() - t0


def peak_rss_mb(pid: int) -> tuple[float, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmHWM"].split()[0]) / 1024, int(fields["VmRSS"].split()[0]) / 1024


# -- targets ---------------------------------------------------------------------------------------


def start_mock(port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "kontext_contract.cli", "mock", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--provider", "fal", "--no-access-log"]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_ceiling(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", CEILING, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def ensure_prism() -> tuple[Path | None, str]:
    """Prism's binary, installing it with npm into bench/.cache/prism if needed; or (None, why not)."""
    if PRISM_BIN.exists():
        return PRISM_BIN, "cached"
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return None, "npm/node not found on PATH"
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"installing {PRISM_PACKAGE} with npm into {CACHE.relative_to(ROOT)} ...", flush=True)
    try:
        proc = subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(CACHE),
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                PRISM_PACKAGE,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        return None, "npm install timed out after 600 s"
    if proc.returncode != 0 or not PRISM_BIN.exists():
        return None, f"npm install failed: {(proc.stderr or proc.stdout).strip()[-300:]}"
    return PRISM_BIN, "installed"


def start_prism(binary: Path, port: int) -> subprocess.Popen[bytes]:
    cmd = [str(binary), "mock", "-h", "127.0.0.1", "-p", str(port), "-v", "warn", str(DOCUMENT)]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=4.0, help="seconds of load per target (default 4)")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections (default 8)")
    parser.add_argument(
        "--requests", type=int, default=100_000, help="submits of the memory run (default 100000)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds of mock and ceiling (default 3)"
    )
    parser.add_argument("--no-prism", action="store_true", help="skip Prism")
    args = parser.parse_args()
    duration = min(max(args.duration, 1.0), 60.0)
    parser_impl = (
        "httptools" if importlib.util.find_spec("httptools") else "h11 (pure Python; httptools not installed)"
    )
    loop_impl = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    print(
        f"bench_mock: submit+status on {DOCUMENT.relative_to(ROOT)} ({ENDPOINT}), {args.connections} connections,"
    )
    print(f"  uvicorn (mock and ceiling alike): HTTP parser {parser_impl}, event loop {loop_impl}")
    print(
        f"  2 s warm-up per target, then {args.rounds} rounds of {duration:.0f} s per target (median counts), "
        f"{os.cpu_count()} cores, loopback only",
        flush=True,
    )

    starters: dict[str, tuple[Callable[[int], subprocess.Popen[bytes]], float]] = {
        "mock": (start_mock, 30.0),
        "ceiling": (start_ceiling, 30.0),
    }
    prism_note = "skipped (--no-prism)"
    if not args.no_prism:
        binary, prism_note = ensure_prism()
        if binary is None:
            print(f"  prism: UNAVAILABLE ({prism_note}); reporting the other two", flush=True)
        else:
            prism_binary = binary
            starters["prism"] = (lambda port: start_prism(prism_binary, port), 90.0)
    # every server runs (idle) for the whole measurement; the targets take turns over a few rounds and the
    # median round counts, so a burst of other work on a shared machine does not decide a ratio
    running: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    rounds: dict[str, list[Result]] = {}
    try:
        for name, (starter, startup) in starters.items():
            port = free_port()
            proc = starter(port)
            try:
                wait_for_port(port, proc, startup)
            except RuntimeError as exc:
                print(f"  {name}: did not start: {exc}", flush=True)
                stop(proc)
                continue
            running[name] = (proc, port)
            rounds[name] = []
        for name, (_proc, port) in running.items():  # warm-up, not counted (Node's JIT needs it most)
            asyncio.run(load(name, port, 2.0, args.connections, warmup=0.0))
        for index in range(args.rounds):
            for name, (_proc, port) in running.items():
                try:
                    result = asyncio.run(load(name, port, duration, args.connections))
                except OSError as exc:
                    print(f"  {name}: failed: {exc}", flush=True)
                    continue
                rounds[name].append(result)
                print(
                    f"  round {index + 1} {name}: {result.rps:.0f} requests/s, {result.errors} errors",
                    flush=True,
                )
    finally:
        for proc, _port in running.values():
            stop(proc)
    results: dict[str, Result | None] = {
        name: (sorted(done, key=lambda r: r.rps)[len(done) // 2] if done else None)
        for name, done in rounds.items()
    }

    print()
    print(f"{'target':<10}{'requests/s':>12}{'pairs/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for name in ("mock", "prism", "ceiling"):
        r = results.get(name)
        if r is None:
            print(f"{name:<10}{'n/a':>12}")
            continue
        print(f"{name:<10}{r.rps:>12.0f}{r.pairs / r.seconds:>10.0f}{r.pct(0.50):>9.2f}{r.pct(0.99):>9.2f}")
    mock, prism, ceiling = results.get("mock"), results.get("prism"), results.get("ceiling")
    status = 0
    if mock and prism:
        ratio = mock.rps / prism.rps
        print(f"mock / prism   = {ratio:.2f}x  (goal >= 5x: {'met' if ratio >= 5 else 'NOT met'})")
    else:
        print("mock / prism   = n/a (Prism not measured)")
    if mock and ceiling:
        ratio = mock.rps / ceiling.rps
        print(f"mock / ceiling = {ratio:.2f}x  (goal >= 0.7x: {'met' if ratio >= 0.7 else 'NOT met'})")
    if mock:
        print(f"mock p50/p99 submit+status = {mock.pct(0.5):.2f} / {mock.pct(0.99):.2f} ms")

    # memory: N submitted requests kept (request_ttl 600 s) in a fresh mock
    print()
    port = free_port()
    proc = start_mock(port)
    try:
        wait_for_port(port, proc, 30)
        base_hwm, _ = peak_rss_mb(proc.pid)
        done, seconds = asyncio.run(submit_many(port, args.requests, 16, limit_seconds=240))
        hwm, rss = peak_rss_mb(proc.pid)
        kept = None
        try:
            conn_stats = asyncio.run(_stats(port))
            kept = conn_stats.get("requests_kept")
        except (OSError, ValueError):
            pass
    finally:
        stop(proc)
    verdict = "met" if hwm < 300 else "NOT met"
    print(
        f"memory: {done} submits in {seconds:.1f} s ({done / seconds:.0f}/s), {kept} requests kept; "
        f"peak RSS {hwm:.0f} MB (at start {base_hwm:.0f} MB, now {rss:.0f} MB)  (goal < 300 MB: {verdict})"
    )
    if done < args.requests:
        print(f"  note: only {done} of {args.requests} submits finished within the time bound")
    return status


async def _stats(port: int) -> dict[str, object]:
    conn = await Connection.open(port)
    try:
        _status, body = await conn.request("GET", "/_mock/stats")
    finally:
        conn.close()
    data = json.loads(body)
    return data if isinstance(data, dict) else {}


if __name__ == "__main__":
    sys.exit(main())
