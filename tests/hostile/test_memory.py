"""The mock's memory under worst-case image requests, measured on the mock's own process.

The mock runs as ``kontext-contract mock --port 0`` in a subprocess, so its resident set size
(``/proc/<pid>/statm``) is its own: no test runner, no client, no images built by the test in the same
heap. A thread samples it every 10 ms while 20 requests run at once: 10 downloads of forged file names
(the largest sizes the mock makes, each a different image, so nothing comes from the cache) and 10
synchronous edits whose ``image_url`` is a PNG bomb (4096 x 4096 RGBA, 64 MB of pixels in 90 kB, the
largest image the mock decodes), plus refused ones (over the pixel budget, the old 16.7 MP file names).
Before the fix, 10 forged names added 660 MB and 6 bombs 1.4 GB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from kontext_contract.mock import _images as images

from .conftest import EDIT, bomb, real_image

LIMIT = 200 * 1024 * 1024
KEY = {"Authorization": "Key mock-key-id:mock-key-secret"}


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture
def mock_process() -> Iterator[tuple[str, int]]:
    if not Path("/proc/self/statm").exists():
        pytest.skip("needs /proc/<pid>/statm (Linux) to read the mock's resident set size")
    command = [sys.executable, "-c", "from kontext_contract.cli import main; main()", "mock", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--no-access-log"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert " on http://" in first, first
        yield first.split(" on ", 1)[1].strip(), process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def _largest_names(count: int) -> list[str]:
    sizes = sorted(
        {images.size_for_ratio(w, h) for w in range(1, 30) for h in range(1, 30)},
        key=lambda s: -(s[0] * s[1]),
    )
    width, height = sizes[0]
    return [f"{width}x{height}-{seed}-0-0123456789abcdef.png" for seed in range(count)]


@pytest.mark.slow
def test_rss_grows_less_than_200_mb_under_worst_case_image_requests(mock_process: tuple[str, int]) -> None:
    base, pid = mock_process
    heavy_png = real_image("png", 4096, 4096)
    assert images.decode_data_uri(heavy_png) == (4096, 4096)  # the largest image the mock decodes
    refused = [bomb("png", 8000, 8000), bomb("bmp", 30000, 30000)]
    with httpx.Client(base_url=base, timeout=120) as http:  # warm up: Pillow's plugins, the first render
        assert (
            http.post(
                f"/run/{EDIT}", json={"prompt": "p", "image_url": real_image("png", 32, 32)}, headers=KEY
            ).status_code
            == 200
        )
        assert http.get("/_mock/files/1024x1024-1-0-0123456789abcdef.png").status_code == 200
    time.sleep(0.3)
    before = _rss(pid)
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss(pid))
            time.sleep(0.01)

    def call(job: tuple[str, str]) -> int:
        kind, value = job
        with httpx.Client(base_url=base, timeout=300) as http:
            if kind == "file":
                return http.get(f"/_mock/files/{value}").status_code
            return http.post(
                f"/run/{EDIT}", json={"prompt": "p", "image_url": value}, headers=KEY
            ).status_code

    jobs = [("file", name) for name in _largest_names(10)] + [("edit", heavy_png)] * 10
    jobs += [("edit", uri) for uri in refused] + [("file", "4096x4096-1-0-0123456789abcdef.png")]
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(len(jobs)) as pool:
            codes = list(pool.map(call, jobs))
        time.sleep(0.5)
    finally:
        done.set()
        sampler.join()
    after = _rss(pid)
    assert codes == [200] * 20 + [422, 422, 404]
    grown, kept = peak - before, after - before
    print(f"mock RSS {before / 2**20:.0f} MiB; peak +{grown / 2**20:.0f} MiB; after +{kept / 2**20:.0f} MiB")
    assert grown < LIMIT, f"the mock grew by {grown / 2**20:.0f} MiB at its peak"
    assert kept < LIMIT
