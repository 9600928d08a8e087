"""One exception hierarchy for the client (the shape of httpx's ``_exceptions.py`` and openai-python's).

Every error carries ``status_code`` (``None`` when no HTTP answer was involved), ``request_id`` (the
queue request id, else the ``x-fal-request-id`` response header, else ``None``) and ``detail`` (the
``detail`` of the error body: a string, or for validation errors the FastAPI list of
``{"loc", "msg", "type"}`` items; docs/sources.md §3.2). Messages are built from those and are redacted: the
key of every live client (``kontext_contract._redact``) is replaced by ``****`` in the message, the
request id, ``detail``, ``body`` and ``headers`` when the error is made, and again in ``str()`` and
``repr()``, so a provider that echoes the ``Authorization`` header cannot put the key into an error.

    KontextError
    ├── ConfigurationError            bad base URL, unknown endpoint, ...
    │   └── MissingCredentialsError   no key given and none in the environment
    ├── ProviderIncompatibleError     the provider answered outside the contract, or lacks a feature
    ├── APIConnectionError            no HTTP answer (connect/read error, client-side timeout)
    │   ├── AmbiguousSubmitError      a submit/run failed after it may have reached the server: not retried
    │   └── UnreachableError          a submit/run could not connect, after the short connect retry: nothing sent
    ├── WaitTimeoutError              subscribe/get(timeout=...) elapsed before the request completed
    ├── RetriesExhausted              attempts or total time of the retry policy used up (``last_error``)
    ├── ImageContentError             image bytes do not match their content_type
    ├── JournalError                  the request journal cannot be read or written (nothing paid was sent)
    └── APIStatusError                an HTTP error answer
        ├── BadRequestError           400 other than "not completed"
        ├── NotCompletedError         400 from the result: the request has not completed
        ├── AuthenticationError       401
        │   └── PermissionDeniedError 403 (e.g. exhausted balance)
        ├── NotFoundError             404: unknown request id
        ├── PayloadTooLargeError      413
        ├── ValidationError           422 (or the client's own check before sending: status_code None)
        │   └── ContentPolicyViolationError   422 with type content_policy_violation
        ├── RateLimitError            429 (``retry_after`` in seconds)
        ├── RequestFailedError        the request completed with an error (failed, or cancelled)
        ├── RequestTimeoutError       504 with error_type request_timeout / startup_timeout
        └── ServiceUnavailableError   502/503/504 infrastructure or ingress errors (``ingress``)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._redact import redact, redact_deep
from ._headers import default_header_names

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "AmbiguousSubmitError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ContentPolicyViolationError",
    "ImageContentError",
    "JournalError",
    "KontextError",
    "MissingCredentialsError",
    "NotCompletedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "ProviderIncompatibleError",
    "RateLimitError",
    "RequestFailedError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "RetriesExhausted",
    "ServiceUnavailableError",
    "UnreachableError",
    "ValidationError",
    "WaitTimeoutError",
]

Detail = str | list[dict[str, Any]] | None


class KontextError(Exception):
    """Base of every error the client raises.

    Attributes:
        message: the text of ``str(error)`` (already redacted).
        status_code: HTTP status of the answer, or ``None``.
        request_id: the queue request id (or the ``x-fal-request-id`` header), or ``None``.
        detail: the error body's ``detail`` (string or list of validation items), or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        detail: Detail = None,
    ) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.request_id = redact(request_id) if isinstance(request_id, str) else request_id
        self.detail = redact_deep(detail)

    def __str__(self) -> str:
        return redact(self.message)

    def __repr__(self) -> str:
        return redact(
            f"{type(self).__name__}({self.message!r}, status_code={self.status_code!r}, "
            f"request_id={self.request_id!r})"
        )


class ConfigurationError(KontextError, ValueError):
    """The client or provider was configured wrongly (a bad base URL, an unknown endpoint id, ...).

    Attributes:
        field: the argument or setting it concerns (``"base_url"``, ``"queue_base_url"``,
            ``"run_base_url"``, ``"key"``, ``"endpoint_id"``), or ``None``; a command line maps it to its
            option (``kontext_contract.cli``), never by reading the message.
        problem: what is wrong, without the remedy a Python caller reads (``"the relay-b document names no
            host"``); defaults to the message.
    """

    def __init__(self, message: str, *, field: str | None = None, problem: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.problem = redact(problem) if problem is not None else self.message


class MissingCredentialsError(ConfigurationError):
    """No key was given and none was found in the provider's environment variables (docs/sources.md §3.4).

    Attributes:
        provider: the provider's name (``"fal"``, ``"relay-a"``, ...).
        variables: the variables the key is read from, as messages show them (``"FAL_KEY or
            FAL_KEY_ID+FAL_KEY_SECRET"``).
    """

    def __init__(self, provider: str, variables: str) -> None:
        super().__init__(
            f"no key for {provider}: pass key=, or set {variables} in the environment",
            field="key",
            problem=f"no key for {provider}: set {variables} in the environment",
        )
        self.provider = provider
        self.variables = variables


class ProviderIncompatibleError(KontextError):
    """The provider answered outside the contract (a missing field, an unknown status, a queue URL on a
    foreign host when ``on_foreign_url="raise"``), or lacks a feature (no synchronous API)."""


class ResponseTooLargeError(ProviderIncompatibleError):
    """An answer of the provider is larger than the client reads: a body (a queue status, a result, an
    image download, an error) over ``max_response_bytes``, or a status stream line or event over it. The
    rest was not read and the connection was closed; not retried (the same answer would come again). A
    submit's answer over the bound leaves the submit ambiguous in the journal, as any unreadable answer.

    Attributes:
        limit: the bound, bytes (the client's ``max_response_bytes``).
    """

    def __init__(self, message: str, *, limit: int, request_id: str | None = None) -> None:
        super().__init__(message, request_id=request_id)
        self.limit = limit


class APIConnectionError(KontextError):
    """No HTTP answer: the connection failed, broke, or a client-side timeout elapsed."""


class AmbiguousSubmitError(APIConnectionError):
    """A submit (or synchronous run) failed after the request may have reached the server.

    It was deliberately not retried: a retry could queue, and bill, the same job twice. Check the
    provider's request history, or submit again if a duplicate is acceptable.
    """


class UnreachableError(APIConnectionError):
    """A submit (or synchronous run) could not connect to the provider (connect error or connect timeout)
    on any attempt of the policy's short connect retry (``RetryPolicy.connect_attempts``,
    ``connect_budget``): nothing was sent, nothing is billed.

    Attributes:
        address: ``host:port`` that refused or did not answer the connection.
        url: the URL of the call (redacted).
        attempts: how many attempts were made.
    """

    def __init__(self, message: str, *, address: str, url: str, attempts: int) -> None:
        super().__init__(message)
        self.address = address
        self.url = url
        self.attempts = attempts


class JournalError(KontextError):
    """The request journal (docs/client.md "When the process dies") cannot be opened, read or written.

    Raised before a paid request is sent when its intent cannot be written: then nothing was sent.

    Attributes:
        path: the journal's file (or a backend's location).
        reason: ``corrupt``, ``schema``, ``readonly``, ``locked``, ``full``, ``missing`` or ``io``.
    """

    def __init__(self, path: str, reason: str, problem: str) -> None:
        super().__init__(f"journal {path}: {problem}")
        self.path = path
        self.reason = reason


class WaitTimeoutError(KontextError):
    """``subscribe``/``get(timeout=...)`` elapsed (seconds) before the request completed.

    Attributes:
        cancelled: whether a cancel was requested for the queue request before raising.
    """

    def __init__(self, message: str, *, request_id: str | None = None, cancelled: bool = False) -> None:
        super().__init__(message, request_id=request_id)
        self.cancelled = cancelled


class ImageContentError(KontextError):
    """The bytes of an image are not an image, or not of the ``content_type`` they were declared with."""


class APIStatusError(KontextError):
    """The provider answered with an HTTP error status.

    Attributes:
        error_type: ``error_type`` from the body or the ``X-Fal-Error-Type`` header (docs/sources.md §3.2), or ``None``.
        body: the parsed JSON body (or ``None`` for a non-JSON body such as an ingress HTML page).
        headers: the response headers that matter here (lower-case names): fal's ``x-fal-request-id``,
            ``x-fal-error-type``, ``x-fal-retryable``, ``x-fal-request-timeout-type``, ``retry-after``, under
            the names the contract gives them.
        header_names: header component of the contract (``RequestIdHeader``, ``ErrorType``, ``Retryable``,
            ``RequestTimeoutType``, ``RetryAfter``) -> its name in ``headers`` (client/_headers.py; default:
            the shipped contract's).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        detail: Detail = None,
        error_type: str | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        header_names: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, request_id=request_id, detail=detail)
        self.error_type = redact(error_type) if isinstance(error_type, str) else error_type
        self.body = redact_deep(body)
        self.headers: dict[str, str] = {k: redact(v) for k, v in (headers or {}).items()}
        self.header_names: Mapping[str, str] = (
            default_header_names() if header_names is None else dict(header_names)
        )

    def header(self, component: str) -> str | None:
        """The value of the contract's response header ``component`` (e.g. ``"RetryAfter"``), or None."""
        name = self.header_names.get(component)
        return None if name is None else self.headers.get(name)


class BadRequestError(APIStatusError):
    """HTTP 400 (other than the result's "not completed")."""


class NotCompletedError(APIStatusError):
    """HTTP 400 from the result URL: the request has not completed yet (docs/sources.md §3.1)."""


class AuthenticationError(APIStatusError):
    """HTTP 401: a missing or wrong key (e.g. "No user found for Key ID and Secret"; docs/sources.md §3.2)."""


class PermissionDeniedError(AuthenticationError):
    """HTTP 403: the account may not run requests (e.g. "User is locked. Reason: Exhausted balance")."""


class NotFoundError(APIStatusError):
    """HTTP 404: no request with this id (docs/sources.md §3.1)."""


class PayloadTooLargeError(APIStatusError):
    """HTTP 413: the request body is larger than the provider accepts (e.g. a large ``data:`` URI)."""


class ValidationError(APIStatusError):
    """The input is invalid: a 422 result (docs/sources.md §3.2), or the client's own check against the contract's
    JSON Schema before anything was sent (then ``status_code`` is ``None``).

    ``detail`` is always a list of ``{"loc": [...], "msg": str, "type": str}`` items (a 422 whose
    ``detail`` is one text gets one item at ``loc ["body"]``, ``type "value_error"``: :func:`validation_items`);
    ``fields`` lists the dotted field names they point at (without the leading ``body``).
    """

    @property
    def fields(self) -> list[str]:
        out: list[str] = []
        for item in self.detail if isinstance(self.detail, list) else []:
            loc = [str(part) for part in item.get("loc", [])]
            if loc and loc[0] == "body":
                loc = loc[1:]
            out.append(".".join(loc) or "<body>")
        return out


class ContentPolicyViolationError(ValidationError):
    """HTTP 422 whose detail has ``type: "content_policy_violation"``: the model refused the input."""


class RateLimitError(APIStatusError):
    """HTTP 429. ``retry_after``: the ``Retry-After`` header in seconds, or ``None``."""

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.header("RetryAfter"))


class RequestFailedError(APIStatusError):
    """The request ended ``COMPLETED`` with an ``error`` (docs/sources.md §3.1: failed and cancelled requests are
    COMPLETED too) and its result answered with an error. ``error_type`` is the status's, e.g. the
    mock's ``request_cancelled``; ``status_code`` the result's."""


class RequestTimeoutError(APIStatusError):
    """HTTP 504 (or 503) whose ``error_type`` is ``request_timeout`` or ``startup_timeout``: the request did
    not start in time (``X-Fal-Request-Timeout``; docs/sources.md §3.1, §3.2). ``timeout_type`` is ``"user"`` when
    the client's own ``X-Fal-Request-Timeout`` was exceeded."""

    @property
    def timeout_type(self) -> str | None:
        return self.header("RequestTimeoutType")


class ServiceUnavailableError(APIStatusError):
    """HTTP 502/503/504 of fal's infrastructure (``error_type`` e.g. runner_scheduling_failure) or of the
    ingress load balancer (``ingress`` true: no ``x-fal-request-id``, often an HTML body; docs/sources.md §3.2)."""

    @property
    def ingress(self) -> bool:
        return self.header("RequestIdHeader") is None and self.error_type is None


class RetriesExhausted(KontextError):
    """The retry policy's attempts or total time (seconds) were used up.

    Attributes:
        last_error: the error of the last attempt (an :class:`APIStatusError` or :class:`APIConnectionError`).
        attempts: how many attempts were made.
    """

    def __init__(self, message: str, *, last_error: KontextError, attempts: int) -> None:
        super().__init__(
            message,
            status_code=last_error.status_code,
            request_id=last_error.request_id,
            detail=last_error.detail,
        )
        self.last_error = last_error
        self.attempts = attempts


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), or ``None`` if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    import datetime as _dt

    return max(0.0, (when - _dt.datetime.now(_dt.UTC)).total_seconds())


def summarize_detail(detail: Detail, limit: int = 300) -> str:
    """A one-line text of an error ``detail`` for messages: the string, or ``field: msg`` items."""
    if detail is None:
        return ""
    if isinstance(detail, str):
        text = detail
    else:
        parts = []
        for item in detail:
            loc = [str(p) for p in item.get("loc", [])]
            if loc and loc[0] == "body":
                loc = loc[1:]
            parts.append(f"{'.'.join(loc) or '<body>'}: {item.get('msg', '')}")
        text = "; ".join(parts)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def validation_items(detail: Any) -> list[dict[str, Any]]:
    """The ``detail`` of a 422 answer as validation items. The contract's HTTPValidationError allows
    FastAPI's list or one text (custom 422 errors); a text becomes one item at ``loc ["body"]`` with
    ``type "value_error"``, as fal-js reads it (libs/client/src/response.ts, ValidationError.fieldErrors).
    Anything else (absent, another shape) becomes one such item with its text, or "invalid input"."""
    items = detail_items(detail)
    if items is not None:
        return items
    text = detail if isinstance(detail, str) and detail else None
    if text is None and detail is not None:
        text = str(detail)
    return [{"loc": ["body"], "msg": text or "invalid input", "type": "value_error"}]


def detail_items(detail: Any) -> list[dict[str, Any]] | None:
    """``detail`` as a list of validation items if it has that shape, else ``None``."""
    if isinstance(detail, Sequence) and not isinstance(detail, str | bytes):
        items = [dict(x) for x in detail if isinstance(x, Mapping)]
        if len(items) == len(detail):
            return items
    return None


def decode_json(content: bytes | str) -> Any:
    """Parse a provider's JSON answer.

    Raises:
        ValueError: not JSON, with why in plain words: not UTF-8, a syntax error (and where), nested too
            deeply (Python's recursion limit, about 1,000 levels), a number too long (over 4,300 digits).
    """
    try:
        return json.loads(content)
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at character {exc.pos}") from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more digits than int() converts
        raise ValueError(f"not JSON Python can read: {exc}") from None


def json_or_none(content: bytes) -> Any:
    """Parse JSON bytes, or ``None`` if they are not JSON (:func:`decode_json`)."""
    try:
        return decode_json(content)
    except ValueError:
        return None
