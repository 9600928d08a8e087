"""Sending one Schemathesis case with every check, against the mock in-process, over a socket, or live."""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi.checks import negative_data_rejection

from ._checks import SUITE_CHECKS, invalid_only_where_unspecified
from ._harness import RECORD, AnyCase, Record, base_url_for

__all__ = [
    "ASGI_BASE",
    "ROUTED_CONTROL",
    "excluded_checks",
    "validate",
]

#: The base URL Schemathesis' ASGI client uses for an in-process application.
ASGI_BASE = "http://testserver"

ROUTED_CONTROL = (
    "negative_data_rejection on cases invalid only in control parameters the contract marks "
    "x-fal-invalid-value: unspecified (fal publishes no answer to such values; docs/contract.md §3.1; "
    "test_suite_itself.py::test_unspecified_invalid_values_*)"
)


def excluded_checks(
    case: AnyCase, response: schemathesis.Response, record: Record = RECORD
) -> list[CheckFunction]:
    """The built-in checks not asked of ``case`` in the main run, each for a reason the contract states
    (:data:`ROUTED_CONTROL`); every exclusion is counted in the summary."""
    excluded: list[CheckFunction] = []
    if invalid_only_where_unspecified(case):
        excluded.append(negative_data_rejection)
        record.routed[ROUTED_CONTROL] += 1
    return excluded


def validate(
    case: AnyCase, queue_base: str, run_base: str | None, *, record: Record = RECORD, **kwargs: Any
) -> schemathesis.Response:
    """Send ``case`` to where its operation is served (:func:`base_url_for`) and run every check on the
    answer: Schemathesis' built-in ones (configured in schemathesis.toml) and the suite's (``SUITE_CHECKS``).

    Raises:
        schemathesis.core.failures.FailureGroup: a check failed (the message has a curl command to reproduce).
    """
    base_url = base_url_for(case.operation, queue_base, run_base)
    response = case.call(base_url=base_url, **kwargs)
    case.validate_response(
        response,
        additional_checks=list(SUITE_CHECKS),
        excluded_checks=excluded_checks(case, response, record),
        transport_kwargs={"base_url": base_url, **kwargs},
    )
    return response
