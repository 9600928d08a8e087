"""The Kontext endpoint ids, and what the contract says about each (input schema, output model, paths).

:func:`catalog` reads the contract (``openapi/kontext.openapi.yaml`` through the contract model,
:mod:`kontext_contract.contract`): every endpoint id it has is usable, as a plain string, with no code
change. ``Endpoint`` and the typed overloads are written out for the ids known when this was written, so
that type checkers know them; :meth:`Catalog.lagging` (and a test in ``tests/client``) reports when they lag
behind the contract, and the client never refuses to start because of it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, cast

import kontext_api.models as _models
from kontext_api.models import (
    KontextEditInput,
    KontextEditOutput,
    KontextMultiInput,
    KontextOutput,
    KontextTextToImageInput,
)

from .._layout import Layout
from ..contract import ContractError, ContractModel, EndpointModel, load_document
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
    """The endpoint ids of FLUX.1 Kontext [pro] on fal (docs/sources.md §3.3); each is a ``str``. Any other
    id the contract has may be passed as a string."""

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


def _generated(name: str, what: str) -> type[Any]:
    model = getattr(_models, name, None) if name else None
    if model is None:
        raise ConfigurationError(
            f"generated/kontext_api has no model {name or '(inline schema)'} for {what}: the contract is newer "
            "than the generated client; run `make client`"
        )
    return cast("type[Any]", model)


@dataclass(frozen=True)
class EndpointInfo:
    """What the contract says about one endpoint, as the client needs it (read from the contract model,
    :class:`kontext_contract.contract.EndpointModel`).

    Attributes:
        endpoint_id: e.g. ``"fal-ai/flux-pro/kontext/max/multi"``.
        input_schema: the name of the submit request body schema (e.g. ``"KontextMultiInput"``).
        output_schema: the name of the synchronous run's 200 schema (e.g. ``"KontextOutput"``).
        submit_path: the submit's path on the queue base URL (``/fal-ai/flux-pro/kontext``).
        run_path: the run's path on the run base URL, or None when the contract has no run for it.
        model: the endpoint's contract model (input validator, request operations).
    """

    endpoint_id: str
    input_schema: str
    output_schema: str
    submit_path: str
    run_path: str | None
    model: EndpointModel = field(repr=False, compare=False)

    @property
    def input_model(self) -> type[Any]:
        """The generated model class of the input schema.

        Raises:
            ConfigurationError: ``generated/kontext_api`` has no such model (``make client``); a mapping
                input works without it.
        """
        return _generated(self.input_schema, f"the input of {self.endpoint_id}")

    @property
    def output_model(self) -> type[Any]:
        """The generated model class of the output schema.

        Raises:
            ConfigurationError: ``generated/kontext_api`` has no such model (the contract changed and the
                client was not regenerated: ``make client``).
        """
        return _generated(self.output_schema, f"the output of {self.endpoint_id}")


@dataclass(frozen=True)
class Catalog:
    """The contract, as the client needs it: the endpoints and the contract model."""

    endpoints: dict[str, EndpointInfo]
    model: ContractModel
    path: Path

    @property
    def schemas(self) -> Mapping[str, Any]:
        """``components.schemas`` of the contract (raw OpenAPI 3.0)."""
        return self.model.components

    def get(self, endpoint_id: str) -> EndpointInfo:
        """The endpoint's info.

        Raises:
            ConfigurationError: the id is not one of the contract's endpoints (the message lists them).
        """
        info = self.endpoints.get(str(endpoint_id))
        if info is None:
            known = ", ".join(sorted(self.endpoints))
            raise ConfigurationError(
                f"unknown endpoint id {str(endpoint_id)!r}; the contract has: {known}", field="endpoint_id"
            )
        return info

    def lagging(self) -> dict[str, list[str]]:
        """How :class:`Endpoint` lags behind the contract: ``{"only_in_contract": [...], "only_in_endpoint":
        [...]}``. The client works for every id of the contract either way; a test reports the lag."""
        ours = {e.value for e in Endpoint}
        return {
            "only_in_contract": sorted(set(self.endpoints) - ours),
            "only_in_endpoint": sorted(ours - set(self.endpoints)),
        }


def _load(path: Path) -> Catalog:
    try:
        model = ContractModel.from_document(load_document(path), source=str(path))
    except ContractError as exc:
        raise ConfigurationError(f"cannot read the contract: {exc}") from None
    endpoints: dict[str, EndpointInfo] = {}
    for endpoint_id, endpoint in model.endpoints.items():
        input_name = endpoint.input_schema_name or ""
        output_name = endpoint.output_schema_name
        if output_name is None:
            raise ConfigurationError(
                f"the contract {path} has no run operation with an output for {endpoint_id}"
            )
        endpoints[endpoint_id] = EndpointInfo(
            endpoint_id=endpoint_id,
            input_schema=input_name,
            output_schema=output_name,
            submit_path=endpoint.submit.path,
            run_path=model.run_path(endpoint_id),
            model=endpoint,
        )
    return Catalog(endpoints=endpoints, model=model, path=path)


_lock = threading.Lock()
_cache: dict[tuple[Path, int, int], Catalog] = {}


def catalog(contract: Path | None = None) -> Catalog:
    """The contract's endpoints, read once per contract file version (default: the contract this package
    ships with, :meth:`Layout.shipped`, whatever the current directory). Every endpoint id the contract has is usable, whether or not
    :class:`Endpoint` names it.

    Raises:
        ConfigurationError: the contract cannot be found or read.
    """
    if contract is None:
        try:
            contract = Layout.shipped().contract
        except FileNotFoundError as exc:
            raise ConfigurationError(f"cannot find the contract: {exc}") from None
    contract = contract.resolve()
    try:
        stat = contract.stat()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the contract {contract}: {exc.strerror}") from None
    key = (contract, stat.st_size, stat.st_mtime_ns)
    with _lock:
        found = _cache.get(key)
        if found is None:
            found = _cache[key] = _load(contract)
        return found
