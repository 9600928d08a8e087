"""Retries that never pay twice.

Two kinds of call (docs/sources.md §3.1, §3.2, §3.5):

* **Idempotent** (status, result, status stream, cancel, image downloads): retried on transport errors,
  client-side timeouts, 408, 429 (honouring ``Retry-After``) and 502/503/504 -- except a result whose
  5xx *is* the request's outcome (it carries ``x-fal-request-id`` and an ``error_type``, and fal does
  not mark it ``X-Fal-Retryable: true``).
* **Paid** (submit, synchronous run): retried only when the request provably did not reach the
  application: the connection was never made (connect error, connect or pool timeout), 429 (the
  request was refused, not queued), or an ingress 502/503/504 of the load balancer (no
  ``x-fal-request-id``, no ``error_type``). A timeout or broken connection *after* the request was sent
  is ambiguous: it raises :class:`AmbiguousSubmitError` and is never retried.

Every retry waits ``min(max_delay, base_delay * multiplier ** (n-1))``, scaled by a random factor in
``[1 - jitter, 1 + jitter]``, and at least ``Retry-After`` when the server sent one. Attempts are
bounded by ``max_attempts`` and by ``total_timeout`` seconds from the first attempt. A paid call that
cannot even connect can be given a shorter bound (``connect_attempts``, ``connect_budget``): an
unreachable address then fails fast with :class:`UnreachableError` naming it (``kontext-contract
generate``: 3 attempts within 1.5 s instead of 8 over about 21 s).

This module does no I/O: :class:`Attempts` decides, the sync and async clients sleep and resend.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import httpx

from .._redact import redact
from ._errors import (
    AmbiguousSubmitError,
    APIConnectionError,
    APIStatusError,
    KontextError,
    RetriesExhausted,
    UnreachableError,
    parse_retry_after,
)
from ._headers import default_header_names

__all__ = ["Attempts", "CallKind", "RetryNotice", "RetryPolicy", "is_ingress_error"]

logger = logging.getLogger("kontext_contract.client")

CallKind = Literal["idempotent", "paid"]

_RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})
_INGRESS_STATUSES = frozenset({502, 503, 504})
# errors raised before a single byte of the request went out: safe to resend even a submit
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    Attributes:
        max_attempts: attempts in all, the first included (1 = never retry).
        base_delay: seconds before the first retry.
        multiplier: growth of the delay per retry.
        max_delay: cap of one delay, seconds.
        jitter: the delay is multiplied by a random factor in ``[1 - jitter, 1 + jitter]``.
        total_timeout: seconds from the first attempt after which no new attempt starts.
        max_retry_after: the longest ``Retry-After`` (seconds) the client will wait for; a longer one
            ends the retries at once.
        connect_attempts: attempts in all of a paid call (submit, run) whose connection was never made
            (connect error, connect or pool timeout: nothing was sent); then :class:`UnreachableError`.
            ``None``: ``max_attempts``, like any other retryable failure.
        connect_budget: seconds from the first attempt within which such a call may be retried (a retry
            whose delay would end later is not made); ``None``: ``total_timeout``.
    """

    max_attempts: int = 8
    base_delay: float = 0.2
    multiplier: float = 2.0
    max_delay: float = 10.0
    jitter: float = 0.5
    total_timeout: float = 120.0
    max_retry_after: float = 60.0
    connect_attempts: int | None = None
    connect_budget: float | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or (self.connect_attempts is not None and self.connect_attempts < 1):
            raise ValueError("max_attempts and connect_attempts must be at least 1")
        if self.connect_budget is not None and not self.connect_budget > 0:
            raise ValueError("connect_budget must be > 0 (seconds)")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be within 0..1")
        if self.base_delay < 0 or self.max_delay < 0 or self.total_timeout <= 0:
            raise ValueError("delays must be >= 0 and total_timeout > 0 (seconds)")

    @classmethod
    def none(cls) -> RetryPolicy:
        """Never retry."""
        return cls(max_attempts=1)

    def backoff(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """The delay in seconds before retry number ``retry`` (1-based), jitter included."""
        delay = min(self.max_delay, self.base_delay * self.multiplier ** (retry - 1))
        return delay * (1 - self.jitter + 2 * self.jitter * rand())


@dataclass(frozen=True)
class RetryNotice:
    """One retry about to happen, for ``Client(on_retry=...)`` (``kontext-contract generate`` prints it).

    Attributes:
        what: the call, e.g. ``"submit to fal-ai/flux-pro/kontext"`` or ``"status of request 1234"``.
        url: the URL that failed (redacted).
        reason: why: the transport error and its text (``"ConnectError: [Errno 111] Connection
            refused"``) or the HTTP status (``"HTTP 503"``), redacted.
        delay: seconds until the next attempt.
        attempt: the number of the next attempt (2 for the first retry).
        max_attempts: the policy's limit of attempts.
    """

    what: str
    url: str
    reason: str
    delay: float
    attempt: int
    max_attempts: int

    def __str__(self) -> str:
        return (
            f"retrying {self.what} ({self.url}) in {self.delay:.1f} s, attempt {self.attempt} of "
            f"{self.max_attempts}: {self.reason}"
        )


def is_ingress_error(response: httpx.Response, names: Mapping[str, str] | None = None) -> bool:
    """A 502/503/504 of the ingress load balancer: no ``x-fal-request-id`` and no ``X-Fal-Error-Type``
    (docs/sources.md §3.2). Such an answer means the request never reached fal's application.

    Args:
        response: the answer.
        names: the contract's header names (:func:`~._headers.header_names`; default: the shipped
            contract's).
    """
    names = default_header_names() if names is None else names
    carried = [names.get("RequestIdHeader"), names.get("ErrorType")]
    return response.status_code in _INGRESS_STATUSES and not any(
        name in response.headers for name in carried if name
    )


def _is_outcome(response: httpx.Response, names: Mapping[str, str]) -> bool:
    """A result 5xx that is the request's own outcome (e.g. request_timeout), not a passing failure."""
    request_id, error_type = names.get("RequestIdHeader"), names.get("ErrorType")
    retryable = names.get("Retryable")
    return (
        request_id is not None
        and error_type is not None
        and request_id in response.headers
        and error_type in response.headers
        and (retryable is None or response.headers.get(retryable, "").lower() != "true")
    )


class Attempts:
    """The retry state of one logical call.

    Args:
        policy: the limits.
        kind: ``"idempotent"`` or ``"paid"`` (see the module docstring).
        what: a short description for logs and errors, e.g. ``"GET status of 1234"`` (no secrets).
        result_call: the call fetches a result (its 5xx may be the request's outcome, not retried).
        deadline: a ``time.monotonic()`` instant (seconds) after which no attempt starts, when it comes
            before ``policy.total_timeout`` (a caller's time limit, see ``Client.time_limit``).
        url: the URL of the call, for the retry notices.
        on_retry: called with a :class:`RetryNotice` before each retry's sleep.
        header_names: the contract's names of the headers the rules read (:func:`~._headers.header_names`:
            the request id, error type, retryable and Retry-After headers; default: the shipped contract's).
    """

    def __init__(
        self,
        policy: RetryPolicy,
        kind: CallKind,
        what: str,
        *,
        result_call: bool = False,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
        deadline: float | None = None,
        url: str = "",
        on_retry: Callable[[RetryNotice], object] | None = None,
        header_names: Mapping[str, str] | None = None,
    ) -> None:
        self.header_names = default_header_names() if header_names is None else header_names
        self.policy = policy
        self.kind = kind
        self.what = what
        self.result_call = result_call
        self.attempt = 1
        self._clock = clock
        self._rand = rand
        self._started = clock()
        self._deadline = self._started + policy.total_timeout
        self._limited = deadline is not None and deadline < self._deadline
        if deadline is not None and self._limited:
            self._deadline = deadline
        self._url = url
        self._on_retry = on_retry

    def _next(
        self, reason: str, error: KontextError, retry_after: float | None = None, limit: int | None = None
    ) -> float:
        """Seconds to wait before the next attempt, or raise ``RetriesExhausted`` (``limit``: the attempts
        this kind of failure gets, shown in the notice; default ``max_attempts``)."""
        policy = self.policy
        if policy.max_attempts <= 1:
            raise error
        if self.attempt >= policy.max_attempts:
            raise RetriesExhausted(
                f"{self.what}: gave up after {self.attempt} attempts ({reason}): {error.message}",
                last_error=error,
                attempts=self.attempt,
            )
        delay = policy.backoff(self.attempt, self._rand)
        if retry_after is not None:
            if retry_after > policy.max_retry_after:
                raise RetriesExhausted(
                    f"{self.what}: the server asks to retry after {retry_after:.0f} s, more than "
                    f"max_retry_after={policy.max_retry_after:.0f} s: {error.message}",
                    last_error=error,
                    attempts=self.attempt,
                )
            delay = max(delay, retry_after)
        remaining = self._deadline - self._clock()
        if delay >= remaining:
            budget = (
                "the time limit" if self._limited else f"the retry budget of {policy.total_timeout:.0f} s"
            )
            raise RetriesExhausted(
                f"{self.what}: gave up after {self.attempt} attempts, {budget} is spent "
                f"({reason}): {error.message}",
                last_error=error,
                attempts=self.attempt,
            )
        self.attempt += 1
        notice = RetryNotice(
            self.what, redact(self._url), redact(reason), delay, self.attempt, limit or policy.max_attempts
        )
        logger.debug("%s", notice)
        if self._on_retry is not None:
            self._on_retry(notice)
        return delay

    def after_exception(self, exc: httpx.HTTPError) -> float:
        """Seconds to wait before resending after a transport error ``exc``.

        Raises:
            AmbiguousSubmitError: a paid call failed after it may have reached the server.
            APIConnectionError / RetriesExhausted: not retryable, or the budget is spent.
        """
        text = " ".join(str(exc).split())[:200]
        reason = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        if isinstance(exc, httpx.UnsupportedProtocol):
            raise APIConnectionError(f"{self.what} failed: {exc}") from exc
        if self.kind == "paid" and not isinstance(exc, _NOT_SENT):
            raise AmbiguousSubmitError(
                f"{self.what} failed with {type(exc).__name__} after the request may have reached the "
                f"server; not retried, so the job is not queued and billed twice. Check the provider's "
                f"request history before submitting again."
            ) from exc
        error = APIConnectionError(f"{self.what} failed: {type(exc).__name__}: {exc}")
        if not isinstance(exc, httpx.TransportError):
            raise error from exc
        limit = None
        if self.kind == "paid" and isinstance(exc, _NOT_SENT):
            self._unreachable_yet(reason, exc)
            limit = self.policy.connect_attempts
        try:
            return self._next(reason, error, limit=limit)
        except KontextError as final:
            raise final from exc

    def _unreachable_yet(self, reason: str, exc: httpx.HTTPError) -> None:
        """Raise :class:`UnreachableError` when the policy's connect bound of a paid call is reached."""
        policy = self.policy
        if policy.connect_attempts is None and policy.connect_budget is None:
            return
        elapsed = self._clock() - self._started
        attempts_left = self.attempt < (policy.connect_attempts or policy.max_attempts)
        # the longest the next delay can be (jitter included), so that the bound holds whatever is drawn
        longest = min(policy.max_delay, policy.base_delay * policy.multiplier ** (self.attempt - 1))
        longest *= 1 + policy.jitter
        in_time = policy.connect_budget is None or elapsed + longest <= policy.connect_budget
        if attempts_left and in_time:
            return
        parts = urlsplit(self._url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
        address = f"{parts.hostname}:{port}" if parts.hostname else (self._url or "the provider")
        raise UnreachableError(
            f"{self.what}: cannot connect to {address} ({redact(reason)}), {self.attempt} attempt(s) in "
            f"{elapsed:.1f} s; nothing was sent",
            address=address,
            url=redact(self._url),
            attempts=self.attempt,
        ) from exc

    def should_retry(self, response: httpx.Response) -> bool:
        """Whether this answer is retryable for this kind of call (not counting the budget)."""
        status = response.status_code
        if status not in _RETRY_STATUSES:
            return False
        if self.kind == "paid":
            return status == 429 or is_ingress_error(response, self.header_names)
        return not (
            self.result_call and status in _INGRESS_STATUSES and _is_outcome(response, self.header_names)
        )

    def after_response(self, response: httpx.Response, error: APIStatusError) -> float:
        """Seconds to wait before resending after the retryable error answer ``response`` (``error`` is
        what it maps to).

        Raises:
            the ``error`` itself when retries are off, else RetriesExhausted when the budget is spent.
        """
        retry_after = parse_retry_after(response.headers.get(self.header_names["RetryAfter"]))
        return self._next(f"HTTP {response.status_code}", error, retry_after)
