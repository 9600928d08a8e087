"""What the sync and async clients share: requests to build, answers to read, errors to raise. No I/O."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypedDict, cast

import httpx
import kontext_api.models as _models
from kontext_api.models import QueueStatusCompleted, QueueStatusInProgress, QueueStatusInQueue

from .. import __version__
from .._openapi import fold
from .._redact import Redactor, register
from ..contract import URL_FIELDS, ContractModel, Operation
from ._endpoints import Catalog, EndpointInfo, catalog
from ._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ContentPolicyViolationError,
    KontextError,
    NotCompletedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ProviderIncompatibleError,
    RateLimitError,
    RequestFailedError,
    RequestTimeoutError,
    ResponseTooLargeError,
    ServiceUnavailableError,
    ValidationError,
    WaitTimeoutError,
    decode_json,
    detail_items,
    json_or_none,
    summarize_detail,
    validation_items,
)
from ._headers import header_names
from ._providers import Provider
from ._retry import Attempts, CallKind, RetryNotice, RetryPolicy
from ._validation import InputValidator

__all__ = [
    "MAX_RESPONSE_BYTES",
    "Core",
    "DeadlineReached",
    "Polling",
    "QueueOptions",
    "QueueStatus",
    "RequestRef",
    "StreamUnavailable",
    "Timeouts",
    "logger",
    "stream_unsupported",
    "time_limit",
]

logger = logging.getLogger("kontext_contract.client")

QueueStatus = QueueStatusInQueue | QueueStatusInProgress | QueueStatusCompleted
StatusCallback = Callable[[QueueStatus], object]

_URL_FIELDS = tuple(URL_FIELDS)
#: the response headers an error keeps: these of the contract's (by component), then HTTP's own
_HTTP_HEADERS = ("content-type",)
_TIMEOUT_TYPES = frozenset({"request_timeout", "startup_timeout"})
_STREAM_UNSUPPORTED = frozenset({404, 405, 406, 501})
#: the largest answer the client reads by default, bytes: a body, or a status stream line or event. An
#: output of four 2-megapixel PNGs inlined as data: URIs (``sync_mode``) is about 40 MB.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024


#: the ``time.monotonic()`` instant by which every request in this context must end (``time_limit``)
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("kontext_deadline", default=None)
#: seconds a best-effort cancel may take after the time limit has passed (``cancel_on_abort``)
CANCEL_GRACE = 2.0


@contextlib.contextmanager
def time_limit(seconds: float | None, *, replace: bool = False) -> Iterator[None]:
    """Within the block, every request of a client ends by ``seconds`` from now: each request's connect,
    read, write and pool timeouts are capped at the time left, retries stop when it is spent, and a
    wait ends then. An inner limit never extends an outer one unless ``replace`` (used for the short
    cancel after a limit has passed). ``None``: no limit. Context-local (``contextvars``): threads and
    asyncio tasks started inside do not inherit it unless they copy the context.

    Raises:
        ValueError: ``seconds`` is not a positive number.
    """
    if seconds is None:
        yield
        return
    if not seconds > 0:
        raise ValueError(f"a time limit must be > 0 seconds, got {seconds!r}")
    deadline = time.monotonic() + seconds
    outer = _DEADLINE.get()
    if outer is not None and not replace:
        deadline = min(deadline, outer)
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def current_deadline(deadline: float | None = None) -> float | None:
    """The earlier of ``deadline`` and the context's time limit (``time.monotonic()`` seconds), or None."""
    limit = _DEADLINE.get()
    if limit is None:
        return deadline
    return limit if deadline is None else min(limit, deadline)


class StreamUnavailable(Exception):
    """The provider does not serve the status stream (internal signal: fall back to polling)."""


class DeadlineReached(Exception):
    """The caller's wait deadline passed (internal signal, becomes WaitTimeoutError)."""


def stream_unsupported(response: httpx.Response) -> bool:
    """Whether a status stream answer means "no stream here": 404/405/406/501, or 200 but not SSE."""
    if response.status_code in _STREAM_UNSUPPORTED:
        return True
    kind = response.headers.get("content-type", "")
    return response.status_code == 200 and not kind.startswith("text/event-stream")


def _request_timeout_minimum(contract: Path) -> float:
    model = catalog(contract).model
    param = (model.document.get("components") or {}).get("parameters", {}).get("RequestTimeout") or {}
    schema = fold(model.document, param.get("schema"))
    if not isinstance(schema.get("minimum"), int | float):
        raise ConfigurationError(
            f"{contract}: $.components.parameters.RequestTimeout.schema.minimum: expected a number, found "
            f"{schema.get('minimum')!r}"
        )
    return float(schema["minimum"])


def request_timeout_minimum(contract: Path | None = None) -> float:
    """Seconds an ``X-Fal-Request-Timeout`` must exceed: the ``RequestTimeout`` minimum (exclusive) of the
    contract at ``contract`` (default: the project's); 1 second, as fal-js ``headers.ts`` and fal_client
    ``_headers.py`` require.

    Raises:
        ConfigurationError: the contract states no such minimum.
    """
    return _request_timeout_minimum((contract or catalog().path).resolve())


#: each submit option and the contract's parameter (``#/components/parameters/<name>``) it is sent as
_OPTION_PARAMETERS = {
    "webhook_url": "FalWebhook",
    "request_timeout": "RequestTimeout",
    "priority": "QueuePriority",
    "no_retry": "NoRetry",
    "runner_hint": "RunnerHint",
    "object_lifecycle_seconds": "ObjectLifecycle",
}


def _parameter_text(option: str, value: object, param: Mapping[str, Any], model: ContractModel) -> str:
    """The text of an option's value as its parameter takes it, checked against the parameter's schema.

    Raises:
        ValueError: the schema refuses the value (the message names the option and the parameter).
    """
    schema = param.get("schema") or {}
    if option == "no_retry":
        enum = fold(model.document, schema).get("enum") or ["1"]
        return str(enum[0])
    if option == "object_lifecycle_seconds":
        return json.dumps({"expiration_duration_seconds": int(cast("int", value))})
    if option == "request_timeout":
        return f"{float(cast('float', value)):g}"
    text = str(value)
    problems = model.validator(schema).messages(text, limit=1)
    if problems:
        raise ValueError(f"{option}={text!r} is refused by the contract's {param['name']}: {problems[0]}")
    return text


class QueueOptions(TypedDict, total=False):
    """Options of a queue submit (docs/sources.md §3.1), as keyword arguments of ``submit``/``subscribe``.

    Keys:
        webhook_url: fal POSTs the outcome there when done (query ``fal_webhook``).
        request_timeout: seconds the request may wait before it starts (``X-Fal-Request-Timeout``); past
            it the request fails with 504 ``request_timeout`` (:class:`RequestTimeoutError`).
        priority: ``"normal"`` or ``"low"`` (``X-Fal-Queue-Priority``).
        no_retry: ask fal not to retry the request server-side (``x-fal-no-retry: 1``).
        runner_hint: a routing hint (``X-Fal-Runner-Hint``).
        object_lifecycle_seconds: how long fal keeps the output files, seconds
            (``X-Fal-Object-Lifecycle-Preference``).
    """

    webhook_url: str
    request_timeout: float
    priority: Literal["normal", "low"]
    no_retry: bool
    runner_hint: str
    object_lifecycle_seconds: int


@dataclass(frozen=True)
class Polling:
    """The polling schedule used when the status stream is not available.

    The first poll waits ``interval`` seconds; each later wait is multiplied by ``multiplier`` up to
    ``max_interval`` seconds, and starts again from ``interval`` whenever the status or the queue
    position changes. fal-client polls every 0.1 s, unchanging (docs/sources.md §3.6).
    """

    interval: float = 0.1
    max_interval: float = 2.0
    multiplier: float = 1.5

    def __post_init__(self) -> None:
        if self.interval <= 0 or self.max_interval < self.interval or self.multiplier < 1:
            raise ValueError("need 0 < interval <= max_interval and multiplier >= 1")


@dataclass(frozen=True)
class Timeouts:
    """Client-side timeouts in seconds.

    Attributes:
        connect: to open a connection.
        read: for one answer of a queue call (submit, status, result, cancel).
        stream: longest silence on the status stream (fal pings every ~15 s) before reconnecting.
        run: for the synchronous API, which answers only when the output is ready; ``None`` = no limit.
        pool: to wait for a free connection of the client's own pool (``limits``); ``None`` = no limit,
            as the wait is a queue inside this process (many concurrent subscribes each hold a stream).
    """

    connect: float = 10.0
    read: float = 60.0
    stream: float = 60.0
    run: float | None = 600.0
    pool: float | None = None

    def queue(self) -> httpx.Timeout:
        return httpx.Timeout(self.read, connect=self.connect, pool=self.pool)

    def for_stream(self, limit: float | None = None) -> httpx.Timeout:
        read = self.stream if limit is None else max(0.001, min(self.stream, limit))
        return httpx.Timeout(read, connect=self.connect, pool=self.pool)

    def for_run(self) -> httpx.Timeout:
        return httpx.Timeout(self.run, connect=self.connect, pool=self.pool)


@dataclass(frozen=True)
class RequestRef:
    """One queue request: its endpoint, id and the (provider-safe) URLs to ask next."""

    info: EndpointInfo
    request_id: str
    status_url: str
    response_url: str
    cancel_url: str
    #: the request's entry in the client's journal (docs/client.md "When the process dies"), if any
    journal_id: str | None = None


class Core:
    """The shared, I/O-free half of :class:`Client` and :class:`AsyncClient`."""

    def __init__(
        self,
        provider: Provider,
        *,
        contract: Path | None,
        validate: bool,
        allow_extra_fields: bool,
        retry: RetryPolicy,
        polling: Polling,
        timeouts: Timeouts,
        on_retry: Callable[[RetryNotice], object] | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        if max_response_bytes < 1024:
            raise ConfigurationError(
                f"max_response_bytes must be at least 1024 bytes, not {max_response_bytes}"
            )
        self.provider = provider
        self.on_retry = on_retry
        self.max_response_bytes = max_response_bytes
        self.catalog: Catalog = catalog(contract)
        #: queue state -> the generated model of its status schema (the contract model's state_schemas)
        self.status_models: dict[str, Any] = {
            state: model
            for state, name in self.catalog.model.state_schemas.items()
            if (model := getattr(_models, name, None)) is not None
        }
        model = self.catalog.model
        #: the contract's names for what the client reads and sends (docs/pipeline.md "The contract model")
        self.request_id_header = model.request_id_header
        #: role (submit, run, status, status-stream, result, cancel) -> its HTTP method in the contract
        self.methods = {op.role: op.method for op in reversed(list(model.operations.values()))}
        self._logs = model.find_parameter("Logs")
        #: header component -> its name, for the retry rules and the errors (client/_headers.py)
        self.header_names = header_names(model)
        self._error_type_header = self.header_names.get("ErrorType")
        self._kept_headers = tuple(dict.fromkeys([*self.header_names.values(), *_HTTP_HEADERS]))
        self.validate = validate
        self.validator = InputValidator(self.catalog, allow_extra_fields=allow_extra_fields)
        self.retry = retry
        self.polling = polling
        self.timeouts = timeouts
        #: redacts the key everywhere in the process while this client lives (errors, logs of the client
        #: and of httpx/httpcore): a provider may echo it back in any header, id, status or event
        self.redactor = register(Redactor(provider.key.reveal()))
        self._auth_headers = {
            "Authorization": provider.authorization,
            "User-Agent": f"kontext-contract/{__version__}",
        }
        self._plain_headers = {"User-Agent": f"kontext-contract/{__version__}"}
        self._warned_hosts: set[str] = set()
        self._owned: dict[str, bool] = {}
        #: (endpoint id, request id) -> its RequestRef: a poll or a repeated status/result call does not
        #: rebuild the URLs from the contract's path templates each time (bounded, cleared when full)
        self._refs: dict[tuple[str, str], RequestRef] = {}
        #: (URL, query) -> the parsed httpx.URL: httpx parses a string URL (and merges params) on every
        #: request, a third of a status call's client CPU (bench/bench_client.py)
        self._urls: dict[tuple[str, tuple[tuple[str, str], ...]], httpx.URL] = {}
        self.queue_timeout = timeouts.queue()

    # ---- requests ------------------------------------------------------------------------------------

    def headers_for(self, url: str) -> dict[str, str]:
        """Headers for a request to ``url``: the key only if ``url`` is on the provider's own origins."""
        end = url.find("/", url.find("//") + 2)
        prefix = url if end < 0 else url[:end]  # scheme://host:port, the decision depends on nothing else
        owned = self._owned.get(prefix)
        if owned is None:
            owned = self._owned[prefix] = self.provider.owns(url)
            if len(self._owned) > 256:
                self._owned.clear()
        return dict(self._auth_headers if owned else self._plain_headers)

    def target(self, url: str, params: Mapping[str, str] | None = None) -> httpx.URL:
        """``url`` with ``params`` merged into its query, parsed once (bounded cache, cleared when full)."""
        key = (url, tuple(params.items()) if params else ())
        parsed = self._urls.get(key)
        if parsed is None:
            parsed = httpx.URL(url)
            if params:
                parsed = parsed.copy_merge_params(dict(params))
            if len(self._urls) >= 1024:
                self._urls.clear()
            self._urls[key] = parsed
        return parsed

    def attempts(self, kind: CallKind, what: str, url: str, *, result_call: bool = False) -> Attempts:
        """The retry state of one call, bounded by the context's time limit (:func:`time_limit`)."""
        return Attempts(
            self.retry,
            kind,
            what,
            result_call=result_call,
            deadline=current_deadline(),
            url=url,
            on_retry=self.on_retry,
            header_names=self.header_names,
        )

    @staticmethod
    def capped(timeout: httpx.Timeout, what: str, deadline: float | None = None) -> httpx.Timeout:
        """``timeout`` with each part capped at the time left before the earlier of ``deadline`` and the
        context's time limit (seconds).

        Raises:
            WaitTimeoutError: that time is already spent (nothing is sent).
        """
        limit = current_deadline(deadline)
        if limit is None:
            return timeout
        left = limit - time.monotonic()
        if left <= 0:
            raise WaitTimeoutError(f"{what}: the time limit was reached before it could be sent")

        def cap(value: float | None) -> float:
            return left if value is None else min(value, left)

        return httpx.Timeout(
            connect=cap(timeout.connect),
            read=cap(timeout.read),
            write=cap(timeout.write),
            pool=cap(timeout.pool),
        )

    def check_limit(self, kind: CallKind, what: str, exc: httpx.HTTPError) -> None:
        """After a transport error of an idempotent call: raise :class:`WaitTimeoutError` when the
        context's time limit has passed (a paid call is left to the retry rules, which know whether
        it may have been sent)."""
        limit = current_deadline()
        if kind == "idempotent" and limit is not None and time.monotonic() >= limit:
            raise WaitTimeoutError(
                f"{what}: the time limit was reached ({type(exc).__name__})"
            ) from self.safe_cause(exc)

    def info(self, endpoint_id: str) -> EndpointInfo:
        return self.catalog.get(str(endpoint_id))

    def body(self, info: EndpointInfo, value: Any) -> bytes:
        """The JSON body of ``value``, validated against the contract unless ``validate`` is off."""
        return self.encode(self.prepare(info, value))

    def prepare(self, info: EndpointInfo, value: Any) -> Any:
        """``value`` as the JSON-ready input sent, validated against the contract unless ``validate`` is off."""
        if self.validate:
            return self.validator.prepare(info, value)
        if isinstance(value, Mapping):
            return dict(value)
        return value.to_dict()

    @staticmethod
    def encode(data: Any) -> bytes:
        """The request body of a prepared input (compact JSON)."""
        return json.dumps(data, separators=(",", ":")).encode()

    def queue_extras(
        self, options: QueueOptions, operation: Operation | None = None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """``(headers, params)`` for the submit options (docs/sources.md §3.1). Each option is a parameter
        of the contract (:data:`_OPTION_PARAMETERS`): its header or query name, where it goes and its schema
        (checked here) are the operation's, so a renamed header in the contract reaches the client.

        Args:
            options: the options given.
            operation: the operation sent (default: the first endpoint's submit; all take the same).

        Raises:
            TypeError: an unknown option.
            ValueError: a value the parameter's schema refuses, or an option the operation does not take.
        """
        headers: dict[str, str] = {"Content-Type": "application/json"}
        params: dict[str, str] = {}
        unknown = set(options) - set(QueueOptions.__annotations__)
        if unknown:
            raise TypeError(f"unknown submit option(s): {', '.join(sorted(unknown))}")
        op = operation or next(iter(self.catalog.model.endpoints.values())).submit
        for option, value in options.items():
            if option == "no_retry" and not value:
                continue
            component = _OPTION_PARAMETERS[option]
            param = op.component_parameter(component)
            if param is None:
                raise ValueError(
                    f"{option}: {op.operation_id} takes no {component} parameter in the contract"
                )
            if option == "request_timeout":
                floor = request_timeout_minimum(self.catalog.path)
                if not float(cast("float", value)) > floor:
                    raise ValueError(
                        f"request_timeout must be more than {floor:g} seconds (the contract's "
                        f"{param['name']}), got {float(cast('float', value)):g}"
                    )
            text = _parameter_text(option, value, param, self.catalog.model)
            (headers if param.get("in") == "header" else params)[str(param["name"])] = text
        return headers, params

    def run_headers(
        self, request_timeout: float | None, runner_hint: str | None, object_lifecycle_seconds: int | None
    ) -> dict[str, str]:
        """The headers of a synchronous run: the JSON content type and those of the three options the run
        operations take (X-Fal-Request-Timeout, X-Fal-Runner-Hint, X-Fal-Object-Lifecycle-Preference;
        fal_client ``run()``, fal-js ``run()``), each only when given.

        Raises:
            ValueError: ``request_timeout`` not above the contract's minimum.
        """
        options: QueueOptions = {}
        if request_timeout is not None:
            options["request_timeout"] = request_timeout
        if runner_hint is not None:
            options["runner_hint"] = runner_hint
        if object_lifecycle_seconds is not None:
            options["object_lifecycle_seconds"] = object_lifecycle_seconds
        return self.queue_extras(options, next(iter(self.catalog.model.endpoints.values())).run)[0]

    def logs_params(self, with_logs: bool) -> dict[str, str]:
        """The ``Logs`` flag as the contract names it and spells it (``logs=1`` / ``logs=0``), or nothing
        when the status operation takes no such parameter."""
        if self._logs is None or self._logs.location != "query":
            return {}
        return {self._logs.name: self._logs.flag(with_logs)}

    def stream_url(self, ref: RequestRef) -> str:
        """The status stream's URL of a request: its ``status_url`` and what the contract's stream path adds
        (``/stream``)."""
        return ref.status_url + self.catalog.model.stream_suffix(ref.info.endpoint_id)

    # ---- answers -------------------------------------------------------------------------------------

    def adopt(self, url: str) -> str:
        adopted, rebased = self.provider.adopt_url(url)
        if rebased:
            host = httpx.URL(url).host
            if host not in self._warned_hosts:
                self._warned_hosts.add(host)
                logger.info(
                    "%s returned request URLs on %s; asking %s instead (on_foreign_url='rebase')",
                    self.provider.name,
                    host,
                    self.provider.queue_base_url,
                )
        return adopted

    def ref_for(self, endpoint_id: str, request_id: str) -> RequestRef:
        """URLs for a request known only by id: the contract's request paths (the contract model's
        ``request_paths``; ``{queue}/fal-ai/flux-pro/requests/{id}`` on fal, docs/sources.md §3.1) on the
        provider's queue base URL."""
        key = (endpoint_id, request_id)
        ref = self._refs.get(key)
        if ref is not None:
            return ref
        info = self.info(endpoint_id)
        if not request_id or "/" in request_id:
            raise ValueError(f"not a request id: {request_id!r}")
        paths = self.catalog.model.request_paths(info.endpoint_id, request_id)
        urls = {name: self.provider.queue_url(path) for name, path in paths.items()}
        ref = RequestRef(info, request_id, urls["status_url"], urls["response_url"], urls["cancel_url"])
        if len(self._refs) >= 1024:
            self._refs.clear()
        self._refs[key] = ref
        return ref

    def ref_from_submit(self, info: EndpointInfo, response: httpx.Response) -> tuple[RequestRef, QueueStatus]:
        """The request the submit answer describes, its URLs made provider-safe.

        Raises:
            ProviderIncompatibleError: the answer is not JSON (:meth:`answer_json`), not a queue status with
                a request id, or a URL is on another host and the provider says ``on_foreign_url="raise"``.
        """
        data = self.answer_json(response, f"submit to {info.endpoint_id}")
        if not isinstance(data, dict) or not isinstance(data.get("request_id"), str):
            raise ProviderIncompatibleError(
                f"{self.provider.name}: the submit to {info.endpoint_id} answered HTTP {response.status_code} "
                f"without a request_id (not a queue status); is {self.provider.queue_base_url} a queue API?"
            )
        request_id = data["request_id"]
        fallback = self.ref_for(info.endpoint_id, request_id)
        urls = {}
        for name in _URL_FIELDS:
            value = data.get(name)
            urls[name] = self.adopt(value) if isinstance(value, str) and value else getattr(fallback, name)
        ref = RequestRef(info, request_id, urls["status_url"], urls["response_url"], urls["cancel_url"])
        data.setdefault("status", self.catalog.model.submit_state)
        data.setdefault("queue_position", 0)
        status = self.parse_status(data, ref)
        logger.info(
            "submitted %s to %s: request %s, queue position %s",
            info.endpoint_id,
            self.provider.name,
            request_id,
            getattr(status, "queue_position", "?"),
        )
        return ref, status

    def parse_status(self, data: Any, ref: RequestRef) -> QueueStatus:
        """A status body as the generated model of its ``status`` (docs/sources.md §3.1). URL fields are replaced by
        the request's provider-safe URLs; a missing ``logs`` is read as null and ``metrics`` as ``{}``.

        Raises:
            ProviderIncompatibleError: not an object, an unknown ``status`` (fal has no FAILED), or a
                required field missing.
        """
        if not isinstance(data, dict):
            raise ProviderIncompatibleError(
                f"{self.provider.name}: a status of {ref.request_id} is not a JSON object"
            )
        kind = data.get("status")
        model = self.status_models.get(kind) if isinstance(kind, str) else None
        if model is None:
            raise ProviderIncompatibleError(
                f"{self.provider.name}: unknown status {kind!r} for request {ref.request_id} "
                f"(the contract knows {', '.join(self.status_models)})"
            )
        # a provider may echo the Authorization header anywhere (log messages): the model never holds the key
        d = dict(self.redactor.deep(data))
        d.setdefault("request_id", ref.request_id)
        d["status_url"], d["response_url"], d["cancel_url"] = ref.status_url, ref.response_url, ref.cancel_url
        if kind not in self.catalog.model.queued_states:
            d.setdefault("logs", None)
        if kind == "COMPLETED":
            d.setdefault("metrics", {})
        try:
            status: QueueStatus = model.from_dict(d)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProviderIncompatibleError(
                f"{self.provider.name}: the {kind} status of {ref.request_id} does not fit the contract: "
                f"{type(exc).__name__} {exc}"
            ) from None
        return status

    def parse_event(self, data: str, ref: RequestRef) -> QueueStatus:
        """One status stream event's ``data`` as a status model (see :meth:`parse_status`)."""
        try:
            value = decode_json(data)
        except ValueError as exc:
            raise ProviderIncompatibleError(
                f"{self.provider.name}: a status stream event of {ref.request_id} is {exc}: "
                f"{self.redactor.text(data[:80])!r}",
                request_id=ref.request_id,
            ) from None
        return self.parse_status(value, ref)

    def answer_json(self, response: httpx.Response, what: str, request_id: str | None = None) -> Any:
        """The JSON of a success answer.

        Raises:
            ProviderIncompatibleError: the body is not JSON (HTML, not UTF-8, nested too deeply, a number
                too long), naming what answered, its media type and size.
        """
        try:
            return decode_json(response.content)
        except ValueError as exc:
            kind = response.headers.get("content-type", "no media type").split(";")[0]
            raise ProviderIncompatibleError(
                f"{self.provider.name}: the {what} answered HTTP {response.status_code} with a body that is "
                f"{exc} ({kind}, {len(response.content)} bytes)",
                request_id=request_id,
            ) from None

    def too_large(self, what: str, part: str, request_id: str | None = None) -> ResponseTooLargeError:
        """The error for an answer over :attr:`max_response_bytes` (``part``: "body", "line", "event")."""
        limit = self.max_response_bytes
        return ResponseTooLargeError(
            f"{self.provider.name}: the {what} answered a {part} over {limit} bytes (max_response_bytes); "
            "the rest was not read",
            limit=limit,
            request_id=request_id,
        )

    def parse_output(self, info: EndpointInfo, response: httpx.Response, request_id: str | None) -> Any:
        """A 200 result as the endpoint's generated output model (from the contract; docs/sources.md §3.3).

        Raises:
            ProviderIncompatibleError: the body is not JSON, or does not fit the output schema (the
                missing field named).
        """
        what = f"result of request {request_id}" if request_id else f"run of {info.endpoint_id}"
        # redacted: the key never reaches the model
        data = self.redactor.deep(self.answer_json(response, what, request_id))
        try:
            return info.output_model.from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProviderIncompatibleError(
                f"{self.provider.name}: the output of {info.endpoint_id} (request {request_id}) does not fit "
                f"{info.output_schema}: {type(exc).__name__} {exc}",
                request_id=request_id,
            ) from None

    def parse_cancel(self, response: httpx.Response, ref: RequestRef) -> str:
        """``CANCELLATION_REQUESTED`` (202), ``OK`` (200: removed from the queue; fal's per-endpoint
        OpenAPI answers 200 ``{success}`` without a status) or ``ALREADY_COMPLETED`` (400); docs/sources.md §3.1,
        docs/contract.md "Where fal's own publications disagree" (cancel).

        Raises:
            NotFoundError: unknown request id; APIStatusError for other errors.
        """
        data = json_or_none(response.content)
        state = data.get("status") if isinstance(data, dict) else None
        answers = self.catalog.model.cancel_answers(ref.info.endpoint_id).get(response.status_code, ())
        code = response.status_code
        # a 2xx the contract states is the outcome (fal's per-endpoint OpenAPI answers 200 {success} without a
        # status: the code's answer then); an error code is an outcome when its body is an answer the contract
        # states for it and the request exists (ALREADY_COMPLETED on 400; not NOT_FOUND on 404)
        if (200 <= code < 300 and answers) or (code != 404 and state in answers):
            result = str(state if state in answers else answers[0])
            logger.info("cancel of request %s: %s", ref.request_id, result)
            return result
        raise self.error_for(response, f"cancel of request {ref.request_id}", ref.request_id)

    def error_for(
        self,
        response: httpx.Response,
        what: str,
        request_id: str | None = None,
        *,
        result_call: bool = False,
    ) -> APIStatusError:
        """The error an HTTP error answer maps to (docs/sources.md §3.2), its texts redacted."""
        status = response.status_code
        body = self.redactor.deep(json_or_none(response.content))
        raw = body.get("detail") if isinstance(body, dict) else None
        items = detail_items(raw)
        detail: str | list[dict[str, Any]] | None = (
            items if items is not None else (None if raw is None else str(raw))
        )
        if detail is None and body is None and response.content:
            kind = response.headers.get("content-type", "unknown type").split(";")[0]
            detail = f"non-JSON body ({kind}, {len(response.content)} bytes)"
        error_type = body.get("error_type") if isinstance(body, dict) else None
        if not error_type and self._error_type_header:
            error_type = response.headers.get(self._error_type_header)
        error_type = str(error_type) if error_type else None
        rid = request_id or response.headers.get(self.request_id_header)
        cls: type[APIStatusError]
        if status == 400:
            cls = NotCompletedError if result_call else BadRequestError
        elif status == 401:
            cls = AuthenticationError
        elif status == 403:
            cls = PermissionDeniedError
        elif status == 404:
            cls = NotFoundError
        elif status == 413:
            cls = PayloadTooLargeError
        elif status == 422:
            cls = ValidationError
            detail = validation_items(raw if raw is not None else detail)
            if any(item.get("type") == "content_policy_violation" for item in detail):
                cls = ContentPolicyViolationError
        elif status == 429:
            cls = RateLimitError
        elif error_type in _TIMEOUT_TYPES:
            cls = RequestTimeoutError
        elif status in (502, 503, 504):
            cls = ServiceUnavailableError
        else:
            cls = APIStatusError
        text = f"{what}: HTTP {status}"
        if error_type:
            text += f" {error_type}"
        summary = summarize_detail(detail)
        if summary:
            text += f": {summary}"
        if rid and rid not in what:
            text += f" (request {rid})"
        headers = {name: response.headers[name] for name in self._kept_headers if name in response.headers}
        return cls(
            self.redactor.text(text),
            status_code=status,
            request_id=rid,
            detail=detail,
            error_type=error_type,
            body=body,
            headers=headers,
            header_names=self.header_names,
        )

    def result_error(
        self, response: httpx.Response, ref: RequestRef, completed: QueueStatusCompleted | None
    ) -> APIStatusError:
        """The error of a result answer; after a ``COMPLETED`` status that carried an ``error``, a 4xx other
        than 422 becomes :class:`RequestFailedError` with that error (not "not completed")."""
        what = f"result of request {ref.request_id}"
        error = self.error_for(response, what, ref.request_id, result_call=True)
        failure = completed.error if completed is not None and isinstance(completed.error, str) else None
        if failure and isinstance(error, NotCompletedError | BadRequestError | NotFoundError):
            kind = (
                completed.error_type
                if completed is not None and isinstance(completed.error_type, str)
                else None
            )
            return RequestFailedError(
                self.redactor.text(
                    f"{what}: the request completed with an error: {failure}" + (f" ({kind})" if kind else "")
                ),
                status_code=error.status_code,
                request_id=ref.request_id,
                detail=error.detail,
                error_type=kind or error.error_type,
                body=error.body,
                headers=error.headers,
                header_names=error.header_names,
            )
        return error

    @staticmethod
    def wait_timeout(ref: RequestRef) -> WaitTimeoutError:
        """The error of a wait whose deadline passed before the request completed."""
        return WaitTimeoutError(
            f"request {ref.request_id} did not complete in time", request_id=ref.request_id
        )

    def redact_error(self, error: KontextError) -> KontextError:
        """``error`` with its message redacted (for errors built from transport exception texts)."""
        error.message = self.redactor.text(error.message)
        error.args = (error.message,)
        return error

    def safe_cause(self, cause: BaseException) -> BaseException | None:
        """``cause`` to chain to a raised error, or None when its text holds the key (a traceback would
        print it)."""
        return None if self.redactor.contains(f"{cause!s} {cause!r}") else cause
