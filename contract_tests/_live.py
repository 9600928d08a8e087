"""Live mode: the same checks against a real provider, only when asked (``KONTEXT_LIVE=1``) and a key is set.

It costs money, so: only positive, cheap inputs (``num_images: 1``, a tiny generated PNG as the image input),
a hard cap on paid calls (submits and synchronous runs; ``KONTEXT_LIVE_MAX_SUBMITS``, default 3), a dry run
(``KONTEXT_LIVE_DRY_RUN=1``) that prints the planned requests and sends nothing, and the key masked in every
report and in the cassette (``reports/contract-live-cassette.json``).

Environment: ``KONTEXT_LIVE_PROVIDER`` (fal, relay-a, chainhub, relay-b), the provider's key variable from its
document (``x-provider.auth.key_env``, e.g. FAL_KEY; fal also FAL_KEY_ID + FAL_KEY_SECRET),
``KONTEXT_LIVE_BASE_URL`` (the queue base URL; required for relays whose document names no host),
``KONTEXT_LIVE_RUN_BASE_URL`` (fal's synchronous API host; default the document's).
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from PIL import Image
from schemathesis.checks import CheckResult
from schemathesis.hooks import HookContext

from kontext_contract._openapi import resolve_ref

from ._harness import (
    PROVIDERS,
    REPORTS,
    AnyCase,
    AnyOperation,
    auth_header,
    base_url_for,
    load_schema,
    operations,
    provider_facts,
    recording,
    role,
    run_seed,
)
from ._redact import MASK, redact, redact_headers, secrets
from ._run import validate

__all__ = ["LiveSettings", "PlannedCall", "plan", "run_live", "skip_reason"]


@dataclass(frozen=True)
class LiveSettings:
    provider: str
    key: str | None = field(repr=False)
    key_names: str
    base_url: str | None
    run_base_url: str | None
    max_paid: int
    dry_run: bool
    enabled: bool
    reports: Path
    #: KONTEXT_LIVE=1 (make contract-live): a run that cannot go live fails (exit 2) instead of skipping;
    #: KONTEXT_LIVE=optional keeps the skip, for local runs (docs/contract-tests.md)
    required: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LiveSettings:
        env = os.environ if environ is None else environ
        provider = env.get("KONTEXT_LIVE_PROVIDER", "fal") or "fal"
        if provider not in PROVIDERS:
            raise ValueError(f"KONTEXT_LIVE_PROVIDER={provider!r} is not one of {', '.join(PROVIDERS)}")
        facts = provider_facts(provider)
        key = facts.key_from(env)
        names = facts.key_variables
        return cls(
            provider=provider,
            key=key,
            key_names=names,
            base_url=env.get("KONTEXT_LIVE_BASE_URL") or None,
            run_base_url=env.get("KONTEXT_LIVE_RUN_BASE_URL") or None,
            max_paid=int(env.get("KONTEXT_LIVE_MAX_SUBMITS", "3") or 3),
            dry_run=env.get("KONTEXT_LIVE_DRY_RUN", "") in ("1", "true", "yes"),
            enabled=env.get("KONTEXT_LIVE", "") in ("1", "optional"),
            required=env.get("KONTEXT_LIVE", "") == "1",
            reports=Path(env.get("KONTEXT_LIVE_REPORTS") or REPORTS),
        )

    def queue_base(self) -> str | None:
        """The queue base URL: the override, else the document's server unless it is a placeholder."""
        if self.base_url:
            return self.base_url.rstrip("/")
        return provider_facts(self.provider).queue_base_url


def skip_reason(settings: LiveSettings) -> str | None:
    """Why the live mode does not run, or None when it does (a dry run needs no key)."""
    if not settings.enabled:
        return (
            "live mode is off: set KONTEXT_LIVE=1 (make contract-live PROVIDER=...) to test a real provider"
        )
    if settings.queue_base() is None:
        return f"the {settings.provider} document names no host: set KONTEXT_LIVE_BASE_URL"
    if settings.key is None and not settings.dry_run:
        return f"no key for {settings.provider}: set {settings.key_names} (or KONTEXT_LIVE_DRY_RUN=1 for the plan)"
    if settings.max_paid < 1:
        return "KONTEXT_LIVE_MAX_SUBMITS is below 1: no paid call allowed"
    return None


def tiny_png() -> str:
    """A 64x48 PNG as a ``data:`` URI (fal takes base64 data URIs as image inputs, docs/sources.md §3.3)."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 90, 160)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def cheap_input(operation: AnyOperation) -> dict[str, Any]:
    """The cheapest valid input of an operation, from its request body schema: the required fields (a short
    prompt, the tiny PNG for image inputs) and ``num_images`` at its minimum."""
    document = operation.schema.raw_schema
    body = operation.definition.raw["requestBody"]
    schema: Any = resolve_ref(document, body["content"]["application/json"]["schema"])
    data: dict[str, Any] = {}
    for name in schema.get("required", []):
        prop = schema["properties"][name]
        if prop.get("type") == "array":
            data[name] = [tiny_png()]
        elif "image" in name:
            data[name] = tiny_png()
        else:
            data[name] = "a small blue square"
    if "num_images" in schema.get("properties", {}):
        data["num_images"] = int(schema["properties"]["num_images"].get("minimum", 1))
    return data


@dataclass(frozen=True)
class PlannedCall:
    operation: AnyOperation
    url: str
    body: dict[str, Any]

    def describe(self, scheme: str) -> str:
        shown = {
            k: (v[:32] + "..." if isinstance(v, str) and len(v) > 40 else v) for k, v in self.body.items()
        }
        return f"{self.operation.method.upper()} {self.url}  Authorization: {scheme} {MASK}  body={json.dumps(shown)}"


def _load(settings: LiveSettings) -> Any:
    return load_schema(
        settings.provider,
        key=settings.key or "unset",
        max_examples=1,
        seed=run_seed(),
        coverage=False,
        modes=("positive",),
    )


def _run_base(settings: LiveSettings) -> str | None:
    return settings.run_base_url.rstrip("/") if settings.run_base_url else None


def plan(settings: LiveSettings, schema: Any = None) -> list[PlannedCall]:
    """The paid calls of a live run, at most ``max_paid``: one cheap positive input per endpoint operation
    (submits first, then the synchronous runs where the provider has them), in document order."""
    schema = schema or _load(settings)
    queue = settings.queue_base()
    assert queue is not None
    paid = [op for op in operations(schema) if role(op) in ("submit", "run")]
    paid.sort(key=lambda op: role(op) == "run")
    calls = []
    for operation in paid[: settings.max_paid]:
        base = base_url_for(operation, queue, _run_base(settings))
        calls.append(PlannedCall(operation, base + operation.path, cheap_input(operation)))
    return calls


def run_live(settings: LiveSettings, out: TextIO) -> int:
    """Print the plan; unless a dry run, send each planned call with every check (status and result of each
    queued request are followed by the checks, free of charge), write the cassette. Returns paid calls sent.

    Raises:
        schemathesis.core.failures.FailureGroup: a check failed. AssertionError: a paid call was refused.
    """
    schema = _load(settings)
    recording(schema, "live", settings.provider)
    calls = plan(settings, schema)
    scheme = provider_facts(settings.provider).auth_scheme
    keys = secrets(extra=[settings.key] if settings.key else [])
    lines = [f"live plan for {settings.provider}: {len(calls)} paid call(s), cap {settings.max_paid}"]
    lines += [f"  {i + 1}. {call.describe(scheme)}" for i, call in enumerate(calls)]
    text = redact("\n".join(lines), keys)
    print(text, file=out)
    settings.reports.mkdir(parents=True, exist_ok=True)
    (settings.reports / "contract-live-plan.txt").write_text(text + "\n", encoding="utf-8")
    if settings.dry_run:
        print("dry run (KONTEXT_LIVE_DRY_RUN=1): nothing was sent", file=out)
        return 0
    assert settings.key is not None
    cassette: list[dict[str, Any]] = []

    def keep(context: HookContext, case: AnyCase, response: Any, results: list[CheckResult]) -> None:
        cassette.append(
            {
                "request": {
                    "method": response.request.method,
                    "url": redact(str(response.request.url), keys),
                    "headers": redact_headers(dict(response.request.headers), keys),
                    "body": redact(_text(response.request.body), keys),
                },
                "response": {
                    "status": response.status_code,
                    "headers": redact_headers({k: ", ".join(v) for k, v in response.headers.items()}, keys),
                    "body": redact(response.text[:4000], keys),
                },
                "checks": {r.name: "passed" if r.failure is None else "failed" for r in results},
            }
        )

    schema.hooks.register_hook_with_name(keep, "after_validate")
    sent = 0
    auth = {"Authorization": auth_header(settings.provider, settings.key)}
    queue = settings.queue_base()
    assert queue is not None
    try:
        for call in calls:
            assert sent < settings.max_paid, "the paid-call cap was reached"
            case = call.operation.Case(body=call.body, headers=auth, media_type="application/json")
            sent += 1
            response = validate(case, queue, _run_base(settings))
            assert 200 <= response.status_code < 300, redact(
                f"{call.operation.label} answered {response.status_code}: {response.text[:300]}", keys
            )
            print(f"  sent {call.operation.label}: {response.status_code}", file=out)
    finally:
        path = settings.reports / "contract-live-cassette.json"
        path.write_text(redact(json.dumps(cassette, indent=2), keys) + "\n", encoding="utf-8")
    return sent


def _text(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")[:4000]
    return str(body)[:4000]
