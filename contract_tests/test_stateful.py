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


#: state machine runs (each with its own seed) made in all before an operation of a link is said never to
#: be reached: Hypothesis picks the steps at random (the forced seed aside, the order of some sets differs
#: between processes), so a short profile's scenarios may miss one operation that later ones reach
MAX_RUNS = 4


def _run_machine(machine: Any, seed: int) -> None:
    hypothesis.core.global_force_seed = seed  # type: ignore[assignment]  # the run's seed replays the scenarios
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


def _unreached(schema: BaseSchema, provider: str) -> list[str]:
    """What the links have not led to yet: each linked operation must have answered, and one with a request
    id in its path with the request's real state (a 2xx/3xx, or cancel's 400 for a finished request)."""
    reached = {
        label: row.statuses
        for (target, name, label), row in RECORD.rows.items()
        if target == "stateful" and name == provider
    }
    linked = _linked_operation_ids(schema)
    missing: list[str] = []
    for operation in operations(schema):
        if operation.definition.raw.get("operationId") not in linked:
            continue  # not part of any link (the run* operations): covered by test_mock_asgi.py
        statuses = reached.get(operation.label)
        if not statuses:
            missing.append(f"the state machine never called {operation.label}")
        elif "{request_id}" in operation.path and not [
            code for code in statuses if code < 400 or (code == 400 and "cancel" in operation.path)
        ]:
            missing.append(f"{operation.label} was never reached with a live request id: {dict(statuses)}")
    return missing


@pytest.mark.parametrize("provider", PROVIDERS)
def test_links_submit_to_status_result_cancel_stream(provider: str) -> None:
    machine, schema = _machine(provider)
    seed = run_seed()
    _run_machine(machine, seed)
    runs = 1
    # The links must have led somewhere. What one run's scenarios missed, more runs (other seeds) may reach;
    # a link that leads nowhere stays missing however many run.
    while (missing := _unreached(schema, provider)) and runs < MAX_RUNS:
        _run_machine(machine, seed + runs)
        runs += 1
    assert not missing, f"{provider}, after {runs} state machine run(s): " + "; ".join(missing)


def test_an_operation_no_run_reached_is_named() -> None:
    """The top-up runs never hide a link that leads nowhere: with nothing recorded, every linked operation is
    named, those with a request id in their path included."""
    _machine_class, schema = _machine(PROVIDERS[0])
    missing = _unreached(schema, "a provider no run recorded")
    assert missing and all("never called" in line for line in missing)
    assert any("{request_id}/status/stream" in line for line in missing)
