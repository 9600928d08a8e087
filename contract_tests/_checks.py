"""The suite's own checks, each one function and one rule, in Schemathesis' check signature
``(ctx, response, case) -> bool | None`` (``True``: not applicable; an ``AssertionError``: a failure).

They cover what the contract states but Schemathesis' built-in checks cannot see:

- ``submit_defers_validation_to_result``: fal's deferred validation (an invalid input accepted at submit
  ends in a 422 result), which the built-in ``negative_data_rejection`` is configured to allow at submit
  (contract_tests/schemathesis.toml);
- ``gateway_timeout_only_when_asked``: a 504 only as the client's own X-Fal-Request-Timeout deadline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import schemathesis
from openapi_schema_validator import OAS30Validator
from schemathesis.core.parameters import ParameterLocation

from kontext_contract._openapi import resolve_ref as _resolve
from kontext_contract.contract import COMPLETED

from ._harness import AnyCase, AnyOperation, model_of, role

__all__ = [
    "INVALID_VALUE_MARKER",
    "SUITE_CHECKS",
    "defers_validation",
    "gateway_timeout_only_when_asked",
    "invalid_only_where_unspecified",
    "media_fields",
    "operation_parameters",
    "run_422_is_justified",
    "submit_defers_validation_to_result",
]

#: How long ``submit_defers_validation_to_result`` waits for a request to complete (seconds); the mock in
#: deterministic mode completes at once, a live provider takes seconds.
COMPLETION_TIMEOUT = 180.0


def defers_validation(operation: AnyOperation) -> bool:
    """Whether the contract says this operation accepts any input and reports a bad one later: a queue
    submit (the contract model's role ``submit``; fal docs "Queue")."""
    return role(operation) == "submit"


def _validator(document: Mapping[str, Any], schema: Any) -> OAS30Validator:
    return OAS30Validator({**_resolve(document, schema), "components": document.get("components", {})})


def _request_body_schema(operation: AnyOperation) -> Any:
    document = operation.schema.raw_schema
    body = _resolve(document, operation.definition.raw.get("requestBody") or {})
    return ((body.get("content") or {}).get("application/json") or {}).get("schema")


def media_fields(operation: AnyOperation) -> set[str]:
    """The request body fields the contract marks ``x-fal-media``: their content is loaded by the model (an
    image URL or ``data:`` URI), and content that does not load is a 422 model error naming the field, which
    no schema can rule out (fal docs "request errors"; docs/contract.md §3.2, §3.3)."""
    document = operation.schema.raw_schema
    schema = _resolve(document, _request_body_schema(operation)) or {}
    return {
        name
        for name, prop in (schema.get("properties") or {}).items()
        if isinstance(_resolve(document, prop), dict) and _resolve(document, prop).get("x-fal-media")
    }


def _only_media_errors(body: Any, fields: set[str]) -> bool:
    """Whether a 422 body's every ``detail`` item points at a media field (``loc`` ``["body", field, ...]``)."""
    detail = body.get("detail") if isinstance(body, dict) else None
    return (
        isinstance(detail, list)
        and bool(detail)
        and all(
            isinstance(item, dict)
            and isinstance(item.get("loc"), list)
            and len(item["loc"]) >= 2
            and item["loc"][0] == "body"
            and item["loc"][1] in fields
            for item in detail
        )
    )


def _schema_errors(case: AnyCase, response: schemathesis.Response) -> tuple[bool, list[Any]]:
    """(whether the body sent was JSON, the request body schema's errors for it)."""
    parsed, sent = _sent_json(response)
    schema = _request_body_schema(case.operation)
    if not parsed or schema is None:
        return parsed, []
    return parsed, list(_validator(case.operation.schema.raw_schema, schema).iter_errors(sent))


def _sent_json(response: schemathesis.Response) -> tuple[bool, Any]:
    """(parsed, value) of the JSON body that was really sent."""
    body = response.request.body
    if body is None or body == b"" or body == "":
        return False, None
    try:
        return True, json.loads(body if isinstance(body, str | bytes) else b"")
    except (ValueError, TypeError):
        return False, None


def _rebase(url: str, request_url: str, operation: AnyOperation) -> str:
    """A request URL the provider returned, moved onto the origin (and base path) the submit was sent to.

    The relays' submit answers point at https://queue.fal.run (docs/contract.md §2.14); a client must not
    send the relay's key there, so the suite asks the relay itself, as the project's client does
    (``Provider.adopt_url``)."""
    sent = urlsplit(request_url)
    target = urlsplit(url)
    if (sent.scheme, sent.netloc) == (target.scheme, target.netloc):
        return url
    base_path = (
        sent.path[: len(sent.path) - len(operation.path)] if sent.path.endswith(operation.path) else ""
    )
    path = target.path if base_path and target.path.startswith(base_path + "/") else base_path + target.path
    return urlunsplit((sent.scheme, sent.netloc, path, target.query, ""))


_SESSIONS: dict[int, requests.Session] = {}


def _session(app: Any) -> requests.Session:
    """One HTTP session per application (Schemathesis' in-process ASGI client) or for the network."""
    key = id(app)
    session = _SESSIONS.get(key)
    if session is None:
        if app is None:
            session = requests.Session()
        else:
            from schemathesis.python import asgi

            session = asgi.get_client(app).__enter__()
        _SESSIONS[key] = session
    return session


def _get(case: AnyCase, url: str, headers: Mapping[str, str]) -> requests.Response:
    return _session(case.operation.app).get(url, headers=dict(headers), timeout=30)


def submit_defers_validation_to_result(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: AnyCase
) -> bool | None:
    """A submit that answered 200 must end in the result the input deserves: 422 with FastAPI ``detail``
    items when the input violates the request body schema, 200 when it satisfies it (fal docs "Queue";
    docs/contract.md §3.1). The status is polled (bounded by :data:`COMPLETION_TIMEOUT`) until COMPLETED."""
    if response.status_code != 200 or not defers_validation(case.operation):
        return True
    answer = response.json()
    if not isinstance(answer, dict) or not isinstance(answer.get("response_url"), str):
        return True  # response_schema_conformance reports a malformed submit answer
    request_url = str(response.request.url)
    auth = {k: str(v) for k, v in response.request.headers.items() if k.lower() == "authorization"}
    status_url = _rebase(str(answer.get("status_url", "")), request_url, case.operation)
    result_url = _rebase(answer["response_url"], request_url, case.operation)
    deadline = time.monotonic() + COMPLETION_TIMEOUT
    polls = 0
    codes = model_of(case.operation).state_codes
    while True:
        status = _get(case, status_url, auth)
        body = status.json() if status.headers.get("content-type", "").startswith("application/json") else {}
        state = str(body.get("status")) if isinstance(body, dict) else ""
        # the state is read from the status field; its status code must be the one the contract states
        assert state in codes and status.status_code in codes[state], (
            f"status of a request accepted at submit answered {status.status_code} with status {state!r}; "
            f"the contract states { ({s: sorted(c) for s, c in codes.items()}) }: {status.text[:300]}"
        )
        if state == COMPLETED:
            break
        polls += 1
        assert time.monotonic() < deadline, f"request did not complete within {COMPLETION_TIMEOUT:g} s"
        time.sleep(0 if polls < 20 else 0.25)
    result = _get(case, result_url, auth)
    if "x-fal-request-timeout" in {k.lower() for k in response.request.headers} and result.status_code == 504:
        # The request's own start deadline passed before it ran: 504 request_timeout with
        # X-Fal-Request-Timeout-Type: user, whatever the input (docs/contract.md §3.1, request headers).
        assert result.json().get("error_type") == "request_timeout", (
            f"504 without request_timeout: {result.text}"
        )
        assert result.headers.get("x-fal-request-timeout-type") == "user", (
            "504 without X-Fal-Request-Timeout-Type"
        )
        return None
    parsed, errors = _schema_errors(case, response)
    valid = parsed and not errors
    if (
        valid
        and result.status_code == 422
        and _only_media_errors(result.json(), media_fields(case.operation))
    ):
        return None  # an image that does not load: a model error the schema cannot rule out (x-fal-media)
    if valid:
        assert result.status_code == 200, (
            f"the input satisfies the contract's request body schema, yet its result answered "
            f"{result.status_code}: {result.text[:500]}"
        )
    else:
        reason = "not JSON" if not parsed else errors[0].message
        assert result.status_code == 422, (
            f"the input violates the request body schema ({reason}); submit accepted it (200), so its result "
            f"must answer 422 (deferred validation, docs/contract.md §3.1), got {result.status_code}: "
            f"{result.text[:500]}"
        )
        detail = result.json().get("detail")
        assert isinstance(detail, list) and detail, (
            f"the 422 result has no validation items: {result.text[:500]}"
        )
    return None


def run_422_is_justified(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: AnyCase
) -> bool | None:
    """A synchronous run answers 422 only for an input the request body schema rejects, or for media fields
    (``x-fal-media``) whose content does not load, each ``detail`` item naming such a field (fal docs
    "request errors"; docs/contract.md §3.2, §3.5). positive_data_acceptance lets 422 through on the run
    operations for the second case; this check keeps the first honest."""
    if (
        response.status_code != 422
        or case.operation.method.upper() != "POST"
        or defers_validation(case.operation)
    ):
        return True
    parsed, errors = _schema_errors(case, response)
    if not parsed or errors:
        return True  # invalid input: 422 is the answer (negative_data_rejection covers the rest)
    assert _only_media_errors(response.json(), media_fields(case.operation)), (
        "the input satisfies the contract's request body schema, yet the run answered 422 for something other "
        f"than a media field ({sorted(media_fields(case.operation))}): {response.text[:500]}"
    )
    return None


def gateway_timeout_only_when_asked(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: AnyCase
) -> bool | None:
    """A 504 is an answer of the contract only as the client's own start deadline: the answer says
    ``X-Fal-Request-Timeout-Type: user`` and ``error_type`` ``request_timeout``, and an operation that takes
    ``X-Fal-Request-Timeout`` was sent one (a result reports the deadline its submit set). Sources: docs/sources.md
    §3.1 request headers; docs/contract.md §3.1. schemathesis.toml lets ``not_a_server_error`` pass 504 for
    this; any other 504 fails here."""
    if response.status_code != 504:
        return True
    takes_deadline = any(p.name.lower() == "x-fal-request-timeout" for p in case.operation.headers)
    sent = {name.lower() for name in response.request.headers}
    assert not takes_deadline or "x-fal-request-timeout" in sent, (
        "504 to a request without X-Fal-Request-Timeout: a server error"
    )
    assert (response.headers.get("x-fal-request-timeout-type") or [""])[0] == "user", (
        "504 without X-Fal-Request-Timeout-Type: user"
    )
    assert response.json().get("error_type") == "request_timeout", (
        f"504 is not a request_timeout: {response.text}"
    )
    return None


#: The contract's marker on a parameter whose invalid values fal gives no published answer for
#: (overlays/040-queue.overlay.yaml; docs/contract.md §3.1 "Invalid control values").
INVALID_VALUE_MARKER = "x-fal-invalid-value"


def operation_parameters(operation: AnyOperation) -> list[dict[str, Any]]:
    """The operation's parameters, path-level ones first, with ``$ref`` resolved."""
    document = operation.schema.raw_schema
    item = document["paths"][operation.path]
    declared = [*item.get("parameters", []), *operation.definition.raw.get("parameters", [])]
    return [p for p in (_resolve(document, raw) for raw in declared) if isinstance(p, dict)]


def invalid_only_where_unspecified(case: AnyCase) -> bool:
    """Whether a negative case is invalid only in parameters the contract marks
    ``x-fal-invalid-value: unspecified`` (fal's control parameters: X-Fal-Request-Timeout,
    X-Fal-Queue-Priority, x-fal-no-retry, fal_webhook, logs, ...).

    fal publishes no answer to an invalid control value (docs/contract.md §3.1 "Invalid control values"), so
    the contract does not promise a rejection and ``negative_data_rejection`` is not asked of such a case;
    every other check still is. The rule is read from the contract, never from a list here: the case
    qualifies only when every parameter that can carry its invalid part is marked. When Schemathesis names
    the mutated parameters (``meta.phase.data.parameter`` or its mutations), those decide; otherwise every
    header or query parameter in the invalid locations must be marked. A parameter without the marker is held to its schema.
    """
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return False
    negative = {location for location, component in meta.components.items() if component.mode.is_negative}
    if not negative or not negative <= {ParameterLocation.HEADER, ParameterLocation.QUERY}:
        return False
    places = {location.value for location in negative}
    candidates = [p for p in operation_parameters(case.operation) if p.get("in") in places]
    data = meta.phase.data
    named = {name.lower() for name in (data.parameter, *(m.parameter for m in data.mutations)) if name}
    if named:
        candidates = [p for p in candidates if str(p.get("name", "")).lower() in named] or candidates
    return bool(candidates) and all(p.get(INVALID_VALUE_MARKER) == "unspecified" for p in candidates)


#: The suite's checks, added to Schemathesis' built-in ones in every run.
SUITE_CHECKS = [
    submit_defers_validation_to_result,
    run_422_is_justified,
    gateway_timeout_only_when_asked,
]
