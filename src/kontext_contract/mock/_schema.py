"""Validating with the contract's schemas, and jsonschema errors -> FastAPI's 422 ``detail`` items.

The contract states its schemas in OpenAPI 3.0's dialect; the translation to JSON Schema 2020-12 is
shared with the client and the checks (``kontext_contract._openapi.json_schema``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from .._openapi import json_schema

__all__ = ["error_items", "json_schema", "make_validator", "pydantic_msg"]


def make_validator(schema: Any, components: dict[str, Any]) -> Draft202012Validator:
    """A jsonschema validator for an OpenAPI 3.0 schema (see :func:`json_schema`)."""
    return Draft202012Validator(json_schema(schema, components))


def _quoted(values: Sequence[Any]) -> str:
    shown = [f"'{v}'" if isinstance(v, str) else json.dumps(v) for v in values]
    if len(shown) <= 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " or " + shown[-1]


_TYPE_ERRORS = {
    "string": ("string_type", "Input should be a valid string"),
    "integer": ("int_type", "Input should be a valid integer"),
    "number": ("float_type", "Input should be a valid number"),
    "boolean": ("bool_type", "Input should be a valid boolean"),
    "array": ("list_type", "Input should be a valid list"),
    "object": ("dict_type", "Input should be a valid dictionary"),
    "null": ("none_required", "Input should be None"),
}


def pydantic_msg(error: ValidationError) -> tuple[str, str, dict[str, Any] | None]:
    """The (type, msg, ctx) pydantic v2 would give for the failed keyword of ``error``."""
    kind = error.validator
    value: Any = error.validator_value
    if kind == "type":
        first = value[0] if isinstance(value, list) and value else value
        if not error.absolute_path:
            return (
                "model_attributes_type",
                "Input should be a valid dictionary or object to extract fields from",
                None,
            )
        return (*_TYPE_ERRORS.get(str(first), ("type_error", f"Input should be of type {first}")), None)
    if kind == "enum":
        shown = _quoted([v for v in value if v is not None])
        return "enum", f"Input should be {shown}", {"expected": shown}
    if kind == "const":
        shown = _quoted([value])
        return "literal_error", f"Input should be {shown}", {"expected": shown}
    if kind == "maximum":
        return "less_than_equal", f"Input should be less than or equal to {value}", {"le": value}
    if kind == "minimum":
        return "greater_than_equal", f"Input should be greater than or equal to {value}", {"ge": value}
    if kind == "exclusiveMaximum":
        return "less_than", f"Input should be less than {value}", {"lt": value}
    if kind == "exclusiveMinimum":
        return "greater_than", f"Input should be greater than {value}", {"gt": value}
    if kind == "minItems":
        return "too_short", f"List should have at least {value} items", {"min_length": value}
    if kind == "maxItems":
        return "too_long", f"List should have at most {value} items", {"max_length": value}
    if kind == "minLength":
        return "string_too_short", f"String should have at least {value} characters", {"min_length": value}
    if kind == "maxLength":
        return "string_too_long", f"String should have at most {value} characters", {"max_length": value}
    if kind == "pattern":
        return "string_pattern_mismatch", f"String should match pattern '{value}'", {"pattern": value}
    if kind == "additionalProperties":
        return "extra_forbidden", "Extra inputs are not permitted", None
    return "value_error", error.message[:500], None


def _required_missing(error: ValidationError) -> list[str]:
    instance = error.instance
    names: list[Any] = list(error.validator_value) if isinstance(error.validator_value, list) else []
    if not isinstance(instance, dict):
        return []
    return [str(n) for n in names if n not in instance]


def error_items(errors: Iterable[ValidationError], *, limit: int = 50) -> list[dict[str, Any]]:
    """FastAPI 422 ``detail`` items (``{type, loc, msg, input, ctx?}``) for jsonschema errors, ``loc``
    starting with ``"body"``. Source: FACTS.md §3.2 (the FastAPI shape; an empty body to
    fal-ai/flux-pro/kontext gives ``["body","prompt"]`` and ``["body","image_url"]``).
    """
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for error in errors:
        # anyOf/oneOf failures: report the most specific underlying error, like pydantic does
        if error.context:
            best = min(error.context, key=lambda e: (-len(e.absolute_path), e.validator != "type"))
            error = best
        loc: list[str | int] = ["body", *error.absolute_path]
        if error.validator == "required":
            for name in _required_missing(error):
                key = json.dumps([*loc, name])
                if key not in seen:  # jsonschema reports every missing name once per `required` error
                    seen.add(key)
                    items.append(
                        {
                            "type": "missing",
                            "loc": [*loc, name],
                            "msg": "Field required",
                            "input": error.instance,
                        }
                    )
            continue
        kind, msg, ctx = pydantic_msg(error)
        item: dict[str, Any] = {"type": kind, "loc": loc, "msg": msg, "input": error.instance}
        if ctx is not None:
            item["ctx"] = ctx
        key = json.dumps(loc)
        if key in seen:
            # one error per field, as pydantic reports it: an enum's message (which lists the values)
            # rather than the type error of the same field
            for i, old in enumerate(items):
                if old["loc"] == loc and kind == "enum" and old["type"].endswith("_type"):
                    items[i] = item
            continue
        seen.add(key)
        items.append(item)
        if len(items) >= limit:
            break
    return items[:limit]
