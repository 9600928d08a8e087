"""Images in and out: ``data:`` URIs for ``image_url``/``image_urls``, and output images to bytes or files.

Inputs take a public URL or a base64 ``data:`` URI (docs/sources.md §3.3); :func:`to_data_uri` makes the latter
from a file path, bytes or a Pillow image. Outputs carry a ``url`` (an https URL, or a ``data:`` URI when
``sync_mode`` was true) and a ``content_type``; :func:`image_bytes_from_data_uri` and the clients'
``download_image``/``save_image`` return the bytes after checking with Pillow that they decode as the
declared type (:class:`ImageContentError` otherwise). Pillow is imported only when needed.
"""

from __future__ import annotations

import base64
import binascii
import errno
import io
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from ._errors import ConfigurationError, ImageContentError

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

__all__ = [
    "check_image_bytes",
    "decode_data_uri",
    "extension_for",
    "image_content_type",
    "image_url_of",
    "to_data_uri",
    "write_image",
]

_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is in requirements.lock
        raise ConfigurationError("the image helpers need Pillow: pip install pillow") from None
    return Image


def _normal(content_type: str) -> str:
    base = content_type.split(";")[0].strip().lower()
    return _ALIASES.get(base, base)


def image_content_type(data: bytes) -> str:
    """The MIME type of image bytes, as Pillow reads them (e.g. ``"image/png"``).

    Raises:
        ImageContentError: the bytes are not an image Pillow can read, or are truncated.
    """
    image_mod = _pil()
    try:
        with image_mod.open(io.BytesIO(data)) as img:
            fmt = img.format
            img.verify()
    except Exception as exc:  # Pillow raises many kinds for bad data
        raise ImageContentError(f"not a readable image ({len(data)} bytes): {type(exc).__name__}") from None
    mime = image_mod.MIME.get(fmt or "")
    if not mime:
        raise ImageContentError(f"an image of format {fmt!r} with no known MIME type")
    return _normal(str(mime))


def check_image_bytes(data: bytes, content_type: str | None) -> str:
    """Check that ``data`` is an image of ``content_type`` (if given); return the type Pillow found.

    Raises:
        ImageContentError: not an image, or of another type than declared.
    """
    found = image_content_type(data)
    if content_type and _normal(content_type) != found:
        raise ImageContentError(f"the image is declared {content_type} but its bytes are {found}")
    return found


def extension_for(content_type: str) -> str:
    """A file extension for an image MIME type (``".jpg"`` for ``image/jpeg``), ``".bin"`` if unknown."""
    return _EXTENSIONS.get(_normal(content_type), ".bin")


def to_data_uri(
    source: str | os.PathLike[str] | bytes | PILImage,
    *,
    content_type: str | None = None,
    format: str = "PNG",
) -> str:
    """A base64 ``data:`` URI for ``image_url``/``image_urls`` (docs/sources.md §3.3).

    Args:
        source: a file path, the bytes of an image file, or a Pillow image.
        content_type: the MIME type to declare; default: what Pillow reads from the bytes.
        format: for a Pillow image, the encoding (``"PNG"`` or ``"JPEG"``).

    Raises:
        FileNotFoundError: no such file.
        ImageContentError: the bytes are not an image (or not of ``content_type``).

    The URI is about 4/3 of the file's size in bytes; providers limit request bodies (HTTP 413,
    :class:`PayloadTooLargeError`), so large images are better passed as URLs.
    """
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
    elif isinstance(source, str | os.PathLike):
        data = Path(source).read_bytes()
    else:
        buffer = io.BytesIO()
        image = source
        if format.upper() in ("JPEG", "JPG") and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(buffer, format=format.upper().replace("JPG", "JPEG"))
        data = buffer.getvalue()
    found = check_image_bytes(data, content_type)
    return f"data:{content_type or found};base64,{base64.b64encode(data).decode('ascii')}"


def decode_data_uri(uri: str) -> tuple[str, bytes]:
    """``(content_type, bytes)`` of a ``data:`` URI (base64 or percent-encoded).

    Raises:
        ImageContentError: not a well-formed ``data:`` URI.
    """
    if not uri.startswith("data:") or "," not in uri:
        raise ImageContentError("not a data: URI")
    header, _, payload = uri[5:].partition(",")
    params = header.split(";")
    content_type = params[0] or "text/plain"
    try:
        if "base64" in params[1:]:
            data = base64.b64decode(payload, validate=False)
        else:
            data = unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        raise ImageContentError("a data: URI whose base64 payload does not decode") from None
    return content_type, data


def image_url_of(image: Any) -> tuple[str, str | None]:
    """``(url, content_type)`` of an output image (generated ``ImageFile``/``GeneratedImage``), a mapping
    with ``url``, or a URL string."""
    if isinstance(image, str):
        return image, None
    if isinstance(image, dict):
        return str(image["url"]), image.get("content_type")
    content_type = getattr(image, "content_type", None)
    return str(image.url), content_type if isinstance(content_type, str) else None


def write_image(
    data: bytes, path: str | os.PathLike[str], content_type: str, *, overwrite: bool = True
) -> Path:
    """Write image bytes to ``path`` through a temporary file renamed into place; a path without a suffix
    gets the type's extension. Returns the path.

    Raises:
        FileExistsError: ``overwrite`` is false and the path exists (the check and the write are one
            atomic hard link, so a file made meanwhile by another process is not replaced either).
        OSError: the file cannot be written.
    """
    target = Path(path)
    if not target.suffix:
        target = target.with_suffix(extension_for(content_type))
    target.parent.mkdir(parents=True, exist_ok=True)
    if not overwrite and target.exists():
        raise FileExistsError(errno.EEXIST, "exists, not overwritten", str(target))
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        tmp.write_bytes(data)
        if overwrite:
            tmp.replace(target)
        else:
            try:
                os.link(tmp, target)  # fails if target exists, atomically
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links: the check above is the guard
                tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
