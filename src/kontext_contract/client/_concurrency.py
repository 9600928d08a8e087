"""The few things that differ between the async client and its sync twin, besides ``async``/``await``.

``_async_client.py`` is written once and uses :class:`AsyncIO`; ``scripts/unasync_client.py`` writes
``_client.py`` from it with the `unasync` package, which turns the name ``AsyncIO`` into ``SyncIO``
(httpcore keeps its sync/async primitives in one hand-written module the same way,
``httpcore/_synchronization.py``). Everything else -- retries, waiting, streaming -- lives once in the
async source.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["AsyncIO", "SyncIO"]

# an asyncio.timeout around a wait ends a little after the wait's own deadline, so that the deadline's
# cleaner WaitTimeoutError wins whenever the transport honours its timeouts
_GUARD_SLACK = 0.05

T = TypeVar("T")


class AsyncIO:
    """asyncio: sleeping, bounding concurrent requests, and what an abandoned wait looks like."""

    #: what ends a wait from outside: the awaiting task is cancelled (Ctrl-C under ``asyncio.run`` too)
    ABORTS: tuple[type[BaseException], ...] = (asyncio.CancelledError,)

    @staticmethod
    async def sleep(seconds: float) -> None:
        await asyncio.sleep(seconds)

    @staticmethod
    def worker() -> ThreadPoolExecutor:
        """The one thread that makes a client's journal calls, in the order they are made: blocking
        SQLite I/O never holds the event loop, and a write posted without waiting (:meth:`post`) still
        comes before the ones after it."""
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="kontext-journal")

    @staticmethod
    async def offload(worker: ThreadPoolExecutor | None, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on ``worker``, awaited. A cancellation waits for the call to end first, so what
        follows knows whether the write was made."""
        future = asyncio.get_running_loop().run_in_executor(worker, fn, *args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            await asyncio.wait([future])
            raise

    @staticmethod
    def post(worker: ThreadPoolExecutor | None, fn: Callable[..., object], *args: Any) -> None:
        """``fn(*args)`` on ``worker``, not awaited (it handles its own errors)."""
        if worker is None:
            fn(*args)
        else:
            worker.submit(fn, *args)

    @staticmethod
    async def close_worker(worker: ThreadPoolExecutor | None) -> None:
        """Wait for the calls posted to ``worker``, then stop its thread."""
        if worker is not None:
            await AsyncIO.offload(worker, lambda: None)
            worker.shutdown(wait=False)

    @staticmethod
    def slots(size: int | None) -> asyncio.Semaphore | contextlib.nullcontext[None]:
        """Requests beyond the pool's ``size`` wait here, in O(1), instead of in httpcore's pool, whose
        bookkeeping is O(queued x connections) per event: with 1,000 concurrent subscribes that is the
        difference between seconds and minutes of CPU (bench/bench_client.py). ``None``: no bound (a
        caller's own ``httpx.AsyncClient``)."""
        return asyncio.Semaphore(size) if size else contextlib.nullcontext()

    @staticmethod
    def deadline_guard(deadline: float | None) -> asyncio.Timeout:
        """An ``asyncio.timeout`` shortly after ``deadline`` (``time.monotonic()`` seconds): it also bounds
        transports that ignore httpx's timeouts (``httpx.ASGITransport``); it raises ``TimeoutError``."""
        if deadline is None:
            return asyncio.timeout(None)
        return asyncio.timeout(max(0.0, deadline - time.monotonic()) + _GUARD_SLACK)

    @staticmethod
    async def after_abort(cancel: Callable[[], Awaitable[bool]], seconds: float) -> None:
        """Run the best-effort ``cancel`` after the awaiting task was cancelled: shielded from that
        cancellation, for ``seconds`` at most, so the caller is not held long."""
        task = asyncio.ensure_future(cancel())
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(task), timeout=seconds)


class SyncIO:
    """Threads: the same operations, blocking."""

    #: what ends a wait from outside: Ctrl-C
    ABORTS: tuple[type[BaseException], ...] = (KeyboardInterrupt,)

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(seconds)

    @staticmethod
    def worker() -> None:
        """None: the sync client makes its journal calls in the calling thread."""
        return None

    @staticmethod
    def offload(worker: ThreadPoolExecutor | None, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``, in the calling thread."""
        return fn(*args)

    @staticmethod
    def post(worker: ThreadPoolExecutor | None, fn: Callable[..., object], *args: Any) -> None:
        """``fn(*args)``, in the calling thread."""
        fn(*args)

    @staticmethod
    def close_worker(worker: ThreadPoolExecutor | None) -> None:
        """Nothing to wait for."""

    @staticmethod
    def slots(size: int | None) -> contextlib.nullcontext[None]:
        """No bound: httpx's sync pool blocks each thread on its own connection (``Timeouts.pool``)."""
        return contextlib.nullcontext()

    @staticmethod
    def deadline_guard(deadline: float | None) -> contextlib.nullcontext[None]:
        """Nothing: a thread cannot be interrupted; the requests' own timeouts bound the wait."""
        return contextlib.nullcontext()

    @staticmethod
    def after_abort(cancel: Callable[[], bool], seconds: float) -> None:
        """Run the best-effort ``cancel`` after Ctrl-C (it is itself bounded by ``CANCEL_GRACE``)."""
        cancel()
