"""The contract model: one typed, immutable reading of a built document, for every consumer.

Every protocol fact a consumer needs is answered here and nowhere else:

- which operation is a queue **submit** and which a synchronous **run** (``x-fal-role``, set by
  ``overlays/070-roles.overlay.yaml``), and of which endpoint id (``x-fal-endpoint-id``);
- where the queue operations of a request are (**status**, **status-stream**, **result**, **cancel**), as
  path templates, and which endpoints each serves;
- the HTTP status code the status operation answers for each queue state, as the document states it;
- each endpoint's input schema (properties, required names, defaults, image inputs marked
  ``x-fal-media: image``) and output schema (with the name of its generated model);
- the provider's facts (``info.x-provider``: auth scheme and header, key variables, hosts, deviations),
  with one set of defaults (:data:`PROVIDER_DEFAULTS`).

Source of the flow and its names: fal docs "Queue" (https://docs.fal.ai/model-endpoints/queue) and the
official clients (docs/sources.md §3.1, §3.4, §3.5). What still needs code when the contract changes is
listed in docs/pipeline.md "What follows a contract change by itself, and what needs code".
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from .._layout import Layout
from .._openapi import fold, resolve_ref
from ._document import ContractError, load_document
from ._validation import SchemaValidator

__all__ = [
    "ALREADY_COMPLETED",
    "CANCELLATION_REQUESTED",
    "CANCEL_ANSWERS",
    "CANCEL_OK",
    "COMPLETED",
    "FLAG_SPELLINGS",
    "IN_PROGRESS",
    "IN_QUEUE",
    "NOT_FOUND",
    "PROVIDER_DEFAULTS",
    "QUEUE_STATES",
    "REQUEST_ROLES",
    "ROLES",
    "TERMINAL_STATES",
    "URL_FIELDS",
    "ContractModel",
    "EndpointModel",
    "Operation",
    "Parameter",
    "ProviderFacts",
    "Response",
    "Route",
]

#: fal's queue states (fal docs "Queue"; fal-js ``types/common.ts`` ``QueueStatus``). A contract whose
#: status operation states others is refused: a new state needs code (what to do while in it).
IN_QUEUE, IN_PROGRESS, COMPLETED = "IN_QUEUE", "IN_PROGRESS", "COMPLETED"
QUEUE_STATES = (IN_QUEUE, IN_PROGRESS, COMPLETED)
#: the states after which nothing changes: a request's state is read from the ``status`` field, never the code
TERMINAL_STATES = (COMPLETED,)
#: the answers of cancel (fal docs "Queue"; fal's cancel reference page): removed from the queue (``OK``), a
#: running request asked to stop, already done, unknown id. Which status code carries each is the contract's
#: (:meth:`ContractModel.cancel_code`); a contract stating another answer is refused (it needs code).
CANCEL_OK, CANCELLATION_REQUESTED, ALREADY_COMPLETED, NOT_FOUND = (
    "OK",
    "CANCELLATION_REQUESTED",
    "ALREADY_COMPLETED",
    "NOT_FOUND",
)
CANCEL_ANSWERS = (CANCEL_OK, CANCELLATION_REQUESTED, ALREADY_COMPLETED, NOT_FOUND)
#: how a flag parameter's values read (the ``logs`` query flag: fal-js sends ``1``/``0``, fal_client
#: ``true``/``false``; docs/sources.md §3.1). Which of them a flag takes is its schema's enum in the contract.
FLAG_SPELLINGS: Mapping[str, bool] = {
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
}
#: the roles of ``x-fal-role``: fal's names for the flow (fal_client ``submit``/``status``/``result``/
#: ``cancel``/``run``; fal-js ``queue.streamStatus``).
ROLES = ("submit", "run", "status", "status-stream", "result", "cancel")
REQUEST_ROLES = ("status", "status-stream", "result", "cancel")
#: the request URL fields of a queue status and the role each points at (fal docs "Queue").
URL_FIELDS = {"status_url": "status", "response_url": "result", "cancel_url": "cancel"}
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_PARAM = re.compile(r"\{([^}/]+)\}")
_TOKEN = re.compile(r"[A-Za-z0-9._~-]+\Z")  # a request id that needs no percent-encoding in a path

#: What a provider document that does not say otherwise is taken to state: fal's own scheme
#: (``Authorization: Key <FAL_KEY>``; docs/sources.md §3.4), no synchronous API, its own queue URLs.
PROVIDER_DEFAULTS: dict[str, Any] = {
    "auth": {"scheme": "Key", "header": "Authorization"},
    "sync_api": False,
    "queue_urls": {"host": "own"},
}


def _pointer(path: str, method: str | None = None) -> str:
    where = f"$.paths['{path}']"
    return f"{where}.{method}" if method else where


@dataclass(frozen=True)
class Response:
    """One declared response of an operation.

    Attributes:
        code: the status code as the document writes it (``"200"``, ``"4XX"``, ``"default"``).
        media: media type -> schema (OpenAPI 3.0, unresolved).
        required_headers: the response headers marked ``required: true``.
        description: the response's description.
    """

    code: str
    media: Mapping[str, Any]
    required_headers: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Parameter:
    """A parameter of the contract named by its component (``$.components.parameters.<component>``): the
    contract's name and place for it, whatever they become.

    Attributes:
        component: e.g. ``RequestTimeout``, ``FalWebhook``, ``Logs``.
        name: the parameter's name as sent (``X-Fal-Request-Timeout``, ``fal_webhook``, ``logs``).
        location: ``query``, ``header``, ``path`` or ``cookie``.
        schema: its schema, folded (``$ref``/``allOf`` resolved).
    """

    component: str
    name: str
    location: str
    schema: Mapping[str, Any]

    @property
    def true_values(self) -> tuple[str, ...]:
        """The values of its enum that read as true (:data:`FLAG_SPELLINGS`), document order."""
        return tuple(str(v) for v in self.schema.get("enum") or [] if FLAG_SPELLINGS.get(str(v).lower()))

    @property
    def false_values(self) -> tuple[str, ...]:
        """The values of its enum that read as false, document order."""
        return tuple(
            str(v) for v in self.schema.get("enum") or [] if FLAG_SPELLINGS.get(str(v).lower()) is False
        )

    def is_true(self, value: str | None) -> bool:
        """Whether ``value`` (as received; case and surrounding space ignored) turns the flag on: one of
        :attr:`true_values`."""
        if value is None:
            return False
        wanted = value.strip().lower()
        return any(wanted == v.lower() for v in self.true_values)

    def flag(self, on: bool) -> str:
        """The value to send for ``on``: the first true (or false) value of its enum.

        Raises:
            ContractError: the enum has none.
        """
        found = self.true_values if on else self.false_values
        if not found:
            raise ContractError(
                f"$.components.parameters.{self.component}.schema.enum: expected a "
                f"{'true' if on else 'false'} value ({', '.join(k for k, v in FLAG_SPELLINGS.items() if v is on)}), "
                f"found {list(self.schema.get('enum') or [])}"
            )
        return found[0]

    def lookup(self, query: Mapping[str, Any], headers: Mapping[str, Any]) -> Any:
        """Its value in a request: from ``query`` (name as is) or ``headers`` (lower-case names), by its
        location; None when absent."""
        if self.location == "query":
            return query.get(self.name)
        if self.location == "header":
            return headers.get(self.name.lower())
        return None


@dataclass(frozen=True)
class Operation:
    """One operation of the document.

    Attributes:
        role: its ``x-fal-role`` (one of :data:`ROLES`).
        operation_id: e.g. ``getRequestStatus``.
        method: upper-case HTTP method.
        path: the path template as the document writes it.
        server: the path-level server URL (the run operations' ``https://fal.run/fal-ai/flux-pro``), or None.
        endpoint_id: ``x-fal-endpoint-id`` (submit and run operations; a request operation may carry one
            to serve that endpoint only).
        spec: the operation object.
        doc: the document it comes from, for resolving its ``$ref`` s.
    """

    role: str
    operation_id: str
    method: str
    path: str
    server: str | None
    endpoint_id: str | None
    spec: Mapping[str, Any] = field(repr=False)
    doc: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def where(self) -> str:
        """The operation's JSONPath, for messages."""
        return _pointer(self.path, self.method.lower())

    @property
    def url(self) -> str:
        """Server + path for an operation with a path-level server, else the path."""
        return (self.server.rstrip("/") + self.path) if self.server else self.path

    @property
    def callback_body_schema_name(self) -> str | None:
        """The component name of the JSON body of the operation's first callback POST (a submit's
        ``falWebhook``: ``WebhookPayload``), or None when it has none or it is not a ``$ref``."""
        for callback in (self.spec.get("callbacks") or {}).values():
            for item in (callback or {}).values():
                body = ((item or {}).get("post") or {}).get("requestBody") or {}
                schema = ((body.get("content") or {}).get("application/json") or {}).get("schema") or {}
                ref = schema.get("$ref") if isinstance(schema, Mapping) else None
                if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                    return ref.rsplit("/", 1)[1]
        return None

    @property
    def request_prefix(self) -> str:
        """For a request operation, the path before its first parameter's segment:
        ``/fal-ai/flux-pro/requests/{request_id}/status`` -> ``/fal-ai/flux-pro/requests``."""
        return self.path.split("/{", 1)[0]

    def path_for(self, request_id: str) -> str:
        """The path with its (single) path parameter filled with ``request_id`` (percent-encoded)."""
        return _PARAM.sub(lambda _m: quote(request_id, safe=""), self.path, count=1)

    def response(self, code: int | str) -> Response:
        """The declared response for ``code``.

        Raises:
            ContractError: the operation declares no such response.
        """
        found = self.find_response(code)
        if found is None:
            raise ContractError(
                f"{self.operation_id} ({self.method} {self.path}) declares no {code} response"
            )
        return found

    def find_response(self, code: int | str) -> Response | None:
        """The declared response for ``code``, or None."""
        raw = resolve_ref(self.doc, (self.spec.get("responses") or {}).get(str(code)))
        if not isinstance(raw, Mapping):
            return None
        media = {str(k): (v or {}).get("schema", {}) for k, v in (raw.get("content") or {}).items()}
        headers = tuple(
            str(name)
            for name, header in (raw.get("headers") or {}).items()
            if isinstance(resolve_ref(self.doc, header), Mapping)
            and resolve_ref(self.doc, header).get("required") is True
        )
        return Response(str(code), media, headers, str(raw.get("description", "")))

    def codes(self) -> list[str]:
        """Every status code the operation declares, in document order."""
        return [str(code) for code in (self.spec.get("responses") or {})]

    def parameters(self) -> Iterator[dict[str, Any]]:
        """The operation's parameters, resolved."""
        for param in self.spec.get("parameters") or []:
            resolved = resolve_ref(self.doc, param)
            if isinstance(resolved, Mapping):
                yield dict(resolved)

    def parameter(self, name: str) -> dict[str, Any] | None:
        """The (resolved) parameter called ``name``, or None."""
        return next((p for p in self.parameters() if p.get("name") == name), None)

    def component_parameter(self, component: str) -> dict[str, Any] | None:
        """The (resolved) parameter the operation takes as ``$ref: '#/components/parameters/<component>'``
        (e.g. ``RequestTimeout``), or None: the contract's name for the parameter, whatever its ``in`` and
        ``name`` are."""
        ref = f"#/components/parameters/{component}"
        for param in self.spec.get("parameters") or []:
            if isinstance(param, Mapping) and param.get("$ref") == ref:
                resolved = resolve_ref(self.doc, param)
                return dict(resolved) if isinstance(resolved, Mapping) else None
        return None

    def input_schema(self) -> dict[str, Any]:
        """The JSON request body's schema (unresolved), ``{}`` if none."""
        body = resolve_ref(self.doc, self.spec.get("requestBody")) or {}
        return dict(((body.get("content") or {}).get("application/json") or {}).get("schema") or {})


def _ref_name(schema: Any) -> str | None:
    if isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str):
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    return None


@dataclass(frozen=True)
class EndpointModel:
    """One endpoint of the family, e.g. ``fal-ai/flux-pro/kontext/max/multi``.

    Attributes:
        endpoint_id: the ``x-fal-endpoint-id`` of its submit.
        submit: the queue submit operation.
        run: the synchronous run operation (from the main contract when a provider document has none), or None.
        requests: the request operations serving it, by role (:data:`REQUEST_ROLES`).
        input_schema: the submit's request body schema (unresolved); ``input_schema_name`` its component name.
        input_properties: the input's properties, each folded (``$ref``/``allOf`` resolved).
        required_inputs: the input's required names.
        defaults: the ``default`` of every input property that has one.
        image_inputs: inputs marked ``x-fal-media: image`` -> True when the input is a list of images.
        output_schema: the run's 200 schema (unresolved), ``{}`` without a run; ``output_schema_name``
            its component name (the generated model's name).
        output_properties / output_required: the output's properties (folded) and required names.
        image_item_properties / image_item_required: the same for one item of the output's ``images``.
    """

    endpoint_id: str
    submit: Operation
    run: Operation | None
    requests: Mapping[str, Operation]
    input_schema: Mapping[str, Any]
    input_schema_name: str | None
    input_properties: Mapping[str, Mapping[str, Any]]
    required_inputs: tuple[str, ...]
    defaults: Mapping[str, Any]
    image_inputs: Mapping[str, bool]
    output_schema: Mapping[str, Any]
    output_schema_name: str | None
    output_properties: Mapping[str, Mapping[str, Any]]
    output_required: tuple[str, ...]
    image_item_properties: Mapping[str, Mapping[str, Any]]
    image_item_required: tuple[str, ...]
    components: Mapping[str, Any] = field(repr=False, compare=False)

    @cached_property
    def input_validator(self) -> SchemaValidator:
        """Validator of the submit input (also the run input)."""
        return SchemaValidator(dict(self.input_schema), self.components)

    @cached_property
    def output_validator(self) -> SchemaValidator:
        """Validator of the model output."""
        return SchemaValidator(dict(self.output_schema), self.components)

    def request(self, role: str) -> Operation:
        """The request operation of ``role`` serving this endpoint.

        Raises:
            ContractError: the document has none.
        """
        found = self.requests.get(role)
        if found is None:
            raise ContractError(f"the contract has no {role} operation serving {self.endpoint_id}")
        return found


@dataclass(frozen=True)
class ProviderFacts:
    """``info.x-provider`` of a provider document, with :data:`PROVIDER_DEFAULTS` for what it leaves out.

    Attributes:
        name: e.g. ``fal``, ``relay-a`` (``"contract"`` for the main contract).
        auth_scheme: the ``Authorization`` scheme word: ``Key`` (fal) or ``Bearer`` (relays).
        auth_header: the header the credential goes in.
        security_scheme: the document's security scheme name (``falKey``, ``relayBearer``), or None.
        key_env: the environment variable holding the key (``FAL_KEY``, ``RELAY_A_KEY``), or None.
        key_env_pair: two variables joined ``id:secret`` (``FAL_KEY_ID``, ``FAL_KEY_SECRET``), or None.
        queue_base_url: where the queue is (None when the document names no host).
        run_base_url: where the synchronous API is, or None.
        sync_api: whether the provider has a synchronous API.
        queue_urls_host: ``"own"``, or the foreign host its submit answers point at.
        queue_urls_app: the owner/app its request URLs use when it differs from the contract's, else None.
        submit_extra_fields: fields its submit answer adds (``logs``, ``metrics`` on chainhub).
        known_deviations: ``[{id, description, source}]``.
        documented_endpoints: the endpoint ids its documents show.
        documented_by: the seed documents that describe it.
    """

    name: str
    auth_scheme: str
    auth_header: str
    security_scheme: str | None
    key_env: str | None
    key_env_pair: tuple[str, str] | None
    queue_base_url: str | None
    run_base_url: str | None
    sync_api: bool
    queue_urls_host: str
    queue_urls_app: str | None
    submit_extra_fields: Mapping[str, Any]
    known_deviations: tuple[Mapping[str, Any], ...]
    documented_endpoints: tuple[str, ...]
    documented_by: tuple[str, ...]

    @classmethod
    def read(cls, document: Mapping[str, Any]) -> ProviderFacts:
        """The facts of ``document`` (its ``info.x-provider``; the defaults for what it lacks)."""
        raw = (document.get("info") or {}).get("x-provider")
        raw = raw if isinstance(raw, Mapping) else {}
        auth = {**PROVIDER_DEFAULTS["auth"], **(raw.get("auth") or {})}
        queue_urls = {**PROVIDER_DEFAULTS["queue_urls"], **(raw.get("queue_urls") or {})}
        pair = auth.get("key_env_pair")
        servers = document.get("servers") or []
        server = str(servers[0].get("url", "")) if servers and isinstance(servers[0], Mapping) else ""
        queue_base = raw.get("queue_base_url") or (
            server if server.startswith(("http://", "https://")) and "{" not in server else None
        )
        if (queue_base and urlsplit(str(queue_base)).hostname in (None, "")) or str(queue_base).endswith(
            ".invalid"
        ):
            queue_base = None
        return cls(
            name=str(raw.get("name", "contract")),
            auth_scheme=str(auth["scheme"]),
            auth_header=str(auth["header"]),
            security_scheme=str(auth["security_scheme"]) if auth.get("security_scheme") else None,
            key_env=str(auth["key_env"]) if auth.get("key_env") else None,
            key_env_pair=(str(pair[0]), str(pair[1])) if isinstance(pair, list) and len(pair) == 2 else None,
            queue_base_url=str(queue_base).rstrip("/") if queue_base else None,
            run_base_url=str(raw["run_base_url"]).rstrip("/") if raw.get("run_base_url") else None,
            sync_api=bool(raw.get("sync_api", PROVIDER_DEFAULTS["sync_api"])),
            queue_urls_host=str(queue_urls["host"]),
            queue_urls_app=str(queue_urls["app"]) if queue_urls.get("app") else None,
            submit_extra_fields=copy.deepcopy(dict(raw.get("submit_extra_fields") or {})),
            known_deviations=tuple(
                dict(d) for d in raw.get("known_deviations") or [] if isinstance(d, Mapping)
            ),
            documented_endpoints=tuple(str(e) for e in raw.get("documented_endpoints") or []),
            documented_by=tuple(str(e) for e in raw.get("documented_by") or []),
        )

    def authorization(self, key: str) -> str:
        """The header value for ``key``: ``Key <key>`` or ``Bearer <key>``. Not for logging."""
        return f"{self.auth_scheme} {key}"

    def key_from(self, environ: Mapping[str, str]) -> str | None:
        """The key from ``key_env``, else ``key_env_pair`` joined with ``:``, else None."""
        if self.key_env and environ.get(self.key_env):
            return environ[self.key_env]
        if self.key_env_pair and all(environ.get(n) for n in self.key_env_pair):
            return f"{environ[self.key_env_pair[0]]}:{environ[self.key_env_pair[1]]}"
        return None

    @property
    def key_variables(self) -> str:
        """The key variables for messages: ``FAL_KEY or FAL_KEY_ID+FAL_KEY_SECRET``."""
        names = [n for n in [self.key_env, "+".join(self.key_env_pair) if self.key_env_pair else None] if n]
        return " or ".join(names) or "(none stated)"


@dataclass(frozen=True)
class Route:
    """What a request path is in the contract (:meth:`ContractModel.route`).

    Attributes:
        operation: the operation it matches (submit, or a request operation).
        request_id: the request id in the path (request operations), else None.
        endpoint: the endpoint (submits), else None.
    """

    operation: Operation
    request_id: str | None = None
    endpoint: EndpointModel | None = None


def _template_regex(path: str) -> re.Pattern[str]:
    parts = _PARAM.split(path)
    pattern = "".join(re.escape(p) if i % 2 == 0 else "(?P<request_id>[^/]+)" for i, p in enumerate(parts))
    return re.compile(pattern + r"\Z")


class ContractModel:
    """One built document (the contract or a provider document), read once. Immutable once built.

    Build it with :meth:`load` (the project's files) or :meth:`from_document` (any document).

    Attributes:
        document: the document (a private deep copy; do not mutate).
        source: where it was read from, for messages.
        provider: the provider facts.
        endpoints: endpoint id -> :class:`EndpointModel`, in document order.
        operations: operationId -> :class:`Operation` (the document's own, and the reference's run operations).
        request_operations: the request operations (status, status-stream, result, cancel), document order.
        components: ``components.schemas`` (with the reference's added when its run operations are used).
        state_codes: queue state -> the status codes the status operation answers it with.
        queued_states: the states whose status schema requires ``queue_position``.
        state_schemas: queue state -> the component name of its status schema (the generated model's name).
    """

    def __init__(
        self,
        document: Mapping[str, Any],
        *,
        reference: Mapping[str, Any] | None = None,
        source: str = "<document>",
    ) -> None:
        doc = copy.deepcopy(dict(document))
        self.document = doc
        self.source = source
        paths = doc.get("paths")
        if not isinstance(paths, Mapping) or not paths:
            raise ContractError(
                f"{source}: $.paths: expected a mapping of path items, found {type(paths).__name__}"
            )
        components = doc.setdefault("components", {}).setdefault("schemas", {})
        self.provider = ProviderFacts.read(doc)
        own = self._operations(doc, source)
        runs = {op.endpoint_id: op for op in own if op.role == "run" and op.endpoint_id}
        if reference is not None:
            for op in self._operations(reference, "the reference contract"):
                if op.role == "run" and op.endpoint_id and op.endpoint_id not in runs:
                    runs[op.endpoint_id] = op
                    for name, sub in ((reference.get("components") or {}).get("schemas") or {}).items():
                        components.setdefault(name, copy.deepcopy(sub))
        self.components: Mapping[str, Any] = components
        self.operations: Mapping[str, Operation] = {
            op.operation_id: op for op in [*own, *(r for r in runs.values() if r not in own)]
        }
        self.request_operations: tuple[Operation, ...] = tuple(op for op in own if op.role in REQUEST_ROLES)
        submits = [op for op in own if op.role == "submit"]
        if not submits:
            raise ContractError(f"{source}: no operation with x-fal-role: submit (and an x-fal-endpoint-id)")
        endpoints: dict[str, EndpointModel] = {}
        for op in submits:
            if not op.endpoint_id:
                raise ContractError(f"{source}: {op.where}: a submit needs x-fal-endpoint-id, found none")
            endpoints[op.endpoint_id] = self._endpoint(doc, op, runs.get(op.endpoint_id))
        self.endpoints: Mapping[str, EndpointModel] = endpoints
        self.state_codes: Mapping[str, frozenset[int]] = self._state_codes()
        self.queued_states: frozenset[str] = self._queued_states()
        self.state_schemas: Mapping[str, str] = self._state_schemas()
        self._routes = self._build_routes()
        self._validators: dict[str, SchemaValidator] = {}
        self._templates: dict[tuple[str, bool], Mapping[str, tuple[str, str]]] = {}
        self._lock = threading.Lock()

    # -- construction ----------------------------------------------------------------------------

    @classmethod
    def from_document(
        cls,
        document: Mapping[str, Any],
        *,
        reference: Mapping[str, Any] | None = None,
        source: str = "<document>",
    ) -> ContractModel:
        """The model of an in-memory document. ``reference`` (e.g. the main contract) gives the run
        operations, so the output schemas, of endpoints the document has no run for.

        Raises:
            ContractError: the document lacks what the model needs (the message names the JSONPath).
        """
        return cls(document, reference=reference, source=source)

    @classmethod
    def load(cls, provider: str | None = None, *, layout: Layout | None = None) -> ContractModel:
        """The model of ``openapi/kontext.openapi.yaml`` (``provider`` None) or of
        ``openapi/providers/{provider}.openapi.yaml`` (with the main contract as reference), read once per
        file version (see :func:`load_document`).

        Raises:
            ContractError: no such document (the message lists the providers there are), or it lacks
                what the model needs.
        """
        try:
            layout = layout or Layout.shipped()
        except FileNotFoundError as exc:
            raise ContractError(str(exc)) from None
        key: tuple[str, str | None]
        if provider is None:
            path = layout.contract
            key = (str(path), None)
        else:
            path = layout.provider_document(provider)
            if not path.is_file():
                known = sorted(
                    p.name.removesuffix(".openapi.yaml") for p in layout.providers_dir.glob("*.openapi.yaml")
                )
                raise ContractError(
                    f"no provider document {path}; known providers: {', '.join(known) or 'none'}"
                )
            key = (str(path), str(layout.contract))
        stamp = _stamp(path), _stamp(layout.contract)
        with _CACHE_LOCK:
            cached = _CACHE.get(key)
            if cached is not None and cached[0] == stamp:
                return cached[1]
        document = load_document(path)
        reference = (
            load_document(layout.contract) if provider is not None and layout.contract.is_file() else None
        )
        model = cls(document, reference=reference, source=_shown(path, layout.root))
        with _CACHE_LOCK:
            _CACHE[key] = (stamp, model)
        return model

    @staticmethod
    def _operations(doc: Mapping[str, Any], source: str) -> list[Operation]:
        out: list[Operation] = []
        for path, item in (doc.get("paths") or {}).items():
            if not isinstance(item, Mapping):
                raise ContractError(
                    f"{source}: {_pointer(str(path))}: expected a path item (a mapping), found {type(item).__name__}"
                )
            servers = item.get("servers") or []
            server = str(servers[0].get("url")) if servers and isinstance(servers[0], Mapping) else None
            for method in _METHODS:
                spec = item.get(method)
                if spec is None:
                    continue
                where = _pointer(str(path), method)
                if not isinstance(spec, Mapping):
                    raise ContractError(
                        f"{source}: {where}: expected an operation (a mapping), found {type(spec).__name__}"
                    )
                role = spec.get("x-fal-role")
                if role not in ROLES:
                    raise ContractError(
                        f"{source}: {where}['x-fal-role']: expected one of {', '.join(ROLES)}, found {role!r}"
                    )
                endpoint = spec.get("x-fal-endpoint-id")
                out.append(
                    Operation(
                        role=str(role),
                        operation_id=str(spec.get("operationId") or f"{method} {path}"),
                        method=method.upper(),
                        path=str(path),
                        server=server,
                        endpoint_id=str(endpoint) if isinstance(endpoint, str) else None,
                        spec=spec,
                        doc=doc,
                    )
                )
        return out

    def _endpoint(self, doc: Mapping[str, Any], submit: Operation, run: Operation | None) -> EndpointModel:
        endpoint_id = str(submit.endpoint_id)
        input_schema = submit.input_schema()
        folded = fold(doc, input_schema)
        props = {str(n): fold(doc, p) for n, p in (folded.get("properties") or {}).items()}
        defaults = {n: copy.deepcopy(p["default"]) for n, p in props.items() if "default" in p}
        images: dict[str, bool] = {}
        for name, prop in props.items():
            if prop.get("x-fal-media") == "image":
                images[name] = prop.get("type") == "array"
        output_schema: Mapping[str, Any] = {}
        if run is not None:
            found = run.find_response(200)
            output_schema = (found.media.get("application/json") if found else None) or {}
        out = fold(doc, output_schema)
        out_props = {str(n): fold(doc, p) for n, p in (out.get("properties") or {}).items()}
        item = fold(doc, (out_props.get("images") or {}).get("items"))
        item_props = {str(n): fold(doc, p) for n, p in (item.get("properties") or {}).items()}
        return EndpointModel(
            endpoint_id=endpoint_id,
            submit=submit,
            run=run,
            requests=self._requests_for(endpoint_id),
            input_schema=input_schema,
            input_schema_name=_ref_name(input_schema),
            input_properties=props,
            required_inputs=tuple(str(r) for r in folded.get("required") or []),
            defaults=defaults,
            image_inputs=images,
            output_schema=dict(output_schema),
            output_schema_name=_ref_name(output_schema),
            output_properties=out_props,
            output_required=tuple(str(r) for r in out.get("required") or []),
            image_item_properties=item_props,
            image_item_required=tuple(str(r) for r in item.get("required") or []),
            components=self.document["components"]["schemas"],
        )

    def _requests_for(self, endpoint_id: str) -> dict[str, Operation]:
        """The request operations serving ``endpoint_id``: one carrying its ``x-fal-endpoint-id``, else the
        one whose path (before ``/requests``) is the longest segment-prefix of ``/{endpoint_id}``."""
        target = "/" + endpoint_id + "/"
        found: dict[str, tuple[int, Operation]] = {}
        for op in self.request_operations:
            if op.endpoint_id is not None:
                score = 10_000 if op.endpoint_id == endpoint_id else -1
            else:
                owner = op.request_prefix.rsplit("/", 1)[0] + "/"
                score = len(owner) if target.startswith(owner) else -1
            if score >= 0 and score > found.get(op.role, (-1, op))[0]:
                found[op.role] = (score, op)
        return {role: op for role, (_s, op) in found.items()}

    def _status_schemas(self) -> Iterator[tuple[int, Any]]:
        for op in self.request_operations:
            if op.role != "status":
                continue
            for code in op.codes():
                if code.isdigit() and code.startswith("2"):
                    yield int(code), op.response(code).media.get("application/json")

    def _states_of(self, schema: Any, depth: int = 0) -> list[tuple[str, Mapping[str, Any], str | None]]:
        """(state, folded schema, component name) of each branch of a status schema."""
        node = resolve_ref(self.document, schema)
        if not isinstance(node, Mapping) or depth > 16:
            return []
        branches = [*node.get("oneOf", []), *node.get("anyOf", [])]
        if branches:
            return [s for b in branches for s in self._states_of(b, depth + 1)]
        folded = fold(self.document, node)
        status = fold(self.document, (folded.get("properties") or {}).get("status"))
        return [(str(v), folded, _ref_name(schema)) for v in status.get("enum") or []]

    def _state_schemas(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for _code, schema in self._status_schemas():
            for state, _folded, name in self._states_of(schema):
                if name:
                    out.setdefault(state, name)
        return out

    def _state_codes(self) -> dict[str, frozenset[int]]:
        out: dict[str, set[int]] = {}
        for code, schema in self._status_schemas():
            for state, _schema, _name in self._states_of(schema):
                out.setdefault(state, set()).add(code)
        if not out:
            return {}
        unknown = sorted(set(out) - set(QUEUE_STATES))
        if unknown:
            raise ContractError(
                f"{self.source}: the status operation states the queue state(s) {', '.join(unknown)}; "
                f"expected only {', '.join(QUEUE_STATES)} (a new state needs code: docs/pipeline.md)"
            )
        missing = [s for s in QUEUE_STATES if s not in out]
        if missing:
            raise ContractError(
                f"{self.source}: the status operation's 2xx responses state no answer for {', '.join(missing)}; "
                f"expected a status schema for each of {', '.join(QUEUE_STATES)}"
            )
        return {s: frozenset(c) for s, c in out.items()}

    def _queued_states(self) -> frozenset[str]:
        found: set[str] = set()
        for _code, schema in self._status_schemas():
            for state, folded, _name in self._states_of(schema):
                if "queue_position" in (folded.get("required") or []):
                    found.add(state)
        return frozenset(found)

    def _build_routes(self) -> list[tuple[re.Pattern[str], Operation]]:
        """Request operations' path templates as patterns. A provider whose submit answers point at
        another host (``x-provider.queue_urls.host``, a relay's deviation) hands out request URLs that a
        client rebases onto the provider; they may name another owner/app (``queue_urls.app``), so there
        the owner segments match any value."""
        routes: list[tuple[re.Pattern[str], Operation]] = []
        foreign = self.provider.queue_urls_host != "own"
        # the status first: clients ask it most (patterns never overlap, so the order decides nothing else)
        for op in sorted(self.request_operations, key=lambda o: o.role != "status"):
            routes.append((_template_regex(op.path), op))
            if foreign:
                owner = op.request_prefix.rsplit("/", 1)[0]
                tail = _template_regex(op.path[len(owner) :]).pattern
                # the app it hands out may have another number of segments than the contract's owner
                # (fal-ai/flux-1 for /fal-ai/flux-pro/kontext in fal's per-endpoint layout)
                routes.append((re.compile("(?:/[^/]+)+" + tail), op))
        return routes

    def built_under_endpoint(self, path: str) -> bool:
        """Whether ``path`` is a request URL built under an endpoint's submit path
        (``/fal-ai/flux-pro/kontext/max/requests/{id}/status``) where the contract has no such operation:
        fal answers those 405, as only the submit exists under an endpoint's path (docs/sources.md §3.1)."""
        for submit in self._submit_index:
            if not path.startswith(submit + "/"):
                continue
            rest = path[len(submit) :]
            for op in self.request_operations:
                owner = op.request_prefix.rsplit("/", 1)[0]
                if _template_regex(op.path[len(owner) :]).match(rest):
                    return True
        return False

    # -- questions ---------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.provider.name

    def endpoint(self, endpoint_id: str) -> EndpointModel:
        """The endpoint's model.

        Raises:
            ContractError: no such endpoint id (the message lists those there are).
        """
        found = self.endpoints.get(str(endpoint_id))
        if found is None:
            raise ContractError(
                f"unknown endpoint id {str(endpoint_id)!r}; {self.source} has: {', '.join(self.endpoints)}"
            )
        return found

    def request_operation(self, role: str, endpoint_id: str | None = None) -> Operation:
        """The request operation of ``role`` (serving ``endpoint_id`` when given; else the first).

        Raises:
            ContractError: the document has none.
        """
        if endpoint_id is not None:
            return self.endpoint(endpoint_id).request(role)
        found = next((op for op in self.request_operations if op.role == role), None)
        if found is None:
            raise ContractError(f"{self.source}: no operation with x-fal-role: {role}")
        return found

    def status_code(self, state: str) -> int:
        """The HTTP status code the status operation answers ``state`` with (the lowest, if several).

        Raises:
            ContractError: the status operation states no 2xx answer for ``state``.
        """
        codes = self.state_codes.get(state)
        if not codes:
            raise ContractError(f"{self.source}: the status operation states no 2xx answer for {state}")
        return min(codes)

    def request_paths(self, endpoint_id: str, request_id: str) -> dict[str, str]:
        """The request URL fields of a queue status (:data:`URL_FIELDS`) as paths, for a request of
        ``endpoint_id``: ``{"status_url": "/fal-ai/flux-pro/requests/<id>/status", ...}``."""
        return self._fill(self.request_templates(endpoint_id, as_provider=False), request_id)

    def provider_request_paths(self, endpoint_id: str, request_id: str) -> dict[str, str]:
        """:meth:`request_paths` as the provider hands them out: under ``queue_urls_app`` when it states one."""
        return self._fill(self.request_templates(endpoint_id, as_provider=True), request_id)

    @staticmethod
    def _fill(templates: Mapping[str, tuple[str, str]], request_id: str) -> dict[str, str]:
        quoted = request_id if _TOKEN.match(request_id) else quote(request_id, safe="")
        return {name: before + quoted + after for name, (before, after) in templates.items()}

    def request_templates(
        self, endpoint_id: str, *, as_provider: bool = False
    ) -> Mapping[str, tuple[str, str]]:
        """URL field -> (the path before the request id, the path after it), for requests of
        ``endpoint_id``; ``as_provider``: under the provider's ``queue_urls_app`` when it states one.
        Cached: the mock answers with these on every submit and status.

        Raises:
            ContractError: no such endpoint, or a request operation's path has no parameter.
        """
        key = (endpoint_id, as_provider)
        found = self._templates.get(key)
        if found is not None:
            return found
        endpoint = self.endpoint(endpoint_id)
        app = self.provider.queue_urls_app if as_provider else None
        out: dict[str, tuple[str, str]] = {}
        for name, role in URL_FIELDS.items():
            op = endpoint.request(role)
            path = op.path
            if app:
                owner = op.request_prefix.rsplit("/", 1)[0]
                path = "/" + app.strip("/") + path[len(owner) :]
            match = _PARAM.search(path)
            if match is None:
                raise ContractError(
                    f"{self.source}: {op.where}: the path {op.path} has no request id parameter"
                )
            out[name] = (path[: match.start()], path[match.end() :])
        self._templates[key] = out
        return out

    def submit_paths(self) -> dict[str, EndpointModel]:
        """Submit path -> endpoint."""
        return {e.submit.path: e for e in self.endpoints.values()}

    def route(self, path: str) -> Route | None:
        """What ``path`` (a request's path, no query) is: a submit, a request operation (with the request
        id), or None. The method is not considered: a caller answers 405 when it differs."""
        endpoint = self._submit_index.get(path)
        if endpoint is not None:
            return Route(endpoint.submit, endpoint=endpoint)
        for pattern, op in self._routes:
            match = pattern.match(path)
            if match:
                return Route(op, request_id=match.group("request_id"))
        return None

    @cached_property
    def _submit_index(self) -> dict[str, EndpointModel]:
        return self.submit_paths()

    def request_methods(self, path: str) -> list[str]:
        """The methods the request operations at ``path`` accept (for a 405's ``Allow``)."""
        return sorted({op.method for pattern, op in self._routes if pattern.match(path)})

    def run_path(self, endpoint_id: str) -> str | None:
        """Where the run of ``endpoint_id`` is, relative to the provider's (or the contract's) run base URL:
        ``fal-ai/flux-pro/kontext`` for ``https://fal.run`` + ``/fal-ai/flux-pro/kontext``; None without a run."""
        run = self.endpoint(endpoint_id).run
        if run is None:
            return None
        url = run.url
        base = self.provider.run_base_url
        if base and url.startswith(base):
            return url[len(base) :].strip("/")
        return urlsplit(url).path.strip("/")

    def validator(self, schema: Any) -> SchemaValidator:
        """A validator of an OpenAPI 3.0 ``schema`` of this document (cached by the schema's text)."""
        key = repr(schema)
        with self._lock:
            found = self._validators.get(key)
            if found is None:
                found = self._validators[key] = SchemaValidator(schema, self.components)
            return found

    def schema_errors(self, schema: Any, instance: Any, limit: int = 3) -> list[str]:
        """Up to ``limit`` messages of ``instance`` against ``schema`` (a schema of this document):
        ``at images.0.width: ...``; empty when it is valid."""
        return self.validator(schema).messages(instance, limit=limit)

    def output_model_name(self, endpoint_id: str) -> str:
        """The name of the endpoint's output schema, which is its generated model's name.

        Raises:
            ContractError: the endpoint has no run operation with a ``$ref`` output.
        """
        name = self.endpoint(endpoint_id).output_schema_name
        if not name:
            raise ContractError(
                f"{self.source}: no run operation with a named output schema for {endpoint_id}"
            )
        return name

    # -- parameters, headers and answers by their contract names ------------------------------------

    def find_parameter(self, component: str) -> Parameter | None:
        """The parameter ``$.components.parameters.<component>`` (e.g. ``RequestTimeout``), or None."""
        raw = ((self.document.get("components") or {}).get("parameters") or {}).get(component)
        raw = resolve_ref(self.document, raw)
        if not isinstance(raw, Mapping) or not raw.get("name"):
            return None
        return Parameter(
            component, str(raw["name"]), str(raw.get("in", "query")), fold(self.document, raw.get("schema"))
        )

    def parameter(self, component: str) -> Parameter:
        """:meth:`find_parameter`, required.

        Raises:
            ContractError: the document has no such parameter (the message names its JSONPath).
        """
        found = self.find_parameter(component)
        if found is None:
            raise ContractError(
                f"{self.source}: $.components.parameters.{component}: expected a parameter with a name, found none"
            )
        return found

    @cached_property
    def _header_names(self) -> dict[str, str]:
        """Response header component -> the (lower-case) name a response declares it under."""
        out: dict[str, str] = {}
        responses: list[Any] = list(((self.document.get("components") or {}).get("responses") or {}).values())
        for op in self.operations.values():
            responses.extend((op.spec.get("responses") or {}).values())
        for response in responses:
            headers = response.get("headers") if isinstance(response, Mapping) else None
            for name, header in (headers or {}).items():
                ref = header.get("$ref") if isinstance(header, Mapping) else None
                if isinstance(ref, str) and ref.startswith("#/components/headers/"):
                    out.setdefault(ref.rsplit("/", 1)[-1], str(name).lower())
        return out

    def find_header_name(self, component: str) -> str | None:
        """:meth:`header_name`, or None when no response declares the header."""
        return self._header_names.get(component)

    def header_name(self, component: str) -> str:
        """The lower-case name of the response header ``$.components.headers.<component>`` (e.g.
        ``RequestIdHeader`` -> ``x-fal-request-id``), as the responses that declare it name it.

        Raises:
            ContractError: no response declares it.
        """
        found = self._header_names.get(component)
        if found is None:
            raise ContractError(
                f"{self.source}: no response declares a header $ref '#/components/headers/{component}'"
            )
        return found

    @cached_property
    def request_id_header(self) -> str:
        """The response header carrying fal's request id (``x-fal-request-id``; ``RequestIdHeader``)."""
        return self.header_name("RequestIdHeader")

    @cached_property
    def submit_state(self) -> str:
        """The queue state a submit answers with (``IN_QUEUE``): the ``status`` enum of the submits' 200.

        Raises:
            ContractError: the 200 schema states no single state.
        """
        found: set[str] = set()
        for endpoint in self.endpoints.values():
            schema = endpoint.submit.response(200).media.get("application/json")
            status = fold(self.document, (fold(self.document, schema).get("properties") or {}).get("status"))
            found.update(str(v) for v in status.get("enum") or [])
        if len(found) != 1:
            raise ContractError(
                f"{self.source}: the submits' 200 schema: expected one queue state in its status enum, "
                f"found {sorted(found) or 'none'}"
            )
        return found.pop()

    def stream_suffix(self, endpoint_id: str | None = None) -> str:
        """What the status stream's path adds to the status path (``/stream``): a client appends it to a
        request's ``status_url``.

        Raises:
            ContractError: the stream's path is not under the status path.
        """
        status = self.request_operation("status", endpoint_id).path
        stream = self.request_operation("status-stream", endpoint_id).path
        if not stream.startswith(status):
            raise ContractError(
                f"{self.source}: the status stream's path {stream} is not under the status path {status}"
            )
        return stream[len(status) :]

    def cancel_answers(self, endpoint_id: str | None = None) -> dict[int, tuple[str, ...]]:
        """Status code -> the answers (:data:`CANCEL_ANSWERS`) cancel gives with it: a response's
        ``x-fal-status`` list where it states one, else its schema's ``status`` enum when that has a
        single value (``CancelAccepted``: ``OK``).

        Raises:
            ContractError: an answer the code does not know.
        """
        op = self.request_operation("cancel", endpoint_id)
        out: dict[int, tuple[str, ...]] = {}
        for code in op.codes():
            if not code.isdigit():
                continue
            raw = resolve_ref(op.doc, (op.spec.get("responses") or {}).get(code))
            stated = raw.get("x-fal-status") if isinstance(raw, Mapping) else None
            if isinstance(stated, list):
                values = tuple(str(v) for v in stated)
            else:
                schema = op.response(code).media.get("application/json")
                status = fold(
                    self.document, (fold(self.document, schema).get("properties") or {}).get("status")
                )
                enum = [str(v) for v in status.get("enum") or []]
                values = tuple(enum) if len(enum) == 1 else ()
            unknown = [v for v in values if v not in CANCEL_ANSWERS]
            if unknown:
                raise ContractError(
                    f"{self.source}: {op.where}.responses['{code}']: cancel answer(s) {', '.join(unknown)}; "
                    f"expected only {', '.join(CANCEL_ANSWERS)} (a new answer needs code: docs/pipeline.md)"
                )
            if values:
                out[int(code)] = values
        return out

    def cancel_code(self, answer: str, endpoint_id: str | None = None) -> int:
        """The status code cancel answers ``answer`` (one of :data:`CANCEL_ANSWERS`) with, the lowest if several.

        Raises:
            ContractError: the contract states no code for it.
        """
        codes = [code for code, values in self.cancel_answers(endpoint_id).items() if answer in values]
        if not codes:
            raise ContractError(
                f"{self.source}: the cancel operation states no status code answering {answer}"
            )
        return min(codes)

    def find_operation(self, name: str) -> Operation | None:
        """A request operation by role (:data:`REQUEST_ROLES`), or any operation by operationId (the run
        operations possibly from the reference), or None."""
        if name in REQUEST_ROLES:
            return next((op for op in self.request_operations if op.role == name), None)
        return self.operations.get(name)

    def require(self, roles: tuple[str, ...] = REQUEST_ROLES) -> ContractModel:
        """This model, once it has an operation of each of ``roles``.

        Raises:
            ContractError: one is missing (the message names the document and the roles).
        """
        missing = [role for role in roles if self.find_operation(role) is None]
        if missing:
            raise ContractError(f"{self.source}: no operation with x-fal-role: {', '.join(missing)}")
        return self

    def default_endpoint(self) -> str:
        """The endpoint a check or a test uses when none is asked for: the first the provider documents
        (``x-provider.documented_endpoints``) that the document has, else the first submit's."""
        for endpoint in self.provider.documented_endpoints:
            if endpoint in self.endpoints:
                return endpoint
        return next(iter(self.endpoints))


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


_CACHE: dict[tuple[str, str | None], tuple[Any, ContractModel]] = {}
_CACHE_LOCK = threading.Lock()
