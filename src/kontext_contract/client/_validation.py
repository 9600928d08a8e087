"""Checking an input against the contract before it is sent.

The JSON Schema is the contract's own request body schema (``components/schemas/Kontext*Input``, via
:func:`._endpoints.catalog`), turned from OpenAPI 3.0 into JSON Schema 2020-12 (``nullable`` and the
boolean ``exclusiveMinimum`` are the only 3.0-isms it uses). Problems are reported in the FastAPI shape
that fal itself answers with (FACTS §3.2), so a local error and a 422 read the same.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as _SchemaError

from .._openapi import to_json_schema
from ._endpoints import Catalog, EndpointInfo
from ._errors import ValidationError, summarize_detail

__all__ = ["InputValidator", "to_json_schema"]

_TYPE_WORDS = {
    "string": "a valid string",
    "integer": "a valid integer",
    "number": "a valid number",
    "boolean": "a valid boolean",
    "array": "a valid list",
    "object": "a valid dictionary",
}


def _items(error: _SchemaError) -> list[dict[str, Any]]:
    loc: list[Any] = ["body", *error.absolute_path]
    kind = error.validator
    value: Any = error.validator_value
    if kind == "required" and isinstance(error.instance, Mapping):
        missing = [name for name in value if name not in error.instance]
        return [{"loc": [*loc, name], "msg": "Field required", "type": "missing"} for name in missing]
    if kind == "enum":
        choices = ", ".join(repr(v) for v in value)
        item = {"msg": f"Input should be one of {choices}", "type": "enum"}
    elif kind == "maximum":
        item = {"msg": f"Input should be less than or equal to {value}", "type": "less_than_equal"}
    elif kind == "minimum":
        item = {"msg": f"Input should be greater than or equal to {value}", "type": "greater_than_equal"}
    elif kind == "exclusiveMinimum":
        item = {"msg": f"Input should be greater than {value}", "type": "greater_than"}
    elif kind == "exclusiveMaximum":
        item = {"msg": f"Input should be less than {value}", "type": "less_than"}
    elif kind == "type":
        types = value if isinstance(value, list) else [value]
        words = " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in types)
        item = {"msg": f"Input should be {words}", "type": f"{types[0]}_type"}
    else:
        item = {"msg": error.message, "type": str(kind)}
    return [{"loc": loc, **item, "input": error.instance}]


class InputValidator:
    """Validates inputs for every endpoint of a :class:`Catalog`; validators are compiled once, lazily.

    Args:
        catalog: the contract's endpoints and schemas.
        allow_extra_fields: if false (the default), a top-level field the contract's schema does not
            list is an error (fal would silently ignore a misspelt ``promt``); the contract itself does
            not forbid them, so a relay's own extensions can be let through with ``True``.
    """

    def __init__(self, catalog: Catalog, *, allow_extra_fields: bool = False) -> None:
        self._catalog = catalog
        self._allow_extra = allow_extra_fields
        self._defs = {name: to_json_schema(schema) for name, schema in catalog.schemas.items()}
        self._validators: dict[str, Draft202012Validator] = {}
        self._lock = threading.Lock()

    def _validator(self, schema_name: str) -> Draft202012Validator:
        found = self._validators.get(schema_name)
        if found is None:
            with self._lock:
                schema = {"$ref": f"#/$defs/{schema_name}", "$defs": self._defs}
                found = self._validators[schema_name] = Draft202012Validator(schema)
        return found

    def prepare(self, info: EndpointInfo, value: Any) -> dict[str, Any]:
        """The JSON body for ``value`` (a generated input model or a mapping), checked against the contract.

        Raises:
            ValidationError: ``status_code`` None, ``detail`` the FastAPI-shaped list of problems, the
                message naming each field (e.g. ``image_url: Field required``).
        """
        if hasattr(value, "to_dict") and not isinstance(value, Mapping):
            if not isinstance(value, info.input_model):
                raise self._error(
                    info,
                    [
                        {
                            "loc": ["body"],
                            "msg": f"{info.endpoint_id} takes {info.input_schema}, not {type(value).__name__}",
                            "type": "model_type",
                        }
                    ],
                )
            body: dict[str, Any] = value.to_dict()
        elif isinstance(value, Mapping):
            body = dict(value)
        else:
            raise self._error(
                info,
                [
                    {
                        "loc": ["body"],
                        "msg": f"Input should be {info.input_schema} or a mapping, not {type(value).__name__}",
                        "type": "model_type",
                    }
                ],
            )
        problems: list[dict[str, Any]] = []
        for error in self._validator(info.input_schema).iter_errors(body):
            problems.extend(_items(error))
        if not self._allow_extra:
            known = list(self._catalog.schemas[info.input_schema].get("properties", {}))
            for name in body:
                if name not in known:
                    close = difflib.get_close_matches(name, known, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    problems.append(
                        {
                            "loc": ["body", name],
                            "msg": f"Extra inputs are not permitted: {info.input_schema} has no field {name!r}{hint}",
                            "type": "extra_forbidden",
                        }
                    )
        if problems:
            problems.sort(key=lambda item: [str(p) for p in item["loc"]])
            raise self._error(info, problems)
        return body

    @staticmethod
    def _error(info: EndpointInfo, problems: list[dict[str, Any]]) -> ValidationError:
        for item in problems:
            if isinstance(item.get("input"), str) and len(item["input"]) > 200:
                item["input"] = item["input"][:200] + "…"  # never copy a whole data: URI into an error
        return ValidationError(
            f"invalid input for {info.endpoint_id} ({info.input_schema}, checked before sending): "
            + summarize_detail(problems, limit=600),
            detail=problems,
        )
