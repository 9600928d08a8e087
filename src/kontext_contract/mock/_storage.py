"""fal's storage, emulated: what ``fal_client`` 1.0.3 ``upload``/``upload_file`` and fal-js ``storage.upload``
call (docs/sources.md §3.8), kept in memory within bounds, served back, usable as an input image.

- ``POST /storage/upload/initiate?storage_type=...`` ``{file_name, content_type}`` -> ``{upload_url, file_url}``
  (fal-js ``initiateUpload``; fal_client's ``fal`` repository), then ``PUT {upload_url}`` with the bytes;
- ``POST /storage/auth/token?storage_type=fal-cdn-v3`` -> ``{token, token_type, base_url, expires_at}``, then
  ``POST /files/upload`` (fal_client's ``fal_v3`` repository, on ``https://v3.fal.media``) with the bytes and
  ``X-Fal-File-Name`` -> ``{access_url}``;
- ``GET {file_url}`` serves the file, no key needed (fal's CDN files are public).

Bounds (docs/mock.md "Storage"): a file of at most ``max_upload_bytes``; at most ``max_uploads`` files and
``max_upload_store_bytes`` bytes kept (the oldest dropped first); files expire ``request_ttl`` seconds after
their upload starts. A file name with a path separator, a control character, ``.``/``..`` or over 255
characters is refused (422); a file URL whose id or name differs from an upload's is a 404.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

from ._clock import Clock
from ._config import MockConfig

__all__ = ["FILES_PREFIX", "UPLOAD_PREFIX", "Storage", "StorageError", "Upload"]

#: where uploaded files are served, and where their bytes are PUT (relative to the mock's base URL)
FILES_PREFIX = "/_mock/storage/files/"
UPLOAD_PREFIX = "/_mock/storage/upload/"
_MAX_NAME = 255
_ID_LENGTH = 32


class StorageError(Exception):
    """A storage request the mock refuses: HTTP status and a ``detail`` naming the field."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class Upload:
    """One uploaded file (``data`` None until its bytes are PUT)."""

    __slots__ = ("content_type", "created", "data", "id", "name")

    def __init__(self, id: str, name: str, content_type: str, created: float) -> None:
        self.id = id
        self.name = name
        self.content_type = content_type
        self.created = created
        self.data: bytes | None = None


def _field_error(field: str, msg: str, value: Any) -> StorageError:
    shown = value[:64] + "..." if isinstance(value, str) and len(value) > 80 else value
    return StorageError(422, [{"type": "value_error", "loc": ["body", field], "msg": msg, "input": shown}])


def check_file_name(name: Any, field: str = "file_name") -> str:
    """A file name the mock keeps: a string of 1-255 characters, no ``/`` or ``\\``, no control character,
    not ``.`` or ``..``.

    Raises:
        StorageError: 422 naming ``field``.
    """
    if not isinstance(name, str) or not name:
        raise _field_error(field, "a file name must be a non-empty string", name)
    if len(name) > _MAX_NAME:
        raise _field_error(field, f"a file name has at most {_MAX_NAME} characters", name)
    if any(c in name for c in "/\\") or name in (".", ".."):
        raise _field_error(field, "a file name may not hold a path (/, \\, . or ..)", name)
    if any(ord(c) < 32 or 127 <= ord(c) < 160 or c in "\u2028\u2029" for c in name):
        raise _field_error(field, "a file name may not hold a control character", name)
    return name


def check_content_type(value: Any, field: str = "content_type") -> str:
    """A MIME type ``type/subtype[;params]`` of printable ASCII, at most 255 characters.

    Raises:
        StorageError: 422 naming ``field``.
    """
    if (
        not isinstance(value, str)
        or not 3 <= len(value) <= 255
        or "/" not in value
        or any(not 32 <= ord(c) < 127 for c in value)
    ):
        raise _field_error(field, "expected a MIME type such as image/png", value)
    return value


class Storage:
    """The uploaded files, in memory, bounded (see the module's docstring).

    Args:
        config: the mock's configuration (``max_upload_*``, ``request_ttl``).
        clock: the mock's clock (expiry).
        key: the mock's API key: the CDN token of ``/storage/auth/token`` is derived from it (HMAC-SHA256),
            so it is never the key itself.
    """

    def __init__(self, config: MockConfig, clock: Clock, key: str) -> None:
        self.config = config
        self.clock = clock
        self._files: OrderedDict[str, Upload] = OrderedDict()
        self._bytes = 0
        self.token = hmac.new(key.encode(), b"kontext-contract mock cdn token", hashlib.sha256).hexdigest()
        self.counts: dict[str, int] = {"initiated": 0, "uploaded": 0, "dropped": 0, "expired": 0}

    # -- bookkeeping -------------------------------------------------------------------------------

    def _expire(self) -> None:
        now = self.clock.now()
        ttl = self.config.request_ttl
        while self._files:
            upload = next(iter(self._files.values()))
            if upload.created + ttl > now:
                break
            self._remove(upload.id)
            self.counts["expired"] += 1

    def _remove(self, upload_id: str) -> None:
        upload = self._files.pop(upload_id, None)
        if upload is not None and upload.data is not None:
            self._bytes -= len(upload.data)

    def _make_room(self, incoming: int, keep: str | None = None) -> None:
        while self._files and (
            len(self._files) > self.config.max_uploads
            or self._bytes + incoming > self.config.max_upload_store_bytes
        ):
            oldest = next(iter(self._files))
            if oldest == keep:
                if len(self._files) == 1:
                    break
                self._files.move_to_end(oldest)
                continue
            self._remove(oldest)
            self.counts["dropped"] += 1

    def _new(self, name: str, content_type: str) -> Upload:
        if self.config.max_uploads == 0:
            raise StorageError(507, {"detail": "this mock keeps no uploaded files (max_uploads 0)"})
        self._expire()
        upload = Upload(secrets.token_hex(_ID_LENGTH // 2), name, content_type, self.clock.now())
        self._files[upload.id] = upload
        self._make_room(0, keep=upload.id)
        self.counts["initiated"] += 1
        return upload

    def file_url(self, base: str, upload: Upload) -> str:
        return f"{base}{FILES_PREFIX}{upload.id}/{quote(upload.name, safe='')}"

    # -- fal's calls -------------------------------------------------------------------------------

    def initiate(self, body: Any, base: str) -> dict[str, str]:
        """``POST /storage/upload/initiate``: ``{file_name, content_type}`` -> ``{upload_url, file_url}``.

        Raises:
            StorageError: 422 for a bad or missing field.
        """
        if not isinstance(body, dict):
            raise StorageError(
                422,
                [
                    {
                        "type": "model_attributes_type",
                        "loc": ["body"],
                        "msg": "expected an object",
                        "input": None,
                    }
                ],
            )
        name = check_file_name(body.get("file_name"))
        content_type = check_content_type(body.get("content_type") or "application/octet-stream")
        upload = self._new(name, content_type)
        return {"upload_url": f"{base}{UPLOAD_PREFIX}{upload.id}", "file_url": self.file_url(base, upload)}

    def put(self, upload_id: str, data: bytes, content_type: str | None) -> bool:
        """``PUT {upload_url}``: store the bytes (again: replace them). False for an unknown or expired upload.

        Raises:
            StorageError: 413 above ``max_upload_bytes``.
        """
        self._expire()
        upload = self._files.get(upload_id)
        if upload is None:
            return False
        self._check_size(len(data))
        if upload.data is not None:
            self._bytes -= len(upload.data)
        self._make_room(len(data), keep=upload_id)
        upload.data = data
        self._bytes += len(data)
        if content_type:
            upload.content_type = check_content_type(content_type, "Content-Type")
        self.counts["uploaded"] += 1
        return True

    def _check_size(self, size: int) -> None:
        limit = self.config.max_upload_bytes
        if size > limit or size > self.config.max_upload_store_bytes:
            raise StorageError(413, {"detail": f"the file is larger than this mock's limit of {limit} bytes"})

    def cdn_token(self, base: str) -> dict[str, str]:
        """``POST /storage/auth/token``: the token fal_client sends to its CDN upload (an hour's validity)."""
        expires = datetime.now(UTC) + timedelta(hours=1)
        return {
            "token": self.token,
            "token_type": "Bearer",
            "base_url": base,
            "expires_at": expires.isoformat(),
        }

    def cdn_upload(
        self, data: bytes, name: str | None, content_type: str | None, base: str
    ) -> dict[str, Any]:
        """``POST /files/upload``: store ``data`` at once -> ``{access_url, content_type, file_name, file_size}``.

        Raises:
            StorageError: 413 too large, 422 a bad ``X-Fal-File-Name`` or ``Content-Type``.
        """
        self._check_size(len(data))
        file_name = check_file_name(name, "X-Fal-File-Name") if name is not None else "upload.bin"
        ctype = check_content_type(content_type or "application/octet-stream", "Content-Type")
        upload = self._new(file_name, ctype)
        self.put(upload.id, data, None)
        return {
            "access_url": self.file_url(base, upload),
            "content_type": ctype,
            "file_name": file_name,
            "file_size": len(data),
        }

    def authorized_cdn(self, authorization: str | None) -> bool:
        """Whether ``Authorization`` carries the CDN token (constant-time)."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode("utf-8", "replace"), self.token.encode()
        )

    def lookup(self, rest: str) -> Upload | None:
        """The stored file of a file URL's path after :data:`FILES_PREFIX` (``{id}/{quoted name}``), or None:
        an unknown id, another name than the upload's, an upload without bytes, an expired file."""
        self._expire()
        upload_id, sep, quoted = rest.partition("/")
        if not sep or len(upload_id) != _ID_LENGTH or "/" in quoted:
            return None
        upload = self._files.get(upload_id)
        if upload is None or upload.data is None or unquote(quoted) != upload.name:
            return None
        return upload

    def stats(self) -> dict[str, int]:
        self._expire()
        return {**self.counts, "files": len(self._files), "bytes": self._bytes}
