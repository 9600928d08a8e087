"""The asynchronous client: :class:`AsyncClient` is :class:`Client` with ``await`` (same names, same
arguments, same errors); see :mod:`._client` for the documentation of each method."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Generic, TypeVar, Unpack, cast, overload

import httpx
from kontext_api.models import KontextEditOutput, KontextOutput, QueueStatusCompleted

from ._core import (
    CANCEL_GRACE,
    Core,
    DeadlineReached,
    Polling,
    QueueOptions,
    QueueStatus,
    RequestRef,
    StreamUnavailable,
    Timeouts,
    current_deadline,
    logger,
    stream_unsupported,
    time_limit,
)
from ._endpoints import EditEndpointId, EndpointId, Output, OutputEndpointId
from ._errors import ImageContentError, KontextError, ProviderIncompatibleError, WaitTimeoutError
from ._images import check_image_bytes, decode_data_uri, image_content_type, image_url_of, write_image
from ._providers import Provider
from ._retry import CallKind, RetryNotice, RetryPolicy
from ._sse import SSEDecoder

__all__ = ["AsyncClient", "AsyncRequestHandle"]

OutT_co = TypeVar("OutT_co", bound=Output, covariant=True)


class AsyncRequestHandle(Generic[OutT_co]):
    """One submitted queue request (fal-client's ``AsyncRequestHandle``); see :class:`RequestHandle`."""

    __slots__ = ("_client", "_ref")

    def __init__(self, client: AsyncClient, ref: RequestRef) -> None:
        self._client = client
        self._ref = ref

    @property
    def request_id(self) -> str:
        return self._ref.request_id

    @property
    def endpoint_id(self) -> str:
        return self._ref.info.endpoint_id

    @property
    def status_url(self) -> str:
        return self._ref.status_url

    @property
    def response_url(self) -> str:
        return self._ref.response_url

    @property
    def cancel_url(self) -> str:
        return self._ref.cancel_url

    def __repr__(self) -> str:
        shown = f"AsyncRequestHandle(endpoint_id={self.endpoint_id!r}, request_id={self.request_id!r})"
        return self._client._core.redactor.text(shown)  # a provider may echo the key as the request id

    async def status(self, *, with_logs: bool = False) -> QueueStatus:
        """The current status; see :meth:`Client.status`."""
        return await self._client._status(self._ref, with_logs)

    def iter_events(
        self,
        *,
        with_logs: bool = False,
        stream: bool | None = None,
        polling: Polling | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[QueueStatus]:
        """Statuses until ``COMPLETED`` (stream, else polling); see :meth:`RequestHandle.iter_events`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        return self._client._events(self._ref, with_logs, stream, polling, deadline)

    def stream_status(self, *, with_logs: bool = False) -> AsyncIterator[QueueStatus]:
        """The status stream (SSE) until ``COMPLETED``; see :meth:`Client.stream_status`."""
        return self._client._stream_or_raise(self._ref, with_logs)

    async def get(
        self, *, timeout: float | None = None, cancel_on_abort: bool = True, stream: bool | None = None
    ) -> OutT_co:
        """Wait for completion, then the output; see :meth:`RequestHandle.get` (task cancellation counts
        as an abort: the request is cancelled too when ``cancel_on_abort``)."""
        done = await self._client._wait(self._ref, False, None, stream, timeout, cancel_on_abort)
        return cast(OutT_co, await self._client._result(self._ref, done))

    async def result(self) -> OutT_co:
        """The output now, without waiting (:class:`NotCompletedError` if not completed)."""
        return cast(OutT_co, await self._client._result(self._ref))

    async def cancel(self) -> str:
        """Ask the provider to cancel; see :meth:`Client.cancel`."""
        return await self._client._cancel(self._ref)


class AsyncClient:
    """The asynchronous twin of :class:`Client` (same arguments; ``transport`` is an
    ``httpx.AsyncBaseTransport``, e.g. ``httpx.ASGITransport(app)``; ``http_client`` an
    ``httpx.AsyncClient``). Use ``async with``, or ``await client.close()``."""

    def __init__(
        self,
        provider: Provider | None = None,
        *,
        retry: RetryPolicy | None = None,
        polling: Polling | None = None,
        timeouts: Timeouts | None = None,
        validate: bool = True,
        allow_extra_fields: bool = False,
        contract: Path | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        limits: httpx.Limits | None = None,
        on_retry: Callable[[RetryNotice], object] | None = None,
    ) -> None:
        self.provider = provider or Provider.fal()
        self._core = Core(
            self.provider,
            contract=contract,
            validate=validate,
            allow_extra_fields=allow_extra_fields,
            retry=retry or RetryPolicy(),
            polling=polling or Polling(),
            timeouts=timeouts or Timeouts(),
            on_retry=on_retry,
        )
        self._owns_http = http_client is None
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._http = http_client or httpx.AsyncClient(
            transport=transport, timeout=self._core.timeouts.queue(), limits=limits, follow_redirects=False
        )
        # Requests beyond the pool's size wait here, in O(1), instead of in httpcore's pool, whose
        # bookkeeping is O(queued x connections) per event: with 1,000 concurrent subscribes that is the
        # difference between seconds and minutes of CPU (bench/bench_client.py).
        size = limits.max_connections if http_client is None else None
        self._slots = asyncio.Semaphore(size) if size else contextlib.nullcontext()
        self._stream_supported = self.provider.status_stream

    def __repr__(self) -> str:
        return f"AsyncClient(provider={self.provider!r})"

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connections (only those of the client's own ``httpx.AsyncClient``)."""
        if self._owns_http:
            await self._http.aclose()

    @staticmethod
    def time_limit(seconds: float | None) -> contextlib.AbstractContextManager[None]:
        """A block whose requests all end by ``seconds`` from now; see :meth:`Client.time_limit`
        (``with client.time_limit(30): await client.subscribe(...)``)."""
        return time_limit(seconds)

    async def _send(
        self,
        method: str,
        url: str,
        *,
        kind: CallKind,
        what: str,
        result_call: bool = False,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        core = self._core
        attempts = core.attempts(kind, what, url, result_call=result_call)
        all_headers = core.headers_for(url)
        if headers:
            all_headers.update(headers)
        while True:
            request_timeout = core.capped(timeout or core.timeouts.queue(), what)
            try:
                async with self._slots:
                    response = await self._http.request(
                        method,
                        url,
                        content=content,
                        params=params,
                        headers=all_headers,
                        timeout=request_timeout,
                    )
            except httpx.HTTPError as exc:
                core.check_limit(kind, what, exc)
                try:
                    delay = attempts.after_exception(exc)
                except KontextError as final:
                    raise core.redact_error(final) from core.safe_cause(exc)
                await asyncio.sleep(delay)
                continue
            logger.debug("%s %s -> %s", method, url, response.status_code)
            if response.status_code < 400 or not attempts.should_retry(response):
                return response
            error = core.error_for(response, what, result_call=result_call)
            await asyncio.sleep(attempts.after_response(response, error))

    @overload
    async def submit(
        self, endpoint_id: EditEndpointId, input: Any, **options: Unpack[QueueOptions]
    ) -> AsyncRequestHandle[KontextEditOutput]: ...
    @overload
    async def submit(
        self, endpoint_id: OutputEndpointId, input: Any, **options: Unpack[QueueOptions]
    ) -> AsyncRequestHandle[KontextOutput]: ...
    @overload
    async def submit(
        self, endpoint_id: EndpointId, input: Any, **options: Unpack[QueueOptions]
    ) -> AsyncRequestHandle[Output]: ...
    async def submit(
        self, endpoint_id: EndpointId, input: Any, **options: Unpack[QueueOptions]
    ) -> AsyncRequestHandle[Any]:
        """Put a job in the queue; see :meth:`Client.submit`."""
        return AsyncRequestHandle(self, await self._submit(endpoint_id, input, options))

    async def _submit(self, endpoint_id: EndpointId, input: Any, options: QueueOptions) -> RequestRef:
        core = self._core
        info = core.info(str(endpoint_id))
        body = core.body(info, input)
        headers, params = core.queue_extras(options)
        url = self.provider.queue_url(info.submit_path)
        what = f"submit to {info.endpoint_id}"
        response = await self._send(
            "POST", url, kind="paid", what=what, content=body, params=params or None, headers=headers
        )
        if response.status_code >= 300:
            raise core.error_for(response, what)
        ref, _status = core.ref_from_submit(info, response)
        return ref

    def get_handle(self, endpoint_id: EndpointId, request_id: str) -> AsyncRequestHandle[Output]:
        """A handle for a request submitted earlier; see :meth:`Client.get_handle`."""
        return AsyncRequestHandle(self, self._core.ref_for(str(endpoint_id), request_id))

    async def status(
        self, endpoint_id: EndpointId, request_id: str, *, with_logs: bool = False
    ) -> QueueStatus:
        """The status of a request; see :meth:`Client.status`."""
        return await self._status(self._core.ref_for(str(endpoint_id), request_id), with_logs)

    async def _status(self, ref: RequestRef, with_logs: bool) -> QueueStatus:
        what = f"status of request {ref.request_id}"
        response = await self._send(
            "GET", ref.status_url, kind="idempotent", what=what, params=self._core.logs_params(with_logs)
        )
        if response.status_code >= 300:
            raise self._core.error_for(response, what, ref.request_id)
        return self._core.parse_status(json.loads(response.content), ref)

    @overload
    async def result(self, endpoint_id: EditEndpointId, request_id: str) -> KontextEditOutput: ...
    @overload
    async def result(self, endpoint_id: OutputEndpointId, request_id: str) -> KontextOutput: ...
    @overload
    async def result(self, endpoint_id: EndpointId, request_id: str) -> Output: ...
    async def result(self, endpoint_id: EndpointId, request_id: str) -> Any:
        """The output of a completed request, without waiting; see :meth:`Client.result`."""
        return await self._result(self._core.ref_for(str(endpoint_id), request_id))

    async def _result(self, ref: RequestRef, completed: QueueStatusCompleted | None = None) -> Any:
        what = f"result of request {ref.request_id}"
        response = await self._send("GET", ref.response_url, kind="idempotent", what=what, result_call=True)
        if response.status_code != 200:
            raise self._core.result_error(response, ref, completed)
        return self._core.parse_output(ref.info, response, ref.request_id)

    async def cancel(self, endpoint_id: EndpointId, request_id: str) -> str:
        """Ask to cancel a request; see :meth:`Client.cancel`."""
        return await self._cancel(self._core.ref_for(str(endpoint_id), request_id))

    async def _cancel(self, ref: RequestRef) -> str:
        what = f"cancel of request {ref.request_id}"
        response = await self._send("PUT", ref.cancel_url, kind="idempotent", what=what)
        return self._core.parse_cancel(response, ref)

    def stream_status(
        self, endpoint_id: EndpointId, request_id: str, *, with_logs: bool = False
    ) -> AsyncIterator[QueueStatus]:
        """The status stream (SSE) until ``COMPLETED``; see :meth:`Client.stream_status`."""
        return self._stream_or_raise(self._core.ref_for(str(endpoint_id), request_id), with_logs)

    async def _stream_or_raise(self, ref: RequestRef, with_logs: bool) -> AsyncIterator[QueueStatus]:
        try:
            async for status in self._stream_events(ref, with_logs, None):
                yield status
        except StreamUnavailable:
            raise ProviderIncompatibleError(
                f"{self.provider.name} does not serve the status stream of request {ref.request_id}",
                request_id=ref.request_id,
            ) from None

    async def _stream_events(
        self, ref: RequestRef, with_logs: bool, deadline: float | None
    ) -> AsyncIterator[QueueStatus]:
        core = self._core
        url = ref.status_url + "/stream"
        what = f"status stream of request {ref.request_id}"
        attempts = core.attempts("idempotent", what, url)
        headers = core.headers_for(url)
        headers["Accept"] = "text/event-stream"
        params = core.logs_params(with_logs)
        while True:
            limit = current_deadline(deadline)
            remaining = None if limit is None else limit - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise DeadlineReached
            try:
                async with (
                    self._slots,
                    self._http.stream(
                        "GET",
                        url,
                        params=params,
                        headers=headers,
                        timeout=core.timeouts.for_stream(remaining),
                    ) as response,
                ):
                    logger.debug("GET %s -> %s (stream)", url, response.status_code)
                    if stream_unsupported(response):
                        raise StreamUnavailable
                    if response.status_code >= 300:
                        await response.aread()
                        error = core.error_for(response, what, ref.request_id)
                        if not attempts.should_retry(response):
                            raise error
                        await asyncio.sleep(attempts.after_response(response, error))
                        continue
                    decoder = SSEDecoder()
                    async for line in response.aiter_lines():
                        data = decoder.feed(line)
                        if data is None:
                            continue
                        status = core.parse_event(data, ref)
                        yield status
                        if isinstance(status, QueueStatusCompleted):
                            return
                        # the stream works: a later break starts a fresh retry budget (a job may run for
                        # longer than RetryPolicy.total_timeout)
                        attempts = core.attempts("idempotent", what, url)
                    data = decoder.flush()
                    if data is not None:
                        status = core.parse_event(data, ref)
                        yield status
                        if isinstance(status, QueueStatusCompleted):
                            return
                    raise httpx.RemoteProtocolError("the status stream ended before COMPLETED")
            except httpx.HTTPError as exc:
                limit = current_deadline(deadline)
                if limit is not None and time.monotonic() >= limit:
                    raise DeadlineReached from None
                try:
                    delay = attempts.after_exception(exc)
                except KontextError as final:
                    raise core.redact_error(final) from core.safe_cause(exc)
                await asyncio.sleep(delay)

    async def _poll_events(
        self, ref: RequestRef, with_logs: bool, polling: Polling, deadline: float | None
    ) -> AsyncIterator[QueueStatus]:
        wait = polling.interval
        last: tuple[str, object] | None = None
        while True:
            status = await self._status(ref, with_logs)
            yield status
            if isinstance(status, QueueStatusCompleted):
                return
            key = (status.status, getattr(status, "queue_position", None))
            wait = polling.interval if key != last else min(polling.max_interval, wait * polling.multiplier)
            last = key
            limit = current_deadline(deadline)
            if limit is not None:
                remaining = limit - time.monotonic()
                if remaining <= wait:
                    await asyncio.sleep(max(0.0, remaining))
                    raise DeadlineReached
            await asyncio.sleep(wait)

    async def _events(
        self,
        ref: RequestRef,
        with_logs: bool,
        stream: bool | None,
        polling: Polling | None,
        deadline: float | None,
    ) -> AsyncIterator[QueueStatus]:
        try:
            if stream if stream is not None else self._stream_supported:
                try:
                    async for status in self._stream_events(ref, with_logs, deadline):
                        yield status
                    return
                except StreamUnavailable:
                    logger.info("%s serves no status stream; polling instead", self.provider.name)
                    self._stream_supported = False
            async for status in self._poll_events(ref, with_logs, polling or self._core.polling, deadline):
                yield status
        except DeadlineReached:
            raise WaitTimeoutError(
                f"request {ref.request_id} did not complete in time", request_id=ref.request_id
            ) from None

    async def _wait(
        self,
        ref: RequestRef,
        with_logs: bool,
        on_queue_update: Callable[[QueueStatus], object] | None,
        stream: bool | None,
        timeout: float | None,
        cancel_on_abort: bool,
        polling: Polling | None = None,
    ) -> QueueStatusCompleted:
        deadline = current_deadline(None if timeout is None else time.monotonic() + timeout)
        try:
            # asyncio.timeout also bounds transports that ignore httpx timeouts (ASGITransport)
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            async with asyncio.timeout(None if left is None else left + 0.05):
                # run the generators to their end (they stop after COMPLETED), so each stream is closed
                last: QueueStatus | None = None
                async for status in self._events(ref, with_logs, stream, polling, deadline):
                    if on_queue_update is not None:
                        on_queue_update(status)
                    last = status
                if isinstance(last, QueueStatusCompleted):
                    return last
        except (WaitTimeoutError, TimeoutError) as exc:
            error = (
                exc
                if isinstance(exc, WaitTimeoutError)
                else WaitTimeoutError(
                    f"request {ref.request_id} did not complete in time", request_id=ref.request_id
                )
            )
            if cancel_on_abort:
                error.cancelled = await self._cancel_quietly(ref)
                if error.cancelled:
                    error.message += " (cancellation requested)"
                    error.args = (error.message,)
            if error is exc:
                raise
            raise error from None
        except asyncio.CancelledError:
            if cancel_on_abort:
                # the caller's task was cancelled: ask the provider to drop the job, without blocking long
                task = asyncio.ensure_future(self._cancel_quietly(ref))
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(task), timeout=self._core.timeouts.connect)
            raise
        raise ProviderIncompatibleError(f"the status of request {ref.request_id} ended before COMPLETED")

    async def _cancel_quietly(self, ref: RequestRef) -> bool:
        try:
            with time_limit(CANCEL_GRACE, replace=True):  # a short cancel even after a time limit passed
                await self._cancel(ref)
        except Exception as exc:  # best effort: the caller is already leaving with another error
            logger.warning(
                "could not cancel request %s: %s", ref.request_id, self._core.redactor.text(str(exc))
            )
            return False
        return True

    @overload
    async def subscribe(
        self,
        endpoint_id: EditEndpointId,
        input: Any,
        *,
        with_logs: bool = ...,
        on_enqueue: Callable[[str], object] | None = ...,
        on_queue_update: Callable[[QueueStatus], object] | None = ...,
        timeout: float | None = ...,
        cancel_on_abort: bool = ...,
        stream: bool | None = ...,
        polling: Polling | None = ...,
        **options: Unpack[QueueOptions],
    ) -> KontextEditOutput: ...
    @overload
    async def subscribe(
        self,
        endpoint_id: OutputEndpointId,
        input: Any,
        *,
        with_logs: bool = ...,
        on_enqueue: Callable[[str], object] | None = ...,
        on_queue_update: Callable[[QueueStatus], object] | None = ...,
        timeout: float | None = ...,
        cancel_on_abort: bool = ...,
        stream: bool | None = ...,
        polling: Polling | None = ...,
        **options: Unpack[QueueOptions],
    ) -> KontextOutput: ...
    @overload
    async def subscribe(
        self,
        endpoint_id: EndpointId,
        input: Any,
        *,
        with_logs: bool = ...,
        on_enqueue: Callable[[str], object] | None = ...,
        on_queue_update: Callable[[QueueStatus], object] | None = ...,
        timeout: float | None = ...,
        cancel_on_abort: bool = ...,
        stream: bool | None = ...,
        polling: Polling | None = ...,
        **options: Unpack[QueueOptions],
    ) -> Output: ...
    async def subscribe(
        self,
        endpoint_id: EndpointId,
        input: Any,
        *,
        with_logs: bool = False,
        on_enqueue: Callable[[str], object] | None = None,
        on_queue_update: Callable[[QueueStatus], object] | None = None,
        timeout: float | None = None,
        cancel_on_abort: bool = True,
        stream: bool | None = None,
        polling: Polling | None = None,
        **options: Unpack[QueueOptions],
    ) -> Any:
        """Submit, wait (stream, else backing-off polling), return the output; see :meth:`Client.subscribe`.
        Cancelling the awaiting task also asks the provider to cancel the job when ``cancel_on_abort``."""
        ref = await self._submit(endpoint_id, input, options)
        if on_enqueue is not None:
            on_enqueue(ref.request_id)
        done = await self._wait(ref, with_logs, on_queue_update, stream, timeout, cancel_on_abort, polling)
        return await self._result(ref, done)

    @overload
    async def run(
        self,
        endpoint_id: EditEndpointId,
        input: Any,
        *,
        request_timeout: float | None = ...,
        runner_hint: str | None = ...,
        object_lifecycle_seconds: int | None = ...,
    ) -> KontextEditOutput: ...
    @overload
    async def run(
        self,
        endpoint_id: OutputEndpointId,
        input: Any,
        *,
        request_timeout: float | None = ...,
        runner_hint: str | None = ...,
        object_lifecycle_seconds: int | None = ...,
    ) -> KontextOutput: ...
    @overload
    async def run(
        self,
        endpoint_id: EndpointId,
        input: Any,
        *,
        request_timeout: float | None = ...,
        runner_hint: str | None = ...,
        object_lifecycle_seconds: int | None = ...,
    ) -> Output: ...
    async def run(
        self,
        endpoint_id: EndpointId,
        input: Any,
        *,
        request_timeout: float | None = None,
        runner_hint: str | None = None,
        object_lifecycle_seconds: int | None = None,
    ) -> Any:
        """Run synchronously (FACTS §3.5); see :meth:`Client.run`."""
        core = self._core
        info = core.info(str(endpoint_id))
        url = self.provider.run_url(info.run_path)
        body = core.body(info, input)
        headers = core.run_headers(request_timeout, runner_hint, object_lifecycle_seconds)
        what = f"run of {info.endpoint_id}"
        response = await self._send(
            "POST",
            url,
            kind="paid",
            what=what,
            content=body,
            headers=headers,
            timeout=core.timeouts.for_run(),
        )
        if response.status_code != 200:
            raise core.error_for(response, what, result_call=True)
        return core.parse_output(info, response, response.headers.get("x-fal-request-id"))

    async def download_image(self, image: Any, *, check: bool = True) -> bytes:
        """The bytes of an output image; see :meth:`Client.download_image`."""
        url, declared = image_url_of(image)
        if url.startswith("data:"):
            content_type, data = decode_data_uri(url)
            declared = declared or content_type
        else:
            what = f"download of {httpx.URL(url).copy_with(query=None)}"
            response = await self._send("GET", url, kind="idempotent", what=what)
            if response.status_code != 200:
                raise self._core.error_for(response, what)
            data = response.content
            declared = declared or response.headers.get("content-type")
        if check:
            check_image_bytes(data, declared)
        return data

    async def save_image(self, image: Any, path: str | os.PathLike[str], *, check: bool = True) -> Path:
        """Download (or decode) an output image and write it; see :meth:`Client.save_image`."""
        data = await self.download_image(image, check=check)
        _, declared = image_url_of(image)
        try:
            kind = declared or image_content_type(data)
        except ImageContentError:
            kind = "application/octet-stream"
        return write_image(data, path, kind)
