"""Real images with Pillow, made on demand from a file name so that nothing is kept per request.

A file name says everything needed to draw the image again: ``{w}x{h}-{seed}-{index}-{digest}.{ext}``
(``digest``: 16 hex digits of the prompt and inputs). The same name always gives the same bytes, so the
output of a request is reproducible from its seed and input, and 100,000 requests keep no pixels.

Memory is bounded against hostile input (docs/mock.md "Limits"): a file name is honoured only for the
sizes the mock makes (about one megapixel, :data:`MAX_OUTPUT_PIXELS`), at most :data:`MAX_RENDERS` images
are drawn at once, and an input ``data:`` URI is decoded only after its header says it has at most
:data:`MAX_INPUT_PIXELS` pixels, within a process-wide budget of :data:`DECODE_BUDGET_BYTES` for the
decodes in flight.
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

__all__ = [
    "ImageSpec",
    "InputImageError",
    "decode_data_uri",
    "decode_image_bytes",
    "encode_image",
    "extension_for",
    "mime_for",
    "parse_name",
    "render",
    "size_for_ratio",
]

#: about one megapixel, like FLUX (docs/sources.md §3.3); sides are multiples of 32 pixels
TARGET_PIXELS = 1024 * 1024
_STEP = 32
#: the largest side the mock draws or accepts in a file name, pixels
MAX_SIDE = 4096
#: the most pixels of an image the mock draws or accepts in a file name: what :func:`size_for_ratio`
#: makes (one megapixel, sides rounded to multiples of 32) plus a margin
MAX_OUTPUT_PIXELS = TARGET_PIXELS * 5 // 4
#: images drawn at once (each holds about 4 MB while drawn), across the process
MAX_RENDERS = 2

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
        or width * height > MAX_OUTPUT_PIXELS
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
    # a vertical gradient from c1 to c2: one column of h pixels, repeated across (a nearest-neighbour
    # resize copies it; a bicubic one took most of the render's time)
    strip = Image.new("RGB", (1, h))
    last = max(1, h - 1)
    strip.putdata([tuple(a + (b - a) * y // last for a, b in zip(c1, c2, strict=True)) for y in range(h)])
    image = strip.resize((w, h), Image.Resampling.NEAREST)
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
        (image if image.mode == "RGB" else image.convert("RGB")).save(buffer, format="JPEG", quality=90)
    elif pil_format == "PNG":
        image.save(buffer, format="PNG", compress_level=1)
    else:
        image.save(buffer, format=pil_format)
    return buffer.getvalue()


_RENDER_SLOTS = threading.BoundedSemaphore(MAX_RENDERS)


def _keep_pillow_blocks() -> None:
    """Let Pillow keep freed image blocks for reuse (``Image.core.set_blocks_max``, Pillow's documented
    ``PILLOW_BLOCKS_MAX``): enough for the decode budget and the renders. Without it each decode mallocs
    and frees its blocks in whichever worker thread runs it, and glibc keeps much of that memory per
    thread arena: 10 concurrent worst-case image requests left the mock 330 MB larger; with it, about
    40 MB (tests/hostile/test_memory.py). Never lowers a larger setting."""
    core: Any = Image.core  # type: ignore[attr-defined]  # Pillow's C module, untyped
    wanted = DECODE_BUDGET_BYTES // max(1, core.get_block_size()) + MAX_RENDERS
    if core.get_blocks_max() < wanted:
        core.set_blocks_max(wanted)


class FileCache:
    """A small LRU of rendered files (at most ``capacity`` files and ``max_bytes`` bytes), so a result and
    the download that follows it draw the image once. Thread-safe: rendering runs in worker threads, at
    most :data:`MAX_RENDERS` at once in the process (forged file names cannot make the mock draw more)."""

    def __init__(self, capacity: int = 16, max_bytes: int = 32 * 1024 * 1024) -> None:
        self._capacity = capacity
        self._max_bytes = max_bytes
        self._bytes = 0
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        _keep_pillow_blocks()

    def get(self, spec: ImageSpec) -> bytes:
        """The bytes of ``spec``'s file, rendered if not cached."""
        key = spec.name
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
                return data
        with _RENDER_SLOTS:
            data = render(spec)
        with self._lock:
            if key not in self._items:
                self._items[key] = data
                self._bytes += len(data)
            while self._items and (len(self._items) > self._capacity or self._bytes > self._max_bytes):
                self._bytes -= len(self._items.popitem(last=False)[1])
        return data


class InputImageError(ValueError):
    """An input image the mock refuses; ``reason`` is short and never contains the data; ``kind`` is the
    422 item's ``type`` (fal's error types: ``image_load_error``, ``image_too_large``) and ``ctx`` its
    context."""

    def __init__(
        self, reason: str, kind: str = "image_load_error", ctx: dict[str, int] | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.ctx = ctx


#: the most pixels of an input image the mock decodes (4096 x 4096); more is a 422 ``image_too_large``,
#: decided from the image's header before any pixel is decoded
MAX_INPUT_PIXELS = 4096 * 4096
#: bytes of pixel memory that the input decodes in flight may hold together (process-wide); a decode
#: waits until its share is free (4 bytes per pixel, the widest of Pillow's usual modes)
DECODE_BUDGET_BYTES = 96 * 1024 * 1024
#: the image formats the mock decodes (others, e.g. EPS, which would run Ghostscript, are refused)
INPUT_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "AVIF", "BMP")  # JPEG includes multi-picture JPEG (MPO)
_BYTES_PER_PIXEL = 4


class _Budget:
    """A weighted semaphore in bytes (threads): :meth:`hold` waits until ``amount`` fits."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self._cond = threading.Condition()

    @contextmanager
    def hold(self, amount: int) -> Iterator[None]:
        amount = max(0, min(amount, self.capacity))
        with self._cond:
            self._cond.wait_for(lambda: self.used + amount <= self.capacity)
            self.used += amount
        try:
            yield
        finally:
            with self._cond:
                self.used -= amount
                self._cond.notify_all()


_DECODES = _Budget(DECODE_BUDGET_BYTES)
#: Image.open of a PNG inflates its text chunks (up to PngImagePlugin.MAX_TEXT_MEMORY, 64 MB): one at a time
_OPENS = threading.Lock()


def _text_bytes(image: Image.Image) -> int:
    return sum(len(v) for v in image.info.values() if isinstance(v, str | bytes))


def decode_data_uri(uri: str) -> tuple[int, int]:
    """Decode a base64 ``data:`` URI and check it is an image Pillow reads fully.

    The size is read from the image's header first: above :data:`MAX_INPUT_PIXELS` nothing is decoded.
    Then the pixels are decoded (JPEG at 1/8 scale) within the process-wide :data:`DECODE_BUDGET_BYTES`,
    so concurrent requests cannot hold more pixel memory than that together.

    Returns:
        (width, height) in pixels.

    Raises:
        InputImageError: not base64, not an image of :data:`INPUT_FORMATS`, truncated (``image_load_error``),
            or more than MAX_INPUT_PIXELS pixels (``image_too_large``).
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
    return decode_image_bytes(raw, "the data: URI")


def decode_image_bytes(raw: bytes, what: str = "the file") -> tuple[int, int]:
    """Check that ``raw`` is an image Pillow reads fully, within the bounds of :func:`decode_data_uri` (the
    header's size first, then the pixels within :data:`DECODE_BUDGET_BYTES`); ``what`` names it in errors.

    Returns:
        (width, height) in pixels.

    Raises:
        InputImageError: see :func:`decode_data_uri`.
    """
    if not raw:
        raise InputImageError(f"{what} is empty")
    unreadable = InputImageError(
        f"{what} is not an image Pillow can read in a format the mock decodes ({', '.join(INPUT_FORMATS)})"
    )
    Image.init()  # every plugin registered, so that ``formats`` can name them
    too_large = f"more than the {MAX_INPUT_PIXELS / 1e6:.1f} MP this mock decodes"
    try:
        with _OPENS, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked below
            with Image.open(io.BytesIO(raw), formats=INPUT_FORMATS) as image:
                width, height = image.size
                cost = width * height * _BYTES_PER_PIXEL + _text_bytes(image)
    except Image.DecompressionBombError:  # Pillow's own guard: over twice its MAX_IMAGE_PIXELS
        raise InputImageError(
            f"the image has more than {2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f} MP, {too_large}",
            "image_too_large",
            {"max_pixels": MAX_INPUT_PIXELS},
        ) from None
    except Exception:
        raise unreadable from None
    if width <= 0 or height <= 0:
        raise InputImageError("the image has no pixels")
    if width * height > MAX_INPUT_PIXELS:
        raise InputImageError(
            f"the image is {width}x{height} pixels ({width * height / 1e6:.1f} MP), {too_large}",
            "image_too_large",
            {"max_pixels": MAX_INPUT_PIXELS, "width": width, "height": height},
        )
    try:
        with _DECODES.hold(cost), warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw), formats=INPUT_FORMATS) as image:
                image.draft("RGB", (64, 64))  # JPEG: decode at a fraction of the size, still every byte
                image.load()
    except Exception:
        raise unreadable from None
    return width, height


def input_digest(parts: list[str]) -> str:
    """16 hex digits naming an input (prompt, images, settings), for file names."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()[:16]
