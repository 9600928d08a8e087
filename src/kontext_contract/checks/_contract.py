"""What the checks read from the provider document, through the contract model.

Nothing here types a status code, a path, an enum or a range of the contract again: each is asked of the
contract model (:class:`kontext_contract.contract.ContractModel`) of
``openapi/providers/{provider}.openapi.yaml``. The synchronous run operations (and so the output schema of
each endpoint) come from the main contract ``openapi/kontext.openapi.yaml`` when the provider document has
none (the relays' documents drop them; docs/contract.md "Provider documents"). Request operations are named
by their role (``status``, ``status-stream``, ``result``, ``cancel``; ``x-fal-role``) or their operationId.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._layout import Layout
from .._openapi import fold as merged
from ..contract import (
    COMPLETED,
    REQUEST_ROLES,
    ContractError,
    ContractModel,
    EndpointModel,
    Operation,
    load_document,
)
from ..contract import Response as ResponseSpec

__all__ = ["ContractProblem", "Operation", "ProviderContract", "ResponseSpec", "merged"]


class ContractProblem(Exception):
    """The provider document lacks something a check needs (an operation, a response, a schema).

    This is a problem of the contract, not of the provider under test: the CLI reports it as a usage
    error (exit status 2) naming the document and what is missing.
    """


class ProviderContract:
    """The provider document as the checks need it: a view of its contract model.

    Args:
        document: the provider document.
        reference: the main contract (``openapi/kontext.openapi.yaml``), for the run operations when the
            provider document has none; may be None.
        path: where the document was read from (for messages).

    Raises:
        ContractProblem: the document is not a provider document, or lacks a request operation.
    """

    def __init__(self, document: dict[str, Any], reference: dict[str, Any] | None, path: str) -> None:
        if not isinstance((document.get("info") or {}).get("x-provider"), Mapping):
            raise ContractProblem(f"{path} has no info.x-provider (is it a provider document?)")
        try:
            self.model = ContractModel.from_document(document, reference=reference, source=path)
        except ContractError as exc:
            raise ContractProblem(str(exc)) from None
        self.document = self.model.document
        self.reference = reference
        self.path = path
        for role in REQUEST_ROLES:
            self.operation(role)
        self.submits: dict[str, Operation] = {e.endpoint_id: e.submit for e in self.model.endpoints.values()}
        self.runs: dict[str, Operation] = {
            e.endpoint_id: e.run for e in self.model.endpoints.values() if e.run is not None
        }

    @classmethod
    def load(cls, provider: str, *, layout: Layout | None = None) -> ProviderContract:
        """Read the provider document ``provider`` (and the main contract, for the run operations).

        Raises:
            ContractProblem: no such provider document, or it lacks what the checks need.
        """
        try:
            layout = layout or Layout.shipped()
        except FileNotFoundError as exc:
            raise ContractProblem(str(exc)) from None
        path = layout.provider_document(provider)
        if not path.is_file():
            known = sorted(
                p.name.removesuffix(".openapi.yaml") for p in layout.providers_dir.glob("*.openapi.yaml")
            )
            raise ContractProblem(f"no provider document {path}; known providers: {', '.join(known)}")
        try:
            reference = load_document(layout.contract) if layout.contract.is_file() else None
            document = load_document(path)
        except ContractError as exc:
            raise ContractProblem(str(exc)) from None
        try:
            shown = str(path.relative_to(layout.root))
        except ValueError:
            shown = str(path)
        return cls(document, reference, shown)

    # -- x-provider (the contract model's provider facts) -------------------------------------------

    @property
    def provider(self) -> dict[str, Any]:
        """``info.x-provider`` as written."""
        return dict((self.document.get("info") or {}).get("x-provider") or {})

    @property
    def name(self) -> str:
        return self.model.provider.name

    @property
    def auth_scheme(self) -> str:
        """``Key`` (fal) or ``Bearer`` (relays): the contract model's provider facts (docs/contract.md §3.4)."""
        return self.model.provider.auth_scheme

    @property
    def key_env(self) -> str | None:
        return self.model.provider.key_env

    @property
    def key_env_pair(self) -> tuple[str, str] | None:
        return self.model.provider.key_env_pair

    @property
    def sync_api(self) -> bool:
        """Whether the provider documents a synchronous API (``x-provider.sync_api``)."""
        return self.model.provider.sync_api

    @property
    def run_base_url(self) -> str | None:
        return self.model.provider.run_base_url

    @property
    def queue_base_url(self) -> str | None:
        """The documented queue base URL (``x-provider.queue_base_url``, else a concrete ``servers[0].url``)."""
        return self.model.provider.queue_base_url

    @property
    def known_deviations(self) -> list[dict[str, Any]]:
        """``x-provider.known_deviations``: ``[{id, description, source}]``."""
        return [dict(d) for d in self.model.provider.known_deviations]

    @property
    def documented_endpoints(self) -> list[str]:
        return list(self.model.provider.documented_endpoints)

    def default_endpoint(self) -> str:
        """The endpoint checked when none is asked for: the first the provider documents, else the first
        submit operation of the document."""
        for endpoint in self.documented_endpoints:
            if endpoint in self.submits:
                return endpoint
        return next(iter(self.submits))

    # -- operations and schemas --------------------------------------------------------------------

    def operation(self, name: str) -> Operation:
        """A request operation by role (``status``, ``status-stream``, ``result``, ``cancel``) or any
        operation of the document by operationId.

        Raises:
            ContractProblem: no such operation.
        """
        found = self.any_operation(name)
        if found is None:
            raise ContractProblem(f"{self.path} has no operation {name} (x-fal-role or operationId)")
        return found

    def any_operation(self, name: str) -> Operation | None:
        """An operation by role or operationId (run operations possibly from the main contract), or None."""
        if name in REQUEST_ROLES:
            try:
                return self.model.request_operation(name)
            except ContractError:
                return None
        return self.model.operations.get(name)

    def endpoint(self, endpoint_id: str) -> EndpointModel:
        """The endpoint's contract model.

        Raises:
            ContractProblem: the document has no submit for it (the message lists those it has).
        """
        try:
            return self.model.endpoint(endpoint_id)
        except ContractError as exc:
            raise ContractProblem(str(exc)) from None

    def submit(self, endpoint_id: str) -> Operation:
        """The queue submit operation of ``endpoint_id``.

        Raises:
            ContractProblem: the document has no submit for it (the message lists those it has).
        """
        return self.endpoint(endpoint_id).submit

    def request_path(self, role: str, request_id: str, endpoint_id: str | None = None) -> str:
        """The contract's path of a request operation (by role or operationId) with the request id filled in."""
        if endpoint_id is not None and role in REQUEST_ROLES:
            return self.endpoint(endpoint_id).request(role).path_for(request_id)
        return self.operation(role).path_for(request_id)

    def suffix(self, role: str) -> str:
        """What a request operation's path adds to the result's path (``/status``, ``/status/stream``, ``/cancel``).

        Raises:
            ContractProblem: the operation's path is not under the result's.
        """
        base = self.operation("result").path
        path = self.operation(role).path
        if not path.startswith(base):
            raise ContractProblem(f"{role}'s path {path} is not under {base}")
        return path[len(base) :]

    def input_properties(self, endpoint_id: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """The submit input's properties (each folded) and its required names."""
        endpoint = self.endpoint(endpoint_id)
        return {n: dict(p) for n, p in endpoint.input_properties.items()}, list(endpoint.required_inputs)

    def output_schema(self, endpoint_id: str) -> tuple[Any, dict[str, Any]] | None:
        """(200 schema, its document) of the endpoint's synchronous run operation: the model output
        (docs/contract.md §3.3), or None when no document has a run operation for it."""
        op = self.runs.get(endpoint_id)
        if op is None:
            return None
        schema = op.response(200).media.get("application/json")
        return (schema, self.document) if schema is not None else None

    def schema_errors(self, schema: Any, doc: Any, instance: Any, limit: int = 3) -> list[str]:
        """Up to ``limit`` messages of ``instance`` against ``schema``: ``at images.0.width: ...``
        (``doc`` is accepted for compatibility; the model's components resolve every ``$ref``)."""
        return self.model.validator(schema).messages(instance, limit=limit)

    def component(self, doc: Any, name: str) -> dict[str, Any]:
        """``components.schemas[name]`` folded."""
        if name not in self.model.components:
            raise ContractProblem(f"the contract has no schema {name}")
        return merged(self.document, self.model.components[name])

    def state_codes(self) -> dict[str, set[str]]:
        """For every queue state, the codes the status operation answers it with, as the document states
        them (docs/contract.md §3.1: 202 while IN_QUEUE/IN_PROGRESS, 200 when COMPLETED in fal's)."""
        codes = self.model.state_codes
        if not codes:
            raise ContractProblem(
                f"{self.path}: the status operation declares no 2xx JSON response with a status enum"
            )
        return {state: {str(c) for c in found} for state, found in codes.items()}

    def queued_states(self) -> list[str]:
        """The states whose status schema requires ``queue_position`` (IN_QUEUE; docs/contract.md §3.1)."""
        return sorted(self.model.queued_states)

    def terminal_states(self) -> list[str]:
        """The states after which nothing changes (COMPLETED), read from a status's ``status`` field,
        never from the HTTP status code."""
        return [COMPLETED]
