"""One JSON Schema validator factory, and the one builder of fal's 422 ``detail`` list.

The contract states its schemas in OpenAPI 3.0's dialect; :func:`kontext_contract._openapi.json_schema`
translates them to JSON Schema 2020-12. :class:`SchemaValidator` validates with that translation:
jsonschema-rs answers the common "is it valid?" fast, python-jsonschema gives the errors. The errors become
FastAPI/pydantic ``detail`` items (:func:`error_items`), the shape fal answers a bad input with
(docs/sources.md §3.2; fal docs "request errors", https://docs.fal.ai/documentation/model-apis/request-errors).
The client's local check and the mock's 422 both use it, so the two read the same.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, ValidationError

from .._openapi import json_schema

__all__ = ["SchemaValidator", "error_items", "json_schema", "pydantic_msg"]


class SchemaValidator:
    """A validator of one OpenAPI 3.0 schema of a document (compiled lazily, thread-safe).

    Args:
        schema: the schema node (may be a ``$ref`` into ``components``).
        components: the document's ``components.schemas``.
    """

    def __init__(self, schema: Any, components: Mapping[str, Any]) -> None:
        self.json_schema = json_schema(schema, components)
        self._full: Draft202012Validator | None = None
        self._fast: Any = None
        self._lock = threading.Lock()

    @property
    def full(self) -> Draft202012Validator:
        """The python-jsonschema validator (every error, with its path)."""
        if self._full is None:
            with self._lock:
                if self._full is None:
                    self._full = Draft202012Validator(self.json_schema)
        return self._full

    def is_valid(self, instance: Any) -> bool:
        """Whether ``instance`` is valid (jsonschema-rs; False on input it cannot even read)."""
        if self._fast is None:
            with self._lock:
                if self._fast is None:
                    self._fast = jsonschema_rs.validator_for(self.json_schema)
        try:
            return bool(self._fast.is_valid(instance))
        except (ValueError, RecursionError, OverflowError):
            return False

    def iter_errors(self, instance: Any) -> Iterable[ValidationError]:
        return self.full.iter_errors(instance)

    def detail(self, instance: Any, *, limit: int = 50) -> list[dict[str, Any]]:
        """fal's 422 ``detail`` items for ``instance`` (``[]`` when valid); see :func:`error_items`."""
        if self.is_valid(instance):
            return []
        try:
            return error_items(self.iter_errors(instance), limit=limit)
        except RecursionError:
            return [
                {"type": "value_error", "loc": ["body"], "msg": "Input is nested too deeply", "input": None}
            ]

    def messages(self, instance: Any, *, limit: int = 3) -> list[str]:
        """Up to ``limit`` one-line messages: ``at images.0.width: 'x' is not of type 'integer'``."""
        out: list[str] = []
        for error in self.iter_errors(instance):
            where = ".".join(str(p) for p in error.absolute_path) or "<body>"
            message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
            out.append(f"at {where}: {message}")
            if len(out) >= limit:
                break
        return out


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
    starting with ``"body"``. Source: docs/sources.md §3.2 (the FastAPI shape; an empty body to
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
