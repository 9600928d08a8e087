"""The six Kontext endpoint ids, and what the contract says about each (input schema, output model).

``Endpoint`` is written out so that type checkers know the members; :func:`catalog` reads the contract
(``openapi/kontext.openapi.yaml`` through :class:`kontext_contract._layout.Layout`) and fails loudly if
its ``x-fal-endpoint-id`` set differs from ``Endpoint`` (``tests/client`` fails the build on it too).
The input JSON Schema and the output model of each endpoint come from the contract's operations, never
retyped here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import kontext_api.models as _models
import yaml
from kontext_api.models import (
    KontextEditInput,
    KontextEditOutput,
    KontextMultiInput,
    KontextOutput,
    KontextTextToImageInput,
)

from .._layout import Layout
from ._errors import ConfigurationError

__all__ = [
    "EDIT_OUTPUT_ENDPOINTS",
    "Catalog",
    "EditEndpointId",
    "Endpoint",
    "EndpointId",
    "EndpointInfo",
    "InputModel",
    "Output",
    "OutputEndpointId",
    "catalog",
]


class Endpoint(StrEnum):
    """The endpoint ids of FLUX.1 Kontext [pro] on fal (FACTS §3.3); each is a ``str``."""

    KONTEXT = "fal-ai/flux-pro/kontext"
    KONTEXT_MAX = "fal-ai/flux-pro/kontext/max"
    KONTEXT_MULTI = "fal-ai/flux-pro/kontext/multi"
    KONTEXT_MAX_MULTI = "fal-ai/flux-pro/kontext/max/multi"
    KONTEXT_TEXT_TO_IMAGE = "fal-ai/flux-pro/kontext/text-to-image"
    KONTEXT_MAX_TEXT_TO_IMAGE = "fal-ai/flux-pro/kontext/max/text-to-image"


# For the type checker only: which ids answer with KontextEditOutput, which with KontextOutput. The
# contract decides at run time (catalog().output_model); a test checks that the two agree.
EditEndpointId = Literal[
    Endpoint.KONTEXT,
    Endpoint.KONTEXT_MAX,
    "fal-ai/flux-pro/kontext",
    "fal-ai/flux-pro/kontext/max",
]
OutputEndpointId = Literal[
    Endpoint.KONTEXT_MULTI,
    Endpoint.KONTEXT_MAX_MULTI,
    Endpoint.KONTEXT_TEXT_TO_IMAGE,
    Endpoint.KONTEXT_MAX_TEXT_TO_IMAGE,
    "fal-ai/flux-pro/kontext/multi",
    "fal-ai/flux-pro/kontext/max/multi",
    "fal-ai/flux-pro/kontext/text-to-image",
    "fal-ai/flux-pro/kontext/max/text-to-image",
]
EDIT_OUTPUT_ENDPOINTS = frozenset({Endpoint.KONTEXT, Endpoint.KONTEXT_MAX})

EndpointId = Endpoint | str
Output = KontextEditOutput | KontextOutput
InputModel = KontextEditInput | KontextMultiInput | KontextTextToImageInput


@dataclass(frozen=True)
class EndpointInfo:
    """What the contract says about one endpoint.

    Attributes:
        endpoint_id: e.g. ``"fal-ai/flux-pro/kontext/max/multi"``.
        input_schema: the name of the submit request body schema (e.g. ``"KontextMultiInput"``).
        input_model: the generated model class of that schema.
        output_schema: the name of the synchronous run's 200 schema (e.g. ``"KontextOutput"``).
        output_model: the generated model class of that schema.
        queue_path: ``/{owner}/{app}`` under which fal serves the request URLs (the first two segments
            of the id; FACTS §3.1).
    """

    endpoint_id: str
    input_schema: str
    input_model: type[Any]
    output_schema: str
    output_model: type[Any]

    @property
    def queue_path(self) -> str:
        owner, app = self.endpoint_id.split("/")[:2]
        return f"/{owner}/{app}"


@dataclass(frozen=True)
class Catalog:
    """The contract, as the client needs it: the endpoints and the component schemas (raw OpenAPI 3.0)."""

    endpoints: dict[str, EndpointInfo]
    schemas: dict[str, Any]
    path: Path

    def get(self, endpoint_id: str) -> EndpointInfo:
        """The endpoint's info.

        Raises:
            ConfigurationError: the id is not one of the contract's endpoints (the message lists them).
        """
        info = self.endpoints.get(str(endpoint_id))
        if info is None:
            known = ", ".join(sorted(self.endpoints))
            raise ConfigurationError(f"unknown endpoint id {str(endpoint_id)!r}; the contract has: {known}")
        return info


_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _ref_name(schema: Any) -> str | None:
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    return None


def _load(path: Path) -> Catalog:
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read the contract {path}: {exc}") from None
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    inputs: dict[str, str] = {}
    outputs: dict[str, str] = {}
    for path_item in document.get("paths", {}).values():
        operation = path_item.get("post") if isinstance(path_item, dict) else None
        if not isinstance(operation, dict) or "x-fal-endpoint-id" not in operation:
            continue
        endpoint_id = str(operation["x-fal-endpoint-id"])
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        name = _ref_name(body.get("schema"))
        if "queue" in operation.get("tags", []) and name:
            inputs[endpoint_id] = name
        ok = operation.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
        out_name = _ref_name(ok.get("schema"))
        if "run" in operation.get("tags", []) and out_name:
            outputs[endpoint_id] = out_name
    contract_ids = set(inputs)
    ours = {e.value for e in Endpoint}
    if contract_ids != ours:
        raise ConfigurationError(
            f"the contract {path} and kontext_contract.client.Endpoint disagree on the endpoint ids: "
            f"only in the contract: {sorted(contract_ids - ours)}; only in Endpoint: {sorted(ours - contract_ids)}"
        )
    endpoints: dict[str, EndpointInfo] = {}
    for endpoint_id, input_name in inputs.items():
        output_name = outputs.get(endpoint_id)
        if output_name is None:
            raise ConfigurationError(
                f"the contract {path} has no run operation with an output for {endpoint_id}"
            )
        try:
            input_model = getattr(_models, input_name)
            output_model = getattr(_models, output_name)
        except AttributeError as exc:
            raise ConfigurationError(
                f"generated/kontext_api has no model for {exc.name}: run `make client`"
            ) from None
        endpoints[endpoint_id] = EndpointInfo(endpoint_id, input_name, input_model, output_name, output_model)
    return Catalog(endpoints=endpoints, schemas=schemas, path=path)


_lock = threading.Lock()
_cache: dict[Path, Catalog] = {}


def catalog(contract: Path | None = None) -> Catalog:
    """The contract's endpoints, read once per contract file (default: the project's contract, found by
    :meth:`Layout.discover`).

    Raises:
        ConfigurationError: the contract cannot be found, or disagrees with :class:`Endpoint`.
    """
    if contract is None:
        try:
            contract = Layout.discover().contract
        except FileNotFoundError as exc:
            raise ConfigurationError(f"cannot find the contract: {exc}") from None
    contract = contract.resolve()
    with _lock:
        found = _cache.get(contract)
        if found is None:
            found = _cache[contract] = _load(contract)
        return found
