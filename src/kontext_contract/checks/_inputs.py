"""The inputs the checks send, built from the endpoint's input schema in the provider document.

Values that a rule is about are chosen from the schema, never typed here: ``num_images`` is its default
plus one (within its maximum), ``aspect_ratio`` the first enum value that is not square, ``output_format``
the first enum value other than the default. Required fields are filled by kind: a string or array of
strings named like an image input (``image_url``, ``image_urls``: fal's naming, docs/sources.md §3.3) gets ``data:``
URIs of a small generated PNG, any other required string the prompt.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..contract import ContractModel

__all__ = ["MainInput", "input_image", "invalid_input", "main_input", "ratio_of"]

PROMPT = "a small red cube on a white table, soft studio light"
_IMAGE_NAME = re.compile(r"(^|_)image_urls?$")


@functools.cache
def input_image() -> str:
    """A 256x256 PNG (a fixed gradient) as a base64 ``data:`` URI (docs/sources.md §3.3: inputs take data: URIs)."""
    from PIL import Image

    from ..client._images import to_data_uri

    image = Image.new("RGB", (256, 256))
    image.putdata([(x, y, (x + y) // 2) for y in range(256) for x in range(256)])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return to_data_uri(buffer.getvalue())


def ratio_of(value: str) -> float | None:
    """``"21:9"`` -> 2.333...; None if it is not ``W:H`` with positive numbers."""
    left, sep, right = value.partition(":")
    try:
        w, h = float(left), float(right)
    except ValueError:
        return None
    return w / h if sep and w > 0 and h > 0 else None


@dataclass(frozen=True)
class MainInput:
    """The main input and the values the output checks compare with (None: the schema has no such field)."""

    body: dict[str, Any]
    num_images: int | None
    aspect_ratio: str | None
    output_format: str | None
    output_format_default: str | None
    seed: int | None


def _required_value(name: str, prop: Mapping[str, Any]) -> Any:
    kind = prop.get("type")
    if _IMAGE_NAME.search(name):
        return [input_image(), input_image()] if kind == "array" else input_image()
    if kind == "string" or "enum" in prop:
        if "default" in prop:
            return prop["default"]
        return prop["enum"][0] if prop.get("enum") else PROMPT
    if kind in ("integer", "number"):
        return prop.get("default", prop.get("minimum", 1))
    if kind == "boolean":
        return prop.get("default", False)
    if kind == "array":
        return []
    return {}


def main_input(contract: ContractModel, endpoint_id: str, seed: int) -> MainInput:
    """The main input of ``endpoint_id``: every required field, a seed, two images (default + 1), a
    non-square aspect ratio and the non-default output format, each only if the schema has the field."""
    endpoint = contract.endpoint(endpoint_id)
    props, required = endpoint.input_properties, endpoint.required_inputs
    body: dict[str, Any] = {name: _required_value(name, props[name]) for name in required if name in props}
    chosen_seed: int | None = None
    if "seed" in props:
        body["seed"] = chosen_seed = seed
    num: int | None = None
    if "num_images" in props:
        spec = props["num_images"]
        default = spec.get("default", 1)
        num = default + 1 if not isinstance(spec.get("maximum"), int) else min(default + 1, spec["maximum"])
        body["num_images"] = num
    aspect: str | None = None
    if "aspect_ratio" in props:
        for value in props["aspect_ratio"].get("enum") or []:
            ratio = ratio_of(str(value))
            if ratio is not None and abs(ratio - 1.0) > 1e-9:
                aspect = str(value)
                break
        if aspect is not None:
            body["aspect_ratio"] = aspect
    fmt: str | None = None
    fmt_default: str | None = None
    if "output_format" in props:
        spec = props["output_format"]
        fmt_default = str(spec["default"]) if "default" in spec else None
        others = [str(v) for v in spec.get("enum") or [] if str(v) != fmt_default]
        fmt = others[0] if others else fmt_default
        if fmt is not None:
            body["output_format"] = fmt
    return MainInput(body, num, aspect, fmt, fmt_default, chosen_seed)


def invalid_input() -> dict[str, Any]:
    """An input that lacks every required field: ``{}`` (docs/sources.md §3.2: an empty body to
    fal-ai/flux-pro/kontext gives ``loc`` ``["body","prompt"]`` and ``["body","image_url"]``)."""
    return {}
