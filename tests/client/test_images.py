"""Image helpers: data: URIs in, checked bytes and files out."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from PIL import Image

from kontext_contract.client import (
    Endpoint,
    GeneratedImage,
    ImageContentError,
    ImageFile,
    Provider,
    check_image_bytes,
    decode_data_uri,
    image_content_type,
    to_data_uri,
)

from .conftest import Clients, do, mock_app


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (4, 3), (255, 0, 0, 128)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_data_uri_from_path_bytes_and_pillow(tmp_path: Path) -> None:
    data = png_bytes()
    path = tmp_path / "red.png"
    path.write_bytes(data)
    from_path = to_data_uri(path)
    assert from_path.startswith("data:image/png;base64,")
    assert to_data_uri(data) == from_path == to_data_uri(str(path))
    assert decode_data_uri(from_path) == ("image/png", data)
    jpeg = to_data_uri(Image.new("RGBA", (4, 4)), format="JPEG")  # RGBA is converted for JPEG
    kind, raw = decode_data_uri(jpeg)
    assert kind == "image/jpeg" and image_content_type(raw) == "image/jpeg"


def test_mismatches_and_garbage_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageContentError, match="declared image/jpeg but its bytes are image/png"):
        check_image_bytes(png_bytes(), "image/jpeg")
    with pytest.raises(ImageContentError):
        to_data_uri(b"not an image")
    with pytest.raises(ImageContentError):
        to_data_uri(png_bytes()[:40])  # truncated
    with pytest.raises(ImageContentError):
        decode_data_uri("https://example.com/a.png")
    with pytest.raises(FileNotFoundError):
        to_data_uri(tmp_path / "missing.png")
    assert check_image_bytes(png_bytes(), "image/png; charset=binary") == "image/png"


@pytest.mark.asyncio
async def test_a_data_uri_input_goes_through_the_mock(clients: Clients, tmp_path: Path) -> None:
    app = mock_app()
    async with clients.on_mock(app) as client:
        out = await do(
            client.subscribe(Endpoint.KONTEXT, {"prompt": "edit", "image_url": to_data_uri(png_bytes())})
        )
        image = out.images[0]
        assert isinstance(image, ImageFile)
        data = await do(client.download_image(image))
        assert image_content_type(data) == image.content_type
        saved = await do(client.save_image(image, tmp_path / "edit"))
        assert saved.suffix == ".jpg" and saved.read_bytes() == data
        named = await do(client.save_image(image, tmp_path / "named.jpeg"))
        assert named.name == "named.jpeg"


@pytest.mark.asyncio
async def test_download_checks_the_declared_type(clients: Clients, tmp_path: Path) -> None:
    app = mock_app()
    async with clients.on_mock(app) as client:
        out = await do(
            client.subscribe(Endpoint.KONTEXT_MULTI, {"prompt": "x", "image_urls": ["https://e.x/a"]})
        )
        image = out.images[0]
        assert isinstance(image, GeneratedImage)
        assert image_content_type(await do(client.download_image(image))) == "image/jpeg"
        lying = GeneratedImage(url=image.url, width=1, height=1, content_type="image/png")
        with pytest.raises(ImageContentError):
            await do(client.download_image(lying))
        assert len(await do(client.download_image(lying, check=False))) > 0
        path = await do(client.save_image({"url": to_data_uri(png_bytes())}, tmp_path / "x"))
        assert path.suffix == ".png"
        with pytest.raises(ImageContentError):  # a data: URI is checked too
            await do(client.download_image("data:image/jpeg;base64,aGVsbG8="))


@pytest.mark.asyncio
async def test_a_failed_download_is_an_api_error(clients: Clients) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"detail": "gone"})

    from kontext_contract.client import NotFoundError

    async with clients.over(handler, Provider.fal(key="i:s")) as client:
        with pytest.raises(NotFoundError, match="download"):
            await do(client.download_image("https://v3.fal.media/files/x.jpg"))
