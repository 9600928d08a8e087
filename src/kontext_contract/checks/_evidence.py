"""The output images a run saw, kept small for the HTML report (``--report-html``).

For each image the queue scenarios downloaded (``main``, ``repeat``, ``sync_mode``): what the provider
returned (decoded format and pixel size, the ``content_type`` it stated, the bytes' SHA-256) beside what the
contract implies for the input sent (the asked ``aspect_ratio`` and ``output_format``), and a thumbnail (at
most :data:`THUMBNAIL_SIDE` pixels a side, in the image's own format) for the page. The full bytes are not
kept.
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass
from typing import Any

from ._inputs import ratio_of

__all__ = ["THUMBNAIL_SIDE", "ImageEvidence", "collect_images"]

#: the longest side of a thumbnail in the HTML report, pixels
THUMBNAIL_SIDE = 384


@dataclass(frozen=True)
class ImageEvidence:
    """One output image and what the contract implies for it.

    Attributes:
        endpoint: the endpoint id.
        scenario: ``main``, ``repeat`` or ``sync_mode``.
        index: its place in ``images``.
        url: where it came from, as the evidence shows it (a path on the base URL, or a ``data:`` head).
        size_bytes: its size, bytes.
        sha256: its bytes' SHA-256 (hex).
        decoded: the MIME type its bytes decode as, or None.
        width, height: its pixel size, or None.
        stated_type: the ``content_type`` the output states for it, or None.
        asked_aspect: the ``aspect_ratio`` sent, or None.
        asked_format: the ``output_format`` sent, or None.
        thumbnail: a ``data:`` URI of a small copy, or None (not decodable).
        error: why it could not be read, or None.
    """

    endpoint: str
    scenario: str
    index: int
    url: str
    size_bytes: int
    sha256: str
    decoded: str | None
    width: int | None
    height: int | None
    stated_type: str | None
    asked_aspect: str | None
    asked_format: str | None
    thumbnail: str | None
    error: str | None

    @property
    def expected_ratio(self) -> float | None:
        """width/height the asked ``aspect_ratio`` implies."""
        return ratio_of(self.asked_aspect) if self.asked_aspect else None

    @property
    def ratio(self) -> float | None:
        return self.width / self.height if self.width and self.height else None


def _thumbnail(data: bytes) -> tuple[str | None, str | None, tuple[int, int] | None, str | None]:
    """(data URI of a thumbnail, decoded MIME type, pixel size, error)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            size = (int(img.width), int(img.height))
            fmt = img.format or "PNG"
            mime = Image.MIME.get(fmt, "image/png")
            copy = img.copy()
    except Exception as exc:  # Pillow's own errors: not an image
        return None, None, None, f"not a readable image ({exc})"
    copy.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    if fmt not in ("PNG", "JPEG", "WEBP", "GIF"):
        fmt, mime = "PNG", "image/png"
    if fmt == "JPEG" and copy.mode not in ("RGB", "L"):
        copy = copy.convert("RGB")
    out = io.BytesIO()
    copy.save(out, format=fmt)
    return f"data:{mime};base64,{base64.b64encode(out.getvalue()).decode('ascii')}", mime, size, None


def collect_images(data: dict[tuple[str, str | None], Any]) -> tuple[list[ImageEvidence], int]:
    """The images of the queue scenarios in ``data`` (``RunState.data``), and how many output images were
    fetched or decoded in all (a live provider bills the images it makes, fetched or not)."""
    from ._scenarios import QueueRun

    found: list[ImageEvidence] = []
    downloaded = 0
    for (scenario, endpoint), value in data.items():
        if not isinstance(value, QueueRun) or endpoint is None:
            continue
        downloaded += sum(1 for d in value.images if not d.error)
        if scenario not in ("main", "repeat", "sync_mode"):
            continue
        items = []
        if value.result is not None and isinstance(value.result.body, dict):
            items = [i for i in value.result.body.get("images") or [] if isinstance(i, dict)]
        for index, download in enumerate(value.images):
            item = items[index] if index < len(items) else {}
            thumb, mime, size, error = (None, None, None, download.error)
            if not download.error:
                thumb, mime, size, error = _thumbnail(download.data)
            stated = item.get("content_type")
            found.append(
                ImageEvidence(
                    endpoint=endpoint,
                    scenario=scenario,
                    index=index,
                    url=download.url,
                    size_bytes=len(download.data),
                    sha256=hashlib.sha256(download.data).hexdigest(),
                    decoded=mime,
                    width=size[0] if size else None,
                    height=size[1] if size else None,
                    stated_type=stated if isinstance(stated, str) else None,
                    asked_aspect=value.plan.aspect_ratio if value.plan else None,
                    asked_format=value.plan.output_format if value.plan else None,
                    thumbnail=thumb,
                    error=error,
                )
            )
    return found, downloaded
