# GENERATED from _async_client.py by scripts/unasync_client.py (`make unasync`): do not edit.
# `make lint` fails when this file is not what the script writes.
"""fal's queue flow (submit, status, result, cancel, subscribe, run) on the generated models, for fal
and for relays: :class:`AsyncClient` and :class:`AsyncRequestHandle` here, and their sync twins
:class:`Client` and :class:`RequestHandle` in ``_client.py``.

This file is the only source of both: ``_client.py`` is written from it by ``scripts/unasync_client.py``
(``make unasync``; the `unasync` package drops ``async``/``await`` and renames ``AsyncClient`` ->
``Client``, ``AsyncIO`` -> ``SyncIO``, ``aiter_lines`` -> ``iter_lines``, ...), and ``make lint`` fails
when the committed ``_client.py`` is not what it writes. What differs besides ``await`` is in
:mod:`._concurrency`; what needs no I/O (requests to build, answers to parse, errors) in :mod:`._core`.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar, Unpack, cast, overload

import httpx
from kontext_api.models import KontextEditOutput, KontextOutput, QueueStatusCompleted

from ._concurrency import SyncIO
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

__all__ = ["Client", "RequestHandle"]

OutT_co = TypeVar("OutT_co", bound=Output, covariant=True)


class RequestHandle(Generic[OutT_co]):
    """One submitted queue request (fal-client's ``SyncRequestHandle`` / ``AsyncRequestHandle``), typed
    by its endpoint's output.

    Attributes:
        request_id, endpoint_id, status_url, response_url, cancel_url: as returned by the submit, with
            the URLs moved onto the provider when they pointed elsewhere (see :class:`Provider`).
    """

    __slots__ = ("_client", "_ref")

    def __init__(self, client: Client, ref: RequestRef) -> None:
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
        shown = f"{type(self).__name__}(endpoint_id={self.endpoint_id!r}, request_id={self.request_id!r})"
        return self._client._core.redactor.text(shown)  # a provider may echo the key as the request id

    def status(self, *, with_logs: bool = False) -> QueueStatus:
        """The current status (``QueueStatusInQueue``/``InProgress``/``Completed``); see ``client.status``."""
        return self._client._status(self._ref, with_logs)

    def iter_events(
        self,
        *,
        with_logs: bool = False,
        stream: bool | None = None,
        polling: Polling | None = None,
        timeout: float | None = None,
    ) -> Iterator[QueueStatus]:
        """Statuses until ``COMPLETED`` (the last one yielded): from the status stream where the provider
        offers it, else by polling on the backing-off schedule ``polling``.

        Args:
            stream: force (True) or avoid (False) the status stream; default: the provider's setting.
            timeout: seconds to wait at most.

        Raises:
            WaitTimeoutError: ``timeout`` elapsed (the request is not cancelled here).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        return self._client._events(self._ref, with_logs, stream, polling, deadline)

    def stream_status(self, *, with_logs: bool = False) -> Iterator[QueueStatus]:
        """The status stream (SSE) of this request until ``COMPLETED``; see ``client.stream_status``."""
        return self._client._stream_or_raise(self._ref, with_logs)

    def get(
        self, *, timeout: float | None = None, cancel_on_abort: bool = True, stream: bool | None = None
    ) -> OutT_co:
        """Wait until the request completes (status stream, else polling; ``stream`` forces either), then
        return its output. ``timeout`` is in seconds.

        Raises:
            WaitTimeoutError: ``timeout`` seconds elapsed (the request is cancelled first if
                ``cancel_on_abort``, also on Ctrl-C and, async, when the awaiting task is cancelled);
                plus the errors of ``client.result``.
        """
        done = self._client._wait(self._ref, False, None, stream, timeout, cancel_on_abort)
        return cast(OutT_co, self._client._result(self._ref, done))

    def result(self) -> OutT_co:
        """The output now, without waiting (:class:`NotCompletedError` if not completed)."""
        return cast(OutT_co, self._client._result(self._ref))

    def cancel(self) -> str:
        """Ask the provider to cancel; see ``client.cancel``."""
        return self._client._cancel(self._ref)


class Client:
    """A client for the six FLUX.1 Kontext [pro] endpoints, on fal or on a relay (``Client`` blocks,
    ``AsyncClient`` is awaited; same arguments, same methods, same errors).

    Args:
        provider: where and how to connect; default ``Provider.fal()`` (reads ``FAL_KEY`` now).
        retry: the retry policy (:class:`RetryPolicy`); ``RetryPolicy.none()`` turns retries off.
        polling: the polling schedule when the status stream is unavailable (:class:`Polling`).
        timeouts: client-side timeouts in seconds (:class:`Timeouts`).
        validate: check inputs against the contract's JSON Schema before sending (default on).
        allow_extra_fields: let fields the contract does not list through (default: an error).
        contract: another contract file (default: the project's ``openapi/kontext.openapi.yaml``).
        transport: an httpx transport (``httpx.BaseTransport`` for ``Client``, ``httpx.AsyncBaseTransport``
            such as ``httpx.ASGITransport(app)`` for ``AsyncClient``; tests use ``httpx.MockTransport``).
        http_client: an ``httpx.Client`` (``httpx.AsyncClient``) to use instead of the client's own (not
            closed by :meth:`close`).
        limits: connection limits of the client's own httpx client (default 100 connections; the async
            client queues requests beyond them in O(1), see :class:`AsyncIO`).
        on_retry: called with a :class:`RetryNotice` (what, URL, reason, delay in seconds, attempt)
            before each retry, e.g. to show why a call is taking long (they are logged at DEBUG too).

    ``Client`` is thread-safe as ``httpx.Client`` is. Use as a context manager (``with`` /
    ``async with``), or call :meth:`close`.
    """

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
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
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
        self._http = http_client or httpx.Client(
            transport=transport, timeout=self._core.queue_timeout, limits=limits, follow_redirects=False
        )
        self._slots = SyncIO.slots(limits.max_connections if http_client is None else None)
        self._stream_supported = self.provider.status_stream

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections (only those of the client's own httpx client)."""
        if self._owns_http:
            self._http.close()

    @staticmethod
    def time_limit(seconds: float | None) -> contextlib.AbstractContextManager[None]:
        """A block whose requests all end by ``seconds`` from now (``with client.time_limit(30): ...``):
        each request's connect/read/write/pool timeouts are capped at the time left, retries stop when it
        is spent, waits end then. A submit cut short after it was sent raises
        :class:`AmbiguousSubmitError` (it may have been queued), a wait :class:`WaitTimeoutError`.
        ``None``: no limit. See :func:`kontext_contract.client._core.time_limit`.

        Raises:
            ValueError: ``seconds`` is not positive.
        """
        return time_limit(seconds)

    # ---- the transport with retries --------------------------------------------------------------------

    def _send(
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
        target = core.target(url, params)
        while True:
            request_timeout = core.capped(timeout or core.queue_timeout, what)
            try:
                with self._slots:
                    response = self._http.request(
                        method, target, content=content, headers=all_headers, timeout=request_timeout
                    )
            except httpx.HTTPError as exc:
                core.check_limit(kind, what, exc)
                try:
                    delay = attempts.after_exception(exc)
                except KontextError as final:
                    raise core.redact_error(final) from core.safe_cause(exc)
                SyncIO.sleep(delay)
                continue
            logger.debug("%s %s -> %s", method, url, response.status_code)
            if response.status_code < 400 or not attempts.should_retry(response):
                return response
            error = core.error_for(response, what, result_call=result_call)
            SyncIO.sleep(attempts.after_response(response, error))

    # ---- queue operations ------------------------------------------------------------------------------

    @overload
    def submit(
        self, endpoint_id: EditEndpointId, input: Any, **options: Unpack[QueueOptions]
    ) -> RequestHandle[KontextEditOutput]: ...
    @overload
    def submit(
        self, endpoint_id: OutputEndpointId, input: Any, **options: Unpack[QueueOptions]
    ) -> RequestHandle[KontextOutput]: ...
    @overload
    def submit(
        self, endpoint_id: EndpointId, input: Any, **options: Unpack[QueueOptions]
    ) -> RequestHandle[Output]: ...
    def submit(
        self, endpoint_id: EndpointId, input: Any, **options: Unpack[QueueOptions]
    ) -> RequestHandle[Any]:
        """Put a job in the queue: ``POST {queue}/{endpoint_id}`` (docs/sources.md §3.1).

        Args:
            endpoint_id: one of :class:`Endpoint` (or its string).
            input: the generated input model (``KontextEditInput``, ``KontextMultiInput``,
                ``KontextTextToImageInput``) or a plain dict; checked against the contract first.
            options: :class:`QueueOptions` (``webhook_url``, ``request_timeout`` in seconds,
                ``priority``, ``no_retry``, ``runner_hint``, ``object_lifecycle_seconds``).

        Returns:
            a request handle.

        Raises:
            ValidationError: the input breaks the contract (nothing was sent).
            AmbiguousSubmitError: the submit may have reached the server but no answer came; it is
                never retried then (a retry could bill the job twice).
            RetriesExhausted, AuthenticationError, ...: see :mod:`._errors`.
        """
        return RequestHandle(self, self._submit(endpoint_id, input, options))

    def _submit(self, endpoint_id: EndpointId, input: Any, options: QueueOptions) -> RequestRef:
        core = self._core
        info = core.info(str(endpoint_id))
        body = core.body(info, input)
        headers, params = core.queue_extras(options)
        url = self.provider.queue_url(info.submit_path)
        what = f"submit to {info.endpoint_id}"
        response = self._send(
            core.methods["submit"],
            url,
            kind="paid",
            what=what,
            content=body,
            params=params or None,
            headers=headers,
        )
        if response.status_code >= 300:
            raise core.error_for(response, what)
        ref, _status = core.ref_from_submit(info, response)
        return ref

    def get_handle(self, endpoint_id: EndpointId, request_id: str) -> RequestHandle[Output]:
        """A handle for a request submitted earlier (URLs built as fal does: ``/{owner}/{app}/requests/{id}``)."""
        return RequestHandle(self, self._core.ref_for(str(endpoint_id), request_id))

    def status(self, endpoint_id: EndpointId, request_id: str, *, with_logs: bool = False) -> QueueStatus:
        """The status of a request: ``QueueStatusInQueue`` (with ``queue_position``), ``QueueStatusInProgress``
        or ``QueueStatusCompleted`` (also for failed and cancelled requests; docs/sources.md §3.1).

        Args:
            with_logs: include the log lines (``logs=1``).

        Raises:
            NotFoundError: unknown request id; ProviderIncompatibleError: an answer outside the contract.
        """
        return self._status(self._core.ref_for(str(endpoint_id), request_id), with_logs)

    def _status(self, ref: RequestRef, with_logs: bool) -> QueueStatus:
        what = f"status of request {ref.request_id}"
        response = self._send(
            self._core.methods["status"],
            ref.status_url,
            kind="idempotent",
            what=what,
            params=self._core.logs_params(with_logs),
        )
        if response.status_code >= 300:
            raise self._core.error_for(response, what, ref.request_id)
        return self._core.parse_status(json.loads(response.content), ref)

    @overload
    def result(self, endpoint_id: EditEndpointId, request_id: str) -> KontextEditOutput: ...
    @overload
    def result(self, endpoint_id: OutputEndpointId, request_id: str) -> KontextOutput: ...
    @overload
    def result(self, endpoint_id: EndpointId, request_id: str) -> Output: ...
    def result(self, endpoint_id: EndpointId, request_id: str) -> Any:
        """The output of a completed request, fetched once without waiting (unlike fal-client, which polls
        the status first; fal-ai/fal #561). The model is the endpoint's: ``KontextEditOutput`` for kontext
        and kontext/max, ``KontextOutput`` for the others (from the contract).

        Raises:
            NotCompletedError: 400, not completed yet (a cancelled request answers 400 too; ``get`` and
                ``subscribe``, which saw it complete, raise :class:`RequestFailedError` instead).
            NotFoundError: 404, unknown id.
            ValidationError: 422, the input (accepted at submit) was invalid (docs/sources.md §3.1).
            RequestTimeoutError: the request did not start in time (``error_type``).
        """
        return self._result(self._core.ref_for(str(endpoint_id), request_id))

    def _result(self, ref: RequestRef, completed: QueueStatusCompleted | None = None) -> Any:
        what = f"result of request {ref.request_id}"
        response = self._send(
            self._core.methods["result"], ref.response_url, kind="idempotent", what=what, result_call=True
        )
        if response.status_code != 200:
            raise self._core.result_error(response, ref, completed)
        return self._core.parse_output(ref.info, response, ref.request_id)

    def cancel(self, endpoint_id: EndpointId, request_id: str) -> str:
        """Ask to cancel a request: returns ``"CANCELLATION_REQUESTED"`` (202; it may still run if already
        late, and then ends ``COMPLETED`` with an error) or ``"ALREADY_COMPLETED"`` (400); docs/sources.md §3.1.

        Raises:
            NotFoundError: unknown request id.
        """
        return self._cancel(self._core.ref_for(str(endpoint_id), request_id))

    def _cancel(self, ref: RequestRef) -> str:
        what = f"cancel of request {ref.request_id}"
        response = self._send(self._core.methods["cancel"], ref.cancel_url, kind="idempotent", what=what)
        return self._core.parse_cancel(response, ref)

    # ---- waiting: the status stream, else polling --------------------------------------------------------

    def stream_status(
        self, endpoint_id: EndpointId, request_id: str, *, with_logs: bool = False
    ) -> Iterator[QueueStatus]:
        """The status stream ``GET .../status/stream`` (Server-Sent Events; docs/sources.md §3.1): each event as a
        status model, until ``COMPLETED``. Reconnects (by the retry policy) if the stream breaks.

        Raises:
            ProviderIncompatibleError: the provider does not serve the stream (404/405/406/501 or not
                ``text/event-stream``).
        """
        return self._stream_or_raise(self._core.ref_for(str(endpoint_id), request_id), with_logs)

    def _stream_or_raise(self, ref: RequestRef, with_logs: bool) -> Iterator[QueueStatus]:
        try:
            yield from self._stream_events(ref, with_logs, None)
        except StreamUnavailable:
            raise ProviderIncompatibleError(
                f"{self.provider.name} does not serve the status stream of request {ref.request_id}",
                request_id=ref.request_id,
            ) from None

    def _stream_events(
        self, ref: RequestRef, with_logs: bool, deadline: float | None
    ) -> Iterator[QueueStatus]:
        core = self._core
        url = core.stream_url(ref)
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
                with (
                    self._slots,
                    self._http.stream(
                        core.methods["status-stream"],
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
                        response.read()
                        error = core.error_for(response, what, ref.request_id)
                        if not attempts.should_retry(response):
                            raise error
                        SyncIO.sleep(attempts.after_response(response, error))
                        continue
                    decoder = SSEDecoder()
                    for line in response.iter_lines():
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
                SyncIO.sleep(delay)

    def _poll_events(
        self, ref: RequestRef, with_logs: bool, polling: Polling, deadline: float | None
    ) -> Iterator[QueueStatus]:
        wait = polling.interval
        last: tuple[str, object] | None = None
        while True:
            status = self._status(ref, with_logs)
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
                    SyncIO.sleep(max(0.0, remaining))
                    raise DeadlineReached
            SyncIO.sleep(wait)

    def _events(
        self,
        ref: RequestRef,
        with_logs: bool,
        stream: bool | None,
        polling: Polling | None,
        deadline: float | None,
    ) -> Iterator[QueueStatus]:
        try:
            if stream if stream is not None else self._stream_supported:
                try:
                    for status in self._stream_events(ref, with_logs, deadline):
                        yield status
                    return
                except StreamUnavailable:
                    logger.info("%s serves no status stream; polling instead", self.provider.name)
                    self._stream_supported = False
            for status in self._poll_events(ref, with_logs, polling or self._core.polling, deadline):
                yield status
        except DeadlineReached:
            raise self._core.wait_timeout(ref) from None

    def _wait(
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
        last: QueueStatus | None = None
        try:
            with SyncIO.deadline_guard(deadline):
                # run the generators to their end (they stop after COMPLETED), so each stream is closed
                for status in self._events(ref, with_logs, stream, polling, deadline):
                    if on_queue_update is not None:
                        on_queue_update(status)
                    last = status
        except (WaitTimeoutError, TimeoutError) as exc:
            error = exc if isinstance(exc, WaitTimeoutError) else self._core.wait_timeout(ref)
            if cancel_on_abort:
                error.cancelled = self._cancel_quietly(ref)
                if error.cancelled:
                    error.message += " (cancellation requested)"
                    error.args = (error.message,)
            if error is exc:
                raise
            raise error from None
        except SyncIO.ABORTS:
            if cancel_on_abort:  # Ctrl-C, or the awaiting task was cancelled: ask the provider to drop it
                SyncIO.after_abort(lambda: self._cancel_quietly(ref), self._core.timeouts.connect)
            raise
        if isinstance(last, QueueStatusCompleted):
            return last
        raise ProviderIncompatibleError(f"the status of request {ref.request_id} ended before COMPLETED")

    def _cancel_quietly(self, ref: RequestRef) -> bool:
        try:
            with time_limit(CANCEL_GRACE, replace=True):  # a short cancel even after a time limit passed
                self._cancel(ref)
        except Exception as exc:  # best effort: the caller is already leaving with another error
            logger.warning(
                "could not cancel request %s: %s", ref.request_id, self._core.redactor.text(str(exc))
            )
            return False
        return True

    @overload
    def subscribe(
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
    def subscribe(
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
    def subscribe(
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
    def subscribe(
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
        """Submit, wait, and return the output -- fal-client's ``subscribe``, typed.

        Waits on the status stream (SSE) where the provider offers it -- the result is fetched the
        moment ``COMPLETED`` arrives -- else polls on the backing-off schedule ``polling``.

        Args:
            endpoint_id, input, options: as for :meth:`submit`.
            with_logs: ask for log lines in the statuses.
            on_enqueue: called with the request id once queued.
            on_queue_update: called with every status (``queue_position`` while ``IN_QUEUE``, ``logs``).
            timeout: seconds to wait for completion; then :class:`WaitTimeoutError`. ``None``: no limit.
            cancel_on_abort: when the wait ends without completion (``timeout``, Ctrl-C, the awaiting
                task cancelled), ask the provider to cancel the request, so an abandoned job is not run
                (and billed) for nothing.
            stream: force or avoid the status stream (default: the provider's setting).

        Returns:
            ``KontextEditOutput`` (kontext, kontext/max) or ``KontextOutput`` (the others).

        Raises:
            the errors of :meth:`submit` and :meth:`result`, and WaitTimeoutError.
        """
        ref = self._submit(endpoint_id, input, options)
        if on_enqueue is not None:
            on_enqueue(ref.request_id)
        done = self._wait(ref, with_logs, on_queue_update, stream, timeout, cancel_on_abort, polling)
        return self._result(ref, done)

    @overload
    def run(
        self,
        endpoint_id: EditEndpointId,
        input: Any,
        *,
        request_timeout: float | None = ...,
        runner_hint: str | None = ...,
        object_lifecycle_seconds: int | None = ...,
    ) -> KontextEditOutput: ...
    @overload
    def run(
        self,
        endpoint_id: OutputEndpointId,
        input: Any,
        *,
        request_timeout: float | None = ...,
        runner_hint: str | None = ...,
        object_lifecycle_seconds: int | None = ...,
    ) -> KontextOutput: ...
    @overload
    def run(
        self,
        endpoint_id: EndpointId,
        input: Any,
        *,
        request_timeout: float | None = ...,
        runner_hint: str | None = ...,
        object_lifecycle_seconds: int | None = ...,
    ) -> Output: ...
    def run(
        self,
        endpoint_id: EndpointId,
        input: Any,
        *,
        request_timeout: float | None = None,
        runner_hint: str | None = None,
        object_lifecycle_seconds: int | None = None,
    ) -> Any:
        """Run synchronously: ``POST {run_base_url}/{endpoint_id}`` answers with the output (docs/sources.md §3.5).

        The connection stays open until the output is ready (``Timeouts.run`` seconds at most); if it
        breaks the output is lost, and the call is not retried (it may have run: :class:`AmbiguousSubmitError`).

        Args:
            request_timeout: seconds the request may wait to start (``X-Fal-Request-Timeout``; more than
                the contract's minimum, 1 second, as fal's clients require).
            runner_hint: a routing hint (``X-Fal-Runner-Hint``; fal_client's ``run(hint=)``).
            object_lifecycle_seconds: how long fal keeps the output files, seconds
                (``X-Fal-Object-Lifecycle-Preference``; fal-js's ``run({storageSettings})``).

        Raises:
            ProviderIncompatibleError: the provider has no synchronous API (the documented relays).
            ValidationError: invalid input (locally, or 422 from the provider).
            ValueError: ``request_timeout`` not above the contract's minimum.
        """
        core = self._core
        info = core.info(str(endpoint_id))
        url = self.provider.run_url(info.run_path)
        body = core.body(info, input)
        headers = core.run_headers(request_timeout, runner_hint, object_lifecycle_seconds)
        what = f"run of {info.endpoint_id}"
        response = self._send(
            core.methods["run"],
            url,
            kind="paid",
            what=what,
            content=body,
            headers=headers,
            timeout=core.timeouts.for_run(),
        )
        if response.status_code != 200:
            raise core.error_for(response, what, result_call=True)
        return core.parse_output(info, response, response.headers.get(core.request_id_header))

    # ---- images ----------------------------------------------------------------------------------------

    def download_image(self, image: Any, *, check: bool = True) -> bytes:
        """The bytes of an output image (``ImageFile``/``GeneratedImage``, a mapping, or a URL / ``data:`` URI).

        A ``data:`` URI is decoded locally; a URL is fetched (retried like any GET; the key goes along only
        if the URL is on the provider's own hosts). With ``check`` the bytes must decode (Pillow) as the
        declared ``content_type``.

        Raises:
            ImageContentError: not an image of the declared type. APIStatusError: the download failed.
        """
        url, declared = image_url_of(image)
        if url.startswith("data:"):
            content_type, data = decode_data_uri(url)
            declared = declared or content_type
        else:
            what = f"download of {httpx.URL(url).copy_with(query=None)}"
            response = self._send("GET", url, kind="idempotent", what=what)
            if response.status_code != 200:
                raise self._core.error_for(response, what)
            data = response.content
            declared = declared or response.headers.get("content-type")
        if check:
            check_image_bytes(data, declared)
        return data

    def save_image(self, image: Any, path: str | os.PathLike[str], *, check: bool = True) -> Path:
        """Download (or decode) an output image and write it to ``path`` (a missing suffix is added from
        the type). Returns the path written. Raises as :meth:`download_image`."""
        data = self.download_image(image, check=check)
        _, declared = image_url_of(image)
        try:
            kind = declared or image_content_type(data)
        except ImageContentError:
            kind = "application/octet-stream"
        return write_image(data, path, kind)
