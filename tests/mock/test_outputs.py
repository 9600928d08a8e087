"""Real outputs (docs/sources.md §3.3): images whose bytes, format and size follow the input; input images."""

from __future__ import annotations

import base64
import io
import socket

import pytest
from PIL import Image

from .conftest import EDIT, MAX_MULTI, T2I, png_data_uri, provider_document

pytestmark = pytest.mark.asyncio


def _aspect_ratios() -> list[str]:
    return list(provider_document("fal")["components"]["schemas"]["AspectRatio"]["enum"])


async def _run(client, endpoint: str, body: dict) -> dict:
    response = await client.post(f"/run/{endpoint}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def _image(client, url: str) -> tuple[Image.Image, bytes, str]:
    if url.startswith("data:"):
        header, _, payload = url.partition(",")
        data = base64.b64decode(payload)
        content_type = header[5:].split(";")[0]
    else:
        response = await client.get(url)
        assert response.status_code == 200
        data, content_type = response.content, response.headers["content-type"]
    image = Image.open(io.BytesIO(data))
    image.load()
    return image, data, content_type


@pytest.mark.parametrize("ratio", _aspect_ratios())
async def test_size_follows_aspect_ratio_about_one_megapixel(make_client, ratio):
    _app, client = make_client()
    output = await _run(client, T2I, {"prompt": "p", "aspect_ratio": ratio, "seed": 1})
    item = output["images"][0]
    a, b = (int(x) for x in ratio.split(":"))
    assert item["width"] / item["height"] == pytest.approx(a / b, rel=0.06)
    assert 0.9e6 < item["width"] * item["height"] < 1.2e6
    assert item["width"] % 32 == 0 and item["height"] % 32 == 0
    image, _data, _ = await _image(client, item["url"])
    assert image.size == (item["width"], item["height"])


@pytest.mark.parametrize(
    ("fmt", "pil", "mime"), [("jpeg", "JPEG", "image/jpeg"), ("png", "PNG", "image/png")]
)
async def test_bytes_match_output_format_and_content_type(make_client, fmt, pil, mime):
    _app, client = make_client()
    output = await _run(
        client, EDIT, {"prompt": "p", "image_url": "https://example.com/x.png", "output_format": fmt}
    )
    item = output["images"][0]
    assert item["content_type"] == mime
    image, data, served_type = await _image(client, item["url"])
    assert image.format == pil and served_type == mime
    assert item["file_size"] == len(data)  # ImageFile carries file_size on the edit endpoints


async def test_edit_items_are_image_files_and_others_generated_images(make_client):
    _app, client = make_client()
    edit = await _run(client, EDIT, {"prompt": "p", "image_url": "https://example.com/x.png"})
    multi = await _run(client, MAX_MULTI, {"prompt": "p", "image_urls": ["https://example.com/x.png"]})
    doc = provider_document("fal")["components"]["schemas"]
    assert set(edit["images"][0]) <= set(doc["ImageFile"]["properties"])
    assert "file_size" in edit["images"][0]
    assert set(multi["images"][0]) == set(doc["GeneratedImage"]["properties"])


async def test_num_images_and_per_image_fields(make_client):
    _app, client = make_client()
    output = await _run(client, T2I, {"prompt": "three", "num_images": 3, "seed": 7})
    assert len(output["images"]) == 3
    assert output["has_nsfw_concepts"] == [False, False, False]
    assert output["prompt"] == "three" and output["seed"] == 7
    assert set(output["timings"]) == {"inference"}
    blobs = [(await _image(client, item["url"]))[1] for item in output["images"]]
    assert len(set(blobs)) == 3


async def test_same_seed_and_input_same_bytes_across_instances(make_client):
    outputs = []
    for _ in range(2):
        _app, client = make_client()  # independent mocks, random ids
        output = await _run(client, T2I, {"prompt": "stable", "seed": 42, "aspect_ratio": "4:3"})
        outputs.append((await _image(client, output["images"][0]["url"]))[1])
    assert outputs[0] == outputs[1]
    _app, client = make_client()
    other = await _run(client, T2I, {"prompt": "stable", "seed": 43, "aspect_ratio": "4:3"})
    assert (await _image(client, other["images"][0]["url"]))[1] != outputs[0]
    changed = await _run(client, T2I, {"prompt": "other prompt", "seed": 42, "aspect_ratio": "4:3"})
    assert (await _image(client, changed["images"][0]["url"]))[1] != outputs[0]


async def test_random_seed_is_reported_and_reproduces(make_client):
    _app, client = make_client()
    first = await _run(client, T2I, {"prompt": "random"})
    second = await _run(client, T2I, {"prompt": "random"})
    assert isinstance(first["seed"], int) and first["seed"] != second["seed"]
    again = await _run(client, T2I, {"prompt": "random", "seed": first["seed"]})
    assert again["images"][0]["url"] == first["images"][0]["url"]


async def test_sync_mode_returns_data_uris(make_client):
    _app, client = make_client()
    output = await _run(
        client,
        EDIT,
        {"prompt": "p", "image_url": png_data_uri(64, 64), "sync_mode": True, "output_format": "png"},
    )
    url = output["images"][0]["url"]
    assert url.startswith("data:image/png;base64,")
    image, data, _ = await _image(client, url)
    assert image.format == "PNG" and output["images"][0]["file_size"] == len(data)


async def test_sync_mode_through_the_queue(make_client):
    _app, client = make_client()
    submitted = (await client.post(f"/{T2I}", json={"prompt": "p", "sync_mode": True})).json()
    result = (await client.get(submitted["response_url"])).json()
    assert result["images"][0]["url"].startswith("data:image/jpeg;base64,")


async def test_edit_without_aspect_ratio_follows_data_uri_input(make_client):
    _app, client = make_client()
    output = await _run(client, EDIT, {"prompt": "p", "image_url": png_data_uri(600, 300)})
    item = output["images"][0]
    assert item["width"] / item["height"] == pytest.approx(2.0, rel=0.06)


async def test_multi_follows_first_input_with_known_size(make_client):
    _app, client = make_client()
    urls = ["https://example.com/unknown.png", png_data_uri(300, 900, "JPEG")]
    output = await _run(client, MAX_MULTI, {"prompt": "p", "image_urls": urls})
    item = output["images"][0]
    assert item["width"] / item["height"] == pytest.approx(1 / 3, rel=0.08)


async def test_edit_accepts_the_mocks_own_file_and_uses_its_ratio(make_client):
    _app, client = make_client()
    first = await _run(client, T2I, {"prompt": "p", "aspect_ratio": "9:16"})
    edit = await _run(client, EDIT, {"prompt": "edit it", "image_url": first["images"][0]["url"]})
    item = edit["images"][0]
    assert item["width"] / item["height"] == pytest.approx(9 / 16, rel=0.06)


async def test_own_url_to_missing_file_is_422(make_client):
    _app, client = make_client()
    response = await client.post(
        f"/run/{EDIT}", json={"prompt": "p", "image_url": "http://testserver/_mock/files/nope.png"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "image_url"]


async def test_other_urls_are_accepted_and_never_fetched(make_client):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        _app, client = make_client()
        output = await _run(client, EDIT, {"prompt": "p", "image_url": f"http://127.0.0.1:{port}/secret.png"})
        item = output["images"][0]
        assert (item["width"], item["height"]) == (1024, 1024)  # unknown size: 1:1
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected: the mock never fetched the URL (no SSRF)
    finally:
        listener.close()


@pytest.mark.parametrize(
    "uri",
    [
        "data:image/png;base64,AAAA",
        "data:image/png;base64,not base64!",
        "data:image/png,rawdata",
        "data:;base64,",
        png_data_uri(32, 32)[:-40],  # truncated
    ],
)
async def test_bad_data_uri_is_422_naming_the_field(make_client, uri):
    _app, client = make_client()
    response = await client.post(f"/run/{EDIT}", json={"prompt": "p", "image_url": uri})
    assert response.status_code == 422
    assert [item["loc"] for item in response.json()["detail"]] == [["body", "image_url"]]
    assert len(response.json()["detail"][0]["input"]) <= 80  # long inputs are not echoed whole


async def test_bad_data_uri_in_multi_names_the_index(make_client):
    _app, client = make_client()
    urls = [png_data_uri(16, 16), "data:image/png;base64,AAAA"]
    response = await client.post(f"/run/{MAX_MULTI}", json={"prompt": "p", "image_urls": urls})
    assert response.status_code == 422
    assert [item["loc"] for item in response.json()["detail"]] == [["body", "image_urls", 1]]


@pytest.mark.parametrize(
    "name", ["nope.png", "99999x99999-1-0-0123456789abcdef.jpg", "1024x1024-1-0-0123456789abcdef.exe"]
)
async def test_unknown_or_oversized_file_names_are_404(make_client, name):
    _app, client = make_client()
    response = await client.get(f"/_mock/files/{name}")
    assert response.status_code == 404


async def test_file_head(make_client):
    _app, client = make_client()
    output = await _run(client, T2I, {"prompt": "p"})
    response = await client.head(output["images"][0]["url"])
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert int(response.headers["content-length"]) > 1000
