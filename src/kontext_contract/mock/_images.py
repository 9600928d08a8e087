"""Real images with Pillow, made on demand from a file name so that nothing is kept per request.

A file name says everything needed to draw the image again: ``{w}x{h}-{seed}-{index}-{digest}.{ext}``
(``digest``: 16 hex digits of the prompt and inputs). The same name always gives the same bytes, so the
output of a request is reproducible from its seed and input, and 100,000 requests keep no pixels.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import math
import random
import re
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass

from PIL import Image, ImageDraw

__all__ = [
    "ImageSpec",
    "InputImageError",
    "decode_data_uri",
    "encode_image",
    "extension_for",
    "mime_for",
    "parse_name",
    "render",
    "size_for_ratio",
]

#: about one megapixel, like FLUX (FACTS.md §3.3); sides are multiples of 32 pixels
TARGET_PIXELS = 1024 * 1024
_STEP = 32
#: the largest side the mock draws or accepts in a file name, pixels
MAX_SIDE = 4096

#: the formats the mock writes (the contract's output_format values should be among them)
_FORMATS = ("JPEG", "PNG", "WEBP")
_NAME = re.compile(r"^(\d{2,4})x(\d{2,4})-(\d{1,20})-([0-9])-([0-9a-f]{16})\.([a-z0-9]{2,5})$")


def size_for_ratio(width: float, height: float) -> tuple[int, int]:
    """Width and height in pixels, multiples of 32 near one megapixel, for the ratio ``width:height``
    (e.g. 1:1 -> 1024x1024, 16:9 -> 1376x768, 21:9 -> 1568x672).

    Raises:
        ValueError: a side that is not a positive finite number.
    """
    if not (width > 0 and height > 0 and math.isfinite(width) and math.isfinite(height)):
        raise ValueError(f"not a ratio: {width}:{height}")
    ratio = min(max(width / height, 1 / 16), 16)
    w = max(_STEP, round(math.sqrt(TARGET_PIXELS * ratio) / _STEP) * _STEP)
    h = max(_STEP, round(math.sqrt(TARGET_PIXELS / ratio) / _STEP) * _STEP)
    return min(w, MAX_SIDE), min(h, MAX_SIDE)


def _pil_format(output_format: str) -> str:
    fmt = output_format.upper()
    return "JPEG" if fmt == "JPG" else fmt


def mime_for(output_format: str) -> str:
    """The MIME type Pillow knows for an output format (``jpeg`` -> ``image/jpeg``)."""
    Image.init()
    return Image.MIME.get(_pil_format(output_format), f"image/{output_format.lower()}")


def extension_for(output_format: str) -> str:
    """A file extension (no dot) for an output format (``jpeg`` -> ``jpg``, ``png`` -> ``png``)."""
    fmt = _pil_format(output_format)
    if fmt == "JPEG":
        return "jpg"
    Image.init()
    for ext, name in Image.registered_extensions().items():
        if name == fmt:
            return ext.lstrip(".")
    return output_format.lower()


def _format_of_extension(ext: str) -> str | None:
    Image.init()
    return Image.registered_extensions().get("." + ext)


@dataclass(frozen=True)
class ImageSpec:
    """What an output image file is: size in pixels, seed, index in the output, input digest, format."""

    width: int
    height: int
    seed: int
    index: int
    digest: str
    extension: str

    @property
    def name(self) -> str:
        return f"{self.width}x{self.height}-{self.seed}-{self.index}-{self.digest}.{self.extension}"

    @property
    def pil_format(self) -> str:
        return _format_of_extension(self.extension) or "JPEG"

    @property
    def content_type(self) -> str:
        return Image.MIME.get(self.pil_format, "application/octet-stream")


def parse_name(name: str) -> ImageSpec | None:
    """The spec of a file name made by :attr:`ImageSpec.name`, or None if it is not one (or too large)."""
    match = _NAME.match(name)
    if not match:
        return None
    w, h, seed, index, digest, ext = match.groups()
    width, height = int(w), int(h)
    if (
        not (16 <= width <= MAX_SIDE and 16 <= height <= MAX_SIDE)
        or _format_of_extension(ext) not in _FORMATS
    ):
        return None
    return ImageSpec(width, height, int(seed), int(index), digest, ext)


def render(spec: ImageSpec) -> bytes:
    """Draw and encode the image of ``spec``: a gradient and a few shapes chosen by a generator seeded
    with the seed, index and digest. Deterministic: the same spec gives the same bytes."""
    rng = random.Random(f"{spec.seed}:{spec.index}:{spec.digest}")
    w, h = spec.width, spec.height
    c1 = tuple(rng.randrange(256) for _ in range(3))
    c2 = tuple(rng.randrange(256) for _ in range(3))
    # a vertical gradient from c1 to c2, made small then resized (fast)
    strip = Image.new("RGB", (1, 256))
    strip.putdata(
        [tuple(int(a + (b - a) * y / 255) for a, b in zip(c1, c2, strict=True)) for y in range(256)]
    )
    image = strip.resize((w, h))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randrange(4, 9)):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = min(w, x0 + rng.randrange(w // 8, w // 2)), min(h, y0 + rng.randrange(h // 8, h // 2))
        fill = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=fill)
    return encode_image(image, spec.pil_format)


def encode_image(image: Image.Image, pil_format: str) -> bytes:
    """Encode ``image`` as ``pil_format`` (``JPEG`` quality 90, ``PNG`` fast compression)."""
    buffer = io.BytesIO()
    if pil_format == "JPEG":
        image.convert("RGB").save(buffer, format="JPEG", quality=90)
    elif pil_format == "PNG":
        image.save(buffer, format="PNG", compress_level=1)
    else:
        image.save(buffer, format=pil_format)
    return buffer.getvalue()


class FileCache:
    """A small LRU of rendered files (a few megabytes), so a result and the download that follows it
    draw the image once. Thread-safe: rendering runs in worker threads."""

    def __init__(self, capacity: int = 16) -> None:
        self._capacity = capacity
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, spec: ImageSpec) -> bytes:
        """The bytes of ``spec``'s file, rendered if not cached."""
        key = spec.name
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
                return data
        data = render(spec)
        with self._lock:
            self._items[key] = data
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return data


class InputImageError(ValueError):
    """An input image that cannot be decoded; ``reason`` is short and never contains the data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: the most pixels of an input image the mock decodes (Pillow's decompression bomb guard is 89 MP)
MAX_INPUT_PIXELS = 64 * 1024 * 1024


def decode_data_uri(uri: str) -> tuple[int, int]:
    """Decode a base64 ``data:`` URI and check it is an image Pillow reads fully.

    Returns:
        (width, height) in pixels.

    Raises:
        InputImageError: not base64, not an image, truncated, or larger than MAX_INPUT_PIXELS.
    """
    header, sep, payload = uri.partition(",")
    if not sep or not header.lower().startswith("data:"):
        raise InputImageError("not a data: URI (expected data:<type>;base64,<data>)")
    if not header.lower().endswith(";base64"):
        raise InputImageError("the data: URI is not base64-encoded")
    try:
        raw = base64.b64decode(payload.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InputImageError("the data: URI is not valid base64") from None
    if not raw:
        raise InputImageError("the data: URI is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as image:
                width, height = image.size
                if width * height > MAX_INPUT_PIXELS:
                    raise InputImageError(f"the image is too large ({width}x{height} pixels)")
                image.draft("RGB", (64, 64))  # JPEG: decode at a fraction of the size, still every byte
                image.load()
    except InputImageError:
        raise
    except Exception:
        raise InputImageError("the data: URI is not an image Pillow can read") from None
    if width <= 0 or height <= 0:
        raise InputImageError("the image has no pixels")
    return width, height


def input_digest(parts: list[str]) -> str:
    """16 hex digits naming an input (prompt, images, settings), for file names."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()[:16]
