"""``generate --input FIELD=VALUE`` and ``--input-json FILE|-``: any input field of the endpoint, also one
that has no option of its own (a new field, a rare one).

A ``--input`` value is typed by the field's schema in the contract (``EndpointModel.input_properties``):
``integer``, ``number``, ``boolean`` (true/false, yes/no, on/off, 1/0), ``string`` and string enums as
typed; an ``array`` field takes one ``--input`` per item (each typed by ``items``), or a JSON array; an
``object`` field, or a field without a type, a JSON value (a text that is not JSON stays a string). An
image field (``x-fal-media: image``) takes a file, read into a ``data:`` URI, like ``--image``.
``--input-json`` is a JSON object of input fields, merged *under* the explicit options: ``--input`` and
the dedicated options (``--seed``, ...) win over it; ``--input`` and a dedicated option for the same field
is a usage error.

A field the input schema does not list is refused, naming it (with the closest name), unless the schema
allows additional properties (``additionalProperties`` true or a schema). The whole body is then checked by
the client against the contract before anything is sent (``InputValidator``), and each problem names the
option that set the field.
"""

from __future__ import annotations

import difflib
import json
import math
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from ..contract._model import EndpointModel

__all__ = ["MAX_INPUT_JSON_BYTES", "allows_extra_fields", "input_fields"]

#: the largest --input-json read, bytes (it may carry data: URIs of images)
MAX_INPUT_JSON_BYTES = 128 * 1024 * 1024
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def allows_extra_fields(endpoint: EndpointModel) -> bool:
    """Whether the endpoint's input schema allows fields it does not list (``additionalProperties`` true
    or a schema; absent counts as not, as the client's own check does)."""
    schema: Any = endpoint.input_schema
    seen = 0
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and seen < 32:
        schema = endpoint.components.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
        seen += 1
    extra = schema.get("additionalProperties") if isinstance(schema, Mapping) else None
    return extra is True or isinstance(extra, Mapping)


def _types(schema: Mapping[str, Any]) -> set[str]:
    found = schema.get("type")
    types = (
        {found}
        if isinstance(found, str)
        else {t for t in found if isinstance(t, str)}
        if isinstance(found, list)
        else set()
    )
    for key in ("anyOf", "oneOf"):
        for member in schema.get(key) or ():
            if isinstance(member, Mapping):
                types |= _types(member)
    if schema.get("nullable"):
        types.add("null")
    return types


def _json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def _typed(raw: str, schema: Mapping[str, Any]) -> Any:
    """``raw`` as the value the schema's type asks for.

    Raises:
        ValueError: the text is not a value of that type (the message says what was expected).
    """
    types = _types(schema)
    if "null" in types and raw == "null":
        return None
    if "integer" in types:
        try:
            return int(raw.strip())
        except ValueError:
            if "number" not in types:
                raise ValueError("expected an integer (the contract's type)") from None
    if "number" in types:
        try:
            number = float(raw.strip())
        except ValueError:
            raise ValueError("expected a number (the contract's type)") from None
        if not math.isfinite(number):
            raise ValueError("expected a finite number")
        return int(number) if number.is_integer() and "." not in raw and "e" not in raw.lower() else number
    if "boolean" in types:
        word = raw.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ValueError("expected a boolean: true or false (the contract's type)")
    if "string" in types:
        return raw
    enum = schema.get("enum")
    if isinstance(enum, list) and all(isinstance(v, str) for v in enum):
        return raw
    try:  # an object, or a field without a type: a JSON value, else the text
        value = _json(raw)
    except ValueError:
        if "object" in types:
            raise ValueError("expected a JSON object (the contract's type)") from None
        return raw
    if "object" in types and not isinstance(value, dict):
        raise ValueError("expected a JSON object (the contract's type)")
    return value


def read_input_json(source: str) -> dict[str, Any]:
    """The JSON object of ``--input-json FILE`` (``-``: stdin), at most MAX_INPUT_JSON_BYTES.

    Raises:
        click.BadParameter: naming --input-json and the file: unreadable, too large, not JSON (with the
            line and column), or not an object.
    """
    shown = "stdin" if source == "-" else repr(source)
    try:
        if source == "-":
            data = sys.stdin.buffer.read(MAX_INPUT_JSON_BYTES + 1)
        else:
            with Path(source).open("rb") as handle:
                data = handle.read(MAX_INPUT_JSON_BYTES + 1)
    except OSError as exc:
        raise click.BadParameter(
            f"{shown} cannot be read: {exc.strerror or type(exc).__name__}", param_hint="--input-json"
        ) from None
    if len(data) > MAX_INPUT_JSON_BYTES:
        raise click.BadParameter(
            f"{shown} is larger than {MAX_INPUT_JSON_BYTES} bytes", param_hint="--input-json"
        )
    try:
        value = _json(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise click.BadParameter(
            f"{shown} is not UTF-8 text (byte {exc.start})", param_hint="--input-json"
        ) from None
    except json.JSONDecodeError as exc:
        raise click.BadParameter(
            f"{shown} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            param_hint="--input-json",
        ) from None
    except (ValueError, RecursionError) as exc:
        raise click.BadParameter(
            f"{shown} is not JSON: {exc or 'nested too deep'}", param_hint="--input-json"
        ) from None
    if not isinstance(value, dict):
        raise click.BadParameter(
            f"{shown}: expected a JSON object of input fields, found {type(value).__name__}",
            param_hint="--input-json",
        )
    return value


def _unknown(field: str, endpoint: EndpointModel, option: str) -> click.BadParameter:
    known = sorted(endpoint.input_properties)
    close = difflib.get_close_matches(field, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return click.BadParameter(
        f"{endpoint.input_schema_name or endpoint.endpoint_id} has no field {field!r}{hint} "
        f"(its fields: {', '.join(known)})",
        param_hint=option,
    )


def input_fields(
    pairs: tuple[str, ...],
    json_source: str | None,
    endpoint: EndpointModel,
    image_value: Callable[[str], str],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """The fields of ``--input-json`` and of ``--input``: ``(from_json, from_inputs, options)``,
    ``options`` the option each field came from, as errors name it (``--input seed``).

    Raises:
        click.BadParameter: naming the option and field: not FIELD=VALUE, an unknown field, a value that is
            not of the field's type, a JSON file that cannot be used.
    """
    extra = allows_extra_fields(endpoint)
    options: dict[str, str] = {}
    from_json = read_input_json(json_source) if json_source is not None else {}
    for field in from_json:
        if field not in endpoint.input_properties and not extra:
            raise _unknown(field, endpoint, "--input-json")
        options[field] = f"--input-json ({field})"
    from_inputs: dict[str, Any] = {}
    for pair in pairs:
        field, equals, raw = pair.partition("=")
        field = field.strip()
        if not equals or not field:
            raise click.BadParameter(f"expected FIELD=VALUE, found {pair[:80]!r}", param_hint="--input")
        option = f"--input {field}"
        schema = endpoint.input_properties.get(field)
        if schema is None and not extra:
            raise _unknown(field, endpoint, option)
        schema = schema or {}
        try:
            if "array" in _types(schema):
                found = schema.get("items")
                items: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
                if raw.lstrip().startswith("[") and field not in from_inputs:
                    value: Any = _json(raw)
                    if not isinstance(value, list):
                        raise ValueError("expected a JSON array")
                else:
                    item = _typed(raw, items)
                    if field in endpoint.image_inputs and isinstance(item, str):
                        item = image_value(item)
                    value = [*from_inputs.get(field, []), item]
            elif field in from_inputs:
                raise ValueError("given twice (only an array field takes several --input)")
            else:
                value = _typed(raw, schema)
                if field in endpoint.image_inputs and isinstance(value, str):
                    value = image_value(value)
        except (ValueError, RecursionError) as exc:
            raise click.BadParameter(
                f"invalid value {raw[:80]!r} for {field}: {exc}", param_hint=option
            ) from None
        except click.BadParameter as exc:  # an image field's file (read as --image reads it)
            raise click.BadParameter(exc.message, param_hint=option) from None
        from_inputs[field] = value
        options[field] = option
    return from_json, from_inputs, options
