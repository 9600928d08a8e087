"""The ASGI application: routes, auth, faults, limits, and the answers of docs/sources.md §3.1-§3.5.

``MockApp`` is a Starlette application (lifespan, ``app.state``) whose HTTP requests go straight to one
small dispatcher instead of Starlette's router and middleware: the routes of fal's queue are not a fixed
set of path templates (``POST /{endpoint_id}``, ``/{owner}/{app}/requests/{id}/...``), a dropped
connection must reach the server's transport, and the dispatcher is the hot path the benchmark measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, quote

import httpx
from anyio import to_thread
from starlette.applications import Starlette

from .._layout import Layout
from .._webhook_scheme import JWKS_PATH
from ..contract import (
    ALREADY_COMPLETED,
    CANCELLATION_REQUESTED,
    COMPLETED,
    NOT_FOUND,
    ContractError,
    ContractModel,
    EndpointModel,
    Parameter,
    load_document,
)
from ._config import MockConfig
from ._images import parse_name
from ._signing import WebhookSigner
from ._state import MockState, Req
from ._storage import FILES_PREFIX, UPLOAD_PREFIX, StorageError

__all__ = ["MockApp", "MockConnectionDropped", "create_app"]

log = logging.getLogger("kontext_contract.mock")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON = (b"content-type", b"application/json")
_INGRESS_TITLES = {
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}
_FAL_UNAUTHORIZED = "No user found for Key ID and Secret"
_FAL_MALFORMED = "Invalid Key Authorization header format. Expected '<key_id>:<key_secret>'."
_RELAY_UNAUTHORIZED = "Invalid or missing API key (expected Authorization: {scheme} <key>)"


class MockConnectionDropped(ConnectionError):
    """Raised to an in-process client (httpx.ASGITransport) for a dropped-connection fault; over a real
    socket the mock closes the connection instead, without a response."""


class _Problem(Exception):
    """An answer decided early (401, 404, 405, 413): status, JSON body, headers."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or []


def _finite(obj: Any, depth: int = 0) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if depth > 64:
        return None
    if isinstance(obj, dict):
        return {str(k): _finite(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v, depth + 1) for v in obj]
    return obj


def _dumps(body: Any) -> bytes:
    try:
        return json.dumps(body, allow_nan=False, separators=(",", ":")).encode()
    except (ValueError, RecursionError, TypeError):
        return json.dumps(_finite(body), allow_nan=False, separators=(",", ":"), default=str).encode()


async def _send_json(
    send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    data = _dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [_JSON, (b"content-length", str(len(data)).encode()), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": data})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _query(scope: Scope) -> dict[str, list[str]]:
    raw = scope.get("query_string", b"")
    if not raw:
        return {}
    return parse_qs(bytes(raw).decode("latin-1"), keep_blank_values=True)


def _base(scope: Scope) -> str:
    host = _header(scope, b"host")
    if not host or any(c in host for c in "/\\ @?#\r\n\t"):
        server = scope.get("server")
        host = f"{server[0]}:{server[1]}" if server else "localhost"
    scheme = scope.get("scheme", "http")
    return f"{scheme if scheme in ('http', 'https') else 'http'}://{host}"


def _plain_token(value: str) -> bool:
    """A value fit to echo in a header: printable ASCII, no space, at most 128 characters (a control
    character in a header would make the server refuse the whole answer and close the connection)."""
    return 0 < len(value) <= 128 and all(33 <= ord(c) <= 126 for c in value)


def _not_allowed(allow: str) -> _Problem:
    """405 with the ``Allow`` header RFC 9110 §15.5.6 asks for."""
    return _Problem(405, {"detail": "Method Not Allowed"}, [(b"allow", allow.encode())])


class MockApp(Starlette):
    """The mock as a Starlette application; ``app.state.mock`` is its :class:`MockState`."""

    mock: MockState

    def __init__(self, state: MockState) -> None:
        @contextlib.asynccontextmanager
        async def lifespan(_app: Starlette) -> AsyncIterator[None]:
            yield
            await state.aclose()

        super().__init__(lifespan=lifespan)
        self.mock = state
        self.state.mock = state
        self.config = state.config
        self.model = state.model
        model = state.model
        self._runs: dict[str, EndpointModel] = {}
        # the contract's names for what the mock reads and writes (docs/pipeline.md "The contract model")
        self._rid = model.request_id_header.encode()
        self._timeout_type = model.header_name("RequestTimeoutType").encode()
        self._error_type = model.header_name("ErrorType").encode()
        self._retryable = model.header_name("Retryable").encode()
        self._webhook = model.find_parameter("FalWebhook")
        self._request_timeout = model.find_parameter("RequestTimeout")
        self._logs = model.find_parameter("Logs")
        if model.provider.sync_api:
            for endpoint in model.endpoints.values():
                route = model.run_path(endpoint.endpoint_id)
                if route is not None:
                    self._runs[route] = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            await self._dispatch(scope, receive, send)
        except _Problem as problem:
            await _send_json(send, problem.status, problem.body, problem.headers)

    def _request_id_header(self, value: str) -> tuple[bytes, bytes]:
        """The contract's request-id response header (``RequestIdHeader``: ``x-fal-request-id``)."""
        return (self._rid, value.encode("latin-1", "replace"))

    def _echoed_id_headers(self, value: str) -> list[tuple[bytes, bytes]]:
        """The request-id header echoing a client's id, only when it is a plain token."""
        return [self._request_id_header(value)] if _plain_token(value) else []

    # -- dispatch ----------------------------------------------------------------------------------

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        if path.startswith(_STORAGE_PREFIX) or path in _STORAGE_ROUTES:
            self.mock.tick()
            await self._storage(path, method, scope, receive, send)
            return
        if path.startswith("/_mock/"):
            await self._introspection(path, method, send)
            return
        if path == JWKS_PATH:
            if method not in ("GET", "HEAD"):
                raise _not_allowed("GET, HEAD")
            await _send_json(
                send, 200, self.mock.signer.jwks(), [(b"cache-control", b"public, max-age=86400")]
            )
            return
        state = self.mock
        now = state.tick()
        fault = state.draw_fault()
        if fault is not None and await self._fault(fault, scope, send):
            return
        segments = path.strip("/").split("/")
        if segments[0] == "run" and len(segments) > 1:
            endpoint = self._runs.get("/".join(segments[1:]))
            if endpoint is None:
                raise _Problem(404, {"detail": "Not Found"})
            if method != "POST":
                raise _not_allowed("POST")
            self._authorize(scope)
            await self._run(endpoint, scope, receive, send)
            return
        route = self.model.route(path)
        if route is None:
            if self.model.built_under_endpoint(path):
                # e.g. /fal-ai/flux-pro/kontext/max/requests/{id}/status where the contract has no request
                # operation: fal answers 405, only the submit (POST) exists under an endpoint's path
                # (docs/sources.md §3.1)
                raise _not_allowed("POST")
            raise _Problem(404, {"detail": "Not Found" if method != "POST" else "Application not found"})
        op = route.operation
        if method != op.method and not (method == "HEAD" and op.method == "GET"):
            allow = self.model.request_methods(path) if route.request_id is not None else [op.method]
            raise _not_allowed(", ".join([*allow, *(["HEAD"] if "GET" in allow else [])]))
        if route.endpoint is not None:
            self._authorize(scope)
            await self._submit(route.endpoint, scope, now, receive, send)
            return
        await self._request_route(op.role, str(route.request_id), scope, now, receive, send)

    async def _request_route(
        self, role: str, request_id: str, scope: Scope, now: float, receive: Receive, send: Send
    ) -> None:
        """A request operation of the contract (``x-fal-role`` status, status-stream, result or cancel)."""
        if not request_id:
            raise _Problem(404, {"detail": "Not Found"})
        self._authorize(scope)
        state = self.mock
        kind = _KINDS[role]
        state.counters[kind] += 1
        req = state.requests.get(request_id)
        if req is None:
            if role == "cancel":
                raise _Problem(
                    self.model.cancel_code(NOT_FOUND),
                    {"status": NOT_FOUND},
                    self._echoed_id_headers(request_id),
                )
            raise _Problem(404, {"detail": "Request not found"}, self._echoed_id_headers(request_id))
        rid = [self._request_id_header(req.id)]
        if role == "status":
            if state.state_of(req, now) == COMPLETED:
                await state.ensure_checked(req)
            code, body = state.status_body(req, now, with_logs=_flag(scope, self._logs))
            await _send_json(send, code, body, rid)
        elif role == "status-stream":
            await self._stream(req, scope, receive, send)
        elif role == "cancel":
            answer = CANCELLATION_REQUESTED if state.cancel(req, now) else ALREADY_COMPLETED
            await _send_json(send, self.model.cancel_code(answer), {"status": answer}, rid)
        else:
            if state.state_of(req, now) != COMPLETED:
                await _send_json(send, 400, {"detail": "Request is still in progress"}, rid)
                return
            outcome = await state.outcome(req, now)
            headers = rid + [(k.encode(), v.encode()) for k, v in outcome.headers.items()]
            await _send_json(send, outcome.status, outcome.body, headers)

    # -- auth, body, faults ------------------------------------------------------------------------

    def _authorize(self, scope: Scope) -> None:
        """401 unless ``Authorization`` carries the accepted key with the profile's scheme (docs/sources.md
        §3.2, §3.4). Compared in constant time; the value is never logged or echoed."""
        value = _header(scope, b"authorization") or ""
        scheme, _, credential = value.strip().partition(" ")
        credential = credential.strip()
        key = self.mock.key
        expected = self.model.provider.auth_scheme
        if expected.lower() == "key" and scheme.lower() == "key" and credential and ":" not in credential:
            raise _Problem(401, {"detail": _FAL_MALFORMED})
        ok = scheme.lower() == expected.lower() and hmac.compare_digest(
            credential.encode("utf-8", "replace"), key.encode()
        )
        if not ok:
            detail = (
                _FAL_UNAUTHORIZED
                if expected.lower() == "key"
                else _RELAY_UNAUTHORIZED.format(scheme=expected)
            )
            raise _Problem(401, {"detail": detail})

    async def _body(self, scope: Scope, receive: Receive, limit: int | None = None) -> bytes:
        limit = self.config.max_body_bytes if limit is None else limit
        too_large = _Problem(413, {"detail": f"Request body is larger than the limit of {limit} bytes"})
        length = _header(scope, b"content-length")
        if length is not None and length.strip().isdigit() and int(length) > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Problem(400, {"detail": "Client disconnected"})
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise too_large
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _fault(self, kind: str, scope: Scope, send: Send) -> bool:
        """Answer with an injected fault (docs/sources.md §3.2); True when the request is done with."""
        if kind == "drop":
            # under uvicorn, ``send`` is a bound method of the request cycle that holds the socket
            cycle = getattr(send, "__self__", None)
            transport = getattr(cycle, "transport", None)
            if transport is None or not hasattr(transport, "abort"):
                raise MockConnectionDropped("the mock dropped the connection (fault injection)")
            transport.abort()
            for _ in range(3):  # let the server notice the disconnect before this returns
                await asyncio.sleep(0)
            return True
        if kind == "429":
            retry = str(self.config.faults.retry_after).encode()
            await _send_json(
                send,
                429,
                {"detail": "Too many requests: rate limit exceeded"},
                [(b"retry-after", retry), self._request_id_header(self.mock.new_id())],
            )
            return True
        status = int(kind)
        title = _INGRESS_TITLES[status]
        page = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        page += "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        data = page.encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/html"), (b"content-length", str(len(data)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": data})
        return True

    # -- queue -------------------------------------------------------------------------------------

    async def _submit(
        self, endpoint: EndpointModel, scope: Scope, now: float, receive: Receive, send: Send
    ) -> None:
        body = await self._body(scope, receive)
        webhook = _value(scope, self._webhook) or None
        timeout = _timeout(scope, self._request_timeout)
        state = self.mock
        req = state.submit(
            endpoint,
            body,
            base=self.config.base_url or _base(scope),
            webhook=webhook,
            timeout=timeout,
            now=now,
        )
        if state.timed_out(req):
            state.faults["request_timeout"] += 1
        answer: dict[str, Any] = {
            "status": self.model.submit_state,
            "request_id": req.id,
            **state.urls(req),
            "queue_position": state.queue_position(req, now),
        }
        answer.update(self.model.provider.submit_extra_fields)
        await _send_json(send, 200, answer, [self._request_id_header(req.id)])

    async def _stream(self, req: Req, scope: Scope, receive: Receive, send: Send) -> None:
        """Server-Sent Events: a ``data:`` line per change of the status, ``: ping`` comments every
        ``sse_ping_interval`` seconds, closed after COMPLETED (docs/sources.md §3.1)."""
        state = self.mock
        with_logs = _flag(scope, self._logs)
        disconnected = asyncio.Event()

        async def watch() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    disconnected.set()
                    return

        watcher = asyncio.get_running_loop().create_task(watch())
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    self._request_id_header(req.id),
                ],
            }
        )
        last = b""
        last_out = state.now()
        ping = self.config.sse_ping_interval
        try:
            while not disconnected.is_set():
                now = state.now()
                if state.state_of(req, now) == COMPLETED:
                    await state.ensure_checked(req)
                _code, body = state.status_body(req, now, with_logs=with_logs)
                data = _dumps(body)
                if data != last:
                    await send(
                        {"type": "http.response.body", "body": b"data: " + data + b"\n\n", "more_body": True}
                    )
                    last, last_out = data, now
                if body["status"] == COMPLETED:
                    break
                nxt = state.start_time(req) if now < state.start_time(req) else state.end_time(req)
                if self.config.deterministic:
                    step = max(nxt - now, 1e-6)
                    if step >= ping:
                        await send({"type": "http.response.body", "body": b": ping\n\n", "more_body": True})
                    state.advance(step)
                    await asyncio.sleep(0)
                    continue
                wait = min(max(nxt - now, 0.005), max(ping - (now - last_out), 0.005), 0.25)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(disconnected.wait(), timeout=wait)
                if state.now() - last_out >= ping:
                    await send({"type": "http.response.body", "body": b": ping\n\n", "more_body": True})
                    last_out = state.now()
        finally:
            watcher.cancel()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    # -- synchronous API ---------------------------------------------------------------------------

    async def _run(self, endpoint: EndpointModel, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /run/{endpoint_id}``: the output directly, or 422, or 504 when X-Fal-Request-Timeout
        is shorter than the queue wait (docs/sources.md §3.5)."""
        body = await self._body(scope, receive)
        state = self.mock
        state.runs[endpoint.endpoint_id] += 1
        rid = state.new_id()
        timeout = _timeout(scope, self._request_timeout)
        queue_wait = self.config.queue_delay
        if timeout is not None and timeout < queue_wait:
            await self._wait(timeout)
            state.faults["request_timeout"] += 1
            error = (
                f"Request timed out: it did not start within its X-Fal-Request-Timeout of {timeout:g} seconds"
            )
            await _send_json(
                send,
                504,
                {"detail": error, "error_type": "request_timeout"},
                [
                    self._request_id_header(rid),
                    (self._timeout_type, b"user"),
                    (self._error_type, b"request_timeout"),
                    (self._retryable, b"false"),
                ],
            )
            return
        await self._wait(queue_wait + self.config.processing_delay)
        outcome, _ = await state.evaluate(
            endpoint, body, base=self.config.base_url or _base(scope), seed=state.new_seed()
        )
        await _send_json(send, outcome.status, outcome.body, [self._request_id_header(rid)])

    async def _wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self.config.deterministic:
            self.mock.advance(seconds)
        else:
            await asyncio.sleep(seconds)

    # -- fal's storage (docs/sources.md §3.8) ---------------------------------------------------------

    async def _storage(self, path: str, method: str, scope: Scope, receive: Receive, send: Send) -> None:
        """The storage emulation (:mod:`._storage`): initiate + PUT, the CDN token + upload, the files."""
        storage = self.mock.storage
        base = self.config.base_url or _base(scope)
        self.mock.counters["storage"] += 1
        try:
            if path.startswith(FILES_PREFIX):
                if method not in ("GET", "HEAD"):
                    raise _not_allowed("GET, HEAD")
                raw = scope.get("raw_path")
                quoted = bytes(raw).decode("latin-1").split("?", 1)[0] if raw else quote(path)
                upload = (
                    storage.lookup(quoted[len(FILES_PREFIX) :]) if quoted.startswith(FILES_PREFIX) else None
                )
                if upload is None or upload.data is None:
                    raise _Problem(404, {"detail": "No such file"})
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [
                            (b"content-type", upload.content_type.encode("latin-1")),
                            (b"content-length", str(len(upload.data)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": b"" if method == "HEAD" else upload.data})
                return
            if path.startswith(UPLOAD_PREFIX):
                if method != "PUT":
                    raise _not_allowed("PUT")
                data = await self._body(scope, receive, self.config.max_upload_bytes)
                if not storage.put(path[len(UPLOAD_PREFIX) :], data, _header(scope, b"content-type")):
                    raise _Problem(404, {"detail": "No such upload (never initiated, or expired)"})
                await _send_json(send, 200, {})
                return
            if method != "POST":
                raise _not_allowed("POST")
            if path == "/files/upload":
                if not storage.authorized_cdn(_header(scope, b"authorization")):
                    raise _Problem(401, {"detail": "Invalid or missing CDN token (POST /storage/auth/token)"})
                data = await self._body(scope, receive, self.config.max_upload_bytes)
                name = _header(scope, b"x-fal-file-name")
                answer = storage.cdn_upload(data, name, _header(scope, b"content-type"), base)
                await _send_json(send, 200, answer)
                return
            self._authorize(scope)
            body = await self._body(scope, receive, 64 * 1024)
            if path == "/storage/auth/token":
                await _send_json(send, 200, storage.cdn_token(base))
                return
            try:
                request = json.loads(body) if body else None
            except (ValueError, RecursionError):
                raise _Problem(
                    422,
                    {
                        "detail": [
                            {"type": "json_invalid", "loc": ["body"], "msg": "JSON decode error", "input": {}}
                        ]
                    },
                ) from None
            await _send_json(send, 200, storage.initiate(request, base))
        except StorageError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"detail": exc.detail}
            await _send_json(send, exc.status, detail)

    # -- outside the contract ------------------------------------------------------------------------

    async def _introspection(self, path: str, method: str, send: Send) -> None:
        if method not in ("GET", "HEAD"):
            raise _not_allowed("GET, HEAD")
        if path == "/_mock/stats":
            await _send_json(send, 200, self.mock.stats())
            return
        if path.startswith("/_mock/files/"):
            spec = parse_name(path[len("/_mock/files/") :])
            if spec is None:
                raise _Problem(404, {"detail": "No such file"})
            data = await to_thread.run_sync(self.mock.files.get, spec)
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", spec.content_type.encode()),
                        (b"content-length", str(len(data)).encode()),
                        (b"cache-control", b"public, max-age=31536000, immutable"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b"" if method == "HEAD" else data})
            return
        raise _Problem(404, {"detail": "Not Found"})


#: fal's storage routes on the REST host (``/storage/...``) and the v3 CDN (``/files/upload``), and the
#: mock's own upload and file URLs (docs/sources.md §3.8)
_STORAGE_ROUTES = frozenset({"/storage/upload/initiate", "/storage/auth/token", "/files/upload"})
_STORAGE_PREFIX = "/_mock/storage/"

#: the counter of ``/_mock/stats`` ``calls`` for each request role
_KINDS = {"status": "status", "status-stream": "stream", "result": "result", "cancel": "cancel"}


def _value(scope: Scope, param: Parameter | None) -> str | None:
    """The (last) value of the contract's parameter ``param`` in the request, by its name and location."""
    if param is None:
        return None
    if param.location == "header":
        return _header(scope, param.name.lower().encode("latin-1"))
    if param.location == "query":
        values = _query(scope).get(param.name)
        return values[-1] if values else None
    return None


def _flag(scope: Scope, param: Parameter | None) -> bool:
    """Whether the flag parameter (``Logs``) is on: one of its enum's true values (1, true)."""
    return param is not None and param.is_true(_value(scope, param))


def _timeout(scope: Scope, param: Parameter | None) -> float | None:
    raw = _value(scope, param)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def create_app(
    config: MockConfig | None = None,
    *,
    document: dict[str, Any] | None = None,
    reference: dict[str, Any] | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    signer: WebhookSigner | None = None,
) -> MockApp:
    """The mock as an ASGI application (a Starlette subclass).

    Args:
        config: the configuration (default ``MockConfig()``: the fal profile, no delays, no faults).
        document: a provider document to run on instead of ``openapi/providers/{config.provider}.openapi.yaml``
            (tests use it to prove the mock follows a changed contract).
        reference: with ``document``: a document holding the synchronous run operations, for the output
            schemas when ``document`` has none (default: ``openapi/kontext.openapi.yaml`` if found).
        webhook_transport: an httpx transport for webhook POSTs (default: the network, loopback only).
        signer: the key that signs webhooks (default: ``config.webhook_key``'s, else a new one per app).

    Returns:
        The application; ``app.state.mock`` is its :class:`~kontext_contract.mock._state.MockState`.

    Raises:
        ContractError: the document lacks what the mock needs.
        ValueError: ``config.webhook_key`` is not a readable ED25519 key file (the message names it).
        FileNotFoundError: a broken install without its contract (see ``_layout.shipped_root``).
    """
    config = config or MockConfig()
    if document is None:
        model = ContractModel.load(config.provider)
    else:
        if reference is None:
            with contextlib.suppress(FileNotFoundError, ContractError):
                reference = load_document(Layout.shipped().contract)
        model = ContractModel.from_document(document, reference=reference)
    return MockApp(MockState(config, model, webhook_transport=webhook_transport, signer=signer))
