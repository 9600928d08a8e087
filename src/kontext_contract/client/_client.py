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
import dataclasses
import os
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any, Generic, TypeVar, Unpack, cast, overload

import httpx
from kontext_api.models import KontextEditOutput, KontextOutput, QueueStatusCompleted

from ..contract import COMPLETED, IN_QUEUE
from ._bodies import PIECE, BodyDecoder, BodyDecodingError
from ._concurrency import SyncIO
from ._core import (
    CANCEL_GRACE,
    MAX_RESPONSE_BYTES,
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
from ._errors import (
    AmbiguousSubmitError,
    ConfigurationError,
    ImageContentError,
    JournalError,
    KontextError,
    NotFoundError,
    ProviderIncompatibleError,
    RequestFailedError,
    WaitTimeoutError,
)
from ._images import check_image_bytes, decode_data_uri, image_content_type, image_url_of, write_image
from ._journal import (
    Entry,
    Intent,
    JournalBackend,
    canonical_digest,
    error_record,
    open_journal,
    outcome_of,
)
from ._providers import Provider
from ._retry import CallKind, RetryNotice, RetryPolicy
from ._sse import LineSplitter, SSEDecoder

__all__ = ["Client", "RequestHandle"]

OutT_co = TypeVar("OutT_co", bound=Output, covariant=True)

#: the response headers that framed the body on the wire, dropped once the body is read and decoded
_FRAMING = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def _declared_length(response: httpx.Response) -> int:
    """The Content-Length of ``response``, bytes, or -1 when it states none (or not a number)."""
    try:
        return int(response.headers.get("content-length", ""))
    except ValueError:
        return -1


def decoded_body(response: httpx.Response) -> Generator[bytes, None]:
    """The body of a streamed ``response``, decoded in bounded pieces (:class:`BodyDecoder`; an encoding
    it does not decode is left to httpx).

    Raises:
        httpx.DecodingError: the body does not decode as its Content-Encoding says (retried as httpx's own).
    """
    try:
        content = response.content  # read already (a transport that hands out read responses)
    except httpx.ResponseNotRead:
        pass
    else:
        for at in range(0, len(content), PIECE):
            yield content[at : at + PIECE]
        return
    decoder = BodyDecoder.for_encoding(response.headers.get("content-encoding"))
    if decoder is None:
        yield from response.iter_bytes()
        return
    try:
        for raw in response.iter_raw():
            for piece in decoder.feed(raw):
                yield piece
        for piece in decoder.end():
            yield piece
    except BodyDecodingError as exc:
        raise httpx.DecodingError(str(exc), request=response.request) from None


def _read_bounded(response: httpx.Response, limit: int) -> bytes | None:
    """The decoded body of a streamed ``response``, or ``None`` when it is over ``limit`` bytes, declared
    or decoded, so that a provider cannot grow memory past the bound (plus one :data:`PIECE`). The
    response is closed either way.

    Raises:
        httpx.HTTPError: the connection broke while reading, or the body does not decode (retried as any
            read error).
    """
    if _declared_length(response) > limit:
        response.close()
        return None
    chunks: list[bytes] = []
    size = 0
    try:
        with closing(decoded_body(response)) as pieces:
            for piece in pieces:
                size += len(piece)
                if size > limit:
                    return None
                chunks.append(piece)
    finally:
        response.close()
    return b"".join(chunks)


def _with_body(response: httpx.Response, body: bytes) -> httpx.Response:
    """``response`` as read: the same status, headers (less the wire framing) and request, with ``body``."""
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _FRAMING]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=response.request,
        extensions=response.extensions,
    )


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
        journal: a request journal: a file path (a :class:`Journal` is opened there, closed with the
            client) or any :class:`JournalBackend`. Every paid call (submit, run) is written to it before
            it is sent, then its handle, status changes, outcome and saved files; :meth:`pending` and
            :meth:`resume` pick up what a dead process left (docs/client.md "When the process dies").
            ``None`` (default): no journal.
        max_response_bytes: the largest answer read, bytes (default 64 MiB, at least 1024): a body (status,
            result, image download, error) or one status stream line or event. A larger one raises
            :class:`ResponseTooLargeError` with nothing more read, so a broken or hostile provider cannot
            exhaust memory (docs/client.md "Errors").

    Raises:
        JournalError: the journal cannot be opened (corrupt, another schema version, ...).
        ConfigurationError: ``max_response_bytes`` under 1024.

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
        journal: str | os.PathLike[str] | JournalBackend | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
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
            max_response_bytes=max_response_bytes,
        )
        self._owns_http = http_client is None
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._http = http_client or httpx.Client(
            transport=transport, timeout=self._core.queue_timeout, limits=limits, follow_redirects=False
        )
        self._slots = SyncIO.slots(limits.max_connections if http_client is None else None)
        self._stream_supported = self.provider.status_stream
        self._journal, self._owns_journal = open_journal(journal)
        #: the journal's one thread (async; the sync client writes in the calling thread)
        self._journal_io: ThreadPoolExecutor | None = SyncIO.worker() if self._journal is not None else None
        #: image URL of a journaled result -> its entry, so that save_image records the file (bounded)
        self._image_entries: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections (only those of the client's own httpx client), and the journal the
        client opened from a path."""
        if self._owns_http:
            self._http.close()
        SyncIO.close_worker(self._journal_io)  # the writes posted are made first
        self._journal_io = None
        if self._journal is not None and self._owns_journal:
            self._journal.close()

    @property
    def journal(self) -> JournalBackend | None:
        """The request journal (``journal=``), or None."""
        return self._journal

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
            request = self._http.build_request(
                method, target, content=content, headers=all_headers, timeout=request_timeout
            )
            try:
                with self._slots:
                    response = self._http.send(request, stream=True)
                    body = _read_bounded(response, core.max_response_bytes)
            except httpx.HTTPError as exc:
                core.check_limit(kind, what, exc)
                try:
                    delay = attempts.after_exception(exc)
                except KontextError as final:
                    raise core.redact_error(final) from core.safe_cause(exc)
                SyncIO.sleep(delay)
                continue
            if body is None:
                raise core.too_large(what, "body")
            response = _with_body(response, body)
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

    def _submit(
        self, endpoint_id: EndpointId, input: Any, options: QueueOptions, prepared: Any = None
    ) -> RequestRef:
        core = self._core
        info = core.info(str(endpoint_id))
        data = core.prepare(info, input) if prepared is None else prepared
        headers, params = core.queue_extras(options)
        url = self.provider.queue_url(info.submit_path)
        what = f"submit to {info.endpoint_id}"
        intent = self._intent("queue", info.endpoint_id, data, self.provider.queue_base_url)
        sent = False
        try:
            self._write_intent(intent)
            sent = True
            response = self._send(
                core.methods["submit"],
                url,
                kind="paid",
                what=what,
                content=core.encode(data),
                params=params or None,
                headers=headers,
            )
            if response.status_code >= 300:
                raise core.error_for(response, what)
            ref, _status = core.ref_from_submit(info, response)
        except BaseException as exc:
            self._record_unanswered(intent, exc, sent)
            raise
        if intent is None:
            return ref
        redact = core.redactor.text
        self._post(  # not awaited: the journal's thread writes it next, before anything later
            "the handle",
            self._journal_of().record_submitted,
            intent.id,
            redact(ref.request_id),
            redact(ref.status_url),
            redact(ref.response_url),
            redact(ref.cancel_url),
        )
        return dataclasses.replace(ref, journal_id=intent.id)

    # ---- the journal -----------------------------------------------------------------------------------

    def _journal_of(self) -> JournalBackend:
        if self._journal is None:
            raise ConfigurationError("this client has no journal: pass journal=PATH (or a Journal)")
        return self._journal

    def _intent(self, kind: str, endpoint_id: str, data: Any, base_url: str) -> Intent | None:
        """The intent of a paid call (None without a journal)."""
        if self._journal is None:
            return None
        return Intent(
            kind="run" if kind == "run" else "queue",
            endpoint_id=endpoint_id,
            input_digest=canonical_digest(data),
            provider=self.provider.name,
            base_url=base_url,
        )

    def _write_intent(self, intent: Intent | None) -> None:
        """Write the intent before the paid call is sent.

        Raises:
            JournalError: it could not be written; the paid request is not sent.
        """
        if intent is None:
            return
        try:
            SyncIO.offload(self._journal_io, self._journal_of().record_intent, intent)
        except JournalError as exc:
            exc.message += "; the paid request was not sent"
            exc.args = (exc.message,)
            raise

    def _logged(self, what: str, write: Callable[..., None]) -> Callable[..., None]:
        """``write`` whose failure is logged (with the entry's id and the request id, so nothing is lost
        from sight), never raised: once a paid request is sent, its answer matters more than its record."""

        def call(*args: Any) -> None:
            try:
                write(*args)
            except JournalError as exc:
                logger.error("could not record %s of entry %s (%s): %s", what, args[0], args[1:2], exc)

        return call

    def _record(self, what: str, write: Callable[..., None], *args: Any) -> None:
        """A journal write after the request was sent, awaited (see :meth:`_logged`)."""
        SyncIO.offload(self._journal_io, self._logged(what, write), *args)

    def _post(self, what: str, write: Callable[..., None], *args: Any) -> None:
        """A journal write after the request was sent, not awaited: the journal's one thread makes it
        before any later write (see :meth:`_logged`)."""
        SyncIO.post(self._journal_io, self._logged(what, write), *args)

    def _record_unanswered(self, intent: Intent | None, exc: BaseException, sent: bool) -> None:
        """A paid call without an answer to read: ``ambiguous`` when it may have reached the provider,
        ``failed`` when it provably did not (refused, an HTTP error answer, never sent)."""
        if intent is None or (not sent and isinstance(exc, JournalError)):
            return  # no intent was written
        ambiguous = sent and (
            isinstance(exc, AmbiguousSubmitError | ProviderIncompatibleError)
            or not isinstance(exc, KontextError)
        )
        reached = ambiguous or getattr(exc, "status_code", None) is not None
        state = "ambiguous" if ambiguous else "failed"
        self._record(
            f"the {state} outcome",
            self._record_outcome,
            intent.id,
            state,
            None,
            error_record(exc, sent=reached),
        )

    def _record_outcome(
        self,
        entry: str,
        state: str,
        result: Any,
        error: dict[str, Any] | None,
        request_id: str | None = None,
        queue_status: str | None = None,
    ) -> None:
        self._journal_of().record_outcome(
            entry, state, result=result, error=error, request_id=request_id, queue_status=queue_status
        )

    def _record_result(
        self,
        entry: str | None,
        output: Any,
        error: BaseException | None,
        request_id: str | None = None,
        completed: bool = False,
    ) -> None:
        """The outcome of a result call (or a run): ``completed`` with the output JSON, else the state
        :func:`outcome_of` gives the error (none when it may still be fetched)."""
        if entry is None:
            return
        if error is None:
            for image in getattr(output, "images", None) or []:
                url = getattr(image, "url", None)
                if isinstance(url, str):
                    if len(self._image_entries) >= 4096:
                        self._image_entries.clear()
                    self._image_entries[url] = entry
            result = self._core.redactor.deep(output.to_dict())
            self._record(
                "the result", self._record_outcome, entry, "completed", result, None, request_id, "COMPLETED"
            )
            return
        state = outcome_of(error)
        if state is not None:
            self._record(
                f"the {state} outcome",
                self._record_outcome,
                entry,
                state,
                None,
                error_record(error),
                None,
                "COMPLETED" if completed else None,
            )

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
        return self._core.parse_status(self._core.answer_json(response, what, ref.request_id), ref)

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
        try:
            response = self._send(
                self._core.methods["result"], ref.response_url, kind="idempotent", what=what, result_call=True
            )
            if response.status_code != 200:
                raise self._core.result_error(response, ref, completed)
            output = self._core.parse_output(ref.info, response, ref.request_id)
        except KontextError as exc:
            self._record_result(ref.journal_id, None, exc, None, completed is not None)
            raise
        self._record_result(ref.journal_id, output, None)
        return output

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
                    contextlib.ExitStack() as stack,
                ):
                    logger.debug("GET %s -> %s (stream)", url, response.status_code)
                    if stream_unsupported(response):
                        raise StreamUnavailable
                    if response.status_code >= 300:
                        body = _read_bounded(response, core.max_response_bytes)
                        if body is None:
                            raise core.too_large(what, "body", ref.request_id)
                        response = _with_body(response, body)
                        error = core.error_for(response, what, ref.request_id)
                        if not attempts.should_retry(response):
                            raise error
                        SyncIO.sleep(attempts.after_response(response, error))
                        continue
                    bound = core.max_response_bytes
                    if _declared_length(response) > bound:
                        raise core.too_large(what, "body", ref.request_id)
                    pieces = stack.enter_context(closing(decoded_body(response)))
                    decoder = SSEDecoder()
                    lines = LineSplitter(bound)
                    for chunk in pieces:
                        for line in lines.feed(chunk):
                            data = decoder.feed(line)
                            if decoder.pending > bound:
                                raise core.too_large(what, "event", ref.request_id)
                            if data is None:
                                continue
                            status = core.parse_event(data, ref)
                            yield status
                            if isinstance(status, QueueStatusCompleted):
                                return
                            # the stream works: a later break starts a fresh retry budget (a job may run
                            # for longer than RetryPolicy.total_timeout)
                            attempts = core.attempts("idempotent", what, url)
                        if lines.overflow:
                            raise core.too_large(what, "line", ref.request_id)
                    for line in lines.close():
                        decoder.feed(line)
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
        recorded = IN_QUEUE
        try:
            with SyncIO.deadline_guard(deadline):
                # run the generators to their end (they stop after COMPLETED), so each stream is closed
                for status in self._events(ref, with_logs, stream, polling, deadline):
                    if (
                        ref.journal_id is not None
                        and status.status != recorded
                        and status.status != COMPLETED
                    ):
                        # IN_QUEUE comes with the handle, COMPLETED with the outcome (one write each)
                        recorded = status.status
                        self._post("a status", self._journal_of().record_status, ref.journal_id, recorded)
                    if on_queue_update is not None:
                        on_queue_update(status)
                    last = status
        except NotFoundError as exc:
            self._record_result(ref.journal_id, None, exc)
            raise
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
        reuse: bool = ...,
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
        reuse: bool = ...,
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
        reuse: bool = ...,
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
        reuse: bool = False,
        **options: Unpack[QueueOptions],
    ) -> Any:
        """Submit, wait, and return the output -- fal-client's ``subscribe``, typed.

        Waits on the status stream (SSE) where the provider offers it -- the result is fetched the
        moment ``COMPLETED`` arrives -- else polls on the backing-off schedule ``polling``.

        Args:
            endpoint_id, input, options: as for :meth:`submit`.
            with_logs: ask for log lines in the statuses.
            on_enqueue: called with the request id once queued (with ``reuse``: the reused request's id).
            on_queue_update: called with every status (``queue_position`` while ``IN_QUEUE``, ``logs``).
            timeout: seconds to wait for completion; then :class:`WaitTimeoutError`. ``None``: no limit.
            cancel_on_abort: when the wait ends without completion (``timeout``, Ctrl-C, the awaiting
                task cancelled), ask the provider to cancel the request, so an abandoned job is not run
                (and billed) for nothing.
            stream: force or avoid the status stream (default: the provider's setting).
            reuse: with a journal: if it holds the same job -- endpoint, canonical input (sorted-key JSON
                of the validated input), provider and base URL -- completed, or pending and younger than
                fal's retention (docs/sources.md §3.9), return its result (waiting for it if pending)
                instead of paying again.

        Returns:
            ``KontextEditOutput`` (kontext, kontext/max) or ``KontextOutput`` (the others).

        Raises:
            the errors of :meth:`submit` and :meth:`result`, and WaitTimeoutError; ConfigurationError:
            ``reuse`` without a journal.
        """
        prepared = None
        if reuse:
            info = self._core.info(str(endpoint_id))
            prepared = self._core.prepare(info, input)
            journal = self._journal_of()
            found = SyncIO.offload(
                self._journal_io,
                journal.find_reusable,
                info.endpoint_id,
                canonical_digest(prepared),
                self.provider.name,
                self.provider.queue_base_url,
            )
            if found is not None and found.request_id is not None:
                logger.info("reusing request %s (%s) of the journal", found.request_id, found.state)
                if on_enqueue is not None:
                    on_enqueue(found.request_id)
                return self.resume(
                    found,
                    with_logs=with_logs,
                    on_queue_update=on_queue_update,
                    timeout=timeout,
                    stream=stream,
                )
        ref = self._submit(endpoint_id, input, options, prepared)
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
        data = core.prepare(info, input)
        headers = core.run_headers(request_timeout, runner_hint, object_lifecycle_seconds)
        what = f"run of {info.endpoint_id}"
        base = self.provider.run_base_url or self.provider.queue_base_url
        intent = self._intent("run", info.endpoint_id, data, base)
        request_id: str | None = None
        sent = False
        try:
            self._write_intent(intent)
            sent = True
            response = self._send(
                core.methods["run"],
                url,
                kind="paid",
                what=what,
                content=core.encode(data),
                headers=headers,
                timeout=core.timeouts.for_run(),
            )
            request_id = response.headers.get(core.request_id_header)
            if response.status_code != 200:
                raise core.error_for(response, what, result_call=True)
            output = core.parse_output(info, response, request_id)
        except BaseException as exc:
            if intent is not None:
                if request_id is None:
                    self._record_unanswered(intent, exc, sent)
                else:  # answered: the run's outcome (a synchronous run has no handle to ask again)
                    self._record(
                        "the outcome",
                        self._record_outcome,
                        intent.id,
                        "failed",
                        None,
                        error_record(exc),
                        core.redactor.text(request_id),
                    )
            raise
        self._record_result(
            None if intent is None else intent.id,
            output,
            None,
            None if request_id is None else core.redactor.text(request_id),
        )
        return output

    # ---- resuming from the journal ---------------------------------------------------------------------

    def pending(self, *, every_provider: bool = False) -> list[Entry]:
        """The journal's entries whose outcome is not recorded (state ``pending``), oldest first: those of
        this client's provider and base URL (``every_provider``: all). Ambiguous entries are not among
        them (see ``journal.entries(["ambiguous"])``).

        Raises:
            ConfigurationError: the client has no journal. JournalError: it cannot be read.
        """
        journal = self._journal_of()
        entries = SyncIO.offload(self._journal_io, journal.entries, ["pending"])
        return [e for e in entries if every_provider or self._resumable_here(e)]

    def _resumable_here(self, entry: Entry) -> bool:
        base = self.provider.queue_base_url if entry.kind == "queue" else self.provider.run_base_url
        return entry.provider == self.provider.name and entry.base_url == base

    def resume(
        self,
        entry: Entry | str,
        *,
        with_logs: bool = False,
        on_queue_update: Callable[[QueueStatus], object] | None = None,
        timeout: float | None = None,
        stream: bool | None = None,
        polling: Polling | None = None,
    ) -> Any:
        """The output of a journaled request, with no new submit: a completed entry's recorded result
        (no request made), or, for a pending one, wait for it (status stream, else polling) and fetch its
        result, recording both. An abandoned wait (``timeout``, Ctrl-C) does not cancel the request.

        Args:
            entry: an :class:`Entry`, or its id, id prefix or request id.
            timeout: seconds to wait at most (then :class:`WaitTimeoutError`; the entry stays pending).

        Raises:
            AmbiguousSubmitError: the entry is ambiguous (its request id was never read: it may or may not
                exist, and may have been billed; nothing is resubmitted), or still being submitted.
            RequestFailedError: the recorded outcome is a failure. NotFoundError: expired (the provider no
                longer knows it; a 404 now ends the entry so, once). ConfigurationError: the entry belongs
                to another provider or base URL, or the client has no journal. KeyError: no such entry.
        """
        journal = self._journal_of()
        if isinstance(entry, str):
            entry = SyncIO.offload(self._journal_io, journal.get, entry)
        core = self._core
        info = core.info(entry.endpoint_id)
        if not self._resumable_here(entry):
            raise ConfigurationError(
                f"entry {entry.id} was sent to {entry.provider} at {entry.base_url}; resume it with a client "
                f"for that provider (this one is {self.provider.name} at {self.provider.queue_base_url})"
            )
        if entry.state == "completed":
            return info.output_model.from_dict(entry.result)
        if entry.state == "failed":
            raise RequestFailedError(
                f"request {entry.request_id or entry.id} failed: {entry.explanation}",
                request_id=entry.request_id,
                status_code=(entry.error or {}).get("status_code"),
                detail=(entry.error or {}).get("detail"),
            )
        if entry.state == "expired":
            raise NotFoundError(entry.explanation, status_code=404, request_id=entry.request_id)
        if entry.state == "ambiguous" or entry.request_id is None or entry.kind != "queue":
            raise AmbiguousSubmitError(
                f"entry {entry.id} ({entry.endpoint_id}) cannot be resumed: "
                + (
                    entry.explanation
                    if entry.state == "ambiguous" or not entry.sending
                    else f"{entry.explanation}; its request id is not known yet"
                )
            )
        # the URLs recorded go through the provider's foreign-URL policy again: a journal is a file anyone
        # may have edited, and the key must still go only to the provider's own hosts
        ref = RequestRef(
            info,
            entry.request_id,
            core.adopt(entry.status_url) if entry.status_url else "",
            core.adopt(entry.response_url) if entry.response_url else "",
            core.adopt(entry.cancel_url) if entry.cancel_url else "",
            journal_id=entry.id,
        )
        if not (ref.status_url and ref.response_url and ref.cancel_url):
            ref = dataclasses.replace(core.ref_for(info.endpoint_id, entry.request_id), journal_id=entry.id)
        done = self._wait(ref, with_logs, on_queue_update, stream, timeout, False, polling)
        return self._result(ref, done)

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

    def save_image(
        self, image: Any, path: str | os.PathLike[str], *, check: bool = True, overwrite: bool = True
    ) -> Path:
        """Download (or decode) an output image and write it to ``path`` (a missing suffix is added from
        the type). Returns the path written. Raises as :meth:`download_image`; with ``overwrite=False``,
        ``FileExistsError`` when ``path`` exists (checked atomically: nothing is replaced)."""
        data = self.download_image(image, check=check)
        url, declared = image_url_of(image)
        try:
            kind = declared or image_content_type(data)
        except ImageContentError:
            kind = "application/octet-stream"
        written = write_image(data, path, kind, overwrite=overwrite)
        entry = self._image_entries.get(url)
        if entry is not None and self._journal is not None:
            self._record("a saved file", self._journal.record_files, entry, [str(written.absolute())])
        return written
