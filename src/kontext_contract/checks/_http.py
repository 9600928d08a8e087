"""The one way the checks talk to a provider: a recorded, redacted, budgeted HTTP session.

Every request goes through :meth:`Session.send` (or :meth:`Session.stream`, :meth:`Session.download`),
which

- attaches ``Authorization`` only to URLs on the provider's own origins (the base URL's and the
  synchronous API's), so the key never goes to another host: queue URLs on a foreign host are rebased onto
  the base URL first (docs/sources.md §2.14; the same rule as the client's ``Provider.adopt_url``);
- counts paid submits against a hard cap and refuses one over it (:class:`BudgetExceeded`);
- records an :class:`Exchange` with every text already redacted (the key, and its id and secret halves);
- never follows redirects, and never retries a submit (a retry could be billed twice).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from .._redact import LogRedaction as _RedactLogs
from .._redact import Redactor
from ..client._client import decoded_body
from ..client._images import decode_data_uri
from ..client._providers import Provider, Secret
from ..client._sse import LineSplitter, SSEDecoder

__all__ = [
    "Budget",
    "BudgetExceeded",
    "Download",
    "Exchange",
    "MissingEvidence",
    "ProviderUnreachable",
    "Redactor",
    "Session",
    "StreamTrace",
    "brief",
]

log = logging.getLogger("kontext_contract.checks")

#: the largest answer (a body, an image) the checks read, bytes: the rest of a larger one is not read
MAX_DOWNLOAD = 64 * 1024 * 1024
#: the longest line of a status stream, bytes: a stream that sends more without a newline is cut off
MAX_STREAM_LINE = 256 * 1024
_RETRY_STATUSES = (429, 502, 503, 504)


class ProviderUnreachable(Exception):
    """No HTTP answer: the base URL cannot be reached, or the connection broke. The message is redacted."""


class MissingEvidence(Exception):
    """A replay (``check --replay``) has no recorded answer for a request the checks send now, or holds only
    its digest (a body over the recording's size bound). The checks that need it are SKIP with this
    message as the reason; nothing is sent anywhere."""


class BudgetExceeded(Exception):
    """A paid submit would go over ``--max-paid-submits``; nothing was sent."""


@dataclass
class Budget:
    """The paid-submit cap: ``spent`` never exceeds ``cap``.

    A submit (or synchronous run) counts when it is sent; it is given back when the provider rejects it
    before queueing (a 4xx answer), since then the model never ran.
    """

    cap: int
    spent: int = 0

    def take(self) -> None:
        if self.spent >= self.cap:
            raise BudgetExceeded(f"the paid-submit cap of {self.cap} is reached")
        self.spent += 1

    def give_back(self) -> None:
        self.spent = max(0, self.spent - 1)


def _short(value: Any) -> Any:
    if isinstance(value, str):
        if value.startswith("data:") and len(value) > 48:
            head = value.split(",", 1)[0]
            return f"{head},…({len(value)} chars)"
        return value if len(value) <= 120 else value[:117] + "..."
    if isinstance(value, list):
        return [_short(v) for v in value[:8]] + (["…"] if len(value) > 8 else [])
    if isinstance(value, dict):
        return {str(k): _short(v) for k, v in value.items()}
    return value


def brief(value: Any, limit: int = 240) -> str:
    """A compact one-line JSON text of ``value``: long strings and ``data:`` URIs shortened, at most
    ``limit`` characters."""
    try:
        text = json.dumps(_short(value), separators=(",", ":"), ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Exchange:
    """One request and its answer, as the checks saw them (every text redacted).

    Attributes:
        label: what the request was for (``submit``, ``status logs=1``, ``result``, ...).
        operation: the contract's operationId it exercises, or None (an image download).
        method, url: what was requested; ``shown`` is the URL as evidence shows it (a path on the base URL).
        sent: a summary of the request body, or ``""``.
        status: the HTTP status, or None when there was no answer.
        headers: the response headers, lower-case names.
        content_type: the media type of the answer, without parameters.
        body: the parsed JSON answer, or None; ``is_json`` says whether it parsed.
        text: the first characters of the answer as text.
        rebased_from: the URL the provider returned when the checker moved it onto the base URL.
        auth: the Authorization scheme sent (``Key``, ``Bearer``), or None when no key was sent.
        paid: whether it counted as a paid submit.
    """

    label: str
    operation: str | None
    method: str
    url: str
    shown: str
    sent: str = ""
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = ""
    body: Any = None
    is_json: bool = False
    text: str = ""
    rebased_from: str | None = None
    auth: str | None = None
    paid: bool = False
    base: str = field(default="", repr=False)

    def request_line(self, body: bool = False) -> str:
        """``METHOD shown-url`` (and the body's summary when ``body``)."""
        return f"{self.method} {self.shown}" + (f" {self.sent}" if body and self.sent else "")

    def answer(self, limit: int = 200) -> str:
        """``STATUS body`` in brief (URLs on the base URL shown as paths), or what came instead of JSON."""
        if self.status is None:
            return "no answer"
        if self.is_json:
            text = brief(self.body, 100_000)
            if self.base:
                text = text.replace(self.base, "")
            return f"{self.status} {text if len(text) <= limit else text[: limit - 1] + '…'}"
        kind = self.content_type or "no content type"
        snippet = " ".join(self.text.split())[:80]
        return f"{self.status} {kind} (not JSON): {snippet!r}"


@dataclass
class StreamTrace:
    """A status stream as read (docs/sources.md §3.1).

    Attributes:
        exchange: the request and the answer's status and headers (``body`` is the last event).
        events: every ``data:`` payload parsed as JSON (None where it did not parse), in order.
        raw_events: the payload texts.
        comments: how many comment lines (``: ping``) came.
        saw_terminal: an event with a terminal state came.
        closed_after_terminal: the server ended the stream within the grace period after it.
        error: why reading stopped early (a read timeout, the overall limit), or None.
    """

    exchange: Exchange
    events: list[Any] = field(default_factory=list)
    raw_events: list[str] = field(default_factory=list)
    comments: int = 0
    saw_terminal: bool = False
    closed_after_terminal: bool = False
    error: str | None = None
    #: a replay holds no answer for it: why (``status_stream_offered`` is then SKIP); else None
    missing: str | None = None


@dataclass(frozen=True)
class Download:
    """An image's bytes (from a URL or a ``data:`` URI) and the type the transport declared for them."""

    url: str
    data: bytes
    declared_type: str
    error: str | None = None
    #: True when a replay holds no bytes for it (``error`` says why): the checks reading it are SKIP
    missing: bool = False


def _read_bounded(response: httpx.Response, limit: int, deadline: float | None) -> bytes:
    """At most ``limit`` bytes of ``response``'s body (decoded), read until ``deadline`` (``time.monotonic()``;
    None: no deadline)."""
    chunks: list[bytes] = []
    size = 0
    with closing(decoded_body(response)) as pieces:
        for chunk in pieces:
            chunks.append(chunk)
            size += len(chunk)
            if size >= limit or (deadline is not None and time.monotonic() > deadline):
                break
    return b"".join(chunks)[:limit]


def _sleep(seconds: float, deadline: float | None) -> None:
    """Sleep ``seconds``, but not past ``deadline``."""
    if deadline is not None:
        seconds = min(seconds, max(0.0, deadline - time.monotonic()))
    time.sleep(seconds)


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port


def _is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


class Session:
    """An HTTP session bound to one provider.

    Args:
        base_url: the queue base URL (``https://queue.fal.run``, a relay's base URL, a mock's address).
        run_base_url: the synchronous API's base URL, or None.
        scheme: the Authorization scheme to send (``Key`` or ``Bearer``).
        key: the credential.
        budget: the paid-submit cap.
        timeout: seconds one attempt may wait (connect, each read, write): ``--http-timeout``.
        total_timeout: seconds one call may take with its retries (``--wait-timeout``); None: no bound
            beyond ``timeout`` per attempt.
        transport: an httpx transport (tests inject one; default: the network).
        retry_delay: seconds before the first retry of a status/result/cancel/download call answered with
            429/502/503/504 or without an answer (doubled each time, two retries; submits never retry).
        wrap: wraps every transport the session sends through (``check --record``'s
            :meth:`~._har.Recorder.wrap`), the network's and an environment proxy's alike.

    Raises:
        ValueError: a base URL that is not absolute http(s), or carries credentials.
    """

    def __init__(
        self,
        *,
        base_url: str,
        run_base_url: str | None,
        scheme: str,
        key: Secret,
        budget: Budget,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        retry_delay: float = 0.5,
        total_timeout: float | None = None,
        wrap: Callable[[httpx.BaseTransport], httpx.BaseTransport] | None = None,
    ) -> None:
        try:
            self.provider = Provider("checked", base_url, run_base_url, scheme, key, "rebase")
        except Exception as exc:  # ConfigurationError, with a redacted message
            raise ValueError(str(exc)) from None
        self.base_url = self.provider.queue_base_url
        self.run_base_url = self.provider.run_base_url
        self.scheme = scheme
        self._key = key
        self.redactor = Redactor(key.reveal())
        self._log_filter = _RedactLogs(self.redactor)
        self._log_filter.install()
        self.budget = budget
        self.retry_delay = retry_delay
        self.exchanges: list[Exchange] = []
        self.open_requests: dict[str, str] = {}
        self._timeout = timeout
        self._total = total_timeout
        loopback = _is_loopback(self.base_url)
        # On loopback (a local mock), a fresh connection costs ~1 ms, while a kept-alive one costs ~40 ms
        # per request when the server's accepted sockets lack TCP_NODELAY (Nagle meets delayed ACK).
        limits = httpx.Limits(max_keepalive_connections=0 if loopback else 20)
        if wrap is not None:
            transport = wrap(transport or httpx.HTTPTransport(limits=limits, trust_env=not loopback))
        self._http = httpx.Client(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            trust_env=not loopback,
            limits=limits,
        )
        if wrap is not None:  # the transports of environment proxies (HTTPS_PROXY, ...) are recorded too
            mounts = self._http._mounts
            for pattern, mounted in list(mounts.items()):
                if mounted is not None:
                    mounts[pattern] = wrap(mounted)

    def close(self) -> None:
        self._http.close()
        self._log_filter.remove()

    def _deadline(self) -> float | None:
        return None if self._total is None else time.monotonic() + self._total

    def _attempt_timeout(self, deadline: float | None) -> float | None:
        """Seconds the next attempt may take: ``timeout``, cut to what is left before ``deadline``; None
        when nothing is left."""
        if deadline is None:
            return self._timeout
        left = deadline - time.monotonic()
        return min(self._timeout, left) if left > 0.05 else None

    def _no_answer(self, what: str, reason: str, attempts: int) -> str:
        bound = f"--http-timeout {self._timeout:g} s per attempt" + (
            f", --wait-timeout {self._total:g} s in all" if self._total is not None else ""
        )
        return self.redactor.text(f"{what}: no answer after {attempts} attempt(s) ({bound}): {reason}")

    # -- URLs ----------------------------------------------------------------------------------------

    def owns(self, url: str) -> bool:
        """Whether ``url`` is on the provider's own origins (so the key may be sent there)."""
        return self.provider.owns(url)

    def on_base(self, url: str) -> bool:
        return _origin(url) == _origin(self.base_url)

    def show(self, url: str) -> str:
        """``url`` as evidence shows it: its path (and query) when on the base URL, else the whole URL."""
        url = self.redactor.text(url)
        if self.on_base(url):
            parts = urlsplit(url)
            base_path = urlsplit(self.base_url).path
            path = (
                parts.path[len(base_path) :] if base_path and parts.path.startswith(base_path) else parts.path
            )
            return (path or "/") + (f"?{parts.query}" if parts.query else "")
        if self.run_base_url and _origin(url) == _origin(self.run_base_url):
            return "<run>" + urlsplit(url).path[len(urlsplit(self.run_base_url).path) :]
        return url

    def adopt(self, url: str) -> tuple[str, bool]:
        """A request URL the provider returned, made safe to use: kept when on the provider's origins, else
        moved onto the base URL (path and query kept). Returns ``(url, rebased)``.

        Raises:
            ValueError: not an absolute http(s) URL nor a path.
        """
        try:
            return self.provider.adopt_url(url)
        except Exception as exc:  # ProviderIncompatibleError: not absolute
            raise ValueError(self.redactor.text(str(exc))) from None

    def url(self, path: str) -> str:
        """The base URL joined with ``path`` (which starts with ``/``)."""
        return self.base_url + path

    # -- requests ------------------------------------------------------------------------------------

    def _headers(self, url: str, scheme: str | None) -> dict[str, str]:
        headers = {"accept": "application/json"}
        if scheme is not None and self.owns(url):
            headers["authorization"] = f"{scheme} {self._key.reveal()}"
        return headers

    def _fill(self, exchange: Exchange, response: httpx.Response, content: bytes | None = None) -> None:
        exchange.status = response.status_code
        exchange.headers = {k.lower(): self.redactor.text(v) for k, v in response.headers.items()}
        exchange.content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        content = response.content if content is None else content
        try:
            exchange.body = self.redactor.deep(json.loads(content)) if content else None
            exchange.is_json = bool(content)
        except (ValueError, UnicodeDecodeError, RecursionError):
            exchange.body, exchange.is_json = None, False
        exchange.text = self.redactor.text(content[:300].decode("utf-8", "replace"))

    def send(
        self,
        method: str,
        url: str,
        *,
        label: str,
        operation: str | None = None,
        params: dict[str, str] | None = None,
        body: Any = None,
        paid: bool = False,
        scheme: str | bool | None = True,
        rebased_from: str | None = None,
    ) -> Exchange:
        """Send one request and record it.

        Args:
            method, url: what to request; ``url`` must be on the provider's origins when a key is sent.
            label: what it is for (shown in evidence).
            operation: the contract's operationId it exercises.
            params: query parameters.
            body: a JSON body.
            paid: a submit or synchronous run: counted against the budget, never retried.
            scheme: ``True`` the session's scheme, a string another scheme, ``None``/``False`` no key.
            rebased_from: the URL the provider returned, when ``url`` is its rebased form.

        Raises:
            BudgetExceeded: ``paid`` and the cap is reached (nothing is sent).
            ProviderUnreachable: no answer (after two retries for unpaid requests).
        """
        use_scheme: str | None = self.scheme if scheme is True else (scheme or None)
        if use_scheme is not None and not self.owns(url):
            raise RuntimeError("refusing to send the key to another origin: adopt() the URL first")
        full = url + (("&" if "?" in url else "?") + urlencode(params) if params else "")
        exchange = Exchange(
            label=label,
            operation=operation,
            method=method,
            url=full,
            shown=self.show(full),
            sent=brief(self.redactor.deep(body), 300) if body is not None else "",
            rebased_from=self.redactor.text(rebased_from) if rebased_from else None,
            auth=use_scheme,
            paid=paid,
            base=self.base_url,
        )
        if paid:
            self.budget.take()
        attempts = 1 if paid else 3
        delay = self.retry_delay
        deadline = self._deadline()
        last = "out of time"
        for attempt in range(attempts):
            timeout = self._attempt_timeout(deadline)
            if timeout is None:  # --wait-timeout spent on earlier attempts
                self.exchanges.append(exchange)
                raise ProviderUnreachable(self._no_answer(f"{method} {exchange.shown}", last, attempt))
            try:
                with self._http.stream(
                    method,
                    full,
                    headers=self._headers(full, use_scheme),
                    json=body if body is not None else None,
                    timeout=timeout,
                ) as response:  # read to MAX_DOWNLOAD at most: a relay answering without end is cut off
                    content = _read_bounded(response, MAX_DOWNLOAD, deadline)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
                if attempt + 1 < attempts:
                    _sleep(delay, deadline)
                    delay *= 2
                    continue
                self.exchanges.append(exchange)
                raise ProviderUnreachable(
                    self._no_answer(f"{method} {exchange.shown}", last, attempt + 1)
                ) from None
            if response.status_code in _RETRY_STATUSES and attempt + 1 < attempts:
                last = f"answered {response.status_code}"
                _sleep(min(delay, 5.0), deadline)
                if self._attempt_timeout(deadline) is not None:
                    delay *= 2
                    continue
            self._fill(exchange, response, content)
            break
        if paid and exchange.status is not None and 400 <= exchange.status < 500:
            self.budget.give_back()
            exchange.paid = False
        self.exchanges.append(exchange)
        log.debug("%s -> %s", exchange.request_line(), exchange.answer(120))
        return exchange

    def stream(
        self,
        url: str,
        *,
        label: str,
        operation: str,
        params: dict[str, str] | None,
        is_terminal: Callable[[Any], bool],
        limit: float,
        grace: float = 5.0,
        rebased_from: str | None = None,
    ) -> StreamTrace:
        """Read a Server-Sent Events status stream until the server closes it, ``limit`` seconds pass, or
        ``grace`` seconds pass after an event for which ``is_terminal`` is true.

        Raises:
            ProviderUnreachable: the connection could not be made.
        """
        full = url + (("&" if "?" in url else "?") + urlencode(params) if params else "")
        exchange = Exchange(
            label=label,
            operation=operation,
            method="GET",
            url=full,
            shown=self.show(full),
            rebased_from=self.redactor.text(rebased_from) if rebased_from else None,
            auth=self.scheme,
            base=self.base_url,
        )
        trace = StreamTrace(exchange)
        headers = self._headers(full, self.scheme)
        headers["accept"] = "text/event-stream"
        started = time.monotonic()
        terminal_at: float | None = None
        # each read waits at most this long; the deadline below is checked on every chunk, not every line,
        # so a stream that trickles bytes without a newline still ends at ``limit``
        read = min(max(grace, 1.0) + 15.0, max(limit, 0.1), self._timeout)
        timeout = httpx.Timeout(min(self._timeout, max(limit, 0.1)), read=read)
        try:
            with (
                self._http.stream("GET", full, headers=headers, timeout=timeout) as response,
                ExitStack() as stack,
            ):
                exchange.status = response.status_code
                exchange.headers = {k.lower(): self.redactor.text(v) for k, v in response.headers.items()}
                exchange.content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if response.status_code != 200 or exchange.content_type != "text/event-stream":
                    self._fill(exchange, response, _read_bounded(response, MAX_DOWNLOAD, started + limit))
                    self.exchanges.append(exchange)
                    return trace
                decoder = SSEDecoder()
                lines = LineSplitter(MAX_STREAM_LINE)
                closed = True
                for chunk in stack.enter_context(closing(decoded_body(response))):
                    now = time.monotonic()
                    for line in lines.feed(chunk):
                        if line.startswith(":"):
                            trace.comments += 1
                        data = decoder.feed(line)
                        if data is not None:
                            self._event(trace, data, is_terminal)
                            if trace.saw_terminal and terminal_at is None:
                                terminal_at = now
                    if lines.overflow:
                        closed = False
                        trace.error = f"a line longer than {MAX_STREAM_LINE} bytes without a newline"
                        break
                    if terminal_at is not None and now - terminal_at > grace:
                        closed = False
                        trace.error = f"still open {grace:g} s after the terminal event"
                        break
                    if now - started > limit:
                        closed = False
                        trace.error = f"still open after {limit:g} s"
                        break
                if closed:
                    for line in lines.close():
                        data = decoder.feed(line)
                        if data is not None:
                            self._event(trace, data, is_terminal)
                    rest = decoder.flush()
                    if rest is not None:
                        self._event(trace, rest, is_terminal)
                    trace.closed_after_terminal = trace.saw_terminal
        except MissingEvidence as exc:  # a replay without this stream: only its own check is SKIP
            trace.missing = str(exc)
            return trace
        except httpx.TimeoutException:
            trace.error = f"no data and no end of stream for {read:g} s (read timeout)"
        except httpx.HTTPError as exc:
            if exchange.status is None:
                self.exchanges.append(exchange)
                raise ProviderUnreachable(
                    self.redactor.text(f"GET {exchange.shown}: {type(exc).__name__}: {exc}")
                ) from None
            trace.error = self.redactor.text(f"{type(exc).__name__}: {exc}")
        exchange.body = trace.events[-1] if trace.events else None
        exchange.is_json = bool(trace.events) and trace.events[-1] is not None
        self.exchanges.append(exchange)
        log.debug("GET %s -> %s, %d events", exchange.shown, exchange.status, len(trace.events))
        return trace

    def _event(self, trace: StreamTrace, data: str, is_terminal: Callable[[Any], bool]) -> None:
        text = self.redactor.text(data)
        trace.raw_events.append(text[:300])
        try:
            value = self.redactor.deep(json.loads(data))
        except (ValueError, RecursionError):
            value = None
        trace.events.append(value)
        if value is not None and is_terminal(value):
            trace.saw_terminal = True

    def download(self, url: str) -> Download:
        """The bytes of an output image: decoded from a ``data:`` URI, or fetched (with the key only when the
        URL is on the provider's own origins; at most :data:`MAX_DOWNLOAD` bytes).

        Raises:
            ProviderUnreachable: the image's host could not be reached.
        """
        try:
            return self._download(url)
        except MissingEvidence as exc:
            return Download(self.show(url)[:80], b"", "", str(exc), missing=True)

    def _download(self, url: str) -> Download:
        if url.startswith("data:"):
            try:
                declared, data = decode_data_uri(url)
            except Exception as exc:  # ImageContentError
                return Download(url[:40], b"", "", f"not a readable data: URI ({exc})")
            return Download(url[:40] + "…", data, declared.lower())
        shown = self.show(url)
        headers = self._headers(url, self.scheme)
        delay = self.retry_delay
        deadline = self._deadline()
        last = "out of time"
        for attempt in range(3):
            timeout = self._attempt_timeout(deadline)
            if timeout is None:
                raise ProviderUnreachable(self._no_answer(f"GET {shown}", last, attempt))
            try:
                chunks: list[bytes] = []
                size = 0
                with (
                    self._http.stream("GET", url, headers=headers, timeout=timeout) as response,
                    ExitStack() as stack,
                ):
                    if response.status_code in _RETRY_STATUSES and attempt < 2:
                        last = f"answered {response.status_code}"
                        _sleep(min(delay, 5.0), deadline)
                        delay *= 2
                        continue
                    declared = response.headers.get("content-type", "").split(";")[0].strip().lower()
                    if response.status_code != 200:
                        return Download(shown, b"", declared, f"GET answered {response.status_code}")
                    for chunk in stack.enter_context(closing(decoded_body(response))):
                        size += len(chunk)
                        if size > MAX_DOWNLOAD:
                            return Download(shown, b"", declared, f"larger than {MAX_DOWNLOAD} bytes")
                        if deadline is not None and time.monotonic() > deadline:
                            return Download(
                                shown,
                                b"",
                                declared,
                                f"not downloaded within --wait-timeout {self._total:g} s",
                            )
                        chunks.append(chunk)
                return Download(shown, b"".join(chunks), declared)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
                if attempt < 2:
                    _sleep(delay, deadline)
                    delay *= 2
                    continue
                raise ProviderUnreachable(self._no_answer(f"GET {shown}", last, attempt + 1)) from None
        return Download(shown, b"", "", "no answer after retries")

    def cancel_open(self, method: str) -> int:
        """Best effort, after an interruption: send ``method`` (the contract's cancel method, PUT) to the cancel
        URL of every submitted request not yet seen COMPLETED, so that an interrupted run stops paying.
        Returns how many were asked."""
        asked = 0
        for cancel_url in list(self.open_requests.values()):
            try:
                self._http.request(
                    method, cancel_url, headers=self._headers(cancel_url, self.scheme), timeout=5.0
                )
                asked += 1
            except httpx.HTTPError:
                continue
        self.open_requests.clear()
        return asked
