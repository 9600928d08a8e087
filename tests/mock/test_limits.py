"""Limits and robustness: body size (413), and never a 500 on any input (property-tested)."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kontext_contract.mock import MockConfig, create_app

from .conftest import EDIT, FAL_AUTH, MAX_MULTI, T2I


@pytest.mark.asyncio
async def test_body_over_the_limit_is_413(make_client):
    app, client = make_client(max_body_bytes=1000)
    body = {"prompt": "x" * 2000}
    for path in (f"/{T2I}", f"/run/{T2I}"):
        response = await client.post(path, json=body)
        assert response.status_code == 413
        assert "1000 bytes" in response.json()["detail"]
    assert app.mock.stats()["submits_total"] == 0


@pytest.mark.asyncio
async def test_streamed_body_over_the_limit_is_413(make_client):
    _app, client = make_client(max_body_bytes=1000)

    async def chunks():
        for _ in range(10):
            yield b"x" * 200

    response = await client.post(f"/{T2I}", content=chunks())  # no content-length: counted while read
    assert response.status_code == 413


@pytest.mark.asyncio
async def test_body_at_the_limit_is_accepted(make_client):
    _app, client = make_client(max_body_bytes=1000)
    body = json.dumps({"prompt": "x" * 900}).encode()
    assert (await client.post(f"/{T2I}", content=body)).status_code == 200


_ENDPOINT_PATHS = [f"/{T2I}", f"/{EDIT}", f"/{MAX_MULTI}", f"/run/{T2I}", f"/run/{EDIT}"]
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
_field_names = st.sampled_from(
    [
        "prompt",
        "image_url",
        "image_urls",
        "seed",
        "num_images",
        "output_format",
        "aspect_ratio",
        "sync_mode",
        "guidance_scale",
        "safety_tolerance",
        "enhance_prompt",
        "other",
    ]
)
_bodies = st.one_of(
    _json.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(_field_names, _json, max_size=6).map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=64),
    st.just(b"[" * 5000 + b"]" * 5000),
    st.just(b'{"prompt": "\\ud800", "image_url": "data:image/png;base64,iVBORw0KGgo="}'),
    st.just(b'{"prompt": "p", "seed": 123456789012345678901234567890, "guidance_scale": NaN}'),
)
_segment = st.text(alphabet=st.characters(codec="ascii", exclude_categories=("Cc",)), max_size=12)
_paths = st.one_of(
    st.sampled_from(_ENDPOINT_PATHS),
    st.lists(_segment, max_size=7).map(lambda parts: "/" + "/".join(parts)),
    st.tuples(
        st.sampled_from(["fal-ai/flux-pro", "a/b", "fal-ai/flux-pro/kontext"]),
        _segment,
        st.sampled_from(["", "/status", "/status/stream", "/cancel", "/x"]),
    ).map(lambda t: f"/{t[0]}/requests/{t[1]}{t[2]}"),
)
_headers = st.dictionaries(
    st.sampled_from(
        ["authorization", "x-fal-request-timeout", "content-type", "x-fal-queue-priority", "host"]
    ),
    st.text(alphabet=st.characters(codec="latin-1", exclude_categories=("Cc",)), max_size=30),
    max_size=3,
)
_methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
_queries = st.dictionaries(st.sampled_from(["logs", "fal_webhook", "x"]), st.text(max_size=20), max_size=2)


async def _asgi(app, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes, query: bytes):
    """Call the app with a raw ASGI scope: any path, header or body bytes, no client-side checks."""
    sent: list[dict] = []
    chunks = [body[i : i + 700] for i in range(0, len(body), 700)] or [b""]

    async def receive():
        if chunks:
            chunk = chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
        await asyncio.sleep(0)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    data = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), data


_APP = create_app(MockConfig(deterministic=True, max_requests=1000))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=_methods, path=_paths, headers=_headers, body=_bodies, query=_queries, authorized=st.booleans())
def test_never_a_500(method, path, headers, body, query, authorized):
    app = _APP
    raw_headers = [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]
    if authorized:
        raw_headers.append((b"authorization", FAL_AUTH["Authorization"].encode()))
    raw_query = "&".join(f"{k}={v}" for k, v in query.items()).encode("utf-8", "surrogateescape")

    async def go():
        answers = [await _asgi(app, method, path, raw_headers, body, raw_query)]
        status, _headers, data = answers[0]
        if status == 200 and method == "POST" and b"request_id" in data:
            urls = json.loads(data)
            auth = [(b"authorization", FAL_AUTH["Authorization"].encode())]
            for key in ("response_url", "status_url"):
                path_only = "/" + urls[key].split("://", 1)[-1].split("/", 1)[-1]
                answers.append(await _asgi(app, "GET", path_only, auth, b"", b"logs=1"))
                assert answers[-1][0] in (200, 202, 422), answers[-1]
        return answers

    for status, response_headers, data in asyncio.run(go()):
        assert status < 500, (method, path, status, data[:200])
        if response_headers.get(b"content-type") == b"application/json":
            json.loads(data)  # strict JSON: no NaN
