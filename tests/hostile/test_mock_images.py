"""The mock against hostile images: bombs of every decoder family are refused from their header with a
422 naming the field, before any pixel is decoded; forged file names never make it draw more than it
makes itself; decodes and renders are bounded process-wide."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from kontext_contract.mock import MockConfig, create_app
from kontext_contract.mock import _images as images

from .conftest import EDIT, FAMILIES, MULTI, bomb, data_uri, encoded, real_image

KEY = {"Authorization": "Key mock-key-id:mock-key-secret"}
BASE = "http://mock.test"


async def run(body: dict[str, Any], endpoint: str = EDIT) -> httpx.Response:
    app = create_app(MockConfig(deterministic=True))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        return await client.post(f"/run/{endpoint}", json=body, headers=KEY)


async def queued_result(body: dict[str, Any], endpoint: str = EDIT) -> tuple[int, Any, Any]:
    """(result status, result body, status body) of a queue submit."""
    app = create_app(MockConfig(deterministic=True))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        submitted = (await client.post(f"/{endpoint}", json=body, headers=KEY)).json()
        status = (await client.get(submitted["status_url"], headers=KEY)).json()
        result = await client.get(submitted["response_url"], headers=KEY)
        return result.status_code, result.json(), status


@pytest.mark.asyncio
@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("size", [(8000, 8000), (16384, 16384), (4097, 4097), (60000, 300)])
async def test_a_bomb_of_every_family_is_refused_from_its_header(family: str, size: tuple[int, int]) -> None:
    width, height = size
    if family == "webp" and width > 16384:  # VP8L holds at most 16384 per side
        width, height = 16384, 1025
    uri = bomb(family, width, height)
    assert len(uri) < 2000  # a few hundred bytes claim millions of pixels
    response = await run({"prompt": "p", "image_url": uri})
    assert response.status_code == 422, response.text
    (item,) = response.json()["detail"]
    assert item["loc"] == ["body", "image_url"]
    assert item["type"] == "image_too_large"
    if width * height > 2 * (images.Image.MAX_IMAGE_PIXELS or 0):  # refused by Pillow's guard at open
        assert item["ctx"] == {"max_pixels": images.MAX_INPUT_PIXELS}
    else:
        assert f"{width}x{height}" in item["msg"]
        assert item["ctx"] == {"max_pixels": images.MAX_INPUT_PIXELS, "width": width, "height": height}


@pytest.mark.asyncio
async def test_a_bomb_in_image_urls_names_its_index_in_the_queue_result_and_status() -> None:
    ok = real_image("png", 32, 32)
    code, body, status = await queued_result(
        {"prompt": "p", "image_urls": [ok, bomb("png", 8000, 8000), ok, bomb("gif", 30000, 30000)]}, MULTI
    )
    assert code == 422
    assert [(d["loc"], d["type"]) for d in body["detail"]] == [
        (["body", "image_urls", 1], "image_too_large"),
        (["body", "image_urls", 3], "image_too_large"),
    ]
    assert status["status"] == "COMPLETED" and "error" in status


def test_the_header_decides_before_any_pixel_is_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bomb never reaches ``load()``: refused while the image is only opened."""
    from PIL import ImageFile

    loads: list[str] = []
    original = ImageFile.ImageFile.load

    def spy(self: Any) -> Any:
        loads.append(self.format or "?")
        return original(self)

    bombs = {family: bomb(family, 9000, 9000) for family in FAMILIES}
    small = real_image("png", 64, 48)
    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    for uri in bombs.values():
        with pytest.raises(images.InputImageError) as caught:
            images.decode_data_uri(uri)
        assert caught.value.kind == "image_too_large"
    assert loads == []
    images.decode_data_uri(small)
    assert loads  # a small image is decoded in full (a truncated one must fail)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_an_image_within_the_budget_is_decoded_and_a_truncated_one_refused(family: str) -> None:
    uri = real_image(family, 48, 32)
    assert images.decode_data_uri(uri) == (48, 32)
    raw = encoded(images.Image.new("RGB", (256, 256), (9, 9, 9)), "PNG" if family != "jpeg" else "JPEG")
    with pytest.raises(images.InputImageError) as caught:
        images.decode_data_uri(data_uri(raw[: len(raw) // 2]))
    assert caught.value.kind == "image_load_error"


@pytest.mark.parametrize(
    ("fmt", "options"),
    [("TIFF", {}), ("PPM", {}), ("ICO", {}), ("TGA", {}), ("PCX", {}), ("SGI", {})],
)
def test_formats_the_mock_does_not_decode_are_refused_by_name(fmt: str, options: dict[str, Any]) -> None:
    raw = encoded(images.Image.new("RGB", (16, 16)), fmt, **options)
    with pytest.raises(images.InputImageError, match="JPEG, PNG") as caught:
        images.decode_data_uri(data_uri(raw, "image/x"))
    assert caught.value.kind == "image_load_error"


@pytest.mark.parametrize(
    "payload",
    [
        "data:image/png;base64,",
        "data:image/png;base64,!!!",
        "data:image/png,plain",
        "data:,",
        "data:image/png;base64," + "A" * 64,
        "data:image/png;base64," + encoded(images.Image.new("RGB", (1, 1)), "PNG").hex(),
    ],
)
@pytest.mark.asyncio
async def test_bad_data_uris_are_422_naming_the_field(payload: str) -> None:
    response = await run({"prompt": "p", "image_url": payload})
    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert item["loc"] == ["body", "image_url"] and item["type"] == "image_load_error"
    assert len(item["input"]) <= 67  # never the whole payload


def test_concurrent_decodes_stay_within_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """12 threads decode 4096x4096 images (64 MB of pixels each): the budget admits one at a time."""
    seen: list[int] = []
    budget = images._DECODES
    original = budget.hold

    def watching(amount: int) -> Any:
        manager = original(amount)

        class Watch:
            def __enter__(self) -> None:
                manager.__enter__()
                seen.append(budget.used)

            def __exit__(self, *exc: Any) -> None:
                manager.__exit__(*exc)

        return Watch()

    monkeypatch.setattr(budget, "hold", watching)
    uri = real_image("png", 4096, 4096)
    errors: list[BaseException] = []

    def decode() -> None:
        try:
            assert images.decode_data_uri(uri) == (4096, 4096)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=decode) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(seen) == 12
    assert max(seen) <= images.DECODE_BUDGET_BYTES
    assert max(seen) == 4096 * 4096 * 4  # never two of them at once
    assert budget.used == 0


# ---- forged file names ------------------------------------------------------------------------------


def _sizes_the_mock_makes() -> set[tuple[int, int]]:
    out = set()
    for w in range(1, 40):
        for h in range(1, 40):
            out.add(images.size_for_ratio(w, h))
    return out


def test_every_size_the_mock_makes_is_a_valid_name_and_nothing_larger() -> None:
    for width, height in _sizes_the_mock_makes():
        assert width * height <= images.MAX_OUTPUT_PIXELS
        assert images.parse_name(f"{width}x{height}-1-0-0123456789abcdef.png") is not None


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "name",
    [
        "4096x4096-1-0-0123456789abcdef.png",  # the old limit: 16.7 MP, 660 MB for 10 requests
        "4096x1024-1-0-0123456789abcdef.jpg",
        "1184x1184-1-0-0123456789abcdef.png",  # just over MAX_OUTPUT_PIXELS
        "99999x99999-1-0-0123456789abcdef.png",
        "8x8-1-0-0123456789abcdef.png",
        "1024x1024-1-0-0123456789abcdef.tiff",
        "1024x1024-1-0-0123456789abcdef.eps",
        "1024x1024-1-0-0123456789abcdef",
        "1024x1024-1-0-0123456789ABCDEF.png",
        "1024x1024-1-10-0123456789abcdef.png",
        "..%2F..%2Fetc%2Fpasswd",
        "1024x1024-1-0-0123456789abcdef.png/../../x",
        "1024x1024-" + "9" * 400 + "-0-0123456789abcdef.png",
        "%00",
    ],
)
async def test_forged_file_names_are_404(name: str) -> None:
    app = create_app(MockConfig())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        response = await client.get(f"/_mock/files/{name}")
    assert response.status_code == 404
    assert response.json()["detail"] in ("No such file", "Not Found")


@pytest.mark.asyncio
async def test_a_forged_own_file_url_as_input_is_422() -> None:
    response = await run(
        {"prompt": "p", "image_url": f"{BASE}/_mock/files/4096x4096-1-0-0123456789abcdef.png"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "image_url"]


def test_renders_are_bounded_process_wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """16 threads ask for 16 different files: at most MAX_RENDERS are drawn at once."""
    active = 0
    most = 0
    lock = threading.Lock()
    original = images.render

    def counting(spec: images.ImageSpec) -> bytes:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        try:
            return original(spec)
        finally:
            with lock:
                active -= 1

    monkeypatch.setattr(images, "render", counting)
    cache = images.FileCache(capacity=4, max_bytes=1_000_000)
    specs = [images.ImageSpec(1024, 1024, seed, 0, "0123456789abcdef", "png") for seed in range(16)]
    threads = [threading.Thread(target=cache.get, args=(spec,)) for spec in specs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 1 <= most <= images.MAX_RENDERS
    assert cache._bytes <= 1_000_000 or len(cache._items) == 1
