"""Stateful tests: Schemathesis' state machine (``schema.as_state_machine()``) follows the contract's links
(``QueueSubmitted`` links: submit -> status / status stream / result / cancel, by ``request_id``) against the
mock of each provider profile, with every check on every step. The mock keeps a request IN_QUEUE and
IN_PROGRESS for a while (virtual clock), so status answers 202 and 200 and cancel answers 202 and 400."""

from __future__ import annotations

from typing import Any

import hypothesis
import hypothesis.core
import pytest
import schemathesis
from schemathesis.checks import CheckFunction
from schemathesis.schemas import BaseSchema

from kontext_contract.mock import MockConfig, create_app

from ._checks import SUITE_CHECKS
from ._harness import (
    PROVIDERS,
    RECORD,
    AnyCase,
    active_profile,
    base_url_for,
    load_schema,
    mock_key,
    operations,
    recording,
    run_seed,
)
from ._run import ASGI_BASE, excluded_checks

PROFILE = active_profile()


def _machine(provider: str) -> Any:
    app = create_app(
        MockConfig(
            provider=provider, deterministic=True, queue_delay=0.2, processing_delay=0.1, clock_step=0.1
        )
    )
    schema = load_schema(
        provider, key=mock_key(provider), max_examples=PROFILE.stateful_examples, seed=run_seed(), app=app
    )
    recording(schema, "stateful", provider)
    base = schema.as_state_machine()

    class Machine(base):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: AnyCase) -> dict[str, Any]:
            return {"base_url": base_url_for(case.operation, ASGI_BASE, ASGI_BASE + "/run")}

        def validate_response(
            self,
            response: schemathesis.Response,
            case: AnyCase,
            additional_checks: list[CheckFunction] | None = None,
            **kwargs: Any,
        ) -> None:
            case.validate_response(
                response,
                additional_checks=[*SUITE_CHECKS, *(additional_checks or [])],
                excluded_checks=excluded_checks(case, response),
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

    return Machine, schema


def _linked_operation_ids(schema: BaseSchema) -> set[str]:
    """The operationIds that are the source or the target of a link in the document."""
    found: set[str] = set()
    for operation in operations(schema):
        for response in (operation.definition.raw.get("responses") or {}).values():
            links = response.get("links") if isinstance(response, dict) else None
            if links:
                found.add(str(operation.definition.raw.get("operationId")))
                found.update(str(link.get("operationId")) for link in links.values())
    assert found, "the document declares no links: nothing for the state machine to follow"
    return found


@pytest.mark.parametrize("provider", PROVIDERS)
def test_links_submit_to_status_result_cancel_stream(provider: str) -> None:
    machine, schema = _machine(provider)
    hypothesis.core.global_force_seed = run_seed()  # type: ignore[assignment]  # the run's seed replays the scenarios
    try:
        machine.run(
            settings=hypothesis.settings(
                max_examples=PROFILE.stateful_examples,
                stateful_step_count=PROFILE.stateful_steps,
                deadline=None,
                database=None,
                suppress_health_check=list(hypothesis.HealthCheck),
                phases=[hypothesis.Phase.generate, hypothesis.Phase.shrink],
            )
        )
    finally:
        hypothesis.core.global_force_seed = None
    # The links must have led somewhere: each linked operation answered with the request's real state.
    reached = {
        label: row.statuses
        for (target, name, label), row in RECORD.rows.items()
        if target == "stateful" and name == provider
    }
    linked = _linked_operation_ids(schema)
    for operation in operations(schema):
        if operation.definition.raw.get("operationId") not in linked:
            continue  # not part of any link (the run* operations): covered by test_mock_asgi.py
        statuses = reached.get(operation.label)
        assert statuses, f"{provider}: the state machine never called {operation.label}"
        if "{request_id}" in operation.path:
            found = sorted(
                code for code in statuses if code < 400 or (code == 400 and "cancel" in operation.path)
            )
            assert found, (
                f"{provider}: {operation.label} was never reached with a live request id: {dict(statuses)}"
            )
