"""The OpenAPI 3.0 -> JSON Schema translation and the contract loader, without a server."""

from __future__ import annotations

import copy

import pytest

from kontext_contract.contract import json_schema
from kontext_contract.mock import ContractError, create_app

from .conftest import provider_document


def test_a_document_without_submit_operations_is_refused():
    doc = copy.deepcopy(provider_document("fal"))
    doc["paths"] = {p: v for p, v in doc["paths"].items() if "requests" in p}
    with pytest.raises(ContractError, match="x-fal-endpoint-id"):
        create_app(document=doc)


def test_openapi_30_translation():
    components = {"N": {"type": "integer", "nullable": True, "minimum": 0, "exclusiveMinimum": True}}
    schema = json_schema({"$ref": "#/components/schemas/N"}, components)
    assert schema["$ref"] == "#/$defs/N"
    assert schema["$defs"]["N"] == {"type": ["integer", "null"], "exclusiveMinimum": 0}
    nullable_ref = json_schema({"allOf": [{"$ref": "#/components/schemas/N"}], "nullable": True}, components)
    assert nullable_ref["anyOf"][1] == {"type": "null"}
    enum = json_schema({"type": "string", "enum": ["a"], "nullable": True, "x-foo": 1, "example": "a"}, {})
    assert enum["enum"] == ["a", None] and "x-foo" not in enum and "example" not in enum


def test_one_translator_serves_the_mock_the_client_and_the_checks() -> None:
    from jsonschema import Draft202012Validator

    from kontext_contract import _openapi
    from kontext_contract.contract import _validation

    # the one validator factory (the contract model's) translates with the one translator
    assert _validation.json_schema is _openapi.json_schema
    # a property named like an OpenAPI keyword is a name, not a keyword; a nullable enum admits None
    schema = {
        "type": "object",
        "properties": {
            "nullable": {"type": "string"},
            "level": {"type": "string", "enum": ["a"], "nullable": True},
        },
    }
    validator = Draft202012Validator(_openapi.to_json_schema(schema))
    assert validator.is_valid({"nullable": "x", "level": None})
    assert not validator.is_valid({"nullable": 1})
