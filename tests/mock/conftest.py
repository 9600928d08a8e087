"""Shared fixtures of the mock's tests: in-process clients whose every response is validated against the
provider document with an independent validator (openapi-schema-validator's OAS 3.0 dialect)."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator, Callable
from functools import cache
from typing import Any

import httpx
import pytest_asyncio
from openapi_schema_validator import OAS30Validator
from PIL import Image

from kontext_contract._layout import Layout
from kontext_contract._openapi import event_data_schema
from kontext_contract._openapi import resolve_ref as _deref
from kontext_contract.contract import ContractModel, load_document
from kontext_contract.mock import DEFAULT_KEYS, MockApp, MockConfig, create_app

BASE = "http://testserver"
FAL_KEY = DEFAULT_KEYS["Key"]
RELAY_KEY = DEFAULT_KEYS["Bearer"]
FAL_AUTH = {"Authorization": f"Key {FAL_KEY}"}
RELAY_AUTH = {"Authorization": f"Bearer {RELAY_KEY}"}
EDIT = "fal-ai/flux-pro/kontext"
MAX_MULTI = "fal-ai/flux-pro/kontext/max/multi"
T2I = "fal-ai/flux-pro/kontext/text-to-image"


@cache
def provider_document(provider: str) -> dict[str, Any]:
    return load_document(Layout.discover().provider_document(provider))


def auth_for(provider: str) -> dict[str, str]:
    return FAL_AUTH if provider == "fal" else RELAY_AUTH


def png_data_uri(width: int, height: int, fmt: str = "PNG") -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format=fmt)
    mime = "image/png" if fmt == "PNG" else "image/jpeg"
    return f"data:{mime};base64," + base64.b64encode(buffer.getvalue()).decode()


class ContractChecker:
    """Finds the operation of a mock response in the provider document and validates status code,
    content type, headers and body against it. Raises AssertionError on any mismatch."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.doc = document
        self.checked = 0
        self.model = ContractModel.from_document(document)
        self.request_paths = {op.path for op in self.model.request_operations}
        self.runs: dict[str, str] = {}
        for endpoint in self.model.endpoints.values():
            route = self.model.run_path(endpoint.endpoint_id)
            if route is not None and endpoint.run is not None:
                self.runs["/run/" + route] = endpoint.run.path

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        """The contract's (path template, operation) of a request the mock answered, from the model."""
        paths = self.doc["paths"]
        if path.startswith("/_mock/"):
            return None
        if path in self.runs:
            template = self.runs[path]
            op = paths[template].get(method.lower())
            return (template, op) if op else None
        route = self.model.route(path)
        if route is None:
            return None
        template = route.operation.path
        op = paths[template].get(method.lower())
        return (template, op) if op else None

    def validate(self, schema: Any, instance: Any, where: str) -> None:
        validator = OAS30Validator({**schema, "components": self.doc["components"]})
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]
        assert not errors, f"{where}: the response does not match the contract: {errors[:5]}"

    def check(self, method: str, path: str, response: httpx.Response) -> None:
        found = self.operation(method, path)
        if found is None:
            return
        template, op = found
        status = str(response.status_code)
        if status in ("404", "405") and template not in self.request_paths and method != "POST":
            return  # a route the contract does not have: nothing to compare
        where = f"{method} {template} -> {status}"
        assert status in op["responses"], f"{where}: status {status} is not in the contract"
        spec = _deref(self.doc, op["responses"][status])
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        content = spec.get("content") or {}
        assert content_type in content, f"{where}: content type {content_type!r} not in {sorted(content)}"
        for name, header in (spec.get("headers") or {}).items():
            if _deref(self.doc, header).get("required"):
                assert name.lower() in response.headers, f"{where}: required header {name} missing"
        schema = content[content_type]["schema"]
        if content_type == "application/json":
            self.validate(schema, response.json(), where)
        elif content_type == "text/event-stream":
            # the schema of one event; its `data` is JSON of the schema event_data_schema finds
            event_schema = event_data_schema(self.doc, schema)
            assert event_schema is not None, f"{where}: the event schema states no schema of its data"
            for line in response.text.splitlines():
                if line.startswith("data:"):
                    self.validate(event_schema, json.loads(line[5:]), where + " (event)")
        self.checked += 1


def checking_client(app: MockApp, provider: str, checker: ContractChecker | None = None) -> httpx.AsyncClient:
    checker = checker or ContractChecker(app.model.document)

    async def hook(response: httpx.Response) -> None:
        await response.aread()
        checker.check(response.request.method, response.request.url.path, response)

    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=BASE,
        headers=auth_for(provider),
        event_hooks={"response": [hook]},
    )


MakeClient = Callable[..., httpx.AsyncClient]


@pytest_asyncio.fixture
async def make_client() -> AsyncIterator[Callable[..., tuple[MockApp, httpx.AsyncClient]]]:
    """``make_client(**MockConfig fields) -> (app, client)``: an in-process client, responses checked
    against the provider document of the profile."""
    clients: list[httpx.AsyncClient] = []

    def factory(**fields: Any) -> tuple[MockApp, httpx.AsyncClient]:
        document = fields.pop("document", None)
        config = MockConfig(**fields)
        app = create_app(config, document=document)
        client = checking_client(app, config.provider)
        clients.append(client)
        return app, client

    yield factory
    for client in clients:
        await client.aclose()


async def poll_until_completed(
    client: httpx.AsyncClient, status_url: str, limit: int = 100
) -> httpx.Response:
    for _ in range(limit):
        response = await client.get(status_url)
        if response.status_code == 200:
            return response
    raise AssertionError(f"{status_url} did not complete after {limit} polls")
