"""Evaluating an input against the contract, and making the model output the contract describes.

Fields whose meaning the mock knows (``images``, ``seed``, ``timings``, ``has_nsfw_concepts``, ``prompt``)
carry real values; any other property the output schema (or its image item) requires gets a schema-valid
value taken from the schema itself (:func:`kontext_contract.contract.value_for`), so a new required output
field reaches every answer without code.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections import Counter
from typing import Any

from anyio import to_thread

from ..contract import ContractError, ContractModel, EndpointModel, NoValue, value_for
from ._config import MockConfig
from ._images import (
    FileCache,
    ImageSpec,
    InputImageError,
    decode_data_uri,
    decode_image_bytes,
    extension_for,
    input_digest,
    mime_for,
    parse_name,
    size_for_ratio,
)
from ._queue import Outcome, QueueMachine, Req
from ._storage import FILES_PREFIX, Storage

__all__ = ["Outputs"]

_FILES = "/_mock/files/"


#: the output fields (and image item fields) the mock fills with meaning; any other required one is filled
#: from its schema. Source: docs/sources.md §3.3 (the output of the Kontext endpoints).
_MEANINGFUL = frozenset({"images", "timings", "seed", "has_nsfw_concepts", "prompt"})
_MEANINGFUL_ITEM = frozenset({"url", "content_type", "file_name", "file_size", "width", "height"})


def plan_fillers(model: ContractModel) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """For every endpoint: a schema-valid value of each required output field (and image item field) whose
    meaning the mock does not know, taken from the schema (:func:`value_for`).

    Raises:
        ContractError: no valid value can be taken from a field's schema (the message names the field).
    """
    out: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for endpoint in model.endpoints.values():
        parts: list[dict[str, Any]] = []
        for props, required, known, where in (
            (endpoint.output_properties, endpoint.output_required, _MEANINGFUL, ""),
            (endpoint.image_item_properties, endpoint.image_item_required, _MEANINGFUL_ITEM, "images[]."),
        ):
            values: dict[str, Any] = {}
            for name in required:
                if name in known:
                    continue
                schema = props.get(name, {})
                try:
                    value = value_for(model.document, schema)
                except NoValue as exc:
                    raise ContractError(
                        f"{model.source}: the output of {endpoint.endpoint_id} requires {where}{name}, and the mock "
                        f"cannot take a value from its schema: {exc}"
                    ) from None
                if not model.validator(dict(schema)).is_valid(value):
                    raise ContractError(
                        f"{model.source}: the output of {endpoint.endpoint_id} requires {where}{name}; the value "
                        f"{value!r} taken from its schema does not validate: give the schema a default or an example"
                    )
                values[name] = value
            parts.append(values)
        out[endpoint.endpoint_id] = (parts[0], parts[1])
    return out


class Outputs:
    """Input validation and model outputs, from the contract model; what a successful output is billed.

    Args:
        config: the mock's configuration.
        model: the provider document's contract model.
        queue: the queue (why a finished request did not run, the clock).

    Attributes:
        files: the LRU of rendered files.
        fillers: endpoint id -> (output fields, image item fields) the contract requires and the mock gives
            no meaning: a schema-valid value of each (:func:`plan_fillers`).
        billed: what fal would bill: ``requests`` and ``images`` of the successful outputs made (each queued
            request once, each synchronous run), by endpoint id (``requests:<id>``, ``images:<id>``).
    """

    def __init__(self, config: MockConfig, model: ContractModel, queue: QueueMachine) -> None:
        self.config = config
        self.model = model
        self.queue = queue
        self.files = FileCache()
        self.fillers = plan_fillers(model)
        self.billed: Counter[str] = Counter()
        #: uploaded files (set by the state): their URLs are input images the mock decodes
        self.storage: Storage | None = None

    def bill(self, endpoint: EndpointModel, outcome: Outcome) -> None:
        """Count a successful output (one request, its images)."""
        if outcome.status == 200:
            images = outcome.body.get("images")
            self.billed["requests:" + endpoint.endpoint_id] += 1
            self.billed["images:" + endpoint.endpoint_id] += len(images) if isinstance(images, list) else 0

    async def outcome(self, req: Req, now: float) -> Outcome:
        """How a COMPLETED request answers its result (cached unless it carries inline images)."""
        if req.outcome is not None:
            return req.outcome
        failed = self.queue.failure(req, now)
        if failed is not None:
            error, error_type = failed
            if error_type == "request_timeout":
                out = Outcome(
                    504,
                    {"detail": error, "error_type": error_type},
                    {
                        "X-Fal-Request-Timeout-Type": "user",
                        "X-Fal-Error-Type": error_type,
                        "X-Fal-Retryable": "false",
                    },
                )
            else:
                out = Outcome(400, {"detail": error})
            req.outcome = out
            return out
        out, cacheable = await self.evaluate(req.endpoint, req.body, base=req.base, seed=req.seed)
        if not req.billed:
            req.billed = True
            self.bill(req.endpoint, out)
        if cacheable:
            req.outcome = out
        return out

    async def evaluate(
        self, endpoint: EndpointModel, body: bytes, *, base: str, seed: int
    ) -> tuple[Outcome, bool]:
        """Validate an input against the contract and make the model output.

        Returns:
            (outcome, cacheable): 200 with the output, or 422 with FastAPI ``detail`` items
            (docs/sources.md §3.2); cacheable is False when the output inlines images (sync_mode).
        """
        bad, data, ratio = await self._check(endpoint, body, base)
        if bad is not None or data is None:
            return bad or Outcome(422, {"detail": []}), True
        return await self._output(endpoint, data, base=base, seed=seed, ratio=ratio)

    async def _check(
        self, endpoint: EndpointModel, body: bytes, base: str
    ) -> tuple[Outcome | None, dict[str, Any] | None, tuple[float, float] | None]:
        if (
            len(body) > 65536 or b"data:" in body or FILES_PREFIX.encode() in body
        ):  # images: off the event loop
            return await to_thread.run_sync(self.check_input, endpoint, body, base)
        return self.check_input(endpoint, body, base)

    async def ensure_checked(self, req: Req) -> None:
        """Validate a finished request's input once, so its status can say it failed (the 422 itself is
        the result's answer)."""
        if req.outcome is not None or req.checked or self.queue.failure(req, self.queue.now()) is not None:
            return
        bad, _data, _ratio = await self._check(req.endpoint, req.body, req.base)
        if bad is not None:
            req.outcome = bad
        req.checked = True

    def check_input(
        self, endpoint: EndpointModel, body: bytes, base: str
    ) -> tuple[Outcome | None, dict[str, Any] | None, tuple[float, float] | None]:
        """Parse and validate a body with the contract's schema, then decode its ``data:`` images.

        Returns:
            (422 outcome, None, None) for a rejected input, else (None, the input, the width:height of
            the first input image whose size is known, or None).
        """
        try:
            data = json.loads(body) if body else None
        except (ValueError, RecursionError) as exc:
            detail = [
                {
                    "type": "json_invalid",
                    "loc": ["body", getattr(exc, "pos", 0)],
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": getattr(exc, "msg", "Invalid JSON")},
                }
            ]
            return Outcome(422, {"detail": detail}), None, None
        errors = endpoint.input_validator.detail(data) if data is not None else []
        if data is None:
            errors = [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]
        if errors:
            return Outcome(422, {"detail": errors}), None, None
        if not isinstance(data, dict):
            return Outcome(422, {"detail": []}), None, None
        ratio: tuple[float, float] | None = None
        bad: list[dict[str, Any]] = []
        for name, is_list in endpoint.image_inputs.items():
            if name not in data:
                continue
            values = data[name] if is_list and isinstance(data[name], list) else [data[name]]
            for i, value in enumerate(values):
                if not isinstance(value, str):
                    continue
                loc: list[str | int] = ["body", name, i] if is_list else ["body", name]
                try:
                    size = self._input_size(value, base)
                except InputImageError as exc:
                    item = {"type": exc.kind, "loc": loc, "msg": exc.reason, "input": _short(value)}
                    bad.append({**item, "ctx": exc.ctx} if exc.ctx else item)
                    continue
                if ratio is None and size is not None:
                    ratio = (float(size[0]), float(size[1]))
        if bad:
            return Outcome(422, {"detail": bad}), None, None
        return None, data, ratio

    def _input_size(self, value: str, base: str) -> tuple[int, int] | None:
        if value[:5].lower() == "data:":
            return decode_data_uri(value)
        own = self.config.base_url or base
        if self.storage is not None and value.startswith(own + FILES_PREFIX):
            upload = self.storage.lookup(value[len(own + FILES_PREFIX) :].split("?", 1)[0])
            if upload is None or upload.data is None:
                raise InputImageError("no such uploaded file on this mock (never uploaded, or expired)")
            return decode_image_bytes(upload.data)
        own += _FILES
        if value.startswith(own):
            spec = parse_name(value[len(own) :])
            if spec is None:
                raise InputImageError("no such file on this mock")
            return spec.width, spec.height
        return None  # any other URL: accepted as-is, never fetched (docs/mock.md "No SSRF")

    async def _output(
        self,
        endpoint: EndpointModel,
        data: dict[str, Any],
        *,
        base: str,
        seed: int,
        ratio: tuple[float, float] | None,
    ) -> tuple[Outcome, bool]:
        params = {**endpoint.defaults, **data}
        count = params.get("num_images", 1)
        count = count if isinstance(count, int) and 0 < count <= 16 else 1
        output_format = str(params.get("output_format", "jpeg"))
        sync_mode = params.get("sync_mode") is True
        if isinstance(data.get("seed"), int) and not isinstance(data.get("seed"), bool):
            seed = data["seed"]
        aspect = params.get("aspect_ratio")
        if isinstance(aspect, str) and aspect.count(":") == 1:
            with contextlib.suppress(ValueError):
                ratio = (float(aspect.split(":")[0]), float(aspect.split(":")[1]))
        try:
            width, height = size_for_ratio(*(ratio or (1.0, 1.0)))
        except ValueError:
            width, height = size_for_ratio(1.0, 1.0)
        identity = {k: v for k, v in data.items() if k not in ("seed", "sync_mode", "num_images")}
        digest = input_digest([endpoint.endpoint_id, json.dumps(identity, sort_keys=True)])
        ext = extension_for(output_format)
        mime = mime_for(output_format)
        if parse_name(f"16x16-0-0-0000000000000000.{ext}") is None:  # a format the mock cannot write
            ext, mime = "jpg", "image/jpeg"
        fields = endpoint.image_item_properties
        need_bytes = sync_mode or "file_size" in fields or "file_data" in fields
        specs = [ImageSpec(width, height, seed % 2**63, i, digest, ext) for i in range(count)]
        blobs: list[bytes] = []
        if need_bytes:
            blobs = await to_thread.run_sync(lambda: [self.files.get(s) for s in specs])
        images: list[dict[str, Any]] = []
        for i, spec in enumerate(specs):
            if sync_mode:
                url = f"data:{mime};base64," + base64.b64encode(blobs[i]).decode("ascii")
            else:
                url = f"{self.config.base_url or base}{_FILES}{spec.name}"
            facts: dict[str, Any] = {
                "url": url,
                "content_type": mime,
                "file_name": spec.name,
                "width": width,
                "height": height,
            }
            if blobs:
                facts["file_size"] = len(blobs[i])
            image = {k: v for k, v in facts.items() if k in fields}
            images.append({**self.fillers[endpoint.endpoint_id][1], **image})
        output: dict[str, Any] = {
            "images": images,
            "timings": {"inference": self.config.processing_delay},
            "seed": seed,
            "has_nsfw_concepts": [False] * count,
            "prompt": data.get("prompt", ""),
        }
        output = {k: v for k, v in output.items() if k in endpoint.output_properties}
        return Outcome(200, {**self.fillers[endpoint.endpoint_id][0], **output}), not sync_mode


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 80:
        return value[:64] + "..."
    return value
