"""Tests of the suite itself: a deliberately broken mock (an ASGI wrapper that changes its answers) and a
deliberately broken contract (a provider document mutated in memory) must make the suite's checks fail, and
the unbroken pair must pass the same small run. Also the tests of the checks the main run does not ask of some
cases: the contract's x-fal-invalid-value marker; and Schemathesis' own reading of the status stream's event
schema (docs/contract-tests.md "Changes needed", 3).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

import hypothesis
import pytest
import requests
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import (
    CaseMetadata,
    ComponentInfo,
    FuzzingPhaseData,
    GenerationInfo,
    PhaseInfo,
    TestPhase,
)
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    unsupported_method,
)

from kontext_contract._openapi import resolve_ref
from kontext_contract.contract import ContractModel
from kontext_contract.mock import MockConfig, MockServer, create_app

from ._checks import (
    INVALID_VALUE_MARKER,
    defers_validation,
    invalid_only_where_unspecified,
    operation_parameters,
)
from ._harness import (
    PROVIDERS,
    AnyCase,
    AnyOperation,
    Record,
    auth_header,
    base_url_for,
    failure_checks,
    load_schema,
    mock_key,
    operations,
    provider_document,
    role,
    run_seed,
)
from ._live import cheap_input
from ._run import ASGI_BASE, excluded_checks, validate

Scope = dict[str, Any]
ASGIApp = Callable[..., Any]


def _mock(provider: str = "fal") -> Any:
    return create_app(MockConfig(provider=provider, deterministic=True, queue_delay=0.1))


def _first(provider: str, predicate: Callable[[AnyOperation], bool], **load: Any) -> AnyOperation:
    schema = load_schema(provider, key=mock_key(provider), max_examples=1, seed=run_seed(), **load)
    return next(op for op in operations(schema) if predicate(op))


def is_submit(op: AnyOperation) -> bool:
    """A queue submit: its 200 answer links to the request's operations (the contract's QueueSubmitted)."""
    return defers_validation(op)


def is_run(op: AnyOperation) -> bool:
    """A synchronous run (the contract model's role ``run``)."""
    return role(op) == "run"


def failing_checks(
    operation: AnyOperation, *, mode: GenerationMode = GenerationMode.POSITIVE, examples: int = 15
) -> set[str]:
    """A small Schemathesis run of ``operation`` (every check, as in the main run); the names of the checks
    (and failure kinds) that failed on any case."""
    found: set[str] = set()

    # derandomize: the same cases on every machine, so that "a broken X is caught" cannot pass or fail by luck
    @hypothesis.settings(
        max_examples=examples,
        phases=[hypothesis.Phase.generate],
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case: AnyCase) -> None:
        try:
            validate(case, ASGI_BASE, ASGI_BASE + "/run", record=Record())
        except FailureGroup as exc:
            found.update(failure_checks(exc))

    run()
    return found


def rewrite(app: ASGIApp, change: Callable[[Scope, dict[str, Any]], None]) -> ASGIApp:
    """An ASGI wrapper that lets ``change(scope, answer)`` edit each answer of the mock (``answer``:
    ``status``, ``headers`` as a list of byte pairs, ``body`` bytes) before it is sent."""

    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        answer: dict[str, Any] = {"body": b""}
        streaming = False

        async def capture(message: dict[str, Any]) -> None:
            nonlocal streaming
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = list(message.get("headers", []))
                streaming = any(v.startswith(b"text/event-stream") for k, v in answer["headers"])
                if streaming:
                    await send(message)
                return
            if streaming:
                await send(message)
                return
            answer["body"] += message.get("body", b"")
            if not message.get("more_body", False):
                change(scope, answer)
                headers = [(k, v) for k, v in answer["headers"] if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(answer["body"])).encode()))
                await send({"type": "http.response.start", "status": answer["status"], "headers": headers})
                await send({"type": "http.response.body", "body": answer["body"]})

        await app(scope, receive, capture)

    return wrapped


def _json_edit(edit: Callable[[Any], None]) -> Callable[[Scope, dict[str, Any]], None]:
    def change(scope: Scope, answer: dict[str, Any]) -> None:
        if answer["status"] == 200 and answer["body"][:1] == b"{":
            body = json.loads(answer["body"])
            edit(body)
            answer["body"] = json.dumps(body).encode()

    return change


# -- the unbroken pair passes ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["submit", "run"])
def test_unbroken_mock_and_contract_pass_the_small_run(kind: str) -> None:
    operation = _first("fal", is_submit if kind == "submit" else is_run, app=_mock())
    assert failing_checks(operation) == set()
    assert failing_checks(operation, mode=GenerationMode.NEGATIVE) == set()


# -- a broken mock is caught -----------------------------------------------------------------------------


def test_wrong_status_code_is_caught() -> None:
    """The mock answers a submit with 201 instead of the contract's 200."""

    def change(scope: Scope, answer: dict[str, Any]) -> None:
        if scope["method"] == "POST" and answer["status"] == 200:
            answer["status"] = 201

    operation = _first("fal", is_submit, app=rewrite(_mock(), change))
    assert "status_code_conformance" in failing_checks(operation)


def test_missing_output_field_is_caught() -> None:
    """The mock's synchronous output lacks ``seed`` (required in the output schema)."""
    operation = _first("fal", is_run, app=rewrite(_mock(), _json_edit(lambda body: body.pop("seed", None))))
    assert "response_schema_conformance" in failing_checks(operation)


def test_missing_queue_field_is_caught() -> None:
    """The mock's submit answer lacks ``status_url`` (required in QueueStatusInQueue)."""
    operation = _first(
        "relay-a", is_submit, app=rewrite(_mock("relay-a"), _json_edit(lambda b: b.pop("status_url")))
    )
    assert "response_schema_conformance" in failing_checks(operation)


def test_missing_required_response_header_is_caught() -> None:
    """The mock drops the request-id header (``x-fal-request-id``), which the contract requires on 200."""
    header = ContractModel.load("fal").request_id_header.encode()

    def change(scope: Scope, answer: dict[str, Any]) -> None:
        answer["headers"] = [(k, v) for k, v in answer["headers"] if k.lower() != header]

    operation = _first("fal", is_run, app=rewrite(_mock(), change))
    assert "response_headers_conformance" in failing_checks(operation)


def test_unenforced_auth_is_caught() -> None:
    """A mock that lets every request through (the wrapper adds the right key to each): ignored_auth."""
    inner = _mock()
    key = f"Key {mock_key('fal')}".encode()

    async def open_door(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k != b"authorization"]
            scope = {**scope, "headers": [*headers, (b"authorization", key)]}
        await inner(scope, receive, send)

    operation = _first("fal", is_run, app=open_door)
    assert "ignored_auth" in failing_checks(operation)


def test_eager_acceptance_of_invalid_input_is_caught() -> None:
    """A mock whose result answers 200 for an input that failed validation breaks fal's deferred validation."""

    def change(scope: Scope, answer: dict[str, Any]) -> None:
        if scope["method"] == "GET" and answer["status"] == 422:
            answer["status"] = 200

    operation = _first("fal", is_submit, app=rewrite(_mock(), change))
    assert "submit_defers_validation_to_result" in failing_checks(operation, mode=GenerationMode.NEGATIVE)


def test_invalid_input_accepted_by_run_is_caught() -> None:
    """The synchronous API must reject invalid input (422); a mock that answers 200 is caught."""

    def change(scope: Scope, answer: dict[str, Any]) -> None:
        if answer["status"] == 422:
            answer["status"] = 200

    operation = _first("fal", is_run, app=rewrite(_mock(), change))
    assert "negative_data_rejection" in failing_checks(operation, mode=GenerationMode.NEGATIVE)


# -- a broken contract is caught ---------------------------------------------------------------------------


def test_contract_requiring_an_unsent_field_is_caught() -> None:
    """The provider document, mutated in memory, requires a field the mock (rightly) never sends."""
    document = provider_document("fal")
    document["components"]["schemas"]["QueueStatusInQueue"]["required"].append("priority")
    operation = _first("fal", is_submit, app=_mock(), document=document)
    assert "response_schema_conformance" in failing_checks(operation)


def test_contract_with_another_status_code_is_caught() -> None:
    """The provider document, mutated in memory, documents the submit's answer as 201 instead of 200."""
    document = provider_document("relay-b")
    for item in document["paths"].values():
        post = item.get("post")
        if post and post["responses"].get("200") == {"$ref": "#/components/responses/QueueSubmitted"}:
            post["responses"]["201"] = post["responses"].pop("200")
    operation = _first(
        "relay-b", lambda op: op.method.upper() == "POST", app=_mock("relay-b"), document=document
    )
    assert "status_code_conformance" in failing_checks(operation)


def test_contract_promising_more_than_the_mock_runs_is_caught() -> None:
    """The document, mutated in memory, allows ``num_images`` up to twice the contract's maximum (4 today); the
    mock (on the real document) answers 422 above it: valid data rejected by the synchronous API. positive_data_acceptance
    lets a run's 422 through (an image that does not load is one, see test_media_errors.py), so the suite's
    run_422_is_justified is what catches it: the 422 names num_images, not an x-fal-media field."""
    document = provider_document("fal")
    model = ContractModel.from_document(document)
    for endpoint in model.endpoints.values():
        limit = endpoint.input_properties["num_images"]["maximum"]
        properties = document["components"]["schemas"][endpoint.input_schema_name]["properties"]
        properties["num_images"]["maximum"] = limit * 2
    operation = _first("fal", is_run, app=_mock(), document=document)
    assert "run_422_is_justified" in failing_checks(operation, examples=40)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_deferred_selection_matches_the_links(provider: str) -> None:
    """schemathesis.toml lets negative_data_rejection pass 200 on exactly the operations whose 200 links to
    the queued request (where submit_defers_validation_to_result follows up): the two selections agree."""
    schema = load_schema(provider, key=mock_key(provider), max_examples=1, seed=run_seed())
    for operation in operations(schema):
        config = schema.config.checks_config_for(operation=operation, phase=None)
        allows_200 = "200" in config.negative_data_rejection.expected_statuses
        assert allows_200 == defers_validation(operation), operation.label


# -- strict xfails: what the main run does not ask, until the mock or the contract changes ---------------


def test_unsupported_method_with_allow_header() -> None:
    """Every undeclared method answers 405 with Allow (RFC 9110 §15.5.6; mock ba50797)."""
    app = _mock()
    schema = load_schema("fal", key=mock_key("fal"), max_examples=1, seed=run_seed(), app=app)
    for operation in operations(schema):
        declared = {
            m.lower() for m in schema.raw_schema["paths"][operation.path] if m in {"get", "put", "post"}
        }
        method: Literal["PATCH", "DELETE", "TRACE"] = next(
            m for m in ("PATCH", "DELETE", "TRACE") if m.lower() not in declared
        )
        case = operation.Case(
            method=method, path_parameters={"request_id": "x"} if "{" in operation.path else None
        )
        base = base_url_for(operation, ASGI_BASE, ASGI_BASE + "/run")
        response = case.call(base_url=base)
        if response.status_code != 405:
            pytest.fail(
                f"{method} {operation.path}: {response.status_code}, not 405"
            )  # not the expected failure
        assert response.headers.get("allow"), f"{method} {operation.path}: 405 without Allow"


# -- invalid control values: unspecified by the contract, ignored by the mock ------------------------------


def _control_parameters(schema: BaseSchema) -> list[tuple[AnyOperation, dict[str, Any]]]:
    """(operation, parameter) for every header and query parameter of every operation, ``$ref`` resolved."""
    return [
        (operation, parameter)
        for operation in operations(schema)
        for parameter in operation_parameters(operation)
        if parameter["in"] in {"header", "query"}
    ]


def _invalid_value(document: dict[str, Any], parameter: dict[str, Any]) -> str | None:
    """A wire value outside the parameter's schema, or None when every string is valid for it."""
    schema = resolve_ref(document, parameter["schema"])
    if "enum" in schema:
        return "not-" + "-".join(schema["enum"])
    if schema.get("type") in {"number", "integer"}:
        return "soon"
    if schema.get("format") == "uri":
        return "not a url"
    return None


@pytest.mark.parametrize("provider", PROVIDERS)
def test_unspecified_invalid_values_marked_on_every_control_parameter(provider: str) -> None:
    """Every header and query parameter says what an invalid value earns: unspecified (docs/contract.md §3.1)."""
    schema = load_schema(provider, key=mock_key(provider), max_examples=1, seed=run_seed())
    parameters = _control_parameters(schema)
    assert parameters
    unmarked = [
        f"{operation.label} {p['in']} {p['name']}"
        for operation, p in parameters
        if p.get(INVALID_VALUE_MARKER) != "unspecified"
    ]
    assert not unmarked


def test_unspecified_invalid_values_are_ignored_by_the_mock() -> None:
    """The mock answers a request with an invalid control value as if the parameter were absent: the same
    status, and for a submit a queued request (docs/mock.md)."""
    schema = load_schema("fal", key=mock_key("fal"), max_examples=1, seed=run_seed(), app=_mock())
    submit = next(op for op in operations(schema) if is_submit(op))
    headers = {"Authorization": auth_header("fal", mock_key("fal"))}
    tried = 0
    for operation, parameter in _control_parameters(schema):
        value = _invalid_value(schema.raw_schema, parameter)
        if value is None:
            continue
        base = base_url_for(operation, ASGI_BASE, ASGI_BASE + "/run")
        kwargs: dict[str, Any]
        if operation.method.lower() == "post":
            kwargs = {"body": cheap_input(operation), "media_type": "application/json"}
        else:
            queued = submit.Case(body=cheap_input(submit), media_type="application/json", headers=headers)
            kwargs = {"path_parameters": {"request_id": queued.call(base_url=ASGI_BASE).json()["request_id"]}}
        plain = operation.Case(headers=dict(headers), **kwargs).call(base_url=base)
        invalid = operation.Case(
            headers={**headers, parameter["name"]: value} if parameter["in"] == "header" else dict(headers),
            query={parameter["name"]: value} if parameter["in"] == "query" else None,
            **kwargs,
        ).call(base_url=base)
        assert plain.status_code in {200, 202}, f"{operation.label}: {plain.status_code} {plain.text[:200]}"
        assert invalid.status_code == plain.status_code, (
            f"{operation.label} with {parameter['name']}={value!r}: {invalid.status_code} {invalid.text[:200]}"
        )
        tried += 1
    assert tried >= 6 + 2 + 6 * 4  # X-Fal-Request-Timeout on 6 runs; logs on 2; 4 on each of 6 submits


def _timeout_case(operation: AnyOperation) -> AnyCase:
    """A synchronous run whose body is valid and whose X-Fal-Request-Timeout (the contract's name for its
    RequestTimeout parameter) is not a number, marked as Schemathesis marks a negative case generated in the
    header only."""
    deadline = ContractModel.load("fal").parameter("RequestTimeout").name
    meta = CaseMetadata(
        generation=GenerationInfo(time=0.0, mode=GenerationMode.NEGATIVE),
        components={
            ParameterLocation.HEADER: ComponentInfo(mode=GenerationMode.NEGATIVE),
            ParameterLocation.BODY: ComponentInfo(mode=GenerationMode.POSITIVE),
        },
        phase=PhaseInfo(
            name=TestPhase.FUZZING,
            data=FuzzingPhaseData(
                description="incorrect type",
                parameter=deadline,
                parameter_location=ParameterLocation.HEADER,
                location=None,
            ),
        ),
    )
    # ``_meta`` is how Schemathesis 4.32 itself attaches generation metadata to a case (APIOperation.Case).
    case = operation.Case(
        body={"prompt": "a red fox"},
        media_type="application/json",
        headers={"Authorization": auth_header("fal", mock_key("fal")), deadline: "soon"},
        _meta=meta,
    )
    return case


@pytest.mark.parametrize("marked", [True, False])
def test_unspecified_invalid_values_decide_negative_data_rejection(marked: bool) -> None:
    """The contract's marker, not the suite, decides: with it the main run does not ask negative_data_rejection
    of a synchronous run invalid only in X-Fal-Request-Timeout (which the mock ignores: 200); without it (the
    document changed in memory) the check is asked and fails the case. (On a submit the check allows 200
    anyway: fal defers validation, schemathesis.toml.)"""
    document = provider_document("fal")
    if not marked:
        del document["components"]["parameters"]["RequestTimeout"][INVALID_VALUE_MARKER]
    operation = _first("fal", lambda op: op.path == "/kontext/text-to-image", app=_mock(), document=document)
    case = _timeout_case(operation)
    base = base_url_for(operation, ASGI_BASE, ASGI_BASE + "/run")
    response = case.call(base_url=base)
    assert response.status_code == 200, response.text  # the mock ignores the value (docs/mock.md)
    assert invalid_only_where_unspecified(case) is marked
    assert (negative_data_rejection in excluded_checks(case, response, Record())) is marked
    if not marked:
        with pytest.raises(FailureGroup) as caught:
            case.validate_response(
                response, checks=[negative_data_rejection], transport_kwargs={"base_url": base}
            )
        assert "negative_data_rejection" in failure_checks(caught.value)


def test_request_id_with_control_character_over_socket() -> None:
    """An unknown id holding a CR is answered 404 over a real socket (found by the socket run; mock ba50797)."""
    with MockServer(MockConfig(provider="fal")) as server:
        response = requests.get(
            server.base_url + "/fal-ai/flux-pro/requests/%0D/status",
            headers={"Authorization": auth_header("fal", mock_key("fal"))},
            timeout=10,
        )
    assert response.status_code == 404


def _stream_response(document: dict[str, Any] | None = None) -> tuple[AnyCase, Any]:
    app = _mock()
    schema = load_schema(
        "fal", key=mock_key("fal"), max_examples=1, seed=run_seed(), app=app, document=document
    )
    ops = {op.definition.raw.get("operationId"): op for op in operations(schema)}
    submit = next(op for op in ops.values() if is_submit(op))
    auth = {"Authorization": auth_header("fal", mock_key("fal"))}
    answer = submit.Case(body={"prompt": "a red fox", "image_url": "https://example.com/a.png"}, headers=auth)
    submitted = answer.call(base_url=ASGI_BASE)
    assert submitted.status_code == 200, submitted.text
    request_id = submitted.json()["request_id"]
    stream = next(op for op in ops.values() if role(op) == "status-stream")
    case = stream.Case(path_parameters={"request_id": request_id}, headers=auth)
    response = case.call(base_url=ASGI_BASE)
    assert response.headers["content-type"][0].startswith("text/event-stream")
    return case, response


def test_event_stream_schema_as_schemathesis_reads_it() -> None:
    """Schemathesis' own response_schema_conformance reads the contract's event-stream schema (one event
    object; its ``data`` checked against the x-contentSchema the harness hands over as ``contentSchema``) and
    passes the mock's stream."""
    case, response = _stream_response()
    case.validate_response(response, checks=[response_schema_conformance])


def test_event_stream_schema_catches_a_wrong_event() -> None:
    """The same check fails an event whose data is not a queue status the contract allows: the event's
    data is really checked, not only its shape."""
    document = provider_document("fal")
    document["components"]["schemas"]["QueueStatusCompleted"]["required"].append("not_sent")
    case, response = _stream_response(document)
    with pytest.raises(FailureGroup, match="ST108 SSE event violates schema"):
        case.validate_response(response, checks=[response_schema_conformance])


def test_unsupported_method_builtin_is_what_the_xfail_runs() -> None:
    """Keeps the routed checks honest: the built-in functions the main run leaves out are Schemathesis' own."""
    assert unsupported_method.__name__ == "unsupported_method"
    assert negative_data_rejection.__name__ == "negative_data_rejection"
