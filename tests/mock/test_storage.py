"""fal's storage, emulated (docs/mock.md "Storage", docs/sources.md §3.8): both upload flows of fal's clients,
the file served back and usable as an input image, and the hostile family of uploads: sizes, counts, names
(traversal, forged), expiry."""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest

from kontext_contract.mock import MockConfig, create_app

from .conftest import BASE, EDIT, FAL_AUTH, png_data_uri


def _png(width: int = 300, height: int = 200) -> bytes:
    return base64.b64decode(png_data_uri(width, height).split(",", 1)[1])


def _client(**fields) -> tuple:
    app = create_app(MockConfig(deterministic=True, **fields))
    return app, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, headers=FAL_AUTH)


async def _upload(
    client: httpx.AsyncClient, data: bytes, name: str = "fox.png", ctype: str = "image/png"
) -> str:
    started = await client.post(
        "/storage/upload/initiate",
        params={"storage_type": "gcs"},
        json={"file_name": name, "content_type": ctype},
    )
    assert started.status_code == 200, started.text
    put = await client.put(
        started.json()["upload_url"], content=data, headers={"content-type": ctype, "authorization": ""}
    )
    assert put.status_code == 200, put.text
    return str(started.json()["file_url"])


@pytest.mark.asyncio
async def test_initiate_put_then_the_file_is_served_and_is_an_input_image():
    app, client = _client()
    async with client:
        url = await _upload(client, _png(300, 200))
        assert url.startswith(BASE + "/_mock/storage/files/") and url.endswith("/fox.png")
        served = await client.get(url, headers={"authorization": ""})  # public, like fal's CDN
        assert served.status_code == 200 and served.content == _png(300, 200)
        assert served.headers["content-type"] == "image/png"
        submitted = (await client.post(f"/{EDIT}", json={"prompt": "p", "image_url": url})).json()
        await client.get(submitted["status_url"])
        result = await client.get(submitted["response_url"])
    assert result.status_code == 200
    image = result.json()["images"][0]
    assert (image["width"], image["height"]) == (1248, 832)  # the upload's 3:2
    assert app.mock.stats()["storage"]["uploaded"] == 1


@pytest.mark.asyncio
async def test_the_cdn_flow_of_fal_client_token_then_upload():
    _app, client = _client()
    async with client:
        token = (
            await client.post("/storage/auth/token", params={"storage_type": "fal-cdn-v3"}, json={})
        ).json()
        assert set(token) == {"token", "token_type", "base_url", "expires_at"}
        assert "mock-key" not in token["token"]  # derived from the key, never the key
        headers = {
            "authorization": f"{token['token_type']} {token['token']}",
            "content-type": "image/png",
            "x-fal-file-name": "a b.png",
        }
        answer = await client.post("/files/upload", content=_png(), headers=headers)
        assert answer.status_code == 200
        url = answer.json()["access_url"]
        assert (await client.get(url)).content == _png()
        forged = await client.post(
            "/files/upload", content=_png(), headers={**headers, "authorization": "Bearer nope"}
        )
        assert forged.status_code == 401
        unauthorized = await client.post(
            "/storage/upload/initiate",
            json={"file_name": "x", "content_type": "image/png"},
            headers={"authorization": ""},
        )
        assert unauthorized.status_code == 401


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "name",
    [
        "../etc/passwd",
        "a/b.png",
        "..",
        ".",
        "a\\b.png",
        "",
        "x" * 256,
        "a\x00.png",
        "a\r\nX-Evil: 1",
        "a\u2028b",
        5,
        None,
    ],
)
async def test_names_with_a_path_or_control_characters_are_refused(name):
    _app, client = _client()
    async with client:
        answer = await client.post(
            "/storage/upload/initiate", json={"file_name": name, "content_type": "image/png"}
        )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "file_name"]


@pytest.mark.asyncio
@pytest.mark.parametrize("ctype", ["", "png", "image/png\r\nx: y", "a/" + "b" * 300, 7])
async def test_bad_content_types_are_refused(ctype):
    _app, client = _client()
    async with client:
        answer = await client.post(
            "/storage/upload/initiate", json={"file_name": "a.png", "content_type": ctype}
        )
    assert answer.status_code == 422 or (ctype == "" and answer.status_code == 200)


@pytest.mark.asyncio
async def test_forged_and_traversing_file_urls_are_404():
    _app, client = _client()
    async with client:
        url = await _upload(client, _png())
        prefix, upload_id, name = url.rsplit("/", 2)
        for forged in (
            f"{prefix}/{upload_id}/other.png",
            f"{prefix}/{'0' * 32}/{name}",
            f"{prefix}/{upload_id}/..%2f{upload_id}%2f{name}",  # (a literal ../ is resolved by httpx already)
            f"{prefix}/{upload_id}/%2e%2e%2f{name}",
            f"{prefix}/{upload_id[:-1]}/{name}",
            f"{prefix}/{upload_id}/{name}/x",
            f"{BASE}/_mock/storage/upload/{upload_id}",
        ):
            assert (await client.get(forged)).status_code in (404, 405), forged
        for forged_input in (f"{prefix}/{upload_id}/other.png", f"{prefix}/{'0' * 32}/{name}"):
            submitted = (
                await client.post(f"/{EDIT}", json={"prompt": "p", "image_url": forged_input})
            ).json()
            await client.get(submitted["status_url"])
            result = await client.get(submitted["response_url"])
            assert result.status_code == 422 and result.json()["detail"][0]["loc"] == ["body", "image_url"]
        assert (await client.put(f"{BASE}/_mock/storage/upload/{'f' * 32}", content=b"x")).status_code == 404


@pytest.mark.asyncio
async def test_an_uploaded_non_image_or_bomb_is_a_422_within_the_decode_bounds():
    import io

    from PIL import Image

    _app, client = _client()
    buffer = io.BytesIO()
    Image.new("1", (8000, 8000)).save(buffer, format="PNG")  # 64 MP claimed in a small file
    async with client:
        for data, kind in ((b"not an image", "image_load_error"), (buffer.getvalue(), "image_too_large")):
            url = await _upload(client, data)
            submitted = (await client.post(f"/{EDIT}", json={"prompt": "p", "image_url": url})).json()
            await client.get(submitted["status_url"])
            result = await client.get(submitted["response_url"])
            assert result.status_code == 422 and result.json()["detail"][0]["type"] == kind


@pytest.mark.asyncio
async def test_sizes_are_bounded():
    _app, client = _client(max_upload_bytes=1000)
    async with client:
        started = (
            await client.post(
                "/storage/upload/initiate", json={"file_name": "a.png", "content_type": "image/png"}
            )
        ).json()
        too_big = await client.put(started["upload_url"], content=b"x" * 1001)
        assert too_big.status_code == 413
        token = (await client.post("/storage/auth/token", json={})).json()["token"]
        cdn = await client.post(
            "/files/upload", content=b"x" * 1001, headers={"authorization": f"Bearer {token}"}
        )
        assert cdn.status_code == 413
        assert (await client.put(started["upload_url"], content=b"x" * 1000)).status_code == 200


@pytest.mark.asyncio
async def test_counts_and_bytes_are_bounded_oldest_dropped_first():
    app, client = _client(max_uploads=3, max_upload_store_bytes=2500)
    async with client:
        urls = [
            await _upload(client, bytes([i]) * 1000, f"{i}.bin", "application/octet-stream") for i in range(4)
        ]
        statuses = [(await client.get(u)).status_code for u in urls]
        stats = app.mock.stats()["storage"]
    assert statuses == [404, 404, 200, 200]  # 2500 bytes hold two files of 1000
    assert stats["files"] <= 3 and stats["bytes"] <= 2500 and stats["dropped"] == 2


@pytest.mark.asyncio
async def test_files_expire_with_the_request_ttl():
    app, client = _client(request_ttl=5.0)
    async with client:
        url = await _upload(client, _png())
        assert (await client.get(url)).status_code == 200
        app.mock.advance(6.0)
        assert (await client.get(url)).status_code == 404
    assert app.mock.stats()["storage"]["expired"] == 1


@pytest.mark.asyncio
async def test_storage_answers_never_500_for_random_bodies():
    _app, client = _client()
    async with client:
        for body in (b"", b"{", b"[]", b'"x"', b'{"file_name": {"a": 1}}', b"\xff" * 10, b"[" * 5000):
            answer = await client.post(
                "/storage/upload/initiate", content=body, headers={"content-type": "application/json"}
            )
            assert answer.status_code == 422, body[:20]
        assert (await client.get("/storage/upload/initiate")).status_code == 405
    await asyncio.sleep(0)
