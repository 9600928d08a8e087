"""Image inputs whose content does not load (``x-fal-media`` fields) are answered 422 by the model, however
the request body schema allows them: the suite accepts that answer only when every ``detail`` item names
such a field (fal docs "request errors"; docs/contract.md §3.2). Found by the stateful run: Hypothesis sent
``"data:"`` in ``image_urls`` and the deferred-validation check called the mock's 422 a refused valid input.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from schemathesis.core.failures import FailureGroup

from kontext_contract.contract import ContractModel

from ._checks import media_fields
from ._harness import Record, auth_header, failure_checks, mock_key
from ._run import ASGI_BASE, validate
from .test_suite_itself import _first, _mock, is_run, is_submit, rewrite

UNLOADABLE = {"prompt": "p", "image_urls": ["https://example.com/a.png", "data:"]}


def _case(operation: Any, body: dict[str, Any]) -> Any:
    headers = {"Authorization": auth_header("fal", mock_key("fal"))}
    return operation.Case(body=body, media_type="application/json", headers=headers)


def _multi(kind: str, **load: Any) -> Any:
    """The submit (or run) of the contract's first endpoint taking a list of images (``image_urls``)."""
    model = ContractModel.load("fal")
    endpoint = next(
        e for e in model.endpoints.values() if any(model.endpoint(e.endpoint_id).image_inputs.values())
    )
    ops = {endpoint.submit.path, *([endpoint.run.path] if endpoint.run is not None else [])}
    pick = is_submit if kind == "submit" else is_run
    return _first("fal", lambda op: pick(op) and op.path in ops, **load)


def test_the_contract_marks_the_image_inputs() -> None:
    assert media_fields(_multi("submit", app=_mock())) == {"image_urls"}
    assert media_fields(_first("fal", lambda op: is_run(op) and op.path == "/kontext", app=_mock())) == {
        "image_url"
    }
    assert (
        media_fields(_first("fal", lambda op: is_run(op) and op.path.endswith("text-to-image"), app=_mock()))
        == set()
    )


@pytest.mark.parametrize("kind", ["submit", "run"])
def test_an_image_that_does_not_load_is_the_documented_422(kind: str) -> None:
    operation = _multi(kind, app=_mock())
    case = _case(operation, UNLOADABLE)
    response = validate(case, ASGI_BASE, ASGI_BASE + "/run", record=Record())  # every check passes
    if kind == "run":
        assert response.status_code == 422
        assert [item["loc"] for item in response.json()["detail"]] == [["body", "image_urls", 1]]


def test_a_run_422_naming_another_field_is_caught() -> None:
    def blame_the_prompt(scope: dict[str, Any], answer: dict[str, Any]) -> None:
        if answer["status"] == 200 and scope["path"].startswith("/run/"):
            answer["status"] = 422
            detail = [{"loc": ["body", "prompt"], "msg": "refused", "type": "value_error"}]
            answer["body"] = json.dumps({"detail": detail}).encode()

    operation = _multi("run", app=rewrite(_mock(), blame_the_prompt))
    case = _case(operation, {"prompt": "p", "image_urls": ["https://example.com/a.png"]})
    with pytest.raises(FailureGroup) as failure:
        validate(case, ASGI_BASE, ASGI_BASE + "/run", record=Record())
    assert "run_422_is_justified" in failure_checks(failure.value)


def test_a_result_422_naming_another_field_is_still_caught() -> None:
    def blame_the_prompt(scope: dict[str, Any], answer: dict[str, Any]) -> None:
        route = ContractModel.load("fal").route(scope["path"])
        if answer["status"] == 200 and route is not None and route.operation.role == "result":
            answer["status"] = 422
            detail = [{"loc": ["body", "prompt"], "msg": "refused", "type": "value_error"}]
            answer["body"] = json.dumps({"detail": detail}).encode()

    operation = _multi("submit", app=rewrite(_mock(), blame_the_prompt))
    case = _case(operation, {"prompt": "p", "image_urls": ["https://example.com/a.png"]})
    with pytest.raises(FailureGroup) as failure:
        validate(case, ASGI_BASE, ASGI_BASE + "/run", record=Record())
    assert "submit_defers_validation_to_result" in failure_checks(failure.value)
