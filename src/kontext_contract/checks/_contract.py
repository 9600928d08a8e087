"""What the checks read from the provider document: operations, response schemas and headers, input
schemas, and the provider's own facts (``info.x-provider``).

Nothing here types a status code's schema, an enum or a range of the contract again: each is looked up in
``openapi/providers/{provider}.openapi.yaml``. The synchronous run operations (and so the output schema of
each endpoint) come from the main contract ``openapi/kontext.openapi.yaml`` when the provider document has
none (the relays' documents drop them; docs/contract.md "Provider documents").
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from .._layout import Layout
from .._openapi import resolve_ref as deref
from .._openapi import to_json_schema

__all__ = ["ContractProblem", "Operation", "ProviderContract", "ResponseSpec"]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_METHODS = ("get", "put", "post", "delete", "patch", "head")


class ContractProblem(Exception):
    """The provider document lacks something a check needs (an operation, a response, a schema).

    This is a problem of the contract, not of the provider under test: the CLI reports it as a usage
    error (exit status 2) naming the document and what is missing.
    """


def _load(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except OSError as exc:
        raise ContractProblem(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ContractProblem(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("paths"), dict):
        raise ContractProblem(f"{path} is not an OpenAPI document (no paths)")
    return data


def merged(doc: Mapping[str, Any], schema: Any) -> dict[str, Any]:
    """A property or object schema with its ``$ref`` and ``allOf`` members folded into one mapping (the
    outer keys win): ``{allOf: [$ref AspectRatio], description}`` gives the enum of AspectRatio too."""
    node = deref(doc, schema)
    if not isinstance(node, dict):
        return {}
    out: dict[str, Any] = {}
    for sub in node.get("allOf", []):
        for key, value in merged(doc, sub).items():
            if key == "properties":
                out.setdefault("properties", {}).update(value)
            elif key == "required":
                out["required"] = sorted({*out.get("required", []), *value})
            else:
                out[key] = value
    for key, value in node.items():
        if key == "allOf":
            continue
        if key == "properties":
            out.setdefault("properties", {}).update(value)
        elif key == "required":
            out["required"] = sorted({*out.get("required", []), *value})
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class ResponseSpec:
    """One response of one operation.

    Attributes:
        code: the HTTP status code as the document writes it (``"200"``).
        media: media type -> schema (OpenAPI 3.0, unresolved).
        required_headers: names of the headers the contract marks ``required: true`` (e.g. ``x-fal-request-id``).
        description: the response's description.
    """

    code: str
    media: dict[str, Any]
    required_headers: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Operation:
    """One operation of the contract.

    Attributes:
        operation_id: e.g. ``getRequestStatus``.
        method: upper-case HTTP method.
        path: the path template, e.g. ``/fal-ai/flux-pro/requests/{request_id}/status``.
        spec: the operation object.
        doc: the document it comes from (the provider document, or the main contract for run operations
            of a provider document that has none), for resolving its ``$ref`` s.
        server: the path-level server URL (the synchronous API's ``https://fal.run/fal-ai/flux-pro``), or None.
    """

    operation_id: str
    method: str
    path: str
    spec: dict[str, Any] = field(repr=False)
    doc: dict[str, Any] = field(repr=False, compare=False)
    server: str | None = None

    @property
    def endpoint_id(self) -> str | None:
        """``x-fal-endpoint-id`` of a submit or run operation."""
        value = self.spec.get("x-fal-endpoint-id")
        return str(value) if isinstance(value, str) else None

    def response(self, code: int | str) -> ResponseSpec:
        """The contract's response for ``code``.

        Raises:
            ContractProblem: the operation declares no such response.
        """
        found = self.find_response(code)
        if found is None:
            raise ContractProblem(
                f"{self.operation_id} ({self.method} {self.path}) declares no {code} response"
            )
        return found

    def find_response(self, code: int | str) -> ResponseSpec | None:
        """The contract's response for ``code``, or None."""
        raw = deref(self.doc, (self.spec.get("responses") or {}).get(str(code)))
        if not isinstance(raw, dict):
            return None
        media = {
            str(name): (body or {}).get("schema", {}) for name, body in (raw.get("content") or {}).items()
        }
        headers = tuple(
            str(name)
            for name, header in (raw.get("headers") or {}).items()
            if isinstance(deref(self.doc, header), dict) and deref(self.doc, header).get("required") is True
        )
        return ResponseSpec(str(code), media, headers, str(raw.get("description", "")))

    def codes(self) -> list[str]:
        """Every status code the operation declares, in document order."""
        return [str(code) for code in (self.spec.get("responses") or {})]

    def parameter(self, name: str) -> dict[str, Any] | None:
        """The (resolved) parameter called ``name``, or None."""
        for param in self.spec.get("parameters") or []:
            resolved = deref(self.doc, param)
            if isinstance(resolved, dict) and resolved.get("name") == name:
                return resolved
        return None

    def parameters(self) -> Iterator[dict[str, Any]]:
        for param in self.spec.get("parameters") or []:
            resolved = deref(self.doc, param)
            if isinstance(resolved, dict):
                yield resolved

    def input_schema(self) -> dict[str, Any]:
        """The JSON request body's schema (unresolved), ``{}`` if none."""
        body = deref(self.doc, self.spec.get("requestBody")) or {}
        return dict(((body.get("content") or {}).get("application/json") or {}).get("schema") or {})


class ProviderContract:
    """The provider document (``openapi/providers/{name}.openapi.yaml``) as the checks need it.

    Args:
        document: the provider document.
        reference: the main contract (``openapi/kontext.openapi.yaml``), for the run operations when the
            provider document has none; may be None.
        path: where the document was read from (for messages).

    Raises:
        ContractProblem: the document has no ``info.x-provider`` or no queue operation the checks need.
    """

    #: the queue operations every check run needs (their ids are the contract's; docs/contract.md §3.1)
    QUEUE_OPERATIONS = ("getRequestStatus", "streamRequestStatus", "getRequestResult", "cancelRequest")

    def __init__(self, document: dict[str, Any], reference: dict[str, Any] | None, path: str) -> None:
        self.document = document
        self.reference = reference
        self.path = path
        info = document.get("info") or {}
        provider = info.get("x-provider")
        if not isinstance(provider, dict):
            raise ContractProblem(f"{path} has no info.x-provider (is it a provider document?)")
        self.provider: dict[str, Any] = provider
        self._operations: dict[str, Operation] = {}
        self.submits: dict[str, Operation] = {}
        self.runs: dict[str, Operation] = {}
        for doc in (document, reference):
            if doc is None:
                continue
            for path_key, item in (doc.get("paths") or {}).items():
                if not isinstance(item, dict):
                    continue
                servers = item.get("servers") or []
                server = str(servers[0].get("url")) if servers and isinstance(servers[0], dict) else None
                for method in _METHODS:
                    spec = item.get(method)
                    if not isinstance(spec, dict) or not isinstance(spec.get("operationId"), str):
                        continue
                    op = Operation(str(spec["operationId"]), method.upper(), str(path_key), spec, doc, server)
                    endpoint = op.endpoint_id
                    if doc is document:
                        self._operations.setdefault(op.operation_id, op)
                        if endpoint and server is None and method == "post":
                            self.submits.setdefault(endpoint, op)
                    if endpoint and server is not None and method == "post":
                        # the provider's own run operations win over the reference's
                        self.runs.setdefault(endpoint, op)
        for needed in self.QUEUE_OPERATIONS:
            if needed not in self._operations:
                raise ContractProblem(f"{path} has no operation {needed}")
        if not self.submits:
            raise ContractProblem(f"{path} has no queue submit operation with x-fal-endpoint-id")
        self._validators: dict[tuple[int, str], Draft202012Validator] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, provider: str, *, layout: Layout | None = None) -> ProviderContract:
        """Read the provider document ``provider`` (and the main contract, for the run operations).

        Raises:
            ContractProblem: no such provider document, or it lacks what the checks need.
        """
        try:
            layout = layout or Layout.discover()
        except FileNotFoundError as exc:
            raise ContractProblem(str(exc)) from None
        path = layout.provider_document(provider)
        if not path.is_file():
            known = sorted(
                p.name.removesuffix(".openapi.yaml") for p in layout.providers_dir.glob("*.openapi.yaml")
            )
            raise ContractProblem(f"no provider document {path}; known providers: {', '.join(known)}")
        reference = _load(layout.contract) if layout.contract.is_file() else None
        try:
            shown = str(path.relative_to(layout.root))
        except ValueError:
            shown = str(path)
        return cls(_load(path), reference, shown)

    # -- x-provider --------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return str(self.provider.get("name", "?"))

    @property
    def auth(self) -> dict[str, Any]:
        return dict(self.provider.get("auth") or {})

    @property
    def auth_scheme(self) -> str:
        """``Key`` (fal) or ``Bearer`` (relays): ``x-provider.auth.scheme`` (docs/contract.md §3.4)."""
        return str(self.auth.get("scheme", "Key"))

    @property
    def key_env(self) -> str | None:
        value = self.auth.get("key_env")
        return str(value) if value else None

    @property
    def key_env_pair(self) -> tuple[str, str] | None:
        pair = self.auth.get("key_env_pair")
        if isinstance(pair, list) and len(pair) == 2:
            return str(pair[0]), str(pair[1])
        return None

    @property
    def sync_api(self) -> bool:
        """Whether the provider documents a synchronous API (``x-provider.sync_api``)."""
        return bool(self.provider.get("sync_api", False))

    @property
    def run_base_url(self) -> str | None:
        value = self.provider.get("run_base_url")
        return str(value).rstrip("/") if value else None

    @property
    def queue_base_url(self) -> str | None:
        """The documented queue base URL (``x-provider.queue_base_url``, else a concrete ``servers[0].url``)."""
        value = self.provider.get("queue_base_url")
        if value:
            return str(value).rstrip("/")
        servers = self.document.get("servers") or []
        url = str(servers[0].get("url", "")) if servers and isinstance(servers[0], dict) else ""
        return url.rstrip("/") if url.startswith(("http://", "https://")) and "{" not in url else None

    @property
    def known_deviations(self) -> list[dict[str, Any]]:
        """``x-provider.known_deviations``: ``[{id, description, source}]``."""
        return [dict(d) for d in self.provider.get("known_deviations") or [] if isinstance(d, dict)]

    @property
    def documented_endpoints(self) -> list[str]:
        return [str(e) for e in self.provider.get("documented_endpoints") or []]

    def default_endpoint(self) -> str:
        """The endpoint checked when none is asked for: the first the provider documents, else the first
        submit operation of the document."""
        for endpoint in self.documented_endpoints:
            if endpoint in self.submits:
                return endpoint
        return next(iter(self.submits))

    # -- operations and schemas --------------------------------------------------------------------

    def operation(self, operation_id: str) -> Operation:
        """The provider document's operation ``operation_id``.

        Raises:
            ContractProblem: no such operation.
        """
        found = self._operations.get(operation_id)
        if found is None:
            raise ContractProblem(f"{self.path} has no operation {operation_id}")
        return found

    def submit(self, endpoint_id: str) -> Operation:
        """The queue submit operation of ``endpoint_id``.

        Raises:
            ContractProblem: the document has no submit for it (the message lists those it has).
        """
        found = self.submits.get(endpoint_id)
        if found is None:
            raise ContractProblem(
                f"{self.path} has no submit operation for {endpoint_id!r}; it has: {', '.join(self.submits)}"
            )
        return found

    def request_prefix(self) -> str:
        """``/{owner}/{app}`` of the request URLs, from the path of ``getRequestResult``
        (``/fal-ai/flux-pro/requests/{request_id}`` -> ``/fal-ai/flux-pro``; FACTS §3.1)."""
        path = self.operation("getRequestResult").path
        return path.split("/requests/", 1)[0]

    def request_path(self, operation_id: str, request_id: str) -> str:
        """The contract's path of a request operation with ``{request_id}`` filled in."""
        return self.operation(operation_id).path.replace("{request_id}", request_id)

    def suffix(self, operation_id: str) -> str:
        """What an operation's path adds to the result's path (``/status``, ``/status/stream``, ``/cancel``)."""
        base = self.operation("getRequestResult").path
        path = self.operation(operation_id).path
        if not path.startswith(base):
            raise ContractProblem(f"{operation_id}'s path {path} is not under {base}")
        return path[len(base) :]

    def input_properties(self, endpoint_id: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """The submit input's properties (each folded with :func:`merged`) and its required names."""
        op = self.submit(endpoint_id)
        schema = merged(op.doc, op.input_schema())
        props = {name: merged(op.doc, prop) for name, prop in (schema.get("properties") or {}).items()}
        return props, [str(r) for r in schema.get("required") or []]

    def output_schema(self, endpoint_id: str) -> tuple[Any, dict[str, Any]] | None:
        """(200 schema, its document) of the endpoint's synchronous run operation: the model output
        (docs/contract.md §3.3), or None when no document has a run operation for it."""
        op = self.runs.get(endpoint_id)
        if op is None:
            return None
        media = op.response(200).media
        schema = media.get("application/json")
        return (schema, op.doc) if schema is not None else None

    def validator(self, schema: Any, doc: dict[str, Any]) -> Draft202012Validator:
        """A JSON Schema 2020-12 validator of an OpenAPI 3.0 ``schema`` of ``doc`` (cached)."""
        key = (id(doc), repr(schema))
        with self._lock:
            found = self._validators.get(key)
            if found is None:
                components = (doc.get("components") or {}).get("schemas") or {}
                root = to_json_schema(copy.deepcopy(schema)) if isinstance(schema, dict) else {}
                root = {**root, "$defs": {n: to_json_schema(s) for n, s in components.items()}}
                found = self._validators[key] = Draft202012Validator(root)
            return found

    def schema_errors(self, schema: Any, doc: dict[str, Any], instance: Any, limit: int = 3) -> list[str]:
        """Up to ``limit`` messages of ``instance`` against ``schema``: ``at images.0.width: ...``."""
        out: list[str] = []
        for error in self.validator(schema, doc).iter_errors(instance):
            where = ".".join(str(p) for p in error.absolute_path) or "<body>"
            message = error.message
            if len(message) > 160:
                message = message[:157] + "..."
            out.append(f"at {where}: {message}")
            if len(out) >= limit:
                break
        return out

    def component(self, doc: dict[str, Any], name: str) -> dict[str, Any]:
        """``components.schemas[name]`` of ``doc`` folded with :func:`merged`."""
        schemas = (doc.get("components") or {}).get("schemas") or {}
        if name not in schemas:
            raise ContractProblem(f"the contract has no schema {name}")
        return merged(doc, schemas[name])

    def state_codes(self) -> dict[str, set[str]]:
        """For every queue state (the ``status`` enum values), the codes ``getRequestStatus`` answers it
        with: read from each 2xx response's schema and its ``oneOf``/``anyOf`` branches (docs/contract.md
        §3.1: 202 while IN_QUEUE/IN_PROGRESS, 200 when COMPLETED)."""
        op = self.operation("getRequestStatus")
        out: dict[str, set[str]] = {}
        for code in op.codes():
            if not code.startswith("2"):
                continue
            schema = op.response(code).media.get("application/json")
            for state in self._states(op.doc, schema):
                out.setdefault(state, set()).add(code)
        if not out:
            raise ContractProblem("getRequestStatus declares no 2xx JSON response with a status enum")
        return out

    def _states(self, doc: dict[str, Any], schema: Any) -> list[str]:
        node = deref(doc, schema)
        if not isinstance(node, dict):
            return []
        branches = [*node.get("oneOf", []), *node.get("anyOf", [])]
        if branches:
            return [s for b in branches for s in self._states(doc, b)]
        status = merged(doc, (merged(doc, node).get("properties") or {}).get("status"))
        return [str(v) for v in status.get("enum") or []]

    def queued_states(self) -> list[str]:
        """The states whose status schema requires ``queue_position`` (IN_QUEUE; FACTS §3.1)."""
        op = self.operation("getRequestStatus")
        found: list[str] = []
        for code in op.codes():
            schema = op.response(code).media.get("application/json") if code.startswith("2") else None
            node = deref(op.doc, schema)
            if not isinstance(node, dict):
                continue
            for branch in [*node.get("oneOf", []), *node.get("anyOf", [])] or [node]:
                folded = merged(op.doc, branch)
                if "queue_position" in (folded.get("required") or []):
                    found.extend(self._states(op.doc, branch))
        return found

    def terminal_states(self) -> list[str]:
        """The states ``getRequestStatus`` answers with 200 (COMPLETED)."""
        return sorted(s for s, codes in self.state_codes().items() if "200" in codes)

    def any_operation(self, operation_id: str) -> Operation | None:
        """An operation of the provider document, or a run operation (possibly from the main contract)."""
        found = self._operations.get(operation_id)
        if found is not None:
            return found
        return next((op for op in self.runs.values() if op.operation_id == operation_id), None)
