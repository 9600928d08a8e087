"""What the mock reads from the contract: endpoints, input schemas and defaults, output image items, provider facts.

Nothing here names a field, an enum value or a range of the Kontext inputs: they come from the provider
document (``openapi/providers/{provider}.openapi.yaml``) so that the mock follows the contract when it changes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml
from jsonschema import Draft202012Validator

from .._layout import Layout
from .._openapi import resolve_ref as _deref
from ._schema import json_schema, make_validator

__all__ = ["Contract", "ContractError", "Endpoint", "load_document"]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ContractError(Exception):
    """The provider document lacks something the mock needs; the message names it."""


_CACHE: dict[tuple[str, int, int], dict[str, Any]] = {}


def load_document(path: Path) -> dict[str, Any]:
    """Parse an OpenAPI document (YAML or JSON). Parsed files are cached by path, size and modification
    time; each call returns a fresh deep copy.

    Raises:
        ContractError: the file is missing or not a mapping.
    """
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        data = _CACHE.get(key)
        if data is None:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
            if isinstance(data, dict):
                _CACHE[key] = data
    except OSError as exc:
        raise ContractError(f"cannot read {path}: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise ContractError(f"{path} is not an OpenAPI document (not a mapping)")
    return copy.deepcopy(data)


def _is_string(doc: Mapping[str, Any], node: Any) -> bool:
    node = _deref(doc, node)
    if not isinstance(node, dict):
        return False
    if node.get("type") == "string":
        return True
    return any(_is_string(doc, sub) for sub in node.get("allOf", []))


_IMAGE_URL = re.compile(r"(^|_)image_url$")
_IMAGE_URLS = re.compile(r"(^|_)image_urls$")


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of the family, e.g. ``fal-ai/flux-pro/kontext/max/multi``.

    Attributes:
        endpoint_id: the ``x-fal-endpoint-id`` of its submit operation.
        operation_id: the submit operation's id.
        input_schema: the request body schema (OpenAPI 3.0, unresolved).
        validator: a JSON Schema validator of that body (see ``_schema.json_schema``), for error details.
        is_valid: the same schema compiled by jsonschema-rs, a fast yes/no for the common valid input.
        defaults: the ``default`` of every input property that has one.
        image_inputs: input properties holding an image (a string, or an array of strings), by name,
            each True when it is an array; found by the convention of fal's names (``image_url``,
            ``image_urls``) and the schema's type.
        output_schema: the model output schema (from the run operation of the same endpoint).
        image_item_fields: the properties of an output image item (ImageFile or GeneratedImage).
        output_fields: the output's properties.
    """

    endpoint_id: str
    operation_id: str
    input_schema: dict[str, Any]
    validator: Draft202012Validator = field(repr=False, compare=False)
    is_valid: Callable[[Any], bool] = field(repr=False, compare=False)
    defaults: dict[str, Any]
    image_inputs: dict[str, bool]
    output_schema: dict[str, Any]
    image_item_fields: frozenset[str]
    output_fields: frozenset[str]


def _properties(doc: Mapping[str, Any], schema: Any) -> dict[str, Any]:
    schema = _deref(doc, schema)
    if not isinstance(schema, dict):
        return {}
    props: dict[str, Any] = {}
    for sub in schema.get("allOf", []):
        props.update(_properties(doc, sub))
    props.update(schema.get("properties") or {})
    return props


def _json_200_schema(op: Mapping[str, Any], doc: Mapping[str, Any]) -> Any:
    response = _deref(doc, (op.get("responses") or {}).get("200"))
    if not isinstance(response, dict):
        return None
    return ((response.get("content") or {}).get("application/json") or {}).get("schema")


def _run_operations(doc: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Synchronous run operations: endpoint id -> (URL of the operation, operation)."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict) or not item.get("servers"):
            continue
        op = item.get("post")
        if isinstance(op, dict) and isinstance(op.get("x-fal-endpoint-id"), str):
            url = str(item["servers"][0].get("url", "")).rstrip("/") + path
            out[op["x-fal-endpoint-id"]] = (url, op)
    return out


@dataclass
class Contract:
    """The facts of one provider document the mock runs on.

    Build it with :meth:`load` (from the project's files) or :meth:`from_document` (any document, for
    tests that prove the mock follows a changed contract).
    """

    document: dict[str, Any]
    provider: dict[str, Any]
    endpoints: dict[str, Endpoint]
    run_routes: dict[str, str]
    request_prefix: str
    components: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.provider.get("name", "?"))

    @property
    def auth_scheme(self) -> str:
        """``Key`` (fal) or ``Bearer`` (relays), from ``x-provider.auth.scheme``."""
        return str((self.provider.get("auth") or {}).get("scheme", "Key"))

    @property
    def queue_host(self) -> str:
        """``own`` or the foreign host the provider's submit answers point at (``x-provider.queue_urls.host``)."""
        return str((self.provider.get("queue_urls") or {}).get("host", "own"))

    @property
    def queue_app(self) -> str | None:
        """The owner/app the provider puts in its queue URLs (``x-provider.queue_urls.app``)."""
        app = (self.provider.get("queue_urls") or {}).get("app")
        return str(app) if app else None

    @property
    def sync_api(self) -> bool:
        return bool(self.provider.get("sync_api", False))

    @property
    def submit_extra_fields(self) -> dict[str, Any]:
        return dict(self.provider.get("submit_extra_fields") or {})

    @property
    def strict_request_app(self) -> bool:
        """Whether request URLs are served only under the contract's own app (fal), rather than under any
        owner/app (relays whose documents hand out foreign URLs that a client must rebase)."""
        return self.queue_host == "own"

    @classmethod
    def load(cls, provider: str, *, layout: Layout | None = None) -> Contract:
        """Read ``openapi/providers/{provider}.openapi.yaml`` (and the main contract for the output
        schemas when the provider document has no synchronous operations).

        Raises:
            ContractError: a file is missing or lacks what the mock needs.
            FileNotFoundError: the project root cannot be found (see ``_layout.find_root``).
        """
        layout = layout or Layout.discover()
        document = load_document(layout.provider_document(provider))
        reference = None
        if not _run_operations(document) and layout.contract.is_file():
            reference = load_document(layout.contract)
        return cls.from_document(document, reference=reference)

    @classmethod
    def from_document(
        cls, document: Mapping[str, Any], *, reference: Mapping[str, Any] | None = None
    ) -> Contract:
        """Build from an in-memory provider document. ``reference`` (a document with the synchronous run
        operations, e.g. the main contract) gives each endpoint's output schema when ``document`` has none.

        Raises:
            ContractError: no submit operation with ``x-fal-endpoint-id``, or an endpoint without output schema.
        """
        doc = copy.deepcopy(dict(document))
        components = (doc.get("components") or {}).get("schemas") or {}
        provider = dict((doc.get("info") or {}).get("x-provider") or {})
        runs = _run_operations(doc)
        reference_runs = _run_operations(reference) if reference is not None else {}
        endpoints: dict[str, Endpoint] = {}
        request_prefix = ""
        for path, item in (doc.get("paths") or {}).items():
            if not isinstance(item, dict):
                continue
            if "/requests/{" in path and not request_prefix:
                request_prefix = path.split("/requests/{", 1)[0].strip("/")
            if item.get("servers"):
                continue
            op = item.get("post")
            if not isinstance(op, dict) or not isinstance(op.get("x-fal-endpoint-id"), str):
                continue
            endpoint_id = op["x-fal-endpoint-id"]
            body = _deref(doc, op.get("requestBody")) or {}
            input_schema = ((body.get("content") or {}).get("application/json") or {}).get("schema") or {}
            props = _properties(doc, input_schema)
            defaults = {
                name: copy.deepcopy(p["default"])
                for name, p in props.items()
                if isinstance(p, dict) and "default" in p
            }
            image_inputs: dict[str, bool] = {}
            for name, prop in props.items():
                resolved = _deref(doc, prop)
                if _IMAGE_URL.search(name) and _is_string(doc, resolved):
                    image_inputs[name] = False
                elif (
                    _IMAGE_URLS.search(name)
                    and isinstance(resolved, dict)
                    and resolved.get("type") == "array"
                    and _is_string(doc, resolved.get("items"))
                ):
                    image_inputs[name] = True
            output_doc: Mapping[str, Any]
            if endpoint_id in runs:
                output_schema, output_doc = _json_200_schema(runs[endpoint_id][1], doc), doc
            elif endpoint_id in reference_runs and reference is not None:
                output_schema, output_doc = (
                    _json_200_schema(reference_runs[endpoint_id][1], reference),
                    reference,
                )
            else:
                raise ContractError(
                    f"no output schema for {endpoint_id}: neither the provider document nor the reference contract "
                    "has a synchronous run operation with this x-fal-endpoint-id"
                )
            output_resolved = _deref(output_doc, output_schema)
            out_props = _properties(output_doc, output_resolved)
            images = _deref(output_doc, out_props.get("images")) or {}
            item_props = _properties(output_doc, images.get("items"))
            if output_doc is not doc:
                # keep the output schema self-contained in this contract's components
                name = (output_schema or {}).get("$ref", "").rsplit("/", 1)[-1]
                ref_components = (output_doc.get("components") or {}).get("schemas") or {}
                for comp, sub in ref_components.items():
                    components.setdefault(comp, copy.deepcopy(sub))
                output_schema = {"$ref": f"#/components/schemas/{name}"} if name else output_resolved
            endpoints[endpoint_id] = Endpoint(
                endpoint_id=endpoint_id,
                operation_id=str(op.get("operationId", endpoint_id)),
                input_schema=input_schema,
                validator=make_validator(input_schema, components),
                is_valid=jsonschema_rs.validator_for(json_schema(input_schema, components)).is_valid,
                defaults=defaults,
                image_inputs=image_inputs,
                output_schema=output_schema or {},
                image_item_fields=frozenset(item_props),
                output_fields=frozenset(out_props),
            )
        if not endpoints:
            raise ContractError("the document has no queue submit operation with x-fal-endpoint-id")
        run_routes: dict[str, str] = {}
        run_base = str(provider.get("run_base_url", "")).rstrip("/")
        for endpoint_id, (url, _op) in runs.items():
            route = url[len(run_base) :] if run_base and url.startswith(run_base) else url.split("://", 1)[-1]
            route = route.strip("/")
            if "/" in route and "://" not in route and not run_base:
                route = route.split("/", 1)[1]  # drop the host when run_base_url is not stated
            run_routes[route] = endpoint_id
        if not request_prefix:
            request_prefix = "/".join(next(iter(endpoints)).split("/")[:2])
        return cls(
            document=doc,
            provider=provider,
            endpoints=endpoints,
            run_routes=run_routes,
            request_prefix=request_prefix,
            components=components,
        )

    def queue_app_for(self, endpoint_id: str) -> str:
        """The owner/app of the request URLs returned for ``endpoint_id``: the provider's (relays write
        ``fal-ai/flux-1``), else the first two segments of the endpoint id (FACTS.md §3.1)."""
        return self.queue_app or "/".join(endpoint_id.split("/")[:2])
